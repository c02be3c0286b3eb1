"""Progress for long command-line work: a tqdm bar on a terminal, nothing otherwise.

Nothing is shown when standard error is not a terminal (pipes, logs, tests) or when the
user asked for quiet (``--quiet``), so scripted output stays clean.  tqdm is imported
only when a bar is actually shown.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any


def wanted(quiet: bool = False) -> bool:
    """True when progress should be shown: not quiet, and standard error is a terminal."""
    return not quiet and sys.stderr.isatty()


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


@contextlib.contextmanager
def bar(total: int, description: str, quiet: bool = False, unit: str = "it") -> Iterator[Any]:
    """A progress bar of ``total`` units (``.update(n)``), or a silent stand-in."""
    if not wanted(quiet):
        yield _Silent()
        return
    from tqdm import tqdm

    progress = tqdm(total=total, desc=description, unit=unit, leave=False, file=sys.stderr)
    try:
        yield progress
    finally:
        progress.close()


@contextlib.contextmanager
def busy(description: str, quiet: bool = False) -> Iterator[None]:
    """Elapsed time shown while work of unknown length runs (e.g. an experiment)."""
    if not wanted(quiet):
        yield
        return
    from tqdm import tqdm

    progress = tqdm(desc=description, bar_format="{desc}: {elapsed}", leave=False, file=sys.stderr)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(0.5):
            progress.refresh()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        progress.close()


__all__ = ["bar", "busy", "wanted"]
