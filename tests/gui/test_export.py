"""Animations keep what is on screen: every run's colour, and the old file on failure."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest
from PySide6 import QtGui

from zoo_gui.export import write_animation


def _distance_to(frame: np.ndarray, colour: str) -> float:
    rgb = np.array(QtGui.QColor(colour).getRgb()[:3])
    pixels = frame[..., :3].reshape(-1, 3).astype(int)
    return float(np.sqrt(((pixels - rgb) ** 2).sum(axis=1)).min())


def test_gif_frames_contain_every_run_colour(main_window, tmp_path):
    window = main_window
    window.pause()
    colours = [config.color for config in window.runset.configs.values()]
    assert len(set(colours)) == 4
    path = tmp_path / "race.gif"
    assert window.export_animation(path, frames=6, steps_per_frame=5) == 6
    frames = iio.imread(path, index=None)
    assert frames.shape[0] == 6
    for colour in colours:
        assert _distance_to(frames[-1], colour) < 3, colour
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_failed_animation_leaves_the_old_file_untouched(qapp, tmp_path):
    path = tmp_path / "race.gif"
    path.write_bytes(b"old animation")

    def frames():
        image = QtGui.QImage(40, 30, QtGui.QImage.Format.Format_RGB32)
        image.fill(QtGui.QColor("#ff7f0e"))
        yield image
        raise RuntimeError("the renderer broke")

    with pytest.raises(RuntimeError, match="renderer broke"):
        write_animation(path, frames(), 5)
    assert path.read_bytes() == b"old animation"
    assert list(tmp_path.iterdir()) == [path]
