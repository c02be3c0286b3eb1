"""One dimension: the loss along a line, its curvature E″ and the best step η_opt = 1/E″.

Along an eigen-direction of a quadratic the loss is the parabola ½λt² and the iterates
zig-zag on it; along the gradient of any surface the slice shows where the next step
lands against where the local parabola says it should."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import (
    INK,
    direction_colour,
    footnote_label,
    make_plot,
    note_label,
    subscript,
)

SLICE_POINTS = 200
ALONG_GRADIENT = "along the gradient at the current point"


class OneDimensionPanel(QtWidgets.QWidget):
    name = "oned"
    title = "One dimension"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.mode = QtWidgets.QComboBox()
        self.mode.addItem(ALONG_GRADIENT)
        self.mode.currentIndexChanged.connect(lambda _: self.lab.refresh_now())
        self.plot = make_plot(left="E", bottom="position along the line t")
        self.slice = self.plot.plot(pen=pg.mkPen(INK, width=1))
        self.parabola = self.plot.plot(
            pen=pg.mkPen("#777", width=1, style=QtCore.Qt.PenStyle.DashLine)
        )
        self.path = self.plot.plot(
            pen=pg.mkPen("#d62728", width=1),
            symbol="o",
            symbolSize=5,
            symbolBrush="#d62728",
            symbolPen=None,
        )
        self.optimum = pg.ScatterPlotItem(size=11, symbol="star", brush="#17becf", pen=INK)
        self.plot.addItem(self.optimum)
        self.info = note_label()
        self.note = footnote_label()
        self.curvature = float("nan")
        self.eta_opt = float("nan")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("Slice:"))
        row.addWidget(self.mode, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.note)

    def _sync_modes(self, count: int) -> None:
        if self.mode.count() == count + 1:
            return
        current = self.mode.currentIndex()
        self.mode.blockSignals(True)
        self.mode.clear()
        self.mode.addItem(ALONG_GRADIENT)
        for index in range(count):
            self.mode.addItem(f"along eigenvector {index + 1} (λ{subscript(index + 1)})")
        self.mode.setCurrentIndex(current if 0 <= current <= count else 0)
        self.mode.blockSignals(False)

    def _clear(self, message: str) -> None:
        for curve in (self.slice, self.parabola, self.path):
            curve.setData([], [])
        self.optimum.setData([], [])
        self.info.setText("")
        self.note.setText(message)

    def refresh(self, state: LabState) -> None:
        if state.model is None:
            self._clear(state.error)
            return
        self._sync_modes(len(state.model.eigenvalues))
        if self.mode.currentIndex() == 0:
            self._along_gradient(state)
        else:
            self._along_eigenvector(state, self.mode.currentIndex() - 1)

    def _describe(self, curvature: float, lr: float) -> None:
        self.curvature = curvature
        self.eta_opt = 1.0 / curvature if curvature > 0 else float("nan")
        text = f"E″ = {curvature:.4g}"
        if curvature > 0:
            label = theory.regime(curvature, lr)
            text += (
                f", η_opt = 1/E″ = {self.eta_opt:.4g}; η = {lr:.4g} is "
                f"{lr / self.eta_opt:.3g}·η_opt: <b>{label}</b> along this line"
            )
        else:
            text += ": no minimum along this line (every step goes downhill further)"
        self.info.setText(text)

    def _along_gradient(self, state: LabState) -> None:
        model, lr = state.model, state.lr
        gradient = model.gradient
        norm = float(np.linalg.norm(gradient))
        if not np.isfinite(norm) or norm == 0:
            self._clear("The gradient is zero here: a stationary point.")
            return
        direction = -gradient / norm
        curvature = model.curvature_along(direction)
        reach = max(lr * norm, norm / curvature if curvature > 0 else 0.0)
        t = np.linspace(-0.6 * reach, 2.2 * reach, SLICE_POINTS)
        with np.errstate(all="ignore"):
            values = np.asarray(state.problem.loss(model.x + t[:, None] * direction))
        self.slice.setData(t, values)
        self.parabola.setData(t, model.loss - norm * t + 0.5 * curvature * t * t)
        step = lr * norm
        self.path.setPen(pg.mkPen("#d62728", width=1))
        self.path.setSymbolBrush("#d62728")
        with np.errstate(all="ignore"):
            landed = float(state.problem.loss((model.x + step * direction)[None])[0])
        self.path.setData([0.0, step], [model.loss, landed])
        if curvature > 0:
            best = norm / curvature
            self.optimum.setData([best], [model.loss - 0.5 * norm * best])
        else:
            self.optimum.setData([], [])
        self._describe(curvature, lr)
        self.note.setText(
            "Solid: the loss along −∇E; dashed: its local parabola; red: the "
            "next gradient step; star: the parabola's minimum, reached by "
            "η_opt = 1/E″."
        )

    def _along_eigenvector(self, state: LabState, index: int) -> None:
        model = state.start_model
        lam = float(model.eigenvalues[index])
        components = theory.eigen_components(state.problem, state.history, state.lrs, model=model)
        xs = components.measured[:, index]
        span = 1.2 * max(float(np.max(np.abs(xs[np.isfinite(xs)]), initial=0.0)), 1e-12)
        t = np.linspace(-span, span, SLICE_POINTS)
        self.slice.setData(t, 0.5 * lam * t * t)
        self.parabola.setData([], [])
        self.path.setPen(pg.mkPen(direction_colour(index), width=1))
        self.path.setSymbolBrush(direction_colour(index))
        self.path.setData(xs, 0.5 * lam * xs * xs)
        self.optimum.setData([0.0], [0.0])
        self._describe(lam, state.lr)
        note = (
            "The run's component along this eigenvector on the parabola ½λt²: below "
            "η_opt it creeps down one side, between η_opt and 2η_opt it zig-zags in, "
            "at 2η_opt it bounces forever, beyond it climbs out."
        )
        if not state.quadratic:
            note += " (Local quadratic at the run's start.)"
        self.note.setText(note)
