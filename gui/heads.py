"""One graphics item that draws every run's current point as a dot in its colour.

Each colour's dot is rendered once into a small pixmap; a frame maps all points to the
screen in one numpy call and blits them with one ``drawPixmapFragments`` call per
colour, so thousands of heads cost about what one does in Python.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph import functions
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui

#: Farthest a point may be mapped on screen: Qt's raster engine overflows beyond it.
SCREEN_LIMIT = 2.0**30


class HeadsItem(pg.GraphicsObject):
    """Dots of ``size`` pixels with a dark rim; ``setData`` replaces them all at once."""

    def __init__(self, size: int = 8) -> None:
        super().__init__()
        self.size = size
        self._points = np.empty((0, 2))
        self._sources = np.empty(0)  # each point's column in the atlas
        self._slots: dict[str, int] = {}  # colour -> column of its dot in the atlas
        self._atlas: QtGui.QPixmap | None = None
        self._atlas_key: tuple = ()
        self._fragments = internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        self._extent = QtCore.QRectF()  # of the points themselves, in view coordinates
        self._bounds = QtCore.QRectF()

    def setData(self, points: np.ndarray, colours: Sequence[str]) -> None:
        """``points`` (K, 2) view coordinates, finite; ``colours`` one per point."""
        self._points = np.asarray(points, dtype=float).reshape(-1, 2)
        slots = self._slots
        for colour in colours:
            if colour not in slots:
                slots[colour] = len(slots)
        self._sources = np.fromiter((slots[c] for c in colours), float, len(colours))
        if len(self._points):
            low, high = self._points.min(axis=0), self._points.max(axis=0)
            self._extent = QtCore.QRectF(low[0], low[1], high[0] - low[0], high[1] - low[1])
        self._update_bounds()
        self.update()

    def count(self) -> int:
        return len(self._points)

    def viewTransformChanged(self) -> None:
        """Zoomed: a dot's size in view coordinates changed, so its bounds did."""
        self._update_bounds()

    def _update_bounds(self) -> None:
        self.prepareGeometryChange()
        if not len(self._points):
            self._bounds = QtCore.QRectF()
            return
        pad_x, pad_y = self.pixelWidth() * self.size, self.pixelHeight() * self.size
        self._bounds = self._extent.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def _side(self, ratio: float) -> int:
        return int(np.ceil((self.size + 2) * ratio))

    def _atlas_for(self, ratio: float) -> QtGui.QPixmap:
        """One row of dots, one per colour seen so far, at the screen's pixel ratio."""
        key = (ratio, len(self._slots))
        if self._atlas is None or self._atlas_key != key:
            side = self._side(ratio)
            atlas = QtGui.QPixmap(side * max(1, len(self._slots)), side)
            atlas.setDevicePixelRatio(ratio)
            atlas.fill(QtCore.Qt.GlobalColor.transparent)
            painter = QtGui.QPainter(atlas)
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.setPen(pg.mkPen("#000000", width=1))
            step = side / ratio
            for colour, slot in self._slots.items():
                painter.setBrush(pg.mkBrush(colour))
                painter.drawEllipse(QtCore.QRectF(slot * step + 1, 1, self.size, self.size))
            painter.end()
            self._atlas, self._atlas_key = atlas, key
        return self._atlas

    def paint(self, painter: QtGui.QPainter, option, widget=None) -> None:
        if not len(self._points):
            return
        ratio = widget.devicePixelRatioF() if widget is not None else 1.0
        atlas = self._atlas_for(ratio)
        side = self._side(ratio)
        transform = painter.transform()
        screen = functions.transformCoordinates(transform, self._points.T)
        self._fragments.resize(len(self._points))
        fragments = self._fragments.ndarray()
        fragments[:, 0:2] = np.clip(screen.T, -SCREEN_LIMIT, SCREEN_LIMIT)
        fragments[:, 2] = self._sources * side
        fragments[:, 3:6] = [0, side, side]
        fragments[:, 6:10] = [1 / ratio, 1 / ratio, 0.0, 1.0]
        painter.resetTransform()
        painter.drawPixmapFragments(*self._fragments.drawargs(), atlas)
        painter.setTransform(transform)
