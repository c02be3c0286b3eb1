"""The Sensitivity dock: each optimizer's outcome against the learning rate, over many
random starts, and a race of the optimizers each tuned for the chosen metric.

``zoo.maps.sensitivity`` runs every (optimizer, η, start) in a worker thread; the chart
draws each optimizer's median with its quartile band on a log η axis, and marks its best
η for the metric and budget.  *Race the tuned ones* replaces the canvas's runs with each
optimizer at that η, from the same start, so the ranking can be watched.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import maps
from zoo.engine import RunConfig, build_problem
from zoo.workspace import compatible_optimizers
from zoo_gui.forms import spin_box
from zoo_gui.layout import place_dock
from zoo_gui.maps_dock import ComputingDock
from zoo_gui.palette import RUN_COLOURS, run_colour
from zoo_gui.plots import DecadeAxis

METRIC_TITLES = {
    "gap": "final loss − E*",
    "distance": "distance to the nearest minimum",
    "steps": "steps to tolerance",
    "area": "area under log(loss − E*)",
}


class SensitivityDock(ComputingDock):
    """Settings, progress, the chart, and the race."""

    shown = QtCore.Signal(object)  # the Sensitivity drawn

    def __init__(self, window: Any) -> None:
        super().__init__("Sensitivity", window)
        self.setObjectName("sensitivityDock")
        self.window_ = window
        self.workspace = window.workspace
        self.result: maps.Sensitivity | None = None
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        # The optimizers' list beside the numbers, the metric under both: the chart
        # keeps most of the dock's height.
        self.optimizers = QtWidgets.QListWidget()
        self.optimizers.setToolTip("The optimizers to compare (ticked)")
        numbers = QtWidgets.QFormLayout()
        self.steps = spin_box(1, 100_000, 100, "The budget: steps each run may take")
        numbers.addRow("budget (steps)", self.steps)
        self.values = spin_box(4, 256, 64, "Learning rates tried, log-spaced from 1e-4 to 1")
        numbers.addRow("η values", self.values)
        self.starts = spin_box(1, 256, 16, "Random starts over the view, the same for every run")
        numbers.addRow("starts", self.starts)
        self.optimizers.setFixedHeight(3 * self.steps.sizeHint().height() + 16)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.optimizers, 1)
        top.addLayout(numbers)
        layout.addLayout(top)
        form = QtWidgets.QFormLayout()
        self.metric_box = QtWidgets.QComboBox()
        for name in maps.METRICS:
            self.metric_box.addItem(METRIC_TITLES.get(name, name), name)
        self.metric_box.setToolTip("What a run is judged by; lower is better")
        self.metric_box.currentIndexChanged.connect(lambda _: self._redraw())
        form.addRow("metric", self.metric_box)
        layout.addLayout(form)
        buttons = QtWidgets.QHBoxLayout()
        self.compute_button = QtWidgets.QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.race_button = QtWidgets.QPushButton("Race the tuned ones")
        self.race_button.setToolTip(
            "Put each optimizer on the canvas at its best η for this metric and budget"
        )
        self.race_button.setEnabled(False)
        self.race_button.clicked.connect(self.race)
        for button in (self.compute_button, self.cancel_button, self.race_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1000)
        layout.addWidget(self.progress)
        self.status = QtWidgets.QLabel("Choose optimizers and press Compute.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        # Logarithms are taken here and the axes label decades, so the quartile bands
        # and the stars sit in the same coordinates as the lines.
        self.chart = _Chart(
            background="#10141c",
            axisItems={"bottom": DecadeAxis("bottom"), "left": DecadeAxis("left")},
        )
        self.chart.setLabel("bottom", "learning rate η")
        self.chart.getPlotItem().addLegend(
            offset=(6, 6), labelTextColor="#e8edf2", brush=pg.mkBrush("#10141cd0")
        )
        self.chart.setMinimumHeight(220)
        layout.addWidget(self.chart, 1)
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        # Squeezed under other docks, the dock scrolls instead of laying its chart over
        # the summary.
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        scroll.setMinimumHeight(min(body.minimumSizeHint().height(), 560))
        self.setWidget(scroll)
        self.workspace.events.scene_changed.connect(self._scene_changed)
        self.workspace.events.plugins_changed.connect(self._plugins_changed)
        self._scene_changed(None)

    # ------------------------------------------------------------ settings
    def _scene_changed(self, _view: Any) -> None:
        ws = self.workspace
        if ws.problem is None:
            return
        in_use = {c.optimizer for c in ws.runset.configs.values()} if ws.runset else set()
        self.optimizers.clear()
        for name in compatible_optimizers(ws.registry, ws.problem):
            spec = ws.registry.optimizers[name]
            if not any(p.name == "lr" for p in spec.params):
                continue  # nothing to sweep
            item = QtWidgets.QListWidgetItem(spec.label or name)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, name)
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
            ticked = name in in_use
            item.setCheckState(
                QtCore.Qt.CheckState.Checked if ticked else QtCore.Qt.CheckState.Unchecked
            )
            self.optimizers.addItem(item)

    def _plugins_changed(self) -> None:
        """New or vanished records: the list follows, keeping what is ticked."""
        ticked = self.chosen()
        self._scene_changed(None)
        self.choose(ticked)

    def chosen(self) -> list[str]:
        return [
            self.optimizers.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
            for i in range(self.optimizers.count())
            if self.optimizers.item(i).checkState() == QtCore.Qt.CheckState.Checked
        ]

    def choose(self, names: list[str]) -> None:
        for i in range(self.optimizers.count()):
            item = self.optimizers.item(i)
            on = item.data(QtCore.Qt.ItemDataRole.UserRole) in names
            item.setCheckState(
                QtCore.Qt.CheckState.Checked if on else QtCore.Qt.CheckState.Unchecked
            )

    # ------------------------------------------------------------ computing
    def compute(self) -> bool:
        """Start the sweep the dock describes; False (with the reason shown) if not."""
        ws = self.workspace
        names = self.chosen()
        if ws.problem is None or not names:
            self.status.setText("Tick at least one optimizer.")
            return False
        self.cancel()
        model, settings, seed, registry = ws.model_name, dict(ws.settings), ws.seed, ws.registry
        lrs = np.geomspace(1e-4, 1.0, self.values.value())
        starts, steps = self.starts.value(), self.steps.value()
        view = ws.view

        def run(progress, stop):
            problem = build_problem(model, settings, seed=seed, registry=registry)
            points = maps.random_starts(problem, starts, seed, view)
            yield maps.sensitivity(
                problem, names, lrs=lrs, starts=points, steps=steps, seed=seed,
                registry=registry, progress=progress, cancel=stop,
            )  # fmt: skip

        runs = len(names) * len(lrs) * starts
        self.start_worker(run, f"Computing {runs} runs × {steps} steps…")
        return True

    # ------------------------------------------------------------ showing
    def _show(self, result: maps.Sensitivity) -> None:
        self.result = result
        self.race_button.setEnabled(True)
        self._redraw()
        self.shown.emit(result)

    def _redraw(self) -> None:
        result = self.result
        plot = self.chart.getPlotItem()
        plot.clear()
        if plot.legend is not None:
            plot.legend.clear()
        if result is None:
            return
        metric = self.metric_box.currentData()
        log_y = metric in ("gap", "distance")
        left = plot.getAxis("left")
        left.logarithmic = log_y
        left.enableAutoSIPrefix(False)
        left.picture = None  # labels in the new scale
        plot.setLabel("left", METRIC_TITLES.get(metric, metric))
        low, median, high = result.quartiles(metric)
        best = result.best(metric)
        xs = np.log10(result.lrs)
        medians = []
        colours = self.colours(result.optimizers)
        for index, name in enumerate(result.optimizers):
            colour = colours[index]
            ys = [_shown(v, log_y) for v in (low[index], median[index], high[index])]
            medians.append(ys[1])
            band_low = pg.PlotDataItem(xs, ys[0], connect="finite")
            band_high = pg.PlotDataItem(xs, ys[2], connect="finite")
            fill = pg.FillBetweenItem(band_low, band_high, brush=pg.mkBrush(colour + "40"))
            plot.addItem(fill)
            label = self._label(name)
            plot.plot(xs, ys[1], pen=pg.mkPen(colour, width=2), name=label, connect="finite")
            lr, value = best[index]
            point = _shown(np.array([value]), log_y)
            if np.isfinite(point).all():
                plot.plot(
                    [math.log10(lr)], point, pen=None, symbol="star", symbolSize=12,
                    symbolBrush=colour,
                )  # fmt: skip
        # The axes follow the medians: a band of runs near divergence may reach 1e300.
        shown = np.concatenate(medians)
        shown = shown[np.isfinite(shown)]
        if len(shown):
            low_y, high_y = float(shown.min()), float(shown.max())
            if log_y:
                # Where η is smallest the runs have barely moved: a hundred times that
                # is as high as the chart goes, so diverging medians leave through the top.
                first = np.array([m[0] for m in medians])
                first = first[np.isfinite(first)]
                if len(first):
                    high_y = min(high_y, float(first.max()) + 2.0)
            span = max(high_y - low_y, 1.0 if log_y else abs(high_y) * 0.1 + 1e-12)
            plot.setYRange(low_y - 0.1 * span, high_y + 0.2 * span, padding=0)
        plot.setXRange(float(xs[0]), float(xs[-1]), padding=0.02)
        parts = [
            f"{self._label(n)}: best η = {lr:.3g}"
            + ("" if math.isfinite(v) else " (none converged)")
            for n, (lr, v) in zip(result.optimizers, best, strict=True)
        ]
        self.summary.setText(
            f"{METRIC_TITLES.get(metric, metric)} after {result.steps} steps, median and "
            f"quartiles over {len(result.starts)} starts; ★ best. " + "; ".join(parts)
        )

    def colours(self, names: list[str]) -> list[str]:
        """Each optimizer's colour: that of its first run on the canvas, else the next
        palette colour no run uses, so the chart and the canvas agree."""
        configs = self.workspace.runset.configs.values() if self.workspace.runset else ()
        of_runs: dict[str, str] = {}
        for config in configs:
            if config.color:
                of_runs.setdefault(config.optimizer, config.color)
        used = set(of_runs.values())
        palette = [run_colour(i) for i in range(len(RUN_COLOURS))]
        spare = itertools.chain([c for c in palette if c not in used], itertools.cycle(palette))
        return [of_runs.get(name) or next(spare) for name in names]

    def _label(self, name: str) -> str:
        spec = self.workspace.registry.optimizers.get(name)
        return (spec.label or name) if spec is not None else name

    def race(self) -> list[int]:
        """Replace the canvas's runs with each optimizer at its best η for the metric,
        all from one start; returns the new runs' ids."""
        result = self.result
        if result is None:
            return []
        ws = self.workspace
        metric = self.metric_box.currentData()
        start = tuple(float(v) for v in result.starts[0])
        configs = []
        colours = self.colours(result.optimizers)
        for index, (name, (lr, value)) in enumerate(
            zip(result.optimizers, result.best(metric), strict=True)
        ):
            if not math.isfinite(value):
                continue
            hyper = {**result.hyper[index], "lr": lr}
            label = f"{self._label(name)} η={lr:.3g} (best {metric})"
            configs.append(RunConfig(name, hyper, start=start, label=label, color=colours[index]))
        if not configs:
            self.status.setText("No optimizer converged within the budget: nothing to race.")
            return []
        if not self.window_._quiesce():
            return []
        for run_id in list(ws.runset.configs):
            ws.remove_run(run_id)
        ids = ws.add_runs(configs)
        ws.set_step_limit(result.steps)
        ws.play()
        return ids


class _Chart(pg.PlotWidget):
    """A plot that asks for a modest height, so that in the dock's scroll area it shares
    the room instead of pushing the summary out of sight."""

    def sizeHint(self) -> QtCore.QSize:
        return QtCore.QSize(320, 240)


def _shown(values: np.ndarray, log_y: bool) -> np.ndarray:
    """What the chart draws of ``values`` (log10 of them on a log axis): +inf (diverged,
    not reached) and, on a log axis, what is not positive are left out."""
    values = np.asarray(values, dtype=float)
    keep = np.isfinite(values) & ((values > 0) if log_y else True)
    if log_y:
        with np.errstate(all="ignore"):
            return np.where(keep, np.log10(np.where(keep, values, 1.0)), np.nan)
    return np.where(keep, values, np.nan)


def show_sensitivity(window: Any) -> SensitivityDock:
    """Create (once) and show the Sensitivity dock of ``window``."""
    size = window.size()
    dock = window.findChild(SensitivityDock)
    if dock is None:
        dock = SensitivityDock(window)
        window.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)
    place_dock(window, dock, size)  # under the others or tabbed; the window keeps its size
    return dock
