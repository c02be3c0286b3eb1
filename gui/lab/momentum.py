"""Momentum map: heavy ball's convergence rate max|σ| over (η, β), with the selected run,
Polyak's optimum and the critical-damping curves; a click sets the run's η and β."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import INK, direction_colour, footnote_label, log_axis, make_plot, note_label

LR_CELLS = 160
BETA_CELLS = 120
BETA_MAX = 0.999


class MomentumPanel(QtWidgets.QWidget):
    name = "momentum"
    title = "Momentum"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.plot = make_plot(
            "Heavy-ball rate max|σ| (darker is faster; white: divergent)",
            left="momentum β",
            bottom="learning rate η (log)",
        )
        log_axis(self.plot)
        item = self.plot.getPlotItem()
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("viridis"))
        item.addItem(self.image)
        self.edge = self.plot.plot(pen=pg.mkPen("w", width=2))
        self.critical = [
            self.plot.plot(
                pen=pg.mkPen(direction_colour(i), width=2, style=QtCore.Qt.PenStyle.DashLine)
            )
            for i in range(2)
        ]
        self.polyak = pg.ScatterPlotItem(size=16, symbol="star", brush="#ffdd00", pen=INK)
        self.current = pg.ScatterPlotItem(size=11, symbol="o", brush="#ff3333", pen="w")
        item.addItem(self.polyak)
        item.addItem(self.current)
        self.polyak.setZValue(10)
        self.current.setZValue(11)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.info = note_label()
        self.note = footnote_label(
            "Dashed: critical damping β = (1 − √(ηλ))² for λ_min (blue) and λ_max (red); "
            "white line: the stability edge η = (2 + 2β)/λ_max; star: Polyak's optimum. "
            "Click the map to give the selected run that η and β."
        )
        self.key: tuple | None = None
        self.log_range = (-3.0, 0.0)
        self.rates: np.ndarray | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.info)
        layout.addWidget(self.note)

    def _clicked(self, event) -> None:
        item = self.plot.getPlotItem()
        if event.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        if not item.vb.sceneBoundingRect().contains(event.scenePos()):
            return
        point = item.vb.mapSceneToView(event.scenePos())
        self.choose(10 ** point.x(), point.y())

    def choose(self, lr: float, beta: float) -> None:
        """Set η and β of the selected run (what a click on the map does)."""
        beta = min(max(beta, 0.0), BETA_MAX)
        self.lab.apply_hyper(lr=float(lr), momentum=float(beta))

    def _draw_map(self, low: float, high: float) -> None:
        key = (round(low, 12), round(high, 12))
        if key == self.key:
            return
        self.key = key
        span_low = math.log10(0.01 / high)
        span_high = math.log10(4.2 / high)
        self.log_range = (span_low, span_high)
        lrs = np.logspace(span_low, span_high, LR_CELLS)
        betas = np.linspace(0.0, BETA_MAX, BETA_CELLS)
        self.rates = theory.heavy_ball_rate(lrs[:, None], betas[None, :], [low, high])
        shown = np.where(self.rates < 1.0, self.rates, np.nan)
        floor = float(np.nanmin(shown)) if np.isfinite(shown).any() else 0.0
        self.image.setImage(shown, levels=(floor, 1.0), autoLevels=False)
        self.image.setRect(QtCore.QRectF(span_low, 0.0, span_high - span_low, BETA_MAX))
        edge_betas = np.linspace(0.0, BETA_MAX, 50)
        self.edge.setData(np.log10((2 + 2 * edge_betas) / high), edge_betas)
        for curve, lam in zip(self.critical, (low, high), strict=True):
            etas = np.logspace(span_low, math.log10(1.0 / lam), 80)
            curve.setData(np.log10(etas), theory.critical_damping(etas, lam))
        optimum = theory.optimal_rates(low, high)["heavy_ball"]
        self.polyak.setData([math.log10(optimum["lr"])], [optimum["momentum"]])
        item = self.plot.getPlotItem()
        item.setXRange(span_low, span_high, padding=0)
        item.setYRange(0.0, 1.0, padding=0)

    def refresh(self, state: LabState) -> None:
        positive = state.positive
        if state.model is None or len(positive) == 0 or np.any(state.model.eigenvalues < 0):
            self.info.setText(
                state.error
                or "The map needs positive curvature: this point has a negative or zero eigenvalue."
            )
            self.current.setData([], [])
            return
        low, high = float(positive[0]), float(positive[-1])
        self._draw_map(low, high)
        rate = float(theory.heavy_ball_rate(state.lr, state.momentum, [low, high]))
        self.current.setData([math.log10(state.lr)], [state.momentum])
        optimum = theory.optimal_rates(low, high)
        text = (
            f"Selected run: η = {state.lr:.4g}, β = {state.momentum:.3g}, "
            f"rate {rate:.4g}{' (divergent)' if rate >= 1 else ''}. "
            f"Polyak: η* = {optimum['heavy_ball']['lr']:.4g}, "
            f"β* = {optimum['heavy_ball']['momentum']:.4g}, rate "
            f"{optimum['heavy_ball']['rate']:.4g} against {optimum['gd']['rate']:.4g} for "
            f"the best plain step (κ = {high / low:.4g})."
        )
        if state.run_id is not None and "momentum" not in state.config.hyper:
            text += " This run's optimizer has no momentum setting."
        self.info.setText(text)
