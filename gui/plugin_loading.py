"""Third-party and local plugins imported off the UI thread while the window is up.

The window opens on the built-in plugins (``zoo.registry.load_builtins``); a
``PluginLoader`` runs ``zoo.registry.load_deferred`` on a daemon thread and hands the
registry it filled to the UI thread, where the window adds it to its own
(``Registry.adopt``) through the same path as a reload of the local folder, which
imports the same way (``zoo.registry.load_local_only``).  The thread
is a daemon and never joined: an import stuck in C code (a ``time.sleep``, a lock) must not
keep the app from quitting, and what it finally returns after the window closed is
dropped."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore

from zoo.registry import Progress, Registry

#: What the status bar says while a plugin imports.
LOADING = "Loading plugins: {name}…"


class PluginLoader(QtCore.QObject):
    """Runs ``load(progress)`` once on a daemon thread; its signals reach the UI thread."""

    #: A plugin's import starts: its name.
    importing = QtCore.Signal(str)
    #: The loading ended: the ``Registry`` it filled, or the exception it raised.
    arrived = QtCore.Signal(object)

    def __init__(
        self, load: Callable[[Progress], Registry], parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._load = load

    def start(self) -> None:
        threading.Thread(target=self._run, name="zoo-plugins", daemon=True).start()

    def _run(self) -> None:
        try:
            result: Any = self._load(self._progress)
        except Exception as error:  # reported by the window; the scenes waiting go on
            result = error
        with contextlib.suppress(RuntimeError):  # the window was deleted meanwhile
            self.arrived.emit(result)

    def _progress(self, name: str) -> None:
        with contextlib.suppress(RuntimeError):
            self.importing.emit(name)
