"""Gradient descent stuck at a saddle, and noise that sets it free.

On E(x, y) = ½x² − ½y² + ¼y⁴ the origin is a saddle (Hessian diag(1, −1)) between the
minima (0, ±1).  Started on the saddle's stable manifold y = 0, gradient descent converges
to the saddle: the gradient vanishes there, so nothing pushes it off.  A start a distance δ
off the manifold escapes as y_k = (1 + ημ)^k·δ (μ = 1, the negative curvature), after
ln(r/δ)/ln(1 + ημ) steps to reach |y| = r.  With gradient noise of standard deviation σ, y is
Gaussian with variance η²σ²((1 + ημ)^{2k} − 1)/((1 + ημ)² − 1) while it is small, so half of
the runs have left |y| < r by the step where r = 0.6745·std (the median of |N(0, 1)|).
"""

from __future__ import annotations

import math

import numpy as np

from zoo import Problem, RunConfig, RunSet
from zoo.experiments import Result, Row
from zoo.experiments.progress import stepped
from zoo.registry import load_for_builtins

LR = 0.1
NOISE = 1e-3
OFFSET = 1e-8  # δ, the deterministic nudge off the stable manifold
RADIUS = 0.1  # |y| that counts as having left the saddle (still in its linear zone)
STEPS = 400
RUNS = 400
START = (1.0, 0.0)
MEDIAN_ABS_NORMAL = 0.6744897501960817
#: Noisy GD is SGLD: its step −η∇E + √(2ηT)ξ equals −η(∇E + σξ) at temperature T = ησ²/2.
NOISY = {"lr": LR, "temperature": LR * NOISE**2 / 2}


class QuarticSaddle(Problem):
    """E = ½x² − ½y² + ¼y⁴: a saddle at the origin, minima at (0, ±1).

    The registry's ``saddle`` is u² − v², unbounded below with no setting for a quartic
    term: it has no minima for the escaping runs to reach, so this surface stays here.
    """

    bounds = ((-1.5, 1.5), (-1.5, 1.5))

    @property
    def start(self) -> np.ndarray:
        return np.array(START)

    @property
    def minima(self) -> np.ndarray:
        return np.array([[0.0, 1.0], [0.0, -1.0]])

    def loss(self, x: np.ndarray) -> np.ndarray:
        return 0.5 * x[:, 0] ** 2 - 0.5 * x[:, 1] ** 2 + 0.25 * x[:, 1] ** 4

    def grad(self, x: np.ndarray) -> np.ndarray:
        return np.stack([x[:, 0], x[:, 1] ** 3 - x[:, 1]], axis=1)

    def hess(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((len(x), 2, 2))
        out[:, 0, 0] = 1.0
        out[:, 1, 1] = 3 * x[:, 1] ** 2 - 1
        return out


def escape_steps_deterministic(offset: float, radius: float, lr: float, mu: float) -> float:
    return math.log(radius / offset) / math.log(1 + lr * mu)


def escape_steps_noisy(noise: float, radius: float, lr: float, mu: float) -> float:
    """The step at which the linearised spread of y makes P(|y| ≥ r) = ½."""
    growth = (1 + lr * mu) ** 2
    target = (radius / MEDIAN_ABS_NORMAL) ** 2
    return math.log(1 + target * (growth - 1) / (lr * noise) ** 2) / math.log(growth)


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    saddle = QuarticSaddle()
    mu = -float(np.linalg.eigvalsh(saddle.hess(np.zeros((1, 2)))[0])[0])
    runs = RunSet(saddle, registry, gtol=0.0, history="full")
    stuck = runs.add(RunConfig("sgd", {"lr": LR}, start=START, seed=seed, label="GD"))
    nudged = runs.add(
        RunConfig("sgd", {"lr": LR}, start=(START[0], OFFSET), seed=seed, label="GD, y₀ = δ")
    )
    noisy = [
        runs.add(RunConfig("sgld", NOISY, start=START, seed=(RUNS + 1) * seed + 1 + i))
        for i in range(RUNS)
    ]
    stepped(runs, STEPS)
    steps = np.arange(STEPS + 1)
    stuck_x = runs.history(stuck)[0]
    nudged_x = runs.history(nudged)[0]
    noisy_y = np.array([runs.history(i)[0][:, 1] for i in noisy])
    first = np.array([_first_exit(path) for path in noisy_y], dtype=float)
    end = stuck_x[-1:]
    rows = [
        Row.close(
            "GD on the stable manifold: distance to the saddle at the end",
            np.linalg.norm(end),
            0.0,
            atol=1e-12,
        ),
        Row.close(
            "GD on the stable manifold: lowest Hessian eigenvalue where it stops",
            np.linalg.eigvalsh(saddle.hess(end)[0])[0],
            -1.0,
            rtol=1e-9,
        ),
        Row.close(
            "GD on the stable manifold: loss at the end (the saddle's, not the minimum's)",
            saddle.loss(end)[0],
            0.0,
            atol=1e-12,
        ),
        Row.close(
            "GD from y₀ = δ: steps until |y| ≥ r",
            _first_exit(nudged_x[:, 1]),
            escape_steps_deterministic(OFFSET, RADIUS, LR, mu),
            atol=1.0,
        ),
        Row.close(
            "noisy GD: fraction of runs that left the saddle",
            np.mean(np.isfinite(first)),
            1.0,
            atol=0.0,
        ),
        Row.close(
            f"noisy GD: median steps until |y| ≥ r ({RUNS} runs)",
            np.median(first),
            escape_steps_noisy(NOISE, RADIUS, LR, mu),
            rtol=0.05,
        ),
        Row.close(
            "noisy GD: fraction ending in a minimum's basin (|y| > ½)",
            np.mean(np.abs(noisy_y[:, -1]) > 0.5),
            1.0,
            atol=0.0,
        ),
    ]
    predicted = LR * NOISE * np.sqrt(((1 + LR * mu) ** (2 * steps) - 1) / ((1 + LR * mu) ** 2 - 1))
    linear = steps <= np.nanmin(first)
    curves = {
        "|y_k| (distance off the stable manifold)": {
            "GD": (steps, np.abs(stuck_x[:, 1])),
            "GD, y₀ = δ": (steps, np.abs(nudged_x[:, 1])),
            "noisy GD, median": (steps, np.median(np.abs(noisy_y), axis=0)),
            "noise theory: 0.6745·std": (steps[linear], MEDIAN_ABS_NORMAL * predicted[linear]),
        },
        "loss": {
            "GD": (steps, runs.history(stuck)[1]),
            "GD, y₀ = δ": (steps, runs.history(nudged)[1]),
            "noisy GD, first run": (steps, runs.history(noisy[0])[1]),
        },
    }
    return Result("saddle_escape", rows, curves)


def _first_exit(y: np.ndarray) -> float:
    """The first step with |y| ≥ RADIUS (NaN if never)."""
    outside = np.abs(y) >= RADIUS
    return float(np.argmax(outside)) if outside.any() else float("nan")
