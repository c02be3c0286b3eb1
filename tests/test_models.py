"""Quadratics, classic surfaces and regression models: derivatives, minima and data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zoo import build_problem, load_registry
from zoo.testing import check_model

REGISTRY = load_registry(local=False)

SURFACES = [
    "rosenbrock",
    "beale",
    "himmelblau",
    "booth",
    "matyas",
    "three_hump_camel",
    "six_hump_camel",
    "rastrigin",
    "ackley",
    "styblinski_tang",
    "goldstein_price",
    "monkey_saddle",
    "saddle",
    "gaussian_wells",
]

#: Setting families beyond the defaults (which tests/test_conformance.py already checks).
FAMILIES = [
    ("quadratic", {"lambda1": -2.0, "lambda2": 5.0, "angle": -40.0, "cx": 1.0, "cy": -2.0}),
    ("quadratic", {"lambda1": 0.0, "lambda2": 3.0}),
    ("quadratic_matrix", {"a11": 2.0, "a12": 3.0, "a22": 1.0, "b1": 0.5, "b2": -1.0}),
    ("quadratic_1d", {"lambda1": 7.0, "c": 2.5}),
    ("quadratic_1d", {"lambda1": -1.0}),
    ("rosenbrock", {"a": -1.5, "b": 10.0}),
    ("gaussian_wells", {"depth1": 3.0, "depth2": 0.0, "width": 0.2, "bowl": 0.0}),
    ("linear_neuron", {"n_points": 1}),
    ("linear_neuron", {"n_points": 200, "noise": 1.0}),
    ("logistic", {"label_noise": 0.0, "margin": 0.5}),
    ("logistic", {"l2": 0.3, "n_points": 3}),
    ("perceptron_criterion", {"label_noise": 0.2, "n_points": 7}),
    ("student_teacher", {"n_outputs": 1, "n_inputs": 2}),
    ("student_teacher", {"n_outputs": 3, "n_inputs": 4, "n_samples": 2, "noise": 0.3}),
    ("pca_neuron", {"n_inputs": 3, "n_outputs": 1, "variance2": 2.0, "angle": -70.0}),
    ("pca_neuron", {"n_inputs": 4, "n_outputs": 3}),
    ("curve_fit", {"curve": "sigmoid", "noise": 0.3}),
    ("curve_fit", {"n_points": 3, "noise": 0.0}),
]


@pytest.mark.parametrize(
    ("name", "values"), FAMILIES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FAMILIES)]
)
def test_setting_families_conform(name, values):
    check_model(REGISTRY.models[name], REGISTRY, values)


def central_gradient(problem, x, h=1e-6):
    columns = []
    for i in range(problem.dim):
        shift = np.zeros_like(x)
        shift[:, i] = h
        columns.append((problem.loss(x + shift) - problem.loss(x - shift)) / (2 * h))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("name", SURFACES)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31))
def test_surface_gradients_and_hessians_at_random_points(name, seed):
    problem = build_problem(name)
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = problem.bounds
    x = np.stack([rng.uniform(x0, x1, 4), rng.uniform(y0, y1, 4)], axis=1)
    scale = 1 + np.abs(problem.grad(x))
    np.testing.assert_allclose(
        problem.grad(x), central_gradient(problem, x), atol=1e-6 * scale.max(), rtol=1e-6
    )
    hessian = problem.hess(x)
    np.testing.assert_array_equal(hessian, np.swapaxes(hessian, 1, 2))
    h = 1e-6
    for i in range(2):
        shift = np.zeros_like(x)
        shift[:, i] = h
        column = (problem.grad(x + shift) - problem.grad(x - shift)) / (2 * h)
        np.testing.assert_allclose(
            hessian[:, :, i], column, rtol=1e-5, atol=1e-5 * (1 + np.abs(hessian).max())
        )


# --------------------------------------------------------------------- quadratics
def test_quadratic_matrix_is_half_wAw_plus_bw():
    values = {"a11": 3.0, "a12": -1.0, "a22": 2.0, "b1": 0.5, "b2": -4.0}
    problem = build_problem("quadratic_matrix", values)
    a = np.array([[3.0, -1.0], [-1.0, 2.0]])
    b = np.array([0.5, -4.0])
    w = np.random.default_rng(0).normal(size=(5, 2))
    expected = [0.5 * row @ a @ row + b @ row for row in w]
    np.testing.assert_allclose(problem.loss(w), expected, rtol=1e-13)
    np.testing.assert_allclose(problem.minima[0], -np.linalg.solve(a, b), rtol=1e-13)
    np.testing.assert_array_equal(problem.matrix, a)
    np.testing.assert_allclose(problem.eigenvalues, np.linalg.eigvalsh(a))


def test_quadratic_matrix_saddle_has_no_minimum_and_singular_is_refused():
    saddle = build_problem("quadratic_matrix", {"a11": 1.0, "a12": 0.0, "a22": -1.0})
    assert saddle.minima.shape == (0, 2)
    np.testing.assert_allclose(saddle.grad(saddle.centre[None]), 0.0, atol=1e-14)
    with pytest.raises(ValueError, match="singular"):
        build_problem("quadratic_matrix", {"a11": 1.0, "a12": 2.0, "a22": 4.0})


def test_quadratic_eigenvalues_and_centre():
    problem = build_problem(
        "quadratic", {"lambda1": 2.0, "lambda2": 50.0, "angle": 10.0, "cx": 1.0, "cy": -1.0}
    )
    np.testing.assert_allclose(problem.eigenvalues, [2.0, 50.0])
    np.testing.assert_allclose(problem.minima, [[1.0, -1.0]], atol=1e-14)
    assert problem.loss(problem.minima)[0] == pytest.approx(0.0, abs=1e-13)
    assert build_problem("quadratic", {"lambda1": -1.0}).minima.shape == (0, 2)


def test_quadratic_1d_is_one_weight():
    problem = build_problem("quadratic_1d", {"lambda1": 4.0, "c": 1.5})
    assert problem.dim == 1
    x = np.array([[0.0], [2.0], [-1.0]])
    np.testing.assert_allclose(problem.loss(x), 0.5 * 4.0 * (x[:, 0] - 1.5) ** 2)
    np.testing.assert_allclose(problem.eigenvalues, [4.0])
    assert problem.matrix.shape == (1, 1)
    np.testing.assert_allclose(problem.minima, [[1.5]])


# --------------------------------------------------------------------- surfaces
KNOWN_MINIMA = {  # published global minimum values
    "rosenbrock": 0.0,
    "beale": 0.0,
    "himmelblau": 0.0,
    "booth": 0.0,
    "matyas": 0.0,
    "three_hump_camel": 0.0,
    "six_hump_camel": -1.0316284534898774,
    "rastrigin": 0.0,
    "ackley": 0.0,
    "styblinski_tang": 2 * -39.16616570377142,
    "goldstein_price": 3.0,
}


@pytest.mark.parametrize("name", sorted(KNOWN_MINIMA))
def test_surfaces_reach_their_published_minimum_values(name):
    problem = build_problem(name)
    assert len(problem.minima)
    np.testing.assert_allclose(problem.loss(problem.minima), KNOWN_MINIMA[name], atol=1e-9)
    np.testing.assert_allclose(problem.grad(problem.minima), 0.0, atol=1e-9)
    if name != "ackley":  # a cone tip, not a smooth minimum
        assert np.all(np.linalg.eigvalsh(problem.hess(problem.minima)) > 0)
    # no grid point of the view is lower than the listed minimum
    (x0, x1), (y0, y1) = problem.bounds
    a, b = np.meshgrid(np.linspace(x0, x1, 201), np.linspace(y0, y1, 201))
    grid = problem.loss(np.stack([a.ravel(), b.ravel()], axis=1))
    assert grid.min() >= problem.loss(problem.minima).min() - 1e-9


def test_ackley_curvature_is_infinite_in_every_direction_at_the_cone_tip():
    problem = build_problem("ackley")
    tip = np.zeros((1, 2))
    np.testing.assert_array_equal(problem.hess(tip)[0], [[np.inf, 0.0], [0.0, np.inf]])
    np.testing.assert_array_equal(
        np.linalg.solve(problem.hess(tip), problem.grad(tip)[:, :, None]), 0.0
    )
    # The oracle: along every line through the tip the second difference grows like 1/t,
    # (f(td) + f(−td) − 2f(0))/t² ≈ 2·(4/√2)/t from the cone's slope 4/√2.
    headings = np.linspace(0.0, np.pi, 7)
    directions = np.stack([np.cos(headings), np.sin(headings)], axis=1)
    for t in (1e-4, 1e-6):
        middle = 2 * problem.loss(tip)
        second = (problem.loss(t * directions) + problem.loss(-t * directions) - middle) / t**2
        np.testing.assert_allclose(second * t, 8 / np.sqrt(2), rtol=1e-2)
    # Off the tip the Hessian is finite and its curvature along the line to the tip is
    # bounded, while across it the curvature grows like 1/s.
    for s in (1e-2, 1e-4, 1e-6):
        hessian = problem.hess(s * directions)
        assert np.isfinite(hessian).all()
        across = np.stack([-directions[:, 1], directions[:, 0]], axis=1)
        curvature = np.einsum("bi,bij,bj->b", across, hessian, across)
        assert np.all(curvature * s > 2.0)


def test_himmelblau_has_four_distinct_minima_and_six_hump_two():
    assert len(np.unique(np.round(build_problem("himmelblau").minima, 6), axis=0)) == 4
    assert len(build_problem("six_hump_camel").minima) == 2


def test_saddles_have_no_minima_and_indefinite_hessians():
    for name in ("saddle", "monkey_saddle"):
        problem = build_problem(name)
        assert problem.minima.shape == (0, 2)
    eigenvalues = np.linalg.eigvalsh(build_problem("saddle").hess(np.zeros((1, 2))))
    np.testing.assert_allclose(eigenvalues, [[-2.0, 2.0]])
    np.testing.assert_array_equal(build_problem("monkey_saddle").hess(np.zeros((1, 2))), 0.0)


def test_gaussian_wells_lists_the_deepest_well():
    problem = build_problem("gaussian_wells", {"depth1": 4.0})
    a, b = np.meshgrid(np.linspace(-3, 3, 301), np.linspace(-3, 3, 301))
    points = np.stack([a.ravel(), b.ravel()], axis=1)
    best = points[np.argmin(problem.loss(points))]
    assert len(problem.minima) == 1
    assert np.linalg.norm(problem.minima[0] - best) < 0.03
    assert np.linalg.norm(problem.minima[0] - [-1.2, -0.6]) < 0.2


# --------------------------------------------------------------------- regression
def test_linear_neuron_valley_with_fewer_points_than_weights():
    problem = build_problem("linear_neuron", {"n_points": 1, "noise": 0.5})
    minima = problem.minima
    assert len(minima) > 2
    np.testing.assert_allclose(problem.loss(minima), 0.0, atol=1e-20)
    steps = np.diff(minima, axis=0)
    cross = steps[:, 0] * steps[0, 1] - steps[:, 1] * steps[0, 0]
    np.testing.assert_allclose(cross, 0.0, atol=1e-12)  # all on one line
    assert np.linalg.matrix_rank(problem.hess(minima[:1])[0]) == 1


@pytest.mark.parametrize("count", [2, 5, 50])
def test_linear_neuron_single_minimum_with_enough_points(count):
    problem = build_problem("linear_neuron", {"n_points": count, "noise": 0.3}, seed=3)
    assert problem.minima.shape == (1, 2)
    fitted, *_ = np.linalg.lstsq(problem.points, problem.targets, rcond=None)
    np.testing.assert_allclose(problem.minima[0], fitted, rtol=1e-10)
    assert np.linalg.matrix_rank(problem.hess(problem.minima)[0]) == 2
    w = np.random.default_rng(1).normal(size=(3, 2))
    expected = [0.5 * np.mean((problem.points @ row - problem.targets) ** 2) for row in w]
    np.testing.assert_allclose(problem.loss(w), expected, rtol=1e-13)


def test_logistic_minimum_and_data():
    problem = build_problem("logistic")
    assert problem.inputs.shape == (40, 2) and set(problem.labels) <= {-1.0, 1.0}
    np.testing.assert_allclose(problem.grad(problem.minima), 0.0, atol=1e-10)
    w = np.array([[0.3, -0.7]])
    expected = np.mean(np.log1p(np.exp(-problem.labels * (problem.inputs @ w[0]))))
    assert problem.loss(w)[0] == pytest.approx(expected, rel=1e-13)
    separable = build_problem("logistic", {"label_noise": 0.0, "margin": 0.5})
    assert separable.minima.shape == (0, 2)
    assert "inputs" in problem.provides and "labels" in problem.provides


def test_perceptron_criterion_counts_only_mistakes():
    problem = build_problem("perceptron_criterion", {"label_noise": 0.2})
    w = np.array([[0.8, -1.1]])
    margins = problem.labels * (problem.inputs @ w[0])
    assert problem.loss(w)[0] == pytest.approx(np.mean(np.maximum(0, -margins)))
    expected = -sum(
        y * x for x, y, m in zip(problem.inputs, problem.labels, margins, strict=True) if m < 0
    ) / len(margins)
    np.testing.assert_allclose(problem.grad(w)[0], expected, rtol=1e-13)
    assert problem.loss(np.zeros((1, 2)))[0] == 0.0


def test_student_teacher_recovers_the_teacher():
    problem = build_problem("student_teacher", {"n_outputs": 2, "n_inputs": 3})
    np.testing.assert_allclose(problem.minima[0], problem.teacher.ravel(), atol=1e-10)
    assert problem.generalization_error(problem.minima)[0] == pytest.approx(0.0, abs=1e-20)
    assert problem.jacobian(problem.minima).shape == (1, 100 * 2, 6)
    plane = problem.plane
    np.testing.assert_allclose(plane.to_weights(0.0, 0.0), problem.minima[0])
    np.testing.assert_allclose(plane.to_weights(1.0, 0.0), problem.start, atol=1e-12)
    np.testing.assert_allclose(problem.to_view(problem.start), [1.0, 0.0], atol=1e-12)


def test_pca_neuron_minima_are_the_unit_top_eigenvectors():
    problem = build_problem("pca_neuron", {"variance1": 5.0, "variance2": 1.0, "angle": 30.0})
    assert problem.inputs.shape == (500, 2) and problem.dim == 2
    values, vectors = np.linalg.eigh(problem.inputs.T @ problem.inputs / 500)
    top = vectors[:, -1]
    for minimum in problem.minima:
        assert abs(abs(minimum @ top) - 1.0) < 1e-12
    np.testing.assert_allclose(problem.grad(problem.minima), 0.0, atol=1e-12)
    # direct reconstruction error (1/2N)Σ‖x − wᵀw x‖²
    w = np.random.default_rng(2).normal(size=(1, 2))
    projector = np.outer(w[0], w[0])
    direct = 0.5 * np.mean(np.sum((problem.inputs - problem.inputs @ projector) ** 2, axis=1))
    assert problem.loss(w)[0] == pytest.approx(direct, rel=1e-12)
    assert problem.loss(problem.minima)[0] == pytest.approx(0.5 * values[0], rel=1e-10)
    # the population covariance has the chosen variances along the rotated axes
    axis = np.array([np.cos(np.pi / 6), np.sin(np.pi / 6)])
    assert axis @ problem.covariance @ axis == pytest.approx(5.0)


def test_pca_neuron_with_several_outputs_is_row_major():
    problem = build_problem("pca_neuron", {"n_inputs": 4, "n_outputs": 2})
    assert problem.dim == 8 and problem.inputs.shape[1] == 4
    ordered = problem.minima[0].reshape(2, 4)
    np.testing.assert_allclose(ordered @ ordered.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.abs(ordered), np.abs(problem.principal_components[:2]))


def test_curve_fit_covariance_formula_and_monte_carlo():
    problem = build_problem("curve_fit", {"noise": 0.1, "n_points": 30})
    theta = problem.minima[0]
    jac, r = problem.jacobian(theta[None])[0], problem.residuals(theta[None])[0]
    expected = (r @ r) / (30 - 2) * np.linalg.inv(jac.T @ jac)
    np.testing.assert_allclose(problem.covariance(theta), expected, rtol=1e-12)
    assert problem.covariance(np.stack([theta, theta])).shape == (2, 2, 2)
    # refits on fresh noise scatter as σ²(JᵀJ)⁻¹ predicts (σ known here)
    fits = np.array(
        [
            build_problem("curve_fit", {"noise": 0.1, "n_points": 30}, seed=seed).minima[0]
            for seed in range(300)
        ]
    )
    truth_jac = problem.jacobian(problem.truth[None])[0]
    predicted = 0.1**2 * np.linalg.inv(truth_jac.T @ truth_jac)
    np.testing.assert_allclose(
        np.cov(fits.T),
        predicted,
        rtol=0.25,
        atol=0.25 * np.sqrt(np.outer(np.diag(predicted), np.diag(predicted))).max(),
    )


@pytest.mark.parametrize(
    "name",
    [
        "linear_neuron",
        "logistic",
        "perceptron_criterion",
        "student_teacher",
        "pca_neuron",
        "curve_fit",
    ],
)
def test_minibatches_and_seeds(name):
    problem = build_problem(name, seed=4)
    part = problem.minibatch(np.array([0, 1]), np.array([0, 0]), 3)
    assert type(part) is type(problem) and part.n_samples == 3 and part.dim == problem.dim
    assert problem.n_samples > 3  # the original is untouched
    x = np.random.default_rng(5).normal(size=(2, problem.dim))
    np.testing.assert_allclose(part.grad(x), central_gradient(part, x), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(build_problem(name, seed=4).loss(x), problem.loss(x))
    assert not np.array_equal(build_problem(name, seed=5).loss(x), problem.loss(x))
