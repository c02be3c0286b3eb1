"""Progress and cancellation for experiments that take a while.

An experiment calls ``checkpoint(done, total)`` between pieces of its work; whoever runs
it (the app's experiments dock, ``zoo experiment`` on a terminal) passes a callback to
``run_experiment`` that hears the fraction done and answers whether to go on.  The
callback lives in a context variable, so experiments need no extra argument and runs in
different threads never hear each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Hears the fraction done (0…1); returns False to stop the experiment.
Progress = Callable[[float], bool]

_callback: ContextVar[Progress | None] = ContextVar("experiment_progress", default=None)


class Cancelled(Exception):
    """The experiment was stopped by its progress callback."""


def checkpoint(done: float, total: float = 1.0) -> None:
    """Report ``done`` of ``total`` finished; raise ``Cancelled`` if asked to stop."""
    callback = _callback.get()
    if callback is not None and callback(min(max(done / total, 0.0), 1.0)) is False:
        raise Cancelled("the experiment was cancelled")


@contextmanager
def reporting(callback: Progress | None) -> Iterator[None]:
    """Send the ``checkpoint`` calls made inside the block to ``callback``."""
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)


def stepped(runs, steps: int, start: float = 0.0, end: float = 1.0, chunks: int = 20) -> None:
    """``runs.step(steps)`` in chunks, reporting progress from ``start`` to ``end``.

    Runs of different batches are independent, so the chunks end where one call would."""
    done = 0
    for chunk in range(1, chunks + 1):
        target = steps * chunk // chunks
        if target > done:
            runs.step(target - done)
            done = target
        checkpoint(start + (end - start) * chunk / chunks)
