"""Gradient noise for experiments: a problem seen through a noisy gradient oracle.

``GradientNoise(problem, σ)`` offers minibatches (so the engine's ``batch_size`` switches
the noise on): each minibatch is the same objective whose gradient carries N(0, σ²I)
noise, drawn for every run from its seed and step, so a batch of runs is a batch of
independent Monte Carlo replicas and each replays alone.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, run_normal


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

    def minibatch(self, seeds: np.ndarray, steps: np.ndarray, size: int) -> Problem:
        return _NoisyStep(self, run_normal(seeds, steps, (self.dim,)))

    @property
    def n_samples(self) -> int:
        return 1


class _NoisyStep(GradientNoise):
    """One step's view: each run's noise, drawn from its seed and step."""

    def __init__(self, parent: GradientNoise, draw: np.ndarray) -> None:
        super().__init__(parent.problem, parent.noise)
        self._draw = draw

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.problem.grad(x) + self.noise * self._draw

    def for_rows(self, rows) -> Problem:
        return _NoisyStep(self, self._draw[np.atleast_1d(np.arange(len(self._draw))[rows])])
