"""Stepping runs off the UI thread, one worker job per batch, never blocking a frame.

Each batch of the ``RunSet`` is stepped by its own job in a thread pool
(``RunSet.step(n, limit=..., batches=[key])``); the engine steps a batch under its own
lock and publishes what readers see when each call ends, so the UI thread reads the
last published views and never waits.  A batch whose plugin sleeps or loops keeps its
job; the others go on, and the window keeps answering.  Structural edits (add, remove,
update runs) happen on the UI thread after the jobs in flight have finished (``idle``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

from zoo import BatchView, RunSet

#: A job stops taking more steps after this long, so a frame's steps never pile up.
FRAME_BUDGET = 0.05
#: A group whose job has run this long is shown as "slow".
SLOW_AFTER = 0.25
#: Steps taken under the lock at once, so readers get a look in between.
CHUNK = 64


class Stepper:
    """Steps the groups of one ``RunSet`` in worker threads; read it from the UI thread."""

    def __init__(
        self,
        runset: RunSet,
        workers: int = 8,
        *,
        frame_budget: float = FRAME_BUDGET,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.runset = runset
        self.frame_budget = frame_budget  # seconds of stepping per job
        self.clock = clock
        self._workers = workers
        self._pool = _DaemonPool(workers)
        self._jobs: dict[object, tuple[str, Future, float]] = {}  # key -> label, job, start
        self._stop = threading.Event()
        self._counted = threading.Lock()
        self._steps_done = 0  # run-steps taken since the last ``take_step_count``
        self.slow_groups: set[object] = set()  # keys of batches whose job runs long

    # ------------------------------------------------------------------ workers
    def busy(self, view: BatchView) -> bool:
        job = self._jobs.get(view.key)
        return job is not None and not job[1].done()

    def submit(self, steps: int, step_limit: int) -> int:
        """Start a job for every idle batch with runs below the limit; return how many
        started.  Each run stops at ``step_limit`` by its own count."""
        if self._stop.is_set():
            return 0
        self._reap()
        started = 0
        for view in self.runset.batches():
            if self.busy(view):
                if self.clock() - self._jobs[view.key][2] > SLOW_AFTER:
                    self.slow_groups.add(view.key)
                continue
            if not np.any(view.running & (view.steps < step_limit)):
                continue
            future = self._pool.submit(self._job, view.key, steps, step_limit)
            self._jobs[view.key] = (view.label, future, self.clock())
            started += 1
        return started

    def _job(self, key: object, n: int, limit: int) -> None:
        begin = self.clock()
        done = 0
        chunk = 1  # one step first, to learn how long a step takes
        while done < n and not self._stop.is_set():
            chunk = min(chunk, n - done)
            taken = self.runset.step(chunk, limit=limit, batches=[key])
            done += chunk
            with self._counted:
                self._steps_done += taken
            if not taken:
                break
            elapsed = self.clock() - begin
            if elapsed > self.frame_budget:
                break
            # As many steps as fit in what is left of the budget, at the pace seen so far.
            pace = max(elapsed, 1e-9) / done
            chunk = int(min(CHUNK, max(1, (self.frame_budget - elapsed) / pace)))

    def _reap(self) -> None:
        """Forget finished jobs, and mark batches whose last job was slow."""
        now = self.clock()
        for key, (_label, future, started) in list(self._jobs.items()):
            if future.done():
                del self._jobs[key]
                if now - started < SLOW_AFTER:
                    self.slow_groups.discard(key)
        self.slow_groups &= {view.key for view in self.runset.batches()}

    def slow_runs(self) -> set[int]:
        """The runs of batches whose job has been running long."""
        return {
            run_id
            for view in self.runset.batches()
            if view.key in self.slow_groups
            for run_id in view.run_ids
        }

    def take_step_count(self) -> int:
        with self._counted:
            count, self._steps_done = self._steps_done, 0
        return count

    # ------------------------------------------------------------------ readers
    def idle(self, timeout: float = 5.0) -> bool:
        """Wait for the jobs in flight to finish; False if one is still running."""
        deadline = time.perf_counter() + timeout
        for _label, future, _ in list(self._jobs.values()):
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
        return [label for label, future, _ in self._jobs.values() if not future.done()]

    def set_runset(self, runset: RunSet) -> None:
        """Step another run set (a new scene); call after ``idle``."""
        self.runset = runset
        self._jobs.clear()
        self.slow_groups.clear()

    def close(self) -> None:
        """Stop taking steps and let the workers end; a stuck plugin is abandoned."""
        self._stop.set()
        self._pool.shutdown(self._workers)


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
