"""The lab's log axes and ruler marks stay legible at every width."""

from __future__ import annotations

import itertools
import math

import pytest
from PySide6 import QtGui

import zoo
from zoo_gui.lab.style import LogAxis, log_label


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-5, "1e-5"),
        (math.log10(2e-3), "0.002"),
        (math.log10(0.05), "0.05"),
        (0, "1"),
        (math.log10(50), "50"),
        (4, "1e4"),
        (math.log10(2e6), "2e6"),
        (math.log10(5e-4), "5e-4"),
    ],
)
def test_log_labels_are_compact(value, text):
    assert log_label(value) == text


@pytest.mark.parametrize("span", [(-6.0, 1.0), (-3.0, 0.0), (-1.5, 0.5), (-2.2, -1.7)])
@pytest.mark.parametrize("size", [120, 240, 400, 700, 1200])
def test_log_axis_labels_never_touch_and_read_1_2_5(qapp, span, size):
    axis = LogAxis("bottom")
    (_, labelled), (_, minor) = axis.ticks_for(*span, size)
    assert labelled, "at least one label"
    metrics = QtGui.QFontMetricsF(axis.font())
    per_decade = size / (span[1] - span[0])
    for a, b in itertools.pairwise(labelled):
        half_widths = (
            metrics.horizontalAdvance(log_label(a)) + metrics.horizontalAdvance(log_label(b))
        ) / 2
        assert (b - a) * per_decade >= half_widths  # the labels' boxes do not meet
    for value in labelled:
        mantissa = round(10 ** (value - math.floor(value + 1e-9)))
        assert mantissa in (1, 2, 3, 5)
    assert not set(labelled) & set(minor)


def test_a_wide_axis_labels_1_2_5_and_a_narrow_one_fewer(qapp):
    axis = LogAxis("bottom")
    wide = axis.ticks_for(-3.0, 0.0, 1200)[0][1]
    narrow = axis.ticks_for(-6.0, 1.0, 150)[0][1]
    assert [log_label(v) for v in wide] == [
        "0.001",
        "0.002",
        "0.005",
        "0.01",
        "0.02",
        "0.05",
        "0.1",
        "0.2",
        "0.5",
        "1",
    ]
    assert len(narrow) < 8


def test_ruler_mark_labels_never_overlap(qtbot, registry):
    from tests.gui.test_lab import StandInWindow  # the lab's stand-in main window
    from zoo_gui.lab import show_lab

    # λ = 1 and 1.2: 1/λ_max, 2/(λ_min+λ_max), 2/λ_max, 1/λ_min and 2/λ_min crowd together.
    window = StandInWindow(registry, "quadratic", {"lambda1": 1.0, "lambda2": 1.2})
    qtbot.addWidget(window)
    window.select(window.add_run(zoo.RunConfig("sgd", {"lr": 0.05}, start=(-1.5, 1.0))))
    window.show()
    lab = show_lab(window)
    shown = {}
    for width, height in ((700, 600), (1000, 900), (1600, 1400)):
        window.resize(width, height)
        lab.ruler.plot.setMinimumHeight(height // 4)
        qtbot.waitUntil(lambda lab=lab: len(lab.ruler.marks) == 5)
        for _ in range(3):  # let the view apply its new range to the labels
            qtbot.wait(20)
        rects = lab.ruler.mark_label_rects()
        shown[width] = len(rects)
        for first, second in itertools.combinations(rects, 2):
            assert not first.intersects(second)
        view = lab.ruler.plot.getPlotItem().vb.sceneBoundingRect()
        for rect in rects:
            assert view.contains(rect.center())
    assert shown[1600] == 5  # with room, every mark is labelled
    lab.timer.stop()
    lab.ruler.commit_timer.stop()
