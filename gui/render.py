"""``zoo render``: the app's canvas drawn without a display, to PNG, GIF or MP4.

Qt's offscreen platform is chosen unless a display platform was asked for, so this runs
on servers and in scripts.  The runs are stepped on this thread (there is no window to
keep answering), frame by frame, exactly as in the app.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

SUFFIXES = (".png", ".gif", ".mp4")
#: Steps of a model-and-optimizers render: enough for Adam's default rate to show motion.
DEFAULT_STEPS = 600


def parse_size(text: str) -> tuple[int, int]:
    from zoo.cli import UsageError

    width, sep, height = str(text).lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        size = (0, 0)
    if not sep or not (16 <= size[0] <= 8000 and 16 <= size[1] <= 8000):
        raise UsageError(f"--size: expected WxH between 16 and 8000 pixels, got {text!r}")
    return size


def scene_from_args(args: Any, registry: Any) -> Any:
    """The scene a ``zoo render`` command line describes (a file, or model + optimizers)."""
    from zoo.cli import UsageError, runs_from_args
    from zoo.session import Scene, SessionError, load_scene
    from zoo_gui.palette import run_colour

    if getattr(args, "scene", None):
        try:
            return load_scene(Path(args.scene), registry)
        except SessionError as error:
            raise UsageError(str(error)) from None
    if not getattr(args, "model", None):
        raise UsageError("give a scene file (.json) or a model and optimizers")
    _, model, settings, configs = runs_from_args(args, registry)
    runs = [
        replace(config, color=config.color or run_colour(i)) for i, config in enumerate(configs)
    ]
    return Scene(model=model, settings=dict(settings), seed=args.seed, runs=runs)


def registry_for(args: Any) -> Any:
    """The built-ins, and the other plugins only if the scene or runs of ``args`` name a
    record that is not a built-in (``zoo.registry.load_for``)."""
    from zoo.cli import registry_for_runs
    from zoo.registry import load_for
    from zoo.session import SessionError, load_scene, wanted_by_scene

    if not getattr(args, "scene", None):
        return registry_for_runs(args) if getattr(args, "model", None) else load_for(lambda _: [])

    def wanted(builtins: Any) -> list:
        try:
            return wanted_by_scene(load_scene(Path(args.scene)), builtins)
        except SessionError:
            return []  # ``scene_from_args`` says why

    return load_for(wanted)


@contextlib.contextmanager
def _interrupt_between_frames() -> Any:
    """Ctrl-C is noted and acted on between frames: raised inside Qt's painting, it
    would be swallowed by pyqtgraph and the render would go on."""
    interrupted = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield interrupted
        return
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.set())
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)


def frame_plan(frames: int, steps: int, per_frame: int | None) -> int:
    """Steps between frames: ``per_frame`` if given, else ``steps`` spread over the frames
    (frame 0 is the start, so the last frame is at step (frames - 1) × per_frame)."""
    if per_frame is not None:
        return per_frame
    return max(1, -(-steps // max(1, frames - 1)))


def render_command(args: Any) -> int:
    """Render the scene of ``args`` to ``args.out`` (suffix .png, .gif or .mp4)."""
    from zoo.cli import UsageError, writable

    out = writable(args.out, SUFFIXES)
    width, height = parse_size(getattr(args, "size", "800x600"))
    frames = int(getattr(args, "frames", 120))
    steps = getattr(args, "steps", None)
    given = getattr(args, "steps_per_frame", None)
    if frames < 1 or (given is not None and given < 1) or (steps is not None and steps < 0):
        raise UsageError("--frames and --steps-per-frame must be at least 1, --steps 0 or more")
    quiet = bool(getattr(args, "quiet", False))
    with _interrupt_between_frames() as interrupted:
        return _render(args, out, (width, height), frames, steps, given, quiet, interrupted)


def _render(args, out, size, frames, steps, given, quiet, interrupted) -> int:
    from zoo import limits, progress
    from zoo.atomic import atomic_path
    from zoo.cli import UsageError

    suffix = out.suffix.lower()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    registry = registry_for(args)
    scene = scene_from_args(args, registry)
    if steps is None:  # a scene file replays the steps it was saved with
        steps = scene.playback["step_limit"] if getattr(args, "scene", None) else DEFAULT_STEPS
    per_frame = frame_plan(frames, steps, given)
    last = steps if suffix == ".png" else (frames - 1) * per_frame
    limits.check_frames(frames)
    limits.check_runs(max(1, len(scene.runs)), last, 0, full_history=False)
    from zoo_gui.app import ensure_application

    ensure_application()
    renderer = Renderer(scene, registry, *size)
    try:
        if interrupted.is_set():
            raise KeyboardInterrupt
        if suffix == ".png":
            renderer.advance(steps)
            if interrupted.is_set():
                raise KeyboardInterrupt
            with atomic_path(out) as temporary:
                if not renderer.image().save(str(temporary)):
                    raise UsageError(f"could not write {out}")
            print(f"wrote {out} (step {steps})")
        else:
            from zoo_gui.export import write_animation

            with progress.bar(frames, f"rendering {out.name}", quiet, unit="frame") as bar:

                def advance(_: int) -> bool:
                    if interrupted.is_set():
                        raise KeyboardInterrupt
                    bar.update(1)
                    return True

                colours = [c.color for c in renderer.window.runset.configs.values() if c.color]
                count = write_animation(
                    out,
                    renderer.frames(frames, per_frame),
                    frames,
                    advance,
                    keep_colours=colours,
                )
            print(
                f"wrote {out} ({count} frames, {per_frame} steps per frame, "
                f"steps 0 to {(count - 1) * per_frame})"
            )
    finally:
        renderer.close()
    return 0


class Renderer:
    """A window kept off screen whose canvas is drawn at a fixed size, frame by frame."""

    def __init__(self, scene: Any, registry: Any, width: int, height: int) -> None:
        from zoo.cli import UsageError
        from zoo_gui.window import MainWindow

        self.window = MainWindow(registry, autoplay=False)
        self.window.timer.stop()
        loaded = self.window.load_scene(scene)
        if loaded is None:  # its formula compiles on a worker thread
            loaded = self.window.gate.wait()
        if not loaded:
            self.window.shutdown()
            from zoo.session import SessionError

            try:  # again without the window, for the exception: a plugin's sets the status
                scene.build(registry)
            except SessionError as error:
                raise UsageError(str(error)) from error
            raise UsageError(self.window.last_message or "the scene cannot be built")
        self.canvas = self.window.canvas
        self.canvas.setParent(None)
        self.canvas.resize(width, height)
        self.canvas.show()
        self.canvas.render_landscape_now()
        self.window.workspace.select(None)

    def advance(self, steps: int) -> None:
        self.window.workspace.runset.step(steps)

    def image(self) -> Any:
        self.window.draw_now()
        return self.canvas.grab().toImage()

    def frames(self, count: int, per_frame: int) -> Any:
        from zoo_gui.export import stamp_step

        for index in range(count):
            if index:
                self.advance(per_frame)
            yield stamp_step(self.image(), index * per_frame)

    def close(self) -> None:
        self.window.shutdown()
        self.canvas.close()
        self.window.close()
