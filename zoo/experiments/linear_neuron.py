"""A linear neuron y = wᵀx fitted by gradient descent: a valley of solutions or a single one.

The loss E(w) = (1/2N)‖Xw − y‖² has Hessian XᵀX/N of rank min(N, D).  With fewer data
than weights (N < D) every w with Xw = y fits exactly: the minima form a flat valley of
dimension D − N, and gradient descent, whose steps lie in the row space of X, lands on
w_mn + (I − X⁺X)w₀ — the minimum-norm solution plus whatever of the start the data never
saw.  With N ≥ D the Hessian is invertible and every start ends at (XᵀX)⁻¹Xᵀy.
"""

from __future__ import annotations

import numpy as np

from zoo import build_problem, simulate
from zoo.experiments import Result, Row
from zoo.registry import load_for_builtins

DIM = 2  # the registry's linear neuron has two weights, so its valley can be drawn
FEW, MANY = 1, 12  # N < D and N ≥ D
STEPS = 4000


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    rng = np.random.default_rng(seed)
    starts = rng.uniform(-2.5, 2.5, (2, DIM))
    rows: list[Row] = []
    curves: dict = {"loss": {}}
    for n in (FEW, MANY):
        # Noise-free targets from the model's teacher: every regime can fit them exactly.
        problem = build_problem(
            "linear_neuron", {"n_points": n, "noise": 0.0}, seed=seed, registry=registry
        )
        inputs, targets = problem.points, problem.targets
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
        predicted = [pinv @ targets + (np.eye(DIM) - pinv @ inputs) @ start for start in starts]
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
