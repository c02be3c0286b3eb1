"""The Sensitivity dock sweeps η off the UI thread and races the tuned optimizers."""

from __future__ import annotations

import threading

import numpy as np
from PySide6 import QtCore

import zoo
from zoo import maps
from zoo.session import Scene
from zoo_gui.sensitivity_dock import show_sensitivity


def test_a_sweep_finds_each_optimizers_best_step_and_races_them(
    make_window, registry, qtbot, monkeypatch
):
    scene = Scene(
        model="quadratic",
        settings={"lambda1": 1.0, "lambda2": 10.0},
        runs=[zoo.RunConfig("sgd", {"lr": 0.05}), zoo.RunConfig("adam", {"lr": 0.05})],
    )
    window = make_window(registry, scene, autoplay=False)
    dock = show_sensitivity(window)
    assert sorted(dock.chosen()) == ["adam", "sgd"]  # the optimizers on the canvas
    dock.values.setValue(24)
    dock.starts.setValue(4)
    dock.steps.setValue(60)
    # The sweep waits in its worker until the UI thread's timer has fired while it is
    # busy: it can only finish if the window goes on meanwhile.
    ticked = threading.Event()
    real = maps.sensitivity

    def gated(*args, **kwargs):
        assert ticked.wait(30), "the UI timer did not fire while the sweep was computed"
        return real(*args, **kwargs)

    monkeypatch.setattr(maps, "sensitivity", gated)
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: dock.busy() and (ticks.append(1), ticked.set()))
    timer.start()
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        assert dock.compute()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=60_000)
    timer.stop()
    assert ticks  # the window went on while the runs were computed
    result = dock.result
    sgd = result.optimizers.index("sgd")
    # Gradient descent on λ_max = 10 is stable below η = 2/λ_max = 0.2; well past it,
    # the error grows by |1 − ηλ| ≥ 4 a step and every start diverges within the budget.
    assert np.all(result.diverged[sgd][result.lrs < 0.2] == 0.0)
    assert np.all(result.diverged[sgd][result.lrs >= 0.5] == 1.0)
    best = dict(zip(result.optimizers, result.best("gap"), strict=True))
    assert best["sgd"][0] < 0.2 and "best η" in dock.summary.text()
    # Each optimizer has the colour of its run on the canvas, in the chart and the race.
    canvas = {c.optimizer: c.color for c in window.runset.configs.values()}
    assert dock.colours(["sgd", "adam", "momentum"])[:2] == [canvas["sgd"], canvas["adam"]]
    assert dock.colours(["momentum"])[0] not in canvas.values()
    pens = {
        item.name(): item.opts["pen"].color().name()
        for item in dock.chart.getPlotItem().listDataItems()
        if item.name()
    }
    assert pens == {dock._label(n): canvas[n].lower() for n in ("sgd", "adam")}
    ids = dock.race()
    configs = [window.runset.configs[r] for r in ids]
    assert {c.optimizer: c.color for c in configs} == canvas
    assert sorted(c.optimizer for c in configs) == ["adam", "sgd"]
    assert {c.optimizer: c.hyper["lr"] for c in configs} == {n: b[0] for n, b in best.items()}
    assert len({c.start for c in configs}) == 1  # one start for a fair race
    assert set(window.runset.configs) == set(ids)  # the tuned runs replace the others
