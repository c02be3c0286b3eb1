"""The app's commands — ``zoo app``, ``zoo lab`` and ``zoo render`` — added to the
command line through the ``optimizer_zoo.commands`` entry-point group.

Names (scene files, lessons) are checked before Qt starts, and a machine without a
display gets one line saying what to do instead of Qt's abort.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from zoo.cli import UsageError, add_run_arguments, command_parser

NO_DISPLAY = "no display: use `zoo render`, or set QT_QPA_PLATFORM=offscreen"


def require_display() -> None:
    """``UsageError`` when Qt would find no display to open a window on."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        raise UsageError(NO_DISPLAY)


def command_app(args: argparse.Namespace) -> int:
    from zoo.registry import load_builtins, load_deferred, missing
    from zoo.session import SessionError, load_scene, wanted_by_scene

    registry, later = None, None  # the window imports the plugins beyond the built-ins
    if args.scene is not None:
        # The scene is checked before the window opens; only a scene naming a record that
        # is not a built-in waits here for the other plugins.
        registry, later = load_builtins(), load_deferred
        try:
            if missing(registry, wanted_by_scene(load_scene(args.scene), registry)):
                registry.adopt(load_deferred())
                later = None
            load_scene(args.scene, registry)
        except SessionError as error:
            raise UsageError(str(error)) from None
    require_display()
    from zoo_gui.app import run_app

    return run_app(scene=args.scene, registry=registry, load_later=later)


def command_lab(args: argparse.Namespace) -> int:
    from zoo.session import SessionError
    from zoo.workspace import lesson_files, lesson_path

    if args.list:
        for path in lesson_files():
            print(path.stem)
        return 0
    if args.lesson is not None:
        try:
            lesson_path(args.lesson)
        except SessionError as error:
            raise UsageError(str(error)) from None
    require_display()
    from zoo_gui.app import run_app

    return run_app(lesson=args.lesson, lab=True)


def command_render(args: argparse.Namespace) -> int:
    from zoo_gui.render import render_command

    args.scene = args.model if args.model.lower().endswith(".json") else None
    if args.scene is not None:
        args.model = None
    return render_command(args)


def register(commands: Any) -> None:
    """Add ``app``, ``lab`` and ``render`` to the ``zoo`` sub-parsers ``commands``."""
    app = command_parser(
        commands,
        "app",
        "open the desktop app (the default)",
        "Open the desktop app, with a scene file if one is given.",
        ["zoo app", "zoo app run.json"],
    )
    app.add_argument("scene", nargs="?", help="a scene file (.json) to open")
    app.set_defaults(handler=command_app)

    lab = command_parser(
        commands,
        "lab",
        "open the app with the step-size lab",
        "Open the app with the step-size lab, at a lesson if one is given.",
        ["zoo lab", "zoo lab --list", "zoo lab 01_four_regimes"],
    )
    lab.add_argument("lesson", nargs="?", help="a lesson name or file (see --list)")
    lab.add_argument("--list", action="store_true", help="list the lessons")
    lab.set_defaults(handler=command_lab)

    render = command_parser(
        commands,
        "render",
        "render a scene or runs to PNG, GIF or MP4 without a display",
        "Render without a display. Give a scene file, or a model and optimizers with the "
        "same flags as `zoo run`.\n\n"
        "A PNG shows the runs after --steps steps. An animation has --frames frames; "
        "frame 0 is the start and each later frame advances every run by "
        "--steps-per-frame steps, so it ends at step (frames - 1) × steps-per-frame. "
        "Without --steps-per-frame it is --steps / (frames - 1), rounded up, so the "
        "animation ends at about --steps.",
        [
            "zoo render rosenbrock adam:lr=0.05 sgd:lr=0.001 --start -1.2,1 --out race.gif",
            "zoo render run.json --out run.png",
            "zoo render quadratic momentum --frames 60 --steps-per-frame 5 --out q.mp4",
        ],
    )
    render.add_argument("model", help="a scene file (.json) or a model name")
    add_run_arguments(
        render,
        require_model=False,
        steps=None,
        steps_help="steps per run (default: a scene file's step limit, else 600)",
    )
    render.add_argument("--frames", type=int, default=120, help="animation frames (default 120)")
    render.add_argument(
        "--steps-per-frame",
        type=int,
        default=None,
        help="steps between frames (default: --steps spread over the frames)",
    )
    render.add_argument("--size", default="800x600", help="image size WxH (default 800x600)")
    render.add_argument(
        "--out",
        required=True,
        metavar="FILE.png|.gif|.mp4",
        help="output file; the suffix chooses the format",
    )
    render.add_argument("--quiet", action="store_true", help="no progress bar")
    render.set_defaults(handler=command_render)
