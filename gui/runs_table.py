"""The run list as a Qt model: one row per run, refreshed cell by cell.

Hundreds or thousands of runs change their status several times a second, so the table
never rebuilds itself for that: ``set_status`` compares with what it shows and signals
only the rows that changed (``dataChanged`` per run of consecutive rows), and column
widths are fixed or user-set, never measured per refresh.  Adding or removing runs is
one model reset.  Sorting (by clicking a header) reorders the rows once; the order
stays until the next click or change of runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6 import QtCore, QtGui

from zoo.engine import RunConfig

COLUMNS = ("", "run", "status", "loss")
SWATCH, LABEL, STATUS, LOSS = range(4)
#: Colours by state, or by end state once a stopped run has been classified.
STATE_COLOURS = {
    "running": "#c8d0da",
    "minimum": "#6ee7a8",
    "converged": "#6ee7a8",
    "saddle": "#e9a6ff",
    "plateau": "#7cc7ff",
    "stalled": "#ffd166",
    "stopped": "#ffd166",
    "diverged": "#ffb454",
    "failed": "#ff6b6b",
}
#: Sorting by status groups runs by (end) state, in this order, then by step.
STATE_ORDER = {name: order for order, name in enumerate(STATE_COLOURS)}
_STEP = re.compile(r"step (\d+)")
Qt = QtCore.Qt


class RunsTableModel(QtCore.QAbstractTableModel):
    """Rows of (shown + colour, label, status, loss); ``visibility_toggled`` when a row's
    check box is clicked."""

    visibility_toggled = QtCore.Signal(int, bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.run_ids: list[int] = []
        self._row_of: dict[int, int] = {}
        self._labels: list[str] = []
        self._colours: list[QtGui.QColor] = []
        self._visible: list[bool] = []
        self._status: list[str] = []
        self._state: list[str] = []
        self._loss: list[str] = []
        self._warnings: dict[int, str] = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._brushes: dict[str, QtGui.QColor] = {}

    # ------------------------------------------------------------------ filling
    def set_runs(self, configs: Mapping[int, RunConfig], label: Callable[[RunConfig], str]) -> None:
        """Show these runs (one reset); status and loss of runs still shown are kept."""
        old = {run_id: row for run_id, row in self._row_of.items()}
        status, state, loss = self._status, self._state, self._loss
        self.beginResetModel()
        self.run_ids = list(configs)
        self._labels = [label(c) for c in configs.values()]
        self._colours = [self._colour(c.color or "#ffffff") for c in configs.values()]
        self._visible = [c.visible for c in configs.values()]
        self._status = [status[old[r]] if r in old else "" for r in self.run_ids]
        self._state = [state[old[r]] if r in old else "running" for r in self.run_ids]
        self._loss = [loss[old[r]] if r in old else "" for r in self.run_ids]
        if self._sort is not None:
            self._reorder(*self._sort)
        self._index_rows()
        self.endResetModel()

    def set_status(self, texts: Mapping[int, tuple[str, str, str]]) -> None:
        """``{run_id: (status, state, loss)}``, ``state`` the run's end state once it has
        one (``RunStatus.outcome``): changed cells are signalled, nothing else."""
        changed = []
        for row, run_id in enumerate(self.run_ids):
            item = texts.get(run_id)
            if item is None:
                continue
            status, state, loss = item
            if status != self._status[row] or loss != self._loss[row]:
                self._status[row], self._state[row], self._loss[row] = status, state, loss
                changed.append(row)
        for first, last in _spans(changed):
            self.dataChanged.emit(self.index(first, STATUS), self.index(last, LOSS))

    def set_warnings(self, warnings: Mapping[int, str]) -> None:
        """``{run_id: text}``: those rows' labels are marked ⚠, with the text on hover."""
        changed = set(warnings) ^ set(self._warnings) | {
            r for r in warnings if warnings[r] != self._warnings.get(r)
        }
        self._warnings = dict(warnings)
        rows = sorted(self._row_of[r] for r in changed if r in self._row_of)
        for first, last in _spans(rows):
            self.dataChanged.emit(self.index(first, LABEL), self.index(last, LABEL))

    def warning(self, run_id: int) -> str:
        return self._warnings.get(run_id, "")

    def _colour(self, name: str) -> QtGui.QColor:
        colour = self._brushes.get(name)
        if colour is None:
            colour = self._brushes[name] = QtGui.QColor(name)
        return colour

    def _index_rows(self) -> None:
        self._row_of = {run_id: row for row, run_id in enumerate(self.run_ids)}

    def row_of(self, run_id: int) -> int | None:
        return self._row_of.get(run_id)

    def status_text(self, run_id: int) -> str:
        return self._status[self._row_of[run_id]]

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.run_ids)

    def columnCount(self, parent: QtCore.QModelIndex = QtCore.QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: QtCore.QModelIndex) -> Qt.ItemFlag:
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == SWATCH:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: QtCore.QModelIndex, role: int = 0) -> Any:
        row, column = index.row(), index.column()
        if column == SWATCH:
            if role == Qt.ItemDataRole.BackgroundRole:
                return self._colours[row]
            if role == Qt.ItemDataRole.CheckStateRole:
                return Qt.CheckState.Checked if self._visible[row] else Qt.CheckState.Unchecked
            if role == Qt.ItemDataRole.ToolTipRole:
                return "shown on the canvas; double-click to change the colour"
            return None
        warning = self._warnings.get(self.run_ids[row], "") if column == LABEL else ""
        if role == Qt.ItemDataRole.DisplayRole:
            text = (self._labels, self._status, self._loss)[column - 1][row]
            return f"⚠ {text}" if warning else text
        if role == Qt.ItemDataRole.ToolTipRole and column in (LABEL, STATUS):
            text = (self._labels if column == LABEL else self._status)[row]
            return f"{text}\n{warning}" if warning else text
        if role == Qt.ItemDataRole.ForegroundRole and warning:
            return self._colour(STATE_COLOURS["diverged"])
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return self._colour(STATE_COLOURS.get(self._state[row], "#c8d0da"))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == LOSS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index: QtCore.QModelIndex, value: Any, role: int = 0) -> bool:
        if index.column() != SWATCH or role != Qt.ItemDataRole.CheckStateRole:
            return False
        shown = Qt.CheckState(value) == Qt.CheckState.Checked
        self.visibility_toggled.emit(self.run_ids[index.row()], shown)
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column == SWATCH:
            return
        self.layoutAboutToBeChanged.emit()
        self._sort = (column, order)
        self._reorder(column, order)
        self._index_rows()
        self.layoutChanged.emit()

    def _reorder(self, column: int, order: Qt.SortOrder) -> None:
        if column == LABEL:
            keys: Sequence[Any] = [label.lower() for label in self._labels]
        elif column == STATUS:
            keys = [
                (STATE_ORDER.get(state, len(STATE_ORDER)), _step(status))
                for state, status in zip(self._state, self._status, strict=True)
            ]
        else:
            keys = [_number(loss) for loss in self._loss]
        rows = sorted(
            range(len(self.run_ids)),
            key=keys.__getitem__,
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        for name in ("run_ids", "_labels", "_colours", "_visible", "_status", "_state", "_loss"):
            values = getattr(self, name)
            setattr(self, name, [values[row] for row in rows])


def _step(status: str) -> float:
    """The step a status text names ("step 12", "saddle at step 40 (…)"); blanks last."""
    found = _STEP.search(status)
    return float(found.group(1)) if found else math.inf


def _number(text: str) -> float:
    """A sort key for a shown number: blanks and NaN sort last."""
    try:
        value = float(text)
    except ValueError:
        return math.inf
    return math.inf if math.isnan(value) else value


def _spans(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as (first, last) runs of consecutive rows."""
    spans: list[tuple[int, int]] = []
    for row in rows:
        if spans and row == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], row)
        else:
            spans.append((row, row))
    return spans
