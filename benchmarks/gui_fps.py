"""Frames per second of the window as a user meets it.

For each N, a scene file of N runs (four optimizers on an ill-conditioned quadratic, one
step per frame) is written and opened the way ``zoo app scene.json`` opens it: the
default window size and layout (runs table, model tab, plots and status bar all shown),
the app's own frame timer and event loop.  After a warm-up, frames are counted for a
few seconds; the main thread's CPU time is divided by them.  Each N runs in a fresh
interpreter with its own settings folder, so no saved layout or earlier run is in play.
Then a 256-run sweep is made from the Runs table's selected run, timed from the call to
the first frame that draws all of its runs.

    python benchmarks/gui_fps.py [--runs 16 256 1024 4096] [--seconds 5]

Prints one line per N: ``N runs: F frames/s, M ms main thread per frame, S steps/s``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OPTIMIZERS = (
    ("sgd", {"lr": 0.02}),
    ("momentum", {"lr": 0.005, "momentum": 0.9}),
    ("adam", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.005}),
)


def write_scene(count: int, path: Path) -> None:
    import numpy as np

    from zoo import RunConfig
    from zoo.session import Scene, save_scene
    from zoo_gui.palette import run_colour

    rng = np.random.default_rng(0)
    runs = []
    for index in range(count):
        name, hyper = OPTIMIZERS[index % len(OPTIMIZERS)]
        start = tuple(float(v) for v in rng.uniform(-1.8, 1.8, size=2))
        runs.append(RunConfig(name, hyper, start=start, color=run_colour(index)))
    scene = Scene(
        "quadratic",
        {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0},
        runs=runs,
        playback={"steps_per_frame": 1, "step_limit": 10**6},
    )
    save_scene(scene, path)


def measure(scene_path: str, seconds: float, warm_up: float) -> dict:
    """In this interpreter: open the scene in the default window and count frames."""
    from PySide6 import QtCore

    from zoo import heap
    from zoo_gui.app import ensure_application
    from zoo_gui.window import MainWindow

    heap.steady()
    app = ensure_application()
    window = MainWindow()
    window.resize(1500, 920)  # as ``zoo app`` opens it
    window.show()
    opened = time.perf_counter()
    assert window.open_scene_file(scene_path)
    open_seconds = time.perf_counter() - opened
    assert window.runs_panel.isVisible() and window.plots.isVisible()
    result: dict = {"runs": len(window.runset.configs), "open_s": open_seconds}
    frames = []

    window.stepped.connect(lambda: frames.append(time.perf_counter()))

    def start() -> None:
        frames.clear()
        result["cpu0"] = time.thread_time()
        result["steps0"] = sum(window.runset.steps_taken(r) for r in window.runset.configs)
        result["t0"] = time.perf_counter()
        QtCore.QTimer.singleShot(int(seconds * 1000), stop)

    def stop() -> None:
        elapsed = time.perf_counter() - result["t0"]
        cpu = time.thread_time() - result["cpu0"]
        steps = sum(window.runset.steps_taken(r) for r in window.runset.configs)
        count = len(frames)
        result.update(
            fps=count / elapsed,
            main_ms=1000 * cpu / max(count, 1),
            steps_per_s=(steps - result["steps0"]) / elapsed,
        )
        sweep()

    def sweep() -> None:
        """A 256-run sweep from the selected run, until a frame draws all of them."""
        window.pause()
        window.stepper.idle(timeout=30)
        run_id = next(iter(window.runset.configs))
        window.select_run(run_id)
        before = len(window.runset.configs)
        begin = time.perf_counter()
        values = [10 ** (-4 + 3 * k / 255) for k in range(256)]
        window.sweep(run_id, "lr", values)
        window.play()

        def drawn() -> None:
            if window.drawing.frame(window.runset).run_count() >= before + 255:
                result["sweep_s"] = time.perf_counter() - begin
                window.stepped.disconnect(drawn)
                QtCore.QTimer.singleShot(0, app.quit)

        window.stepped.connect(drawn)

    QtCore.QTimer.singleShot(int(warm_up * 1000), start)
    app.exec()
    window.shutdown()
    for key in ("cpu0", "steps0", "t0"):
        result.pop(key, None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[16, 256, 1024, 4096])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warm-up", type=float, default=2.0)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a scene file: measure it here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.seconds, args.warm_up)))
        return
    with tempfile.TemporaryDirectory() as folder:
        for count in args.runs:
            path = Path(folder) / f"scene-{count}.json"
            write_scene(count, path)
            env = dict(
                os.environ,
                QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                XDG_CONFIG_HOME=str(Path(folder) / f"config-{count}"),  # default layout
                HOME=str(Path(folder) / f"home-{count}"),
            )
            command = [sys.executable, __file__, "--one", str(path)]
            command += ["--seconds", str(args.seconds), "--warm-up", str(args.warm_up)]
            output = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            r = json.loads(output.stdout.strip().splitlines()[-1])
            print(
                f"{r['runs']:5d} runs: {r['fps']:5.1f} frames/s, {r['main_ms']:5.1f} ms main "
                f"thread per frame, {r['steps_per_s']:9.0f} steps/s; opened in "
                f"{r['open_s']:.2f} s; a 256-run sweep drawn in {r['sweep_s']:.2f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
