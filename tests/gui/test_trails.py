"""The multi-colour trails item: segments, gaps, colours and bounds."""

from __future__ import annotations

import numpy as np

from zoo_gui.trails import TrailsItem


def test_rows_become_segments_and_nan_points_break_them(qapp):
    item = TrailsItem()
    block = np.array(
        [[[0, 0], [1, 0], [1, 1], [np.nan, np.nan]], [[2, 2], [np.nan, np.nan], [3, 3], [4, 5]]],
        dtype=float,
    )
    item.setData([(block, "#ff0000")])
    buffer, _ = item._lines[0]
    segments = buffer.ndarray()
    expected = [[0, 0, 1, 0], [1, 0, 1, 1], [3, 3, 4, 5]]  # nothing joins one row to the next
    np.testing.assert_array_equal(segments, expected)
    bounds = item.boundingRect()
    assert abs(bounds.left()) < 1e-6 and abs(bounds.top()) < 1e-6
    assert abs(bounds.right() - 4) < 1e-6 and abs(bounds.bottom() - 5) < 1e-6


def test_one_draw_buffer_per_colour_even_when_a_colour_has_nothing_to_draw(qapp):
    item = TrailsItem()
    full = np.array([[[0, 0], [1, 1], [2, 2]]], dtype=float)
    empty = np.full((1, 3, 2), np.nan)
    item.setData(
        [(full, "#ff0000"), (empty, "#00ff00"), (full + 1, "#0000ff"), (full + 2, "#ff0000")]
    )
    assert item.colour_count() == 2
    assert item.segment_count() == 6
    item.setData([(empty, "#ff0000")])
    assert item.colour_count() == 0 and not item.boundingRect().isValid()


def test_steps_inside_one_screen_pixel_are_left_out_until_zoomed_in(qtbot):
    import pyqtgraph as pg

    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(400, 400)
    plot.show()
    item = TrailsItem()
    plot.addItem(item)
    plot.getPlotItem().getViewBox().setRange(xRange=(0, 100), yRange=(0, 100), padding=0)
    qtbot.waitExposed(plot)
    qtbot.waitUntil(lambda: 0.1 < item.pixelWidth() < 0.5, timeout=2000)
    # 1000 steps of 0.001 along x, each far below one pixel (~0.3 units), one unit in all …
    row = np.stack([50 + 0.001 * np.arange(1001), np.full(1001, 50.0)], axis=1)
    # … and 10 steps of 5 units, each crossing pixels.
    big = np.stack([5.0 * np.arange(11), np.full(11, 20.0)], axis=1)
    item.setData([(row[None], "#ff0000"), (big[None], "#00ff00")])
    pixel = item.pixelWidth()
    assert 0 < pixel < 0.5
    counts = [len(buffer) for buffer, _ in item._lines]
    assert counts[1] == 10  # every visible step is kept
    assert counts[0] <= 1.0 / pixel + 1  # only steps that change pixel
    plot.getPlotItem().getViewBox().setRange(xRange=(50, 50.2), yRange=(49.9, 50.1), padding=0)
    qtbot.waitUntil(lambda: len(item._lines[0][0]) >= 100, timeout=2000)


def test_a_ten_thousand_step_trail_reaches_back_to_its_start(make_window):
    import zoo
    from zoo.session import Scene

    start = (1.5, 1.0)
    scene = Scene(
        model="quadratic",
        settings={"lambda1": 1.0, "lambda2": 10.0},
        runs=[zoo.RunConfig("sgd", {"lr": 1e-5}, start=start, color="#ff3399")],
    )
    window = make_window(scene=scene, autoplay=False)
    window.runset.step(10_000)
    window.draw_now()
    (run_id,) = window.runset.configs
    assert window.runset.steps_taken(run_id) == 10_000
    ((points, _, _),) = window.drawing.frame(window.runset).trails
    row = points[0][np.isfinite(points[0]).all(axis=1)]
    np.testing.assert_allclose(row[0], start)  # from the start ring …
    x, _, _ = window.runset.history(run_id)
    np.testing.assert_allclose(row[-1], x[-1])  # … to where the run is now
    assert len(row) <= window.drawing.trail_points
    segments = window.canvas.trails._lines[0][0].ndarray()
    np.testing.assert_allclose(segments[0, :2], start)  # and the canvas draws it so
