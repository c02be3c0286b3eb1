"""Learning-rate schedules: torch's schedulers, Robbins–Monro sums and what they do to GD."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import simulate

TORCH = json.loads((Path(__file__).parent / "fixtures" / "torch_references.json").read_text())[
    "schedules"
]
SCHEDULES = [
    "constant",
    "step",
    "exponential",
    "inverse",
    "inverse_square",
    "inverse_sqrt",
    "power",
    "cosine",
    "cosine_restarts",
    "linear_warmup",
]


def test_all_schedules_are_registered(registry):
    assert set(SCHEDULES) <= set(registry.schedules)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_factors_match_torch_schedulers(name, registry):
    reference = TORCH[name]
    factor = registry.get("schedule", name).factor
    expected = np.asarray(reference["factors"])
    got = factor(np.arange(len(expected)), **reference["params"])
    assert np.allclose(got, expected, rtol=1e-12, atol=0)
    for step in (0, 5, 19, 20, 21, 59):  # one step at a time, as the engine may ask
        assert float(factor(step, **reference["params"])) == pytest.approx(expected[step])


def test_cosine_keeps_going_past_t_max_like_torch(registry):
    factor = registry.get("schedule", "cosine").factor
    values = factor(np.arange(60), t_max=20, eta_min=0.1)
    assert values[20] == pytest.approx(0.1) and values[40] == pytest.approx(1.0)
    assert np.allclose(values[20:41], values[20::-1])


def test_columns_of_parameters_give_each_run_its_own_schedule(registry):
    """The engine passes steps and settings as (B, 1) columns, one row per run."""
    factor = registry.get("schedule", "cosine_restarts").factor
    steps = np.array([[3], [40], [40]])
    columns = {
        "t_0": np.array([[5.0], [5.0], [7.0]]),
        "t_mult": np.array([[1.0], [2.0], [3.0]]),
        "eta_min": np.zeros((3, 1)),
    }
    got = factor(steps, **columns)
    assert got.shape == (3, 1)
    for row in range(3):
        scalar = {k: float(v[row, 0]) for k, v in columns.items()}
        assert got[row, 0] == pytest.approx(float(factor(int(steps[row, 0]), **scalar)))
    # Cycles of 5, 10, 20, 40 start at 0, 5, 15, 35: step 40 is 5 into the 40-step cycle.
    assert got[1, 0] == pytest.approx((1 + math.cos(math.pi * 5 / 40)) / 2)


@pytest.mark.parametrize(
    ("name", "params", "total", "squares"),
    [
        ("inverse", {}, 14.392726722864723, math.pi**2 / 6 - 1e-6),
        ("inverse_square", {}, math.pi**2 / 6 - 1e-6, math.pi**4 / 90),
        ("inverse_sqrt", {}, None, 14.392726722864723),
        ("exponential", {"gamma": 0.9}, 1 / (1 - 0.9), 1 / (1 - 0.81)),
        ("step", {"step_size": 10, "gamma": 0.5}, 10 / (1 - 0.5), 10 / (1 - 0.25)),
    ],
)
def test_partial_sums_to_a_million_steps(name, params, total, squares, registry):
    factors = registry.get("schedule", name).factor(np.arange(1_000_000), **params)
    if total is not None:
        assert factors.sum() == pytest.approx(total, rel=1e-6)
    assert (factors**2).sum() == pytest.approx(squares, rel=1e-6)


VERDICTS = {
    ("constant", ()): False,
    ("inverse", ()): True,
    ("inverse_square", ()): False,
    ("inverse_sqrt", ()): False,
    ("exponential", (("gamma", 0.99),)): False,
    ("step", (("step_size", 10), ("gamma", 0.1))): False,
    ("cosine", (("t_max", 100), ("eta_min", 0.0))): False,
    ("cosine_restarts", (("t_0", 50), ("t_mult", 2), ("eta_min", 0.0))): False,
    ("linear_warmup", (("warmup", 10), ("start_factor", 0.1))): False,
}


@pytest.mark.parametrize(("name", "params"), sorted(VERDICTS))
def test_robbins_monro_verdicts(name, params, registry):
    spec = registry.get("schedule", name)
    assert spec.robbins_monro(**dict(params)) is VERDICTS[(name, params)]


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 3.0))
def test_power_schedule_is_robbins_monro_iff_p_in_half_to_one(p):
    from zoo_plugins.schedules import power, power_verdict

    assert power_verdict(p) == (0.5 < p <= 1)
    assert np.isclose(float(power(9, p)), 10.0**-p)


def test_power_verdict_boundaries(registry):
    verdict = registry.get("schedule", "power").robbins_monro
    assert [verdict(p=p) for p in (0.5, 0.5001, 1.0, 1.0001)] == [False, True, True, False]


def test_inverse_square_steps_stall_gradient_descent_short_of_the_minimum(registry):
    """Σηₖ < ∞: on E = ½λx² with ηₖ = η₀/(k+1)², x stops at Π(1 − λη₀/(k+1)²) of its start
    = sin(π√(λη₀))/(π√(λη₀)) = 0.3581878 at λη₀ = ½; with ηₖ = η₀/(k+1) it keeps going."""
    bowl = {"lambda1": 0.5, "lambda2": 0.5}
    steps = 20_000
    stalled = simulate(
        "quadratic",
        "sgd",
        steps=steps,
        settings=bowl,
        hyper={"lr": 1.0},
        schedule="inverse_square",
        registry=registry,
        gtol=0,
    )
    fraction = np.linalg.norm(stalled.x[-1]) / np.linalg.norm(stalled.x[0])
    closed_form = math.sin(math.pi * math.sqrt(0.5)) / (math.pi * math.sqrt(0.5))
    assert closed_form == pytest.approx(0.3581878, abs=1e-7)
    # The tail Π over k > K of (1 − a/k²) is about 1 − a/K.
    assert fraction == pytest.approx(closed_form, rel=0.5 / steps + 1e-6)
    going = simulate(
        "quadratic",
        "sgd",
        steps=steps,
        settings=bowl,
        hyper={"lr": 1.0},
        schedule="inverse",
        registry=registry,
        gtol=0,
    )
    norms = np.linalg.norm(going.x, axis=1)
    assert norms[-1] < 0.02 * norms[0] and norms[-1] < norms[steps // 2]
