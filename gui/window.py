"""The Optimizer Zoo main window: canvas, run list, model, plots, plugins and files.

Runs are stepped by ``Stepper`` workers; this window only draws, between frames, what
the groups it can read without waiting hold.  Every change to the runs goes through the
methods here (``add_run``, ``set_run_hyper``, ``edit_run``, ``set_model``, …), which wait
for the jobs in flight first, so the run set is never changed while a worker steps it.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui import experiment_view
from gui.canvas import Canvas
from gui.drawing import RunDrawing
from gui.model_panel import ModelPanel
from gui.palette import run_colour, sweep_colours
from gui.plots import StepPlots
from gui.plugins_panel import PluginsPanel
from gui.runs_panel import RunsPanel, SweepDialog, compatible_optimizers, run_label
from gui.stepping import Stepper
from gui.text_view import SafeTextBrowser
from zoo import landscape
from zoo.engine import EngineError, RunConfig, RunSet, build_problem
from zoo.landscape import LandscapeCache
from zoo.problem import Plane
from zoo.session import Scene, SessionError, load_scene, save_scene
from zoo.specs import SpecError, resolve_values

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LESSONS = ASSETS / "lessons"
FRAME_MS = 16
STATUS_EVERY = 0.25  # seconds between refreshes of the status column and bar
RESOLUTION = 256
PREVIEW_STEPS = 300
PREVIEW_BUDGET = 0.04  # seconds a start-drag preview may take
STATE_COLOURS = {
    "running": "#c8d0da",
    "converged": "#6ee7a8",
    "diverged": "#ffb454",
    "failed": "#ff6b6b",
}
MOMENTUM_KEYS = ("buf", "momentum_buffer", "velocity", "m")


def default_scene() -> Scene:
    """An ill-conditioned bowl with four optimizers racing from one start."""
    runs = [
        RunConfig("sgd", {"lr": 0.09}, label="GD η = 0.09"),
        RunConfig("momentum", {"lr": 0.02, "momentum": 0.9}, label="momentum 0.9"),
        RunConfig("adam", {"lr": 0.08}, label="Adam"),
        RunConfig("rmsprop", {"lr": 0.02}, label="RMSprop"),
    ]
    runs = [replace(run, color=run_colour(i), start=(-1.6, 1.2)) for i, run in enumerate(runs)]
    return Scene(
        model="quadratic",
        settings={"lambda1": 1.0, "lambda2": 20.0, "angle": 30.0},
        seed=0,
        runs=runs,
        playback={"steps_per_frame": 1, "step_limit": 2000},
    )


def lesson_files() -> list[Path]:
    return sorted(LESSONS.glob("*.json"))


def lesson_path(path_or_name: str | Path) -> Path:
    """A lesson given by path, by file stem, or by the stem without its number."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    for candidate in lesson_files():
        if str(path_or_name) in (candidate.stem, candidate.stem.split("_", 1)[-1]):
            return candidate
    raise SessionError(
        f"no lesson {str(path_or_name)!r} (lessons: "
        f"{', '.join(p.stem for p in lesson_files()) or 'none'})"
    )


class MainWindow(QtWidgets.QMainWindow):
    """The app window; see ``notes`` in the user guide (docs/app.md) for every panel."""

    scene_loaded = QtCore.Signal()
    stepped = QtCore.Signal()
    selection_changed = QtCore.Signal(int)
    runs_changed = QtCore.Signal()

    def __init__(
        self, registry: Any = None, scene: Scene | None = None, *, autoplay: bool = True
    ) -> None:
        super().__init__()
        if registry is None:
            from zoo import load_registry

            registry = load_registry()
        self.registry = registry
        self.setWindowTitle("Optimizer Zoo")
        self.cache = LandscapeCache(maxsize=24)
        self.model_name = ""
        self.settings: dict[str, Any] = {}
        self.seed = 0
        self.problem: Any = None
        self.runset: RunSet | None = None
        self.stepper: Stepper | None = None
        self.view_plane: Plane | None = None
        self.plane_key = "model"
        self.lesson: dict[str, Any] | None = None
        self.playing = False
        self.steps_per_frame = 1
        self.step_limit = 2000
        self._selected: int | None = None
        self._closing = False
        self._frames = 0
        self._last_status = 0.0
        self.frames_per_second = 0.0
        self.steps_per_second = 0.0
        self._last_pictures: tuple = ()
        self._last_arrows: Any = None
        self._build_ui()
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.frame)
        self.load_scene(scene or default_scene())
        if autoplay:
            self.play()
        self.timer.start()

    # ================================================================== layout
    def _build_ui(self) -> None:
        self.canvas = Canvas()
        self.canvas.clicked.connect(self._canvas_clicked)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.start_moving.connect(self._start_dragging)
        self.canvas.start_moved.connect(self._canvas_clicked)
        self.plots = StepPlots()
        self.plots.currentChanged.connect(lambda _: self._force_redraw())
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 200])
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.runs_panel = RunsPanel()
        self.runs_panel.selected.connect(self._panel_selected)
        self.runs_panel.add_clicked.connect(self.add_default_run)
        self.runs_panel.duplicate_clicked.connect(self.duplicate_selected)
        self.runs_panel.remove_clicked.connect(self.remove_selected)
        self.runs_panel.sweep_clicked.connect(self.sweep_dialog)
        self.runs_panel.config_edited.connect(self._config_edited)
        self.runs_panel.visibility_toggled.connect(
            lambda run_id, shown: self.edit_run(run_id, visible=shown, restart=False)
        )
        self.runs_panel.colour_clicked.connect(self.recolour)
        self.model_panel = ModelPanel()
        self.model_panel.model_requested.connect(self.set_model)
        self.model_panel.seed_changed.connect(self.set_seed)
        self.model_panel.plane_requested.connect(self.set_plane)
        self.plugins_panel = PluginsPanel()
        self.plugins_panel.reload_clicked.connect(self.reload_plugins)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.runs_panel, "Runs")
        self.tabs.addTab(self.model_panel, "Model")
        self.tabs.addTab(self.plugins_panel, "Plugins")
        self.side = QtWidgets.QDockWidget("Runs, model and plugins")
        self.side.setObjectName("sideDock")
        self.side.setWidget(self.tabs)
        self.side.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.side.setMinimumWidth(390)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.side)

        self.lesson_view = SafeTextBrowser()
        self.lesson_dock = QtWidgets.QDockWidget("Lesson")
        self.lesson_dock.setObjectName("lessonDock")
        self.lesson_dock.setWidget(self.lesson_view)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()

        self._build_toolbar()
        self._build_menus()
        self.hover_label = QtWidgets.QLabel()
        self.speed_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.hover_label, 1)
        self.statusBar().addPermanentWidget(self.speed_label)

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: str | None = None,
        tip: str = "",
        checkable: bool = False,
    ) -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Controls")
        bar.setObjectName("controls")
        bar.setMovable(False)
        self.play_action = self._action(
            "Play", self.toggle_play, "Space", "Play or pause", checkable=True
        )
        self.step_action = self._action("Step", self.step_once, "S", "One step")
        self.reset_action = self._action(
            "Reset", self.reset_runs, "R", "Send every run back to its start"
        )
        for action in (self.play_action, self.step_action, self.reset_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" steps/frame "))
        self.speed_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, 300)  # 100·log10(steps per frame): 1 … 1000
        self.speed_slider.setFixedWidth(130)
        self.speed_slider.setToolTip("Steps per frame, 1 to 1000 (+ / − keys)")
        self.speed_slider.valueChanged.connect(
            lambda v: self.set_steps_per_frame(round(10 ** (v / 100)), from_slider=True)
        )
        bar.addWidget(self.speed_slider)
        self.speed_value = QtWidgets.QLabel("1")
        self.speed_value.setMinimumWidth(36)
        bar.addWidget(self.speed_value)
        bar.addWidget(QtWidgets.QLabel("  limit "))
        self.limit_box = QtWidgets.QSpinBox()
        self.limit_box.setRange(1, 10_000_000)
        self.limit_box.setKeyboardTracking(False)
        self.limit_box.setToolTip("Runs stop after this many steps")
        self.limit_box.valueChanged.connect(self.set_step_limit)
        bar.addWidget(self.limit_box)
        bar.addSeparator()
        bar.addWidget(QtWidgets.QLabel(" click moves "))
        self.click_box = QtWidgets.QComboBox()
        self.click_box.addItems(["all runs", "selected run"])
        self.click_box.setToolTip("Whose start a click (or dragging the start marker) sets")
        bar.addWidget(self.click_box)
        bar.addSeparator()
        self.arrows_action = self._action(
            "Arrows",
            self._force_redraw,
            "A",
            "Gradient, update and momentum at the selected run",
            checkable=True,
        )
        bar.addAction(self.arrows_action)
        self.lab_action = self._action(
            "Step-size lab", self.show_lab, "L", "Open the step-size lab"
        )
        bar.addAction(self.lab_action)
        self._action("Faster", lambda: self.set_steps_per_frame(self.steps_per_frame * 2), "+")
        self._action("Slower", lambda: self.set_steps_per_frame(self.steps_per_frame // 2), "-")
        self._action("Fit view", self.fit_view, "F", "Show the model's whole view")

    def _build_menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self._action("Open scene…", self.open_scene_dialog, "Ctrl+O"))
        menu.addAction(self._action("Save scene…", self.save_scene_dialog, "Ctrl+S"))
        menu.addSeparator()
        menu.addAction(self._action("Export picture (PNG)…", self.export_png_dialog, "Ctrl+E"))
        menu.addAction(
            self._action(
                "Export animation (GIF/MP4)…", self.export_animation_dialog, "Ctrl+Shift+E"
            )
        )
        menu.addAction(self._action("Export trajectories (CSV)…", self.export_csv_dialog))
        menu.addSeparator()
        menu.addAction(self._action("Quit", self.close, "Ctrl+Q"))
        runs = self.menuBar().addMenu("&Runs")
        runs.addAction(self._action("Add run", self.add_default_run, "Ctrl+N"))
        runs.addAction(self._action("Duplicate run", self.duplicate_selected, "Ctrl+D"))
        runs.addAction(self._action("Remove run", self.remove_selected, "Delete"))
        runs.addAction(self._action("Sweep…", self.sweep_dialog))
        lessons = self.menuBar().addMenu("&Lessons")
        for path in lesson_files():
            try:
                title = json.loads(path.read_text(encoding="utf-8"))["lesson"]["title"]
            except (OSError, ValueError, KeyError, TypeError):
                title = path.stem
            lessons.addAction(self._action(title, lambda _=False, p=path: self.open_lesson(p)))
        experiments = self.menuBar().addMenu("&Experiments")
        try:
            from zoo.experiments import EXPERIMENTS

            for name, item in EXPERIMENTS.items():
                text = getattr(item, "title", "") or name
                experiments.addAction(
                    self._action(text, lambda _=False, n=name: self.show_experiment(n))
                )
        except Exception as error:  # the list is optional; the app works without it
            experiments.addAction(f"(unavailable: {error})").setEnabled(False)
        tools = self.menuBar().addMenu("&Tools")
        tools.addAction(self.lab_action)
        tools.addAction(self.arrows_action)
        view = self.menuBar().addMenu("&View")
        view.addAction(self.side.toggleViewAction())
        view.addAction(self.lesson_dock.toggleViewAction())

    # ================================================================== scenes
    def load_scene(self, scene: Scene) -> bool:
        """Replace the scene; on any error the current scene stays and False is returned."""
        try:
            problem, runset, _ids = scene.build(self.registry)
        except SessionError as error:
            self.report(str(error))
            return False
        if not self._quiesce():
            return False
        self.model_name = scene.model
        self.settings = self._typed_settings(scene.model, scene.settings)
        self.seed = scene.seed
        self.lesson = scene.lesson
        self.steps_per_frame = int(scene.playback.get("steps_per_frame", 1))
        self.step_limit = int(scene.playback.get("step_limit", 2000))
        self._sync_controls()
        self.plane_key = "model"
        self._install(problem, runset, scene.view)
        self._show_lesson(scene.lesson)
        return True

    def scene(self) -> Scene:
        """The current scene (model, settings, runs, view, playback, lesson) for saving."""
        view = self.canvas.current_view()
        return Scene(
            model=self.model_name,
            settings=dict(self.settings),
            seed=self.seed,
            runs=list(self.runset.configs.values()),
            view=None if self.problem.dim == 1 else view,
            playback={"steps_per_frame": self.steps_per_frame, "step_limit": self.step_limit},
            lesson=self.lesson,
        )

    def open_scene_file(self, path: str | Path) -> bool:
        try:
            scene = load_scene(Path(path), self.registry)
        except SessionError as error:
            self.report(f"Scene not opened: {error}")
            return False
        return self.load_scene(scene)

    def save_scene_file(self, path: str | Path) -> None:
        save_scene(self.scene(), path)
        self.statusBar().showMessage(f"Saved {path}", 4000)

    def open_lesson(self, path_or_name: str | Path) -> bool:
        """Load a lesson's scene and show its text (and the lab panels it names)."""
        try:
            scene = load_scene(lesson_path(path_or_name), self.registry)
        except SessionError as error:
            self.report(f"Lesson not opened: {error}")
            return False
        if not self.load_scene(scene):
            return False
        panels = (scene.lesson or {}).get("panels")
        if panels and self._lab_dock() is not None:
            self.show_lab(panels)
        return True

    def _show_lesson(self, lesson: dict[str, Any] | None) -> None:
        if not lesson:
            self.lesson_dock.hide()
            return
        self.lesson_dock.setWindowTitle(lesson.get("title") or "Lesson")
        self.lesson_view.show_lesson(lesson.get("title", ""), lesson.get("text", ""))
        self.lesson_dock.show()

    # ================================================================== model
    def set_model(self, name: str, settings: dict[str, Any] | None = None) -> bool:
        """Build model ``name``; the runs carry over (starts too, if the model is the same)."""
        settings = dict(settings or {})
        try:
            problem = build_problem(name, settings, seed=self.seed, registry=self.registry)
        except (EngineError, KeyError) as error:
            self.model_panel.show_error(str(error))
            return False
        if not self._quiesce():
            return False
        same_model = name == self.model_name
        runset = RunSet(problem, self.registry)
        dropped = []
        for config in self.runset.configs.values() if self.runset else []:
            if not same_model:
                config = replace(config, start=None)
            try:
                runset.add(config)
            except EngineError as error:
                dropped.append(f"{run_label(config, self.registry)}: {error}")
        if not runset.configs and self.runset is not None and self.runset.configs:
            self._add_first_compatible(runset, problem)
        self.model_name = name
        self.settings = self._typed_settings(name, settings)
        self.plane_key = "model"
        view = None if not same_model else self._kept_view(problem)
        self._install(problem, runset, view)
        if dropped:
            self.report("Runs left out (not compatible with this model): " + "; ".join(dropped))
        return True

    def set_seed(self, seed: int) -> None:
        self.seed = int(seed)
        self.set_model(self.model_name, self.settings)

    def _kept_view(self, problem: Any) -> Any:
        """Keep the view when only the settings changed, unless the bounds moved."""
        return problem.bounds if problem.dim == 1 else self.canvas.current_view()

    def _typed_settings(self, name: str, settings: dict[str, Any]) -> dict[str, Any]:
        spec = self.registry.get("model", name)
        try:
            resolved = resolve_values(
                spec.params,
                settings,
                where=f"model {name}",
                activations=list(self.registry.activations) or None,
            )
        except SpecError:
            return dict(settings)
        return resolved

    def _add_first_compatible(self, runset: RunSet, problem: Any) -> None:
        names = compatible_optimizers(self.registry, problem)
        if names:
            runset.add(RunConfig(names[0], color=run_colour(0), label=names[0]))

    def set_plane(self, key: str) -> None:
        """View plane for models with more than two weights: the model's or the paths' PCA."""
        if self.problem is None or self.problem.dim <= 2:
            return
        self.plane_key = key
        view = None
        if key == "pca":
            paths = [self.runset.history(run_id)[0] for run_id in self.runset.configs]
            paths = [p for p in paths if len(p) > 1]
            if not paths:
                self.report("Run for a few steps first: the plane follows the paths.")
                self.plane_key = "model"
                return
            plane = landscape.pca_plane(paths)
            self.view_plane = plane
            view = landscape.fit_view(np.concatenate([_project(plane, p) for p in paths]))
        else:
            self.view_plane = self.problem.plane
        self.model_panel.show_plane(key)
        self._install_view(view)

    # ================================================================== installing
    def _install(self, problem: Any, runset: RunSet, view: Any) -> None:
        self.problem = problem
        self.runset = runset
        self.view_plane = problem.plane if problem.dim > 2 else None
        if self.stepper is None:
            self.stepper = Stepper(runset)
        else:
            self.stepper.set_runset(runset)
        self.drawing = RunDrawing(self._project_points, one_dimensional=problem.dim == 1)
        self._selected = None
        self._install_view(view)
        self.model_panel.show_model(
            self.registry, self.model_name, self.settings, self.seed, problem.dim
        )
        self.plugins_panel.show_registry(self.registry)
        self._runs_changed(select=next(iter(runset.configs), None))
        self.scene_loaded.emit()

    def _install_view(self, view: Any) -> None:
        problem = self.problem
        view = view if view is not None else problem.bounds
        (x0, x1), (y0, y1) = view
        view = ((float(x0), float(x1)), (float(y0), float(y1)))
        # The model's own plane is the problem's business (``from_view``); others are passed.
        plane = self.view_plane if self.plane_key != "model" else None
        one_d = problem.dim == 1
        name, settings, seed = self.model_name, self.settings, self.seed

        def grid(view: Any, resolution: int) -> Any:
            return self.cache.grid(
                problem,
                model=name,
                settings=settings,
                seed=seed,
                view=view,
                resolution=resolution,
                plane=plane,
            )

        def source(view: Any) -> Any:
            return lambda: (grid(view, resolution) for resolution in (64, RESOLUTION))

        first = grid(view, RESOLUTION if one_d else 64)
        self.canvas.set_landscape_source(source, view, one_d, first=first)
        if problem.dim > 2:
            self.canvas.plot_item.setLabel("bottom", "a (plane)")
            self.canvas.plot_item.setLabel("left", "b (plane)")
        minima = np.asarray(problem.minima, dtype=float).reshape(-1, problem.dim)
        if one_d:
            points = (
                np.stack([minima[:, 0], np.asarray(problem.loss(minima)).reshape(-1)], axis=1)
                if len(minima)
                else np.empty((0, 2))
            )
        else:
            points = self._project_points(minima) if len(minima) else np.empty((0, 2))
        self.canvas.set_minima(points)
        # Two weights drawn as they are: the trails are views of the histories, not copies.
        self.drawing.project = (
            None if problem.dim == 2 and self.view_plane is None else self._project_points
        )
        self.floor = self._loss_floor(minima)
        self.plots.floor = self.floor
        self.drawing.forget()
        if self.runset is not None and self.runset.configs:
            self._update_start_marker()
        self._force_redraw()

    def _loss_floor(self, minima: np.ndarray) -> float:
        """E* for the loss plot: the lowest known minimum, else the grid's lowest value."""
        values = []
        if len(minima):
            with np.errstate(all="ignore"):
                values.append(float(np.nanmin(self.problem.loss(minima))))
        grid = self.canvas.grid
        if grid is not None and np.isfinite(grid.loss).any():
            values.append(float(np.nanmin(grid.loss)))
        finite = [v for v in values if np.isfinite(v)]
        low = min(finite) if finite else 0.0
        return low if (len(minima) or low < 0) else 0.0

    def _project_points(self, x: np.ndarray) -> np.ndarray:
        """Weights (N, D) to view coordinates (N, 2)."""
        x = np.asarray(x, dtype=float)
        if self.problem.dim == 1:
            return np.stack([x[:, 0], np.zeros(len(x))], axis=1)
        if self.view_plane is None:
            return x[:, :2]
        return _project(self.view_plane, x)

    def _direction_to_view(self, vector: np.ndarray) -> np.ndarray:
        if self.view_plane is None:
            return np.asarray(vector, dtype=float)[:2]
        basis = np.stack([self.view_plane.u, self.view_plane.v], axis=1)
        return np.linalg.pinv(basis) @ vector

    # ================================================================== runs
    def selected_run(self) -> int | None:
        return self._selected

    def select_run(self, run_id: int | None) -> None:
        if run_id is not None and run_id not in self.runset.configs:
            run_id = None
        if run_id != self._selected:
            self._selected = run_id
            self.runs_panel.select(run_id)
            self._update_start_marker()
            self._force_redraw()
            self.selection_changed.emit(-1 if run_id is None else run_id)

    def _panel_selected(self, run_id: int) -> None:
        self.select_run(None if run_id < 0 else run_id)

    def add_run(self, config: RunConfig) -> int:
        """Add a run (a colour and label are chosen if it has none); raises ``EngineError``."""
        if not config.color:
            config = replace(config, color=run_colour(len(self.runset.configs)))
        if not self._quiesce():
            raise EngineError("a run is still stepping; try again")
        run_id = self.runset.add(config)
        self._runs_changed(select=run_id)
        return run_id

    def add_default_run(self) -> None:
        names = compatible_optimizers(self.registry, self.problem)
        if not names:
            self.report("No registered optimizer works with this model.")
            return
        selected = self.runset.configs.get(self._selected) if self._selected is not None else None
        name = "adam" if "adam" in names else names[0]
        start = selected.start if selected is not None else None
        self._try(lambda: self.add_run(RunConfig(name, label=name, start=start)))

    def duplicate_selected(self) -> None:
        config = self.runset.configs.get(self._selected) if self._selected is not None else None
        if config is not None:
            copy = replace(
                config,
                color=run_colour(len(self.runset.configs)),
                label=f"{run_label(config, self.registry)} (copy)",
            )
            self._try(lambda: self.add_run(copy))

    def remove_run(self, run_id: int) -> None:
        if not self._quiesce():
            return
        self.runset.remove(run_id)
        remaining = list(self.runset.configs)
        self._runs_changed(select=remaining[0] if remaining else None)

    def remove_selected(self) -> None:
        if self._selected is not None:
            self.remove_run(self._selected)

    def recolour(self, run_id: int) -> None:
        config = self.runset.configs[run_id]
        colour = QtWidgets.QColorDialog.getColor(
            QtGui.QColor(config.color or "#ffffff"), self, "Run colour"
        )
        if colour.isValid():
            self.edit_run(run_id, color=colour.name(), restart=False)

    def edit_run(self, run_id: int, *, restart: bool | None = None, **changes: Any) -> bool:
        """Change a run's config fields; values restart it unless the toggle says continue."""
        config = self.runset.configs[run_id]
        return self._apply_config(run_id, replace(config, **changes), restart)

    def set_run_hyper(self, run_id: int, **values: Any) -> bool:
        """Change hyper-parameters of a run (restarting it, or continuing if the toggle says so)."""
        config = self.runset.configs[run_id]
        return self._apply_config(run_id, replace(config, hyper={**config.hyper, **values}), None)

    def _config_edited(self, run_id: int, config: RunConfig) -> None:
        self._apply_config(run_id, config, None)

    def _apply_config(self, run_id: int, config: RunConfig, restart: bool | None) -> bool:
        old = self.runset.configs[run_id]
        if restart is None:
            # Label, colour and visibility do not change the path: never restart for them.
            cosmetic = replace(config, label=old.label, color=old.color, visible=old.visible) == old
            restart = not cosmetic and not self.runs_panel.continue_box.isChecked()
        if not self._quiesce():
            return False
        try:
            self.runset.update(run_id, config, restart=restart)
        except EngineError as error:
            self.runs_panel.show_message(str(error))
            self.runs_panel.set_runs(self.runset.configs, self.registry, self.problem)
            return False
        self.runs_panel.show_message("")
        self._runs_changed(select=run_id)
        return True

    def sweep_dialog(self) -> None:
        config = self.runset.configs.get(self._selected) if self._selected is not None else None
        if config is None:
            self.report("Select a run to sweep one of its values.")
            return
        dialog = SweepDialog(config, self.registry, self)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.sweep(self._selected, dialog.name, dialog.values)

    def sweep(self, run_id: int, name: str, values: list[float]) -> list[int]:
        """Add one copy of run ``run_id`` per value of hyper-parameter ``name``."""
        base = self.runset.configs[run_id]
        label = run_label(base, self.registry)
        colours = sweep_colours(len(values))
        ids = []
        for value, colour in zip(values, colours, strict=True):
            config = replace(
                base,
                hyper={**base.hyper, name: value},
                color=colour,
                label=f"{label} {name}={value:.3g}",
            )
            try:
                ids.append(self.add_run(config))
            except EngineError as error:
                self.report(str(error))
                break
        return ids

    def _try(self, action: Any) -> None:
        try:
            action()
        except EngineError as error:
            self.report(str(error))

    def reset_runs(self) -> None:
        if self._quiesce():
            self.runset.reset()
            self._runs_changed(select=self._selected)

    def _runs_changed(self, select: int | None = None) -> None:
        configs = self.runset.configs
        self.runs_panel.set_runs(configs, self.registry, self.problem)
        self.canvas.set_legend(
            [
                (run_label(c, self.registry), c.color or "#ffffff")
                for c in configs.values()
                if c.visible
            ]
        )
        previous = self._selected
        self._selected = select if select in configs else None
        self.runs_panel.select(self._selected)
        self._update_start_marker()
        self._force_redraw()
        self.runs_changed.emit()
        if previous != self._selected:
            self.selection_changed.emit(-1 if self._selected is None else self._selected)

    def _quiesce(self) -> bool:
        """Wait for the stepping jobs in flight; refuse (with a message) if one is stuck."""
        if self.stepper is None or self.stepper.idle(timeout=3.0):
            return True
        self.report(
            "Still stepping "
            + ", ".join(self.stepper.busy_labels())
            + " (a slow plugin); try again in a moment."
        )
        return False

    # ================================================================== start points
    def _targets(self) -> list[int]:
        if self.click_box.currentIndex() == 1 and self._selected is not None:
            return [self._selected]
        return list(self.runset.configs)

    def _start_for(self, a: float, b: float) -> tuple[float, ...]:
        if self.problem.dim == 1:
            return (float(a),)
        if self.view_plane is not None and self.plane_key != "model":
            return tuple(float(v) for v in self.view_plane.to_weights(a, b))
        return (float(a), float(b))

    def set_start(self, a: float, b: float) -> None:
        """Send the target runs (all, or the selected one) to start at view point (a, b)."""
        start = self._start_for(a, b)
        if not self._quiesce():
            return
        for run_id in self._targets():
            self.runset.update(run_id, replace(self.runset.configs[run_id], start=start))
        self.canvas.set_preview(None)
        self._runs_changed(select=self._selected)

    def _canvas_clicked(self, a: float, b: float) -> None:
        self.set_start(a, b)

    def _start_dragging(self, a: float, b: float) -> None:
        """Preview the first few hundred steps from the marker while it is dragged."""
        start = self._start_for(a, b)
        preview = RunSet(self.problem, self.registry)
        for run_id in self._targets():
            try:
                preview.add(replace(self.runset.configs[run_id], start=start))
            except EngineError:
                continue
        deadline = time.perf_counter() + PREVIEW_BUDGET
        taken = 0
        while taken < PREVIEW_STEPS and time.perf_counter() < deadline:
            preview.step(25)
            taken += 25
        pieces = []
        for run_id in preview.configs:
            x, loss, _ = preview.history(run_id)
            points = (
                np.stack([x[:, 0], loss], axis=1)
                if self.problem.dim == 1
                else self._project_points(x)
            )
            pieces.extend([points, np.full((1, 2), np.nan)])
        self.canvas.set_preview(np.concatenate(pieces) if pieces else None)

    def _update_start_marker(self) -> None:
        configs = self.runset.configs
        run_id = self._selected if self._selected is not None else next(iter(configs), None)
        if run_id is None:
            self.canvas.set_start(None)
            return
        x0 = self.runset.start_of(configs[run_id])
        if self.problem.dim == 1:
            point = (float(x0[0]), float(np.asarray(self.problem.loss(x0[None]))[0]))
        else:
            point = self._project_points(x0[None])[0]
        self.canvas.set_start(point)

    # ================================================================== playback
    def play(self) -> None:
        self.playing = True
        self.play_action.setChecked(True)
        self.play_action.setText("Pause")

    def pause(self) -> None:
        self.playing = False
        self.play_action.setChecked(False)
        self.play_action.setText("Play")

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def step_once(self) -> None:
        """One step of every run (off the UI thread, drawn at the next frame)."""
        self.pause()
        self.stepper.submit(1, self.step_limit)

    def set_steps_per_frame(self, value: int, from_slider: bool = False) -> None:
        self.steps_per_frame = int(min(max(value, 1), 1000))
        self.speed_value.setText(str(self.steps_per_frame))
        if not from_slider:
            self._sync_controls()

    def set_step_limit(self, value: int) -> None:
        self.step_limit = int(value)

    def _sync_controls(self) -> None:
        blocked = self.speed_slider.blockSignals(True)
        self.speed_slider.setValue(round(100 * np.log10(self.steps_per_frame)))
        self.speed_slider.blockSignals(blocked)
        self.speed_value.setText(str(self.steps_per_frame))
        blocked = self.limit_box.blockSignals(True)
        self.limit_box.setValue(self.step_limit)
        self.limit_box.blockSignals(blocked)

    def fit_view(self) -> None:
        self.canvas.view_box.setRange(
            xRange=self.problem.bounds[0],
            yRange=None if self.problem.dim == 1 else self.problem.bounds[1],
            padding=0,
        )
        self.canvas._refresh.start()

    # ================================================================== frames
    def _force_redraw(self) -> None:
        self._last_pictures = ()
        self._last_arrows = None

    def frame(self) -> None:
        """Draw what the runs hold now, then start the next steps (the timer's slot)."""
        if self._closing or self.runset is None:
            return
        self.drawing.want_series = self.plots.isVisible()
        frame = self.drawing.frame(self.runset, self.stepper.reading)
        pictures = tuple(id(p) for p in frame.pictures)
        if pictures != self._last_pictures:
            self._last_pictures = pictures
            selected = frame.head_of.get(self._selected) if self._selected is not None else None
            self.canvas.draw(frame.trails, frame.heads, frame.brushes, selected)
            if self.drawing.want_series:
                self.plots.draw(frame.pictures)
            self._draw_arrows(selected)
            changed = True
        else:
            changed = False
        if self.playing:
            self.stepper.submit(self.steps_per_frame, self.step_limit)
        self._frames += 1
        now = time.perf_counter()
        if now - self._last_status >= STATUS_EVERY:
            self._update_status(now)
        if changed:  # listeners redraw only when there is something new
            self.stepped.emit()

    def _draw_arrows(self, head: np.ndarray | None) -> None:
        run_id = self._selected
        if (
            not self.arrows_action.isChecked()
            or run_id is None
            or head is None
            or self.problem.dim == 1
        ):
            self.canvas.set_arrows(None, {})
            return
        x, _, _ = self.runset.history(run_id)
        if not len(x):
            return
        here = x[-1]
        (x0, x1), _ = self.canvas.current_view()
        reach = 0.12 * (x1 - x0)
        vectors: dict[str, np.ndarray] = {}
        with np.errstate(all="ignore"):
            if "grad" in self.problem.provides:
                vectors["gradient"] = _scaled(
                    -self._direction_to_view(np.asarray(self.problem.grad(here[None]))[0]), reach
                )
            if len(x) > 1:
                vectors["update"] = self._direction_to_view(x[-1] - x[-2])
            state = self.runset.optimizer_state(run_id)
            for key in MOMENTUM_KEYS:
                value = state.get(key)
                if value is not None and np.shape(value) == here.shape:
                    vectors["momentum"] = _scaled(-self._direction_to_view(value), 0.7 * reach)
                    break
        self.canvas.set_arrows(self._project_points(here[None])[0], vectors)

    def _update_status(self, now: float) -> None:
        elapsed = now - self._last_status if self._last_status else 1.0
        self._last_status = now
        self.frames_per_second = self._frames / elapsed
        self.steps_per_second = self.stepper.take_step_count() / elapsed
        self._frames = 0
        self.speed_label.setText(
            f"{self.frames_per_second:5.0f} frames/s   {self.steps_per_second:8.0f} steps/s"
        )
        texts = {}
        slow_runs = set()
        for group in self.runset.groups:
            if self.stepper.is_slow(group):
                slow_runs.update(group.run_ids)
        for run_id in self.runset.configs:
            status = self.runset.status(run_id)
            text = str(status)
            if status.state == "failed":
                text = f"failed: {status.message}"
            elif status.state == "running":
                text = f"step {status.step}" + (" (slow)" if run_id in slow_runs else "")
            _, loss, _ = self.runset.history(run_id)
            value = f"{loss[-1]:.4g}" if len(loss) else ""
            texts[run_id] = (text, STATE_COLOURS[status.state], value)
        self.runs_panel.set_status(texts)

    def status_text(self, run_id: int) -> str:
        """The status column's text for ``run_id`` (as last shown)."""
        row = self.runs_panel.run_ids.index(run_id)
        return self.runs_panel.table.item(row, 2).text()

    def _hovered(self, a: float, b: float) -> None:
        if self.problem is None:
            return
        if self.problem.dim == 1:
            weights = np.array([[a]])
            where = f"x = {a:.4g}"
        else:
            weights = np.asarray(
                self.view_plane.to_weights(a, b) if self.view_plane is not None else [a, b],
                dtype=float,
            )[None, :]
            where = f"x₁ = {a:.4g}   x₂ = {b:.4g}"
        try:
            with np.errstate(all="ignore"):
                loss = float(np.asarray(self.problem.loss(weights)).reshape(-1)[0])
        except Exception:  # a point where the loss is undefined
            loss = float("nan")
        self.hover_label.setText(f"{where}   loss = {loss:.6g}")

    # ================================================================== plugins, tools
    def reload_plugins(self) -> None:
        """Re-read the local plugin folder; runs of records that vanished are dropped."""
        if not self._quiesce():
            return
        self.registry.reload_local()
        self.plugins_panel.show_registry(self.registry)
        if self.model_name not in self.registry.models:
            self.report(f"Model {self.model_name} is gone; showing the default scene.")
            self.load_scene(default_scene())
            return
        for run_id, config in list(self.runset.configs.items()):
            if config.optimizer not in self.registry.optimizers:
                self.runset.remove(run_id)
        self.set_model(self.model_name, self.settings)
        self.statusBar().showMessage("Local plugins reloaded", 4000)

    def _lab_dock(self) -> Any:
        try:
            from gui.lab import LabDock
        except Exception:
            return None
        return self.findChild(LabDock)

    def show_lab(self, panels: Any = None) -> None:
        try:
            import gui.lab
        except Exception as error:
            self.statusBar().showMessage(f"The step-size lab is not available: {error}", 6000)
            return
        try:
            if panels:
                gui.lab.show_lab(self, panels)
            else:
                gui.lab.show_lab(self)
        except Exception as error:
            self.statusBar().showMessage(f"The step-size lab failed to open: {error}", 6000)

    def show_experiment(self, name: str) -> None:
        try:
            experiment_view.show_experiment(self, name)
        except Exception as error:
            self.statusBar().showMessage(f"Experiment {name} is not available: {error}", 6000)

    # ================================================================== files
    def open_scene_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scene", "", "Scenes (*.json)")
        if path:
            self.open_scene_file(path)

    def save_scene_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save scene", "scene.json", "Scenes (*.json)"
        )
        if path:
            self.save_scene_file(path)

    def export_png(self, path: str | Path) -> None:
        if not self.canvas.grab().save(str(path)):
            raise OSError(f"could not write {path}")

    def export_png_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export picture", "zoo.png", "PNG (*.png)"
        )
        if path:
            self._try_file(lambda: self.export_png(path), path)

    def export_csv(self, path: str | Path) -> None:
        from gui.export import write_csv

        self._quiesce()
        rows = [
            (run_label(c, self.registry), c.optimizer, self.runset.trajectory(run_id))
            for run_id, c in self.runset.configs.items()
        ]
        write_csv(path, rows)

    def export_csv_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export trajectories", "trajectories.csv", "CSV (*.csv)"
        )
        if path:
            self._try_file(lambda: self.export_csv(path), path)

    def export_animation(
        self, path: str | Path, frames: int, steps_per_frame: int = 1, progress: Any = None
    ) -> int:
        """Replay the runs from their starts into a GIF/MP4 of ``frames`` frames; the runs
        are put back where they were afterwards.  Returns the frames written."""
        from gui.export import stamp_step, write_animation

        self.pause()
        if not self._quiesce():
            return 0
        saved = self.runset.snapshot()
        self.runset.reset()
        self.drawing.forget()

        def images():
            for index in range(frames):
                if index:
                    self.runset.step(steps_per_frame)
                self._force_redraw()
                self.draw_now()
                yield stamp_step(self.canvas.grab().toImage(), index * steps_per_frame)

        try:
            return write_animation(path, images(), frames, progress)
        finally:
            self.runset.restore(saved)
            self.drawing.forget()
            self._force_redraw()

    def draw_now(self) -> None:
        """Draw the current state synchronously (exports and rendering)."""
        frame = self.drawing.frame(self.runset)
        selected = frame.head_of.get(self._selected) if self._selected is not None else None
        self.canvas.draw(frame.trails, frame.heads, frame.brushes, selected)

    def export_animation_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export animation", "zoo.gif", "GIF (*.gif);;MP4 video (*.mp4)"
        )
        if not path:
            return
        frames, ok = QtWidgets.QInputDialog.getInt(
            self, "Export animation", "frames", 120, 2, 10000
        )
        if not ok:
            return
        dialog = QtWidgets.QProgressDialog("Writing the animation…", "Cancel", 0, frames, self)
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)

        def progress(done: int) -> bool:
            dialog.setValue(done)
            QtWidgets.QApplication.processEvents()
            return not dialog.wasCanceled()

        self._try_file(
            lambda: self.export_animation(path, frames, self.steps_per_frame, progress), path
        )
        dialog.close()

    def _try_file(self, action: Any, path: str) -> None:
        try:
            action()
        except (OSError, ValueError) as error:
            self.report(f"Could not write {path}: {error}")
        else:
            self.statusBar().showMessage(f"Wrote {path}", 4000)

    # ================================================================== messages, closing
    def report(self, message: str) -> None:
        """Tell the user something went wrong, without stopping anything."""
        self.last_message = message
        self.statusBar().showMessage(message, 10000)
        if self.isVisible() and QtWidgets.QApplication.platformName() != "offscreen":
            box = QtWidgets.QMessageBox(
                QtWidgets.QMessageBox.Icon.Warning, "Optimizer Zoo", message, parent=self
            )
            box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()

    last_message = ""

    def shutdown(self) -> None:
        """Stop the frame timer, the workers and background work (idempotent)."""
        if self._closing:
            return
        self._closing = True
        self.timer.stop()
        self.canvas._refresh.stop()
        if self.stepper is not None:
            self.stepper.close()
        experiment_view.finish_all()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)


def _project(plane: Plane, x: np.ndarray) -> np.ndarray:
    basis = np.stack([plane.u, plane.v], axis=1)
    return (np.asarray(x, dtype=float) - plane.origin) @ np.linalg.pinv(basis).T


def _scaled(vector: np.ndarray, length: float) -> np.ndarray | None:
    """``vector`` stretched to ``length`` (its direction is what is shown); None when it
    has vanished, since a converged run has no direction left to show."""
    norm = float(np.hypot(*vector))
    return vector * (length / norm) if norm > 1e-10 else None
