"""The experiments dock on a stand-in window that offers the names the contract promises."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow

from gui import experiment_view
from zoo.experiments import EXPERIMENTS, run_experiment


class FakeWindow(QMainWindow):
    scene_loaded = Signal()
    stepped = Signal()
    selection_changed = Signal(int)
    runs_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.lessons: list[str] = []

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
    if (experiment_view.LESSONS / f"{lesson}.json").exists():
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
    def broken(name, seed=0):
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
