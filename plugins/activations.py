"""Elementwise activations φ with their exact first and second derivatives.

Networks backpropagate with ``df`` and build exact Hessians with ``d2f``, so each pair is
written out by hand.  Activations with a parameter use a fixed value, named in the label:
leaky ReLU slope 0.01, ELU α = 1, softplus β = 1 (the torch defaults).
"""

from __future__ import annotations

import math

import numpy as np

from zoo import ActivationSpec, hookimpl

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0
SOFTPLUS_BETA = 1.0

_erf = np.frompyfunc(math.erf, 1, 1)
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _array(z) -> np.ndarray:
    return np.asarray(z, dtype=float)


def _zeros(z) -> np.ndarray:
    return np.zeros_like(_array(z))


def _ones(z) -> np.ndarray:
    return np.ones_like(_array(z))


def sigmoid(z):
    """σ(z) = 1/(1 + e^{−z}) as 1/(1 + e^{−|z|}) or e^{−|z|}/(1 + e^{−|z|}): e^{−|z|} never
    overflows and neither tail cancels, so σ is accurate to a few ulps relative to itself
    from −745 to 745 (½(1 + tanh(z/2)) loses everything below about −37)."""
    z = _array(z)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def _sigmoid_d1(z):
    """σ′ = σ(z)σ(−z) = e^{−|z|}/(1 + e^{−|z|})², accurate in both tails (1 − σ would cancel)."""
    e = np.exp(-np.abs(_array(z)))
    return e / (1.0 + e) ** 2


def _sigmoid_d2(z):
    """σ″ = σ′·(1 − 2σ) = −σ′·tanh(z/2)."""
    return -_sigmoid_d1(z) * np.tanh(0.5 * _array(z))


def _tanh_d1(z):
    t = np.tanh(_array(z))
    return 1.0 - t * t


def _tanh_d2(z):
    t = np.tanh(_array(z))
    return -2.0 * t * (1.0 - t * t)


def _relu(z):
    return np.maximum(_array(z), 0.0)


def _relu_d1(z):
    return (_array(z) > 0).astype(float)


def _leaky(z):
    z = _array(z)
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_d1(z):
    return np.where(_array(z) > 0, 1.0, LEAKY_SLOPE)


def _elu(z):
    z = _array(z)
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _elu_d1(z):
    z = _array(z)
    return np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0.0)))


def _elu_d2(z):
    """0 at the kink z = 0, as torch's double backward gives (the left limit would be α)."""
    z = _array(z)
    return np.where(z >= 0, 0.0, ELU_ALPHA * np.exp(np.minimum(z, 0.0)))


def _softplus(z):
    return np.logaddexp(0.0, SOFTPLUS_BETA * _array(z)) / SOFTPLUS_BETA


def _softplus_d1(z):
    return sigmoid(SOFTPLUS_BETA * _array(z))


def _softplus_d2(z):
    return SOFTPLUS_BETA * _sigmoid_d1(SOFTPLUS_BETA * _array(z))


def normal_cdf(z):
    """Φ(z) = ½(1 + erf(z/√2)), with the C library's erf (numpy has none)."""
    z = _array(z)
    return 0.5 * (1.0 + np.asarray(_erf(z * _SQRT_HALF), dtype=float))


def _normal_pdf(z):
    z = _array(z)
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def _gelu(z):
    return _array(z) * normal_cdf(z)


def _gelu_d1(z):
    z = _array(z)
    return normal_cdf(z) + z * _normal_pdf(z)


def _gelu_d2(z):
    z = _array(z)
    return _normal_pdf(z) * (2.0 - z * z)


def _silu(z):
    return _array(z) * sigmoid(z)


def _silu_d1(z):
    """σ(z)(1 + zσ(−z)): σ(−z) instead of 1 − σ(z) keeps the right tail exact."""
    z = _array(z)
    return sigmoid(z) * (1.0 + z * sigmoid(-z))


def _silu_d2(z):
    """σ′(z)(2 − z·tanh(z/2)), since 1 − 2σ = −tanh(z/2)."""
    z = _array(z)
    return _sigmoid_d1(z) * (2.0 - z * np.tanh(0.5 * z))


def _sign(z):
    return np.sign(_array(z))


def _sin_d2(z):
    return -np.sin(_array(z))


def _hardtanh(z):
    return np.clip(_array(z), -1.0, 1.0)


def _hardtanh_d1(z):
    return (np.abs(_array(z)) < 1.0).astype(float)


ACTIVATIONS = [
    ActivationSpec(
        "identity", _array, _ones, _zeros, label="identity", doc="φ(z) = z: a linear network."
    ),
    ActivationSpec(
        "sigmoid",
        sigmoid,
        _sigmoid_d1,
        _sigmoid_d2,
        label="sigmoid",
        doc="σ(z) = 1/(1 + e^{−z}); σ′ = σ(1 − σ) is at most ¼, so deep sigmoid "
        "nets have vanishing gradients.",
    ),
    ActivationSpec(
        "tanh",
        lambda z: np.tanh(_array(z)),
        _tanh_d1,
        _tanh_d2,
        label="tanh",
        doc="tanh z = 2σ(2z) − 1: a zero-centred sigmoid.",
    ),
    ActivationSpec(
        "relu",
        _relu,
        _relu_d1,
        _zeros,
        label="ReLU",
        doc="max(0, z); zero gradient for z < 0 (dead units), kink at 0.",
    ),
    ActivationSpec(
        "leaky_relu",
        _leaky,
        _leaky_d1,
        _zeros,
        label="leaky ReLU (slope 0.01)",
        doc="z for z > 0, 0.01·z otherwise: ReLU without dead units.",
    ),
    ActivationSpec(
        "elu",
        _elu,
        _elu_d1,
        _elu_d2,
        label="ELU (α = 1)",
        doc="z for z > 0, α(e^z − 1) otherwise, α = 1: smooth negative saturation. "
        "φ″(0) = 0, as torch's double backward gives.",
    ),
    ActivationSpec(
        "softplus",
        _softplus,
        _softplus_d1,
        _softplus_d2,
        label="softplus (β = 1)",
        doc="log(1 + e^{βz})/β with β = 1: a smooth ReLU whose derivative is σ(βz).",
    ),
    ActivationSpec(
        "gelu",
        _gelu,
        _gelu_d1,
        _gelu_d2,
        label="GELU",
        doc="z·Φ(z) with the exact normal CDF Φ(z) = ½(1 + erf(z/√2)).",
    ),
    ActivationSpec(
        "silu",
        _silu,
        _silu_d1,
        _silu_d2,
        label="SiLU (swish)",
        doc="z·σ(z): smooth, non-monotone just below zero.",
    ),
    ActivationSpec(
        "sign",
        _sign,
        _zeros,
        _zeros,
        label="sign",
        doc="The perceptron's threshold unit: its derivative is zero almost "
        "everywhere, so gradient methods cannot train through it.",
    ),
    ActivationSpec(
        "sin",
        lambda z: np.sin(_array(z)),
        lambda z: np.cos(_array(z)),
        _sin_d2,
        label="sin",
        doc="sin z: periodic, many equivalent minima.",
    ),
    ActivationSpec(
        "hardtanh",
        _hardtanh,
        _hardtanh_d1,
        _zeros,
        label="hard tanh",
        doc="z clipped to [−1, 1]: flat (zero gradient) outside.",
    ),
]


@hookimpl
def zoo_activations():
    return ACTIVATIONS
