"""Lesson text is reduced to a safe subset: no tag can name a resource."""

from __future__ import annotations

import pytest

from zoo.richtext import lesson_html, safe_html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a valley of solutions (N < D) and more", "a valley of solutions (N &lt; D) and more"),
        ("(N<D) stays text", "(N&lt;D) stays text"),
        ("<p style='color:red'>hi <b>bold</p>", "<p>hi <b>bold</b></p>"),
        ("<script>alert(1)</script>ok", "ok"),
        ("<a href='file:///etc/passwd'>link</a>", "link"),
        ("<!-- hidden -->x<?pi?>", "x"),
        ("a &lt; b &amp; c", "a &lt; b &amp; c"),
        ("line<br/>break", "line<br>break"),
    ],
)
def test_only_allowed_tags_survive_without_attributes(text, expected):
    assert safe_html(text) == expected


@pytest.mark.parametrize(
    "source",
    ["/etc/passwd", "file:///etc/passwd", "../../secret.png", "/dev/zero", "qrc:/x.png"],
)
def test_images_and_their_sources_are_dropped(source):
    html = safe_html(f"<p>before<img src='{source}'>after</p>")
    assert html == "<p>beforeafter</p>"
    assert "src" not in html and source not in html


def test_plain_lesson_text_keeps_its_paragraphs_and_escapes_the_title():
    html = lesson_html("When N < D", "First line\nsecond line\n\nNext paragraph")
    assert html == "<h3>When N &lt; D</h3><p>First line<br>second line</p><p>Next paragraph</p>"
