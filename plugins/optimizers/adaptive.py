"""Adaptive methods: per-coordinate step sizes from running gradient statistics."""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl


def adam_init(problem, x, hyper):
    state = {"t": np.zeros(len(x), dtype=np.int64), "m": np.zeros_like(x), "v": np.zeros_like(x)}
    if hyper["amsgrad"]:
        state["v_max"] = np.zeros_like(x)
    return state


def adam_step(problem, x, state, hyper):
    beta1, beta2 = hyper["beta1"], hyper["beta2"]
    g = problem.grad(x) + hyper["weight_decay"] * x
    t = state["t"] + 1
    m = state["m"] + (1 - beta1) * (g - state["m"])
    v = beta2 * state["v"] + (1 - beta2) * g * g
    steps = t[:, None].astype(float)
    correction1 = 1 - beta1**steps
    correction2_sqrt = np.sqrt(1 - beta2**steps)
    new_state = {"t": t, "m": m, "v": v}
    if hyper["amsgrad"]:
        v = new_state["v_max"] = np.maximum(state["v_max"], v)
    denom = np.sqrt(v) / correction2_sqrt + hyper["eps"]
    return x - (hyper["lr"] / correction1) * (m / denom), new_state


ADAM = OptimizerSpec(
    name="adam",
    init=adam_init,
    step=adam_step,
    params=(
        Param("lr", 1e-3, low=1e-6, high=10.0, log=True, doc="learning rate γ"),
        Param("beta1", 0.9, low=0.0, high=0.9999, doc="first-moment decay β₁"),
        Param("beta2", 0.999, low=0.0, high=0.99999, doc="second-moment decay β₂"),
        Param("eps", 1e-8, low=1e-12, high=1.0, log=True, doc="ε, added to the corrected √v̂"),
        Param("weight_decay", 0.0, low=0.0, high=1.0, doc="coupled L2 penalty λ"),
        Param("amsgrad", False, kind="bool", doc="use the running maximum of v"),
    ),
    label="Adam",
    family="adaptive",
    doc="m ← m + (1 − β₁)(g − m); v ← β₂v + (1 − β₂)g²; θ ← θ − γ/(1 − β₁ᵗ)·m/(√v̄/√(1 − β₂ᵗ) "
    "+ ε), v̄ = v or max(v) with amsgrad. Exactly torch.optim.Adam.",
    reference="Kingma & Ba 2015; Reddi, Kale & Kumar 2018 (AMSGrad)",
)


@hookimpl
def zoo_optimizers():
    return [ADAM]
