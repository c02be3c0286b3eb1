"""Eigen view: the run's error split along the Hessian's eigenvectors, measured against
the prediction x_i^k = Π(1 − η_jλ_i)·x_i^0, and the eigenvectors drawn on the canvas."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import INK, direction_colour, footnote_label, make_plot, subscript

#: Largest number of eigen-directions plotted (the smallest and largest halves).
PLOTTED_DIRECTIONS = 8
#: Length of the eigenvector crosses on the canvas, as a fraction of the visible view.
ARROW_FRACTION = 0.12


def chosen_directions(count: int) -> list[int]:
    """Which eigen-directions to plot: all, or the smallest and largest few."""
    if count <= PLOTTED_DIRECTIONS:
        return list(range(count))
    half = PLOTTED_DIRECTIONS // 2
    return [*range(half), *range(count - half, count)]


class CanvasEigenvectors:
    """Eigenvector crosses at the selected run's point, an overlay on the main canvas."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        self.plot_item = plot_item
        self.lines = []
        self.texts = []
        for index in range(2):
            line = pg.PlotDataItem(pen=pg.mkPen(direction_colour(index), width=2))
            text = pg.TextItem(color=direction_colour(index), anchor=(0, 1))
            line.setZValue(50)
            text.setZValue(50)
            # The overlay follows the view; it must not make the canvas zoom out to it.
            plot_item.addItem(line, ignoreBounds=True)
            plot_item.addItem(text, ignoreBounds=True)
            self.lines.append(line)
            self.texts.append(text)
        self.set_visible(True)

    def set_visible(self, visible: bool) -> None:
        for item in (*self.lines, *self.texts):
            item.setVisible(visible)

    def remove(self) -> None:
        for item in (*self.lines, *self.texts):
            self.plot_item.removeItem(item)

    def update(self, state: LabState) -> None:
        model = state.model
        if model is None:
            for line in self.lines:
                line.setData([], [])
            for text in self.texts:
                text.setText("")
            return
        problem = state.problem
        count = len(model.eigenvalues)
        picks = [0, count - 1] if count > 1 else [0]
        (x_low, x_high), (y_low, y_high) = self.plot_item.viewRange()
        length = ARROW_FRACTION * min(x_high - x_low, y_high - y_low)
        centre = np.asarray(problem.to_view(model.x[None]))[0]
        for slot, (line, text) in enumerate(zip(self.lines, self.texts, strict=True)):
            if slot >= len(picks):
                line.setData([], [])
                text.setText("")
                continue
            index = picks[slot]
            vector = model.eigenvectors[:, index]
            tip = np.asarray(problem.to_view((model.x + 1e-3 * vector)[None]))[0] - centre
            norm = np.linalg.norm(tip)
            if not np.isfinite(norm) or norm == 0:
                line.setData([], [])
                text.setText("")
                continue
            tip = tip / norm * length
            line.setData(
                [centre[0] - tip[0], centre[0] + tip[0]], [centre[1] - tip[1], centre[1] + tip[1]]
            )
            text.setText(f"λ{subscript(index + 1)} = {model.eigenvalues[index]:.3g}")
            text.setPos(centre[0] + tip[0], centre[1] + tip[1])


class EigenPanel(QtWidgets.QWidget):
    name = "eigen"
    title = "Eigen view"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.overlay: CanvasEigenvectors | None = None
        self.show_on_canvas = QtWidgets.QCheckBox("Eigenvectors on the canvas")
        self.show_on_canvas.setChecked(True)
        self.show_on_canvas.toggled.connect(self._toggle_overlay)
        self.components_plot = make_plot(
            "Error along each eigenvector |x_i^k|: measured (solid) and predicted (dashed)",
            left="|x_i|",
            bottom="step k",
            log_y=True,
        )
        self.loss_plot = make_plot(
            "Loss split by eigen-direction ½λ_i(x_i^k)²", left="E − E*", bottom="step k", log_y=True
        )
        self.measured: list[pg.PlotDataItem] = []
        self.predicted: list[pg.PlotDataItem] = []
        self.split: list[pg.PlotDataItem] = []
        self.total = self.loss_plot.plot(pen=pg.mkPen(INK, width=1), name="total")
        self.note = footnote_label()
        self.components: theory.EigenComponents | None = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.show_on_canvas)
        layout.addWidget(self.components_plot, 1)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.note)

    def attach_canvas(self, plot_item: pg.PlotItem | None) -> None:
        if self.overlay is not None:
            self.overlay.remove()
            self.overlay = None
        if plot_item is not None:
            self.overlay = CanvasEigenvectors(plot_item)
            self.overlay.set_visible(self.show_on_canvas.isChecked())

    def _toggle_overlay(self, visible: bool) -> None:
        if self.overlay is not None:
            self.overlay.set_visible(visible)

    def _ensure_curves(self, count: int) -> None:
        while len(self.measured) < count:
            index = len(self.measured)
            colour = direction_colour(index)
            self.measured.append(self.components_plot.plot(pen=pg.mkPen(colour, width=1)))
            self.predicted.append(
                self.components_plot.plot(
                    pen=pg.mkPen(colour, width=1, style=QtCore.Qt.PenStyle.DashLine)
                )
            )
            self.split.append(self.loss_plot.plot(pen=pg.mkPen(colour, width=1)))

    def update_overlay(self, state: LabState) -> None:
        if self.overlay is not None and self.show_on_canvas.isChecked():
            self.overlay.update(state)

    def refresh(self, state: LabState) -> None:
        self.update_overlay(state)
        if state.start_model is None:
            self.components = None
            for curve in (*self.measured, *self.predicted, *self.split, self.total):
                curve.setData([], [])
            self.note.setText(state.error)
            return
        components = theory.eigen_components(
            state.problem, state.history, state.lrs, model=state.start_model
        )
        self.components = components
        picks = chosen_directions(len(components.eigenvalues))
        self._ensure_curves(len(picks))
        steps = np.arange(len(state.history))
        measured = np.abs(components.measured)
        predicted = np.abs(components.predicted)
        # log axes cannot show exact zeros (a direction solved in one step)
        floor = max(1e-300, 1e-16 * float(np.max(measured[0]) if measured.size else 1.0))
        for slot, index in enumerate(picks):
            self.measured[slot].setData(steps, np.maximum(measured[:, index], floor))
            if state.plain_gd or state.run_id is None:
                self.predicted[slot].setData(steps, np.maximum(predicted[:, index], floor))
            else:
                self.predicted[slot].setData([], [])
            split = components.loss_split[:, index]
            self.split[slot].setData(steps, np.maximum(np.abs(split), floor * floor))
        for slot in range(len(picks), len(self.measured)):
            for curve in (self.measured[slot], self.predicted[slot], self.split[slot]):
                curve.setData([], [])
        total = np.abs(components.loss_split.sum(axis=1))
        self.total.setData(steps, np.maximum(total, floor * floor))
        notes = []
        if not state.quadratic:
            notes.append(
                "Not a quadratic: components and predictions use the local "
                "quadratic at the run's start, so they hold only near it."
            )
        if state.run_id is not None and not state.plain_gd:
            notes.append("Predicted lines are shown for plain gradient descent only.")
        if len(picks) < len(components.eigenvalues):
            notes.append(
                f"Showing {len(picks)} of {len(components.eigenvalues)} directions "
                "(the smallest and largest eigenvalues)."
            )
        self.note.setText(" ".join(notes))
