"""The zoo's optimizers against trajectories torch.optim produced (stored as fixtures).

``tests/fixtures/make_torch_references.py`` regenerates the fixtures with torch installed;
this suite never imports torch.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoo import Problem, RunConfig, RunSet, simulate

REFERENCES = json.loads((Path(__file__).parent / "fixtures" / "torch_references.json").read_text())
SETUP = REFERENCES["quadratic"]


class FixtureQuadratic(Problem):
    """E(x) = ½(x − c)ᵀA(x − c), with A and c as the fixture script used them."""

    def __init__(self, matrix, centre, start):
        self.matrix = np.asarray(matrix, dtype=float)
        self.centre = np.asarray(centre, dtype=float)
        self._start = np.asarray(start, dtype=float)

    @property
    def start(self):
        return self._start

    def loss(self, x):
        d = x - self.centre
        return 0.5 * np.einsum("bi,ij,bj->b", d, self.matrix, d)

    def grad(self, x):
        return (x - self.centre) @ self.matrix


def fixture_quadratic() -> FixtureQuadratic:
    return FixtureQuadratic(SETUP["matrix"], SETUP["centre"], SETUP["start"])


CASES = REFERENCES["optimizers"]


@pytest.mark.parametrize("case", CASES, ids=[case["torch"] for case in CASES])
def test_matches_torch_after_50_steps(case, registry):
    trajectory = simulate(
        fixture_quadratic(),
        case["optimizer"],
        steps=SETUP["steps"],
        hyper=case["hyper"],
        registry=registry,
        gtol=0,
    )
    expected = np.asarray(case["x"])
    assert trajectory.status.state == "running"
    assert trajectory.x.shape == expected.shape
    assert np.max(np.abs(trajectory.x - expected)) <= 1e-12
    # The run must actually go somewhere, or agreement would prove nothing.
    assert np.linalg.norm(expected[-1] - expected[0]) > 0.1


def test_every_torch_named_optimizer_has_a_reference(registry):
    torch_named = {
        "sgd",
        "asgd",
        "adagrad",
        "rmsprop",
        "adadelta",
        "adam",
        "adamw",
        "nadam",
        "radam",
        "adamax",
        "rprop",
        "lbfgs",
    }
    covered = {case["optimizer"] for case in CASES} | {"lbfgs"}
    assert torch_named <= covered
    assert torch_named <= set(registry.optimizers)


def test_a_batch_of_runs_matches_torch_row_by_row(registry):
    """Float hyper-parameters are per-run columns: one batch sweeps the learning rate."""
    adam_cases = [c for c in CASES if c["optimizer"] == "adam" and set(c["hyper"]) == {"lr"}]
    sgd_cases = [c for c in CASES if c["optimizer"] == "sgd" and "nesterov" not in c["hyper"]]
    runs = RunSet(fixture_quadratic(), registry, gtol=0)
    ids = [(runs.add(RunConfig(c["optimizer"], c["hyper"])), c) for c in adam_cases + sgd_cases]
    assert len(runs.batches()) == 2
    runs.step(SETUP["steps"])
    for run_id, case in ids:
        x, _, _ = runs.history(run_id)
        assert np.max(np.abs(x - np.asarray(case["x"]))) <= 1e-12


def test_nesterov_without_momentum_is_refused(registry):
    trajectory = simulate(
        fixture_quadratic(), "sgd", steps=3, hyper={"nesterov": True}, registry=registry
    )
    assert trajectory.status.state == "failed"
    assert "Nesterov momentum requires a momentum > 0" in trajectory.status.message
