"""The Maps dock computes off the UI thread, can be cancelled, and turns a cell into a run."""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore

from zoo.session import Scene
from zoo_gui.maps_dock import show_maps


def himmelblau_window(make_window, registry):
    scene = Scene(model="himmelblau", runs=[])
    window = make_window(registry, scene, autoplay=False)
    dock = show_maps(window)
    dock.optimizer.setCurrentText("newton")
    return window, dock


def test_a_map_leaves_the_ui_timer_firing_and_arrives_coarse_then_fine(
    make_window, registry, qtbot
):
    _window, dock = himmelblau_window(make_window, registry)
    dock.grid.setValue(64)
    dock.steps.setValue(400)  # long enough to be seen busy on a loaded machine too
    ticks = []
    timer = QtCore.QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: dock.busy() and ticks.append(1))
    timer.start()
    pictures = []
    dock.shown.connect(pictures.append)
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        assert dock.compute()
    # The final picture is a queued signal: it may arrive just after the worker ends.
    qtbot.waitUntil(lambda: len(pictures) == 2 and not dock.busy(), timeout=120_000)
    timer.stop()
    assert [p.grid for p in pictures] == [16, 64]
    assert ticks  # the UI timer fired while the map was being computed
    basin = dock.result.data["basin"]
    assert {0, 1, 2, 3} <= set(np.unique(basin).tolist())
    assert dock.overlay is not None  # drawn over the loss image
    assert dock.legend_label.text().count("minimum") == 4
    axes = dock.plot.getPlotItem()
    assert (axes.getAxis("bottom").labelText, axes.getAxis("left").labelText) == ("x₁", "x₂")
    # Coloured by end state instead: Newton also ends on the saddles and the maximum.
    assert dock.quantity.findText("end") >= 0
    dock.quantity.setCurrentText("end")
    text = dock.legend_label.text()
    assert "saddle" in text and text.count("minimum") == 1
    assert dock.image.image.shape[:2] == (64, 64)


def test_a_map_can_be_cancelled(make_window, registry, qtbot):
    _window, dock = himmelblau_window(make_window, registry)
    dock.grid.setValue(256)
    dock.steps.setValue(100_000)
    assert dock.compute()
    with qtbot.waitSignal(dock.worker.progressed, timeout=60_000):
        pass
    with qtbot.waitSignal(dock.worker.cancelled, timeout=60_000):
        dock.cancel()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=10_000)
    assert dock.status.text() == "Cancelled."
    assert dock.result is None or dock.result.grid < 256


def test_a_click_on_a_cell_becomes_that_run(make_window, registry, qtbot, tmp_path):
    window, dock = himmelblau_window(make_window, registry)
    dock.grid.setValue(8)
    dock.steps.setValue(30)
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        dock.compute()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=60_000)
    result = dock.result
    run_id = dock.run_cell(2, 5)
    config = window.runset.configs[run_id]
    assert config.optimizer == "newton"
    assert config.start == (result.x.values[5], result.y.values[2])
    dock.export(tmp_path / "map.csv")
    assert len((tmp_path / "map.csv").read_text().splitlines()) == 1 + 8 * 8
    # A hyper-parameter map: the cell's values become the run's hyper-parameters.
    dock.kind.setCurrentIndex(dock.kind.findData("hyper"))
    dock.optimizer.setCurrentText("sgd")
    dock.x_param.setCurrentText("lr")
    dock.y_param.setCurrentText("momentum")
    dock.grid.setValue(4)
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        dock.compute()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=60_000)
    cell = dock.result.cell(1, 3)
    run_id = dock.run_cell(1, 3)
    hyper = window.runset.configs[run_id].hyper
    assert hyper["lr"] == cell["lr"] and hyper["momentum"] == cell["momentum"]


def test_a_scene_brings_its_map_settings_and_saves_them_again(make_window, registry):
    settings = {"kind": "hyper", "optimizer": "momentum", "x": "lr", "y": "momentum",
                "grid": 32, "steps": 150, "quantity": "diverged"}  # fmt: skip
    window = make_window(registry, Scene(model="quadratic", runs=[], maps=settings), False)
    dock = show_maps(window)
    defaults = {"x_range": {"low": 1e-4, "high": 1.0, "log": True},
                "y_range": {"low": 0.0, "high": 0.999, "log": False}}  # fmt: skip
    assert dock.settings() == {**settings, **defaults}  # the parameters' default ranges
    dock.grid.setValue(48)
    assert dock.compute()
    dock.cancel()
    assert window.workspace.scene().maps["grid"] == 48


def test_a_batch_size_map_offers_its_axis_on_data_models_and_a_click_runs_that_size(
    make_window, registry, qtbot
):
    _window, dock = himmelblau_window(make_window, registry)
    assert dock.x_param.findText("batch_size") < 0  # no samples, no minibatches
    settings = {"kind": "hyper", "optimizer": "sgd", "x": "lr", "y": "batch_size",
                "grid": 6, "steps": 20, "quantity": "final_loss"}  # fmt: skip
    window = make_window(registry, Scene(model="logistic", runs=[], maps=settings), False)
    dock = show_maps(window)
    assert dock.settings()["y_range"] == {"low": 1.0, "high": 40.0, "log": True}
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        assert dock.compute()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=60_000)
    result = dock.result
    assert result.y.values.tolist() == [1, 2, 4, 9, 19, 40] and result.x.log
    axes = dock.plot.getPlotItem()
    assert axes.getAxis("left").labelText == "batch size"
    assert dock.image.image.shape[:2] == (6, 6)

    class Click:  # where a press on the centre of cell (row 3, column 4) lands
        def scenePos(self):
            x = np.log10(result.x.values[4])
            return axes.vb.mapViewToScene(QtCore.QPointF(x, 3.0))

    count = len(window.runset.configs)
    dock._plot_clicked(Click())
    assert len(window.runset.configs) == count + 1
    config = window.runset.configs[max(window.runset.configs)]
    assert config.batch_size == 9 and config.hyper["lr"] == result.x.values[4]
    assert config.optimizer == "sgd" and "batch_size" not in config.hyper
