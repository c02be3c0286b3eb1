"""Robbins & Monro: a step-size schedule must sum to infinity, and its squares must not.

Gradient descent on the 1-D quadratic E = ½λx² with the gradient observed through
Gaussian noise of standard deviation σ.  Three schedules of ηₖ:

* η₀/(k+1)² sums to a finite value, so the iterate *stalls*: without noise it stops at
  x₀·Πₙ(1 − a/n²) = x₀·sin(π√a)/(π√a) with a = λη₀ (0.3581878 at a = ½), short of the minimum;
* c/(k+1) satisfies both conditions and *keeps going*: x_K/x₀ = Γ(K+1−a)/(Γ(1−a)Γ(K+1)) → 0
  without noise and the noise's variance dies out too;
* a constant η never stops *wandering*: the variance settles at ησ²/(λ(2 − ηλ)).

With noise the mean follows the noise-free path (the dynamics are linear) and the variance
follows the exact recursion vₖ₊₁ = (1 − ληₖ)²vₖ + ηₖ²σ², both measured over many runs.
"""

from __future__ import annotations

import math

import numpy as np

from zoo import RunConfig, RunSet, build_problem
from zoo.experiments import Result, Row

# The registry has no noisy-gradient model or optimizer with noise ∝ ηₖ (SGLD's is ∝ √ηₖ, a
# different process), so the noise is added to the registry's quadratic by this wrapper.
from zoo.experiments.noise import GradientNoise
from zoo.experiments.progress import stepped
from zoo.registry import load_for_builtins

CURVATURE = 1.0  # λ
ETA0 = 0.5  # so a = λη₀ = ½, the reference's stall point 0.3581878
NOISE = 0.5  # σ of the gradient noise
START = 1.0
STEPS = 2000
RUNS = 1000
CONSTANT_LR = 0.1
SUM_STEPS = 1_000_000  # partial sums of the schedules, as in the reference table


def stall_ratio(a: float) -> float:
    """Πₙ≥₁(1 − a/n²) = sin(π√a)/(π√a): where η₀/(k+1)² leaves the noise-free iterate."""
    root = math.pi * math.sqrt(a)
    return math.sin(root) / root


def harmonic_ratio(a: float, steps: int) -> float:
    """Πₙ₌₁^K (1 − a/n) = Γ(K+1−a)/(Γ(1−a)Γ(K+1)): c/(k+1) after K steps, a = λc."""
    return math.exp(math.lgamma(steps + 1 - a) - math.lgamma(1 - a) - math.lgamma(steps + 1))


def variance_recursion(rates: np.ndarray, curvature: float, noise: float) -> np.ndarray:
    """vₖ₊₁ = (1 − ληₖ)²vₖ + ηₖ²σ² from v₀ = 0: the exact spread of the noisy iterates."""
    variance = np.zeros(len(rates) + 1)
    for k, eta in enumerate(rates):
        variance[k + 1] = (1 - curvature * eta) ** 2 * variance[k] + (eta * noise) ** 2
    return variance


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    quadratic = build_problem("quadratic_1d", {"lambda1": CURVATURE}, registry=registry)
    problem = GradientNoise(quadratic, NOISE)
    schedules = {
        "η₀/(k+1)²": ("inverse_square", ETA0),
        "c/(k+1)": ("inverse", ETA0),
        "constant": ("constant", CONSTANT_LR),
    }
    runs = RunSet(problem, registry, gtol=0.0, history="full")
    clean, noisy = {}, {}
    for label, (schedule, lr) in schedules.items():
        clean[label] = runs.add(RunConfig("sgd", {"lr": lr}, schedule, start=(START,), seed=seed))
        noisy[label] = [
            runs.add(
                RunConfig("sgd", {"lr": lr}, schedule, start=(START,), seed=seed + i, batch_size=1)
            )
            for i in range(RUNS)
        ]
    stepped(runs, STEPS)
    steps = np.arange(STEPS + 1)
    rows: list[Row] = []
    curves: dict = {
        "noise-free iterate x_k": {},
        "noisy runs: mean square E[x_k²]": {},
        "learning rate η_k": {},
    }
    a = CURVATURE * ETA0
    for label, (schedule, lr) in schedules.items():
        path = runs.history(clean[label])[0][:, 0]
        curves["noise-free iterate x_k"][label] = (steps, path)
        ends = np.array([runs.history(i)[0][:, 0] for i in noisy[label]])  # (RUNS, STEPS+1)
        rates = lr * _factors(registry, schedule, STEPS)
        curves["learning rate η_k"][label] = (steps[:-1], rates)
        mean_square = np.mean(ends**2, axis=0)
        theory_square = _mean_path(rates) ** 2 + variance_recursion(rates, CURVATURE, NOISE)
        curves["noisy runs: mean square E[x_k²]"][f"{label}, measured"] = (steps, mean_square)
        curves["noisy runs: mean square E[x_k²]"][f"{label}, theory"] = (steps, theory_square)
        # The sample variance of RUNS Gaussian draws has relative error √(2/(RUNS−1)) ≈ 4.5 %.
        spread = np.var(ends[:, -1], ddof=1)
        if schedule != "constant":
            rows.append(
                Row.close(
                    f"{label}: variance of x_K over {RUNS} noisy runs",
                    spread,
                    variance_recursion(rates, CURVATURE, NOISE)[-1],
                    rtol=0.15,
                )
            )
        if schedule == "inverse_square":
            rows.append(
                Row.close(
                    "η₀/(k+1)², no noise: x_K/x₀ stalls at sin(π√a)/(π√a)",
                    path[-1] / START,
                    stall_ratio(a),
                    rtol=2 * a / STEPS,
                )
            )
            rows.append(
                Row.close(
                    "η₀/(k+1)², no noise: movement in the last half",
                    abs(path[-1] - path[STEPS // 2]),
                    0.0,
                    atol=a / STEPS,
                )
            )
        elif schedule == "inverse":
            rows.append(
                Row.close(
                    "c/(k+1), no noise: x_K/x₀ (Γ-function product → 0)",
                    path[-1] / START,
                    harmonic_ratio(a, STEPS),
                    rtol=1e-9,
                )
            )
            rows.append(
                Row.close(
                    "c/(k+1), noisy: mean square at K (keeps going)",
                    mean_square[-1],
                    theory_square[-1],
                    rtol=0.15,
                )
            )
        else:
            stationary = lr * NOISE**2 / (CURVATURE * (2 - lr * CURVATURE))
            rows.append(
                Row.close(
                    "constant η, noisy: variance settles at ησ²/(λ(2 − ηλ))",
                    spread,
                    stationary,
                    rtol=0.15,
                )
            )
    for schedule, sums in (
        ("inverse", (_harmonic(SUM_STEPS), _zeta_partial(2, SUM_STEPS))),
        ("inverse_square", (_zeta_partial(2, SUM_STEPS), _zeta_partial(4, SUM_STEPS))),
    ):
        factors = _factors(registry, schedule, SUM_STEPS)
        rows.append(
            Row.close(f"{schedule}: Σηₖ/η₀ over 10⁶ steps", factors.sum(), sums[0], rtol=1e-12)
        )
        rows.append(
            Row.close(
                f"{schedule}: Σ(ηₖ/η₀)² over 10⁶ steps", np.sum(factors**2), sums[1], rtol=1e-12
            )
        )
        spec = registry.get("schedule", schedule)
        if spec.robbins_monro is not None:
            holds = bool(spec.robbins_monro(**_defaults(spec)))
            expected = schedule == "inverse"
            rows.append(
                Row(f"{schedule}: satisfies Robbins–Monro", holds, expected, holds == expected)
            )
    return Result("robbins_monro", rows, curves)


def _defaults(spec) -> dict:
    return {p.name: p.default for p in spec.params}


def _factors(registry, schedule: str, steps: int) -> np.ndarray:
    """The schedule's multipliers of the learning rate for steps 0 … steps−1."""
    spec = registry.get("schedule", schedule)
    k = np.arange(steps)
    return np.broadcast_to(np.asarray(spec.factor(k, **_defaults(spec)), dtype=float), k.shape)


def _mean_path(rates: np.ndarray) -> np.ndarray:
    """The noise-free iterate x_k = x₀·Π(1 − ληⱼ), which is also the mean of the noisy ones."""
    return START * np.concatenate([[1.0], np.cumprod(1 - CURVATURE * rates)])


def _zeta_partial(p: int, n: int) -> float:
    """Σ 1/kᵖ to n: ζ(p) less the tail, by Euler–Maclaurin (exact to double precision at
    n = 10⁶): Σ_{k>n} 1/k² = 1/n − 1/2n² + 1/6n³ − 1/30n⁵, Σ_{k>n} 1/k⁴ = 1/3n³ − 1/2n⁴ + 1/3n⁵."""
    if p == 2:
        return math.pi**2 / 6 - (1 / n - 1 / (2 * n**2) + 1 / (6 * n**3) - 1 / (30 * n**5))
    if p == 4:
        return math.pi**4 / 90 - (1 / (3 * n**3) - 1 / (2 * n**4) + 1 / (3 * n**5))
    raise ValueError(f"no partial sum for p = {p}")


def _harmonic(n: int) -> float:
    """Hₙ = Σ 1/k to n, by its asymptotic series (exact to double precision at n = 10⁶)."""
    return math.log(n) + 0.5772156649015329 + 1 / (2 * n) - 1 / (12 * n**2)
