"""A linear neuron y = wᵀx fitted by gradient descent: a valley of solutions or a single one.

The loss E(w) = (1/2N)‖Xw − y‖² has Hessian XᵀX/N of rank min(N, D).  With fewer data
than weights (N < D) every w with Xw = y fits exactly: the minima form a flat valley of
dimension D − N, and gradient descent, whose steps lie in the row space of X, lands on
w_mn + (I − X⁺X)w₀ — the minimum-norm solution plus whatever of the start the data never
saw.  With N ≥ D the Hessian is invertible and every start ends at (XᵀX)⁻¹Xᵀy.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, load_registry, simulate
from zoo.experiments import Result, Row

DIM = 4
FEW, MANY = 2, 12  # N < D and N ≥ D
STEPS = 4000


class LinearNeuron(Problem):
    """E(w) = (1/2N)‖Xw − y‖² as a least-squares problem, r = (Xw − y)/√N."""

    def __init__(self, inputs: np.ndarray, targets: np.ndarray) -> None:
        self.data = np.asarray(inputs, dtype=float)
        self.targets = np.asarray(targets, dtype=float)
        self.dim = self.data.shape[1]
        self.scale = 1 / np.sqrt(len(self.targets))

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return self.scale * (x @ self.data.T - self.targets)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.scale * self.data, (len(x), *self.data.shape)).copy()

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.residuals(x)
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return self.scale * self.residuals(x) @ self.data

    def hess(self, x: np.ndarray) -> np.ndarray:
        h = self.scale**2 * self.data.T @ self.data
        return np.broadcast_to(h, (len(x), self.dim, self.dim)).copy()


def run(seed: int = 0) -> Result:
    registry = load_registry()
    rng = np.random.default_rng(seed)
    teacher = rng.standard_normal(DIM)
    starts = rng.standard_normal((2, DIM))
    rows: list[Row] = []
    curves: dict = {"loss": {}}
    for n in (FEW, MANY):
        inputs = rng.standard_normal((n, DIM))
        problem = LinearNeuron(inputs, inputs @ teacher)
        hessian = problem.hess(np.zeros((1, DIM)))[0]
        eigenvalues = np.linalg.eigvalsh(hessian)
        lr = 1.0 / eigenvalues[-1]
        ends = []
        for which, start in zip("AB", starts, strict=True):
            path = simulate(
                problem,
                "sgd",
                steps=STEPS,
                start=start,
                hyper={"lr": lr},
                registry=registry,
                gtol=1e-13,
            )
            ends.append(path.x[-1])
            curves["loss"][f"N = {n}, start {which}"] = (np.arange(len(path.loss)), path.loss)
        pinv = np.linalg.pinv(inputs)
        predicted = [
            pinv @ (inputs @ teacher) + (np.eye(DIM) - pinv @ inputs) @ start for start in starts
        ]
        regime = "N < D" if n < DIM else "N ≥ D"
        rank = int(np.sum(eigenvalues > 1e-10 * eigenvalues[-1]))
        rows.append(
            Row(
                f"{regime} (N = {n}, D = {DIM}): Hessian rank",
                rank,
                min(n, DIM),
                rank == min(n, DIM),
            )
        )
        rows.append(
            Row.close(
                f"{regime}: training loss at the end (start A)",
                problem.loss(ends[0][None])[0],
                0.0,
                atol=1e-20,
            )
        )
        for which, end, theory in zip("AB", ends, predicted, strict=True):
            label = "w_mn + (I − X⁺X)w₀" if n < DIM else "(XᵀX)⁻¹Xᵀy"
            rows.append(
                Row.close(
                    f"{regime}: ‖w_end − {label}‖, start {which}",
                    np.linalg.norm(end - theory),
                    0.0,
                    atol=1e-8,
                )
            )
        rows.append(
            Row.close(
                f"{regime}: distance between the two answers",
                np.linalg.norm(ends[0] - ends[1]),
                np.linalg.norm(predicted[0] - predicted[1]),
                rtol=1e-6,
                atol=1e-8,
            )
        )
    return Result("linear_neuron", rows, curves)
