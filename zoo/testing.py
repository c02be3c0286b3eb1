"""The conformance kit: the checks every record must pass, for plugin authors and built-ins.

Like scikit-learn's ``check_estimator``, the kit is a list of named checks per kind of
record, and it reports one result per (record, check) — pass, fail with a message that
says what to change, or not applicable — so the first failure never hides the others.
Optimizers are checked directly (a problem that refuses what ``needs`` does not declare,
state shapes, no mutation) and through ``RunSet`` (a run alone equals the same run in a
batch bitwise, with its evaluations; schedules, discrete settings and minibatches);
models at their defaults and at every ``Param``'s low, high and choices; activations
against differences at thousands of points.  In a plugin's own test suite::

    from zoo.testing import parametrize_checks

    @parametrize_checks(plugin="myplugin")
    def test_conforms(check):
        check()

``zoo check MODULE_OR_PLUGIN`` runs the same checks from the command line, and
``check_optimizer``, ``check_model``, ``check_activation`` and ``check_schedule`` run
all of one record's checks and raise ``AssertionError`` naming every failure.
"""

from __future__ import annotations

import copy
import importlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo import guard
from zoo.problem import BuildContext, Problem, contract_errors, missing_needs, row_matmul
from zoo.randomness import run_sample
from zoo.specs import (
    ActivationSpec,
    ModelSpec,
    OptimizerSpec,
    Param,
    ScheduleSpec,
    SpecError,
    resolve_values,
    validate_record,
)

#: Relative tolerance of analytic derivatives against central differences.
DERIVATIVE_RTOL = 1e-4
BATCH = 3
STEPS = 8
#: Coordinates up to which derivatives are compared in full; beyond, along directions.
FULL_DIFFERENCES = 8
DIRECTIONS = 6
#: Largest D whose (B, D, D) Hessian the kit computes (a 5000-weight net's would not fit).
HESSIAN_DIM = 400
MINIBATCH = 4
#: Results of a check.
PASS, FAIL, SKIP = "pass", "fail", "not applicable"


class NotApplicable(Exception):
    """A check that does not concern this record (a model without residuals, …)."""


def _fail(message: str) -> None:
    raise AssertionError(message)


def _valid(record: Any) -> None:
    try:
        validate_record(record)
    except SpecError as error:
        _fail(f"invalid record: {error}")


# --------------------------------------------------------------------- reference problem
class ReferenceProblem(Problem):
    """A small least-squares problem that provides everything an optimizer may need.

    r(w) = (Xw − y)/√N with a gentle nonlinearity, so curvature methods see a non-constant
    Hessian; ``inputs`` and ``labels`` serve the local learning rules.  Every row is
    evaluated on its own (``row_matmul``, elementwise sums), and a minibatch gives each
    run its own samples, so the kit can demand bitwise equality between a run alone and
    in a batch.
    """

    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    #: Whether the data carry a leading run axis (a minibatch of per-run samples).
    per_run = False

    def __init__(self, n: int = 12, dim: int = 2, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.dim = dim
        self.inputs = rng.normal(size=(n, dim))
        truth = np.linspace(0.5, -0.5, dim)
        self.targets = self.inputs @ truth + 0.05 * rng.normal(size=n)
        self.labels = np.where(self.inputs @ truth >= 0, 1.0, -1.0)
        self.start = np.linspace(-1.2, 1.0, dim)

    def _z(self, x: np.ndarray) -> np.ndarray:
        return row_matmul(x, np.swapaxes(self.inputs, -1, -2))

    def residuals(self, x: np.ndarray) -> np.ndarray:
        z = self._z(x)
        return (z + 0.1 * np.tanh(z) - self.targets) / np.sqrt(self.n_samples)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        slope = 1.0 + 0.1 / np.cosh(self._z(x)) ** 2
        inputs = self.inputs if self.per_run else self.inputs[None]
        return slope[:, :, None] * inputs / np.sqrt(self.n_samples)

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.residuals(x)
        return 0.5 * (r * r).sum(axis=1)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return (self.jacobian(x) * self.residuals(x)[:, :, None]).sum(axis=1)

    def minibatch(self, seeds: np.ndarray, steps: np.ndarray, size: int) -> ReferenceProblem:
        return self._part(run_sample(seeds, steps, self.n_samples, size))

    def for_rows(self, rows) -> ReferenceProblem:
        if not self.per_run:
            return self
        return self._part(np.atleast_1d(np.arange(len(self.inputs))[rows]))

    def _part(self, index: np.ndarray) -> ReferenceProblem:
        part = copy.copy(self)
        part.inputs, part.targets = self.inputs[index], self.targets[index]
        part.labels = self.labels[index]
        part.per_run = True
        return part

    @property
    def n_samples(self) -> int:
        return self.inputs.shape[int(self.per_run)]


# --------------------------------------------------------------------- needs
#: The ``needs`` entry each problem attribute belongs to.
NEED_OF_ATTRIBUTE = {
    "loss": "loss",
    "grad": "grad",
    "hess": "hess",
    "residuals": "residuals",
    "jacobian": "residuals",
    "minibatch": "samples",
    "inputs": "inputs",
    "labels": "labels",
}


class NeedsProblem:
    """A problem that answers only what an optimizer declared in ``needs``.

    Any other call fails the check with the need to declare, so an optimizer that uses
    ``hess`` without asking for it is caught here instead of on the first model without
    one."""

    def __init__(self, problem: Problem, needs: frozenset[str], name: str) -> None:
        self._problem = problem
        self._needs = needs
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        need = NEED_OF_ATTRIBUTE.get(attribute)
        if need is not None and need not in self._needs:
            _fail(f"uses problem.{attribute} without declaring it; add {need!r} to needs")
        return getattr(self._problem, attribute)

    def for_rows(self, rows) -> NeedsProblem:
        return NeedsProblem(self._problem.for_rows(rows), self._needs, self._name)


# --------------------------------------------------------------------- optimizers
def _hyper(spec: OptimizerSpec, batch: int, registry: Any, seeds: np.ndarray) -> dict[str, Any]:
    activations = list(registry.activations) if registry is not None else None
    values = resolve_values(
        spec.params, {}, where=f"optimizer {spec.name}", activations=activations or None
    )
    hyper: dict[str, Any] = {}
    for param in spec.params:
        value = values[param.name]
        if param.discrete:
            hyper[param.name] = value
        else:
            column = np.full((batch, 1), float(value))
            if param.name == "lr":  # different rates per run exercise the broadcasting
                column = column * _rate_factors(param, float(value), batch)[:, None]
            hyper[param.name] = column
    hyper["seed"] = seeds.reshape(batch, 1).astype(np.int64)
    return hyper


def _rate_factors(param: Param, value: float, batch: int) -> np.ndarray:
    """1, ½, ¼ … for the runs' learning rates, as far as the parameter's range allows."""
    factors = 0.5 ** np.arange(batch)
    if param.low is not None:
        factors = np.where(value * factors >= param.low, factors, 1.0)
    return factors


def _starts(problem: Problem) -> np.ndarray:
    dim = problem.dim
    offsets = np.array([[0.0] * dim, [0.3] * dim, [-0.2] * dim])
    return np.asarray(problem.start, dtype=float) + offsets[:BATCH]


def _run(spec: OptimizerSpec, problem: Any, x: np.ndarray, hyper: dict, steps: int):
    state = spec.init(problem, x.copy(), hyper)
    path = [x]
    for _ in range(steps):
        x, state = spec.step(problem, x, state, hyper)
        path.append(np.asarray(x))
    return np.stack(path, axis=1), state


def _reference(env: _Env, spec: OptimizerSpec) -> Problem:
    missing = missing_needs(spec.needs, env.problem)
    if missing:
        _fail(f"the reference problem lacks {sorted(missing)}; pass a problem that has them")
    return env.problem


def _direct(spec: OptimizerSpec, env: _Env):
    problem = _reference(env, spec)
    starts = _starts(problem)
    return problem, starts, _hyper(spec, BATCH, env.registry, np.arange(1, BATCH + 1))


def check_needs(spec: OptimizerSpec, env: _Env) -> None:
    """Calls only what ``needs`` declares (a problem proxy refuses everything else)."""
    problem, starts, hyper = _direct(spec, env)
    with np.errstate(all="ignore"):
        _run(spec, NeedsProblem(problem, spec.needs, spec.name), starts, hyper, STEPS)


def check_state(spec: OptimizerSpec, env: _Env) -> None:
    """``init`` and ``step`` keep a dict of arrays with the batch axis first, and the
    declared ``momentum_key``/``scaling_key`` name (B, D) arrays of it."""
    problem, starts, hyper = _direct(spec, env)
    state = spec.init(problem, starts.copy(), hyper)
    if not isinstance(state, dict):
        _fail(f"init returned {type(state).__name__}; return a dict of arrays")
    _batch_first(state, "init")
    with np.errstate(all="ignore"):
        result = spec.step(problem, starts.copy(), state, hyper)
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail("step must return the pair (x_new, state)")
    x_new, new_state = result
    if np.shape(x_new) != starts.shape:
        _fail(f"step returned x of shape {np.shape(x_new)}; return the shape of x, {starts.shape}")
    if not isinstance(new_state, dict) or set(new_state) != set(state):
        _fail(
            f"step returned state keys {sorted(new_state) if isinstance(new_state, dict) else '?'}"
            f"; return the keys init made, {sorted(state)}"
        )
    _batch_first(new_state, "step")
    if spec.stop_reasons and np.shape(state.get("stop")) != (BATCH,):
        _fail(
            f"stop_reasons needs a state array 'stop' of shape (B,) = ({BATCH},); "
            f"init's state has {sorted(state)}"
        )
    for field_name in ("momentum_key", "scaling_key"):
        key = getattr(spec, field_name)
        if key and np.shape(state.get(key)) != starts.shape:
            _fail(
                f"{field_name} {key!r} must name a state array of shape (B, D) = "
                f"{starts.shape}; init's state has {sorted(state)}"
            )


def _batch_first(state: dict, where: str) -> None:
    for name, value in state.items():
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] != BATCH:
            _fail(
                f"{where}: state[{name!r}] has shape {value.shape}; its leading axis must be "
                f"the batch ({BATCH})"
            )


def check_inputs_kept(spec: OptimizerSpec, env: _Env) -> None:
    """``step`` writes neither into ``x`` nor into the state it was given."""
    problem, starts, hyper = _direct(spec, env)
    x = starts.copy()
    with np.errstate(all="ignore"):
        state = spec.init(problem, x.copy(), hyper)
        for _ in range(2):
            kept_x = x.copy()
            kept = {k: np.array(v, copy=True) for k, v in state.items()}
            x_new, new_state = spec.step(problem, x, state, hyper)
            if not np.array_equal(x, kept_x, equal_nan=True):
                _fail("step wrote into its input x; return a new array instead")
            for name, value in state.items():
                if not np.array_equal(np.asarray(value), kept[name], equal_nan=True):
                    _fail(f"step wrote into its input state[{name!r}]; return new arrays instead")
            x, state = np.asarray(x_new, dtype=float), new_state


def check_deterministic(spec: OptimizerSpec, env: _Env) -> None:
    """Two identical runs agree: no hidden global state, no unseeded noise."""
    problem, starts, hyper = _direct(spec, env)
    with np.errstate(all="ignore"):
        first, _ = _run(spec, problem, starts.copy(), hyper, STEPS)
        second, _ = _run(spec, problem, starts.copy(), hyper, STEPS)
    if not np.array_equal(first, second, equal_nan=True):
        _fail(
            "two identical runs differ; draw noise with zoo.run_normal(hyper['seed'], "
            "state['t'], shape) and keep everything a run needs in its state"
        )


# --------------------------------------------------------------------- through RunSet
#: The kit's own schedule: a constant factor ½ on ``lr``.
HALF = ScheduleSpec("kit_half", lambda step: np.full(np.shape(step), 0.5))


def _kit_registry(env: _Env, *records: Any) -> Any:
    """A registry holding the records under check and the activations of ``env``."""
    from zoo.registry import Registry

    kit = Registry()
    if env.registry is not None:
        for activation in env.registry.activations.values():
            kit.add(activation, plugin="activations")
    for record in records:
        try:
            kit.add(record, plugin="checked")
        except SpecError as error:
            _fail(f"invalid record: {error}")
    return kit


def _configs(spec: OptimizerSpec, problem: Problem, **extra: Any) -> list:
    from zoo.engine import RunConfig

    starts = _starts(problem)
    configs = []
    for run in range(BATCH):
        hyper = {}
        for param in spec.params:
            if param.name == "lr" and param.kind == "float":
                factor = _rate_factors(param, float(param.default), BATCH)[run]
                hyper["lr"] = float(param.default) * float(factor)
        configs.append(RunConfig(spec.name, hyper, start=tuple(starts[run]), seed=run + 1, **extra))
    return configs


def _alone_and_batched(problem: Problem, registry: Any, configs: list) -> tuple[list, list]:
    """Each run's trajectory alone and in one ``RunSet`` with all of ``configs``."""
    from zoo.engine import EngineError, RunSet

    def trajectories(items: list) -> list:
        runs = RunSet(problem, registry, history="full")
        try:
            ids = runs.add_many(items)
        except EngineError as error:
            _fail(f"RunSet refused the run: {error}")
        runs.step(STEPS)
        return [runs.trajectory(run_id) for run_id in ids]

    together = trajectories(configs)
    return [trajectories([config])[0] for config in configs], together


def _same_paths(alone: list, together: list, what: str) -> None:
    for run, (one, batched) in enumerate(zip(alone, together, strict=True)):
        if one.x.shape != batched.x.shape or not np.array_equal(one.x, batched.x, equal_nan=True):
            worst = (
                float(np.nanmax(np.abs(one.x - batched.x)))
                if one.x.shape == batched.x.shape
                else float("nan")
            )
            _fail(
                f"{what}: run {run} alone differs from the same run in a batch of "
                f"{len(together)} (by {worst:.3g}); rows must not influence each other "
                "(no reductions over the batch axis, zoo.problem.row_matmul instead of x @ A)"
            )
        if one.status != batched.status:
            _fail(f"{what}: run {run} is {one.status} alone but {batched.status} in a batch")


def _no_failures(trajectories: list, configs: list, what: str) -> None:
    for trajectory, config in zip(trajectories, configs, strict=True):
        if trajectory.status.state == "failed":
            _fail(f"{what}: the run {dict(config.hyper)} failed: {trajectory.status.message}")


def check_batched(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: each run is bitwise the same alone and in a batch."""
    problem = _reference(env, spec)
    configs = _configs(spec, problem)
    alone, together = _alone_and_batched(problem, _kit_registry(env, spec), configs)
    _no_failures(together, configs, "in a batch")
    _same_paths(alone, together, "at the defaults")


def check_evaluations(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: a run is charged the same evaluations alone and in a batch."""
    problem = _reference(env, spec)
    configs = _configs(spec, problem)
    alone, together = _alone_and_batched(problem, _kit_registry(env, spec), configs)
    for run, (one, batched) in enumerate(zip(alone, together, strict=True)):
        if one.evals != batched.evals:
            _fail(
                f"run {run} makes {_counts(one.evals)} alone but {_counts(batched.evals)} in a "
                "batch; evaluate runs on their own through problem.for_rows(rows) so that "
                "only they are charged"
            )


def _counts(evals: dict[str, int]) -> str:
    return ", ".join(f"{kind}={count}" for kind, count in evals.items() if count) or "none"


def check_schedule_applies(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: a schedule's factor ½ on ``lr`` changes the path, and gives the
    same one as ``lr`` halved."""
    param = next((p for p in spec.params if p.name == "lr" and p.kind == "float"), None)
    if param is None:
        raise NotApplicable("no float parameter lr for a schedule to drive")
    rate = float(param.default)
    if param.low is not None and rate / 2 < param.low:
        raise NotApplicable("lr halved is below its range")
    from zoo.engine import RunConfig

    problem = _reference(env, spec)
    registry = _kit_registry(env, spec, HALF)
    start = tuple(_starts(problem)[0])
    configs = [
        RunConfig(spec.name, {"lr": rate}, HALF.name, start=start, seed=1),
        RunConfig(spec.name, {"lr": rate / 2}, start=start, seed=1),
        RunConfig(spec.name, {"lr": rate}, start=start, seed=1),
    ]
    _, (scheduled, halved, plain) = _alone_and_batched(problem, registry, configs)
    _no_failures([scheduled], configs[:1], "under a schedule")
    if np.array_equal(scheduled.x, plain.x, equal_nan=True):
        _fail(
            "a schedule's factor ½ on lr leaves the path unchanged; take the learning rate "
            "from hyper['lr'] at every step"
        )
    if not np.array_equal(scheduled.x, halved.x, equal_nan=True):
        _fail(
            "a schedule's factor ½ on lr gives another path than lr halved; read "
            "hyper['lr'] at every step instead of keeping it elsewhere"
        )


def _discrete_values(param: Param, env: _Env) -> list[Any]:
    if param.kind == "bool":
        return [False, True]
    if param.kind == "choice":
        return list(param.choices)
    if param.kind == "activation":
        return sorted(env.registry.activations) if env.registry is not None else [param.default]
    if param.kind == "int":
        values = [param.default, param.low, param.high]
        return sorted({int(v) for v in values if v is not None})
    return []  # text: the default only


def check_discrete_values(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: every value of every discrete parameter (each choice, both
    booleans, an int's low and high) runs, in its own batch, as it does alone."""
    settings = [
        (param.name, value)
        for param in spec.params
        if param.discrete
        for value in _discrete_values(param, env)
    ]
    if not settings:
        raise NotApplicable("no discrete parameters")
    from zoo.engine import RunConfig

    problem = _reference(env, spec)
    start = tuple(_starts(problem)[0])
    configs = [
        RunConfig(spec.name, {name: value}, start=start, seed=index + 1)
        for index, (name, value) in enumerate(settings)
        if not _refused(spec, env, problem, name, value)
    ]
    alone, together = _alone_and_batched(problem, _kit_registry(env, spec), configs)
    _no_failures(together, configs, "with a discrete setting")
    _same_paths(alone, together, "over the discrete settings")


def _refused(spec: OptimizerSpec, env: _Env, problem: Problem, name: str, value: Any) -> bool:
    """Whether ``init`` refuses the setting with ``ValueError``, as torch refuses Nesterov
    momentum without momentum: settings that do not go together, not a fault."""
    hyper = _hyper(spec, 1, env.registry, np.array([1]))
    hyper[name] = value
    try:
        spec.init(problem, _starts(problem)[:1], hyper)
    except ValueError:
        return True
    except Exception:
        return False  # a fault: the run reports it
    return False


def check_minibatches(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: on minibatches (each run its own) a run still works, and is the
    same alone and in a batch."""
    problem = _reference(env, spec)
    if "samples" not in problem.provides:
        raise NotApplicable("the reference problem has no samples")
    _, starts, hyper = _direct(spec, env)
    part = problem.minibatch(hyper["seed"][:, 0], np.zeros(BATCH, dtype=np.int64), MINIBATCH)
    try:
        with np.errstate(all="ignore"):
            spec.step(part, starts, spec.init(problem, starts.copy(), hyper), hyper)
    except Exception as error:
        from zoo.guard import describe

        _fail(
            f"step on a minibatch raised {describe(error)}; each row of x is a run with its "
            "own samples, so evaluate the problem at x of B rows (or through for_rows)"
        )
    configs = _configs(spec, problem, batch_size=MINIBATCH)
    alone, together = _alone_and_batched(problem, _kit_registry(env, spec), configs)
    _no_failures(together, configs, f"on minibatches of {MINIBATCH}")
    _same_paths(alone, together, f"on minibatches of {MINIBATCH}")


def check_finite(spec: OptimizerSpec, env: _Env) -> None:
    """Through ``RunSet``: at its defaults the method neither fails nor diverges on the
    reference problem within a few steps."""
    problem = _reference(env, spec)
    configs = _configs(spec, problem)
    _, together = _alone_and_batched(problem, _kit_registry(env, spec), configs)
    _no_failures(together, configs, "at the defaults")
    for run, trajectory in enumerate(together):
        if trajectory.status.state == "diverged" or not np.all(np.isfinite(trajectory.x)):
            _fail(
                f"run {run} diverged within {STEPS} steps at the defaults on the reference "
                "problem; check the step's arithmetic or choose safer defaults"
            )


# --------------------------------------------------------------------- models
def _context(registry: Any, seed: int) -> BuildContext:
    activations = registry.activations if registry is not None else {}
    return BuildContext(activations=activations, rng=np.random.default_rng(seed))


def _variants(spec: ModelSpec, env: _Env) -> list[tuple[str, dict[str, Any]]]:
    """(label, settings): the defaults, then each ``Param`` at its low, its high, its other
    choices (every registered activation for an activation), one at a time."""
    if env.settings is not None:
        text = ", ".join(f"{k}={v}" for k, v in env.settings.items())
        return [(text or "the defaults", dict(env.settings))]
    variants: list[tuple[str, dict[str, Any]]] = [("the defaults", {})]
    for param in spec.params:
        values: list[tuple[Any, str]] = []
        if param.kind in ("float", "int"):
            for bound in ("low", "high"):
                value = getattr(param, bound)
                if value is not None:
                    values.append((int(value) if param.kind == "int" else float(value), bound))
        elif param.kind == "bool":
            values.append((not param.default, "other"))
        elif param.kind == "choice":
            values.extend((choice, "choice") for choice in param.choices)
        elif param.kind == "activation" and env.registry is not None:
            values.extend((name, "activation") for name in sorted(env.registry.activations))
        for value, what in values:
            if value != param.default:
                variants.append((f"{param.name}={value} ({what})", {param.name: value}))
    return variants


def _problems(spec: ModelSpec, env: _Env) -> Iterator[tuple[str, dict, Problem]]:
    """The problems a model builds at each of its variants; building is checked by
    ``check_build`` alone (here a variant that does not build is passed over, and the
    other checks do not apply to a model that does not build at its defaults)."""
    for label, settings in _variants(spec, env):
        built = env.built.get(label)
        if built is None:
            built = env.built[label] = _build(spec, env, settings)
        if isinstance(built, BaseException):
            if label == "the defaults" or env.settings is not None:
                raise NotApplicable(f"the model does not build at {label} (see build)")
            continue
        values, problem = built
        yield label, values, problem


def _build(spec: ModelSpec, env: _Env, settings: dict[str, Any]):
    """(values, problem), or the exception that stopped it."""
    try:
        activations = list(env.registry.activations) if env.registry is not None else None
        values = resolve_values(
            spec.params, settings, where=f"model {spec.name}", activations=activations or None
        )
        with np.errstate(all="ignore"):
            problem = spec.build(values, _context(env.registry, 0))
    except Exception as error:
        return error
    return values, problem


def _reason(error: BaseException) -> str:
    from zoo.guard import describe

    return f"build raised {describe(error)}"


def _each(spec: ModelSpec, env: _Env, check: Callable[[str, dict, Problem], None]) -> int:
    """Run ``check`` at every variant that builds, naming the variant in its failure;
    how many variants it applied to (``check`` raises ``NotApplicable`` to pass one)."""
    applied, reasons = 0, []
    for label, values, problem in _problems(spec, env):
        try:
            with np.errstate(all="ignore"):
                check(label, values, problem)
        except NotApplicable as reason:
            reasons.append(str(reason))
            continue
        except AssertionError as failure:
            _fail(f"at {label}: {failure}")
        applied += 1
    if not applied:
        raise NotApplicable(f"{reasons[0]} at any setting" if reasons else "no settings")
    return applied


def _sample_points(problem: Problem, rng: np.random.Generator, count: int) -> np.ndarray:
    (x0, x1), (y0, y1) = problem.bounds
    if problem.dim == 1:
        return rng.uniform(x0, x1, size=(count, 1))
    a = rng.uniform(x0, x1, size=count)
    b = rng.uniform(y0, y1, size=count)
    points = np.asarray(problem.from_view(a, b), dtype=float)
    if problem.dim > 2:  # also leave the plane: the gradient must be right everywhere
        points = points + 0.05 * rng.normal(size=points.shape)
    return points


def _points(problem: Problem) -> np.ndarray:
    """The start and four points of the view at which the loss is finite."""
    start = np.asarray(problem.start, dtype=float)
    points = np.vstack([start[None, :], _sample_points(problem, np.random.default_rng(1), 4)])
    finite = np.isfinite(np.asarray(problem.loss(points), dtype=float))
    return points[finite] if finite[0] else points[:1]


def _directions(dim: int) -> np.ndarray:
    """The coordinate axes of a small model, random unit directions of a large one."""
    if dim <= FULL_DIFFERENCES:
        return np.eye(dim)
    directions = np.random.default_rng(2).standard_normal((DIRECTIONS, dim))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def _differences(function: Callable, x: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Central differences of ``function`` (B, D) → (B, …) along each direction: (B, …, K).

    One call of B rows per shift, so a minibatch problem (a row per run) can answer."""
    step = 1e-6 * np.maximum(1.0, np.abs(x).max(axis=1))
    columns = []
    for direction in directions:
        shift = step[:, None] * direction[None, :]
        delta = np.asarray(function(x + shift)) - np.asarray(function(x - shift))
        columns.append(delta / (2 * step.reshape((len(x),) + (1,) * (delta.ndim - 1))))
    return np.stack(columns, axis=-1)


def _compare(analytic: np.ndarray, function: Callable, x: np.ndarray, what: str) -> None:
    """``analytic`` (B, …, D), the derivative of ``function``, against differences."""
    directions = _directions(x.shape[1])
    numeric = _differences(function, x, directions)
    analytic = np.asarray(analytic, dtype=float)
    if analytic.shape[:-1] != numeric.shape[:-1] or analytic.shape[-1] != x.shape[1]:
        _fail(f"{what} has shape {analytic.shape}, expected {(*numeric.shape[:-1], x.shape[1])}")
    along = analytic @ directions.T
    scale = max(1.0, float(np.nanmax(np.abs(numeric)))) if numeric.size else 1.0
    error = np.abs(along - numeric)
    bad = ~(error <= DERIVATIVE_RTOL * (np.abs(numeric) + 1e-3 * scale))
    if bad.any():
        index = np.unravel_index(np.argmax(np.where(bad, error, 0)), error.shape)
        axis = "axis" if len(directions) == x.shape[1] else "direction"
        _fail(
            f"{what} differs from central differences at point {index[0]} along {axis} "
            f"{index[-1]}: {along[index]:.8g} vs {numeric[index]:.8g}; fix the derivative"
        )


def check_build(spec: ModelSpec, env: _Env) -> None:
    """Builds at its defaults and at every setting's extremes (or refuses settings that do
    not go together with ``ValueError``); the problem keeps the contract."""
    for label, settings in _variants(spec, env):
        built = env.built.get(label)
        if built is None:
            built = env.built[label] = _build(spec, env, settings)
        if isinstance(built, BaseException):
            refused = isinstance(built, ValueError) and label != "the defaults"
            if not refused:
                _fail(f"at {label}: {_reason(built)}")
            continue
        _, problem = built
        where = f"at {label}"
        if not isinstance(problem, Problem):
            _fail(f"{where}: build returned {type(problem).__name__}; return a zoo.Problem")
        errors = contract_errors(problem)
        if errors:
            _fail(f"{where}: {errors[0]}")
        minima = np.asarray(problem.minima, dtype=float)
        if minima.ndim != 2 or minima.shape[1] != problem.dim:
            _fail(f"{where}: minima must have shape (K, {problem.dim}), got {minima.shape}")
        start = np.asarray(problem.start, dtype=float)
        with np.errstate(all="ignore"):
            loss = np.asarray(problem.loss(start[None, :]))
        if loss.shape != (1,):
            _fail(f"{where}: loss of one point has shape {loss.shape}; return (B,)")
        if not np.isfinite(loss[0]):
            _fail(f"{where}: the loss is not finite at the start")


def check_gradient(spec: ModelSpec, env: _Env) -> None:
    """The gradient matches central differences of the loss."""

    def gradient(label, values, problem):
        if "grad" not in problem.provides:
            raise NotApplicable("no gradient")
        x = _points(problem)
        _compare(problem.grad(x), problem.loss, x, "grad")

    _each(spec, env, gradient)


def check_hessian(spec: ModelSpec, env: _Env) -> None:
    """A Hessian the model writes itself matches central differences of its gradient."""

    def hessian(label, values, problem):
        if "grad" not in problem.provides or type(problem).hess is Problem.hess:
            raise NotApplicable("no Hessian of its own")
        if problem.dim > HESSIAN_DIM:
            raise NotApplicable(f"more than {HESSIAN_DIM} weights")
        x = _points(problem)
        _compare(problem.hess(x), problem.grad, x, "hess")

    _each(spec, env, hessian)


def check_least_squares(spec: ModelSpec, env: _Env) -> None:
    """The Jacobian matches central differences of the residuals, and the loss is ½‖r‖²."""

    def least_squares(label, values, problem):
        if "residuals" not in problem.provides:
            raise NotApplicable("not a least-squares model")
        x = _points(problem)
        _compare(problem.jacobian(x), problem.residuals, x, "jacobian")
        r = np.asarray(problem.residuals(x))
        if not np.allclose(0.5 * (r * r).sum(axis=1), problem.loss(x), rtol=1e-9, atol=1e-12):
            _fail("the loss must equal ½‖residuals‖² for a least-squares model")

    _each(spec, env, least_squares)


def check_minima(spec: ModelSpec, env: _Env) -> None:
    """The gradient vanishes at every listed minimum."""

    def minima(label, values, problem):
        points = np.asarray(problem.minima, dtype=float)
        if not len(points) or "grad" not in problem.provides:
            raise NotApplicable("no minima listed")
        gradient = np.abs(np.asarray(problem.grad(points)))
        scale = max(1.0, float(np.max(np.abs(problem.grad(_points(problem))))))
        if np.max(gradient) > 1e-6 * scale:
            worst = int(np.argmax(gradient.max(axis=1)))
            _fail(
                f"the gradient at the listed minimum {points[worst]} is "
                f"{gradient[worst].max():.3g}, not zero; list only stationary points"
            )

    _each(spec, env, minima)


def check_rows(spec: ModelSpec, env: _Env) -> None:
    """Each point alone gives bitwise what it gives in a batch (loss, gradient, residuals,
    Jacobian, Hessian): one run's numbers never depend on the others."""

    def rows(label, values, problem):
        x = _points(problem)
        provides = problem.provides
        methods = [("loss", problem.loss)]
        if "grad" in provides:
            methods.append(("grad", problem.grad))
            if type(problem).hess is not Problem.hess and problem.dim <= HESSIAN_DIM:
                methods.append(("hess", problem.hess))
        if "residuals" in provides:
            methods += [("residuals", problem.residuals), ("jacobian", problem.jacobian)]
        for name, method in methods:
            batched = np.asarray(method(x))
            for row in range(len(x)):
                alone = np.asarray(method(x[row : row + 1]))
                if not np.array_equal(alone[0], batched[row], equal_nan=True):
                    _fail(
                        f"{name} of point {row} alone differs from the same point in a batch "
                        f"of {len(x)}; evaluate each row on its own (zoo.problem.row_matmul "
                        "instead of x @ A, no sums over the batch axis)"
                    )

    _each(spec, env, rows)


def check_seed(spec: ModelSpec, env: _Env) -> None:
    """Built twice with the same seed, it is the same problem (draw only from ``ctx.rng``)."""

    def seed(label, values, problem):
        twin = spec.build(values, _context(env.registry, 0))
        x = _points(problem)
        if not np.array_equal(twin.loss(x), problem.loss(x), equal_nan=True):
            _fail(
                "building twice with the same seed gave different problems; draw every "
                "random number from ctx.rng"
            )

    _each(spec, env, seed)


def check_minibatch(spec: ModelSpec, env: _Env) -> None:
    """``minibatch(seeds, steps, size)`` gives each run its own samples from its seed and
    step: row b equals run b's minibatch alone, ``for_rows`` keeps them, other seeds
    draw others, and its gradient is right."""

    def minibatch(label, values, problem):
        if "samples" not in problem.provides:
            raise NotApplicable("no samples")
        seeds, steps = np.array([3, 5, 3]), np.array([0, 0, 1])
        count = int(problem.n_samples)
        part = problem.minibatch(seeds, steps, MINIBATCH)
        if not isinstance(part, Problem) or part.dim != problem.dim:
            _fail("minibatch must return a zoo.Problem with the same dim")
        expected = min(MINIBATCH, count)
        if part.n_samples != expected:
            _fail(f"a minibatch of {MINIBATCH} has n_samples {part.n_samples}, not {expected}")
        start = np.asarray(problem.start, dtype=float)
        x = start + np.array([[0.0], [0.05], [-0.05]])
        loss = np.asarray(part.loss(x))
        if loss.shape != (3,) or not np.all(np.isfinite(loss)):
            _fail(f"the minibatch loss at 3 points near the start is {loss}; want 3 finite")
        for row in range(3):
            alone = problem.minibatch(seeds[row : row + 1], steps[row : row + 1], MINIBATCH)
            if not np.array_equal(alone.loss(x[row : row + 1])[0], loss[row]):
                _fail(
                    f"row {row} of minibatch(seeds, steps, size) differs from run {row}'s "
                    "minibatch alone; draw run b's samples from seeds[b] and steps[b] only "
                    "(zoo.run_sample) and evaluate row b of x on them"
                )
            if not np.array_equal(part.for_rows([row]).loss(x[row : row + 1])[0], loss[row]):
                _fail(f"for_rows([{row}]) of a minibatch does not keep run {row}'s samples")
        # Eight runs at one point draw other samples, so their losses differ, wherever
        # single samples (minibatches of one) have different losses.
        runs = problem.minibatch(np.arange(8), np.zeros(8, dtype=np.int64), MINIBATCH)
        ones = problem.minibatch(np.arange(16), np.zeros(16, dtype=np.int64), 1)
        telling = [p for p in _points(problem) if np.ptp(ones.loss(np.stack([p] * 16))) > 0]
        if (
            count > MINIBATCH
            and telling
            and all(np.ptp(runs.loss(np.stack([p] * 8))) == 0 for p in telling)
        ):
            _fail(
                "runs with other seeds or steps drew the same minibatch; draw from each "
                "run's seed and step"
            )
        if "grad" in part.provides:
            _compare(part.grad(x), part.loss, x, "the minibatch's grad")

    _each(spec, env, minibatch)


def check_data(spec: ModelSpec, env: _Env) -> None:
    """``inputs`` are (N, n) and ``labels`` (N,) of ±1, for the local learning rules."""

    def data(label, values, problem):
        if problem.inputs is None and problem.labels is None:
            raise NotApplicable("no inputs or labels")
        if problem.inputs is not None and np.asarray(problem.inputs).ndim != 2:
            _fail(f"inputs must have shape (N, n), got {np.shape(problem.inputs)}")
        if problem.labels is not None:
            labels = np.asarray(problem.labels)
            if labels.ndim != 1 or not np.all(np.isin(labels, (-1.0, 1.0))):
                _fail(f"labels must have shape (N,) and hold ±1, got shape {labels.shape}")

    _each(spec, env, data)


# --------------------------------------------------------------------- activations
#: Where activations are compared with differences: thousands of points, off the kinks.
ACTIVATION_POINTS = np.concatenate(
    [np.linspace(-6.0, 6.0, 4001) + 0.00731, np.random.default_rng(3).normal(0.0, 3.0, 1000)]
)
#: How far out f, f′ and f″ must stay finite.
ACTIVATION_REACH = 30.0


def check_activation_shape(spec: ActivationSpec, env: _Env) -> None:
    """``f``, ``df`` and ``d2f`` are elementwise: an array keeps its shape."""
    grid = np.linspace(-3.0, 3.0, 240).reshape(3, 2, 40)
    for label, function in (("f", spec.f), ("df", spec.df), ("d2f", spec.d2f)):
        if function is None:
            continue
        value = np.asarray(function(grid))
        if value.shape != grid.shape:
            _fail(f"{label} turned shape {grid.shape} into {value.shape}; work elementwise")


def check_activation_finite(spec: ActivationSpec, env: _Env) -> None:
    """``f``, ``df`` and ``d2f`` are finite on [−30, 30] (no overflow)."""
    z = np.linspace(-ACTIVATION_REACH, ACTIVATION_REACH, 601)
    for label, function in (("f", spec.f), ("df", spec.df), ("d2f", spec.d2f)):
        if function is None:
            continue
        with np.errstate(all="ignore"):
            value = np.asarray(function(z), dtype=float)
        if not np.all(np.isfinite(value)):
            where = z[~np.isfinite(value)][0]
            _fail(f"{label}({where:g}) is not finite; compute it without overflow")


def _against_differences(function: Callable, derivative: Callable, label: str) -> None:
    z, h = ACTIVATION_POINTS, 1e-5
    with np.errstate(all="ignore"):
        coarse = (function(z + h) - function(z - h)) / (2 * h)
        fine = (function(z + h / 4) - function(z - h / 4)) / (h / 2)
        analytic = np.asarray(derivative(z), dtype=float)
    smooth = np.abs(coarse - fine) <= 1e-5 * (1 + np.abs(fine))  # off the kinks
    bad = smooth & ~(np.abs(analytic - fine) <= 1e-5 * (1 + np.abs(fine)))
    if bad.any():
        where = int(np.flatnonzero(bad)[0])
        _fail(
            f"{label}({z[where]:.4f}) = {analytic[where]:.8g} but central differences give "
            f"{fine[where]:.8g} ({int(bad.sum())} of {len(z)} points wrong)"
        )


def check_first_derivative(spec: ActivationSpec, env: _Env) -> None:
    """``df`` matches central differences of ``f`` wherever ``f`` is smooth."""
    _against_differences(spec.f, spec.df, "df")


def check_second_derivative(spec: ActivationSpec, env: _Env) -> None:
    """``d2f`` matches central differences of ``df`` wherever ``df`` is smooth."""
    if spec.d2f is None:
        raise NotApplicable("no d2f")
    _against_differences(spec.df, spec.d2f, "d2f")


# --------------------------------------------------------------------- schedules
SCHEDULE_STEPS = np.arange(0, 300)


def _factors(spec: ScheduleSpec, steps: Any) -> np.ndarray:
    values = resolve_values(spec.params, {}, where=f"schedule {spec.name}")
    return np.asarray(spec.factor(steps, **values), dtype=float)


def check_factor_shape(spec: ScheduleSpec, env: _Env) -> None:
    """``factor`` maps an array of steps to one factor each, and a (B, 1) column too."""
    factors = _factors(spec, SCHEDULE_STEPS)
    if factors.shape != SCHEDULE_STEPS.shape:
        _fail(f"factor over {SCHEDULE_STEPS.shape} steps returned {factors.shape}")
    column = _factors(spec, SCHEDULE_STEPS[:, None])
    if column.shape != (len(SCHEDULE_STEPS), 1):
        _fail(f"factor over a (B, 1) column of steps returned {column.shape}; broadcast")


def check_factor_values(spec: ScheduleSpec, env: _Env) -> None:
    """Factors are finite and not negative."""
    factors = _factors(spec, SCHEDULE_STEPS)
    bad = ~(np.isfinite(factors) & (factors >= 0))
    if bad.any():
        step = int(SCHEDULE_STEPS[np.flatnonzero(bad)[0]])
        _fail(f"factor({step}) = {factors[bad][0]}; factors must be finite and not negative")


def check_factor_scalar(spec: ScheduleSpec, env: _Env) -> None:
    """One step at a time gives what an array of steps gives."""
    factors = _factors(spec, SCHEDULE_STEPS)
    for step in (0, 1, 7, 299):
        one = float(_factors(spec, step))
        if not np.isclose(one, factors[step], rtol=1e-12, atol=0):
            _fail(f"factor({step}) = {one} alone but {factors[step]} in an array")


def check_robbins_monro(spec: ScheduleSpec, env: _Env) -> None:
    """``robbins_monro`` answers True or False."""
    if spec.robbins_monro is None:
        raise NotApplicable("no robbins_monro")
    values = resolve_values(spec.params, {}, where=f"schedule {spec.name}")
    verdict = spec.robbins_monro(**values)
    if not isinstance(verdict, (bool, np.bool_)):
        _fail(f"robbins_monro returned {verdict!r}; return True or False")


def check_schedule_runs(spec: ScheduleSpec, env: _Env) -> None:
    """Through ``RunSet``: gradient descent under the schedule runs without failing."""
    from zoo.engine import RunConfig

    def step(problem, x, state, hyper):
        return x - hyper[spec.target] * problem.grad(x), state

    descent = OptimizerSpec(
        "kit_descent", lambda problem, x, hyper: {}, step, params=(Param(spec.target, 0.1),)
    )
    problem = ReferenceProblem()
    config = RunConfig(descent.name, schedule=spec.name, start=tuple(problem.start))
    (run,), _ = _alone_and_batched(problem, _kit_registry(env, descent, spec), [config])
    _no_failures([run], [config], f"under schedule {spec.name}")


# --------------------------------------------------------------------- the checks
def check_record_valid(record: Any, env: _Env) -> None:
    """The record is well formed: a lowercase name, callables, valid ``Param``s."""
    _valid(record)


@dataclass
class _Env:
    """What the checks of one record share: the registry, the reference problem, and
    the problems built at each setting."""

    registry: Any = None
    problem: Problem = field(default_factory=ReferenceProblem)
    settings: dict[str, Any] | None = None  # models: only these settings
    built: dict[str, Any] = field(default_factory=dict)


#: The checks of each kind, in order: name → function(record, env).
CHECKS: dict[str, dict[str, Callable[[Any, _Env], None]]] = {
    "optimizer": {
        "record": check_record_valid,
        "needs": check_needs,
        "state": check_state,
        "inputs_kept": check_inputs_kept,
        "deterministic": check_deterministic,
        "batched": check_batched,
        "evaluations": check_evaluations,
        "schedule": check_schedule_applies,
        "discrete_values": check_discrete_values,
        "minibatches": check_minibatches,
        "finite": check_finite,
    },
    "model": {
        "record": check_record_valid,
        "build": check_build,
        "gradient": check_gradient,
        "hessian": check_hessian,
        "least_squares": check_least_squares,
        "minima": check_minima,
        "rows": check_rows,
        "seed": check_seed,
        "minibatch": check_minibatch,
        "data": check_data,
    },
    "activation": {
        "record": check_record_valid,
        "shape": check_activation_shape,
        "finite": check_activation_finite,
        "first_derivative": check_first_derivative,
        "second_derivative": check_second_derivative,
    },
    "schedule": {
        "record": check_record_valid,
        "factor_shape": check_factor_shape,
        "factor_values": check_factor_values,
        "factor_scalar": check_factor_scalar,
        "robbins_monro": check_robbins_monro,
        "runs": check_schedule_runs,
    },
}


@dataclass(frozen=True)
class CheckResult:
    """One check of one record: ``status`` is ``pass``, ``fail`` or ``not applicable``."""

    kind: str
    record: str
    check: str
    status: str
    message: str = ""


def run_check(kind: str, record: Any, check: str, env: _Env | None = None) -> CheckResult:
    """Run one named check on ``record``; never raises for what the record does."""
    from zoo.guard import describe

    env = env or _Env()
    name = getattr(record, "name", "?")
    try:  # under the guard, so a record that hangs or calls sys.exit() fails this check
        guard.call(guard.Origin(kind, name), "check", CHECKS[kind][check], record, env)
    except guard.PluginTimeout as timeout:
        return CheckResult(kind, name, check, FAIL, timeout.reason)
    except guard.PluginFault as fault:
        error = fault.__cause__
        if isinstance(error, NotApplicable):
            return CheckResult(kind, name, check, SKIP, str(error))
        if isinstance(error, AssertionError):
            return CheckResult(kind, name, check, FAIL, str(error))
        return CheckResult(kind, name, check, FAIL, f"raised {describe(error)}")
    return CheckResult(kind, name, check, PASS)


def run_checks(
    kind: str,
    record: Any,
    registry: Any = None,
    *,
    problem: Problem | None = None,
    settings: dict[str, Any] | None = None,
) -> list[CheckResult]:
    """Every check of ``kind`` on ``record``: one result each.

    ``problem`` replaces the reference problem of optimizer checks; ``settings`` checks a
    model at those settings only, instead of its defaults and every setting's extremes."""
    env = _Env(registry if registry is not None else _default_registry(), settings=settings)
    if problem is not None:
        env.problem = problem
    results: list[CheckResult] = []
    hung = ""  # once a check hangs, the others would hang too, a budget each
    for check in CHECKS[kind]:
        if hung:
            name = getattr(record, "name", "?")
            results.append(CheckResult(kind, name, check, FAIL, f"not run: {hung}"))
            continue
        results.append(run_check(kind, record, check, env))
        if results[-1].message.startswith("did not return within"):
            hung = f"the [{check}] check {results[-1].message}"
    return results


def _default_registry() -> Any:
    from zoo.registry import load_registry

    return load_registry(local=False)


def _raise_failures(results: list[CheckResult]) -> None:
    failures = [r for r in results if r.status == FAIL]
    if failures:
        name = f"{failures[0].kind} {failures[0].record}"
        _fail(f"{name}: " + "; ".join(f"[{r.check}] {r.message}" for r in failures))


def check_optimizer(
    spec: OptimizerSpec, registry: Any = None, problem: Problem | None = None
) -> None:
    """Every optimizer check; ``AssertionError`` naming each one that fails."""
    _raise_failures(run_checks("optimizer", spec, registry, problem=problem))


def check_model(
    spec: ModelSpec, registry: Any = None, settings: dict[str, Any] | None = None
) -> None:
    """Every model check (at ``settings`` only, if given); ``AssertionError`` naming each
    one that fails."""
    _raise_failures(run_checks("model", spec, registry, settings=settings))


def check_activation(spec: ActivationSpec, registry: Any = None) -> None:
    """Every activation check; ``AssertionError`` naming each one that fails."""
    _raise_failures(run_checks("activation", spec, registry))


def check_schedule(spec: ScheduleSpec, registry: Any = None) -> None:
    """Every schedule check; ``AssertionError`` naming each one that fails."""
    _raise_failures(run_checks("schedule", spec, registry))


@dataclass(frozen=True)
class KitCheck:
    """One (record, check) pair for a parametrised test: call it to run the check."""

    kind: str
    record: Any
    check: str
    env: _Env

    def __call__(self) -> None:
        import pytest

        result = run_check(self.kind, self.record, self.check, self.env)
        if result.status == SKIP:
            pytest.skip(result.message)
        if result.status == FAIL:
            pytest.fail(f"{self.kind} {result.record} [{self.check}]: {result.message}", False)


def parametrize_checks(
    kind: str | None = None, plugin: str | None = None, registry: Any = None
) -> Any:
    """A ``pytest.mark.parametrize`` over every (record, check) of the registry's records
    (of ``kind``, of ``plugin``), like scikit-learn's ``parametrize_with_checks``.

    The test receives ``check``; calling it runs the check, skipping it where it does
    not apply."""
    import pytest

    registry = registry if registry is not None else _default_registry()
    cases = [
        KitCheck(record_kind, record, check, env)
        for record_kind, name, record in registry
        if (kind is None or record_kind == kind)
        and (plugin is None or registry.provenance(record_kind, name).plugin == plugin)
        for env in [_Env(registry)]  # shared by the record's checks: each build once
        for check in CHECKS[record_kind]
    ]
    return pytest.mark.parametrize(
        "check", cases, ids=[f"{c.kind}-{c.record.name}-{c.check}" for c in cases]
    )


# --------------------------------------------------------------------- zoo check
@dataclass
class CheckReport:
    """What ``zoo check`` found: loading failures and one result per (record, check)."""

    target: str
    plugin: str
    results: list[CheckResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    note: str = ""

    def count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def failed(self) -> int:
        """Failed checks, loading failures, and a plugin that provides nothing."""
        empty = not self.results and not self.failures
        return self.count(FAIL) + len(self.failures) + int(empty)

    @property
    def passed(self) -> bool:
        return self.failed == 0

    def lines(self) -> Iterator[str]:
        yield f"Checking plugin {self.plugin!r} ({self.target})"
        if self.note:
            yield self.note
        for message in self.failures:
            yield f"FAIL  loading: {message}"
        if not self.results and not self.failures:
            yield "FAIL  the plugin provides no records (is @zoo.hookimpl on its hook functions?)"
        records = itertools.groupby(self.results, key=lambda r: (r.kind, r.record))
        for (kind, name), group in records:
            results = list(group)
            failing = [r for r in results if r.status == FAIL]
            if not failing:
                ran = sum(r.status == PASS for r in results)
                yield f"PASS  {kind} {name} ({ran} checks)"
            for result in failing:
                yield f"FAIL  {kind} {name} [{result.check}]: {result.message}"
        yield (
            f"{self.count(PASS)} passed, {self.failed} failed, {self.count(SKIP)} not applicable"
        )


def check_plugin(target: str) -> CheckReport:
    """Load ``target`` (module, .py file or loaded plugin name) and check its records.

    A file that is a loaded plugin's own file, or another copy of an installed plugin's
    module (``src/pkg/plugin.py`` of the installed ``pkg.plugin``), is that plugin: its
    records are checked from the file, in place of the loaded ones, not reported as
    duplicates."""
    from zoo.registry import load_registry

    registry = load_registry()
    loaded = {p.name for p in registry.plugins}
    failed = {f.plugin for f in registry.failures}
    note = ""
    if target.endswith(".py") and Path(target).is_file():
        path = Path(target).resolve()
        name = _plugin_of_file(registry, path)
        if name is None or _file_of(registry, name) != path:
            if name is not None:  # another copy of a loaded plugin: check this one
                note = f"(the file stands in for the loaded plugin {name!r})"
                registry.unregister(name)
            else:
                name = path.stem if path.stem not in loaded else f"{path.stem}_file"
            module = _import_file(path, name, registry)
            if module is not None:
                registry.register(module, name=name, source=str(path))
    elif target in loaded or target in failed:
        name = target
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError:
            valid = ", ".join(sorted(loaded))
            raise LookupError(
                f"no module or loaded plugin named {target!r} (loaded plugins: {valid})"
            ) from None
        except Exception as error:
            report = CheckReport(target, target)
            report.failures.append(f"import failed: {type(error).__name__}: {error}")
            return report
        name = next(
            (p.name for p in registry.plugins if registry.plugin_object(p.name) is module), None
        )
        if name is None:
            name = target
            registry.register(module, name=name, source=f"module {target}")
    report = CheckReport(target, name, note=note)
    report.failures.extend(f.message for f in registry.failures if f.plugin == name)
    for kind, record_name, record in registry:
        if registry.provenance(kind, record_name).plugin == name:
            report.results.extend(run_checks(kind, record, registry))
    return report


def _plugin_of_file(registry: Any, path: Path) -> str | None:
    """The loaded plugin ``path`` is a copy of: the same file, or a file whose trailing
    folders spell the plugin's module (``…/zoo_plugins/optimizers/first_order.py`` for
    ``zoo_plugins.optimizers.first_order``), or a local plugin of the same name."""
    for plugin in registry.plugins:
        if path in (Path(plugin.source).resolve(), _file_of(registry, plugin.name)):
            return plugin.name
    for plugin in registry.plugins:
        module = getattr(registry.plugin_object(plugin.name), "__name__", "")
        parts = module.split(".")
        if not module:
            continue
        if path.with_suffix("").parts[-len(parts) :] == tuple(parts):
            return plugin.name
        if path.name == "__init__.py" and path.parent.parts[-len(parts) :] == tuple(parts):
            return plugin.name
    local = {p.name for p in registry.plugins if p.origin == "local folder"}
    return path.stem if path.stem in local else None


def _file_of(registry: Any, name: str) -> Path | None:
    location = getattr(registry.plugin_object(name), "__file__", None)
    return Path(location).resolve() if location else None


def _import_file(path: Path, name: str, registry: Any) -> Any:
    import importlib.util

    from zoo.guard import describe
    from zoo.registry import PluginFailure

    spec = importlib.util.spec_from_file_location(f"zoo_checked_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        registry.failures.append(
            PluginFailure(name, str(path), f"import failed: {describe(error)}")
        )
        return None
    return module
