"""A dark Fusion look, so the panels sit quietly beside the dark canvas."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

BACKGROUND = "#161b24"
PANEL = "#1d2330"
TEXT = "#e3e8ef"
ACCENT = "#3d8bfd"


def apply_theme(app: QtWidgets.QApplication) -> None:
    app.setStyle("Fusion")
    palette = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    colours = {
        role.Window: BACKGROUND,
        role.WindowText: TEXT,
        role.Base: "#121721",
        role.AlternateBase: PANEL,
        role.ToolTipBase: PANEL,
        role.ToolTipText: TEXT,
        role.Text: TEXT,
        role.Button: PANEL,
        role.ButtonText: TEXT,
        role.BrightText: "#ffffff",
        role.Highlight: ACCENT,
        role.HighlightedText: "#ffffff",
        role.Link: "#7fb2ff",
        role.PlaceholderText: "#7d8796",
    }
    for colour_role, colour in colours.items():
        palette.setColor(colour_role, QtGui.QColor(colour))
    disabled = QtGui.QPalette.ColorGroup.Disabled
    for colour_role in (role.Text, role.ButtonText, role.WindowText):
        palette.setColor(disabled, colour_role, QtGui.QColor("#6b7482"))
    app.setPalette(palette)
