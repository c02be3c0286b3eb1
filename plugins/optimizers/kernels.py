"""torch's CPU tensor kernels, rounding for rounding, so update rules can follow torch bit for bit.

torch's float64 CPU kernels for ``add(…, alpha=)``, ``addcmul`` and ``lerp`` compute a
multiply-add with one rounding (a fused multiply-add); ``addcdiv`` divides, then adds, with
two.  numpy has no fused multiply-add, so :func:`fused` builds one from error-free
transformations.  What cannot be matched (torch's square root and dot product go through a
vendor maths library that is not correctly rounded) is described in ``docs/optimizers.md``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitting constant
#: Below this |a·b| Dekker's product is no longer exact: its error terms underflow (exact
#: for exponents e_a + e_b ≥ e_min + p − 1 = −970, Boldo 2006, "Pitfalls of a full
#: floating-point proof: example on the formal proof of the Veltkamp/Dekker algorithms").
_TINY = 2.0**-966


def fused(a, b, c):
    """a·b + c with one rounding (an FMA): Dekker's exact product, Knuth's exact sum, one add.

    Correctly rounded except when the exact product lies halfway between two doubles and c
    is smaller than its rounding error: then the tie goes to even rather than towards c.
    Products too small for Dekker's algorithm (subnormal or nearly) are rounded exactly from
    rationals instead.  Large arrays are worked through in blocks that stay in cache, with
    the same operations in the same order, so the result does not depend on the blocking."""
    a, b, c = np.asarray(a, dtype=float), np.asarray(b, dtype=float), np.asarray(c, dtype=float)
    if max(a.size, b.size, c.size) <= SMALL:
        return _fused_small(a, b, c)
    shape = np.broadcast_shapes(a.shape, b.shape, c.shape)
    result = np.empty(shape)
    if len(shape) < 1 or shape[0] < 2:
        _fused_block(a, b, c, result)
        return result
    rows = max(1, _BLOCK // max(1, result[0].size))
    a, b, c = (_uniform(x, shape) for x in (a, b, c))
    for lo in range(0, shape[0], rows):
        hi = lo + rows
        # Operands that vary along the first axis are cut with it; the others are shared.
        _fused_block(
            *(x[lo:hi] if x.ndim and x.shape[0] > 1 else x for x in (a, b, c)), result[lo:hi]
        )
    return result


def _uniform(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` ready to broadcast to ``shape``: one value if all of its are the same bits (a
    hyper-parameter column shared by every run), as numpy broadcasts a column slowly."""
    if x.shape == shape or x.ndim == 0:
        return x
    if not any(x.strides):  # one value broadcast already
        return x.reshape(-1)[:1].reshape(())
    if x.size and (x.reshape(-1).view(np.int64) == x.reshape(-1)[:1].view(np.int64)).all():
        return x.reshape(-1)[:1].reshape(())
    return x.reshape((1,) * (len(shape) - x.ndim) + x.shape)


#: Elements per block of a large ``fused``: its dozen temporaries stay within the L2 cache.
_BLOCK = 8192


def _fused_block(a: np.ndarray, b: np.ndarray, c: np.ndarray, out: np.ndarray) -> None:
    """``fused`` of one block, written into ``out``: in place, one temporary per term."""
    product = a * b
    a_high = _SPLIT * a
    a_high -= a_high - a
    a_low = a - a_high
    b_high = _SPLIT * b
    b_high -= b_high - b
    b_low = b - b_high
    error = np.multiply(a_high, b_high, out=np.empty(out.shape))
    error -= product
    term = np.multiply(a_high, b_low, out=np.empty(out.shape))
    error += term
    error += np.multiply(a_low, b_high, out=term)
    error += np.multiply(a_low, b_low, out=term)
    total = np.add(product, c, out=np.empty(out.shape))
    virtual = np.subtract(total, product, out=term)
    error += product - (total - virtual)
    error += np.subtract(c, virtual, out=virtual)
    np.add(total, error, out=out)
    # NaN-ignoring: one NaN must not hide the block's tiny products.
    if np.fmin.reduce(np.abs(product), axis=None) < _TINY:
        tiny = np.broadcast_to((np.abs(product) < _TINY) & (a != 0) & (b != 0), out.shape)
        if tiny.any():
            where = np.flatnonzero(tiny)
            parts = [np.broadcast_to(part, tiny.shape).flat[where] for part in (a, b, c)]
            exact = [_exact(*map(float, abc)) for abc in zip(*parts, strict=True)]
            out.flat[where] = exact
    if not math.isfinite(np.add.reduce(out, axis=None)):
        # Splitting overflows near the top of the float range; there plain arithmetic will do.
        np.copyto(out, np.broadcast_to(total, out.shape), where=~np.isfinite(out))


#: Up to this many elements Python floats beat numpy's per-call cost.
SMALL = 16


def _exact(a: float, b: float, c: float) -> float:
    """a·b + c rounded once from exact rationals (finite a, b; c may be infinite or NaN)."""
    if c - c != 0:
        return a * b + c
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def fma(a: float, b: float, c: float) -> float:
    """``fused`` of three Python floats."""
    product = a * b
    if abs(product) < _TINY and a and b:
        return _exact(a, b, c)
    a_high = _SPLIT * a
    a_high -= a_high - a
    b_high = _SPLIT * b
    b_high -= b_high - b
    a_low, b_low = a - a_high, b - b_high
    error = (((a_high * b_high - product) + a_high * b_low) + a_low * b_high) + a_low * b_low
    total = product + c
    virtual = total - product
    error += product - (total - virtual)
    error += c - virtual
    result = total + error
    return result if result - result == 0 else total


def _fused_small(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The same error-free transformations one element at a time, in Python floats."""
    pairs = np.broadcast(a, b, c)
    values = [fma(float(x), float(y), float(z)) for x, y, z in pairs]
    return np.array(values, dtype=float).reshape(pairs.shape)


def per_row(hyper: dict, names: tuple[str, ...], rows: int) -> list[list[float]]:
    """Hyper-parameters (each one value, or a column of one per run) as lists of ``rows``
    Python floats."""
    columns = []
    for name in names:
        value = hyper[name]
        if type(value) is not np.ndarray or value.dtype != np.float64:
            value = np.asarray(value, dtype=float)
        if value.size == rows:
            columns.append(value.ravel().tolist())
        elif value.size == 1:
            columns.append([value.item()] * rows)
        else:
            columns.append(np.broadcast_to(value.reshape(-1, 1), (rows, 1)).ravel().tolist())
    return columns


def from_floats(values: list[float], shape: tuple[int, ...]) -> np.ndarray:
    """Python floats as a float64 array of ``shape``."""
    return np.array(values, dtype=float).reshape(shape)


def sqrt(x):
    """The correctly rounded square root (torch's CPU kernel is within one ulp of it)."""
    return np.sqrt(x)


def add(x, other, alpha):
    """torch's ``x.add(other, alpha=alpha)``: x + α·other, rounded once."""
    return fused(alpha, other, x)


def addcmul(x, t1, t2, value=1.0):
    """torch's ``x.addcmul(t1, t2, value=v)``: (v·t1) rounded, then ·t2 + x rounded once."""
    return fused(value * t1, t2, x)


def addcdiv(x, t1, t2, value=1.0):
    """torch's ``x.addcdiv(t1, t2, value=v)``: x + (v·t1)/t2 with every operation rounded."""
    return x + _one_value(value) * t1 / t2


def _one_value(x):
    """A column whose elements are all the same bits as a broadcast of its first (zero
    strides, the same shape and values): numpy combines that with (B, D) arrays as fast as
    a scalar, a column of copies several times slower."""
    if type(x) is not np.ndarray or x.size < 2 or not any(x.strides):
        return x
    flat = x.reshape(-1)
    if x.dtype == np.float64 and (flat.view(np.int64) == flat[:1].view(np.int64)).all():
        return np.broadcast_to(flat[:1].reshape((1,) * x.ndim), x.shape)
    return x


def lerp(start, end, weight):
    """torch's ``start.lerp(end, w)``: start + w·(end − start) below w = ½, else
    end − (1 − w)·(end − start), each a single fused multiply-add, so both ends are exact."""
    diff = end - start
    weight = np.asarray(weight, dtype=float)
    low = weight < 0.5
    if low.all():
        return fused(weight, diff, start)
    if not low.any():
        return fused(weight - 1, diff, end)
    return np.where(low, fused(weight, diff, start), fused(weight - 1, diff, end))


def power(base, exponent) -> np.ndarray:
    """base**exponent by the C library's pow, as torch.optim computes its scalar powers
    (``beta1 ** step``) in Python floats; numpy's vectorised power may round differently.

    Runs in a batch mostly share both, so each distinct pair is computed once."""
    base, exponent = np.asarray(base, dtype=float), np.asarray(exponent, dtype=float)
    if base.size == 1 and exponent.size == 1:  # one run
        shape = base.shape if base.ndim >= exponent.ndim else exponent.shape
        return np.array(pow(base.item(), exponent.item())).reshape(shape)
    first_base, first_exponent = float(base.flat[0]), float(exponent.flat[0])
    if _all_equal(base, first_base) and _all_equal(exponent, first_exponent):
        shape = np.broadcast_shapes(base.shape, exponent.shape)
        value = pow(first_base, first_exponent)
        if math.prod(shape) <= SMALL:
            return np.full(shape, value)
        return _broadcast(value, shape)
    base, exponent = np.broadcast_arrays(base, exponent)
    pairs, inverse = np.unique(
        np.stack([base.ravel(), exponent.ravel()], axis=1), axis=0, return_inverse=True
    )
    values = np.array([pow(float(b), float(e)) for b, e in pairs])
    return values[inverse.ravel()].reshape(base.shape)


def _all_equal(x: np.ndarray, first: float) -> bool:
    """Whether every element of ``x`` equals ``first`` (a broadcast of one value does)."""
    if x.size == 1 or all(not step for step, n in zip(x.strides, x.shape, strict=True) if n > 1):
        return True
    return bool((x == first).all())


def _broadcast(value: float, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(value, shape)`` (read-only, zero strides) without its cost per call."""
    one = np.array(value)
    view = np.ndarray(shape, dtype=float, buffer=one, strides=(0,) * len(shape))
    view.flags.writeable = False
    return view
