"""Run colours stay readable on the landscape they are drawn over."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zoo_gui.palette import RUN_COLOURS, landscape_map, sweep_colours


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0-255 channels)."""
    channel = np.asarray(rgb, dtype=float) / 255
    linear = np.where(channel <= 0.03928, channel / 12.92, ((channel + 0.055) / 1.055) ** 2.4)
    return float(linear @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def rgb(name: str) -> tuple[int, int, int]:
    return tuple(int(name[k : k + 2], 16) for k in (1, 3, 5))


@pytest.mark.parametrize("count", [2, 16, 256])
def test_sweep_colours_are_an_ordered_ramp_that_reads_on_the_deepest_landscape(count, qapp):
    deepest = landscape_map().map(0.0, mode="byte")[:3]
    colours = sweep_colours(count)
    assert len(colours) == count and len(set(colours)) > min(count, 200) // 2
    assert all(contrast(rgb(c), deepest) >= 3.0 for c in colours), colours[:3]
    light = [luminance(rgb(c)) for c in colours]
    # An ordered ramp: each colour lighter than the last (to 8-bit rounding).
    assert all(b >= a - 5e-3 for a, b in itertools.pairwise(light))
    assert light[-1] > 3 * light[0]


def test_run_colours_read_on_the_deepest_landscape(qapp):
    deepest = landscape_map().map(0.0, mode="byte")[:3]
    assert all(contrast(rgb(c), deepest) >= 3.0 for c in RUN_COLOURS)
