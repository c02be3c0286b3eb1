"""The one boundary between the zoo and plugin code.

Every call the core makes into a plugin — importing it, calling a hook, and calling a
record's ``build``, ``init``, ``step``, ``factor``, ``f`` or a problem's ``loss`` — goes
through ``call``.  Whatever the plugin does (raise any exception, call ``sys.exit()``)
comes back as one ``PluginFault`` that names the record, its plugin, the plugin's
distribution and the stage, with the original exception chained as ``__cause__``.  Only
a genuine Ctrl-C (``KeyboardInterrupt``) passes through.

A call that does not return within its stage's budget (``BUDGETS``; ten seconds for a
step) is interrupted: a watchdog thread raises an exception in the calling thread
(``PyThreadState_SetAsyncExc``), which ``call`` turns into a ``PluginTimeout``.  Python
delivers it between bytecodes, so a loop written in Python stops at once, while a call
blocked inside C code (``time.sleep``, a huge numpy product, a lock) stops only when
that C call returns.  A call that catches the interrupt and goes on is interrupted
again, and then traced so that its handler lets the next one out (``_Watchdog.caught``).
Budgets come from the environment variable ``ZOO_PLUGIN_TIMEOUT``
(seconds, for every stage that has one) or from ``budgets(...)``.

Nothing in-process can stop a call blocked in C code, so a process that has nothing
else to do (a command, not the app) may ask within ``give_up_on_stuck`` to be told of a
call still running at ``HARD_LIMIT_FACTOR`` times its budget, and end itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Verbs of the stages, for messages like "failed to build".
STAGE_VERBS = {
    "import": "import",
    "hook": "return its records",
    "build": "build",
    "init": "initialise",
    "step": "step",
    "loss": "evaluate its loss",
    "grad": "evaluate its gradient",
    "evaluate": "evaluate its loss and gradient",
    "minibatch": "draw a minibatch",
    "factor": "compute its factor",
    "f": "evaluate",
    "check": "pass its check",
}
#: A call still running at this many times its budget is taken to be blocked where it
#: cannot be interrupted (see ``give_up_on_stuck``).
HARD_LIMIT_FACTOR = 3.0
#: Told of such a call: who, the stage, the budget it overran and where it is stuck.
Stuck = Callable[["Origin", str, float, str], object]
#: Most records one hook may yield; a generator that never ends is cut off there.
MAX_RECORDS_PER_HOOK = 10_000
#: Environment variable that sets every budget below, in seconds.
TIMEOUT_VARIABLE = "ZOO_PLUGIN_TIMEOUT"
#: Seconds a call of each stage may take before it is interrupted.  Building a big model
#: and importing a plugin may rightly take longer than one step.
DEFAULT_BUDGETS = {
    "import": 60.0,
    "hook": 30.0,
    "build": 60.0,
    "init": 10.0,
    "step": 10.0,
    "loss": 10.0,
    "grad": 10.0,
    "evaluate": 20.0,  # the engine's own loss and gradient at a point, watched as one call
    "minibatch": 10.0,
    "factor": 10.0,
    "f": 10.0,
    "check": 60.0,  # one conformance check of one record (``zoo check``)
}


@dataclass(frozen=True)
class Origin:
    """Who is being called: a record (kind and name) or a whole plugin, and where from."""

    kind: str = "plugin"  # "optimizer", "activation", "model", "schedule" or "plugin"
    name: str = ""
    plugin: str = ""
    source: str = ""  # the distribution and version, or the file

    def __str__(self) -> str:
        where = f" ({self.source})" if self.source else ""
        if self.kind == "plugin":
            return f"plugin {self.plugin or self.name}{where}"
        if not self.plugin:
            return f"{self.kind} {self.name!r}"
        return f"{self.kind} {self.name!r} from plugin {self.plugin}{where}"


class PluginFault(Exception):
    """Plugin code failed.  ``str()`` is the whole one-line story; ``reason`` is the cause
    alone (``"RuntimeError: boom"``), for places that already say whose it is."""

    def __init__(self, origin: Origin, stage: str, reason: str) -> None:
        verb = STAGE_VERBS.get(stage, stage)
        super().__init__(f"{origin} failed to {verb}: {reason}")
        self.origin = origin
        self.stage = stage
        self.reason = reason


def describe(error: BaseException) -> str:
    """``"RuntimeError: boom (at plugin.py:12)"``: the type, the message and where."""
    if isinstance(error, PluginFault):
        return error.reason
    if isinstance(error, SystemExit):
        text = f"called sys.exit({error.code!r})"
    else:
        message = str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        text += f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return text


class PluginTimeout(PluginFault):
    """A call into plugin code overran its budget and was interrupted."""

    def __init__(self, origin: Origin, stage: str, budget: float) -> None:
        super().__init__(origin, stage, f"did not return within {budget:g} s")
        self.budget = budget


def stuck_message(origin: Origin, stage: str, budget: float, where: str = "") -> str:
    """What a command says when it gives up on a call that could not be interrupted."""
    verb = STAGE_VERBS.get(stage, stage)
    at = f" at {where}" if where else ""
    return (
        f"{origin} failed to {verb}: did not return within {budget:g} s, and at "
        f"{HARD_LIMIT_FACTOR * budget:g} s is still blocked{at}, in C code (a sleep, a "
        "lock, a read) where no interrupt reaches it; gave up"
    )


def _where(ident: int) -> str:
    """``"…/plugin.py:12 (step)"``: the innermost line thread ``ident`` runs outside the
    standard library and the zoo, which is the plugin's own, for ``stuck_message``."""
    frame = innermost = sys._current_frames().get(ident)
    while frame is not None and frame.f_code is not _CALL_CODE:
        if _is_plugins(frame.f_code.co_filename):
            break
        frame = frame.f_back
    if frame is None or frame.f_code is _CALL_CODE:
        frame = innermost
    if frame is None:
        return ""
    return f"{frame.f_code.co_filename}:{frame.f_lineno} ({frame.f_code.co_name})"


def _is_plugins(filename: str) -> bool:
    """Whether ``filename`` may be a plugin's: not the zoo's, not the standard library's
    (though under it, an installed package's ``site-packages`` may be)."""
    if filename.startswith(("<", _ZOO_FOLDER)):
        return False
    return not filename.startswith(_STDLIB) or filename.startswith(_SITE)


_PATHS = sysconfig.get_paths()
_ZOO_FOLDER = str(Path(__file__).parent)
_STDLIB = (_PATHS["stdlib"], _PATHS["platstdlib"])
_SITE = (_PATHS["purelib"], _PATHS["platlib"])


class _Overrun(BaseException):
    """Raised by the watchdog inside an overrunning call; a BaseException, so that a
    plugin's ``except Exception`` does not swallow it.

    Python creates it where it is caught; caught in plugin code after an earlier one was
    swallowed, it has that code traced, so that the next line there raises it again, out
    of the handler that caught it (see ``_Watchdog.caught``)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        _WATCHDOG.caught(sys._getframe(1))

    def __del__(self) -> None:
        # A handler let go of it (it was swallowed, or raised again by ``_raise_again``,
        # after which CPython turned tracing off): trace again, so the handler that
        # holds the next one lets go at its next line too.
        _WATCHDOG.caught(sys._getframe(1))


def _raise_again(frame: Any, _event: str, _arg: Any) -> Any:
    """Trace function of a call that swallowed an interrupt: its next line raises one
    (Python then turns tracing off again)."""
    if frame.f_code in _OWN_CODE:
        return None
    raise _Overrun


def _budgets_from_environment() -> dict[str, float]:
    budgets = dict(DEFAULT_BUDGETS)
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        seconds = float(text) if text else None
    except ValueError:
        seconds = None
    if seconds is not None and seconds > 0:
        budgets = dict.fromkeys(budgets, seconds)
    return budgets


#: The budget of each stage in seconds; a stage missing here is not timed.
BUDGETS: dict[str, float] = _budgets_from_environment()


@contextlib.contextmanager
def budgets(**seconds: float) -> Iterator[None]:
    """Within the block, calls of the named stages have these budgets (``step=0.5``)."""
    before = dict(BUDGETS)
    BUDGETS.update(seconds)
    try:
        yield
    finally:
        BUDGETS.clear()
        BUDGETS.update(before)


@contextlib.contextmanager
def give_up_on_stuck(on_stuck: Stuck) -> Iterator[None]:
    """Within the block, ``on_stuck(origin, stage, budget, where)`` is called on the watchdog's
    thread for a call still running at ``HARD_LIMIT_FACTOR`` times its budget, as often
    as the watchdog looks (the command line prints one line and exits).  Interrupts
    reach a call in Python code long before that; one that is still running is blocked
    in C code, which nothing in-process can stop."""
    before, _WATCHDOG.on_stuck = _WATCHDOG.on_stuck, on_stuck
    try:
        yield
    finally:
        _WATCHDOG.on_stuck = before


class _Watchdog:
    """One daemon thread that interrupts calls past their deadline.

    ``_active`` maps a thread's id to its innermost watched call ``[deadline, budget,
    fired, thread, outer, trace, started, origin, stage]`` (``fired`` counts the
    interrupts sent, ``trace`` is the thread's trace function before ``caught`` replaced
    it); a nested call is watched
    only if it must end before the call it is nested in (a formula compiled within a
    model's build), else it runs under the outer call's budget.  Entering and leaving a
    call is a dict store and pop, so a guarded call costs well under a
    microsecond more; the thread looks at the deadlines a few times a second."""

    POLL = 0.25  # seconds between looks, at most; less for small budgets
    REFIRE = 0.5  # seconds before interrupting again a call that swallowed the last

    def __init__(self) -> None:
        self._active: dict[int, list] = {}
        self.on_stuck: Stuck | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._set_exc = getattr(
            getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None
        )
        if self._set_exc is not None:
            self._set_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)

    def enter(self, budget: float, origin: Origin, stage: str) -> list | None:
        if self._set_exc is None:
            return None
        ident = threading.get_ident()
        started = time.monotonic()
        deadline = started + budget
        outer = self._active.get(ident)
        if outer is not None and outer[0] <= deadline:
            return None  # the call it is nested in ends first
        entry = [deadline, budget, 0, ident, outer, _UNTRACED, started, origin, stage]
        self._active[ident] = entry
        if self._thread is None:
            self._start()
        return entry

    def leave(self, entry: list) -> None:
        if self._active.get(entry[3]) is entry:
            if entry[4] is None:
                self._active.pop(entry[3], None)
            else:
                self._active[entry[3]] = entry[4]  # back to the call it is nested in
        if entry[2]:
            with self._lock:  # the interrupt may be sent but not yet delivered: take it back
                self._set_exc(entry[3], ctypes.py_object())  # type: ignore[misc]
                entry[2] = 0
            if entry[5] is not _UNTRACED:
                sys.settrace(entry[5])
                entry[5] = _UNTRACED

    def caught(self, frame: Any) -> None:
        """An interrupt is being caught in ``frame``.  In plugin code that swallowed one
        before, trace that code up to the guard: its next line raises again, out of the
        handler, and so on outwards until the guard takes it.  One handler can thus
        hold on to an interrupt only until the next one, however it nests and loops."""
        entry = self._active.get(threading.get_ident())
        if entry is None or entry[2] < 2 or frame.f_code in _OWN_CODE:
            return
        if entry[5] is _UNTRACED:
            entry[5] = sys.gettrace()
        sys.settrace(_raise_again)
        while frame is not None and frame.f_code is not _CALL_CODE:
            frame.f_trace = _raise_again
            frame.f_trace_lines = True
            frame = frame.f_back

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="zoo-guard", daemon=True)
                self._thread.start()

    def _watch(self) -> None:
        while True:
            entries = list(self._active.values())
            smallest = min((entry[1] for entry in entries), default=self.POLL * 4)
            time.sleep(min(self.POLL, smallest / 4))
            now = time.monotonic()
            for entry in entries:
                if now <= entry[0]:
                    continue
                on_stuck = self.on_stuck
                if on_stuck is not None and now - entry[6] >= HARD_LIMIT_FACTOR * entry[1]:
                    on_stuck(entry[7], entry[8], entry[1], _where(entry[3]))
                with self._lock:
                    if self._active.get(entry[3]) is entry:
                        entry[2] += 1
                        entry[0] = now + self.REFIRE
                        self._set_exc(entry[3], ctypes.py_object(_Overrun))  # type: ignore[misc]


_WATCHDOG = _Watchdog()
#: Marks an entry whose thread's trace function was not replaced.
_UNTRACED = object()


def call(origin: Origin, stage: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, with any failure but Ctrl-C turned into ``PluginFault``,
    and a call past its stage's budget interrupted as ``PluginTimeout``."""
    return call_within(BUDGETS.get(stage), origin, stage, function, *args, **kwargs)


def call_within(
    budget: float | None,
    origin: Origin,
    stage: str,
    function: Callable[..., T],
    *args: Any,
    **kwargs: Any,
) -> T:
    """``call`` with a budget of its own (``None``: no budget but an outer call's)."""
    entry = None if budget is None else _WATCHDOG.enter(budget, origin, stage)
    try:
        try:
            return function(*args, **kwargs)
        finally:
            if entry is not None:
                _WATCHDOG.leave(entry)
    except _Overrun:
        if entry is not None:
            _WATCHDOG.leave(entry)  # again: the interrupt may have landed in the first leave
            raise PluginTimeout(origin, stage, entry[1]) from None
        raise  # an outer watched call overran: it reports the timeout
    except PluginFault:
        raise
    except (Exception, SystemExit) as error:
        raise PluginFault(origin, stage, describe(error)) from error


#: The guard's own code, never traced nor made to raise by ``_raise_again``.
_CALL_CODE = call_within.__code__
_OWN_CODE = frozenset(
    {
        _CALL_CODE,
        _raise_again.__code__,
        _Overrun.__init__.__code__,
        _Overrun.__del__.__code__,
        _Watchdog.caught.__code__,
        _Watchdog.leave.__code__,
    }
)


def collect(origin: Origin, function: Callable[[], Any]) -> list[Any]:
    """The records a hook returns, as a list of at most ``MAX_RECORDS_PER_HOOK``."""

    def gather() -> list[Any]:
        result = function()
        if result is None:
            return []
        if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
            raise PluginFault(
                origin,
                "hook",
                f"returned {type(result).__name__}; return a list, tuple or generator of records",
            )
        records = []
        for record in result:
            if len(records) == MAX_RECORDS_PER_HOOK:
                raise PluginFault(
                    origin, "hook", f"yielded more than {MAX_RECORDS_PER_HOOK} records; cut off"
                )
            records.append(record)
        return records

    return call(origin, "hook", gather)


__all__ = [
    "BUDGETS",
    "HARD_LIMIT_FACTOR",
    "MAX_RECORDS_PER_HOOK",
    "Origin",
    "PluginFault",
    "PluginTimeout",
    "budgets",
    "call",
    "call_within",
    "collect",
    "describe",
    "give_up_on_stuck",
    "stuck_message",
]
