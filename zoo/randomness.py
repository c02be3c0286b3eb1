"""Per-run random numbers that do not depend on how runs are batched.

A run's numbers at step t are a hash of (run seed, t, stream, position): counter-based, so
the same run gives the same path alone, in a batch of 4096, or after a rewind, and a whole
batch is drawn in a few vectorised numpy operations.  The hash is SplitMix64's finaliser,
which passes the usual statistical batteries when fed a counter.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STREAM = 0xD1B54A32D192ED03
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def _uniform(seeds, counters, count: int, stream: int) -> np.ndarray:
    """(B, count) uniforms in (0, 1), one independent stream per (seed, counter, stream)."""
    seeds = np.asarray(seeds).reshape(-1).astype(np.int64).astype(np.uint64)
    counters = np.broadcast_to(np.asarray(counters).reshape(-1), seeds.shape)
    counters = counters.astype(np.int64).astype(np.uint64)
    offset = np.uint64((stream + 1) * _STREAM % 2**64)
    key = _mix(seeds * _GOLDEN ^ _mix(counters + offset))
    positions = np.arange(1, count + 1, dtype=np.uint64) * _GOLDEN
    bits = _mix(key[:, None] + positions[None, :])
    return ((bits >> _S11).astype(np.float64) + 0.5) * 2.0**-53


def run_uniform(
    seeds: np.ndarray, counters: np.ndarray, shape: tuple[int, ...] = (), stream: int = 0
) -> np.ndarray:
    """Uniform draws in (0, 1) of shape ``(B, *shape)``; ``stream`` separates uses in one step."""
    size = int(np.prod(shape, dtype=np.int64))
    draws = _uniform(seeds, counters, size, stream)
    return draws.reshape(len(draws), *shape)


def run_normal(
    seeds: np.ndarray, counters: np.ndarray, shape: tuple[int, ...] = (), stream: int = 0
) -> np.ndarray:
    """Standard normal draws of shape ``(B, *shape)`` (Box–Muller on ``run_uniform``)."""
    size = int(np.prod(shape, dtype=np.int64))
    draws = _uniform(seeds, counters, 2 * size, stream)
    radius = np.sqrt(-2.0 * np.log(draws[:, :size]))
    normal = radius * np.cos(2.0 * np.pi * draws[:, size:])
    return normal.reshape(len(normal), *shape)


def run_integers(seeds: np.ndarray, counters: np.ndarray, high: int, stream: int = 0) -> np.ndarray:
    """One integer in [0, high) per run, shape ``(B,)``."""
    return np.minimum(
        (_uniform(seeds, counters, 1, stream)[:, 0] * high).astype(np.int64), high - 1
    )


#: The stream of the engine's minibatch draws, apart from the optimizers' noise.
MINIBATCH_STREAM = 0x6D62


def run_sample(
    seeds: np.ndarray,
    counters: np.ndarray,
    population: int,
    size: int,
    stream: int = MINIBATCH_STREAM,
) -> np.ndarray:
    """``size`` distinct indices in [0, population) per run, shape ``(B, size)``.

    Small samples use Floyd's algorithm (Bentley & Floyd 1987, "A sample of brilliance"),
    O(size²) per run; large ones the first ``size`` of a random permutation, O(N log N).
    Either way a run's indices depend on its seed and counter only."""
    size = max(1, min(int(size), int(population)))
    if size * size > 8 * population:
        keys = _uniform(seeds, counters, population, stream)
        return np.argsort(keys, axis=1, kind="stable")[:, :size].astype(np.int64)
    draws = _uniform(seeds, counters, size, stream)
    chosen = np.empty(draws.shape, dtype=np.int64)
    for column, top in enumerate(range(population - size, population)):
        pick = np.minimum((draws[:, column] * (top + 1)).astype(np.int64), top)
        taken = (chosen[:, :column] == pick[:, None]).any(axis=1)
        chosen[:, column] = np.where(taken, top, pick)
    return chosen
