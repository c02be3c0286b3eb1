"""Bounds on the work and memory one command line or scene may ask for.

A step count, grid or number of frames beyond these is refused before anything is
allocated, with a one-line message giving the numbers (``LimitError``, a ``ValueError``;
the command line exits with status 2).  They are far above what a picture or a table
needs, and low enough that a typo (``--steps 9999999999``) cannot fill the memory or
keep the machine busy for days.
"""

from __future__ import annotations

#: Steps of one run: ``zoo run``/``zoo render --steps`` and a scene's ``playback.step_limit``.
MOST_STEPS = 10_000_000
#: Memory a full history (every step of every run kept) may take.
MOST_HISTORY_BYTES = 2**30
#: Runs × steps of one command or map (about 3 to 8 minutes at the engine's measured
#: 4e6 to 1e7 run-steps per second, docs/maps.md).
MOST_RUN_STEPS = 2_000_000_000
#: Frames of one animation (``zoo render --frames``).
MOST_FRAMES = 10_000


class LimitError(ValueError):
    """Asked for more work or memory than the bounds above allow; the message says how
    much."""


def history_bytes(runs: int, steps: int, dim: int) -> int:
    """Bytes of a full history: a point (D weights, loss, gradient norm) per step and run."""
    return runs * (steps + 1) * (dim + 2) * 8


def check_steps(steps: int, where: str = "--steps") -> None:
    """``LimitError`` unless ``steps`` is at most ``MOST_STEPS``."""
    if steps > MOST_STEPS:
        raise LimitError(f"{where} {steps:,}: at most {MOST_STEPS:,} steps per run are allowed")


def check_runs(
    runs: int, steps: int, dim: int, *, full_history: bool, where: str = "--steps"
) -> None:
    """``LimitError`` when ``runs`` runs of ``steps`` steps on ``dim`` weights are too
    much work, or (with ``full_history``) keep too big a history."""
    check_steps(steps, where)
    check_work(runs, steps, f"{where} {steps:,}: {runs:,} run(s) × {steps:,} steps")
    if full_history and history_bytes(runs, steps, dim) > MOST_HISTORY_BYTES:
        raise LimitError(
            f"{where} {steps:,}: {runs:,} run(s) × {steps + 1:,} points × {dim + 2:,} numbers "
            f"keep a history of {_size(history_bytes(runs, steps, dim))}; at most "
            f"{_size(MOST_HISTORY_BYTES)} is allowed (fewer steps or runs)"
        )


def check_work(run_steps: int, steps: int, what: str) -> None:
    """``LimitError`` when ``run_steps`` runs × ``steps`` steps exceed ``MOST_RUN_STEPS``;
    ``what`` names them (``"--grid 512 × 512 runs × 100,000 steps"``)."""
    if run_steps * steps > MOST_RUN_STEPS:
        raise LimitError(
            f"{what} = {run_steps * steps:.3g} run-steps; at most {MOST_RUN_STEPS:.3g} are "
            "allowed (fewer steps or a smaller grid)"
        )


def check_frames(frames: int, where: str = "--frames") -> None:
    if frames > MOST_FRAMES:
        raise LimitError(f"{where} {frames:,}: at most {MOST_FRAMES:,} frames are allowed")


def _size(count: int) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e3:.1f} kB"


__all__ = [
    "MOST_FRAMES",
    "MOST_HISTORY_BYTES",
    "MOST_RUN_STEPS",
    "MOST_STEPS",
    "LimitError",
    "check_frames",
    "check_runs",
    "check_steps",
    "check_work",
    "history_bytes",
]
