"""The engine steps batches of runs; each run keeps its own fate."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import (
    EngineError,
    OptimizerSpec,
    Param,
    Plane,
    Problem,
    RunConfig,
    RunSet,
    ScheduleSpec,
    build_problem,
    run_normal,
    simulate,
)
from zoo.registry import Registry

LR = Param("lr", 0.1, 0.0, 10.0)


def gd_init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def gd_step(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}


def spec(name, step, init=gd_init, params=(LR,), needs=frozenset({"grad"})):
    return OptimizerSpec(name, init, step, params=params, needs=needs)


def explode_right_half(problem, x, state, hyper):
    if np.any(x[:, 0] > 0):
        raise RuntimeError("no positive x, please")
    return gd_step(problem, x, state, hyper)


def wrong_shape(problem, x, state, hyper):
    return x[:, :1], state


def make_nan(problem, x, state, hyper):
    return np.where(x[:, :1] > 0, np.nan, x - hyper["lr"] * problem.grad(x)), {"t": state["t"] + 1}


def count_calls(problem, x, state, hyper):
    problem.loss(x)
    problem.loss(x)
    problem.hess(x)
    return gd_step(problem, x, state, hyper)


def noisy(problem, x, state, hyper):
    noise = run_normal(hyper["seed"], state["t"], (x.shape[1],))
    return x - hyper["lr"] * problem.grad(x) + 0.01 * noise, {"t": state["t"] + 1}


def needs_residuals(problem, x, state, hyper):
    return x, state


def discrete_state(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1, "memory": state["memory"]}


def discrete_init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64), "memory": np.zeros((len(x), hyper["size"]))}


@pytest.fixture(scope="module")
def test_registry(registry):
    extra = Registry()
    for record in (
        spec("gd", gd_step),
        spec("explode_right_half", explode_right_half),
        spec("wrong_shape", wrong_shape),
        spec("make_nan", make_nan),
        spec("count_calls", count_calls),
        spec("noisy", noisy),
        spec("needs_residuals", needs_residuals, needs=frozenset({"residuals"})),
        spec(
            "with_size",
            discrete_state,
            init=discrete_init,
            params=(LR, Param("size", 2, 1, 5, kind="int")),
        ),
    ):
        extra.add(record, plugin="tests")
    for kind in ("model", "schedule", "activation"):
        for record in registry.records(kind).values():
            extra.add(record, plugin="tests")
    return extra


@pytest.fixture
def quadratic(registry):
    return build_problem("quadratic", {"lambda1": 1.0, "lambda2": 10.0}, registry=registry)


def test_simulate_returns_the_whole_path(registry):
    path = simulate("quadratic", "sgd", steps=30, hyper={"lr": 0.05}, registry=registry)
    problem = build_problem("quadratic", registry=registry)
    assert path.x.shape == (31, 2) and path.loss.shape == (31,) and path.steps == 30
    np.testing.assert_allclose(path.loss, problem.loss(path.x), rtol=1e-14)
    np.testing.assert_allclose(path.grad_norm, np.linalg.norm(problem.grad(path.x), axis=1))
    np.testing.assert_array_equal(path.x[0], problem.start)
    assert path.status.state == "running" and path.evals["grad"] == 30
    assert path.loss[-1] < 1e-2 * path.loss[0]


def test_a_run_that_raises_fails_alone_and_the_batch_goes_on(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    left = runs.add(RunConfig("explode_right_half", start=(-1.0, 0.5)))
    right = runs.add(RunConfig("explode_right_half", start=(1.0, 0.5)))
    alone = RunSet(quadratic, test_registry)
    reference = alone.add(RunConfig("explode_right_half", start=(-1.0, 0.5)))
    runs.step(20)
    alone.step(20)
    assert runs.status(right).state == "failed"
    assert "RuntimeError: no positive x, please" in runs.status(right).message
    assert runs.status(right).step == 0
    assert runs.status(left).state == "running" and runs.steps_taken(left) == 20
    np.testing.assert_array_equal(runs.history(left)[0], alone.history(reference)[0])


def test_wrong_shapes_fail_and_non_finite_steps_diverge(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    shape = runs.add(RunConfig("wrong_shape"))
    nan = runs.add(RunConfig("make_nan", start=(1.0, 1.0)))
    fine = runs.add(RunConfig("make_nan", start=(-1.0, 1.0)))
    runs.step(5)
    assert runs.status(shape).state == "failed"
    assert "shape (1, 1), expected (1, 2)" in runs.status(shape).message
    assert str(runs.status(nan)) == "diverged at step 1"
    assert runs.trajectory(nan).x.shape == (1, 2)
    assert runs.status(fine).state == "running" and runs.steps_taken(fine) == 5


def test_growing_iterates_are_marked_diverged(registry):
    path = simulate("quadratic", "sgd", steps=1000, hyper={"lr": 0.25}, registry=registry)
    assert path.status.state == "diverged"
    assert np.all(np.isfinite(path.x)) and path.steps == path.status.step - 1


def test_a_learning_rate_sweep_in_one_batch_equals_separate_runs(quadratic, registry):
    rates = [0.01, 0.05, 0.1, 0.15]
    runs = RunSet(quadratic, registry)
    ids = [runs.add(RunConfig("adam", {"lr": lr})) for lr in rates]
    runs.step(40)
    assert len(runs.batches()) == 1 and len(runs.batches()[0]) == 4
    for run_id, lr in zip(ids, rates, strict=True):
        single = simulate(quadratic, "adam", steps=40, hyper={"lr": lr}, registry=registry)
        np.testing.assert_allclose(runs.trajectory(run_id).x, single.x, rtol=0, atol=1e-15)


def test_discrete_values_split_batches_and_may_change_state_shapes(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    small = runs.add(RunConfig("with_size", {"size": 2}))
    large = runs.add(RunConfig("with_size", {"size": 4}))
    runs.step(3)
    assert len(runs.batches()) == 2
    assert runs.optimizer_state(small)["memory"].shape == (2,)
    assert runs.optimizer_state(large)["memory"].shape == (4,)


def test_every_problem_call_is_counted_per_run(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    ids = [runs.add(RunConfig("count_calls")) for _ in range(2)]
    runs.step(7)
    for run_id in ids:
        assert runs.evals(run_id) == {
            "loss": 14,
            "grad": 7,
            "hess": 7,
            "residuals": 0,
            "jacobian": 0,
        }


def test_noise_is_per_run_so_batching_does_not_change_a_path(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    ids = [runs.add(RunConfig("noisy", seed=seed)) for seed in (3, 4, 5)]
    runs.step(10)
    alone = RunSet(quadratic, test_registry)
    only = alone.add(RunConfig("noisy", seed=4))
    alone.step(10)
    np.testing.assert_array_equal(runs.history(ids[1])[0], alone.history(only)[0])
    assert not np.array_equal(runs.history(ids[0])[0], runs.history(ids[1])[0])


def test_a_schedule_multiplies_the_learning_rate_per_step(quadratic, registry):
    halve = ScheduleSpec(
        "halve",
        lambda step, every: 0.5 ** np.floor_divide(step, every),
        params=(Param("every", 2, 1, 100, kind="int"),),
    )
    path = simulate(
        quadratic,
        "sgd",
        steps=6,
        hyper={"lr": 0.1},
        schedule=(halve, {"every": 2}),
        registry=registry,
    )
    x = path.x[0]
    for k in range(6):
        x = x - 0.1 * 0.5 ** (k // 2) * quadratic.grad(x[None, :])[0]
        np.testing.assert_allclose(path.x[k + 1], x, rtol=1e-15)


def test_converged_runs_stop_and_report_the_step(registry):
    def newton(problem, x, state, hyper):
        step = np.linalg.solve(problem.hess(x), problem.grad(x)[..., None])[..., 0]
        return x - step, {"t": state["t"] + 1}

    path = simulate("quadratic", spec("newton_like", newton), steps=50, registry=registry)
    assert path.status.state == "converged" and path.steps == 1
    assert str(path.status) == "minimum at step 1 (converged)"  # the Hessian there is positive
    np.testing.assert_allclose(path.x[-1], [0.0, 0.0], atol=1e-12)


def test_incompatible_and_invalid_runs_are_refused_with_a_reason(quadratic, test_registry):
    runs = RunSet(quadratic, test_registry)
    with pytest.raises(EngineError, match="needs residuals, which this model does not provide"):
        runs.add(RunConfig("needs_residuals"))
    with pytest.raises(EngineError, match=r"lr: 50\.0 is above the maximum 10\.0"):
        runs.add(RunConfig("gd", {"lr": 50}))
    with pytest.raises(EngineError, match="unknown optimizer 'gdd'"):
        runs.add(RunConfig("gdd"))
    with pytest.raises(EngineError, match="start has 3 coordinates"):
        runs.add(RunConfig("gd", start=(1.0, 2.0, 3.0)))
    with pytest.raises(EngineError, match="needs a model with samples"):
        runs.add(RunConfig("gd", batch_size=4))
    with pytest.raises(EngineError, match="unknown model 'nowhere'"):
        build_problem("nowhere", registry=test_registry)
    with pytest.raises(EngineError, match=r"lambda1: 1000\.0 is above the maximum"):
        build_problem("quadratic", {"lambda1": 1000}, registry=test_registry)


def test_snapshot_and_restore_rewind_exactly(quadratic, registry):
    runs = RunSet(quadratic, registry)
    run_id = runs.add(RunConfig("adam", {"lr": 0.05}))
    runs.step(10)
    saved = runs.snapshot()
    runs.step(15)
    ahead = runs.trajectory(run_id).x
    runs.restore(saved)
    assert runs.steps_taken(run_id) == 10
    runs.step(15)
    np.testing.assert_array_equal(runs.trajectory(run_id).x, ahead)


def test_update_restarts_or_continues_and_remove_forgets(quadratic, registry):
    runs = RunSet(quadratic, registry)
    first = runs.add(RunConfig("sgd", {"lr": 0.01}))
    other = runs.add(RunConfig("sgd", {"lr": 0.02}))
    runs.step(5)
    before_other = runs.trajectory(other).x
    runs.update(first, RunConfig("sgd", {"lr": 0.05}), restart=False)
    assert runs.steps_taken(first) == 5
    runs.update(first, RunConfig("sgd", {"lr": 0.05}), restart=True)
    assert runs.steps_taken(first) == 0
    np.testing.assert_array_equal(runs.trajectory(other).x, before_other)
    runs.step(3)
    where = runs.position(first)
    runs.update(first, RunConfig("adam", {"lr": 0.05}), restart=False)
    assert runs.steps_taken(first) == 3 and len(runs.batches()) == 2
    np.testing.assert_array_equal(runs.position(first), where)
    assert set(runs.optimizer_state(first)) == {"t", "m", "v"}
    runs.remove(first)
    assert list(runs.configs) == [other] and len(runs.batches()) == 1
    runs.reset(start=(0.5, 0.5))
    np.testing.assert_array_equal(runs.position(other), [0.5, 0.5])


class Bowl3D(Problem):
    dim = 3
    plane = Plane(np.zeros(3), np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.0]) / np.sqrt(2))

    @property
    def start(self):
        return np.array([1.0, 1.0, 1.0])

    def loss(self, x):
        return 0.5 * np.sum(x * x, axis=1)

    def grad(self, x):
        return x.copy()


def test_a_two_coordinate_start_is_read_in_the_plane_of_a_larger_model(registry):
    runs = RunSet(Bowl3D(), registry)
    run_id = runs.add(RunConfig("sgd", {"lr": 0.1}, start=(1.0, np.sqrt(2))))
    np.testing.assert_allclose(runs.position(run_id), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(Bowl3D().to_view(runs.position(run_id)), [1.0, np.sqrt(2)])


def test_calls_made_for_some_runs_are_charged_to_those_runs_only(quadratic, registry):
    def search(problem, x, state, hyper):
        for row in range(len(x)):
            for _ in range(row + 1):  # run r evaluates r + 1 times on its own
                problem.for_rows(row).loss(x[row : row + 1])
        problem.for_rows([0, 2]).grad(x[[0, 2]])
        return gd_step(problem, x, state, hyper)

    extra = Registry()
    extra.add(spec("search", search))
    runs = RunSet(quadratic, extra)
    ids = [runs.add(RunConfig("search", start=(0.1 * i, 1.0))) for i in range(3)]
    runs.step(4)
    assert [runs.evals(i)["loss"] for i in ids] == [4, 8, 12]
    assert [runs.evals(i)["grad"] for i in ids] == [8, 4, 8]
    assert quadratic.for_rows([1]) is quadratic


def test_add_many_sets_up_a_sweep_at_once_and_isolates_a_bad_start(quadratic, test_registry):
    def picky_init(problem, x, hyper):
        if np.any(x[:, 0] > 1.5):
            raise ValueError("start too far right")
        return gd_init(problem, x, hyper)

    extra = Registry()
    extra.add(spec("picky", gd_step, init=picky_init))
    runs = RunSet(quadratic, extra)
    starts = [(-1.0, 0.5), (2.0, 0.5), (0.5, -0.5)]
    ids = runs.add_many([RunConfig("picky", {"lr": 0.05}, start=s) for s in starts])
    runs.step(10)
    assert [runs.status(i).state for i in ids] == ["running", "failed", "running"]
    assert "start too far right" in runs.status(ids[1]).message
    for run_id, start in zip(ids[::2], starts[::2], strict=True):
        alone = RunSet(quadratic, extra)
        only = alone.add(RunConfig("picky", {"lr": 0.05}, start=start))
        alone.step(10)
        np.testing.assert_array_equal(runs.trajectory(run_id).x, alone.trajectory(only).x)
    with pytest.raises(EngineError, match="unknown optimizer"):
        runs.add_many([RunConfig("picky"), RunConfig("missing")])
    assert list(runs.configs) == ids


def test_add_grid_builds_the_runs_add_many_would_from_arrays(quadratic, registry):
    starts = np.array([(-1.0, 0.5), (0.3, -0.7), (0.8, 0.8)])
    rates = np.array([0.01, 0.05, 0.2])
    grid = RunSet(quadratic, registry)
    ids = grid.add_grid("momentum", {"momentum": 0.5}, starts, columns={"lr": rates}, seed=3)
    one_by_one = RunSet(quadratic, registry)
    configs = [
        RunConfig("momentum", {"momentum": 0.5, "lr": lr}, start=tuple(s), seed=3)
        for s, lr in zip(starts.tolist(), rates.tolist(), strict=True)
    ]
    expected = one_by_one.add_many(configs)
    grid.step(30)
    one_by_one.step(30)
    for run_id, other in zip(ids, expected, strict=True):
        assert grid.configs[run_id] == one_by_one.configs[other]
        np.testing.assert_array_equal(grid.trajectory(run_id).x, one_by_one.trajectory(other).x)
    with pytest.raises(EngineError, match="lr"):
        grid.add_grid("momentum", {}, starts, columns={"lr": [0.1, 0.2, 99.0]})
    with pytest.raises(EngineError, match="float hyper-parameters"):
        grid.add_grid("sgd", {}, starts, columns={"nesterov": [0.0, 1.0, 0.0]})
    with pytest.raises(EngineError, match="finite"):
        grid.add_grid("sgd", {}, [(np.nan, 0.0)])
    with pytest.raises(EngineError, match=r"expected \(N, 2\)"):
        grid.add_grid("sgd", {}, [(0.0, 0.0, 1.0)])
    assert list(grid.configs) == ids


def test_gtol_zero_takes_every_step_even_at_a_zero_gradient(registry):
    # η = 1/λ on a round bowl lands exactly on the minimum in one step, gradient 0.0.
    settings = {"lambda1": 1.0, "lambda2": 1.0}
    problem = build_problem("quadratic", settings, registry=registry)
    runs = RunSet(problem, registry, gtol=0)
    run_id = runs.add(RunConfig("sgd", {"lr": 1.0}, start=(1.0, -2.0)))
    runs.step(5)
    assert runs.status(run_id).state == "running" and runs.status(run_id).step == 5
    assert np.all(runs.history(run_id)[0][1:] == 0.0)
    stopping = RunSet(problem, registry)  # the default tolerance: converged at step 1
    other = stopping.add(RunConfig("sgd", {"lr": 1.0}, start=(1.0, -2.0)))
    stopping.step(5)
    assert stopping.status(other).state == "converged" and stopping.status(other).step == 1
