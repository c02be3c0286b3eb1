"""Linear and generalised-linear models on seeded data: the losses behind the classic rules.

Every loss is a mean over samples (except ``curve_fit``, whose residuals are the raw misfits
so that σ̂²(JᵀJ)⁻¹ is the textbook covariance), every model draws its data from ``ctx.rng``
and offers ``minibatch``.  Models with more than two weights carry a ``plane`` through their
minimum and their start.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

from zoo import ModelSpec, Param, Plane, Problem, hookimpl, run_sample
from zoo.problem import row_matmul
from zoo_plugins.activations import sigmoid


# --------------------------------------------------------------------- shared machinery
class DataProblem(Problem):
    """A loss over a dataset whose per-sample arrays are named in ``sample_fields``.

    ``minibatch`` returns a shallow copy of the same class whose sample arrays carry a
    leading run axis, ``(B, size, ...)``: each run's own samples, drawn by ``run_sample``
    from its seed and step.  The models write their arithmetic so that data of shape
    ``(N, ...)`` (shared) and ``(B, m, ...)`` (per run) both broadcast against the batch,
    evaluating every row on its own; ``_refresh`` recomputes what depends on the data.
    """

    sample_fields: tuple[str, ...] = ()
    #: Whether the sample arrays hold one set of samples per run (a minibatch problem).
    per_run: bool = False

    @functools.cached_property
    def minima(self) -> np.ndarray:
        if self.per_run:  # each run has its own data and so its own minima
            return np.empty((0, self.dim))
        return np.asarray(self._find_minima(), dtype=float).reshape(-1, self.dim)

    def _find_minima(self) -> np.ndarray:
        return np.empty((0, self.dim))

    def _refresh(self) -> None:
        """Recompute whatever is derived from the samples (after subsetting)."""

    @property
    def n_samples(self) -> int:
        return getattr(self, self.sample_fields[0]).shape[int(self.per_run)]

    def minibatch(self, seeds, steps, size: int) -> DataProblem:
        return self._with_samples(run_sample(seeds, steps, self.n_samples, size))

    def for_rows(self, rows) -> DataProblem:
        if not self.per_run:
            return self
        runs = len(getattr(self, self.sample_fields[0]))
        return self._with_samples(np.atleast_1d(np.arange(runs)[rows]))

    def _with_samples(self, index: np.ndarray) -> DataProblem:
        """A copy whose sample arrays are ``field[index]``: one set of samples per run."""
        part = copy.copy(self)
        for name in self.sample_fields:
            setattr(part, name, getattr(self, name)[index])
        part.per_run = True
        part.__dict__.pop("minima", None)
        part._refresh()
        return part


def swap(data: np.ndarray) -> np.ndarray:
    """The data's last two axes exchanged: the transpose of (N, k) or of each (m, k)."""
    return np.swapaxes(data, -1, -2)


def half_square(r: np.ndarray) -> np.ndarray:
    """½‖r‖² along the last axis."""
    return 0.5 * np.einsum("bn,bn->b", r, r)


def plane_through(origin: np.ndarray, direction: np.ndarray, rng: np.random.Generator) -> Plane:
    """The plane holding ``origin`` at (0, 0) and ``origin + direction`` at (1, 0); its
    second axis is a random direction ⟂ to the first, as long."""
    u = np.asarray(direction, dtype=float)
    if np.linalg.norm(u) < 1e-12:  # nothing to point at (the start is the minimum)
        u = rng.standard_normal(len(origin))
    v = rng.standard_normal(len(origin))
    v -= (v @ u) / (u @ u) * u
    v *= np.linalg.norm(u) / max(np.linalg.norm(v), 1e-300)
    return Plane(origin=np.asarray(origin, dtype=float), u=u, v=v)


#: The view of a plane from ``plane_through``: the origin centred, the start at (1, 0).
PLANE_BOUNDS = ((-1.5, 1.5), (-1.5, 1.5))


def box(centre, half: float):
    """A square view of half-width ``half`` around a 1- or 2-weight point."""
    centre = np.asarray(centre, dtype=float)
    first = (centre[0] - half, centre[0] + half)
    second = (centre[1] - half, centre[1] + half) if len(centre) > 1 else (-half, half)
    return (first, second)


def labelled_points(rng: np.random.Generator, count: int, margin: float, flip: float):
    """Gaussian points in 2-D labelled ±1 by a random direction u through the origin, pushed
    ``margin`` away from the boundary uᵀx = 0, then each label flipped with chance ``flip``."""
    angle = rng.uniform(0.0, 2 * np.pi)
    direction = np.array([np.cos(angle), np.sin(angle)])
    points = rng.standard_normal((count, 2))
    labels = np.where(points @ direction >= 0, 1.0, -1.0)
    points = points + margin * labels[:, None] * direction
    flips = rng.random(count) < flip
    return points, np.where(flips, -labels, labels), direction


def separable(inputs: np.ndarray, labels: np.ndarray) -> bool:
    """Whether some w has yᵢwᵀxᵢ > 0 for every 2-D point: the vectors yᵢxᵢ then lie in an
    open half-plane, i.e. their directions leave a gap wider than π."""
    signed = inputs * labels[:, None]
    signed = signed[np.linalg.norm(signed, axis=1) > 0]
    if len(signed) < len(inputs):
        return False
    angles = np.sort(np.arctan2(signed[:, 1], signed[:, 0]))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    return bool(gaps.max() > np.pi)


# --------------------------------------------------------------------- linear neuron
class LinearNeuron(DataProblem):
    """E(w) = (1/2N)Σ(wᵀxᵢ − yᵢ)², residuals rᵢ = (wᵀxᵢ − yᵢ)/√N.

    The Hessian XᵀX/N has rank min(N, D): with N < D the minima form a valley (listed as
    points along it), with N ≥ D there is one.
    """

    sample_fields = ("points", "targets")

    def __init__(self, points, targets, teacher) -> None:
        self.points = np.asarray(points, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.teacher = np.asarray(teacher, dtype=float)
        self.dim = self.points.shape[1]
        self.bounds = ((-3.0, 3.0), (-3.0, 3.0))
        self.start = np.array([-2.5, 2.5])

    def residuals(self, x):
        return (row_matmul(x, swap(self.points)) - self.targets) / np.sqrt(self.n_samples)

    def jacobian(self, x):
        jac = self.points / np.sqrt(self.n_samples)
        return np.broadcast_to(jac, (len(x), *jac.shape[-2:])).copy()

    def loss(self, x):
        return half_square(self.residuals(x))

    def grad(self, x):
        return row_matmul(self.residuals(x), self.points) / np.sqrt(self.n_samples)

    def hess(self, x):
        curvature = swap(self.points) @ self.points / self.n_samples
        return np.broadcast_to(curvature, (len(x), self.dim, self.dim)).copy()

    def _find_minima(self):
        pseudo_inverse = np.linalg.pinv(self.points)
        shortest = pseudo_inverse @ self.targets
        null = np.eye(self.dim) - pseudo_inverse @ self.points
        _, singular, right = np.linalg.svd(null)
        valley = right[singular > 0.5]  # null-space directions (singular values 1 or 0)
        if len(valley) == 0:
            return shortest[None, :]
        # Points along the valley, spanning the view: the GUI draws them as a line.
        reach = np.linspace(-6.0, 6.0, 25)
        return shortest + reach[:, None] * valley[0]


def build_linear_neuron(settings, ctx):
    rng = ctx.rng
    teacher = rng.uniform(-1.5, 1.5, 2)
    points = rng.standard_normal((settings["n_points"], 2))
    targets = points @ teacher + settings["noise"] * rng.standard_normal(settings["n_points"])
    return LinearNeuron(points, targets, teacher)


# --------------------------------------------------------------------- classifiers
class Logistic(DataProblem):
    """E(w) = (1/N)Σ log(1 + e^{−yᵢwᵀxᵢ}) + ½λ‖w‖² with labels ±1 (no bias)."""

    sample_fields = ("inputs", "labels")

    def __init__(self, inputs, labels, l2: float = 0.0) -> None:
        self.inputs = np.asarray(inputs, dtype=float)
        self.labels = np.asarray(labels, dtype=float)
        self.l2 = float(l2)
        self.dim = 2
        self.bounds = ((-5.0, 5.0), (-5.0, 5.0))
        self.start = np.array([-3.0, 3.0])

    def _margins(self, x):
        return row_matmul(x, swap(self.inputs)) * self.labels

    def loss(self, x):
        x = np.asarray(x, dtype=float)
        data = np.logaddexp(0.0, -self._margins(x)).mean(axis=1)
        return data + 0.5 * self.l2 * (x * x).sum(axis=1)

    def grad(self, x):
        weight = -sigmoid(-self._margins(x)) * self.labels / self.n_samples
        return row_matmul(weight, self.inputs) + self.l2 * np.asarray(x, dtype=float)

    def hess(self, x):
        margins = self._margins(x)
        weight = sigmoid(margins) * sigmoid(-margins) / self.n_samples
        data = np.matmul(swap(self.inputs) * weight[:, None, :], self.inputs)  # row by row
        return data + self.l2 * np.eye(self.dim)

    def _find_minima(self):
        """Damped Newton from 0; empty when there is no finite minimum (separable data)."""
        if self.l2 == 0 and separable(self.inputs, self.labels):
            return np.empty((0, self.dim))
        w = np.zeros((1, self.dim))
        for _ in range(100):
            step = np.linalg.lstsq(self.hess(w)[0], self.grad(w)[0], rcond=None)[0]
            size, current = 1.0, self.loss(w)[0]
            # Halve only on a real increase, not on rounding near the minimum.
            while size > 1e-8 and self.loss(w - size * step)[0] > current + 1e-14 * abs(current):
                size *= 0.5
            w = w - size * step
            if np.linalg.norm(self.grad(w)) < 1e-13 or np.linalg.norm(w) > 1e6:
                break
        if np.linalg.norm(self.grad(w)) < 1e-10:
            return w
        return np.empty((0, self.dim))


class PerceptronCriterion(DataProblem):
    """E(w) = (1/N)Σ max(0, −yᵢwᵀxᵢ): zero on every separating w and at w = 0.

    Piecewise linear: the Hessian is zero wherever it exists.  Its trivial minimum w = 0 is
    why the perceptron rule only looks at mistakes.
    """

    sample_fields = ("inputs", "labels")

    def __init__(self, inputs, labels) -> None:
        self.inputs = np.asarray(inputs, dtype=float)
        self.labels = np.asarray(labels, dtype=float)
        self.dim = 2
        self.bounds = ((-3.0, 3.0), (-3.0, 3.0))
        self.start = np.array([-2.0, 1.5])

    def _margins(self, x):
        return row_matmul(x, swap(self.inputs)) * self.labels

    def loss(self, x):
        return np.maximum(0.0, -self._margins(x)).mean(axis=1)

    def grad(self, x):
        mistakes = (self._margins(x) < 0) * self.labels / self.n_samples
        return -row_matmul(mistakes, self.inputs)

    def hess(self, x):
        return np.zeros((len(x), self.dim, self.dim))

    def _find_minima(self):
        return np.zeros((1, self.dim))


def build_logistic(settings, ctx):
    inputs, labels, _ = labelled_points(
        ctx.rng, settings["n_points"], settings["margin"], settings["label_noise"]
    )
    return Logistic(inputs, labels, settings["l2"])


def build_perceptron(settings, ctx):
    inputs, labels, _ = labelled_points(
        ctx.rng, settings["n_points"], settings["margin"], settings["label_noise"]
    )
    return PerceptronCriterion(inputs, labels)


# --------------------------------------------------------------------- student–teacher
class StudentTeacher(DataProblem):
    """A linear student y = Wx (M outputs, N inputs) fitted to a teacher d = W*x.

    E(W) = (1/2n)Σᵢ‖Wxᵢ − dᵢ‖² over n samples xᵢ ~ N(0, I); the weight vector is W flattened
    row-major, D = M·N; residuals r₍ᵢ,ₘ₎ = (Wxᵢ − dᵢ)ₘ/√n.
    """

    sample_fields = ("points", "targets")

    def __init__(self, points, targets, teacher, rng) -> None:
        self.points = np.asarray(points, dtype=float)  # (n, N)
        self.targets = np.asarray(targets, dtype=float)  # (n, M)
        self.teacher = np.asarray(teacher, dtype=float)  # (M, N)
        self.n_outputs, self.n_inputs = self.teacher.shape
        self.dim = self.teacher.size
        self.start = np.zeros(self.dim)
        self._refresh()
        if self.dim > 2:
            self.plane = plane_through(self.minima[0], self.start - self.minima[0], rng)
            self.bounds = PLANE_BOUNDS
        else:
            self.bounds = box(self.minima[0], 2.0)

    def _refresh(self) -> None:
        # Second moments, so loss and gradient cost O(D²) per run whatever the sample count.
        count = self.n_samples
        self._input_moment = swap(self.points) @ self.points / count  # (1/n)Σ x xᵀ
        self._cross_moment = swap(self.targets) @ self.points / count  # (1/n)Σ d xᵀ
        self._target_moment = np.sum(self.targets**2, axis=(-2, -1)) / count  # (1/n)Σ‖d‖²

    def _data(self, subscripts: str) -> str:
        """Einsum subscripts of a data operand, with the run axis when it has one."""
        return "b" + subscripts if self.per_run else subscripts

    def weights(self, x) -> np.ndarray:
        return np.asarray(x, dtype=float).reshape(len(x), self.n_outputs, self.n_inputs)

    def outputs(self, x) -> np.ndarray:
        """Wxᵢ for every sample: (B, n, M)."""
        return np.einsum(f"bmk,{self._data('nk')}->bnm", self.weights(x), self.points)

    def residuals(self, x):
        error = self.outputs(x) - self.targets
        return error.reshape(len(x), -1) / np.sqrt(self.n_samples)

    def jacobian(self, x):
        eye = np.eye(self.n_outputs)
        jac = np.einsum(f"mo,{self._data('nk')}->{self._data('nmok')}", eye, self.points)
        jac = jac.reshape(*jac.shape[: int(self.per_run)], -1, self.dim)
        return np.broadcast_to(jac / np.sqrt(self.n_samples), (len(x), *jac.shape[-2:])).copy()

    def loss(self, x):
        """½tr(W·Sₓₓ·Wᵀ) − tr(W·S_dₓᵀ) + ½s_dd from the sample moments: equals ½‖r‖²."""
        w = self.weights(x)
        # Stacked products and elementwise sums: each row on its own, whatever the batch.
        quadratic = ((w @ self._input_moment) * w).sum(axis=(1, 2))
        linear = (w * self._cross_moment).sum(axis=(1, 2))
        return 0.5 * quadratic - linear + 0.5 * self._target_moment

    def grad(self, x):
        gradient = self.weights(x) @ self._input_moment - self._cross_moment
        return gradient.reshape(len(x), -1)

    def hess(self, x):
        curvature = np.kron(np.eye(self.n_outputs), self._input_moment)
        return np.broadcast_to(curvature, (len(x), self.dim, self.dim)).copy()

    def generalization_error(self, x) -> np.ndarray:
        """½‖W − W*‖²_F, the expected error on fresh inputs x ~ N(0, I)."""
        gap = self.weights(x) - self.teacher
        return 0.5 * np.einsum("bmk,bmk->b", gap, gap)

    def _find_minima(self):
        fitted, *_ = np.linalg.lstsq(self.points, self.targets, rcond=None)  # (N, M)
        return fitted.T.reshape(1, -1)


def build_student_teacher(settings, ctx):
    rng = ctx.rng
    outputs, inputs, count = settings["n_outputs"], settings["n_inputs"], settings["n_samples"]
    teacher = rng.standard_normal((outputs, inputs))
    points = rng.standard_normal((count, inputs))
    targets = points @ teacher.T + settings["noise"] * rng.standard_normal((count, outputs))
    return StudentTeacher(points, targets, teacher, rng)


# --------------------------------------------------------------------- PCA neuron
class PCANeuron(DataProblem):
    """Reconstruction error of K linear neurons y = Wx with tied weights:
    E(W) = (1/2N)Σᵢ‖xᵢ − WᵀWxᵢ‖² = ½tr Ĉ − tr(WĈWᵀ) + ½tr(WĈWᵀ·WWᵀ), Ĉ = XᵀX/N.

    Its global minima are the W whose rows are an orthonormal basis of the top-K principal
    subspace of Ĉ — where Oja's rule (K = 1) and Sanger's rule end.  ``inputs`` is (N, n)
    and the weight vector is the (K, n) matrix W flattened row-major.
    """

    sample_fields = ("inputs",)

    def __init__(self, inputs, covariance, n_outputs: int, start, rng) -> None:
        self.inputs = np.asarray(inputs, dtype=float)
        self.covariance = np.asarray(covariance, dtype=float)  # the population's
        self.n_outputs = int(n_outputs)
        self.n_inputs = self.inputs.shape[1]
        self.dim = self.n_outputs * self.n_inputs
        self.start = np.asarray(start, dtype=float)
        self._refresh()
        if self.dim > 2:
            self.plane = plane_through(self.minima[0], self.start - self.minima[0], rng)
            self.bounds = PLANE_BOUNDS
        else:
            self.bounds = ((-2.0, 2.0), (-2.0, 2.0))

    def _refresh(self) -> None:
        self.sample_covariance = swap(self.inputs) @ self.inputs / self.n_samples
        values, vectors = np.linalg.eigh(self.sample_covariance)
        order = np.argsort(values, axis=-1)[..., ::-1]
        #: Eigenvalues of Ĉ, largest first, and the principal directions as rows.
        self.data_variances = np.take_along_axis(values, order, axis=-1)
        self.principal_components = swap(np.take_along_axis(vectors, order[..., None, :], -1))

    def weights(self, x) -> np.ndarray:
        return np.asarray(x, dtype=float).reshape(len(x), self.n_outputs, self.n_inputs)

    def _parts(self, x):
        w = self.weights(x)
        wc = w @ self.sample_covariance  # WĈ
        return w, wc, wc @ np.swapaxes(w, 1, 2), w @ np.swapaxes(w, 1, 2)  # W, WĈ, S, G

    def loss(self, x):
        _, _, s, g = self._parts(x)
        trace_s = np.trace(s, axis1=1, axis2=2)
        return (
            0.5 * np.trace(self.sample_covariance, axis1=-2, axis2=-1)
            - trace_s
            + 0.5 * np.einsum("bij,bij->b", s, g)
        )

    def grad(self, x):
        w, wc, s, g = self._parts(x)
        return (-2 * wc + g @ wc + s @ w).reshape(len(x), -1)

    def hess(self, x):
        w, wc, s, g = (part[:, None] for part in self._parts(x))
        basis = np.eye(self.dim).reshape(1, self.dim, self.n_outputs, self.n_inputs)
        basis_t = np.swapaxes(basis, 2, 3)
        covariance = self.sample_covariance
        d_wc = basis @ (covariance[:, None] if self.per_run else covariance)
        d_g = basis @ np.swapaxes(w, 2, 3) + w @ basis_t
        d_s = basis @ np.swapaxes(wc, 2, 3) + wc @ basis_t
        change = -2 * d_wc + d_g @ wc + g @ d_wc + d_s @ w + s @ basis
        return change.reshape(len(x), self.dim, self.dim)

    def _find_minima(self):
        top = self.principal_components[: self.n_outputs]
        count = self.n_outputs if self.n_outputs <= 3 else 1
        signs = np.array(np.meshgrid(*[[1.0, -1.0]] * count)).reshape(count, -1).T
        if count < self.n_outputs:
            signs = np.repeat(signs, self.n_outputs, axis=1)
        return (signs[:, :, None] * top[None]).reshape(len(signs), -1)


def pca_covariance(n_inputs: int, variance1: float, variance2: float, angle: float):
    """Variances variance1, variance2 along axes rotated by ``angle`` in the first two
    coordinates; each further coordinate has half the variance of the one before."""
    variances = variance2 * 0.5 ** np.arange(-1, n_inputs - 1, dtype=float)
    variances[0] = variance1
    radians = np.deg2rad(angle)
    axes = np.eye(n_inputs)
    axes[:2, :2] = [[np.cos(radians), -np.sin(radians)], [np.sin(radians), np.cos(radians)]]
    return axes @ np.diag(variances) @ axes.T


def build_pca_neuron(settings, ctx):
    rng = ctx.rng
    n, k = settings["n_inputs"], settings["n_outputs"]
    if k > n:
        raise ValueError(f"n_outputs {k} must not exceed n_inputs {n}")
    covariance = pca_covariance(n, settings["variance1"], settings["variance2"], settings["angle"])
    inputs = rng.multivariate_normal(
        np.zeros(n), covariance, size=settings["n_samples"], method="eigh"
    )
    start = 0.5 * rng.standard_normal(k * n)
    return PCANeuron(inputs, covariance, k, start, rng)


# --------------------------------------------------------------------- curve fitting
#: Per curve: the time span of the data and the true (a, b); the view and the start.
CURVES = {"exponential": ((0.0, 2.0), (2.0, -1.5)), "sigmoid": ((-2.0, 3.0), (3.0, 0.5))}
CURVE_VIEWS = {"exponential": ((0.0, 4.0), (-4.0, 1.0)), "sigmoid": ((-2.0, 8.0), (-2.0, 3.0))}
CURVE_STARTS = {"exponential": (0.5, 0.5), "sigmoid": (0.5, 2.5)}


class CurveFit(DataProblem):
    """Nonlinear least squares: rᵢ = f(tᵢ; θ) − yᵢ, F = ½‖r‖², θ = (a, b).

    ``exponential``: f = a·e^{bt}.  ``sigmoid``: f = 1/(1 + e^{−a(t − b)}) (slope a,
    midpoint b).  ``covariance(θ)`` = σ̂²(JᵀJ)⁻¹ with σ̂² = ‖r‖²/(n − p).
    """

    sample_fields = ("times", "values")

    def __init__(self, curve: str, times, values, truth) -> None:
        self.curve = curve
        self.times = np.asarray(times, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.truth = np.asarray(truth, dtype=float)
        self.dim = 2
        self.bounds = CURVE_VIEWS[curve]
        self.start = np.array(CURVE_STARTS[curve])

    def model(self, x):
        """f(tᵢ; θ) with its first derivatives (f_a, f_b) and second (f_aa, f_ab, f_bb)."""
        x = np.asarray(x, dtype=float)
        a, b, t = x[:, :1], x[:, 1:], self.times  # times (N,) shared or (B, m) per run
        if self.curve == "exponential":
            grow = np.exp(b * t)
            zero = np.zeros_like(grow)
            return a * grow, (grow, a * t * grow), (zero, t * grow, a * t * t * grow)
        shift = t - b
        s = sigmoid(a * shift)
        d1 = s * (1 - s)
        d2 = d1 * (1 - 2 * s)
        return s, (d1 * shift, -a * d1), (d2 * shift**2, -a * shift * d2 - d1, a * a * d2)

    def residuals(self, x):
        return self.model(x)[0] - self.values

    def jacobian(self, x):
        return np.stack(self.model(x)[1], axis=2)

    def loss(self, x):
        return half_square(self.residuals(x))

    def grad(self, x):
        return np.einsum("bnd,bn->bd", self.jacobian(x), self.residuals(x))

    def hess(self, x):
        value, first, (faa, fab, fbb) = self.model(x)
        r = value - self.values
        jac = np.stack(first, axis=2)
        second = (
            np.einsum("bn,bn->b", r, faa),
            np.einsum("bn,bn->b", r, fab),
            np.einsum("bn,bn->b", r, fbb),
        )
        curvature = np.stack([np.stack(second[:2], 1), np.stack(second[1:], 1)], 1)
        return np.einsum("bni,bnj->bij", jac, jac) + curvature

    def covariance(self, x) -> np.ndarray:
        """σ̂²(JᵀJ)⁻¹ at θ (shape (2,) → (2, 2), or (B, 2) → (B, 2, 2))."""
        x = np.asarray(x, dtype=float)
        rows = np.atleast_2d(x)
        jac, r = self.jacobian(rows), self.residuals(rows)
        variance = np.einsum("bn,bn->b", r, r) / (self.n_samples - self.dim)
        result = variance[:, None, None] * np.linalg.inv(np.einsum("bni,bnj->bij", jac, jac))
        return result[0] if x.ndim == 1 else result

    def _find_minima(self):
        """Gauss–Newton from the true parameters: the least-squares fit near the truth."""
        theta = self.truth[None, :]
        for _ in range(100):
            jac, r = self.jacobian(theta)[0], self.residuals(theta)[0]
            step, *_ = np.linalg.lstsq(jac, -r, rcond=None)
            theta = theta + step
            if not np.all(np.isfinite(theta)):
                break
            if np.linalg.norm(step) < 1e-15 * (1 + np.linalg.norm(theta)):
                break
        if np.all(np.isfinite(theta)):
            hessian = self.hess(theta)[0]
            gradient = self.grad(theta)[0]
            if np.linalg.norm(gradient) < 1e-9 and np.all(np.linalg.eigvalsh(hessian) > 0):
                return theta
        return np.empty((0, self.dim))


def build_curve_fit(settings, ctx):
    curve = settings["curve"]
    (first, last), truth = CURVES[curve]
    times = np.linspace(first, last, settings["n_points"])
    exact = CurveFit(curve, times, np.zeros_like(times), truth).model(np.array([truth]))[0][0]
    values = exact + settings["noise"] * ctx.rng.standard_normal(len(times))
    return CurveFit(curve, times, values, truth)


# --------------------------------------------------------------------- records
def _count(name, default, low, high, doc):
    return Param(name, default, low=low, high=high, kind="int", doc=doc)


CLASSIFIER_PARAMS = (
    _count("n_points", 40, 1, 2000, "number of labelled points"),
    Param("margin", 0.0, low=0.0, high=3.0, doc="distance pushed between the classes"),
)

MODELS = [
    ModelSpec(
        name="linear_neuron",
        build=build_linear_neuron,
        params=(
            _count("n_points", 5, 1, 2000, "data points N (N < 2: a valley of minima)"),
            Param("noise", 0.1, low=0.0, high=2.0, doc="standard deviation of target noise"),
        ),
        label="Linear neuron (least squares)",
        family="regression",
        doc="E(w) = (1/2N)Σ(wᵀxᵢ − yᵢ)² with two weights. With N < D = 2 data points every "
        "w on a line fits exactly (a valley; the end depends on the start); with N ≥ 2 "
        "there is one minimum.",
    ),
    ModelSpec(
        name="logistic",
        build=build_logistic,
        params=(
            *CLASSIFIER_PARAMS,
            Param("label_noise", 0.1, low=0.0, high=0.5, doc="chance that a label is flipped"),
            Param("l2", 0.0, low=0.0, high=1.0, doc="weight decay λ"),
        ),
        label="Logistic regression",
        family="regression",
        doc="Cross-entropy (1/N)Σ log(1 + e^{−y wᵀx}) + ½λ‖w‖² of a 2-weight classifier on "
        "labels ±1; convex. On separable data (no label noise, λ = 0) there is no finite "
        "minimum and the weights grow forever.",
    ),
    ModelSpec(
        name="perceptron_criterion",
        build=build_perceptron,
        params=(
            *CLASSIFIER_PARAMS[:1],
            Param("margin", 0.3, low=0.0, high=3.0, doc="distance pushed between the classes"),
            Param("label_noise", 0.0, low=0.0, high=0.5, doc="chance that a label is flipped"),
        ),
        label="Perceptron criterion",
        family="regression",
        doc="(1/N)Σ max(0, −y wᵀx): piecewise linear, zero at w = 0 and on every separating "
        "w. Its data (inputs, labels ±1) also drive the perceptron rule.",
    ),
    ModelSpec(
        name="student_teacher",
        build=build_student_teacher,
        params=(
            _count("n_outputs", 2, 1, 20, "outputs M"),
            _count("n_inputs", 2, 1, 50, "inputs N"),
            _count("n_samples", 100, 1, 5000, "training samples"),
            Param("noise", 0.0, low=0.0, high=2.0, doc="standard deviation of target noise"),
        ),
        label="Linear student–teacher",
        family="regression",
        doc="A linear student y = Wx learns a random teacher W* from inputs x ~ N(0, I): "
        "the setting in which gradient descent, node perturbation and weight perturbation "
        "are compared (Werfel, Xie & Seung). Drawn on the plane through the fit and W = 0.",
    ),
    ModelSpec(
        name="pca_neuron",
        build=build_pca_neuron,
        params=(
            _count("n_inputs", 2, 2, 20, "input dimension n"),
            _count("n_outputs", 1, 1, 10, "output neurons K (D = K·n)"),
            Param(
                "variance1",
                4.0,
                low=0.01,
                high=100.0,
                log=True,
                doc="variance along the first principal axis",
            ),
            Param(
                "variance2",
                1.0,
                low=0.01,
                high=100.0,
                log=True,
                doc="variance along the second axis (further axes halve it each time)",
            ),
            Param("angle", 30.0, low=-90.0, high=90.0, doc="rotation of the principal axes"),
            _count("n_samples", 500, 2, 20000, "data points N"),
        ),
        label="PCA neuron (Hebb, Oja, Sanger)",
        family="regression",
        doc="Zero-mean Gaussian data with a chosen covariance; the loss is the reconstruction "
        "error (1/2N)Σ‖x − WᵀWx‖², minimal where the rows of W are an orthonormal basis of "
        "the top principal subspace — the fixed points of Oja's and Sanger's rules.",
    ),
    ModelSpec(
        name="curve_fit",
        build=build_curve_fit,
        params=(
            Param(
                "curve",
                "exponential",
                kind="choice",
                choices=("exponential", "sigmoid"),
                doc="a·e^{bt}, or 1/(1 + e^{−a(t − b)})",
            ),
            _count("n_points", 20, 3, 2000, "data points n"),
            Param("noise", 0.1, low=0.0, high=2.0, doc="standard deviation σ of the noise"),
        ),
        label="Curve fit (nonlinear least squares)",
        family="regression",
        doc="Fit two parameters of an exponential or a sigmoid to noisy points: residuals "
        "and Jacobian for Gauss–Newton and Levenberg–Marquardt, and the covariance "
        "σ̂²(JᵀJ)⁻¹ of the fit.",
    ),
]


@hookimpl
def zoo_models():
    return MODELS
