"""Forms generated from ``Param`` records: whatever a plugin declares gets a widget.

float → slider (logarithmic where ``log=True``) with an exact entry box; int → spin
box; bool → check box; choice and activation → drop-down; text → a box whose error
(e.g. a formula the parser refuses) is shown right under it.  Values are checked with
``Param.coerce``, so the form refuses what the CLI and scene files refuse.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from zoo.specs import Param, SpecError

SLIDER_STEPS = 1000
#: The keys a typed number is made of; a number box leaves every other key to the window.
NUMBER_KEYS = frozenset("0123456789.eE+-")


class NumberEdit(QtWidgets.QLineEdit):
    """A box for one number: a key that cannot be part of a number is never typed into
    it, and goes to the window's single-key shortcuts (R, S, Space …) instead."""

    def event(self, event: QtCore.QEvent) -> bool:
        if event.type() == QtCore.QEvent.Type.ShortcutOverride and _foreign(event):
            event.ignore()
            return False
        return super().event(event)

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if _foreign(event):
            event.ignore()
            return
        super().keyPressEvent(event)


def _foreign(event: QtGui.QKeyEvent) -> bool:
    """A printable key, without Ctrl or Alt, that no number contains."""
    text = event.text()
    plain = not event.modifiers() & (
        QtCore.Qt.KeyboardModifier.ControlModifier | QtCore.Qt.KeyboardModifier.AltModifier
    )
    return plain and len(text) == 1 and text.isprintable() and text not in NUMBER_KEYS


def format_number(value: float) -> str:
    return f"{value:.6g}"


class FloatField(QtWidgets.QWidget):
    """A slider over the parameter's range plus a box taking any exact value in it.

    ``edited(value)`` when a value is committed (typed, or the slider let go);
    ``previewed(value)`` while the slider is being dragged."""

    edited = QtCore.Signal(object)
    previewed = QtCore.Signal(object)

    def __init__(self, param: Param, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.param = param
        layout = QtWidgets.QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setMinimumWidth(90)
        self.entry = NumberEdit()
        self.entry.setMaximumWidth(86)
        self.entry.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
        bounded = param.low is not None and param.high is not None and param.high > param.low
        self.slider.setVisible(bounded)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.entry)
        self._value = float(param.default)
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(lambda: self.edited.emit(self._value))
        self.entry.editingFinished.connect(self._typed)
        self.set_value(self._value)

    def _to_slider(self, value: float) -> int:
        low, high = self.param.low, self.param.high
        if low is None or high is None or high <= low:
            return 0
        if self.param.log:
            span = math.log(high) - math.log(low)
            fraction = (math.log(max(value, low)) - math.log(low)) / span
        else:
            fraction = (value - low) / (high - low)
        return round(min(max(fraction, 0.0), 1.0) * SLIDER_STEPS)

    def _from_slider(self, position: int) -> float:
        low, high = self.param.low, self.param.high
        fraction = position / SLIDER_STEPS
        if self.param.log:
            value = math.exp(math.log(low) + fraction * (math.log(high) - math.log(low)))
            return float(f"{value:.3g}")  # round numbers from a slider, exact ones typed
        return float(f"{low + fraction * (high - low):.4g}")

    def _slid(self, position: int) -> None:
        self._value = self._from_slider(position)
        self.entry.setText(format_number(self._value))
        if self.slider.isSliderDown():
            self.previewed.emit(self._value)
        else:
            self.edited.emit(self._value)

    def _typed(self) -> None:
        try:
            value = self.param.coerce(self.entry.text())
        except SpecError as error:
            self.entry.setToolTip(str(error))
            self.entry.setStyleSheet("color: #ff6b6b")
            return
        self.entry.setStyleSheet("")
        self.entry.setToolTip(self.toolTip())
        if value != self._value:
            self.set_value(value)
            self.edited.emit(value)

    def set_value(self, value: float) -> None:
        self._value = float(value)
        blocked = self.slider.blockSignals(True)
        self.slider.setValue(self._to_slider(self._value))
        self.slider.blockSignals(blocked)
        self.entry.setText(format_number(self._value))
        self.entry.setStyleSheet("")

    def value(self) -> float:
        return self._value


def spin_box(low: int, high: int, value: int, tip: str) -> QtWidgets.QSpinBox:
    """A whole-number box from ``low`` to ``high`` holding ``value``, with a tooltip."""
    box = QtWidgets.QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setToolTip(tip)
    return box


def param_tooltip(param: Param, context: str = "") -> str:
    """What a value does: its description, default and range, then the record's own
    description (the formula it takes part in), wrapped for a tooltip."""
    facts = [f"default {format_value(param.default)}"]
    if param.low is not None and param.high is not None:
        scale = ", log scale" if param.log else ""
        facts.append(f"from {format_value(param.low)} to {format_value(param.high)}{scale}")
    elif param.choices:
        facts.append("one of " + ", ".join(map(str, param.choices)))
    head = f"{param.name}: {param.doc}" if param.doc else param.name
    text = f"{head} ({'; '.join(facts)})"
    if context:
        text += "\n\n" + "\n".join(textwrap.wrap(context.strip(), 72))
    return text


def format_value(value: Any) -> str:
    return format_number(value) if isinstance(value, float) else str(value)


class ParamForm(QtWidgets.QWidget):
    """A form for a tuple of ``Param``; ``changed(name, value)`` after each user edit,
    ``previewed(name, value)`` while a slider is dragged."""

    changed = QtCore.Signal(str, object)
    previewed = QtCore.Signal(str, object)

    def __init__(
        self,
        params: Sequence[Param],
        values: dict[str, Any] | None = None,
        activations: Sequence[str] = (),
        parent: QtWidgets.QWidget | None = None,
        context: str = "",
    ) -> None:
        """``context``: the record's description, shown under each value's tooltip."""
        super().__init__(parent)
        self.params = tuple(params)
        self.fields: dict[str, QtWidgets.QWidget] = {}
        self.errors: dict[str, QtWidgets.QLabel] = {}
        layout = QtWidgets.QFormLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for param in self.params:
            widget = self._field(param, activations)
            tooltip = param_tooltip(param, context)
            widget.setToolTip(tooltip)
            if isinstance(widget, FloatField):
                widget.entry.setToolTip(tooltip)
                widget.slider.setToolTip(tooltip)
            self.fields[param.name] = widget
            label = QtWidgets.QLabel(param.name)
            label.setToolTip(tooltip)
            if param.kind == "text":
                box = QtWidgets.QWidget()
                column = QtWidgets.QVBoxLayout(box)
                column.setContentsMargins(0, 0, 0, 0)
                column.addWidget(widget)
                error = QtWidgets.QLabel()
                error.setWordWrap(True)
                error.setStyleSheet("color: #ff6b6b")
                error.setVisible(False)
                error.setObjectName(f"error_{param.name}")
                column.addWidget(error)
                self.errors[param.name] = error
                layout.addRow(label, box)
            else:
                layout.addRow(label, widget)
        self.set_values(values or {})

    def _field(self, param: Param, activations: Sequence[str]) -> QtWidgets.QWidget:
        name = param.name
        if param.kind == "float":
            field = FloatField(param)
            field.edited.connect(lambda value, n=name: self.changed.emit(n, value))
            field.previewed.connect(lambda value, n=name: self.previewed.emit(n, value))
            return field
        if param.kind == "int":
            box = QtWidgets.QSpinBox()
            box.setRange(
                int(param.low) if param.low is not None else -(2**31 - 1),
                int(param.high) if param.high is not None else 2**31 - 1,
            )
            box.setKeyboardTracking(False)
            box.valueChanged.connect(lambda value, n=name: self.changed.emit(n, int(value)))
            return box
        if param.kind == "bool":
            box = QtWidgets.QCheckBox()
            box.toggled.connect(lambda value, n=name: self.changed.emit(n, bool(value)))
            return box
        if param.kind in ("choice", "activation"):
            box = QtWidgets.QComboBox()
            box.addItems(list(param.choices if param.kind == "choice" else activations))
            box.currentTextChanged.connect(lambda value, n=name: self.changed.emit(n, value))
            return box
        box = QtWidgets.QLineEdit()  # text
        box.setPlaceholderText(param.doc)
        box.editingFinished.connect(lambda n=name, b=box: self.changed.emit(n, b.text()))
        return box

    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values`` (defaults for the rest) without emitting ``changed``."""
        for param in self.params:
            value = values.get(param.name, param.default)
            field = self.fields[param.name]
            blocked = field.blockSignals(True)
            if isinstance(field, FloatField):
                field.set_value(float(value))
            elif isinstance(field, QtWidgets.QSpinBox):
                field.setValue(int(value))
            elif isinstance(field, QtWidgets.QCheckBox):
                field.setChecked(bool(value))
            elif isinstance(field, QtWidgets.QComboBox):
                field.setCurrentText(str(value))
            else:
                if field.text() != str(value):
                    field.setText(str(value))
            field.blockSignals(blocked)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for param in self.params:
            field = self.fields[param.name]
            if isinstance(field, (FloatField, QtWidgets.QSpinBox)):
                out[param.name] = field.value()
            elif isinstance(field, QtWidgets.QCheckBox):
                out[param.name] = field.isChecked()
            elif isinstance(field, QtWidgets.QComboBox):
                out[param.name] = field.currentText()
            else:
                out[param.name] = field.text()
        return out

    def show_error(self, message: str) -> None:
        """Show ``message`` under the (first) text box, or clear it with ""."""
        for label in self.errors.values():
            label.setText(message)
            label.setVisible(bool(message))
            return
