"""One graphics item that draws every run's trail, each in its run's colour.

Runs that share a colour share one ``QPainterPath`` (their points joined with NaN
breaks), so the cost is one path per colour, not one item per run, and nothing is
created in the frame loop but the paths themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui


class TrailsItem(pg.GraphicsObject):
    """Polylines in several colours; ``setData`` replaces them all at once."""

    def __init__(self) -> None:
        super().__init__()
        self._paths: list[tuple[QtGui.QPainterPath, QtGui.QPen]] = []
        self._pens: dict[str, QtGui.QPen] = {}
        self._bounds = QtCore.QRectF()

    def pen(self, colour: str) -> QtGui.QPen:
        pen = self._pens.get(colour)
        if pen is None:
            pen = pg.mkPen(colour, width=1)  # 1 px: wider pens are many times slower
            pen.setCosmetic(True)
            self._pens[colour] = pen
        return pen

    def setData(self, pieces: Sequence[tuple[np.ndarray, str]]) -> None:
        """``pieces``: ``(points (N, 2) with NaN rows between lines, colour)``."""
        by_colour: dict[str, list[np.ndarray]] = {}
        for points, colour in pieces:
            if len(points):
                by_colour.setdefault(colour, []).append(points)
        paths = []
        low = np.array([np.inf, np.inf])
        high = -low
        for colour, parts in by_colour.items():
            points = parts[0] if len(parts) == 1 else np.concatenate(parts)
            finite = points[np.isfinite(points).all(axis=1)]
            if not len(finite):
                continue
            low = np.minimum(low, finite.min(axis=0))
            high = np.maximum(high, finite.max(axis=0))
            path = pg.functions.arrayToQPath(points[:, 0], points[:, 1], connect="finite")
            paths.append((path, self.pen(colour)))
        self.prepareGeometryChange()
        self._paths = paths
        if np.isfinite(low).all():
            self._bounds = QtCore.QRectF(low[0], low[1], high[0] - low[0], high[1] - low[1])
        else:
            self._bounds = QtCore.QRectF()
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        for path, pen in self._paths:
            painter.setPen(pen)
            painter.drawPath(path)
