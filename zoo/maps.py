"""Maps from batches: basins of attraction, hyper-parameter maps and learning-rate sensitivity.

One picture here is thousands of runs stepped together.  Only each run's *outcome* is
kept, updated as it goes: its end point and status, the step from which it stays within
tolerance of a known minimum, the slope of log(loss − E*) over the tail of its path (the
convergence rate) and the mean of log₁₀(loss − E*) over its steps (the area under the
log-loss curve).  E* is the lowest loss of the listed minima, else the lowest loss seen.

``basin_maps`` and ``hyper_maps`` refine progressively: they yield a coarse map first and
then the full one, each usable as it arrives; every function takes ``progress`` (called
with the fraction done) and ``cancel`` (a callable or a ``threading.Event``; when it is
set the computation stops and ``MapCancelled`` is raised).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo import endstate
from zoo.engine import RunConfig, RunSet
from zoo.problem import Problem
from zoo.runview import CONVERGED, DIVERGED, FAILED, STOPPED

#: Basin classes besides the minima's own indices 0, 1, …
ELSEWHERE, DIVERGED_CLASS, NOT_YET = -1, -2, -3
CLASS_NAMES = {ELSEWHERE: "elsewhere", DIVERGED_CLASS: "diverged", NOT_YET: "not yet"}
#: End-state classes of a basin map's ``end``: ``KINDS[i]`` is class i, besides
#: ``DIVERGED_CLASS`` and ``NOT_YET``.
KINDS = endstate.KINDS
#: What a sensitivity curve can measure, each "lower is better".
METRICS = {
    "gap": "final loss above E*",
    "distance": "distance to the nearest minimum",
    "steps": "steps to tolerance",
    "area": "area under the log-loss curve (mean log₁₀(loss − E*) per step)",
}
#: What each kind of map holds per cell, the first being what colours it by default
#: (``end`` where the model has the curvature to classify end points).
BASIN_QUANTITIES = ("basin", "steps_to_tol", "final_loss", "rate", "end")
HYPER_QUANTITIES = ("rate", "steps_to_tol", "final_loss", "diverged")
#: The axis name of a map over the minibatch size (``RunConfig.batch_size``).
BATCH_SIZE = "batch_size"
#: Gaps below this (relative to max(1, |E*|)) are rounding, not progress.
GAP_FLOOR = 1e-13
#: Steps between progress reports and checks for cancellation.
CHUNK = 25
#: Runs stepped together: enough to spread the engine's cost per step, few enough that
#: what is kept of their paths until they finish (a log-gap per step) stays small.
RUNS_PER_BATCH = 16384

#: Runs whose paths are fitted at once: a dozen float64 arrays of (steps + 1) × this,
#: which stay in the cache for a few hundred steps.
_COLUMNS = 512

Cancel = Callable[[], bool] | Any  # a callable or anything with ``is_set()``


class MapCancelled(Exception):
    """The computation was cancelled before it finished."""


# --------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Outcomes:
    """What became of a batch of runs, one row per run (arrays of length B).

    ``status`` holds the engine's codes (0 running, 1 converged, 2 diverged, 3 failed,
    4 stopped);
    ``steps_to_tol`` is the step from which a run stayed within ``radius`` of a known
    minimum (NaN if it did not); ``rate`` is exp(slope/2) of log(loss − E*) over the tail,
    the factor by which the distance to the minimum shrinks per step (NaN when it cannot
    be measured); ``area`` the mean of log₁₀ max(loss − E*, floor) over the steps."""

    x: np.ndarray  # (B, D) end points
    final_loss: np.ndarray
    grad_norm: np.ndarray
    status: np.ndarray
    steps_to_tol: np.ndarray
    rate: np.ndarray
    area: np.ndarray
    nearest: np.ndarray  # index of the nearest listed minimum (-1: none listed)
    distance: np.ndarray  # distance to it (NaN: none listed)
    e_star: float
    steps: int
    # Where the runs that stopped stand: an index into ``zoo.endstate.KINDS`` (-1: not
    # classified); None when not asked for or the model cannot say.
    end: np.ndarray | None = None


def _cancelled(cancel: Cancel | None) -> bool:
    if cancel is None:
        return False
    return bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())


class _Block:
    """Runs of one optimizer from the rows of ``starts`` (N, D), all with ``hyper`` and
    ``batch_size`` but for the float hyper-parameters in ``columns`` (name -> N values);
    ``seed`` is one seed or N."""

    def __init__(
        self, optimizer: str, hyper: Mapping[str, Any], starts, columns=None, seed=0, batch_size=0
    ):
        self.optimizer = optimizer
        self.hyper = dict(hyper)
        self.starts = np.asarray(starts, dtype=float)
        self.columns = {name: np.asarray(v, dtype=float) for name, v in (columns or {}).items()}
        self.seed = seed
        self.batch_size = batch_size

    def __len__(self) -> int:
        return len(self.starts)

    def part(self, lo: int, hi: int) -> _Block:
        columns = {name: values[lo:hi] for name, values in self.columns.items()}
        seed = self.seed if np.isscalar(self.seed) else self.seed[lo:hi]
        return _Block(
            self.optimizer, self.hyper, self.starts[lo:hi], columns, seed, self.batch_size
        )

    def add_to(self, runs: RunSet) -> list[int]:
        return runs.add_grid(
            self.optimizer,
            self.hyper,
            self.starts,
            columns=self.columns,
            seed=self.seed,
            batch_size=self.batch_size,
        )


class _Configs(list):
    """Runs given as ``RunConfig``s, one each."""

    def part(self, lo: int, hi: int) -> _Configs:
        return _Configs(self[lo:hi])

    def add_to(self, runs: RunSet) -> list[int]:
        return runs.add_many(self)


def _parts(sources: Sequence, lo: int, hi: int) -> list:
    """The pieces of ``sources`` (each a ``_Block`` or ``_Configs``) holding runs lo … hi − 1
    of all of them in order."""
    pieces, offset = [], 0
    for source in sources:
        a, b = max(lo, offset), min(hi, offset + len(source))
        if a < b:
            pieces.append(source.part(a - offset, b - offset))
        offset += len(source)
    return pieces


class _Runs:
    """Some runs of a map, stepped without keeping their paths.

    The one place that talks to the engine: ``read`` returns (x, loss, grad norm,
    status) of every run in the order they were given."""

    def __init__(self, problem: Problem, registry: Any, sources: Sequence) -> None:
        self.runs = RunSet(problem, registry, history="none", end_states=False)
        self.ids = np.asarray([i for source in sources for i in source.add_to(self.runs)])
        self._layout: tuple = ()  # the batches' row tables the order below was made for
        self._position: np.ndarray | None = None  # None: the batches are in config order

    def step(self, n: int) -> None:
        self.runs.step(n)

    def read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        views = self.runs.batches()
        layout = tuple(view._rows for view in views)  # replaced whenever rows move
        if len(layout) != len(self._layout) or any(
            new is not old for new, old in zip(layout, self._layout, strict=True)
        ):
            order = np.concatenate([np.asarray(view.run_ids) for view in views])
            self._layout = layout
            self._position = None
            if not np.array_equal(order, self.ids):
                position = np.empty(len(order), dtype=np.int64)
                position[np.searchsorted(self.ids, order)] = np.arange(len(order))
                self._position = position
        arrays = [[view.x, view.loss, view.grad_norm, view.codes] for view in views]
        out = []
        for parts in zip(*arrays, strict=True):
            joined = parts[0] if len(parts) == 1 else np.concatenate(parts)
            out.append(joined if self._position is None else joined[self._position])
        return tuple(out)  # type: ignore[return-value]


class _Tracker:
    """What is kept of each run's path: tolerance, area, and log(loss − E*) step by step
    (half precision, for the tail's slope; the losses themselves while E* is unknown)."""

    def __init__(self, batch: int, steps: int, minima: np.ndarray, radius: float, e_star):
        self.minima = minima
        self.radius = radius
        self.e_star = e_star  # None: the lowest seen, known at the end
        self.lowest = np.inf
        # The last step at which each run was not within tolerance (-1: never).
        self.outside_at = np.full(batch, -1, dtype=np.int64)
        self.steps = steps
        dtype = np.float16 if e_star is not None else np.float64
        self.path = np.full((steps + 1, batch), np.nan, dtype=dtype)

    def update(self, t: int, x: np.ndarray, loss: np.ndarray, running: np.ndarray) -> None:
        finite = np.isfinite(loss)
        if len(self.minima):
            inside = self._nearest(x) <= self.radius
            inside &= finite
            self.outside_at = np.where(inside, self.outside_at, t)
        kept = running & finite
        if self.e_star is None:
            if finite.any():
                self.lowest = min(self.lowest, float(loss[finite].min()))
            self.path[t] = np.where(kept, loss, np.nan)
        else:
            self.path[t] = np.where(kept, self._log_gap(loss), np.nan)

    def _floor(self) -> float:
        return GAP_FLOOR * max(1.0, abs(self.e_star))

    def _log_gap(self, loss: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.log(np.maximum(loss - self.e_star, self._floor()))

    def _distances(self, x: np.ndarray) -> np.ndarray:
        return np.linalg.norm(x[:, None, :] - self.minima[None, :, :], axis=2)

    def _nearest(self, x: np.ndarray) -> np.ndarray:
        """The distance to the nearest minimum, as ``_distances(x).min(axis=1)`` but one
        minimum at a time (numpy broadcasts a (B, 1, D) difference slowly, and sums
        short rows slowly: two coordinates are added as two columns)."""
        nearest = None
        for point in self.minima:
            if len(point) == 2:
                u, v = x[:, 0] - point[0], x[:, 1] - point[1]
                u *= u
                v *= v
                u += v
                distance = np.sqrt(u, out=u)
            else:
                difference = x - point
                difference *= difference
                distance = np.sqrt(np.add.reduce(difference, axis=1))
            nearest = distance if nearest is None else np.minimum(nearest, distance)
        return nearest

    def _rates_and_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """The tail slope, fitted to the upper envelope of log(loss − E*) over the last
        half of the steps above the rounding floor (robust to oscillation), and the mean
        of log₁₀ of the gap over all steps."""
        batch = self.path.shape[1]
        rate, area = np.full(batch, np.nan), np.full(batch, np.nan)
        floor = np.log(self._floor())
        steps = np.arange(len(self.path), dtype=float)
        # Sums of whole steps and their squares are exact in any order: one product.
        powers = np.stack([np.ones_like(steps), steps, steps * steps])
        t = steps[:, None]
        for lo in range(0, batch, _COLUMNS):
            y = self.path[:, lo : lo + _COLUMNS].astype(float)
            if self.e_star is None:
                y = self._log_gap(y)
            finite = ~np.isnan(y)  # the path holds finite values or NaN
            count = np.maximum(finite.sum(axis=0), 1)
            area[lo : lo + _COLUMNS] = np.where(finite, y, 0.0).sum(axis=0) / count / np.log(10.0)
            valid = y > floor + 1e-9
            last = np.where(valid, t, -1.0).max(axis=0)  # the last valid step, or -1
            last = np.where(last < 0, 0, last).astype(np.int64)
            envelope = np.where(valid, y, -np.inf)
            for row in range(len(envelope) - 2, -1, -1):  # the running maximum from the end
                np.maximum(envelope[row], envelope[row + 1], out=envelope[row])
            use = t >= (last // 2)[None, :]
            use &= valid
            n, st, stt = powers @ use.astype(float)
            e = np.where(use, envelope, 0.0)
            sy = e.sum(0)
            e *= t
            sty = e.sum(0)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                slope = (n * sty - st * sy) / (n * stt - st * st)
                rate[lo : lo + _COLUMNS] = np.where(n >= 4, np.exp(slope / 2), np.nan)
        return rate, area

    def finish(self, x, loss, gnorm, status, steps: int) -> Outcomes:
        if self.e_star is None:
            self.e_star = self.lowest if np.isfinite(self.lowest) else 0.0
        rate, area = self._rates_and_areas()
        cols = np.arange(len(loss))
        if len(self.minima):
            distances = self._distances(x)
            nearest = np.argmin(distances, axis=1)
            distance = distances[cols, nearest]
        else:
            nearest = np.full(len(loss), -1)
            distance = np.full(len(loss), np.nan)
        diverged = status == DIVERGED
        inside = (self.outside_at < self.steps) & bool(len(self.minima))  # at the last step
        steps_to_tol = np.where(inside, self.outside_at + 1.0, np.nan)
        return Outcomes(
            x=x,
            final_loss=np.where(diverged, np.inf, loss),
            grad_norm=gnorm,
            status=status,
            steps_to_tol=steps_to_tol,
            rate=np.where(diverged, np.nan, rate),
            area=np.where(diverged, np.inf, area),
            nearest=nearest,
            distance=np.where(diverged, np.inf, distance),
            e_star=float(self.e_star),
            steps=steps,
        )


def known_minima(problem: Problem) -> np.ndarray:
    """The problem's listed minima as (K, D)."""
    return np.asarray(problem.minima, dtype=float).reshape(-1, problem.dim)


def known_e_star(problem: Problem) -> float | None:
    """The lowest loss of the listed minima, or None when the problem lists none."""
    minima = known_minima(problem)
    if not len(minima):
        return None
    values = np.asarray(problem.loss(minima), dtype=float)
    return float(values.min())


def default_radius(problem: Problem) -> float:
    """Tolerance on the distance to a minimum: a thousandth of the view's diagonal."""
    (x0, x1), (y0, y1) = problem.bounds
    return 1e-3 * float(np.hypot(x1 - x0, y1 - y0))


def outcomes(
    problem: Problem,
    configs: Sequence[RunConfig],
    steps: int,
    *,
    registry: Any = None,
    radius: float | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> Outcomes:
    """Step ``configs`` on ``problem`` for ``steps`` steps and return what became of them."""
    return _outcomes(problem, [_Configs(configs)], steps, registry, radius, progress, cancel)


def _outcomes(
    problem, sources, steps, registry, radius, progress, cancel, classify_below=None
) -> Outcomes:
    """``outcomes`` of the runs of ``sources``, stepped ``RUNS_PER_BATCH`` at a time (a
    run's path is the same in any batch), each batch finished before the next begins, so
    only one batch's paths are kept at once.  With ``classify_below`` (a gradient
    norm), the runs that converged, stopped or got below it are classified where they
    end (``Outcomes.end``)."""
    if registry is None:
        from zoo.registry import load_registry

        registry = load_registry()
    radius = default_radius(problem) if radius is None else radius
    minima, e_star = known_minima(problem), known_e_star(problem)
    total = sum(len(source) for source in sources)
    finished, ends, kinds = [], [], []
    for lo in range(0, max(total, 1), RUNS_PER_BATCH):
        hi = min(lo + RUNS_PER_BATCH, total)
        runs = _Runs(problem, registry, _parts(sources, lo, hi))
        tracker = _Tracker(hi - lo, steps, minima, radius, e_star)
        x, loss, gnorm, status = runs.read()
        tracker.update(0, x, loss, status == 0)
        for t in range(1, steps + 1):
            if (t - 1) % CHUNK == 0:
                if _cancelled(cancel):
                    raise MapCancelled("cancelled")
                if progress is not None and total:
                    progress((lo * steps + (hi - lo) * (t - 1)) / (total * steps))
            was_running = status == 0
            runs.step(1)
            x, loss, gnorm, status = runs.read()
            tracker.update(t, x, loss, was_running & (status != DIVERGED))
        ends.append((x, loss, gnorm, status))
        if classify_below is not None:
            kinds.append(_end_kinds(problem, x, gnorm, status, classify_below))
        if e_star is None:
            finished.append(tracker)  # finished once the lowest loss of all is known
        else:
            finished.append(tracker.finish(x, loss, gnorm, status, steps))
    if e_star is None:
        lowest = min(tracker.lowest for tracker in finished)
        for tracker in finished:
            tracker.lowest = lowest
        finished = [
            tracker.finish(*end, steps) for tracker, end in zip(finished, ends, strict=True)
        ]
    if progress is not None:
        progress(1.0)
    end = None if not kinds or any(k is None for k in kinds) else np.concatenate(kinds)
    return _joined(finished, end)


def _joined(parts: list[Outcomes], end: np.ndarray | None) -> Outcomes:
    """The outcomes of consecutive batches of runs as one, with their end states."""
    arrays = {
        name: np.concatenate([getattr(part, name) for part in parts])
        for name in Outcomes.__dataclass_fields__
        if name not in ("e_star", "steps", "end")
    }
    return Outcomes(**arrays, e_star=parts[0].e_star, steps=parts[0].steps, end=end)


#: Hessian entries formed at once while classifying end points.
_HESSIAN_ENTRIES = 1 << 22


def _end_kinds(problem, x, gnorm, status, below: float) -> np.ndarray | None:
    """The end-state kind of each run that converged, stopped or whose gradient norm is at
    most ``below`` (-1 for the others), or None if the model cannot say."""
    if "grad" not in problem.provides:
        return None
    stopped = (status == CONVERGED) | (status == STOPPED) | (gnorm <= below)
    rows = np.flatnonzero(stopped & (status != DIVERGED) & (status != FAILED))
    kinds = np.full(len(x), -1, dtype=np.int16)
    lowest = known_e_star(problem)
    size = max(1, _HESSIAN_ENTRIES // problem.dim**2)
    try:
        for lo in range(0, len(rows), size):
            part = rows[lo : lo + size]
            kinds[part] = endstate.classes(problem, x[part], lowest=lowest)[0]
    except Exception:  # a model whose curvature cannot be had: no classes, not wrong ones
        return None
    return kinds


# --------------------------------------------------------------------- maps
@dataclass(frozen=True)
class Axis:
    """One axis of a map: what it sweeps and the values of its cells."""

    name: str
    values: np.ndarray
    log: bool = False


@dataclass(frozen=True)
class MapResult:
    """A map: arrays of shape (G, G), row i for ``y.values[i]``, column j for ``x.values[j]``.

    Basin maps hold ``basin`` (a minimum's index, or ``ELSEWHERE``, ``DIVERGED_CLASS``,
    ``NOT_YET``), ``steps_to_tol``, ``final_loss``, ``rate`` and, where the model has a
    gradient, ``end`` (the end-state class ``i`` of ``KINDS[i]`` of a run that stopped,
    by the curvature where it stands, or ``DIVERGED_CLASS``, ``NOT_YET``); hyper-parameter maps
    hold ``rate``, ``steps_to_tol``, ``final_loss`` (means over the starts that did not
    diverge) and ``diverged`` (the fraction of starts that did)."""

    kind: str  # "basin" or "hyper"
    x: Axis
    y: Axis
    data: dict[str, np.ndarray]
    optimizer: str
    hyper: Mapping[str, Any]
    steps: int
    e_star: float
    minima: np.ndarray
    final: bool = True  # False for a coarse picture that a finer one will follow
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def grid(self) -> int:
        """Cells along the longer side (a batch-size axis may have fewer than asked)."""
        return max(len(self.x.values), len(self.y.values))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns): the shape of each array of ``data``."""
        return len(self.y.values), len(self.x.values)

    def cell(self, row: int, column: int) -> dict[str, float]:
        """The axis values of a cell: a start (basin maps), or two hyper-parameters or a
        hyper-parameter and a batch size (a whole number)."""
        return {axis.name: axis.values[i].item() for axis, i in ((self.x, column), (self.y, row))}

    def config(self, row: int, column: int, start: int = 0) -> RunConfig:
        """The run a hyper-parameter map made of a cell from its ``start``-th start (with
        that start's seed): step it alone and it takes the same path."""
        if self.kind != "hyper":
            raise ValueError("a basin map's cells are starts, not settings")
        values = self.cell(row, column)
        batch_size = int(values.pop(BATCH_SIZE, 0))
        starts = self.meta.get("starts") or [None]
        point = starts[start]
        return RunConfig(
            self.optimizer,
            {**self.hyper, **values},
            start=None if point is None else tuple(point),
            seed=start,
            batch_size=batch_size,
        )


def _levels(grid: int, coarse: int | None) -> list[int]:
    if coarse is None:
        coarse = grid // 4 if grid >= 64 else 0
    return [coarse, grid] if 0 < coarse < grid else [grid]


def _scaled(progress, start: float, share: float):
    if progress is None:
        return None
    return lambda fraction: progress(start + share * fraction)


def basin_maps(
    problem: Problem,
    optimizer: str,
    hyper: Mapping[str, Any] | None = None,
    *,
    grid: int = 128,
    steps: int = 500,
    view: tuple[tuple[float, float], tuple[float, float]] | None = None,
    coarse: int | None = None,
    radius: float | None = None,
    gtol: float = 1e-6,
    registry: Any = None,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> Iterator[MapResult]:
    """Where each start of a grid over ``view`` ends up: a coarse map, then the full one.

    A run that ends within ``radius`` of a listed minimum is in that minimum's basin; one
    that stopped elsewhere (converged, or gradient norm ≤ ``gtol``) is ``ELSEWHERE``;
    one still moving is ``NOT_YET``.  The runs that stopped, there or elsewhere, are
    classified by the curvature where they end (``zoo.endstate``: minimum, saddle,
    plateau, stalled), once each."""
    if not 1 <= grid <= 1024:
        raise ValueError("grid must be from 1 to 1024 cells per side")
    (x0, x1), (y0, y1) = view or problem.bounds
    hyper = dict(hyper or {})
    levels = _levels(grid, coarse)
    weights = np.array([g * g for g in levels], dtype=float)
    shares = weights / weights.sum()
    for level, size in enumerate(levels):
        xs = x0 + (np.arange(size) + 0.5) * (x1 - x0) / size
        ys = y0 + (np.arange(size) + 0.5) * (y1 - y0) / size
        a, b = np.meshgrid(xs, ys)
        starts = problem.from_view(a.ravel(), b.ravel())
        done = float(shares[:level].sum())
        result = _outcomes(
            problem,
            [_Block(optimizer, hyper, starts)],
            steps,
            registry,
            radius,
            _scaled(progress, done, float(shares[level])),
            cancel,
            classify_below=gtol,
        )
        near = result.distance <= (default_radius(problem) if radius is None else radius)
        stopped = (result.status == 1) | (result.grad_norm <= gtol)
        basin = np.where(near, result.nearest, np.where(stopped, ELSEWHERE, NOT_YET))
        basin = np.where(result.status == DIVERGED, DIVERGED_CLASS, basin)
        shape = (size, size)
        data = {
            "basin": basin.reshape(shape).astype(np.int16),
            "steps_to_tol": result.steps_to_tol.reshape(shape),
            "final_loss": result.final_loss.reshape(shape),
            "rate": result.rate.reshape(shape),
        }
        if result.end is not None:
            end = np.where(result.end >= 0, result.end, NOT_YET)
            data["end"] = np.where(result.status == DIVERGED, DIVERGED_CLASS, end).reshape(shape)
        yield MapResult(
            kind="basin",
            x=Axis("x", xs),
            y=Axis("y", ys),
            data=data,
            optimizer=optimizer,
            hyper=hyper,
            steps=steps,
            e_star=result.e_star,
            minima=known_minima(problem),
            final=level == len(levels) - 1,
        )


def basin_map(problem: Problem, optimizer: str, hyper=None, **options) -> MapResult:
    """The full basin map (see ``basin_maps``), without the coarse pictures."""
    options.setdefault("coarse", 0)
    *_, result = basin_maps(problem, optimizer, hyper, **options)
    return result


def axis_values(low: float, high: float, count: int, log: bool) -> np.ndarray:
    """``count`` values from ``low`` to ``high``, evenly spaced (in log when ``log``)."""
    if log:
        if low <= 0 or high <= 0:
            raise ValueError("a log axis needs positive ends")
        return np.geomspace(low, high, count)
    return np.linspace(low, high, count)


def default_range(param: Any) -> tuple[float, float, bool]:
    """A hyper-parameter's default axis (low, high, log): its default ÷100 to ×100 on a
    log axis (within its limits), else its whole range."""
    if param.log:
        low, high = param.default / 100, param.default * 100
        if param.low is not None:
            low = max(low, param.low)
        if param.high is not None:
            high = min(high, param.high)
        return float(low), float(high), True
    return float(param.low), float(param.high), False


def batch_range(problem: Problem) -> tuple[float, float, bool]:
    """The default batch-size axis (low, high, log): 1 to the model's sample count, log."""
    if "samples" not in problem.provides:
        raise ValueError("batch_size needs a model with samples (a data-driven model)")
    return 1.0, float(problem.n_samples), True


def range_limits(name: str, params: Mapping[str, Any], problem: Problem) -> tuple[Any, Any]:
    """The ends an axis may not pass (None: unbounded): a hyper-parameter's declared
    ``low``/``high``, or 1 to the sample count for ``BATCH_SIZE``."""
    if name == BATCH_SIZE:
        return 1.0, batch_range(problem)[1]
    return params[name].low, params[name].high


def checked_range(
    name: str, low: float, high: float, log: bool, limits: tuple[Any, Any] = (None, None)
) -> tuple[str, float, float, bool]:
    """The axis ``(name, low, high, log)`` if a map can use it, else ``ValueError`` naming
    the axis: finite ends, low < high within ``limits``, positive on a log axis, and whole
    sizes for ``BATCH_SIZE``.  The app's range fields and ``zoo map --range`` both mean this."""
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name}: the range needs two finite numbers")
    if not low < high:
        raise ValueError(f"{name}: the range needs low < high, got {low:g} to {high:g}")
    if log and low <= 0:
        raise ValueError(f"{name}: a log axis needs low > 0, got {low:g}")
    if name == BATCH_SIZE and not (low.is_integer() and high.is_integer()):
        raise ValueError(f"{name}: sizes are whole numbers, got {low:g} to {high:g}")
    least, most = limits
    if least is not None and low < least:
        raise ValueError(f"{name}: low {low:g} is below the smallest allowed, {least:g}")
    if most is not None and high > most:
        raise ValueError(f"{name}: high {high:g} is above the largest allowed, {most:g}")
    return name, low, high, bool(log)


def batch_sizes(low: float, high: float, count: int, log: bool = True) -> np.ndarray:
    """Whole batch sizes from ``low`` to ``high``: ``count`` evenly spaced values (in log
    when ``log``), rounded, each size once, so a short range has fewer than ``count``."""
    return np.unique(np.rint(axis_values(low, high, count, log)).astype(np.int64))


def _checked_batch_axis(problem: Problem, axis: Axis) -> None:
    most = batch_range(problem)[1]
    low, high = float(axis.values[0]), float(axis.values[-1])
    if not 1 <= low <= high <= most:
        raise ValueError(
            f"batch_size: sizes from 1 to the model's {most:.0f} samples, got {low:g} to {high:g}"
        )


def _resized(axis: Axis, count: int) -> Axis:
    """``axis`` with ``count`` cells between its ends (fewer distinct batch sizes)."""
    low, high = axis.values[0], axis.values[-1]
    if axis.name == BATCH_SIZE:
        return Axis(axis.name, batch_sizes(low, high, count, axis.log), axis.log)
    return Axis(axis.name, axis_values(low, high, count, axis.log), axis.log)


def _cells(optimizer: str, hyper: Mapping[str, Any], ax: Axis, ay: Axis, points: np.ndarray):
    """The runs of a hyper-parameter map, start i of each cell with seed i, and how values
    in their order become (rows, columns, starts).  A batch-size axis gives one block of
    runs per size (a batch of the engine holds one size)."""
    count = len(points)
    seeds = np.arange(count)
    if BATCH_SIZE not in (ax.name, ay.name):
        vx, vy = np.meshgrid(ax.values, ay.values)
        columns = {name: np.repeat(v.ravel(), count) for name, v in ((ax.name, vx), (ay.name, vy))}
        cells = vx.size
        block = _Block(
            optimizer, hyper, np.tile(points, (cells, 1)), columns, np.tile(seeds, cells)
        )
        return [block], lambda values: values.reshape(len(ay.values), len(ax.values), count)
    sizes, other = (ax, ay) if ax.name == BATCH_SIZE else (ay, ax)
    cells = len(other.values)
    blocks = [
        _Block(
            optimizer,
            hyper,
            np.tile(points, (cells, 1)),
            {other.name: np.repeat(other.values, count)},
            np.tile(seeds, cells),
            int(size),
        )
        for size in sizes.values
    ]

    def arrange(values: np.ndarray) -> np.ndarray:
        by_size = values.reshape(len(sizes.values), cells, count)
        return by_size if sizes is ay else by_size.transpose(1, 0, 2)

    return blocks, arrange


def hyper_maps(
    problem: Problem,
    optimizer: str,
    x: Axis | tuple[str, float, float, bool],
    y: Axis | tuple[str, float, float, bool],
    hyper: Mapping[str, Any] | None = None,
    *,
    grid: int = 64,
    steps: int = 500,
    starts: np.ndarray | Sequence[Sequence[float]] | None = None,
    coarse: int | None = None,
    radius: float | None = None,
    registry: Any = None,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> Iterator[MapResult]:
    """How two float hyper-parameters, or one and the batch size, decide a run's fate: a
    coarse map, then the full one.

    ``x`` and ``y`` are ``(name, low, high, log)``; the name ``BATCH_SIZE`` sweeps
    ``RunConfig.batch_size`` of a model with samples, whole sizes from 1 to its sample
    count (``batch_sizes``: each size once, so that axis may have fewer than ``grid``
    cells).  ``starts`` (S, D) are the start points every cell is run from and averaged
    over (default: the problem's start); start i draws its noise and minibatches from
    seed i (``MapResult.config``)."""
    axes = []
    for spec in (x, y):
        if not isinstance(spec, Axis):
            name, low, high, log = spec
            spec = Axis(name, np.array([low, high], dtype=float), bool(log))
        if spec.name == BATCH_SIZE:
            _checked_batch_axis(problem, spec)
        axes.append(spec)
    if axes[0].name == axes[1].name:
        raise ValueError("the two axes must be different hyper-parameters")
    points = np.atleast_2d(
        np.asarray(problem.start if starts is None else starts, dtype=float)
    ).reshape(-1, problem.dim)
    hyper = dict(hyper or {})
    levels = _levels(grid, coarse)
    weights = np.array([g * g for g in levels], dtype=float)
    shares = weights / weights.sum()
    for level, size in enumerate(levels):
        ax, ay = (_resized(a, size) for a in axes)
        blocks, arrange = _cells(optimizer, hyper, ax, ay, points)
        result = _outcomes(
            problem,
            blocks,
            steps,
            registry,
            radius,
            _scaled(progress, float(shares[:level].sum()), float(shares[level])),
            cancel,
        )
        diverged = arrange(result.status == DIVERGED)

        def mean(values: np.ndarray, arrange=arrange, diverged=diverged) -> np.ndarray:
            values = np.where(diverged, np.nan, arrange(values))
            with np.errstate(invalid="ignore"), _quiet():
                return np.nanmean(values, axis=2)

        yield MapResult(
            kind="hyper",
            x=ax,
            y=ay,
            data={
                "rate": mean(result.rate),
                "steps_to_tol": mean(result.steps_to_tol),
                "final_loss": mean(result.final_loss),
                "diverged": diverged.mean(axis=2),
            },
            optimizer=optimizer,
            hyper=hyper,
            steps=steps,
            e_star=result.e_star,
            minima=known_minima(problem),
            final=level == len(levels) - 1,
            meta={"starts": points.tolist()},
        )


def hyper_map(problem: Problem, optimizer: str, x, y, hyper=None, **options) -> MapResult:
    """The full hyper-parameter map (see ``hyper_maps``), without the coarse pictures."""
    options.setdefault("coarse", 0)
    *_, result = hyper_maps(problem, optimizer, x, y, hyper, **options)
    return result


class _quiet:
    """Silence numpy's "mean of empty slice" (an all-NaN cell is NaN, as meant)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


# --------------------------------------------------------------------- sensitivity
@dataclass(frozen=True)
class Sensitivity:
    """Outcomes against the learning rate for several optimizers, over random starts.

    ``values[metric]`` is (O, L, S): optimizer, learning rate, start; lower is better;
    diverged runs and runs that never reached tolerance count as +inf."""

    optimizers: tuple[str, ...]
    hyper: tuple[Mapping[str, Any], ...]
    lrs: np.ndarray
    values: dict[str, np.ndarray]
    diverged: np.ndarray  # (O, L) fraction of starts that diverged
    starts: np.ndarray
    steps: int
    e_star: float

    def quartiles(self, metric: str) -> np.ndarray:
        """(3, O, L): lower quartile, median and upper quartile (observed values)."""
        return np.quantile(
            self.values[_metric(metric)], [0.25, 0.5, 0.75], axis=2, method="inverted_cdf"
        )

    def best(self, metric: str) -> list[tuple[float, float]]:
        """For each optimizer, (learning rate, median) at the lowest median of ``metric``."""
        median = self.quartiles(metric)[1]
        out = []
        for row in median:
            index = int(np.argmin(row))  # the first (smallest lr) of equal best values
            out.append((float(self.lrs[index]), float(row[index])))
        return out


def _metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r} (choose from {', '.join(METRICS)})")
    return name


def random_starts(problem: Problem, count: int, seed: int = 0, view=None) -> np.ndarray:
    """``count`` starts drawn uniformly over the view (default: the problem's bounds)."""
    (x0, x1), (y0, y1) = view or problem.bounds
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)
    return np.asarray(problem.from_view(a, b), dtype=float).reshape(count, problem.dim)


def sensitivity(
    problem: Problem,
    optimizers: Sequence[str | tuple[str, Mapping[str, Any]]],
    *,
    lrs: Sequence[float] | np.ndarray | None = None,
    starts: int | np.ndarray = 16,
    steps: int = 100,
    seed: int = 0,
    radius: float | None = None,
    registry: Any = None,
    progress: Callable[[float], None] | None = None,
    cancel: Cancel | None = None,
) -> Sensitivity:
    """Each optimizer's outcome against lr (default 64 values from 1e-4 to 1, log-spaced)
    from the same random starts, within a budget of ``steps`` steps."""
    lrs = np.geomspace(1e-4, 1.0, 64) if lrs is None else np.asarray(lrs, dtype=float)
    points = random_starts(problem, starts, seed) if np.isscalar(starts) else np.asarray(starts)
    named = [
        (item, {}) if isinstance(item, str) else (item[0], dict(item[1])) for item in optimizers
    ]
    blocks = [
        _Block(
            name, hyper, np.tile(points, (len(lrs), 1)), {"lr": np.repeat(lrs, len(points))}, seed
        )
        for name, hyper in named
    ]
    result = _outcomes(problem, blocks, steps, registry, radius, progress, cancel)
    shape = (len(named), len(lrs), len(points))
    diverged = (result.status == DIVERGED).reshape(shape)
    gap = result.final_loss - result.e_star
    steps_to_tol = np.where(np.isnan(result.steps_to_tol), np.inf, result.steps_to_tol)
    values = {
        "gap": gap,
        "distance": np.where(np.isnan(result.distance), np.inf, result.distance),
        "steps": steps_to_tol,
        "area": result.area,
    }
    values = {k: np.where(diverged, np.inf, v.reshape(shape)) for k, v in values.items()}
    return Sensitivity(
        optimizers=tuple(name for name, _ in named),
        hyper=tuple(hyper for _, hyper in named),
        lrs=lrs,
        values=values,
        diverged=diverged.mean(axis=2),
        starts=points,
        steps=steps,
        e_star=result.e_star,
    )


__all__ = [
    "BASIN_QUANTITIES",
    "BATCH_SIZE",
    "CLASS_NAMES",
    "DIVERGED_CLASS",
    "ELSEWHERE",
    "HYPER_QUANTITIES",
    "KINDS",
    "METRICS",
    "NOT_YET",
    "Axis",
    "MapCancelled",
    "MapResult",
    "Outcomes",
    "Sensitivity",
    "axis_values",
    "basin_map",
    "basin_maps",
    "batch_range",
    "batch_sizes",
    "checked_range",
    "default_range",
    "hyper_map",
    "hyper_maps",
    "known_e_star",
    "known_minima",
    "outcomes",
    "random_starts",
    "range_limits",
    "sensitivity",
]
