"""The η ruler: a log slider for the learning rate over a strip that colours, for every
eigen-direction, where each step size is monotone, oscillating or divergent."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from zoo import theory
from zoo_gui.lab.state import LabState
from zoo_gui.lab.style import (
    INK,
    MARK_COLOUR,
    REGIME_COLOURS,
    direction_colour,
    footnote_label,
    log_axis,
    make_plot,
    note_label,
    subscript,
)

SLIDER_STEPS = 1000
#: The most marks a model gives (1/λ_max, 2/λ_max, 2/(λ_min+λ_max), …).
MARKS = 5
#: How many eigen-directions the text lists (the strip shows them all).
LISTED_DIRECTIONS = 6
#: Widest span of the ruler's learning rates, as log10 bounds (the lr Param's range).
LOG_LIMITS = (-6.0, 1.0)


class RulerPanel(QtWidgets.QWidget):
    """Drag the slider (or the line on the strip) to set η of the selected run."""

    name = "ruler"
    title = "η ruler"

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self.state: LabState | None = None
        self.lr = 0.01
        self.log_range = (-3.0, 0.0)
        self._syncing = False

        self.plot = make_plot(bottom="learning rate η (log)")
        log_axis(self.plot)
        self.plot.setMinimumHeight(170)
        item = self.plot.getPlotItem()
        item.getAxis("left").setWidth(28)
        item.setTitle(
            "  ".join(
                f"<span style='color:{REGIME_COLOURS[name]}'>■ {name}</span>"
                for name in (theory.MONOTONE, theory.OSCILLATING, theory.DIVERGENT, theory.SADDLE)
            ),
            size="8pt",
        )
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        self.bars = pg.BarGraphItem(
            x0=[0.0], x1=[0.0], y0=[0.0], y1=[0.0], pen=None, brushes=[pg.mkBrush(None)]
        )
        item.addItem(self.bars)
        # The marks exist once; each refresh moves, relabels or hides them.  Their labels
        # sit above the strip, in as many rows as it takes for none to touch another:
        # marks such as 2/(λ_min+λ_max) and 2/λ_max can sit a few pixels apart.
        self.marks: list[tuple[str, float]] = []
        self.mark_lines = []
        self.mark_texts = []
        for _ in range(MARKS):
            line = pg.InfiniteLine(
                0.0, angle=90, pen=pg.mkPen(MARK_COLOUR, style=QtCore.Qt.PenStyle.DashLine)
            )
            text = pg.TextItem("", color=MARK_COLOUR, anchor=(0.5, 1.0))
            for part in (line, text):
                part.setVisible(False)
                item.addItem(part, ignoreBounds=True)
            self.mark_lines.append(line)
            self.mark_texts.append(text)
        self.rows = 1
        item.vb.sigResized.connect(self._layout_marks)
        self.cursor = pg.InfiniteLine(
            angle=90, movable=True, pen=pg.mkPen(INK, width=2), hoverPen=pg.mkPen(INK, width=3)
        )
        self.cursor.sigPositionChanged.connect(self._cursor_moved)
        self.cursor.sigPositionChangeFinished.connect(self._commit_soon)
        item.addItem(self.cursor)

        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.valueChanged.connect(self._slider_moved)
        self.value_label = QtWidgets.QLabel()
        self.value_label.setMinimumWidth(110)
        self.summary = note_label()
        self.directions = note_label()
        self.note = footnote_label()

        # Restarting a run on every pixel of a drag would flood the window; apply the value
        # once the hand rests.
        self.commit_timer = QtCore.QTimer(self)
        self.commit_timer.setSingleShot(True)
        self.commit_timer.setInterval(150)
        self.commit_timer.timeout.connect(self.commit)

        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.value_label)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.directions)
        layout.addWidget(self.note)

    # ------------------------------------------------------------ range and value
    def reset_range(self, state: LabState) -> None:
        """Fit the ruler to the marks of ``state`` (on a new scene or selection)."""
        marks = [value for _, value in state.model.marks()] if state.model is not None else []
        values = [*marks, state.lr]
        low = math.log10(min(values) / 30)
        high = math.log10(max(values) * 5)
        self.log_range = (max(LOG_LIMITS[0], low), min(LOG_LIMITS[1], high))

    def _extend_range(self, values: list[float]) -> None:
        low, high = self.log_range
        logs = [math.log10(v) for v in values if v > 0]
        if logs and (min(logs) < low or max(logs) > high):
            self.log_range = (
                max(LOG_LIMITS[0], min(low, min(logs) - 0.3)),
                min(LOG_LIMITS[1], max(high, max(logs) + 0.3)),
            )

    def _to_slider(self, lr: float) -> int:
        low, high = self.log_range
        return round((math.log10(lr) - low) / (high - low) * SLIDER_STEPS)

    def _from_slider(self, position: int) -> float:
        low, high = self.log_range
        return 10 ** (low + (high - low) * position / SLIDER_STEPS)

    def set_lr(self, lr: float, *, commit: bool = False) -> None:
        """Show ``lr`` everywhere (slider, line, labels); ``commit`` applies it to the run."""
        self.lr = float(lr)
        self._extend_range([self.lr])
        self._syncing = True
        self.slider.setValue(self._to_slider(self.lr))
        self.cursor.setValue(math.log10(self.lr))
        self._syncing = False
        self._draw_labels()
        if commit:
            self._commit_soon()

    def _slider_moved(self, position: int) -> None:
        if not self._syncing:
            self.set_lr(self._from_slider(position), commit=True)

    def _cursor_moved(self) -> None:
        if not self._syncing:
            self.set_lr(10 ** self.cursor.value())

    def _commit_soon(self) -> None:
        self.commit_timer.start()

    def commit(self) -> None:
        self.commit_timer.stop()
        self.lab.apply_hyper(lr=self.lr)

    # ------------------------------------------------------------ drawing
    def refresh(self, state: LabState) -> None:
        self.state = state
        if not self.commit_timer.isActive():
            self.lr = state.lr
        marks = state.model.marks() if state.model is not None else []
        self._extend_range([value for _, value in marks])
        self._draw_strip(state, marks)
        self.set_lr(self.lr)
        notes = []
        if state.error:
            notes.append(state.error)
        elif not state.quadratic:
            notes.append(
                "Marks come from the local Hessian at the selected run's point; "
                "they move as it moves."
            )
        if state.run_id is None:
            notes.append("Select a run to set its learning rate.")
        elif not state.plain_gd:
            notes.append(
                "The selected run is not plain gradient descent; the labels are "
                "those plain gradient descent would have at this η."
            )
        self.note.setText(" ".join(notes))

    def _draw_strip(self, state: LabState, marks: list[tuple[str, float]]) -> None:
        low, high = self.log_range
        item = self.plot.getPlotItem()
        eigenvalues = state.model.eigenvalues if state.model is not None else np.empty(0)
        x0, x1, y0, brushes = [], [], [], []
        for row, lam in enumerate(eigenvalues):
            for start, stop, name in _regime_intervals(float(lam), low, high):
                x0.append(start)
                x1.append(stop)
                y0.append(row + 0.1)
                brushes.append(pg.mkBrush(REGIME_COLOURS[name]))
        if not x0:  # pyqtgraph's bars need at least one bar
            x0, x1, y0, brushes = [low], [low], [0.0], [pg.mkBrush(None)]
        self.bars.setOpts(
            x0=np.array(x0),
            x1=np.array(x1),
            y0=np.array(y0),
            y1=np.array(y0) + 0.8,
            brushes=brushes,
        )
        self.marks = list(marks[:MARKS])
        rows = len(eigenvalues)
        listed = range(rows) if rows <= LISTED_DIRECTIONS else (0, rows - 1)
        item.getAxis("left").setTicks(
            [[(row + 0.5, f"λ{subscript(row + 1)}") for row in listed], []]
        )
        self.cursor.setBounds((low, high))
        self.rows = max(1, rows)
        item.setXRange(low, high, padding=0)
        self._layout_marks()

    def _layout_marks(self) -> None:
        """Put each mark's label above the strip, in the lowest row where it touches no
        other label, and make room for those rows above the strip."""
        low, high = self.log_range
        box = self.plot.getPlotItem().vb
        width, height = box.width(), box.height()
        for index, line in enumerate(self.mark_lines):
            shown = index < len(self.marks)
            line.setVisible(shown)
            self.mark_texts[index].setVisible(shown)
            if shown:
                label, value = self.marks[index]
                line.setValue(math.log10(value))
                self.mark_texts[index].setText(label)
        sizes = [text.textItem.boundingRect() for text in self.mark_texts[: len(self.marks)]]
        line_height = max((size.height() for size in sizes), default=0.0) + 1
        pixels = width / (high - low) if width > 0 else 0.0
        ends: list[float] = []  # the right edge (pixels) of the last label in each row
        placed = []
        for index, (_, value) in sorted(enumerate(self.marks), key=lambda item: item[1][1]):
            label_width = sizes[index].width() + 4
            centre = (math.log10(value) - low) * pixels
            centre = min(max(centre, label_width / 2), max(width - label_width / 2, 0.0))
            left = centre - label_width / 2
            row = next((r for r, end in enumerate(ends) if left >= end), len(ends))
            if row == len(ends):
                ends.append(0.0)
            ends[row] = left + label_width
            placed.append((index, row, centre))
        # Labels take at most half the height; a mark whose row does not fit keeps its
        # line (named in its tooltip) and loses its label.
        room = max(1, int(height / 2 // line_height)) if line_height else 1
        label_rows = min(max(1, len(ends)), room)
        strip = max(height - label_rows * line_height, 1.0)
        per_unit = strip / (self.rows + 0.1)  # pixels per unit of the strip's y axis
        top = self.rows + 0.1 + label_rows * line_height / per_unit
        self.plot.getPlotItem().setYRange(0, top, padding=0)
        for index, row, centre in placed:
            x = low + centre / pixels if pixels else math.log10(self.marks[index][1])
            y = self.rows + 0.1 + row * line_height / per_unit
            self.mark_texts[index].setPos(x, y)
            self.mark_texts[index].setVisible(row < label_rows)
            self.mark_lines[index].setToolTip(self.marks[index][0])

    def mark_label_rects(self) -> list[QtCore.QRectF]:
        """Scene rectangles of the mark labels shown (for tests: they never overlap)."""
        return [text.sceneBoundingRect() for text in self.mark_texts if text.isVisible()]

    def _draw_labels(self) -> None:
        self.value_label.setText(f"η = {self.lr:.4g}")
        state = self.state
        if state is None or state.model is None:
            self.summary.setText("")
            self.directions.setText("")
            return
        result = theory.gd_regimes(state.model.eigenvalues, self.lr)
        colour = REGIME_COLOURS[result.overall]
        if result.overall == theory.SADDLE:
            effect = (
                f"the component along negative curvature grows by "
                f"max|1 − ηλ| = {result.rate:.6g} per step"
            )
        else:
            effect = f"the error is multiplied by at most max|1 − ηλ| = {result.rate:.4g} per step"
        self.summary.setText(
            f"<b>Overall: <span style='color:{colour}'>{result.overall}</span></b> — {effect}"
        )
        lines = []
        count = len(result.labels)
        shown = list(range(count))
        if count > LISTED_DIRECTIONS:
            half = LISTED_DIRECTIONS // 2
            shown = [*range(half), -1, *range(count - half, count)]
        for index in shown:
            if index < 0:
                lines.append("…")
                continue
            label = result.labels[index]
            lines.append(
                f"<span style='color:{direction_colour(index)}'>■</span> "
                f"λ{subscript(index + 1)} = {result.eigenvalues[index]:.4g}: "
                f"<span style='color:{REGIME_COLOURS[label]}'><b>{label}</b></span> "
                f"(1 − ηλ = {result.factors[index]:.6g})"
            )
        self.directions.setText("<br>".join(lines))

    def shown_labels(self) -> tuple[str, tuple[str, ...]]:
        """The overall and per-direction labels currently shown (for tests and lessons)."""
        if self.state is None or self.state.model is None:
            return "", ()
        result = theory.gd_regimes(self.state.model.eigenvalues, self.lr)
        return result.overall, result.labels


def _regime_intervals(lam: float, low: float, high: float) -> list[tuple[float, float, str]]:
    """(start, stop, regime) spans of log10 η in [low, high] for one eigenvalue."""
    if lam <= 0:
        return [(low, high, theory.SADDLE if lam < 0 else theory.FLAT)]
    one, two = math.log10(1 / lam), math.log10(2 / lam)
    spans = [
        (low, one, theory.MONOTONE),
        (one, two, theory.OSCILLATING),
        (two, high, theory.DIVERGENT),
    ]
    return [(max(a, low), min(b, high), name) for a, b, name in spans if min(b, high) > max(a, low)]
