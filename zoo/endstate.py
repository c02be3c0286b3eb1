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
    points = np.asarray(points, dtype=float)
    losses = np.asarray(problem.loss(points), dtype=float)
    gradients = np.asarray(problem.grad(points), dtype=float)
    grad_norms = np.linalg.norm(gradients, axis=1)
    scales = np.maximum(1.0, np.abs(losses))
    small = grad_norms <= gtol * scales
    states = [
        EndState("stalled", float(f), float(g), math.nan, math.nan)
        for f, g in zip(losses, grad_norms, strict=True)
    ]
    if points.shape[1] > MAX_DIM:
        for row in np.flatnonzero(small):
            states[row] = EndState("minimum", float(losses[row]), float(grad_norms[row]), *_NAN2)
        return states
    hessians = np.asarray(problem.hess(points), dtype=float)
    for row, hessian in enumerate(hessians):
        loss, scale = float(losses[row]), float(scales[row])
        eigenvalues = _eigenvalues(hessian)
        low, high = float(eigenvalues[0]), float(eigenvalues[-1])
        largest = max(abs(low), abs(high))
        if not small[row]:
            if _beside_a_minimum(hessian, gradients[row], points[row], low, largest, ctol, xtol):
                states[row] = EndState("minimum", loss, float(grad_norms[row]), low, high)
            elif np.all(np.isfinite(eigenvalues)):
                states[row] = EndState("stalled", loss, float(grad_norms[row]), low, high)
            continue
        if not np.all(np.isfinite(eigenvalues)):
            kind = "minimum" if low > 0 or np.isinf(high) else "stalled"
        elif low < -ctol * max(1.0, largest):
            kind = "saddle"
        elif largest <= ctol * scale and (lowest is None or loss > lowest + gtol * scale):
            kind = "plateau"
        else:
            kind = "minimum"
        states[row] = EndState(kind, loss, float(grad_norms[row]), low, high)
    return states


def _beside_a_minimum(hessian, gradient, x, low, largest, ctol, xtol) -> bool:
    """Whether the Hessian is positive definite and the Newton step −H⁻¹g is within
    ``xtol``·max(1, ‖x‖): the local quadratic model's minimum is right there."""
    if not (np.isfinite(low) and low > ctol * max(1.0, largest)):
        return False
    try:
        step = np.linalg.solve(0.5 * (hessian + hessian.T), gradient)
    except np.linalg.LinAlgError:
        return False
    return bool(np.linalg.norm(step) <= xtol * max(1.0, float(np.linalg.norm(x))))


_NAN2 = (math.nan, math.nan)


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
