"""The loss landscape: a problem sampled on a grid of its view, coloured and contoured.

Everything here works on any ``Problem`` through its batched ``loss``: a 2-weight model
is sampled directly, a model with more weights on a plane through its weights
(``Problem.from_view`` or a given ``Plane``), and a 1-weight model as the curve E(x).
Points where the loss is undefined (NaN, ±inf, a floating-point error, a ``ValueError``)
become NaN gaps so a picture is always drawn.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from contourpy import LineType, contour_generator

from zoo.problem import Plane, Problem

View = tuple[tuple[float, float], tuple[float, float]]

#: Elements (points × weights × samples) one loss call may hold, to bound memory for big models.
_CHUNK_BUDGET = 2**22
#: Loss calls allowed when splitting a batch that raised, before the rest is given up as gaps.
_SPLIT_BUDGET = 256
#: Percentiles of the log loss that set the colour limits, so single spikes do not wash out.
_ROBUST_PERCENTILES = (1.0, 99.0)


@dataclass(frozen=True)
class Grid:
    """The loss on a regular grid: ``loss[j, i]`` is at ``(xs[i], ys[j])``; NaN where undefined.

    A 1-weight problem gives one row (``ys == [0]``) holding the curve E(x).
    """

    xs: np.ndarray
    ys: np.ndarray
    loss: np.ndarray
    view: View


@dataclass(frozen=True)
class ColorScale:
    """``image`` = log10(loss − min + tiny) as float32 with NaN kept; ``low``/``high`` are
    robust colour limits (percentiles of the finite image values)."""

    image: np.ndarray
    low: float
    high: float


def _view(problem: Problem, view: Any) -> View:
    (x0, x1), (y0, y1) = problem.bounds if view is None else view
    return (float(x0), float(x1)), (float(y0), float(y1))


def _chunk_size(problem: Problem, dim: int) -> int:
    weight = dim * max(1, int(problem.n_samples))
    return int(np.clip(_CHUNK_BUDGET // max(1, weight), 256, 1 << 20))


def _safe_loss(
    loss: Callable[[np.ndarray], Any], points: np.ndarray, budget: list[int]
) -> np.ndarray:
    """``loss(points)`` as finite-or-NaN floats; a batch that raises is split to find the
    points that cannot be evaluated (they become NaN), within ``budget`` calls."""
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(loss(points), dtype=float).reshape(len(points))
    except (ArithmeticError, ValueError):
        budget[0] -= 1
        if len(points) == 1 or budget[0] <= 0:
            return np.full(len(points), np.nan)
        half = len(points) // 2
        return np.concatenate(
            [_safe_loss(loss, points[:half], budget), _safe_loss(loss, points[half:], budget)]
        )
    if not np.isfinite(values).all():
        values = np.where(np.isfinite(values), values, np.nan)
    return values


def evaluate_grid(
    problem: Problem,
    view: Any = None,
    resolution: int = 256,
    *,
    plane: Plane | None = None,
    chunk: int | None = None,
) -> Grid:
    """Sample ``problem.loss`` on a ``resolution``² grid of ``view`` (default: its bounds).

    ``plane`` overrides the problem's own plane for D > 2 (e.g. a ``pca_plane`` of the
    paths).  The loss is called once per chunk of points; ``chunk`` overrides the size,
    which by default keeps one call's arrays to a few tens of megabytes.
    """
    (x0, x1), (y0, y1) = view = _view(problem, view)
    resolution = int(resolution)
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2, got {resolution}")
    dim = int(problem.dim)
    xs = np.linspace(x0, x1, resolution)
    budget = [_SPLIT_BUDGET]
    if dim == 1:
        ys = np.zeros(1)
        loss = _safe_loss(problem.loss, xs[:, None], budget)[None, :]
        return Grid(xs, ys, loss, view)
    ys = np.linspace(y0, y1, resolution)
    if dim == 2 and plane is None and problem.plane is None:
        points = np.empty((resolution, resolution, 2))
        points[..., 0] = xs[None, :]
        points[..., 1] = ys[:, None]
        points = points.reshape(-1, 2)
        to_weights = None
    else:
        a, b = np.meshgrid(xs, ys)
        points = np.stack([a.ravel(), b.ravel()], axis=1)
        to_weights = plane.to_weights if plane is not None else problem.from_view
    size = chunk or (len(points) if to_weights is None else _chunk_size(problem, dim))
    pieces = []
    for begin in range(0, len(points), size):
        piece = points[begin : begin + size]
        if to_weights is not None:
            piece = np.asarray(to_weights(piece[:, 0], piece[:, 1]), dtype=float)
        pieces.append(_safe_loss(problem.loss, piece, budget))
    loss = np.concatenate(pieces).reshape(resolution, resolution)
    return Grid(xs, ys, loss, view)


def refine(
    problem: Problem, view: Any = None, resolution: int = 256, coarse: int = 64, **options: Any
) -> Iterator[Grid]:
    """A coarse grid first (quick to show), then the full one; ``options`` as ``evaluate_grid``."""
    if coarse < resolution:
        yield evaluate_grid(problem, view, coarse, **options)
    yield evaluate_grid(problem, view, resolution, **options)


def color_scale(grid: Grid) -> ColorScale:
    """Log-loss image with robust limits: log spreads the colours over the orders of
    magnitude a loss spans, and percentiles keep a few huge values from flattening it."""
    loss = grid.loss
    finite = loss[np.isfinite(loss)]
    if finite.size == 0:
        return ColorScale(np.full(loss.shape, np.nan, dtype=np.float32), 0.0, 1.0)
    lowest, highest = float(finite.min()), float(finite.max())
    tiny = _tiny(lowest, highest)
    with np.errstate(all="ignore"):
        image = np.log10(loss - lowest + tiny).astype(np.float32)
    low, high = np.percentile(np.log10(finite - lowest + tiny), _ROBUST_PERCENTILES)
    low, high = float(low), float(high)
    if not high > low:
        high = low + 1.0
    return ColorScale(image, low, high)


def _tiny(lowest: float, highest: float) -> float:
    """The offset that keeps log(loss − min) finite at the minimum: far below the span,
    so the rings around a minimum stay visible, yet finite."""
    span = highest - lowest
    return max(span * 1e-9, 1e-300, abs(lowest) * 1e-15)


def contour_levels(grid: Grid, count: int = 15) -> np.ndarray:
    """``count`` loss levels above the grid's minimum, evenly spaced in log(loss − min)
    between the colour scale's robust limits: equal steps in the picture's colours."""
    finite = grid.loss[np.isfinite(grid.loss)]
    if finite.size == 0 or count < 1:
        return np.empty(0)
    lowest = float(finite.min())
    scale = color_scale(grid)
    levels = lowest + 10.0 ** np.linspace(scale.low, scale.high, count)
    levels = np.unique(levels[levels > lowest])
    return levels


def contour_paths(grid: Grid, levels: Any) -> np.ndarray:
    """Vertices ``(K, 2)`` of every contour line at ``levels``, lines separated by NaN rows,
    so one curve item draws them all.  Gaps (NaN loss) are left out of the lines."""
    levels = np.atleast_1d(np.asarray(levels, dtype=float))
    if grid.loss.shape[0] < 2 or grid.loss.shape[1] < 2 or levels.size == 0:
        return np.empty((0, 2))
    generator = contour_generator(grid.xs, grid.ys, grid.loss, line_type=LineType.ChunkCombinedNan)
    separator = np.full((1, 2), np.nan)
    parts = []
    for (chunks,) in generator.multi_lines(levels):
        for points in chunks:
            if points is not None and len(points):
                parts.extend([points, separator])
    if not parts:
        return np.empty((0, 2))
    return np.concatenate(parts[:-1])


def pca_plane(trajectories: list[np.ndarray], origin: Any = None) -> Plane:
    """The plane spanned by the two principal directions of the paths (Li et al. 2018).

    ``trajectories`` are ``(T, D)`` weight paths; ``origin`` defaults to the mean of their
    last points, where the paths end, so the picture is centred on what was found.
    """
    paths = [np.asarray(path, dtype=float).reshape(-1, np.shape(path)[-1]) for path in trajectories]
    if not paths:
        raise ValueError("pca_plane needs at least one trajectory")
    dim = paths[0].shape[1]
    if dim < 2 or any(path.shape[1] != dim for path in paths):
        raise ValueError("pca_plane needs paths of one width D ≥ 2")
    points = np.concatenate(paths)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        raise ValueError("pca_plane needs at least one finite point")
    if origin is None:
        ends = [path[np.isfinite(path).all(axis=1)][-1:] for path in paths]
        origin = np.concatenate(ends).mean(axis=0)
    origin = np.asarray(origin, dtype=float)
    offsets = points - origin
    _, _, directions = np.linalg.svd(offsets - offsets.mean(axis=0), full_matrices=True)
    u, v = directions[0], directions[1]
    # SVD signs are arbitrary; fix them so the same paths always give the same picture.
    u = u * np.sign(u[np.argmax(np.abs(u))])
    v = v * np.sign(v[np.argmax(np.abs(v))])
    return Plane(origin=origin, u=u, v=v)


def fit_view(points: Any, margin: float = 0.25, least: float = 1e-3) -> View:
    """A view holding ``points`` (..., 2) with ``margin`` of its size around them, for
    paths projected onto a plane (``plane.project``), whose extent no default view knows."""
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        return (-1.0, 1.0), (-1.0, 1.0)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    half = np.maximum((high - low) / 2 * (1 + 2 * margin), least)
    return (
        (float(centre[0] - half[0]), float(centre[0] + half[0])),
        (float(centre[1] - half[1]), float(centre[1] + half[1])),
    )


def _freeze(value: Any) -> Hashable:
    """A hashable stand-in for settings values, views and planes (arrays by content)."""
    if isinstance(value, Plane):
        digest = hashlib.sha1()
        for array in (value.origin, value.u, value.v):
            digest.update(np.ascontiguousarray(array, dtype=float).tobytes())
        return ("plane", digest.hexdigest())
    if isinstance(value, np.ndarray):
        return (
            "array",
            value.shape,
            hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest(),
        )
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, np.generic):
        return value.item()
    return value


class LandscapeCache:
    """Least-recently-used grids keyed by (model name, settings, seed, view, resolution, plane).

    A grid costs a full sweep of the loss, while panning back, replaying a scene or
    toggling a setting often asks for one seen before.  Safe to share between threads.
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = int(maxsize)
        self.hits = 0
        self.misses = 0
        self._grids: OrderedDict[Hashable, Grid] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(
        model: str,
        settings: Mapping[str, Any] | None,
        seed: int,
        view: Any,
        resolution: int,
        plane: Any = None,
    ) -> Hashable:
        """The cache key; ``plane`` may be a ``Plane`` (keyed by content) or any hashable id."""
        (x0, x1), (y0, y1) = view
        frozen_view = ((float(x0), float(x1)), (float(y0), float(y1)))
        return (
            str(model),
            _freeze(dict(settings or {})),
            int(seed),
            frozen_view,
            int(resolution),
            _freeze(plane),
        )

    def get(self, key: Hashable) -> Grid | None:
        with self._lock:
            grid = self._grids.get(key)
            if grid is None:
                self.misses += 1
                return None
            self._grids.move_to_end(key)
            self.hits += 1
            return grid

    def put(self, key: Hashable, grid: Grid) -> None:
        with self._lock:
            self._grids[key] = grid
            self._grids.move_to_end(key)
            while len(self._grids) > self.maxsize:
                self._grids.popitem(last=False)

    def grid(
        self,
        problem: Problem,
        *,
        model: str,
        settings: Mapping[str, Any] | None = None,
        seed: int = 0,
        view: Any = None,
        resolution: int = 256,
        plane: Plane | None = None,
        plane_id: Hashable = None,
    ) -> Grid:
        """The cached grid for these keys, evaluating ``problem`` on a miss.

        ``plane`` is the plane to draw on (default: the problem's); ``plane_id`` names it
        in the key when hashing its content is not wanted.
        """
        view = _view(problem, view)
        key = self.key(
            model, settings, seed, view, resolution, plane_id if plane_id is not None else plane
        )
        grid = self.get(key)
        if grid is None:
            grid = evaluate_grid(problem, view, resolution, plane=plane)
            self.put(key, grid)
        return grid

    def clear(self) -> None:
        with self._lock:
            self._grids.clear()

    def __len__(self) -> int:
        return len(self._grids)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._grids


__all__ = [
    "ColorScale",
    "Grid",
    "LandscapeCache",
    "color_scale",
    "contour_levels",
    "contour_paths",
    "evaluate_grid",
    "fit_view",
    "pca_plane",
    "refine",
]
