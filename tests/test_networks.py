"""Network losses: hand-written backprop against differences, planes, kernels, minima."""

from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zoo_plugins.models.networks as networks
from zoo import ActivationSpec, build_problem, hookimpl, load_registry
from zoo.testing import check_model

REGISTRY = load_registry(local=False)
BUILT_IN_ACTIVATIONS = sorted(
    name
    for name in REGISTRY.activations
    if REGISTRY.provenance("activation", name).plugin == "activations"
)

FAMILIES = [
    ("tiny_net", {"loss": "cross_entropy", "activation": "sigmoid"}),
    ("tiny_net", {"noise": 0.2, "n_points": 3}),
    ("deep_linear", {"strength": -2.0, "noise": 0.3, "n_points": 5}),
    ("mlp", {"loss": "cross_entropy", "dataset": "spiral", "depth": 3, "width": 4}),
    ("mlp", {"dataset": "xor", "activation": "relu", "plane": "random"}),
    ("mlp", {"dataset": "moons", "activation": "gelu", "width": 3, "n_points": 20}),
    ("mlp", {"dataset": "gaussians", "activation": "sin", "depth": 2, "width": 6}),
    ("wide_relu", {"mode": "train_output", "width": 30, "n_points": 6}),
    ("wide_relu", {"width": 12, "input_dim": 5, "n_points": 3}),
]


@pytest.mark.parametrize(
    ("name", "values"), FAMILIES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FAMILIES)]
)
def test_setting_families_conform(name, values):
    check_model(REGISTRY.models[name], REGISTRY, values)


@pytest.mark.parametrize("activation", BUILT_IN_ACTIVATIONS)
def test_tiny_net_with_every_activation(activation):
    for loss in ("mse", "cross_entropy"):
        check_model(REGISTRY.models["tiny_net"], REGISTRY, {"activation": activation, "loss": loss})


def test_networks_take_third_party_activations_without_second_derivative():
    cube = ActivationSpec("cube", lambda z: np.asarray(z) ** 3, lambda z: 3 * np.asarray(z) ** 2)
    plugin = types.SimpleNamespace(zoo_activations=hookimpl(lambda: [cube]))
    registry = load_registry(local=False)
    registry.register(plugin, name="cube_plugin")
    assert "cube" in registry.activations
    check_model(registry.models["tiny_net"], registry, {"activation": "cube"})
    check_model(registry.models["mlp"], registry, {"activation": "cube", "width": 3})


def central(function, x, h=1e-6):
    columns = []
    for i in range(x.shape[1]):
        shift = np.zeros_like(x)
        shift[:, i] = h
        columns.append((function(x + shift) - function(x - shift)) / (2 * h))
    return np.stack(columns, axis=-1)


@settings(max_examples=8, deadline=None)
@given(
    depth=st.integers(1, 3),
    width=st.integers(1, 6),
    activation=st.sampled_from(["tanh", "softplus", "silu", "sigmoid"]),
    loss=st.sampled_from(["mse", "cross_entropy"]),
    seed=st.integers(0, 1000),
)
def test_mlp_backprop_matches_central_differences(depth, width, activation, loss, seed):
    problem = build_problem(
        "mlp",
        {"depth": depth, "width": width, "activation": activation, "loss": loss, "n_points": 12},
        seed=seed,
    )
    x = problem.start + 0.3 * np.random.default_rng(seed).normal(size=(3, problem.dim))
    np.testing.assert_allclose(problem.grad(x), central(problem.loss, x), rtol=1e-5, atol=1e-8)
    if loss == "mse":
        np.testing.assert_allclose(
            problem.jacobian(x), central(problem.residuals, x), rtol=1e-5, atol=1e-8
        )
        r = problem.residuals(x)
        np.testing.assert_allclose(problem.loss(x), 0.5 * np.sum(r * r, axis=1), rtol=1e-12)


def test_mlp_chunks_give_the_same_losses(monkeypatch):
    problem = build_problem("mlp", {"depth": 2, "width": 5})
    x = problem.start + 0.5 * np.random.default_rng(0).normal(size=(37, problem.dim))
    whole_loss, whole_grad = problem.loss(x), problem.grad(x)
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 3000)  # a few runs per chunk
    np.testing.assert_allclose(problem.loss(x), whole_loss, rtol=1e-14)
    np.testing.assert_allclose(problem.grad(x), whole_grad, rtol=1e-13, atol=1e-15)
    single = np.array([problem.loss(row[None])[0] for row in x])
    np.testing.assert_allclose(single, whole_loss, rtol=1e-13)


def test_mlp_loss_is_the_mean_over_the_data():
    problem = build_problem("mlp", {"loss": "cross_entropy", "n_points": 10, "width": 2})
    x = problem.start[None, :]
    w1 = x[0, :4].reshape(2, 2)
    b1 = x[0, 4:6]
    w2 = x[0, 6:8]
    b2 = x[0, 8]
    out = np.tanh(problem.points @ w1.T + b1) @ w2 + b2
    expected = np.mean(np.log1p(np.exp(-problem.targets * out)))
    assert problem.loss(x)[0] == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("dataset", networks.DATASETS)
def test_datasets_are_two_balanced_classes(dataset):
    problem = build_problem("mlp", {"dataset": dataset, "n_points": 101})
    assert problem.points.shape == (101, 2)
    assert set(problem.targets) == {-1.0, 1.0}
    assert np.abs(problem.points).max() < 3.0


def test_filter_normalised_directions_have_the_weights_row_norms():
    problem = build_problem("mlp", {"depth": 2, "width": 7})
    theta = problem.start
    for direction in (problem.plane.u, problem.plane.v):
        for matrix, shape, bias in problem.layout:
            rows_d = np.linalg.norm(direction[matrix].reshape(shape), axis=1)
            rows_w = np.linalg.norm(theta[matrix].reshape(shape), axis=1)
            np.testing.assert_allclose(rows_d, rows_w, rtol=1e-9)
            np.testing.assert_array_equal(direction[bias], 0.0)
    assert not np.allclose(problem.plane.u, problem.plane.v)
    np.testing.assert_array_equal(problem.plane.origin, theta)


def test_filter_normalize_follows_li_et_al():
    problem = build_problem("mlp", {"width": 3})
    rng = np.random.default_rng(0)
    weights, direction = rng.normal(size=problem.dim), rng.normal(size=problem.dim)
    result = networks.filter_normalize(direction, weights, problem)
    matrix, shape, bias = problem.layout[0]
    d, w = direction[matrix].reshape(shape), weights[matrix].reshape(shape)
    for j in range(shape[0]):
        expected = d[j] * np.linalg.norm(w[j]) / (np.linalg.norm(d[j]) + 1e-10)
        np.testing.assert_allclose(result[matrix].reshape(shape)[j], expected, rtol=1e-15)
    np.testing.assert_array_equal(result[bias], 0.0)


def test_random_plane_is_scaled_to_the_weights():
    problem = build_problem("mlp", {"plane": "random"})
    for direction in (problem.plane.u, problem.plane.v):
        assert np.linalg.norm(direction) == pytest.approx(np.linalg.norm(problem.start))


def test_gram_infinity_closed_form_against_monte_carlo():
    problem = build_problem("wide_relu", {"input_dim": 3, "n_points": 5}, seed=2)
    inputs = problem.points
    closed = problem.gram_infinity()
    np.testing.assert_allclose(np.diag(closed), 0.5)
    w = np.random.default_rng(0).standard_normal((100_000, 3))
    on = (w @ inputs.T >= 0).astype(float)
    monte_carlo = (inputs @ inputs.T) * (on.T @ on) / len(w)
    # The Monte Carlo error is about 1.3e-3 with 4e5 samples; a quarter of them doubles it.
    assert np.abs(monte_carlo - closed).max() < 4e-3
    assert np.linalg.eigvalsh(closed)[0] > 0


def test_wide_net_gram_tends_to_gram_infinity():
    problem = build_problem("wide_relu", {"width": 5000, "n_points": 4}, seed=1)
    gram = problem.gram(problem.start[None])[0]
    # entries are means over m units: standard deviation at most ½/√m = 0.007
    assert np.abs(gram - problem.gram_infinity()).max() < 0.04


def test_wide_relu_random_features_minimum_and_plane():
    problem = build_problem("wide_relu", {"mode": "train_output", "width": 50})
    assert problem.dim == 50
    np.testing.assert_allclose(problem.loss(problem.minima), 0.0, atol=1e-20)
    np.testing.assert_allclose(problem.to_view(problem.minima[0]), [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(problem.to_view(problem.start), [0.0, 0.0], atol=1e-12)
    hidden = build_problem("wide_relu", {"width": 50, "input_dim": 3})
    assert hidden.dim == 150 and hidden.minima.shape == (0, 150)
    x = hidden.start[None]
    r = hidden.outputs(x)[0] - hidden.targets
    assert hidden.loss(x)[0] == pytest.approx(0.5 * r @ r)


def test_deep_linear_saddle_and_hyperbola():
    problem = build_problem("deep_linear", {"strength": 1.5})
    origin = np.zeros((1, 2))
    np.testing.assert_allclose(problem.grad(origin), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.eigvalsh(problem.hess(origin)[0]), [-1.5, 1.5])
    minima = problem.minima
    np.testing.assert_allclose(minima[:, 0] * minima[:, 1], 1.5, rtol=1e-12)
    np.testing.assert_allclose(problem.loss(minima), 0.0, atol=1e-25)
    assert (minima[:, 0] > 0).any() and (minima[:, 0] < 0).any()  # both branches


def test_tiny_net_minima_follow_the_symmetry_of_the_activation():
    odd = build_problem("tiny_net", {"activation": "tanh"})
    np.testing.assert_allclose(odd.minima, [[1.5, 1.0], [-1.5, -1.0]])
    relu = build_problem("tiny_net", {"activation": "relu"})
    np.testing.assert_allclose(relu.minima, [[1.5, 1.0]])
    assert build_problem("tiny_net", {"loss": "cross_entropy"}).minima.shape == (0, 2)
    classes = build_problem("tiny_net", {"loss": "cross_entropy"}).targets
    assert set(classes) == {-1.0, 1.0}


@pytest.mark.parametrize(
    ("name", "values"), [("tiny_net", {}), ("deep_linear", {}), ("mlp", {}), ("wide_relu", {})]
)
def test_minibatches(name, values):
    problem = build_problem(name, values, seed=3)
    part = problem.minibatch(np.array([1]), np.array([0]), 2)
    assert type(part) is type(problem) and part.n_samples == 2
    assert problem.n_samples > 2
    x = problem.start[None] + 0.1
    np.testing.assert_allclose(part.grad(x), central(part.loss, x), rtol=1e-5, atol=1e-8)
