"""A text browser for text that comes from files: it loads no resource and follows no link."""

from __future__ import annotations

from typing import Any

from PySide6 import QtWidgets

from zoo.richtext import lesson_html


class SafeTextBrowser(QtWidgets.QTextBrowser):
    """Shows lesson text; images, style sheets and links named in it are never fetched.

    The text is reduced to a safe subset first (``zoo.richtext``); refusing every resource
    here as well means nothing a scene file says can make the app read a local file."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.requested: list[str] = []  # resources asked for (and refused), for inspection

    def loadResource(self, kind: int, name: Any) -> Any:
        self.requested.append(name.toString() if hasattr(name, "toString") else str(name))
        return None

    def show_lesson(self, title: str, text: str) -> None:
        self.setHtml(lesson_html(title, text))
