"""The command line as a new user meets it: tables, JSON, files, and one-line errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from zoo.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_documents_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for command in ("app", "plugins", "run", "render", "check", "experiment", "lab"):
        assert command in out
    for command in ("run", "render", "plugins", "check", "experiment", "lab", "app"):
        parser = build_parser()
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        assert "usage: zoo " + command in capsys.readouterr().out


def test_plugins_lists_every_kind_with_its_source_and_failures(capsys, tmp_path, monkeypatch):
    (tmp_path / "broken.py").write_text("raise ImportError('missing dependency: quantum')\n")
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(tmp_path))
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    for heading in ("Optimizers", "Activations", "Models", "Schedules", "Failures (1)"):
        assert heading in out
    assert "adam" in out and "optimizer-zoo 0.1.0" in out
    assert "broken" in out and "missing dependency: quantum" in out
    code, out, _ = run(capsys, "plugins", "--json")
    listing = json.loads(out)
    adam = next(o for o in listing["optimizers"] if o["name"] == "adam")
    assert adam["plugin"] == "adaptive" and adam["needs"] == ["grad"]
    assert {p["name"] for p in adam["params"]} >= {"lr", "beta1", "beta2", "eps"}
    assert listing["failures"][0]["plugin"] == "broken"


def test_run_prints_a_table_per_run(capsys):
    code, out, _ = run(
        capsys, "run", "rosenbrock", "adam:lr=0.02,beta1=0.8", "sgd:lr=0.001", "--steps", "300"
    )
    assert code == 0
    header = next(line for line in out.splitlines() if line.startswith("run"))
    for column in ("final loss", "to minimum", "steps", "status", "evaluations"):
        assert column in header
    adam = next(line for line in out.splitlines() if line.startswith("adam:lr=0.02"))
    assert "300" in adam and "grad=300" in adam


def test_run_json_and_files_hold_the_trajectories(capsys, tmp_path):
    out_csv = tmp_path / "paths.csv"
    code, out, _ = run(
        capsys,
        "run",
        "quadratic",
        "sgd:lr=0.05",
        "--set",
        "lambda2=20",
        "--start",
        "1,1",
        "--steps",
        "10",
        "--out",
        str(out_csv),
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["settings"] == {"lambda2": "20"}
    assert result["runs"][0]["x"][0] == [1.0, 1.0] and len(result["runs"][0]["x"]) == 11
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11 and rows[0]["x0"] == "1.0"
    np.testing.assert_allclose(float(rows[-1]["loss"]), result["runs"][0]["loss"][-1])
    out_json = tmp_path / "paths.json"
    assert run(capsys, "run", "quadratic", "adam", "--steps", "5", "--out", str(out_json))[0] == 0
    assert json.loads(out_json.read_text())["runs"][0]["status"] == "running"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "rosenbrok", "adam"], "unknown model 'rosenbrok' (valid: "),
        (["run", "rosenbrock", "adamm"], "unknown optimizer 'adamm' (valid: "),
        (["run", "rosenbrock", "adam:lr=fast"], "optimizer adam: lr: expected a number"),
        (["run", "rosenbrock", "adam:lr=100"], "lr: 100.0 is above the maximum"),
        (["run", "rosenbrock", "adam:speed=1"], "unknown setting speed (valid: amsgrad"),
        (["run", "rosenbrock", "adam:lr"], "expected key=value, got 'lr'"),
        (["run", "rosenbrock", "adam", "--set", "b=-5"], "b: -5.0 is below the minimum"),
        (["run", "rosenbrock", "adam", "--start", "1,x"], "--start: expected numbers"),
        (["run", "rosenbrock", "adam", "--schedule", "nope"], "unknown schedule 'nope'"),
        (["run", "rosenbrock", "adam", "--out", "a.txt"], "expected a .csv or .json file"),
        (["check", "no_such_plugin_anywhere"], "no module or loaded plugin named"),
    ],
)
def test_bad_input_gets_one_line_and_exit_status_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("zoo: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_check_reports_each_record(capsys, tmp_path):
    code, out, _ = run(capsys, "check", "first_order")
    assert code == 0 and "PASS  optimizer sgd" in out
    plugin = tmp_path / "sloppy.py"
    plugin.write_text(
        "import numpy as np\n"
        "from zoo import OptimizerSpec, Param, hookimpl\n"
        "def init(problem, x, hyper):\n    return {}\n"
        "def step(problem, x, state, hyper):\n"
        "    x -= hyper['lr'] * problem.grad(x)\n    return x, state\n"
        "@hookimpl\ndef zoo_optimizers():\n"
        "    return [OptimizerSpec('in_place', init, step, params=(Param('lr', 0.1),))]\n"
    )
    code, out, _ = run(capsys, "check", str(plugin))
    assert code == 1
    assert "FAIL  optimizer in_place: in_place: step mutated its input x" in out
