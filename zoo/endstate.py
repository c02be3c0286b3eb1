"""Where a stopped or stalled run stands, judged by the curvature there.

A vanishing gradient alone does not make a minimum: Gauss–Newton can jump onto the flat
tail of a sigmoid fit, and Levenberg–Marquardt can stop on the saddle of a deep linear
network.  ``classify`` looks at the gradient and the Hessian's eigenvalues at the point:

* **minimum** — the gradient is small and no eigenvalue is meaningfully negative; or the
  Hessian is positive definite and its Newton step −H⁻¹g is tiny, so the minimum of the
  local quadratic model lies within rounding distance (a quasi-Newton method stopped
  by its tolerances right beside the minimum of a stiff valley);
* **saddle** — the gradient is small and an eigenvalue is negative: a direction goes down;
* **plateau** — gradient and curvature both vanish while the loss is above the lowest known
  value (or no lowest value is known): the surface is flat there, and nothing local says
  which way to go;
* **stalled** — the gradient is not small, yet the run makes no progress.

Tolerances are relative to the loss and curvature scales, so the verdict does not depend
on the units of the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: End-state names, in the order a status column sorts them.
KINDS = ("minimum", "saddle", "plateau", "stalled")
#: Largest dimension whose Hessian the classifier forms (D² floats).
MAX_DIM = 2000


@dataclass(frozen=True)
class EndState:
    """The verdict with the numbers behind it."""

    kind: str
    loss: float
    grad_norm: float
    min_eigenvalue: float
    max_eigenvalue: float

    def __str__(self) -> str:
        if math.isnan(self.min_eigenvalue):
            return f"{self.kind} (|g| = {self.grad_norm:.3g})"
        return (
            f"{self.kind} (|g| = {self.grad_norm:.3g}, eigenvalues "
            f"{self.min_eigenvalue:.3g} … {self.max_eigenvalue:.3g})"
        )


def classify(
    problem,
    x,
    *,
    lowest: float | None = None,
    gtol: float = 1e-6,
    ctol: float = 1e-8,
    xtol: float = 1e-3,
) -> EndState:
    """Classify the point ``x`` (D,) of ``problem``.

    ``lowest`` is the lowest loss known for the problem (its listed minima), if any; a
    flat point above it is a plateau, at it a minimum.  The gradient counts as small when
    |g| ≤ gtol·max(1, |f|); an eigenvalue counts as negative below −ctol·max(1, max|λ|),
    and the curvature as vanishing when max|λ| ≤ ctol·max(1, |f|); a Newton step is tiny
    when ‖H⁻¹g‖ ≤ xtol·max(1, ‖x‖).
    """
    point = np.asarray(x, dtype=float).reshape(1, -1)
    return classify_many(problem, point, lowest=lowest, gtol=gtol, ctol=ctol, xtol=xtol)[0]


def classify_many(
    problem,
    points,
    *,
    lowest: float | None = None,
    gtol: float = 1e-6,
    ctol: float = 1e-8,
    xtol: float = 1e-3,
) -> list[EndState]:
    """``classify`` for each row of ``points`` (B, D), with one call each for the loss, the
    gradient and the Hessian."""
    kinds, losses, grad_norms, low, high = classes(
        problem, points, lowest=lowest, gtol=gtol, ctol=ctol, xtol=xtol
    )
    return [
        EndState(KINDS[k], float(f), float(g), float(a), float(b))
        for k, f, g, a, b in zip(kinds.tolist(), losses, grad_norms, low, high, strict=True)
    ]


def classes(
    problem,
    points,
    *,
    lowest: float | None = None,
    gtol: float = 1e-6,
    ctol: float = 1e-8,
    xtol: float = 1e-3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``classify_many`` as arrays, for many thousands of points (a basin map's ends):
    the index into ``KINDS`` of each row's kind, its loss, gradient norm and least and
    greatest eigenvalue (NaN where the Hessian was not formed or says nothing)."""
    points = np.asarray(points, dtype=float)
    losses = np.asarray(problem.loss(points), dtype=float)
    gradients = np.asarray(problem.grad(points), dtype=float)
    grad_norms = np.linalg.norm(gradients, axis=1)
    scales = np.maximum(1.0, np.abs(losses))
    small = grad_norms <= gtol * scales
    count = len(points)
    kinds = np.full(count, KINDS.index("stalled"))
    low, high = np.full(count, math.nan), np.full(count, math.nan)
    if points.shape[1] > MAX_DIM:
        kinds[small] = KINDS.index("minimum")
        return kinds, losses, grad_norms, low, high
    hessians = np.asarray(problem.hess(points), dtype=float)
    eigenvalues = _eigenvalues_many(hessians)
    low_all, high_all = eigenvalues[:, 0], eigenvalues[:, -1]
    largest = np.maximum(np.abs(low_all), np.abs(high_all))
    known = np.isfinite(eigenvalues).all(axis=1)
    # A gradient that is not small: beside a minimum, or stalled (eigenvalues kept if known).
    beside = ~small & _beside_minima(hessians, gradients, points, low_all, largest, ctol, xtol)
    moving = ~small & ~beside
    kinds[beside] = KINDS.index("minimum")
    keep = beside | (moving & known) | small
    low[keep], high[keep] = low_all[keep], high_all[keep]
    # A small gradient: by the curvature.
    with np.errstate(invalid="ignore"):
        vague = small & ~known
        kinds[vague & ((low_all > 0) | np.isinf(high_all))] = KINDS.index("minimum")
        saddle = small & known & (low_all < -ctol * np.maximum(1.0, largest))
        above = np.ones(count, dtype=bool) if lowest is None else losses > lowest + gtol * scales
        flat = small & known & ~saddle & (largest <= ctol * scales) & above
    kinds[saddle] = KINDS.index("saddle")
    kinds[flat] = KINDS.index("plateau")
    kinds[small & known & ~saddle & ~flat] = KINDS.index("minimum")
    return kinds, losses, grad_norms, low, high


def _beside_minima(hessians, gradients, points, low, largest, ctol, xtol) -> np.ndarray:
    """Whether each Hessian is positive definite and its Newton step −H⁻¹g is within
    ``xtol``·max(1, ‖x‖): the local quadratic model's minimum is right there."""
    with np.errstate(invalid="ignore"):
        definite = np.isfinite(low) & (low > ctol * np.maximum(1.0, largest))
    out = np.zeros(len(points), dtype=bool)
    rows = np.flatnonzero(definite)
    if not len(rows):
        return out
    symmetric = 0.5 * (hessians[rows] + np.swapaxes(hessians[rows], 1, 2))
    try:
        steps = np.linalg.solve(symmetric, gradients[rows][:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # one singular matrix: solve them one by one
        for row in rows:
            out[row] = _beside_a_minimum(hessians[row], gradients[row], points[row], xtol)
        return out
    sizes = np.linalg.norm(steps, axis=1)
    out[rows] = sizes <= xtol * np.maximum(1.0, np.linalg.norm(points[rows], axis=1))
    return out


def _beside_a_minimum(hessian, gradient, x, xtol) -> bool:
    """``_beside_minima`` of one positive definite Hessian."""
    try:
        step = np.linalg.solve(0.5 * (hessian + hessian.T), gradient)
    except np.linalg.LinAlgError:
        return False
    return bool(np.linalg.norm(step) <= xtol * max(1.0, float(np.linalg.norm(x))))


def _eigenvalues_many(hessians: np.ndarray) -> np.ndarray:
    """``_eigenvalues`` of each of (B, D, D) Hessians: the finite ones in one call."""
    out = np.empty(hessians.shape[:2])
    finite = np.isfinite(hessians).all(axis=(1, 2))
    if finite.any():
        symmetric = hessians[finite]
        symmetric = 0.5 * (symmetric + np.swapaxes(symmetric, 1, 2))
        try:
            out[finite] = np.linalg.eigvalsh(symmetric)
        except np.linalg.LinAlgError:  # let the rows that fail say so one by one
            finite[:] = False
    for row in np.flatnonzero(~finite):
        out[row] = _eigenvalues(hessians[row])
    return out


def _eigenvalues(hessian: np.ndarray) -> np.ndarray:
    """Ascending eigenvalues of the symmetric part; +∞ for a Hessian of +∞ on its
    diagonal (the tip of a cone, such as Ackley's minimum); NaN where LAPACK cannot say."""
    diagonal = np.diagonal(hessian)
    off = hessian[~np.eye(len(hessian), dtype=bool)]
    if np.isposinf(diagonal).all() and np.isfinite(off).all():
        return np.full(len(hessian), np.inf)
    try:
        return np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    except np.linalg.LinAlgError:
        return np.full(len(hessian), np.nan)


def lowest_known(problem) -> float | None:
    """The lowest loss at the problem's listed minima, or None when it lists none."""
    minima = np.asarray(problem.minima, dtype=float)
    if minima.size == 0:
        return None
    return float(np.min(problem.loss(minima.reshape(len(minima), -1))))
