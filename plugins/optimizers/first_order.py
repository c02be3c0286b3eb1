"""First-order methods: stochastic gradient descent and its momentum forms."""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl, preset

LR = Param("lr", 1e-3, low=1e-6, high=10.0, log=True, doc="learning rate γ")
WEIGHT_DECAY = Param("weight_decay", 0.0, low=0.0, high=1.0, doc="coupled L2 penalty λ")


def sgd_init(problem, x, hyper):
    if hyper["nesterov"] and (np.any(hyper["momentum"] <= 0) or np.any(hyper["dampening"] != 0)):
        raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
    return {"t": np.zeros(len(x), dtype=np.int64), "buf": np.zeros_like(x)}


def sgd_step(problem, x, state, hyper):
    g = problem.grad(x) + hyper["weight_decay"] * x
    mu = hyper["momentum"]
    first = (state["t"] == 0)[:, None]
    buf = np.where(first, g, mu * state["buf"] + (1 - hyper["dampening"]) * g)
    direction = g + mu * buf if hyper["nesterov"] else buf
    direction = np.where(mu == 0, g, direction)
    return x - hyper["lr"] * direction, {"t": state["t"] + 1, "buf": buf}


SGD = OptimizerSpec(
    name="sgd",
    init=sgd_init,
    step=sgd_step,
    params=(
        LR,
        Param("momentum", 0.0, low=0.0, high=0.999, doc="momentum μ"),
        Param("dampening", 0.0, low=0.0, high=1.0, doc="dampening τ"),
        WEIGHT_DECAY,
        Param("nesterov", False, kind="bool", doc="Nesterov momentum"),
    ),
    label="SGD",
    family="first-order",
    doc="g ← ∇f(θ) + λθ; b ← g at t = 1, else μb + (1 − τ)g; θ ← θ − γ(g + μb if nesterov "
    "else b). Exactly torch.optim.SGD.",
    reference="Robbins & Monro 1951; Polyak 1964; Sutskever et al. 2013",
)


@hookimpl
def zoo_optimizers():
    return [
        SGD,
        preset(SGD, "momentum", "Momentum", lr=1e-2, momentum=0.9),
        preset(SGD, "nesterov", "Nesterov", lr=1e-2, momentum=0.9, nesterov=True),
    ]
