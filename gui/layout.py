"""Where the window and its docks go, and what it remembers between sessions.

Docks share the space on the right: when the screen is too short for them one under
another, a new dock (the lab, an experiment) is tabbed with the side dock instead, and the
window never grows past the screen.  Geometry, dock layout, the last scene and the recent
scenes are kept in ``QSettings`` (an INI file in the user's configuration folder).
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

RECENT_MOST = 8


def app_settings() -> QtCore.QSettings:
    """The app's settings store (tests point ``QSettings.setPath`` at a temporary folder)."""
    return QtCore.QSettings(
        QtCore.QSettings.Format.IniFormat,
        QtCore.QSettings.Scope.UserScope,
        "optimizer-zoo",
        "app",
    )


def available(window: QtWidgets.QWidget) -> QtCore.QRect:
    screen = window.screen() or QtWidgets.QApplication.primaryScreen()
    return screen.availableGeometry()


def fit_to_screen(window: QtWidgets.QMainWindow, size: QtCore.QSize | None = None) -> None:
    """Shrink the window (to ``size`` if given, never below what its widgets need) to
    the screen it is on."""
    room = available(window)
    size = size or window.size()
    width, height = min(size.width(), room.width()), min(size.height(), room.height())
    if (width, height) != (window.width(), window.height()):
        window.resize(width, height)
    frame = window.frameGeometry()
    if window.isVisible() and not room.contains(frame):
        left = max(room.left(), min(frame.left(), room.right() - frame.width() + 1))
        top = max(room.top(), min(frame.top(), room.bottom() - frame.height() + 1))
        window.move(left, top)


def keep_size(window: QtWidgets.QMainWindow, size: QtCore.QSize) -> None:
    """Keep the window at ``size`` (within the screen) once a new dock's layout settles:
    a dock asks for room, and the window would otherwise grow to give it."""
    fit_to_screen(window, size)
    QtCore.QTimer.singleShot(0, window, lambda: (fit_to_screen(window, size), share(window)))


def share(window: QtWidgets.QMainWindow) -> None:
    """Leave the canvas at least half the width: docks on each side get at most
    their share of the rest."""
    Qt = QtCore.Qt
    for area, most in (
        (Qt.DockWidgetArea.RightDockWidgetArea, 0.36),
        (Qt.DockWidgetArea.LeftDockWidgetArea, 0.2),
    ):
        docks = [
            dock
            for dock in window.findChildren(QtWidgets.QDockWidget)
            if window.dockWidgetArea(dock) == area and dock.isVisible() and not dock.isFloating()
        ]
        width = max(
            int(most * window.width()), max((d.minimumSizeHint().width() for d in docks), default=0)
        )
        wide = [dock for dock in docks if dock.width() > width]
        if wide:
            window.resizeDocks(wide, [width] * len(wide), Qt.Orientation.Horizontal)


def place_dock(
    window: QtWidgets.QMainWindow, dock: QtWidgets.QDockWidget, size: QtCore.QSize
) -> None:
    """Leave a new dock under the others in its area if the screen has room for the
    height they all ask for, else take the tallest of them (then the next, until they
    fit) into a tab group with it, and bring it forward; the window keeps ``size``."""
    if not dock.property("placed"):
        dock.setProperty("placed", True)
        area = window.dockWidgetArea(dock)
        others = [
            other
            for other in window.findChildren(QtWidgets.QDockWidget)
            if other is not dock
            and window.dockWidgetArea(other) == area
            and other.isVisible()
            and not other.isFloating()
        ]
        # The tallest neighbour first: tabbed with it, the stack needs least height.
        others.sort(key=lambda other: -other.minimumSizeHint().height())
        for other in others:
            window.layout().invalidate()  # the stack's needs, with the new dock in it
            if window.layout().sizeHint().height() <= available(window).height():
                break
            window.tabifyDockWidget(dock, other)  # into one tab group with the new dock
        dock.show()
        dock.raise_()
    keep_size(window, size)


def recent_scenes(settings: QtCore.QSettings) -> list[str]:
    value = settings.value("recent_scenes", [])
    items = [value] if isinstance(value, str) else list(value or [])
    return [item for item in items if isinstance(item, str) and item]


def remember_scene(settings: QtCore.QSettings, path: str | Path) -> list[str]:
    """Put ``path`` first in the recent scenes and make it the last scene."""
    path = str(Path(path).resolve())
    recent = [path, *(item for item in recent_scenes(settings) if item != path)][:RECENT_MOST]
    settings.setValue("recent_scenes", recent)
    settings.setValue("last_scene", path)
    return recent
