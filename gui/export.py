"""Writing pictures, animations and trajectories to files.

imageio and Pillow are imported only here and only when an animation is written, so
start-up does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui

ANIMATION_SUFFIXES = (".gif", ".mp4")
FRAMES_PER_SECOND = 30
#: A GIF frame has 256 colours; at most this many are reserved for the runs' own.
RESERVED_COLOURS = 64


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
    keep_colours: Sequence[str] = (),
) -> int:
    """Write ``frames`` as a GIF or MP4 (by suffix); ``progress(i)`` returning False stops.

    ``keep_colours`` (``"#rrggbb"``, the runs' colours) survive a GIF's 256-colour palette
    exactly.  Returns the number of frames written.
    """
    from zoo.atomic import atomic_path

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise ValueError(f"unknown animation format {suffix!r}; use .gif or .mp4")
    with atomic_path(path) as temporary:
        if suffix == ".gif":
            return _write_gif(temporary, frames, count, progress, fps, keep_colours)
        return _write_mp4(temporary, frames, count, progress, fps)


def _frames(frames: Iterable[QtGui.QImage], count: int, progress) -> Iterable[np.ndarray]:
    """RGB arrays of the first ``count`` frames, stopping when ``progress`` says so."""
    for index, image in enumerate(frames):
        if index >= count:
            return
        yield image_to_array(image)
        if progress is not None and not progress(index + 1):
            return


def _write_mp4(path: Path, frames, count: int, progress, fps: int) -> int:
    import imageio.v2 as imageio

    written = 0
    with imageio.get_writer(path, format="FFMPEG", fps=fps, macro_block_size=2, quality=8) as out:
        for array in _frames(frames, count, progress):
            # The video encoder needs even sizes.
            out.append_data(array[: array.shape[0] // 2 * 2, : array.shape[1] // 2 * 2])
            written += 1
    return written


def _write_gif(path: Path, frames, count: int, progress, fps: int, keep: Sequence[str]) -> int:
    keep_rgb = list(dict.fromkeys(_rgb(colour) for colour in keep))[:RESERVED_COLOURS]
    images, palette = [], None
    for array in _frames(frames, count, progress):
        if palette is None:  # one palette for every frame, so still parts stay still
            palette = fit_palette(array, keep_rgb)
        images.append(quantise(array, palette))
    if not images:
        raise ValueError("no frames to write")
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )
    return len(images)


def fit_palette(array: np.ndarray, keep: Sequence[tuple[int, int, int]] = ()) -> Any:
    """A 256-colour palette for pictures like the RGB ``array``: the ``keep`` colours
    are entries of their own, the rest are fitted to the picture (median cut)."""
    from PIL import Image

    fitted = Image.fromarray(array, "RGB").quantize(
        colors=256 - len(keep), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    flat = [channel for colour in keep for channel in colour]
    flat += fitted.getpalette()[: 3 * (256 - len(keep))]
    palette = Image.new("P", (1, 1))
    palette.putpalette(flat + [0] * (768 - len(flat)))
    return palette


def quantise(array: np.ndarray, palette: Any) -> Any:
    """The RGB ``array`` as a palette image, every pixel at its nearest entry (so a
    reserved colour stays exactly itself)."""
    from PIL import Image

    return Image.fromarray(array, "RGB").quantize(palette=palette, dither=Image.Dither.NONE)


def _rgb(colour: str) -> tuple[int, int, int]:
    qcolour = QtGui.QColor(colour)
    return qcolour.red(), qcolour.green(), qcolour.blue()


def write_csv(path: str | Path, rows: Iterable[tuple[str, str, Any]]) -> None:
    """Trajectories as CSV: ``rows`` are (label, optimizer, Trajectory); the core writer."""
    from zoo.trajectories import write_trajectories

    write_trajectories(path, rows)
