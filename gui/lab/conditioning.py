"""Conditioning: set λ₁, λ₂ and the rotation of the quadratic, and rescale the axes by
H^½ to watch elliptic contours become circles, where one step of Newton lands."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import RunConfig
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import footnote_label, make_plot

LEVELS = (0.25, 0.5, 0.75, 1.0)
CIRCLE = np.linspace(0.0, 2 * math.pi, 97)


def quadratic_settings(problem) -> dict[str, float] | None:
    """The ``quadratic`` model's settings that rebuild ``problem``, if it is one."""
    matrix = getattr(problem, "matrix", None)
    centre = getattr(problem, "centre", None)
    if matrix is None or centre is None or np.shape(matrix) != (2, 2):
        return None
    eigenvalues, vectors = np.linalg.eigh(matrix)
    angle = math.degrees(math.atan2(vectors[1, 0], vectors[0, 0]))
    angle = (angle + 90.0) % 180.0 - 90.0  # an eigenvector's sign is arbitrary
    return {
        "lambda1": float(eigenvalues[0]),
        "lambda2": float(eigenvalues[1]),
        "angle": angle,
        "cx": float(centre[0]),
        "cy": float(centre[1]),
    }


class ConditioningPanel(QtWidgets.QWidget):
    name = "conditioning"
    title = "Conditioning"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.settings: dict[str, float] | None = None
        self.lambda1 = self._spin(-10.0, 100.0, 1.0)
        self.lambda2 = self._spin(-10.0, 100.0, 10.0)
        self.angle = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.angle.setRange(-90, 90)
        self.angle_label = QtWidgets.QLabel("0°")
        self.angle.valueChanged.connect(lambda v: self.angle_label.setText(f"{v}°"))
        self.angle.sliderReleased.connect(self.apply_model)
        self.angle.setTracking(True)
        for spin in (self.lambda1, self.lambda2):
            spin.editingFinished.connect(self.apply_model)
        self.kappa = QtWidgets.QLabel()
        self.rescale = QtWidgets.QCheckBox("Rescale the axes by H^½ (precondition)")
        self.rescale.toggled.connect(lambda _: self.lab.refresh_now())
        self.newton_button = QtWidgets.QPushButton("Add a Newton run")
        self.newton_button.clicked.connect(lambda: self._add_run("newton"))
        self.diagonal_button = QtWidgets.QPushButton("Add an axis-rescaled run")
        self.diagonal_button.clicked.connect(lambda: self._add_run("diag_newton"))
        self.plot = make_plot(left="", bottom="")
        self.plot.setAspectLocked(True)
        self.contours = self.plot.plot(pen=pg.mkPen("#888", width=1), connect="finite")
        self.path = self.plot.plot(
            pen=pg.mkPen("#1f77b4", width=1),
            symbol="o",
            symbolSize=4,
            symbolBrush="#1f77b4",
            symbolPen=None,
        )
        self.newton = self.plot.plot(
            pen=pg.mkPen("#d62728", width=2, style=QtCore.Qt.PenStyle.DashLine),
            symbol="x",
            symbolSize=9,
            symbolPen="#d62728",
        )
        self.note = footnote_label()

        form = QtWidgets.QFormLayout()
        form.addRow("λ₁", self.lambda1)
        form.addRow("λ₂", self.lambda2)
        angle_row = QtWidgets.QHBoxLayout()
        angle_row.addWidget(self.angle, 1)
        angle_row.addWidget(self.angle_label)
        form.addRow("rotation", angle_row)
        form.addRow("κ", self.kappa)
        self.model_box = QtWidgets.QGroupBox("Quadratic E = ½(x − c)ᵀA(x − c)")
        self.model_box.setLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.newton_button)
        buttons.addWidget(self.diagonal_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.model_box)
        layout.addWidget(self.rescale)
        layout.addWidget(self.plot, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.note)

    @staticmethod
    def _spin(low: float, high: float, value: float) -> QtWidgets.QDoubleSpinBox:
        spin = QtWidgets.QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setDecimals(3)
        spin.setSingleStep(0.5)
        spin.setValue(value)
        return spin

    def apply_model(self) -> None:
        """Rebuild the quadratic with the controls' eigenvalues and rotation."""
        if self.settings is None:
            return
        settings = dict(
            self.settings,
            lambda1=self.lambda1.value(),
            lambda2=self.lambda2.value(),
            angle=float(self.angle.value()),
        )
        if settings != self.settings:
            self.settings = settings
            self.lab.window.set_model("quadratic", settings)

    def _add_run(self, optimizer: str) -> None:
        state = self.lab.state
        if state is None:
            return
        self.lab.window.add_run(
            RunConfig(optimizer, {}, start=tuple(state.history[0]), label=optimizer)
        )

    def _sync_controls(self, state: LabState) -> None:
        settings = quadratic_settings(state.problem)
        self.model_box.setEnabled(settings is not None)
        if (
            settings is None
            or any(w.hasFocus() for w in (self.lambda1, self.lambda2))
            or self.angle.isSliderDown()
        ):
            self.settings = settings if settings is not None else self.settings
            return
        self.settings = settings
        for widget, value in (
            (self.lambda1, settings["lambda1"]),
            (self.lambda2, settings["lambda2"]),
        ):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        self.angle.blockSignals(True)
        self.angle.setValue(round(settings["angle"]))
        self.angle_label.setText(f"{round(settings['angle'])}°")
        self.angle.blockSignals(False)

    def refresh(self, state: LabState) -> None:
        self._sync_controls(state)
        registry = state.registry
        provides = state.problem.provides
        for button, name in ((self.newton_button, "newton"), (self.diagonal_button, "diag_newton")):
            spec = registry.optimizers.get(name)
            button.setEnabled(spec is not None and spec.needs <= provides)
        model = state.start_model
        if model is None:
            self.note.setText(state.error)
            for curve in (self.contours, self.path, self.newton):
                curve.setData([], [])
            return
        self.kappa.setText(f"{model.condition_number:.4g}")
        centre = model.stationary_point()
        picks = [0, len(model.eigenvalues) - 1] if len(model.eigenvalues) > 1 else [0]
        vectors = model.eigenvectors[:, picks]
        scales = np.sqrt(np.abs(model.eigenvalues[picks]))
        scales[scales == 0] = 1.0
        eigen_coords = (state.history - centre) @ vectors  # (K+1, 2)
        rescaled = self.rescale.isChecked()
        in_plane = len(centre) == 2 and not rescaled

        def place(coords: np.ndarray) -> np.ndarray:
            if rescaled:
                return coords * scales
            if in_plane:
                return centre + coords @ vectors.T
            return coords

        radius = float(np.linalg.norm(eigen_coords[0] * scales)) or 1.0
        pieces = []
        for level in LEVELS:
            ring = np.stack([np.cos(CIRCLE), np.sin(CIRCLE)], axis=1) * radius * level / scales
            pieces += [place(ring), np.full((1, 2), np.nan)]
        rings = np.vstack(pieces)
        self.contours.setData(rings[:, 0], rings[:, 1])
        path = place(eigen_coords)
        self.path.setData(path[:, 0], path[:, 1])
        newton = place(np.vstack([eigen_coords[0], np.zeros(2)]))
        self.newton.setData(newton[:, 0], newton[:, 1])
        notes = [f"κ = λ_max/λ_min = {model.condition_number:.4g}."]
        if rescaled:
            notes.append(
                "In ŵ = H^½Qᵀ(w − w*) every contour is a circle, the gradient points "
                "at the centre and η = 1 (Newton, dashed red) lands there in one step."
            )
        else:
            notes.append(
                "Contours of the quadratic with the run's path; Newton's first step "
                "(dashed red) goes straight to the centre."
            )
        if np.any(model.eigenvalues <= 0):
            notes.append(
                "The Hessian is not positive definite: circles show |H|, and "
                "Newton's step goes to the saddle."
            )
        if not in_plane and not rescaled:
            notes.append("Axes: the eigen-directions of the smallest and largest eigenvalues.")
        self.note.setText(" ".join(notes))
