"""Where a stopped or stalled run stands, judged by the curvature there.

A vanishing gradient alone does not make a minimum: Gauss–Newton can jump onto the flat
tail of a sigmoid fit, and Levenberg–Marquardt can stop on the saddle of a deep linear
network.  ``classify`` looks at the gradient and the Hessian's eigenvalues at the point:

* **minimum** — the gradient is small and no eigenvalue is meaningfully negative;
* **saddle** — the gradient is small and an eigenvalue is negative: a direction goes down;
* **plateau** — gradient and curvature both vanish while the loss is above the lowest known
  value: the surface is flat there, and nothing local says which way to go;
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
) -> EndState:
    """Classify the point ``x`` (D,) of ``problem``.

    ``lowest`` is the lowest loss known for the problem (its listed minima), if any; a
    flat point above it is a plateau, at it a minimum.  The gradient counts as small when
    |g| ≤ gtol·max(1, |f|); an eigenvalue counts as negative below −ctol·max(1, max|λ|),
    and the curvature as vanishing when max|λ| ≤ ctol·max(1, |f|).
    """
    point = np.asarray(x, dtype=float).reshape(1, -1)
    loss = float(problem.loss(point)[0])
    grad_norm = float(np.linalg.norm(problem.grad(point)[0]))
    scale = max(1.0, abs(loss))
    if not grad_norm <= gtol * scale:
        return EndState("stalled", loss, grad_norm, math.nan, math.nan)
    if point.shape[1] > MAX_DIM:
        return EndState("minimum", loss, grad_norm, math.nan, math.nan)
    hessian = np.asarray(problem.hess(point)[0], dtype=float)
    eigenvalues = np.linalg.eigvalsh(0.5 * (hessian + hessian.T))
    low, high = float(eigenvalues[0]), float(eigenvalues[-1])
    largest = max(abs(low), abs(high))
    if not np.all(np.isfinite(eigenvalues)):
        kind = "minimum" if low > 0 or np.isinf(high) else "stalled"
    elif low < -ctol * max(1.0, largest):
        kind = "saddle"
    elif largest <= ctol * scale and lowest is not None and loss > lowest + gtol * scale:
        kind = "plateau"
    else:
        kind = "minimum"
    return EndState(kind, loss, grad_norm, low, high)


def lowest_known(problem) -> float | None:
    """The lowest loss at the problem's listed minima, or None when it lists none."""
    minima = np.asarray(problem.minima, dtype=float)
    if minima.size == 0:
        return None
    return float(np.min(problem.loss(minima.reshape(len(minima), -1))))
