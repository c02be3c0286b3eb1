"""Every registered record passes the conformance kit third-party plugins use, and every
check of the kit catches a record broken on purpose."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from zoo import (
    ActivationSpec,
    ModelSpec,
    OptimizerSpec,
    Param,
    Problem,
    ScheduleSpec,
    load_registry,
)
from zoo.cli import main
from zoo.testing import (
    CHECKS,
    FAIL,
    PASS,
    ReferenceProblem,
    check_model,
    check_plugin,
    parametrize_checks,
    run_check,
    run_checks,
)

REGISTRY = load_registry(local=False)
ROOT = Path(__file__).resolve().parents[1]


def test_built_ins_load_without_failures():
    assert REGISTRY.failures == []


@parametrize_checks(registry=REGISTRY)
def test_every_built_in_record_passes_every_check(check):
    check()


def test_the_reference_problem_is_itself_consistent():
    check_model(ModelSpec("reference", lambda settings, ctx: ReferenceProblem()), REGISTRY)


# --------------------------------------------------------------------- broken optimizers
def _counter(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def _descent(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}


def _optimizer(name, step=_descent, init=_counter, **fields):
    fields.setdefault("params", (Param("lr", 0.1, low=1e-6, high=10.0),))
    return OptimizerSpec(name, init, step, **fields)


def _calls_hess(problem, x, state, hyper):  # a Newton-like step that never declared "hess"
    problem.hess(x)
    return _descent(problem, x, state, hyper)


def _one_state_row(problem, x, hyper):
    return {"t": np.zeros(1, dtype=np.int64)}  # one counter for the whole batch


def _buffer(problem, x, hyper):
    return {"buf": np.zeros_like(x)}


def _writes_state(problem, x, state, hyper):
    buf = state["buf"]
    buf += problem.grad(x)  # in place: the caller's state changes under it
    return x - hyper["lr"] * buf, {"buf": buf}


def _unseeded(problem, x, state, hyper):
    noise = np.random.default_rng().normal(size=x.shape)
    return x - hyper["lr"] * (problem.grad(x) + 0.1 * noise), {"t": state["t"] + 1}


def _leaky(problem, x, state, hyper):  # normalises by the batch's mean gradient
    g = problem.grad(x)
    return x - hyper["lr"] * g / np.abs(g).mean(), {"t": state["t"] + 1}


def _row_search(problem, x, state, hyper):  # a per-run search that forgets for_rows
    for row in range(len(x)):
        problem.loss(x[row : row + 1])
    return _descent(problem, x, state, hyper)


def _fixed_rate(problem, x, state, hyper):  # ignores hyper["lr"]
    return x - 0.1 * problem.grad(x), {"t": state["t"] + 1}


def _variant_step(problem, x, state, hyper):
    scale = {"plain": 1.0}[hyper["variant"]]  # forgot the "scaled" variant
    return x - scale * hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}


def _stacked(problem, x, state, hyper):  # evaluates 2B points in one call
    g = problem.grad(x)
    both = problem.loss(np.concatenate([x, x - hyper["lr"] * g]))
    better = (both[len(x) :] < both[: len(x)])[:, None]
    return np.where(better, x - hyper["lr"] * g, x), {"t": state["t"] + 1}


def _explodes(problem, x, state, hyper):
    return x * 1e200 + 1.0, {"t": state["t"] + 1}


BROKEN_OPTIMIZERS = {
    "record": (
        _optimizer("bad_default", params=(Param("lr", 5.0, low=0.0, high=1.0),)),
        "invalid record",
    ),
    "needs": (
        _optimizer("sneaky", _calls_hess),
        r"uses problem\.hess without declaring it; add 'hess' to needs",
    ),
    "state": (
        _optimizer("shared_counter", init=_one_state_row),
        r"state\['t'\] has shape \(1,\); its leading axis must be the batch",
    ),
    "inputs_kept": (
        _optimizer("in_place", _writes_state, init=_buffer),
        r"step wrote into its input state\['buf'\]",
    ),
    "deterministic": (_optimizer("unseeded", _unseeded), "two identical runs differ"),
    "batched": (_optimizer("leaky", _leaky), "alone differs from the same run in a batch"),
    "evaluations": (
        _optimizer("greedy_counts", _row_search, needs=frozenset({"loss", "grad"})),
        r"makes loss=\d+, grad=\d+ alone but loss=\d+, grad=\d+ in a batch; .*for_rows",
    ),
    "schedule": (
        _optimizer("fixed_rate", _fixed_rate),
        "factor ½ on lr leaves the path unchanged",
    ),
    "discrete_values": (
        _optimizer(
            "variants",
            _variant_step,
            params=(
                Param("lr", 0.1, low=1e-6),
                Param("variant", "plain", kind="choice", choices=("plain", "scaled")),
            ),
        ),
        r"the run \{'variant': 'scaled'\} failed: .*KeyError",
    ),
    "minibatches": (
        _optimizer("stacked", _stacked, needs=frozenset({"loss", "grad"})),
        "step on a minibatch raised ValueError: .*evaluate the problem at x of B rows",
    ),
    "finite": (_optimizer("explodes", _explodes), "diverged within 8 steps"),
}


# --------------------------------------------------------------------- broken models
class Bowl(Problem):
    """f = Σx², written out right unless a subclass gets something wrong."""

    def loss(self, x):
        return (x**2).sum(axis=1)

    def grad(self, x):
        return 2 * x

    def hess(self, x):
        return np.broadcast_to(2 * np.eye(2), (len(x), 2, 2)).copy()


class WrongGradient(Bowl):
    def grad(self, x):
        return x  # should be 2x


class WrongHessian(Bowl):
    def hess(self, x):
        return np.broadcast_to(np.eye(2), (len(x), 2, 2)).copy()  # should be 2I


class NotHalfSquares(Bowl):
    def residuals(self, x):
        return np.asarray(x, dtype=float)  # ½‖r‖² is half the loss

    def jacobian(self, x):
        return np.broadcast_to(np.eye(2), (len(x), 2, 2)).copy()


class WrongMinimum(Bowl):
    minima = np.array([[1.0, 1.0]])


class Coupled(Problem):
    def loss(self, x):
        return (x**2).sum(axis=1) + 1e-3 * x.sum()  # every row sees the whole batch


class Unseeded(Bowl):
    def __init__(self):
        self.centre = np.random.default_rng().normal(size=2)

    def loss(self, x):
        return ((x - self.centre) ** 2).sum(axis=1)

    def grad(self, x):
        return 2 * (x - self.centre)

    hess = Problem.hess


class SharedMinibatch(Problem):
    """Least squares on data whose minibatch is the first run's for every run."""

    per_run = False

    def __init__(self):
        rng = np.random.default_rng(0)
        self.points, self.values = rng.normal(size=(30, 2)), rng.normal(size=30)

    @property
    def n_samples(self):
        return self.points.shape[int(self.per_run)]

    def loss(self, x):
        points = self.points if self.per_run else self.points[None]
        error = (points * x[:, None, :]).sum(axis=2) - self.values
        return 0.5 * (error**2).mean(axis=1)

    def minibatch(self, seeds, steps, size):
        rows = np.random.default_rng([int(seeds[0]), int(steps[0])]).choice(30, size)
        part = SharedMinibatch()
        part.points = np.broadcast_to(self.points[rows], (len(seeds), size, 2))
        part.values = np.broadcast_to(self.values[rows], (len(seeds), size))
        part.per_run = True
        return part


class ZeroOneLabels(Bowl):
    inputs = np.ones((4, 2))
    labels = np.array([0.0, 1.0, 1.0, 0.0])


def _model(name, problem_class, **fields):
    return ModelSpec(name, lambda settings, ctx: problem_class(), **fields)


def _fails_when_large(settings, ctx):
    if settings["size"] > 3:
        raise RuntimeError("out of memory")
    return Bowl()


BROKEN_MODELS = {
    "record": (
        _model("bad_param", Bowl, params=(Param("n", 5, kind="int", low=10),)),
        "invalid record",
    ),
    "build": (
        ModelSpec("fragile", _fails_when_large, params=(Param("size", 1.0, low=0.5, high=4.0),)),
        r"at size=4.0 \(high\): build raised RuntimeError: out of memory",
    ),
    "gradient": (_model("wrong_gradient", WrongGradient), "grad differs from central"),
    "hessian": (_model("wrong_hessian", WrongHessian), "hess differs from central"),
    "least_squares": (
        _model("not_half_squares", NotHalfSquares),
        r"the loss must equal ½‖residuals‖²",
    ),
    "minima": (_model("wrong_minimum", WrongMinimum), r"listed minimum \[1. 1.\] is 2, not zero"),
    "rows": (_model("coupled", Coupled), "loss of point 0 alone differs"),
    "seed": (_model("unseeded", Unseeded), "building twice with the same seed"),
    "minibatch": (
        _model("shared_minibatch", SharedMinibatch),
        "row 1 of minibatch.* differs from run 1's minibatch alone",
    ),
    "data": (_model("zero_one", ZeroOneLabels), r"labels must have shape \(N,\) and hold ±1"),
}


# --------------------------------------------------------------------- broken activations
def _cube(z):
    return z**3


BROKEN_ACTIVATIONS = {
    "record": (ActivationSpec("uncallable", _cube, "3z²"), "invalid record"),
    "shape": (
        ActivationSpec("summing", lambda z: np.sum(z**3), lambda z: 3 * z**2),
        r"f turned shape \(3, 2, 40\) into \(\)",
    ),
    "finite": (
        ActivationSpec("overflowing", lambda z: np.exp(z**2), lambda z: 2 * z * np.exp(z**2)),
        r"f\(-30\) is not finite",
    ),
    "first_derivative": (
        ActivationSpec("wrong_slope", _cube, lambda z: 2 * z**2),
        r"df\(.*\) = .* but central differences give",
    ),
    "second_derivative": (
        ActivationSpec("wrong_bend", _cube, lambda z: 3 * z**2, lambda z: 3 * z),
        r"d2f\(.*\) = .* but central differences give",
    ),
}


# --------------------------------------------------------------------- broken schedules
def _ramp(step, warmup):  # a python int warmup only: the engine passes a (B, 1) column
    ramp = np.linspace(0.0, 1.0, warmup)
    return ramp[np.minimum(step, warmup - 1)]


BROKEN_SCHEDULES = {
    "record": (
        ScheduleSpec("bad_target", lambda step: step * 0 + 1.0, target="Learning Rate"),
        "invalid record",
    ),
    "factor_shape": (ScheduleSpec("one_number", lambda step: 1.0), "returned \\(\\)"),
    "factor_values": (
        ScheduleSpec("negative", lambda step: -(0.5 ** np.asarray(step, dtype=float))),
        r"factor\(0\) = -1.0; factors must be finite and not negative",
    ),
    "factor_scalar": (
        ScheduleSpec("by_size", lambda step: np.ones(np.shape(step)) / np.size(step)),
        r"factor\(0\) = 1.0 alone but 0.00333",
    ),
    "robbins_monro": (
        ScheduleSpec("wordy", lambda step: np.ones(np.shape(step)), robbins_monro=lambda: "yes"),
        "robbins_monro returned 'yes'; return True or False",
    ),
    "runs": (
        ScheduleSpec("ramp", _ramp, params=(Param("warmup", 10, kind="int", low=1),)),
        "under schedule ramp: the run .* failed: .*schedule 'ramp'",
    ),
}

BROKEN = {
    "optimizer": BROKEN_OPTIMIZERS,
    "model": BROKEN_MODELS,
    "activation": BROKEN_ACTIVATIONS,
    "schedule": BROKEN_SCHEDULES,
}


def test_every_check_has_a_record_broken_on_purpose():
    assert {kind: set(checks) for kind, checks in BROKEN.items()} == {
        kind: set(checks) for kind, checks in CHECKS.items()
    }


@pytest.mark.parametrize(
    ("kind", "check"),
    [(kind, check) for kind, checks in BROKEN.items() for check in checks],
    ids=[f"{kind}-{check}" for kind, checks in BROKEN.items() for check in checks],
)
def test_each_check_catches_its_broken_record(kind, check):
    record, message = BROKEN[kind][check]
    results = {r.check: r for r in run_checks(kind, record, REGISTRY)}
    assert results[check].status == FAIL, results[check]
    assert results[check].record == record.name and results[check].kind == kind

    assert re.search(message, results[check].message), results[check].message


def test_the_state_check_holds_declared_keys_to_the_state_init_makes():
    moving = _optimizer("misnamed", momentum_key="velocity")
    assert re.search(
        "momentum_key 'velocity' must name a state array",
        run_check("optimizer", moving, "state").message,
    )
    silent = _optimizer("silent", stop_reasons=("tolerance",))
    assert re.search(
        r"stop_reasons needs a state array 'stop' of shape \(B,\)",
        run_check("optimizer", silent, "state").message,
    )


def test_a_broken_record_gets_one_result_per_check_and_the_others_still_pass():
    """The first failure hides nothing: a record wrong in one way passes the rest."""
    record, _ = BROKEN_OPTIMIZERS["evaluations"]
    results = run_checks("optimizer", record, REGISTRY)
    assert [r.check for r in results] == list(CHECKS["optimizer"])
    assert {r.check for r in results if r.status == FAIL} == {"evaluations"}
    assert {r.check for r in results if r.status == PASS} >= {"batched", "state", "needs"}


def test_models_are_checked_at_each_settings_low_high_and_choices():
    seen = []

    def build(settings, ctx):
        seen.append(dict(settings))
        return Bowl()

    spec = ModelSpec(
        "settings",
        build,
        params=(
            Param("size", 1.0, low=0.5, high=4.0),
            Param("count", 3, kind="int", low=1, high=9),
            Param("shape", "round", kind="choice", choices=("round", "square", "flat")),
            Param("soft", False, kind="bool"),
        ),
    )
    assert run_check("model", spec, "build").status == PASS
    varied = {(k, v) for settings in seen for k, v in settings.items()}
    assert varied >= {
        ("size", 0.5),
        ("size", 4.0),
        ("count", 1),
        ("count", 9),
        ("shape", "square"),
        ("shape", "flat"),
        ("soft", True),
    }


# --------------------------------------------------------------------- zoo check
PLUGIN = """
import numpy as np
from zoo import OptimizerSpec, Param, hookimpl


def init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}


def descent(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}


def calls_hess(problem, x, state, hyper):
    problem.hess(x)
    return descent(problem, x, state, hyper)


@hookimpl
def zoo_optimizers():
    lr = (Param("lr", 0.1, low=1e-6, high=1.0),)
    return [
        OptimizerSpec("kit_good", init, descent, params=lr),
        OptimizerSpec("kit_sneaky", init, calls_hess, params=lr),
    ]
"""


def test_zoo_check_counts_every_check_and_exits_1_when_one_fails(tmp_path, capsys):
    path = tmp_path / "two.py"
    path.write_text(PLUGIN)
    report = check_plugin(str(path))
    per_record = len(CHECKS["optimizer"])
    skipped = report.count("not applicable")
    assert len(report.results) == 2 * per_record
    assert report.failed == 1 and report.count(PASS) == 2 * per_record - 1 - skipped
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Checking plugin 'two' ({path})"
    assert f"PASS  optimizer kit_good ({per_record - skipped // 2} checks)" in out
    assert any(
        line.startswith("FAIL  optimizer kit_sneaky [needs]: uses problem.hess") for line in out
    )
    assert out[-1] == f"{2 * per_record - 1 - skipped} passed, 1 failed, {skipped} not applicable"


def test_zoo_check_exits_0_when_all_pass_1_for_no_records_and_2_for_no_such_plugin(
    tmp_path, capsys
):
    good = tmp_path / "good.py"
    good.write_text(
        PLUGIN.replace('        OptimizerSpec("kit_sneaky", init, calls_hess, params=lr),\n', "")
    )
    assert main(["check", str(good)]) == 0
    assert " passed, 0 failed, " in capsys.readouterr().out.splitlines()[-1]
    misspelt = tmp_path / "misspelt.py"
    misspelt.write_text(
        "from zoo import hookimpl\n@hookimpl\ndef zoo_optimisers():\n    return []\n"
    )
    assert main(["check", str(misspelt)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  loading: zoo_optimisers is not a hook of the zoo" in out
    assert out.splitlines()[-1].startswith("0 passed, ")
    assert main(["check", "no_such_plugin_anywhere"]) == 2


def test_checking_the_file_of_an_installed_plugin_checks_that_plugin():
    path = ROOT / "plugins" / "optimizers" / "first_order.py"
    report = check_plugin(str(path))
    assert report.plugin == "first_order"
    assert report.failures == []
    assert report.passed


def test_checking_another_copy_of_an_installed_plugin_checks_the_copy_in_its_place(tmp_path):
    """A copy whose folders spell an installed module (a checkout's ``src/pkg/plugin.py``)
    is that plugin, not a second one with duplicate names; its records, not the installed
    ones, are checked."""
    copy = tmp_path / "zoo_plugins" / "optimizers" / "first_order.py"
    copy.parent.mkdir(parents=True)
    shutil.copy(ROOT / "plugins" / "optimizers" / "first_order.py", copy)
    report = check_plugin(str(copy))
    assert report.plugin == "first_order"
    assert report.failures == []  # no "already provided by plugin 'first_order'"
    assert report.passed and "stands in for the loaded plugin 'first_order'" in report.note
    names = {r.record for r in report.results}
    assert names == {
        n
        for n, p in REGISTRY.optimizers.items()
        if REGISTRY.provenance("optimizer", n).plugin == "first_order"
    }
    # An edit in the copy (a leak between rows) is what the check sees.
    copy.write_text(
        copy.read_text().replace(
            "def sgd_step(problem, x, state, hyper):\n",
            "def sgd_step(problem, x, state, hyper):\n    x = x + 1e-3 * x.mean()\n",
            1,
        )
    )
    edited = check_plugin(str(copy))
    assert edited.plugin == "first_order"
    assert [(r.record, r.check) for r in edited.results if r.status == FAIL][:1] == [
        ("sgd", "batched")
    ]
