"""The experiments dock on a stand-in window that offers the names the contract promises."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow

from zoo.experiments import EXPERIMENTS, Cancelled, run_experiment
from zoo_gui import experiment_view


class FakeWindow(QMainWindow):
    scene_loaded = Signal()
    stepped = Signal()
    selection_changed = Signal(int)
    runs_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.lessons: list[str] = []
        self.lesson_dock = QDockWidget("Lesson", self)

    def open_lesson(self, path_or_name) -> None:
        self.lessons.append(str(path_or_name))


@pytest.fixture
def window(qtbot):
    window = FakeWindow()
    qtbot.addWidget(window)
    yield window
    dock = window.findChild(QDockWidget, "experimentDock")
    if dock is not None:
        dock.widget().stop()
    assert experiment_view.finish_all(timeout_ms=60_000)


def test_the_dock_shows_the_table_and_curves_of_the_experiment(qtbot, window):
    dock = experiment_view.show_experiment(window, "linear_neuron")
    panel = dock.widget()
    with qtbot.waitSignal(panel.finished, timeout=60_000) as blocker:
        pass
    result = blocker.args[0]
    expected = run_experiment("linear_neuron")
    assert panel.table.rowCount() == len(expected.rows)
    for index, row in enumerate(expected.rows):
        assert panel.table.item(index, 0).text() == row.quantity
        assert panel.table.item(index, 3).text() == ("✓" if row.agrees else "✗")
    assert result.passed and "all agreements hold" in panel.status.text()
    plots = [item for item in panel.plots.ci.items if hasattr(item, "listDataItems")]
    assert len(plots) == len(result.curves)
    assert len(plots[0].listDataItems()) == len(next(iter(result.curves.values())))
    lesson = EXPERIMENTS["linear_neuron"].lesson
    assert (experiment_view.LESSONS / f"{lesson}.json").is_file()
    assert window.lessons == [lesson]


def test_a_second_experiment_reuses_the_dock(qtbot, window):
    first = experiment_view.show_experiment(window, "linear_neuron")
    with qtbot.waitSignal(first.widget().finished, timeout=60_000):
        pass
    second = experiment_view.show_experiment(window, "saddle_escape")
    assert second is first
    assert "saddle_escape" in second.windowTitle()
    with qtbot.waitSignal(second.widget().finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].name == "saddle_escape"
    assert len(window.findChildren(QDockWidget, "experimentDock")) == 1


def test_a_failing_experiment_is_reported_in_the_dock(qtbot, window, monkeypatch):
    def broken(name, seed=0, progress=None):
        raise RuntimeError("no data")

    monkeypatch.setattr("zoo.experiments.run_experiment", broken)
    dock = experiment_view.show_experiment(window, "deep_linear")
    with qtbot.waitSignal(dock.widget().failed, timeout=60_000) as blocker:
        pass
    assert "no data" in blocker.args[0]
    assert "failed" in dock.widget().status.text()
    assert dock.widget().table.rowCount() == 0


def test_an_unknown_experiment_names_the_valid_ones(window):
    with pytest.raises(KeyError, match="deep_linear"):
        experiment_view.show_experiment(window, "no_such_experiment")


class Held:
    """A stand-in experiment that reports a quarter done, then waits to be released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.answers: list[bool] = []

    def __call__(self, name, seed=0, progress=None):
        progress(0.25)
        self.started.set()
        self.release.wait(timeout=30)
        self.answers.append(progress(0.5))
        if self.answers[-1] is False:
            raise Cancelled("cancelled")
        return run_experiment("linear_neuron")


def test_a_new_start_cancels_the_running_experiment_without_waiting(qtbot, window, monkeypatch):
    held = Held()
    monkeypatch.setattr("zoo.experiments.run_experiment", held)
    panel = experiment_view.show_experiment(window, "deep_linear").widget()
    first = panel.worker
    assert held.started.wait(timeout=30)
    qtbot.waitUntil(lambda: panel.progress.value() == 250)
    assert not panel.progress_bar.isHidden()
    monkeypatch.setattr(
        "zoo.experiments.run_experiment",
        lambda name, seed=0, progress=None: run_experiment("linear_neuron", seed, progress),
    )
    experiment_view.show_experiment(window, "linear_neuron")
    assert first.isRunning()  # the window did not wait for it
    with qtbot.waitSignal(panel.finished, timeout=60_000) as blocker:
        pass
    assert blocker.args[0].name == "linear_neuron"
    with qtbot.waitSignal(first.cancelled, timeout=30_000):
        held.release.set()
    assert held.answers == [False]
    assert panel.result.name == "linear_neuron" and panel.progress_bar.isHidden()


def test_cancel_stops_the_experiment_and_a_ui_timer_keeps_firing(qtbot, window, monkeypatch):
    held = Held()
    monkeypatch.setattr("zoo.experiments.run_experiment", held)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    panel = experiment_view.show_experiment(window, "deep_linear").widget()
    worker = panel.worker
    assert held.started.wait(timeout=30)
    qtbot.waitUntil(lambda: len(ticks) >= 3)  # the UI thread runs while the experiment does
    timer.stop()
    qtbot.mouseClick(panel.cancel_button, experiment_view.Qt.MouseButton.LeftButton)
    assert "cancelled" in panel.status.text() and panel.progress_bar.isHidden()
    with qtbot.waitSignal(worker.cancelled, timeout=30_000):
        held.release.set()
    assert held.answers == [False] and panel.result is None


def test_an_experiment_without_a_scene_hides_the_previous_lesson_text(qtbot, window, monkeypatch):
    held = Held()
    monkeypatch.setattr("zoo.experiments.run_experiment", held)
    window.lesson_dock.show()
    panel = experiment_view.show_experiment(window, "perturbation").widget()
    assert EXPERIMENTS["perturbation"].lesson is None
    assert window.lesson_dock.isHidden()
    worker = panel.worker
    panel.cancel()
    with qtbot.waitSignal(worker.cancelled, timeout=30_000):
        held.release.set()
