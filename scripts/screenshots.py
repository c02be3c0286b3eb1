"""Retake the README's screenshots from the running app.

Needs a display of at least 1600×1000 (for example ``Xvfb :99 -screen 0 1600x1000x24``
and ``DISPLAY=:99``); the window is opened at 1500×920 in its default layout, with
window settings in a temporary folder so no saved layout is used, and a home folder of
``/home/you`` for the plugin folder the Plugins tab shows.

    python scripts/screenshots.py [--out assets/screenshots]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
from pathlib import Path

SIZE = (1500, 920)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("assets/screenshots"))
    args = parser.parse_args()
    # A home folder as a reader would have one (the plugins tab shows its plugin folder).
    os.environ["HOME"] = "/home/you"
    os.environ.pop("XDG_CONFIG_HOME", None)
    os.environ.pop("ZOO_PLUGIN_PATH", None)
    from PySide6 import QtCore, QtWidgets

    # Window settings in a temporary folder: the default layout, nothing saved.
    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope, tempfile.mkdtemp()
    )

    from zoo import RunConfig, load_registry
    from zoo.session import Scene
    from zoo.workspace import default_scene
    from zoo_gui.app import ensure_application
    from zoo_gui.palette import run_colour
    from zoo_gui.window import MainWindow

    app = ensure_application()
    registry = load_registry(local=False)
    args.out.mkdir(parents=True, exist_ok=True)

    def wait(seconds: float) -> None:
        loop = QtCore.QEventLoop()
        QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def window() -> MainWindow:
        shown = MainWindow(registry, None, autoplay=True)
        shown.resize(*SIZE)
        shown.show()
        shown.hint.hide()  # the first-run hint covers the canvas
        wait(0.5)
        return shown

    def save(widget: QtWidgets.QWidget, name: str) -> None:
        path = args.out / name
        widget.grab().save(str(path))
        print(f"wrote {path}")

    # The default scene: four optimizers on an ill-conditioned quadratic.
    main = window()
    wait(3.0)
    save(main, "app.png")

    # Rosenbrock from the classic start, with two runs that diverge.
    start = (-1.2, 1.0)
    runs = [
        RunConfig("adam", {"lr": 0.05}, start=start, color="#ff7f0e"),
        RunConfig("momentum", {"lr": 0.002, "momentum": 0.9}, start=start, color="#00e5ff"),
        RunConfig("lbfgs", {}, start=start, color="#ff4fa3"),
        RunConfig("newton", {}, start=start, color="#b6f542"),
        RunConfig("sgd", {"lr": 0.01}, start=start, color="#ffd92f"),
    ]
    main.load_scene(Scene(model="rosenbrock", runs=runs))
    main.select_run(next(iter(main.runset.configs)))
    main.arrows_action.setChecked(True)
    main.play()
    wait(3.0)
    save(main, "rosenbrock.png")

    # A network's loss on the plane of its runs' paths.
    main.load_scene(default_scene(registry, run_colour))
    main.set_model("mlp")
    main.play()
    wait(3.0)
    if main.workspace.problem.dim > 2:
        with contextlib.suppress(ValueError):  # no paths to take a plane from yet
            main.set_plane("pca")
    wait(2.0)
    save(main, "network-pca-plane.png")

    # The plugins tab.
    main.tabs.setCurrentIndex(main.tabs.count() - 1)
    wait(0.5)
    save(main.tabs, "plugins-panel.png")
    main.tabs.setCurrentIndex(0)
    main.close()

    # A lesson beside the step-size lab.
    lesson = window()
    lesson.open_lesson("04_momentum", lab=True)
    lesson.play()
    wait(4.0)
    save(lesson, "lesson-and-lab.png")
    lesson.close()
    app.quit()


if __name__ == "__main__":
    main()
