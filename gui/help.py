"""The Help menu: keyboard shortcuts, the guides, About, and the first-run hint."""

from __future__ import annotations

import html
import sysconfig
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

import zoo
from zoo.registry import local_plugin_dirs


def _docs_folder() -> Path:
    """The guides: the checkout's docs/ beside the package, else where the wheel put
    them (<prefix>/share/optimizer-zoo/docs)."""
    beside = Path(__file__).resolve().parent.parent / "docs"
    if beside.is_dir():
        return beside
    return Path(sysconfig.get_path("data")) / "share" / "optimizer-zoo" / "docs"


DOCS = _docs_folder()
GUIDES = (
    ("User guide (the app)", "app.md"),
    ("The step-size lab and its lessons", "step-size-lab.md"),
    ("Experiments", "experiments.md"),
    ("Writing a plugin", "writing-plugins.md"),
)
HINT = "Click to set a start · drag the ring to preview · scroll to zoom · Space plays"
LICENCE = "MIT"


def build_help_menu(window: Any) -> None:
    menu = window.menuBar().addMenu("&Help")
    menu.addAction(window.make_action("Keyboard shortcuts", lambda: show_shortcuts(window), "F1"))
    menu.addSeparator()
    for title, name in GUIDES:
        path = DOCS / name
        action = menu.addAction(title, lambda p=path: _open(p))
        action.setEnabled(path.is_file())
        action.setToolTip(str(path))
    menu.addSeparator()
    menu.addAction("About Optimizer Zoo", lambda: show_about(window))


def _open(path: Path) -> None:
    QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(path)))


def shortcut_rows(window: QtWidgets.QWidget) -> list[tuple[str, str]]:
    """(keys, what they do) for every action of the window that has a shortcut."""
    rows = []
    for action in window.actions():
        keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
        if keys:
            rows.append((keys, action.whatsThis() or action.text().replace("&", "")))
    return rows


def show_shortcuts(window: QtWidgets.QWidget) -> QtWidgets.QMessageBox:
    rows = "".join(
        f"<tr><td><b>{html.escape(keys)}</b></td><td>&nbsp;&nbsp;{html.escape(text)}</td></tr>"
        for keys, text in shortcut_rows(window)
    )
    box = QtWidgets.QMessageBox(window)
    box.setWindowTitle("Keyboard shortcuts")
    box.setTextFormat(QtCore.Qt.TextFormat.RichText)
    box.setText(f"<table>{rows}</table><p>Number boxes keep the keys a number is typed with.</p>")
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


def about_text() -> str:
    folders = ", ".join(str(path) for path in local_plugin_dirs())
    return (
        f"Optimizer Zoo {zoo.__version__}\n"
        f"Licence: {LICENCE}\n"
        "Optimizers, activations and models as plugins, raced on live loss landscapes.\n\n"
        f"Local plugin folder: {folders}\n"
        f"Guides: {DOCS}"
    )


def show_about(window: QtWidgets.QWidget) -> QtWidgets.QMessageBox:
    box = QtWidgets.QMessageBox(window)
    box.setWindowTitle("About Optimizer Zoo")
    box.setTextFormat(QtCore.Qt.TextFormat.PlainText)
    box.setText(about_text())
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box


class FirstRunHint(QtWidgets.QFrame):
    """A strip over the top of the canvas saying how to use it, until dismissed (the
    window remembers that)."""

    dismissed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunHint")
        # Filled and square, so the trails beneath never show through. Not marked
        # WA_OpaquePaintEvent: moved over the canvas when it is resized, such a strip
        # kept pixels of its old place.
        self.setStyleSheet(
            "#firstRunHint { background: #10141c; border: 1px solid #3a4250; }"
            " QLabel { color: #e8edf2; }"
        )
        self.setAutoFillBackground(True)
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        label = QtWidgets.QLabel(HINT)
        label.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        layout.addWidget(label)
        close = QtWidgets.QToolButton()
        close.setText("✕")
        close.setToolTip("Hide this hint for good")
        close.setAutoRaise(True)
        close.clicked.connect(self._dismiss)
        layout.addWidget(close)
        parent.installEventFilter(self)
        self._place()

    def _dismiss(self) -> None:
        self.hide()
        self.dismissed.emit()

    def _place(self) -> None:
        """Bottom centre of the canvas, above its axis, never wider than the canvas."""
        parent = self.parentWidget()
        width = min(self.sizeHint().width(), max(160, parent.width() - 80))
        self.resize(width, max(self.heightForWidth(width), self.minimumSizeHint().height()))
        self.move(
            max(0, (parent.width() - self.width()) // 2), parent.height() - self.height() - 64
        )

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.Resize:
            self._place()
        return False
