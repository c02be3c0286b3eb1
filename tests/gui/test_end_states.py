"""The runs table says where a stopped run stands: a saddle is shown as a saddle."""

from __future__ import annotations

from PySide6 import QtCore, QtGui

import zoo
from zoo.session import Scene
from zoo_gui.runs_table import STATE_COLOURS, STATUS


def test_the_status_column_shows_the_end_state(qtbot, make_window):
    """Levenberg–Marquardt from (0.5, −0.5) on deep_linear comes to rest on the saddle at
    the origin (and stops moving); from the model's start it reaches a minimum."""
    runs = [
        zoo.RunConfig("levenberg_marquardt", start=(0.5, -0.5), color="#ff3399"),
        zoo.RunConfig("levenberg_marquardt", color="#00e5ff"),
    ]
    window = make_window(scene=Scene(model="deep_linear", runs=runs), autoplay=True)
    saddle, minimum = list(window.runset.configs)
    qtbot.waitUntil(
        lambda: all(window.runset.status(r).state != "running" for r in (saddle, minimum)),
        timeout=20000,
    )
    qtbot.waitUntil(lambda: "saddle" in window.status_text(saddle), timeout=5000)
    assert window.status_text(saddle).startswith("saddle at step ")
    assert "no progress" in window.status_text(saddle)
    qtbot.waitUntil(lambda: "minimum" in window.status_text(minimum), timeout=5000)
    table = window.runs_panel.table_model
    cell = table.index(table.row_of(saddle), STATUS)
    colour = table.data(cell, QtCore.Qt.ItemDataRole.ForegroundRole)
    assert colour == QtGui.QColor(STATE_COLOURS["saddle"])
    assert colour != QtGui.QColor(STATE_COLOURS["minimum"])
