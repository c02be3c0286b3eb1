"""Qt offscreen for every GUI test, and main windows that stop their work at teardown."""

from __future__ import annotations

import gc
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

import pytest


@pytest.fixture(scope="module", autouse=True)
def garbage_on_the_ui_thread(qapp):
    """As in the app, reference cycles are collected on the UI thread only: a collection
    started by a worker thread could free a Qt object there and deadlock (see
    ``zoo_gui.app.collect_garbage_on_ui_thread``)."""
    from pyqtgraph.util.garbage_collector import GarbageCollector

    gc.collect()
    collector = GarbageCollector(interval=0.5)
    yield collector
    collector.timer.stop()
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def settings_folder(tmp_path_factory):
    """Window settings go to a temporary folder, never to the user's own."""
    from PySide6 import QtCore

    folder = tmp_path_factory.mktemp("settings")
    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, str(folder)
    )
    return folder


@pytest.fixture
def make_window(qtbot):
    """``make_window(registry=None, scene=None, autoplay=True, **options)`` → a shown
    MainWindow; each one's timer, workers and background work are stopped after the test."""
    from zoo_gui.window import MainWindow

    windows = []

    def make(registry=None, scene=None, autoplay=True, **options):
        window = MainWindow(registry, scene, autoplay=autoplay, **options)
        qtbot.addWidget(window)
        window.resize(1300, 850)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
        window.stepper.idle(timeout=5.0)
        window.close()
    windows.clear()
    gc.collect()  # here, on the UI thread, not later in some worker


@pytest.fixture
def main_window(make_window, registry):
    return make_window(registry)


@pytest.fixture
def settled(qtbot):
    """``settled(window, result)``: the result of a change the window made through its
    ``FormulaGate`` (``load_scene``, ``set_model``, …), waiting for it when its formula
    compiles first (the result is None then)."""

    def wait(window, result):
        if result is not None:
            return result
        with qtbot.waitSignal(window.gate.settled, timeout=30000) as blocker:
            pass
        return blocker.args[0]

    return wait
