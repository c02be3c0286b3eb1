"""``zoo render``: the app's canvas drawn without a display, to PNG, GIF or MP4.

Qt's offscreen platform is chosen unless a display platform was asked for, so this runs
on servers and in scripts.  The runs are stepped on this thread (there is no window to
keep answering), frame by frame, exactly as in the app.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

SUFFIXES = (".png", ".gif", ".mp4")


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
    from gui.palette import run_colour
    from zoo.cli import UsageError, runs_from_args
    from zoo.session import Scene, SessionError, load_scene

    if getattr(args, "scene", None):
        try:
            return load_scene(Path(args.scene), registry)
        except SessionError as error:
            raise UsageError(str(error)) from None
    if not getattr(args, "model", None):
        raise UsageError("give a scene file (.json) or a model and optimizers")
    if not args.optimizers:
        raise UsageError("name at least one optimizer, e.g. zoo render rosenbrock adam:lr=0.01")
    _, model, settings, configs = runs_from_args(args, registry)
    runs = [
        replace(config, color=config.color or run_colour(i)) for i, config in enumerate(configs)
    ]
    return Scene(model=model, settings=dict(settings), seed=args.seed, runs=runs)


def render_command(args: Any) -> int:
    """Render the scene of ``args`` to ``args.out`` (suffix .png, .gif or .mp4)."""
    from zoo.cli import UsageError

    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"--out: expected a .png, .gif or .mp4 file, got {out.name!r}")
    width, height = parse_size(getattr(args, "size", "800x600"))
    frames = int(getattr(args, "frames", 120))
    per_frame = int(getattr(args, "steps_per_frame", 1))
    if frames < 1 or per_frame < 1:
        raise UsageError("--frames and --steps-per-frame must be at least 1")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from zoo import load_registry

    registry = load_registry()
    scene = scene_from_args(args, registry)
    from gui.app import ensure_application

    ensure_application()
    renderer = Renderer(scene, registry, width, height)
    try:
        if suffix == ".png":
            renderer.advance(int(getattr(args, "steps", 200)))
            if not renderer.image().save(str(out)):
                raise UsageError(f"could not write {out}")
            print(f"wrote {out}")
        else:
            from gui.export import write_animation

            count = write_animation(out, renderer.frames(frames, per_frame), frames)
            print(f"wrote {out} ({count} frames)")
    finally:
        renderer.close()
    return 0


class Renderer:
    """A window kept off screen whose canvas is drawn at a fixed size, frame by frame."""

    def __init__(self, scene: Any, registry: Any, width: int, height: int) -> None:
        from gui.window import MainWindow
        from zoo.cli import UsageError

        self.window = MainWindow(registry, autoplay=False)
        self.window.timer.stop()
        if not self.window.load_scene(scene):
            self.window.shutdown()
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
        from gui.export import stamp_step

        for index in range(count):
            if index:
                self.advance(per_frame)
            yield stamp_step(self.image(), index * per_frame)

    def close(self) -> None:
        self.window.shutdown()
        self.canvas.close()
        self.window.close()
