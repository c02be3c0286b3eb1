"""The animation export dialog: frames, steps per frame, picture size, and whether the
step plots are part of the picture."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6 import QtWidgets

from zoo_gui.forms import spin_box


@dataclass(frozen=True)
class AnimationChoice:
    frames: int
    steps_per_frame: int
    width: int
    height: int
    with_plots: bool


class AnimationDialog(QtWidgets.QDialog):
    """Asks how to export; ``choice()`` is what was set."""

    def __init__(
        self,
        steps_per_frame: int,
        canvas_size: tuple[int, int],
        picture_size: tuple[int, int],
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export animation")
        self._sizes = {False: canvas_size, True: picture_size}
        form = QtWidgets.QFormLayout(self)
        self.frames = spin_box(
            2, 10_000, 120, "Frames in the file; the runs replay from their starts"
        )
        form.addRow("frames", self.frames)
        self.steps = spin_box(1, 1000, steps_per_frame, "Steps each run takes between frames")
        form.addRow("steps per frame", self.steps)
        self.with_plots = QtWidgets.QCheckBox("include the step plots under the canvas")
        form.addRow(self.with_plots)
        self.width = spin_box(64, 4096, canvas_size[0], "Width of the file in pixels")
        self.height = spin_box(64, 4096, canvas_size[1], "Height of the file in pixels")
        size = QtWidgets.QHBoxLayout()
        size.addWidget(self.width)
        size.addWidget(QtWidgets.QLabel("×"))
        size.addWidget(self.height)
        self.scale = QtWidgets.QComboBox()
        self.scale.addItems(["as shown", "½", "2×"])
        self.scale.setToolTip("Set the size from the picture on screen")
        self.scale.currentIndexChanged.connect(lambda _: self._rescale())
        size.addWidget(self.scale)
        form.addRow("size", size)
        self.with_plots.toggled.connect(lambda _: self._rescale())
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _rescale(self) -> None:
        factor = (1.0, 0.5, 2.0)[self.scale.currentIndex()]
        width, height = self._sizes[self.with_plots.isChecked()]
        self.width.setValue(round(width * factor))
        self.height.setValue(round(height * factor))

    def choice(self) -> AnimationChoice:
        return AnimationChoice(
            self.frames.value(),
            self.steps.value(),
            self.width.value(),
            self.height.value(),
            self.with_plots.isChecked(),
        )
