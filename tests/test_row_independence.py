"""A run is bitwise the same alone and batched with other runs, for every built-in pair."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import EngineError, RunConfig, RunSet, build_problem
from zoo.problem import missing_needs, row_matmul
from zoo.registry import load_registry

REGISTRY = load_registry(local=False)
STEPS = 12
REPRESENTATIVE = [
    ("logistic", "sgd"),
    ("logistic", "bfgs"),
    ("logistic", "newton"),
    ("linear_neuron", "gauss_newton"),
    ("linear_neuron", "adam"),
    ("perceptron_criterion", "perceptron"),
    ("deep_linear", "newton"),
    ("quadratic", "lbfgs"),
]


def _pairs():
    for model in sorted(REGISTRY.models):
        problem = build_problem(model, registry=REGISTRY)
        for name, optimizer in sorted(REGISTRY.optimizers.items()):
            if not missing_needs(optimizer.needs, problem):
                yield model, name


def _path(problem, configs, which):
    runs = RunSet(problem, REGISTRY)
    ids = runs.add_many(configs)
    runs.step(STEPS)
    return runs.trajectory(ids[which])


def assert_alone_equals_batched(model, optimizer):
    problem = build_problem(model, registry=REGISTRY)
    start = np.asarray(problem.start, dtype=float)
    rng = np.random.default_rng(7)
    configs = [
        RunConfig(optimizer, start=tuple(start + 0.1 * rng.standard_normal(start.shape)), seed=s)
        for s in range(4)
    ]
    try:
        alone = _path(problem, [configs[2]], 0)
    except EngineError:
        pytest.skip(f"{optimizer} refuses {model} at its defaults")
    batched = _path(problem, configs, 2)
    assert alone.status == batched.status
    assert np.array_equal(alone.x, batched.x, equal_nan=True), (
        f"{optimizer} on {model}: the run differs alone and batched by "
        f"{np.nanmax(np.abs(alone.x - batched.x)) if alone.x.shape == batched.x.shape else 'shape'}"
    )
    assert alone.evals == batched.evals


@pytest.mark.parametrize(("model", "optimizer"), REPRESENTATIVE)
def test_a_run_is_bitwise_the_same_alone_and_batched(model, optimizer):
    assert_alone_equals_batched(model, optimizer)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "optimizer"), list(_pairs()))
def test_every_built_in_pair_is_bitwise_the_same_alone_and_batched(model, optimizer):
    assert_alone_equals_batched(model, optimizer)


def test_row_matmul_does_not_depend_on_the_rows_around_a_row():
    rng = np.random.default_rng(0)
    x, matrix = rng.standard_normal((64, 37)), rng.standard_normal((37, 50))
    full = row_matmul(x, matrix)
    for rows in ([0], [5, 6, 7], list(range(1, 63))):
        assert np.array_equal(row_matmul(x[rows], matrix), full[rows])
    np.testing.assert_allclose(full, x @ matrix, rtol=1e-12, atol=1e-12)
