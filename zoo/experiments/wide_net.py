"""An over-parameterised two-layer ReLU net trains like its kernel (Du et al.; Arora et al.).

The registry's ``wide_relu``: f(x) = (1/√m)Σ_r a_r·ReLU(w_rᵀx) on n unit-norm inputs,
loss ½Σ(f(x_i) − y_i)², with random W(0) and signs a_r = ±1.

* **NTK training** (``train_hidden``: only W moves): for wide nets the residual follows the
  linear prediction ‖y − u(k)‖ = √Σ(1 − ηλ_i)^{2k}(v_iᵀ(y − u(0)))², with (λ_i, v_i) the
  eigenpairs of H∞_ij = x_iᵀx_j(π − arccos x_iᵀx_j)/(2π).  The gap shrinks as the width m
  grows.
* **Random features** (``train_output``: W frozen, only a moves) is exactly linear regression
  on the features; its kernel tends to the arc-cosine kernel (1/2π)(sin θ + (π − θ)cos θ).

The network's output at the start, u(0), is of order one at every width (the signs are
random), so the prediction starts from the residual y − u(0), not from y.
"""

from __future__ import annotations

import numpy as np

from zoo import build_problem, simulate
from zoo.experiments import Result, Row, checkpoint
from zoo.registry import load_for_builtins

POINTS = 8  # n
INPUT_DIM = 10
WIDTHS = (100, 1000, 5000)  # 5000 is the model's largest width
STEPS = 100
MODES = {"train_hidden": "NTK", "train_output": "random features"}


def arccos_kernel(inputs: np.ndarray) -> np.ndarray:
    """E_w[ReLU(wᵀx)ReLU(wᵀx')] for w ~ N(0, I) and unit inputs: the random-feature kernel."""
    cosine = np.clip(inputs @ inputs.T, -1.0, 1.0)
    angle = np.arccos(cosine)
    return (np.sin(angle) + (np.pi - angle) * cosine) / (2 * np.pi)


def predicted_residual(
    kernel: np.ndarray, residual: np.ndarray, lr: float, steps: np.ndarray
) -> np.ndarray:
    """√Σ(1 − ηλ_i)^{2k}(v_iᵀr₀)² for each k in ``steps``: ‖(I − ηK)^k r₀‖."""
    eigenvalues, vectors = np.linalg.eigh(kernel)
    weights = (vectors.T @ residual) ** 2
    factors = (1 - lr * eigenvalues)[None, :] ** (2 * steps[:, None])
    return np.sqrt(factors @ weights)


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    steps = np.arange(STEPS + 1)
    rows: list[Row] = []
    curves: dict = {f"{name} training: ‖y − u(k)‖": {} for name in MODES.values()}
    curves["max gap to the prediction / ‖y − u(0)‖ against width m"] = {}
    for mode_index, (mode, name) in enumerate(MODES.items()):
        gaps = []
        for width_index, width in enumerate(WIDTHS):
            checkpoint(mode_index * len(WIDTHS) + width_index, len(MODES) * len(WIDTHS))
            # One seed for every width: the inputs and targets are drawn first, so they are
            # the same data at every width; only the hidden weights and signs differ.
            problem = build_problem(
                "wide_relu",
                {"mode": mode, "width": width, "input_dim": INPUT_DIM, "n_points": POINTS},
                seed=seed,
                registry=registry,
            )
            if mode == "train_hidden":
                kernel = problem.gram_infinity()
                smallest = float(np.linalg.eigvalsh(kernel)[0])
            else:
                kernel = arccos_kernel(problem.points)
            lr = 1.0 / np.linalg.eigvalsh(kernel)[-1]
            start_residual = -problem.residuals(problem.start[None])[0]  # y − u(0)
            prediction = predicted_residual(kernel, start_residual, lr, steps)
            path = simulate(
                problem, "sgd", steps=STEPS, hyper={"lr": lr}, registry=registry, gtol=0
            )
            residual = np.sqrt(2 * path.loss)
            curves[f"{name} training: ‖y − u(k)‖"][f"m = {width}"] = (steps, residual)
            curves[f"{name} training: ‖y − u(k)‖"][f"theory (m → ∞), m = {width} start"] = (
                steps,
                prediction,
            )
            gaps.append(np.max(np.abs(residual - prediction)) / np.linalg.norm(start_residual))
        curves["max gap to the prediction / ‖y − u(0)‖ against width m"][name] = (
            np.array(WIDTHS, dtype=float),
            np.array(gaps),
        )
        if mode == "train_hidden":
            rows.append(
                Row("λ₀ = λ_min(H∞) (no two inputs parallel)", smallest, "> 0", smallest > 0)
            )
        rows.append(
            Row.close(
                f"{name}, m = {WIDTHS[-1]}: max |‖y − u(k)‖ − prediction| / ‖y − u(0)‖",
                gaps[-1],
                0.0,
                atol=0.02,
            )
        )
        rows.append(
            Row(
                f"{name}: the gap shrinks as m grows (m = {WIDTHS[0]} → {WIDTHS[-1]})",
                gaps[0] / gaps[-1],
                "> 1",
                gaps[-1] < gaps[0],
            )
        )
    return Result("wide_net", rows, curves)
