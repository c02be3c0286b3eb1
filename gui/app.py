"""Starting the app: the Qt application, its look, the window, the event loop."""

from __future__ import annotations

from typing import Any

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6 import QtGui, QtWidgets

from zoo import heap
from zoo_gui.theme import apply_theme

#: Collects reference cycles on the UI thread; see ``collect_garbage_on_ui_thread``.
_COLLECTOR: GarbageCollector | None = None


def collect_garbage_on_ui_thread() -> GarbageCollector:
    """Run Python's cycle collector only on the UI thread, on a timer.

    Worker threads (stepping, landscapes, maps, experiments) allocate a lot, so an
    automatic collection would often start in one of them; if it then frees a Qt object
    left in a cycle, Qt's destructor runs on the wrong thread and can deadlock against the
    UI thread.  Collecting from a UI timer instead means it never happens elsewhere."""
    global _COLLECTOR
    if _COLLECTOR is None:
        _COLLECTOR = GarbageCollector(interval=1.0)
    return _COLLECTOR


def ensure_application() -> QtWidgets.QApplication:
    """The running ``QApplication``, created (with the app's look) if there is none."""
    app = QtWidgets.QApplication.instance()
    if app is None:
        app = QtWidgets.QApplication(["optimizer-zoo"])
        app.setApplicationName("Optimizer Zoo")
        app.setOrganizationName("optimizer-zoo")
        apply_theme(app)
    collect_garbage_on_ui_thread()
    return app


def run_app(
    scene: str | None = None,
    lesson: str | None = None,
    lab: bool = False,
    registry: Any = None,
    load_later: Any = None,
) -> int:
    """Open the main window (scene file, lesson, the last session's scene, or the default
    scene) and run the loop, in the last session's size and layout.

    Without a ``registry`` the window opens on the built-in plugins and imports the
    others in the background (``zoo_gui.plugin_loading``); a scene naming one of them
    opens when it is in.  A ``registry`` given is used as it is, with ``load_later``
    (``zoo.registry.load_deferred``) run in the background if given.  A scene or lesson
    that cannot be opened is reported in the window, which then shows the default
    scene.  Returns the exit code of the event loop.
    """
    heap.steady()  # the app owns its process: keep the memory a step frees
    app = ensure_application()
    from zoo.registry import load_builtins, load_deferred
    from zoo_gui.window import MainWindow

    if registry is None:
        registry, load_later = load_builtins(), load_deferred
    window = MainWindow(registry, load_later=load_later)
    window.resize(1500, 920)
    window.restore_layout()
    window.show()
    if scene is None and lesson is None and window.last_scene() is not None:
        scene = str(window.last_scene())
    if scene is not None:
        window.open_scene_file(scene)
    if lesson is not None:
        window.open_lesson(lesson, lab=lab)
    elif lab:
        window.show_lab((window.lesson or {}).get("panels"))
    app.lastWindowClosed.connect(window.shutdown)
    QtGui.QGuiApplication.setQuitOnLastWindowClosed(True)
    return app.exec()
