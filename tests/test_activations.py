"""The built-in activations: identities, known values and derivatives against differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import load_registry

REGISTRY = load_registry(local=False)
BUILT_IN = sorted(
    name
    for name in REGISTRY.activations
    if REGISTRY.provenance("activation", name).plugin == "activations"
)
#: Where each piecewise activation has a kink or a jump (derivatives undefined there).
KINKS = {
    "relu": (0.0,),
    "leaky_relu": (0.0,),
    "elu": (0.0,),
    "sign": (0.0,),
    "hardtanh": (-1.0, 1.0),
}


def activation(name):
    return REGISTRY.activations[name]


def test_every_activation_of_the_catalogue_is_registered():
    assert set(BUILT_IN) == {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "softplus",
        "gelu",
        "silu",
        "sign",
        "sin",
        "hardtanh",
    }
    assert all(activation(name).d2f is not None for name in BUILT_IN)


@settings(max_examples=50, deadline=None)
@given(st.floats(-30.0, 30.0))
def test_tanh_is_a_rescaled_sigmoid(z):
    sigmoid, tanh = activation("sigmoid").f, activation("tanh").f
    assert math.isclose(float(tanh(z)), 2 * float(sigmoid(2 * z)) - 1, abs_tol=1e-14)


@pytest.mark.parametrize("name", BUILT_IN)
@settings(max_examples=25, deadline=None)
@given(z=st.floats(-6.0, 6.0))
def test_derivatives_match_central_differences(name, z):
    spec = activation(name)
    if any(abs(z - kink) < 1e-3 for kink in KINKS.get(name, ())):
        return
    h = 1e-6
    first = (spec.f(z + h) - spec.f(z - h)) / (2 * h)
    second = (spec.df(z + h) - spec.df(z - h)) / (2 * h)
    assert float(spec.df(z)) == pytest.approx(float(first), rel=1e-6, abs=1e-7)
    assert float(spec.d2f(z)) == pytest.approx(float(second), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("name", BUILT_IN)
def test_shapes_are_kept(name):
    spec = activation(name)
    z = np.linspace(-2, 2, 12).reshape(3, 4)
    for function in (spec.f, spec.df, spec.d2f):
        assert np.shape(function(z)) == z.shape


def test_known_values():
    # Φ(1) = 0.8413447460685429 (the normal distribution's table value).
    assert float(activation("gelu").f(1.0)) == pytest.approx(0.8413447460685429, rel=1e-15)
    assert float(activation("softplus").f(0.0)) == pytest.approx(math.log(2.0), rel=1e-15)
    assert float(activation("leaky_relu").f(-2.0)) == pytest.approx(-0.02)
    assert float(activation("elu").f(-50.0)) == pytest.approx(-1.0)
    assert float(activation("silu").f(1.0)) == pytest.approx(1 / (1 + math.exp(-1)))
    assert list(activation("sign").f(np.array([-3.0, 0.0, 2.0]))) == [-1.0, 0.0, 1.0]
    assert list(activation("hardtanh").f(np.array([-3.0, 0.5, 2.0]))) == [-1.0, 0.5, 1.0]


def test_saturating_activations_do_not_overflow():
    z = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        assert list(activation("sigmoid").f(z)) == [0.0, 1.0]
        assert list(activation("softplus").f(z)) == [0.0, 1000.0]
        assert list(activation("elu").f(z)) == [-1.0, 1000.0]
        assert list(activation("silu").df(z)) == [0.0, 1.0]


def _relative_error(values, exact) -> float:
    return max(abs(float(v) - float(e)) / abs(float(e)) for v, e in zip(values, exact, strict=True))


def test_sigmoid_and_its_relatives_are_accurate_in_both_tails():
    """Relative accuracy against mpmath at 50 digits from −700 to 700, where σ and σ′ span
    10⁻³⁰⁴ to 1: the tails are what logistic losses and saturated units live on."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    z = np.concatenate([np.linspace(-700, 700, 281), [-37.5, -30.0, 30.0, 37.5]])
    points = [mpmath.mpf(float(v)) for v in z]
    exact_s = [1 / (1 + mpmath.exp(-v)) for v in points]
    exact_d1 = [mpmath.exp(-v) / (1 + mpmath.exp(-v)) ** 2 for v in points]
    exact_d2 = [-d * mpmath.tanh(v / 2) for d, v in zip(exact_d1, points, strict=True)]
    sigmoid = activation("sigmoid")
    assert _relative_error(sigmoid.f(z), exact_s) < 1e-15
    assert _relative_error(sigmoid.df(z), exact_d1) < 1e-14
    nonzero = np.abs(z) > 1e-3
    assert _relative_error(sigmoid.d2f(z)[nonzero], np.array(exact_d2)[nonzero]) < 1e-14
    softplus = activation("softplus")
    assert _relative_error(softplus.df(z), exact_s) < 1e-15
    assert _relative_error(softplus.d2f(z), exact_d1) < 1e-14
    silu = activation("silu")
    exact_silu_d1 = [
        s * (1 + v / (1 + mpmath.exp(v))) for s, v in zip(exact_s, points, strict=True)
    ]
    away = np.array([abs(e) > 1e-300 for e in exact_silu_d1]) & (np.abs(z + 1.2785) > 0.1)
    assert _relative_error(silu.df(z)[away], np.array(exact_silu_d1)[away]) < 1e-13


def test_elu_second_derivative_at_the_kink_is_torchs():
    elu = activation("elu")
    assert float(elu.d2f(0.0)) == 0.0
    assert float(elu.d2f(-1e-300)) == 1.0
    assert float(elu.df(0.0)) == 1.0
