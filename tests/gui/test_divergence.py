"""A run that diverges never disturbs the picture of the others."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.session import Scene
from zoo_gui.drawing import clip_to_box, confine
from zoo_gui.export import image_to_array

CALM = {"adam": ("#ff3399", 0.08), "rmsprop": ("#ccff33", 0.02)}
WILD = {"sgd": ("#ff7f0e", 0.09), "momentum": ("#00e5ff", 0.02)}
START = (-1.2, 1.0)


def scene(*groups: dict) -> Scene:
    runs = [
        zoo.RunConfig(name, {"lr": lr}, start=START, color=colour)
        for group in groups
        for name, (colour, lr) in group.items()
    ]
    return Scene(model="rosenbrock", runs=runs)


def pixels_of(image, colour: str) -> int:
    rgb = np.array([int(colour[k : k + 2], 16) for k in (1, 3, 5)])
    pixels = image_to_array(image).reshape(-1, 3)
    return int((pixels == rgb).all(axis=1).sum())


def stepped(make_window, the_scene: Scene, steps: int = 300):
    window = make_window(scene=the_scene, autoplay=False)
    window.resize(1300, 850)
    window.runset.step(steps)
    window.draw_now()
    return window


def calm_pixels(window) -> dict[str, int]:
    image = window.canvas.export_image()
    return {name: pixels_of(image, colour) for name, (colour, _) in CALM.items()}


@pytest.fixture
def pair(make_window, qtbot):
    """The calm runs alone, and the same runs beside two that diverge."""
    alone = stepped(make_window, scene(CALM))
    beside = stepped(make_window, scene(CALM, WILD))
    statuses = [beside.runset.status(run_id).state for run_id in beside.runset.configs]
    assert statuses == ["running", "running", "diverged", "diverged"]
    return alone, beside


def assert_same_trails(alone, beside) -> None:
    expected, found = calm_pixels(alone), calm_pixels(beside)
    for name in CALM:
        assert expected[name] > 40, f"{name} draws too little to compare: {expected}"
        # The diverging trails may cross the calm ones for a few pixels; nothing more.
        assert found[name] >= 0.9 * expected[name], (name, expected, found)


def test_diverging_runs_leave_the_other_trails_drawn(pair):
    alone, beside = pair
    assert_same_trails(alone, beside)
    assert (
        beside.canvas.heads.count() == 2
    )  # the calm runs' heads; the diverged ones are marked instead
    bounds = beside.canvas.trails.boundingRect()
    (x0, x1), (y0, y1) = beside.canvas.current_view()
    assert bounds.width() < 20 * (x1 - x0) and bounds.height() < 20 * (y1 - y0)


def test_diverged_runs_are_marked_where_they_left_with_the_step(pair):
    _, beside = pair
    assert len(beside.canvas.exits.positions()) == 2
    labels = beside.canvas.exits.shown_labels()
    # Both first steps follow the same gradient, so the two arrows may share one label.
    assert 1 <= len(labels) <= 2 and all(", diverged" in text for text in labels)
    steps = sorted(int(text.split()[3].rstrip(",")) for text in labels)
    stopped = sorted(beside.runset.status(r).step for r in list(beside.runset.configs)[2:])
    assert all(1 <= s <= min(stopped) for s in steps)
    (x0, x1), (y0, y1) = beside.canvas.current_view()
    for a, b in beside.canvas.exits.positions():
        assert x0 <= a <= x1 and y0 <= b <= y1  # on the canvas, at its edge


def test_zoom_pan_and_reset_keep_the_other_trails(pair, qtbot):
    alone, beside = pair
    for window in (alone, beside):
        window.canvas.view_box.setRange(xRange=(-1.5, 0.5), yRange=(-0.5, 1.5), padding=0)
        window.draw_now()
    assert_same_trails(alone, beside)
    for window in (alone, beside):
        window.canvas.view_box.setRange(xRange=(-40, 40), yRange=(-40, 40), padding=0)
        window.draw_now()
    found = calm_pixels(beside)
    assert all(count > 0 for count in found.values()), found
    for window in (alone, beside):
        window.fit_view()
        qtbot.waitUntil(lambda w=window: w.canvas.current_view()[0][1] < 10, timeout=3000)
        window.draw_now()
    assert_same_trails(alone, beside)


def test_an_exported_picture_keeps_the_other_trails(pair, tmp_path):
    from PySide6.QtGui import QImage

    alone, beside = pair
    counts = []
    for name, window in (("alone", alone), ("beside", beside)):
        path = tmp_path / f"{name}.png"
        window.export_png(path)
        counts.append(pixels_of(QImage(str(path)), CALM["adam"][0]))
    assert counts[0] > 40 and counts[1] >= 0.9 * counts[0]


def test_a_trail_leaving_the_box_ends_on_its_edge():
    box = (-1.0, 1.0, -1.0, 1.0)
    rows = np.array(
        [
            [[0, 0], [0.5, 0], [3, 0], [1e300, 1e300]],  # leaves to the right
            [[0, 0], [0, 0.5], [np.nan, np.nan], [0, 0.7]],  # NaN, then back inside
            [[0, 0], [0.2, 0.2], [0.4, 0.4], [0.5, 0.5]],  # stays inside
        ]
    )
    confined, inside = confine(rows, box)
    np.testing.assert_array_equal(confined[0, :3], [[0, 0], [0.5, 0], [1, 0]])
    assert np.isnan(confined[0, 3]).all()
    assert np.isnan(confined[1, 2]).all() and (confined[1, 3] == [0, 0.7]).all()
    np.testing.assert_array_equal(confined[2], rows[2])
    assert inside.tolist() == [
        [True, True, False, False],
        [True, True, False, True],
        [True, True, True, True],
    ]


def test_a_step_out_of_the_box_is_cut_where_it_crosses_the_nearer_edge():
    box = (0.0, 10.0, 0.0, 4.0)
    a = np.array([[5.0, 2.0], [5.0, 2.0], [5.0, 2.0]])
    b = np.array([[25.0, 6.0], [5.0, -8.0], [np.inf, 0.0]])
    crossing = clip_to_box(a, b, box)
    np.testing.assert_allclose(crossing[0], [10.0, 3.0])  # the right edge first (t = 1/4)
    np.testing.assert_allclose(crossing[1], [5.0, 0.0])
    assert np.isnan(crossing[2]).all()  # no direction to follow
