"""One graphics item that draws every run's trail, each in its run's colour.

Trails arrive as blocks of rows (one row per run).  They are turned into line segments
(segments touching a NaN dropped) in one numpy pass per block and drawn with a single
``drawLines`` call per colour from a buffer Qt reads directly, so the cost is one draw
call per colour, not one item (or one Python object) per run or per point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import internals
from PySide6 import QtCore, QtGui


class TrailsItem(pg.GraphicsObject):
    """Polylines in several colours; ``setData`` replaces them all at once."""

    def __init__(self) -> None:
        super().__init__()
        self._lines: list[tuple[internals.PrimitiveArray, QtGui.QPen]] = []
        self._buffers: list[internals.PrimitiveArray] = []
        self._pens: dict[str, QtGui.QPen] = {}
        self._bounds = QtCore.QRectF()
        self._pieces: list[tuple[np.ndarray, str]] = []

    def pen(self, colour: str) -> QtGui.QPen:
        pen = self._pens.get(colour)
        if pen is None:
            pen = pg.mkPen(colour, width=1)  # 1 px: wider pens are many times slower
            pen.setCosmetic(True)
            self._pens[colour] = pen
        return pen

    def setData(self, pieces: Sequence[tuple]) -> None:
        """``pieces``: ``(points (R, L, 2), colour)`` or ``(points, colours, shown)`` with a
        colour and a flag per row; one polyline per row; NaN points (steps a run has not
        reached) break the lines, and rows not shown are left out."""
        self._pieces = list(pieces)
        self._rebuild()

    def viewTransformChanged(self) -> None:
        """Zoomed or panned: segments hidden inside one pixel before may show now."""
        if self._pieces:
            self._rebuild()

    def _rebuild(self) -> None:
        # Each block is examined once, whatever colours its rows have; segments that start
        # and end in the same screen pixel draw nothing visible (converging runs are
        # mostly made of them) and are left out.
        cell = (self.pixelWidth(), self.pixelHeight())
        names: dict[str, int] = {}
        found = []  # (block, rows, columns, colour index of each segment)
        low = np.array([np.inf, np.inf])
        high = -low
        for piece in self._pieces:
            block = piece[0]
            if not (block.shape[0] and block.shape[1] > 1):
                continue
            colours = [piece[1]] * block.shape[0] if isinstance(piece[1], str) else piece[1]
            shown = piece[2] if len(piece) > 2 else None
            ids = np.fromiter((names.setdefault(c, len(names)) for c in colours), np.int64)
            xs, ys = block[..., 0], block[..., 1]
            valid = np.isfinite(xs + ys)
            drawn = valid[:, :-1] & valid[:, 1:]  # segments with both ends drawn
            if shown is not None and not shown.all():
                drawn &= shown[:, None]
            if cell[0] > 0 and cell[1] > 0:
                drawn &= _crosses_a_pixel(xs, ys, cell)
            rows, columns = np.nonzero(drawn)
            if not len(rows):
                continue
            found.append((block, rows, columns, ids[rows]))
            # fmin/fmax skip NaN in one pass, with no masked copy.
            low = np.minimum(low, [np.fmin.reduce(xs, axis=None), np.fmin.reduce(ys, axis=None)])
            high = np.maximum(high, [np.fmax.reduce(xs, axis=None), np.fmax.reduce(ys, axis=None)])
        lines = []
        if found:
            segments = np.empty((sum(len(r) for _, r, _, _ in found), 4))
            which = np.empty(len(segments), dtype=np.int64)
            offset = 0
            for block, rows, columns, ids in found:
                end = offset + len(rows)
                segments[offset:end, :2] = block[rows, columns]
                segments[offset:end, 2:] = block[rows, columns + 1]
                which[offset:end] = ids
                offset = end
            order = np.argsort(which, kind="stable")
            edges = np.searchsorted(which[order], np.arange(len(names) + 1))
            for colour, index in names.items():
                first, last = edges[index], edges[index + 1]
                if first == last:
                    continue
                slot = len(lines)  # buffers are reused from frame to frame
                if slot >= len(self._buffers):
                    self._buffers.append(internals.PrimitiveArray(QtCore.QLineF, 4))
                buffer = self._buffers[slot]
                buffer.resize(last - first)
                buffer.ndarray()[:] = segments[order[first:last]]
                lines.append((buffer, self.pen(colour)))
        self.prepareGeometryChange()
        self._lines = lines
        if np.isfinite(low).all():
            pad = 1e-9 * max(1.0, float(np.abs(np.concatenate([low, high])).max()))
            self._bounds = QtCore.QRectF(
                low[0] - pad, low[1] - pad, high[0] - low[0] + 2 * pad, high[1] - low[1] + 2 * pad
            )
        else:
            self._bounds = QtCore.QRectF()
        self.update()

    def segment_count(self) -> int:
        return sum(len(buffer) for buffer, _ in self._lines)

    def colour_count(self) -> int:
        return len(self._lines)

    def boundingRect(self) -> QtCore.QRectF:
        return self._bounds

    def paint(self, painter: QtGui.QPainter, *args) -> None:
        for buffer, pen in self._lines:
            painter.setPen(pen)
            painter.drawLines(*buffer.drawargs())


def _crosses_a_pixel(xs: np.ndarray, ys: np.ndarray, cell: tuple[float, float]) -> np.ndarray:
    """For rows of points, which steps (point k to k + 1) end in another pixel."""
    with np.errstate(invalid="ignore"):
        columns = np.floor(xs * (1.0 / cell[0]))
        rows = np.floor(ys * (1.0 / cell[1]))
    return (columns[:, :-1] != columns[:, 1:]) | (rows[:, :-1] != rows[:, 1:])
