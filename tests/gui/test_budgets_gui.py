"""In the window, a step that never returns fails its run at the budget; it can be removed."""

from __future__ import annotations

import types

import numpy as np

import zoo
from zoo import OptimizerSpec, guard, hookimpl


def looping_plugin():
    def init(problem, x, hyper):
        return {"t": np.zeros(len(x), dtype=np.int64)}

    def step(problem, x, state, hyper):
        while True:
            pass

    module = types.ModuleType("looping_plugin")
    module.zoo_optimizers = hookimpl(lambda: [OptimizerSpec("looping", init, step)])
    return module


def test_a_looping_step_fails_its_run_in_the_window_and_the_run_can_be_removed(qtbot, make_window):
    registry = zoo.load_registry(local=False)
    registry.register(looping_plugin(), name="looping_plugin")
    with guard.budgets(step=0.5):
        window = make_window(registry)
        stuck = window.add_run(zoo.RunConfig("looping", label="looping"))
        qtbot.waitUntil(lambda: window.runset.status(stuck).state == "failed", timeout=20000)
        assert "did not return within 0.5 s" in window.runset.status(stuck).message
        others = [run_id for run_id in window.runset.configs if run_id != stuck]
        window.remove_run(stuck)
        assert sorted(window.runset.configs) == sorted(others)
        before = {r: window.runset.steps_taken(r) for r in others}
        qtbot.waitUntil(
            lambda: all(window.runset.steps_taken(r) > before[r] for r in others), timeout=10000
        )
