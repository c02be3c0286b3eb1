"""Every registered record passes the same conformance kit third-party plugins use."""

from __future__ import annotations

import pytest

from zoo import load_registry
from zoo.testing import (
    ReferenceProblem,
    check_activation,
    check_model,
    check_optimizer,
    check_schedule,
    parametrize_records,
)

REGISTRY = load_registry(local=False)


def test_built_ins_load_without_failures():
    assert REGISTRY.failures == []


@parametrize_records("optimizer", registry=REGISTRY)
def test_optimizer_conforms(record, registry):
    check_optimizer(record, registry)


@parametrize_records("model", registry=REGISTRY)
def test_model_conforms(record, registry):
    check_model(record, registry)


@parametrize_records("activation", registry=REGISTRY)
def test_activation_conforms(record, registry):
    check_activation(record)


@parametrize_records("schedule", registry=REGISTRY)
def test_schedule_conforms(record, registry):
    check_schedule(record)


def test_the_kit_catches_a_wrong_gradient():
    from zoo import ModelSpec, Problem

    class Wrong(Problem):
        def loss(self, x):
            return (x**2).sum(axis=1)

        def grad(self, x):
            return x  # should be 2x

    with pytest.raises(AssertionError, match="grad differs from central differences"):
        check_model(ModelSpec("wrong", lambda settings, ctx: Wrong()), REGISTRY)


def test_the_kit_catches_rows_that_leak_into_each_other():
    import numpy as np

    from zoo import OptimizerSpec, Param

    def step(problem, x, state, hyper):  # normalises by the batch's mean gradient: a leak
        g = problem.grad(x)
        return x - hyper["lr"] * g / np.abs(g).mean(), state

    spec = OptimizerSpec("leaky", lambda p, x, h: {}, step, params=(Param("lr", 0.1),))
    with pytest.raises(AssertionError, match="alone differs from the same run in a batch"):
        check_optimizer(spec, REGISTRY)


def test_the_reference_problem_is_itself_consistent():
    from zoo import ModelSpec

    check_model(ModelSpec("reference", lambda settings, ctx: ReferenceProblem()), REGISTRY)


def _gd_init(problem, x, hyper):
    import numpy as np

    return {"t": np.zeros(len(x), dtype=np.int64), "buf": np.zeros_like(x)}


def test_the_kit_catches_a_call_outside_the_declared_needs():
    from zoo import OptimizerSpec, Param

    def step(problem, x, state, hyper):  # a Newton-like step that never declared "hess"
        problem.hess(x)
        return x - hyper["lr"] * problem.grad(x), state

    spec = OptimizerSpec("sneaky", _gd_init, step, params=(Param("lr", 0.1),))
    with pytest.raises(
        AssertionError, match=r"uses problem\.hess without declaring it; add 'hess'"
    ):
        check_optimizer(spec, REGISTRY)


def test_the_kit_catches_a_declared_state_key_that_init_does_not_provide():
    from zoo import OptimizerSpec, Param

    def step(problem, x, state, hyper):
        return x - hyper["lr"] * problem.grad(x), state

    spec = OptimizerSpec(
        "misnamed", _gd_init, step, params=(Param("lr", 0.1),), momentum_key="velocity"
    )
    with pytest.raises(AssertionError, match="momentum_key 'velocity' must name a state array"):
        check_optimizer(spec, REGISTRY)
    silent = OptimizerSpec(
        "silent", _gd_init, step, params=(Param("lr", 0.1),), stop_reasons=("tolerance",)
    )
    with pytest.raises(AssertionError, match="stop_reasons needs a state array 'stop'"):
        check_optimizer(silent, REGISTRY)


def test_checking_the_file_of_an_installed_plugin_checks_that_plugin():
    from pathlib import Path

    from zoo.testing import check_plugin

    path = Path(__file__).resolve().parents[1] / "plugins" / "optimizers" / "first_order.py"
    report = check_plugin(str(path))
    assert report.plugin == "first_order"
    assert report.failures == []
    assert report.passed
