"""Step-size theory: what a quadratic predicts about gradient descent, in numbers.

Everything here is the closed-form side of the story the step-size lab tells: per
eigen-direction regimes of gradient descent, the best fixed step and the best momentum,
the spectral radius of heavy-ball and Nesterov iterations, Robbins–Monro sums of a
schedule, the local quadratic model (Hessian eigen-decomposition) of any problem, and the
predicted eigencomponents of a run.  Formulas follow Polyak 1964 and Nesterov 1983 (rates),
Goh 2017 and Lessard, Recht & Packard 2016 (spectral radii), and Robbins & Monro 1951.

**Tolerance policy of the regimes.**  A regime boundary is met when ηλ equals 1 or 2 up to
a relative tolerance ``rtol`` (default ``1e-9``): |ηλ − 1| ≤ rtol is "exact in one step",
|ηλ − 2| ≤ 2·rtol is "constant amplitude".  Step sizes typed in or set from a mark (η = 2/λ
computed in floating point) then land on the boundary they mean, while anything a slider
can tell apart from it (a relative difference above 1e-9) falls strictly on one side.
Pass ``rtol=0`` for exact comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo.specs import ScheduleSpec, resolve_values

MONOTONE = "monotone"
EXACT = "exact in one step"
OSCILLATING = "oscillating"
CONSTANT = "constant amplitude"
DIVERGENT = "divergent"
SADDLE = "saddle: grows"
FLAT = "flat: no pull"
#: Default relative tolerance of the regime boundaries ηλ = 1 and ηλ = 2.
RTOL = 1e-9
#: Overall verdicts in order of precedence: the first one any direction has wins.
_PRECEDENCE = (DIVERGENT, SADDLE, CONSTANT, OSCILLATING, MONOTONE, FLAT, EXACT)


# ---------------------------------------------------------------- gradient descent regimes
@dataclass(frozen=True)
class Regimes:
    """Gradient descent with step ``lr`` on a quadratic with these eigenvalues.

    ``factors[i] = 1 − ηλᵢ`` multiplies the i-th eigencomponent of the error each step;
    ``rate`` is the largest |1 − ηλᵢ| (the error norm's contraction per step).
    """

    lr: float
    eigenvalues: np.ndarray
    factors: np.ndarray
    labels: tuple[str, ...]
    overall: str
    rate: float


def regime(eigenvalue: float, lr: float, rtol: float = RTOL) -> str:
    """The regime of one eigen-direction (see the module's tolerance policy)."""
    if lr <= 0:
        raise ValueError(f"learning rate must be positive, got {lr}")
    if eigenvalue < 0:
        return SADDLE
    if eigenvalue == 0:
        return FLAT
    product = lr * eigenvalue
    if abs(product - 1.0) <= rtol:
        return EXACT
    if abs(product - 2.0) <= 2.0 * rtol:
        return CONSTANT
    if product < 1.0:
        return MONOTONE
    if product < 2.0:
        return OSCILLATING
    return DIVERGENT


def gd_regimes(eigenvalues: Sequence[float] | np.ndarray, lr: float, rtol: float = RTOL) -> Regimes:
    """Per-direction and overall regime of gradient descent x ← x − η∇E on a quadratic.

    Each eigen-direction is monotone (ηλ < 1), exact in one step (ηλ = 1), oscillating
    (1 < ηλ < 2), constant amplitude (ηλ = 2) or divergent (ηλ > 2); a negative eigenvalue
    grows for every η ("saddle: grows") and a zero one does not move ("flat: no pull").
    The overall label is the most severe direction: divergent, then saddle, constant
    amplitude, oscillating, monotone, and "exact in one step" only when every direction
    is exact.
    """
    values = np.asarray(eigenvalues, dtype=float).reshape(-1)
    lr = float(lr)
    labels = tuple(regime(float(value), lr, rtol) for value in values)
    overall = next((name for name in _PRECEDENCE if name in labels), FLAT)
    factors = 1.0 - lr * values
    rate = float(np.max(np.abs(factors))) if len(values) else 0.0
    return Regimes(lr, values, factors, labels, overall, rate)


# ---------------------------------------------------------------- rates and best parameters
def optimal_rates(mu: float, L: float) -> dict[str, dict[str, float]]:
    """Best fixed-parameter rates on quadratics with eigenvalues in [μ, L] (Polyak 1964).

    Each entry gives ``rate`` (spectral radius: error contraction per step), ``lr`` and
    ``momentum``: ``gd`` at η = 2/(μ + L); ``heavy_ball`` at Polyak's optimum;
    ``nesterov`` at the quadratic-optimal tuning of Lessard, Recht & Packard;
    ``nesterov_1_over_L`` at Nesterov's α = 1/L, β = (√κ − 1)/(√κ + 1).
    """
    if not 0 < mu <= L:
        raise ValueError(f"need 0 < mu <= L, got mu={mu}, L={L}")
    kappa = L / mu
    root = math.sqrt(kappa)
    root3 = math.sqrt(3 * kappa + 1)
    return {
        "gd": {"rate": (kappa - 1) / (kappa + 1), "lr": 2 / (mu + L), "momentum": 0.0},
        "heavy_ball": {
            "rate": (root - 1) / (root + 1),
            "lr": 4 / (math.sqrt(mu) + math.sqrt(L)) ** 2,
            "momentum": ((root - 1) / (root + 1)) ** 2,
        },
        "nesterov": {
            "rate": 1 - 2 / root3,
            "lr": 4 / (3 * L + mu),
            "momentum": (root3 - 2) / (root3 + 2),
        },
        "nesterov_1_over_L": {
            "rate": 1 - 1 / root,
            "lr": 1 / L,
            "momentum": (root - 1) / (root + 1),
        },
    }


def _largest_root(trace: np.ndarray, det: np.ndarray) -> np.ndarray:
    """max |σ| over the roots of σ² − trace·σ + det = 0, elementwise."""
    disc = np.sqrt((trace * trace - 4 * det).astype(complex))
    return np.maximum(np.abs(0.5 * (trace + disc)), np.abs(0.5 * (trace - disc)))


def heavy_ball_matrix(lr: float, beta: float, eigenvalue: float) -> np.ndarray:
    """Goh's iteration matrix R of (z, w) for z ← βz + λw, w ← w − αz on one direction."""
    return np.array([[beta, eigenvalue], [-lr * beta, 1 - lr * eigenvalue]])


def heavy_ball_rate(lr: Any, beta: Any, eigenvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Spectral radius max|σ| of heavy ball (torch SGD with momentum β, lr α).

    ``lr`` and ``beta`` broadcast against each other (a whole (η, β) map at once); the
    maximum is over the eigenvalues and both roots of σ² − (1 − αλ + β)σ + β = 0, the
    characteristic polynomial of ``heavy_ball_matrix``.  Below 1 means convergence.
    """
    lr, beta = np.broadcast_arrays(np.asarray(lr, float), np.asarray(beta, float))
    lam = np.asarray(eigenvalues, dtype=float).reshape(-1)
    trace = 1 - lr[..., None] * lam + beta[..., None]
    det = np.broadcast_to(beta[..., None], trace.shape)
    return _largest_root(trace, det).max(axis=-1)


def nesterov_rate(lr: Any, beta: Any, eigenvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Spectral radius of Nesterov's method x ← y − α∇E(y), y = x + β(x − x_prev).

    Per direction the iteration is x_{k+1} = (1 − αλ)((1 + β)x_k − βx_{k−1}), whose
    characteristic polynomial is σ² − (1 − αλ)(1 + β)σ + (1 − αλ)β.
    """
    lr, beta = np.broadcast_arrays(np.asarray(lr, float), np.asarray(beta, float))
    lam = np.asarray(eigenvalues, dtype=float).reshape(-1)
    shrink = 1 - lr[..., None] * lam
    return _largest_root(shrink * (1 + beta[..., None]), shrink * beta[..., None]).max(axis=-1)


def critical_damping(lr: Any, eigenvalue: float) -> np.ndarray:
    """β = (1 − √(ηλ))², where heavy ball's two roots meet; the rate there is 1 − √(ηλ).

    Only meaningful for 0 < ηλ ≤ 1 (NaN elsewhere).
    """
    product = np.asarray(lr, dtype=float) * eigenvalue
    with np.errstate(invalid="ignore"):
        beta = (1 - np.sqrt(product)) ** 2
    return np.where((product > 0) & (product <= 1), beta, np.nan)


# ---------------------------------------------------------------- schedules
@dataclass(frozen=True)
class RobbinsMonro:
    """Partial sums of a schedule's step sizes and the Robbins–Monro verdict.

    ``lr[k] = η₀·factor(k)``; ``sums[k] = Σ_{j≤k} η_j`` and ``sums_sq`` of η_j².
    ``estimated`` is the verdict read from the sums (see ``robbins_monro``); ``declared``
    is the schedule's own ``robbins_monro`` answer when it has one; ``satisfied`` is the
    declared answer if any, else the estimate.
    """

    lr: np.ndarray
    sums: np.ndarray
    sums_sq: np.ndarray
    sum_diverges: bool
    sum_sq_converges: bool
    estimated: bool
    declared: bool | None
    satisfied: bool

    @property
    def verdict(self) -> str:
        first = "Σηₖ = ∞" if self.sum_diverges else "Σηₖ < ∞"
        second = "Σηₖ² < ∞" if self.sum_sq_converges else "Σηₖ² = ∞"
        answer = "satisfies" if self.satisfied else "fails"
        return f"{first}, {second}: {answer} Robbins–Monro"


def _window_ratio(values: np.ndarray) -> float:
    """Σ over [K/2, K) divided by Σ over [K/4, K/2): 2^{1−p} for terms decaying as k^{−p}."""
    steps = len(values)
    late = values[steps // 2 :].sum()
    early = values[steps // 4 : steps // 2].sum()
    if early == 0:
        return 0.0 if late == 0 else math.inf
    return float(late / early)


def _diverges(values: np.ndarray) -> bool:
    # A series of terms ~ k^{-p} diverges iff p ≤ 1, i.e. its dyadic window sums do not
    # shrink.  For p = 1 the later window is slightly larger (H(2n) − H(n) grows to ln 2).
    return _window_ratio(values) >= 1.0


def robbins_monro(
    schedule: ScheduleSpec | Callable[..., Any] | None,
    params: Mapping[str, Any] | None = None,
    *,
    lr: float = 1.0,
    steps: int = 10**6,
) -> RobbinsMonro:
    """Σηₖ and Σηₖ² for k < ``steps`` of ``lr·factor(k)``, and whether Robbins–Monro holds.

    ``schedule`` is a ``ScheduleSpec`` (its ``params`` fill defaults and are checked), a
    bare ``factor(step, **params)`` function, or ``None`` for a constant step.  The
    estimate compares the sum over the last half of the steps with the sum over the
    quarter before it: terms decaying like k^{−p} give the ratio 2^{1−p}, which is ≥ 1
    exactly when the series diverges (p ≤ 1).  It is a reading of finite sums, so a
    schedule's own ``robbins_monro`` answer takes precedence when it has one.
    """
    if steps < 8:
        raise ValueError("steps must be at least 8")
    values = dict(params or {})
    declared = None
    if isinstance(schedule, ScheduleSpec):
        values = resolve_values(schedule.params, values, where=f"schedule {schedule.name}")
        factor = schedule.factor
        if schedule.robbins_monro is not None:
            declared = bool(schedule.robbins_monro(**values))
    elif schedule is None:
        factor = None
    else:
        factor = schedule
    k = np.arange(steps, dtype=float)
    # schedules are evaluated far past the steps they were written for (growing cycles of
    # warm restarts overflow to inf there); such factors are still meaningful as values
    with np.errstate(over="ignore", invalid="ignore"):
        multiplier = np.ones(steps) if factor is None else factor(k, **values)
    etas = lr * np.broadcast_to(np.asarray(multiplier, dtype=float), k.shape)
    sum_diverges = _diverges(etas)
    sum_sq_converges = not _diverges(etas * etas)
    estimated = sum_diverges and sum_sq_converges
    return RobbinsMonro(
        lr=etas,
        sums=np.cumsum(etas),
        sums_sq=np.cumsum(etas * etas),
        sum_diverges=sum_diverges,
        sum_sq_converges=sum_sq_converges,
        estimated=estimated,
        declared=declared,
        satisfied=estimated if declared is None else declared,
    )


def stall_factor(lam_eta0: float) -> float:
    """Limit of Π_{k≥0}(1 − λη₀/(k+1)²): where GD with η₀/(k+1)² stops, as a fraction of
    the start's distance.  Euler's product gives sin(π√(λη₀))/(π√(λη₀))."""
    if lam_eta0 == 0:
        return 1.0
    z = math.pi * math.sqrt(lam_eta0)
    return math.sin(z) / z


def step_product(eigenvalue: float, lrs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Π_{j<k}(1 − η_jλ) for k = 0..K: the eigencomponent factor under step sizes η_j."""
    factors = 1.0 - np.asarray(lrs, dtype=float) * eigenvalue
    return np.concatenate([[1.0], np.cumprod(factors)])


# ---------------------------------------------------------------- the local quadratic model
@dataclass(frozen=True)
class LocalQuadratic:
    """Second-order model of a problem at ``x``: E(x + d) ≈ loss + gradientᵀd + ½dᵀHd.

    ``eigenvalues`` ascend; ``eigenvectors[:, i]`` belongs to ``eigenvalues[i]``.
    """

    x: np.ndarray
    loss: float
    gradient: np.ndarray
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def inverse(self) -> np.ndarray:
        """1/λᵢ: the step that is exact in one step along each direction (inf at λ = 0)."""
        with np.errstate(divide="ignore"):
            return 1.0 / self.eigenvalues

    @property
    def limits(self) -> np.ndarray:
        """2/λᵢ: the largest stable step along each direction."""
        return 2.0 * self.inverse

    @property
    def condition_number(self) -> float:
        """λ_max/λ_min over the positive curvature (inf when some λ ≤ 0)."""
        if self.eigenvalues[0] <= 0:
            return math.inf
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    def marks(self) -> list[tuple[str, float]]:
        """Ruler marks in increasing order: 1/λ_max, 2/(λ_min + λ_max), 2/λ_max, 1/λ_min,
        2/λ_min over the positive eigenvalues (fewer when they coincide or are missing)."""
        positive = self.eigenvalues[self.eigenvalues > 0]
        if len(positive) == 0:
            return []
        low, high = float(positive[0]), float(positive[-1])
        marks = [("1/λ_max", 1 / high), ("2/λ_max", 2 / high)]
        if high != low:
            marks += [
                ("2/(λ_min+λ_max)", 2 / (low + high)),
                ("1/λ_min", 1 / low),
                ("2/λ_min", 2 / low),
            ]
        return sorted(marks, key=lambda mark: mark[1])

    def newton_step(self) -> np.ndarray:
        """−H⁻¹g: the step to the model's stationary point (a saddle if H is indefinite)."""
        return -np.linalg.solve(self.hessian, self.gradient)

    def stationary_point(self) -> np.ndarray:
        return self.x + self.newton_step()

    def curvature_along(self, direction: np.ndarray) -> float:
        """E″ along ``direction``: dᵀHd/dᵀd.  η_opt = 1/E″ along it."""
        d = np.asarray(direction, dtype=float)
        return float(d @ self.hessian @ d / (d @ d))


def local_quadratic(problem: Any, x: Sequence[float] | np.ndarray) -> LocalQuadratic:
    """The Hessian eigen-decomposition, gradient and loss of ``problem`` at ``x`` (D,)."""
    point = np.asarray(x, dtype=float).reshape(1, -1)
    hessian = np.asarray(problem.hess(point), dtype=float)[0]
    hessian = 0.5 * (hessian + hessian.T)
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    return LocalQuadratic(
        x=point[0].copy(),
        loss=float(np.asarray(problem.loss(point))[0]),
        gradient=np.asarray(problem.grad(point), dtype=float)[0],
        hessian=hessian,
        eigenvalues=eigenvalues,
        eigenvectors=eigenvectors,
    )


@dataclass(frozen=True)
class EigenComponents:
    """A run's error x − x* in the Hessian's eigenbasis, measured and predicted.

    Rows are steps.  ``measured[k, i] = qᵢᵀ(x_k − x*)``; ``predicted[k, i] =
    Π_{j<k}(1 − η_jλᵢ)·measured[0, i]``; ``loss_split[k, i] = ½λᵢ measured[k, i]²`` sums to
    E(x_k) − E(x*) on a quadratic.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    centre: np.ndarray
    measured: np.ndarray
    predicted: np.ndarray
    loss_split: np.ndarray


def eigen_components(
    problem: Any,
    trajectory: np.ndarray,
    lr: float | Sequence[float] | np.ndarray,
    *,
    model: LocalQuadratic | None = None,
) -> EigenComponents:
    """Measured and predicted eigencomponents of plain gradient descent along ``trajectory``.

    ``trajectory`` is (K+1, D); ``lr`` a constant or the K step sizes actually used.  The
    quadratic is ``model`` or the local quadratic at the trajectory's first point, and x*
    its stationary point, so on a quadratic problem the prediction is exact.
    """
    xs = np.asarray(trajectory, dtype=float)
    if xs.ndim != 2:
        raise ValueError("trajectory must be (K+1, D)")
    steps = len(xs) - 1
    model = model if model is not None else local_quadratic(problem, xs[0])
    centre = model.stationary_point()
    measured = (xs - centre) @ model.eigenvectors
    lrs = np.broadcast_to(np.asarray(lr, dtype=float), (steps,))
    factors = 1.0 - lrs[:, None] * model.eigenvalues[None, :]
    products = np.vstack([np.ones((1, len(model.eigenvalues))), np.cumprod(factors, axis=0)])
    return EigenComponents(
        eigenvalues=model.eigenvalues,
        eigenvectors=model.eigenvectors,
        centre=centre,
        measured=measured,
        predicted=products * measured[0],
        loss_split=0.5 * model.eigenvalues * measured**2,
    )


# ---------------------------------------------------------------- Saxe's deep linear mode
def saxe_mode(t: Any, s: float, u0: float, tau: float = 1.0) -> np.ndarray:
    """u(t) = s·e^{2st/τ}/(e^{2st/τ} − 1 + s/u₀): a balanced mode of a deep linear net
    learning strength s from u₀ under gradient flow with time constant τ = 1/η."""
    growth = np.exp(2 * s * np.asarray(t, dtype=float) / tau)
    return s * growth / (growth - 1 + s / u0)


def saxe_time(s: float, u0: float, uf: float, tau: float = 1.0) -> float:
    """Time for a balanced mode to grow from u₀ to u_f: (τ/2s)·ln[u_f(s − u₀)/(u₀(s − u_f))]."""
    return tau / (2 * s) * math.log(uf * (s - u0) / (u0 * (s - uf)))


__all__ = [
    "CONSTANT",
    "DIVERGENT",
    "EXACT",
    "FLAT",
    "MONOTONE",
    "OSCILLATING",
    "RTOL",
    "SADDLE",
    "EigenComponents",
    "LocalQuadratic",
    "Regimes",
    "RobbinsMonro",
    "critical_damping",
    "eigen_components",
    "gd_regimes",
    "heavy_ball_matrix",
    "heavy_ball_rate",
    "local_quadratic",
    "nesterov_rate",
    "optimal_rates",
    "regime",
    "robbins_monro",
    "saxe_mode",
    "saxe_time",
    "stall_factor",
    "step_product",
]
