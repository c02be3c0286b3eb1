"""Saxe, McClelland & Ganguli: a deep linear network learns each mode in a sudden transition.

A two-layer linear network y = W³²W²¹x on whitened inputs (Σ¹¹ = I) has the loss
½‖Σ³¹ − W³²W²¹‖²_F (up to a constant).  Started balanced and aligned with the singular
vectors of Σ³¹ = diag(s), it splits into independent modes, each a scalar network
y = w₂w₁x learning a target slope s — the registry's ``deep_linear`` model with
``strength`` s — whose strength u = w₁w₂ obeys τu̇ = 2u(s − u).  The solution
u(t) = s·e^{2st/τ}/(e^{2st/τ} − 1 + s/u₀) sits on a plateau for a time ∝ (τ/s)·ln(s/u₀)
and then jumps.  Small-step gradient descent with learning rate η is that flow with τ = 1/η.
"""

from __future__ import annotations

import numpy as np

from zoo import build_problem, simulate
from zoo.experiments import Result, Row, checkpoint
from zoo.registry import load_for_builtins

STRENGTHS = (1.0, 0.5, 0.25)  # singular values s_α of Σ³¹, one mode each
U0 = 1e-3  # initial strength of every mode
LR = 1e-3  # η; τ = 1/η
STEPS = 22_000
#: Noise-free whitened data: the model's least-squares slope ŝ is then exactly its strength.
SETTINGS = {"noise": 0.0}


def closed_form(t: np.ndarray, s: float, u0: float, tau: float) -> np.ndarray:
    """Saxe's u(t) for a balanced mode of strength s started at u₀."""
    grow = np.exp(2 * s * t / tau)
    return s * grow / (grow - 1 + s / u0)


def plateau_time(s: float, u0: float, tau: float) -> float:
    """Time for u to climb from u₀ to s/2: (τ/2s)·ln[(s − u₀)/u₀]."""
    return tau / (2 * s) * np.log((s - u0) / u0)


def run(seed: int = 0) -> Result:
    # The dynamics are deterministic: a balanced start has no randomness, and with noise-free
    # whitened data every draw of inputs gives the same loss ½(w₁w₂)² − s·w₁w₂ + const.
    registry = load_for_builtins()
    balanced = np.full(2, np.sqrt(U0))  # w₁ = w₂, so u₀ = w₁w₂
    steps = np.arange(STEPS + 1)
    tau = 1.0 / LR
    rows = []
    curves: dict = {"mode strengths u_α(t)": {}, "loss": {}}
    problems = {}
    excess = 0.0  # loss above the minimum at the end, summed over the modes
    for index, s in enumerate(STRENGTHS):
        checkpoint(index, len(STRENGTHS) + 1)
        problem = build_problem(
            "deep_linear", {**SETTINGS, "strength": s}, seed=seed, registry=registry
        )
        problems[s] = problem
        path = simulate(
            problem, "sgd", steps=STEPS, start=balanced, hyper={"lr": LR}, gtol=0, registry=registry
        )
        simulated = path.x[:, 0] * path.x[:, 1]
        theory = closed_form(steps, s, U0, tau)
        curves["mode strengths u_α(t)"][f"s = {s:g}, simulated"] = (steps, simulated)
        curves["mode strengths u_α(t)"][f"s = {s:g}, closed form"] = (steps, theory)
        curves["loss"][f"s = {s:g}"] = (steps, path.loss - problem.loss(np.array([[s, 1.0]]))[0])
        rows.append(
            Row.close(
                f"max |u(t) − closed form| / s, s = {s:g}",
                np.max(np.abs(simulated - theory)) / s,
                0.0,
                atol=0.01,
            )
        )
        rows.append(
            Row.close(
                f"plateau: steps to reach s/2, s = {s:g}",
                _crossing(steps, simulated, s / 2),
                plateau_time(s, U0, tau),
                rtol=0.01,
            )
        )
        excess += curves["loss"][f"s = {s:g}"][1][-1]
    strongest = problems[max(STRENGTHS)]
    origin = np.zeros((1, 2))
    eigenvalues = np.linalg.eigvalsh(strongest.hess(origin)[0])
    rows.append(
        Row.close(
            "gradient norm at the origin", np.linalg.norm(strongest.grad(origin)), 0.0, atol=1e-12
        )
    )
    rows.append(
        Row.close(
            "lowest Hessian eigenvalue at the origin (−s: a saddle)",
            eigenvalues[0],
            -max(STRENGTHS),
            rtol=1e-6,
        )
    )
    rows.append(
        Row.close(
            "highest Hessian eigenvalue at the origin (+s)",
            eigenvalues[-1],
            max(STRENGTHS),
            rtol=1e-6,
        )
    )
    stuck = simulate(
        strongest, "sgd", steps=1000, start=origin[0], hyper={"lr": LR}, gtol=0, registry=registry
    )
    rows.append(
        Row.close(
            "distance moved in 1000 steps from the origin", np.abs(stuck.x).max(), 0.0, atol=0.0
        )
    )
    rows.append(Row.close("final loss above the minimum, all modes", excess, 0.0, atol=1e-6))
    return Result("deep_linear", rows, curves)


def _crossing(steps: np.ndarray, values: np.ndarray, level: float) -> float:
    """The (interpolated) step at which ``values`` first reaches ``level``."""
    k = int(np.argmax(values >= level))
    if values[k] < level or k == 0:
        return float("nan")
    fraction = (level - values[k - 1]) / (values[k] - values[k - 1])
    return float(steps[k - 1] + fraction)
