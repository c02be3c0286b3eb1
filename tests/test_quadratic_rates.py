"""Step-size theory on quadratics, measured from simulated runs of the built-in optimizers.

Rates are read off the error decay ‖x_k − x*‖ of runs on the ``quadratic`` model with
κ = 100 and compared with the spectral radii of the theory (Goh 2017; Lessard, Recht &
Packard 2016).  The optimally tuned momentum methods sit at a double root of their
iteration matrix, so their error decays like k·ρᵏ, not ρᵏ: the fit of log‖e_k‖ has a log k
term to absorb that, and its coefficient shows the double root.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from zoo import build_problem, simulate

MU, L = 1.0, 100.0
KAPPA = L / MU
BOWL = {"lambda1": MU, "lambda2": L, "angle": 30.0}
ROOT = math.sqrt(KAPPA)
LESSARD = math.sqrt(3 * KAPPA + 1)

RATES = {
    "gradient descent at 2/(μ+L)": ("sgd", {"lr": 2 / (MU + L)}, 0.980198, 0.0),
    "heavy ball, Polyak's tuning": (
        "sgd",
        {"lr": 4 / (math.sqrt(MU) + math.sqrt(L)) ** 2, "momentum": ((ROOT - 1) / (ROOT + 1)) ** 2},
        0.818182,
        1.0,
    ),
    "Nesterov at 4/(3L+μ)": (
        "sgd",
        {"lr": 4 / (3 * L + MU), "momentum": (LESSARD - 2) / (LESSARD + 2), "nesterov": True},
        0.884722,
        1.0,
    ),
    "Nesterov at 1/L": (
        "sgd",
        {"lr": 1 / L, "momentum": (ROOT - 1) / (ROOT + 1), "nesterov": True},
        0.900000,
        1.0,
    ),
}


def measured_rate(errors: np.ndarray) -> tuple[float, float]:
    """ρ and p from a least-squares fit of log e_k = c + k·log ρ + p·log k (last ⅔ of the run)."""
    k = np.arange(len(errors) // 3, len(errors))
    basis = np.stack([np.ones(len(k)), k, np.log(k)], axis=1)
    (_, log_rate, power), *_ = np.linalg.lstsq(basis, np.log(errors[k]), rcond=None)
    return math.exp(log_rate), power


@pytest.mark.parametrize("case", sorted(RATES))
def test_kappa_100_rates(case, registry):
    optimizer, hyper, expected, power = RATES[case]
    # x* = 0, so the error is the iterate itself; 600 steps stay far above underflow.
    trajectory = simulate(
        "quadratic", optimizer, steps=600, settings=BOWL, hyper=hyper, registry=registry, gtol=0
    )
    assert trajectory.status.state == "running"
    rate, fitted_power = measured_rate(np.linalg.norm(trajectory.x, axis=1))
    assert rate == pytest.approx(expected, abs=2e-4)
    assert fitted_power == pytest.approx(power, abs=0.1)


def test_momentum_beats_gradient_descent_by_the_square_root_of_kappa(registry):
    """Steps to shrink the error 1000-fold: ∝ κ for GD, ∝ √κ for heavy ball."""
    steps = {}
    for name in ("gradient descent at 2/(μ+L)", "heavy ball, Polyak's tuning"):
        optimizer, hyper, _, _ = RATES[name]
        trajectory = simulate(
            "quadratic", optimizer, steps=600, settings=BOWL, hyper=hyper, registry=registry, gtol=0
        )
        errors = np.linalg.norm(trajectory.x, axis=1)
        steps[name] = int(np.argmax(errors < 1e-3 * errors[0]))
    ratio = steps["gradient descent at 2/(μ+L)"] / steps["heavy ball, Polyak's tuning"]
    assert 0.5 * ROOT < ratio < 2 * ROOT


@pytest.mark.parametrize(
    "settings",
    [
        {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0, "cx": 0.7, "cy": -1.3},
        {"lambda1": 0.01, "lambda2": 100.0, "angle": -75.0, "cx": -4.0, "cy": 2.5},
        {"lambda1": -2.0, "lambda2": 5.0, "angle": 10.0, "cx": 1.0, "cy": 1.0},  # a saddle
    ],
)
@pytest.mark.parametrize("start", [(-1.5, 1.0), (8.0, -9.0)])
def test_newton_lands_on_the_stationary_point_in_one_step(settings, start, registry):
    trajectory = simulate(
        "quadratic", "newton", steps=1, settings=settings, start=start, registry=registry, gtol=0
    )
    centre = np.array([settings["cx"], settings["cy"]])
    # A backward-stable solve of H d = g errs by about κ(H)·ε relative to the step taken.
    lambdas = np.abs([settings["lambda1"], settings["lambda2"]])
    jump = np.linalg.norm(trajectory.x[0] - centre)
    bound = 4 * (lambdas.max() / lambdas.min()) * np.finfo(float).eps * jump
    assert np.linalg.norm(trajectory.x[1] - centre) <= bound
    assert jump > 1


def _eigen_components(trajectory, problem) -> tuple[np.ndarray, np.ndarray]:
    eigenvalues, vectors = np.linalg.eigh(problem.hess(np.zeros((1, 2)))[0])
    return eigenvalues, np.abs(trajectory.x @ vectors)  # x* = 0


@pytest.mark.parametrize("relative", [0.3, 0.7, 0.999, 1.0, 1.001, 1.1, 1.5])
def test_an_eigen_direction_diverges_exactly_past_two_over_lambda(relative, registry):
    """With λ = 1 and 10, η = relative·2/10: the stiff direction grows iff η > 2/λ_max,
    each component shrinks by |1 − ηλ| per step, and the flat one always converges."""
    settings = {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0}
    problem = build_problem("quadratic", settings, registry=registry)
    lr = relative * 2 / 10.0
    steps = 12
    trajectory = simulate(problem, "sgd", steps=steps, hyper={"lr": lr}, registry=registry, gtol=0)
    eigenvalues, components = _eigen_components(trajectory, problem)
    factor = (components[-1] / components[0]) ** (1 / steps)
    assert np.allclose(factor, np.abs(1 - lr * eigenvalues), rtol=1e-7)
    assert components[-1, 0] < components[0, 0]
    if relative == 1.0:  # η = 2/λ: the stiff component flips sign at constant amplitude
        assert np.allclose(components[:, 1], components[0, 1], rtol=1e-9)
    else:
        stiff_grows = components[-1, 1] > components[0, 1]
        assert stiff_grows == (lr > 2 / eigenvalues[1])
