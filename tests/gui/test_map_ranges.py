"""The axes of a hyper-parameter map take the ranges the user types, checked as
``zoo map --range`` checks them, and scenes keep them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6 import QtCore

from zoo.session import Scene, save_scene
from zoo_gui.maps_dock import show_maps


@pytest.fixture(autouse=True)
def closed_windows_deleted():
    """Most tests here never run the event loop: the windows they close are deleted now,
    not in the next test's event loop."""
    yield
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)


def hyper_dock(make_window, registry, model="quadratic"):
    window = make_window(registry, Scene(model=model, runs=[]), autoplay=False)
    dock = show_maps(window)
    dock.kind.setCurrentIndex(dock.kind.findData("hyper"))
    dock.optimizer.setCurrentText("sgd")
    dock.x_param.setCurrentText("lr")
    dock.y_param.setCurrentText("momentum")
    dock.grid.setValue(4)
    dock.steps.setValue(20)
    return window, dock


def type_range(row, low: str, high: str, log: bool) -> None:
    row.low.setText(low)
    row.high.setText(high)
    row.log.setChecked(log)


def computed(dock, qtbot):
    with qtbot.waitSignal(dock.shown, timeout=60_000):
        assert dock.compute()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=60_000)
    return dock.result


def test_the_typed_ranges_are_the_axes_of_the_map(make_window, registry, qtbot):
    _window, dock = hyper_dock(make_window, registry)
    assert (dock.x_axis.low.text(), dock.x_axis.high.text()) == ("1e-05", "0.1")  # lr 1e-3
    assert dock.x_axis.log.isChecked() and dock.x_axis.log.isEnabled()
    assert (dock.y_axis.low.text(), dock.y_axis.high.text()) == ("0", "0.999")
    type_range(dock.x_axis, "1e-3", "1", log=True)
    type_range(dock.y_axis, "0", "0.99", log=False)
    result = computed(dock, qtbot)
    np.testing.assert_allclose(result.x.values, [1e-3, 1e-2, 1e-1, 1.0])
    np.testing.assert_allclose(result.y.values, [0.0, 0.33, 0.66, 0.99])
    assert result.x.log and not result.y.log
    assert dock.plot.getPlotItem().getAxis("bottom").labelText == "log₁₀ lr"
    # lr on a linear axis instead, and momentum on a log one
    type_range(dock.x_axis, "0.1", "0.4", log=False)
    type_range(dock.y_axis, "0.001", "0.1", log=True)
    result = computed(dock, qtbot)
    np.testing.assert_allclose(result.x.values, [0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(result.y.values, np.geomspace(0.001, 0.1, 4))
    assert dock.workspace.maps["x_range"] == {"low": 0.1, "high": 0.4, "log": False}
    assert dock.workspace.maps["y_range"] == {"low": 0.001, "high": 0.1, "log": True}


def test_choosing_another_parameter_resets_its_range(make_window, registry):
    _window, dock = hyper_dock(make_window, registry)
    type_range(dock.y_axis, "0.2", "0.5", log=False)
    dock.y_param.setCurrentText("dampening")
    assert (dock.y_axis.low.text(), dock.y_axis.high.text()) == ("0", "1")
    assert not dock.y_axis.log.isChecked()
    type_range(dock.x_axis, "0.2", "0.5", log=False)
    dock.optimizer.setCurrentText("newton")  # lr from 1e-3 to 4: its default 1 ÷ and × 100
    assert dock.x_param.currentText() == "lr"
    assert (dock.x_axis.low.text(), dock.x_axis.high.text()) == ("0.01", "4")
    assert dock.x_axis.log.isChecked()


@pytest.mark.parametrize(
    "axis, low, high, log, message",
    [
        ("x", "1", "1e-3", True, "lr: the range needs low < high, got 1 to 0.001"),
        ("x", "1e-3", "100", True, "lr: high 100 is above the largest allowed, 10"),
        ("y", "-0.5", "0.9", False, "momentum: low -0.5 is below the smallest allowed, 0"),
        ("y", "0", "0.9", True, "momentum: a log axis needs low > 0, got 0"),
        ("x", "one", "2", True, "x axis: low and high must be numbers"),
        ("y", "0.1", "nan", False, "momentum: the range needs two finite numbers"),
    ],
)
def test_a_bad_range_is_refused_with_a_message(
    make_window, registry, axis, low, high, log, message
):
    window, dock = hyper_dock(make_window, registry)
    type_range(getattr(dock, f"{axis}_axis"), low, high, log)
    assert not dock.compute()
    assert dock.worker is None and window.workspace.maps is None  # nothing computed or kept
    assert dock.status.text().startswith(f"Not computed: {message}")
    assert f"{axis}_range" not in dock.settings()  # a scene never saves what it would refuse


def test_a_batch_size_range_is_whole_sizes(make_window, registry, qtbot):
    _window, dock = hyper_dock(make_window, registry, model="logistic")
    dock.y_param.setCurrentText("batch_size")
    assert (dock.y_axis.low.text(), dock.y_axis.high.text()) == ("1", "40")
    type_range(dock.y_axis, "2.5", "8", log=True)
    assert not dock.compute()
    assert "batch_size: sizes are whole numbers" in dock.status.text()
    type_range(dock.y_axis, "2", "41", log=True)
    assert not dock.compute()
    assert "batch_size: high 41 is above the largest allowed, 40" in dock.status.text()
    type_range(dock.y_axis, "2", "8", log=False)
    assert computed(dock, qtbot).y.values.tolist() == [2, 4, 6, 8]


def test_a_scene_keeps_the_ranges(make_window, registry, qtbot, tmp_path):
    window, dock = hyper_dock(make_window, registry)
    type_range(dock.x_axis, "0.001", "1", log=True)
    type_range(dock.y_axis, "0", "0.99", log=False)
    computed(dock, qtbot)
    path = tmp_path / "scene.json"
    window.save_scene_file(path)
    saved = json.loads(path.read_text())["maps"]
    assert saved["x_range"] == {"low": 0.001, "high": 1.0, "log": True}
    assert saved["y_range"] == {"low": 0.0, "high": 0.99, "log": False}
    other = make_window(registry, autoplay=False)
    assert other.open_scene_file(path)
    shown = show_maps(other)
    assert (shown.x_param.currentText(), shown.y_param.currentText()) == ("lr", "momentum")
    assert (shown.x_axis.low.text(), shown.x_axis.high.text()) == ("0.001", "1")
    assert (shown.y_axis.low.text(), shown.y_axis.high.text()) == ("0", "0.99")
    assert shown.x_axis.log.isChecked() and not shown.y_axis.log.isChecked()
    assert shown.settings() == window.workspace.maps
    result = computed(shown, qtbot)
    np.testing.assert_allclose(result.x.values, [1e-3, 1e-2, 1e-1, 1.0])


@pytest.mark.parametrize(
    "x_range, reason",
    [
        ({"low": 0.001, "high": 100.0, "log": True}, "maps.x_range: lr: high 100 is above"),
        ({"low": 0.001, "high": "1", "log": True}, "maps.x_range.low and .high must be finite"),
        ({"low": 0.0, "high": 1.0, "log": True}, "maps.x_range: lr: a log axis needs low > 0"),
    ],
)
def test_a_scene_with_a_malformed_range_is_refused_with_the_field_named(
    make_window, registry, tmp_path, x_range, reason
):
    scene = Scene(model="quadratic", maps={"kind": "hyper", "optimizer": "sgd", "x": "lr",
                                           "y": "momentum"})  # fmt: skip
    path = tmp_path / "scene.json"
    save_scene(scene, path)
    data = json.loads(path.read_text())
    data["maps"]["x_range"] = x_range
    path.write_text(json.dumps(data))
    window = make_window(registry, autoplay=False)
    assert not window.open_scene_file(path)
    assert window.last_message.startswith("Scene not opened: ") and reason in window.last_message
    assert window.workspace.maps is None


def test_the_app_and_zoo_map_draw_the_same_axes(make_window, registry, qtbot, tmp_path):
    from zoo.cli import main

    _window, dock = hyper_dock(make_window, registry)
    type_range(dock.x_axis, "1e-3", "1", log=True)
    type_range(dock.y_axis, "0", "0.99", log=False)
    result = computed(dock, qtbot)
    out = tmp_path / "map.npz"
    argv = ["map", "quadratic", "sgd", "--over", "lr,momentum", "--grid", "4", "--steps", "20"]
    argv += ["--range", "lr=1e-3:1", "--range", "momentum=0:0.99", "--out", str(out)]
    assert main(argv) == 0
    arrays = np.load(out)
    np.testing.assert_array_equal(arrays["x"], result.x.values)
    np.testing.assert_array_equal(arrays["y"], result.y.values)
    np.testing.assert_array_equal(arrays["rate"], result.data["rate"])
