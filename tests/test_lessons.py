"""The step-size lessons: each is a valid scene, runs, and shows what its text says."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo import theory
from zoo.specs import resolve_values
from zoo.workspace import LESSONS

#: Lessons of the step-size lab (experiments keep theirs under ``experiment_*``).
LESSON_PATHS = sorted(p for p in LESSONS.glob("[0-9][0-9]_*.json"))
PANELS = {"ruler", "eigen", "oned", "conditioning", "momentum", "schedules", "saddles"}


def missing_names(data: dict, registry) -> list[str]:
    """Registry names the scene uses that no plugin provides (yet)."""
    missing = []
    if data["model"]["name"] not in registry.models:
        missing.append(f"model {data['model']['name']}")
    for run in data["runs"]:
        if run["optimizer"] not in registry.optimizers:
            missing.append(f"optimizer {run['optimizer']}")
        if run.get("schedule") and run["schedule"] not in registry.schedules:
            missing.append(f"schedule {run['schedule']}")
    return missing


def validate_scene(data: dict, registry) -> None:
    """The scene format of the project, checked field by field."""
    assert data["format"] == "optimizer-zoo-scene"
    assert data["version"] == 1
    model = registry.models[data["model"]["name"]]
    resolve_values(
        model.params,
        data["model"].get("settings", {}),
        where="model",
        activations=list(registry.activations),
    )
    assert isinstance(data.get("seed", 0), int)
    if "view" in data:
        (x0, x1), (y0, y1) = data["view"]
        assert x0 < x1 and y0 < y1
    assert data["runs"]
    for run in data["runs"]:
        spec = registry.optimizers[run["optimizer"]]
        resolve_values(
            spec.params, run.get("hyper", {}), where="run", activations=list(registry.activations)
        )
        if run.get("schedule"):
            schedule = registry.schedules[run["schedule"]]
            resolve_values(schedule.params, run.get("schedule_params", {}), where="schedule")
        assert len(run["start"]) == 2 and all(math.isfinite(v) for v in run["start"])
        assert run["color"].startswith("#") and isinstance(run["label"], str)
    playback = data.get("playback", {})
    assert playback.get("steps_per_frame", 1) >= 1 and playback.get("step_limit", 1) >= 1


def load(path: Path, registry) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    missing = missing_names(data, registry)
    assert not missing, f"{path.name} needs {', '.join(missing)}: built-ins not registered"
    from zoo.session import load_scene

    scene = load_scene(path, registry)
    assert scene.model == data["model"]["name"] and len(scene.runs) == len(data["runs"])
    validate_scene(data, registry)
    return data


def run_lesson(data: dict, registry, steps: int):
    problem = zoo.build_problem(
        data["model"]["name"],
        data["model"].get("settings"),
        seed=data.get("seed", 0),
        registry=registry,
    )
    runs = zoo.RunSet(problem, registry)
    ids = [
        runs.add(
            zoo.RunConfig(
                run["optimizer"],
                run.get("hyper", {}),
                run.get("schedule"),
                run.get("schedule_params", {}),
                tuple(run["start"]),
                run.get("seed", 0),
                run.get("batch_size", 0),
                run.get("label", ""),
                run.get("color", ""),
            )
        )
        for run in data["runs"]
    ]
    runs.step(steps)
    return problem, runs, ids


def test_there_are_nine_lessons_with_short_texts():
    assert len(LESSON_PATHS) == 9
    for path in LESSON_PATHS:
        lesson = json.loads(path.read_text(encoding="utf-8"))["lesson"]
        assert lesson["title"] and 100 < len(lesson["text"]) < 1500, path.name
        assert "Try" in lesson["text"], path.name
        assert lesson["panels"] and set(lesson["panels"]) <= PANELS, path.name


@pytest.mark.parametrize("path", LESSON_PATHS, ids=lambda p: p.stem)
def test_every_lesson_loads_and_runs(path, registry):
    data = load(path, registry)
    _, runs, ids = run_lesson(data, registry, 100)
    for run_id in ids:
        assert runs.status(run_id).state != "failed", runs.status(run_id)


def _luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour (0–255 channels)."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb / 255]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_lesson_and_scene_run_stands_out_where_runs_arrive():
    # The landscape's colour near a minimum (the second stop of its map, 32, 62, 112):
    # every run's colour has a contrast of at least 3 : 1 against it.
    ground = _luminance(np.array([32, 62, 112]))
    for path in sorted(LESSONS.glob("*.json")):
        for run in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            colour = run.get("color")
            if colour:
                rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
                contrast = (_luminance(rgb) + 0.05) / (ground + 0.05)
                assert contrast >= 3, (path.name, colour, round(contrast, 2))


def _lesson(stem: str, registry) -> dict:
    return load(LESSONS / f"{stem}.json", registry)


def test_four_regimes_lesson_shows_each_regime(registry):
    data = _lesson("01_four_regimes", registry)
    problem, runs, ids = run_lesson(data, registry, 40)
    lam = theory.local_quadratic(problem, [0.0, 0.0]).eigenvalues
    seen = set()
    for run_id, run in zip(ids, data["runs"], strict=True):
        seen.add(theory.gd_regimes(lam, run["hyper"]["lr"]).overall)
        x = runs.history(run_id)[0]
        distance = np.linalg.norm(x, axis=1)
        factor = abs(1 - run["hyper"]["lr"] * lam[0])
        assert distance[1] == pytest.approx(factor * distance[0], rel=1e-12)
    assert seen == {
        theory.MONOTONE,
        theory.EXACT,
        theory.OSCILLATING,
        theory.CONSTANT,
        theory.DIVERGENT,
    }


def test_best_fixed_step_lesson_wins(registry):
    data = _lesson("03_best_fixed_step", registry)
    _, runs, ids = run_lesson(data, registry, 60)
    losses = [runs.history(run_id)[1][-1] for run_id in ids]
    labels = [run["label"] for run in data["runs"]]
    assert labels[int(np.argmin(losses))] == "η = 2/(λ_min+λ_max)"


def test_momentum_lesson_uses_the_optimal_parameters(registry):
    data = _lesson("04_momentum", registry)
    rates = theory.optimal_rates(1.0, 100.0)
    hb, nesterov = data["runs"][1]["hyper"], data["runs"][2]["hyper"]
    assert hb["lr"] == pytest.approx(rates["heavy_ball"]["lr"], rel=1e-5)
    assert hb["momentum"] == pytest.approx(rates["heavy_ball"]["momentum"], rel=1e-5)
    assert nesterov["momentum"] == pytest.approx(rates["nesterov"]["momentum"], rel=1e-5)
    _, runs, ids = run_lesson(data, registry, 150)
    losses = [runs.history(run_id)[1][-1] for run_id in ids]
    assert losses[1] < losses[2] < losses[0]


def test_schedules_lesson_stalls_at_the_sine_value(registry):
    data = _lesson("06_schedules_robbins_monro", registry)
    _, runs, ids = run_lesson(data, registry, 2000)
    ratios = []
    for run_id in ids[:2]:
        x = runs.history(run_id)[0]
        ratios.append(np.linalg.norm(x[-1]) / np.linalg.norm(x[0]))
    assert ratios[0] == pytest.approx(theory.stall_factor(0.5), rel=1e-3)
    assert ratios[1] < 0.05


def test_saddle_lesson_newton_lands_on_the_saddle_and_gd_escapes(registry):
    data = _lesson("07_saddle_points", registry)
    _, runs, ids = run_lesson(data, registry, 200)
    gd, newton = ids[0], ids[1]
    assert np.linalg.norm(runs.position(newton)) < 1e-9
    assert abs(runs.position(gd)[0]) > 1.0


def test_saddle_lesson_marks_the_runs_that_stop_on_the_saddle_as_saddles(registry):
    data = _lesson("07_saddle_points", registry)
    _, runs, ids = run_lesson(data, registry, 400)
    by_label = {runs.configs[run_id].label: runs.status(run_id) for run_id in ids}
    for label in ("Newton", "gradient descent on the axis"):
        status = by_label[label]
        assert status.state == "converged" and status.end.kind == "saddle", label
        assert status.end.min_eigenvalue == pytest.approx(-1.0)
        assert str(status).startswith("saddle at step")
    assert by_label["gradient descent"].state == "running"
    assert "<i>saddle</i>" in data["lesson"]["text"] and "status column" in data["lesson"]["text"]
