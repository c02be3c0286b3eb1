"""How runs keep their paths: a thinned history within its budget, every step when
asked, and the step limit counted per run."""

from __future__ import annotations

import csv
import json
import tracemalloc

import numpy as np
import pytest

from zoo import RunConfig, RunSet, build_problem
from zoo.engine import EngineError
from zoo.trajectories import write_trajectories
from zoo.workspace import Workspace, lesson_path


@pytest.fixture
def problem(registry):
    return build_problem("quadratic", {"lambda1": 1.0, "lambda2": 10.0}, registry=registry)


def creeping(count: int = 1) -> list[RunConfig]:
    """Runs that keep going for thousands of steps without converging or diverging."""
    return [RunConfig("sgd", {"lr": 1e-5}, start=(1.5 + 0.01 * k, 1.0)) for k in range(count)]


def test_a_thinned_history_keeps_start_end_and_even_spacing_within_its_budget(problem, registry):
    runs = RunSet(problem, registry, history="thinned", history_points=64)
    (run_id,) = runs.add_many(creeping())
    runs.step(10_000)
    history = runs.run(run_id).history
    assert history.thinned and len(history.x) <= 64
    assert history.kept[0] == 0 and history.kept[-1] == 10_000
    gaps = np.diff(history.kept)
    assert set(gaps[:-1].tolist()) == {gaps[0]}  # evenly spread, the end point aside
    full = RunSet(problem, registry, history="full")
    full.add_many(creeping())
    full.step(10_000)
    x, loss, _ = full.history(next(iter(full.configs)))
    np.testing.assert_array_equal(history.x, x[history.kept])  # the same points as kept
    np.testing.assert_array_equal(history.loss, loss[history.kept])


def test_every_step_is_kept_when_asked(problem, registry):
    runs = RunSet(problem, registry, history="full")
    (run_id,) = runs.add_many(creeping())
    runs.step(5000)
    history = runs.run(run_id).history
    assert not history.thinned
    np.testing.assert_array_equal(history.kept, np.arange(5001))


def test_history_memory_stops_growing_at_its_budget(problem, registry):
    runs = RunSet(problem, registry, history="thinned", history_points=256)
    runs.add_many(creeping(64))
    runs.step(600)  # past the budget: the buffers are at their final size
    tracemalloc.start()
    try:
        runs.step(600)
        at_first, _ = tracemalloc.get_traced_memory()
        runs.step(6000)
        later, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    budget = 64 * 256 * (2 + 2) * 8  # runs × points × (x0, x1, loss, |g|) × 8 bytes
    assert later - at_first < 0.05 * budget, (at_first, later)


def test_a_stopped_run_stops_growing(problem, registry):
    runs = RunSet(problem, registry, history="full")
    converging, creeper = runs.add_many(
        [RunConfig("sgd", {"lr": 0.09}, start=(1.0, 1.0)), *creeping()]
    )
    runs.step(3000)
    assert runs.status(converging).state == "converged"
    stopped_at = runs.status(converging).step
    assert len(runs.run(converging).history.x) == stopped_at + 1
    assert len(runs.run(creeper).history.x) == 3001


def test_history_settings_are_checked(problem, registry):
    with pytest.raises(EngineError, match="history must be one of"):
        RunSet(problem, registry, history="some")
    with pytest.raises(EngineError, match="at least 4"):
        RunSet(problem, registry, history_points=2)


def test_exported_trajectories_name_each_kept_step_and_say_they_are_thinned(
    problem, registry, tmp_path
):
    runs = RunSet(problem, registry, history_points=16)
    (run_id,) = runs.add_many(creeping())
    runs.step(1000)
    trajectory = runs.trajectory(run_id)
    write_trajectories(tmp_path / "t.csv", [("creep", "sgd", trajectory)])
    write_trajectories(tmp_path / "t.json", [("creep", "sgd", trajectory)])
    with open(tmp_path / "t.csv", newline="") as handle:
        steps = [int(row["step"]) for row in csv.DictReader(handle)]
    assert steps == trajectory.kept.tolist() and steps[-1] == 1000 and len(steps) <= 16
    document = json.loads((tmp_path / "t.json").read_text())
    assert document["thinned"] == ["creep"]
    assert [row["step"] for row in document["rows"]] == steps


def test_the_step_limit_counts_each_runs_own_steps(problem, registry):
    runs = RunSet(problem, registry)
    first, second = runs.add_many(creeping(2))
    runs.step(40, limit=60)
    runs.update(first, runs.configs[first])  # restarted, as an edit does
    runs.step(100, limit=60)
    assert runs.steps_taken(first) == 60 and runs.steps_taken(second) == 60


def test_editing_one_run_in_a_lesson_never_moves_a_group_mate_past_the_limit(registry):
    workspace = Workspace(registry)
    workspace.open_lesson(lesson_path("01_four_regimes"))
    limit = workspace.step_limit
    assert limit < 1000
    runs = workspace.runset
    ids = list(runs.configs)
    same_batch = [r for r in ids if runs.configs[r].optimizer == runs.configs[ids[0]].optimizer]
    assert len(same_batch) >= 2, "the lesson's runs share one optimizer"
    runs.step(limit, limit=limit)
    lr = runs.configs[same_batch[0]].hyper["lr"]
    workspace.set_hyper(same_batch[0], lr=0.5 * lr)  # restarts that run alone
    for _ in range(2 * limit):
        runs.step(1, limit=workspace.step_limit)
    assert all(runs.steps_taken(r) <= limit for r in ids)
    assert runs.steps_taken(same_batch[0]) == limit or runs.status(same_batch[0]).state != "running"
