"""Loss, gradient norm and step length against the step, on log axes, every run at once.

Each plot is one multi-colour trails item (like the canvas), fed with log10 values; only
the tab in view is redrawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from gui.drawing import GroupPicture
from gui.trails import TrailsItem

PLOTS = {
    "loss": "loss − E*",
    "grad_norm": "‖∇E‖",
    "step_length": "‖xₖ₊₁ − xₖ‖",
}


class StepPlots(QtWidgets.QTabWidget):
    """Tabs of step plots; ``draw`` updates the visible one."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots: dict[str, pg.PlotWidget] = {}
        self.items: dict[str, TrailsItem] = {}
        self.floor = 0.0
        for name, title in PLOTS.items():
            plot = pg.PlotWidget(background="#10141c")
            plot.setViewportUpdateMode(
                QtWidgets.QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
            item = plot.getPlotItem()
            item.setMenuEnabled(False)
            item.hideButtons()
            item.showGrid(x=True, y=True, alpha=0.15)
            item.getAxis("left").setLogMode(False, True)  # values arrive as log10
            item.setLabel("bottom", "step")
            item.setLabel("left", title)
            trails = TrailsItem()
            item.addItem(trails)
            self.plots[name], self.items[name] = plot, trails
            self.addTab(plot, title)
        self.setMinimumHeight(170)

    def current_name(self) -> str:
        return list(PLOTS)[self.currentIndex()]

    def draw(self, pictures: Sequence[GroupPicture]) -> None:
        name = self.current_name()
        pieces = []
        for picture in pictures:
            if name not in picture.series:
                continue
            steps, values = picture.series[name]
            if name == "loss":
                values = values - self.floor
            with np.errstate(all="ignore"):
                logs = np.log10(np.where(values > 0, values, np.nan))
            count = len(picture.run_ids)
            points = np.full((count, len(steps) + 1, 2), np.nan)
            points[:, :-1, 0] = steps
            points[:, :-1, 1] = logs
            for colour in dict.fromkeys(picture.head_colours):
                chosen = np.array([c == colour for c in picture.head_colours]) & picture.visible
                if chosen.any():
                    pieces.append((points[chosen].reshape(-1, 2), colour))
        self.items[name].setData(pieces)
        plot_item = self.plots[name].getPlotItem()
        bounds = self.items[name].boundingRect()
        if bounds.isValid():
            plot_item.setXRange(0, max(bounds.right(), 10), padding=0.02)
            plot_item.setYRange(bounds.top(), bounds.bottom(), padding=0.05)
