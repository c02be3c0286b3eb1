"""Writing pictures, animations and trajectories to files.

imageio is imported only here and only when an animation is written, so start-up does
not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui

ANIMATION_SUFFIXES = (".gif", ".mp4")
FRAMES_PER_SECOND = 30


def image_to_array(image: QtGui.QImage) -> np.ndarray:
    """An RGB ``(H, W, 3)`` uint8 copy of ``image``."""
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=height * stride)
    return data.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def stamp_step(image: QtGui.QImage, step: int) -> QtGui.QImage:
    """Write "step k" at the top of a frame: the viewer sees the clock, and no two frames
    are alike (GIF writers merge identical frames, which would change the frame count)."""
    painter = QtGui.QPainter(image)
    font = painter.font()
    font.setPixelSize(max(11, image.height() // 40))
    painter.setFont(font)
    painter.setPen(QtGui.QColor("#e8edf2"))
    rect = image.rect().adjusted(0, 4, 0, 0)
    painter.drawText(
        rect,
        QtCore.Qt.AlignmentFlag.AlignHCenter | QtCore.Qt.AlignmentFlag.AlignTop,
        f"step {step}",
    )
    painter.end()
    return image


def write_animation(
    path: str | Path,
    frames: Iterable[QtGui.QImage],
    count: int,
    progress: Callable[[int], bool] | None = None,
    fps: int = FRAMES_PER_SECOND,
) -> int:
    """Write ``frames`` as a GIF or MP4 (by suffix); ``progress(i)`` returning False stops.

    Returns the number of frames written.
    """
    from zoo.atomic import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise ValueError(f"unknown animation format {suffix!r}; use .gif or .mp4")
    with atomic_path(path) as temporary:
        return _write_animation(temporary, frames, count, progress, fps)


def _write_animation(path: Path, frames, count, progress, fps) -> int:
    import imageio.v2 as imageio

    suffix = path.suffix.lower()
    if suffix == ".gif":
        writer = imageio.get_writer(path, mode="I", duration=1000 / fps, loop=0)
    else:
        writer = imageio.get_writer(path, fps=fps, macro_block_size=2, quality=8)
    written = 0
    try:
        for index, image in enumerate(frames):
            if index >= count:
                break
            array = image_to_array(image)
            if suffix == ".mp4":  # the video encoder needs even sizes
                array = array[: array.shape[0] // 2 * 2, : array.shape[1] // 2 * 2]
            writer.append_data(array)
            written += 1
            if progress is not None and not progress(written):
                break
    finally:
        writer.close()
    return written


def write_csv(path: str | Path, rows: Iterable[tuple[str, str, Any]]) -> None:
    """Trajectories as CSV: ``rows`` are (label, optimizer, Trajectory); the core writer."""
    from zoo.trajectories import write_trajectories

    write_trajectories(path, rows)
