"""One axis of a hyper-parameter map on one row: the parameter, its low and high, log or not.

Low and high are typed, so a log range reads as it does on the command line (``1e-3``);
the dock checks them with ``zoo.maps.checked_range`` when it computes, as ``zoo map
--range`` does.
"""

from __future__ import annotations

from PySide6 import QtWidgets


def number_text(value: float) -> str:
    """``value`` as a field shows it: short (``0.001``, ``1e-06``), whole sizes as integers."""
    return format(float(value), ".12g")


class AxisRow(QtWidgets.QWidget):
    """A row across the dock (the parameter's name is never cut short): "x axis",
    ``param`` (a combo of names), ``low`` and ``high`` (line edits) and ``log``."""

    def __init__(self, axis: str) -> None:
        super().__init__()
        self.axis = axis
        self.param = QtWidgets.QComboBox()
        self.param.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.low = QtWidgets.QLineEdit()
        self.high = QtWidgets.QLineEdit()
        for edit, end in ((self.low, "low"), (self.high, "high")):
            edit.setPlaceholderText(end)
            edit.setMinimumWidth(48)
            edit.setMaximumWidth(88)
            edit.setAccessibleName(f"{axis} axis {end}")
        self.log = QtWidgets.QCheckBox("log")
        self.log.setToolTip("Space the cells evenly in log (a log axis needs low > 0)")
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(QtWidgets.QLabel(f"{axis} axis"))
        row.addWidget(self.param)
        row.addWidget(self.low, 1)
        row.addWidget(QtWidgets.QLabel("to"))
        row.addWidget(self.high, 1)
        row.addWidget(self.log)

    def show_range(self, low: float, high: float, log: bool, log_choice: bool, limits: str) -> None:
        """Show a range; ``log_choice`` whether log or linear is the user's to pick;
        ``limits`` what the parameter allows, as the fields' tooltip."""
        self.low.setText(number_text(low))
        self.high.setText(number_text(high))
        self.log.setChecked(log)
        self.log.setEnabled(log_choice)
        for edit in (self.low, self.high):
            edit.setToolTip(limits)

    def clear_range(self) -> None:
        for edit in (self.low, self.high):
            edit.clear()
            edit.setToolTip("")
        self.log.setChecked(False)

    def typed(self) -> tuple[float, float, bool]:
        """The range as typed; ``ValueError`` naming the axis if an end is not a number."""
        try:
            return float(self.low.text()), float(self.high.text()), self.log.isChecked()
        except ValueError:
            raise ValueError(
                f"{self.axis} axis: low and high must be numbers such as 0.001 or 1e-3, "
                f"got {self.low.text()!r} and {self.high.text()!r}"
            ) from None
