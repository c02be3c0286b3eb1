"""Plugin code fails in every way it can; the zoo names it, contains it and goes on."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from zoo import (
    EngineError,
    ModelSpec,
    OptimizerSpec,
    Param,
    Problem,
    RunConfig,
    RunSet,
    RunStatus,
    ScheduleSpec,
    simulate,
)
from zoo.guard import Origin, PluginFault, call
from zoo.registry import Registry


def init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def gd(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}


LR = (Param("lr", 0.1, low=0.0, high=1.0),)


class Bowl(Problem):
    def __init__(self, grad_shape=None):
        self.start = np.array([1.0, -1.0])  # set in __init__, as the docs say
        self.minima = np.zeros((1, 2))
        self.grad_shape = grad_shape

    def loss(self, x):
        return (x**2).sum(axis=1)

    def grad(self, x):
        g = 2 * x
        return g[:, :1] if self.grad_shape == "column" else g


@pytest.fixture
def plugins(registry):
    """A registry holding the built-ins and records that fail in one way each."""
    extra = Registry()
    for kind in ("optimizer", "model", "schedule", "activation"):
        for record in registry.records(kind).values():
            extra.add(record, plugin="builtins")

    def quits(problem, x, state, hyper):
        sys.exit(5)

    def in_place(problem, x, state, hyper):
        x -= 0.1 * problem.grad(x)
        return x, state

    def complex_x(problem, x, state, hyper):
        return x + 1j, state

    def text_x(problem, x, state, hyper):
        return x.astype(str), state

    for name, step in [("quits", quits), ("in_place", in_place), ("complex_x", complex_x)]:
        extra.add(OptimizerSpec(name, init, step), plugin="faulty", source="faulty 1.0")
    extra.add(OptimizerSpec("text_x", init, text_x), plugin="faulty", source="faulty 1.0")
    extra.add(OptimizerSpec("plain_gd", init, gd, params=LR), plugin="faulty", source="faulty 1.0")

    def raising_build(settings, ctx):
        raise RuntimeError("no weights today")

    extra.add(ModelSpec("raising", raising_build), plugin="faulty", source="faulty 1.0")
    extra.add(ModelSpec("exits", lambda s, c: sys.exit(2)), plugin="faulty", source="faulty 1.0")
    extra.add(ModelSpec("doc_model", lambda s, c: Bowl()), plugin="faulty", source="faulty 1.0")

    def short_start(settings, ctx):
        problem = Bowl()
        problem.start = np.zeros(3)
        return problem

    def inverted(settings, ctx):
        problem = Bowl()
        problem.bounds = ((1.0, -1.0), (-1.0, 1.0))
        return problem

    extra.add(ModelSpec("short_start", short_start), plugin="faulty")
    extra.add(ModelSpec("inverted", inverted), plugin="faulty")
    extra.add(ScheduleSpec("negative", lambda step: -1.0 + 0 * step), plugin="faulty")
    extra.add(ScheduleSpec("divides", lambda step: step / 0 + 1 // 0), plugin="faulty")
    extra.add(ScheduleSpec("wordy", lambda step: "1"), plugin="faulty")
    return extra


def test_the_guard_turns_any_failure_but_ctrl_c_into_a_named_fault():
    origin = Origin("model", "x", "p", "dist 1.0")
    with pytest.raises(PluginFault) as caught:
        call(origin, "build", lambda: sys.exit(3))
    assert str(caught.value).startswith(
        "model 'x' from plugin p (dist 1.0) failed to build: called sys.exit(3)"
    )
    assert isinstance(caught.value.__cause__, SystemExit)

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        call(origin, "step", interrupted)


def test_a_model_written_as_the_docs_say_runs(plugins):
    trajectory = simulate("doc_model", "plain_gd", steps=5, registry=plugins)
    assert trajectory.status.state == "running"
    np.testing.assert_allclose(trajectory.x[0], [1.0, -1.0])


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            "raising",
            "model 'raising' from plugin faulty (faulty 1.0) failed to build: "
            "RuntimeError: no weights today",
        ),
        (
            "exits",
            "model 'exits' from plugin faulty (faulty 1.0) failed to build: called sys.exit(2)",
        ),
        ("short_start", "start has shape (3,), expected (2,) for dim 2"),
        ("inverted", "bounds must be finite with low < high"),
    ],
)
def test_a_failing_build_is_an_engine_error_naming_the_plugin(plugins, model, message):
    with pytest.raises(
        EngineError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as caught:
        simulate(model, "plain_gd", steps=1, registry=plugins)
    if model in ("raising", "exits"):
        assert isinstance(caught.value.__cause__, PluginFault)


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        ("quits", "called sys.exit(5)"),
        ("in_place", "step wrote into x in place; return a new array instead"),
        ("complex_x", "step returned x of dtype complex128, not real numbers"),
        ("text_x", "not real numbers"),
    ],
)
def test_faulty_steps_fail_their_run_with_the_reason_and_the_rest_go_on(
    plugins, optimizer, message
):
    runs = RunSet(Bowl(), plugins)
    bad, good = runs.add(RunConfig(optimizer)), runs.add(RunConfig("plain_gd"))
    runs.step(3)
    assert runs.status(bad).state == "failed"
    assert message in runs.status(bad).message
    assert runs.status(good).state == "running"
    assert runs.steps_taken(good) == 3


def test_a_gradient_of_the_wrong_shape_fails_the_run_instead_of_broadcasting(plugins):
    runs = RunSet(Bowl(grad_shape="column"), plugins, track_grad=False)
    run = runs.add(RunConfig("plain_gd"))
    runs.step(2)
    assert runs.status(run).state == "failed"
    assert "the model's grad returned shape (1, 1), expected (1, 2)" in runs.status(run).message


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("negative", "schedule factor is -1.0; it must be finite and not negative"),
        ("divides", "schedule 'divides' failed to compute its factor: ZeroDivisionError"),
        ("wordy", "schedule factor is <U1, not a real number"),
    ],
)
def test_a_failing_schedule_fails_its_runs_with_the_reason(plugins, schedule, message):
    runs = RunSet(Bowl(), plugins)
    bad = runs.add(RunConfig("plain_gd", schedule=schedule))
    good = runs.add(RunConfig("plain_gd"))
    runs.step(2)
    assert runs.status(bad).state == "failed"
    assert message in runs.status(bad).message
    assert runs.steps_taken(good) == 2


def test_zoo_run_and_render_print_one_line_for_a_failing_build(tmp_path, monkeypatch, capsys):
    from zoo.cli import EXIT_PLUGIN, main

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    (tmp_path / "faulty.py").write_text(
        "from zoo import ModelSpec, hookimpl\n"
        "def build(settings, ctx):\n"
        "    raise RuntimeError('no weights today')\n"
        "@hookimpl\n"
        "def zoo_models():\n"
        "    return [ModelSpec('x', build)]\n"
    )
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(tmp_path))
    line = (
        f"zoo: error: model 'x' from plugin faulty ({tmp_path / 'faulty.py'}) failed to build: "
        "RuntimeError: no weights today"
    )
    out = str(tmp_path / "race.png")
    from zoo.session import Scene, save_scene

    scene = tmp_path / "scene.json"
    save_scene(Scene(model="x", runs=[RunConfig("sgd")]), scene)
    for command in (
        ["run", "x", "sgd"],
        ["render", "x", "sgd", "--frames", "1", "--out", out],
        ["render", str(scene), "--frames", "1", "--out", out],
    ):
        status = main(command)
        err = capsys.readouterr().err
        assert status == EXIT_PLUGIN, command  # not 2: nothing on the command line is wrong
        assert err.count("\n") == 1 and line.split("error: ")[1] in err, err
    assert main(["--traceback", "run", "x", "sgd"]) == EXIT_PLUGIN
    err = capsys.readouterr().err
    assert "Traceback" in err and "raise RuntimeError('no weights today')" in err
    assert err.endswith(line + " (at faulty.py:3)\n")
    assert main(["run", "y", "sgd"]) == 2  # a mistyped name stays a usage error
    capsys.readouterr()
    assert main(["check", str(tmp_path / "faulty.py")]) == 1  # a check that fails
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (
        "FAIL  model x [build]: at the defaults: build raised RuntimeError: no weights today "
        "(at faulty.py:3)"
    )
    assert out[2:] == ["1 passed, 1 failed, 8 not applicable"]  # one line, not one per check


def test_a_run_marked_failed_stops_there_and_can_be_removed(plugins):
    runs = RunSet(Bowl(), plugins)
    stuck, other = runs.add(RunConfig("plain_gd")), runs.add(RunConfig("plain_gd"))
    runs.step(2)
    runs.fail(stuck, "step did not return within 5 s")
    runs.step(3)
    assert runs.status(stuck) == RunStatus("failed", 2, "step did not return within 5 s")
    assert runs.steps_taken(other) == 5
    runs.remove(stuck)
    assert list(runs.configs) == [other]


class Ledge(Problem):
    """(x, y) ↦ x² + (y − 1)², whose loss (or gradient) raises wherever y > 1/2."""

    def __init__(self, raises_in=None):
        self.start = np.array([0.0, 0.0])
        self.minima = np.array([[0.0, 1.0]])
        self.raises_in = raises_in

    def _check(self, x, stage):
        if self.raises_in == stage and (x[:, 1] > 0.5).any():
            raise RuntimeError("off the ledge")

    def loss(self, x):
        self._check(x, "loss")
        return x[:, 0] ** 2 + (x[:, 1] - 1) ** 2

    def grad(self, x):
        self._check(x, "grad")
        return np.stack([2 * x[:, 0], 2 * (x[:, 1] - 1)], axis=1)


@pytest.mark.parametrize(("stage", "verb"), [("loss", "its loss"), ("grad", "its gradient")])
def test_a_model_raising_at_a_point_fails_the_runs_there_and_the_rest_go_on(plugins, stage, verb):
    """y follows 1 − 0.8ᵗ from 0 under η = 0.1: past 1/2 at step 4, so that run fails there,
    standing at step 3's point; a run below and one starting in the region are named too."""
    starts = [(0.0, 0.0), (0.3, -2.0), (0.0, 0.9)]
    configs = [RunConfig("plain_gd", {"lr": 0.1}, start=s) for s in starts]
    runs = RunSet(Ledge(raises_in=stage), plugins)
    walker, below, inside = runs.add_many(configs)
    runs.step(6)
    oracle = RunSet(Ledge(), plugins)
    clean = oracle.add_many(configs)
    oracle.step(6)

    message = f"the model failed to evaluate {verb} at this point: RuntimeError: off the ledge"
    status = runs.status(walker)
    assert (status.state, status.step) == ("failed", 3)
    assert message in status.message
    assert runs.position(walker)[1] == pytest.approx(1 - 0.8**3, abs=1e-15)
    assert runs.status(inside).state == "failed" and runs.status(inside).step == 0
    assert message in runs.status(inside).message
    assert runs.status(below).state == "running"
    assert np.array_equal(runs.trajectory(below).x, oracle.trajectory(clean[1]).x)
