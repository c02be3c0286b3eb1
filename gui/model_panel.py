"""The model chooser: model, its settings form, the data seed and (D > 2) the view plane.

Choices go to the workspace through the window's ``FormulaGate`` (a formula is compiled
in a background thread first, since sympy may need seconds; a change made meanwhile
supersedes it); a model that cannot be built (a bad formula, a plugin whose build raises)
is reported in red here and the chooser shows the model still on the canvas."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from PySide6 import QtCore, QtWidgets

from zoo.engine import EngineError
from zoo.workspace import Workspace, WorkspaceBusy
from zoo_gui.compiling import FormulaGate
from zoo_gui.forms import ParamForm

PLANES = {"model": "the model's own plane", "pca": "principal directions of the paths"}


class ModelPanel(QtWidgets.QWidget):
    """Chooses the workspace's model, its settings, seed and view plane."""

    #: Something that changed, for the window's status bar and dialogs.
    report = QtCore.Signal(str)

    def __init__(
        self, workspace: Workspace, gate: FormulaGate, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.gate = gate
        gate.waiting.connect(self._waiting)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QtWidgets.QFormLayout()
        self.model_box = QtWidgets.QComboBox()
        self.model_box.activated.connect(self._model_chosen)
        top.addRow("model", self.model_box)
        self.seed_box = QtWidgets.QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setToolTip("seed of the model's data (and of noisy runs)")
        self.seed_box.valueChanged.connect(lambda value: self._emit_seed(value))
        top.addRow("seed", self.seed_box)
        self.plane_box = QtWidgets.QComboBox()
        for key, text in PLANES.items():
            self.plane_box.addItem(text, key)
        self.plane_box.setToolTip("The plane through the weights on which the landscape is drawn")
        self.plane_box.activated.connect(
            lambda index: self._plane_chosen(self.plane_box.itemData(index))
        )
        self.plane_label = QtWidgets.QLabel("view plane")
        top.addRow(self.plane_label, self.plane_box)
        layout.addLayout(top)
        self.doc = QtWidgets.QLabel()
        self.doc.setWordWrap(True)
        self.doc.setStyleSheet("color: #9aa4b2")
        layout.addWidget(self.doc)
        self.form_holder = QtWidgets.QVBoxLayout()
        layout.addLayout(self.form_holder)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.message.setStyleSheet("color: #ff6b6b")
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.form: ParamForm | None = None
        #: Wraps model builds (the window drops clicks made while one runs).
        self.long_operation: Callable[[], AbstractContextManager] = nullcontext
        self._name = ""
        self._activations: tuple[str, ...] = ()  # the choices the form was built with
        self._quiet = False

    def show_model(self) -> None:
        """Show the workspace's model (after a build), without changing anything."""
        ws = self.workspace
        registry, name, settings = ws.registry, ws.model_name, ws.settings
        seed, dim = ws.seed, ws.problem.dim
        self._quiet = True
        self.model_box.clear()
        for model_name, spec in registry.models.items():
            self.model_box.addItem(spec.label or model_name, model_name)
        self.model_box.setCurrentIndex(max(self.model_box.findData(name), 0))
        self.seed_box.setValue(int(seed))
        self.show_plane(ws.plane_key)
        self.plane_box.setVisible(dim > 2)
        self.plane_label.setVisible(dim > 2)
        spec = registry.models.get(name)
        self.doc.setText(spec.doc.strip().split("\n\n")[0] if spec is not None else "")
        activations = tuple(registry.activations)
        if name != self._name or self.form is None or activations != self._activations:
            if self.form is not None:
                _discard(self.form)
            self.form = ParamForm(
                spec.params if spec else (),
                settings,
                activations=list(registry.activations),
                context=spec.doc.strip().split("\n\n")[0] if spec is not None else "",
            )
            self.form.setObjectName("model_form")
            self.form.changed.connect(self._setting_changed)
            self.form_holder.addWidget(self.form)
        else:
            self.form.set_values(settings)
        self._name = name
        self._activations = activations
        self.show_error("")
        self._quiet = False

    def show_plane(self, key: str) -> None:
        self.plane_box.setCurrentIndex(max(self.plane_box.findData(key), 0))

    def _model_chosen(self, index: int) -> None:
        name = self.model_box.itemData(index)
        if name != self._name:
            self.change_model(name, {})

    def _setting_changed(self, _name: str, _value: Any) -> None:
        if not self._quiet and self.form is not None:
            self.change_model(self._name, self.form.values())

    def change_model(self, name: str, settings: dict[str, Any]) -> bool | None:
        """Build model ``name`` once its formulas are compiled: True or False (failed,
        and said why) when done at once, None while it waits."""
        return self.gate.then(
            name, settings, lambda: self._build(lambda: self.workspace.set_model(name, settings))
        )

    def change_seed(self, seed: int) -> bool | None:
        ws = self.workspace
        return self.gate.then(
            ws.model_name, ws.settings, lambda: self._build(lambda: ws.set_seed(int(seed)))
        )

    def _waiting(self, text: str) -> None:
        self.show_error("")
        self.message.setText(text)

    def _emit_seed(self, value: int) -> None:
        if not self._quiet:
            self.change_seed(value)

    def _plane_chosen(self, key: str) -> None:
        try:
            self.workspace.set_plane(key)
        except ValueError as error:
            self.report.emit(str(error))
        self.show_plane(self.workspace.plane_key)

    def _build(self, change: Any) -> bool:
        """Build a model; on failure say why here and show the model still in use."""
        self.message.clear()
        try:
            with self.long_operation():
                dropped = change()
        except (EngineError, WorkspaceBusy) as error:
            message = str(error)
            if self.workspace.problem is not None and self.form is not None:
                self._quiet = True
                self.model_box.setCurrentIndex(max(self.model_box.findData(self._name), 0))
                self.seed_box.setValue(int(self.workspace.seed))
                self._quiet = False
            self.show_error(message)
            return False
        if dropped:
            self.report.emit(
                "Runs left out (not compatible with this model): " + "; ".join(dropped)
            )
        return True

    def show_error(self, message: str) -> None:
        """The build's error: under the formula box if the model has one, else below."""
        if self.form is not None and self.form.errors:
            self.form.show_error(message)
            self.message.clear()
        else:
            self.message.setText(message)


def _discard(widget: QtWidgets.QWidget) -> None:
    """Take a form out of the panel now; Qt frees it later."""
    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
