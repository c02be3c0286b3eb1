"""A few runs step in Python floats, many in numpy: the two paths give the same bits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import Problem, RunConfig, RunSet, build_problem
from zoo_plugins.optimizers import adaptive

#: Gradients of every kind an update meets: ordinary, tiny (subnormal products), huge,
#: zero, infinite and NaN.
ELEMENT = st.one_of(
    st.floats(-1e3, 1e3),
    st.floats(-1e-160, 1e-160),
    st.sampled_from([0.0, -0.0, 1e200, -1e300, np.inf, -np.inf, np.nan]),
)


class Given:
    """A problem whose gradient is fixed, counting its calls."""

    def __init__(self, grad: np.ndarray) -> None:
        self.value, self.calls = grad, 0

    def grad(self, x):
        self.calls += 1
        return self.value


def batch_hyper(spec, rows: int, draw_value) -> dict:
    hyper = {}
    for param in spec.params:
        if param.kind == "bool":
            hyper[param.name] = draw_value(st.booleans())
        else:
            column = [draw_value(st.floats(param.low, param.high)) for _ in range(rows)]
            hyper[param.name] = np.array(column).reshape(rows, 1)
    return hyper


def assert_same_bits(ours: np.ndarray, theirs: np.ndarray) -> None:
    """Equal bit for bit, signed zeros told apart; any NaN matches any NaN."""
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    both_nan = np.isnan(ours) & np.isnan(theirs) if ours.dtype.kind == "f" else False
    differ = (ours.view(np.int64) != theirs.view(np.int64)) & ~both_nan
    assert not differ.any(), f"{ours[differ]} against {theirs[differ]}"


def rows_of(hyper: dict, rows: slice) -> dict:
    return {k: v[rows] if isinstance(v, np.ndarray) else v for k, v in hyper.items()}


@pytest.mark.parametrize("name", ["adam", "adamw"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_few_runs_step_bit_for_bit_as_in_a_large_batch(name, registry, data):
    """Four drawn runs step alone, as a pair and as the other two (Python floats), and in a
    batch made larger than the few-coordinate path takes by copies of the first (numpy)."""
    spec = registry.get("optimizer", name)
    width = data.draw(st.integers(1, 3))
    rows = 4
    shape = (rows, width)
    cells = st.lists(ELEMENT, min_size=rows * width, max_size=rows * width)
    x = np.array(data.draw(cells)).reshape(shape)
    grad = np.array(data.draw(cells)).reshape(shape)
    hyper = batch_hyper(spec, rows, data.draw)
    state = spec.init(None, x, hyper)
    for key in state.keys() - {"t"}:  # the second moments are never negative
        value = np.array(data.draw(cells)).reshape(shape)
        state[key] = value if key == "m" else np.abs(value)
    state["t"] = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=rows, max_size=rows)))
    copies = adaptive.FEW // width + 1 - rows  # then the batch is beyond the few

    def padded(value):
        if not isinstance(value, np.ndarray):
            return value
        return np.concatenate([value, np.repeat(value[:1], copies, axis=0)])

    with np.errstate(all="ignore"):
        whole_x, whole_state = spec.step(
            Given(padded(grad)),
            padded(x),
            {k: padded(v) for k, v in state.items()},
            {k: padded(v) for k, v in hyper.items()},
        )
        for part in (slice(0, 1), slice(1, 3), slice(3, 4)):  # alone, a pair, the last
            problem = Given(grad[part])
            part_x, part_state = spec.step(
                problem, x[part], {k: v[part] for k, v in state.items()}, rows_of(hyper, part)
            )
            assert problem.calls == 1
            assert_same_bits(part_x, whole_x[part])
            assert part_state.keys() == whole_state.keys()
            for key, value in part_state.items():
                assert_same_bits(value, whole_state[key][part])


class Rim(Problem):
    """A hill, −x·x, undefined (NaN) beyond |x₀| = 2: runs climb down it outwards and
    diverge there; a run at the top does not move, and converges."""

    dim = 2
    start = np.array([1.0, 1.0])
    bounds = ((-3.0, 3.0), (-3.0, 3.0))

    def loss(self, x):
        return np.where(np.abs(x[:, 0]) > 2, np.nan, -(x * x).sum(axis=1))

    def grad(self, x):
        return -2 * x


STARTS = [(-1.2, 1.0), (1.0, 1.0), (0.0, 0.0), (0.5, -0.3), (1.9, 0.2), (-1.9, 2.5)]


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd", "momentum", "rmsprop", "adagrad"])
@pytest.mark.parametrize("model", ["rosenbrock", "rim"])
def test_a_run_alone_and_in_a_large_batch_is_the_same_bit_for_bit(name, model, registry):
    """Alone a run takes the few-coordinate paths of the engine and the optimizer; among
    thirty it takes numpy's: the trajectories, statuses and counts are the same, through
    convergence, divergence and a NaN loss."""
    problem = Rim() if model == "rim" else build_problem(model, registry=registry)
    hyper = {"lr": 0.9} if name in ("sgd", "momentum") else {"lr": 0.05}
    configs = [RunConfig(name, hyper, start=start, seed=seed) for seed, start in enumerate(STARTS)]
    crowd = [RunConfig(name, hyper, start=(0.05 * k, -0.05 * k), seed=100 + k) for k in range(24)]
    assert (len(configs) + len(crowd)) * 2 > adaptive.FEW

    def trajectories(batch):
        runs = RunSet(problem, registry)
        ids = runs.add_many(batch)
        runs.step(60)
        return [runs.trajectory(run_id) for run_id in ids]

    together = trajectories(configs + crowd)[: len(configs)]
    statuses = set()
    for config, batched in zip(configs, together, strict=True):
        (alone,) = trajectories([config])
        assert alone.status == batched.status
        assert alone.evals == batched.evals
        for field in ("x", "loss", "grad_norm"):
            assert_same_bits(getattr(alone, field), getattr(batched, field))
        statuses.add(alone.status.state)
    if model == "rim":  # the cases where the paths could part
        assert {"converged", "diverged"} <= statuses


@pytest.mark.parametrize("name", ["adam", "adagrad", "rmsprop"])
def test_a_run_without_weight_decay_is_not_decayed_beside_one_with(name, registry):
    """torch skips decay where λ = 0, so 0·∞ never enters g: a run's λ = 0 holds in a
    batch of any size beside runs with λ > 0."""
    spec = registry.get("optimizer", name)
    rows = adaptive.FEW + 1
    x = np.full((rows, 1), 0.5)
    x[0] = np.inf
    hyper = {p.name: np.full((rows, 1), p.default) for p in spec.params if p.kind != "bool"}
    hyper |= {p.name: p.default for p in spec.params if p.kind == "bool"}
    hyper["weight_decay"] = np.full((rows, 1), 0.1)
    hyper["weight_decay"][0] = 0.0
    state = spec.init(None, x, hyper)
    with np.errstate(all="ignore"):
        new_x, _ = spec.step(Given(np.zeros((rows, 1))), x, state, hyper)
    assert new_x[0, 0] == np.inf  # not NaN from 0·∞
    assert np.isfinite(new_x[1:]).all()
