"""The model chooser: model, its settings form, the data seed and (D > 2) the view plane."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from gui.forms import ParamForm

PLANES = {"model": "the model's own plane", "pca": "principal directions of the paths"}


class ModelPanel(QtWidgets.QWidget):
    """Asks for a model; the window builds it and reports errors back with ``show_error``."""

    model_requested = QtCore.Signal(str, object)  # name, settings
    seed_changed = QtCore.Signal(int)
    plane_requested = QtCore.Signal(str)  # a key of PLANES

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.plane_box.activated.connect(
            lambda index: self.plane_requested.emit(self.plane_box.itemData(index))
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
        self.message.setStyleSheet("color: #ff6b6b")
        layout.addWidget(self.message)
        layout.addStretch(1)
        self.form: ParamForm | None = None
        self._registry: Any = None
        self._name = ""
        self._quiet = False

    def show_model(
        self, registry: Any, name: str, settings: dict[str, Any], seed: int, dim: int
    ) -> None:
        """Show the current model (after a build), without emitting anything."""
        self._quiet = True
        self._registry = registry
        self.model_box.clear()
        for model_name, spec in registry.models.items():
            self.model_box.addItem(spec.label or model_name, model_name)
        self.model_box.setCurrentIndex(max(self.model_box.findData(name), 0))
        self.seed_box.setValue(int(seed))
        self.show_plane("model")
        self.plane_box.setVisible(dim > 2)
        self.plane_label.setVisible(dim > 2)
        spec = registry.models.get(name)
        self.doc.setText(spec.doc.strip().split("\n\n")[0] if spec is not None else "")
        if name != self._name or self.form is None:
            if self.form is not None:
                _discard(self.form)
            self.form = ParamForm(
                spec.params if spec else (), settings, activations=list(registry.activations)
            )
            self.form.setObjectName("model_form")
            self.form.changed.connect(self._setting_changed)
            self.form_holder.addWidget(self.form)
        else:
            self.form.set_values(settings)
        self._name = name
        self.show_error("")
        self._quiet = False

    def show_plane(self, key: str) -> None:
        self.plane_box.setCurrentIndex(max(self.plane_box.findData(key), 0))

    def _model_chosen(self, index: int) -> None:
        name = self.model_box.itemData(index)
        if name != self._name:
            self.model_requested.emit(name, {})

    def _setting_changed(self, _name: str, _value: Any) -> None:
        if not self._quiet and self.form is not None:
            self.model_requested.emit(self._name, self.form.values())

    def _emit_seed(self, value: int) -> None:
        if not self._quiet:
            self.seed_changed.emit(int(value))

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
