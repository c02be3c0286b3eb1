"""The step-size lab: a dock that draws the step-size theory of ``zoo.theory`` beside the
runs of the main window — the η ruler, eigen view, one-dimensional slice, conditioning,
momentum map, schedules and saddles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore

from zoo_gui.lab.dock import PANEL_NAMES, LabDock

__all__ = ["PANEL_NAMES", "LabDock", "show_lab"]


def show_lab(window: Any, panels: Sequence[str] | None = None) -> LabDock:
    """Create (once) and show the lab dock of ``window``; ``panels`` are a lesson's
    ``lesson.panels``, the first tabbed one of which is brought forward."""
    dock = window.findChild(LabDock)
    if dock is None:
        dock = LabDock(window)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.show()
    dock.raise_()
    if panels:
        dock.open_panels(panels)
    dock.refresh_now()
    return dock
