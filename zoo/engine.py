"""Runs: many optimizers stepping on one problem, batched, each with its own fate.

A ``RunSet`` holds runs (optimizer, hyper-parameters, schedule, start, seed) on one
``Problem``.  Runs that share an optimizer and the values of its discrete parameters are
stepped together as one ``(B, D)`` batch; float hyper-parameters are per-run columns, so
one batch can sweep a learning rate.  Every run has a status (running, converged,
diverged, failed), evaluation counters and a history.  A step that raises, returns the
wrong shape or non-finite numbers is retried run by run so that only the runs at fault
are marked; the others go on.  ``simulate`` is the one-call front door.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from zoo import guard
from zoo.endstate import EndState, classify_many, lowest_known
from zoo.problem import BuildContext, Problem, contract_errors, missing_needs
from zoo.runview import (
    CONVERGED,
    DIVERGED,
    FAILED,
    RUNNING,
    STATE_NAMES,
    STOPPED,
    BatchView,
    RunView,
    stride_for,
)
from zoo.specs import ModelSpec, OptimizerSpec, ScheduleSpec, SpecError, resolve_values

__all__ = [
    "DIVERGENCE_LIMIT",
    "EVAL_KINDS",
    "HISTORY_MODES",
    "HISTORY_POINTS",
    "STALL_STEPS",
    "EngineError",
    "PluginError",
    "RunConfig",
    "RunSet",
    "RunStatus",
    "Trajectory",
    "build_problem",
    "simulate",
]

EVAL_KINDS = ("loss", "grad", "hess", "residuals", "jacobian")
#: A coordinate beyond this magnitude counts as divergence.
DIVERGENCE_LIMIT = 1e12
#: How a ``RunSet`` keeps each run's path: thinned to a budget, every step, or not at all.
HISTORY_MODES = ("thinned", "full", "none")
#: The default budget of a thinned history, in points per run.
HISTORY_POINTS = 4096
#: A run whose point has not changed for this many steps is stopped as making no progress.
STALL_STEPS = 20


class EngineError(ValueError):
    """A run or problem that cannot be set up; the message says why."""


class PluginError(EngineError):
    """A problem that cannot be set up because plugin code failed or broke its contract
    (not because of the settings it was given); the cause is chained."""


@dataclass(frozen=True)
class RunConfig:
    """What a run is: everything needed to replay it exactly."""

    optimizer: str
    hyper: Mapping[str, Any] = field(default_factory=dict)
    schedule: str | None = None
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    start: tuple[float, ...] | None = None
    seed: int = 0
    batch_size: int = 0  # 0: the full data; otherwise minibatches (models with samples)
    label: str = ""
    color: str = ""
    visible: bool = True


@dataclass(frozen=True)
class RunStatus:
    """Where a run stands: ``running``, or ``converged``/``diverged``/``failed``/``stopped``
    at a step (a failed or stopped run's ``message`` says why).  A converged or stopped
    run also has its ``end``: what the curvature says the point is (``zoo.endstate``)."""

    state: str
    step: int
    message: str = ""
    end: EndState | None = None

    @property
    def outcome(self) -> str:
        """The end state's kind (minimum, saddle, plateau, stalled) if known, else the state."""
        return self.end.kind if self.end is not None else self.state

    def __str__(self) -> str:
        if self.state == "running":
            return "running"
        why = f"{self.state}: {self.message}" if self.message else self.state
        if self.end is not None:
            return f"{self.end.kind} at step {self.step} ({why})"
        if self.state in ("failed", "stopped"):
            return f"{self.state} at step {self.step}: {self.message}"
        return f"{self.state} at step {self.step}"


@dataclass(frozen=True)
class Trajectory:
    """One run's history: ``x`` (n, D), ``loss`` and ``grad_norm`` (n,) at the steps
    ``kept`` (n,); ``thinned`` says whether steps between them were left out."""

    x: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    status: RunStatus
    evals: dict[str, int]
    kept: np.ndarray | None = None  # None: every step from 0
    thinned: bool = False

    @property
    def steps(self) -> int:
        """The step of the last point (a diverged run's ends one step before it left)."""
        return int(self.kept[-1]) if self.kept is not None and len(self.kept) else len(self.x) - 1


class _CountingProblem:
    """Passes calls to the problem, counting them, and serving the engine's last
    evaluation at the same ``x`` instead of computing it twice.

    A call counts for every run of the batch, unless it is made through
    ``for_rows(rows)``, which charges only those runs (per-run line searches)."""

    __slots__ = ("_cache", "_cached_x", "_problem", "batch", "counts", "row_counts")

    def __init__(
        self, problem: Problem, cached_x: np.ndarray | None, cache: dict, batch: int
    ) -> None:
        self._problem = problem
        self._cached_x = cached_x
        self._cache = cache
        self.batch = batch
        self.counts = [0] * len(EVAL_KINDS)  # in the order of EVAL_KINDS
        self.row_counts: np.ndarray | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._problem, name)

    def loss(self, x):
        self.counts[0] += 1
        if x is self._cached_x and "loss" in self._cache:
            return self._cache["loss"]
        return _checked_output(self._problem.loss(x), np.shape(x)[:1], "loss")

    def grad(self, x):
        self.counts[1] += 1
        if x is self._cached_x and "grad" in self._cache:
            return self._cache["grad"]
        return _checked_output(self._problem.grad(x), np.shape(x), "grad")

    def hess(self, x):
        self.counts[2] += 1
        return self._problem.hess(x)

    def residuals(self, x):
        self.counts[3] += 1
        return self._problem.residuals(x)

    def jacobian(self, x):
        self.counts[4] += 1
        return self._problem.jacobian(x)

    def for_rows(self, rows) -> _RowCounting:
        return _RowCounting(self, np.atleast_1d(np.arange(self.batch)[rows]))

    def charge(self, rows: np.ndarray, kind: int) -> None:
        if self.row_counts is None:
            self.row_counts = np.zeros((self.batch, len(EVAL_KINDS)), dtype=np.int64)
        np.add.at(self.row_counts[:, kind], rows, 1)

    def totals(self) -> list[int] | np.ndarray:
        """Evaluations per run: a list when every call was for the whole batch."""
        if self.row_counts is None:
            return self.counts
        return self.row_counts + np.asarray(self.counts)


class _RowCounting:
    """The problem as seen by some runs of a batch: their calls are charged to them."""

    __slots__ = ("_parent", "rows")

    def __init__(self, parent: _CountingProblem, rows: np.ndarray) -> None:
        self._parent = parent
        self.rows = rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parent._problem.for_rows(self.rows), name)

    def _call(self, kind: int, name: str, x):
        self._parent.charge(self.rows, kind)
        return getattr(self._parent._problem.for_rows(self.rows), name)(x)

    def loss(self, x):
        return self._call(0, "loss", x)

    def grad(self, x):
        return self._call(1, "grad", x)

    def hess(self, x):
        return self._call(2, "hess", x)

    def residuals(self, x):
        return self._call(3, "residuals", x)

    def jacobian(self, x):
        return self._call(4, "jacobian", x)

    def for_rows(self, rows) -> _RowCounting:
        return _RowCounting(self._parent, np.atleast_1d(self.rows[rows]))


class _StepFailure(Exception):
    pass


class Group:
    """Runs sharing an optimizer, its discrete settings, schedule and batch size.

    ``x``, ``loss``, ``gnorm``, ``t`` and ``state`` are replaced, never written in place,
    so a published ``BatchView`` may hold them; ``lock`` is taken by whoever steps or
    edits the group."""

    def __init__(
        self,
        key: tuple,
        spec: OptimizerSpec,
        schedule: ScheduleSpec | None,
        discrete: dict[str, Any],
        batch_size: int,
        dim: int,
        capacity: float,
    ) -> None:
        self.key = key
        self.spec = spec
        self.schedule = schedule
        self.discrete = discrete
        self.batch_size = batch_size
        self.capacity = capacity  # points of history per run (inf: all; 0: none)
        self.run_ids: list[int] = []
        self.rows: dict[int, int] = {}  # run id -> row; replaced, never edited
        self.ids: tuple[int, ...] = ()
        self.x = np.empty((0, dim))
        self.loss = np.empty(0)
        self.gnorm = np.empty(0)
        self.state: dict[str, np.ndarray] = {}
        self.hyper: dict[str, np.ndarray] = {}  # float hyper-parameters, (B, 1)
        self.schedule_params: dict[str, np.ndarray] = {}
        self.seeds = np.empty((0, 1), dtype=np.int64)
        self.t = np.empty(0, dtype=np.int64)
        self.code = np.empty(0, dtype=np.int8)
        self.stop_step = np.empty(0, dtype=np.int64)
        self.still = np.empty(0, dtype=np.int64)
        self._evals = np.empty((0, len(EVAL_KINDS)), dtype=np.int64)
        self._counted: list[int] = []  # a step's counts, owed to every run ``_owed`` times
        self._owed = 0
        self.row_arrays = _ROW_ARRAYS + (_HISTORY_ARRAYS if capacity else ())
        if capacity:
            self.hist_x = np.empty((0, _FIRST_CAPACITY, dim))
            self.hist_loss = np.empty((0, _FIRST_CAPACITY))
            self.hist_gnorm = np.empty((0, _FIRST_CAPACITY))
        self.messages: dict[int, str] = {}
        self.ends: dict[int, EndState] = {}  # run id -> where a stopped run stands
        # Runs that descend a loss on the full data: one that stops moving has stalled.
        self.watch_stalls = not batch_size and not spec.needs & {"inputs", "labels"}
        self.any_still = False  # whether some run's point did not change at its last step
        self.cache_x: np.ndarray | None = None
        self.cache: dict[str, np.ndarray] = {}
        self._static_hyper: dict[str, Any] | None = None
        self.lockstep = True  # every run has taken the same number of steps
        self.origin = guard.Origin("optimizer", spec.name)
        self.lock = threading.Lock()
        self.version = 0
        self.view: BatchView | None = None

    def __getstate__(self) -> dict[str, Any]:  # snapshots copy all but lock and view
        state = dict(self.__dict__)
        del state["lock"]
        state["view"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.run_ids)

    @property
    def evals(self) -> np.ndarray:
        """Evaluations per run, ``(B, len(EVAL_KINDS))``, the steps counted so far included."""
        self._pay_owed()
        return self._evals

    @evals.setter
    def evals(self, value: np.ndarray) -> None:
        self._evals, self._owed = value, 0

    def count_step(self, counts: list[int]) -> None:
        """Add a step's evaluation counts to every run.  Steps after steps with the same
        counts are added when ``evals`` is next read, in one sum, not each on its own."""
        if counts != self._counted:
            self._pay_owed()
        self._counted = counts
        self._owed += 1

    def _pay_owed(self) -> None:
        """Add the owed steps' counts, only to the kinds a step called."""
        if self._owed:
            for column, count in enumerate(self._counted):
                if count:
                    self._evals[:, column] += count * self._owed
            self._owed = 0

    def row(self, run_id: int) -> int:
        return self.rows[run_id]

    def invalidate(self) -> None:
        self.cache_x = None
        self.cache = {}
        self._static_hyper = None
        self.lockstep = bool(len(self.t) == 0 or (self.t == self.t[0]).all())
        self.any_still = True  # runs came or went: count again at the next step

    def _renumber(self) -> None:
        """``rows`` and ``ids`` (what views publish) anew from ``run_ids``; replaced, never
        edited, since published views hold the old ones."""
        self.rows = {run_id: row for row, run_id in enumerate(self.run_ids)}
        self.ids = tuple(self.run_ids)

    def delete(self, row: int) -> None:
        run_id = self.run_ids.pop(row)
        self._renumber()
        self.messages.pop(run_id, None)
        self.ends.pop(run_id, None)
        for name in self.row_arrays:
            setattr(self, name, np.delete(getattr(self, name), row, axis=0))
        for table in (self.state, self.hyper, self.schedule_params):
            for name in table:
                table[name] = np.delete(table[name], row, axis=0)
        self.state = dict(self.state)
        self.invalidate()

    def append(
        self,
        run_ids: list[int],
        rows: dict[str, np.ndarray],
        state: dict[str, np.ndarray],
        hyper: dict[str, np.ndarray],
        schedule_params: dict[str, np.ndarray],
    ) -> None:
        if self.run_ids and set(state) != set(self.state):
            raise _StepFailure("init returned state keys that differ from the batch's")
        rows = dict(rows)
        if self.capacity:
            width = max(self.hist_x.shape[1], rows["hist_x"].shape[1])
            self._grow(width)
            for name in _HISTORY_ARRAYS:
                rows[name] = _pad_history(rows[name], width)
        for name in self.row_arrays:
            setattr(self, name, np.concatenate([getattr(self, name), rows[name]], axis=0))
        self.state = dict(self.state)
        for table, new in (
            (self.state, state),
            (self.hyper, hyper),
            (self.schedule_params, schedule_params),
        ):
            for name, value in new.items():
                table[name] = (
                    np.concatenate([table[name], value], axis=0) if name in table else value
                )
        self.run_ids.extend(run_ids)
        self._renumber()
        self.invalidate()

    def take(self, row: int) -> dict[str, np.ndarray]:
        return {name: getattr(self, name)[row : row + 1].copy() for name in self.row_arrays}

    def _grow(self, width: int) -> None:
        """Widen the history buffers (new arrays: published views keep the old ones)."""
        if width > self.hist_x.shape[1]:
            self.hist_x = _pad_history(self.hist_x, width)
            self.hist_loss = _pad_history(self.hist_loss, width)
            self.hist_gnorm = _pad_history(self.hist_gnorm, width)

    def record(self, rows: np.ndarray | None, steps: np.ndarray | int, x, loss, gnorm) -> None:
        """Keep the new points of ``rows`` (None: all) reached at ``steps``: halve the
        kept past of a run whose budget is full, then write the point into its slot."""
        capacity = self.capacity
        if not capacity:
            return
        if capacity == math.inf:  # every point is kept
            stride, grown = 1, False
        elif type(steps) is int:  # the whole batch at one step: plain integers will do
            stride = _int_stride(steps, capacity)
            grown = stride > _int_stride(steps - 1, capacity)
        else:
            stride = stride_for(steps, capacity)
            grown = stride > stride_for(np.asarray(steps) - 1, capacity)
        if grown is True or (grown is not False and grown.any()):
            # Keep every other point of the runs whose stride doubles, in new arrays.
            which = slice(None) if rows is None else rows[grown]  # rows None: one step
            for name in _HISTORY_ARRAYS:
                array = getattr(self, name).copy()
                width = array.shape[1]
                half = (width + 1) // 2
                array[which, :half] = array[which, 0:width:2]
                array[which, half:] = np.nan
                setattr(self, name, array)
        if type(steps) is int:
            slot = top = (steps + stride - 1) // stride
        else:
            slot = (np.asarray(steps) + stride - 1) // stride
            top = int(np.max(slot)) if np.size(slot) else 0
        if top >= self.hist_x.shape[1]:
            self._grow(int(min(max(2 * self.hist_x.shape[1], top + 1), capacity)))
        if rows is None:
            self.hist_x[:, slot] = x
            self.hist_loss[:, slot] = loss
            self.hist_gnorm[:, slot] = gnorm
        else:
            self.hist_x[rows, slot] = x
            self.hist_loss[rows, slot] = loss
            self.hist_gnorm[rows, slot] = gnorm

    def publish(self) -> BatchView:
        """Freeze what readers may see now (call with the lock held)."""
        self.version += 1
        history = (self.hist_x, self.hist_loss, self.hist_gnorm) if self.capacity else ()
        self.view = BatchView(
            self.key,
            self.spec.name,
            self.spec.label or self.spec.name,
            self.version,
            self.ids,
            self.t,  # replaced, never written in place
            self.code.copy(),
            self.stop_step.copy(),
            self.x,
            self.loss,
            self.gnorm,
            self.evals.copy(),
            dict(self.messages),
            self.capacity,
            self.state,
            *history,
            _rows=self.rows,
            ends=dict(self.ends),
        )
        return self.view

    def hyper_for(self, rows: np.ndarray | None) -> dict[str, Any]:
        """The ``hyper`` dict for the active rows, with the schedule's target scaled."""
        if rows is None and self.schedule is None and self._static_hyper is not None:
            return self._static_hyper
        pick = (lambda a: a) if rows is None else (lambda a: a[rows])
        hyper: dict[str, Any] = {name: pick(value) for name, value in self.hyper.items()}
        hyper.update(self.discrete)
        hyper["seed"] = pick(self.seeds)
        if self.schedule is not None:
            params = {name: pick(value) for name, value in self.schedule_params.items()}
            hyper = _scheduled(self.schedule, hyper, pick(self.t), params)
        elif rows is None:
            # A column every run shares is passed as one value broadcast down the batch
            # (read-only, zero strides): numpy combines those with (B, D) arrays much
            # faster than a column of copies.
            hyper = {
                name: _shared_column(value) if name in self.hyper else value
                for name, value in hyper.items()
            }
            self._static_hyper = hyper
        return hyper


def _shared_column(column: np.ndarray) -> np.ndarray:
    """``column`` as a read-only broadcast of its one value, if all of its are the same."""
    first = column[:1]
    if len(column) > 1 and (column.view(np.int64) == first.view(np.int64)).all():
        return np.broadcast_to(first, column.shape)
    return column


def _int_stride(last: int, capacity: float) -> int:
    """``stride_for`` of one step number, in Python integers (``capacity`` finite)."""
    room = int(capacity) - 1
    need = -(-last // room)
    return 1 << max(need - 1, 0).bit_length()


def _scheduled(
    schedule: ScheduleSpec, hyper: dict[str, Any], t: np.ndarray, params: dict[str, np.ndarray]
) -> dict[str, Any]:
    """``hyper`` with the schedule's target scaled by its factor at steps ``t``.

    ``init`` receives these values, as a torch scheduler sets ``lr`` when it is created:
    a method that keeps ``lr`` in its state (Rprop's step sizes) starts from the
    scheduled value."""
    origin = guard.Origin("schedule", schedule.name)
    factor = guard.call(origin, "factor", schedule.factor, t[:, None], **params)
    target = schedule.target
    return {**hyper, target: hyper[target] * _checked_factor(factor, hyper[target].shape)}


def _checked_factor(factor: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A schedule's factor as an array of ``shape``, refused unless real, finite and ≥ 0."""
    value = np.asarray(factor)
    if value.dtype.kind not in "fiub":
        raise _StepFailure(f"schedule factor is {value.dtype}, not a real number")
    try:
        value = np.broadcast_to(value.astype(float), shape)
    except ValueError:
        raise _StepFailure(f"schedule factor has shape {value.shape}, not one per run") from None
    if not (np.isfinite(value).all() and (value >= 0).all()):
        bad = value[~(np.isfinite(value) & (value >= 0))].ravel()[0]
        raise _StepFailure(f"schedule factor is {bad}; it must be finite and not negative")
    return value


#: Who the engine's own evaluations call.
_MODEL = guard.Origin("model", "")
# Per-run arrays that move with a run between groups and snapshots.
_ROW_ARRAYS = ("x", "loss", "gnorm", "seeds", "t", "code", "stop_step", "evals", "still")
_HISTORY_ARRAYS = ("hist_x", "hist_loss", "hist_gnorm")
_FIRST_CAPACITY = 16


def _pad_history(array: np.ndarray, capacity: int) -> np.ndarray:
    if array.shape[1] >= capacity:
        return array
    pad = [(0, 0), (0, capacity - array.shape[1])] + [(0, 0)] * (array.ndim - 2)
    return np.pad(array, pad, constant_values=np.nan)


def build_problem(
    model: str | ModelSpec | Problem,
    settings: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    registry: Any = None,
) -> Problem:
    """A ``Problem`` from a model name or spec and its settings (or the problem itself)."""
    if isinstance(model, Problem):
        if settings:
            raise EngineError("settings only apply to a model given by name or spec")
        return model
    if registry is None and isinstance(model, str):
        from zoo.registry import load_registry

        registry = load_registry()
    try:
        spec = registry.get("model", model) if isinstance(model, str) else model
    except KeyError as error:
        raise EngineError(str(error)) from None
    activations = registry.activations if registry is not None else {}
    try:
        values = resolve_values(
            spec.params, settings, where=f"model {spec.name}", activations=list(activations) or None
        )
    except SpecError as error:
        raise EngineError(str(error)) from None
    context = BuildContext(
        activations=_guarded_activations(registry, activations), rng=np.random.default_rng(seed)
    )
    origin = _origin(registry, "model", spec.name)
    try:
        problem = guard.call(origin, "build", spec.build, values, context)
    except guard.PluginFault as fault:
        if type(fault.__cause__) in (ValueError, SpecError):  # settings that make no sense
            raise EngineError(f"model {spec.name}: {fault.__cause__}") from fault.__cause__
        raise PluginError(str(fault)) from fault
    if not isinstance(problem, Problem):
        problems = [f"build() returned {type(problem).__name__}, not a zoo.Problem"]
    else:
        problems = guard.call(origin, "build", contract_errors, problem)
    if problems:
        raise PluginError(f"{origin} built a problem that breaks the contract: {problems[0]}")
    return problem


def _guarded_activations(registry: Any, activations: Mapping[str, Any]) -> dict[str, Any]:
    """The activations with ``f``, ``df`` and ``d2f`` called through the guard, so that a
    failing activation is named, not the model that calls it."""

    def guarded(origin: guard.Origin, function: Any) -> Any:
        def call(x: Any, *args: Any, **kwargs: Any) -> Any:
            value = guard.call(origin, "f", function, x, *args, **kwargs)
            kind = getattr(value, "dtype", np.asarray(value).dtype).kind
            shape = np.shape(value)
            numeric = isinstance(value, (np.ndarray, np.generic, float, int))
            if (
                not numeric
                or kind not in "fiub"
                or (shape != np.shape(x) and not _broadcasts(shape, x))
            ):
                raise guard.PluginFault(
                    origin,
                    "f",
                    f"returned {type(value).__name__} of dtype {np.asarray(value).dtype} and "
                    f"shape {shape} for input of shape {np.shape(x)}; "
                    "return real numbers, one per input",
                )
            return value

        return call

    out = {}
    for name, spec in activations.items():
        origin = _origin(registry, "activation", name)
        functions = {
            part: guarded(origin, getattr(spec, part))
            for part in ("f", "df", "d2f")
            if getattr(spec, part, None) is not None
        }
        out[name] = replace(spec, **functions)
    return out


def _broadcasts(shape: tuple[int, ...], x: Any) -> bool:
    try:
        return np.broadcast_shapes(shape, np.shape(x)) == np.shape(x)
    except ValueError:
        return False


def _origin(registry: Any, kind: str, name: str) -> guard.Origin:
    origin = getattr(registry, "origin", None)
    try:
        return origin(kind, name) if origin is not None else guard.Origin(kind, name)
    except KeyError:
        return guard.Origin(kind, name)


def _checked_output(value: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A model's ``loss`` or ``grad`` result, refused unless it is real and of ``shape``."""
    kind = getattr(value, "dtype", None)
    if kind is None or kind.kind not in "fiu":
        value = np.asarray(value)
        if value.dtype.kind not in "fiu":
            raise _StepFailure(
                f"the model's {what} returned {value.dtype} values, not real numbers"
            )
    if value.shape != shape:
        raise _StepFailure(f"the model's {what} returned shape {value.shape}, expected {shape}")
    return value


class RunSet:
    """A set of runs on one problem.

    Threads may step different batches at once (``step(n, batches=[key])``): each batch
    is stepped under its own lock and publishes a ``BatchView`` when the call ends.
    Everything that reads (``batches``, ``run``, ``status``, ``history`` …) reads those
    views, so it never waits for a batch being stepped.  Add, remove and update runs from
    one thread.

    ``history`` is ``"thinned"`` (the default: at most ``history_points`` points per run,
    the start, the current point and an evenly spaced past), ``"full"`` (every step) or
    ``"none"`` (the current point only: for grids of thousands of runs).

    A run that converges or stops, or whose point stops changing for ``STALL_STEPS``
    steps (then *stopped*: no progress), is classified once, there, by the curvature
    where it stands (``zoo.endstate``; its ``RunStatus.end``); ``end_states=False``
    leaves that out (maps of thousands of runs)."""

    def __init__(
        self,
        problem: Problem,
        registry: Any = None,
        *,
        gtol: float = 1e-10,
        track_grad: bool = True,
        history: str = "thinned",
        history_points: int = HISTORY_POINTS,
        end_states: bool = True,
    ) -> None:
        if registry is None:
            from zoo.registry import load_registry

            registry = load_registry()
        if history not in HISTORY_MODES:
            raise EngineError(f"history must be one of {', '.join(HISTORY_MODES)}, not {history!r}")
        if history == "thinned" and history_points < 4:
            raise EngineError("history_points must be at least 4")
        self.problem = problem
        self.registry = registry
        self.gtol = gtol
        self.track_grad = track_grad and "grad" in problem.provides
        #: Whether a run can converge: ``gtol=0`` takes every step, even at a zero gradient.
        self.converging = self.track_grad and gtol > 0
        self.end_states = end_states and self.track_grad
        self._lowest: float | bool | None = False  # False: not yet looked up
        self.history_mode = history
        self.capacity: float = {"thinned": history_points, "full": math.inf, "none": 0}[history]
        self.configs: dict[int, RunConfig] = {}
        self._groups: list[Group] = []
        self._by_key: dict[tuple, Group] = {}
        self._group_of: dict[int, Group] = {}
        self._next_id = 0

    # ------------------------------------------------------------ set-up
    def add(self, config: RunConfig) -> int:
        """Add a run at its start and return its id; ``EngineError`` says what is wrong."""
        return self.add_many([config])[0]

    def add_many(self, configs: Iterable[RunConfig]) -> list[int]:
        """Add runs at their starts and return their ids; nothing is added if one is wrong.

        Runs that share a batch are set up together, so a sweep of thousands of runs costs
        little more than one; runs given the same settings objects are checked once and
        share the checked settings (which nothing modifies)."""
        configs = list(configs)  # alive to the end: their settings are known by identity
        memo: dict[tuple, tuple] = {}  # settings checked once for runs that share them
        checked = []
        for config in configs:
            key = (
                config.optimizer,
                id(config.hyper) if config.hyper else None,
                config.schedule,
                id(config.schedule_params) if config.schedule_params else None,
                config.batch_size,
            )
            known = memo.get(key)
            if known is None:
                one = self._checked(config)
                known = memo[key] = (one.hyper, one.schedule_params, self._group_key(one))
            else:
                one = _with_checked(config, known[0], known[1], self._start(config))
            checked.append((one, known[2]))
        ids = []
        batches: dict[tuple, list[tuple[int, RunConfig]]] = {}
        for config, group_key in checked:
            run_id = self._next_id
            self._next_id += 1
            self.configs[run_id] = config
            ids.append(run_id)
            batches.setdefault(group_key, []).append((run_id, config))
        for items in batches.values():
            self._place([run_id for run_id, _ in items], [config for _, config in items], None)
        return ids

    def add_grid(
        self,
        optimizer: str,
        hyper: Mapping[str, Any] | None,
        starts: Any,
        *,
        columns: Mapping[str, Any] | None = None,
        seed: int | Any = 0,
        batch_size: int = 0,
    ) -> list[int]:
        """Add one run of ``optimizer`` per row of ``starts`` (N, D) and return their ids;
        every run has the settings ``hyper`` and ``batch_size`` but for the float
        hyper-parameters in ``columns`` (name -> N values, one per run); ``seed`` is one
        seed for all or N seeds, one per run.

        A map's grid: built from arrays and checked as a whole (the extremes of each
        column like any setting) instead of one ``RunConfig`` at a time, so tens of
        thousands of runs are set up in a fraction of the time; nothing is added if
        anything is wrong."""
        starts = np.array(starts, dtype=float, ndmin=2)
        dim = self.problem.dim
        if starts.ndim != 2 or starts.shape[1] != dim:
            raise EngineError(f"starts have shape {starts.shape}; expected (N, {dim})")
        if not np.isfinite(starts).all():
            raise EngineError("start must be finite")
        count = len(starts)
        values = {
            name: np.asarray(v, dtype=float).reshape(-1) for name, v in (columns or {}).items()
        }
        for name, column in values.items():
            if len(column) != count:
                raise EngineError(f"{name} has {len(column)} values for {count} starts")
            if not np.isfinite(column).all():
                raise EngineError(f"{name} must be finite")
        seeds = np.array(np.broadcast_to(np.asarray(seed, dtype=np.int64), (count,)))
        if not count:
            return []
        settings = dict(hyper or {})
        checked: dict[str, Any] = {}
        for pick in (np.min, np.max) if values else (None,):
            edge = {name: float(pick(column)) for name, column in values.items()}
            edge_config = RunConfig(optimizer, {**settings, **edge}, batch_size=batch_size)
            checked, _ = self._checked_settings(edge_config)
        spec = self.registry.get("optimizer", optimizer)
        discrete = {p.name: checked[p.name] for p in spec.params if p.discrete}
        wrong = sorted(set(values) & set(discrete))
        if wrong:
            raise EngineError(f"{', '.join(wrong)}: only float hyper-parameters vary per run")
        shared = {name: value for name, value in checked.items() if name not in values}
        hyper_columns = {
            p.name: (
                values[p.name].reshape(count, 1).copy()
                if p.name in values
                else np.full((count, 1), float(shared[p.name]))
            )
            for p in spec.params
            if not p.discrete
        }
        template = RunConfig(
            optimizer, shared, seed=int(seeds[0]), batch_size=int(batch_size)
        ).__dict__
        varied = bool((seeds != seeds[0]).any())
        rows = zip(*map(list, values.values()), strict=True)
        per_run = [dict(zip(values, row, strict=True)) for row in rows]
        ids = list(range(self._next_id, self._next_id + count))
        self._next_id += count
        configs = []
        for index, start in enumerate(starts.tolist()):
            fields = dict(template)
            fields["start"] = tuple(start)
            if per_run:
                fields["hyper"] = {**shared, **per_run[index]}
            if varied:
                fields["seed"] = int(seeds[index])
            config = object.__new__(RunConfig)
            object.__setattr__(config, "__dict__", fields)
            configs.append(config)
        self.configs.update(zip(ids, configs, strict=True))
        keep, faults = self._fresh_rows(starts, seeds)
        self._place(ids, configs, keep, (hyper_columns, discrete, {}))
        self._fail_where_unevaluated(ids, faults)
        return ids

    def fail(self, run_id: int, reason: str) -> None:
        """Mark a run failed at its current step with ``reason`` (say, a step that did not
        return within its budget); the others go on and it can still be removed."""
        group = self._group_of[run_id]
        with group.lock:
            row = group.row(run_id)
            group.code[row] = FAILED
            group.stop_step[row] = group.t[row]
            group.messages[run_id] = reason
            group.ends.pop(run_id, None)
            group.invalidate()
            group.publish()

    def remove(self, run_id: int) -> None:
        group = self._group_of.pop(run_id)
        with group.lock:
            group.delete(group.row(run_id))
            group.publish()
        del self.configs[run_id]
        if not group.run_ids:
            self._drop(group)

    def _drop(self, group: Group) -> None:
        self._groups = [g for g in self._groups if g is not group]
        del self._by_key[group.key]

    def update(self, run_id: int, config: RunConfig, *, restart: bool = True) -> None:
        """Change a run.  ``restart`` sends it back to its start; otherwise it continues
        from where it is (with fresh optimizer state if its batch had to change)."""
        config = self._checked(config)
        group = self._group_of[run_id]
        with group.lock:
            row = group.row(run_id)
            keep = None if restart else group.take(row)
            same_group = self._group_key(config) == group.key
            if keep is not None and same_group:
                self.configs[run_id] = config
                hyper, _, sched = self._columns([config], group.spec)
                for name, value in hyper.items():
                    group.hyper[name][row] = value[0]
                for name, value in sched.items():
                    group.schedule_params[name][row] = value[0]
                group.seeds[row] = config.seed
                group.invalidate()
                group.publish()
                return
            group.delete(row)
            group.publish()
        if not group.run_ids:
            self._drop(group)
        self.configs[run_id] = config
        self._place([run_id], [config], keep)

    def reset(self, run_ids: Iterable[int] | None = None, start: Any = None) -> None:
        """Send runs back to their start (or to a new ``start``) with fresh state."""
        for run_id in list(self.configs) if run_ids is None else list(run_ids):
            config = self.configs[run_id]
            if start is not None:
                config = replace(config, start=tuple(float(v) for v in np.ravel(start)))
            self.update(run_id, config, restart=True)

    def _checked(self, config: RunConfig) -> RunConfig:
        hyper, schedule_params = self._checked_settings(config)
        return _with_checked(config, hyper, schedule_params, self._start(config))

    def _checked_settings(self, config: RunConfig) -> tuple[dict, dict]:
        """The run's hyper-parameters and schedule settings, resolved and checked."""
        registry = self.registry
        try:
            spec = registry.get("optimizer", config.optimizer)
        except KeyError as error:
            raise EngineError(str(error)) from None
        missing = missing_needs(spec.needs, self.problem)
        if missing:
            raise EngineError(
                f"optimizer {spec.name} needs {', '.join(sorted(missing))}, which this model "
                f"does not provide (it provides {', '.join(sorted(self.problem.provides))})"
            )
        try:
            hyper = resolve_values(
                spec.params,
                config.hyper,
                where=f"optimizer {spec.name}",
                activations=list(registry.activations),
            )
            schedule_params: dict[str, Any] = {}
            if config.schedule is not None:
                schedule = registry.get("schedule", config.schedule)
                floats = [p.name for p in spec.params if p.kind == "float"]
                if schedule.target not in floats:
                    raise EngineError(
                        f"optimizer {spec.name} has no float parameter {schedule.target} for "
                        f"schedule {schedule.name} to drive (its float parameters: "
                        f"{', '.join(floats) or 'none'})"
                    )
                schedule_params = resolve_values(
                    schedule.params, config.schedule_params, where=f"schedule {schedule.name}"
                )
            elif config.schedule_params:
                raise EngineError("schedule settings given without a schedule")
        except (SpecError, KeyError) as error:
            raise EngineError(str(error)) from None
        if config.batch_size:
            if config.batch_size < 0:
                raise EngineError("batch_size must be 0 (full data) or positive")
            if "samples" not in self.problem.provides:
                raise EngineError("batch_size needs a model with samples (a data-driven model)")
        return hyper, schedule_params

    def _start(self, config: RunConfig) -> tuple[float, ...] | None:
        """The run's start as a tuple of floats, checked against the model."""
        start = config.start
        if start is None:
            return None
        try:
            values = tuple(map(float, start))
        except TypeError:
            values = tuple(float(v) for v in np.ravel(start))
        dim, planar = self.problem.dim, self.problem.plane is not None
        if len(values) != dim and not (planar and len(values) == 2):
            raise EngineError(
                f"start has {_count(len(values), 'coordinate')}; the model has "
                f"{_count(dim, 'weight')}" + (" (or give 2 view coordinates)" if planar else "")
            )
        # One sum is finite only if every term is (or the sum overflowed: then look closer).
        if not math.isfinite(sum(values)) and not all(map(math.isfinite, values)):
            raise EngineError("start must be finite")
        return values

    def _group_key(self, config: RunConfig) -> tuple:
        spec = self.registry.get("optimizer", config.optimizer)
        discrete = tuple((p.name, config.hyper[p.name]) for p in spec.params if p.discrete)
        return (spec.name, discrete, config.schedule, config.batch_size)

    def _columns(self, configs: list[RunConfig], spec: OptimizerSpec):
        """(B, 1) columns of float hyper-parameters and schedule settings, and the batch's
        discrete values, for runs that share a batch."""
        first = configs[0].hyper
        if all(c.hyper is first for c in configs):  # one settings dict shared by all
            hyper = {
                p.name: np.full((len(configs), 1), float(first[p.name]))
                for p in spec.params
                if not p.discrete
            }
        else:
            hyper = {
                p.name: np.array([[float(c.hyper[p.name])] for c in configs])
                for p in spec.params
                if not p.discrete
            }
        discrete = {p.name: configs[0].hyper[p.name] for p in spec.params if p.discrete}
        schedule = {
            name: np.array([[c.schedule_params[name]] for c in configs])
            for name in configs[0].schedule_params
        }
        return hyper, discrete, schedule

    def start_of(self, config: RunConfig) -> np.ndarray:
        if config.start is None:
            return np.asarray(self.problem.start, dtype=float).reshape(self.problem.dim)
        start = np.asarray(config.start, dtype=float)
        if len(start) == self.problem.dim:
            return start
        return np.asarray(self.problem.from_view(start[0], start[1]), dtype=float)

    def _place(
        self,
        run_ids: list[int],
        configs: list[RunConfig],
        keep: dict[str, np.ndarray] | None,
        columns: tuple | None = None,
    ) -> None:
        """Put runs that share a batch into their group, initialised at their starts (or,
        with ``keep``, where they already are); ``columns`` are their settings as
        ``_columns`` gives them, when known."""
        config = configs[0]
        key = self._group_key(config)
        spec = self.registry.get("optimizer", config.optimizer)
        hyper, discrete, sched = columns or self._columns(configs, spec)
        group = self._by_key.get(key)
        if group is None:
            schedule = self.registry.get("schedule", config.schedule) if config.schedule else None
            group = Group(
                key, spec, schedule, discrete, config.batch_size, self.problem.dim, self.capacity
            )
            self._groups = [*self._groups, group]
            self._by_key[key] = group
        faults: dict[int, str] = {}
        if keep is None:
            x0 = np.stack([self.start_of(c) for c in configs])
            keep, faults = self._fresh_rows(x0, [c.seed for c in configs])
        count = len(run_ids)
        init_hyper = dict(hyper)
        init_hyper.update(discrete)
        init_hyper["seed"] = keep["seeds"]
        message = None
        with group.lock:
            try:
                if group.schedule is not None:  # init sees the value at the run's step
                    init_hyper = _scheduled(group.schedule, init_hyper, keep["t"], sched)
                origin = guard.Origin("optimizer", spec.name)
                state = guard.call(
                    origin, "init", spec.init, self.problem, keep["x"].copy(), init_hyper
                )
                state = _check_state(state, count)
                group.append(run_ids, keep, state, hyper, sched)
            except Exception as error:
                if count > 1 and not isinstance(error, guard.PluginTimeout):
                    failed = True  # find the runs at fault one by one
                else:
                    failed = False
                    scheduling = isinstance(error, guard.PluginFault) and (
                        error.origin.kind == "schedule"
                    )
                    message = (
                        str(error)
                        if isinstance(error, _StepFailure) or scheduling
                        else f"init raised {_describe(error)}"
                    )
                    blank = {
                        name: np.zeros((count, *value.shape[1:]), value.dtype)
                        for name, value in group.state.items()
                    }
                    group.append(run_ids, keep, blank, hyper, sched)
            else:
                failed = False
            if not failed:
                if message is not None:
                    for run_id in run_ids:
                        row = group.row(run_id)
                        group.code[row] = FAILED
                        group.stop_step[row] = group.t[row]
                        group.messages[run_id] = message
                group.publish()
        if failed:
            if not group.run_ids:
                self._drop(group)
            for run_id, one in zip(run_ids, configs, strict=True):
                self._place([run_id], [one], None)
            return
        for run_id in run_ids:
            self._group_of[run_id] = group
        self._fail_where_unevaluated(run_ids, faults)

    def _fail_where_unevaluated(self, run_ids: list[int], faults: dict[int, str]) -> None:
        """Fail the runs at whose start the model raised (unless ``init`` failed first)."""
        for position, reason in faults.items():
            run_id = run_ids[position]
            group = self._group_of[run_id]
            if group.code[group.row(run_id)] == RUNNING:
                self.fail(run_id, reason)

    def _fresh_rows(
        self, x0: np.ndarray, seeds: Any
    ) -> tuple[dict[str, np.ndarray], dict[int, str]]:
        """New runs' rows at ``x0``, and why the model could not evaluate some, by position."""
        with np.errstate(all="ignore"):
            loss, gnorm, faults = self._evaluate(x0)
        count = len(x0)
        rows = {
            "x": x0.copy(),
            "loss": loss,
            "gnorm": gnorm,
            "seeds": np.array(seeds, dtype=np.int64).reshape(count, 1),
            "t": np.zeros(count, dtype=np.int64),
            "code": np.zeros(count, dtype=np.int8),
            "stop_step": np.zeros(count, dtype=np.int64),
            "evals": np.zeros((count, len(EVAL_KINDS)), dtype=np.int64),
            "still": np.zeros(count, dtype=np.int64),  # steps the point has not changed
        }
        if self.capacity:
            width = int(min(_FIRST_CAPACITY, self.capacity))
            rows["hist_x"] = np.full((count, width, x0.shape[1]), np.nan)
            rows["hist_loss"] = np.full((count, width), np.nan)
            rows["hist_gnorm"] = np.full((count, width), np.nan)
            rows["hist_x"][:, 0], rows["hist_loss"][:, 0] = x0, loss
            rows["hist_gnorm"][:, 0] = gnorm
        return rows, faults

    def _evaluate(
        self, x: np.ndarray, cache: dict | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        """The engine's own loss and gradient norm at ``x`` (not counted as evaluations),
        and why the model could not evaluate a row, by position: a model that raises at
        some points fails the runs there, with the reason, and not the others.

        Called with floating-point warnings silenced (see ``step``)."""
        try:
            loss, grad = self._loss_and_grad(x)
        except Exception as error:
            if len(x) > 1 and not isinstance(error, guard.PluginTimeout):
                return self._evaluate_one_by_one(x)
            blank = np.full(len(x), np.nan)
            return blank, blank.copy(), dict.fromkeys(range(len(x)), _model_fault(error))
        if grad is None:
            return loss, np.full(len(x), np.nan), {}
        if cache is not None:
            cache["loss"] = loss
            cache["grad"] = grad
        if grad.shape[1] == 2:  # the same sums, without einsum's cost per row
            if grad.size <= _FEW:  # the same operations in Python floats
                norms = [math.sqrt(u * u + v * v) for u, v in grad.tolist()]
                return loss, np.array(norms), {}
            square = grad * grad
            return loss, np.sqrt(square[:, 0] + square[:, 1]), {}
        return loss, np.sqrt(np.einsum("ij,ij->i", grad, grad)), {}

    def _loss_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        loss, grad = guard.call(_MODEL, "evaluate", self._model_values, x)
        loss = _as_float_array(loss, (len(x),))
        return loss, None if grad is None else _as_float_array(grad, x.shape)

    def _model_values(self, x: np.ndarray) -> tuple[Any, Any]:
        """The model's loss and (if tracked) gradient at ``x``, in one guarded call, which
        costs a step less than two; a failure still names the stage it happened in."""
        problem, stage = self.problem, "loss"
        try:
            loss = problem.loss(x)
            if not self.track_grad:
                return loss, None
            stage = "grad"
            return loss, problem.grad(x)
        except (Exception, SystemExit) as error:
            raise guard.PluginFault(_MODEL, stage, guard.describe(error)) from error

    def _evaluate_one_by_one(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
        loss, gnorm = np.full(len(x), np.nan), np.full(len(x), np.nan)
        faults: dict[int, str] = {}
        for position in range(len(x)):
            one_loss, one_gnorm, fault = self._evaluate(x[position : position + 1])
            loss[position], gnorm[position] = one_loss[0], one_gnorm[0]
            if fault:
                faults[position] = fault[0]
        return loss, gnorm, faults

    # ------------------------------------------------------------ stepping
    def step(
        self, n: int = 1, *, limit: int | None = None, batches: Iterable[Any] | None = None
    ) -> int:
        """Advance every running run by ``n`` steps, but no run past step ``limit`` (each
        run counts its own steps), or only the runs of ``batches`` (their views or keys).

        Returns the run-steps taken.  Each batch is stepped under its lock and publishes
        its view when done."""
        if batches is None:
            groups = list(self._groups)
        else:
            found = (self._by_key.get(getattr(item, "key", item)) for item in batches)
            groups = [group for group in found if group is not None]
        taken = 0
        with np.errstate(all="ignore"):
            for group in groups:
                with group.lock:
                    try:
                        for _ in range(n):
                            stepped = self._step_group(group, limit)
                            if not stepped:
                                break
                            taken += stepped
                    finally:
                        group.publish()
        return taken

    def _step_group(self, group: Group, limit: int | None) -> int:
        """One step of the group's running runs below ``limit``; how many stepped."""
        count = len(group)
        if not count:
            return 0
        code, t = group.code, group.t
        if not _any(code) and (limit is None or t.max() < limit):
            rows = None  # every run is running: the fast path
        else:
            active = code == RUNNING
            if limit is not None:
                active &= t < limit
            rows = np.flatnonzero(active)
            if not len(rows):
                return 0
        if group.batch_size:
            self._step_minibatches(group, rows)
        else:
            self._step_rows(group, self.problem, rows)
        return count if rows is None else len(rows)

    def _step_minibatches(self, group: Group, rows: np.ndarray | None) -> None:
        """One step on minibatches: each run's drawn from its own seed and step."""
        seeds, t = group.seeds[:, 0], group.t
        if rows is not None:
            seeds, t = seeds[rows], t[rows]
        origin = guard.Origin("model", "")
        try:
            problem = guard.call(
                origin, "minibatch", self.problem.minibatch, seeds, t, group.batch_size
            )
        except guard.PluginFault as fault:
            failing = np.arange(len(group)) if rows is None else rows
            group.code[failing] = FAILED
            group.stop_step[failing] = group.t[failing]
            for row in failing:
                group.messages[group.run_ids[row]] = str(fault)
            group.invalidate()
            return
        self._step_rows(group, problem, rows)

    def _step_rows(self, group: Group, problem: Problem, rows: np.ndarray | None) -> None:
        if rows is None:
            x, state = group.x, group.state
        else:
            x = group.x[rows]
            state = {k: v[rows] for k, v in group.state.items()}
        try:
            hyper = group.hyper_for(rows)
        except Exception as error:  # the schedule failed: so do the runs it drives
            failing = np.arange(len(group)) if rows is None else rows
            group.code[failing] = FAILED
            group.stop_step[failing] = group.t[failing]
            message = str(error) if isinstance(error, guard.PluginFault) else _describe(error)
            for row in failing:
                group.messages[group.run_ids[row]] = message
            group.invalidate()
            return
        results = self._try_step(group, problem, x, state, hyper, rows)
        if results is not None:
            x_new, new_state, counts = results
            self._commit(group, rows, x, x_new, new_state, counts)

    def _try_step(self, group, problem, x, state, hyper, rows):
        usable = rows is None and group.cache_x is x and not group.batch_size
        counting = _CountingProblem(
            problem, x if usable else None, group.cache if usable else {}, len(x)
        )
        writeable = x.flags.writeable
        x.flags.writeable = False  # a step that writes into x fails instead of going unseen
        try:
            try:
                x_new, new_state = guard.call(
                    group.origin, "step", group.spec.step, counting, x, state, hyper
                )
            finally:
                x.flags.writeable = writeable
            if type(x_new) is not np.ndarray or x_new.dtype != np.float64:
                x_new = np.asarray(x_new)
                if x_new.dtype.kind not in "fiu":
                    raise _StepFailure(f"step returned x of dtype {x_new.dtype}, not real numbers")
                x_new = x_new.astype(float)
            if x_new.shape != x.shape:
                raise _StepFailure(f"step returned x of shape {x_new.shape}, expected {x.shape}")
            new_state = _check_state(new_state, len(x))
            if new_state.keys() != state.keys():
                raise _StepFailure("step changed the state's keys")
            return x_new, new_state, counting.totals()
        except Exception as error:
            # A step that hung is not tried again run by one run: each try would hang too.
            if len(x) > 1 and not isinstance(error, guard.PluginTimeout):
                self._step_one_by_one(group, problem, x, state, hyper, rows)
                return None
            failing = np.arange(len(group)) if rows is None else rows
            group.code[failing] = FAILED
            group.stop_step[failing] = group.t[failing]
            for row in failing:
                group.messages[group.run_ids[row]] = _describe(error)
            group.invalidate()
            return None

    def _step_one_by_one(self, group, problem, x, state, hyper, rows) -> None:
        all_rows = np.arange(len(group)) if rows is None else rows
        for position, row in enumerate(all_rows):
            single_hyper = {
                name: (value[position : position + 1] if isinstance(value, np.ndarray) else value)
                for name, value in hyper.items()
            }
            single_state = {k: v[position : position + 1] for k, v in state.items()}
            one = np.array([row])
            alone = problem.for_rows(np.array([position]))  # a minibatch keeps the run's own
            result = self._try_step(
                group, alone, x[position : position + 1], single_state, single_hyper, one
            )
            if result is not None:
                x_new, new_state, counts = result
                self._commit(group, one, x[position : position + 1], x_new, new_state, counts)

    def _commit(self, group: Group, rows, x, x_new, new_state, counts) -> None:
        cache: dict[str, np.ndarray] = {}
        loss, gnorm, faults = self._evaluate(x_new, cache)
        if faults:  # those runs fail where they stand; the others go on
            index = np.arange(len(group)) if rows is None else rows
            for position, reason in faults.items():
                row = index[position]
                group.code[row] = FAILED
                group.stop_step[row] = group.t[row]
                group.messages[group.run_ids[row]] = reason
            group.invalidate()
            kept = np.setdiff1d(np.arange(len(x)), list(faults))
            if not len(kept):
                return
            rows, x, x_new, loss, gnorm = index[kept], x[kept], x_new[kept], loss[kept], gnorm[kept]
            new_state = {name: value[kept] for name, value in new_state.items()}
            if isinstance(counts, np.ndarray):
                counts = counts[kept]
        if rows is None and group.lockstep and _all_in_range(x_new, loss):
            top = int(group.t[0]) + 1  # the fast path: everyone ran and is fine
            group.x, group.state, group.loss, group.gnorm = x_new, new_state, loss, gnorm
            group.t = group.t + 1
            if isinstance(counts, list):
                group.count_step(counts)
            else:
                group.evals += counts
            group.record(None, top, x_new, loss, gnorm)
            group.cache_x, group.cache = x_new, cache
            ended = False
            # Not ``gnorm.min()``: one row's NaN would hide the others' convergence.
            done = gnorm <= self.gtol if self.converging else None
            if done is not None and _any(done):
                group.code[done] = CONVERGED
                group.stop_step[done] = top
                ended = True
            if group.spec.stop_reasons and "stop" in new_state:
                ended |= _mark_stops(group, np.arange(len(group)), new_state["stop"], top)
            self._settle(group, None, x, x_new, ended)
            return
        finite = (np.abs(x_new) < DIVERGENCE_LIMIT).all(axis=1) & np.isfinite(loss)
        done = (gnorm <= self.gtol) if self.converging else np.zeros(len(x), dtype=bool)
        index = np.arange(len(group)) if rows is None else rows
        t_new = group.t[index] + 1
        bad = index[~finite]
        group.code[bad] = DIVERGED
        group.stop_step[bad] = t_new[~finite]
        done &= finite
        group.code[index[done]] = CONVERGED
        group.stop_step[index[done]] = t_new[done]
        if group.spec.stop_reasons and "stop" in new_state:
            _mark_stops(group, index[finite], new_state["stop"][finite], t_new[finite])
        # A diverged run stays at its last finite point.
        kept = np.where(finite[:, None], x_new, x)
        ok, at = index[finite], t_new[finite]
        # Replaced, not written in place: published views hold the old arrays.
        group.x = _with_rows(group.x, index, kept)
        group.loss = _with_rows(group.loss, ok, loss[finite])
        group.gnorm = _with_rows(group.gnorm, ok, gnorm[finite])
        group.state = {
            name: _with_rows(group.state[name], index, value) for name, value in new_state.items()
        }
        group.t = _with_rows(group.t, index, t_new)
        group.evals[index] += counts
        if len(ok):
            group.record(ok, at, x_new[finite], loss[finite], gnorm[finite])
        group.cache_x, group.cache = None, {}
        group.lockstep = bool((group.t == group.t[0]).all())
        self._settle(group, index, x, x_new, bool(group.code[index].any()))

    def _settle(self, group: Group, index, x, x_new, ended: bool) -> None:
        """After a step of ``index`` (None: every run), in which some run stopped if
        ``ended``: stop the runs whose point has not changed for ``STALL_STEPS`` steps, and
        classify the runs that stopped just now."""
        # One comparison of the whole batch: a run can only be still if a coordinate is.
        # ``gtol=0`` asks for every step: then a still run is not stopped either.
        if group.watch_stalls and self.gtol > 0 and (group.any_still or _any(x_new == x)):
            rows = np.arange(len(group)) if index is None else index
            same = (x_new == x).all(axis=1)
            still = np.where(same, group.still[rows] + 1, 0)
            group.still = _with_rows(group.still, rows, still)
            group.any_still = bool(group.still.any())
            stalled = rows[(still >= STALL_STEPS) & (group.code[rows] == RUNNING)]
            for row in stalled:
                group.code[row] = STOPPED
                group.stop_step[row] = group.t[row]
                group.messages[group.run_ids[row]] = f"no progress in {STALL_STEPS} steps"
            ended |= bool(len(stalled))
        if not (ended and self.end_states):
            return
        rows = np.arange(len(group)) if index is None else index
        code = group.code[rows]
        ended_rows = rows[(code == CONVERGED) | (code == STOPPED)]
        fresh = [row for row in ended_rows if group.run_ids[row] not in group.ends]
        if fresh:
            self._classify(group, np.asarray(fresh))

    def _classify(self, group: Group, rows: np.ndarray) -> None:
        """Where the runs of ``rows`` stand, by the curvature there (a Hessian each, once)."""
        origin = guard.Origin("model", "")
        try:
            if self._lowest is False:
                self._lowest = guard.call(origin, "loss", lowest_known, self.problem)
            states = guard.call(
                origin, "hess", classify_many, self.problem, group.x[rows], lowest=self._lowest
            )
        except Exception:  # a model that cannot say leaves the runs' status as it was
            return
        for row, state in zip(rows, states, strict=True):
            group.ends[group.run_ids[row]] = state

    # ------------------------------------------------------------ reading
    def batches(self) -> list[BatchView]:
        """Every batch as last published (never waits for one being stepped)."""
        return [group.view for group in self._groups]

    def batch_of(self, run_id: int) -> BatchView:
        """The published view of the batch that holds ``run_id``."""
        return self._group_of[run_id].view

    def _locate(self, run_id: int) -> tuple[BatchView, int]:
        view = self._group_of[run_id].view
        return view, view.row(run_id)

    def run(self, run_id: int) -> RunView:
        """A snapshot of one run: its config, status, position, evaluations and history."""
        view, row = self._locate(run_id)
        return RunView(
            run_id,
            self.configs[run_id],
            _status(view, row, run_id),
            int(view.steps[row]),
            view.x[row].copy(),
            float(view.loss[row]),
            float(view.grad_norm[row]),
            _evals(view, row),
            view.run_history(row),
        )

    def status(self, run_id: int) -> RunStatus:
        view, row = self._locate(run_id)
        return _status(view, row, run_id)

    def steps_taken(self, run_id: int) -> int:
        view, row = self._locate(run_id)
        return int(view.steps[row])

    def position(self, run_id: int) -> np.ndarray:
        view, row = self._locate(run_id)
        return view.x[row].copy()

    def optimizer_state(self, run_id: int) -> dict[str, np.ndarray]:
        view, row = self._locate(run_id)
        return view.optimizer_state(row)

    def evals(self, run_id: int) -> dict[str, int]:
        view, row = self._locate(run_id)
        return _evals(view, row)

    def history(self, run_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, loss, grad_norm) at the points the run has kept (see ``run`` for their
        step numbers)."""
        view, row = self._locate(run_id)
        history = view.run_history(row)
        return history.x, history.loss, history.grad_norm

    def trajectory(self, run_id: int) -> Trajectory:
        view, row = self._locate(run_id)
        history = view.run_history(row)
        return Trajectory(
            history.x,
            history.loss,
            history.grad_norm,
            _status(view, row, run_id),
            _evals(view, row),
            history.kept,
            history.thinned,
        )

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything, for ``restore`` (rewinding)."""
        return copy.deepcopy(
            {
                "configs": self.configs,
                "groups": self._groups,
                "group_of": self._group_of,
                "next_id": self._next_id,
            }
        )

    def restore(self, snapshot: dict[str, Any]) -> None:
        snapshot = copy.deepcopy(snapshot)
        self.configs = snapshot["configs"]
        self._groups = snapshot["groups"]
        self._by_key = {group.key: group for group in self._groups}
        self._group_of = snapshot["group_of"]
        self._next_id = snapshot["next_id"]
        for group in self._groups:
            group.invalidate()
            group.publish()


def _with_checked(config: RunConfig, hyper: dict, schedule_params: dict, start) -> RunConfig:
    """``config`` with its checked settings: ``dataclasses.replace`` without its per-call
    cost, which counts for sweeps of many thousands of runs."""
    fields = dict(config.__dict__)
    fields.update(hyper=hyper, schedule_params=schedule_params, start=start, seed=int(config.seed))
    checked = object.__new__(RunConfig)
    checked.__dict__.update(fields)
    return checked


def _status(view: BatchView, row: int, run_id: int) -> RunStatus:
    code = int(view.codes[row])
    step = int(view.steps[row]) if code == RUNNING else int(view.stop_steps[row])
    return RunStatus(STATE_NAMES[code], step, view.messages.get(run_id, ""), view.ends.get(run_id))


def _mark_stops(group: Group, rows: np.ndarray, stop: np.ndarray, steps) -> bool:
    """Stop the running ``rows`` whose optimizer asked to (``stop`` > 0), with its reason,
    and say whether any did (a ``stop`` of another shape breaks the contract and is ignored;
    the kit reports it)."""
    stop = np.asarray(stop)
    if stop.shape != np.shape(rows):
        return False
    asked = (stop > 0) & (group.code[rows] == RUNNING)
    if not asked.any():
        return False
    reasons = group.spec.stop_reasons
    for position in np.flatnonzero(asked):
        row, code = rows[position], int(stop[position])
        group.code[row] = STOPPED
        group.stop_step[row] = np.broadcast_to(steps, np.shape(rows))[position]
        reason = reasons[code - 1] if code <= len(reasons) else f"stop code {code}"
        group.messages[group.run_ids[row]] = reason
    return True


def _evals(view: BatchView, row: int) -> dict[str, int]:
    return {kind: int(n) for kind, n in zip(EVAL_KINDS, view.evals[row], strict=True)}


def _with_rows(array: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A copy of ``array`` with ``rows`` set to ``values`` (all rows: ``values`` itself)."""
    if len(rows) == len(array) and len(rows) and rows[-1] == len(array) - 1:
        return np.asarray(values, dtype=array.dtype).reshape(array.shape)
    array = array.copy()
    array[rows] = values
    return array


def _as_float_array(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``; no copy when it already is one.
    ``TypeError`` for complex or non-numeric values (never cut to their real part)."""
    if type(value) is not np.ndarray or value.dtype != np.float64:
        value = np.asarray(value)
        if value.dtype.kind not in "fiub":
            raise TypeError(f"expected real numbers, got {value.dtype}")
        value = value.astype(float, copy=False)
    return value if value.shape == shape else value.reshape(shape)


#: Up to this many elements, Python does a reduction (``any``, ``max``) faster than numpy.
_FEW = 16


def _any(flags: np.ndarray) -> bool:
    if flags.size > _FEW:
        return bool(flags.any())
    return any(flags.tolist() if flags.ndim == 1 else flags.ravel().tolist())


def _all_in_range(x: np.ndarray, loss: np.ndarray) -> bool:
    """Whether every coordinate is within ``DIVERGENCE_LIMIT`` and every loss finite (NaN
    and ±inf fail both tests)."""
    if x.size <= _FEW:
        limit = DIVERGENCE_LIMIT
        for v in x.ravel().tolist():
            if not -limit < v < limit:
                return False
        return all(map(math.isfinite, loss.tolist()))
    return bool(np.abs(x).max() < DIVERGENCE_LIMIT and np.isfinite(loss.sum()))


def _check_state(state: Any, batch: int) -> dict[str, np.ndarray]:
    if not isinstance(state, dict):
        raise _StepFailure(f"state must be a dict of arrays, got {type(state).__name__}")
    for name, value in state.items():
        shape = getattr(value, "shape", None)
        if type(value) is not np.ndarray or not shape or shape[0] != batch:
            value = np.asarray(value)
            if value.ndim == 0 or value.shape[0] != batch:
                raise _StepFailure(
                    f"state[{name!r}] has shape {value.shape}; its leading "
                    f"axis must be the batch ({batch})"
                )
            state = {**state, name: value}
    return state


def _describe(error: BaseException) -> str:
    if isinstance(error, _StepFailure):
        return str(error)
    if isinstance(error, guard.PluginFault) and "read-only" in error.reason:
        return "step wrote into x in place; return a new array instead"
    return guard.describe(error)


def _model_fault(error: Exception) -> str:
    """Why the model could not evaluate a run's point, in one line."""
    if isinstance(error, guard.PluginFault):
        verb = guard.STAGE_VERBS.get(error.stage, error.stage)
        return f"the model failed to {verb} at this point: {error.reason}"
    return f"the model returned {guard.describe(error)}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def simulate(
    model: str | ModelSpec | Problem,
    optimizer: str | OptimizerSpec,
    *,
    steps: int,
    start: Any = None,
    settings: Mapping[str, Any] | None = None,
    hyper: Mapping[str, Any] | None = None,
    schedule: str | ScheduleSpec | tuple | None = None,
    seed: int = 0,
    registry: Any = None,
    gtol: float = 1e-10,
    history: str = "full",
) -> Trajectory:
    """Run one optimizer on one model for ``steps`` steps and return its trajectory.

    ``model`` and ``optimizer`` are registry names, specs or (model) a ``Problem``;
    ``schedule`` is a name, a spec, or ``(name_or_spec, params)``.  A run that converges
    (gradient norm ≤ ``gtol``), stops moving, diverges or fails stops early; its trajectory
    ends there.  ``gtol=0`` takes every step unless the run diverges or fails.
    ``history`` is as for ``RunSet`` (every step by default).  Never raises for what
    the optimizer does; raises ``EngineError`` for bad set-up.
    """
    if registry is None:
        from zoo.registry import load_registry

        registry = load_registry()
    problem = build_problem(model, settings, seed=seed, registry=registry)
    registry = _with_records(registry, optimizer, schedule)
    schedule_name, schedule_params = None, {}
    if schedule is not None:
        item, schedule_params = schedule if isinstance(schedule, tuple) else (schedule, {})
        schedule_name = item if isinstance(item, str) else item.name
    name = optimizer if isinstance(optimizer, str) else optimizer.name
    runs = RunSet(problem, registry, gtol=gtol, history=history)
    run_id = runs.add(
        RunConfig(
            name,
            dict(hyper or {}),
            schedule_name,
            dict(schedule_params),
            None if start is None else tuple(np.ravel(start)),
            seed,
        )
    )
    runs.step(steps)
    return runs.trajectory(run_id)


def _with_records(registry: Any, optimizer: Any, schedule: Any) -> Any:
    """A view of ``registry`` that also knows specs passed directly to ``simulate``."""
    extra = {}
    if isinstance(optimizer, OptimizerSpec):
        extra[("optimizer", optimizer.name)] = optimizer
    item = schedule[0] if isinstance(schedule, tuple) else schedule
    if isinstance(item, ScheduleSpec):
        extra[("schedule", item.name)] = item
    return _Overlay(registry, extra) if extra else registry


class _Overlay:
    def __init__(self, registry: Any, extra: dict) -> None:
        self._registry = registry
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        return getattr(self._registry, name)

    def get(self, kind: str, name: str) -> Any:
        return self._extra.get((kind, name)) or self._registry.get(kind, name)
