"""From the engine's published batches to what the canvas and the plots draw.

A batch's rows are gathered together (``BatchView.history_block``), mapped to view
coordinates in one call and split by colour, so the cost per frame grows with the
number of batches and points, not with a Python loop over runs.  Each trail runs from
the run's start (or ``trail_steps`` back) to its current point, thinned evenly to at
most ``trail_points`` points.  A batch is redrawn only when the engine has published a
new view of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg

from zoo import BatchView, RunSet

#: Most points per trail: more than a canvas has pixels along a path …
TRAIL_POINTS = 2000
#: … and in all, so that thousands of runs each get fewer.
TRAIL_BUDGET = 400_000
#: Most points per run kept for the step plots …
PLOT_POINTS = 800
#: … and in all: with many runs each curve gets fewer points, which log axes hide well.
PLOT_BUDGET = 16_000


@dataclass
class GroupPicture:
    """What one batch contributes to a frame."""

    run_ids: tuple[int, ...]
    trails: list[tuple[np.ndarray, str]]
    heads: np.ndarray  # (B, 2) view coordinates, NaN for hidden runs
    head_colours: list[str]
    steps: np.ndarray  # (B,) steps taken
    signature: tuple = ()
    visible: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: name -> (steps (B, n), values (B, n)) when the step plots are shown
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


@dataclass
class Frame:
    """Everything drawn in one frame."""

    trails: list[tuple[np.ndarray, str]] = field(default_factory=list)
    heads: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    brushes: list = field(default_factory=list)
    head_of: dict[int, np.ndarray] = field(default_factory=dict)
    steps: dict[int, int] = field(default_factory=dict)
    pictures: list[GroupPicture] = field(default_factory=list)


class RunDrawing:
    """Keeps each batch's last picture; ``frame`` redraws the batches that changed.

    ``trail_steps``: None draws each whole path from its start; a number draws only the
    last that many steps."""

    def __init__(
        self,
        project: Callable[[np.ndarray], np.ndarray] | None,
        trail_steps: int | None = None,
        one_dimensional: bool = False,
        trail_points: int = TRAIL_POINTS,
    ) -> None:
        self.project = project  # (N, D) weights -> (N, 2) view coordinates; None: x[:, :2]
        self.trail_steps = trail_steps
        self.trail_points = trail_points
        self.one_dimensional = one_dimensional
        self.want_series = False
        self._pictures: dict[object, GroupPicture] = {}
        self._brushes: dict[str, object] = {}

    def forget(self) -> None:
        self._pictures.clear()

    def brush(self, colour: str):
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = pg.mkBrush(colour)
        return brush

    def frame(self, runset: RunSet) -> Frame:
        """Build the frame from what the engine last published (never waits)."""
        views = runset.batches()
        total = sum(len(view) for view in views)
        pictures: dict[object, GroupPicture] = {}
        for view in views:
            pictures[view.key] = self._picture(runset, view, total, self._pictures.get(view.key))
        self._pictures = pictures
        frame = Frame(pictures=list(pictures.values()))
        heads, colours = [], []
        for picture in pictures.values():
            frame.trails.extend(picture.trails)
            heads.append(picture.heads)
            colours.extend(picture.head_colours)
            for row, run_id in enumerate(picture.run_ids):
                frame.head_of[run_id] = picture.heads[row]
                frame.steps[run_id] = int(picture.steps[row])
        if heads:
            all_heads = np.concatenate(heads)
            shown = np.isfinite(all_heads).all(axis=1)
            frame.heads = all_heads[shown]
            frame.brushes = [self.brush(c) for c, s in zip(colours, shown, strict=True) if s]
        return frame

    def _picture(
        self, runset: RunSet, view: BatchView, total: int, old: GroupPicture | None
    ) -> GroupPicture:
        configs = [runset.configs[run_id] for run_id in view.run_ids]
        most = max(16, min(self.trail_points, TRAIL_BUDGET // max(1, total)))
        signature = (
            view.version,
            tuple((c.color, c.visible) for c in configs),
            self.trail_steps,
            most,
            self.want_series,
        )
        if old is not None and old.signature == signature:
            return old
        columns = trail_columns(view, self.trail_steps, most)
        points = self._to_view(view, columns)
        heads = self._to_view(view, None)[:, 0]
        visible = np.array([c.visible for c in configs], dtype=bool)
        heads[~visible] = np.nan
        colours = [c.color or "#ffffff" for c in configs]
        picture = GroupPicture(
            view.run_ids,
            by_colour(points, colours, visible),
            heads,
            colours,
            view.steps,
            signature,
            visible,
        )
        if self.want_series:
            budget = max(64, min(PLOT_POINTS, PLOT_BUDGET // max(1, total)))
            picture.series = series(view, budget)
        return picture

    def _to_view(self, view: BatchView, columns: np.ndarray | None) -> np.ndarray:
        """(B, n, 2) view coordinates of the rows' points at ``columns`` (None: the
        current points)."""
        if columns is None:
            block = view.x[:, None]
            losses = view.loss[:, None]
        else:
            block = view.history_block(columns)
            losses = view.history_block(columns, "loss") if self.one_dimensional else None
        count, length, dim = block.shape
        if self.one_dimensional:
            return np.stack([block[..., 0], losses], axis=-1)
        if self.project is None:
            return np.array(block[..., :2])
        return self.project(block.reshape(-1, dim)).reshape(count, length, 2)


def trail_columns(view: BatchView, trail_steps: int | None, most: int) -> np.ndarray:
    """(B, n) columns of each row's kept points from its start (or ``trail_steps`` back)
    to its last point, at most ``most`` of them, evenly spread over the kept points."""
    counts = view.counts()
    if trail_steps is None:
        first = np.zeros(len(view), dtype=np.int64)
    else:
        strides = view.strides()
        earliest = np.maximum(view.last - trail_steps, 0)
        first = np.minimum((earliest + strides - 1) // strides, counts - 1)
    spans = counts - 1 - first
    widest = int(spans.max()) + 1 if len(spans) else 1
    if widest <= most:
        return first[:, None] + np.arange(widest)[None]  # clipped to each row's end
    fractions = np.linspace(0.0, 1.0, most)
    return first[:, None] + np.rint(fractions[None] * spans[:, None]).astype(np.int64)


def series(view: BatchView, most: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Loss, gradient norm and step length of every row against the step, thinned.

    Where kept points are more than one step apart, the step length is the distance
    between them divided by the steps between them (the mean over those steps)."""
    columns = trail_columns(view, None, most)
    steps = view.kept_steps(columns)
    x = view.history_block(columns)
    with np.errstate(all="ignore"):
        moves = x[:, 1:] - x[:, :-1]
        gaps = steps[:, 1:] - steps[:, :-1]
        lengths = np.sqrt(np.einsum("bnd,bnd->bn", moves, moves)) / gaps
    lengths = np.where(gaps > 0, lengths, np.nan)
    return {
        "loss": (steps, view.history_block(columns, "loss")),
        "grad_norm": (steps, view.history_block(columns, "grad_norm")),
        "step_length": (steps[:, 1:], lengths),
    }


def by_colour(
    points: np.ndarray, colours: list[str], visible: np.ndarray
) -> list[tuple[np.ndarray, str]]:
    """Rows of ``points`` grouped by colour, hidden rows left out (no copy when all rows
    are shown in one colour)."""
    if visible.all() and len(set(colours)) == 1:
        return [(points, colours[0])]
    pieces = []
    for colour in dict.fromkeys(colours):
        chosen = np.array([c == colour for c in colours]) & visible
        if chosen.any():
            pieces.append((points[chosen], colour))
    return pieces
