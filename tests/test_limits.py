"""Step counts, grids and frames beyond ``zoo.limits`` are refused before any work, with
the numbers, as usage errors (exit status 2); scenes are refused with the field named."""

from __future__ import annotations

import json

import pytest

from zoo import limits
from zoo.cli import EXIT_USAGE, main
from zoo.session import FORMAT, VERSION, SessionError, load_scene


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "quadratic", "sgd", "--steps", "9999999999"], "9,999,999,999"),
        (["run", "mlp", "sgd", "adam", "--steps", "5000000"], "keep a history of 2.8 GB"),
        (
            [
                "map",
                "himmelblau",
                "newton",
                "--over",
                "start",
                "--grid",
                "1024",
                "--steps",
                "99999",
            ],
            "1024 × 1024 × 99,999 steps",
        ),
        (
            [
                "map",
                "rosenbrock",
                "sgd",
                "--over",
                "lr,momentum",
                "--grid",
                "64",
                "--starts",
                "4096",
                "--steps",
                "1000",
            ],
            "4,096 starts",
        ),
        (
            ["tune", "rosenbrock", "sgd", "adam", "--values", "4096", "--starts", "4096"],
            "--values 4,096 × --starts 4,096",
        ),
    ],
)
def test_too_much_work_is_refused_with_the_numbers(capsys, argv, expected):
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: --") and expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_history_within_the_bound_is_allowed():
    assert limits.history_bytes(2, 9_000_000, 2) < limits.MOST_HISTORY_BYTES
    limits.check_runs(2, 9_000_000, 2, full_history=True)
    with pytest.raises(limits.LimitError, match="history"):
        limits.check_runs(2, 9_000_000, 200, full_history=True)
    limits.check_runs(2, 9_000_000, 200, full_history=False)  # thinned: bounded memory


def _scene(**parts):
    data = {"format": FORMAT, "version": VERSION, "model": {"name": "mlp", "settings": {}}}
    data.update(parts)
    return json.dumps(data)


def test_a_scene_keeping_too_big_a_history_is_refused_naming_the_field(registry):
    runs = [{"optimizer": "sgd"}, {"optimizer": "adam"}]
    playback = {"step_limit": 10_000_000, "full_history": 1}
    scene = load_scene(_scene(runs=runs, playback=playback), registry)
    with pytest.raises(SessionError, match=r"^playback.step_limit 10,000,000: .* history of"):
        scene.build(registry)
    thinned = load_scene(_scene(runs=runs, playback={"step_limit": 10_000_000}), registry)
    thinned.build(registry)


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"playback": {"step_limit": 10_000_001}}, "playback.step_limit"),
        (
            {"maps": {"kind": "basin", "optimizer": "sgd", "grid": 512, "steps": 100_000}},
            "maps.grid 512 × 512 runs × maps.steps 100,000",
        ),
    ],
)
def test_a_scene_asking_for_too_many_steps_is_refused_naming_the_field(registry, part, field):
    with pytest.raises(SessionError, match="^scene: " + field):
        load_scene(_scene(**part), registry)


def test_the_app_refuses_a_step_limit_whose_full_history_would_not_fit(registry):
    from zoo.workspace import Workspace

    workspace = Workspace(registry)
    workspace.set_model("mlp", {})
    workspace.set_full_history(True)
    workspace.set_step_limit(5000)
    with pytest.raises(limits.LimitError, match=r"^step limit 10,000,000: .* history of"):
        workspace.set_step_limit(10_000_000)
    assert workspace.step_limit == 5000
    workspace.set_full_history(False)
    workspace.set_step_limit(10_000_000)  # a thinned history stays small
    assert workspace.step_limit == 10_000_000


@pytest.mark.parametrize("command", ["run", "render"])
def test_a_refused_formula_is_a_usage_error(capsys, tmp_path, command):
    argv = [command, "expression", "sgd", "--set", "formula=sqrt(-1) + x"]
    if command == "render":
        argv += ["--out", str(tmp_path / "out.png")]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: model expression: formula: the formula has no real value")
