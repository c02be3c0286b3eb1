"""Colours and plot set-up shared by the lab's panels, so every panel speaks one visual
language: a direction keeps its colour everywhere, a regime keeps its colour everywhere."""

from __future__ import annotations

import itertools
import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zoo import theory
from zoo_gui.theme import TEXT

#: One colour per eigen-direction, in the order of ascending eigenvalue.
DIRECTION_COLOURS = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
REGIME_COLOURS = {
    theory.MONOTONE: "#2ca02c",
    theory.EXACT: "#17becf",
    theory.OSCILLATING: "#ff7f0e",
    theory.CONSTANT: "#9467bd",
    theory.DIVERGENT: "#d62728",
    theory.SADDLE: "#8c564b",
    theory.FLAT: "#7f7f7f",
}
MARK_COLOUR = "#c8d0da"
#: The lab's plots wear the canvas's colours, so the lab sits in the dark app.
PLOT_BACKGROUND = "#10141c"
AXIS_COLOUR = "#9aa4b2"
NOTE_COLOUR = "#9aa4b2"
#: Foreground lines that were black on white (slices, totals, the η cursor).
INK = TEXT


def direction_colour(index: int) -> str:
    return DIRECTION_COLOURS[index % len(DIRECTION_COLOURS)]


def subscript(number: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(digit)] for digit in str(number))


def make_plot(
    title: str = "", left: str = "", bottom: str = "", *, log_x: bool = False, log_y: bool = False
) -> pg.PlotWidget:
    """A dark plot; log axes take linear data, show it on a log scale and label it at
    1-2-5 steps that never collide."""
    axes = {side: LogAxis(side) for side, log in (("bottom", log_x), ("left", log_y)) if log}
    widget = pg.PlotWidget(background=PLOT_BACKGROUND, axisItems=axes)
    plot = widget.getPlotItem()
    if title:
        plot.setTitle(title, size="9pt", color=TEXT)
    for side, text in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(side)
        axis.setPen(AXIS_COLOUR)
        axis.setTextPen(TEXT)
        axis.enableAutoSIPrefix(False)
        if text:
            axis.setLabel(text, color=TEXT)
    plot.setLogMode(x=log_x, y=log_y)
    plot.showGrid(x=True, y=True, alpha=0.15)
    widget.setMinimumHeight(140)
    widget.setSizePolicy(
        QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding
    )
    return widget


def note_label(text: str = "") -> QtWidgets.QLabel:
    """A wrapping explanatory label."""
    label = QtWidgets.QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(QtCore.Qt.TextFormat.RichText)
    return label


def footnote_label(text: str = "") -> QtWidgets.QLabel:
    """A wrapping label for remarks, quieter than the text around it."""
    label = note_label(text)
    label.setStyleSheet(f"color: {NOTE_COLOUR};")
    return label


def log_axis(plot: pg.PlotWidget, side: str = "bottom") -> None:
    """Show log10 data coordinates as powers of ten (for images and bars, which a
    PlotItem's own log mode does not transform)."""
    item = plot.getPlotItem()
    old = item.getAxis(side)
    axis = LogAxis(side)
    axis.setPen(old.pen())
    axis.setTextPen(old.textPen())
    axis.enableAutoSIPrefix(False)
    label = old.labelText
    item.setAxisItems({side: axis})
    if label:
        axis.setLabel(label, color=TEXT)


#: Mantissas labelled per decade, densest first; the first whose closest pair fits wins.
_LABEL_SETS = ((1, 2, 5), (1, 3))
_MINOR = (2, 3, 4, 5, 6, 7, 8, 9)


class LogAxis(pg.AxisItem):
    """An axis over log10 coordinates, labelled at 1-2-5 steps (then 1-3, then every
    k-th power of ten) so that no two labels touch at any width; the other mantissas
    get unlabelled ticks."""

    def tickValues(self, minVal, maxVal, size):
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal or size <= 0:
            return []
        return self.ticks_for(minVal, maxVal, size)

    def ticks_for(self, low: float, high: float, size: float) -> list[tuple[float, list[float]]]:
        """[(1.0, labelled), (0.1, unlabelled)] ticks for log10 span [low, high] on
        ``size`` pixels."""
        per_decade = size / (high - low)
        first, last = math.floor(low), math.ceil(high)
        decades = range(first, last + 1)

        def inside(values):
            return [v for v in values if low - 1e-9 <= v <= high + 1e-9]

        labelled: list[float] = []
        for mantissas in _LABEL_SETS:
            candidates = inside([d + math.log10(m) for d in decades for m in mantissas])
            if self._fits(candidates, per_decade):
                labelled = candidates
                break
        else:
            for every in range(1, last - first + 2):
                candidates = inside([float(d) for d in decades if d % every == 0])
                if self._fits(candidates, per_decade) or len(candidates) <= 1:
                    labelled = candidates
                    break
        minor = []
        if per_decade >= 24:
            minor = inside([d + math.log10(m) for d in decades for m in _MINOR])
            minor = [v for v in minor if all(abs(v - w) > 1e-9 for w in labelled)]
        return [(1.0, labelled), (0.1, minor)]

    def _room(self, text: str) -> float:
        metrics = QtGui.QFontMetricsF(self.style.get("tickFont") or self.font())
        if self.orientation in ("left", "right"):
            return metrics.height() + 2
        return metrics.horizontalAdvance(text) + 8

    def _fits(self, values: list[float], per_decade: float) -> bool:
        for a, b in itertools.pairwise(values):
            need = (self._room(log_label(a)) + self._room(log_label(b))) / 2
            if (b - a) * per_decade < need:
                return False
        return True

    def tickStrings(self, values, scale, spacing):
        if spacing != 1.0:
            return [""] * len(values)
        return [log_label(value) for value in values]


def log_label(value: float) -> str:
    """10**value with one significant digit, compactly: 0.002, 50, 1e-5, 2e6."""
    exponent = math.floor(value + 1e-9)
    mantissa = round(10.0 ** (value - exponent))
    if mantissa == 10:
        mantissa, exponent = 1, exponent + 1
    if -3 <= exponent <= 3:
        return f"{mantissa * 10.0**exponent:.{max(0, -exponent)}f}"
    return f"{mantissa}e{exponent}"
