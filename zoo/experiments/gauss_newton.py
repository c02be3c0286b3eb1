"""Fitting a network by linearisation: plain Gauss–Newton fails, Levenberg–Marquardt converges.

The network is one hidden tanh unit, f(t) = v·tanh(w·t), fitted by least squares to noisy
samples of itself.  Its Jacobian B (the sensitivities ∂f(tᵢ)/∂θⱼ that backprop computes)
linearises the fit, and the full Gauss–Newton step solves BᵀBh = −Bᵀr, as if the network
were linear.  From a poor start that step overshoots onto the flat region where tanh
saturates, and the iterates stall at a badly fitting value, as the source reports ("the
weights cycle over a group of bad values and more or less never converge").  Levenberg–
Marquardt damps the same step until the loss falls and converges from every start.

At the fit θ̂, the linearisation also gives the posterior covariance σ²(JᵀJ)⁻¹; refitting
many data sets drawn around θ̂ with fresh noise measures the real spread of the estimates.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, load_registry, simulate
from zoo.experiments import Result, Row

POINTS = np.linspace(-2.0, 2.0, 20)
TRUTH = (1.5, 1.0)  # (w, v)
NOISE = 0.05  # σ of the data
BAD_START = (3.0, 0.1)
STARTS = 12  # random starts for the convergence count
STEPS = 60
REFITS = 400
GTOL = 1e-6  # a gradient this small counts as converged (LM's gain test stalls near 1e-8)


class TanhUnitFit(Problem):
    """½Σ(v·tanh(w·tᵢ) − yᵢ)² over θ = (w, v), as least squares."""

    bounds = ((-4.0, 4.0), (-3.0, 3.0))

    def __init__(self, points: np.ndarray, targets: np.ndarray) -> None:
        self.points = points
        self.targets = targets

    @property
    def start(self) -> np.ndarray:
        return np.array(BAD_START)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return x[:, 1:2] * np.tanh(x[:, 0:1] * self.points) - self.targets

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        s = np.tanh(x[:, 0:1] * self.points)
        return np.stack([x[:, 1:2] * (1 - s**2) * self.points, s], axis=2)

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.residuals(x)
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("bn,bnd->bd", self.residuals(x), self.jacobian(x))


def clean_curve(theta) -> np.ndarray:
    return theta[1] * np.tanh(theta[0] * POINTS)


def run(seed: int = 0) -> Result:
    registry = load_registry()
    rng = np.random.default_rng(seed)
    problem = TanhUnitFit(POINTS, clean_curve(TRUTH) + NOISE * rng.standard_normal(len(POINTS)))
    plain = simulate(problem, "gauss_newton", steps=STEPS, registry=registry, gtol=GTOL)
    damped = simulate(problem, "levenberg_marquardt", steps=STEPS, registry=registry, gtol=GTOL)
    theta = damped.x[-1]
    # Starts with w·v > 0, on the minimum's side of the saddle at the origin, plus the poor one.
    starts = np.vstack([rng.uniform(0.1, 3.0, (STARTS - 1, 2)), BAD_START])
    converged = {"gauss_newton": 0, "levenberg_marquardt": 0}
    rise = 0.0
    for start in starts:
        for name in converged:
            path = simulate(problem, name, steps=STEPS, start=start, registry=registry, gtol=GTOL)
            converged[name] += bool(
                path.status.state == "converged" and abs(path.loss[-1] - damped.loss[-1]) < 1e-9
            )
            if name == "levenberg_marquardt":
                rise = max(rise, float(np.max(np.diff(path.loss), initial=0.0)))
    jacobian = problem.jacobian(theta[None])[0]
    covariance = NOISE**2 * np.linalg.inv(jacobian.T @ jacobian)
    refits = np.array([_refit(theta, rng, registry) for _ in range(REFITS)])
    sample = np.cov(refits.T)
    sigma2 = 2 * damped.loss[-1] / (len(POINTS) - 2)
    low, high = (NOISE**2 * _chi2_quantile_ratio(len(POINTS) - 2, z) for z in (-3.29, 3.29))
    # Each sample variance from REFITS fits has relative error ≈ √(2/REFITS) = 7 %.
    rows = [
        Row(
            "plain GN from the poor start: final loss / LM's minimum",
            float(plain.loss[-1] / damped.loss[-1]),
            "≫ 1 (stalls on bad values)",
            bool(plain.loss[-1] > 5 * damped.loss[-1]),
        ),
        Row(
            "plain GN from the poor start: |w| where it stops",
            float(abs(plain.x[-1, 0])),
            "≫ 1 (tanh saturated, gradient flat)",
            bool(abs(plain.x[-1, 0]) > 20),
        ),
        Row.close(
            "LM from the poor start: final gradient norm", damped.grad_norm[-1], 0.0, atol=GTOL
        ),
        Row.close("LM: largest rise of the loss between steps, any start", rise, 0.0, atol=0.0),
        Row(
            f"plain GN: starts (w·v > 0) reaching the minimum (of {STARTS})",
            converged["gauss_newton"],
            f"< {STARTS}",
            converged["gauss_newton"] < STARTS,
        ),
        Row.close(
            f"LM: starts (w·v > 0) reaching the minimum (of {STARTS})",
            converged["levenberg_marquardt"],
            STARTS,
            atol=0,
        ),
        Row(
            "σ̂² = ‖r‖²/(n − p) at the fit",
            float(sigma2),
            f"σ² = {NOISE**2:g} (χ² 99.9 %: {low:.2g}–{high:.2g})",
            bool(low <= sigma2 <= high),
        ),
        Row.close(
            f"Var ŵ over {REFITS} refits vs σ²(JᵀJ)⁻¹", sample[0, 0], covariance[0, 0], rtol=0.2
        ),
        Row.close(
            f"Var v̂ over {REFITS} refits vs σ²(JᵀJ)⁻¹", sample[1, 1], covariance[1, 1], rtol=0.2
        ),
        Row.close(
            "correlation of ŵ and v̂ vs σ²(JᵀJ)⁻¹",
            sample[0, 1] / np.sqrt(sample[0, 0] * sample[1, 1]),
            covariance[0, 1] / np.sqrt(covariance[0, 0] * covariance[1, 1]),
            atol=0.1,
        ),
    ]
    curves = {
        "loss from the poor start": {
            "Gauss–Newton": (np.arange(len(plain.loss)), plain.loss),
            "Levenberg–Marquardt": (np.arange(len(damped.loss)), damped.loss),
        },
        "w along the way": {
            "Gauss–Newton": (np.arange(len(plain.x)), plain.x[:, 0]),
            "Levenberg–Marquardt": (np.arange(len(damped.x)), damped.x[:, 0]),
        },
        "refits (w, v) and the σ²(JᵀJ)⁻¹ ellipse": {
            "refits": (refits[:, 0], refits[:, 1]),
            "2σ ellipse": _ellipse(theta, covariance),
        },
    }
    return Result("gauss_newton", rows, curves)


def _refit(theta: np.ndarray, rng: np.random.Generator, registry) -> np.ndarray:
    """Fit a fresh data set drawn around the fitted curve, starting from the fit."""
    targets = clean_curve(theta) + NOISE * rng.standard_normal(len(POINTS))
    path = simulate(
        TanhUnitFit(POINTS, targets),
        "levenberg_marquardt",
        steps=STEPS,
        start=theta,
        registry=registry,
        gtol=GTOL,
    )
    return path.x[-1]


def _chi2_quantile_ratio(dof: int, z: float) -> float:
    """χ²_dof/dof at the normal quantile z (Wilson–Hilferty): the spread of σ̂²/σ²."""
    return (1 - 2 / (9 * dof) + z * np.sqrt(2 / (9 * dof))) ** 3


def _ellipse(centre: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    angle = np.linspace(0, 2 * np.pi, 200)
    values, vectors = np.linalg.eigh(covariance)
    points = centre[:, None] + 2 * vectors @ (
        np.sqrt(values)[:, None] * np.stack([np.cos(angle), np.sin(angle)])
    )
    return points[0], points[1]
