"""Neural-network losses in numpy with hand-written backpropagation, batched over runs.

``x`` is always (B, D): B weight vectors at once, each a whole network.  Forward passes
keep the batch axis in front of the data axis, so one matrix product serves every run, and
the backward pass is the chain rule written out layer by layer.  Large batches (a landscape
grid calls ``loss`` with B = 65536) are cut into chunks to bound memory.
"""

from __future__ import annotations

import itertools

import numpy as np

from zoo import ModelSpec, Param, Plane, hookimpl
from zoo_plugins.models.regression import (
    DataProblem,
    half_square,
    plane_through,
    sigmoid,
)

#: Elements of the largest (B, N, width) array one chunk of a forward pass may hold.
CHUNK_ELEMENTS = 1 << 21
LOSSES = ("mse", "cross_entropy")


def chunked(function, problem: DataProblem, x: np.ndarray, per_run: int) -> np.ndarray:
    """``function(problem, x)`` over row blocks of x small enough that per_run·rows ≤
    CHUNK_ELEMENTS, each with the problem of its runs (their own samples in a minibatch)."""
    x = np.asarray(x, dtype=float)
    rows = max(1, CHUNK_ELEMENTS // max(per_run, 1))
    if len(x) <= rows:
        return function(problem, x)
    return np.concatenate(
        [
            function(problem.for_rows(slice(i, i + rows)), x[i : i + rows])
            for i in range(0, len(x), rows)
        ]
    )


def head(kind: str, out: np.ndarray, targets: np.ndarray):
    """Per-sample loss ℓ(out, y) and its first two derivatives in ``out``.

    ``mse``: ½(out − y)².  ``cross_entropy``: log(1 + e^{−y·out}) for labels y = ±1 (the
    logistic loss of the logit ``out``).
    """
    if kind == "mse":
        error = out - targets
        return 0.5 * error * error, error, np.ones_like(out)
    margin = targets * out
    return (
        np.logaddexp(0.0, -margin),
        -targets * sigmoid(-margin),
        sigmoid(margin) * sigmoid(-margin),
    )


# --------------------------------------------------------------------- tiny net
class TinyNet(DataProblem):
    """y = v·φ(w·x) on a 1-D dataset: two weights (w, v), the smallest neural network."""

    sample_fields = ("points", "targets")

    def __init__(self, points, targets, activation, loss_kind: str) -> None:
        self.points = np.asarray(points, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.activation = activation
        self.loss_kind = loss_kind
        self.dim = 2
        self.bounds = ((-3.0, 3.0), (-3.0, 3.0))
        self.start = np.array([-2.0, 0.5])

    def _find_minima(self):
        """The teacher and its mirror, where they fit every sample exactly (squared error
        without noise; the mirror only for odd φ)."""
        if self.loss_kind != "mse":
            return np.empty((0, 2))
        w, v = TINY_TEACHER
        candidates = np.array([(w, v), (-w, -v)])
        with np.errstate(all="ignore"):
            exact = (self.loss(candidates) <= 1e-24) & np.all(
                np.abs(self.grad(candidates)) <= 1e-12, axis=1
            )
        return candidates[exact]

    def _forward(self, x):
        x = np.asarray(x, dtype=float)
        w, v = x[:, :1], x[:, 1:]
        z = w * self.points  # (B, N)
        return w, v, z, self.activation.f(z)

    def outputs(self, x) -> np.ndarray:
        _, v, _, h = self._forward(x)
        return v * h

    def loss(self, x):
        _, v, _, h = self._forward(x)
        return head(self.loss_kind, v * h, self.targets)[0].mean(axis=1)

    def grad(self, x):
        _, v, z, h = self._forward(x)
        _, slope, _ = head(self.loss_kind, v * h, self.targets)
        d_w = v * self.activation.df(z) * self.points  # ∂out/∂w
        return np.stack([(slope * d_w).mean(axis=1), (slope * h).mean(axis=1)], axis=1)

    def hess(self, x):
        if self.activation.d2f is None:  # a third-party activation without φ″
            return super().hess(x)
        _, v, z, h = self._forward(x)
        _, slope, bend = head(self.loss_kind, v * h, self.targets)
        dz = self.activation.df(z)
        d_w, d_v = v * dz * self.points, h
        d_ww = v * self.activation.d2f(z) * self.points**2
        d_wv = dz * self.points
        out = np.empty((len(x), 2, 2))
        out[:, 0, 0] = (bend * d_w * d_w + slope * d_ww).mean(axis=1)
        out[:, 0, 1] = out[:, 1, 0] = (bend * d_w * d_v + slope * d_wv).mean(axis=1)
        out[:, 1, 1] = (bend * d_v * d_v).mean(axis=1)
        return out


class TinyNetSquares(TinyNet):
    """The squared-error tiny net as least squares: rᵢ = (v·φ(w·xᵢ) − yᵢ)/√N."""

    def residuals(self, x):
        return (self.outputs(x) - self.targets) / np.sqrt(self.n_samples)

    def jacobian(self, x):
        _, v, z, h = self._forward(x)
        d_w = v * self.activation.df(z) * self.points
        return np.stack([d_w, h], axis=2) / np.sqrt(self.n_samples)


TINY_TEACHER = (1.5, 1.0)


def build_tiny_net(settings, ctx):
    rng = ctx.rng
    activation = ctx.activations[settings["activation"]]
    count, noise = settings["n_points"], settings["noise"]
    points = rng.uniform(-2.0, 2.0, count)
    kind = settings["loss"]
    if kind == "mse":
        # The teacher uses the student's own activation, so it can be fitted exactly.
        w, v = TINY_TEACHER
        targets = v * activation.f(w * points) + noise * rng.standard_normal(count)
        return TinyNetSquares(points, targets, activation, kind)
    # Labels drawn from a soft teacher P(y = 1 | x) = σ(3x): classes overlap, so the
    # cross-entropy usually has a finite minimum whatever φ is.
    labels = np.where(rng.random(count) < sigmoid(3.0 * points), 1.0, -1.0)
    return TinyNet(points, labels, activation, kind)


# --------------------------------------------------------------------- deep linear
class DeepLinear(DataProblem):
    """y = w₂·w₁·x on whitened 1-D data: E = (1/2N)Σ(w₁w₂xᵢ − yᵢ)².

    The origin is a saddle; the minima are the hyperbola w₁w₂ = ŝ, ŝ = Σxy/Σx².
    """

    sample_fields = ("points", "targets")

    def __init__(self, points, targets) -> None:
        self.points = np.asarray(points, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.dim = 2
        self.bounds = ((-2.0, 2.0), (-2.0, 2.0))
        self.start = np.array([0.15, 0.1])

    def residuals(self, x):
        x = np.asarray(x, dtype=float)
        product = (x[:, 0] * x[:, 1])[:, None]
        return (product * self.points - self.targets) / np.sqrt(self.n_samples)

    def jacobian(self, x):
        x = np.asarray(x, dtype=float)
        scaled = self.points / np.sqrt(self.n_samples)
        return np.stack([x[:, 1:] * scaled, x[:, :1] * scaled], axis=2)

    def loss(self, x):
        return half_square(self.residuals(x))

    def grad(self, x):
        return np.einsum("bnd,bn->bd", self.jacobian(x), self.residuals(x))

    def hess(self, x):
        jac, r = self.jacobian(x), self.residuals(x)
        out = np.einsum("bni,bnj->bij", jac, jac)
        cross = (r * self.points).sum(axis=1) / np.sqrt(self.n_samples)  # Σ rᵢ·∂²rᵢ/∂w₁∂w₂
        out[:, 0, 1] += cross
        out[:, 1, 0] += cross
        return out

    @property
    def slope(self) -> float:
        """ŝ, the least-squares slope every minimum reproduces as w₁w₂."""
        return float(self.points @ self.targets / (self.points @ self.points))

    def _find_minima(self):
        s = self.slope
        if abs(s) < 1e-12:
            return np.zeros((1, 2))
        # Points along both branches of the hyperbola w₁w₂ = ŝ inside the view.
        first = np.sqrt(abs(s)) * np.exp(np.linspace(-1.5, 1.5, 13))
        first = first[np.abs(s / first) <= 2.0]
        first = np.concatenate([first, -first])
        return np.stack([first, s / first], axis=1)


def build_deep_linear(settings, ctx):
    rng = ctx.rng
    count = settings["n_points"]
    points = rng.standard_normal(count)
    points /= np.sqrt(np.mean(points**2))  # whitened: (1/N)Σx² = 1, as in Saxe et al.
    targets = settings["strength"] * points + settings["noise"] * rng.standard_normal(count)
    return DeepLinear(points, targets)


# --------------------------------------------------------------------- datasets
def two_class_dataset(name: str, count: int, noise: float, rng: np.random.Generator):
    """2-D points (count, 2) and labels ±1 of the named toy dataset, roughly in [−1.5, 1.5]²."""
    half = count // 2
    sizes = (half, count - half)
    labels = np.concatenate([np.ones(sizes[0]), -np.ones(sizes[1])])
    if name == "circles":
        angles = rng.uniform(0, 2 * np.pi, count)
        radius = np.where(labels > 0, 0.5, 1.0)
        points = radius[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    elif name == "xor":
        points = rng.uniform(-1.0, 1.0, (count, 2))
        labels = np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0)
    elif name == "spiral":
        t = rng.uniform(0.1, 1.0, count)
        angles = 3 * np.pi * t + np.where(labels > 0, 0.0, np.pi)
        points = 1.2 * t[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    elif name == "gaussians":
        points = labels[:, None] * np.array([0.6, 0.6]) + 0.35 * rng.standard_normal((count, 2))
    else:  # moons
        angles = rng.uniform(0, np.pi, count)
        upper = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        lower = np.stack([1 - np.cos(angles), 0.5 - np.sin(angles)], axis=1)
        points = np.where(labels[:, None] > 0, upper, lower) - np.array([0.5, 0.25])
    return points + noise * rng.standard_normal((count, 2)), labels


DATASETS = ("circles", "xor", "spiral", "gaussians", "moons")


# --------------------------------------------------------------------- multi-layer perceptron
class MLP(DataProblem):
    """A fully connected network 2 → width → … → 1 on a 2-D two-class dataset.

    The weight vector holds, layer by layer, the matrix (out, in) row-major then the bias.
    Training uses all weights; the view is a 2-D ``plane`` through the start weights.
    """

    sample_fields = ("points", "targets")

    def __init__(self, points, targets, sizes, activation, loss_kind: str, start) -> None:
        self.points = np.asarray(points, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.sizes = tuple(int(s) for s in sizes)
        self.activation = activation
        self.loss_kind = loss_kind
        self.layout = []  # (matrix slice, matrix shape, bias slice) per layer
        offset = 0
        for fan_in, fan_out in itertools.pairwise(self.sizes):
            matrix = slice(offset, offset + fan_in * fan_out)
            offset += fan_in * fan_out
            self.layout.append((matrix, (fan_out, fan_in), slice(offset, offset + fan_out)))
            offset += fan_out
        self.dim = offset
        self.start = np.asarray(start, dtype=float)
        self.bounds = ((-1.0, 1.0), (-1.0, 1.0))

    def layers(self, x) -> list[tuple[np.ndarray, np.ndarray]]:
        """(W (B, out, in), b (B, out)) for each layer."""
        batch = len(x)
        return [(x[:, m].reshape(batch, *shape), x[:, b]) for m, shape, b in self.layout]

    def _per_run(self) -> int:
        return self.n_samples * (2 * sum(self.sizes[1:]) + 2)

    def _forward(self, x):
        """Pre-activations z_l and activations a_l of every layer; the output is z_last."""
        activations, pre = [self.points], []
        layers = self.layers(x)
        for index, (weight, bias) in enumerate(layers):
            z = np.matmul(activations[-1], np.swapaxes(weight, 1, 2)) + bias[:, None, :]
            pre.append(z)
            if index < len(layers) - 1:
                activations.append(self.activation.f(z))
        return layers, pre, activations

    def outputs(self, x) -> np.ndarray:
        """The network's output for every sample: (B, N)."""
        return chunked(
            lambda problem, part: problem._forward(part)[1][-1][..., 0], self, x, self._per_run()
        )

    def _loss(self, x):
        _, pre, _ = self._forward(x)
        return head(self.loss_kind, pre[-1][..., 0], self.targets)[0].mean(axis=1)

    def loss(self, x):
        return chunked(type(self)._loss, self, x, self._per_run())

    def _backward(self, x, delta_out):
        """Backpropagate δ = ∂(loss)/∂(output) (B, N) through the layers: (B, D)."""
        layers, pre, activations = self._forward(x)
        delta = delta_out[..., None]  # (B, N, 1)
        pieces = [None] * len(layers)
        for index in range(len(layers) - 1, -1, -1):
            below = activations[index]
            if below.ndim == 2:  # the inputs, shared by every run
                d_weight = np.einsum("bno,ni->boi", delta, below)
            else:
                d_weight = np.matmul(np.swapaxes(delta, 1, 2), below)
            pieces[index] = (d_weight, delta.sum(axis=1))
            if index:
                delta = np.matmul(delta, layers[index][0]) * self.activation.df(pre[index - 1])
        return np.concatenate(
            [
                part
                for d_weight, d_bias in pieces
                for part in (d_weight.reshape(len(x), -1), d_bias)
            ],
            axis=1,
        )

    def _grad(self, x):
        _, pre, _ = self._forward(x)
        _, slope, _ = head(self.loss_kind, pre[-1][..., 0], self.targets)
        return self._backward(x, slope / self.n_samples)

    def grad(self, x):
        return chunked(type(self)._grad, self, x, 2 * self._per_run())

    def _hess_columns(self, x, first: int, count: int) -> np.ndarray:
        """Heₖ for k = first … first + count − 1: (B, count, D).

        Pearlmutter's R-operator (1994): R{·} = ∂/∂t(·)(w + t·v) carried through one
        forward and one backward pass gives Hv exactly; here v runs over basis vectors eₖ
        at once, on an axis K after the runs' (shapes (B, K, N, units)).  At a kink φ′ and
        φ″ are the activation's own values there, torch's convention (ReLU′(0) = 0,
        ReLU″ = 0): the Hessian of the network with the units at their kinks frozen."""
        basis = np.zeros((count, self.dim))
        basis[np.arange(count), first + np.arange(count)] = 1.0
        directions = [
            (basis[:, m].reshape(count, *shape), basis[:, b]) for m, shape, b in self.layout
        ]
        layers, pre, activations = self._forward(x)
        df = [self.activation.df(z) for z in pre[:-1]]
        d2f = [self.activation.d2f(z) for z in pre[:-1]]
        # Forward: R{z_l} = R{a_(l−1)}W_lᵀ + a_(l−1)V_lᵀ + R{b_l}, R{a_l} = φ′(z_l)R{z_l}.
        r_pre, r_act = [], [None]
        for index, ((weight, _), (v_weight, v_bias)) in enumerate(
            zip(layers, directions, strict=True)
        ):
            below, v_weight_t = activations[index], np.swapaxes(v_weight, 1, 2)
            if below.ndim == 2:  # the inputs, shared by every run: (1, K, N, out)
                r_z = np.matmul(below, v_weight_t)[None]
            else:  # a hidden layer, or each run's own inputs (a minibatch)
                r_z = np.matmul(below[:, None], v_weight_t[None])
            if index:
                r_z += np.matmul(r_act[index], np.swapaxes(weight, 1, 2)[:, None])
            r_z = r_z + v_bias[None, :, None, :]
            r_pre.append(r_z)
            if index < len(layers) - 1:
                r_act.append(df[index][:, None] * r_z)
        # Backward: δ_L = ℓ′/N, R{δ_L} = ℓ″·R{z_L}/N; below a layer g = δW, δ = φ′(z)g and
        # R{δ} = φ″(z)·R{z}·g + φ′(z)·(R{δ}W + δV); R{∂W} = R{δ}ᵀa + δᵀR{a}, R{∂b} = ΣR{δ}.
        _, slope, bend = head(self.loss_kind, pre[-1][..., 0], self.targets)
        delta = (slope / self.n_samples)[..., None]  # (B, N, 1)
        r_delta = (bend / self.n_samples)[:, None, :, None] * r_pre[-1]  # (B, K, N, 1)
        pieces = [None] * len(layers)
        for index in range(len(layers) - 1, -1, -1):
            below = activations[index]
            r_weight = np.matmul(
                np.swapaxes(r_delta, 2, 3), below if below.ndim == 2 else below[:, None]
            )
            if index:
                r_weight += np.matmul(np.swapaxes(delta, 1, 2)[:, None], r_act[index])
            pieces[index] = (r_weight.reshape(len(x), count, -1), r_delta.sum(axis=2))
            if index:
                weight, v_weight = layers[index][0], directions[index][0]
                g = np.matmul(delta, weight)  # (B, N, in)
                r_g = np.matmul(r_delta, weight[:, None]) + np.matmul(
                    delta[:, None], v_weight[None]
                )
                r_delta = (d2f[index - 1] * g)[:, None] * r_pre[index - 1]
                r_delta += df[index - 1][:, None] * r_g
                delta = df[index - 1] * g
        return np.concatenate([part for pair in pieces for part in pair], axis=2)

    def _directions_per_block(self) -> int:
        """Basis vectors per R-pass: a bound on memory that does not depend on the batch,
        so a run's Hessian is bitwise the same alone and in any batch."""
        return max(1, min(self.dim, CHUNK_ELEMENTS // self._per_run()))

    def _hess(self, x):
        block = self._directions_per_block()
        columns = np.concatenate(
            [
                self._hess_columns(x, first, min(block, self.dim - first))
                for first in range(0, self.dim, block)
            ],
            axis=1,
        )
        return 0.5 * (columns + np.swapaxes(columns, 1, 2))

    def hess(self, x):
        """The exact Hessian by second-order backprop (``_hess_columns``); differences of
        the gradient only for a third-party activation without φ″."""
        if self.activation.d2f is None:
            return super().hess(x)
        per_run = self._directions_per_block() * self._per_run()
        return chunked(type(self)._hess, self, x, per_run)

    def output_jacobian(self, x) -> np.ndarray:
        """∂(output of sample n)/∂(weights): (B, N, D), by backprop of each sample alone."""
        x = np.asarray(x, dtype=float)
        layers, pre, activations = self._forward(x)
        delta = np.ones((len(x), self.n_samples, 1))
        pieces = [None] * len(layers)
        for index in range(len(layers) - 1, -1, -1):
            below = activations[index]
            if below.ndim == 2:
                below = np.broadcast_to(below, (len(x), *below.shape))
            d_weight = delta[..., :, None] * below[..., None, :]  # (B, N, out, in)
            pieces[index] = (d_weight.reshape(len(x), self.n_samples, -1), delta)
            if index:
                delta = np.matmul(delta, layers[index][0]) * self.activation.df(pre[index - 1])
        return np.concatenate([part for pair in pieces for part in pair], axis=2)


class MLPSquares(MLP):
    """The squared-error MLP as least squares: rₙ = (outputₙ − yₙ)/√N."""

    def residuals(self, x):
        return (self.outputs(x) - self.targets) / np.sqrt(self.n_samples)

    def jacobian(self, x):
        return self.output_jacobian(x) / np.sqrt(self.n_samples)


def filter_normalize(direction: np.ndarray, weights: np.ndarray, problem: MLP) -> np.ndarray:
    """Li et al. (2018): scale each row j (one output neuron) of every weight matrix of
    ``direction`` to the norm of the same row of ``weights``,
    d_j ← d_j·‖θ_j‖/(‖d_j‖ + 1e-10); bias entries become 0 (ignore='biasbn')."""
    result = np.zeros_like(direction)
    for matrix, shape, _ in problem.layout:
        d = direction[matrix].reshape(shape)
        theta = weights[matrix].reshape(shape)
        scale = np.linalg.norm(theta, axis=1) / (np.linalg.norm(d, axis=1) + 1e-10)
        result[matrix] = (d * scale[:, None]).ravel()
    return result


def mlp_plane(problem: MLP, kind: str, rng: np.random.Generator) -> Plane:
    """Two random directions through the start weights: filter-normalised (Li et al.), or
    plain Gaussian directions scaled to the norm of the whole weight vector."""
    origin = problem.start
    directions = []
    for _ in range(2):
        d = rng.standard_normal(problem.dim)
        if kind == "filter_normalized":
            directions.append(filter_normalize(d, origin, problem))
        else:
            directions.append(d * np.linalg.norm(origin) / np.linalg.norm(d))
    return Plane(origin=origin.copy(), u=directions[0], v=directions[1])


def build_mlp(settings, ctx):
    rng = ctx.rng
    points, labels = two_class_dataset(
        settings["dataset"], settings["n_points"], settings["noise"], rng
    )
    sizes = (2, *[settings["width"]] * settings["depth"], 1)
    pieces = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        # LeCun-normal weights keep pre-activations of order one; biases start at zero.
        pieces += [rng.standard_normal(fan_in * fan_out) / np.sqrt(fan_in), np.zeros(fan_out)]
    kind = settings["loss"]
    cls = MLPSquares if kind == "mse" else MLP
    problem = cls(
        points, labels, sizes, ctx.activations[settings["activation"]], kind, np.concatenate(pieces)
    )
    problem.plane = mlp_plane(problem, settings["plane"], rng)
    return problem


# --------------------------------------------------------------------- wide ReLU net
class WideReLU(DataProblem):
    """Du et al.'s net f(x) = (1/√m)Σᵣ aᵣ·ReLU(wᵣᵀx) on unit-norm inputs, L = ½Σ(f(xᵢ) − yᵢ)².

    ``train_hidden``: the weights W (m, d) move, a = ±1 stays (the NTK regime), D = m·d.
    ``train_output``: W stays at its random start, a moves (random features), D = m — a
    linear least-squares problem, hence convex.
    """

    sample_fields = ("points", "targets")

    def __init__(self, points, targets, hidden, signs, mode: str, rng) -> None:
        self.points = np.asarray(points, dtype=float)  # (n, d), unit rows
        self.targets = np.asarray(targets, dtype=float)
        self.hidden = np.asarray(hidden, dtype=float)  # W(0), (m, d)
        self.signs = np.asarray(signs, dtype=float)  # a(0), (m,)
        self.mode = mode
        self.width = len(self.signs)
        self.dim = self.hidden.size if mode == "train_hidden" else self.width
        self.start = self.hidden.ravel() if mode == "train_hidden" else self.signs.copy()
        self.plane = plane_through(self.start, self._linearised_step(), rng)
        self.bounds = ((-0.5, 1.5), (-1.0, 1.0))

    def _split(self, x):
        """(W (B, m, d), a (B, m)) for the weights x."""
        x = np.asarray(x, dtype=float)
        if self.mode == "train_hidden":
            return x.reshape(len(x), self.width, -1), np.broadcast_to(
                self.signs, (len(x), self.width)
            )
        return np.broadcast_to(self.hidden, (len(x), *self.hidden.shape)), x

    def _pre(self, x):
        weights, signs = self._split(x)
        data = "bnd" if self.per_run else "nd"
        return np.einsum(f"brd,{data}->bnr", weights, self.points), signs  # (B, n, m)

    def outputs(self, x) -> np.ndarray:
        pre, signs = self._pre(x)
        return np.einsum("bnr,br->bn", np.maximum(pre, 0.0), signs) / np.sqrt(self.width)

    def residuals(self, x):
        return chunked(
            lambda problem, part: problem.outputs(part) - problem.targets,
            self,
            x,
            2 * self.n_samples * self.width,
        )

    def jacobian(self, x):
        pre, signs = self._pre(x)
        root = np.sqrt(self.width)
        if self.mode == "train_output":
            return np.maximum(pre, 0.0) / root
        active = (pre > 0) * signs[:, None, :]  # (B, n, m)
        points = self.points[:, :, None, :] if self.per_run else self.points[None, :, None, :]
        return (active[..., None] * points).reshape(len(x), self.n_samples, -1) / root

    def loss(self, x):
        return half_square(self.residuals(x))

    def grad(self, x):
        pre, signs = self._pre(x)
        r = np.einsum("bnr,br->bn", np.maximum(pre, 0.0), signs) / np.sqrt(self.width)
        r = r - self.targets
        if self.mode == "train_output":
            return np.einsum("bn,bnr->br", r, np.maximum(pre, 0.0)) / np.sqrt(self.width)
        active = (pre > 0) * r[:, :, None]
        data = "bnd" if self.per_run else "nd"
        return (np.einsum(f"bnr,{data}->brd", active, self.points) * signs[:, :, None]).reshape(
            len(x), -1
        ) / np.sqrt(self.width)

    def hess(self, x):
        """JᵀJ: exact, because ReLU″ = 0; at a kink the unit is off (ReLU′(0) = 0, torch's
        convention), as in ``jacobian``."""
        jac = self.jacobian(x)
        return np.einsum("bni,bnj->bij", jac, jac)

    def gram_infinity(self) -> np.ndarray:
        """H∞ᵢⱼ = xᵢᵀxⱼ(π − arccos xᵢᵀxⱼ)/(2π), the limit of the NTK Gram matrix (Du et al.)."""
        cosine = np.clip(self.points @ self.points.T, -1.0, 1.0)
        return cosine * (np.pi - np.arccos(cosine)) / (2 * np.pi)

    def gram(self, x) -> np.ndarray:
        """The finite-width Gram matrix J Jᵀ (B, n, n) at weights x."""
        jac = self.jacobian(x)
        return np.einsum("bni,bmi->bnm", jac, jac)

    def _linearised_step(self) -> np.ndarray:
        """−J⁺r at the start: where training would go if the net stayed linear."""
        start = self.start[None, :]
        return -np.linalg.pinv(self.jacobian(start)[0]) @ self.residuals(start)[0]

    def _find_minima(self):
        # Random features are linear least squares: −J⁺r from the start lands on a minimum.
        if self.mode == "train_output":
            return self.start[None, :] + self._linearised_step()
        return np.empty((0, self.dim))


def build_wide_relu(settings, ctx):
    rng = ctx.rng
    count, dim, width = settings["n_points"], settings["input_dim"], settings["width"]
    points = rng.standard_normal((count, dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    targets = rng.choice([-1.0, 1.0], count)
    hidden = rng.standard_normal((width, dim))
    signs = rng.choice([-1.0, 1.0], width)
    return WideReLU(points, targets, hidden, signs, settings["mode"], rng)


# --------------------------------------------------------------------- records
def _count(name, default, low, high, doc):
    return Param(name, default, low=low, high=high, kind="int", doc=doc)


LOSS_PARAM = Param(
    "loss",
    "mse",
    kind="choice",
    choices=LOSSES,
    doc="mean squared error, or cross-entropy on labels ±1",
)

MODELS = [
    ModelSpec(
        name="tiny_net",
        build=build_tiny_net,
        params=(
            Param("activation", "tanh", kind="activation", doc="φ"),
            LOSS_PARAM,
            _count("n_points", 30, 1, 2000, "data points"),
            Param("noise", 0.0, low=0.0, high=2.0, doc="target noise (squared error)"),
        ),
        label="Tiny network y = v·φ(w·x)",
        family="network",
        doc="One hidden unit, two weights: the smallest neural-network landscape. Squared "
        "error fits a teacher v*·φ(w*·x) with (w*, v*) = (1.5, 1); for odd φ the mirror "
        "(−w*, −v*) fits as well, and the line w = 0, where the unit is silent, lies between "
        "them.",
    ),
    ModelSpec(
        name="deep_linear",
        build=build_deep_linear,
        params=(
            Param("strength", 1.0, low=-3.0, high=3.0, doc="the target slope s"),
            _count("n_points", 20, 1, 2000, "data points"),
            Param("noise", 0.0, low=0.0, high=2.0, doc="target noise"),
        ),
        label="Deep linear network y = w₂w₁x",
        family="network",
        doc="Two layers of one linear unit on whitened data: a saddle at the origin where "
        "learning sits on a plateau, and a hyperbola w₁w₂ = s of equally good minima.",
    ),
    ModelSpec(
        name="mlp",
        build=build_mlp,
        params=(
            Param("dataset", "circles", kind="choice", choices=DATASETS, doc="2-D dataset"),
            _count("depth", 1, 1, 6, "hidden layers"),
            _count("width", 8, 1, 64, "units per hidden layer"),
            Param("activation", "tanh", kind="activation", doc="φ of the hidden units"),
            LOSS_PARAM,
            _count("n_points", 100, 2, 5000, "data points"),
            Param("noise", 0.05, low=0.0, high=1.0, doc="position noise of the points"),
            Param(
                "plane",
                "filter_normalized",
                kind="choice",
                choices=("filter_normalized", "random"),
                doc="view directions: filter-normalised (Li et al.) or plain random",
            ),
        ),
        label="Multi-layer perceptron",
        family="network",
        doc="A fully connected classifier on a 2-D dataset, every weight trained by "
        "hand-written backprop, seen on a plane through the start weights spanned by two "
        "random filter-normalised directions (Li et al. 2018).",
    ),
    ModelSpec(
        name="wide_relu",
        build=build_wide_relu,
        params=(
            Param(
                "mode",
                "train_hidden",
                kind="choice",
                choices=("train_hidden", "train_output"),
                doc="train W (neural tangent kernel) or only a (random features)",
            ),
            _count("width", 100, 2, 5000, "hidden units m"),
            _count("input_dim", 2, 2, 50, "input dimension d"),
            _count("n_points", 4, 1, 200, "data points n (unit-norm inputs)"),
        ),
        label="Wide ReLU network (Du et al.)",
        family="network",
        doc="f(x) = (1/√m)Σ aᵣReLU(wᵣᵀx) with fixed signs aᵣ: as m grows, training W "
        "follows its kernel H∞ and the loss falls linearly; training only a is convex. "
        "Seen on the plane through the start and the linearised solution.",
    ),
]


@hookimpl
def zoo_models():
    return MODELS
