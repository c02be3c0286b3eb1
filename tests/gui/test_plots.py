"""The step plots: their log axes and the E* they subtract."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

import zoo
from zoo_gui.drawing import RunDrawing
from zoo_gui.plots import DecadeAxis, StepPlots


def ticks(low: float, high: float, pixels: float = 200) -> list[float]:
    axis = DecadeAxis("left")
    return [v for _, values in axis.tickValues(low, high, pixels) for v in values]


def test_the_loss_axis_labels_decades_and_less_than_a_decade_too(qapp):
    axis = DecadeAxis("left")
    assert ticks(-12, 3, 600) == [float(v) for v in range(-12, 4)]
    assert ticks(-12, 3, 200) == [-12.0, -9.0, -6.0, -3.0, 0.0, 3.0]  # spaced when short
    assert axis.tickStrings([-3, 0, 1, 2], 1, 1) == ["10⁻³", "1", "10", "10²"]
    narrow = ticks(math.log10(0.3), math.log10(1.7))  # 0.3 … 1.7: no two whole decades
    assert len(narrow) >= 2
    labels = axis.tickStrings(narrow, 1, 1)
    assert labels == ["0.5", "1"] and len(set(labels)) == len(labels)


def test_runs_below_the_lowest_value_known_stay_on_the_loss_plot(qtbot, registry):
    problem = zoo.build_problem("expression", {"formula": "x**2 + y**2 - 1"}, registry=registry)
    runs = zoo.RunSet(problem, registry)
    runs.add(zoo.RunConfig("sgd", {"lr": 0.1}, start=(1.0, 1.0), color="#ff3399"))
    runs.step(80)
    drawing = RunDrawing(None)
    drawing.want_series = True
    pictures = drawing.frame(runs).pictures
    plots = StepPlots()
    qtbot.addWidget(plots)
    plots.floor, plots.floor_known = -0.9, False  # a grid that missed the bottom
    plots.draw(pictures)
    _, loss = pictures[0].series["loss"]
    assert np.nanmin(loss) < -0.99  # the run went below what the grid knew …
    assert plots.items["loss"].segment_count() == loss.shape[1] - 1  # … and is all drawn
    plots.floor, plots.floor_known = -1.0, True  # a known minimum is kept as it is
    assert plots._floor(pictures) == -1.0


def test_hovering_near_a_curve_names_the_run_the_step_and_the_value(qtbot, registry):
    problem = zoo.build_problem("quadratic", {"lambda1": 1.0, "lambda2": 10.0}, registry=registry)
    runs = zoo.RunSet(problem, registry)
    run_id = runs.add(zoo.RunConfig("sgd", {"lr": 0.05}, start=(1.0, 1.0), color="#ff3399"))
    runs.step(40)
    drawing = RunDrawing(None)
    drawing.want_series = True
    plots = StepPlots(label_of=lambda r: f"run {r} named")
    qtbot.addWidget(plots)
    plots.resize(600, 300)
    plots.show()
    qtbot.waitExposed(plots)
    plots.draw(drawing.frame(runs).pictures)
    _, loss = runs.history(run_id)[:2]
    view = plots.plots["loss"].getPlotItem().getViewBox()
    point = view.mapViewToScene(pg.Point(20, math.log10(loss[20])))
    text = plots.hover("loss", point + pg.Point(3, 2))  # a few pixels off the curve
    assert text == f"run {run_id} named, step 20: loss − E* = {loss[20]:.4g}"
    assert plots.readouts["loss"].isVisible()
    far = view.mapViewToScene(pg.Point(20, math.log10(loss[20]) + 5))
    assert plots.hover("loss", far) == "" and not plots.readouts["loss"].isVisible()
