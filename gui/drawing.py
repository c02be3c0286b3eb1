"""From run histories to what the canvas and the plots draw, one group at a time.

A group's rows are sliced together (``hist_x[:, first:last]``), mapped to view
coordinates in one call and split by colour, so the cost per frame grows with the
number of groups and points, not with a Python loop over runs.  A group that a worker
is stepping right now keeps the picture it had at the last frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg

from zoo.engine import DIVERGED, Group, RunSet

#: Most points per run kept for the step plots (older steps are thinned out evenly) …
PLOT_POINTS = 800
#: … and in all: with many runs each curve gets fewer points, which log axes hide well.
PLOT_BUDGET = 16_000


@dataclass
class GroupPicture:
    """What one group contributes to a frame."""

    run_ids: list[int]
    trails: list[tuple[np.ndarray, str]]
    heads: np.ndarray  # (B, 2) view coordinates, NaN for hidden runs
    head_colours: list[str]
    steps: np.ndarray  # (B,) steps taken
    signature: tuple = ()
    visible: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: name -> (steps (n,), values (B, n)) when the step plots are shown
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
    """Keeps each group's last picture; ``frame`` refreshes the groups it may read."""

    def __init__(
        self,
        project: Callable[[np.ndarray], np.ndarray] | None,
        trail_length: int = 1000,
        one_dimensional: bool = False,
    ) -> None:
        self.project = project  # (N, D) weights -> (N, 2) view coordinates; None: x[:, :2]
        self.trail_length = trail_length
        self.one_dimensional = one_dimensional
        self.want_series = False
        self._pictures: dict[int, GroupPicture] = {}
        self._brushes: dict[str, object] = {}

    def forget(self) -> None:
        self._pictures.clear()

    def brush(self, colour: str):
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = pg.mkBrush(colour)
        return brush

    def frame(self, runset: RunSet, readable: Callable[[Group], object] | None = None) -> Frame:
        """Build the frame; ``readable(group)`` is a context manager yielding whether the
        group may be read now (None: always)."""
        pictures: dict[int, GroupPicture] = {}
        for group in runset.groups:
            old = self._pictures.get(id(group))
            if readable is None:
                pictures[id(group)] = self._picture(runset, group, old)
                continue
            with readable(group) as free:
                if free or old is None or old.run_ids != group.run_ids:
                    if free:
                        pictures[id(group)] = self._picture(runset, group, old)
                    elif old is not None:
                        pictures[id(group)] = old
                else:
                    pictures[id(group)] = old
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

    def _picture(self, runset: RunSet, group: Group, old: GroupPicture | None) -> GroupPicture:
        configs = [runset.configs[run_id] for run_id in group.run_ids]
        signature = (
            tuple(group.run_ids),
            group.t.tobytes(),
            group.code.tobytes(),
            tuple((c.color, c.visible) for c in configs),
            self.trail_length,
            self.want_series,
        )
        if old is not None and old.signature == signature:
            return old
        t = group.t
        diverged = group.code == DIVERGED
        # A diverged run's last step is not recorded; it ends where it was last seen.
        ends = np.where(diverged, np.minimum(t, group.stop_step - 1), t)
        last = int(ends.max()) if len(ends) else 0
        first = max(0, last + 1 - self.trail_length)
        block = group.hist_x[:, first : last + 1]  # (B, L, D), NaN past each run's end
        count, length, dim = block.shape
        if self.one_dimensional:
            points = np.stack([block[..., 0], group.hist_loss[:, first : last + 1]], axis=-1)
        elif self.project is None:
            points = block[..., :2]  # a view: nothing is copied for two weights
        else:
            points = self.project(block.reshape(-1, dim)).reshape(count, length, 2)
        heads = points[np.arange(count), np.clip(ends - first, 0, max(length - 1, 0))].copy()
        visible = np.array([c.visible for c in configs], dtype=bool)
        heads[~visible] = np.nan
        colours = [c.color or "#ffffff" for c in configs]
        picture = GroupPicture(
            list(group.run_ids),
            by_colour(points, colours, visible),
            heads,
            colours,
            t.copy(),
            signature,
            visible,
        )
        if self.want_series:
            most = max(64, min(PLOT_POINTS, PLOT_BUDGET // max(1, len(runset.configs))))
            picture.series = _series(group, last + 1, most)
        return picture


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


def _series(group: Group, length: int, most: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Loss, gradient norm and step length of every row against the step, thinned."""
    index = thinned(length, most)
    with np.errstate(all="ignore"):
        moves = group.hist_x[:, index[1:]] - group.hist_x[:, index[1:] - 1]
        lengths = np.sqrt(np.einsum("bnd,bnd->bn", moves, moves))
    return {
        "loss": (index, group.hist_loss[:, index]),
        "grad_norm": (index, group.hist_gnorm[:, index]),
        "step_length": (index[1:], lengths),
    }


def thinned(length: int, most: int = PLOT_POINTS) -> np.ndarray:
    """Indices 0..length-1, at most ``most`` of them, always including the last."""
    if length <= most:
        return np.arange(length)
    return np.unique(np.linspace(0, length - 1, most).astype(int))
