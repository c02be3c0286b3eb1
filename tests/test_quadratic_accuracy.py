"""The quadratics' E − E* is exact to rounding near an off-centre minimum (rational oracle)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import build_problem

EPS = np.finfo(float).eps


def exact_excess(problem, w: np.ndarray) -> Fraction:
    """½dᵀ(QΛQᵀ)d, d = w − c, in rationals from the held λᵢ, qᵢ and c."""
    q = [[Fraction(v) for v in row] for row in problem.eigenvectors]
    lam = [Fraction(v) for v in problem.eigenvalues]
    d = [Fraction(a) - Fraction(b) for a, b in zip(w, problem.centre, strict=True)]
    n = len(d)
    matrix = [
        [sum(q[i][k] * lam[k] * q[j][k] for k in range(n)) for j in range(n)] for i in range(n)
    ]
    return sum(d[i] * matrix[i][j] * d[j] for i in range(n) for j in range(n)) / 2


def excess(problem, w: np.ndarray) -> float:
    return float(problem.loss(w[None, :])[0] - problem.value)


def relative_bound(problem) -> float:
    """A few ulps, times √κ for the cancellation in qᵢᵀd when d is nearly ⟂ qᵢ."""
    kappa = problem.eigenvalues.max() / problem.eigenvalues.min()
    return 8 * EPS * (1 + math.sqrt(2 * kappa))


def test_off_centre_bowl_has_no_floor_and_never_goes_below_its_minimum():
    problem = build_problem(
        "quadratic", {"lambda1": 0.01, "lambda2": 100.0, "angle": 30.0, "cx": 10.0, "cy": 10.0}
    )
    assert problem.loss(problem.centre[None, :])[0] == problem.value == 0.0
    rng = np.random.default_rng(3)
    directions = [*problem.eigenvectors.T, *rng.standard_normal((6, 2))]
    for scale in 10.0 ** -np.arange(1, 15):
        for direction in directions:
            w = problem.centre + scale * direction / np.linalg.norm(direction)
            exact = exact_excess(problem, w)
            assert exact > 0
            value = excess(problem, w)
            assert value > 0
            assert abs(Fraction(value) - exact) <= relative_bound(problem) * exact, (scale, value)


def test_the_gradient_vanishes_at_the_centre_and_is_the_derivative_of_the_loss():
    problem = build_problem(
        "quadratic", {"lambda1": 0.01, "lambda2": 100.0, "angle": 30.0, "cx": 10.0, "cy": 10.0}
    )
    assert np.array_equal(problem.grad(problem.centre[None, :]), np.zeros((1, 2)))
    w = problem.centre + np.array([[3e-3, -2e-3]])
    h = 1e-7
    for i in range(2):
        ahead, behind = w[0].copy(), w[0].copy()
        ahead[i] += h
        behind[i] -= h
        # Exact on a quadratic: the secant slope is the derivative at the midpoint.
        slope = (exact_excess(problem, ahead) - exact_excess(problem, behind)) / (
            Fraction(ahead[i]) - Fraction(behind[i])
        )
        middle = (Fraction(ahead[i]) + Fraction(behind[i])) / 2
        assert middle == Fraction(w[0, i])
        np.testing.assert_allclose(problem.grad(w)[0, i], float(slope), rtol=1e-13)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e-3, 100.0),
    st.floats(1e-3, 100.0),
    st.floats(-90.0, 90.0),
    st.floats(-10.0, 10.0),
    st.floats(-10.0, 10.0),
    st.floats(-12.0, 0.0),
    st.floats(0.0, 2 * math.pi),
)
def test_bowls_excess_is_exact_to_rounding_anywhere_near_their_centre(
    lambda1, lambda2, angle, cx, cy, log_scale, heading
):
    problem = build_problem(
        "quadratic",
        {"lambda1": lambda1, "lambda2": lambda2, "angle": angle, "cx": cx, "cy": cy},
    )
    w = problem.centre + 10.0**log_scale * np.array([math.cos(heading), math.sin(heading)])
    exact = exact_excess(problem, w)
    value = excess(problem, w)
    assert value >= 0
    assert abs(Fraction(value) - exact) <= relative_bound(problem) * exact


def test_typed_in_bowl_is_held_centred_and_stays_above_its_minimum():
    values = {"a11": 50.0, "a12": 49.5, "a22": 50.0, "b1": -30.0, "b2": 70.0}
    problem = build_problem("quadratic_matrix", values)
    a = np.array([[50.0, 49.5], [49.5, 50.0]])
    b = np.array([-30.0, 70.0])
    np.testing.assert_allclose(problem.centre, -np.linalg.solve(a, b), rtol=1e-14)
    np.testing.assert_allclose(problem.value, -0.5 * b @ np.linalg.solve(a, b), rtol=1e-14)
    rng = np.random.default_rng(5)
    for scale in 10.0 ** -np.arange(1, 13):
        for direction in rng.standard_normal((4, 2)):
            w = problem.centre + scale * direction
            exact = exact_excess(problem, w)
            # E* is large here, so the subtraction E − E* rounds once at its size.
            value = excess(problem, w)
            assert value >= 0
            assert abs(Fraction(value) - exact) <= relative_bound(problem) * exact + EPS * abs(
                problem.value
            )
