"""Hebbian learning and its repairs: Hebb blows up, Oja normalises, Sanger finds the ordered PCs.

A linear neuron y = wᵀx sees zero-mean data with covariance C (eigenvalues λ₁ > λ₂ > …).
* Hebb, Δw = ηyx: on average w ← (I + ηC)w, so ‖w‖ grows like (1 + ηλ₁)ᵗ without bound while
  its direction turns to the top eigenvector.
* Oja, Δw = ηy(x − yw): the decay term keeps ‖w‖ at 1; w converges to ±v₁.
* Sanger (GHA), ΔW = η(yxᵀ − LT[yyᵀ]W): row i converges to ±vᵢ, in order of eigenvalue.
Each rule is the zoo's own optimizer, applied online to one randomly drawn sample per step
of the registry's ``pca_neuron`` data.
"""

from __future__ import annotations

import numpy as np

from zoo import RunConfig, RunSet, build_problem
from zoo.experiments import Result, Row
from zoo.experiments.progress import stepped
from zoo.registry import load_for_builtins

#: The registry's pca_neuron with covariance eigenvalues 4, 2, 1, 0.5 (its further axes halve
#: the variance each time) and 500 samples; the rows are drawn again for K = 3.
DATA = {"n_inputs": 4, "variance1": 4.0, "variance2": 2.0, "n_samples": 500}
LR = 0.002
STEPS = 8000
COMPONENTS = 3


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    # One seed for both models: the samples are drawn first, so both see the same data.
    single = build_problem("pca_neuron", {**DATA, "n_outputs": 1}, seed=seed, registry=registry)
    data, values, vectors = single.inputs, single.data_variances, single.principal_components
    dim = data.shape[1]
    runs = RunSet(single, registry, gtol=0.0, history="full")
    hebb_id = runs.add(RunConfig("hebbian", {"lr": LR}, seed=seed))
    oja_id = runs.add(RunConfig("oja", {"lr": LR}, seed=seed))
    stepped(runs, STEPS, 0.0, 0.5)
    several = build_problem(
        "pca_neuron", {**DATA, "n_outputs": COMPONENTS}, seed=seed, registry=registry
    )
    sanger_runs = RunSet(several, registry, gtol=0.0, history="full")
    sanger_id = sanger_runs.add(RunConfig("sanger", {"lr": LR}, seed=seed))
    stepped(sanger_runs, STEPS, 0.5, 1.0)
    hebb_path = runs.history(hebb_id)[0]
    oja_path = runs.history(oja_id)[0]
    sanger_path = sanger_runs.history(sanger_id)[0].reshape(-1, COMPONENTS, dim)
    hebb, sanger = hebb_path[-1], sanger_path[-1]
    hebb_norm = np.linalg.norm(hebb_path, axis=1)
    oja_norm = np.linalg.norm(oja_path, axis=1)
    oja_cos = np.abs(oja_path @ vectors[0]) / oja_norm
    sanger_cos = np.abs(np.einsum("tkn,kn->tk", sanger_path, vectors[:COMPONENTS])) / (
        np.linalg.norm(sanger_path, axis=2)
    )
    steps = np.arange(STEPS + 1)
    reached = len(hebb_norm) - 1
    half = reached // 2
    growth = (np.log(hebb_norm[-1]) - np.log(hebb_norm[half])) / (reached - half)
    status = runs.status(hebb_id).state
    rows = [
        Row(
            "Hebb: the engine's verdict on ‖w‖ (past 10¹² counts as diverged)",
            status,
            "diverged",
            status == "diverged",
        ),
        Row.close(
            "Hebb: growth rate of ln‖w‖ per step, second half",
            growth,
            np.log1p(LR * values[0]),
            rtol=0.1,
        ),
        Row.close(
            "Hebb: |cos(w, v₁)| (direction still turns to v₁)",
            abs(hebb @ vectors[0]) / np.linalg.norm(hebb),
            1.0,
            atol=0.01,
        ),
        Row.close("Oja: ‖w‖ at the end", oja_norm[-1], 1.0, atol=0.02),
        Row.close("Oja: |cos(w, v₁)|", oja_cos[-1], 1.0, atol=0.01),
    ]
    for i in range(COMPONENTS):
        rows.append(
            Row.close(
                f"Sanger: row {i + 1}: |cos(w_{i + 1}, v_{i + 1})|",
                sanger_cos[-1, i],
                1.0,
                atol=0.02,
            )
        )
        rows.append(
            Row.close(
                f"Sanger: row {i + 1}: ‖w_{i + 1}‖", np.linalg.norm(sanger[i]), 1.0, atol=0.05
            )
        )
    gram = sanger @ sanger.T
    rows.append(
        Row.close(
            "Sanger: largest |w_iᵀw_j|, i ≠ j (rows orthogonal)",
            np.max(np.abs(gram - np.diag(np.diag(gram)))),
            0.0,
            atol=0.1,
        )
    )
    variance = np.array([np.var(data @ (row / np.linalg.norm(row))) for row in sanger])
    rows.append(
        Row(
            "Sanger: variance along rows, in order",
            ", ".join(f"{v:.3g}" for v in variance),
            ", ".join(f"{v:.3g}" for v in values[:COMPONENTS]),
            bool(
                np.all(np.diff(variance) < 0)
                and np.allclose(variance, values[:COMPONENTS], rtol=0.05)
            ),
        )
    )
    curves = {
        "‖w‖": {"Hebb": (steps[: len(hebb_norm)], hebb_norm), "Oja": (steps, oja_norm)},
        "|cos| with the eigenvectors": {
            "Oja vs v₁": (steps, oja_cos),
            **{
                f"Sanger row {i + 1} vs v_{i + 1}": (steps, sanger_cos[:, i])
                for i in range(COMPONENTS)
            },
        },
    }
    return Result("hebb_oja_sanger", rows, curves)
