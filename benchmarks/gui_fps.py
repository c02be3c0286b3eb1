"""Frames per second of the whole window, offscreen: canvas, stepping and (optionally) plots.

The canvas is 800×600 with a 256² landscape; K runs each add one step per frame to
500-point trails.  Each frame is: draw what the runs hold, start the next steps, paint
the window, and wait for the steps to finish (so every frame really adds a step).
Also prints the cold start: a fresh interpreter to the first drawn frame.

    python benchmarks/gui_fps.py [--frames 200]

Prints ``fps[K runs] = value frames/s`` and ``fps[K runs, loss plot] = value frames/s``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TRAIL = 500
OPTIMIZERS = (
    ("sgd", {"lr": 0.002}),
    ("momentum", {"lr": 0.0005, "momentum": 0.9}),
    ("adam", {"lr": 0.002}),
    ("rmsprop", {"lr": 0.001}),
)

COLD_START = """
import time
begin = time.perf_counter()
from gui.app import ensure_application
app = ensure_application()
from gui.window import MainWindow
window = MainWindow()
window.resize(1400, 900)
window.show()
done = []
window.stepped.connect(lambda: done or done.append(time.perf_counter() - begin))
while not done:
    app.processEvents()
print(done[0])
window.shutdown()
"""


def scene(count: int):
    import numpy as np

    from gui.palette import run_colour
    from zoo import RunConfig
    from zoo.session import Scene

    rng = np.random.default_rng(0)
    runs = []
    for index in range(count):
        name, hyper = OPTIMIZERS[index % len(OPTIMIZERS)]
        start = tuple(float(v) for v in rng.uniform(-1.8, 1.8, size=2))
        runs.append(
            RunConfig(name, hyper, start=start, color=run_colour(index), label=f"{name} {index}")
        )
    return Scene(
        "quadratic",
        {"lambda1": 1.0, "lambda2": 10.0, "angle": 30.0},
        runs=runs,
        playback={"steps_per_frame": 1, "step_limit": 10**6},
    )


def measure(app, registry, count: int, frames: int, with_plot: bool) -> float:
    from gui.window import MainWindow

    window = MainWindow(registry, scene(count), autoplay=False)
    window.timer.stop()
    window.side.hide()
    window.plots.setVisible(with_plot)
    window.canvas.setFixedSize(800, 600)
    window.plots.setFixedSize(800, 220)
    window.show()
    app.processEvents()
    window.canvas.render_landscape_now()
    assert window.canvas.grid is not None and window.canvas.grid.loss.shape == (256, 256)
    window.drawing.trail_steps = TRAIL
    window.runset.step(TRAIL)  # trails start full
    window.play()
    for _ in range(10):  # warm up
        one_frame(app, window)
    begin = time.perf_counter()
    for _ in range(frames):
        one_frame(app, window)
    elapsed = time.perf_counter() - begin
    window.shutdown()
    window.close()
    app.processEvents()
    return frames / elapsed


def one_frame(app, window) -> None:
    window.frame()
    app.processEvents()  # paints what the frame changed, as the event loop does in the app
    window.stepper.idle()


def cold_start() -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", COLD_START], env=env, capture_output=True, text=True, check=True
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    from gui.app import ensure_application
    from zoo import load_registry

    app = ensure_application()
    registry = load_registry(local=False)
    for with_plot in (False, True):
        for count in (1, 16, 64, 256):
            fps = measure(app, registry, count, args.frames, with_plot)
            name = f"{count} runs, loss plot" if with_plot else f"{count} runs"
            print(f"fps[{name}] = {fps:.0f} frames/s", flush=True)
    print(f"cold_start = {cold_start():.2f} s")


if __name__ == "__main__":
    main()
