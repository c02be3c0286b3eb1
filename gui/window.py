"""The Optimizer Zoo main window: the layout of canvas, panels and docks, and the wiring
between them and the workspace.

What is shown lives in a Qt-free ``Workspace`` (zoo/workspace.py); the window reacts to
its events.  The rest of the window lives in modules named for what they hold: actions
and menus (gui/actions.py), files and export (gui/files.py), start points
(gui/start_points.py) and the frame loop (gui/frame_loop.py).  Runs are stepped by
``Stepper`` workers; every change to the runs first waits for the jobs in flight (the
workspace's ``guard``), so the run set is never changed while a worker steps it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from zoo.engine import EngineError, RunConfig
from zoo.registry import KINDS, Progress, Registry, load_local_only, local_plugin_dirs
from zoo.session import Scene, SessionError, load_scene
from zoo.workspace import Workspace, WorkspaceBusy, default_scene, lesson_path
from zoo_gui import experiment_view, maps_dock
from zoo_gui.actions import build_menus, build_toolbar, make_action
from zoo_gui.canvas import LEGEND_MOST, Canvas
from zoo_gui.compiling import COMPILING, FormulaGate
from zoo_gui.drawing import RunDrawing
from zoo_gui.files import FilesMixin
from zoo_gui.frame_loop import FRAME_MS, FrameLoopMixin
from zoo_gui.help import FirstRunHint, build_help_menu
from zoo_gui.layout import (
    app_settings,
    fit_to_screen,
    place_dock,
    recent_scenes,
    remember_scene,
    share,
)
from zoo_gui.model_panel import ModelPanel
from zoo_gui.palette import run_colour, sweep_colours
from zoo_gui.plots import StepPlots
from zoo_gui.plugin_loading import LOADING, PluginLoader
from zoo_gui.plugins_panel import PluginsPanel
from zoo_gui.runs_panel import RunsPanel, SweepDialog
from zoo_gui.start_points import StartPointsMixin
from zoo_gui.stepping import Stepper
from zoo_gui.text_view import SafeTextBrowser

RESOLUTION = 256
#: Longest the first landscape of a model may take on the UI thread; longer ones are
#: computed in the background while the canvas says so.
FIRST_GRID_SECONDS = 0.25


class MainWindow(FilesMixin, StartPointsMixin, FrameLoopMixin, QtWidgets.QMainWindow):
    """The app window; see the user guide (docs/app.md) for every panel."""

    scene_loaded = QtCore.Signal()
    stepped = QtCore.Signal()
    selection_changed = QtCore.Signal(int)
    runs_changed = QtCore.Signal()
    LEGEND_MOST = LEGEND_MOST

    def __init__(
        self,
        registry: Any = None,
        scene: Scene | None = None,
        *,
        autoplay: bool = True,
        workspace: Workspace | None = None,
        store: QtCore.QSettings | None = None,
        load_later: Callable[[Progress], Registry] | None = None,
    ) -> None:
        """``load_later(progress)`` (``zoo.registry.load_deferred``) fills a registry of
        further plugins on a worker thread; the window shows them when it is done."""
        super().__init__()
        self.store = store if store is not None else app_settings()
        self.workspace = ws = workspace or Workspace(registry, palette=run_colour)
        self.registry = ws.registry
        ws.guard = self._quiesce
        self.setWindowTitle("Optimizer Zoo")
        self.stepper: Stepper | None = None
        self.drawing: RunDrawing | None = None
        self._closing = False
        self._frames = 0
        self._last_status = 0.0
        self.frames_per_second = 0.0
        self.steps_per_second = 0.0
        self._last_pictures: tuple = ()
        self._last_plot = 0.0
        self._plugin_watcher: QtCore.QFileSystemWatcher | None = None
        self.plugin_loader: PluginLoader | None = None
        self._plugins_pending = load_later is not None  # until what it loads is added
        self._after_plugins: tuple[int, Callable[[], Any]] | None = None
        self._reload_after_plugins = False
        self._reloading = False  # what is loading replaces the local folder's plugins
        self._plots_stale = True
        self._last_arrows: Any = None
        self._legend_summary = ""
        self.last_message = ""
        self._build_ui()
        self._default_layout = self.saveState()
        events = ws.events
        events.runs_changed.connect(self._on_runs_changed)
        events.selection_changed.connect(self._on_selection_changed)
        events.scene_changed.connect(self._on_scene_changed)
        events.playback_changed.connect(self._sync_controls)
        events.plane_changed.connect(self._install_view)
        events.view_changed.connect(self._show_view)
        events.trail_changed.connect(self._on_trail_changed)
        events.lesson_changed.connect(self._show_lesson)
        events.plugins_changed.connect(self._on_plugins_changed)
        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self.frame)
        if scene is None or self._waits(scene):  # the default, while its formula compiles
            try:
                self._load_now(default_scene(ws.registry, run_colour))
            except SessionError as error:
                self.report(str(error))
        if scene is not None:
            self.load_scene(scene)
        if autoplay:
            ws.play()
        if load_later is None:
            self._watch_plugin_folders()
        else:  # the folder is watched once its plugins are in
            self._load_plugins(load_later)
        self.timer.start()

    # ================================================================== layout
    def _build_ui(self) -> None:
        ws = self.workspace
        self.canvas = Canvas()
        self.canvas.clicked.connect(self._canvas_clicked)
        self.canvas.hovered.connect(self._hovered)
        self.canvas.start_moving.connect(self._start_dragging)
        self.canvas.start_moved.connect(self._canvas_clicked)
        self.canvas.view_box.sigRangeChanged.connect(lambda *_: self._follow_view())
        self.plots = StepPlots(
            label_of=lambda r: ws.label(r) if r in ws.runset.configs else f"run {r}"
        )
        self.plots.currentChanged.connect(lambda _: self.force_redraw())
        splitter = self.picture = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([640, 200])
        self.splitter = splitter
        self.setCentralWidget(splitter)

        self.runs_panel = RunsPanel(ws)
        self.runs_panel.preview_requested.connect(self._preview_run)
        self.runs_panel.add_clicked.connect(self.add_default_run)
        self.runs_panel.duplicate_clicked.connect(self.duplicate_selected)
        self.runs_panel.remove_clicked.connect(self.remove_selected)
        self.runs_panel.sweep_clicked.connect(self.sweep_dialog)
        self.runs_panel.colour_clicked.connect(self.recolour)
        self.gate = FormulaGate(ws, self)
        self.gate.waiting.connect(self.statusBar().showMessage)
        self.gate.settled.connect(self._compiled)
        self.model_panel = ModelPanel(ws, self.gate)
        self.model_panel.report.connect(self.report)
        self.model_panel.long_operation = self.busy
        self.plugins_panel = PluginsPanel()
        self.plugins_panel.reload_clicked.connect(self.reload_plugins)
        self.plugins_panel.open_folder_clicked.connect(self.open_plugin_folder)
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.runs_panel, "Runs")
        self.tabs.addTab(self.model_panel, "Model")
        self.tabs.addTab(self.plugins_panel, "Plugins")
        self.side = QtWidgets.QDockWidget("Runs, model and plugins")
        self.side.setObjectName("sideDock")
        self.side.setWidget(self.tabs)
        self.side.setMinimumWidth(330)
        self.tabs.setMinimumHeight(0)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.side)
        # 390 px shows whole run labels; a small window shares that down (layout.share).
        self.resizeDocks([self.side], [390], QtCore.Qt.Orientation.Horizontal)

        self.lesson_view = SafeTextBrowser()
        self.lesson_dock = QtWidgets.QDockWidget("Lesson")
        self.lesson_dock.setObjectName("lessonDock")
        self.lesson_dock.setWidget(self.lesson_view)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.LeftDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()

        build_toolbar(self)
        build_menus(self)
        build_help_menu(self)
        self.hint = FirstRunHint(self.canvas)
        self.hint.dismissed.connect(lambda: self.store.setValue("hint_dismissed", True))
        self.hint.setVisible(self.store.value("hint_dismissed", False) not in (True, "true"))
        self.hover_label = QtWidgets.QLabel()
        self.speed_label = QtWidgets.QLabel()
        self.statusBar().addWidget(self.hover_label, 1)
        self.statusBar().addPermanentWidget(self.speed_label)

    def make_action(self, *args: Any, **kwargs: Any) -> QtGui.QAction:
        return make_action(self, *args, **kwargs)

    # ================================================================== layout, settings
    def restore_layout(self) -> None:
        """The geometry and dock layout of the last session (if any), within the screen."""
        geometry = self.store.value("geometry")
        if isinstance(geometry, QtCore.QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.store.value("dock_state")
        if isinstance(state, QtCore.QByteArray) and not state.isEmpty():
            self.restoreState(state)
        fit_to_screen(self)

    def save_layout(self) -> None:
        self.store.setValue("geometry", self.saveGeometry())
        self.store.setValue("dock_state", self.saveState())
        self.store.sync()

    def reset_layout(self) -> None:
        """Docks back where a new window has them (the side dock shown)."""
        self.restoreState(self._default_layout)
        self.side.show()
        fit_to_screen(self)

    def remember_scene(self, path: str | Path) -> None:
        remember_scene(self.store, path)

    def last_scene(self) -> Path | None:
        """The scene file opened or saved last, if it is still there."""
        value = self.store.value("last_scene")
        return Path(value) if isinstance(value, str) and Path(value).is_file() else None

    def recent_scenes(self) -> list[str]:
        return recent_scenes(self.store)

    # ================================================================== the workspace's state
    @property
    def runset(self) -> Any:
        return self.workspace.runset

    @property
    def problem(self) -> Any:
        return self.workspace.problem

    @property
    def model_name(self) -> str:
        return self.workspace.model_name

    @property
    def settings(self) -> dict[str, Any]:
        return self.workspace.settings

    @property
    def view_plane(self) -> Any:
        return self.workspace.view_plane

    @property
    def lesson(self) -> dict[str, Any] | None:
        return self.workspace.lesson

    def selected_run(self) -> int | None:
        return self.workspace.selected

    # ================================================================== reacting to the workspace
    def _on_scene_changed(self, view: Any) -> None:
        ws = self.workspace
        if self.stepper is None:
            self.stepper = Stepper(ws.runset)
        else:
            self.stepper.set_runset(ws.runset)
        self.drawing = RunDrawing(
            ws.to_view, trail_steps=ws.trail, one_dimensional=ws.problem.dim == 1
        )
        self._install_view(view)
        self.hover_label.clear()  # it read the loss of the model shown before
        self.model_panel.show_model()
        self.plugins_panel.show_registry(ws.registry)
        self.scene_loaded.emit()

    def _on_runs_changed(self, _selected: int | None) -> None:
        ws = self.workspace
        configs = ws.runset.configs
        self.runs_panel.set_runs()
        self.runs_panel.table_model.set_warnings(ws.stability_warnings())
        if len(configs) <= LEGEND_MOST:
            self.canvas.set_legend(
                [
                    (ws.label(run_id), c.color or "#ffffff")
                    for run_id, c in configs.items()
                    if c.visible
                ]
            )
            self._legend_summary = ""
        else:
            self._legend_summary = f"{len(configs)} runs"
            self.canvas.set_legend([(self._legend_summary, "#10141c")])
            self._last_status = 0.0  # the next frame counts them by state
        self._update_start_marker()
        if self.drawing is not None:
            self.drawing.restyle()
        self.force_redraw()
        self.runs_changed.emit()

    def _on_selection_changed(self, run_id: int | None) -> None:
        self.runs_panel.select(run_id)
        self._update_start_marker()
        self.force_redraw()
        self.selection_changed.emit(-1 if run_id is None else run_id)

    def _on_trail_changed(self, trail: int | None) -> None:
        if self.drawing is not None:
            self.drawing.trail_steps = trail
        for setting, action in self.trail_actions.items():
            action.setChecked(setting == trail)
        self.force_redraw()

    def _sync_controls(self) -> None:
        ws = self.workspace
        self.play_action.setChecked(ws.playing)
        self.play_action.setText("Pause" if ws.playing else "Play")
        blocked = self.speed_slider.blockSignals(True)
        self.speed_slider.setValue(round(100 * np.log10(ws.steps_per_frame)))
        self.speed_slider.blockSignals(blocked)
        self.speed_value.setText(str(ws.steps_per_frame))
        blocked = self.limit_box.blockSignals(True)
        self.limit_box.setValue(ws.step_limit)
        self.limit_box.blockSignals(blocked)
        self.full_history_action.setChecked(ws.full_history)

    def _show_lesson(self, lesson: dict[str, Any] | None) -> None:
        if not lesson:
            self.lesson_dock.hide()
            return
        self.lesson_dock.setWindowTitle(lesson.get("title") or "Lesson")
        self.lesson_view.show_lesson(lesson.get("title", ""), lesson.get("text", ""))
        if not self.lesson_dock.isVisible():
            self.lesson_dock.show()
            QtCore.QTimer.singleShot(0, self, lambda: share(self))  # the canvas keeps half

    # ================================================================== view
    def _install_view(self, view: Any) -> None:
        ws = self.workspace
        problem = ws.problem
        one_d = problem.dim == 1

        def source(view: Any) -> Callable[[], Any]:
            return lambda: (ws.grid(view, resolution) for resolution in (64, RESOLUTION))

        # A cheap landscape is drawn at once, so the window never opens blank; one that
        # would hold the UI (a big network) is computed in the background like every other.
        resolution = RESOLUTION if one_d else 64
        cheap = _seconds_per_point(problem) * resolution ** (1 if one_d else 2) < FIRST_GRID_SECONDS
        first = ws.grid(view, resolution) if cheap else None
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
            points = ws.to_view(minima) if len(minima) else np.empty((0, 2))
        self.canvas.set_minima(points)
        # Two weights drawn as they are: the trails are views of the histories, not copies.
        self.drawing.project = None if problem.dim == 2 and ws.view_plane is None else ws.to_view
        self.plots.floor = self._loss_floor(minima)
        self.plots.floor_known = bool(len(minima))
        self.model_panel.show_plane(ws.plane_key)
        self.drawing.forget()
        self.drawing.follow_view(self.canvas.current_view())
        if ws.runset is not None and ws.runset.configs:
            self._update_start_marker()
        self.force_redraw()

    def _follow_view(self) -> None:
        """Zoomed or panned: the workspace keeps the view; trails confined to a box
        around it are redrawn when the box had to move."""
        view = self.canvas.current_view()
        self.workspace.track_view(view)
        if self.drawing is not None and self.drawing.follow_view(view):
            self.force_redraw()

    def _show_view(self, view: Any) -> None:
        (x0, x1), (y0, y1) = view
        one_d = self.workspace.problem.dim == 1
        self.canvas.view_box.setRange(
            xRange=(x0, x1), yRange=None if one_d else (y0, y1), padding=0
        )
        self.canvas._refresh.start()

    def fit_view(self) -> None:
        if self.workspace.problem is not None:
            self.workspace.show_view()

    def _loss_floor(self, minima: np.ndarray) -> float:
        """E* for the loss plot: the lowest known minimum, else the grid's lowest value."""
        values = []
        if len(minima):
            with np.errstate(all="ignore"):
                values.append(float(np.nanmin(self.workspace.problem.loss(minima))))
        grid = self.canvas.grid
        if grid is not None and np.isfinite(grid.loss).any():
            values.append(float(np.nanmin(grid.loss)))
        finite = [v for v in values if np.isfinite(v)]
        low = min(finite) if finite else 0.0
        return low if (len(minima) or low < 0) else 0.0

    # ================================================================== actions on the workspace
    def _try(self, change: Callable[[], Any]) -> Any:
        """Run ``change``; what the workspace refuses is reported.  None on failure."""
        try:
            return change()
        except WorkspaceBusy:
            return None  # ``_quiesce`` has said what is still stepping
        except (EngineError, SessionError, ValueError) as error:
            self.report(str(error))
            return None

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Around work that may take a while: clicks made meanwhile are dropped, not
        delivered afterwards to whatever is under the mouse then."""
        QtWidgets.QApplication.setOverrideCursor(QtCore.Qt.CursorShape.WaitCursor)
        try:
            yield
        finally:
            app = QtWidgets.QApplication.instance()
            app.installEventFilter(self._input_drop)
            try:
                QtWidgets.QApplication.processEvents()
            finally:
                app.removeEventFilter(self._input_drop)
                QtWidgets.QApplication.restoreOverrideCursor()

    @property
    def _input_drop(self) -> QtCore.QObject:
        dropper = getattr(self, "_dropper", None)
        if dropper is None:
            dropper = self._dropper = _InputDropper(self)
        return dropper

    def load_scene(self, scene: Scene) -> bool | None:
        """Replace the scene once its formula is compiled (see ``zoo_gui.compiling``): True
        or False (the current scene stays, and the reason is reported) when done at
        once, None while the formula compiles."""
        return self.gate.then(scene.model, scene.settings, lambda: self._load_now(scene))

    def _waits(self, scene: Scene) -> bool:
        return bool(self.workspace.formulas_to_compile(scene.model, scene.settings))

    def _load_now(self, scene: Scene, failed: str = "", then: Callable[[], Any] = bool) -> bool:
        """Show ``scene`` now; on any error the current scene stays, the reason is
        reported (after ``failed``) and False is returned; else ``then()`` runs."""
        with self.busy():
            try:
                self.workspace.load_scene(scene)
            except SessionError as error:
                self.report(f"{failed}{error}")
                return False
            except WorkspaceBusy:
                return False
        then()
        return True

    def _compiled(self, _result: Any) -> None:
        if self.statusBar().currentMessage() == COMPILING:
            self.statusBar().clearMessage()

    def scene(self) -> Scene:
        return self.workspace.scene()

    def open_lesson(self, path_or_name: str | Path, lab: bool = False) -> bool | None:
        """Load a lesson's scene and show its text; with ``lab`` (or the lab open) the
        step-size lab shows the panels it names.  Returns as ``load_scene``."""
        try:
            scene = load_scene(lesson_path(path_or_name), self.registry)
        except SessionError as error:
            if self.wait_for_plugins(lambda: self.open_lesson(path_or_name, lab), "the lesson"):
                return None
            self.report(f"Lesson not opened: {error}")
            return False

        def show_lab() -> None:
            if lab or self._lab_dock() is not None:
                self.show_lab((scene.lesson or {}).get("panels"))

        return self.gate.then(
            scene.model,
            scene.settings,
            lambda: self._load_now(scene, "Lesson not opened: ", show_lab),
        )

    def set_model(self, name: str, settings: dict[str, Any] | None = None) -> bool | None:
        """Build model ``name``; the runs carry over (starts too, if the model is the same).
        Returns as ``load_scene``."""
        return self.model_panel.change_model(name, dict(settings or {}))

    def set_seed(self, seed: int) -> None:
        self.model_panel.change_seed(seed)

    def set_plane(self, key: str) -> None:
        self.model_panel._plane_chosen(key)

    def select_run(self, run_id: int | None) -> None:
        self.workspace.select(run_id)

    def add_run(self, config: RunConfig) -> int:
        """Add a run (a colour is chosen if it has none); raises ``EngineError``."""
        try:
            return self.workspace.add_run(config)
        except WorkspaceBusy as error:
            raise EngineError(str(error)) from None

    def add_default_run(self) -> None:
        self._try(lambda: self.workspace.add_run(self.workspace.new_run()))

    def duplicate_selected(self) -> None:
        if self.workspace.selected is not None:
            self._try(lambda: self.workspace.duplicate(self.workspace.selected))

    def remove_run(self, run_id: int) -> None:
        self._try(lambda: self.workspace.remove_run(run_id))

    def remove_selected(self) -> None:
        if self.workspace.selected is not None:
            self.remove_run(self.workspace.selected)

    def recolour(self, run_id: int) -> None:
        config = self.workspace.runset.configs[run_id]
        colour = QtWidgets.QColorDialog.getColor(
            QtGui.QColor(config.color or "#ffffff"), self, "Run colour"
        )
        if colour.isValid():
            self.edit_run(run_id, color=colour.name(), restart=False)

    def edit_run(self, run_id: int, *, restart: bool | None = None, **changes: Any) -> bool:
        """Change a run's config fields; values restart it unless the toggle says continue."""
        return self.runs_panel._apply(
            lambda: self.workspace.edit_run(run_id, restart=restart, **changes)
        )

    def set_run_hyper(self, run_id: int, **values: Any) -> bool:
        """Change hyper-parameters of a run (restarting it, or continuing if the toggle says so)."""
        return self.runs_panel._apply(lambda: self.workspace.set_hyper(run_id, **values))

    def sweep_dialog(self) -> None:
        ws = self.workspace
        config = ws.selected_config()
        if config is None:
            self.report("Select a run to sweep one of its values.")
            return
        dialog = SweepDialog(config, ws.registry, self)
        if dialog.exec() == QtWidgets.QDialog.DialogCode.Accepted:
            self.sweep(ws.selected, dialog.name, dialog.values)

    def sweep(self, run_id: int, name: str, values: list[float]) -> list[int]:
        """Add one copy of run ``run_id`` per value of hyper-parameter ``name``, at once."""
        with self.busy():
            ids = self._try(
                lambda: self.workspace.sweep(run_id, name, values, sweep_colours(len(values)))
            )
        return ids or []

    def step_once(self) -> None:
        """One step of every run (off the UI thread, drawn at the next frame)."""
        self.workspace.pause()
        if self.stepper is not None:
            self.stepper.submit(1, self.workspace.step_limit)

    def reset_runs(self) -> None:
        self._try(self.workspace.reset_runs)

    def play(self) -> None:
        self.workspace.play()

    def pause(self) -> None:
        self.workspace.pause()

    def toggle_play(self) -> None:
        self.workspace.toggle_play()

    def set_steps_per_frame(self, value: int) -> None:
        self.workspace.set_steps_per_frame(value)

    def set_step_limit(self, value: int) -> None:
        """Set the step limit; one past ``zoo.limits`` is reported and the box shows the
        limit still in force."""
        self._try(lambda: self.workspace.set_step_limit(value))
        self._sync_controls()

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

    # ================================================================== plugins, tools
    @property
    def plugins_loading(self) -> bool:
        """Whether plugins are still being imported in the background."""
        return self._plugins_pending

    def wait_for_plugins(self, action: Callable[[], Any], what: str) -> bool:
        """While plugins load, do ``action`` once they are in (unless a later change of
        scene or model came first; a later wait replaces this one) and return True; else
        False.  A scene that names a plugin still loading waits this way."""
        if not self.plugins_loading:
            return False
        self._after_plugins = (self.gate.changes, action)
        self.statusBar().showMessage(f"Waiting for the plugins to open {what}…")
        return True

    def reload_plugins(self) -> None:
        """Re-read the local plugin folder on a worker thread and show the new records in
        every chooser (see ``Workspace.reload_plugins``); while plugins load, once they
        are in."""
        if self.plugins_loading:
            self._reload_after_plugins = True
            return
        self._load_plugins(load_local_only, reload=True)

    def _load_plugins(self, load: Callable[[Progress], Registry], reload: bool = False) -> None:
        """Import plugins by ``load`` on a worker thread (the status bar names each) and
        add them when they are in: all of them replace the local folder's with ``reload``."""
        self._plugins_pending = True
        self._reloading = reload
        if self.plugin_loader is not None:  # its thread is done: nothing is pending
            self.plugin_loader.deleteLater()
        self.plugin_loader = PluginLoader(load, self)
        self.plugin_loader.importing.connect(self._importing)
        self.plugin_loader.arrived.connect(self._plugins_arrived)
        self.plugin_loader.start()

    def _change_plugins(self, change: Callable[[], str]) -> None:
        with self.busy():
            message = self._try(change)
        if message:
            self.statusBar().showMessage(message, 6000)
        self._watch_plugin_folders()

    def _on_plugins_changed(self) -> None:
        self.plugins_panel.show_registry(self.registry)
        self.runs_panel.refresh_editor()
        self.model_panel.show_model()

    def _importing(self, name: str) -> None:
        self.statusBar().showMessage(LOADING.format(name=name))

    def _plugins_arrived(self, loaded: Registry | Exception) -> None:
        """Add what the background import brought, as a reload of the local folder
        would, then do what waited for it."""
        if self._closing:
            return
        if isinstance(loaded, Exception):
            self.report(f"Plugins could not be loaded: {type(loaded).__name__}: {loaded}")
        elif not (self._reloading or loaded.plugins or loaded.failures):
            self._watch_plugin_folders()
        else:
            adopted: list[bool] = []

            def adopt() -> None:
                if self._reloading:
                    self.registry.replace_local(loaded)
                else:
                    self.registry.adopt(loaded)
                adopted.append(True)

            records = sum(len(loaded.records(kind)) for kind in KINDS)
            done = f"Plugins loaded: {records} record(s) from {len(loaded.plugins)} plugin(s)"
            if self._reloading:
                done = "Local plugins reloaded"
            elif loaded.failures:
                done += f", {len(loaded.failures)} failure(s) (see Plugins)"
            if self.stepper is None or self.stepper.idle(timeout=0.5):
                self._change_plugins(lambda: self.workspace.reload_plugins(adopt, done))
            if not adopted:  # a run is stuck in a slow step: try again in a moment
                QtCore.QTimer.singleShot(1000, self, lambda: self._plugins_arrived(loaded))
                return
        self._plugins_pending = False
        waiting, self._after_plugins = self._after_plugins, None
        if waiting is not None and waiting[0] == self.gate.changes:
            waiting[1]()
        if self._reload_after_plugins:
            self._reload_after_plugins = False
            self.reload_plugins()

    def _watch_plugin_folders(self) -> None:
        """Reload when a file in the local plugin folder is added, edited or removed."""
        if self._plugin_watcher is None:
            self._plugin_watcher = QtCore.QFileSystemWatcher(self)
            self._plugin_reload = QtCore.QTimer(self, singleShot=True, interval=700)
            self._plugin_reload.timeout.connect(self.reload_plugins)
            self._plugin_watcher.directoryChanged.connect(lambda _: self._plugin_reload.start())
            self._plugin_watcher.fileChanged.connect(lambda _: self._plugin_reload.start())
        watcher = self._plugin_watcher
        wanted = []
        for folder in local_plugin_dirs():
            if folder.is_dir():
                wanted.append(str(folder))
                wanted += [str(path) for path in folder.glob("*.py")]
        stale = [p for p in watcher.files() + watcher.directories() if p not in wanted]
        if stale:
            watcher.removePaths(stale)
        new = [p for p in wanted if p not in watcher.files() + watcher.directories()]
        if new:
            watcher.addPaths(new)

    def open_plugin_folder(self) -> None:
        """Open the local plugin folder in the file manager, creating it if missing."""
        folder = local_plugin_dirs()[0]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.report(f"Could not create {folder}: {error}")
            return
        self._watch_plugin_folders()
        QtGui.QDesktopServices.openUrl(QtCore.QUrl.fromLocalFile(str(folder)))

    def _lab_dock(self) -> Any:
        try:
            from zoo_gui.lab import LabDock
        except Exception:
            return None
        return self.findChild(LabDock)

    def show_lab(self, panels: Any = None) -> None:
        try:
            import zoo_gui.lab
        except Exception as error:
            self.statusBar().showMessage(f"The step-size lab is not available: {error}", 6000)
            return
        try:
            size = self.size()
            dock = zoo_gui.lab.show_lab(self, panels) if panels else zoo_gui.lab.show_lab(self)
            place_dock(self, dock, size)
        except Exception as error:
            self.statusBar().showMessage(f"The step-size lab failed to open: {error}", 6000)

    def show_experiment(self, name: str) -> None:
        try:
            size = self.size()
            place_dock(self, experiment_view.show_experiment(self, name), size)
        except Exception as error:
            self.statusBar().showMessage(f"Experiment {name} is not available: {error}", 6000)

    # ================================================================== messages, closing
    def report(self, message: str) -> None:
        """Tell the user something went wrong, without stopping anything."""
        self.last_message = message
        self.statusBar().showMessage(message, 10000)
        if self.isVisible() and QtWidgets.QApplication.platformName() != "offscreen":
            box = QtWidgets.QMessageBox(
                QtWidgets.QMessageBox.Icon.Warning, "Optimizer Zoo", message, parent=self
            )
            box.setTextFormat(QtCore.Qt.TextFormat.PlainText)
            box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()

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
        maps_dock.finish_all()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closing:
            self.save_layout()
        self.shutdown()
        super().closeEvent(event)


class _InputDropper(QtCore.QObject):
    """An event filter that swallows mouse and key input (installed only briefly)."""

    DROPPED = frozenset(
        {
            QtCore.QEvent.Type.MouseButtonPress,
            QtCore.QEvent.Type.MouseButtonRelease,
            QtCore.QEvent.Type.MouseButtonDblClick,
            QtCore.QEvent.Type.GraphicsSceneMousePress,
            QtCore.QEvent.Type.GraphicsSceneMouseRelease,
            QtCore.QEvent.Type.KeyPress,
            QtCore.QEvent.Type.KeyRelease,
            QtCore.QEvent.Type.Wheel,
        }
    )

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:
        return event.type() in self.DROPPED


def _seconds_per_point(problem: Any) -> float:
    """How long the loss takes per point of a grid, measured at the start: on one point,
    then, if that was quick, on a small batch, since one point alone is mostly the call's
    overhead (and a first call's warming up), which a batch spreads."""
    start = np.asarray(problem.start, dtype=float).reshape(1, -1)
    seconds = _timed_loss(problem, start)
    if seconds < _BATCH_TIMING_BELOW:
        seconds = _timed_loss(problem, np.repeat(start, _TIMING_BATCH, axis=0)) / _TIMING_BATCH
    return seconds


#: A loss quicker than this on one point is timed again on a batch of ``_TIMING_BATCH``.
_BATCH_TIMING_BELOW = 0.002
_TIMING_BATCH = 32


def _timed_loss(problem: Any, x: np.ndarray) -> float:
    begin = time.perf_counter()
    # A loss that fails here fails in the grid too, which says what is wrong.
    with np.errstate(all="ignore"), contextlib.suppress(Exception):
        problem.loss(x)
    return time.perf_counter() - begin
