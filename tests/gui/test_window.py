"""The main window, driven through its real widgets, offscreen."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets
from PySide6.QtWidgets import QPushButton

import zoo
from zoo.session import load_scene


def steps_of(window):
    return {run_id: window.runset.steps_taken(run_id) for run_id in window.runset.configs}


def settle(window):
    """Pause and wait for the jobs in flight, so the run set can be read exactly."""
    window.pause()
    assert window.stepper.idle(timeout=5.0)


def test_default_scene_opens_with_four_runs_whose_trails_grow(qtbot, main_window):
    window = main_window
    assert window.model_name == "quadratic"
    assert len(window.runset.configs) == 4
    problem = window.problem
    eigenvalues = np.linalg.eigvalsh(problem.hess(problem.start[None])[0])
    assert eigenvalues.max() / eigenvalues.min() >= 10  # ill-conditioned
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 5, timeout=5000)
    with qtbot.waitSignal(window.stepped, timeout=2000):
        pass
    first = steps_of(window)
    qtbot.waitUntil(lambda: all(s > first[r] for r, s in steps_of(window).items()), timeout=5000)
    with qtbot.waitSignal(window.stepped, timeout=2000):
        pass
    trails = window.canvas.trails
    assert trails.colour_count() == 4  # four colours, one draw call each
    assert trails.segment_count() >= 4 * 5
    assert window.canvas.heads.count() == 4
    assert window.canvas.grid is not None and np.isfinite(window.canvas.grid.loss).all()


def click_view_point(qtbot, window, a, b):
    canvas = window.canvas
    scene_point = canvas.view_box.mapViewToScene(QtCore.QPointF(a, b))
    widget_point = canvas.mapFromScene(scene_point)
    with qtbot.waitSignal(window.runs_changed, timeout=3000):
        qtbot.mouseClick(canvas.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_point)


def test_a_click_on_the_canvas_sets_the_start_of_every_run(qtbot, main_window):
    window = main_window
    settle(window)
    click_view_point(qtbot, window, 0.8, -0.6)
    tolerance = 0.05  # a click lands on a pixel
    for run_id, config in window.runset.configs.items():
        assert config.start == pytest.approx((0.8, -0.6), abs=tolerance)
        x, _, _ = window.runset.history(run_id)
        assert x[0] == pytest.approx(config.start, abs=1e-12)


def test_a_click_moves_only_the_selected_run_when_asked(qtbot, main_window):
    window = main_window
    settle(window)
    before = dict(window.runset.configs)
    chosen = list(before)[2]
    window.select_run(chosen)
    window.click_box.setCurrentIndex(1)
    click_view_point(qtbot, window, -0.5, 0.7)
    for run_id, config in window.runset.configs.items():
        if run_id == chosen:
            assert config.start == pytest.approx((-0.5, 0.7), abs=0.05)
        else:
            assert config.start == before[run_id].start


def test_editing_a_learning_rate_changes_that_run_and_no_other(qtbot, main_window, registry):
    window = main_window
    settle(window)
    ids = list(window.runset.configs)
    edited = ids[0]
    window.select_run(edited)
    form = window.runs_panel.hyper_form
    old_configs = dict(window.runset.configs)
    entry = form.fields["lr"].entry
    entry.setFocus()
    entry.setText("0.0123")
    with qtbot.waitSignal(window.runs_changed, timeout=3000):
        entry.editingFinished.emit()
    assert window.runset.configs[edited].hyper["lr"] == 0.0123
    for run_id in ids[1:]:
        assert window.runset.configs[run_id] == old_configs[run_id]
    window.play()
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 30, timeout=8000)
    settle(window)

    def reference(config, steps=30):
        return zoo.simulate(
            window.problem,
            config.optimizer,
            hyper=config.hyper,
            start=config.start,
            steps=steps,
            registry=registry,
            gtol=0,
        ).x

    new = window.runset.history(edited)[0][:31]
    np.testing.assert_array_equal(new, reference(window.runset.configs[edited]))
    assert not np.allclose(new, reference(old_configs[edited]))
    for run_id in ids[1:]:
        np.testing.assert_array_equal(
            window.runset.history(run_id)[0][:31], reference(old_configs[run_id])
        )


def reload_and_wait(qtbot, window):
    """Reload the local plugin folder, which imports on a worker thread, and wait for it."""
    window.reload_plugins()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=10000)


def test_a_broken_local_plugin_is_listed_while_the_app_works(
    qtbot, make_window, tmp_path, monkeypatch
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken_import.py").write_text("raise RuntimeError('this plugin is broken')\n")
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
    window = make_window(zoo.load_registry())
    messages = window.plugins_panel.failure_messages()
    assert any("this plugin is broken" in m for m in messages)
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 3, timeout=5000)

    (folder / "raising_hook.py").write_text(
        "from zoo import hookimpl\n\n"
        "@hookimpl\n"
        "def zoo_optimizers():\n"
        "    raise ValueError('no optimizers today')\n"
    )
    reload_button = next(
        b
        for b in window.plugins_panel.findChildren(QPushButton)
        if b.text() == "Reload local plugins"
    )
    qtbot.mouseClick(reload_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=10000)
    messages = window.plugins_panel.failure_messages()
    assert any("no optimizers today" in m for m in messages)
    assert any("this plugin is broken" in m for m in messages)
    window.play()
    start = steps_of(window)
    qtbot.waitUntil(lambda: all(s > start[r] for r, s in steps_of(window).items()), timeout=5000)


def sleepy_plugin(gate):
    """A plugin module whose optimizer blocks in every step until ``gate`` is set
    (gradient descent otherwise); ``gate.entered`` is set once a step is inside."""
    import types

    from zoo import OptimizerSpec, Param, hookimpl

    def init(problem, x, hyper):
        return {"t": np.zeros(len(x), dtype=np.int64)}

    def step(problem, x, state, hyper):
        gate.entered.set()
        gate.wait(30)
        return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}

    module = types.ModuleType("sleepy_plugin")

    @hookimpl
    def zoo_optimizers():
        return [
            OptimizerSpec(
                "sleepy", init, step, (Param("lr", 0.05, 1e-6, 1.0, log=True),), label="Sleepy GD"
            )
        ]

    module.zoo_optimizers = zoo_optimizers
    return module


def test_a_sleeping_plugin_slows_only_its_own_run(qtbot, make_window):
    import threading

    gate = threading.Event()
    gate.entered = threading.Event()
    registry = zoo.load_registry(local=False)
    registry.register(sleepy_plugin(gate), name="sleepy_plugin")
    window = make_window(registry)
    sleepy = window.add_run(zoo.RunConfig("sleepy", {"lr": 0.05}, label="sleepy"))
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    try:
        qtbot.waitUntil(gate.entered.is_set, timeout=10000)
        # The event loop keeps turning while the sleepy run is inside its step …
        qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=10000)

        # … and the other runs go on at their own pace.
        def others_moved() -> bool:
            return min(s for r, s in steps_of(window).items() if r != sleepy) > 5

        qtbot.waitUntil(others_moved, timeout=10000)
        assert window.runset.steps_taken(sleepy) == 0
        later = window.stepper.clock() + 10.0  # long past the time a job counts as slow
        window.stepper.clock = lambda: later
        window.stepper.submit(1, 10**9)
        window._update_status(window._last_status + 1.0)
        assert "slow" in window.status_text(sleepy)
    finally:
        timer.stop()
        gate.set()
    qtbot.waitUntil(lambda: window.runset.steps_taken(sleepy) >= 1, timeout=10000)


def test_a_run_that_raises_is_marked_failed_and_the_others_go_on(qtbot, make_window):
    import types

    from zoo import OptimizerSpec, hookimpl

    def init(problem, x, hyper):
        return {"t": np.zeros(len(x), dtype=np.int64)}

    def step(problem, x, state, hyper):
        raise RuntimeError("step exploded")

    module = types.ModuleType("exploding_plugin")
    module.zoo_optimizers = hookimpl(lambda: [OptimizerSpec("exploding", init, step)])
    registry = zoo.load_registry(local=False)
    registry.register(module, name="exploding_plugin")
    window = make_window(registry)
    bad = window.add_run(zoo.RunConfig("exploding", label="exploding"))
    qtbot.waitUntil(lambda: window.runset.status(bad).state == "failed", timeout=5000)
    start = steps_of(window)
    qtbot.waitUntil(
        lambda: all(s > start[r] for r, s in steps_of(window).items() if r != bad), timeout=5000
    )
    window._update_status(window._last_status + 1.0)
    assert "step exploded" in window.status_text(bad)


def test_save_then_load_replays_identical_trajectories(qtbot, make_window, registry, tmp_path):
    window = make_window(registry)
    settle(window)
    ids = list(window.runset.configs)
    window.set_run_hyper(ids[1], lr=0.031)
    window.sweep(ids[2], "lr", [0.01, 0.03])
    click_view_point(qtbot, window, 1.1, 0.4)
    path = tmp_path / "scene.json"
    window.save_scene_file(path)
    other = make_window(registry, autoplay=False)
    assert other.open_scene_file(path)
    settle(other)
    for win in (window, other):
        win.runset.reset()
        win.runset.step(60)
    assert list(other.runset.configs.values()) == list(window.runset.configs.values())
    for mine, theirs in zip(window.runset.configs, other.runset.configs, strict=True):
        np.testing.assert_array_equal(
            window.runset.trajectory(mine).x, other.runset.trajectory(theirs).x
        )
    # A fresh build of the file gives the same paths too.
    _, runset, fresh = load_scene(path, registry).build(registry)
    runset.step(60)
    for mine, theirs in zip(window.runset.configs, fresh, strict=True):
        np.testing.assert_array_equal(window.runset.trajectory(mine).x, runset.trajectory(theirs).x)


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            '{"format": "optimizer-zoo-scene", "version": 99, "model": {"name": "rosenbrock"}}',
            "newer",
        ),
        ('{"format": "optimizer-zoo-scene", "version": 1, "model": ', "not valid JSON"),
        (
            '{"format": "optimizer-zoo-scene", "version": 1, "model": {"name": "no_such_model"}}',
            "unknown model",
        ),
    ],
)
def test_a_bad_scene_file_is_refused_and_the_current_scene_stays(
    make_window, registry, tmp_path, text, reason
):
    window = make_window(registry, autoplay=False)
    before = (window.model_name, window.runset, dict(window.runset.configs))
    path = tmp_path / "bad.json"
    path.write_text(text)
    assert not window.open_scene_file(path)
    assert reason in window.last_message
    assert (window.model_name, window.runset, dict(window.runset.configs)) == before


def test_png_export_is_a_real_picture(qtbot, main_window, tmp_path):
    from PySide6.QtGui import QImage

    window = main_window
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 10, timeout=5000)
    path = tmp_path / "canvas.png"
    window.export_png(path)
    image = QImage(str(path))
    assert image.width() > 200 and image.height() > 200
    from zoo_gui.export import image_to_array

    pixels = image_to_array(image).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 200  # landscape shades, lines and runs


def test_gif_export_has_the_requested_frame_count(main_window, tmp_path):
    import imageio.v3 as iio

    window = main_window
    settle(window)
    before = {r: window.runset.steps_taken(r) for r in window.runset.configs}
    path = tmp_path / "runs.gif"
    assert window.export_animation(path, frames=9, steps_per_frame=2) == 9
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == 9
    assert frames.shape[1:3] == (window.canvas.height(), window.canvas.width())
    # The runs are back where they were.
    assert {r: window.runset.steps_taken(r) for r in window.runset.configs} == before


def test_csv_export_holds_every_step(main_window, tmp_path):
    import csv

    window = main_window
    settle(window)
    path = tmp_path / "runs.csv"
    window.export_csv(path)
    rows = list(csv.DictReader(path.open()))
    expected = sum(len(window.runset.history(r)[0]) for r in window.runset.configs)
    assert len(rows) == expected
    run_id = next(iter(window.runset.configs))
    x = window.runset.history(run_id)[0]
    label = rows[0]["run"]
    mine = [r for r in rows if r["run"] == label]
    assert [float(mine[-1]["x0"]), float(mine[-1]["x1"])] == x[-1].tolist()


def test_a_formula_the_parser_refuses_is_shown_under_the_box(qtbot, main_window, settled):
    window = main_window
    assert settled(window, window.set_model("expression", {}))
    form = window.model_panel.form
    box = form.fields["formula"]
    box.setText("x**2 + (y")
    box.editingFinished.emit()
    error = form.errors["formula"]
    assert (not error.isHidden() and "formula" in error.text().lower()) or error.text()
    assert window.model_name == "expression"
    box.setText("x**2 + 3*y**2")
    box.editingFinished.emit()  # compiled in the background, then built
    qtbot.waitUntil(lambda: window.settings["formula"] == "x**2 + 3*y**2", timeout=30000)
    assert error.isHidden()


def test_one_weight_models_are_drawn_as_a_loss_curve(qtbot, main_window):
    window = main_window
    if "quadratic_1d" not in window.registry.models:
        pytest.skip("no one-weight model registered")
    assert window.set_model("quadratic_1d", {})
    assert window.canvas.one_dimensional
    window.play()
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 3, timeout=5000)
    settle(window)
    window.frame()
    assert window.canvas.loss_curve.xData is not None
    # The iterates sit on the curve: each head is (x, E(x)).
    for run_id in window.runset.configs:
        x, loss, _ = window.runset.history(run_id)
        head = window.drawing.frame(window.runset).head_of(run_id)
        np.testing.assert_allclose(head, [x[-1, 0], loss[-1]])
        assert loss[-1] == pytest.approx(float(window.problem.loss(x[-1:])[0]))


def test_only_compatible_optimizers_are_offered(main_window):
    from zoo.problem import missing_needs

    window = main_window
    box = window.runs_panel.optimizer_box
    offered = {box.itemData(i) for i in range(box.count())}
    registry = window.registry
    expected = {
        name
        for name, spec in registry.optimizers.items()
        if not missing_needs(spec.needs, window.problem)
    }
    assert offered == expected
    assert len(offered) < len(registry.optimizers) or all(
        not missing_needs(s.needs, window.problem) for s in registry.optimizers.values()
    )


def test_closing_the_window_stops_all_work(qtbot, make_window, registry):
    window = make_window(registry)
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 2, timeout=5000)
    window.close()
    assert not window.timer.isActive()
    assert window.stepper.idle(timeout=5.0)
    frozen = steps_of(window)
    qtbot.wait(100)
    assert steps_of(window) == frozen


def test_a_model_with_many_weights_is_drawn_on_a_plane(qtbot, main_window):
    window = main_window
    if "mlp" not in window.registry.models:
        pytest.skip("no multi-weight model registered")
    assert window.set_model("mlp", {})
    assert window.problem.dim > 2 and not window.model_panel.plane_box.isHidden()
    window.play()
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 20, timeout=8000)
    settle(window)
    window.set_plane("pca")
    assert window.model_panel.plane_box.currentData() == "pca"
    plane = window.view_plane
    run_id = next(iter(window.runset.configs))
    x = window.runset.history(run_id)[0]
    # The drawn head is the projection of the run's weights onto the chosen plane.
    window.frame()
    head = window.drawing.frame(window.runset).head_of(run_id)
    basis = np.stack([plane.u, plane.v], axis=1)
    expected, *_ = np.linalg.lstsq(basis, x[-1] - plane.origin, rcond=None)
    np.testing.assert_allclose(head, expected, atol=1e-9)


def test_a_sweep_adds_runs_over_a_log_range(main_window):
    window = main_window
    settle(window)
    base = next(iter(window.runset.configs))
    before = len(window.runset.configs)
    ids = window.sweep(base, "lr", [0.001, 0.01, 0.1])
    assert len(window.runset.configs) == before + 3
    assert [window.runset.configs[i].hyper["lr"] for i in ids] == [0.001, 0.01, 0.1]
    assert len({window.runset.configs[i].color for i in ids}) == 3


def test_hiding_a_run_takes_it_off_the_canvas_without_restarting_it(qtbot, main_window):
    window = main_window
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 5, timeout=5000)
    settle(window)
    run_id = next(iter(window.runset.configs))
    steps = window.runset.steps_taken(run_id)
    table = window.runs_panel.table_model
    row = table.row_of(run_id)
    table.setData(
        table.index(row, 0), QtCore.Qt.CheckState.Unchecked.value, QtCore.Qt.CheckStateRole
    )
    assert not window.runset.configs[run_id].visible
    assert window.runset.steps_taken(run_id) == steps
    window.frame()
    assert window.canvas.trails.colour_count() == 3
    assert window.canvas.heads.count() == 3


def test_single_step_and_reset(qtbot, main_window):
    window = main_window
    settle(window)
    before = steps_of(window)
    window.step_once()
    qtbot.waitUntil(
        lambda: all(s == before[r] + 1 for r, s in steps_of(window).items()), timeout=3000
    )
    window.reset_runs()
    assert set(steps_of(window).values()) == {0}


def test_the_lab_and_experiment_actions_never_crash_the_window(qtbot, main_window):
    from zoo_gui.lab import LabDock

    window = main_window
    window.show_lab()
    lab = window.findChild(LabDock)
    assert lab is not None and lab.isVisible(), window.statusBar().currentMessage()
    window.show_experiment("no_such_experiment")
    message = window.statusBar().currentMessage()
    assert message.startswith("Experiment no_such_experiment is not available: ")
    assert "unknown experiment" in message
    assert window.isVisible()
    start = steps_of(window)
    qtbot.waitUntil(lambda: all(s > start[r] for r, s in steps_of(window).items()), timeout=5000)


def test_dragging_the_start_marker_previews_the_paths_then_moves_the_runs(
    qtbot, main_window, registry, monkeypatch
):
    window = main_window
    monkeypatch.setattr("zoo_gui.start_points.PREVIEW_BUDGET", 3600.0)  # every preview step
    settle(window)
    marker = window.canvas.start_marker
    marker.setPos(0.9, 0.9)  # what a drag does, step by step
    first = window.runset.configs[next(iter(window.runset.configs))]
    colours = {c.color for c in window.runset.configs.values()}
    assert len(colours) == 4  # each run's preview in the run's own colour
    for colour in colours:
        assert len(window.canvas.preview_points(colour)) > 50
    xs, ys = window.canvas.preview_points(first.color).T
    expected = zoo.simulate(
        window.problem,
        first.optimizer,
        hyper=first.hyper,
        start=(0.9, 0.9),
        steps=5,
        registry=registry,
        gtol=0,
    ).x
    np.testing.assert_allclose(np.stack([xs[:6], ys[:6]], axis=1), expected)
    with qtbot.waitSignal(window.runs_changed, timeout=3000):
        marker.sigPositionChangeFinished.emit(marker)
    assert all(c.start == (0.9, 0.9) for c in window.runset.configs.values())
    assert all(len(window.canvas.preview_points(colour)) == 0 for colour in colours)


def test_the_app_opens_and_steps_without_the_first_order_plugin(qtbot, make_window, monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "first_order")
    registry = zoo.load_registry(local=False)
    assert "sgd" not in registry.optimizers
    window = make_window(registry)
    assert len(window.runset.configs) == 4
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 3, timeout=5000)
    # Every toolbar action and the run actions work with what is registered.
    for action in (
        window.play_action,
        window.step_action,
        window.reset_action,
        window.arrows_action,
        window.fit_action,
    ):
        action.trigger()
    assert set(steps_of(window).values()) == {0}
    window.add_default_run()
    window.duplicate_selected()
    window.remove_selected()
    assert len(window.runset.configs) == 5
    assert window.last_message == ""
    window.play()
    start = steps_of(window)
    qtbot.waitUntil(lambda: all(s > start[r] for r, s in steps_of(window).items()), timeout=5000)


def test_clicks_made_during_a_long_sweep_never_reach_the_canvas(qtbot, main_window, monkeypatch):
    from PySide6 import QtGui, QtWidgets

    window = main_window
    settle(window)
    starts = {r: c.start for r, c in window.runset.configs.items()}
    add_many = window.runset.add_many
    viewport = window.canvas.viewport()

    def slow_add_many(configs):
        # The user clicks on the canvas while the runs are being set up.
        point = QtCore.QPointF(viewport.width() / 3, viewport.height() / 3)
        for kind in (QtCore.QEvent.Type.MouseButtonPress, QtCore.QEvent.Type.MouseButtonRelease):
            event = QtGui.QMouseEvent(
                kind,
                point,
                viewport.mapToGlobal(point),
                QtCore.Qt.MouseButton.LeftButton,
                QtCore.Qt.MouseButton.LeftButton,
                QtCore.Qt.KeyboardModifier.NoModifier,
            )
            QtWidgets.QApplication.postEvent(viewport, event)
        return add_many(configs)

    monkeypatch.setattr(window.runset, "add_many", slow_add_many)
    base = next(iter(starts))
    ids = window.sweep(base, "lr", [0.01, 0.02, 0.03])
    qtbot.wait(50)
    assert len(ids) == 3
    assert {r: window.runset.configs[r].start for r in starts} == starts


def many_runs_scene(registry, count):
    from zoo.session import Scene
    from zoo.workspace import default_scene

    base = default_scene(registry)
    runs = [
        zoo.RunConfig("adam", {"lr": float(lr)}, start=(-1.6, 1.2), color="#ff7f0e")
        for lr in np.geomspace(0.001, 0.3, count)
    ]
    return Scene(model=base.model, settings=base.settings, runs=runs)


def test_a_scene_of_256_runs_keeps_the_table_and_canvas_responsive(qtbot, make_window, registry):
    window = make_window(registry, many_runs_scene(registry, 256))
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    try:
        first = next(iter(window.runset.configs))
        with qtbot.waitSignal(window.runs_changed, timeout=10000):
            window.sweep(first, "lr", list(np.geomspace(0.001, 0.1, 256)))
        assert len(window.runset.configs) == 512
        qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 3, timeout=20000)
        qtbot.waitUntil(lambda: "512 runs: " in window._legend_summary, timeout=5000)
    finally:
        timer.stop()
    assert ticks  # the event loop kept turning
    assert window.runs_panel.table_model.rowCount() == 512
    assert "running" in window._legend_summary
    assert window.canvas.trails.segment_count() > 0


def test_the_runs_table_signals_only_the_cells_that_changed(qtbot, main_window):
    window = main_window
    settle(window)
    table = window.runs_panel.table_model
    ids = list(window.runset.configs)
    table.set_status({r: (f"step {i}", "running", "1") for i, r in enumerate(ids)})
    changes = []
    table.dataChanged.connect(
        lambda a, b: changes.append((a.row(), b.row(), a.column(), b.column()))
    )
    table.set_status({r: (f"step {i}", "running", "1") for i, r in enumerate(ids)})
    assert changes == []
    table.set_status({ids[2]: ("diverged at step 4", "diverged", "")})
    assert changes == [(2, 2, 2, 3)]
    widths = [window.runs_panel.table.columnWidth(c) for c in range(4)]
    table.set_status({ids[1]: ("failed: " + "a very long message " * 20, "failed", "")})
    assert [window.runs_panel.table.columnWidth(c) for c in range(4)] == widths
    row = table.row_of(ids[1])
    assert "very long" in table.data(table.index(row, 2), QtCore.Qt.ToolTipRole)


def test_the_runs_table_sorts_by_loss_and_by_status(qtbot, main_window):
    window = main_window
    settle(window)
    table = window.runs_panel.table_model
    a, b, c, d = list(window.runset.configs)
    table.set_status(
        {
            a: ("step 9", "running", "0.5"),
            b: ("diverged at step 3", "diverged", ""),
            c: ("step 9", "running", "0.01"),
            d: ("converged at step 7", "converged", "1e-12"),
        }
    )
    table.sort(3, QtCore.Qt.SortOrder.AscendingOrder)
    assert table.run_ids == [d, c, a, b]
    table.sort(2, QtCore.Qt.SortOrder.AscendingOrder)
    assert table.run_ids == [c, a, d, b]  # running, converged, diverged; ties keep their order
    # Selecting a row after sorting selects that run.
    window.runs_panel.table.selectRow(1)
    assert window.selected_run() == a


def test_single_key_shortcuts_never_type_into_a_number_box(qtbot, main_window):
    window = main_window
    settle(window)
    window.activateWindow()
    window.step_once()
    qtbot.waitUntil(lambda: min(steps_of(window).values()) == 1, timeout=3000)
    entry = window.runs_panel.hyper_form.fields["lr"].entry
    entry.setFocus()
    before = entry.text()
    qtbot.keyClick(entry, "r")
    assert entry.text() == before
    qtbot.waitUntil(lambda: set(steps_of(window).values()) == {0}, timeout=3000)  # reset
    qtbot.keyClick(entry, "5")
    assert entry.text() == before + "5"
    label = window.runs_panel.label_edit
    label.setFocus()
    qtbot.keyClicks(label, "run r")
    assert label.text().endswith("run r")


def test_the_layout_and_scenes_are_remembered_between_sessions(
    qtbot, make_window, registry, tmp_path, settings_folder
):
    from zoo_gui.layout import available

    window = make_window(registry, autoplay=False)
    room = available(window)
    size = (min(1200, room.width()) - 40, min(800, room.height()) - 30)
    window.resize(*size)
    window.side.hide()
    path = tmp_path / "kept.json"
    window.save_scene_file(path)
    window.close()
    assert any(settings_folder.rglob("*.ini"))
    again = make_window(registry, autoplay=False)
    again.restore_layout()
    assert (again.width(), again.height()) == size
    assert again.side.isHidden()
    assert again.last_scene() == path.resolve()
    assert again.recent_scenes() == [str(path.resolve())]
    again.reset_layout()
    assert not again.side.isHidden()
    assert again.side.toggleViewAction().isEnabled()


def test_docks_fit_a_small_screen(qtbot, make_window, registry):
    from zoo_gui.layout import available

    window = make_window(registry, autoplay=False)
    room = available(window)
    window.resize(min(1024, room.width()), min(700, room.height()))
    assert window.open_lesson("four_regimes", lab=True)
    window.show_experiment("deep_linear")
    qtbot.wait(50)
    assert window.height() <= room.height()
    assert window.frameGeometry().height() <= room.height() + 40
    assert window.statusBar().geometry().bottom() <= window.height()
    assert window.minimumSizeHint().height() <= room.height()


def test_the_maps_and_sensitivity_docks_keep_the_window_size_and_half_for_the_canvas(
    qtbot, make_window, registry
):
    from zoo_gui.layout import available

    window = make_window(registry, autoplay=False)
    room = available(window)
    window.resize(min(1024, room.width()), min(700, room.height()))
    qtbot.wait(50)
    size = window.size()
    tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
    for text in ("&Maps…", "&Sensitivity…"):
        next(a for a in tools.actions() if a.text() == text).trigger()
        qtbot.wait(50)
        assert window.size() == size
        assert window.canvas.width() >= window.width() // 2


def test_a_lesson_from_the_menu_opens_the_lab_with_it(qtbot, main_window):
    window = main_window
    lessons = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Lessons")
    lessons.actions()[0].trigger()
    lab = window._lab_dock()
    assert lab is not None and lab.isVisible()
    assert window.lesson is not None and not window.lesson_dock.isHidden()


def test_help_lists_the_shortcuts_and_about_says_version_licence_and_plugin_folder(main_window):
    from zoo.registry import local_plugin_dirs
    from zoo_gui.help import about_text, shortcut_rows

    rows = dict(shortcut_rows(main_window))
    assert rows["Space"] == "Play or pause" and rows["Ctrl+O"] == "Open scene…"
    assert rows["R"] == "Send every run back to its start"
    text = about_text()
    assert zoo.__version__ in text and "MIT" in text
    assert str(local_plugin_dirs()[0]) in text


def test_the_first_run_hint_stays_dismissed(qtbot, make_window, registry):
    window = make_window(registry, autoplay=False)
    assert window.hint.isVisible()
    button = window.hint.findChild(QtWidgets.QToolButton)
    qtbot.mouseClick(button, QtCore.Qt.MouseButton.LeftButton)
    assert not window.hint.isVisible()
    assert not make_window(registry, autoplay=False).hint.isVisible()


def test_a_model_whose_build_raises_is_reported_under_the_chooser(qtbot, make_window):
    import types

    from zoo import ModelSpec, hookimpl

    def build(values, context):
        raise RuntimeError("the build broke")

    module = types.ModuleType("breaking_model")
    module.zoo_models = hookimpl(lambda: [ModelSpec("breaking", build, label="Breaking")])
    registry = zoo.load_registry(local=False)
    registry.register(module, name="breaking_model")
    window = make_window(registry, autoplay=False)
    panel = window.model_panel
    box = panel.model_box
    box.setCurrentIndex(box.findData("breaking"))
    box.activated.emit(box.currentIndex())
    assert "the build broke" in panel.message.text()
    assert box.currentData() == "quadratic" == window.model_name


def test_the_trail_setting_is_in_the_view_menu_and_in_scenes(
    qtbot, make_window, registry, tmp_path
):
    window = make_window(registry, autoplay=False)
    assert window.trail_actions[None].isChecked()
    window.trail_actions[100].trigger()
    assert window.workspace.trail == 100 and window.drawing.trail_steps == 100
    assert window.trail_actions[100].isChecked() and not window.trail_actions[None].isChecked()
    path = tmp_path / "trail.json"
    window.save_scene_file(path)
    other = make_window(registry, autoplay=False)
    assert other.open_scene_file(path)
    assert other.workspace.trail == 100 and other.trail_actions[100].isChecked()


def test_a_run_made_unstable_by_a_model_change_says_so_in_its_row(qtbot, main_window):
    window = main_window
    assert window.set_model("rosenbrock")
    table = window.runs_panel.table_model
    gd = next(r for r, c in window.runset.configs.items() if c.optimizer == "sgd")
    label = table.data(table.index(table.row_of(gd), 1), QtCore.Qt.ItemDataRole.DisplayRole)
    tip = table.data(table.index(table.row_of(gd), 1), QtCore.Qt.ItemDataRole.ToolTipRole)
    assert label.startswith("⚠ ") and "2/λ_max" in tip
    others = [r for r in window.runset.configs if r != gd]
    assert not any(table.warning(r) for r in others)


def test_the_landscape_covers_the_whole_visible_view_after_lessons(qtbot, main_window):
    window = main_window
    for name in ("01_four_regimes", "02_condition_number"):
        assert window.open_lesson(name)

    def covered():
        grid = window.canvas.grid
        (x0, x1), (y0, y1) = window.canvas.current_view()
        (gx0, gx1), (gy0, gy1) = grid.view
        return gx0 <= x0 and x1 <= gx1 and gy0 <= y0 and y1 <= gy1

    qtbot.waitUntil(covered, timeout=5000)  # no dark bands beside a locked aspect


def test_a_value_s_tooltip_says_what_it_does_in_its_optimizer_s_rule(main_window):
    window = main_window
    sgd = next(r for r, c in window.runset.configs.items() if c.optimizer == "sgd")
    window.select_run(sgd)
    field = window.runs_panel.hyper_form.fields["dampening"]
    tip = field.toolTip()
    assert tip.startswith("dampening: dampening τ (default 0; from 0 to 1)")
    assert "(1 − τ)g" in tip  # the rule the symbol takes part in


LOCAL_MODEL = """
import numpy as np
from zoo import ModelSpec, Problem, hookimpl

SCALE = {scale}


class Bowl(Problem):
    dim = 2
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.array([1.5, 1.0])
    minima = np.zeros((1, 2))

    def loss(self, x):
        return SCALE * 0.5 * (x**2).sum(axis=1)

    def grad(self, x):
        return SCALE * x

    def hess(self, x):
        return SCALE * np.broadcast_to(np.eye(2), (len(x), 2, 2)).copy()


@hookimpl
def zoo_models():
    return [ModelSpec("local_bowl", lambda settings, ctx: Bowl())]
"""

LOCAL_OPTIMIZER = """
from zoo import OptimizerSpec, Param, hookimpl


def init(problem, x, hyper):
    return {{}}


def step(problem, x, state, hyper):
    return x - {step} * hyper["lr"] * problem.grad(x), {{}}


@hookimpl
def zoo_optimizers():
    return [OptimizerSpec("local_gd", init, step, (Param("lr", 0.01, 1e-6, 1.0, log=True),))]
"""


def test_reloading_restarts_only_runs_of_changed_records_and_redraws_a_changed_model(
    qtbot, make_window, tmp_path, monkeypatch
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "local_bowl.py").write_text(LOCAL_MODEL.format(scale=1.0))
    (folder / "local_gd.py").write_text(LOCAL_OPTIMIZER.format(step=1.0))
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
    window = make_window(zoo.load_registry(), autoplay=False)
    assert window.set_model("local_bowl")
    local = window.add_run(zoo.RunConfig("local_gd", {"lr": 0.01}))
    others = [r for r in window.runset.configs if r != local]
    window.runset.step(20)
    reload_and_wait(qtbot, window)  # nothing changed: every run goes on where it is
    assert {window.runset.steps_taken(r) for r in window.runset.configs} == {20}

    (folder / "local_gd.py").write_text(LOCAL_OPTIMIZER.format(step=0.5))
    reload_and_wait(qtbot, window)  # the optimizer changed: its run starts again, alone
    assert all(window.runset.steps_taken(r) == 20 for r in others)
    (restarted,) = [r for r in window.runset.configs if r not in others]
    assert window.runset.configs[restarted].optimizer == "local_gd"
    assert window.runset.steps_taken(restarted) == 0
    window.runset.step(1)
    x, _, _ = window.runset.history(restarted)
    np.testing.assert_allclose(x[1], x[0] * (1 - 0.5 * 0.01))  # with the new code

    before = window.canvas.grid.loss.max()
    (folder / "local_bowl.py").write_text(LOCAL_MODEL.format(scale=100.0))
    reload_and_wait(qtbot, window)  # the model changed: a new landscape, every run again
    assert {window.runset.steps_taken(r) for r in window.runset.configs} == {0}
    qtbot.waitUntil(
        lambda: abs(window.canvas.grid.loss.max() / before - 100.0) < 1e-6, timeout=5000
    )


def test_a_file_added_to_the_plugin_folder_is_picked_up_by_itself(
    qtbot, make_window, tmp_path, monkeypatch
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
    window = make_window(zoo.load_registry())
    window.select_run(next(iter(window.runset.configs)))
    (folder / "local_gd.py").write_text(LOCAL_OPTIMIZER.format(step=1.0))
    qtbot.waitUntil(lambda: "local_gd" in window.registry.optimizers, timeout=10000)
    box = window.runs_panel.optimizer_box
    qtbot.waitUntil(lambda: box.findData("local_gd") >= 0, timeout=3000)


def test_a_save_that_fails_keeps_the_old_file_and_says_so_in_the_window(
    main_window, tmp_path, monkeypatch
):
    window = main_window
    path = tmp_path / "scene.json"
    window.save_scene_file(path)
    old = path.read_bytes()
    run_id = next(iter(window.runset.configs))
    window.edit_run(run_id, label="half a pair \ud800")  # shown fine, cannot be encoded
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "Scenes (*.json)")
    )
    window.save_scene_dialog()
    assert path.read_bytes() == old
    assert window.last_message.startswith(f"Could not write {path}")
    assert window.statusBar().currentMessage() == window.last_message
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]  # no temporary left


def test_dragging_a_value_s_slider_previews_the_run_then_commits_on_release(
    main_window, registry, monkeypatch
):
    window = main_window
    monkeypatch.setattr("zoo_gui.start_points.PREVIEW_BUDGET", 3600.0)  # every preview step
    settle(window)
    sgd = next(r for r, c in window.runset.configs.items() if c.optimizer == "sgd")
    window.select_run(sgd)
    config = window.runset.configs[sgd]
    slider = window.runs_panel.hyper_form.fields["lr"].slider
    slider.setSliderDown(True)  # what pressing the handle does
    slider.setValue(slider.value() - 40)
    dragged = window.runs_panel.hyper_form.fields["lr"].value()
    assert window.runset.configs[sgd].hyper["lr"] == config.hyper["lr"]  # not yet committed
    points = window.canvas.preview_points(config.color)
    expected = zoo.simulate(
        window.problem,
        "sgd",
        hyper={**config.hyper, "lr": dragged},
        start=window.runset.start_of(config),
        steps=5,
        registry=registry,
        gtol=0,
    ).x
    np.testing.assert_allclose(points[:6], expected)
    slider.setSliderDown(False)  # let go
    assert window.runset.configs[sgd].hyper["lr"] == dragged
    assert len(window.canvas.preview_points(config.color)) == 0


def test_plain_gradient_descent_gets_no_momentum_arrow(qtbot, main_window):
    window = main_window
    qtbot.waitUntil(lambda: min(steps_of(window).values()) >= 3, timeout=5000)
    settle(window)
    window.arrows_action.setChecked(True)
    shown = {}
    for run_id, config in window.runset.configs.items():
        if config.optimizer in ("sgd", "momentum"):
            window.select_run(run_id)
            window.force_redraw()
            window.frame()
            shown[config.optimizer] = window.canvas.arrow_heads["momentum"].isVisible()
            assert window.canvas.arrow_heads["gradient"].isVisible()
    assert shown == {"sgd": False, "momentum": True}


def test_the_animation_dialog_sets_frames_size_and_the_plots(main_window, tmp_path, monkeypatch):
    import imageio.v3 as iio

    from zoo_gui.export_dialog import AnimationDialog

    window = main_window
    settle(window)
    path = tmp_path / "runs.gif"
    monkeypatch.setattr(
        QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), "GIF (*.gif)")
    )

    shown = []

    def answer(dialog):  # what a user types into the dialog before pressing OK
        shown.append((window.picture.height(), window.picture.width()))
        dialog.frames.setValue(5)
        dialog.steps.setValue(3)
        dialog.with_plots.setChecked(True)
        dialog.scale.setCurrentIndex(1)  # half the size shown
        return QtWidgets.QDialog.DialogCode.Accepted

    monkeypatch.setattr(AnimationDialog, "exec", answer)
    window.export_animation_dialog()
    frames = iio.imread(path, index=None)
    (height, width) = shown[0]  # the picture as the dialog saw it
    assert frames.shape[:3] == (5, round(height / 2), round(width / 2))
    assert height > window.canvas.height() + 100  # the plots are in the picture


def test_a_step_limit_past_the_bounds_is_reported_and_the_box_keeps_the_limit(main_window):
    window = main_window
    assert window.set_model("mlp", {})
    window.workspace.set_full_history(True)
    window.limit_box.setValue(10_000_000)
    assert window.last_message.startswith("step limit 10,000,000: ")
    assert window.limit_box.value() == window.workspace.step_limit != 10_000_000
