"""The step-size lab drives real widgets on a stand-in main window with the window's
documented names (signals, attributes, methods), offscreen."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore, QtWidgets

import zoo
from zoo import theory
from zoo.workspace import LESSONS


class StandInWindow(QtWidgets.QMainWindow):
    """The main window's contract as far as the lab uses it."""

    scene_loaded = QtCore.Signal()
    stepped = QtCore.Signal()
    selection_changed = QtCore.Signal(int)
    runs_changed = QtCore.Signal()

    def __init__(self, registry, model="quadratic", settings=None):
        super().__init__()
        self.registry = registry
        self.canvas = pg.PlotWidget()
        self.canvas.plot_item = self.canvas.getPlotItem()
        self.setCentralWidget(self.canvas)
        self.selected: int | None = None
        self.hyper_calls: list[tuple[int, dict]] = []
        self.set_model(model, settings or {})

    def selected_run(self):
        return self.selected

    def select(self, run_id):
        self.selected = run_id
        self.selection_changed.emit(-1 if run_id is None else run_id)

    def set_model(self, name, settings):
        configs = dict(getattr(self, "runset", None).configs) if hasattr(self, "runset") else {}
        self.model_name, self.settings = name, dict(settings)
        self.problem = zoo.build_problem(name, settings, registry=self.registry)
        self.runset = zoo.RunSet(self.problem, self.registry)
        ids = {old: self.runset.add(config) for old, config in configs.items()}
        if self.selected is not None:
            self.selected = ids.get(self.selected)
        self.scene_loaded.emit()

    def add_run(self, config):
        run_id = self.runset.add(config)
        self.runs_changed.emit()
        return run_id

    def set_run_hyper(self, run_id, **values):
        self.hyper_calls.append((run_id, values))
        config = self.runset.configs[run_id]
        self.runset.update(run_id, replace(config, hyper={**config.hyper, **values}))
        self.runs_changed.emit()

    def step_once(self, n=1):
        self.runset.step(n)
        self.stepped.emit()


@pytest.fixture
def window(qtbot, registry):
    win = StandInWindow(registry, "quadratic", {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0})
    qtbot.addWidget(win)
    run = win.add_run(zoo.RunConfig("sgd", {"lr": 0.05}, start=(-1.5, 1.0)))
    win.select(run)
    win.resize(1400, 900)
    return win


@pytest.fixture
def lab(qtbot, window):
    from zoo_gui.lab import show_lab

    dock = show_lab(window)
    yield dock
    dock.timer.stop()
    dock.ruler.commit_timer.stop()


def _step_and_wait(qtbot, window, lab, n=1):
    with qtbot.waitSignal(lab.updated, timeout=3000):
        window.step_once(n)


def test_show_lab_creates_one_dock(window, lab):
    from zoo_gui.lab import show_lab

    assert show_lab(window) is lab
    assert window.findChildren(type(lab)) == [lab]
    assert lab.state is not None and lab.state.run_id == window.selected_run()


def test_ruler_marks_and_labels_of_the_quadratic(window, lab):
    marks = [line.value() for line in lab.ruler.mark_lines if line.isVisible()]
    assert 10 ** np.array(marks) == pytest.approx([0.1, 2 / 11, 0.2, 1.0, 2.0])
    overall, labels = lab.ruler.shown_labels()
    assert labels == (theory.MONOTONE, theory.MONOTONE)
    assert overall == theory.MONOTONE
    lab.ruler.set_lr(0.15)
    assert lab.ruler.shown_labels() == (theory.OSCILLATING, (theory.MONOTONE, theory.OSCILLATING))
    assert "oscillating" in lab.ruler.summary.text()
    lab.ruler.set_lr(0.25)
    assert lab.ruler.shown_labels()[0] == theory.DIVERGENT


def test_ruler_sets_the_selected_runs_lr(qtbot, window, lab):
    run = window.selected_run()
    with qtbot.waitSignal(window.runs_changed, timeout=2000):
        lab.ruler.slider.setValue(lab.ruler._to_slider(0.15))
    run_id, values = window.hyper_calls[-1]
    assert run_id == run
    assert values["lr"] == pytest.approx(0.15, rel=0.01)
    assert window.runset.configs[run].hyper["lr"] == values["lr"]


def test_lab_updates_when_the_selected_run_moves(qtbot, window, lab):
    lab.tabs.setCurrentIndex(list(lab.panels).index("eigen"))
    before = lab.state.point.copy()
    _step_and_wait(qtbot, window, lab, 5)
    assert not np.allclose(lab.state.point, before)
    assert len(lab.state.history) == 6
    eigen = lab.panels["eigen"]
    xs, _ys = eigen.measured[0].getData()
    assert len(xs) == 6
    # the predicted line is the theory's (1 − ηλ)^k over the measured start
    components = eigen.components
    assert np.max(np.abs(components.predicted - components.measured)) < 1e-10
    # the canvas overlay follows the run's point
    line_x, line_y = eigen.overlay.lines[0].getData()
    assert np.mean(line_x) == pytest.approx(lab.state.point[0])
    assert np.mean(line_y) == pytest.approx(lab.state.point[1])
    _step_and_wait(qtbot, window, lab, 3)
    assert len(eigen.measured[0].getData()[0]) == 9


def test_local_marks_move_on_rosenbrock(qtbot, registry):
    from zoo_gui.lab import show_lab

    win = StandInWindow(registry, "rosenbrock")
    qtbot.addWidget(win)
    win.select(win.add_run(zoo.RunConfig("sgd", {"lr": 1e-3})))
    dock = show_lab(win)
    try:
        first = dock.state.model.eigenvalues.copy()
        assert not dock.state.quadratic
        with qtbot.waitSignal(dock.updated, timeout=3000):
            win.step_once(50)
        assert not np.allclose(dock.state.model.eigenvalues, first)
        expected = theory.local_quadratic(win.problem, dock.state.point).marks()
        shown = [10 ** line.value() for line in dock.ruler.mark_lines if line.isVisible()]
        assert shown == pytest.approx([value for _, value in expected])
    finally:
        dock.timer.stop()


def test_every_panel_draws(qtbot, window, lab):
    for index, panel in enumerate(lab.panels.values()):
        lab.tabs.setCurrentIndex(index)
        with qtbot.waitSignal(lab.updated, timeout=3000):
            window.step_once(2)
        assert lab.current_panel() is panel
        assert lab.last_error == "", panel.name
    one_d = lab.panels["oned"]
    lab.tabs.setCurrentIndex(list(lab.panels).index("oned"))
    lab.refresh_now()
    # E″ along the gradient lies between the eigenvalues; η_opt = 1/E″
    assert 1.0 <= one_d.curvature <= 10.0
    assert one_d.eta_opt == pytest.approx(1 / one_d.curvature)
    one_d.mode.setCurrentIndex(2)  # along the eigenvector of λ = 10
    assert one_d.curvature == pytest.approx(10.0)


def test_momentum_map_click_sets_lr_and_beta(window, lab):
    momentum = lab.panels["momentum"]
    lab.tabs.setCurrentIndex(list(lab.panels).index("momentum"))
    lab.refresh_now()
    optimum = theory.optimal_rates(1.0, 10.0)["heavy_ball"]
    star_x, star_y = momentum.polyak.getData()
    assert 10 ** star_x[0] == pytest.approx(optimum["lr"])
    assert star_y[0] == pytest.approx(optimum["momentum"])
    assert np.nanmin(momentum.rates) == pytest.approx(optimum["rate"], abs=0.02)
    momentum.choose(optimum["lr"], optimum["momentum"])
    _run, values = window.hyper_calls[-1]
    assert values == {"lr": optimum["lr"], "momentum": optimum["momentum"]}
    lab.refresh_now()
    assert lab.state.momentum == pytest.approx(optimum["momentum"])


def test_conditioning_controls_rebuild_the_quadratic(qtbot, window, lab):
    panel = lab.panels["conditioning"]
    lab.tabs.setCurrentIndex(list(lab.panels).index("conditioning"))
    lab.refresh_now()
    assert panel.lambda1.value() == pytest.approx(1.0)
    assert panel.lambda2.value() == pytest.approx(10.0)
    assert panel.angle.value() == 30
    panel.lambda2.setValue(50.0)
    with qtbot.waitSignal(lab.updated, timeout=3000):
        panel.apply_model()
    assert np.linalg.eigvalsh(window.problem.matrix) == pytest.approx([1.0, 50.0])
    assert panel.kappa.text() == "50"
    panel.rescale.setChecked(True)
    lab.refresh_now()
    xs, ys = panel.contours.getData()
    finite = np.isfinite(xs)
    radii = np.hypot(xs[finite], ys[finite])
    # rescaled contours are circles about the minimum: four radii only
    assert len(np.unique(np.round(radii, 9))) == 4


def test_schedules_panel_verdict_and_stall(window, lab):
    panel = lab.panels["schedules"]
    lab.tabs.setCurrentIndex(list(lab.panels).index("schedules"))
    lab.refresh_now()
    assert panel.result is not None and not panel.result.satisfied  # constant step
    assert "fails" in panel.verdict.text()
    assert 10 ** panel.limit.value() == pytest.approx(0.3581878, abs=1e-6)
    if "inverse" in window.registry.schedules:
        index = panel.schedule.findText("inverse")
        panel.schedule.setCurrentIndex(index)
        assert panel.result.satisfied


def test_saddle_panel_shows_the_negative_eigenvalue(qtbot, registry):
    from zoo_gui.lab import show_lab

    win = StandInWindow(registry, "quadratic", {"lambda1": -1.0, "lambda2": 4.0, "angle": 0.0})
    qtbot.addWidget(win)
    win.select(win.add_run(zoo.RunConfig("sgd", {"lr": 0.05}, start=(1e-3, 1.0))))
    dock = show_lab(win, panels=["saddles", "ruler"])
    try:
        assert dock.current_panel() is dock.panels["saddles"]
        assert "saddle of index 1" in dock.panels["saddles"].summary.text()
        assert dock.ruler.shown_labels()[1][0] == theory.SADDLE
        with qtbot.waitSignal(dock.updated, timeout=3000):
            win.step_once(20)
        xs, _ = dock.panels["saddles"].gradient.getData()
        assert len(xs) == 21
    finally:
        dock.timer.stop()


LESSON_PATHS = sorted(LESSONS.glob("[0-9][0-9]_*.json"))


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lambda p: p.stem)
def test_every_lesson_renders_in_the_lab(qtbot, registry, path):
    from zoo_gui.lab import PANEL_NAMES, show_lab

    data = json.loads(path.read_text(encoding="utf-8"))
    names = [("model", data["model"]["name"])] + [
        ("optimizer", r["optimizer"]) for r in data["runs"]
    ]
    missing = [name for kind, name in names if name not in getattr(registry, kind + "s")]
    assert not missing, f"built-in records not registered: {', '.join(missing)}"
    win = StandInWindow(registry, data["model"]["name"], data["model"].get("settings", {}))
    qtbot.addWidget(win)
    ids = [
        win.add_run(
            zoo.RunConfig(
                r["optimizer"],
                r.get("hyper", {}),
                r.get("schedule"),
                r.get("schedule_params", {}),
                tuple(r["start"]),
            )
        )
        for r in data["runs"]
    ]
    win.select(ids[0])
    win.resize(1200, 800)
    panels = data["lesson"]["panels"]
    assert set(panels) <= set(PANEL_NAMES)
    dock = show_lab(win, panels=panels)
    try:
        tabbed = [name for name in panels if name != "ruler"]
        if tabbed:
            assert dock.current_panel() is dock.panels[tabbed[0]]
        with qtbot.waitSignal(dock.updated, timeout=3000):
            win.step_once(20)
        assert dock.last_error == ""
        image = dock.grab().toImage()
        pixels = np.array(
            [
                image.pixel(x, y)
                for x in range(0, image.width(), 17)
                for y in range(0, image.height(), 17)
            ]
        )
        assert len(np.unique(pixels)) > 20  # drawn, not blank
    finally:
        dock.timer.stop()
