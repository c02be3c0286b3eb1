"""Lesson text from scene files, reduced to a small safe subset of HTML.

A scene file is data from anywhere, and a rich-text widget given its text would follow
``<img src>``, links and style sheets to local files.  ``safe_html`` rebuilds the text from
a parse: only the tags below survive, with no attributes at all, and every other piece —
unknown tags, attributes, comments, processing instructions — becomes escaped text or is
dropped.  A lone ``<`` (as in "N < D") stays text.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

#: Tags kept, without attributes: paragraphs, emphasis, lists, code, sub/superscripts.
ALLOWED_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "code", "pre", "sub", "sup", "ul", "ol", "li", "h3"}
)
_VOID_TAGS = frozenset({"br"})
#: Tags whose content is dropped with them (it is code or styling, never lesson text).
_DROPPED_WITH_CONTENT = frozenset({"script", "style", "head", "title"})


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self.skipping += 1
        elif not self.skipping and tag in ALLOWED_TAGS:
            self.out.append(f"<{tag}>")
            if tag not in _VOID_TAGS:
                self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if not self.skipping and tag in _VOID_TAGS:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self.skipping = max(0, self.skipping - 1)
        elif not self.skipping and tag in self.open:
            while self.open:  # close what was left open inside it
                inner = self.open.pop()
                self.out.append(f"</{inner}>")
                if inner == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.open))


def safe_html(text: str) -> str:
    """``text`` as HTML that names no resource: allowed tags only, no attributes."""
    parser = _Sanitizer()
    parser.feed(text)
    return parser.result()


def plain_html(text: str) -> str:
    """Plain text as HTML: escaped, blank lines between paragraphs, line breaks kept."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + escape(paragraph, quote=False).replace("\n", "<br>") + "</p>"
        for paragraph in paragraphs
        if paragraph
    )


def lesson_html(title: str, text: str) -> str:
    """A lesson's title (plain text) above its text: the safe subset when it has tags,
    plain text otherwise."""
    heading = f"<h3>{escape(title, quote=False)}</h3>" if title else ""
    body = safe_html(text) if re.search(r"</?[A-Za-z]", text) else plain_html(text)
    return heading + body
