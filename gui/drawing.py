"""From the engine's published batches to what the canvas and the plots draw.

A batch's rows are gathered together (``BatchView.history_block``) and mapped to view
coordinates in one call, and handed on as one block with a colour per row, so the cost
per frame grows with the number of batches and points, not with a Python loop over
runs.  Each trail runs from the run's start (or ``trail_steps`` back) to its current
point, thinned to at most ``trail_points`` points.  A batch is redrawn only when the
engine has published a new view of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zoo import BatchView, RunSet
from zoo.runview import DIVERGED

#: Most points per trail: more than a canvas has pixels along a path …
TRAIL_POINTS = 2000
#: … and in all, so that thousands of runs each get fewer.
TRAIL_BUDGET = 120_000
#: Trails are confined to a box this many views wide around the visible one: a run that
#: leaves it is drawn to its edge and marked there, and nothing beyond it reaches Qt.
BOX_VIEWS = 9.0
#: Most points per run kept for the step plots …
PLOT_POINTS = 800
#: … and in all: with many runs each curve gets fewer points, which log axes hide well.
PLOT_BUDGET = 16_000


Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in view coordinates


@dataclass(frozen=True)
class Exit:
    """Where a run left the box: its last point inside, the way it went, and when."""

    run_id: int
    colour: str
    point: np.ndarray  # (2,) view coordinates
    direction: np.ndarray  # (2,) view coordinates, not normalised
    previous: np.ndarray  # (2,) the point before ``point`` (``point`` at the start)
    step: int
    diverged: bool


@dataclass
class GroupPicture:
    """What one batch contributes to a frame."""

    view: BatchView
    trails: list[tuple[np.ndarray, list[str], np.ndarray]]  # points, colours, shown
    heads: np.ndarray  # (B, 2) view coordinates, NaN for hidden runs
    head_colours: list[str]
    steps: np.ndarray  # (B,) steps taken
    signature: tuple = ()
    visible: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: name -> (steps (B, n), values (B, n)) when the step plots are shown
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    exits: list[Exit] = field(default_factory=list)
    diverged: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: what the next picture of this batch may reuse: kept-point columns, the rows'
    #: history strides, and the points at those columns in view coordinates
    columns: np.ndarray | None = None
    strides: np.ndarray | None = None
    raw: np.ndarray | None = None


@dataclass
class Frame:
    """Everything drawn in one frame."""

    trails: list[tuple[np.ndarray, list[str], np.ndarray]] = field(default_factory=list)
    heads: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    head_colours: list[str] = field(default_factory=list)
    pictures: list[GroupPicture] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)

    def head_of(self, run_id: int | None) -> np.ndarray | None:
        """Where ``run_id``'s head is drawn (NaN: hidden or gone); None if not drawn."""
        for picture in self.pictures:
            row = picture.view.row_or_none(run_id)
            if row is not None:
                return picture.heads[row]
        return None

    def run_count(self) -> int:
        return sum(len(picture.view) for picture in self.pictures)


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
        self.box: Box | None = None
        self._pictures: dict[object, GroupPicture] = {}
        self._style_version = 0
        self._styles: dict[object, tuple] = {}  # batch key -> (run ids, version, style)

    def forget(self) -> None:
        self._pictures.clear()
        self._styles.clear()

    def restyle(self) -> None:
        """Runs' colours or visibility changed: read them again on the next frame."""
        self._style_version += 1

    def follow_view(self, view: tuple[tuple[float, float], tuple[float, float]]) -> bool:
        """Keep the box around the visible ``view``; True when it moved (redraw then).

        The box moves only when the view nears its edge or zooms by more than a factor
        of three, so panning and small zooms redraw nothing."""
        (x0, x1), (y0, y1) = view
        width, height = x1 - x0, y1 - y0
        if self.box is not None:
            bx0, bx1, by0, by1 = self.box
            bw, bh = bx1 - bx0, by1 - by0
            if (
                bx0 + bw / 4 <= x0
                and x1 <= bx1 - bw / 4
                and by0 + bh / 4 <= y0
                and y1 <= by1 - bh / 4
                and bw < 3 * BOX_VIEWS * width
                and bh < 3 * BOX_VIEWS * height
            ):
                return False
        half = BOX_VIEWS / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        self.box = (cx - half * width, cx + half * width, cy - half * height, cy + half * height)
        return True

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
            frame.exits.extend(picture.exits)
            heads.append(picture.heads)
            colours.extend(picture.head_colours)
        if heads:
            all_heads = np.concatenate(heads)
            shown = np.isfinite(all_heads).all(axis=1)
            frame.heads = all_heads[shown]
            frame.head_colours = [c for c, s in zip(colours, shown, strict=True) if s]
        return frame

    def _picture(
        self, runset: RunSet, view: BatchView, total: int, old: GroupPicture | None
    ) -> GroupPicture:
        colours, visible = self._style(runset, view)
        most = max(16, min(self.trail_points, TRAIL_BUDGET // max(1, total)))
        signature = (
            view.version,
            self._style_version,
            self.trail_steps,
            most,
            self.box,
        )
        if old is not None and old.signature == signature and (old.series or not self.want_series):
            return old  # a picture with series serves a frame without them too
        columns = np.minimum(
            trail_columns(view, self.trail_steps, most), (view.counts() - 1)[:, None]
        )
        strides = view.strides()
        raw = self._fetch(view, columns, strides, old)
        # A run's head is its last recorded point: a diverged run's current x is not finite.
        heads = np.array(raw[:, -1])
        diverged = view.codes == DIVERGED
        exits: list[Exit] = []
        points = raw
        if self.box is not None:
            points, inside = confine(raw, self.box)
            gone = visible & ~inside[:, -1] & inside.any(axis=1)
            exits = leaving(view, raw, inside, gone, columns, colours, diverged)
            heads[~inside[:, -1]] = np.nan
        heads[~visible] = np.nan
        picture = GroupPicture(
            view,
            [(points, colours, visible)],
            heads,
            colours,
            view.steps,
            signature,
            visible,
            exits=exits,
            diverged=diverged,
            columns=columns,
            strides=strides,
            raw=raw,
        )
        if self.want_series:
            budget = max(16, min(PLOT_POINTS, PLOT_BUDGET // max(1, total)))
            picture.series = series(view, budget)
        return picture

    def _style(self, runset: RunSet, view: BatchView) -> tuple[list[str], np.ndarray]:
        """The colours and visibility of a batch's rows, read once per ``restyle``."""
        kept = self._styles.get(view.key)
        if kept is not None and kept[1] == self._style_version and kept[0] == view.run_ids:
            return kept[2]
        configs = [runset.configs[run_id] for run_id in view.run_ids]
        colours = [c.color or "#ffffff" for c in configs]
        visible = np.array([c.visible for c in configs], dtype=bool)
        style = (colours, visible)
        self._styles[view.key] = (view.run_ids, self._style_version, style)
        return style

    def _fetch(
        self, view: BatchView, columns: np.ndarray, strides: np.ndarray, old: GroupPicture | None
    ) -> np.ndarray:
        """(B, n, 2) view coordinates of the kept points at ``columns``, taking from the
        batch's last picture every point that is the same kept point as then (same
        column, same history stride, no restart, same styles and projection)."""
        if (
            old is None
            or old.raw is None
            or not view.has_history
            or old.columns.shape != columns.shape
            or old.view.run_ids != view.run_ids
            or old.signature[1] != self._style_version
        ):
            return self._to_view(view, columns)
        same = (columns == old.columns) & (
            (strides == old.strides) & (view.steps >= old.view.steps)
        )[:, None]
        rows, places = np.nonzero(~same)
        if not len(rows):
            return old.raw
        raw = old.raw.copy()
        points = view.history_points(rows, columns[rows, places])
        if self.one_dimensional:
            losses = view.history_points(rows, columns[rows, places], "loss")
            raw[rows, places] = np.stack([points[:, 0], losses], axis=-1)
        elif self.project is None:
            raw[rows, places] = points[:, :2]
        else:
            raw[rows, places] = self.project(points)
        return raw

    def _to_view(self, view: BatchView, columns: np.ndarray) -> np.ndarray:
        """(B, n, 2) view coordinates of the rows' kept points at ``columns``."""
        block = view.history_block(columns)
        count, length, dim = block.shape
        if self.one_dimensional:
            return np.stack([block[..., 0], view.history_block(columns, "loss")], axis=-1)
        if self.project is None:
            return np.array(block[..., :2])
        return self.project(block.reshape(-1, dim)).reshape(count, length, 2)


def confine(points: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """Rows of points (B, n, 2) with every point outside ``box`` (or not finite) made
    NaN, except that a step leaving the box ends on its edge; and (B, n) which points
    were inside."""
    x0, x1, y0, y1 = box
    xs, ys = points[..., 0], points[..., 1]
    with np.errstate(invalid="ignore"):
        inside = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)  # NaN: outside
    if inside.all():
        return points, inside
    confined = np.where(inside[..., None], points, np.nan)
    leaves = np.zeros_like(inside)
    leaves[:, 1:] = inside[:, :-1] & ~inside[:, 1:]
    rows, columns = np.nonzero(leaves)
    if len(rows):
        confined[rows, columns] = clip_to_box(points[rows, columns - 1], points[rows, columns], box)
    return confined, inside


def clip_to_box(a: np.ndarray, b: np.ndarray, box: Box) -> np.ndarray:
    """(K, 2) where the segments from ``a`` (inside ``box``) to ``b`` (outside) cross
    its edge; NaN where ``b`` is not finite, since such a step has no direction."""
    x0, x1, y0, y1 = box
    with np.errstate(all="ignore"):
        d = b - a
        tx = np.where(b[:, 0] > x1, (x1 - a[:, 0]) / d[:, 0], 1.0)
        tx = np.where(b[:, 0] < x0, (x0 - a[:, 0]) / d[:, 0], tx)
        ty = np.where(b[:, 1] > y1, (y1 - a[:, 1]) / d[:, 1], 1.0)
        ty = np.where(b[:, 1] < y0, (y0 - a[:, 1]) / d[:, 1], ty)
        t = np.clip(np.minimum(tx, ty), 0.0, 1.0)
        crossing = a + t[:, None] * d
    crossing[~np.isfinite(b).all(axis=1)] = np.nan
    return crossing


def leaving(
    view: BatchView,
    raw: np.ndarray,
    inside: np.ndarray,
    gone: np.ndarray,
    columns: np.ndarray,
    colours: list[str],
    diverged: np.ndarray,
) -> list[Exit]:
    """An ``Exit`` for each row in ``gone``: its trail was inside the box and its last
    point is not."""
    rows = np.flatnonzero(gone)
    if not len(rows):
        return []
    length = inside.shape[1]
    last_in = length - 1 - np.argmax(inside[rows, ::-1], axis=1)
    steps = view.kept_steps(columns)
    exits = []
    with np.errstate(all="ignore"):
        for row, k in zip(rows.tolist(), last_in.tolist(), strict=True):
            point = raw[row, k]
            direction = raw[row, k + 1] - point
            if not np.isfinite(direction).all() or not direction.any():
                direction = point - raw[row, k - 1] if k else np.array([1.0, 0.0])
            if not np.isfinite(direction).all() or not direction.any():
                direction = np.array([1.0, 0.0])
            exits.append(
                Exit(
                    view.run_ids[row],
                    colours[row],
                    np.array(point),
                    np.array(direction),
                    np.array(raw[row, k - 1] if k else point),
                    int(steps[row, k + 1]),
                    bool(diverged[row]),
                )
            )
    return exits


def trail_columns(view: BatchView, trail_steps: int | None, most: int) -> np.ndarray:
    """(B, n) columns of each row's kept points from its start (or ``trail_steps`` back)
    to its last point, at most ``most`` of them.

    A row with more kept points than that shows its first and last point and every k-th
    in between, k a power of two counted from column 0: as the run goes on, the chosen
    points stay the same until k doubles, so a thinned trail does not flicker and a
    frame has only its new points to fetch."""
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
    inner = most - 2  # between the first and the last point
    k = 2 ** np.ceil(np.log2(np.maximum(spans / (inner - 1), 1.0))).astype(np.int64)
    grid = -(-first // k) * k  # the first multiple of k at or after ``first``
    columns = np.empty((len(view), most), dtype=np.int64)
    columns[:, 0] = first
    columns[:, 1:-1] = np.minimum(
        grid[:, None] + k[:, None] * np.arange(inner), (counts - 1)[:, None]
    )
    columns[:, -1] = counts - 1
    return columns


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
