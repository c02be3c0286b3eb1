"""First-order methods: gradient descent, its momentum and averaged forms, and sign methods.

The torch-named rules (SGD and its presets, ASGD) are written with torch's kernels, rounding
for rounding, so their float64 trajectories are torch's bit for bit.
"""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl, preset
from zoo_plugins.optimizers.kernels import add, power

LR = Param("lr", 1e-3, low=1e-6, high=10.0, log=True, doc="learning rate γ")
WEIGHT_DECAY = Param("weight_decay", 0.0, low=0.0, high=1.0, doc="coupled L2 penalty λ")


def _counter(x: np.ndarray) -> np.ndarray:
    return np.zeros(len(x), dtype=np.int64)


# --------------------------------------------------------------------- SGD
def sgd_init(problem, x, hyper):
    if hyper["nesterov"] and (np.any(hyper["momentum"] <= 0) or np.any(hyper["dampening"] != 0)):
        raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")
    return {"t": _counter(x), "buf": np.zeros_like(x)}


def _coupled_decay(x, g, weight_decay):
    """g + λθ as torch adds it; nothing at all without decay (which keeps 0·∞ out of g)."""
    return add(g, x, weight_decay) if weight_decay.any() else g


def sgd_step(problem, x, state, hyper):
    g = _coupled_decay(x, problem.grad(x), hyper["weight_decay"])
    mu = hyper["momentum"]
    first = (state["t"] == 0)[:, None]
    buf = np.where(first, g, add(state["buf"] * mu, g, 1 - hyper["dampening"]))
    direction = add(g, buf, mu) if hyper["nesterov"] else buf
    direction = np.where(mu == 0, g, direction)
    return add(x, direction, -hyper["lr"]), {"t": state["t"] + 1, "buf": buf}


SGD = OptimizerSpec(
    name="sgd",
    momentum_key="buf",
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


# --------------------------------------------------------------------- ASGD
def asgd_init(problem, x, hyper):
    return {"t": _counter(x), "ax": x.copy()}


def asgd_step(problem, x, state, hyper):
    lr, lambd, alpha, t0 = hyper["lr"], hyper["lambd"], hyper["alpha"], hyper["t0"]
    g = _coupled_decay(x, problem.grad(x), hyper["weight_decay"])
    # η and μ of the previous step: η₀ = lr and μ₀ = 1 are the same formulas at t = 0.
    previous = state["t"][:, None].astype(float)
    eta = lr / power(1 + lambd * lr * previous, alpha)
    mu = 1 / np.maximum(1.0, previous - t0)
    theta = add(x * (1 - lambd * eta), g, -eta)
    ax = np.where(mu == 1, theta, state["ax"] + (theta - state["ax"]) * mu)
    return theta, {"t": state["t"] + 1, "ax": ax}


ASGD = OptimizerSpec(
    name="asgd",
    init=asgd_init,
    step=asgd_step,
    params=(
        Param("lr", 1e-2, low=1e-6, high=10.0, log=True, doc="learning rate γ"),
        Param("lambd", 1e-4, low=1e-8, high=1.0, log=True, doc="decay term λ"),
        Param("alpha", 0.75, low=0.0, high=1.0, doc="power α of the step-size decay"),
        Param("t0", 1e6, low=1.0, high=1e7, log=True, doc="step at which averaging starts"),
        WEIGHT_DECAY,
    ),
    label="ASGD",
    family="first-order",
    doc="θ ← θ(1 − λη) − ηg; ax ← ax + μ(θ − ax); then η = γ/(1 + λγt)^α and "
    "μ = 1/max(1, t − t₀). The path shown is θ; ax is the Polyak–Ruppert average. "
    "Exactly torch.optim.ASGD.",
    reference="Polyak & Juditsky 1992; Bottou 2012",
)


# --------------------------------------------------------------------- Lion
def lion_init(problem, x, hyper):
    return {"t": _counter(x), "m": np.zeros_like(x)}


def lion_step(problem, x, state, hyper):
    lr, beta1, beta2 = hyper["lr"], hyper["beta1"], hyper["beta2"]
    g = problem.grad(x)
    m = state["m"]
    theta = x * (1 - lr * hyper["weight_decay"])
    update = np.sign(beta1 * m + (1 - beta1) * g)
    return theta - lr * update, {"t": state["t"] + 1, "m": beta2 * m + (1 - beta2) * g}


LION = OptimizerSpec(
    name="lion",
    momentum_key="m",
    init=lion_init,
    step=lion_step,
    params=(
        Param("lr", 1e-4, low=1e-6, high=1.0, log=True, doc="learning rate γ"),
        Param("beta1", 0.9, low=0.0, high=0.9999, doc="interpolation β₁ of the update"),
        Param("beta2", 0.99, low=0.0, high=0.9999, doc="momentum decay β₂"),
        Param("weight_decay", 0.0, low=0.0, high=10.0, doc="decoupled weight decay λ"),
    ),
    label="Lion",
    family="first-order",
    doc="θ ← θ(1 − γλ) − γ·sign(β₁m + (1 − β₁)g); m ← β₂m + (1 − β₂)g. Every coordinate "
    "moves by exactly γ.",
    reference="Chen et al. 2023, Symbolic Discovery of Optimization Algorithms",
)


# --------------------------------------------------------------------- signSGD
def signsgd_init(problem, x, hyper):
    return {"t": _counter(x), "m": np.zeros_like(x)}


def signsgd_step(problem, x, state, hyper):
    beta = hyper["momentum"]
    g = problem.grad(x)
    first = (state["t"] == 0)[:, None] & (not hyper["zero_start"])
    m = np.where(first, g, beta * state["m"] + (1 - beta) * g)
    return x - hyper["lr"] * np.sign(m), {"t": state["t"] + 1, "m": m}


SIGNSGD = OptimizerSpec(
    name="signsgd",
    momentum_key="m",
    init=signsgd_init,
    step=signsgd_step,
    params=(
        LR,
        Param("momentum", 0.0, low=0.0, high=0.999, doc="momentum β (Signum when > 0)"),
        Param(
            "zero_start",
            False,
            kind="bool",
            doc="start the average at m₀ = 0 (optax, pytorch-optimizer) instead of m₁ = g₁",
        ),
    ),
    label="signSGD",
    family="first-order",
    doc="m ← g at t = 1, else βm + (1 − β)g; θ ← θ − γ·sign(m). With β = 0 this is "
    "θ ← θ − γ·sign(g). With zero_start, m₀ = 0 and m ← βm + (1 − β)g from the first step, "
    "as optax and pytorch-optimizer do: the first step's sign is the same, later ones differ.",
    reference="Bernstein, Wang, Azizzadenesheli & Anandkumar 2018, signSGD",
)


@hookimpl
def zoo_optimizers():
    return [
        SGD,
        preset(SGD, "momentum", "Momentum", lr=1e-2, momentum=0.9),
        preset(SGD, "nesterov", "Nesterov", lr=1e-2, momentum=0.9, nesterov=True),
        ASGD,
        LION,
        SIGNSGD,
    ]
