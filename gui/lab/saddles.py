"""Saddles: the signs of the Hessian's eigenvalues where the run stands, its gradient
norm collapsing as it nears a saddle, and runs to compare: gradient descent slows, Newton
is attracted, noise escapes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from zoo import RunConfig, theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import REGIME_COLOURS, footnote_label, make_plot, note_label, subscript

#: The runs the panel offers, as (optimizer, button text, hyper-parameters).
COMPARISONS = (
    ("sgd", "Add gradient descent", {"lr": 0.05}),
    ("newton", "Add Newton", {}),
    ("sgld", "Add noisy gradient descent", {"lr": 0.05}),
)


def point_kind(eigenvalues: np.ndarray, tol: float = 1e-12) -> str:
    negative = int(np.sum(eigenvalues < -tol))
    zero = int(np.sum(np.abs(eigenvalues) <= tol))
    if zero:
        return "degenerate (a flat direction)"
    if negative == 0:
        return "bowl: all curvatures positive"
    if negative == len(eigenvalues):
        return "cap: all curvatures negative"
    return f"saddle of index {negative}"


class SaddlesPanel(QtWidgets.QWidget):
    name = "saddles"
    title = "Saddles"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.summary = note_label()
        self.plot = make_plot(
            "Gradient norm along the selected run", left="|∇E|", bottom="step k", log_y=True
        )
        self.gradient = self.plot.plot(pen=pg.mkPen("#1f77b4", width=1))
        self.buttons = {}
        row = QtWidgets.QHBoxLayout()
        for optimizer, text, hyper in COMPARISONS:
            button = QtWidgets.QPushButton(text)
            button.clicked.connect(lambda _=False, o=optimizer, h=hyper: self.add_run(o, h))
            self.buttons[optimizer] = button
            row.addWidget(button)
        self.note = footnote_label(
            "Near a saddle the gradient is tiny, so gradient descent crawls and leaves only "
            "along the negative-curvature direction, as fast as its component there grows "
            "(×(1 + η|λ|) per step). Newton's step −H⁻¹∇E goes to the stationary point of "
            "the local model whatever its kind, so it is attracted to the saddle. Noise "
            "puts a component along the escape direction at once."
        )
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        layout.addWidget(self.note)

    def add_run(self, optimizer: str, hyper: dict) -> None:
        state = self.lab.state
        if state is None:
            return
        self.lab.window.add_run(
            RunConfig(optimizer, dict(hyper), start=tuple(state.history[0]), label=optimizer)
        )

    def refresh(self, state: LabState) -> None:
        provides = state.problem.provides
        for optimizer, button in self.buttons.items():
            spec = state.registry.optimizers.get(optimizer)
            button.setEnabled(spec is not None and spec.needs <= provides)
        if state.model is None:
            self.summary.setText(state.error)
            self.gradient.setData([], [])
            return
        values = state.model.eigenvalues
        parts = []
        for index, value in enumerate(values):
            colour = REGIME_COLOURS[theory.SADDLE] if value < 0 else REGIME_COLOURS[theory.MONOTONE]
            parts.append(
                f"<span style='color:{colour}'>λ{subscript(index + 1)} = {value:.4g}</span>"
            )
        text = f"Here: {', '.join(parts)} — <b>{point_kind(values)}</b>."
        if np.any(values < 0):
            stationary = state.model.stationary_point()
            distance = float(np.linalg.norm(stationary - state.point))
            text += f" The local model's stationary point is {distance:.3g} away."
        self.summary.setText(text)
        with np.errstate(all="ignore"):
            norms = np.linalg.norm(np.asarray(state.problem.grad(state.history)), axis=1)
        steps = np.arange(len(norms))
        self.gradient.setData(steps, np.maximum(norms, 1e-300))
