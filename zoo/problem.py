"""The ``Problem`` a model builds: an objective over batches of parameter vectors.

Every method takes ``x`` of shape ``(B, D)`` (B runs at once) and returns arrays with
the same leading axis.  A subclass overrides what it can compute exactly; ``provides``
reports what it offers so the engine and the GUI can pair it only with optimizers whose
``needs`` it meets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Methods whose presence (an override of the base) adds a capability.
_CAPABILITIES = {
    "loss": "loss",
    "grad": "grad",
    "residuals": "residuals",
    "minibatch": "samples",
}


@dataclass(frozen=True)
class Plane:
    """A 2-D view of a D-dimensional space: ``x = origin + a·u + b·v``."""

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray

    def to_weights(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Map plane coordinates (any equal shapes) to weights of shape ``(..., D)``."""
        a = np.asarray(a, dtype=float)[..., None]
        b = np.asarray(b, dtype=float)[..., None]
        return self.origin + a * self.u + b * self.v

    def project(self, x: np.ndarray) -> np.ndarray:
        """Least-squares plane coordinates ``(..., 2)`` of weights ``x`` of shape ``(..., D)``."""
        basis = np.stack([self.u, self.v], axis=1)  # (D, 2)
        coords, *_ = np.linalg.lstsq(basis, (np.asarray(x) - self.origin).T, rcond=None)
        return coords.T


@dataclass
class BuildContext:
    """What ``ModelSpec.build`` receives besides its settings."""

    activations: Mapping[str, Any] = field(default_factory=dict)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))


class _DefaultFromDim:
    """A class-level default computed from ``dim`` that any assignment replaces.

    It defines only ``__get__`` (a non-data descriptor), so ``self.start = …`` in a
    subclass's ``__init__`` or ``start = …`` in its class body simply wins."""

    def __init__(self, make) -> None:
        self._make = make

    def __set_name__(self, owner, name: str) -> None:
        self.__doc__ = f"default {name} of a problem that does not set it"

    def __get__(self, instance, owner=None):
        return self if instance is None else self._make(instance.dim)


class Problem:
    """Base class of every objective; subclasses override what they provide.

    Attributes a subclass sets, in ``__init__`` or as class attributes (each has a
    default): ``dim`` (D, default 2), ``bounds`` (the default view in plane coordinates),
    ``start`` (D,) (default the origin), ``minima`` (K, D) (default none known), ``plane``
    (for D > 2), ``n_samples`` (data points of a data-driven model, default 0), and for
    local learning rules ``inputs`` (N, D) and ``labels`` (N,) of ±1.
    """

    dim: int = 2
    bounds: tuple[tuple[float, float], tuple[float, float]] = ((-2.0, 2.0), (-2.0, 2.0))
    start: np.ndarray = _DefaultFromDim(np.zeros)  # type: ignore[assignment]
    minima: np.ndarray = _DefaultFromDim(lambda dim: np.empty((0, dim)))  # type: ignore[assignment]
    plane: Plane | None = None
    n_samples: int = 0
    inputs: np.ndarray | None = None
    labels: np.ndarray | None = None
    #: Step size of the central differences behind the default ``hess``.
    hess_step: float = 1e-5

    def loss(self, x: np.ndarray) -> np.ndarray:
        """(B, D) -> (B,)"""
        raise NotImplementedError(f"{type(self).__name__} has no loss")

    def grad(self, x: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, D)"""
        raise NotImplementedError(f"{type(self).__name__} has no gradient")

    def hess(self, x: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, D, D); by default central differences of ``grad``, symmetrised."""
        x = np.asarray(x, dtype=float)
        batch, dim = x.shape
        h = self.hess_step * np.maximum(1.0, np.abs(x))
        shifts = np.eye(dim)[None, :, :] * h[:, :, None]  # (B, D, D)
        # B·D points, run by run: a minibatch problem gives each its run's samples.
        stacked = self.for_rows(np.repeat(np.arange(batch), dim))
        forward = stacked.grad((x[:, None, :] + shifts).reshape(-1, dim))
        backward = stacked.grad((x[:, None, :] - shifts).reshape(-1, dim))
        forward, backward = (a.reshape(batch, dim, dim) for a in (forward, backward))
        columns = (forward - backward) / (2 * h[:, :, None])
        return 0.5 * (columns + np.swapaxes(columns, 1, 2))

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, N) for least-squares models, whose loss is ½‖r‖²."""
        raise NotImplementedError(f"{type(self).__name__} is not a least-squares model")

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """(B, D) -> (B, N, D), the derivative of ``residuals``."""
        raise NotImplementedError(f"{type(self).__name__} is not a least-squares model")

    def minibatch(self, seeds: np.ndarray, steps: np.ndarray, size: int) -> Problem:
        """The problem on each run's own minibatch (data-driven models only).

        Run b of the batch sees ``size`` samples drawn from its seed ``seeds[b]`` and step
        ``steps[b]`` alone (``zoo.run_sample(seeds, steps, n_samples, size)``), so it draws
        the same minibatches alone or in any batch.  The result is evaluated at ``x`` of
        ``len(seeds)`` rows, row b on run b's samples, and ``for_rows(rows)`` keeps the
        samples of those runs."""
        raise NotImplementedError(f"{type(self).__name__} has no samples")

    def for_rows(self, rows) -> Problem:
        """This problem as seen by some runs of the batch.

        An optimizer that evaluates runs separately (a per-run line search) calls
        ``problem.for_rows(rows).loss(x[rows])`` so the engine charges the evaluation to
        those runs only.  A problem on shared data returns itself; a ``minibatch`` problem
        returns the one on those runs' samples."""
        return self

    @property
    def provides(self) -> frozenset[str]:
        """What this problem offers, in the vocabulary of ``OptimizerSpec.needs``."""
        cls = type(self)
        offered = {
            capability
            for method, capability in _CAPABILITIES.items()
            if getattr(cls, method) is not getattr(Problem, method)
        }
        if "grad" in offered:
            offered.add("hess")
        if self.inputs is not None:
            offered.add("inputs")
        if self.labels is not None:
            offered.add("labels")
        return frozenset(offered)

    def to_view(self, x: np.ndarray) -> np.ndarray:
        """Plane coordinates ``(..., 2)`` of weights ``x``: the identity when D = 2."""
        if self.plane is None:
            return np.asarray(x)[..., :2]
        return self.plane.project(x)

    def from_view(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Weights ``(..., D)`` at plane coordinates ``(a, b)``."""
        if self.plane is None:
            return np.stack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)], axis=-1)
        return self.plane.to_weights(a, b)


def missing_needs(needs: frozenset[str], problem: Problem) -> frozenset[str]:
    """What an optimizer needs that ``problem`` does not provide."""
    return frozenset(needs) - problem.provides


def contract_errors(problem: Problem) -> list[str]:
    """What is wrong with the attributes of a built problem (empty when nothing is).

    Cheap enough to run on every build; ``minima``, which some models find lazily, is
    left to the conformance kit."""
    dim = problem.dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        return [f"dim must be a positive integer, got {dim!r}"]
    errors = []
    start = np.asarray(problem.start)
    if start.dtype.kind not in "fiu":
        errors.append(f"start must hold real numbers, got {start.dtype}")
    elif start.shape != (dim,):
        errors.append(f"start has shape {start.shape}, expected ({dim},) for dim {dim}")
    elif not np.isfinite(start).all():
        errors.append("start must be finite")
    try:
        (a_low, a_high), (b_low, b_high) = problem.bounds
        edges = np.array([a_low, a_high, b_low, b_high], dtype=float)
    except (TypeError, ValueError):
        errors.append(f"bounds must be ((a_low, a_high), (b_low, b_high)), got {problem.bounds!r}")
    else:
        if not np.isfinite(edges).all() or not (a_low < a_high and b_low < b_high):
            errors.append(f"bounds must be finite with low < high, got {problem.bounds!r}")
    if dim > 2 and problem.plane is None:
        errors.append(f"a problem with dim {dim} > 2 must set plane (a zoo.Plane)")
    return errors


def row_matmul(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``x @ matrix`` for a batch ``x`` of shape (B, K), each row on its own: (B, N).

    One (B, K) @ (K, N) product lets BLAS choose kernels and blocking by B, so a row's
    result can change in its last bits with the rows around it.  Stacked, it is B identical
    (1, K) @ (K, N) products: a run is bitwise the same alone and in any batch."""
    return np.matmul(np.asarray(x, dtype=float)[:, None, :], matrix)[:, 0, :]
