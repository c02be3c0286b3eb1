"""Local learning rules: a unit changes its weights from what it sees, not from a loss.

They read the model's data (``problem.inputs``, and ``problem.labels`` for the
perceptron).  For the single-unit rules the weight vector w has one entry per input
feature; for Sanger's rule the weights are the K×n matrix W stored row by row (K = D // n).
Each step uses one example, drawn per run from a generator keyed by (run seed, step), or
with ``batch`` the average over all examples.
"""

from __future__ import annotations

import numpy as np

from zoo import OptimizerSpec, Param, hookimpl, run_integers

LR = Param("lr", 1e-2, low=1e-6, high=10.0, log=True, doc="learning rate η")
BATCH = Param("batch", False, kind="bool", doc="average over all examples each step")


def _init(problem, x, hyper):
    features = np.asarray(problem.inputs).shape[-1]
    if features != x.shape[1]:
        raise ValueError(
            f"the inputs have {features} features but the model has {x.shape[1]} "
            "weights; this rule needs one weight per input"
        )
    return {"t": np.zeros(len(x), dtype=np.int64)}


def _apply(rule, problem, x, state, hyper, *data):
    """x + η·mean of rule(w, example…) over the chosen example(s) of each run.

    ``data`` is shared, (N, …), or on minibatches each run's own, (B, m, …)."""
    per_run = data[0].ndim == 3  # the inputs of a minibatch problem
    count = data[0].shape[int(per_run)]
    if hyper["batch"]:  # every run against every example at once: (B·N) rows
        if per_run:
            rows = (d.reshape(len(x) * count, *d.shape[2:]) for d in data)
        else:
            rows = (np.tile(d, (len(x),) + (1,) * (d.ndim - 1)) for d in data)
        delta = rule(np.repeat(x, count, axis=0), *rows).reshape(len(x), count, -1).mean(axis=1)
    else:  # one example per run, drawn from a generator keyed by (run seed, step)
        picks = run_integers(hyper["seed"], state["t"], count)
        runs = np.arange(len(x))
        delta = rule(x, *((d[runs, picks] if per_run else d[picks]) for d in data))
    return x + hyper["lr"] * delta, {"t": state["t"] + 1}


# --------------------------------------------------------------------- Hebb, Oja
def _hebb(w, inputs):
    y = np.einsum("bi,bi->b", w, inputs)[:, None]
    return y * inputs


def _oja(w, inputs):
    y = np.einsum("bi,bi->b", w, inputs)[:, None]
    return y * (inputs - y * w)


def hebbian_step(problem, x, state, hyper):
    return _apply(_hebb, problem, x, state, hyper, np.asarray(problem.inputs, dtype=float))


def oja_step(problem, x, state, hyper):
    return _apply(_oja, problem, x, state, hyper, np.asarray(problem.inputs, dtype=float))


HEBBIAN = OptimizerSpec(
    name="hebbian",
    init=_init,
    step=hebbian_step,
    params=(LR, BATCH),
    needs=frozenset({"inputs"}),
    label="Hebbian",
    family="local rule",
    doc="y = wᵀx; w ← w + ηyx. On average w ← (I + ηC)w with C the input correlation: "
    "the direction turns to the top eigenvector while the length grows without bound.",
    reference="Hebb 1949, The Organization of Behavior",
)

OJA = OptimizerSpec(
    name="oja",
    init=_init,
    step=oja_step,
    params=(LR, BATCH),
    needs=frozenset({"inputs"}),
    label="Oja",
    family="local rule",
    doc="y = wᵀx; w ← w + ηy(x − yw). The −y²w term keeps ‖w‖ near 1: w converges to ± the "
    "unit top eigenvector of the input correlation (the first principal component).",
    reference="Oja 1982, A simplified neuron model as a principal component analyzer",
)


# --------------------------------------------------------------------- Sanger
def sanger_init(problem, x, hyper):
    features = np.asarray(problem.inputs).shape[-1]
    if x.shape[1] % features:
        raise ValueError(f"{x.shape[1]} weights do not make rows of {features} inputs")
    return {"t": np.zeros(len(x), dtype=np.int64)}


def sanger_step(problem, x, state, hyper):
    inputs = np.asarray(problem.inputs, dtype=float)
    features = inputs.shape[-1]

    def rule(w, example):
        matrix = w.reshape(len(w), -1, features)  # (B, K, n)
        y = np.einsum("bkn,bn->bk", matrix, example)
        lower = np.tril(np.einsum("bk,bl->bkl", y, y))
        change = np.einsum("bk,bn->bkn", y, example) - lower @ matrix
        return change.reshape(w.shape)

    return _apply(rule, problem, x, state, hyper, inputs)


SANGER = OptimizerSpec(
    name="sanger",
    init=sanger_init,
    step=sanger_step,
    params=(LR, BATCH),
    needs=frozenset({"inputs"}),
    label="Sanger (GHA)",
    family="local rule",
    doc="W is K×n (weights row by row), y = Wx; W ← W + η(yxᵀ − LT[yyᵀ]W) with LT the lower "
    "triangle including the diagonal. Row k is Oja's rule on what rows 1…k−1 leave "
    "unexplained: the rows converge to the top K eigenvectors, in order.",
    reference="Sanger 1989, Optimal unsupervised learning in a single-layer linear "
    "feedforward neural network",
)


# --------------------------------------------------------------------- perceptron
def _perceptron(w, inputs, labels):
    margin = labels * np.einsum("bi,bi->b", w, inputs)
    return np.where((margin <= 0)[:, None], labels[:, None] * inputs, 0.0)


def perceptron_step(problem, x, state, hyper):
    return _apply(
        _perceptron,
        problem,
        x,
        state,
        hyper,
        np.asarray(problem.inputs, dtype=float),
        np.asarray(problem.labels, dtype=float),
    )


PERCEPTRON = OptimizerSpec(
    name="perceptron",
    init=_init,
    step=perceptron_step,
    params=(Param("lr", 1.0, low=1e-3, high=10.0, log=True, doc="learning rate η"), BATCH),
    needs=frozenset({"inputs", "labels"}),
    label="Perceptron",
    family="local rule",
    doc="If yᵢwᵀxᵢ ≤ 0 (a mistake): w ← w + ηyᵢxᵢ; otherwise no change. On separable data "
    "with ‖xᵢ‖ ≤ R and margin γ it makes at most (R/γ)² mistakes from w = 0.",
    reference="Rosenblatt 1958; Novikoff 1962",
)


@hookimpl
def zoo_optimizers():
    return [PERCEPTRON, HEBBIAN, OJA, SANGER]
