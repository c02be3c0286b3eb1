"""Step-size theory against closed forms from the literature and against simulated runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zoo
from zoo import theory
from zoo.specs import Param, ScheduleSpec


# ---------------------------------------------------------------- regimes
@pytest.mark.parametrize("lam", [0.3, 1.0, 7.0, 123.456])
def test_labels_switch_exactly_at_one_and_two_over_lambda(lam):
    one, two = 1.0 / lam, 2.0 / lam
    assert theory.regime(lam, one * 0.999) == theory.MONOTONE
    assert theory.regime(lam, one) == theory.EXACT
    assert theory.regime(lam, one * 1.001) == theory.OSCILLATING
    assert theory.regime(lam, two * 0.999) == theory.OSCILLATING
    assert theory.regime(lam, two) == theory.CONSTANT
    assert theory.regime(lam, two * 1.001) == theory.DIVERGENT


@given(st.floats(1e-3, 1e3), st.sampled_from([1.0, 2.0]))
@settings(max_examples=60, deadline=None)
def test_without_tolerance_the_neighbouring_floats_fall_on_each_side(lam, boundary):
    below = {1.0: theory.MONOTONE, 2.0: theory.OSCILLATING}[boundary]
    above = {1.0: theory.OSCILLATING, 2.0: theory.DIVERGENT}[boundary]
    # the float just below/above the boundary product ηλ
    lr = boundary / lam
    step_down = np.nextafter(lr, 0)
    while step_down * lam >= boundary:
        step_down = np.nextafter(step_down, 0)
    step_up = np.nextafter(lr, np.inf)
    while step_up * lam <= boundary:
        step_up = np.nextafter(step_up, np.inf)
    assert theory.regime(lam, step_down, rtol=0) == below
    assert theory.regime(lam, step_up, rtol=0) == above


def test_tolerance_is_relative_and_documented_size():
    lam = 10.0
    assert theory.regime(lam, 0.2 * (1 + 0.5 * theory.RTOL)) == theory.CONSTANT
    assert theory.regime(lam, 0.2 * (1 + 10 * theory.RTOL)) == theory.DIVERGENT
    assert theory.regime(lam, 0.1 * (1 - 10 * theory.RTOL)) == theory.MONOTONE


def test_overall_label_is_the_worst_direction():
    result = theory.gd_regimes([1.0, 10.0], 0.15)
    assert result.labels == (theory.MONOTONE, theory.OSCILLATING)
    assert result.overall == theory.OSCILLATING
    assert result.rate == pytest.approx(0.85)
    assert theory.gd_regimes([1.0, 10.0], 0.21).overall == theory.DIVERGENT
    assert theory.gd_regimes([1.0, 10.0], 0.2).overall == theory.CONSTANT
    assert theory.gd_regimes([1.0, 10.0], 0.05).overall == theory.MONOTONE
    assert theory.gd_regimes([4.0, 4.0], 0.25).overall == theory.EXACT
    saddle = theory.gd_regimes([-1.0, 4.0], 0.1)
    assert saddle.labels == (theory.SADDLE, theory.MONOTONE)
    assert saddle.overall == theory.SADDLE
    assert theory.gd_regimes([-1.0, 4.0], 0.6).overall == theory.DIVERGENT


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_divergence_of_a_simulated_run_flips_at_two_over_lambda_max(registry, factor):
    lr = factor * 2.0 / 10.0
    run = zoo.simulate(
        "quadratic",
        "sgd",
        steps=400,
        hyper={"lr": lr},
        settings={"lambda1": 1.0, "lambda2": 10.0},
        registry=registry,
        gtol=0,
    )
    predicted = theory.gd_regimes([1.0, 10.0], lr).overall
    assert (predicted == theory.DIVERGENT) == (run.loss[-1] > run.loss[0])


# ---------------------------------------------------------------- rates (κ = 100)
def test_optimal_rates_at_kappa_100_match_the_reference():
    rates = theory.optimal_rates(1.0, 100.0)
    assert rates["gd"]["rate"] == pytest.approx(0.980198, abs=5e-7)
    assert rates["heavy_ball"]["rate"] == pytest.approx(0.818182, abs=5e-7)
    assert rates["nesterov"]["rate"] == pytest.approx(0.884722, abs=5e-7)
    assert rates["nesterov_1_over_L"]["rate"] == pytest.approx(0.900000, abs=5e-7)


@pytest.mark.parametrize("mu, L", [(1.0, 100.0), (0.5, 3.0), (2.0, 2000.0)])
def test_stated_rates_are_the_spectral_radii_of_the_iterations(mu, L):
    spectrum = np.linspace(mu, L, 401)
    rates = theory.optimal_rates(mu, L)
    gd = theory.gd_regimes(spectrum, rates["gd"]["lr"]).rate
    assert gd == pytest.approx(rates["gd"]["rate"], rel=1e-12)
    hb = rates["heavy_ball"]
    assert theory.heavy_ball_rate(hb["lr"], hb["momentum"], spectrum) == pytest.approx(
        hb["rate"], rel=1e-6
    )
    for name in ("nesterov", "nesterov_1_over_L"):
        entry = rates[name]
        measured = theory.nesterov_rate(entry["lr"], entry["momentum"], spectrum)
        assert measured == pytest.approx(entry["rate"], rel=1e-6), name


def test_heavy_ball_rate_is_the_largest_eigenvalue_of_gohs_matrix():
    rng = np.random.default_rng(3)
    for _ in range(50):
        lr, beta, lam = rng.uniform(0.01, 1.0), rng.uniform(0, 0.99), rng.uniform(0.1, 5)
        matrix = theory.heavy_ball_matrix(lr, beta, lam)
        expected = np.abs(np.linalg.eigvals(matrix)).max()
        assert theory.heavy_ball_rate(lr, beta, [lam]) == pytest.approx(expected, rel=1e-9)


def test_heavy_ball_stability_edge_and_complex_modulus():
    lam = 2.0
    beta = 0.5
    edge = (2 + 2 * beta) / lam
    assert theory.heavy_ball_rate(edge * 0.999, beta, [lam]) < 1
    assert theory.heavy_ball_rate(edge * 1.001, beta, [lam]) > 1
    # complex roots have modulus √β
    assert theory.heavy_ball_rate(0.5, 0.81, [lam]) == pytest.approx(0.9, rel=1e-12)


def test_critical_damping_rate(registry):
    lr, lam = 0.04, 1.0
    beta = float(theory.critical_damping(lr, lam))
    assert theory.heavy_ball_rate(lr, beta, [lam]) == pytest.approx(
        1 - math.sqrt(lr * lam), rel=1e-6
    )
    assert np.isnan(theory.critical_damping(3.0, lam))


def test_heavy_ball_matrix_predicts_a_simulated_momentum_run(registry):
    lr, beta = 0.08, 0.6
    run = zoo.simulate(
        "quadratic",
        "sgd",
        steps=60,
        hyper={"lr": lr, "momentum": beta},
        settings={"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0},
        registry=registry,
        gtol=0,
    )
    problem = zoo.build_problem(
        "quadratic", {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0}, registry=registry
    )
    model = theory.local_quadratic(problem, run.x[0])
    error = (run.x - model.stationary_point()) @ model.eigenvectors
    for i, lam in enumerate(model.eigenvalues):
        matrix = theory.heavy_ball_matrix(lr, beta, lam)
        state = np.array([0.0, error[0, i]])  # (z, w) with z₀ = 0
        for k in range(1, len(run.x)):
            state = matrix @ state
            assert state[1] == pytest.approx(error[k, i], abs=1e-12)


# ---------------------------------------------------------------- local quadratic
def test_local_quadratic_of_a_rotated_quadratic(registry):
    problem = zoo.build_problem(
        "quadratic",
        {"lambda1": 2.0, "lambda2": 50.0, "angle": 30.0, "cx": 0.5, "cy": -1.0},
        registry=registry,
    )
    model = theory.local_quadratic(problem, [1.0, 2.0])
    assert model.eigenvalues == pytest.approx([2.0, 50.0])
    assert model.condition_number == pytest.approx(25.0)
    angle = math.radians(30.0)
    assert abs(model.eigenvectors[:, 0] @ [math.cos(angle), math.sin(angle)]) == pytest.approx(1)
    assert model.stationary_point() == pytest.approx([0.5, -1.0], abs=1e-12)
    names = [name for name, _ in model.marks()]
    values = [value for _, value in model.marks()]
    assert names == ["1/λ_max", "2/(λ_min+λ_max)", "2/λ_max", "1/λ_min", "2/λ_min"]
    assert values == pytest.approx([1 / 50, 2 / 52, 2 / 50, 1 / 2, 1.0])
    assert model.curvature_along(model.eigenvectors[:, 1]) == pytest.approx(50.0)


def test_local_quadratic_on_rosenbrock_matches_finite_differences(registry):
    problem = zoo.build_problem("rosenbrock", registry=registry)
    x = np.array([-0.7, 0.4])
    model = theory.local_quadratic(problem, x)
    h = 1e-5
    fd = np.empty((2, 2))
    for j in range(2):
        shift = np.zeros(2)
        shift[j] = h
        fd[:, j] = (problem.grad((x + shift)[None])[0] - problem.grad((x - shift)[None])[0]) / (
            2 * h
        )
    assert model.hessian == pytest.approx(fd, rel=1e-5, abs=1e-4)
    assert model.gradient == pytest.approx(problem.grad(x[None])[0])


def test_saddle_has_a_negative_eigenvalue_and_no_limits_from_it(registry):
    problem = zoo.build_problem(
        "quadratic", {"lambda1": -1.0, "lambda2": 4.0, "angle": 0.0}, registry=registry
    )
    model = theory.local_quadratic(problem, [0.3, 0.2])
    assert model.eigenvalues == pytest.approx([-1.0, 4.0])
    assert model.condition_number == math.inf
    assert [value for _, value in model.marks()] == pytest.approx([0.25, 0.5])
    # Newton's step lands on the saddle
    assert model.stationary_point() == pytest.approx([0.0, 0.0], abs=1e-12)


# ---------------------------------------------------------------- eigencomponents
@pytest.mark.parametrize("lr", [0.02, 0.1, 0.15, 0.2])
def test_predicted_eigencomponents_match_simulated_gd_to_1e_10(registry, lr):
    quad = {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0, "cx": 0.3, "cy": -0.2}
    run = zoo.simulate(
        "quadratic", "sgd", steps=80, hyper={"lr": lr}, settings=quad, registry=registry, gtol=0
    )
    problem = zoo.build_problem("quadratic", quad, registry=registry)
    components = theory.eigen_components(problem, run.x, lr)
    assert len(run.x) == 81
    assert np.max(np.abs(components.predicted - components.measured)) < 1e-10
    # the loss splits by eigen-direction with the ½
    assert np.max(np.abs(components.loss_split.sum(axis=1) - run.loss)) < 1e-10


def test_predicted_lines_follow_a_scheduled_run(registry):
    quad = {"lambda1": 1.0, "lambda2": 4.0, "angle": -20.0}
    lrs = 0.3 / (np.arange(40) + 1.0)
    spec = ScheduleSpec("harmonic", lambda step: 1.0 / (np.asarray(step) + 1.0))
    run = zoo.simulate(
        "quadratic",
        "sgd",
        steps=40,
        hyper={"lr": 0.3},
        settings=quad,
        schedule=spec,
        registry=registry,
        gtol=0,
    )
    problem = zoo.build_problem("quadratic", quad, registry=registry)
    components = theory.eigen_components(problem, run.x, lrs)
    assert np.max(np.abs(components.predicted - components.measured)) < 1e-12


# ---------------------------------------------------------------- Robbins–Monro (§8, §10.10)
def _power(step, p=1.0):
    return 1.0 / (np.asarray(step, dtype=float) + 1.0) ** p


def test_partial_sums_at_one_million_steps_match_the_reference():
    harmonic = theory.robbins_monro(_power)
    assert harmonic.sums[-1] == pytest.approx(14.39, abs=5e-3)
    assert harmonic.sums_sq[-1] == pytest.approx(math.pi**2 / 6, abs=1e-5)
    assert harmonic.satisfied and harmonic.estimated and harmonic.declared is None
    square = theory.robbins_monro(_power, {"p": 2.0})
    assert square.sums[-1] == pytest.approx(math.pi**2 / 6, abs=1e-5)
    assert square.sums_sq[-1] == pytest.approx(math.pi**4 / 90, abs=1e-9)
    assert not square.sum_diverges and not square.satisfied
    root = theory.robbins_monro(_power, {"p": 0.5})
    assert root.sums_sq[-1] == pytest.approx(14.39, abs=5e-3)
    assert root.sum_diverges and not root.sum_sq_converges and not root.satisfied


@pytest.mark.parametrize(
    "p, expected",
    [(0.4, False), (0.55, True), (0.8, True), (1.0, True), (1.2, False), (3.0, False)],
)
def test_power_schedules_satisfy_robbins_monro_iff_p_in_half_to_one(p, expected):
    assert theory.robbins_monro(_power, {"p": p}, steps=2**16).estimated is expected


def test_constant_exponential_and_periodic_schedules_fail():
    assert not theory.robbins_monro(None, steps=4096).satisfied
    exponential = theory.robbins_monro(lambda k: 0.99**k, steps=2**16)
    assert exponential.sums[-1] == pytest.approx(1 / (1 - 0.99), rel=1e-9)
    assert not exponential.satisfied
    cosine = theory.robbins_monro(lambda k: 0.5 * (1 + np.cos(np.pi * k / 100)), steps=2**16)
    assert cosine.sum_diverges and not cosine.satisfied


def test_a_schedule_record_supplies_defaults_and_its_declared_verdict():
    spec = ScheduleSpec(
        "decay",
        lambda step, p: 1.0 / (np.asarray(step) + 1.0) ** p,
        params=(Param("p", 1.0, low=0.1, high=4.0),),
        robbins_monro=lambda p: 0.5 < p <= 1,
    )
    result = theory.robbins_monro(spec, lr=0.5, steps=1000)
    assert result.declared is True and result.satisfied
    assert result.lr[0] == 0.5 and result.lr[9] == pytest.approx(0.05)
    assert "satisfies" in result.verdict
    assert theory.robbins_monro(spec, {"p": 2.0}, steps=1000).declared is False


def test_stall_value_at_half(registry):
    assert theory.stall_factor(0.5) == pytest.approx(0.3581878, abs=5e-8)
    product = theory.step_product(0.5, 1.0 / (np.arange(200000) + 1.0) ** 2)
    # the tail of the product is exp(−λη₀/K) to first order
    assert product[-1] == pytest.approx(theory.stall_factor(0.5) * math.exp(0.5 / 200000), rel=1e-9)


def _stall_run(registry, schedule, steps):
    # isotropic bowl with λ = 1 and η₀ = ½: λη₀ = ½ in every direction
    return zoo.simulate(
        "quadratic",
        "sgd",
        steps=steps,
        hyper={"lr": 0.5},
        settings={"lambda1": 1.0, "lambda2": 1.0},
        schedule=schedule,
        registry=registry,
        gtol=0,
    )


def _distance_ratio(run):
    return np.linalg.norm(run.x[-1]) / np.linalg.norm(run.x[0])


def test_stall_measured_from_a_simulated_run(registry):
    spec = ScheduleSpec("square_decay", lambda step: 1.0 / (np.asarray(step) + 1.0) ** 2)
    steps = 4000
    run = _stall_run(registry, spec, steps)
    finite = theory.step_product(1.0, 0.5 / (np.arange(steps) + 1.0) ** 2)[-1]
    assert _distance_ratio(run) == pytest.approx(finite, rel=1e-12)
    assert _distance_ratio(run) == pytest.approx(0.3581878, rel=2e-4)
    harmonic = ScheduleSpec("harmonic_decay", lambda step: 1.0 / (np.asarray(step) + 1.0))
    assert _distance_ratio(_stall_run(registry, harmonic, steps)) < 0.05


def test_stall_with_the_registered_inverse_square_schedule(registry):
    if "inverse_square" not in registry.schedules:
        pytest.skip("no inverse_square schedule registered")
    steps = 4000
    run = _stall_run(registry, "inverse_square", steps)
    assert _distance_ratio(run) == pytest.approx(0.3581878, rel=2e-4)
    verdict = theory.robbins_monro(registry.schedules["inverse_square"], steps=2**14)
    assert not verdict.satisfied


# ---------------------------------------------------------------- Saxe (§5)
def test_saxe_mode_solves_its_ode_and_its_transition_time():
    s, u0, tau = 3.0, 1e-3, 2.0
    u, dt, t = u0, 1e-4, 0.0
    # RK4 on τu̇ = 2u(s − u)
    rhs = lambda value: 2 * value * (s - value) / tau  # noqa: E731
    for _ in range(20000):
        k1 = rhs(u)
        k2 = rhs(u + 0.5 * dt * k1)
        k3 = rhs(u + 0.5 * dt * k2)
        k4 = rhs(u + dt * k3)
        u += dt * (k1 + 2 * k2 + 2 * k3 + k4) / 6
        t += dt
    assert theory.saxe_mode(t, s, u0, tau) == pytest.approx(u, rel=1e-9)
    half = theory.saxe_time(s, u0, s / 2, tau)
    assert theory.saxe_mode(half, s, u0, tau) == pytest.approx(s / 2, rel=1e-12)


def test_estimate_agrees_with_every_registered_schedules_own_verdict(registry):
    declared = {name: spec for name, spec in registry.schedules.items() if spec.robbins_monro}
    if not declared:
        pytest.skip("no schedule declares its Robbins–Monro verdict")
    for name, spec in declared.items():
        result = theory.robbins_monro(spec, steps=2**16)
        assert result.estimated == result.declared, name
