"""The networks' exact Hessians: against differences of the gradient away from kinks, and
exactly at kinks against the network with its kinked units frozen (piecewise-linear units)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import zoo_plugins.models.networks as networks
from zoo import build_problem, load_registry
from zoo.problem import Problem

REGISTRY = load_registry(local=False)
ACTIVATIONS = REGISTRY.activations
#: Where each piecewise activation bends (φ′ or φ″ jumps).
KINKS = {"relu": (0.0,), "leaky_relu": (0.0,), "elu": (0.0,), "hardtanh": (-1.0, 1.0)}
SMOOTH = ("identity", "sigmoid", "tanh", "softplus", "gelu", "silu", "sin")
PIECEWISE_LINEAR = ("relu", "leaky_relu", "hardtanh")


def differences(problem, x):
    """Central differences of the exact gradient: the fallback every Problem inherits."""
    return Problem.hess(problem, x)


def assert_close_to_differences(problem, x):
    exact = problem.hess(x)
    scale = 1.0 + np.abs(exact).max()
    np.testing.assert_allclose(exact, differences(problem, x), rtol=1e-6, atol=1e-8 * scale)
    np.testing.assert_array_equal(exact, np.swapaxes(exact, 1, 2))


def kink_margin(pre, activation) -> float:
    """The smallest distance of a hidden pre-activation from a kink of the activation."""
    kinks = KINKS.get(activation, ())
    if not kinks:
        return np.inf
    return min(np.abs(z - kink).min() for z in pre for kink in kinks)


@pytest.mark.parametrize(
    ("activation", "loss", "depth"),
    list(itertools.product([*SMOOTH, *KINKS], ("mse", "cross_entropy"), (1, 2, 3))),
)
def test_mlp_hessian_matches_differences_away_from_kinks(activation, loss, depth):
    problem = build_problem(
        "mlp",
        {"depth": depth, "width": 4, "activation": activation, "loss": loss, "n_points": 15},
        seed=depth,
    )
    rng = np.random.default_rng(depth)
    x = problem.start + 0.3 * rng.normal(size=(3, problem.dim))
    _, pre, _ = problem._forward(x)
    # A step of the differences moves z by at most about 1e-5·Σ|inputs|; stay well clear.
    keep = [kink_margin([z[row] for z in pre[:-1]], activation) > 1e-3 for row in range(3)]
    assert sum(keep) >= 2
    assert_close_to_differences(problem, x[keep])


@pytest.mark.parametrize("activation", [*SMOOTH, *PIECEWISE_LINEAR])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_tiny_net_hessian_matches_differences(activation, loss):
    problem = build_problem("tiny_net", {"activation": activation, "loss": loss})
    x = np.array([[-2.0, 0.5], [0.7, -1.3], [1.4, 0.9]])
    assert_close_to_differences(problem, x)


def test_deep_linear_and_wide_relu_hessians_match_differences():
    deep = build_problem("deep_linear", {"strength": -2.0, "noise": 0.3, "n_points": 5})
    assert_close_to_differences(deep, np.array([[0.15, 0.1], [1.2, -0.4], [0.0, 0.0]]))
    for mode in ("train_hidden", "train_output"):
        wide = build_problem("wide_relu", {"mode": mode, "width": 6, "input_dim": 3})
        x = wide.start + 0.05 * np.random.default_rng(2).normal(size=(2, wide.dim))
        assert np.abs(wide._pre(x)[0]).min() > 1e-3
        assert_close_to_differences(wide, x)


# --------------------------------------------------------------------- at the kinks
def dyadic_mlp(activation: str, loss: str, seed: int):
    """An MLP whose inputs and weights are small multiples of powers of two, so every
    pre-activation is computed exactly and many land exactly on a kink."""
    rng = np.random.default_rng(seed)
    points = rng.integers(-4, 5, size=(12, 2)) / 4.0
    targets = np.where(rng.random(12) < 0.5, 1.0, -1.0)
    sizes = (2, 4, 3, 1)
    dim = sum(i * o + o for i, o in itertools.pairwise(sizes))
    start = rng.integers(-2, 3, size=dim) / 2.0
    cls = networks.MLPSquares if loss == "mse" else networks.MLP
    return cls(points, targets, sizes, ACTIVATIONS[activation], loss, start)


def frozen_loss(problem, at: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The loss at ``weights`` (B, D) of the network whose every hidden unit is replaced, per
    sample, by the affine function through φ(z) with slope φ′(z) at the point ``at``: for a
    piecewise-linear φ the network with its active set frozen, smooth in the weights."""
    _, pre_at, _ = problem._forward(at[None, :])
    act = problem.activation
    slopes = [act.df(z[0]) for z in pre_at[:-1]]
    levels = [act.f(z[0]) - s * z[0] for z, s in zip(pre_at[:-1], slopes, strict=True)]
    a = np.broadcast_to(problem.points, (len(weights), *problem.points.shape))
    layers = problem.layers(weights)
    for index, (weight, bias) in enumerate(layers):
        z = np.einsum("bni,boi->bno", a, weight) + bias[:, None, :]
        if index == len(layers) - 1:
            out = z[..., 0]
        else:
            a = levels[index] + slopes[index] * z
    return networks.head(problem.loss_kind, out, problem.targets)[0].mean(axis=1)


def second_differences(function, at: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """∂²f/∂xᵢ∂xⱼ by four-point central second differences of the values alone."""
    dim = len(at)
    eye = np.eye(dim) * h
    plus_plus = at + eye[:, None] + eye[None, :]
    plus_minus = at + eye[:, None] - eye[None, :]
    values = [function(p.reshape(-1, dim)).reshape(dim, dim) for p in (plus_plus, plus_minus)]
    minus_plus, minus_minus = at - eye[:, None] + eye[None, :], at - eye[:, None] - eye[None, :]
    values += [function(p.reshape(-1, dim)).reshape(dim, dim) for p in (minus_plus, minus_minus)]
    return (values[0] - values[1] - values[2] + values[3]) / (4 * h * h)


@pytest.mark.parametrize("activation", PIECEWISE_LINEAR)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_mlp_hessian_at_kinks_is_the_frozen_networks(activation, loss):
    problem = dyadic_mlp(activation, loss, seed=7)
    at = problem.start
    _, pre, _ = problem._forward(at[None, :])
    kinks = KINKS[activation]
    on_kink = [np.isin(z[0], kinks) for z in pre[:-1]]
    assert all(mask.any() for mask in on_kink)  # kinks in both hidden layers
    exact = problem.hess(at[None, :])[0]
    oracle = second_differences(lambda w: frozen_loss(problem, at, w), at)
    scale = 1.0 + np.abs(oracle).max()
    np.testing.assert_allclose(exact, oracle, rtol=1e-5, atol=1e-6 * scale)
    # The gradient's differences straddle the kinks and are far off there: the test has teeth.
    assert np.abs(differences(problem, at[None, :])[0] - exact).max() > 1e-2 * scale


def test_relu_at_a_kink_follows_torch_relu_prime_zero():
    """A unit exactly at z = 0 for every sample (its weights and bias 0) is off, as torch's
    ReLU′(0) = 0 has it: no curvature along its incoming weights (ReLU′(0) = 1 would give
    ℓ″·JJᵀ there) nor its outgoing ones (its output is 0)."""
    problem = dyadic_mlp("relu", "mse", seed=0)
    at = problem.start.copy()
    first_matrix, _, first_bias = problem.layout[0]
    unit = 2
    incoming = [first_matrix.start + 2 * unit, first_matrix.start + 2 * unit + 1]
    incoming.append(first_bias.start + unit)
    at[incoming] = 0.0
    second_matrix = problem.layout[1][0]
    outgoing = [second_matrix.start + row * 4 + unit for row in range(3)]
    assert np.any(at[outgoing] != 0)
    hessian = problem.hess(at[None, :])[0]
    for block in (incoming, outgoing):
        np.testing.assert_array_equal(hessian[block][:, block], 0.0)
    oracle = second_differences(lambda w: frozen_loss(problem, at, w), at)
    np.testing.assert_allclose(hessian, oracle, rtol=1e-5, atol=1e-6 * (1 + np.abs(oracle).max()))


def test_wide_relu_hessian_at_kinks_is_the_frozen_networks():
    problem = build_problem("wide_relu", {"width": 4, "input_dim": 2, "n_points": 4})
    problem.points = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    at = np.array([0.5, 0.0, 0.0, -1.0, -0.5, 0.5, 0.0, 0.0])  # rows of W (4, 2)
    pre, signs = problem._pre(at[None, :])
    assert (pre == 0).sum() >= 4
    mask = (pre[0] > 0).astype(float)

    def frozen(weights):
        w = weights.reshape(len(weights), 4, 2)
        z = np.einsum("brd,nd->bnr", w, problem.points) * mask
        out = np.einsum("bnr,br->bn", z, signs) / 2.0
        return 0.5 * ((out - problem.targets) ** 2).sum(axis=1)

    exact = problem.hess(at[None, :])[0]
    np.testing.assert_allclose(exact, second_differences(frozen, at), atol=1e-7)
    assert np.abs(differences(problem, at[None, :])[0] - exact).max() > 0.1


# --------------------------------------------------------------------- batches
def test_mlp_hessian_is_bitwise_the_same_alone_batched_and_in_blocks(monkeypatch):
    problem = build_problem("mlp", {"depth": 2, "width": 3, "activation": "silu"})
    x = problem.start + 0.2 * np.random.default_rng(0).normal(size=(5, problem.dim))
    batched = problem.hess(x)
    for row in range(5):
        np.testing.assert_array_equal(problem.hess(x[row : row + 1])[0], batched[row])
    # Few directions per pass and few runs per chunk change nothing either.
    monkeypatch.setattr(networks, "CHUNK_ELEMENTS", 9 * problem._per_run())
    assert problem._directions_per_block() == 9
    np.testing.assert_array_equal(problem.hess(x), batched)


def test_mlp_hessian_of_per_run_minibatches_is_each_runs_own():
    """With a minibatch every run has its own samples: its Hessian is that of its data,
    against the per-run differences of the gradient, and the same alone as in the batch."""
    problem = build_problem("mlp", {"depth": 2, "width": 3, "activation": "tanh"})
    x = problem.start + 0.2 * np.random.default_rng(1).normal(size=(4, problem.dim))
    part = problem.minibatch(np.arange(4), np.full(4, 3), 10)
    assert part.per_run
    exact = part.hess(x)
    scale = 1.0 + np.abs(exact).max()
    np.testing.assert_allclose(
        exact, networks.DataProblem.hess(part, x), rtol=1e-6, atol=1e-8 * scale
    )
    for row in range(4):
        alone = part.for_rows([row]).hess(x[row : row + 1])
        np.testing.assert_array_equal(alone[0], exact[row])


@pytest.mark.slow
def test_mlp_hessian_is_torch_autograds_away_from_and_at_kinks():
    """Live torch: autograd's double backward of the same network, at random points and
    at the dyadic points whose units sit exactly on their kinks."""
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    torch_activations = {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softplus": functional.softplus,
        "gelu": functional.gelu,
        "silu": functional.silu,
        "elu": functional.elu,
        "sin": torch.sin,
        "relu": torch.relu,
        "leaky_relu": functional.leaky_relu,
        "hardtanh": functional.hardtanh,
    }

    def torch_hessian(problem, activation, at):
        points = torch.tensor(problem.points, dtype=torch.float64)
        targets = torch.tensor(problem.targets, dtype=torch.float64)

        def loss(w):
            a = points
            for index, (matrix, shape, bias) in enumerate(problem.layout):
                z = a @ w[matrix].reshape(shape).T + w[bias]
                if index < len(problem.layout) - 1:
                    a = torch_activations[activation](z)
            out = z[:, 0]
            if problem.loss_kind == "mse":
                return (0.5 * (out - targets) ** 2).mean()
            return functional.softplus(-targets * out).mean()

        weights = torch.tensor(at, dtype=torch.float64)
        return torch.autograd.functional.hessian(loss, weights).numpy()

    for activation in torch_activations:
        for loss in ("mse", "cross_entropy"):
            problem = build_problem(
                "mlp", {"depth": 2, "width": 4, "activation": activation, "loss": loss}, seed=3
            )
            at = problem.start + 0.3 * np.random.default_rng(3).normal(size=problem.dim)
            expected = torch_hessian(problem, activation, at)
            np.testing.assert_allclose(
                problem.hess(at[None, :])[0], expected, rtol=1e-12, atol=1e-14
            )
    for activation in PIECEWISE_LINEAR:
        for loss in ("mse", "cross_entropy"):
            problem = dyadic_mlp(activation, loss, seed=7)
            expected = torch_hessian(problem, activation, problem.start)
            np.testing.assert_allclose(
                problem.hess(problem.start[None, :])[0], expected, rtol=1e-12, atol=1e-14
            )
