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
    # Fusion outlines a check box in a darker shade of the window colour, which vanishes
    # on a dark theme: draw the boxes with a light rim, filled with the accent when on.
    app.setStyleSheet(
        f"""
        QCheckBox::indicator {{
            width: 12px; height: 12px; border: 1px solid #9aa4b2; border-radius: 2px;
            background: #121721;
        }}
        QCheckBox::indicator:checked {{
            background: {ACCENT}; border-color: #dbe6ff;
        }}
        QCheckBox::indicator:disabled {{ border-color: #4a5260; }}
        """
    )
