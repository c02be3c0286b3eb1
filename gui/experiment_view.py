"""The experiments dock: run a classic experiment off the UI thread, then show its numbers.

``show_experiment(window, name)`` creates (once per window) a dock with a table of measured
against theory, a verdict line and one plot per curve family of the ``Result``.  The
experiment runs in a worker thread, so the window keeps animating meanwhile; if the
experiment has a lesson scene, the window opens it so the canvas shows the same picture.
"""

from __future__ import annotations

import traceback
from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QElapsedTimer, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from zoo.experiments import EXPERIMENTS, Cancelled, Result, format_value
from zoo.workspace import LESSONS
from zoo_gui.palette import RUN_COLOURS

#: Curve colours that read on the dark plots, as the runs' colours do on the canvas.
PALETTE = RUN_COLOURS
AGREE, DISAGREE = QColor("#2ca02c"), QColor("#d62728")
#: Workers still running; they outlive a closed dock so Qt never destroys a running thread.
_RUNNING: set[QThread] = set()


class _Worker(QThread):
    """Runs one experiment; reports progress, then the ``Result``, the error text, or
    ``cancelled`` once ``cancel()`` was called (at the experiment's next checkpoint)."""

    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    progressed = Signal(float)

    def __init__(self, name: str, seed: int) -> None:
        super().__init__()
        self.name = name
        self.seed = seed
        self._go_on = True

    def cancel(self) -> None:
        self._go_on = False

    def _progress(self, fraction: float) -> bool:
        self.progressed.emit(fraction)
        return self._go_on

    def run(self) -> None:
        from zoo.experiments import run_experiment

        try:
            result = run_experiment(self.name, seed=self.seed, progress=self._progress)
        except Cancelled:
            self.cancelled.emit()
            return
        except Exception:  # a broken experiment is reported in the dock, not fatal
            self.failed.emit(traceback.format_exc(limit=3))
            return
        self.done.emit(result)


def finish_all(timeout_ms: int = 5000) -> bool:
    """Cancel every experiment still running and wait for them to end (at exit)."""
    for worker in list(_RUNNING):
        worker.cancel()
    return all(worker.wait(timeout_ms) for worker in list(_RUNNING))


class ExperimentPanel(QWidget):
    """Verdict, table and plots of one experiment's ``Result``."""

    finished = Signal(object)  # the Result, once shown
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.worker: _Worker | None = None
        self.result: Result | None = None
        self.status = QLabel("Choose an experiment from the Experiments menu.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.elapsed = QLabel()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running experiment")
        self.cancel_button.clicked.connect(self.cancel)
        self._clock = QElapsedTimer()
        self._ticker = QTimer(self)
        self._ticker.setInterval(200)
        self._ticker.timeout.connect(self._show_elapsed)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.elapsed)
        progress_row.addWidget(self.cancel_button)
        self.progress_bar = QWidget()
        self.progress_bar.setLayout(progress_row)
        progress_row.setContentsMargins(0, 0, 0, 0)
        self.progress_bar.hide()
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["quantity", "measured", "theory", "agrees"])
        self.table.verticalHeader().setVisible(False)
        self.table.setMinimumHeight(150)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("#10141c")
        self.plots.setMinimumHeight(280)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress_bar)
        layout.addWidget(splitter)

    def start(self, name: str, seed: int = 0) -> None:
        """Run ``name`` in a worker thread; ``finished`` or ``failed`` follows.  An
        experiment still running is cancelled first, without waiting for it."""
        self.stop()
        self.result = None
        self.table.setRowCount(0)
        self.plots.clear()
        summary = escape(EXPERIMENTS[name].summary)
        self.status.setText(f"<b>{escape(name)}</b> — {summary}<br>running…")
        worker = _Worker(name, seed)
        worker.done.connect(self._show)
        worker.failed.connect(self._fail)
        worker.cancelled.connect(self._cancelled)
        worker.progressed.connect(self._progressed)
        worker.finished.connect(lambda: _RUNNING.discard(worker))
        _RUNNING.add(worker)
        self.worker = worker
        self.progress.setValue(0)
        self.elapsed.setText("0 s")
        self.progress_bar.show()
        self._clock.start()
        self._ticker.start()
        worker.start()

    def stop(self) -> None:
        """Cancel a running experiment and forget it; it ends by itself at its next
        checkpoint, and nothing it reports afterwards reaches this panel."""
        worker = self.worker
        if worker is not None:
            for signal, slot in (
                (worker.done, self._show),
                (worker.failed, self._fail),
                (worker.cancelled, self._cancelled),
                (worker.progressed, self._progressed),
            ):
                signal.disconnect(slot)
            worker.cancel()
            self.worker = None
        self._finish_progress()

    def cancel(self) -> None:
        """Stop the running experiment (the Cancel button)."""
        if self.worker is not None:
            self.stop()
            self.status.setText("The experiment was cancelled.")

    def _progressed(self, fraction: float) -> None:
        self.progress.setValue(round(1000 * fraction))

    def _show_elapsed(self) -> None:
        self.elapsed.setText(f"{self._clock.elapsed() / 1000:.0f} s")

    def _finish_progress(self) -> None:
        self._ticker.stop()
        self.progress_bar.hide()

    def _cancelled(self) -> None:
        self.worker = None
        self._finish_progress()

    def _fail(self, message: str) -> None:
        self.worker = None
        self._finish_progress()
        self.status.setText(f"The experiment failed:<pre>{escape(message)}</pre>")
        self.failed.emit(message)

    def _show(self, result: Result) -> None:
        self.worker = None
        self._finish_progress()
        self.result = result
        verdict = (
            "<span style='color:#2ca02c'>all agreements hold</span>"
            if result.passed
            else "<span style='color:#d62728'>some agreements do not hold</span>"
        )
        self.status.setText(
            f"<b>{escape(result.name)}</b> — {escape(EXPERIMENTS[result.name].summary)}"
            f"<br>{verdict}"
        )
        self.table.setRowCount(len(result.rows))
        for index, row in enumerate(result.rows):
            cells = (
                row.quantity,
                format_value(row.measured),
                format_value(row.theory),
                "✓" if row.agrees else "✗",
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if column == 3:
                    item.setForeground(AGREE if row.agrees else DISAGREE)
                self.table.setItem(index, column, item)
        self._plot(result)
        self.finished.emit(result)

    def _plot(self, result: Result) -> None:
        self.plots.clear()
        columns = 2 if len(result.curves) > 1 else 1
        for index, (title, series) in enumerate(result.curves.items()):
            plot = self.plots.addPlot(row=index // columns, col=index % columns, title=title)
            plot.addLegend(
                offset=(-5, 5),
                labelTextSize="8pt",
                labelTextColor="#e8edf2",
                brush=pg.mkBrush(16, 20, 28, 200),
            )
            plot.showGrid(x=True, y=True, alpha=0.2)
            logarithmic = _wants_log(series.values())
            plot.setLogMode(x=False, y=logarithmic)
            colour = -1
            for label, (x, y) in series.items():
                x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
                if logarithmic:
                    y = np.where(y > 0, y, np.nan)
                # A prediction is drawn dashed in the colour of the measurement before it.
                dashed = any(
                    word in label for word in ("theory", "closed form", "prediction", "recursion")
                )
                if not dashed or colour < 0:
                    colour += 1
                pen = pg.mkPen(
                    PALETTE[colour % len(PALETTE)],
                    width=2 if dashed else 1,
                    style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine,
                )
                if np.all(np.diff(x) >= 0):
                    plot.plot(x, y, pen=pen, name=label, connect="finite")
                else:  # a cloud of points (refits, data), not a function of x
                    brush = pg.mkBrush(PALETTE[colour % len(PALETTE)])
                    plot.plot(
                        x,
                        y,
                        pen=None,
                        symbol="o",
                        symbolSize=4,
                        symbolBrush=brush,
                        symbolPen=None,
                        name=label,
                    )


def _wants_log(series) -> bool:
    """A log axis when every value is positive and they span more than three decades."""
    values = np.concatenate([np.asarray(y, dtype=float).ravel() for _, y in series])
    values = values[np.isfinite(values)]
    if values.size == 0 or np.any(values <= 0):
        return False
    return bool(values.max() / values.min() > 1e3)


def show_experiment(window, name: str, seed: int = 0) -> QDockWidget:
    """Create (once) and show the experiments dock on ``window``, running ``name``.

    If the experiment has a lesson scene, ``window.open_lesson`` loads it so the canvas
    shows the experiment's 2-D picture beside its numbers.
    """
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")
    dock = window.findChild(QDockWidget, "experimentDock")
    if dock is None:
        dock = QDockWidget("Experiment", window)
        dock.setObjectName("experimentDock")
        dock.setWidget(ExperimentPanel(dock))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    dock.setWindowTitle(f"Experiment: {name}")
    dock.show()
    dock.raise_()
    lesson = EXPERIMENTS[name].lesson
    if lesson is not None and (LESSONS / f"{lesson}.json").exists():
        window.open_lesson(lesson)
    else:  # the previous experiment's lesson text would describe another picture
        window.lesson_dock.hide()
    dock.widget().start(name, seed)
    return dock
