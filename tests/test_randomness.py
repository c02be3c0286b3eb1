"""Per-run random streams: reproducible per run, independent across runs and steps."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import run_integers, run_normal, run_sample, run_uniform


def test_a_run_draws_the_same_numbers_alone_or_in_any_batch():
    seeds = np.array([[3], [-7], [2**40], [3]])
    steps = np.array([0, 5, 9, 1])
    batch = run_normal(seeds, steps, (4, 3))
    assert batch.shape == (4, 4, 3)
    for row in range(4):
        np.testing.assert_array_equal(
            run_normal(seeds[row], steps[row : row + 1], (4, 3))[0], batch[row]
        )
    assert not np.array_equal(batch[0], batch[3])  # same seed, other step
    assert not np.array_equal(run_normal([1], [0], (5,), stream=1), run_normal([1], [0], (5,)))


def test_the_draws_have_the_right_distribution():
    seeds = np.arange(400)
    normal = run_normal(seeds, np.zeros(400), (250,))
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1) < 0.01
    fourth = (normal**4).mean()
    assert abs(fourth - 3) < 0.1  # kurtosis of a Gaussian
    across = np.corrcoef(normal[:, 0], normal[:, 1])[0, 1]
    assert abs(across) < 0.15
    uniform = run_uniform(seeds, np.arange(400), (250,))
    assert uniform.min() > 0 and uniform.max() < 1 and abs(uniform.mean() - 0.5) < 0.005
    counts = np.bincount(run_integers(np.arange(20000), np.zeros(20000), 7), minlength=7)
    assert counts.min() > 2600 and counts.max() < 3100


@pytest.mark.parametrize(("population", "size"), [(10, 3), (10, 9), (20, 19), (7, 7)])
def test_run_sample_draws_every_subset_equally_often_per_run(population, size):
    """Both algorithms (Floyd's for small samples, a permutation for large ones) give each
    run ``size`` distinct indices, every index with chance size/N, alone as in a batch."""
    count = 40_000
    seeds, steps = np.arange(count), np.full(count, 3)
    drawn = run_sample(seeds, steps, population, size)
    assert drawn.shape == (count, size)
    assert all(len(set(row)) == size for row in drawn[:2000])
    assert drawn.min() >= 0 and drawn.max() < population
    share = np.bincount(drawn.ravel(), minlength=population) / count
    expected = size / population
    assert np.all(np.abs(share - expected) <= 5 * np.sqrt(expected * (1 - expected) / count))
    np.testing.assert_array_equal(run_sample(seeds[5:6], steps[5:6], population, size), drawn[5:6])
    if size < population:  # another step, another subset
        assert not np.array_equal(run_sample(seeds, steps + 1, population, size), drawn)


def test_run_sample_draws_each_pair_of_five_equally_often():
    count = 50_000
    drawn = np.sort(run_sample(np.arange(count), np.zeros(count), 5, 2), axis=1)
    pairs = np.unique(drawn[:, 0] * 5 + drawn[:, 1], return_counts=True)[1]
    assert len(pairs) == 10  # all C(5, 2) subsets occur
    assert np.all(np.abs(pairs / count - 0.1) < 5 * np.sqrt(0.09 / count))
