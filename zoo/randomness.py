"""Per-run random numbers that do not depend on how runs are batched.

A run's noise at step t is drawn from a generator seeded by (run seed, t), so the same
run gives the same path alone, in a batch of 256, or after a rewind.
"""

from __future__ import annotations

import numpy as np


def run_normal(seeds: np.ndarray, counters: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
    """Standard normal draws of shape ``(B, *shape)``, one stream per (seed, counter) row."""
    seeds = np.asarray(seeds).reshape(-1)
    counters = np.broadcast_to(np.asarray(counters).reshape(-1), seeds.shape)
    out = np.empty((seeds.shape[0], *shape))
    for row, (seed, counter) in enumerate(zip(seeds.tolist(), counters.tolist(), strict=True)):
        generator = np.random.default_rng([abs(int(seed)), abs(int(counter))])
        out[row] = generator.standard_normal(shape)
    return out
