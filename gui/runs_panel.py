"""The run list and the editor of the selected run.

The panel shows the workspace's runs and changes them only through the workspace's
methods, so there is one place where runs change; the window reacts to its events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from zoo.engine import EngineError, RunConfig
from zoo.workspace import Workspace, WorkspaceBusy, compatible_optimizers, run_label
from zoo_gui.forms import ParamForm
from zoo_gui.runs_table import RunsTableModel

NO_SCHEDULE = "constant lr (no schedule)"


class RunsPanel(QtWidgets.QWidget):
    """Run table (colour, shown, label, status, loss) above the selected run's form.

    Edits go straight to the workspace; what it refuses is shown under the form."""

    add_clicked = QtCore.Signal()
    duplicate_clicked = QtCore.Signal()
    remove_clicked = QtCore.Signal()
    sweep_clicked = QtCore.Signal()
    colour_clicked = QtCore.Signal(int)
    #: (run id, the run as it would be) while a value is dragged; (-1, None) when done
    preview_requested = QtCore.Signal(int, object)

    def __init__(self, workspace: Workspace, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.table_model = RunsTableModel(self)
        self.table_model.visibility_toggled.connect(
            lambda run_id, shown: self._apply(
                lambda: workspace.edit_run(run_id, visible=shown, restart=False)
            )
        )
        self.table = QtWidgets.QTableView()
        self.table.setModel(self.table_model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(QtCore.Qt.TextElideMode.ElideRight)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(False)
        self.table.horizontalHeader().sectionClicked.connect(
            lambda _: self.table.horizontalHeader().setSortIndicatorShown(True)
        )
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Fixed)
        header.setSectionResizeMode(1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QtWidgets.QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, 44)
        self.table.setColumnWidth(2, 120)
        self.table.setColumnWidth(3, 76)
        self.table.setMinimumHeight(150)
        self.table.selectionModel().selectionChanged.connect(self._selection)
        self.table.doubleClicked.connect(self._double_clicked)
        layout.addWidget(self.table, 2)

        buttons = QtWidgets.QHBoxLayout()
        for text, signal, tip in (
            ("Add", self.add_clicked, "Add a run (Ctrl+N)"),
            ("Duplicate", self.duplicate_clicked, "Copy the selected run (Ctrl+D)"),
            ("Remove", self.remove_clicked, "Remove the selected run (Delete)"),
            ("Sweep…", self.sweep_clicked, "Add runs over a log range of one value"),
        ):
            button = QtWidgets.QPushButton(text)
            button.setToolTip(tip)
            button.clicked.connect(signal.emit)
            # As narrow as the text, not the style's 80 px: the dock can leave the
            # canvas more room in a small window.
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(text) + 18)
            buttons.addWidget(button)
        layout.addLayout(buttons)

        self.editor = QtWidgets.QGroupBox("Selected run")
        form = QtWidgets.QFormLayout(self.editor)
        self.label_edit = QtWidgets.QLineEdit()
        self.label_edit.setPlaceholderText("named after its optimizer and values")
        self.label_edit.setToolTip("A name of your own; leave empty to name the run by its values")
        self.label_edit.editingFinished.connect(self._label_edited)
        form.addRow("label", self.label_edit)
        self.optimizer_box = QtWidgets.QComboBox()
        self.optimizer_box.activated.connect(self._optimizer_chosen)
        form.addRow("optimizer", self.optimizer_box)
        self.hyper_holder = QtWidgets.QVBoxLayout()
        form.addRow(self.hyper_holder)
        self.schedule_box = QtWidgets.QComboBox()
        self.schedule_box.setToolTip("A factor on the learning rate that changes with the step")
        self.schedule_box.activated.connect(self._schedule_chosen)
        form.addRow("schedule", self.schedule_box)
        self.schedule_holder = QtWidgets.QVBoxLayout()
        form.addRow(self.schedule_holder)
        self.seed_box = QtWidgets.QSpinBox()
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setKeyboardTracking(False)
        self.seed_box.setToolTip("Seed of this run's noise (minibatches, noisy optimizers)")
        self.seed_box.valueChanged.connect(lambda v: self._edit(seed=int(v)))
        form.addRow("seed", self.seed_box)
        self.batch_box = QtWidgets.QSpinBox()
        self.batch_box.setRange(0, 100000)
        self.batch_box.setSpecialValueText("full data")
        self.batch_box.setKeyboardTracking(False)
        self.batch_box.setToolTip("Samples per step; 0 uses the full data")
        self.batch_box.valueChanged.connect(lambda v: self._edit(batch_size=int(v)))
        self.batch_label = QtWidgets.QLabel("minibatch")
        form.addRow(self.batch_label, self.batch_box)
        self.continue_box = QtWidgets.QCheckBox("continue from where it is (else restart)")
        self.continue_box.setToolTip("What happens to a run when one of its values changes")
        self.continue_box.toggled.connect(
            lambda on: setattr(self.workspace, "continue_on_edit", bool(on))
        )
        form.addRow(self.continue_box)
        self.message = QtWidgets.QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.message.setStyleSheet("color: #ff6b6b")
        form.addRow(self.message)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.editor)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        layout.addWidget(scroll, 3)

        self.hyper_form: ParamForm | None = None
        self.schedule_form: ParamForm | None = None
        self.current: int | None = None
        self.config: RunConfig | None = None
        self._filling = False
        self._shown: int | None = None
        self._shown_problem: Any = None
        self.editor.setEnabled(False)

    @property
    def run_ids(self) -> list[int]:
        """Run ids in the order the table shows them."""
        return self.table_model.run_ids

    # ------------------------------------------------------------------ table
    def set_runs(self) -> None:
        """Show the workspace's runs (when runs are added, removed or edited, never per
        frame), and the selected one in the form."""
        ws = self.workspace
        configs = ws.runset.configs if ws.runset is not None else {}
        self._filling = True
        self.table_model.set_runs(configs, lambda c: run_label(c, ws.registry))
        self._filling = False
        self.select(ws.selected)

    def select(self, run_id: int | None) -> None:
        row = self.table_model.row_of(run_id) if run_id is not None else None
        self._filling = True
        if row is not None:
            if self.table.currentIndex().row() != row:
                self.table.selectRow(row)
        else:
            self.table.clearSelection()
        self._filling = False
        self._show_run(run_id if row is not None else None)

    def set_status(self, texts: dict[int, tuple[str, str, str]]) -> None:
        """Status and loss columns: ``{run_id: (status, state, loss)}``; changed cells only."""
        self.table_model.set_status(texts)

    def _selection(self) -> None:
        if self._filling:
            return
        rows = self.table.selectionModel().selectedRows()
        run_id = self.run_ids[rows[0].row()] if rows else None
        if run_id != self.current:
            self.workspace.select(run_id)

    def _double_clicked(self, index: QtCore.QModelIndex) -> None:
        if index.column() == 0:
            self.colour_clicked.emit(self.run_ids[index.row()])

    # ------------------------------------------------------------------ editor
    def refresh_editor(self) -> None:
        """Rebuild the editor of the selected run: its choosers list the records the
        registry holds now (after a reload)."""
        self._shown = None
        self._show_run(self.workspace.selected)

    def _show_run(self, run_id: int | None) -> None:
        self.current = run_id
        self.message.clear()
        ws = self.workspace
        registry, problem = ws.registry, ws.problem
        if run_id is None or ws.runset is None or run_id not in ws.runset.configs:
            self.config = None
            self.editor.setEnabled(False)
            return
        self.editor.setEnabled(True)
        previous = self.config
        self.config = config = ws.runset.configs[run_id]
        self._filling = True
        if (
            previous is not None
            and self.hyper_form is not None
            and run_id == self._shown
            and problem is self._shown_problem
            and (previous.optimizer, previous.schedule) == (config.optimizer, config.schedule)
        ):
            # Same form: only the values moved (keeps focus in the box being typed in).
            self.hyper_form.set_values(dict(config.hyper))
            if self.schedule_form is not None:
                self.schedule_form.set_values(dict(config.schedule_params))
            self.label_edit.setText(config.label)
            self.seed_box.setValue(int(config.seed))
            self.batch_box.setValue(int(config.batch_size))
            self._filling = False
            return
        self._shown = run_id
        self._shown_problem = problem
        self.label_edit.setText(config.label)
        self.optimizer_box.clear()
        for name in compatible_optimizers(registry, problem):
            self.optimizer_box.addItem(registry.optimizers[name].label or name, name)
        self.optimizer_box.setCurrentIndex(max(self.optimizer_box.findData(config.optimizer), 0))
        self.schedule_box.clear()
        self.schedule_box.addItem(NO_SCHEDULE, None)
        for name, spec in registry.schedules.items():
            self.schedule_box.addItem(spec.label or name, name)
        self.schedule_box.setCurrentIndex(max(self.schedule_box.findData(config.schedule), 0))
        self.seed_box.setValue(int(config.seed))
        has_samples = "samples" in problem.provides
        self.batch_box.setVisible(has_samples)
        self.batch_label.setVisible(has_samples)
        self.batch_box.setValue(int(config.batch_size))
        self._build_hyper_form(config)
        self._build_schedule_form(config)
        self._filling = False

    def _build_hyper_form(self, config: RunConfig) -> None:
        if self.hyper_form is not None:
            _discard(self.hyper_form)
        spec = self.workspace.registry.optimizers[config.optimizer]
        self.hyper_form = ParamForm(
            spec.params,
            dict(config.hyper),
            activations=list(self.workspace.registry.activations),
            context=f"{spec.label or spec.name}: {spec.doc}" if spec.doc else "",
        )
        self.hyper_form.setObjectName("hyper_form")
        self.hyper_form.changed.connect(self._hyper_changed)
        self.hyper_form.previewed.connect(self._hyper_previewed)
        self.hyper_holder.addWidget(self.hyper_form)

    def _build_schedule_form(self, config: RunConfig) -> None:
        if self.schedule_form is not None:
            _discard(self.schedule_form)
            self.schedule_form = None
        if config.schedule is None or config.schedule not in self.workspace.registry.schedules:
            return
        spec = self.workspace.registry.schedules[config.schedule]
        self.schedule_form = ParamForm(spec.params, dict(config.schedule_params), context=spec.doc)
        self.schedule_form.changed.connect(
            lambda name, value: self._edit(
                schedule_params={**self.config.schedule_params, name: value}
            )
        )
        self.schedule_holder.addWidget(self.schedule_form)

    def _hyper_changed(self, name: str, value: Any) -> None:
        self.preview_requested.emit(-1, None)
        self._edit(hyper={**self.config.hyper, name: value})

    def _hyper_previewed(self, name: str, value: Any) -> None:
        if self.config is not None and self.current is not None:
            changed = replace(self.config, hyper={**self.config.hyper, name: value})
            self.preview_requested.emit(self.current, changed)

    def _optimizer_chosen(self, index: int) -> None:
        name = self.optimizer_box.itemData(index)
        if self.config is None or name == self.config.optimizer:
            return
        hyper = {}
        old = self.config.hyper
        for param in self.workspace.registry.optimizers[name].params:
            if param.name == "lr" and "lr" in old:
                hyper["lr"] = old["lr"]  # keep the step size the user chose
        self._edit(optimizer=name, hyper=hyper)

    def _schedule_chosen(self, index: int) -> None:
        name = self.schedule_box.itemData(index)
        if self.config is not None and name != self.config.schedule:
            self._edit(schedule=name, schedule_params={})

    def _label_edited(self) -> None:
        if self.config is not None and self.label_edit.text() != self.config.label:
            self._edit(label=self.label_edit.text())

    def _edit(self, **changes: Any) -> None:
        if self._filling or self.config is None or self.current is None:
            return
        run_id, config = self.current, replace(self.config, **changes)
        if not self._apply(lambda: self.workspace.update_run(run_id, config)):
            message = self.message.text()
            self._shown = None  # the form goes back to the run as it is
            self._show_run(run_id)
            self.show_message(message)

    def _apply(self, change: Any) -> bool:
        """Make a change; the workspace's refusal is shown under the form."""
        try:
            change()
        except (EngineError, WorkspaceBusy) as error:
            self.show_message(str(error))
            return False
        return True

    def show_message(self, text: str) -> None:
        self.message.setText(text)


class SweepDialog(QtWidgets.QDialog):
    """Choose one float value of the selected run and a log range: K runs are added."""

    def __init__(
        self, config: RunConfig, registry: Any, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sweep a value")
        spec = registry.optimizers[config.optimizer]
        self.params = {p.name: p for p in spec.params if p.kind == "float"}
        layout = QtWidgets.QFormLayout(self)
        self.name_box = QtWidgets.QComboBox()
        self.name_box.addItems(list(self.params))
        layout.addRow("value", self.name_box)
        self.low = QtWidgets.QLineEdit()
        self.high = QtWidgets.QLineEdit()
        self.count = QtWidgets.QSpinBox()
        self.count.setRange(2, 256)
        self.count.setValue(8)
        layout.addRow("from", self.low)
        layout.addRow("to", self.high)
        layout.addRow("runs", self.count)
        self.error = QtWidgets.QLabel()
        self.error.setStyleSheet("color: #ff6b6b")
        layout.addRow(self.error)
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)
        self.name_box.currentTextChanged.connect(lambda name: self._fill(name, config))
        self._fill(self.name_box.currentText(), config)
        self.values: list[float] = []

    def _fill(self, name: str, config: RunConfig) -> None:
        param = self.params.get(name)
        if param is None:
            return
        value = float(config.hyper.get(name, param.default)) or (param.low or 1e-3)
        low = max(value / 10, param.low) if param.low is not None else value / 10
        high = min(value * 10, param.high) if param.high is not None else value * 10
        self.low.setText(f"{low:.3g}")
        self.high.setText(f"{high:.3g}")

    def _accept(self) -> None:
        param = self.params.get(self.name_box.currentText())
        if param is None:
            self.error.setText("this optimizer has no value to sweep")
            return
        try:
            low, high = param.coerce(self.low.text()), param.coerce(self.high.text())
            if low <= 0 or high <= 0:
                raise ValueError("a log range needs positive ends")
        except ValueError as error:
            self.error.setText(str(error))
            return
        self.values = [float(f"{v:.4g}") for v in np.geomspace(low, high, self.count.value())]
        self.accept()

    @property
    def name(self) -> str:
        return self.name_box.currentText()


def _discard(widget: QtWidgets.QWidget) -> None:
    """Take a form out of the panel now; Qt frees it later."""
    widget.hide()
    widget.setParent(None)
    widget.deleteLater()
