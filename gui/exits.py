"""Markers where runs left the picture: an arrow at the edge of the view, in the run's
colour, pointing the way the run went, and a label naming the step.

A run that diverges (or walks far off) is drawn only up to the edge of a box around
the view (``zoo_gui.drawing.confine``); these markers say where it went instead, so nothing
it produced reaches the other items' bounds.  All arrows are one scatter item; labels
are a small pool, shown only where they do not cover one another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zoo_gui.drawing import Exit

#: Most step labels shown at once; more would cover the canvas's edge.
LABELS = 8
#: Pixels between the view's edge and an arrow's centre.
INSET_PX = 11
ANGLES = 48  # arrow directions made (7.5° apart)


def _arrow_paths() -> list[QtGui.QPainterPath]:
    """Arrow symbols in unit size pointing at each of ``ANGLES`` screen angles."""
    arrow = QtGui.QPainterPath()
    arrow.moveTo(0.5, 0.0)
    arrow.lineTo(-0.5, 0.38)
    arrow.lineTo(-0.22, 0.0)
    arrow.lineTo(-0.5, -0.38)
    arrow.closeSubpath()
    paths = []
    for k in range(ANGLES):
        turn = QtGui.QTransform()
        turn.rotate(360.0 * k / ANGLES)
        paths.append(turn.map(arrow))
    return paths


class ExitMarkers:
    """The arrows and labels of runs that left the box, kept at the view's edge."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.view_box = plot_item.getViewBox()
        self.arrows = pg.ScatterPlotItem(size=15, pen=pg.mkPen("#000000", width=1))
        self.arrows.setZValue(9)
        plot_item.addItem(self.arrows)
        self.labels: list[pg.TextItem] = []
        for _ in range(LABELS):
            label = pg.TextItem("", fill=pg.mkBrush(16, 20, 28, 200))
            label.setZValue(9)
            label.setVisible(False)
            plot_item.addItem(label)
            self.labels.append(label)
        self._paths = _arrow_paths()
        self._exits: list[Exit] = []
        #: items labels must not cover (the legend), in the view box
        self.avoid: list[QtWidgets.QGraphicsItem] = []
        self._brushes: dict[str, QtGui.QBrush] = {}
        self.view_box.sigRangeChanged.connect(lambda *_: self.place())

    def set_exits(self, exits: Sequence[Exit]) -> None:
        if not exits and not self._exits:
            return  # nothing shown, nothing to show: most frames
        self._exits = list(exits)
        self.place()

    def _brush(self, colour: str) -> QtGui.QBrush:
        brush = self._brushes.get(colour)
        if brush is None:
            brush = self._brushes[colour] = pg.mkBrush(colour)
        return brush

    def shown_labels(self) -> list[str]:
        return [label.textItem.toPlainText() for label in self.labels if label.isVisible()]

    def positions(self) -> np.ndarray:
        """(K, 2) view coordinates of the arrows (for tests and exports)."""
        data = self.arrows.data
        return np.stack([data["x"], data["y"]], axis=1) if len(data) else np.empty((0, 2))

    def place(self) -> None:
        """Put each arrow where its run's path last leaves the view, pointing the way it
        went, inset a little from the edge."""
        exits = self._exits
        if not exits:
            self.arrows.setData([], [])
            for label in self.labels:
                label.setVisible(False)
            return
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        pixel_w, pixel_h = self.view_box.viewPixelSize()
        if not (pixel_w > 0 and pixel_h > 0):
            return
        view = (x0, x1, y0, y1)
        points = np.array([e.point for e in exits], dtype=float)
        directions = np.array([e.direction for e in exits], dtype=float)
        previous = np.array([e.previous for e in exits], dtype=float)
        ends = np.clip(points, [x0, y0], [x1, y1])
        # The run's last point in view: it goes on from there to the edge; a last step
        # that crosses the edge is followed to the crossing.
        shown, before = _in_view(points, view), _in_view(previous, view)
        if shown.any():
            ends[shown] = _ray_to_edge(points[shown], directions[shown], view)
        crossing = ~shown & before
        if crossing.any():
            steps = points[crossing] - previous[crossing]
            ends[crossing] = _ray_to_edge(previous[crossing], steps, view)
            directions[crossing] = steps
        # Work in pixels, so a direction keeps its on-screen angle on unequal axes.
        screen = directions / np.array([pixel_w, -pixel_h])
        screen /= np.hypot(screen[:, 0], screen[:, 1])[:, None]
        back = INSET_PX * screen * np.array([pixel_w, -pixel_h])  # back from the edge
        centres = np.clip(
            ends - back,
            [x0 + INSET_PX * pixel_w, y0 + INSET_PX * pixel_h],
            [x1 - INSET_PX * pixel_w, y1 - INSET_PX * pixel_h],
        )
        angles = np.degrees(np.arctan2(screen[:, 1], screen[:, 0]))
        which = np.rint(angles / (360.0 / ANGLES)).astype(int) % ANGLES
        self.arrows.setData(
            pos=centres,
            symbol=[self._paths[k] for k in which],
            brush=[self._brush(e.colour) for e in exits],
        )
        self._label(exits, centres, view, (pixel_w, pixel_h))

    def _label(self, exits: list[Exit], centres: np.ndarray, view, pixel) -> None:
        """Labels beside the arrows that leave the earliest, each where it covers no
        label already placed and none of the items to ``avoid`` (the legend)."""
        x0, x1, y0, y1 = view
        pixel_w, pixel_h = pixel
        taken = [
            item.mapRectToItem(self.view_box, item.boundingRect())
            for item in self.avoid
            if item.isVisible()
        ]
        order = sorted(range(len(exits)), key=lambda i: exits[i].step)
        free = iter(self.labels)
        for label in self.labels:
            label.setVisible(False)
        label = next(free, None)
        for index in order:
            if label is None:
                break
            exit_ = exits[index]
            text = f"left at step {exit_.step}" + (", diverged" if exit_.diverged else "")
            # The label reads inwards from the arrow, away from the edge it points at.
            centre = centres[index]
            right = centre[0] > (x0 + x1) / 2
            top = centre[1] > (y0 + y1) / 2
            at = centre + np.array([-1.0 if right else 1.0, -1.0 if top else 1.0]) * 9 * np.array(
                pixel
            )
            # Its rectangle in the view box's pixels, to test against the others.
            metrics = QtGui.QFontMetricsF(label.textItem.font())
            width, height = metrics.horizontalAdvance(text) + 8, metrics.height() + 4
            left = (at[0] - x0) / pixel_w - (width if right else 0.0)
            upper = (y1 - at[1]) / pixel_h - (0.0 if top else height)
            rect = QtCore.QRectF(left, upper, width, height)
            if any(rect.intersects(other) for other in taken):
                continue
            taken.append(rect)
            label.setText(text, color=exit_.colour)
            label.setAnchor((1.0 if right else 0.0, 0.0 if top else 1.0))
            label.setPos(*at)
            label.setVisible(True)
            label = next(free, None)


def _in_view(points: np.ndarray, view) -> np.ndarray:
    x0, x1, y0, y1 = view
    xs, ys = points[:, 0], points[:, 1]
    with np.errstate(invalid="ignore"):
        return (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)


def _ray_to_edge(points: np.ndarray, directions: np.ndarray, view) -> np.ndarray:
    """Where rays from ``points`` (inside ``view``) along ``directions`` meet its edge."""
    x0, x1, y0, y1 = view
    with np.errstate(all="ignore"):
        dx, dy = directions[:, 0], directions[:, 1]
        tx = np.where(
            dx > 0, (x1 - points[:, 0]) / dx, np.where(dx < 0, (x0 - points[:, 0]) / dx, np.inf)
        )
        ty = np.where(
            dy > 0, (y1 - points[:, 1]) / dy, np.where(dy < 0, (y0 - points[:, 1]) / dy, np.inf)
        )
    t = np.minimum(tx, ty)
    t = np.where(np.isfinite(t), t, 0.0)
    return points + t[:, None] * directions
