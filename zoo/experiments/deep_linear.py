"""Saxe, McClelland & Ganguli: a deep linear network learns each mode in a sudden transition.

A two-layer linear network y = W³²W²¹x on whitened inputs (Σ¹¹ = I) has the loss
½‖Σ³¹ − W³²W²¹‖²_F (up to a constant).  Started balanced and aligned with the singular
vectors of Σ³¹ = diag(s), each mode's strength u = (W³²W²¹)_αα obeys τu̇ = 2u(s − u), whose
solution u(t) = s·e^{2st/τ}/(e^{2st/τ} − 1 + s/u₀) sits on a plateau for a time ∝ (τ/s)·ln(s/u₀)
and then jumps.  Small-step gradient descent with learning rate η is that flow with τ = 1/η.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, load_registry, simulate
from zoo.experiments import Result, Row

STRENGTHS = (1.0, 0.5, 0.25)  # singular values s_α of Σ³¹
U0 = 1e-3  # initial strength of every mode
LR = 1e-3  # η; τ = 1/η
STEPS = 22_000


class DeepLinearNetwork(Problem):
    """Loss ½‖S − W³²W²¹‖²_F of a square two-layer linear network; x = (W²¹, W³²) flattened."""

    def __init__(self, target: np.ndarray, start: np.ndarray) -> None:
        self.target = np.asarray(target, dtype=float)
        self.size = len(self.target)
        self.dim = 2 * self.size**2
        self._start = np.asarray(start, dtype=float)

    @property
    def start(self) -> np.ndarray:
        return self._start

    def layers(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = self.size
        return x[:, : n * n].reshape(-1, n, n), x[:, n * n :].reshape(-1, n, n)

    def loss(self, x: np.ndarray) -> np.ndarray:
        w21, w32 = self.layers(x)
        error = self.target - w32 @ w21
        return 0.5 * np.einsum("bij,bij->b", error, error)

    def grad(self, x: np.ndarray) -> np.ndarray:
        w21, w32 = self.layers(x)
        error = self.target - w32 @ w21
        d21 = -np.swapaxes(w32, 1, 2) @ error
        d32 = -error @ np.swapaxes(w21, 1, 2)
        return np.concatenate([d21.reshape(len(x), -1), d32.reshape(len(x), -1)], axis=1)


def closed_form(t: np.ndarray, s: float, u0: float, tau: float) -> np.ndarray:
    """Saxe's u(t) for a balanced mode of strength s started at u₀."""
    grow = np.exp(2 * s * t / tau)
    return s * grow / (grow - 1 + s / u0)


def plateau_time(s: float, u0: float, tau: float) -> float:
    """Time for u to climb from u₀ to s/2: (τ/2s)·ln[(s − u₀)/u₀]."""
    return tau / (2 * s) * np.log((s - u0) / u0)


def run(seed: int = 0) -> Result:
    # The experiment is deterministic: a balanced, aligned start has no randomness to seed.
    registry = load_registry()
    strengths = np.array(STRENGTHS)
    n = len(strengths)
    root = np.sqrt(U0) * np.eye(n)
    problem = DeepLinearNetwork(np.diag(strengths), np.concatenate([root.ravel(), root.ravel()]))
    path = simulate(
        problem, "sgd", steps=STEPS, hyper={"lr": LR}, gtol=0, seed=seed, registry=registry
    )
    w21, w32 = problem.layers(path.x)
    product = w32 @ w21
    steps = np.arange(len(path.x))
    tau = 1.0 / LR
    rows = []
    curves: dict = {"mode strengths u_α(t)": {}, "loss": {"gradient descent": (steps, path.loss)}}
    for alpha, s in enumerate(strengths):
        simulated = product[:, alpha, alpha]
        theory = closed_form(steps, s, U0, tau)
        curves["mode strengths u_α(t)"][f"s = {s:g}, simulated"] = (steps, simulated)
        curves["mode strengths u_α(t)"][f"s = {s:g}, closed form"] = (steps, theory)
        rows.append(
            Row.close(
                f"max |u(t) − closed form| / s, s = {s:g}",
                np.max(np.abs(simulated - theory)) / s,
                0.0,
                atol=0.01,
            )
        )
        crossing = _crossing(steps, simulated, s / 2)
        rows.append(
            Row.close(
                f"plateau: steps to reach s/2, s = {s:g}",
                crossing,
                plateau_time(s, U0, tau),
                rtol=0.01,
            )
        )
    off_diagonal = product - np.einsum("bii->bi", product)[:, :, None] * np.eye(n)
    rows.append(
        Row.close(
            "largest off-diagonal of W³²W²¹ (modes stay decoupled)",
            np.max(np.abs(off_diagonal)),
            0.0,
            atol=1e-9,
        )
    )
    origin = np.zeros((1, problem.dim))
    eigenvalues = np.linalg.eigvalsh(problem.hess(origin)[0])
    rows.append(
        Row.close(
            "gradient norm at the origin", np.linalg.norm(problem.grad(origin)), 0.0, atol=1e-12
        )
    )
    rows.append(
        Row.close(
            "lowest Hessian eigenvalue at the origin (−s_max: a saddle)",
            eigenvalues[0],
            -strengths.max(),
            rtol=1e-6,
        )
    )
    rows.append(
        Row.close(
            "highest Hessian eigenvalue at the origin (+s_max)",
            eigenvalues[-1],
            strengths.max(),
            rtol=1e-6,
        )
    )
    stuck = simulate(
        problem,
        "sgd",
        steps=1000,
        start=np.zeros(problem.dim),
        hyper={"lr": LR},
        gtol=0,
        registry=registry,
    )
    rows.append(
        Row.close(
            "distance moved in 1000 steps from the origin", np.abs(stuck.x).max(), 0.0, atol=0.0
        )
    )
    rows.append(Row.close("final loss", path.loss[-1], 0.0, atol=1e-6))
    return Result("deep_linear", rows, curves)


def _crossing(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """The (interpolated) step at which ``values`` first reaches ``level``."""
    k = int(np.argmax(values >= level))
    if values[k] < level or k == 0:
        return float("nan")
    fraction = (level - values[k - 1]) / (values[k] - values[k - 1])
    return float(steps[k - 1] + fraction)
