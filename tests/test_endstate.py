"""End states by the curvature where a run stands: minimum, saddle, plateau, stalled."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from zoo import RunConfig, RunSet, build_problem, simulate
from zoo.endstate import classify, lowest_known
from zoo.engine import STALL_STEPS


def test_a_minimum(registry):
    problem = build_problem("quadratic", {"lambda1": 0.5, "lambda2": 4.0}, registry=registry)
    state = classify(problem, problem.centre, lowest=lowest_known(problem))
    assert state.kind == "minimum"
    assert state.min_eigenvalue == pytest.approx(0.5)
    assert state.max_eigenvalue == pytest.approx(4.0)


def test_a_saddle_where_the_gradient_vanishes(registry):
    problem = build_problem("saddle", registry=registry)
    state = classify(problem, [0.0, 0.0])
    assert state.kind == "saddle" and state.grad_norm == 0
    assert state.min_eigenvalue == pytest.approx(-2.0)
    # the deep linear network's origin: Levenberg–Marquardt's resting point
    network = build_problem("deep_linear", registry=registry)
    assert classify(network, np.zeros(network.dim), lowest=lowest_known(network)).kind == "saddle"


def test_gauss_newton_on_the_flat_sigmoid_tail_is_a_plateau_not_a_minimum(registry):
    """From (0.5, 2.5) Gauss–Newton jumps to about (1776, 0.40), where the sigmoid is flat:
    the gradient vanishes, so the engine says converged, at loss 0.323 against 0.046."""
    problem = build_problem("curve_fit", {"curve": "sigmoid"}, registry=registry)
    run = simulate(problem, "gauss_newton", steps=50, start=(0.5, 2.5), registry=registry)
    assert run.status.state == "converged"
    lowest = lowest_known(problem)
    state = classify(problem, run.x[-1], lowest=lowest)
    assert state.kind == "plateau"
    assert state.loss > 5 * lowest
    fitted = simulate(problem, "gauss_newton", steps=50, start=(-2.0, 0.5), registry=registry)
    assert classify(problem, fitted.x[-1], lowest=lowest).kind == "minimum"


def test_a_stall_has_a_gradient_that_is_not_small(registry):
    problem = build_problem("rosenbrock", registry=registry)
    state = classify(problem, [-1.2, 1.0], lowest=lowest_known(problem))
    assert state.kind == "stalled"
    assert state.grad_norm > 100
    assert "stalled" in str(state)


def test_a_flat_point_is_a_minimum_only_at_the_lowest_loss_known(registry):
    problem = build_problem("curve_fit", {"curve": "sigmoid"}, registry=registry)
    far = [1776.0, 0.4]
    level = float(problem.loss(np.array([far]))[0])
    assert classify(problem, far, lowest=level).kind == "minimum"
    # With no lowest loss known, flatness says nothing of being lowest: a plateau.
    assert classify(problem, far, lowest=None).kind == "plateau"


def test_a_point_whose_newton_step_is_tiny_is_beside_a_minimum(registry):
    problem = build_problem("rosenbrock", registry=registry)
    near = np.array([1.0, 1.0]) + 1e-4 * np.array([0.6, 1.3])  # where L-BFGS's tolerances stop
    gradient = problem.grad(near[None])[0]
    assert np.linalg.norm(gradient) > 1e-6 * 100  # not a small gradient by itself …
    state = classify(problem, near, lowest=lowest_known(problem))
    assert state.kind == "minimum" and state.min_eigenvalue > 0  # … but the model's bottom
    newton_step = np.linalg.solve(problem.hess(near[None])[0], gradient)
    np.testing.assert_allclose(near - newton_step, [1.0, 1.0], atol=1e-6)


def test_the_tip_of_a_cone_is_a_minimum(registry):
    problem = build_problem("ackley", registry=registry)
    state = classify(problem, [0.0, 0.0], lowest=lowest_known(problem))
    assert state.kind == "minimum" and state.min_eigenvalue == np.inf


def _json_run(capsys, *argv) -> dict:
    from zoo.cli import main

    assert main(["run", *argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)["results"][0]


def test_zoo_run_reports_gauss_newton_on_the_sigmoid_tail_as_a_plateau(capsys, tmp_path):
    out = tmp_path / "paths.csv"
    result = _json_run(
        capsys, "curve_fit", "gauss_newton", "--set", "curve=sigmoid", "--start", "0.5,2.5",
        "--steps", "50", "--out", str(out),
    )  # fmt: skip
    assert result["status"] == "converged" and result["status_step"] == 8
    end = result["end_state"]
    assert end["kind"] == "plateau"
    assert end["loss"] == pytest.approx(0.323, abs=1e-3) and end["grad_norm"] < 1e-10
    assert abs(end["min_eigenvalue"]) < 1e-8 and abs(end["max_eigenvalue"]) < 1e-8
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["end_state"] == "plateau" and rows[-1]["status"].startswith("plateau at step 8")


def test_zoo_run_reports_levenberg_marquardt_on_the_deep_linear_saddle(capsys):
    result = _json_run(
        capsys, "deep_linear", "levenberg_marquardt", "--start", "0.5,-0.5", "--steps", "5000"
    )
    assert (
        result["status"] == "stopped" and result["message"] == f"no progress in {STALL_STEPS} steps"
    )
    assert result["steps"] < 100  # not "running" for 5000 steps
    assert result["end_state"]["kind"] == "saddle"
    assert result["end_state"]["min_eigenvalue"] == pytest.approx(-1.0, rel=1e-4)
    assert np.linalg.norm(result["x"][-1]) < 1e-6  # at the origin
    moved = np.flatnonzero(np.any(np.diff(result["x"], axis=0) != 0, axis=1))
    assert result["steps"] - (moved[-1] + 1) == STALL_STEPS  # stopped 20 steps after it froze


def test_the_engine_classifies_once_when_runs_stop_and_not_while_they_run(registry):
    problem = build_problem("saddle", registry=registry)
    hessians = []
    exact = problem.hess
    problem.hess = lambda x: hessians.append(len(x)) or exact(x)
    runs = RunSet(problem, registry)
    on_axis = runs.add(RunConfig("sgd", {"lr": 0.1}, start=(1.0, 0.0)))  # u² − v²: onto it
    escaping = runs.add(RunConfig("sgd", {"lr": 0.1}, start=(1.0, 1e-3)))
    runs.step(150)  # on_axis converges (|g| ≤ 1e-10) by then; the other is escaping
    assert runs.status(on_axis).end.kind == "saddle"
    assert str(runs.status(on_axis)).startswith("saddle at step")
    assert runs.status(escaping).end is None and runs.status(escaping).outcome == "running"
    view = runs.batch_of(on_axis)
    assert set(view.ends) == {on_axis}  # published with the batch, read through the view
    runs.step(100)
    assert hessians == [1]  # one Hessian, for the one run that stopped, when it stopped


def test_a_run_that_stops_moving_with_a_large_gradient_is_stalled(registry):
    """A step that never moves (as a line search that refuses every trial would) on
    Rosenbrock at (−1.2, 1): stopped after STALL_STEPS steps, classified stalled."""
    from zoo import OptimizerSpec

    frozen = OptimizerSpec(
        name="frozen",
        init=lambda problem, x, hyper: {"t": np.zeros(len(x), dtype=np.int64)},
        step=lambda problem, x, state, hyper: (x.copy(), {"t": state["t"] + 1}),
    )
    run = simulate("rosenbrock", frozen, steps=100, start=(-1.2, 1.0), registry=registry)
    assert run.status.state == "stopped" and run.status.step == STALL_STEPS
    assert run.status.end.kind == "stalled" and run.status.end.grad_norm > 100
    assert run.steps == STALL_STEPS
