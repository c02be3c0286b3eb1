"""Learning-rate schedules: the factor that multiplies ``lr`` at step k = 0, 1, 2, …

Every ``factor`` is a numpy expression, so it accepts a step or an array of steps and
parameters given as numbers or as ``(B, 1)`` columns (the engine passes one per run).
Each schedule also says whether it meets the Robbins–Monro conditions Σηₖ = ∞ and
Σηₖ² < ∞ under which stochastic gradient descent converges to a minimum rather than
wandering around it.
"""

from __future__ import annotations

import numpy as np

from zoo import Param, ScheduleSpec, hookimpl


def _k(step) -> np.ndarray:
    return np.asarray(step, dtype=float)


def _cosine(position, period, eta_min) -> np.ndarray:
    return eta_min + (1 - eta_min) * (1 + np.cos(np.pi * position / period)) / 2


def constant(step):
    return np.ones_like(_k(step))


def step_decay(step, step_size, gamma):
    return np.asarray(gamma, dtype=float) ** np.floor(_k(step) / step_size)


def exponential(step, gamma):
    return np.asarray(gamma, dtype=float) ** _k(step)


def inverse(step):
    return 1 / (_k(step) + 1)


def inverse_square(step):
    return 1 / (_k(step) + 1) ** 2


def inverse_sqrt(step):
    return 1 / np.sqrt(_k(step) + 1)


def power(step, p):
    return (_k(step) + 1) ** -np.asarray(p, dtype=float)


def cosine(step, t_max, eta_min):
    return _cosine(_k(step), t_max, eta_min)


def cosine_restarts(step, t_0, t_mult, eta_min):
    """SGDR: cycle n starts at t₀(mⁿ − 1)/(m − 1) and lasts t₀mⁿ steps (m = t_mult)."""
    k = _k(step)
    t_0 = np.asarray(t_0, dtype=float)
    t_mult = np.asarray(t_mult, dtype=float)
    growing = t_mult > 1
    ratio = np.where(growing, t_mult, 2.0)  # placeholder where the cycles do not grow

    def start(n):
        return np.where(growing, t_0 * (ratio**n - 1) / (ratio - 1), t_0 * n)

    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(growing, np.log(k / t_0 * (ratio - 1) + 1) / np.log(ratio), k / t_0)
    n = np.floor(guess)
    # The logarithm can land a hair either side of an integer at a cycle boundary.
    n = np.where(start(n) > k, n - 1, n)
    n = np.where(start(n + 1) <= k, n + 1, n)
    length = np.where(growing, t_0 * ratio**n, t_0)
    return _cosine(k - start(n), length, eta_min)


def linear_warmup(step, warmup, start_factor):
    return start_factor + (1 - start_factor) * np.minimum(_k(step), warmup) / warmup


def _never(**params) -> bool:
    return False


def _always(**params) -> bool:
    return True


def power_verdict(p: float) -> bool:
    """Σ(k+1)^−p diverges iff p ≤ 1; Σ(k+1)^−2p converges iff p > ½."""
    return 0.5 < p <= 1


GAMMA = "decay factor γ"
ETA_MIN = Param("eta_min", 0.0, low=0.0, high=1.0, doc="lowest factor, as a fraction of lr")

SCHEDULES = [
    ScheduleSpec(
        "constant", constant, (), "Constant", "ηₖ = η₀. Never settles under noise.", _never
    ),
    ScheduleSpec(
        "step",
        step_decay,
        (
            Param("step_size", 10, low=1, high=1000, kind="int", doc="steps between decays"),
            Param("gamma", 0.1, low=0.001, high=1.0, doc=GAMMA),
        ),
        "Step decay",
        "ηₖ = η₀·γ^⌊k/step_size⌋, as torch StepLR. Σηₖ is finite: it stops short.",
        _never,
    ),
    ScheduleSpec(
        "exponential",
        exponential,
        (Param("gamma", 0.99, low=0.5, high=1.0, doc=GAMMA),),
        "Exponential",
        "ηₖ = η₀·γᵏ, as torch ExponentialLR. Σηₖ = η₀/(1 − γ) is finite: it stops short.",
        _never,
    ),
    ScheduleSpec(
        "inverse",
        inverse,
        (),
        "1/(k+1)",
        "ηₖ = η₀/(k + 1): Σηₖ = ∞ and Σηₖ² = η₀²π²/6, the classic Robbins–Monro rate.",
        _always,
    ),
    ScheduleSpec(
        "inverse_square",
        inverse_square,
        (),
        "1/(k+1)²",
        "ηₖ = η₀/(k + 1)²: Σηₖ = η₀π²/6 is finite, so the iterates stall short of the minimum.",
        _never,
    ),
    ScheduleSpec(
        "inverse_sqrt",
        inverse_sqrt,
        (),
        "1/√(k+1)",
        "ηₖ = η₀/√(k + 1): Σηₖ² = ∞, so the noise never averages out.",
        _never,
    ),
    ScheduleSpec(
        "power",
        power,
        (Param("p", 0.75, low=0.0, high=3.0, doc="decay exponent p"),),
        "Power (k+1)^−p",
        "ηₖ = η₀/(k + 1)^p: Robbins–Monro iff ½ < p ≤ 1.",
        power_verdict,
    ),
    ScheduleSpec(
        "cosine",
        cosine,
        (Param("t_max", 100, low=1, high=100000, kind="int", doc="half period T_max"), ETA_MIN),
        "Cosine",
        "ηₖ = η_min + ½(η₀ − η_min)(1 + cos(πk/T_max)), as torch CosineAnnealingLR: past "
        "T_max it climbs back (period 2T_max).",
        _never,
    ),
    ScheduleSpec(
        "cosine_restarts",
        cosine_restarts,
        (
            Param("t_0", 50, low=1, high=100000, kind="int", doc="length of the first cycle T₀"),
            Param("t_mult", 1, low=1, high=10, kind="int", doc="cycle length multiplier"),
            ETA_MIN,
        ),
        "Cosine with restarts (SGDR)",
        "Cosine from η₀ to η_min over each cycle, then back to η₀; cycle i lasts "
        "T₀·T_multⁱ steps, as torch CosineAnnealingWarmRestarts.",
        _never,
    ),
    ScheduleSpec(
        "linear_warmup",
        linear_warmup,
        (
            Param("warmup", 10, low=1, high=100000, kind="int", doc="warm-up steps W"),
            Param(
                "start_factor",
                0.1,
                low=1e-8,
                high=1.0,
                log=True,
                doc="factor at step 0, in (0, 1] as torch LinearLR requires",
            ),
        ),
        "Linear warm-up",
        "ηₖ = η₀(s + (1 − s)·min(k, W)/W), then constant, as torch LinearLR.",
        _never,
    ),
]


@hookimpl
def zoo_schedules():
    return SCHEDULES
