"""The classic experiments: every agreement holds, and the theory they use is the papers'."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pytest

from zoo.experiments import EXPERIMENTS, Result, Row, command, format_table, run_experiment
from zoo.workspace import LESSONS

NAMES = (
    "gauss_newton",
    "perturbation",
    "perceptron_vs_backprop",
    "hebb_oja_sanger",
    "deep_linear",
    "wide_net",
    "linear_neuron",
    "robbins_monro",
    "saddle_escape",
)


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    return {}


def result_of(results, name: str) -> Result:
    if name not in results:
        results[name] = run_experiment(name, seed=0)
    return results[name]


def row(result: Result, start: str) -> Row:
    matches = [r for r in result.rows if r.quantity.startswith(start)]
    assert len(matches) == 1, [r.quantity for r in result.rows]
    return matches[0]


def test_the_experiments_are_the_nine_classics():
    assert tuple(EXPERIMENTS) == NAMES
    assert all(item.summary for item in EXPERIMENTS.values())


#: Experiments whose statistics take tens of seconds run in the slow set.
HEAVY = ("perturbation", "deep_linear")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in NAMES]
)
def test_every_agreement_holds(results, name):
    result = result_of(results, name)
    failing = [(r.quantity, r.measured, r.theory) for r in result.rows if not r.agrees]
    assert result.passed and not failing, failing
    assert result.name == name and len(result.rows) >= 5
    data = json.loads(json.dumps(result.as_dict()))
    assert data["passed"] is True and all(r["agrees"] is True for r in data["rows"])
    for title, series in result.curves.items():
        for label, (x, y) in series.items():
            assert len(x) == len(y) > 0, (title, label)


def test_robbins_monro_stalls_where_theory_says(results):
    result = result_of(results, "robbins_monro")
    stall = row(result, "η₀/(k+1)², no noise: x_K/x₀ stalls")
    assert stall.theory == pytest.approx(0.3581878, abs=5e-8)
    assert stall.measured == pytest.approx(0.3581878, rel=1e-3)
    assert row(result, "inverse: Σηₖ/η₀").measured == pytest.approx(14.39, abs=0.01)
    assert row(result, "inverse_square: Σηₖ/η₀").measured == pytest.approx(math.pi**2 / 6, rel=1e-5)
    going = row(result, "c/(k+1), no noise")
    assert going.measured < 0.05 * stall.measured  # the harmonic schedule keeps going


def test_robbins_monro_sums_are_the_partial_sums_of_a_million_terms(results):
    """Theory values are Σ to 10⁶, not ζ(2) or ζ(4): mpmath's Hurwitz ζ gives the tails."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    n = 10**6
    partial = {p: float(mpmath.zeta(p) - mpmath.zeta(p, n + 1)) for p in (2, 4)}
    result = result_of(results, "robbins_monro")
    for label, expected in (
        ("inverse: Σ(ηₖ/η₀)²", partial[2]),
        ("inverse_square: Σηₖ/η₀", partial[2]),
        ("inverse_square: Σ(ηₖ/η₀)²", partial[4]),
    ):
        found = row(result, label)
        assert found.theory == pytest.approx(expected, rel=1e-15)
        assert found.measured == pytest.approx(expected, rel=1e-12)
    assert row(result, "inverse_square: Σηₖ/η₀").theory != pytest.approx(math.pi**2 / 6, rel=1e-7)


def test_perturbation_gains_follow_the_k_recursion():
    from zoo.experiments.perturbation import gain, noise_term

    m, n = 3, 5
    assert gain("GD", m, n) == n + 2
    assert gain("NP", m, n) == (m + 2) * (n + 2)
    assert gain("WP", m, n) == (m * n + 2) * (n + 2)
    assert noise_term("NP", m, n, 0.1) == pytest.approx(0.25 * 0.01 * n * m * (m + 2) * (m + 4))
    assert gain("WP", 2, 4) / gain("GD", 2, 4) == 2 * 4 + 2  # K_WP/K_GD = MN + 2


@pytest.mark.slow
def test_perturbation_slopes_follow_the_asymptotic_exponents(results):
    result = result_of(results, "perturbation")
    slopes = {
        r.quantity.split(":")[0] + r.quantity.split("in ")[1][0]: r.measured
        for r in result.rows
        if "slope" in r.quantity
    }
    # The asymptotic exponents (GD 0, 1; NP 1, 1; WP 1, 2) order the measured slopes.
    assert abs(slopes["GDM"]) < 0.1
    assert slopes["GDN"] > 0.7 and slopes["NPM"] > 0.4 and slopes["WPN"] > 1.5
    assert slopes["WPN"] > slopes["NPN"] + 0.7


def test_deep_linear_closed_form_solves_saxes_equation():
    from zoo.experiments.deep_linear import closed_form, plateau_time

    s, u0, tau = 2.0, 1e-3, 50.0
    t = np.linspace(0, 200, 2001)
    u = closed_form(t, s, u0, tau)
    dt = 1e-4
    derivative = (closed_form(t + dt, s, u0, tau) - closed_form(t - dt, s, u0, tau)) / (2 * dt)
    assert np.allclose(tau * derivative, 2 * u * (s - u), rtol=1e-6, atol=1e-9)
    assert u[0] == pytest.approx(u0)
    assert closed_form(np.array([plateau_time(s, u0, tau)]), s, u0, tau)[0] == pytest.approx(s / 2)


def finite_difference_gradient(problem, x, h=1e-6):
    columns = []
    for i in range(x.shape[1]):
        e = np.zeros_like(x)
        e[:, i] = h
        columns.append((problem.loss(x + e) - problem.loss(x - e)) / (2 * h))
    return np.stack(columns, axis=1)


def test_the_private_experiment_models_have_exact_derivatives():
    """The models the registry cannot express: gradients against central differences,
    least-squares losses against ½‖r‖², and the saddle's Hessian against its gradient."""
    from zoo.experiments.perceptron_vs_backprop import SigmoidUnit
    from zoo.experiments.perturbation import OnlineStudent
    from zoo.experiments.saddle_escape import QuarticSaddle

    rng = np.random.default_rng(3)
    problems = [
        SigmoidUnit(rng.standard_normal(6), np.array([1.0, -1, 1, -1, 1, -1])),
        OnlineStudent(rng.standard_normal((2, 3))),
        QuarticSaddle(),
    ]
    for problem in problems:
        x = rng.standard_normal((2, problem.dim))
        assert np.allclose(
            problem.grad(x), finite_difference_gradient(problem, x), rtol=1e-5, atol=1e-7
        ), type(problem).__name__
        if "residuals" in problem.provides:
            r = problem.residuals(x)
            assert np.allclose(problem.loss(x), 0.5 * np.sum(r**2, axis=1))
    saddle, h = QuarticSaddle(), 1e-6
    x = rng.standard_normal((3, 2))
    numeric = np.stack(
        [(saddle.grad(x + h * e) - saddle.grad(x - h * e)) / (2 * h) for e in np.eye(2)], axis=2
    )
    assert np.allclose(saddle.hess(x), numeric, atol=1e-6)


def test_gauss_newton_map_derivative_is_the_cycle_criterion():
    """The experiment's |eigenvalue| row: I − (JᵀJ)⁻¹∇²F is the derivative of the GN map
    θ ↦ θ − (JᵀJ)⁻¹∇F at a minimum, checked here against central differences of that map."""
    from zoo import build_problem, load_registry, simulate
    from zoo.experiments.gauss_newton import CYCLE_DATA_SEED, CYCLE_SETTINGS

    registry = load_registry()
    problem = build_problem("curve_fit", CYCLE_SETTINGS, seed=CYCLE_DATA_SEED, registry=registry)
    theta = simulate(problem, "levenberg_marquardt", steps=200, registry=registry).x[-1]

    def gn_map(x):
        jac = problem.jacobian(x[None])[0]
        return x - np.linalg.solve(jac.T @ jac, problem.grad(x[None])[0])

    h = 1e-6
    numeric = np.stack(
        [(gn_map(theta + h * e) - gn_map(theta - h * e)) / (2 * h) for e in np.eye(2)], axis=1
    )
    jac = problem.jacobian(theta[None])[0]
    analytic = np.eye(2) - np.linalg.solve(jac.T @ jac, problem.hess(theta[None])[0])
    assert np.allclose(numeric, analytic, atol=1e-5)
    assert np.min(np.linalg.eigvals(numeric).real) < -1  # the minimum repels plain GN


def test_wide_net_kernels_are_the_closed_forms():
    """H∞ (from the registry's wide_relu) and the arc-cosine kernel against Monte Carlo."""
    from zoo import build_problem
    from zoo.experiments.wide_net import arccos_kernel

    problem = build_problem("wide_relu", {"width": 10, "input_dim": 3, "n_points": 4}, seed=1)
    inputs = problem.points
    gram = problem.gram_infinity()
    assert np.allclose(np.diag(gram), 0.5)
    rng = np.random.default_rng(1)
    w = rng.standard_normal((200_000, 3))
    active = (w @ inputs.T >= 0).astype(float)
    monte_carlo = (inputs @ inputs.T) * (active.T @ active) / len(w)
    assert np.max(np.abs(gram - monte_carlo)) < 5e-3
    features = np.maximum(w @ inputs.T, 0.0)
    assert np.max(np.abs(arccos_kernel(inputs) - features.T @ features / len(w))) < 5e-3


def test_perceptron_bound_uses_the_best_margin():
    from zoo.experiments.perceptron_vs_backprop import best_margin

    inputs = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert best_margin(inputs, np.array([1.0, -1.0])) == pytest.approx(1.0, abs=1e-9)


def test_an_experiment_is_deterministic_for_its_seed():
    first = run_experiment("linear_neuron", seed=4)
    again = run_experiment("linear_neuron", seed=4)
    assert first.as_dict() == again.as_dict()
    assert run_experiment("linear_neuron", seed=5).as_dict() != first.as_dict()


def namespace(**values):
    defaults = {"list": False, "name": None, "json": False, "seed": 0}
    defaults.update(values)
    return argparse.Namespace(**defaults)


def test_command_lists_every_experiment_with_its_summary(capsys):
    assert command(namespace(list=True)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(NAMES)
    assert all(len(line.split(maxsplit=1)) == 2 for line in lines)


def test_command_prints_json_with_the_documented_keys(capsys):
    assert command(namespace(name="linear_neuron", json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"name", "rows", "passed"}
    assert data["name"] == "linear_neuron" and data["passed"] is True
    assert all(set(r) == {"quantity", "measured", "theory", "agrees"} for r in data["rows"])


def test_command_prints_an_aligned_table_and_a_verdict(capsys):
    assert command(namespace(name="linear_neuron")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("passed")
    table = [line for line in out if line.endswith(("✓", "✗"))]
    assert table and len({line.rindex("✓") for line in table}) == 1


def test_command_exits_1_when_an_agreement_fails(capsys, monkeypatch):
    failing = Result("linear_neuron", [Row.close("x", 1.0, 2.0, rtol=0.1)])
    monkeypatch.setattr("zoo.experiments.run_experiment", lambda name, seed=0: failing)
    assert command(namespace(name="linear_neuron")) == 1
    assert "FAILED: 1 of 1" in capsys.readouterr().out


def test_command_exits_2_for_an_unknown_name_listing_the_valid_ones(capsys):
    assert command(namespace(name="nope")) == 2
    message = capsys.readouterr().err
    assert "nope" in message and all(name in message for name in NAMES)


def test_rows_hold_plain_python_values():
    item = Row("x", np.float64(1.5), np.int64(2), np.bool_(True))
    assert type(item.agrees) is bool and type(item.measured) is float
    assert type(item.theory) is int


def test_row_close_refuses_nan():
    assert not Row.close("x", float("nan"), 0.0, atol=1.0).agrees
    assert Row.close("x", 1.05, 1.0, rtol=0.1).agrees
    assert not Row.close("x", 1.2, 1.0, rtol=0.1).agrees


def test_format_table_marks_agreement():
    result = Result("demo", [Row.close("a", 1.0, 1.0), Row.close("b", 1.0, 3.0)])
    text = format_table(result)
    assert "✓" in text and "✗" in text and text.splitlines()[-1].startswith("FAILED")


@pytest.mark.parametrize("name", [n for n in NAMES if EXPERIMENTS[n].lesson])
def test_every_lesson_scene_loads_and_runs(name):

    from zoo import load_registry
    from zoo.session import load_scene

    registry = load_registry()
    path = LESSONS / f"{EXPERIMENTS[name].lesson}.json"
    scene = load_scene(path, registry)
    _, runs, run_ids = scene.build(registry)
    runs.step(100)
    assert all(runs.status(i).state != "failed" for i in run_ids)


def test_the_gauss_newton_scene_shows_the_cycle():
    """The lesson's two runs: Gauss–Newton on a two-point cycle, LM at the minimum."""

    from zoo import load_registry
    from zoo.session import load_scene

    registry = load_registry()
    path = LESSONS / "experiment_gauss_newton.json"
    _, runs, (plain, damped) = load_scene(path, registry).build(registry)
    runs.step(400)
    cycle = runs.trajectory(plain)
    jumps = np.linalg.norm(np.diff(cycle.x[-20:], axis=0), axis=1)
    assert jumps.min() > 0.05
    assert np.linalg.norm(cycle.x[-1] - cycle.x[-3]) < 1e-3 * jumps.min()
    assert runs.trajectory(damped).grad_norm[-1] < 1e-6


def test_sigmoid_unit_is_accurate_in_both_tails():
    """σ(z) − t and σ′(z) against mpmath at 50 digits, far into both tails."""
    mpmath = pytest.importorskip("mpmath")
    from zoo.experiments.perceptron_vs_backprop import SigmoidUnit

    mpmath.mp.dps = 50
    unit = SigmoidUnit(np.array([1.0]), np.array([-1.0]))
    for z in (-700.0, -40.0, -1.0, 0.5, 40.0, 700.0):
        x = np.array([[z, 0.0]])
        sigma = 1 / (1 + mpmath.exp(-z))
        assert unit.residuals(x)[0, 0] == pytest.approx(float(sigma - unit.targets[0]), rel=1e-15)
        slope = float(sigma * (1 - sigma))
        assert unit.jacobian(x)[0, 0, 0] == pytest.approx(slope, rel=1e-14)
