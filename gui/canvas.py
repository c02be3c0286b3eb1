"""The contour canvas: log-loss image, colour bar, contour lines, minima, start, trails.

One item per layer, made once; each frame only ``setData`` is called.  Zooming or
panning asks for a new landscape in a background thread (coarse first, then full);
the old picture stays until the new one arrives.  A 1-weight problem is drawn as its
loss curve E(x) with the runs' iterates sitting on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from zoo import landscape
from zoo.landscape import Grid
from zoo_gui.drawing import Exit
from zoo_gui.exits import ExitMarkers
from zoo_gui.heads import HeadsItem
from zoo_gui.palette import landscape_map
from zoo_gui.trails import TrailsItem

#: Where the view must move before a new landscape is asked for (fraction of its size).
REFRESH_DELAY_MS = 120
LEGEND_MOST = 12
ARROW_COLOURS = {"gradient": "#ff3b30", "update": "#ffffff", "momentum": "#ffd60a"}
ARROW_LABELS = {"gradient": "−gradient", "update": "update", "momentum": "momentum"}


class LandscapeLoader(QtCore.QObject):
    """Evaluates grids in a background thread; ``ready`` delivers them on the UI thread."""

    ready = QtCore.Signal(int, object, object, object)  # token, grid, colour scale, contours

    def __init__(self) -> None:
        super().__init__()
        self._token = 0
        self._lock = threading.Lock()

    def request(self, compute: Callable[[], Any]) -> int:
        """Start ``compute()`` (an iterable of grids) in a thread; older requests are dropped."""
        with self._lock:
            self._token += 1
            token = self._token
        threading.Thread(target=self._run, args=(token, compute), daemon=True).start()
        return token

    def current(self, token: int) -> bool:
        return token == self._token

    def _run(self, token: int, compute: Callable[[], Any]) -> None:
        try:
            for grid in compute():
                if not self.current(token):
                    return
                scale, contours = prepare(grid)
                self.ready.emit(token, grid, scale, contours)
        except Exception:  # a landscape that cannot be drawn leaves the old picture
            return


def prepare(grid: Grid) -> tuple[Any, np.ndarray]:
    """Colour scale and contour lines of a 2-D grid (nothing extra for a 1-D curve)."""
    if len(grid.ys) == 1:
        return None, np.empty((0, 2))
    scale = landscape.color_scale(grid)
    contours = landscape.contour_paths(grid, landscape.contour_levels(grid, 15))
    return scale, contours


class Canvas(pg.PlotWidget):
    """The picture of the problem and the runs on it."""

    clicked = QtCore.Signal(float, float)  # view coordinates
    hovered = QtCore.Signal(float, float)
    start_moving = QtCore.Signal(float, float)
    start_moved = QtCore.Signal(float, float)
    view_changed = QtCore.Signal(object)  # ((x0, x1), (y0, y1))

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent, background="#10141c")
        self.plot_item: pg.PlotItem = self.getPlotItem()
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()
        # Repainting only what items cover is slower once runs pile up at a minimum.
        self.setViewportUpdateMode(
            QtWidgets.QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate
        )
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        # Room above the plot for half of the top tick label, which sits on the edge.
        self.plot_item.setContentsMargins(2, 9, 2, 2)
        self.plot_item.showGrid(False, False)
        for side in ("left", "bottom"):
            axis = self.plot_item.getAxis(side)
            axis.setPen(pg.mkPen("#9aa4b2"))
            axis.setTextPen(pg.mkPen("#c8d0da"))

        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setZValue(-10)
        self.plot_item.addItem(self.image)
        self.colour_map = landscape_map()
        self.image.setColorMap(self.colour_map)
        self.colour_bar = pg.ColorBarItem(
            values=(0, 1),
            colorMap=self.colour_map,
            label="log₁₀(loss − min)",
            interactive=False,
            width=14,
        )
        self.colour_bar.setImageItem(self.image, insert_in=self.plot_item)
        self.colour_bar.getAxis("right").setTextPen(pg.mkPen("#c8d0da"))
        self.colour_bar.getAxis("right").setPen(pg.mkPen("#9aa4b2"))
        # The trails' repaint region reaches the colour bar and axes each frame; they
        # change only with the view, so they are drawn from caches.
        _cached(self.colour_bar)
        for side in ("left", "bottom"):
            _cached(self.plot_item.getAxis(side))
        self.contours = pg.PlotCurveItem(
            pen=pg.mkPen(255, 255, 255, 70, width=1), connect="finite", antialias=False
        )
        self.contours.setZValue(-5)
        self.plot_item.addItem(self.contours)
        # The landscape changes only when the view does: each frame blits it from a
        # cache instead of scaling the image and stroking every contour again.
        for item in (self.image, self.contours):
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.loss_curve = pg.PlotCurveItem(pen=pg.mkPen("#c8d0da", width=1))
        self.plot_item.addItem(self.loss_curve)
        self.minima = pg.ScatterPlotItem(
            symbol="star", size=14, pen=pg.mkPen("#000000"), brush=pg.mkBrush("#ffffff")
        )
        self.plot_item.addItem(self.minima)
        self.minima.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.previews: dict[str, pg.PlotCurveItem] = {}  # colour -> its runs' previews
        self.trails = TrailsItem()
        self.plot_item.addItem(self.trails)
        self.heads = HeadsItem(size=8)
        self.heads.setZValue(5)
        self.plot_item.addItem(self.heads)
        # A ring of fixed screen size around the selected run's head, drawn by Qt alone.
        self.selected_head = QtWidgets.QGraphicsEllipseItem(-8, -8, 16, 16)
        self.selected_head.setPen(pg.mkPen("#ffffff", width=1))
        self.selected_head.setFlag(
            QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
        )
        self.selected_head.setVisible(False)
        self.selected_head.setZValue(6)
        self.plot_item.addItem(self.selected_head)
        self.exits = ExitMarkers(self.plot_item)
        self.start_marker = pg.TargetItem(
            size=16,
            symbol="o",
            pen=pg.mkPen("#ffffff", width=1),
            brush=pg.mkBrush(255, 255, 255, 60),
            movable=True,
        )
        self.start_marker.setZValue(7)
        self.plot_item.addItem(self.start_marker)
        self.start_marker.sigPositionChanged.connect(self._marker_moving)
        self.start_marker.sigPositionChangeFinished.connect(self._marker_moved)
        self._placing = False

        self.arrow_shafts: dict[str, pg.PlotCurveItem] = {}
        self.arrow_heads: dict[str, pg.ArrowItem] = {}
        self.arrow_labels: dict[str, pg.TextItem] = {}
        for name, colour in ARROW_COLOURS.items():
            label = pg.TextItem(ARROW_LABELS[name], color=colour, anchor=(0, 1))
            label.setZValue(8)
            label.setVisible(False)
            self.plot_item.addItem(label)
            self.arrow_labels[name] = label
            shaft = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1))
            head = pg.ArrowItem(
                headLen=10, tipAngle=30, pen=pg.mkPen(colour), brush=pg.mkBrush(colour)
            )
            for item in (shaft, head):
                item.setZValue(8)
                item.setVisible(False)
                self.plot_item.addItem(item)
            self.arrow_shafts[name], self.arrow_heads[name] = shaft, head

        self.legend = pg.LegendItem(
            offset=(8, 8),
            labelTextColor="#e8edf2",
            brush=pg.mkBrush(16, 20, 28, 190),
            pen=pg.mkPen("#3a4250"),
        )
        self.legend.setParentItem(self.view_box)
        self.exits.avoid.append(self.legend)
        self._legend_samples: list[pg.PlotDataItem] = []

        self.loader = LandscapeLoader()
        self.loader.ready.connect(self._landscape_ready)
        #: Shown while a model's first landscape is computed in the background.
        self.busy_label = QtWidgets.QLabel("computing the landscape …", self)
        self.busy_label.setStyleSheet("color: #c8d0da; background: transparent; padding: 6px")
        self.busy_label.move(60, 8)
        self.busy_label.adjustSize()
        self.busy_label.hide()
        self._compute: Callable[[Any], Callable[[], Any]] | None = None
        self._token = -1
        self.one_dimensional = False
        self.grid: Grid | None = None
        self._refresh = QtCore.QTimer(self, singleShot=True, interval=REFRESH_DELAY_MS)
        self._refresh.timeout.connect(self._request_landscape)
        self._shown_view: Any = None
        # Any change of the visible area (zoom, pan, resize, aspect lock) asks for a new
        # landscape once the view has settled.
        self.view_box.sigRangeChanged.connect(lambda *_: self._refresh.start())
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    # ------------------------------------------------------------------ landscape
    def set_landscape_source(
        self,
        compute: Callable[[Any], Callable[[], Any]],
        view: Any,
        one_dimensional: bool,
        first: Grid | None = None,
    ) -> None:
        """``compute(view)`` returns a callable yielding grids of that view (run in a thread).

        ``first``, if given, is drawn at once so the window never opens blank.
        """
        self._compute = compute
        self.one_dimensional = one_dimensional
        for item in (self.image, self.contours, self.colour_bar):
            item.setVisible(not one_dimensional)
        self.loss_curve.setVisible(one_dimensional)
        self.view_box.setAspectLocked(not one_dimensional)
        (x0, x1), (y0, y1) = view
        if one_dimensional:
            self.view_box.setRange(xRange=(x0, x1), padding=0.02)
        else:
            self.view_box.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.0)
        self.plot_item.setLabel("bottom", "x" if one_dimensional else "x₁")
        self.plot_item.setLabel("left", "loss" if one_dimensional else "x₂")
        self._shown_view = None
        if first is not None:
            self._token = self.loader.request(lambda: iter(()))
            self._show(first, *prepare(first))
        else:  # the old model's picture must not stay up as if it were this one's
            self.grid = None
            self.image.clear()
            self.contours.setData([], [])
            self.loss_curve.setData([], [])
            self.busy_label.show()
        # The visible view, not the requested one: a locked aspect widens one side.
        self._request_landscape(force=True)
        self._refresh.start()  # and once more when the view has settled

    def render_landscape_now(self) -> None:
        """Compute the full landscape of the visible view on this thread (headless use)."""
        QtWidgets.QApplication.processEvents()  # let the aspect lock settle the view
        self._refresh.stop()
        self._token = self.loader.request(lambda: iter(()))
        view = self.current_view()
        view = (view[0], (0.0, 1.0)) if self.one_dimensional else _padded(view)
        grids = list(self._compute(view)())
        grid = grids[-1] if grids else None
        if grid is not None:
            self._show(grid, *prepare(grid))
        self._refresh.stop()

    def current_view(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def _request_landscape(self, view: Any = None, force: bool = False) -> None:
        if self._compute is None:
            return
        visible = view is None
        view = self.current_view() if visible else view
        if self.one_dimensional:
            view = (view[0], (0.0, 1.0))
        elif visible:
            view = _padded(view)
        if view == self._shown_view and not force:
            return
        self._token = self.loader.request(self._compute(view))
        self.view_changed.emit(view)

    def _landscape_ready(self, token: int, grid: Grid, scale: Any, contours: np.ndarray) -> None:
        if token == self._token:
            self._show(grid, scale, contours)

    def _show(self, grid: Grid, scale: Any, contours: np.ndarray) -> None:
        self.busy_label.hide()
        self.grid = grid
        self._shown_view = grid.view
        if len(grid.ys) == 1:
            self.loss_curve.setData(grid.xs, grid.loss[0])
            finite = grid.loss[0][np.isfinite(grid.loss[0])]
            if finite.size and not self._placing:
                low, high = float(finite.min()), float(finite.max())
                pad = 0.05 * (high - low or 1.0)
                self.view_box.setYRange(low - pad, high + pad, padding=0)
            return
        (x0, x1), (y0, y1) = grid.view
        self.image.setImage(scale.image.T, levels=(scale.low, scale.high), autoLevels=False)
        self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        self.colour_bar.setLevels((scale.low, scale.high))
        self.contours.setData(contours[:, 0], contours[:, 1]) if len(
            contours
        ) else self.contours.setData([], [])

    # ------------------------------------------------------------------ per frame
    def draw(
        self,
        pieces: Sequence[tuple[np.ndarray, str]],
        heads: np.ndarray,
        head_colours: Sequence[str],
        selected: np.ndarray | None,
        exits: Sequence[Exit] = (),
    ) -> None:
        """Trails ((R, L, 2) rows of points, colour), heads (K, 2) with their colours,
        the selected head and the runs that left the picture."""
        self.trails.setData(pieces)
        self.exits.set_exits(exits)
        self.heads.setData(heads, head_colours)
        if selected is not None and np.isfinite(selected).all():
            self.selected_head.setPos(float(selected[0]), float(selected[1]))
            self.selected_head.setVisible(True)
        else:
            self.selected_head.setVisible(False)

    def set_minima(self, points: np.ndarray) -> None:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        self.minima.setData(pos=points) if len(points) else self.minima.setData([], [])

    def set_start(self, point: Sequence[float] | None) -> None:
        self.start_marker.setVisible(point is not None)
        if point is not None:
            self._placing = True
            self.start_marker.setPos(float(point[0]), float(point[1]))
            self._placing = False

    def set_preview(self, pieces: Sequence[tuple[np.ndarray, str]] | None) -> None:
        """Dashed previews of paths: (points (N, 2), colour) each; None clears them."""
        by_colour: dict[str, list[np.ndarray]] = {}
        for points, colour in pieces or ():
            by_colour.setdefault(colour, []).extend([points, np.full((1, 2), np.nan)])
        for colour, curve in self.previews.items():
            if colour not in by_colour:
                curve.setData([], [])
        for colour, blocks in by_colour.items():
            curve = self.previews.get(colour)
            if curve is None:
                pen = pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine)
                curve = self.previews[colour] = pg.PlotCurveItem(pen=pen, connect="finite")
                curve.setZValue(4)
                self.plot_item.addItem(curve)
            points = np.concatenate(blocks)
            curve.setData(points[:, 0], points[:, 1])

    def preview_points(self, colour: str) -> np.ndarray:
        """(N, 2) the preview drawn in ``colour`` (NaN rows between paths)."""
        curve = self.previews.get(colour)
        xs, ys = curve.getData() if curve is not None else (None, None)
        return np.empty((0, 2)) if xs is None else np.stack([xs, ys], axis=1)

    def set_legend(self, entries: Sequence[tuple[str, str]]) -> None:
        """Rebuilt when runs change (never per frame): (label, colour) pairs.  A long list
        is cut short: past a dozen runs a legend hides the picture without helping."""
        self.legend.clear()
        self._legend_samples = []
        entries = list(entries)
        if len(entries) > LEGEND_MOST:
            more = len(entries) - LEGEND_MOST + 1
            entries = [*entries[: LEGEND_MOST - 1], (f"… and {more} more", "#10141c")]
        for label, colour in entries:
            sample = pg.PlotDataItem(pen=pg.mkPen(colour, width=2))
            self._legend_samples.append(sample)
            self.legend.addItem(sample, label)
        self.legend.setVisible(bool(entries))
        _cached(self.legend)

    def set_arrows(self, origin: np.ndarray | None, vectors: dict[str, np.ndarray]) -> None:
        """Arrows from ``origin`` (view coordinates); absent names are hidden.  A label
        that would sit on another is moved down a line, so names never overlap."""
        placed: list[QtCore.QPointF] = []
        for name in ARROW_COLOURS:
            vector = vectors.get(name)
            show = (
                origin is not None
                and vector is not None
                and np.isfinite(vector).all()
                and float(np.hypot(*vector)) > 0
            )
            self.arrow_shafts[name].setVisible(show)
            self.arrow_heads[name].setVisible(show)
            self.arrow_labels[name].setVisible(show)
            if not show:
                continue
            tip = origin + vector
            self.arrow_shafts[name].setData([origin[0], tip[0]], [origin[1], tip[1]])
            # ArrowItem's angle is in screen degrees; y points up in the view, down on screen.
            screen = self.view_box.mapViewToDevice(
                QtCore.QPointF(*tip)
            ) - self.view_box.mapViewToDevice(QtCore.QPointF(*origin))
            angle = float(np.degrees(np.arctan2(screen.y(), screen.x()))) + 180.0
            self.arrow_heads[name].setStyle(angle=angle)
            self.arrow_heads[name].setPos(float(tip[0]), float(tip[1]))
            at = self.view_box.mapViewToDevice(QtCore.QPointF(*tip))
            line = QtGui.QFontMetricsF(self.arrow_labels[name].textItem.font()).height()
            while any(abs(at.x() - p.x()) < 70 and abs(at.y() - p.y()) < line for p in placed):
                at += QtCore.QPointF(0.0, line)
            placed.append(at)
            label_at = self.view_box.mapDeviceToView(at)
            self.arrow_labels[name].setPos(label_at.x(), label_at.y())

    # ------------------------------------------------------------------ mouse
    def _mouse_moved(self, position: QtCore.QPointF) -> None:
        if self.view_box.sceneBoundingRect().contains(position):
            point = self.view_box.mapSceneToView(position)
            self.hovered.emit(point.x(), point.y())

    def _mouse_clicked(self, event: Any) -> None:
        if event.button() != QtCore.Qt.MouseButton.LeftButton or event.double():
            return
        position = event.scenePos()
        if not self.view_box.sceneBoundingRect().contains(position):
            return
        marker = self.start_marker
        if marker.isVisible():
            near = marker.mapToScene(QtCore.QPointF(0, 0)) - position
            if abs(near.x()) + abs(near.y()) < 12:
                return  # a click on the start marker belongs to the marker
        point = self.view_box.mapSceneToView(position)
        self.clicked.emit(point.x(), point.y())

    def _marker_moving(self, marker: Any) -> None:
        if not self._placing:
            point = marker.pos()
            self.start_moving.emit(point.x(), point.y())

    def _marker_moved(self, marker: Any) -> None:
        if not self._placing:
            point = marker.pos()
            self.start_moved.emit(point.x(), point.y())

    def export_image(self, width: int | None = None, height: int | None = None) -> QtGui.QImage:
        """The canvas as an image (of its widget size unless given)."""
        image = self.grab().toImage()
        if width and height and (image.width(), image.height()) != (width, height):
            image = image.scaled(
                width,
                height,
                QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                QtCore.Qt.TransformationMode.SmoothTransformation,
            )
        return image


def _cached(item: QtWidgets.QGraphicsItem) -> None:
    """Draw ``item`` and everything in it from pixmaps Qt keeps until they change."""
    items = [item]
    while items:
        item = items.pop()
        item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        items.extend(item.childItems())


def _padded(view: Any, margin: float = 0.03) -> Any:
    """A little more than the visible view, so panning a bit shows no edge."""
    (x0, x1), (y0, y1) = view
    dx, dy = margin * (x1 - x0), margin * (y1 - y0)
    return (x0 - dx, x1 + dx), (y0 - dy, y1 + dy)
