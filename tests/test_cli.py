"""The command line as a new user meets it: tables, JSON, files, and one-line errors."""

from __future__ import annotations

import ast
import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.cli import _choices, build_parser, main, plugin_commands
from zoo.session import load_scene


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
    assert result["scene"]["model"]["settings"]["lambda2"] == 20.0  # typed, defaults filled
    assert result["scene"]["model"]["settings"]["lambda1"] == 1.0
    first = result["results"][0]
    assert first["x"][0] == [1.0, 1.0] and len(first["x"]) == 11
    with out_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11 and rows[0]["x0"] == "1.0" and rows[0]["status"] == "running"
    np.testing.assert_allclose(float(rows[-1]["loss"]), first["loss"][-1])
    out_json = tmp_path / "paths.json"
    assert run(capsys, "run", "quadratic", "adam", "--steps", "5", "--out", str(out_json))[0] == 0
    written = json.loads(out_json.read_text())
    assert written["columns"] == list(rows[0])  # one writer: the same columns in both formats
    assert written["rows"][-1]["status"] == "running" and written["rows"][-1]["step"] == 5


def test_run_json_carries_every_effective_value_with_its_type(capsys):
    code, out, _ = run(
        capsys,
        "run",
        "rosenbrock",
        "adam:amsgrad=true",
        "--schedule",
        "step:step_size=2",
        "--seed",
        "7",
        "--steps",
        "3",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    scene_run = result["scene"]["runs"][0]
    assert scene_run["hyper"]["amsgrad"] is True and isinstance(scene_run["hyper"]["lr"], float)
    assert {"beta1", "beta2", "eps", "weight_decay"} <= set(scene_run["hyper"])
    assert scene_run["schedule"] == "step"
    assert scene_run["schedule_params"] == {"step_size": 2, "gamma": 0.1}
    assert scene_run["seed"] == 7 and result["scene"]["seed"] == 7
    first = result["results"][0]
    assert first["start"] == first["x"][0] and first["evals"]["grad"] == 3
    assert first["status"] == "running" and first["steps"] == 3


def test_run_scene_out_replays_bit_for_bit(capsys, tmp_path):
    scene_file = tmp_path / "run.json"
    code, out, _ = run(
        capsys,
        "run",
        "rosenbrock",
        "adam:lr=0.05",
        "sgd:lr=0.002",
        "momentum",
        "--start",
        "-1.2,1",
        "--steps",
        "150",
        "--json",
        "--scene-out",
        str(scene_file),
    )
    assert code == 0
    ends = [r["x"][-1] for r in json.loads(out)["results"]]
    registry = zoo.load_registry()
    scene = load_scene(scene_file, registry)
    assert scene.playback["step_limit"] == 150
    _, runset, ids = scene.build(registry)  # what the app and `zoo render` do with a scene
    runset.step(scene.playback["step_limit"])
    assert [runset.trajectory(i).x[-1].tolist() for i in ids] == ends


def test_the_steps_column_is_the_step_in_the_status(capsys):
    code, out, _ = run(
        capsys, "run", "quadratic", "sgd:lr=0.05", "--set", "lambda2=100", "--start", "-1.5,1"
    )
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("sgd"))
    assert "diverged at step 20" in row and row.split()[3] == "20"


def test_negative_numbers_work_in_every_option(capsys, tmp_path):
    code, out, _ = run(
        capsys,
        "run",
        "rosenbrock",
        "adam:lr=0.01",
        "--start",
        "-1.2,1",
        "--steps",
        "2",
        "--set",
        "b=100",
        "--json",
    )
    assert code == 0 and json.loads(out)["results"][0]["x"][0] == [-1.2, 1.0]
    code, out, _ = run(capsys, "run", "quadratic", "sgd", "--start", "-.5,-2", "--steps", "1")
    assert code == 0


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("zoo 0.")


NOWHERE = "/no/such/folder"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "rosenbrok", "adam"], "unknown model 'rosenbrok' (did you mean 'rosenbrock'?)"),
        (["run", "rosenbrock", "adamm"], "unknown optimizer 'adamm' (did you mean 'adam'?)"),
        (["run", "rosenbrock", "adam:lr=fast"], "optimizer adam: lr: expected a number"),
        (["run", "rosenbrock", "adam:lr=100"], "lr: 100.0 is above the maximum"),
        (["run", "rosenbrock", "adam:speed=1"], "unknown setting speed (valid: amsgrad"),
        (["run", "rosenbrock", "adam:lr"], "expected key=value, got 'lr'"),
        (["run", "rosenbrock", "adam:lr=0.1,"], "empty setting in 'adam:lr=0.1,'"),
        (["run", "rosenbrock", "adam", "--set", "b=-5"], "b: -5.0 is below the minimum"),
        (["run", "rosenbrock", "adam", "--start", "1,x"], "--start: expected numbers"),
        (["run", "rosenbrock", "adam", "--schedule", "nope"], "unknown schedule 'nope'"),
        (["run", "rosenbrock", "adam", "--out", "a.txt"], "expected a .csv, .json file"),
        (["run", "rosenbrock", "adam", "--out", f"{NOWHERE}/x.csv"], "does not exist"),
        (["run", "rosenbrock", "adam", "--out", f"{NOWHERE}/x.json"], "does not exist"),
        (["run", "rosenbrock", "adam", "--scene-out", f"{NOWHERE}/s.json"], "does not exist"),
        (
            ["run", "quadratic_1d", "sgd", "--start", "1,2"],
            "has 2 coordinates; the model has 1 weight",
        ),
        (["run", "mlp", "adam", "--start", "0.1,0.2,0.3"], "or give 2 view coordinates"),
        (["run", "quadratic", "sgd", "--seed", "-1"], "--seed must be a whole number from 0"),
        (["run", "quadratic", "sgd", "--seed", str(2**64)], "--seed must be a whole number"),
        (["run", "quadratic", "sgd", "--steps", "-1"], "--steps must be 0 or more"),
        (["run", "08_rosenbrock", "adam"], "did you mean the lesson '08_rosenbrock'?"),
        (["check", "no_such_plugin_anywhere"], "no module or loaded plugin named"),
        (["check", "/nonexistent.py"], "no such file: /nonexistent.py"),
        (["experiment", "linear_neuro"], "did you mean 'linear_neuron'?"),
        (["experiment", "linear_neuron", "--seed", "-1"], "--seed must be a whole number"),
        (["experiment"], "name an experiment"),
        (["render", "rosenbrock", "adam", "--out", f"{NOWHERE}/x.gif"], "does not exist"),
        (["render", "rosenbrock", "adam", "--out", f"{NOWHERE}/x.mp4"], "does not exist"),
        (["render", "rosenbrock", "adam", "--out", f"{NOWHERE}/x.png"], "does not exist"),
        (["render", "rosenbrock", "adam", "--out", "x.bmp"], "expected a .png, .gif, .mp4"),
        (["render", "08_rosenbrock", "--out", "x.png"], "did you mean the lesson"),
        (["render", "quadratic_1d", "sgd", "--start", "1,2", "--out", "x.png"], "1 weight"),
        (["render", "rosenbrock", "--out", "x.png"], "name at least one optimizer"),
        (["lab", "nope"], "no lesson 'nope'"),
        (["lab", "08_rosenbrok"], "did you mean '08_rosenbrock'?"),
        (["app", f"{NOWHERE}/scene.json"], "cannot read"),
    ],
)
def test_bad_input_gets_one_line_and_exit_status_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("zoo: error: ") and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_unexpected_error_is_one_line_unless_a_traceback_is_asked_for(capsys, monkeypatch):
    def broken(commands):
        parser = commands.add_parser("broken")
        parser.set_defaults(handler=lambda args: 1 / 0)

    monkeypatch.setattr("zoo.cli.plugin_commands", lambda: [("test", broken, "")])
    code, _, err = run(capsys, "broken")
    assert code == 1 and err.count("\n") == 1 and "ZeroDivisionError" in err
    assert "Traceback" not in err and "--traceback" in err
    code, _, err = run(capsys, "--traceback", "broken")
    assert code == 1 and "Traceback (most recent call last)" in err
    monkeypatch.setenv("ZOO_DEBUG", "1")
    assert "Traceback" in run(capsys, "broken")[2]


def test_other_packages_add_commands_and_a_broken_one_is_one_warning(capsys, monkeypatch):
    def hello(commands):
        parser = commands.add_parser("hello", help="say hello")
        parser.add_argument("--to", default="zoo")
        parser.set_defaults(handler=lambda args: print(f"hello {args.to}") or 0)

    monkeypatch.setattr(
        "zoo.cli.plugin_commands",
        lambda: [("greeter", hello, ""), ("broken", None, "ImportError: no module x")],
    )
    code, out, err = run(capsys, "hello", "--to", "you")
    assert code == 0 and out == "hello you\n"
    assert err == "zoo: warning: commands of 'broken' not added: ImportError: no module x\n"


def test_the_app_adds_its_commands_through_the_entry_point_group():
    found = {name: register for name, register, _ in plugin_commands()}
    from zoo_gui.commands import register

    assert "app" in found, "entry points not installed: run `pip install -e .` again"
    assert found["app"] is register
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert {"app", "lab", "render", "run", "plugins", "check", "experiment"} <= commands


def test_the_command_line_imports_nothing_from_the_app():
    source = (Path(zoo.__file__).parent / "cli.py").read_text()
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported and not any(name.split(".")[0] == "zoo_gui" for name in imported)


def test_every_help_has_examples(capsys):
    parser = build_parser()
    for command in parser._subparsers._group_actions[0].choices:
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        assert "examples:\n  zoo " + command in capsys.readouterr().out


def test_lessons_and_experiments_can_be_listed(capsys):
    code, out, _ = run(capsys, "lab", "--list")
    assert code == 0 and "08_rosenbrock" in out.splitlines()
    code, out, _ = run(capsys, "experiment", "--list", "--json")
    listing = json.loads(out)
    assert code == 0 and {"name", "summary", "lesson"} <= set(listing[0])
    assert "perturbation" in {item["name"] for item in listing}


def _zoo(*argv: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoo", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        **kwargs,
    )


def test_without_a_display_the_app_says_what_to_do():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    for argv in ([], ["lab"], ["app"]):
        done = _zoo(*argv, env=env)
        assert done.returncode == 2, done.stderr
        assert done.stderr == (
            "zoo: error: no display: use `zoo render`, or set QT_QPA_PLATFORM=offscreen\n"
        )
    done = _zoo("lab", "nope", env=env)  # names are checked before the display
    assert done.returncode == 2 and "no lesson 'nope'" in done.stderr


def test_ctrl_c_exits_130_quietly():
    # "ready" is printed from inside the stepping loop, so the signal lands in the work.
    script = (
        # As from a terminal: a shell starting the tests in the background leaves SIGINT
        # ignored, and a child would inherit that.
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import sys, zoo.cli, zoo.engine\n"
        "step = zoo.engine.RunSet.step\n"
        "def announced(self, n):\n"
        "    print('ready', flush=True)\n"
        "    zoo.engine.RunSet.step = step\n"
        "    return step(self, n)\n"
        "zoo.engine.RunSet.step = announced\n"
        # A run that creeps on for ever: it neither converges nor stops moving.
        "sys.exit(zoo.cli.main(['run', 'quadratic', 'sgd:lr=1e-6', '--steps', '10000000']))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err


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
    assert "FAIL  optimizer in_place [inputs_kept]: step wrote into its input x" in out


def test_the_bash_completion_script_completes_commands(tmp_path):
    import shutil
    import subprocess

    from zoo.cli import main

    script = tmp_path / "zoo.bash"
    with open(script, "w") as handle, contextlib.redirect_stdout(handle):
        assert main(["completion", "bash"]) == 0
    bash = shutil.which("bash")
    assert bash is not None, "bash is part of every machine this project supports"
    subprocess.run([bash, "-n", str(script)], check=True)  # a valid script …
    complete = (
        f"source {script}; COMP_WORDS=(zoo {{word}}); COMP_CWORD=1; "
        "COMP_LINE='zoo {word}'; _shtab_zoo; echo ${{COMPREPLY[@]}}"
    )
    offered = subprocess.run(
        [bash, "-c", complete.format(word="r")], capture_output=True, text=True, check=True
    ).stdout.split()
    assert offered == ["run", "render"]  # … that knows the commands, the app's too


MARKING_PLUGIN = """\
import os
open(os.environ["ZOO_TEST_MARK"], "a").write("imported\\n")
"""


def test_commands_that_need_no_records_import_no_plugin(tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "marking.py").write_text(MARKING_PLUGIN)
    mark = tmp_path / "mark"
    env = dict(os.environ, ZOO_PLUGIN_PATH=str(folder), ZOO_TEST_MARK=str(mark))
    commands = [["--version"], ["--help"], ["completion", "bash"]]
    commands += [["new-plugin", "fresh", "--dir", str(tmp_path / "new")]]
    commands += [[name, "--help"] for name in _choices(build_parser())]
    for argv in commands:
        done = _zoo(*argv, env=env)
        assert done.returncode == 0, (argv, done.stderr)
        assert not mark.exists(), argv
    assert _zoo("plugins", env=env).returncode == 0
    assert mark.read_text() == "imported\n"  # the plugin does mark a command that loads it


def test_plugins_says_which_plugin_was_slow_to_import(capsys, tmp_path, monkeypatch):
    (tmp_path / "slowpoke.py").write_text("x = 1\n")
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(tmp_path))
    monkeypatch.setattr("zoo.registry.SLOW_IMPORT", 0.0)  # every import counts as slow
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    assert "Slow imports (" in out
    assert re.search(r"^  plugin slowpoke took \d+\.\d s to import$", out, re.M)
    code, out, _ = run(capsys, "plugins", "--json")
    slowpoke = next(p for p in json.loads(out)["plugins"] if p["name"] == "slowpoke")
    assert slowpoke["import_seconds"] >= 0.0
    monkeypatch.setattr("zoo.registry.SLOW_IMPORT", 1e9)
    code, out, _ = run(capsys, "plugins")
    assert "Slow imports" not in out


STUCK = """
import threading

from zoo import OptimizerSpec, Param, hookimpl

{import_block}


def step(problem, x, state, hyper):
    threading.Event().wait()  # blocked in C code: no interrupt reaches it
    return x, state


@hookimpl
def zoo_optimizers():
    return [OptimizerSpec("stuck_gd", lambda p, x, h: {{}}, step, (Param("lr", 0.1, 0.0, 1.0),))]
"""


@pytest.mark.parametrize(
    ("argv", "doing", "where"),
    [
        (("run", "quadratic", "sgd", "stuck_gd"), "optimizer 'stuck_gd' failed to step", "step"),
        (("check", "stuck"), "optimizer 'stuck_gd' failed to pass its check", "step"),
        (("run", "quadratic", "hanging_gd"), "plugin hanging failed to import", "<module>"),
    ],
)
def test_a_plugin_call_blocked_in_c_code_ends_the_command_with_status_3(
    tmp_path, argv, doing, where
):
    plugin = "hanging" if "hanging_gd" in argv else "stuck"
    text = STUCK.format(import_block="threading.Event().wait()" if plugin == "hanging" else "")
    (tmp_path / f"{plugin}.py").write_text(text.replace("stuck_gd", f"{plugin}_gd"))
    env = dict(os.environ, ZOO_PLUGIN_PATH=str(tmp_path), ZOO_PLUGIN_TIMEOUT="0.3")
    done = _zoo(*argv, env=env)
    assert done.returncode == 3, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"zoo: error: {doing}: did not return within 0.3 s, and at 0.9 s")
    assert f"blocked at {tmp_path / plugin}.py:" in line and f"({where}), in C code" in line
