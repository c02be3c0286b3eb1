"""Schedules: η_k of a decay schedule with the partial sums Σηₖ and Σηₖ² behind the
Robbins–Monro conditions, and the stall of η₀/(k+1)² next to η₀/(k+1), which keeps going."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import make_plot, note_label

STEPS = 10_000
CONSTANT = "(constant)"


class SchedulesPanel(QtWidgets.QWidget):
    name = "schedules"
    title = "Schedules"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.schedule = QtWidgets.QComboBox()
        # Until someone picks a schedule here, the panel follows the selected run's.
        self.user_choice = False
        self.schedule.currentIndexChanged.connect(self._chosen)
        self.rates_plot = make_plot(
            "Step size η_k", left="η_k", bottom="step k", log_x=True, log_y=True
        )
        self.rates = self.rates_plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        self.sums_plot = make_plot(
            "Partial sums: Σηₖ (blue), Σηₖ² (orange)", bottom="step k", log_x=True, log_y=True
        )
        self.sums = self.sums_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.sums_sq = self.sums_plot.plot(pen=pg.mkPen("#ff7f0e", width=2))
        self.verdict = note_label()
        self.product = QtWidgets.QDoubleSpinBox()
        self.product.setRange(0.01, 3.0)
        self.product.setSingleStep(0.05)
        self.product.setValue(0.5)
        self.product.valueChanged.connect(lambda _: self.lab.refresh_now())
        self.stall_plot = make_plot(
            "Distance left on a parabola: η₀/(k+1)² (red) stalls, η₀/(k+1) (blue) keeps going",
            left="|x_k|/|x_0|",
            bottom="step k",
            log_x=True,
            log_y=True,
        )
        self.stall = self.stall_plot.plot(pen=pg.mkPen("#d62728", width=2))
        self.harmonic = self.stall_plot.plot(pen=pg.mkPen("#1f77b4", width=2))
        self.limit = pg.InfiniteLine(
            angle=0, pen=pg.mkPen("#d62728", style=QtCore.Qt.PenStyle.DashLine)
        )
        self.stall_plot.addItem(self.limit)
        self.stall_text = note_label()
        self.result: theory.RobbinsMonro | None = None

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Schedule:"))
        top.addWidget(self.schedule, 1)
        stall_row = QtWidgets.QHBoxLayout()
        stall_row.addWidget(QtWidgets.QLabel("λη₀ ="))
        stall_row.addWidget(self.product)
        stall_row.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.rates_plot, 1)
        layout.addWidget(self.sums_plot, 1)
        layout.addWidget(self.verdict)
        layout.addLayout(stall_row)
        layout.addWidget(self.stall_plot, 1)
        layout.addWidget(self.stall_text)

    def _chosen(self, _index: int) -> None:
        self.user_choice = True
        self.lab.refresh_now()

    def _sync_choices(self, state: LabState) -> None:
        names = sorted(state.registry.schedules)
        unscheduled = "constant" if "constant" in names else CONSTANT
        if unscheduled == CONSTANT:
            names.insert(0, CONSTANT)
        current = [self.schedule.itemText(i) for i in range(self.schedule.count())]
        run_schedule = state.config.schedule if state.config is not None else None
        wanted = self.schedule.currentText() if self.user_choice else (run_schedule or unscheduled)
        self.schedule.blockSignals(True)
        if names != current:
            self.schedule.clear()
            self.schedule.addItems(names)
        self.schedule.setCurrentIndex(max(0, names.index(wanted) if wanted in names else 0))
        self.schedule.blockSignals(False)

    def refresh(self, state: LabState) -> None:
        self._sync_choices(state)
        name = self.schedule.currentText()
        spec = state.registry.schedules.get(name)
        params = {}
        if spec is not None and state.config is not None and state.config.schedule == name:
            params = dict(state.config.schedule_params)
        result = theory.robbins_monro(spec, params, lr=state.lr, steps=STEPS)
        self.result = result
        steps = np.arange(1, STEPS + 1)
        positive = result.lr > 0
        self.rates.setData(steps[positive], result.lr[positive])
        self.sums.setData(steps, np.maximum(result.sums, 1e-300))
        self.sums_sq.setData(steps, np.maximum(result.sums_sq, 1e-300))
        source = (
            "as the schedule declares"
            if result.declared is not None
            else "read from the partial sums"
        )
        colour = "#2ca02c" if result.satisfied else "#d62728"
        self.verdict.setText(
            f"η₀ = {state.lr:.4g}: after {STEPS:,} steps Σηₖ = {result.sums[-1]:.4g}, "
            f"Σηₖ² = {result.sums_sq[-1]:.4g}. <b style='color:{colour}'>{result.verdict}</b> "
            f"({source}). Σηₖ = ∞ lets the run reach any distance; Σηₖ² < ∞ lets the "
            "noise it adds die out."
        )
        self._draw_stall(self.product.value())

    def _draw_stall(self, product: float) -> None:
        k = np.arange(STEPS, dtype=float)
        square = np.abs(theory.step_product(product, 1.0 / (k + 1) ** 2))
        harmonic = np.abs(theory.step_product(product, 1.0 / (k + 1)))
        steps = np.arange(1, STEPS + 2)
        self.stall.setData(steps, np.maximum(square, 1e-300))
        self.harmonic.setData(steps, np.maximum(harmonic, 1e-300))
        stall = theory.stall_factor(product)
        if stall > 0:
            self.limit.setValue(np.log10(stall))
        self.limit.setVisible(stall > 0)
        self.stall_text.setText(
            f"With η_k = η₀/(k+1)² the steps sum to π²/6·η₀ only, so gradient descent stops at "
            f"|sin(π√(λη₀))/(π√(λη₀))| = {abs(stall):.7g} of its start distance; with "
            f"η₀/(k+1) it is at {harmonic[-1]:.3g} after {STEPS:,} steps and still moving "
            "(∝ k^(−λη₀))."
        )
