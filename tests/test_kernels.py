"""The exact fused multiply-add against rational arithmetic, across the whole float range."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from zoo_plugins.optimizers.kernels import fused

#: Finite doubles of every magnitude, subnormals included; products that overflow are
#: outside what an update rule meets and what the oracle can compare.
FINITE = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
SMALL = st.floats(-1e-290, 1e-290, allow_subnormal=True)


def once_rounded(a: float, b: float, c: float) -> float:
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def assert_rounded_once(a: float, b: float, c: float, value: float) -> None:
    exact = once_rounded(a, b, c)
    if value == exact:
        return
    # The one documented limit: an exact product halfway between two doubles, nudged off the
    # tie by a c smaller than its rounding error, rounds to even instead of towards c.
    product = Fraction(a) * Fraction(b)
    nearest = float(product)
    halfway = abs(Fraction(nearest) - product) == Fraction(math.ulp(nearest)) / 2
    assert halfway and abs(c) < math.ulp(nearest) and abs(value - exact) <= math.ulp(exact), (
        f"fused({a!r}, {b!r}, {c!r}) = {value!r}, once rounded {exact!r}"
    )


def both_paths(a: float, b: float, c: float) -> tuple[float, float]:
    """One element (Python floats) and one element of a long array (numpy)."""
    many = fused(np.full(40, a), np.full(40, b), np.full(40, c))
    return float(fused(a, b, c)), float(many[17])


@settings(max_examples=400, deadline=None)
@given(FINITE, SMALL, SMALL)
@example(1.5, 2.2e-313, 2.2e-313)
@example(0.7, -2.2e-313, 2.2e-313)
@example(-35.19, -5e-324, 5e-324)
@example(0.36, -6.9e-316, 0.0)
def test_fused_rounds_once_where_the_product_is_subnormal(a, b, c):
    if not math.isfinite(a * b):
        return
    for value in both_paths(a, b, c):
        assert_rounded_once(a, b, c, value)


@settings(max_examples=400, deadline=None)
@given(FINITE, FINITE, FINITE)
def test_fused_rounds_once_over_the_whole_range(a, b, c):
    if not (math.isfinite(a * b) and math.isfinite(a * b + c) and max(abs(a), abs(b)) < 1e290):
        return  # overflow, where the splitting falls back to plain arithmetic
    for value in both_paths(a, b, c):
        assert_rounded_once(a, b, c, value)


def test_fused_mixes_tiny_and_ordinary_elements_and_keeps_non_finite_addends():
    a = np.array([float.fromhex("0x1.73ba796d85b90p-2"), 3.0, 0.25, 2.0, 1e-200, 0.0])
    b = np.array([float.fromhex("-0x0.00000147d12a5p-1022"), 0.1, 5e-324, 1e-200, 1e-200, 5.0])
    c = np.array([0.0, 1.0, np.inf, 0.0, np.nan, -1.0])
    values = fused(np.tile(a, 4), np.tile(b, 4), np.tile(c, 4))[:6]
    assert values[2] == np.inf and np.isnan(values[4])
    for index in (0, 1, 3, 5):
        assert values[index] == once_rounded(a[index], b[index], c[index])


def test_a_tiny_product_is_rounded_exactly_beside_a_nan_in_its_block():
    a = np.full(64, 1.5)
    b = np.full(64, 3.0)
    c = np.full(64, 0.25)
    a[5], b[5], c[5] = 5.0008137842539806e-151, 3.6127097958381394e-160, -2.553419530630635e-309
    a[9] = np.nan
    result = fused(a, b, c)
    expected = float(Fraction(a[5]) * Fraction(b[5]) + Fraction(c[5]))
    assert result[5] == expected
    assert result[5] == fused(a[5:6], b[5:6], c[5:6])[0]
    assert math.isnan(result[9])
