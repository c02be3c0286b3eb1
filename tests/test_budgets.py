"""Plugin code that never returns is interrupted at its budget; its run fails and goes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo import OptimizerSpec, RunConfig, RunSet, build_problem, guard, simulate
from zoo.guard import Origin, PluginFault, PluginTimeout
from zoo.registry import Registry

#: Budget injected in these tests; far below the default, far above a normal call.
BUDGET = 0.3


def spin(*_args, **_kwargs):
    while True:
        pass


def stubborn(*_args, **_kwargs):
    """Swallows every ordinary exception, so only a BaseException gets out."""
    while True:
        with contextlib.suppress(Exception):
            spin()


def init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def gd(problem, x, state, hyper):
    return x - 0.01 * problem.grad(x), {"t": state["t"] + 1}


@pytest.fixture
def looping(registry):
    extra = Registry()
    for kind in ("optimizer", "model", "schedule", "activation"):
        for record in registry.records(kind).values():
            extra.add(record, plugin="builtins")
    extra.add(OptimizerSpec("looping", init, spin), plugin="hangs", source="hangs 1.0")
    extra.add(OptimizerSpec("looping_init", spin, gd), plugin="hangs", source="hangs 1.0")
    extra.add(OptimizerSpec("plain", init, gd), plugin="hangs", source="hangs 1.0")
    return extra


@pytest.mark.parametrize("function", [spin, stubborn])
def test_a_call_past_its_budget_is_a_timeout_naming_the_record(function):
    origin = Origin("optimizer", "spinner", "hangs")
    with guard.budgets(step=BUDGET), pytest.raises(PluginTimeout) as caught:
        guard.call(origin, "step", function)
    assert str(caught.value) == (
        f"optimizer 'spinner' from plugin hangs failed to step: did not return within {BUDGET:g} s"
    )
    assert isinstance(caught.value, PluginFault)
    # The thread is usable afterwards: nothing is left pending for the next call.
    assert guard.call(origin, "step", lambda: 7) == 7
    assert sum(range(10**5)) == 4999950000


def test_a_call_within_its_budget_returns_and_is_never_interrupted_later():
    with guard.budgets(step=BUDGET):
        assert guard.call(Origin(), "step", lambda: 3) == 3
        # Long after the budget of that call, plain code runs on undisturbed.
        total = 0
        for i in range(3 * 10**6):
            total += i
    assert total == sum(range(3 * 10**6))


def test_a_call_nested_in_a_guarded_call_runs_under_the_outer_budget():
    def outer():
        return guard.call(Origin(), "loss", spin)

    with guard.budgets(step=BUDGET, loss=1000.0), pytest.raises(PluginTimeout) as caught:
        guard.call(Origin("optimizer", "o"), "step", outer)
    assert caught.value.stage == "step"


def test_a_looping_step_fails_its_simulated_run(looping):
    with guard.budgets(step=BUDGET):
        trajectory = simulate("rosenbrock", "looping", steps=5, registry=looping)
    assert trajectory.status.state == "failed"
    assert trajectory.status.message == f"did not return within {BUDGET:g} s"
    assert trajectory.steps == 0


def test_a_looping_batch_fails_at_once_the_others_go_on_and_it_can_be_removed(looping):
    runs = RunSet(_rosenbrock(looping), looping)
    stuck = [runs.add(RunConfig("looping", seed=seed)) for seed in range(3)]
    other = runs.add(RunConfig("plain"))
    with guard.budgets(step=BUDGET):
        runs.step(4)
    for run_id in stuck:
        assert runs.status(run_id).state == "failed"
        assert "did not return within" in runs.status(run_id).message
    assert runs.steps_taken(other) == 4
    for run_id in stuck:
        runs.remove(run_id)
    assert list(runs.configs) == [other]
    runs.step(1)
    assert runs.steps_taken(other) == 5


def test_a_looping_init_fails_its_runs_when_added(looping):
    runs = RunSet(_rosenbrock(looping), looping)
    with guard.budgets(init=BUDGET):
        first, second = runs.add_many([RunConfig("looping_init", seed=s) for s in (1, 2)])
    assert runs.status(first).state == runs.status(second).state == "failed"
    assert "did not return within" in runs.status(first).message


def _rosenbrock(registry):
    return build_problem("rosenbrock", registry=registry)


LOOPING_PLUGIN = textwrap.dedent(
    """
    from zoo import OptimizerSpec, hookimpl

    def init(problem, x, hyper):
        return {}

    def step(problem, x, state, hyper):
        while True:
            pass

    @hookimpl
    def zoo_optimizers():
        return [OptimizerSpec("looping", init, step)]
    """
)


def _zoo(tmp_path, *argv):
    (tmp_path / "looping.py").write_text(LOOPING_PLUGIN)
    env = {**os.environ, "ZOO_PLUGIN_PATH": str(tmp_path), guard.TIMEOUT_VARIABLE: "0.5"}
    return subprocess.run(
        [sys.executable, "-m", "zoo", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,  # far past the budget: only a hang gets here
        cwd=tmp_path,
    )


def test_zoo_run_reports_the_looping_run_failed_and_finishes_the_others(tmp_path):
    done = _zoo(tmp_path, "run", "rosenbrock", "looping", "sgd", "--steps", "5", "--json")
    assert "Traceback" not in done.stderr
    assert done.returncode == 0

    rows = {row["optimizer"]: row for row in json.loads(done.stdout)["results"]}
    assert rows["looping"]["status"] == "failed"
    assert "did not return within 0.5 s" in rows["looping"]["message"]
    assert rows["sgd"]["steps"] == 5


def test_zoo_check_reports_a_looping_step_as_failed_checks(tmp_path):
    done = _zoo(tmp_path, "check", str(tmp_path / "looping.py"))
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    hung = re.findall(
        r"FAIL  optimizer looping \[(\w+)\]: did not return within 0\.5 s", done.stdout
    )
    assert len(hung) == 1  # the first check that hangs; the rest are not run
    assert f"not run: the [{hung[0]}] check did not return within 0.5 s" in done.stdout


def swallow_all(*_args, **_kwargs):
    """Catches even the watchdog's interrupt, and goes on."""
    while True:
        try:  # noqa: SIM105 (the shape a plugin writes)
            spin()
        except BaseException:
            pass


def swallow_and_work(*_args, **_kwargs):
    while True:
        try:
            spin()
        except BaseException:
            np.ones(100).sum()


def swallow_twice(*_args, **_kwargs):
    """Two handlers nested in a loop: the inner one spins on, the outer one swallows."""
    while True:
        try:
            try:
                spin()
            except BaseException:
                spin()
        except BaseException:
            pass


def swallow_in_both_handlers(*_args, **_kwargs):
    while True:
        try:
            try:
                spin()
            except BaseException:
                spin()
        except BaseException:
            spin()


@pytest.mark.parametrize(
    "function", [swallow_all, swallow_and_work, swallow_twice, swallow_in_both_handlers]
)
def test_a_call_catching_base_exception_is_still_ended_as_a_timeout(function):
    origin = Origin("optimizer", "swallower", "hangs")
    with guard.budgets(step=BUDGET), pytest.raises(PluginTimeout) as caught:
        guard.call(origin, "step", function)
    assert str(caught.value) == (
        "optimizer 'swallower' from plugin hangs failed to step: "
        f"did not return within {BUDGET:g} s"
    )
    assert sys.gettrace() is _TRACE_BEFORE  # the thread's trace function is given back
    guard.call(origin, "step", sum, range(10))  # and the next call is not interrupted


_TRACE_BEFORE = sys.gettrace()


def test_a_batch_catching_base_exception_fails_and_the_others_go_on(looping):
    looping.add(OptimizerSpec("swallower", init, swallow_all), plugin="hangs")
    runs = RunSet(_rosenbrock(looping), looping)
    stuck = runs.add(RunConfig("swallower"))
    other = runs.add(RunConfig("plain"))
    with guard.budgets(step=BUDGET):
        runs.step(4)
    assert runs.status(stuck).state == "failed"
    assert "did not return within" in runs.status(stuck).message
    assert runs.steps_taken(other) == 4
    runs.remove(stuck)
    runs.step(1)
    assert runs.steps_taken(other) == 5
