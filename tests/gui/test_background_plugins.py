"""The window opens on the built-ins while slower plugins import on a worker thread.

Each plugin here is a local file whose import waits until the test writes a release file,
so what the window does meanwhile is seen with the import truly blocked."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading

import pytest
from PySide6 import QtCore, QtWidgets

from zoo import RunConfig, load_registry
from zoo.registry import load_builtins, load_deferred
from zoo.session import Scene, save_scene
from zoo_gui.maps_dock import show_maps
from zoo_gui.plugin_loading import LOADING
from zoo_gui.sensitivity_dock import show_sensitivity

SLOW_PLUGIN = """
import time
from pathlib import Path

import numpy as np
from zoo import ActivationSpec, ModelSpec, OptimizerSpec, Param, Problem, hookimpl

Path({started!r}).touch()
deadline = time.monotonic() + {patience}
while not Path({release!r}).exists() and time.monotonic() < deadline:
    time.sleep(0.01)
{then}


class Bowl(Problem):
    dim = 2
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.array([1.5, 1.0])
    minima = np.zeros((1, 2))

    def loss(self, x):
        return 0.5 * (x**2).sum(axis=1)

    def grad(self, x):
        return x


def init(problem, x, hyper):
    return {{}}


def step(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {{}}


@hookimpl
def zoo_optimizers():
    return [OptimizerSpec("slow_gd", init, step, (Param("lr", 0.05, 1e-6, 1.0, log=True),))]


@hookimpl
def zoo_models():
    return [ModelSpec("slow_bowl", lambda settings, ctx: Bowl())]


@hookimpl
def zoo_activations():
    return [ActivationSpec("slow_act", np.tanh, lambda z: 1 - np.tanh(z) ** 2)]
"""


class SlowPlugin:
    """A local plugin file that blocks its import until ``release()``."""

    def __init__(self, folder, then="", patience=60):
        self.folder = folder / "plugins"
        self.folder.mkdir()
        self.started = folder / "started"
        self.release_file = folder / "release"
        text = SLOW_PLUGIN.format(
            started=str(self.started),
            release=str(self.release_file),
            then=then,
            patience=patience,
        )
        (self.folder / "slow.py").write_text(text)

    def release(self):
        self.release_file.touch()


@pytest.fixture
def slow(tmp_path, monkeypatch):
    plugin = SlowPlugin(tmp_path)
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(plugin.folder))
    yield plugin
    plugin.release()  # the import thread ends; what it brings to a closed window is dropped


@pytest.fixture
def blocked_window(qtbot, make_window, slow):
    """A window opened while the slow plugin's import is blocked inside it."""
    window = make_window(load_builtins(), load_later=load_deferred)
    qtbot.waitUntil(slow.started.exists, timeout=30000)
    return window


def ticking(qtbot):
    """A timer counting its ticks: it fires only while the UI thread answers."""
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=10000)
    timer.stop()
    return len(ticks)


def loading_threads():
    return [t for t in threading.enumerate() if t.name == "zoo-plugins"]


def names(window):
    """The records each chooser lists now."""
    maps = show_maps(window)
    sensitivity = show_sensitivity(window)
    model_form = window.model_panel.form
    return {
        "optimizer box": {
            window.runs_panel.optimizer_box.itemData(i)
            for i in range(window.runs_panel.optimizer_box.count())
        },
        "model box": {
            window.model_panel.model_box.itemData(i)
            for i in range(window.model_panel.model_box.count())
        },
        "maps dock": {maps.optimizer.itemText(i) for i in range(maps.optimizer.count())},
        "sensitivity dock": {
            sensitivity.optimizers.item(i).data(QtCore.Qt.ItemDataRole.UserRole)
            for i in range(sensitivity.optimizers.count())
        },
        "activation box": {
            model_form.fields["activation"].itemText(i)
            for i in range(model_form.fields["activation"].count())
        }
        if "activation" in model_form.fields
        else set(),
        "plugins tab": {
            top.child(i).text(0)
            for top in (
                window.plugins_panel.tree.topLevelItem(j)
                for j in range(window.plugins_panel.tree.topLevelItemCount())
            )
            for i in range(top.childCount())
        },
    }


def test_the_window_answers_while_an_import_is_blocked_and_every_chooser_gains_its_records(
    qtbot, blocked_window, slow
):
    window = blocked_window
    assert window.isVisible() and window.plugins_loading
    assert window.statusBar().currentMessage() == LOADING.format(name="slow")
    ticking(qtbot)
    runs = len(window.runset.configs)
    add = next(
        b for b in window.runs_panel.findChildren(QtWidgets.QPushButton) if b.text() == "Add"
    )
    qtbot.mouseClick(add, QtCore.Qt.MouseButton.LeftButton)
    assert len(window.runset.configs) == runs + 1
    assert window.set_model("tiny_net")  # a model with an activation to choose
    before = names(window)
    assert not any({"slow_gd", "slow_bowl", "slow_act"} & shown for shown in before.values())

    slow.release()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=30000)
    after = names(window)
    for chooser in ("optimizer box", "maps dock", "sensitivity dock"):
        assert "slow_gd" in after[chooser], chooser
    assert "slow_bowl" in after["model box"] and "slow_act" in after["activation box"]
    assert {"slow_gd", "slow_bowl", "slow_act"} <= after["plugins tab"]
    everything = load_registry()  # the same plugins, loaded all at once as the CLI does
    for kind in ("optimizer", "model", "activation", "schedule"):
        assert set(window.registry.records(kind)) == set(everything.records(kind))
    assert window.model_name == "tiny_net"  # the scene shown stays


def test_a_scene_naming_a_plugin_still_loading_opens_once_it_is_in(
    qtbot, blocked_window, slow, tmp_path
):
    window = blocked_window
    path = tmp_path / "scene.json"
    save_scene(Scene("slow_bowl", runs=[RunConfig("slow_gd", {"lr": 0.1})]), path)
    assert window.open_scene_file(path) is None  # waits: not refused as unknown
    assert "scene.json" in window.statusBar().currentMessage()
    ticking(qtbot)
    assert window.model_name != "slow_bowl"
    with qtbot.waitSignal(window.scene_loaded, timeout=30000):
        slow.release()
    assert window.model_name == "slow_bowl"
    assert [c.optimizer for c in window.runset.configs.values()] == ["slow_gd"]
    assert window.last_message == ""


def test_a_scene_naming_a_plugin_that_never_comes_is_refused_with_its_name(
    qtbot, blocked_window, slow, tmp_path
):
    window = blocked_window
    model = window.model_name
    path = tmp_path / "scene.json"
    save_scene(Scene("slow_bowl", runs=[RunConfig("missing_gd")]), path)
    assert window.open_scene_file(path) is None
    slow.release()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=30000)
    assert "Scene not opened" in window.last_message and "missing_gd" in window.last_message
    assert window.model_name == model


def test_a_later_change_of_model_wins_over_a_scene_waiting_for_plugins(
    qtbot, blocked_window, slow, tmp_path
):
    window = blocked_window
    path = tmp_path / "scene.json"
    save_scene(Scene("slow_bowl", runs=[RunConfig("slow_gd")]), path)
    assert window.open_scene_file(path) is None
    assert window.set_model("rosenbrock")
    slow.release()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=30000)
    assert window.model_name == "rosenbrock"


def test_a_failing_slow_plugin_lands_in_the_plugins_tab(qtbot, make_window, tmp_path, monkeypatch):
    slow = SlowPlugin(tmp_path, then="raise RuntimeError('the licence server is down')")
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(slow.folder))
    window = make_window(load_builtins(), load_later=load_deferred)
    qtbot.waitUntil(slow.started.exists, timeout=30000)
    assert window.plugins_panel.failure_messages() == []
    slow.release()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=30000)
    (message,) = window.plugins_panel.failure_messages()
    assert "the licence server is down" in message and "import failed" in message
    assert "slow_gd" not in window.registry.optimizers


def test_a_window_closed_while_an_import_is_blocked_ignores_what_arrives_later(
    qtbot, blocked_window, slow
):
    window = blocked_window
    window.close()
    assert window._closing
    builtins = set(window.registry.optimizers)
    slow.release()
    qtbot.waitUntil(lambda: not loading_threads(), timeout=30000)
    ticking(qtbot)  # the arrival, if any, has been delivered by now
    assert set(window.registry.optimizers) == builtins


CLOSE_WHILE_BLOCKED = """
import sys
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from zoo_gui import app

app.ensure_application()
started = Path(sys.argv[1])


def close_once_blocked():
    windows = [w for w in QtWidgets.QApplication.topLevelWidgets() if w.isVisible()]
    if started.exists() and windows:
        for window in windows:
            window.close()
    else:
        QtCore.QTimer.singleShot(20, close_once_blocked)


QtCore.QTimer.singleShot(0, close_once_blocked)
sys.exit(app.run_app())
"""


def test_the_app_quits_while_an_import_never_returns(tmp_path):
    slow = SlowPlugin(tmp_path, patience=600)  # far longer than the wait below
    env = dict(
        os.environ,
        ZOO_PLUGIN_PATH=str(slow.folder),
        QT_QPA_PLATFORM="offscreen",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        ZOO_PLUGIN_TIMEOUT="600",  # the import budget does not end the import either
    )
    script = tmp_path / "close.py"
    script.write_text(textwrap.dedent(CLOSE_WHILE_BLOCKED))
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(slow.started)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        slow.release()
    assert slow.started.exists()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


ANOTHER = """
from zoo import OptimizerSpec, Param, hookimpl


@hookimpl
def zoo_optimizers():
    return [OptimizerSpec(NAME, lambda p, x, h: {}, lambda p, x, s, h: (x - h["lr"] * p.grad(x), s),
                          (Param("lr", 0.01, 1e-6, 1.0, log=True),))]
"""


def test_a_reload_asked_for_while_loading_runs_once_the_plugins_are_in_and_the_folder_is_watched(
    qtbot, blocked_window, slow
):
    window = blocked_window
    (slow.folder / "late.py").write_text(ANOTHER.replace("NAME", "'late_gd'"))
    reload = next(
        b
        for b in window.plugins_panel.findChildren(QtWidgets.QPushButton)
        if b.text() == "Reload local plugins"
    )
    qtbot.mouseClick(reload, QtCore.Qt.MouseButton.LeftButton)
    assert "late_gd" not in window.registry.optimizers  # not while the first load runs
    slow.release()
    qtbot.waitUntil(lambda: "late_gd" in window.registry.optimizers, timeout=30000)
    assert "slow_gd" in window.registry.optimizers and not window.registry.failures
    (slow.folder / "later.py").write_text(ANOTHER.replace("NAME", "'later_gd'"))
    qtbot.waitUntil(lambda: "later_gd" in window.registry.optimizers, timeout=30000)
    assert not window.registry.failures


def test_a_reload_imports_on_a_worker_while_the_window_keeps_going(qtbot, make_window, slow):
    slow.release()  # quick at first: the window starts with the plugin in
    window = make_window(load_registry())
    assert "slow_gd" in window.registry.optimizers
    slow.release_file.unlink()
    slow.started.unlink()
    frames = []
    window.timer.timeout.connect(lambda: frames.append(1))
    window.reload_plugins()  # as the Plugins tab's button and the folder watcher do
    qtbot.waitUntil(slow.started.exists, timeout=30000)
    loading = LOADING.format(name="slow")
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == loading, timeout=10000)
    assert window.plugins_loading
    qtbot.waitUntil(lambda: len(frames) >= 5, timeout=10000)  # the UI timer keeps firing
    assert "slow_gd" in window.registry.optimizers  # the old records serve meanwhile
    slow.release()
    qtbot.waitUntil(lambda: not window.plugins_loading, timeout=30000)
    assert window.statusBar().currentMessage().startswith("Local plugins reloaded")
    assert "slow_gd" in window.registry.optimizers and not window.registry.failures
    assert window.registry.provenance("optimizer", "slow_gd").source == str(slow.folder / "slow.py")
