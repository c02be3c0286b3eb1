"""The Maps dock: basin and hyper-parameter maps computed off the UI thread.

The map is computed by ``zoo.maps`` in a worker thread on its own copy of the problem, so
the window keeps animating; a coarse picture arrives first, then the full one.  Cancel
stops the worker within a few steps.  A click on a cell adds that run to the canvas: a
start for a basin map, the cell's two hyper-parameters (or a hyper-parameter and a batch
size) for a hyper-parameter map.  Each axis of a hyper-parameter map has its own range,
the parameter's default range until the user types another.  A basin map can also be laid
over the loss image of the canvas.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import maps
from zoo.engine import EngineError, RunConfig, build_problem
from zoo.map_image import colourise, legend
from zoo.workspace import compatible_optimizers
from zoo_gui.layout import place_dock
from zoo_gui.map_ranges import AxisRow, number_text

#: Workers still running; they outlive a closed dock so Qt never destroys a running thread.
_RUNNING: set[QtCore.QThread] = set()
QUANTITIES = {"basin": maps.BASIN_QUANTITIES, "hyper": maps.HYPER_QUANTITIES}


class MapWorker(QtCore.QThread):
    """Runs one map generator; emits each picture, progress, and how it ended."""

    picture = QtCore.Signal(object)
    progressed = QtCore.Signal(float)
    finished_map = QtCore.Signal()
    cancelled = QtCore.Signal()
    failed = QtCore.Signal(str)

    def __init__(self, compute) -> None:
        super().__init__()
        self._compute = compute
        self.stop = threading.Event()

    def cancel(self) -> None:
        self.stop.set()

    def run(self) -> None:
        try:
            for result in self._compute(self.progressed.emit, self.stop):
                self.picture.emit(result)
        except maps.MapCancelled:
            self.cancelled.emit()
            return
        except (EngineError, ValueError) as error:
            self.failed.emit(str(error))
            return
        except Exception:  # a broken plugin is reported in the dock, not fatal
            self.failed.emit(traceback.format_exc(limit=3))
            return
        self.finished_map.emit()


def keep_running(worker: MapWorker) -> None:
    """Hold ``worker`` until it ends, so a closed dock never destroys a running thread."""
    _RUNNING.add(worker)
    worker.finished.connect(lambda w=worker: _RUNNING.discard(w))


def finish_all(timeout_ms: int = 5000) -> bool:
    """Cancel every map still being computed and wait for them to end (at exit)."""
    for worker in list(_RUNNING):
        worker.cancel()
    return all(worker.wait(timeout_ms) for worker in list(_RUNNING))


class ComputingDock(QtWidgets.QDockWidget):
    """A dock that computes in a ``MapWorker``: it has ``progress`` (a bar over 0–1000),
    ``status`` (a label) and ``cancel_button``, and shows each result with ``_show``."""

    worker: MapWorker | None = None

    def start_worker(self, run, text: str) -> None:
        """Compute ``run(progress, stop)`` (a generator of results) in a worker."""
        worker = MapWorker(run)
        worker.picture.connect(self._show)
        worker.progressed.connect(lambda f: self.progress.setValue(int(1000 * f)))
        worker.finished_map.connect(lambda: self._ended("Done."))
        worker.cancelled.connect(lambda: self._ended("Cancelled."))
        worker.failed.connect(lambda message: self._ended(f"Failed: {message}"))
        keep_running(worker)
        self.worker = worker
        self.progress.setValue(0)
        self.status.setText(text)
        self.cancel_button.setEnabled(True)
        worker.start()

    def cancel(self) -> None:
        """Stop what is being computed (the worker ends within a few steps)."""
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancel()

    def busy(self) -> bool:
        return self.worker is not None and self.worker.isRunning()

    def _ended(self, message: str) -> None:
        self.status.setText(message)
        self.cancel_button.setEnabled(False)


class MapsDock(ComputingDock):
    """Settings, progress, the map with its legend, and export."""

    shown = QtCore.Signal(object)  # each MapResult as it is drawn

    def __init__(self, window: Any) -> None:
        super().__init__("Maps", window)
        self.setObjectName("mapsDock")
        self.window_ = window
        self.workspace = window.workspace
        self.result: maps.MapResult | None = None
        self.overlay: pg.ImageItem | None = None

        self.kind = QtWidgets.QComboBox()
        self.kind.addItem("Basins of attraction", "basin")
        self.kind.addItem("Two hyper-parameters", "hyper")
        self.optimizer = QtWidgets.QComboBox()
        self.x_axis, self.y_axis = AxisRow("x"), AxisRow("y")
        self.x_param, self.y_param = self.x_axis.param, self.y_axis.param
        self.grid = QtWidgets.QSpinBox()
        self.grid.setRange(4, 512)
        self.grid.setValue(128)
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(200)
        self.quantity = QtWidgets.QComboBox()
        self.on_canvas = QtWidgets.QCheckBox("Draw basins over the loss image")
        self.on_canvas.setChecked(True)
        self.compute_button = QtWidgets.QPushButton("Compute")
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.export_button = QtWidgets.QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.status = QtWidgets.QLabel("Choose a map and press Compute.")
        self.status.setWordWrap(True)
        self.legend_label = QtWidgets.QLabel()
        self.legend_label.setWordWrap(True)
        self.legend_label.setStyleSheet("color: #c8d0da")
        self.plot = pg.PlotWidget(background="#10141c")
        self.plot.setMinimumHeight(220)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.plot.getPlotItem().setMenuEnabled(False)
        self.plot.scene().sigMouseClicked.connect(self._plot_clicked)

        form = QtWidgets.QFormLayout()
        form.addRow("Map", self.kind)
        form.addRow("Optimizer", self.optimizer)
        form.addRow(self.x_axis)
        form.addRow(self.y_axis)
        form.addRow("Cells per side", self.grid)
        form.addRow("Steps", self.steps)
        form.addRow("Colour by", self.quantity)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.compute_button, self.cancel_button, self.export_button):
            buttons.addWidget(button)
        layout = QtWidgets.QVBoxLayout()
        layout.addLayout(form)
        layout.addWidget(self.on_canvas)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend_label)
        body = QtWidgets.QWidget()
        body.setLayout(layout)
        self.setWidget(body)

        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.optimizer.currentIndexChanged.connect(self._optimizer_changed)
        for row in (self.x_axis, self.y_axis):
            row.param.currentTextChanged.connect(lambda _name, row=row: self._reset_range(row))
        self.quantity.currentIndexChanged.connect(self._redraw)
        self.on_canvas.toggled.connect(self._redraw)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._export_dialog)
        self.workspace.events.scene_changed.connect(self._scene_changed)
        self.workspace.events.plugins_changed.connect(self._plugins_changed)
        self._scene_changed(None)

    # ------------------------------------------------------------ settings
    def _scene_changed(self, _view: Any) -> None:
        self.cancel()
        self._clear()
        selected = self.workspace.selected_config()
        self._list_optimizers(selected.optimizer if selected is not None else None)
        self._optimizer_changed()
        self._kind_changed()
        if self.workspace.maps:
            self.apply_settings(self.workspace.maps)

    def _list_optimizers(self, preferred: str | None) -> None:
        """The optimizers the model can run, ``preferred`` (else the current one) chosen."""
        current = self.optimizer.currentText()
        names = compatible_optimizers(self.workspace.registry, self.workspace.problem)
        self.optimizer.blockSignals(True)
        self.optimizer.clear()
        self.optimizer.addItems(names)
        preferred = preferred or current
        if preferred in names:
            self.optimizer.setCurrentText(preferred)
        self.optimizer.blockSignals(False)

    def _plugins_changed(self) -> None:
        """New or vanished records: the list follows, the map and its axes stay."""
        current = self.optimizer.currentText()
        self._list_optimizers(current)
        if self.optimizer.currentText() != current:
            self._optimizer_changed()

    def _optimizer_changed(self, *_args: Any) -> None:
        floats = [p.name for p in self._spec().params if p.kind == "float"] if self._spec() else []
        problem = self.workspace.problem
        if floats and problem is not None and "samples" in problem.provides:
            floats.append(maps.BATCH_SIZE)  # the minibatch size, on models with samples
        for combo, index in ((self.x_param, 0), (self.y_param, 1)):
            combo.clear()
            combo.addItems(floats)
            if len(floats) > index:
                combo.setCurrentIndex(index)

    def _reset_range(self, row: AxisRow) -> None:
        """The default range of the parameter just chosen (what ``zoo map`` uses unasked)."""
        name, problem = row.param.currentText(), self.workspace.problem
        params = self._params()
        if problem is None or (name not in params and name != maps.BATCH_SIZE):
            row.clear_range()
            return
        if name == maps.BATCH_SIZE:
            low, high, log = maps.batch_range(problem)
        else:
            low, high, log = maps.default_range(params[name])
        least, most = maps.range_limits(name, params, problem)
        row.show_range(
            low, high, log, log_choice=most is None or most > 0, limits=_limits_text(least, most)
        )

    def _params(self) -> dict[str, Any]:
        spec = self._spec()
        return {p.name: p for p in spec.params if p.kind == "float"} if spec else {}

    def _axis(self, row: AxisRow) -> tuple[str, float, float, bool]:
        """The axis a row describes, checked; ``ValueError`` says what is wrong."""
        name = row.param.currentText()
        low, high, log = row.typed()
        limits = maps.range_limits(name, self._params(), self.workspace.problem)
        return maps.checked_range(name, low, high, log, limits)

    def _kind_changed(self, *_args: Any) -> None:
        kind = self.kind.currentData()
        for widget in (self.x_axis, self.y_axis):
            widget.setEnabled(kind == "hyper")
        self.on_canvas.setEnabled(kind == "basin")
        self.quantity.blockSignals(True)
        self.quantity.clear()
        self.quantity.addItems(list(QUANTITIES[kind]))
        self.quantity.blockSignals(False)

    def _spec(self) -> Any:
        name = self.optimizer.currentText()
        return self.workspace.registry.optimizers.get(name) if name else None

    def _hyper(self) -> dict[str, Any]:
        selected = self.workspace.selected_config()
        if selected is not None and selected.optimizer == self.optimizer.currentText():
            return dict(selected.hyper)
        return {}

    def settings(self) -> dict[str, Any]:
        """The dock's settings as plain data (what a scene saves); an axis's range only
        when it is one a map can use."""
        settings = {
            "kind": self.kind.currentData(),
            "optimizer": self.optimizer.currentText(),
            "x": self.x_param.currentText(),
            "y": self.y_param.currentText(),
            "grid": self.grid.value(),
            "steps": self.steps.value(),
            "quantity": self.quantity.currentText(),
        }
        for key, row in (("x", self.x_axis), ("y", self.y_axis)):
            try:
                _, low, high, log = self._axis(row)
            except (KeyError, ValueError):
                continue
            settings[f"{key}_range"] = {"low": low, "high": high, "log": log}
        return settings

    def apply_settings(self, settings: dict[str, Any]) -> None:
        """Show ``settings`` (from a scene); names that do not apply are left as they are."""
        index = self.kind.findData(settings.get("kind"))
        if index >= 0:
            self.kind.setCurrentIndex(index)
        for combo, key in ((self.optimizer, "optimizer"), (self.x_param, "x"), (self.y_param, "y")):
            if combo.findText(str(settings.get(key, ""))) >= 0:
                combo.setCurrentText(str(settings[key]))
        for key, row in (("x", self.x_axis), ("y", self.y_axis)):
            axis = settings.get(f"{key}_range")
            if axis is not None and row.param.currentText() == settings.get(key):
                row.low.setText(number_text(axis["low"]))
                row.high.setText(number_text(axis["high"]))
                row.log.setChecked(bool(axis["log"]))
        self.grid.setValue(int(settings.get("grid", self.grid.value())))
        self.steps.setValue(int(settings.get("steps", self.steps.value())))
        if self.quantity.findText(str(settings.get("quantity", ""))) >= 0:
            self.quantity.setCurrentText(str(settings["quantity"]))

    # ------------------------------------------------------------ computing
    def compute(self) -> bool:
        """Start computing the map the dock describes; False (with the reason shown) if not."""
        ws = self.workspace
        if ws.problem is None or not self.optimizer.currentText():
            self.status.setText("No model or optimizer to map.")
            return False
        kind, name, hyper = self.kind.currentData(), self.optimizer.currentText(), self._hyper()
        grid, steps = self.grid.value(), self.steps.value()
        model, settings, seed, registry = ws.model_name, dict(ws.settings), ws.seed, ws.registry
        view = ws.view if ws.view is not None else None
        axes = None
        if kind == "hyper":
            x, y = self.x_param.currentText(), self.y_param.currentText()
            known = {*self._params(), maps.BATCH_SIZE}
            if x == y or x not in known or y not in known:
                self.status.setText("Choose two different float hyper-parameters.")
                return False
            try:
                axes = [self._axis(row) for row in (self.x_axis, self.y_axis)]
            except ValueError as error:
                self.status.setText(f"Not computed: {error}")
                return False
            hyper = {k: v for k, v in hyper.items() if k not in (x, y)}
            start = ws.selected_config().start if ws.selected_config() else None
        self.cancel()
        ws.maps = self.settings()

        def run(progress, stop):
            problem = build_problem(model, settings, seed=seed, registry=registry)
            if kind == "basin":
                return maps.basin_maps(
                    problem, name, hyper, grid=grid, steps=steps, view=view,
                    registry=registry, progress=progress, cancel=stop,
                )  # fmt: skip
            return maps.hyper_maps(
                problem, name, axes[0], axes[1], hyper, grid=grid, steps=steps,
                starts=None if start is None else [start], registry=registry,
                progress=progress, cancel=stop,
            )  # fmt: skip

        self.start_worker(run, f"Computing {grid}² runs × {steps} steps…")
        return True

    # ------------------------------------------------------------ showing
    def _clear(self) -> None:
        self.result = None
        self.image.clear()
        self.legend_label.clear()
        self.export_button.setEnabled(False)
        self._remove_overlay()

    def _show(self, result: maps.MapResult) -> None:
        self.result = result
        self.export_button.setEnabled(True)
        self._redraw()
        self.shown.emit(result)

    def _redraw(self, *_args: Any) -> None:
        result = self.result
        quantity = self.quantity.currentText()
        if result is None:
            return
        if quantity not in result.data:
            self.status.setText(
                f"This map has no {quantity}: the model cannot classify end points."
            )
            return
        rgb = colourise(result, quantity)
        rect = _cell_rect(_positions(result.x), _positions(result.y))
        self.image.setImage(rgb, autoLevels=False, levels=(0, 255))
        self.image.setRect(rect)
        item = self.plot.getPlotItem()
        for side, axis in (("bottom", result.x), ("left", result.y)):
            ticks = None
            if result.kind == "basin":  # start points: named as on the canvas (x₁, a (plane))
                text = self.window_.canvas.plot_item.getAxis(side).labelText
            elif axis.name == maps.BATCH_SIZE:
                text, ticks = "batch size", [_size_ticks(axis.values)]
            else:
                text = ("log₁₀ " if axis.log else "") + axis.name
            item.setLabel(side, text)
            item.getAxis(side).setTicks(ticks)
        self.plot.setAspectLocked(result.kind == "basin")
        self.plot.autoRange()
        self.legend_label.setText(
            "<br>".join(
                f'<span style="color: rgb{colour}">■</span> {label}'
                for label, colour in legend(result, quantity)
            )
        )
        self._remove_overlay()
        if result.kind == "basin" and self.on_canvas.isChecked():
            alpha = np.full((*rgb.shape[:2], 1), 110, dtype=np.uint8)  # the shading shows
            self.overlay = pg.ImageItem(np.concatenate([rgb, alpha], axis=2), axisOrder="row-major")
            self.overlay.setRect(rect)
            self.overlay.setZValue(-8)  # above the loss image, below contours and runs
            self.window_.canvas.plot_item.addItem(self.overlay)

    def _remove_overlay(self) -> None:
        if self.overlay is not None:
            self.window_.canvas.plot_item.removeItem(self.overlay)
            self.overlay = None

    # ------------------------------------------------------------ clicks, export
    def _plot_clicked(self, event: Any) -> None:
        if self.result is None:
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        column = int(np.argmin(np.abs(_positions(self.result.x) - point.x())))
        row = int(np.argmin(np.abs(_positions(self.result.y) - point.y())))
        self.run_cell(row, column)

    def run_cell(self, row: int, column: int) -> int | None:
        """Add the run of a cell to the canvas and return its id (None if it cannot be)."""
        result = self.result
        if result is None:
            return None
        cell = result.cell(row, column)
        ws = self.workspace
        if result.kind == "basin":
            start = ws.start_from_view(cell["x"], cell["y"])
            label = f"{result.optimizer} from ({cell['x']:.3g}, {cell['y']:.3g})"
            config = RunConfig(result.optimizer, dict(result.hyper), start=start, label=label)
        else:
            label = ", ".join(f"{k}={v:.3g}" for k, v in cell.items())
            config = replace(result.config(row, column), label=f"{result.optimizer} {label}")
        try:
            return self.window_.add_run(config)
        except (EngineError, ValueError) as error:
            self.status.setText(str(error))
            return None

    def _export_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export map", "map.png", "Pictures (*.png);;Tables (*.csv);;Arrays (*.npz)"
        )
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> None:
        """Write the map shown as ``.png``, ``.csv`` or ``.npz`` (see ``zoo map --out``)."""
        from zoo.map_commands import map_bytes, write_atomic

        if self.result is None:
            return
        suffix = path.suffix.lower()
        if suffix not in (".png", ".csv", ".npz"):
            self.status.setText(f"Cannot export to {path.name}: choose .png, .csv or .npz")
            return
        try:
            write_atomic(path, map_bytes(self.result, self.quantity.currentText(), suffix))
        except OSError as error:
            self.status.setText(f"Cannot write {path.name}: {error.strerror or error}")
            return
        self.status.setText(f"Wrote {path.name}.")


def _limits_text(least: float | None, most: float | None) -> str:
    """What a parameter's declared range allows, for the range fields' tooltip."""
    low = "−∞" if least is None else number_text(least)
    high = "∞" if most is None else number_text(most)
    return f"From {low} to {high}; low < high, and low > 0 on a log axis"


def _positions(axis: maps.Axis) -> np.ndarray:
    """Where an axis's cells are drawn: at their values (log₁₀ on a log axis), or one apart
    for batch sizes, whose whole values are not evenly spaced (ticks name them)."""
    if axis.name == maps.BATCH_SIZE:
        return np.arange(len(axis.values), dtype=float)
    return np.log10(axis.values) if axis.log else np.asarray(axis.values, dtype=float)


def _size_ticks(sizes: np.ndarray, most: int = 8) -> list[tuple[float, str]]:
    """Tick labels for a batch-size axis drawn one cell apart: at most ``most`` sizes."""
    chosen = np.unique(np.linspace(0, len(sizes) - 1, min(most, len(sizes))).round())
    return [(float(i), str(int(sizes[int(i)]))) for i in chosen]


def _cell_rect(x: np.ndarray, y: np.ndarray) -> QtCore.QRectF:
    """The rectangle covering cells centred on ``x`` × ``y`` (evenly spaced)."""
    dx = (x[-1] - x[0]) / max(len(x) - 1, 1) if len(x) > 1 else 1.0
    dy = (y[-1] - y[0]) / max(len(y) - 1, 1) if len(y) > 1 else 1.0
    return QtCore.QRectF(x[0] - dx / 2, y[0] - dy / 2, dx * len(x), dy * len(y))


def show_maps(window: Any) -> MapsDock:
    """Create (once) and show the Maps dock of ``window``."""
    size = window.size()
    dock = window.findChild(MapsDock)
    if dock is None:
        dock = MapsDock(window)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    place_dock(window, dock, size)  # under the others or tabbed; the window keeps its size
    return dock
