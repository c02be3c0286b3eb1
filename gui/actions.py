"""The window's toolbar, menus and keyboard shortcuts.

Single-key shortcuts (Space, S, R, A, L, F, +, −) are window-wide; a focused text box
keeps the keys it types (number boxes only the keys a number is made of).
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from zoo.engine import HISTORY_POINTS
from zoo.workspace import lesson_files, lesson_title

#: Trail choices offered in the View menu: (label, setting); None draws whole paths.
TRAILS = (("Whole paths", None), ("Last 100 steps", 100), ("Last 1000 steps", 1000))


def make_action(
    window: QtWidgets.QMainWindow,
    text: str,
    slot: Any,
    shortcut: str | None = None,
    tip: str = "",
    checkable: bool = False,
) -> QtGui.QAction:
    action = QtGui.QAction(text, window)
    if shortcut:
        action.setShortcut(QtGui.QKeySequence(shortcut))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
    action.setWhatsThis(tip or text)  # what the Help menu lists
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


def build_toolbar(window: Any) -> None:
    """Play, step, reset, steps per frame, step limit, click target, arrows, lab."""
    act = window.make_action
    ws = window.workspace
    bar = window.addToolBar("Controls")
    bar.setObjectName("controls")
    bar.setMovable(False)
    window.play_action = act("Play", ws.toggle_play, "Space", "Play or pause", checkable=True)
    window.step_action = act("Step", window.step_once, "S", "One step")
    window.reset_action = act("Reset", window.reset_runs, "R", "Send every run back to its start")
    for action in (window.play_action, window.step_action, window.reset_action):
        bar.addAction(action)
    bar.addSeparator()
    bar.addWidget(QtWidgets.QLabel(" steps/frame "))
    window.speed_slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
    window.speed_slider.setRange(0, 300)  # 100·log10(steps per frame): 1 … 1000
    window.speed_slider.setFixedWidth(130)
    window.speed_slider.setToolTip("Steps per frame, 1 to 1000 (+ / − keys)")
    window.speed_slider.valueChanged.connect(
        lambda v: ws.set_steps_per_frame(round(10 ** (v / 100)))
    )
    bar.addWidget(window.speed_slider)
    window.speed_value = QtWidgets.QLabel("1")
    window.speed_value.setMinimumWidth(36)
    bar.addWidget(window.speed_value)
    bar.addWidget(QtWidgets.QLabel("  limit "))
    window.limit_box = QtWidgets.QSpinBox()
    window.limit_box.setRange(1, 10_000_000)
    window.limit_box.setKeyboardTracking(False)
    window.limit_box.setToolTip("Each run stops after this many steps")
    window.limit_box.valueChanged.connect(window.set_step_limit)
    bar.addWidget(window.limit_box)
    bar.addSeparator()
    bar.addWidget(QtWidgets.QLabel(" click moves "))
    window.click_box = QtWidgets.QComboBox()
    window.click_box.addItems(["all runs", "selected run"])
    window.click_box.setToolTip("Whose start a click (or dragging the start marker) sets")
    bar.addWidget(window.click_box)
    bar.addSeparator()
    window.arrows_action = act(
        "Arrows",
        window.force_redraw,
        "A",
        "Gradient, update and momentum at the selected run",
        checkable=True,
    )
    bar.addAction(window.arrows_action)
    window.lab_action = act("Step-size lab", window.show_lab, "L", "Open the step-size lab")
    bar.addAction(window.lab_action)
    act("Faster", lambda: ws.set_steps_per_frame(ws.steps_per_frame * 2), "+")
    act("Slower", lambda: ws.set_steps_per_frame(ws.steps_per_frame // 2), "-")
    window.fit_action = act("Fit view", window.fit_view, "F", "Show the model's whole view")


def build_menus(window: Any) -> None:
    """File, Runs, Lessons, Experiments, Tools and View."""
    act = window.make_action
    menu = window.menuBar().addMenu("&File")
    menu.addAction(act("Open scene…", window.open_scene_dialog, "Ctrl+O"))
    recent = menu.addMenu("Open recent")
    recent.aboutToShow.connect(lambda: _fill_recent(window, recent))
    menu.addAction(act("Save scene…", window.save_scene_dialog, "Ctrl+S"))
    menu.addSeparator()
    menu.addAction(act("Export picture (PNG)…", window.export_png_dialog, "Ctrl+E"))
    menu.addAction(
        act("Export animation (GIF/MP4)…", window.export_animation_dialog, "Ctrl+Shift+E")
    )
    menu.addAction(act("Export trajectories (CSV)…", window.export_csv_dialog))
    menu.addSeparator()
    menu.addAction(act("Quit", window.close, "Ctrl+Q"))
    runs = window.menuBar().addMenu("&Runs")
    runs.addAction(act("Add run", window.add_default_run, "Ctrl+N"))
    runs.addAction(act("Duplicate run", window.duplicate_selected, "Ctrl+D"))
    runs.addAction(act("Remove run", window.remove_selected, "Delete"))
    runs.addAction(act("Sweep…", window.sweep_dialog))
    runs.addSeparator()
    window.full_history_action = runs.addAction("Keep every step")
    window.full_history_action.setCheckable(True)
    window.full_history_action.setToolTip(
        "Keep each run's every step (memory grows with its length) instead of "
        f"{HISTORY_POINTS} points spread over its whole path; the runs start again"
    )

    def keep_every_step(checked: bool) -> None:
        window._try(lambda: window.workspace.set_full_history(checked))
        window.full_history_action.setChecked(window.workspace.full_history)

    window.full_history_action.triggered.connect(keep_every_step)
    lessons = window.menuBar().addMenu("&Lessons")
    for path in lesson_files():
        lessons.addAction(
            act(lesson_title(path), lambda _=False, p=path: window.open_lesson(p, lab=True))
        )
    experiments = window.menuBar().addMenu("&Experiments")
    try:
        from zoo.experiments import EXPERIMENTS

        for name, item in EXPERIMENTS.items():
            text = getattr(item, "title", "") or name
            experiments.addAction(act(text, lambda _=False, n=name: window.show_experiment(n)))
    except Exception as error:  # the list is optional; the app works without it
        experiments.addAction(f"(unavailable: {error})").setEnabled(False)
    tools = window.menuBar().addMenu("&Tools")
    tools.addAction(window.lab_action)
    tools.addAction(window.arrows_action)
    from zoo_gui.maps_dock import show_maps

    tools.addAction("&Maps…").triggered.connect(lambda _=False: show_maps(window))
    from zoo_gui.sensitivity_dock import show_sensitivity

    tools.addAction("&Sensitivity…").triggered.connect(lambda _=False: show_sensitivity(window))
    view = window.menuBar().addMenu("&View")
    view.addAction(window.side.toggleViewAction())
    view.addAction(window.lesson_dock.toggleViewAction())
    view.addAction(window.fit_action)
    view.addAction(act("Reset layout", window.reset_layout, tip="Put the docks back"))
    view.addSeparator()
    trails = view.addMenu("Trails")
    group = QtGui.QActionGroup(window)
    window.trail_actions = {}
    for text, setting in TRAILS:
        action = trails.addAction(text)
        action.setCheckable(True)
        action.triggered.connect(lambda _=False, s=setting: window.workspace.set_trail(s))
        group.addAction(action)
        window.trail_actions[setting] = action


def _fill_recent(window: Any, menu: QtWidgets.QMenu) -> None:
    menu.clear()
    paths = window.recent_scenes()
    for path in paths:
        menu.addAction(path, lambda p=path: window.open_scene_file(p))
    if not paths:
        menu.addAction("(none yet)").setEnabled(False)
