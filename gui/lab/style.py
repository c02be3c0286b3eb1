"""Colours and plot set-up shared by the lab's panels, so every panel speaks one visual
language: a direction keeps its colour everywhere, a regime keeps its colour everywhere."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory

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
MARK_COLOUR = "#444444"


def direction_colour(index: int) -> str:
    return DIRECTION_COLOURS[index % len(DIRECTION_COLOURS)]


def subscript(number: int) -> str:
    return "".join("₀₁₂₃₄₅₆₇₈₉"[int(digit)] for digit in str(number))


def make_plot(
    title: str = "", left: str = "", bottom: str = "", *, log_x: bool = False, log_y: bool = False
) -> pg.PlotWidget:
    """A light-themed plot; log axes take linear data and show it on a log scale."""
    widget = pg.PlotWidget(background="w")
    plot = widget.getPlotItem()
    if title:
        plot.setTitle(title, size="9pt", color="#222")
    for side, text in (("left", left), ("bottom", bottom)):
        axis = plot.getAxis(side)
        axis.setPen("#555")
        axis.setTextPen("#222")
        axis.enableAutoSIPrefix(False)
        if text:
            axis.setLabel(text, color="#222")
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


def log_axis(plot: pg.PlotWidget, side: str = "bottom") -> None:
    """Show log10 data coordinates as powers of ten (for images and bars, which a
    PlotItem's own log mode does not transform)."""
    plot.getPlotItem().getAxis(side).setLogMode(True)
