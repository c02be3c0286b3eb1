"""Formulas compiled off the UI thread before the window changes to a formula model.

Every change of model the window makes — a scene or lesson opened (also at start-up), a
model chosen in the model box, a setting typed, a new seed, ``MainWindow.set_model`` —
goes through ``FormulaGate.then``.  When the new model's formulas are compiled already
(or it has none) the change is made at once.  Otherwise sympy works on a worker thread
(within ``zoo.expr.COMPILE_BUDGET``) while the window keeps answering, and the change is
made on the UI thread when it is done, unless a later change came first; a refused
formula then fails the change at once, with the reason, and nothing else changes."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from PySide6 import QtCore

from zoo import expr
from zoo.workspace import Workspace

T = TypeVar("T")

#: What the window says while a formula compiles.
COMPILING = "compiling the formula …"


class FormulaGate(QtCore.QObject):
    """Makes workspace changes once the formulas they need are compiled."""

    #: A change waits for its formulas (the text says so, for the status bar).
    waiting = QtCore.Signal(str)
    #: The change that waited was made: its result (False: it failed, and said why).
    settled = QtCore.Signal(object)
    _compiled = QtCore.Signal(int)

    def __init__(self, workspace: Workspace, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self._token = 0  # of the latest change; an older compile finishing is ignored
        self._change: Callable[[], Any] | None = None
        self._compiled.connect(self._finish)

    @property
    def changes(self) -> int:
        """How many changes were asked for: one that waits elsewhere (for plugins) checks
        that none came after it."""
        return self._token

    @property
    def pending(self) -> bool:
        """Whether a change waits for its formulas."""
        return self._change is not None

    def then(self, model: str, settings: Mapping[str, Any], change: Callable[[], T]) -> T | None:
        """``change()`` now if model ``model`` with ``settings`` needs no compiling, and
        its result; else None, and ``change()`` runs once the formulas are compiled (if no
        later call came meanwhile)."""
        self._token += 1
        texts = self.workspace.formulas_to_compile(model, settings)
        if not texts:
            self._change = None
            return change()
        self._change = change
        threading.Thread(
            target=self._compile, args=(self._token, texts), name="zoo-formula", daemon=True
        ).start()
        self.waiting.emit(COMPILING)
        return None

    def _compile(self, token: int, texts: list[str]) -> None:
        for text in texts:
            with contextlib.suppress(expr.FormulaError):  # kept: the change reports it at once
                expr.compile_formula(text)
        self._compiled.emit(token)

    def _finish(self, token: int) -> None:
        if token != self._token or self._change is None:
            return  # a later change superseded it
        change, self._change = self._change, None
        self.settled.emit(change())

    def wait(self) -> Any:
        """Wait (running the event loop) for the change that waits, and return its
        result; for callers with no user to keep answering (``zoo render``)."""
        results: list[Any] = []
        if self._change is not None:
            loop = QtCore.QEventLoop()
            self.settled.connect(results.append)
            self.settled.connect(loop.quit)
            try:
                loop.exec()
            finally:
                self.settled.disconnect(results.append)
                self.settled.disconnect(loop.quit)
        return results[0] if results else None
