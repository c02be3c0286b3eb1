"""Loss, gradient norm and step length against the step, on log axes, every run at once.

Each plot is one multi-colour trails item (like the canvas), fed with log10 values; only
the tab in view is redrawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo_gui.drawing import Box, GroupPicture, confine
from zoo_gui.trails import TrailsItem

PLOTS = {
    "loss": "loss − E*",
    "grad_norm": "‖∇E‖",
    "step_length": "‖xₖ₊₁ − xₖ‖",
}


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


class DecadeAxis(pg.AxisItem):
    """An axis over log10 values labelled at whole decades (10⁻⁵, 1, 10³ …) spaced so
    labels never crowd a short plot, and at 1-2-5 (or every) mantissa when the range
    holds fewer than two decades.  With ``logarithmic`` off it is a plain axis."""

    logarithmic = True

    def tickValues(self, minVal, maxVal, size):
        if not self.logarithmic:
            return super().tickValues(minVal, maxVal, size)
        low, high = math.ceil(minVal), math.floor(maxVal)
        if high - low >= 1:
            room = max(2, int(size // 26))  # about one label per 26 pixels
            step = max(1, math.ceil((high - low + 1) / room))
            first = math.ceil(low / step) * step
            return [(float(step), [float(v) for v in range(first, high + 1, step)])]
        for mantissas in ((1, 2, 5), range(1, 10)):
            values = [
                power + math.log10(m)
                for power in range(math.floor(minVal), math.ceil(maxVal) + 1)
                for m in mantissas
                if minVal <= power + math.log10(m) <= maxVal
            ]
            if len(values) >= 2:
                return [(1.0, values)]
        return [(1.0, [])]

    def tickStrings(self, values, scale, spacing):
        if not self.logarithmic:
            return super().tickStrings(values, scale, spacing)
        return [_power_label(value) for value in values]


def _power_label(value: float) -> str:
    """10**value as 1, 10, 10³, 2×10⁻⁴ or 0.05."""
    power = math.floor(value + 1e-9)
    mantissa = round(10 ** (value - power))
    if mantissa == 10:
        power, mantissa = power + 1, 1
    if mantissa == 1:
        return {0: "1", 1: "10"}.get(power, "10" + str(power).translate(SUPERSCRIPT))
    if -2 <= power <= 2:
        return f"{mantissa * 10.0**power:g}"
    return f"{mantissa}×10" + str(power).translate(SUPERSCRIPT)


class StepPlots(QtWidgets.QTabWidget):
    """Tabs of step plots; ``draw`` updates the visible one.  Hovering near a curve
    names its run, the step and the value there (``label_of`` gives a run's name)."""

    #: Pixels from a curve within which hovering reads it out.
    HOVER_PX = 12

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        label_of: Callable[[int], str] = str,
    ) -> None:
        super().__init__(parent)
        self.label_of = label_of
        self._shown: list[tuple[tuple[int, ...], np.ndarray]] = []  # run ids, points
        self.readouts: dict[str, pg.TextItem] = {}
        self.plots: dict[str, pg.PlotWidget] = {}
        self.items: dict[str, TrailsItem] = {}
        self.floor = 0.0
        #: whether ``floor`` is a known minimum; if not, runs may go below it
        self.floor_known = False
        for name, title in PLOTS.items():
            plot = pg.PlotWidget(background="#10141c", axisItems={"left": DecadeAxis("left")})
            plot.setViewportUpdateMode(
                QtWidgets.QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate
            )
            item = plot.getPlotItem()
            item.setMenuEnabled(False)
            item.hideButtons()
            item.showGrid(False, False)  # the grid is part of the axes: it would repaint them
            for side in ("left", "bottom"):
                item.getAxis(side).enableAutoSIPrefix(False)
                # Ticks outside: an axis reaching into the plot is repainted with every curve.
                item.getAxis(side).setStyle(tickLength=-5)
            item.setLabel("bottom", "step")
            item.setLabel("left", title)
            trails = TrailsItem()
            item.addItem(trails)
            readout = pg.TextItem("", color="#e8edf2", fill=pg.mkBrush(16, 20, 28, 220))
            readout.setZValue(10)
            readout.setVisible(False)
            item.addItem(readout, ignoreBounds=True)
            self.readouts[name] = readout
            plot.scene().sigMouseMoved.connect(lambda at, n=name: self.hover(n, at))
            self.plots[name], self.items[name] = plot, trails
            self.addTab(plot, title)
        self.setMinimumHeight(170)

    def current_name(self) -> str:
        return list(PLOTS)[self.currentIndex()]

    def draw(self, pictures: Sequence[GroupPicture]) -> None:
        """Curves of the visible tab.  When some runs have diverged and others not, the
        axes follow the others: a diverged curve is cut where it leaves their range."""
        name = self.current_name()
        floor = self._floor(pictures) if name == "loss" else 0.0
        blocks = []
        for picture in pictures:
            if name not in picture.series:
                continue
            steps, values = picture.series[name]
            if name == "loss":
                values = values - floor
            with np.errstate(all="ignore"):
                logs = np.log10(np.where(values > 0, values, np.nan))
            points = np.empty((*values.shape, 2))
            points[..., 0] = steps
            points[..., 1] = logs
            blocks.append((points, picture))
        box = _calm_box(blocks)
        pieces = []
        self._shown = []
        for points, picture in blocks:
            if box is not None:
                points, _ = confine(points, box)
            pieces.append((points, picture.head_colours, picture.visible))
            shown = np.where(picture.visible[:, None, None], points, np.nan)
            self._shown.append((picture.view.run_ids, shown))
        self.items[name].setData(pieces)
        self._follow(name)

    def hover(self, name: str, at: QtCore.QPointF) -> str:
        """Read out the curve point nearest the scene position ``at`` in plot ``name``
        (within ``HOVER_PX``); returns the text shown ("" when none is near)."""
        readout = self.readouts[name]
        view = self.plots[name].getPlotItem().getViewBox()
        text = ""
        if name == self.current_name() and view.sceneBoundingRect().contains(at):
            text, where = self._nearest(name, view, view.mapSceneToView(at))
            if text:
                readout.setText(text)
                readout.setPos(*where)
        readout.setVisible(bool(text))
        return text

    def _nearest(self, name: str, view: pg.ViewBox, at: QtCore.QPointF) -> tuple[str, tuple]:
        pixel_w, pixel_h = view.viewPixelSize()
        best, found = self.HOVER_PX, None
        for run_ids, points in self._shown:
            with np.errstate(invalid="ignore"):
                dx = (points[..., 0] - at.x()) / pixel_w
                dy = (points[..., 1] - at.y()) / pixel_h
                distance = np.hypot(dx, dy)
            if not np.isfinite(distance).any():
                continue
            row, column = np.unravel_index(np.nanargmin(distance), distance.shape)
            if distance[row, column] < best:
                best, found = distance[row, column], (run_ids[row], points[row, column])
        if found is None:
            return "", ()
        run_id, (step, log_value) = found
        value = 10.0**log_value
        text = f"{self.label_of(run_id)}, step {int(step)}: {PLOTS[name]} = {value:.4g}"
        return text, (step, log_value)

    def _floor(self, pictures: Sequence[GroupPicture]) -> float:
        """E* of the loss plot: the known minimum; without one, the lowest loss seen on the
        grid or by any run, less a little, so no run's curve drops out of a log plot."""
        if self.floor_known:
            return self.floor
        lowest = self.floor
        for picture in pictures:
            if "loss" in picture.series:
                values = picture.series["loss"][1]
                with np.errstate(all="ignore"):
                    seen = np.nanmin(np.where(np.isfinite(values), values, np.nan), initial=np.inf)
                lowest = min(lowest, float(seen))
        if lowest >= self.floor:
            return self.floor
        return lowest - 1e-3 * max(abs(lowest), abs(self.floor), 1e-12)

    def _follow(self, name: str) -> None:
        """Move the axes only when the curves leave them (or shrink to a corner): new
        tick labels on every frame would cost more than the curves themselves."""
        bounds = self.items[name].boundingRect()
        if not bounds.isValid() and bounds.width() <= 0:
            return
        view = self.plots[name].getPlotItem().getViewBox()
        (_, x1), (y0, y1) = view.viewRange()
        right, low, high = bounds.right(), bounds.top(), bounds.bottom()
        if right > x1 or right < 0.25 * x1:
            # A margin before step 0 keeps the curves' repaint region off the axes.
            width = max(10.0, 1.5 * right)
            view.setXRange(-0.03 * width, width, padding=0)
        span = max(high - low, 1.0)  # at least a decade: log ticks stay readable
        if low < y0 or high > y1 or span < 0.3 * (y1 - y0):
            view.setYRange(low - 0.1 * span, high + 0.1 * span, padding=0)


def _calm_box(blocks: Sequence[tuple[np.ndarray, GroupPicture]]) -> Box | None:
    """A box around the curves of the shown runs that have not diverged, three spans
    high; None when every shown run has diverged or none has."""
    calm, wild = [], False
    for points, picture in blocks:
        shown = picture.visible
        wild |= bool((shown & picture.diverged).any())
        keep = shown & ~picture.diverged
        if keep.any():
            calm.append(points[keep][..., 1])
    if not wild or not calm:
        return None
    values = np.concatenate([c.ravel() for c in calm])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    span = max(high - low, 1.0)
    return (-np.inf, np.inf, low - span, high + span)
