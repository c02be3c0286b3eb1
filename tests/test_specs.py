"""Records are validated once, with messages that name the field."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import EngineError, ModelSpec, OptimizerSpec, Param, Registry, ScheduleSpec
from zoo.specs import SpecError, preset, resolve_values, validate_record


def noop(*args):
    return None


def optimizer(**changes):
    fields = {"name": "good", "init": noop, "step": noop, "params": (Param("lr", 0.1, 0.0, 1.0),)}
    fields.update(changes)
    return OptimizerSpec(**fields)


def test_a_valid_record_reports_its_kind():
    assert validate_record(optimizer()) == "optimizer"
    assert validate_record(ModelSpec("bowl", noop)) == "model"
    assert validate_record(ScheduleSpec("flat", noop)) == "schedule"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": "Bad Name"}, "lowercase identifier"),
        ({"name": "1st"}, "lowercase identifier"),
        ({"init": 3}, "field 'init' must be callable"),
        ({"step": None}, "field 'step' must be callable"),
        ({"needs": frozenset({"grad", "telepathy"})}, "unknown telepathy"),
        ({"needs": {"grad"}}, "frozenset"),
        ({"params": [Param("lr", 0.1)]}, "tuple of Param"),
        ({"params": (Param("lr", 2.0, 0.0, 1.0),)}, "params[0]' (lr).default"),
        ({"params": (Param("lr", 0.1, 1.0, 0.0),)}, "low 1.0 is above high 0.0"),
        ({"params": (Param("lr", 0.1, 0.0, 1.0, log=True),)}, "log scale needs a positive low"),
        ({"params": (Param("n", 1.5, kind="int"),)}, "expected an int"),
        ({"params": (Param("flag", 1, kind="bool"),)}, "expected True or False"),
        ({"params": (Param("mode", "a", kind="choice"),)}, "needs at least one choice"),
        ({"params": (Param("mode", "c", kind="choice", choices=("a", "b")),)}, "not one of a, b"),
        ({"params": (Param("x", 1.0, kind="vector"),)}, "kind"),
        ({"params": (Param("lr", 0.1), Param("lr", 0.2))}, "repeats the name 'lr'"),
        ({"params": (Param("seed", 1, kind="int"),)}, "reserved name 'seed'"),
        ({"label": 3}, "field 'label' must be a string"),
    ],
)
def test_malformed_records_are_refused_naming_the_field(changes, fragment):
    with pytest.raises(SpecError, match=None) as error:
        validate_record(optimizer(**changes))
    assert fragment in str(error.value)
    assert "optimizer" in str(error.value) or "identifier" in str(error.value)


def test_something_that_is_not_a_record_is_refused():
    with pytest.raises(SpecError, match="got dict"):
        validate_record({"name": "x"})


def test_param_coerces_user_text():
    assert Param("lr", 0.1, 0.0, 1.0).coerce("1e-3") == pytest.approx(1e-3)
    assert Param("n", 3, 1, 10, kind="int").coerce("4") == 4
    assert Param("flag", False, kind="bool").coerce("yes") is True
    assert Param("flag", False, kind="bool").coerce("off") is False
    assert Param("mode", "a", kind="choice", choices=("a", "b")).coerce("b") == "b"
    assert Param("formula", "x", kind="text").coerce("x**2 + y") == "x**2 + y"


@pytest.mark.parametrize(
    ("param", "value", "fragment"),
    [
        (Param("lr", 0.1, 0.0, 1.0), "fast", "expected a number"),
        (Param("lr", 0.1, 0.0, 1.0), "nan", "finite"),
        (Param("lr", 0.1, 0.0, 1.0), 2, "above the maximum 1.0"),
        (Param("lr", 0.1, 0.0, 1.0), -1, "below the minimum 0.0"),
        (Param("n", 3, 1, 10, kind="int"), "2.5", "whole number"),
        (Param("flag", False, kind="bool"), "maybe", "true or false"),
        (Param("mode", "a", kind="choice", choices=("a", "b")), "z", "not one of a, b"),
        (Param("formula", "x", kind="text"), "x" * 501, "over the limit"),
    ],
)
def test_param_refuses_bad_values_with_a_reason(param, value, fragment):
    with pytest.raises(SpecError) as error:
        param.coerce(value)
    assert fragment in str(error.value)
    assert str(error.value).startswith(param.name)


def test_resolve_values_fills_defaults_and_refuses_unknown_names():
    params = (Param("lr", 0.1, 0.0, 1.0), Param("n", 3, 1, 10, kind="int"))
    assert resolve_values(params, {"n": "5"}, where="optimizer x") == {"lr": 0.1, "n": 5}
    with pytest.raises(SpecError, match=r"optimizer x: unknown setting speed \(valid: lr, n\)"):
        resolve_values(params, {"speed": 1}, where="optimizer x")


def test_activation_params_take_the_registered_names():
    params = (Param("activation", "tanh", kind="activation"),)
    assert resolve_values(params, {"activation": "relu"}, where="m", activations=["relu", "tanh"])
    with pytest.raises(SpecError, match="'swish' is not one of relu, tanh"):
        resolve_values(params, {"activation": "swish"}, where="m", activations=["relu", "tanh"])


def test_preset_renames_and_changes_defaults_only():
    base = optimizer()
    fast = preset(base, "fast", "Fast", lr=0.5)
    assert fast.name == "fast" and fast.label == "Fast" and fast.params[0].default == 0.5
    assert base.params[0].default == 0.1
    with pytest.raises(SpecError, match="no parameter momentum"):
        preset(base, "x", momentum=0.9)


def test_records_are_frozen():
    record = optimizer()
    with pytest.raises(AttributeError):
        record.name = "other"
    assert np.isfinite(record.params[0].default)


def test_built_in_optimizers_declare_state_keys_their_init_provides(registry):
    from zoo import RunConfig, RunSet, build_problem

    problem = build_problem("rosenbrock", registry=registry)
    declared = {
        name: spec
        for name, spec in registry.optimizers.items()
        if spec.momentum_key or spec.scaling_key
    }
    assert {"sgd", "momentum", "adam", "rmsprop", "adagrad"} <= set(declared)
    assert registry.optimizers["adam"].scaling_key == "v"
    for name, spec in declared.items():
        runs = RunSet(problem, registry)
        state = runs.optimizer_state(runs.add(RunConfig(name)))
        for key in filter(None, (spec.momentum_key, spec.scaling_key)):
            assert state[key].shape == (problem.dim,), (name, key)


def test_a_schedule_drives_the_hyper_parameter_it_names(registry):
    import numpy as np

    from zoo import RunConfig, RunSet, ScheduleSpec, build_problem

    seen = []

    def init(problem, x, hyper):
        return {"t": np.zeros(len(x), dtype=np.int64)}

    def step(problem, x, state, hyper):
        seen.append((float(hyper["lr"][0, 0]), float(hyper["momentum"][0, 0])))
        return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}

    extra = Registry()
    extra.add(
        OptimizerSpec("probe", init, step, params=(Param("lr", 0.01), Param("momentum", 0.9)))
    )
    extra.add(ScheduleSpec("warmup", lambda step: np.minimum(1.0, step / 2), target="momentum"))
    extra.add(ScheduleSpec("on_beta", lambda step: 1.0 + 0 * step, target="beta"))
    runs = RunSet(build_problem("rosenbrock", registry=registry), extra)
    runs.add(RunConfig("probe", schedule="warmup"))
    runs.step(3)
    assert seen == [(0.01, 0.0), (0.01, 0.45), (0.01, 0.9)]
    with pytest.raises(EngineError, match="has no float parameter beta for schedule on_beta"):
        runs.add(RunConfig("probe", schedule="on_beta"))
    with pytest.raises(SpecError, match="field 'target'"):
        validate_record(ScheduleSpec("bad", lambda step: 1.0, target="Not A Name"))
