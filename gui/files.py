"""Scenes, pictures, animations and trajectories to and from files (the File menu)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PySide6 import QtCore, QtWidgets

from zoo.atomic import atomic_path
from zoo.session import SessionError, load_scene, save_scene
from zoo_gui.export_dialog import AnimationDialog


class FilesMixin:
    """File actions of ``MainWindow``; every error becomes a message, never a crash."""

    def open_scene_file(self, path: str | Path) -> bool | None:
        """Open a scene file once its formula is compiled; returns as ``load_scene``."""
        try:
            scene = load_scene(Path(path), self.registry)
        except SessionError as error:
            if self.wait_for_plugins(lambda: self.open_scene_file(path), Path(path).name):
                return None
            self.report(f"Scene not opened: {error}")
            return False
        return self.gate.then(
            scene.model,
            scene.settings,
            lambda: self._load_now(scene, "Scene not opened: ", lambda: self.remember_scene(path)),
        )

    def save_scene_file(self, path: str | Path) -> None:
        save_scene(self.workspace.scene(), path)
        self.remember_scene(path)
        self.statusBar().showMessage(f"Saved {path}", 4000)

    def remember_scene(self, path: str | Path) -> None:
        """Hook for the recent-scenes list (the window keeps it in its settings)."""

    def open_scene_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open scene", "", "Scenes (*.json)")
        if path:
            self.open_scene_file(path)

    def save_scene_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Save scene", "scene.json", "Scenes (*.json)"
        )
        if path:
            self._try_file(lambda: self.save_scene_file(path), path)

    @contextmanager
    def _for_export(self) -> Iterator[None]:
        """The picture without the first-run hint laid over it."""
        shown = self.hint.isVisible()
        self.hint.hide()
        try:
            yield
        finally:
            self.hint.setVisible(shown)

    def export_png(self, path: str | Path) -> None:
        with atomic_path(path) as temporary, self._for_export():
            if not self.canvas.grab().save(str(temporary), "PNG"):
                raise OSError(f"could not write {path}")

    def export_png_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export picture", "zoo.png", "PNG (*.png)"
        )
        if path:
            self._try_file(lambda: self.export_png(path), path)

    def export_csv(self, path: str | Path) -> int:
        """Write every run's kept points; returns how many runs had a thinned history."""
        from zoo_gui.export import write_csv

        self._quiesce()
        ws = self.workspace
        rows = [
            (ws.label(run_id), config.optimizer, ws.runset.trajectory(run_id))
            for run_id, config in ws.runset.configs.items()
        ]
        write_csv(path, rows)
        return sum(trajectory.thinned for _, _, trajectory in rows)

    def export_csv_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export trajectories", "trajectories.csv", "CSV (*.csv)"
        )
        if not path:
            return
        thinned = self._try_file(lambda: self.export_csv(path), path)
        if thinned:
            self.statusBar().showMessage(
                f"Wrote {path}: {thinned} run(s) thinned (see the step column); "
                "Runs → Keep every step keeps them all",
                8000,
            )

    def export_animation(
        self,
        path: str | Path,
        frames: int,
        steps_per_frame: int = 1,
        progress: Any = None,
        size: tuple[int, int] | None = None,
        with_plots: bool = False,
    ) -> int:
        """Replay the runs from their starts into a GIF/MP4 of ``frames`` frames, of the
        canvas (with the step plots under it if asked) scaled to ``size``; the runs are
        put back where they were afterwards.  Returns the frames written."""
        from zoo_gui.export import stamp_step, write_animation

        self.workspace.pause()
        if not self._quiesce():
            return 0
        runset = self.workspace.runset
        saved = runset.snapshot()
        runset.reset()
        self.drawing.forget()

        shown = self.picture if with_plots else self.canvas

        def images():
            for index in range(frames):
                if index:
                    runset.step(steps_per_frame)
                self.force_redraw()
                self.draw_now()
                if with_plots:
                    self.drawing.want_series = True
                    self.plots.draw(self.drawing.frame(runset).pictures)
                image = shown.grab().toImage()
                if size is not None and (image.width(), image.height()) != tuple(size):
                    image = image.scaled(
                        *size,
                        QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                        QtCore.Qt.TransformationMode.SmoothTransformation,
                    )
                yield stamp_step(image, index * steps_per_frame)

        try:
            colours = [config.color for config in runset.configs.values() if config.color]
            with self._for_export():
                return write_animation(path, images(), frames, progress, keep_colours=colours)
        finally:
            runset.restore(saved)
            self.drawing.forget()
            self.force_redraw()

    def export_animation_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self, "Export animation", "zoo.gif", "GIF (*.gif);;MP4 video (*.mp4)"
        )
        if not path:
            return
        ask = AnimationDialog(
            self.workspace.steps_per_frame,
            (self.canvas.width(), self.canvas.height()),
            (self.picture.width(), self.picture.height()),
            self,
        )
        if ask.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        choice = ask.choice()
        frames = choice.frames
        dialog = QtWidgets.QProgressDialog("Writing the animation…", "Cancel", 0, frames, self)
        dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)

        def progress(done: int) -> bool:
            dialog.setValue(done)
            QtWidgets.QApplication.processEvents()
            return not dialog.wasCanceled()

        self._try_file(
            lambda: self.export_animation(
                path,
                frames,
                choice.steps_per_frame,
                progress,
                size=(choice.width, choice.height),
                with_plots=choice.with_plots,
            ),
            path,
        )
        dialog.close()

    def _try_file(self, action: Callable[[], Any], path: str) -> Any:
        """``action()``'s result, or None when it could not write ``path`` (reported)."""
        try:
            result = action()
        except (OSError, ValueError) as error:
            self.report(f"Could not write {path}: {error}")
            return None
        self.statusBar().showMessage(f"Wrote {path}", 4000)
        return result
