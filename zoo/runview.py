"""The read side of the engine: what a ``RunSet`` last published, frozen.

Stepping threads write a batch's arrays; readers (the app, plots, exports) get a
``BatchView`` built when the batch last finished a call to ``RunSet.step`` (or was
edited).  A view never changes and never blocks: a batch being stepped right now is
read as it was at the end of its last call.  The per-run arrays are copies; the history
arrays are shared and only appended to beyond what the view covers, so reading them
through ``history_block`` and ``kept_steps`` is safe while the batch goes on.

A run's history keeps its start, its current point and an evenly spaced past: points
``0, s, 2s, …`` for a stride ``s`` that doubles each time the run's budget fills (see
``stride_for``).  A diverged run's history ends one step before it diverged, at its
last finite point (see ``last_points``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "FAILED",
    "RUNNING",
    "STATE_NAMES",
    "STOPPED",
    "BatchView",
    "History",
    "RunView",
    "kept_counts",
    "last_points",
    "stride_for",
]

#: Status codes, as in ``BatchView.codes``; ``STATE_NAMES[code]`` is the state's name.
#: ``STOPPED``: the optimizer ended the run (its reason is the run's message).
RUNNING, CONVERGED, DIVERGED, FAILED, STOPPED = 0, 1, 2, 3, 4
STATE_NAMES = ("running", "converged", "diverged", "failed", "stopped")


def last_points(steps: np.ndarray, codes: np.ndarray, stop_steps: np.ndarray) -> np.ndarray:
    """The step of each run's last recorded point: a diverged run's last step produced
    nothing finite, so its history ends one step early."""
    return np.where(codes == DIVERGED, stop_steps - 1, steps)


def stride_for(last: np.ndarray | int, capacity: float) -> np.ndarray:
    """The spacing of kept points for a run whose last point is step ``last`` and whose
    history holds at most ``capacity`` points (infinite: every step).

    The smallest power of two ``s`` with ``ceil(last / s) < capacity``: slot ``k`` holds
    step ``k·s``, the last slot the current step."""
    last = np.asarray(last, dtype=np.int64)
    if not np.isfinite(capacity):
        return np.ones_like(last)
    room = int(capacity) - 1
    need = (last + room - 1) // room  # ceil(last / room) ≥ 1 once last > 0
    exponent = np.frexp(np.maximum(need - 1, 0).astype(float))[1]  # bit length of need - 1
    return np.left_shift(np.int64(1), exponent.astype(np.int64))


def kept_counts(last: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """How many points a run keeps whose last point is step ``last``."""
    return (last + stride - 1) // stride + 1


@dataclass(frozen=True)
class History:
    """One run's kept points: ``x`` (n, D), ``loss`` and ``grad_norm`` (n,) at ``kept``
    (n,), the step number of each point.  ``thinned`` says whether steps are missing."""

    x: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    kept: np.ndarray
    thinned: bool


@dataclass(frozen=True)
class RunView:
    """One run as last published: what it is, where it stands and where it has been."""

    run_id: int
    config: Any  # RunConfig
    status: Any  # RunStatus
    steps: int
    position: np.ndarray
    loss: float
    grad_norm: float
    evals: dict[str, int]
    history: History


@dataclass(frozen=True, eq=False)
class BatchView:
    """One batch of runs (one optimizer and its discrete settings) as last published.

    Row ``i`` of every array is run ``run_ids[i]``; ``row(run_id)`` finds it in O(1).
    ``x``, ``loss`` and ``grad_norm`` are each run's latest finite point; ``version``
    grows with every publication, so a reader can tell whether anything changed."""

    key: Any
    optimizer: str
    label: str
    version: int
    run_ids: tuple[int, ...]
    steps: np.ndarray  # (B,) steps taken
    codes: np.ndarray  # (B,) status codes (RUNNING, CONVERGED, DIVERGED, FAILED, STOPPED)
    stop_steps: np.ndarray  # (B,) the step a stopped run stopped at
    x: np.ndarray  # (B, D)
    loss: np.ndarray  # (B,)
    grad_norm: np.ndarray  # (B,)
    evals: np.ndarray  # (B, len(EVAL_KINDS))
    messages: dict[int, str]
    capacity: float  # points kept per run at most (inf: every step; 0: none)
    _state: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    _hist_x: np.ndarray | None = field(repr=False, default=None)
    _hist_loss: np.ndarray | None = field(repr=False, default=None)
    _hist_gnorm: np.ndarray | None = field(repr=False, default=None)
    _rows: dict[int, int] = field(repr=False, default_factory=dict)
    #: run id -> ``zoo.endstate.EndState`` of each converged or stopped run, once classified
    ends: dict[int, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.run_ids)

    def row(self, run_id: int) -> int:
        """The row of ``run_id``; ``KeyError`` if it is not in this batch."""
        return self._rows[run_id]

    def row_or_none(self, run_id: int | None) -> int | None:
        """The row of ``run_id``, or None if it is not in this batch."""
        return self._rows.get(run_id)

    @property
    def running(self) -> np.ndarray:
        """(B,) whether each run is still running."""
        return self.codes == RUNNING

    @cached_property
    def last(self) -> np.ndarray:
        """(B,) the step of each run's last recorded point."""
        return last_points(self.steps, self.codes, self.stop_steps)

    @property
    def has_history(self) -> bool:
        return self._hist_x is not None

    def strides(self) -> np.ndarray:
        """(B,) the spacing of each run's kept points (1: every step is kept)."""
        return self._strides

    def counts(self) -> np.ndarray:
        """(B,) how many points each run keeps."""
        return self._counts

    # A view never changes, so what follows from its arrays is worked out once.
    @cached_property
    def _strides(self) -> np.ndarray:
        return stride_for(self.last, self.capacity)

    @cached_property
    def _counts(self) -> np.ndarray:
        if not self.has_history:
            return np.ones(len(self), dtype=np.int64)
        return kept_counts(self.last, self._strides)

    def kept_steps(self, columns: np.ndarray) -> np.ndarray:
        """(B, n) the step number at ``columns`` (B, n) of each row's kept points;
        a column past a row's last point gives that row's last step."""
        last = self.last[:, None]
        if not self.has_history:
            return np.broadcast_to(last, np.shape(columns))
        steps = np.asarray(columns) * self.strides()[:, None]
        return np.minimum(steps, last)

    def history_block(self, columns: np.ndarray, which: str = "x") -> np.ndarray:
        """Rows' kept points at ``columns`` (B, n) (clipped to each row's last point):
        ``x`` gives (B, n, D), ``loss`` and ``grad_norm`` give (B, n).  Without a
        history, every column is the latest point."""
        columns = np.asarray(columns)
        if not self.has_history:
            latest = {"x": self.x, "loss": self.loss, "grad_norm": self.grad_norm}[which]
            shape = (len(self), columns.shape[1], *latest.shape[1:])
            return np.broadcast_to(latest[:, None], shape)
        columns = np.minimum(columns, (self.counts() - 1)[:, None])
        rows = np.arange(len(self))[:, None]
        source = {"x": self._hist_x, "loss": self._hist_loss, "grad_norm": self._hist_gnorm}
        return source[which][rows, columns]

    def history_points(self, rows: np.ndarray, columns: np.ndarray, which: str = "x") -> np.ndarray:
        """Kept points at pairs (``rows[k]``, ``columns[k]``) (clipped to each row's last
        point): ``x`` gives (K, D), ``loss`` and ``grad_norm`` give (K,)."""
        rows = np.asarray(rows, dtype=np.int64)
        if not self.has_history:
            latest = {"x": self.x, "loss": self.loss, "grad_norm": self.grad_norm}[which]
            return latest[rows]
        columns = np.minimum(columns, self.counts()[rows] - 1)
        source = {"x": self._hist_x, "loss": self._hist_loss, "grad_norm": self._hist_gnorm}
        return source[which][rows, columns]

    def optimizer_state(self, row: int) -> dict[str, np.ndarray]:
        """Row ``row``'s optimizer state (copies)."""
        return {name: value[row].copy() for name, value in self._state.items()}

    def run_history(self, row: int) -> History:
        """Row ``row``'s kept points (copies)."""
        count = int(self.counts()[row])
        steps = self.kept_steps(np.arange(count)[None])[0] if count else np.zeros(0, np.int64)
        if not self.has_history:
            return History(
                self.x[row : row + 1].copy(),
                self.loss[row : row + 1].copy(),
                self.grad_norm[row : row + 1].copy(),
                steps.copy(),
                bool(self.last[row] > 0),
            )
        return History(
            self._hist_x[row, :count].copy(),
            self._hist_loss[row, :count].copy(),
            self._hist_gnorm[row, :count].copy(),
            np.array(steps),
            bool(self.strides()[row] > 1),
        )
