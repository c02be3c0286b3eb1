"""An over-parameterised two-layer ReLU net trains like its kernel (Du et al.; Arora et al.).

f(x) = (1/√m)Σ_r a_r·ReLU(w_rᵀx) on n unit-norm inputs, loss ½Σ(f(x_i) − y_i)².

* **NTK training** (only W moves, a_r = ±1 fixed): for wide nets the residual follows the
  linear prediction ‖y − u(k)‖ = √Σ(1 − ηλ_i)^{2k}(v_iᵀy)², with (λ_i, v_i) the eigenpairs of
  H∞_ij = x_iᵀx_j(π − arccos x_iᵀx_j)/(2π).  The gap shrinks as the width m grows.
* **Random features** (W frozen, only a moves) is exactly linear regression on the features;
  its kernel tends to the arc-cosine kernel (‖x‖‖x'‖/2π)(sin θ + (π − θ)cos θ).

The network starts with u(0) = 0 exactly by pairing every hidden unit with a copy of
opposite output sign, so the formula's assumption u(0) ≈ 0 holds at any width.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, load_registry, simulate
from zoo.experiments import Result, Row

POINTS = 8  # n
INPUT_DIM = 10
WIDTHS = (100, 1000, 10_000)
STEPS = 100


class TwoLayerReLU(Problem):
    """The net above as a function of W (``train="W"``) or of a (``train="a"``)."""

    def __init__(
        self,
        inputs: np.ndarray,
        targets: np.ndarray,
        hidden: np.ndarray,
        signs: np.ndarray,
        train: str,
    ) -> None:
        self.data = inputs
        self.targets = targets
        self.hidden = hidden  # (m, d) initial W
        self.signs = signs  # (m,) initial a
        self.train = train
        self.width = len(signs)
        self.dim = hidden.size if train == "W" else self.width

    @property
    def start(self) -> np.ndarray:
        return self.hidden.ravel() if self.train == "W" else self.signs.copy()

    def _parts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.train == "W":
            return x.reshape(len(x), self.width, -1), np.broadcast_to(
                self.signs, (len(x), self.width)
            )
        return np.broadcast_to(self.hidden, (len(x), *self.hidden.shape)), x

    def outputs(self, x: np.ndarray) -> np.ndarray:
        weights, signs = self._parts(x)
        pre = np.einsum("brd,nd->bnr", weights, self.data)
        return np.einsum("bnr,br->bn", np.maximum(pre, 0), signs) / np.sqrt(self.width)

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.outputs(x) - self.targets
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        weights, signs = self._parts(x)
        pre = np.einsum("brd,nd->bnr", weights, self.data)
        r = np.einsum("bnr,br->bn", np.maximum(pre, 0), signs) / np.sqrt(self.width) - self.targets
        if self.train == "a":
            return np.einsum("bn,bnr->br", r, np.maximum(pre, 0)) / np.sqrt(self.width)
        active = (pre >= 0) * r[:, :, None]  # (B, n, m)
        g = np.einsum("bnr,nd->brd", active, self.data) * signs[:, :, None]
        return g.reshape(len(x), -1) / np.sqrt(self.width)


def gram_infinity(inputs: np.ndarray) -> np.ndarray:
    """H∞ of Du et al.: x_iᵀx_j(π − arccos x_iᵀx_j)/(2π) for unit-norm inputs."""
    cosine = np.clip(inputs @ inputs.T, -1.0, 1.0)
    return cosine * (np.pi - np.arccos(cosine)) / (2 * np.pi)


def arccos_kernel(inputs: np.ndarray) -> np.ndarray:
    """E_w[ReLU(wᵀx)ReLU(wᵀx')] for w ~ N(0, I) and unit inputs: the random-feature kernel."""
    cosine = np.clip(inputs @ inputs.T, -1.0, 1.0)
    angle = np.arccos(cosine)
    return (np.sin(angle) + (np.pi - angle) * cosine) / (2 * np.pi)


def predicted_residual(
    kernel: np.ndarray, targets: np.ndarray, lr: float, steps: np.ndarray
) -> np.ndarray:
    """√Σ(1 − ηλ_i)^{2k}(v_iᵀy)² for each k in ``steps``."""
    eigenvalues, vectors = np.linalg.eigh(kernel)
    weights = (vectors.T @ targets) ** 2
    factors = (1 - lr * eigenvalues)[None, :] ** (2 * steps[:, None])
    return np.sqrt(factors @ weights)


def run(seed: int = 0) -> Result:
    registry = load_registry()
    rng = np.random.default_rng(seed)
    inputs = rng.standard_normal((POINTS, INPUT_DIM))
    inputs /= np.linalg.norm(inputs, axis=1, keepdims=True)
    targets = rng.choice([-1.0, 1.0], POINTS)
    ntk = gram_infinity(inputs)
    features = arccos_kernel(inputs)
    steps = np.arange(STEPS + 1)
    norm = np.linalg.norm(targets)
    smallest = float(np.linalg.eigvalsh(ntk)[0])
    rows = [Row("λ₀ = λ_min(H∞) (no two inputs parallel)", smallest, "> 0", smallest > 0)]
    curves: dict = {
        "NTK training: ‖y − u(k)‖": {},
        "random features: ‖y − u(k)‖": {},
        "max gap to the prediction / ‖y‖ against width m": {},
    }
    lr = {"W": 1.0 / np.linalg.eigvalsh(ntk)[-1], "a": 1.0 / np.linalg.eigvalsh(features)[-1]}
    kernels = {"W": ntk, "a": features}
    titles = {"W": "NTK training: ‖y − u(k)‖", "a": "random features: ‖y − u(k)‖"}
    names = {"W": "NTK", "a": "random features"}
    for train in ("W", "a"):
        prediction = predicted_residual(kernels[train], targets, lr[train], steps)
        curves[titles[train]]["theory (m → ∞)"] = (steps, prediction)
        gaps = []
        for width in WIDTHS:
            half = rng.standard_normal((width // 2, INPUT_DIM))
            hidden = np.concatenate([half, half])
            signs = np.concatenate([np.ones(width // 2), -np.ones(width // 2)])
            problem = TwoLayerReLU(inputs, targets, hidden, signs, train)
            path = simulate(
                problem, "sgd", steps=STEPS, hyper={"lr": lr[train]}, registry=registry, gtol=0
            )
            residual = np.sqrt(2 * path.loss)
            curves[titles[train]][f"m = {width}"] = (steps, residual)
            gaps.append(np.max(np.abs(residual - prediction)) / norm)
        curves["max gap to the prediction / ‖y‖ against width m"][names[train]] = (
            np.array(WIDTHS, dtype=float),
            np.array(gaps),
        )
        rows.append(
            Row.close(
                f"{names[train]}, m = {WIDTHS[-1]}: max |‖y − u(k)‖ − prediction| / ‖y‖",
                gaps[-1],
                0.0,
                atol=0.02,
            )
        )
        rows.append(
            Row(
                f"{names[train]}: the gap shrinks as m grows (m = {WIDTHS[0]} → {WIDTHS[-1]})",
                gaps[0] / gaps[-1],
                "> 1",
                gaps[-1] < gaps[0],
            )
        )
    return Result("wide_net", rows, curves)
