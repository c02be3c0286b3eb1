"""Noise and perturbation: Langevin dynamics, and learning without backpropagated gradients.

Weight and node perturbation estimate the gradient from how the error changes when the
weights or the outputs are jiggled — learning rules a biological network could run.  All
noise comes from ``zoo.run_normal`` keyed by (run seed, step), so a run replays exactly
alone or in any batch.
"""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl, run_normal


def _counter(x: np.ndarray) -> np.ndarray:
    return np.zeros(len(x), dtype=np.int64)


def counter_init(problem, x, hyper):
    return {"t": _counter(x)}


# --------------------------------------------------------------------- SGLD
def sgld_step(problem, x, state, hyper):
    lr = hyper["lr"]
    noise = run_normal(hyper["seed"], state["t"], (x.shape[1],))
    x_new = x - lr * problem.grad(x) + np.sqrt(2 * lr * hyper["temperature"]) * noise
    return x_new, {"t": state["t"] + 1}


SGLD = OptimizerSpec(
    name="sgld",
    init=counter_init,
    step=sgld_step,
    params=(
        Param("lr", 1e-3, low=1e-6, high=1.0, log=True, doc="step size η"),
        Param("temperature", 0.01, low=1e-8, high=10.0, log=True, doc="temperature T"),
    ),
    label="SGLD (Langevin)",
    family="noise",
    doc="θ ← θ − η∇f(θ) + √(2ηT)·ξ with ξ ~ N(0, I): a discretised Langevin diffusion whose "
    "iterates sample from ∝ exp(−f/T) as η → 0; T → 0 is gradient descent.",
    reference="Welling & Teh 2011, Bayesian Learning via Stochastic Gradient Langevin Dynamics",
)


# --------------------------------------------------------------------- weight perturbation
def weight_perturbation_step(problem, x, state, hyper):
    lr, sigma = hyper["lr"], hyper["sigma"]
    dim = x.shape[1]
    loss = problem.loss(x)
    if hyper["form"] == "serial":
        # Sweep the weights in turn: a forward difference along one axis per step.
        axes = np.eye(dim)[state["t"] % dim]
        change = problem.loss(x + sigma * axes) - loss
        x_new = x - lr * (change[:, None] / sigma) * axes
    else:
        psi = sigma * run_normal(hyper["seed"], state["t"], (dim,))
        change = problem.loss(x + psi) - loss
        x_new = x - (lr / sigma**2) * change[:, None] * psi
    return x_new, {"t": state["t"] + 1}


WEIGHT_PERTURBATION = OptimizerSpec(
    name="weight_perturbation",
    init=counter_init,
    step=weight_perturbation_step,
    params=(
        Param("lr", 1e-2, low=1e-6, high=10.0, log=True, doc="learning rate η"),
        Param("sigma", 1e-2, low=1e-6, high=1.0, log=True, doc="perturbation size σ"),
        Param(
            "form",
            "parallel",
            kind="choice",
            choices=("parallel", "serial"),
            doc="perturb all weights at once with Gaussian noise, or one weight per step",
        ),
    ),
    needs=frozenset({"loss"}),
    label="Weight perturbation",
    family="noise",
    doc="Parallel: Ψ ~ N(0, σ²I), θ ← θ − (η/σ²)[E(θ + Ψ) − E(θ)]Ψ. Serial: weight i = t mod D, "
    "θᵢ ← θᵢ − η[E(θ + σeᵢ) − E(θ)]/σ. Two loss evaluations per step, no gradient; on a "
    "linear network it learns MN² times slower than gradient descent, N times slower than "
    "node perturbation.",
    reference="Jabri & Flower 1992; Werfel, Xie & Seung 2005, Neural Comput. 17(12)",
)


# --------------------------------------------------------------------- node perturbation
def node_perturbation_step(problem, x, state, hyper):
    lr, sigma = hyper["lr"], hyper["sigma"]
    r = problem.residuals(x)
    jacobian = problem.jacobian(x)
    xi = sigma * run_normal(hyper["seed"], state["t"], (r.shape[1],))
    perturbed = r + xi
    # Row by row, not einsum: each run's numbers do not depend on the batch.
    change = 0.5 * (perturbed * perturbed).sum(axis=1) - 0.5 * (r * r).sum(axis=1)
    estimate = change[:, None] / sigma**2 * np.matmul(xi[:, None, :], jacobian)[:, 0, :]
    return x - lr * estimate, {"t": state["t"] + 1}


NODE_PERTURBATION = OptimizerSpec(
    name="node_perturbation",
    init=counter_init,
    step=node_perturbation_step,
    params=(
        Param("lr", 1e-2, low=1e-6, high=10.0, log=True, doc="learning rate η"),
        Param("sigma", 1e-2, low=1e-6, high=1.0, log=True, doc="output noise σ"),
    ),
    needs=frozenset({"residuals"}),
    label="Node perturbation",
    family="noise",
    doc="Perturb the outputs: ξ ~ N(0, σ²I), ĝ = [E(r + ξ) − E(r)]/σ²·Jᵀξ with E = ½‖·‖², "
    "θ ← θ − ηĝ. The error change is a scalar reward; Jᵀξ is the eligibility (REINFORCE "
    "with the unperturbed error as baseline). M times slower than gradient descent.",
    reference="Williams 1992; Werfel, Xie & Seung 2005, Neural Comput. 17(12)",
)


@hookimpl
def zoo_optimizers():
    return [SGLD, WEIGHT_PERTURBATION, NODE_PERTURBATION]
