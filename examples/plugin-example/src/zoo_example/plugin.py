"""One of each record: an optimizer, an activation, a model and a schedule.

Everything here uses only the public ``zoo`` API, exactly as a third party would.
"""

from __future__ import annotations

import numpy as np

from zoo import ActivationSpec, ModelSpec, OptimizerSpec, Param, Problem, ScheduleSpec, hookimpl


# --- optimizer: gradient descent on the sign-preserving cube root of the gradient ---------
def init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def step(problem, x, state, hyper):
    g = problem.grad(x)
    return x - hyper["lr"] * np.cbrt(g), {"t": state["t"] + 1}


CUBE_ROOT_GD = OptimizerSpec(
    name="cube_root_gd",
    init=init,
    step=step,
    params=(Param("lr", 0.05, low=1e-4, high=1.0, log=True, doc="learning rate"),),
    label="Cube-root GD",
    family="first-order",
    doc="θ ← θ − γ·∛∇f(θ): large gradients are tamed, small ones amplified.",
)


# --- activation: the "bent identity" -------------------------------------------------------
BENT_IDENTITY = ActivationSpec(
    name="bent_identity",
    f=lambda z: (np.sqrt(z * z + 1) - 1) / 2 + z,
    df=lambda z: z / (2 * np.sqrt(z * z + 1)) + 1,
    d2f=lambda z: 1 / (2 * (z * z + 1) ** 1.5),
    label="Bent identity",
    doc="f(z) = (√(z² + 1) − 1)/2 + z",
)


# --- model: an elliptic bowl with a ripple --------------------------------------------------
class RippledBowl(Problem):
    bounds = ((-3.0, 3.0), (-3.0, 3.0))

    def __init__(self, ripple: float):
        self.ripple = ripple
        self.start = np.array([-2.5, 2.0])
        self.minima = np.zeros((1, 2))

    def loss(self, x):
        u, v = x[:, 0], x[:, 1]
        return u**2 + 4 * v**2 + self.ripple * np.sin(u) ** 2

    def grad(self, x):
        u, v = x[:, 0], x[:, 1]
        return np.stack([2 * u + self.ripple * np.sin(2 * u), 8 * v], axis=1)


RIPPLED_BOWL = ModelSpec(
    name="rippled_bowl",
    build=lambda settings, ctx: RippledBowl(settings["ripple"]),
    params=(Param("ripple", 1.0, low=0.0, high=5.0, doc="height of the ripple"),),
    label="Rippled bowl",
    family="example",
    doc="f = x² + 4y² + r·sin²x",
)


# --- schedule: halve the learning rate every `every` steps ----------------------------------
HALVING = ScheduleSpec(
    name="halving",
    factor=lambda step, every: 0.5 ** np.floor_divide(step, every),
    params=(Param("every", 100, low=1, high=100000, kind="int", doc="steps between halvings"),),
    label="Halving",
    doc="η_k = η₀ · 0.5^⌊k/every⌋",
    robbins_monro=lambda every: False,
)


@hookimpl
def zoo_optimizers():
    return [CUBE_ROOT_GD]


@hookimpl
def zoo_activations():
    return [BENT_IDENTITY]


@hookimpl
def zoo_models():
    return [RIPPLED_BOWL]


@hookimpl
def zoo_schedules():
    return [HALVING]
