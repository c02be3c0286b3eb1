"""A big network opens without holding the window: its first landscape is computed in the
background while the canvas says so; newton on it is refused with the size."""

from __future__ import annotations

import threading

import pytest
from PySide6 import QtCore

from zoo import RunConfig, RunSet, build_problem

BIG = {"depth": 6, "width": 64, "n_points": 5000}


def test_a_slow_first_landscape_is_computed_off_the_ui_thread(qtbot, make_window, monkeypatch):
    import zoo_gui.window

    window = make_window(autoplay=False)
    release = threading.Event()
    threads = []
    real = window.workspace.grid

    def slow_grid(view, resolution):
        threads.append(threading.current_thread())
        release.wait(30)
        return real(view, resolution)

    monkeypatch.setattr(window.workspace, "grid", slow_grid)
    monkeypatch.setattr(zoo_gui.window, "_seconds_per_point", lambda problem: 1.0)  # "slow"
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    try:
        assert window.set_model("rosenbrock", {"a": 2.0})
        assert window.model_name == "rosenbrock"
        assert window.canvas.grid is None
        assert not window.canvas.busy_label.isHidden()
        seen = len(ticks)
        qtbot.waitUntil(lambda: len(ticks) >= seen + 5, timeout=10000)  # the UI turns
    finally:
        release.set()
        timer.stop()
    qtbot.waitUntil(lambda: window.canvas.grid is not None, timeout=30000)
    assert window.canvas.busy_label.isHidden()
    assert threads and all(t is not threading.main_thread() for t in threads)


def test_a_cheap_first_landscape_is_drawn_at_once(make_window):
    window = make_window(autoplay=False)
    assert window.set_model("rosenbrock", {"a": 2.0})
    assert window.canvas.grid is not None
    assert window.canvas.busy_label.isHidden()


@pytest.fixture(scope="module")
def big_mlp(registry):
    return build_problem("mlp", BIG, registry=registry)


def test_newton_on_the_big_mlp_is_refused_with_the_size(big_mlp, registry):
    assert big_mlp.dim == 21057
    runs = RunSet(big_mlp, registry)
    run = runs.add(RunConfig("newton"))
    status = runs.status(run)
    assert status.state == "failed"
    assert "newton needs a 21,057 × 21,057 Hessian, 3.3 GB" in status.message
