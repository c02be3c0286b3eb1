"""Gradient noise for experiments: a problem seen through a noisy gradient oracle.

``GradientNoise(problem, σ)`` offers minibatches (so the engine's ``batch_size`` switches
the noise on): each minibatch is the same objective whose gradient carries N(0, σ²I)
noise, drawn once per step and independently for every run in the batch, so a batch of
runs is a batch of independent Monte Carlo replicas.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem


class GradientNoise(Problem):
    """``problem`` unchanged, plus noisy-gradient minibatches."""

    def __init__(self, problem: Problem, noise: float) -> None:
        self.problem = problem
        self.noise = noise
        self.dim = problem.dim
        self.bounds = problem.bounds

    @property
    def start(self) -> np.ndarray:
        return self.problem.start

    @property
    def minima(self) -> np.ndarray:
        return self.problem.minima

    def loss(self, x: np.ndarray) -> np.ndarray:
        return self.problem.loss(x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.problem.grad(x)

    def hess(self, x: np.ndarray) -> np.ndarray:
        return self.problem.hess(x)

    def minibatch(self, rng: np.random.Generator, size: int) -> Problem:
        return _NoisyStep(self, rng)

    @property
    def n_samples(self) -> int:
        return 1


class _NoisyStep(GradientNoise):
    """One step's view: the noise is drawn at the first gradient call and then reused."""

    def __init__(self, parent: GradientNoise, rng: np.random.Generator) -> None:
        super().__init__(parent.problem, parent.noise)
        self._rng = rng
        self._draw: np.ndarray | None = None

    def grad(self, x: np.ndarray) -> np.ndarray:
        if self._draw is None or self._draw.shape != x.shape:
            self._draw = self._rng.standard_normal(x.shape)
        return self.problem.grad(x) + self.noise * self._draw
