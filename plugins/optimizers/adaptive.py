"""Adaptive methods: per-coordinate step sizes from running gradient statistics.

Each update is written with torch.optim's single-tensor path's kernels, in its order and with
its roundings (``zoo_plugins.optimizers.kernels``), so that in float64 the iterates are torch's
to the last bit wherever torch's own arithmetic is correctly rounded (``docs/optimizers.md``).
"""

from __future__ import annotations

import math

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl
from zoo_plugins.optimizers.kernels import (
    add,
    addcdiv,
    addcmul,
    fma,
    from_floats,
    lerp,
    per_row,
    power,
    sqrt,
)


def _counter(x: np.ndarray) -> np.ndarray:
    return np.zeros(len(x), dtype=np.int64)


def _steps(t: np.ndarray) -> np.ndarray:
    return t[:, None].astype(float)


def _lr(default: float, high: float = 10.0) -> Param:
    return Param("lr", default, low=1e-6, high=high, log=True, doc="learning rate γ")


def _eps(default: float, doc: str) -> Param:
    return Param("eps", default, low=1e-16, high=1.0, log=True, doc=doc)


WEIGHT_DECAY = Param("weight_decay", 0.0, low=0.0, high=1.0, doc="coupled L2 penalty λ")
BETA1 = Param("beta1", 0.9, low=0.0, high=0.9999, doc="first-moment decay β₁")
BETA2 = Param("beta2", 0.999, low=0.0, high=0.99999, doc="second-moment decay β₂")
DECOUPLED = Param(
    "decoupled_weight_decay", False, kind="bool", doc="shrink θ by (1 − γλ) instead of adding λθ"
)


def _decay(x, g, hyper, decoupled: bool):
    """(θ, g) after weight decay: coupled adds λθ to g, decoupled shrinks θ first.

    Like torch, nothing is done to a run without decay (which also keeps 0·∞ out of its g),
    whatever the other runs of the batch have."""
    decay = hyper["weight_decay"]
    if not decay.any():
        return x, g
    if decoupled:  # θ·1 is θ: a run without decay keeps its bits
        return x * (1 - hyper["lr"] * decay), g
    decayed = add(g, x, decay)
    return x, decayed if decay.all() else np.where(decay != 0, decayed, g)


# --------------------------------------------------------------------- Adagrad
def adagrad_init(problem, x, hyper):
    return {"t": _counter(x), "sum": np.full_like(x, 1.0) * hyper["initial_accumulator_value"]}


def adagrad_step(problem, x, state, hyper):
    x, g = _decay(x, problem.grad(x), hyper, False)
    t = state["t"] + 1
    clr = hyper["lr"] / (1 + (_steps(t) - 1) * hyper["lr_decay"])
    total = addcmul(state["sum"], g, g)
    std = sqrt(total) + hyper["eps"]
    return addcdiv(x, g, std, -clr), {"t": t, "sum": total}


ADAGRAD = OptimizerSpec(
    name="adagrad",
    scaling_key="sum",
    init=adagrad_init,
    step=adagrad_step,
    params=(
        _lr(1e-2),
        Param("lr_decay", 0.0, low=0.0, high=1.0, doc="γ is divided by 1 + (t − 1)·lr_decay"),
        WEIGHT_DECAY,
        Param("initial_accumulator_value", 0.0, low=0.0, high=10.0, doc="starting value of s"),
        _eps(1e-10, "ε, added to √s"),
    ),
    label="Adagrad",
    family="adaptive",
    doc="s ← s + g²; θ ← θ − γ/(1 + (t − 1)·lr_decay)·g/(√s + ε). Exactly torch.optim.Adagrad.",
    reference="Duchi, Hazan & Singer 2011",
)


# --------------------------------------------------------------------- RMSprop
def rmsprop_init(problem, x, hyper):
    state = {"t": _counter(x), "square_avg": np.zeros_like(x), "buf": np.zeros_like(x)}
    if hyper["centered"]:
        state["grad_avg"] = np.zeros_like(x)
    return state


def rmsprop_step(problem, x, state, hyper):
    alpha, mu, lr = hyper["alpha"], hyper["momentum"], hyper["lr"]
    x, g = _decay(x, problem.grad(x), hyper, False)
    square_avg = addcmul(state["square_avg"] * alpha, g, g, 1 - alpha)
    new_state = {"t": state["t"] + 1, "square_avg": square_avg}
    if hyper["centered"]:
        grad_avg = new_state["grad_avg"] = lerp(state["grad_avg"], g, 1 - alpha)
        avg = sqrt(addcmul(square_avg, grad_avg, grad_avg, -1.0))
    else:
        avg = sqrt(square_avg)
    avg = avg + hyper["eps"]
    buf = new_state["buf"] = np.where(mu > 0, addcdiv(state["buf"] * mu, g, avg), state["buf"])
    return np.where(mu > 0, add(x, buf, -lr), addcdiv(x, g, avg, -lr)), new_state


RMSPROP = OptimizerSpec(
    name="rmsprop",
    momentum_key="buf",
    scaling_key="square_avg",
    init=rmsprop_init,
    step=rmsprop_step,
    params=(
        _lr(1e-2),
        Param("alpha", 0.99, low=0.0, high=0.9999, doc="smoothing constant α"),
        _eps(1e-8, "ε, added outside the square root"),
        WEIGHT_DECAY,
        Param("momentum", 0.0, low=0.0, high=0.999, doc="momentum μ"),
        Param("centered", False, kind="bool", doc="divide by the estimated variance of g"),
    ),
    label="RMSprop",
    family="adaptive",
    doc="v ← αv + (1 − α)g²; denom = √(v − ḡ²) + ε if centered (ḡ ← ḡ + (1 − α)(g − ḡ)) else "
    "√v + ε; with μ > 0: b ← μb + g/denom, θ ← θ − γb; otherwise θ ← θ − γg/denom. "
    "Exactly torch.optim.RMSprop.",
    reference="Tieleman & Hinton 2012 (Coursera lecture 6.5); Graves 2013 (centered)",
)


# --------------------------------------------------------------------- Adadelta
def adadelta_init(problem, x, hyper):
    return {"t": _counter(x), "square_avg": np.zeros_like(x), "acc_delta": np.zeros_like(x)}


def adadelta_step(problem, x, state, hyper):
    rho, eps = hyper["rho"], hyper["eps"]
    x, g = _decay(x, problem.grad(x), hyper, False)
    square_avg = addcmul(state["square_avg"] * rho, g, g, 1 - rho)
    std = sqrt(square_avg + eps)
    delta = sqrt(state["acc_delta"] + eps) / std * g
    acc_delta = addcmul(state["acc_delta"] * rho, delta, delta, 1 - rho)
    new_state = {"t": state["t"] + 1, "square_avg": square_avg, "acc_delta": acc_delta}
    return add(x, delta, -hyper["lr"]), new_state


ADADELTA = OptimizerSpec(
    name="adadelta",
    scaling_key="square_avg",
    init=adadelta_init,
    step=adadelta_step,
    params=(
        _lr(1.0, high=100.0),
        Param("rho", 0.9, low=0.0, high=0.9999, doc="decay ρ of both running averages"),
        _eps(1e-6, "ε, inside both square roots"),
        WEIGHT_DECAY,
    ),
    label="Adadelta",
    family="adaptive",
    doc="v ← ρv + (1 − ρ)g²; Δ = √(u + ε)/√(v + ε)·g; u ← ρu + (1 − ρ)Δ²; θ ← θ − γΔ. "
    "Exactly torch.optim.Adadelta.",
    reference="Zeiler 2012, ADADELTA: an adaptive learning rate method",
)


# --------------------------------------------------------------------- Adam, AdamW
def adam_init(problem, x, hyper):
    state = {"t": _counter(x), "m": np.zeros_like(x), "v": np.zeros_like(x)}
    if hyper["amsgrad"]:
        state["v_max"] = np.zeros_like(x)
    return state


def _adam(problem, x, state, hyper, decoupled: bool):
    g = problem.grad(x)
    if x.size <= FEW:
        try:
            return _adam_small(x, g, state, hyper, decoupled)
        except ArithmeticError:  # Python floats raise where numpy gives inf or NaN
            pass
    beta1, beta2 = hyper["beta1"], hyper["beta2"]
    x, g = _decay(x, g, hyper, decoupled)
    t = state["t"] + 1
    m = lerp(state["m"], g, 1 - beta1)
    v = addcmul(state["v"] * beta2, g, g, 1 - beta2)
    steps = _steps(t)
    step_size = hyper["lr"] / (1 - power(beta1, steps))
    correction2_sqrt = power(1 - power(beta2, steps), 0.5)
    new_state = {"t": t, "m": m, "v": v}
    if hyper["amsgrad"]:
        v = new_state["v_max"] = np.maximum(state["v_max"], v)
    denom = sqrt(v) / correction2_sqrt + hyper["eps"]
    return addcdiv(x, m, denom, -step_size), new_state


#: Up to this many coordinates in a batch, Adam steps in Python floats: numpy's cost per
#: call, some thirty calls a step, outweighs Python's per element below about fifty.
FEW = 48
_ADAM_FLOATS = ("lr", "beta1", "beta2", "eps", "weight_decay")


def _adam_small(x, g, state, hyper, decoupled: bool):
    """``_adam`` of a few coordinates in Python floats: the same operations in the same
    order, so the same bits, without numpy's cost per call that dominates a small step."""
    rows, width = x.shape
    lr, beta1, beta2, eps, decay = per_row(hyper, _ADAM_FLOATS, rows)
    xs, gs = x.ravel().tolist(), g.ravel().tolist()
    ms, vs = state["m"].ravel().tolist(), state["v"].ravel().tolist()
    amsgrad = hyper["amsgrad"]
    v_max = state["v_max"].ravel().tolist() if amsgrad else None
    t = state["t"] + 1
    out_x, out_m, out_v = [], [], []
    for row, step in enumerate(t.tolist()):
        b1, b2 = beta1[row], beta2[row]
        step_size = lr[row] / (1 - pow(b1, float(step)))
        correction2_sqrt = pow(1 - pow(b2, float(step)), 0.5)
        weight, keep, shrink = 1 - b1, 1 - b2, 1 - lr[row] * decay[row]
        for i in range(row * width, row * width + width):
            xi, gi, mi = xs[i], gs[i], ms[i]
            if decay[row] != 0:  # like ``_decay``
                if decoupled:
                    xi = xi * shrink
                else:
                    gi = fma(decay[row], xi, gi)
            # lerp(m, g, 1 − β₁) and addcmul(β₂v, g, g, 1 − β₂), as in ``kernels``
            diff = gi - mi
            mi = fma(weight, diff, mi) if weight < 0.5 else fma(weight - 1, diff, gi)
            vi = fma(keep * gi, gi, vs[i] * b2)
            out_m.append(mi)
            out_v.append(vi)
            if amsgrad:
                old = v_max[i]
                vi = v_max[i] = old if old >= vi or old != old else vi  # numpy's maximum
            denom = math.sqrt(vi) / correction2_sqrt + eps[row] if vi >= 0 else math.nan
            out_x.append(xi + -step_size * mi / denom)
    # One array for all (one allocation instead of three or four), handed out by rows.
    block = from_floats(out_x + out_m + out_v + (v_max or []), (-1, *x.shape))
    new_state = {"t": t, "m": block[1], "v": block[2]}
    if amsgrad:
        new_state["v_max"] = block[3]
    return block[0], new_state


def adam_step(problem, x, state, hyper):
    return _adam(problem, x, state, hyper, hyper["decoupled_weight_decay"])


def adamw_step(problem, x, state, hyper):
    return _adam(problem, x, state, hyper, True)


ADAM_DOC = (
    "m ← m + (1 − β₁)(g − m); v ← β₂v + (1 − β₂)g²; θ ← θ − γ/(1 − β₁ᵗ)·m/(√v̄/√(1 − β₂ᵗ) + ε), "
    "v̄ = v, or its running maximum with amsgrad; ε is added to the bias-corrected √v̂ "
    "(Kingma & Ba's efficient form adds it to √v)."
)
AMSGRAD = Param("amsgrad", False, kind="bool", doc="use the running maximum of v")

ADAM = OptimizerSpec(
    name="adam",
    momentum_key="m",
    scaling_key="v",
    init=adam_init,
    step=adam_step,
    params=(
        _lr(1e-3),
        BETA1,
        BETA2,
        _eps(1e-8, "ε, added to the corrected √v̂"),
        WEIGHT_DECAY,
        AMSGRAD,
        DECOUPLED,
    ),
    label="Adam",
    family="adaptive",
    doc=ADAM_DOC + " Weight decay adds λθ to g. Exactly torch.optim.Adam.",
    reference="Kingma & Ba 2015; Reddi, Kale & Kumar 2018 (AMSGrad)",
)

ADAMW = OptimizerSpec(
    name="adamw",
    momentum_key="m",
    scaling_key="v",
    init=adam_init,
    step=adamw_step,
    params=(
        _lr(1e-3),
        BETA1,
        BETA2,
        _eps(1e-8, "ε, added to the corrected √v̂"),
        Param("weight_decay", 1e-2, low=0.0, high=1.0, doc="decoupled weight decay λ"),
        AMSGRAD,
    ),
    label="AdamW",
    family="adaptive",
    doc="θ ← θ(1 − γλ) first, then Adam with the raw gradient: "
    + ADAM_DOC
    + " Exactly torch.optim.AdamW.",
    reference="Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization",
)


# --------------------------------------------------------------------- NAdam
def nadam_init(problem, x, hyper):
    return {
        "t": _counter(x),
        "m": np.zeros_like(x),
        "v": np.zeros_like(x),
        "mu_product": np.ones(len(x)),
    }


def nadam_step(problem, x, state, hyper):
    beta1, beta2, lr, psi = hyper["beta1"], hyper["beta2"], hyper["lr"], hyper["momentum_decay"]
    t = state["t"] + 1
    steps = _steps(t)
    correction2 = 1 - power(beta2, steps)
    x, g = _decay(x, problem.grad(x), hyper, hyper["decoupled_weight_decay"])
    mu = beta1 * (1.0 - 0.5 * power(0.96, steps * psi))
    mu_next = beta1 * (1.0 - 0.5 * power(0.96, (steps + 1) * psi))
    mu_product = state["mu_product"][:, None] * mu
    m = lerp(state["m"], g, 1 - beta1)
    v = addcmul(state["v"] * beta2, g, g, 1 - beta2)
    denom = sqrt(v / correction2) + hyper["eps"]
    x = addcdiv(x, g, denom, -lr * (1.0 - mu) / (1.0 - mu_product))
    x = addcdiv(x, m, denom, (-lr * mu_next) / (1.0 - mu_product * mu_next))
    return x, {"t": t, "m": m, "v": v, "mu_product": mu_product[:, 0]}


NADAM = OptimizerSpec(
    name="nadam",
    momentum_key="m",
    scaling_key="v",
    init=nadam_init,
    step=nadam_step,
    params=(
        _lr(2e-3),
        BETA1,
        BETA2,
        _eps(1e-8, "ε, added to √v̂"),
        WEIGHT_DECAY,
        Param("momentum_decay", 4e-3, low=0.0, high=0.1, doc="momentum decay ψ"),
        DECOUPLED,
    ),
    label="NAdam",
    family="adaptive",
    doc="μₜ = β₁(1 − ½·0.96^(tψ)); Π ← Π·μₜ; m, v as in Adam; denom = √(v/(1 − β₂ᵗ)) + ε; "
    "θ ← θ − γ(1 − μₜ)/(1 − Π)·g/denom − γμₜ₊₁/(1 − Πμₜ₊₁)·m/denom. Exactly torch.optim.NAdam "
    "in float64.",
    reference="Dozat 2016, Incorporating Nesterov Momentum into Adam",
)


# --------------------------------------------------------------------- RAdam
def radam_init(problem, x, hyper):
    return {"t": _counter(x), "m": np.zeros_like(x), "v": np.zeros_like(x)}


def radam_step(problem, x, state, hyper):
    beta1, beta2, lr = hyper["beta1"], hyper["beta2"], hyper["lr"]
    x, g = _decay(x, problem.grad(x), hyper, hyper["decoupled_weight_decay"])
    t = state["t"] + 1
    steps = _steps(t)
    m = lerp(state["m"], g, 1 - beta1)
    v = addcmul(state["v"] * beta2, g, g, 1 - beta2)
    correction1 = 1 - power(beta1, steps)
    correction2 = 1 - power(beta2, steps)
    m_hat = m / correction1
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * steps * power(beta2, steps) / correction2
    with np.errstate(invalid="ignore", divide="ignore"):
        rect = (
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        ) ** 0.5
        # a float divided by a tensor is torch's reciprocal, then a product
        adaptive_lr = 1 / (sqrt(v) + hyper["eps"]) * power(correction2, 0.5)
        rectified = x - m_hat * lr * adaptive_lr * rect
    x = np.where(rho_t > 5.0, rectified, x - m_hat * lr)
    return x, {"t": t, "m": m, "v": v}


RADAM = OptimizerSpec(
    name="radam",
    momentum_key="m",
    scaling_key="v",
    init=radam_init,
    step=radam_step,
    params=(
        _lr(1e-3),
        BETA1,
        BETA2,
        _eps(1e-8, "ε, added to the uncorrected √v"),
        WEIGHT_DECAY,
        DECOUPLED,
    ),
    label="RAdam",
    family="adaptive",
    doc="m, v as in Adam; ρ∞ = 2/(1 − β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ); if ρₜ > 5: "
    "θ ← θ − γ·m̂·r·√(1 − β₂ᵗ)/(√v + ε) with the rectifier "
    "r = √((ρₜ − 4)(ρₜ − 2)ρ∞/((ρ∞ − 4)(ρ∞ − 2)ρₜ)); otherwise θ ← θ − γm̂ (the first five "
    "steps at β₂ = 0.999). Exactly torch.optim.RAdam.",
    reference="Liu et al. 2020, On the Variance of the Adaptive Learning Rate and Beyond",
)


# --------------------------------------------------------------------- Adamax
def adamax_init(problem, x, hyper):
    return {"t": _counter(x), "m": np.zeros_like(x), "u": np.zeros_like(x)}


def adamax_step(problem, x, state, hyper):
    beta1 = hyper["beta1"]
    x, g = _decay(x, problem.grad(x), hyper, False)
    t = state["t"] + 1
    m = lerp(state["m"], g, 1 - beta1)
    u = np.maximum(state["u"] * hyper["beta2"], np.abs(g) + hyper["eps"])
    clr = hyper["lr"] / (1 - power(beta1, _steps(t)))
    return addcdiv(x, m, u, -clr), {"t": t, "m": m, "u": u}


ADAMAX = OptimizerSpec(
    name="adamax",
    momentum_key="m",
    scaling_key="u",
    init=adamax_init,
    step=adamax_step,
    params=(_lr(2e-3), BETA1, BETA2, _eps(1e-8, "ε, inside the max"), WEIGHT_DECAY),
    label="Adamax",
    family="adaptive",
    doc="m ← m + (1 − β₁)(g − m); u ← max(β₂u, |g| + ε); θ ← θ − γ/(1 − β₁ᵗ)·m/u. "
    "Exactly torch.optim.Adamax.",
    reference="Kingma & Ba 2015, section 7.1",
)


# --------------------------------------------------------------------- Rprop
def rprop_init(problem, x, hyper):
    return {"t": _counter(x), "prev": np.zeros_like(x), "step_size": np.ones_like(x) * hyper["lr"]}


def rprop_step(problem, x, state, hyper):
    eta_minus, eta_plus = hyper["eta_minus"], hyper["eta_plus"]
    g = problem.grad(x)
    s = np.sign(g * state["prev"])
    factor = np.where(s > 0, eta_plus, np.where(s < 0, eta_minus, 1.0))
    step_size = np.clip(state["step_size"] * factor, hyper["step_min"], hyper["step_max"])
    # Where the sign flipped the step is skipped and the flip forgotten (iRprop⁻).
    g = np.where(factor == eta_minus, 0.0, g)
    new_state = {"t": state["t"] + 1, "prev": g, "step_size": step_size}
    return addcmul(x, np.sign(g), step_size, -1.0), new_state


RPROP = OptimizerSpec(
    name="rprop",
    init=rprop_init,
    step=rprop_step,
    params=(
        _lr(1e-2),
        Param("eta_minus", 0.5, low=0.01, high=0.99, doc="step shrink factor η₋ on a sign flip"),
        Param("eta_plus", 1.2, low=1.01, high=3.0, doc="step growth factor η₊ on a kept sign"),
        Param("step_min", 1e-6, low=1e-12, high=1.0, log=True, doc="smallest step Δmin"),
        Param("step_max", 50.0, low=1e-3, high=1e3, log=True, doc="largest step Δmax"),
    ),
    label="Rprop",
    family="adaptive",
    doc="Per coordinate: Δ ← clamp(Δ·(η₊ if g·g_prev > 0, η₋ if < 0, else 1), Δmin, Δmax); "
    "where the sign flipped g ← 0 (no move); θ ← θ − sign(g)·Δ; g_prev ← g; Δ₀ = γ. "
    "Only the signs of the gradient matter. Exactly torch.optim.Rprop (iRprop⁻).",
    reference="Riedmiller & Braun 1993; Igel & Hüsken 2000 (iRprop⁻)",
)


@hookimpl
def zoo_optimizers():
    return [ADAGRAD, RMSPROP, ADADELTA, ADAM, ADAMW, NADAM, RADAM, ADAMAX, RPROP]
