"""A typed formula is compiled off the UI thread: the window answers while sympy works."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6 import QtCore

from zoo import expr
from zoo.session import FORMAT, VERSION
from zoo_gui.compiling import COMPILING


def test_a_typed_formula_compiles_in_the_background_while_a_timer_fires(
    qtbot, make_window, monkeypatch, settled
):
    window = make_window(autoplay=False)
    assert settled(window, window.set_model("expression", {}))
    release, entered = threading.Event(), threading.Event()
    real = expr.compile_formula
    threads = []

    def slow_compile(text, budget=None):
        if text.startswith("max("):
            threads.append(threading.current_thread())
            entered.set()
            release.wait(30)
        return real(text, budget)

    monkeypatch.setattr(expr, "compile_formula", slow_compile)
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    formula = "max(x, 2*y, x+y, 1-x, 1-y, x-y, 2*x, 3*y)"
    box = window.model_panel.form.fields["formula"]
    try:
        box.setText(formula)
        box.editingFinished.emit()
        qtbot.waitUntil(entered.is_set, timeout=10000)
        seen = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= seen + 5, timeout=10000)  # the UI turns
        assert window.settings["formula"] != formula  # not built until compiled
    finally:
        release.set()
        timer.stop()
    qtbot.waitUntil(lambda: window.settings["formula"] == formula, timeout=30000)
    assert threads and threads[0] is not threading.main_thread()


def test_an_edit_made_while_compiling_supersedes_the_earlier_one(qtbot, make_window, settled):
    window = make_window(autoplay=False)
    assert settled(window, window.set_model("expression", {}))
    box = window.model_panel.form.fields["formula"]
    box.setText("max(x, y, -x, -y) + 0.5*sin(3*x)")
    box.editingFinished.emit()
    box.setText("x**2 + 5*y**2")
    box.editingFinished.emit()
    qtbot.waitUntil(lambda: window.settings["formula"] == "x**2 + 5*y**2", timeout=30000)
    qtbot.wait(300)
    assert window.settings["formula"] == "x**2 + 5*y**2"


def _scene_file(tmp_path, formula, name="scene.json"):
    path = tmp_path / name
    path.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "model": {"name": "expression", "settings": {"formula": formula}},
                "runs": [{"optimizer": "sgd", "hyper": {"lr": 0.01}}],
            }
        )
    )
    return path


class SlowCompile:
    """``expr.compile_formula`` held back on its worker thread until released, for the
    formulas starting with ``prefix``."""

    def __init__(self, monkeypatch, prefix):
        self.release, self.entered = threading.Event(), threading.Event()
        self.threads = []
        real = expr.compile_formula

        def slow(text, budget=None):
            if text.startswith(prefix):
                self.threads.append(threading.current_thread())
                self.entered.set()
                self.release.wait(30)
            return real(text, budget)

        monkeypatch.setattr(expr, "compile_formula", slow)


def _ticking():
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    return timer, ticks


@pytest.mark.parametrize("path_taken", ["scene file", "model box", "set_model", "start-up"])
def test_every_way_to_a_formula_model_compiles_in_the_background(
    qtbot, make_window, monkeypatch, tmp_path, path_taken
):
    formula = {
        "scene file": "0.5*x**2 + 3.25*y**2",
        "model box": "x**2 + 10*y**2",  # the model's default
        "set_model": "0.5*x**2 + 3.5*y**2",
        "start-up": "0.5*x**2 + 3.75*y**2",
    }[path_taken]
    slow = SlowCompile(monkeypatch, formula)
    expr._COMPILED.pop(formula, None)  # compiled by an earlier test, it would not wait
    timer, ticks = _ticking()
    try:
        if path_taken == "start-up":
            from zoo.session import load_scene

            scene = load_scene(_scene_file(tmp_path, formula))
            window = make_window(scene=scene, autoplay=False)
            assert window.model_name != "expression"  # the default scene meanwhile
        else:
            window = make_window(autoplay=False)
        before = window.model_name
        if path_taken == "scene file":
            assert window.open_scene_file(_scene_file(tmp_path, formula)) is None
        elif path_taken == "model box":
            box = window.model_panel.model_box
            box.setCurrentIndex(box.findData("expression"))
            box.activated.emit(box.currentIndex())
        elif path_taken == "set_model":
            assert window.set_model("expression", {"formula": formula}) is None
        qtbot.waitUntil(slow.entered.is_set, timeout=10000)
        seen = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= seen + 5, timeout=10000)  # the UI turns
        assert window.model_name == before  # not built until compiled
        assert window.statusBar().currentMessage() == COMPILING
        assert window.model_panel.message.text() == COMPILING
    finally:
        slow.release.set()
        timer.stop()
    qtbot.waitUntil(lambda: window.model_name == "expression", timeout=30000)
    assert window.settings["formula"] == formula
    assert slow.threads and slow.threads[0] is not threading.main_thread()
    assert window.statusBar().currentMessage() != COMPILING


def test_a_model_chosen_while_a_scene_compiles_supersedes_the_scene(
    qtbot, make_window, monkeypatch, tmp_path
):
    formula = "x**2 + 4.75*y**2"
    slow = SlowCompile(monkeypatch, formula)
    expr._COMPILED.pop(formula, None)
    window = make_window(autoplay=False)
    assert window.open_scene_file(_scene_file(tmp_path, formula)) is None
    qtbot.waitUntil(slow.entered.is_set, timeout=10000)
    assert window.set_model("rosenbrock", {})
    with qtbot.waitSignal(window.gate._compiled, timeout=30000):
        slow.release.set()
    qtbot.wait(50)  # the compile's late delivery is processed and dropped
    assert window.model_name == "rosenbrock"
    assert not window.gate.pending


@pytest.mark.parametrize("formula", ["sqrt(-1) + x", "x**2 + (y", "x**2 + 1e999"])
def test_a_scene_whose_formula_is_refused_is_refused_and_nothing_is_lost(
    qtbot, make_window, tmp_path, formula, settled
):
    window = make_window(autoplay=False)
    scene_before = window.scene()
    runs_before = dict(window.runset.configs)
    result = settled(window, window.open_scene_file(_scene_file(tmp_path, formula)))
    assert result is False
    assert window.last_message.startswith("Scene not opened: ")
    assert "formula" in window.last_message
    assert window.scene() == scene_before
    assert dict(window.runset.configs) == runs_before
    assert str(tmp_path / "scene.json") not in window.recent_scenes()
