"""End states by the curvature where a run stands: minimum, saddle, plateau, stalled."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import build_problem, simulate
from zoo.endstate import classify, lowest_known


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


def test_a_flat_point_at_the_lowest_loss_is_a_minimum(registry):
    problem = build_problem("curve_fit", {"curve": "sigmoid"}, registry=registry)
    far = [1776.0, 0.4]
    level = float(problem.loss(np.array([far]))[0])
    assert classify(problem, far, lowest=level).kind == "minimum"
    assert classify(problem, far, lowest=None).kind == "minimum"
