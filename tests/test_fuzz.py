"""Fuzzing the three doors into the zoo: scene files, command lines and plugin records.

Each property says what may come back — a scene or a ``SessionError``, an exit status of 0,
1, 2 or 130 with no traceback, a run failed with its reason or an ``EngineError`` naming the
record — and nothing else.  The examples are replayed from a fixed seed (``derandomize``),
few in the default run; the ``slow`` set runs many more."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zoo import (
    ActivationSpec,
    EngineError,
    ModelSpec,
    OptimizerSpec,
    Problem,
    RunConfig,
    RunSet,
    ScheduleSpec,
    simulate,
)
from zoo.cli import main
from zoo.registry import Registry
from zoo.session import FORMAT, SessionError, load_scene

FEW = settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
MANY = settings(FEW, max_examples=300)

# ------------------------------------------------------------------------------ scenes
JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324, 0.5]),
    st.text(max_size=12),
    st.sampled_from(["sgd", "adam", "rosenbrock", "#ff0000", "\ud800", "<img src='/dev/zero'>"]),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
MODELS = ["rosenbrock", "quadratic_1d", "expression", "mlp", "tiny_net", "logistic"]
OPTIMIZERS = ["sgd", "adam", "newton", "lbfgs", "rmsprop", "nope"]


@st.composite
def scenes(draw):
    """A scene as the format describes it, mostly valid."""
    run = st.fixed_dictionaries(
        {"optimizer": st.sampled_from(OPTIMIZERS)},
        optional={
            "hyper": st.fixed_dictionaries({}, optional={"lr": st.floats(-1, 2)}),
            "seed": st.integers(-2, 2**64),
            "start": st.lists(st.floats(-3, 3), min_size=1, max_size=3),
            "label": st.text(max_size=10),
            "color": st.sampled_from(["", "#12ab34", "red"]),
            "visible": st.booleans(),
            "batch_size": st.integers(-1, 10),
            "schedule": st.sampled_from(["step", "inverse", "nope"]),
        },
    )
    scene = {
        "format": FORMAT,
        "version": 1,
        "model": {"name": draw(st.sampled_from(MODELS)), "settings": {}},
        "runs": draw(st.lists(run, max_size=3)),
    }
    optional = {
        "seed": st.integers(-2, 2**64),
        "view": st.lists(st.lists(st.floats(-1e9, 1e9), min_size=2, max_size=2), max_size=2),
        "playback": st.fixed_dictionaries(
            {},
            optional={
                "steps_per_frame": st.integers(-1, 100),
                "step_limit": st.integers(-1, 10**7),
            },
        ),
        "lesson": st.fixed_dictionaries(
            {}, optional={"title": st.text(max_size=10), "text": st.text(max_size=30)}
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            scene[key] = draw(strategy)
    return scene


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@st.composite
def mutated_scenes(draw):
    scene = draw(scenes())
    for _ in range(draw(st.integers(0, 3))):
        paths = [path for path in _paths(scene) if path]
        path = draw(st.sampled_from(paths))
        parent = scene
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    return scene


def _load_and_build(text, registry):
    try:
        scene = load_scene(text, registry)
        scene.build(registry)
    except SessionError as error:
        assert str(error).strip(), "a refusal says why"
        return error
    return None


@FEW
@given(scene=mutated_scenes())
def test_a_mutated_scene_loads_or_is_refused_with_a_session_error(registry, scene):
    _load_and_build(json.dumps(scene), registry)


@FEW
@given(scene=scenes(), cut=st.integers(0, 400), junk=st.text(max_size=5))
def test_a_damaged_scene_file_is_refused_with_a_session_error(registry, scene, cut, junk):
    text = json.dumps(scene)
    _load_and_build(text[:cut] + junk + text[cut + len(junk) :], registry)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("seed", -1, "'seed'"),
        ("seed", 2**63, "'seed'"),
        ("seed", 2**40, "'seed'"),  # past the app's 32-bit seed box
        ("view", [[-1e308, 1e308], [-1, 1]], "'view'"),
        ("model", {"name": "rosenbrock", "settings": {"nope": 1}}, "nope"),
        ("runs", [{"optimizer": "sgd", "seed": -1}], "runs[0].seed"),
        ("runs", [{"optimizer": "sgd", "seed": 2**64}], "runs[0].seed"),
    ],
)
def test_each_bad_field_is_refused_by_name(registry, field, value, named):
    scene = {"format": FORMAT, "version": 1, "model": {"name": "rosenbrock", "settings": {}}}
    scene[field] = value
    error = _load_and_build(json.dumps(scene), registry)
    assert error is not None and named in str(error)


def test_deep_nesting_and_huge_integers_in_a_scene_are_refused(registry):
    deep = json.dumps({"format": FORMAT, "lesson": 0}).replace("0}", "[" * 5000 + "]" * 5000 + "}")
    assert "nested too deeply" in str(_load_and_build(deep, registry))
    huge = json.dumps({"format": FORMAT, "version": 1, "seed": 1}).replace(
        '"seed": 1', '"seed": ' + "9" * 5000
    )
    assert "too long" in str(_load_and_build(huge, registry))
    one_weight = {
        "format": FORMAT,
        "version": 1,
        "model": {"name": "quadratic_1d", "settings": {}},
        "runs": [{"optimizer": "sgd", "start": [1, 2]}],
    }
    assert "runs[0]" in str(_load_and_build(json.dumps(one_weight), registry))


# ------------------------------------------------------------------------- command lines
#: Subcommands that open a window are left to the app's tests.
COMMANDS = ["plugins", "run", "check", "experiment", "map", "tune", "new-plugin", "render"]
FLAGS = [
    "--json",
    "--set",
    "--steps",
    "--start",
    "--schedule",
    "--seed",
    "--out",
    "--scene-out",
    "--quiet",
    "--list",
    "--over",
    "--grid",
    "--metric",
    "--range",
    "--linear",
    "--log",
    "--view",
    "--starts",
    "--lr",
    "--values",
    "--dir",
    "--frames",
    "--steps-per-frame",
    "--size",
    "--help",
    "--version",
    "--traceback",
]
VALUES = [
    "rosenbrock",
    "quadratic_1d",
    "expression",
    "sgd",
    "adam:lr=0.1",
    "newton",
    "nope",
    "lr=0.1",
    "formula=sqrt(-1)",
    "formula=max(x,y,-x,-y)",
    "lambda2=1e308",
    "a=nan",
    "0",
    "1",
    "3",
    "-1",
    "-5",
    "2147483648",
    "9223372036854775808",
    "1e308",
    "-1e308",
    "nan",
    "inf",
    "0.5,0.5",
    "1,2,3",
    "1e308,1e308",
    "-1,1,-1,1",
    "1e-3:1",
    "1:0",
    "lr",
    "lr:0.1:1",
    "out.csv",
    "out.json",
    "out.png",
    "out.txt",
    "scene.json",
    "/dev/null",
    "",
    "=",
    ":",
    "step:step_size=0",
    "inverse",
    "final_loss",
    "16x16",
    "0x0",
    "first_order",
    "\x00",
    "--",
    "-",
    "ünïcode",
]
TOKENS = st.one_of(st.sampled_from(FLAGS), st.sampled_from(VALUES), st.text(max_size=6))


@st.composite
def command_lines(draw):
    return [draw(st.sampled_from(COMMANDS)), *draw(st.lists(TOKENS, max_size=7))]


#: Flags whose large values are honest requests for long work, kept small here (their
#: bounds are tested on their own).
SIZES = {"--steps", "--frames", "--steps-per-frame", "--grid", "--values", "--starts"}


def _small_work(argv):
    out = list(argv)
    for index in range(1, len(out)):
        if out[index - 1] in SIZES and out[index].lstrip("-").isdigit():
            out[index] = str(min(int(out[index]), 3))
    return out


def _run_main(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as done:  # argparse's --help, --version and usage errors
        status = done.code if isinstance(done.code, int) else 2
    out, err = capsys.readouterr()
    return status, out, err


@FEW
@given(argv=command_lines())
def test_a_random_command_line_exits_as_documented_without_a_traceback(
    argv, capsys, tmp_path_factory, monkeypatch
):
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    argv = _small_work([token for token in argv if token != "--traceback"])
    status, _, err = _run_main(argv, capsys)
    assert status in (0, 1, 2, 130), (argv, status, err)
    assert "Traceback" not in err, (argv, err)
    assert "run with --traceback" not in err, (argv, err)  # no unexpected error at all


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "rosenbrock", "sgd", "--seed", "-1"],
        ["run", "rosenbrock", "sgd", "--seed", "9223372036854775808"],
        ["experiment", "linear_neuron", "--seed", "-1"],
        ["run", "quadratic_1d", "sgd", "--start", "1,2"],
        ["run", "rosenbrock", "sgd", "--set", "nope=1"],
        ["tune", "rosenbrock", "sgd", "--values", "100000000"],
        ["map", "rosenbrock", "sgd", "--starts", "100000000"],
    ],
)
def test_bad_flags_are_refused_with_status_2_and_one_line(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, _, err = _run_main(argv, capsys)
    assert status == 2, err
    assert err.startswith("zoo: error:") and err.count("\n") == 1, err


# ------------------------------------------------------------------------ faulty plugins
class _Bowl(Problem):
    def __init__(self):
        self.start = np.array([1.0, -1.0])
        self.minima = np.zeros((1, 2))

    def loss(self, x):
        return (x**2).sum(axis=1)

    def grad(self, x):
        return 2 * x


def _raiser(kind):
    def fail(*_args, **_kwargs):
        if kind == "exit":
            raise SystemExit(3)
        raise {
            "runtime": RuntimeError,
            "type": TypeError,
            "key": KeyError,
            "zero": ZeroDivisionError,
        }[kind]("bad")

    return fail


FAULTS = st.sampled_from(["runtime", "type", "key", "zero", "exit"])
BAD_VALUES = st.sampled_from(
    ["none", "nan", "complex", "string", "wrong_shape", "column", "list", "negative", "huge"]
)


def _bad_array(kind, like):
    like = np.asarray(like, dtype=float)
    return {
        "none": None,
        "nan": np.full_like(like, np.nan),
        "complex": like + 1j,
        "string": like.astype(str),
        "wrong_shape": np.zeros((*like.shape, 3)),
        "column": like.reshape(len(like), -1)[:, :1],
        "list": like.tolist(),
        "negative": -np.ones_like(like),
        "huge": np.full_like(like, 1e308),
    }[kind]


def _faulty_registry(registry, record):
    extra = Registry()
    for kind in ("optimizer", "model", "schedule", "activation"):
        for item in registry.records(kind).values():
            extra.add(item, plugin="builtins")
    extra.add(record, plugin="faulty", source="faulty 1.0")
    return extra


def _init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


@st.composite
def faulty_records(draw):
    kind = draw(
        st.sampled_from(["step", "init", "build", "loss", "grad", "schedule", "activation"])
    )
    how = draw(
        st.one_of(FAULTS.map(lambda f: ("raise", f)), BAD_VALUES.map(lambda v: ("return", v)))
    )
    return kind, how


def _behaviour(how, like_fn):
    mode, what = how
    if mode == "raise":
        return _raiser(what)
    return lambda *args, **kwargs: _bad_array(what, like_fn(*args, **kwargs))


@FEW
@given(case=faulty_records())
def test_a_faulty_record_of_any_kind_is_isolated_and_named(registry, case):
    kind, how = case
    optimizer, model, schedule, settings = "sgd", _Bowl(), None, None
    if kind in ("step", "init"):
        step = lambda p, x, s, h: (x - 0.01 * p.grad(x), s)  # noqa: E731
        init = _init
        if kind == "step":
            step = _behaviour(how, lambda p, x, s, h: x)
        else:
            init = _behaviour(how, lambda p, x, h: np.zeros(len(x)))
            if how[0] == "return":
                inner = init
                init = lambda p, x, h: {"t": inner(p, x, h)}  # noqa: E731
        record = OptimizerSpec("faulty", init, step)
        optimizer = "faulty"
    elif kind == "build":
        record = ModelSpec("faulty", _behaviour(how, lambda s, c: np.zeros(2)))
        model = "faulty"
    elif kind in ("loss", "grad"):
        broken = _Bowl()
        good = getattr(broken, kind)
        setattr(broken, kind, _behaviour(how, lambda x: good(x)))
        record = ModelSpec("faulty", lambda s, c: broken)
        model = "faulty"
    elif kind == "schedule":
        record = ScheduleSpec("faulty", _behaviour(how, lambda step: np.ones_like(step, float)))
        schedule = "faulty"
    else:
        tanh = registry.get("activation", "tanh")
        record = ActivationSpec("faulty", _behaviour(how, tanh.f), tanh.df, tanh.d2f)
        model, settings = "tiny_net", {"activation": "faulty"}
    extra = _faulty_registry(registry, record)
    try:
        trajectory = simulate(
            model, optimizer, steps=3, schedule=schedule, settings=settings, registry=extra
        )
    except EngineError as error:
        assert "faulty" in str(error), error
        return
    status = trajectory.status
    if status.state == "failed":
        assert status.message, "a failed run says why"
    else:  # a bad value that is still a usable number (NaN, 1e308) just diverges
        assert status.state in ("running", "diverged", "converged", "minimum", "stalled"), status


def test_faulty_runs_in_a_batch_leave_the_others_running(registry):
    bad = OptimizerSpec("faulty", _init, _raiser("exit"))
    extra = _faulty_registry(registry, bad)
    runs = RunSet(_Bowl(), extra)
    good = runs.add(RunConfig("sgd"))
    broken = runs.add(RunConfig("faulty"))
    runs.step(3)
    assert runs.status(broken).state == "failed"
    assert "sys.exit(3)" in runs.status(broken).message
    assert runs.steps_taken(good) == 3


# ----------------------------------------------------------------------------- the wide run
@pytest.mark.slow
@MANY
@given(scene=mutated_scenes())
def test_wide_mutated_scenes(registry, scene):
    _load_and_build(json.dumps(scene), registry)


@pytest.mark.slow
@settings(MANY, max_examples=200)
@given(argv=command_lines())
def test_wide_command_lines(argv, capsys, tmp_path_factory, monkeypatch):
    test_a_random_command_line_exits_as_documented_without_a_traceback.hypothesis.inner_test(
        argv, capsys, tmp_path_factory, monkeypatch
    )


@pytest.mark.slow
@MANY
@given(case=faulty_records())
def test_wide_faulty_records(registry, case):
    test_a_faulty_record_of_any_kind_is_isolated_and_named.hypothesis.inner_test(registry, case)
