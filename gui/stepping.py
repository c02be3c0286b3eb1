"""Stepping runs off the UI thread, one worker job per run group, never blocking a frame.

The engine's ``RunSet`` is not thread-safe, but its groups are independent: stepping one
group touches only that group's arrays.  So each group is stepped by its own job in a
thread pool (``RunSet.step(n, groups=[group])``) under that group's lock, and the UI
thread reads a group only when it can take the lock without waiting.  A group whose
plugin sleeps or loops keeps its lock and its job; the others go on, and the window
keeps answering.  Structural edits (add, remove, update runs) happen on the UI thread
after the jobs in flight have finished (``idle``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import numpy as np

from zoo.engine import RUNNING, Group, RunSet

#: A job stops taking more steps after this long, so a frame's steps never pile up.
FRAME_BUDGET = 0.05
#: A group whose job has run this long is shown as "slow".
SLOW_AFTER = 0.25
#: Steps taken under the lock at once, so readers get a look in between.
CHUNK = 64


class Stepper:
    """Steps the groups of one ``RunSet`` in worker threads; read it from the UI thread."""

    def __init__(self, runset: RunSet, workers: int = 8) -> None:
        self.runset = runset
        self._workers = workers
        self._pool = _DaemonPool(workers)
        self._locks: dict[int, threading.Lock] = {}
        self._jobs: dict[int, tuple[Group, Future, float]] = {}
        self._stop = threading.Event()
        self._counted = threading.Lock()
        self._steps_done = 0  # run-steps taken since the last ``take_step_count``
        self.slow_groups: set[int] = set()

    # ------------------------------------------------------------------ workers
    def lock(self, group: Group) -> threading.Lock:
        return self._locks.setdefault(id(group), threading.Lock())

    def busy(self, group: Group) -> bool:
        job = self._jobs.get(id(group))
        return job is not None and not job[1].done()

    def submit(self, steps: int, step_limit: int) -> int:
        """Start a job for every idle group with running runs; return how many started."""
        if self._stop.is_set():
            return 0
        self._reap()
        started = 0
        for group in list(self.runset.groups):
            if self.busy(group):
                if time.perf_counter() - self._jobs[id(group)][2] > SLOW_AFTER:
                    self.slow_groups.add(id(group))
                continue
            n = _steps_left(group, steps, step_limit)
            if n <= 0:
                continue
            future = self._pool.submit(self._job, group, n, self.lock(group))
            self._jobs[id(group)] = (group, future, time.perf_counter())
            started += 1
        return started

    def _job(self, group: Group, n: int, lock: threading.Lock) -> None:
        begin = time.perf_counter()
        done = 0
        chunk = 1  # one step first, to learn how long a step takes
        while done < n and not self._stop.is_set():
            chunk = min(chunk, n - done)
            with lock:
                running = int((group.code == RUNNING).sum())
                self.runset.step(chunk, groups=[group])
            done += chunk
            with self._counted:
                self._steps_done += chunk * running
            elapsed = time.perf_counter() - begin
            if elapsed > FRAME_BUDGET:
                break
            # As many steps as fit in what is left of the budget, at the pace seen so far.
            chunk = int(min(CHUNK, max(1, (FRAME_BUDGET - elapsed) / (elapsed / done))))

    def _reap(self) -> None:
        """Forget finished jobs, and mark groups whose last job was slow."""
        now = time.perf_counter()
        for key, (_group, future, started) in list(self._jobs.items()):
            if future.done():
                del self._jobs[key]
                if now - started < SLOW_AFTER:
                    self.slow_groups.discard(key)
        live = {id(group) for group in self.runset.groups}
        for key in list(self._locks):
            if key not in live and key not in self._jobs:
                del self._locks[key]
        self.slow_groups &= live

    def is_slow(self, group: Group) -> bool:
        return id(group) in self.slow_groups

    def take_step_count(self) -> int:
        with self._counted:
            count, self._steps_done = self._steps_done, 0
        return count

    # ------------------------------------------------------------------ readers
    @contextmanager
    def reading(self, group: Group) -> Iterator[bool]:
        """Hold ``group``'s lock if it is free right now; yield whether it was."""
        lock = self.lock(group)
        free = lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                lock.release()

    def idle(self, timeout: float = 5.0) -> bool:
        """Wait for the jobs in flight to finish; False if one is still running."""
        deadline = time.perf_counter() + timeout
        for _group, future, _ in list(self._jobs.values()):
            remaining = deadline - time.perf_counter()
            try:
                future.result(timeout=max(remaining, 0.0))
            except TimeoutError:
                return False
            except Exception:  # the engine marks failing runs itself; nothing to add
                pass
        self._reap()
        return True

    def busy_labels(self) -> list[str]:
        return [
            group.spec.label or group.spec.name
            for group, future, _ in self._jobs.values()
            if not future.done()
        ]

    def set_runset(self, runset: RunSet) -> None:
        """Step another run set (a new scene); call after ``idle``."""
        self.runset = runset
        self._jobs.clear()
        self._locks.clear()
        self.slow_groups.clear()

    def close(self) -> None:
        """Stop taking steps and let the workers end; a stuck plugin is abandoned."""
        self._stop.set()
        self._pool.shutdown(self._workers)


def _steps_left(group: Group, steps: int, step_limit: int) -> int:
    running = group.code == RUNNING
    if not running.any():
        return 0
    return int(min(steps, step_limit - int(np.min(group.t[running]))))


class _DaemonPool:
    """A few daemon worker threads: a plugin stuck in a loop cannot hold up the exit."""

    def __init__(self, workers: int) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        for index in range(workers):
            threading.Thread(target=self._work, name=f"zoo-step-{index}", daemon=True).start()

    def submit(self, function: Any, *args: Any) -> Future:
        future: Future = Future()
        self._queue.put((future, function, args))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, function, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # reported through the future
                future.set_exception(error)

    def shutdown(self, workers: int) -> None:
        while True:  # cancel what has not started
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in range(workers):
            self._queue.put(None)
