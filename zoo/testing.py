"""The conformance kit: the checks every record must pass, for plugin authors and built-ins.

Each ``check_*`` raises ``AssertionError`` with a readable reason.  In a plugin's own test
suite::

    from zoo.testing import check_optimizer, parametrize_records

    @parametrize_records("optimizer", plugin="myplugin")
    def test_conforms(record, registry):
        check_optimizer(record, registry)

``zoo check MODULE_OR_PLUGIN`` runs the same checks from the command line.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zoo.problem import BuildContext, Problem, missing_needs, row_matmul
from zoo.randomness import run_sample
from zoo.specs import (
    ActivationSpec,
    ModelSpec,
    OptimizerSpec,
    ScheduleSpec,
    SpecError,
    resolve_values,
    validate_record,
)

#: Relative tolerance of analytic derivatives against central differences.
DERIVATIVE_RTOL = 1e-4
BATCH = 3
STEPS = 5


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
            _fail(
                f"{self._name}: uses problem.{attribute} without declaring it; "
                f"add {need!r} to needs"
            )
        return getattr(self._problem, attribute)

    def for_rows(self, rows) -> NeedsProblem:
        return self


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
                column = column * 0.5 ** np.arange(batch)[:, None]
            hyper[param.name] = column
    hyper["seed"] = seeds.reshape(batch, 1).astype(np.int64)
    return hyper


def _rows(hyper: dict[str, Any], rows: slice) -> dict[str, Any]:
    return {k: (v[rows] if isinstance(v, np.ndarray) else v) for k, v in hyper.items()}


def _run(spec: OptimizerSpec, problem: Problem, x: np.ndarray, hyper: dict, steps: int):
    state = spec.init(problem, x.copy(), hyper)
    path = [x]
    for _ in range(steps):
        x, state = spec.step(problem, x, state, hyper)
        path.append(np.asarray(x))
    return np.stack(path, axis=1), state


def check_optimizer(
    spec: OptimizerSpec, registry: Any = None, problem: Problem | None = None
) -> None:
    """Record valid; init/step shapes; no mutation; batched == single; deterministic."""
    _valid(spec)
    problem = problem or ReferenceProblem()
    missing = missing_needs(spec.needs, problem)
    if missing:
        _fail(f"{spec.name}: the reference problem lacks {sorted(missing)}; pass a problem")
    problem = NeedsProblem(problem, spec.needs, spec.name)
    dim = problem.dim
    starts = (
        np.asarray(problem.start, dtype=float)
        + np.array([[0.0] * dim, [0.3] * dim, [-0.2] * dim])[:, :dim]
    )
    seeds = np.array([1, 2, 3])
    hyper = _hyper(spec, BATCH, registry, seeds)

    state = spec.init(problem, starts.copy(), hyper)
    if not isinstance(state, dict):
        _fail(f"{spec.name}: init returned {type(state).__name__}, expected a dict of arrays")
    for name, value in state.items():
        value = np.asarray(value)
        if value.ndim == 0 or value.shape[0] != BATCH:
            _fail(
                f"{spec.name}: state[{name!r}] has shape {value.shape}; the leading axis must "
                f"be the batch ({BATCH})"
            )
    x_before = starts.copy()
    state_before = {k: np.array(v, copy=True) for k, v in state.items()}
    x_in = starts.copy()
    result = spec.step(problem, x_in, state, hyper)
    if not (isinstance(result, tuple) and len(result) == 2):
        _fail(f"{spec.name}: step must return (x_new, state)")
    x_new, new_state = result
    if np.shape(x_new) != starts.shape:
        _fail(f"{spec.name}: step returned x of shape {np.shape(x_new)}, expected {starts.shape}")
    if not np.array_equal(x_in, x_before):
        _fail(f"{spec.name}: step mutated its input x")
    for name, value in state.items():
        if not np.array_equal(np.asarray(value), state_before[name], equal_nan=True):
            _fail(f"{spec.name}: step mutated the input state[{name!r}]")
    if not isinstance(new_state, dict) or set(new_state) != set(state):
        _fail(f"{spec.name}: step must return a state dict with the same keys as init's")
    if spec.stop_reasons and np.shape(state.get("stop")) != (BATCH,):
        _fail(
            f"{spec.name}: stop_reasons needs a state array 'stop' of shape (B,) = ({BATCH},); "
            f"init's state has {sorted(state)}"
        )
    for field_name in ("momentum_key", "scaling_key"):
        key = getattr(spec, field_name)
        if key and np.shape(state.get(key)) != starts.shape:
            _fail(
                f"{spec.name}: {field_name} {key!r} must name a state array of shape "
                f"(B, D) = {starts.shape}; init's state has {sorted(state)}"
            )

    with np.errstate(all="ignore"):
        batched, _ = _run(spec, problem, starts, hyper, STEPS)
        again, _ = _run(spec, problem, starts, hyper, STEPS)
        if not np.array_equal(batched, again, equal_nan=True):
            _fail(f"{spec.name}: two identical runs differ (hidden global state or unseeded noise)")
        for row in range(BATCH):
            single, _ = _run(
                spec, problem, starts[row : row + 1], _rows(hyper, slice(row, row + 1)), STEPS
            )
            if not np.allclose(single[0], batched[row], rtol=1e-10, atol=1e-12, equal_nan=True):
                worst = np.nanmax(np.abs(single[0] - batched[row]))
                _fail(
                    f"{spec.name}: run {row} alone differs from the same run in a batch "
                    f"(max difference {worst:.3g}); rows must not influence each other"
                )
    if not np.all(np.isfinite(batched)):
        _fail(
            f"{spec.name}: non-finite iterates within {STEPS} steps at default settings on the "
            "reference problem"
        )


# --------------------------------------------------------------------- models
def _central_difference(function: Callable, x: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """d function / dx at each row of x: (B, ...) → (B, ..., D)."""
    batch, dim = x.shape
    columns = []
    for i in range(dim):
        h = step * np.maximum(1.0, np.abs(x[:, i]))
        shift = np.zeros_like(x)
        shift[:, i] = h
        delta = np.asarray(function(x + shift)) - np.asarray(function(x - shift))
        columns.append(delta / (2 * h.reshape((batch,) + (1,) * (delta.ndim - 1))))
    return np.stack(columns, axis=-1)


def _close(analytic: np.ndarray, numeric: np.ndarray, what: str, name: str) -> None:
    scale = max(1.0, float(np.nanmax(np.abs(numeric)))) if numeric.size else 1.0
    error = np.abs(analytic - numeric)
    tolerance = DERIVATIVE_RTOL * (np.abs(numeric) + 1e-3 * scale)
    if analytic.shape != numeric.shape:
        _fail(f"model {name}: {what} has shape {analytic.shape}, expected {numeric.shape}")
    bad = ~(error <= tolerance)
    if bad.any():
        index = np.unravel_index(np.argmax(np.where(bad, error / tolerance, 0)), error.shape)
        _fail(
            f"model {name}: {what} differs from central differences at {index}: "
            f"{analytic[index]:.8g} vs {numeric[index]:.8g}"
        )


def _context(registry: Any, seed: int) -> BuildContext:
    if registry is None:
        from zoo.registry import load_registry

        registry = load_registry(local=False)
    return BuildContext(activations=registry.activations, rng=np.random.default_rng(seed))


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


def check_model(
    spec: ModelSpec, registry: Any = None, settings: dict[str, Any] | None = None
) -> None:
    """Build; shapes; gradient, Hessian and Jacobian against central differences; minima
    stationary; batched == single; same seed, same problem; minibatches."""
    _valid(spec)
    context = _context(registry, 0)
    values = resolve_values(
        spec.params,
        settings,
        where=f"model {spec.name}",
        activations=list(context.activations) or None,
    )
    problem = spec.build(values, context)
    name = spec.name
    if not isinstance(problem, Problem):
        _fail(f"model {name}: build returned {type(problem).__name__}, not a zoo.Problem")
    dim = problem.dim
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        _fail(f"model {name}: dim must be a positive int, got {dim!r}")
    (x0, x1), (y0, y1) = problem.bounds
    if not (x0 < x1 and y0 < y1):
        _fail(f"model {name}: bounds {problem.bounds} are empty")
    start = np.asarray(problem.start, dtype=float)
    if start.shape != (dim,) or not np.all(np.isfinite(start)):
        _fail(f"model {name}: start must be a finite array of shape ({dim},), got {start.shape}")
    minima = np.asarray(problem.minima, dtype=float)
    if minima.ndim != 2 or minima.shape[1] != dim:
        _fail(f"model {name}: minima must have shape (K, {dim}), got {minima.shape}")
    if dim > 2 and problem.plane is None:
        _fail(f"model {name}: a model with {dim} weights needs a plane to be drawn")

    rng = np.random.default_rng(1)
    points = np.vstack([start[None, :], _sample_points(problem, rng, 4)])
    with np.errstate(all="ignore"):
        loss = np.asarray(problem.loss(points))
    if loss.shape != (len(points),):
        _fail(f"model {name}: loss returned shape {loss.shape}, expected ({len(points)},)")
    finite = np.isfinite(loss)
    if not finite[0]:
        _fail(f"model {name}: loss is not finite at the start")
    points = points[finite]
    provides = problem.provides
    if "grad" in provides:
        _close(
            np.asarray(problem.grad(points)),
            _central_difference(problem.loss, points),
            "grad",
            name,
        )
        if type(problem).hess is not Problem.hess:
            _close(
                np.asarray(problem.hess(points)),
                _central_difference(problem.grad, points),
                "hess",
                name,
            )
        if len(minima):
            gradient = np.asarray(problem.grad(minima))
            scale = max(1.0, float(np.max(np.abs(problem.grad(points)))))
            if np.max(np.abs(gradient)) > 1e-6 * scale:
                _fail(
                    f"model {name}: the gradient at a listed minimum is "
                    f"{np.max(np.abs(gradient)):.3g}, not zero"
                )
    if "residuals" in provides:
        residuals = np.asarray(problem.residuals(points))
        _close(
            np.asarray(problem.jacobian(points)),
            _central_difference(problem.residuals, points),
            "jacobian",
            name,
        )
        half_square = 0.5 * np.einsum("bn,bn->b", residuals, residuals)
        if not np.allclose(half_square, problem.loss(points), rtol=1e-9, atol=1e-12):
            _fail(f"model {name}: loss must equal ½‖residuals‖² for a least-squares model")
    batched = problem.loss(points)
    for row in range(len(points)):
        single = problem.loss(points[row : row + 1])
        if not np.allclose(single, batched[row : row + 1], rtol=1e-12, atol=1e-14):
            _fail(f"model {name}: loss of one point alone differs from the same point in a batch")
    twin = spec.build(values, _context(registry, 0))
    if not np.array_equal(twin.loss(points), batched):
        _fail(f"model {name}: building twice with the same seed gave different problems")
    if "samples" in provides:
        part = problem.minibatch(np.array([0, 1]), np.array([0, 0]), 4)
        if not isinstance(part, Problem) or part.dim != dim:
            _fail(f"model {name}: minibatch must return a Problem with the same dim")
        if not np.all(np.isfinite(part.loss(np.stack([start, start])))):
            _fail(f"model {name}: minibatch loss is not finite at the start")
    if problem.inputs is not None and np.asarray(problem.inputs).ndim != 2:
        _fail(f"model {name}: inputs must have shape (N, n)")
    if problem.labels is not None and np.asarray(problem.labels).ndim != 1:
        _fail(f"model {name}: labels must have shape (N,)")


# --------------------------------------------------------------------- activations
def check_activation(spec: ActivationSpec) -> None:
    """Shapes kept; f′ and f″ match central differences wherever f is smooth."""
    _valid(spec)
    z = np.linspace(-3.0, 3.0, 240) + 0.00731  # avoid landing exactly on kinks at 0
    grid = z.reshape(3, -1)
    for label, function in (("f", spec.f), ("df", spec.df), ("d2f", spec.d2f)):
        if function is None:
            continue
        value = np.asarray(function(grid))
        if value.shape != grid.shape:
            _fail(f"activation {spec.name}: {label} changed the shape {grid.shape} → {value.shape}")
        if not np.all(np.isfinite(value)):
            _fail(f"activation {spec.name}: {label} is not finite on [-3, 3]")
    pairs = [("df", spec.f, spec.df)]
    if spec.d2f is not None:
        pairs.append(("d2f", spec.df, spec.d2f))
    for label, function, derivative in pairs:
        h = 1e-5
        coarse = (function(z + h) - function(z - h)) / (2 * h)
        fine = (function(z + h / 4) - function(z - h / 4)) / (h / 2)
        smooth = np.abs(coarse - fine) <= 1e-5 * (1 + np.abs(fine))
        analytic = np.asarray(derivative(z))
        bad = smooth & ~(np.abs(analytic - fine) <= 1e-5 * (1 + np.abs(fine)))
        if bad.any():
            where = z[bad][0]
            _fail(
                f"activation {spec.name}: {label}({where:.4f}) = {derivative(where):.8g} "
                f"but central differences give {fine[bad][0]:.8g}"
            )


# --------------------------------------------------------------------- schedules
def check_schedule(spec: ScheduleSpec) -> None:
    """Finite non-negative factors; arrays of steps give the same as one step at a time."""
    _valid(spec)
    values = resolve_values(spec.params, {}, where=f"schedule {spec.name}")
    steps = np.arange(0, 300)
    factors = np.asarray(spec.factor(steps, **values), dtype=float)
    if factors.shape != steps.shape:
        _fail(f"schedule {spec.name}: factor over {steps.shape} steps returned {factors.shape}")
    if not np.all(np.isfinite(factors)) or np.any(factors < 0):
        _fail(f"schedule {spec.name}: factors must be finite and non-negative")
    for step in (0, 1, 7, 299):
        one = float(np.asarray(spec.factor(step, **values)))
        if not np.isclose(one, factors[step], rtol=1e-12, atol=0):
            _fail(
                f"schedule {spec.name}: factor({step}) = {one} alone but {factors[step]} in "
                "an array"
            )
    column = np.asarray(spec.factor(steps[:, None], **values), dtype=float)
    if column.shape != (len(steps), 1):
        _fail(f"schedule {spec.name}: factor must broadcast over a (B, 1) column of steps")
    if spec.robbins_monro is not None:
        verdict = spec.robbins_monro(**values)
        if not isinstance(verdict, (bool, np.bool_)):
            _fail(f"schedule {spec.name}: robbins_monro must return True or False")


CHECKS = {
    "optimizer": check_optimizer,
    "activation": check_activation,
    "model": check_model,
    "schedule": check_schedule,
}


def check_record(kind: str, record: Any, registry: Any = None) -> None:
    """Run the check for ``kind`` on ``record``."""
    if kind == "activation" or kind == "schedule":
        CHECKS[kind](record)
    else:
        CHECKS[kind](record, registry)


def parametrize_records(kind: str, plugin: str | None = None, registry: Any = None):
    """A ``pytest.mark.parametrize`` over the registry's records of ``kind``.

    The test receives ``record`` and ``registry``; ``plugin`` keeps one plugin's records.
    """
    import pytest

    if registry is None:
        from zoo.registry import load_registry

        registry = load_registry(local=False)
    names = [
        name
        for name in sorted(registry.records(kind))
        if plugin is None or registry.provenance(kind, name).plugin == plugin
    ]
    return pytest.mark.parametrize(
        ("record", "registry"),
        [(registry.get(kind, name), registry) for name in names],
        ids=names,
    )


# --------------------------------------------------------------------- zoo check
@dataclass
class CheckReport:
    target: str
    plugin: str
    results: list[tuple[str, str, str | None]] = field(default_factory=list)  # kind, name, error
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (
            not self.failures
            and all(error is None for *_, error in self.results)
            and bool(self.results)
        )

    def lines(self) -> Iterator[str]:
        yield f"Checking plugin {self.plugin!r} ({self.target})"
        for message in self.failures:
            yield f"FAIL  loading: {message}"
        for kind, name, error in self.results:
            yield f"PASS  {kind} {name}" if error is None else f"FAIL  {kind} {name}: {error}"
        if not self.results and not self.failures:
            yield "FAIL  the plugin provides no records (is @zoo.hookimpl on its hook functions?)"
        passed = sum(error is None for *_, error in self.results)
        yield f"{passed} passed, {len(self.results) - passed + len(self.failures)} failed"


def check_plugin(target: str) -> CheckReport:
    """Load ``target`` (module, .py file or loaded plugin name) and check its records."""
    from zoo.registry import load_registry

    registry = load_registry()
    loaded = {p.name for p in registry.plugins}
    failed = {f.plugin for f in registry.failures}
    if target.endswith(".py") and Path(target).is_file():
        path = Path(target).resolve()
        name = path.stem
        existing = next(  # a local plugin's file, or the file of an installed one
            (p for p in registry.plugins if path in (Path(p.source), _file_of(registry, p.name))),
            None,
        )
        if existing is None:
            name = path.stem if path.stem not in loaded else f"{path.stem}_file"
            module = _import_file(path, name, registry)
            if module is not None:
                registry.register(module, name=name, source=str(path))
        else:
            name = existing.name
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
    report = CheckReport(target, name)
    report.failures.extend(f.message for f in registry.failures if f.plugin == name)
    for kind, record_name, record in registry:
        if registry.provenance(kind, record_name).plugin != name:
            continue
        try:
            check_record(kind, record, registry)
            error = None
        except AssertionError as failure:
            error = str(failure)
        except Exception as failure:
            error = f"{type(failure).__name__}: {failure}"
        report.results.append((kind, record_name, error))
    return report


def _file_of(registry: Any, name: str) -> Path | None:
    location = getattr(registry.plugin_object(name), "__file__", None)
    return Path(location).resolve() if location else None


def _import_file(path: Path, name: str, registry: Any) -> Any:
    import importlib.util

    from zoo.registry import PluginFailure

    spec = importlib.util.spec_from_file_location(f"zoo_checked_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        registry.failures.append(
            PluginFailure(name, str(path), f"import failed: {type(error).__name__}: {error}")
        )
        return None
    return module
