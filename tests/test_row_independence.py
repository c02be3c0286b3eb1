"""A run is bitwise the same alone and batched with other runs, for every built-in pair."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import EngineError, RunConfig, RunSet, build_problem
from zoo.problem import Problem, missing_needs, row_matmul
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


def assert_alone_equals_batched(model, optimizer, batch_size=0):
    problem = build_problem(model, registry=REGISTRY)
    start = np.asarray(problem.start, dtype=float)
    rng = np.random.default_rng(7)
    configs = [
        RunConfig(
            optimizer,
            start=tuple(start + 0.1 * rng.standard_normal(start.shape)),
            seed=s,
            batch_size=batch_size,
        )
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


def _minibatch_pairs():
    for model, optimizer in _pairs():
        problem = build_problem(model, registry=REGISTRY)
        if "samples" in problem.provides and problem.n_samples > MINIBATCH:
            yield model, optimizer


MINIBATCH = 4
DATA_MODELS = sorted({model for model, _ in _minibatch_pairs()})


@pytest.mark.parametrize("model", DATA_MODELS)
def test_a_minibatch_run_is_bitwise_the_same_alone_and_batched(model):
    assert_alone_equals_batched(model, "sgd", batch_size=MINIBATCH)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "optimizer"), list(_minibatch_pairs()))
def test_every_built_in_pair_on_minibatches_is_bitwise_the_same_alone_and_batched(model, optimizer):
    assert_alone_equals_batched(model, optimizer, batch_size=MINIBATCH)


def test_each_run_draws_its_own_minibatches_from_its_seed():
    problem = build_problem("logistic", registry=REGISTRY)

    def paths(seeds):
        runs = RunSet(problem, REGISTRY, gtol=0)
        ids = runs.add_many(RunConfig("sgd", {"lr": 0.5}, seed=s, batch_size=4) for s in seeds)
        runs.step(40)
        return [runs.history(i)[0] for i in ids]

    three, five = paths([3, 5])
    assert np.abs(three - five).max() > 1e-3  # different seeds, different minibatches
    assert np.array_equal(paths([3])[0], three)
    assert np.array_equal(paths([5])[0], five)
    assert np.array_equal(paths([9, 5, 1])[1], five)  # and in any other company


def test_the_minibatch_of_a_run_is_its_own_whatever_the_batch():
    """Row b of a minibatch problem is the problem on run b's samples alone, and those
    samples are ``size`` distinct points of the data."""
    problem = build_problem("linear_neuron", {"n_points": 50}, registry=REGISTRY)
    seeds, steps = np.array([3, 5, 3]), np.array([0, 0, 1])
    part = problem.minibatch(seeds, steps, 6)
    assert part.n_samples == 6 and part.points.shape == (3, 6, 2)
    assert all(len({tuple(p) for p in points}) == 6 for points in part.points)
    x = np.random.default_rng(0).standard_normal((3, 2))
    for row in range(3):
        alone = problem.minibatch(seeds[row : row + 1], steps[row : row + 1], 6)
        assert np.array_equal(alone.loss(x[row : row + 1]), part.loss(x)[row : row + 1])
        assert np.array_equal(part.for_rows([row]).grad(x[row : row + 1]), part.grad(x)[[row]])
        # The minibatch loss is the full formula on those samples (an independent oracle).
        points, targets = part.points[row], part.targets[row]
        expected = 0.5 * np.mean((points @ x[row] - targets) ** 2)
        np.testing.assert_allclose(part.loss(x)[row], expected, rtol=1e-12)
    assert not np.array_equal(part.points[0], part.points[1])  # seeds 3 and 5 differ
    assert not np.array_equal(part.points[0], part.points[2])  # and so do steps 0 and 1


def test_row_matmul_does_not_depend_on_the_rows_around_a_row():
    rng = np.random.default_rng(0)
    x, matrix = rng.standard_normal((64, 37)), rng.standard_normal((37, 50))
    full = row_matmul(x, matrix)
    for rows in ([0], [5, 6, 7], list(range(1, 63))):
        assert np.array_equal(row_matmul(x[rows], matrix), full[rows])
    np.testing.assert_allclose(full, x @ matrix, rtol=1e-12, atol=1e-12)


class _NanGradientLeftOfZero(Problem):
    """Flat (gradient zero) above x1 = 1; below, a slope whose gradient is NaN left of x0 = 0."""

    def loss(self, x):
        return np.where(x[:, 1] >= 1, 0.0, x[:, 0])

    def grad(self, x):
        slope = np.where(x[:, :1] < 0, np.nan, [[1.0, 0.0]])
        return np.where(x[:, 1:] >= 1, 0.0, slope)


def test_a_converging_run_converges_beside_a_finite_run_with_a_nan_gradient():
    problem = _NanGradientLeftOfZero()
    configs = [RunConfig("sgd", start=(0.0, 2.0)), RunConfig("sgd", start=(0.0, 0.0))]
    alone = RunSet(problem, REGISTRY, gtol=1e-8)
    alone.add(configs[0])
    alone.step(3)
    batched = RunSet(problem, REGISTRY, gtol=1e-8)
    first, _ = batched.add_many(configs)
    batched.step(3)
    assert alone.status(0).state == batched.status(first).state
    assert alone.steps_taken(0) == batched.steps_taken(first)
