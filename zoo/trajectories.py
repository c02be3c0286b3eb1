"""Trajectories written to files: one writer, CSV or JSON by suffix, the same columns.

``zoo run --out`` and the app's export both call ``write_trajectories``, so a file has
the same columns whichever wrote it: ``run, optimizer, step, x0 … x{D-1}, loss,
grad_norm, status, end_state`` (``end_state``: minimum, saddle, plateau or stalled once a
run has stopped and been classified, else empty; see ``zoo.endstate``).  Files are
written to a temporary name in the same folder and renamed when complete, so a failed
write never leaves a half-written file behind.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zoo.atomic import write_text_atomic

SUFFIXES = (".csv", ".json")
FORMAT = "optimizer-zoo-trajectories"


def columns(dim: int) -> list[str]:
    """The column names of a file holding ``dim``-dimensional weights."""
    return [
        "run",
        "optimizer",
        "step",
        *[f"x{i}" for i in range(dim)],
        "loss",
        "grad_norm",
        "status",
        "end_state",
    ]


def trajectory_rows(label: str, optimizer: str, trajectory: Any) -> Iterable[list[Any]]:
    """One row per kept point of ``trajectory`` (a ``zoo.Trajectory``), with its step
    number: a thinned history shows its gaps in the ``step`` column."""
    status = str(trajectory.status)
    end = trajectory.status.end.kind if trajectory.status.end is not None else ""
    kept = trajectory.kept if trajectory.kept is not None else range(len(trajectory.x))
    for step, x, loss, gnorm in zip(
        kept, trajectory.x, trajectory.loss, trajectory.grad_norm, strict=True
    ):
        yield [label, optimizer, int(step), *map(float, x), float(loss), float(gnorm), status, end]


def write_trajectories(path: str | Path, runs: Iterable[tuple[str, str, Any]]) -> None:
    """Write ``runs`` — (label, optimizer, Trajectory) — as CSV or JSON, chosen by suffix.

    A thinned trajectory keeps some steps only; their numbers are in the ``step``
    column, and a JSON file lists the thinned runs under ``thinned``.

    Raises ``ValueError`` for another suffix and ``OSError`` when the file cannot be
    written (a missing folder, no permission, a full disk); nothing is left behind then.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"expected a .csv or .json file, got {path.name!r}")
    runs = list(runs)
    dim = max((trajectory.x.shape[1] for _, _, trajectory in runs), default=2)
    names = columns(dim)
    rows = [
        row for label, opt, traj in runs for row in _padded(trajectory_rows(label, opt, traj), dim)
    ]
    if suffix == ".csv":
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow([repr(v) if isinstance(v, float) else v for v in row])
        text = buffer.getvalue()
    else:
        records = [
            {name: _json_value(value) for name, value in zip(names, row, strict=True)}
            for row in rows
        ]
        thinned = [label for label, _, trajectory in runs if getattr(trajectory, "thinned", False)]
        document = {"format": FORMAT, "columns": names, "thinned": thinned, "rows": records}
        text = json.dumps(document, indent=1) + "\n"
    write_text_atomic(path, text)


def _padded(rows: Iterable[list[Any]], dim: int) -> Iterable[list[Any]]:
    """Rows of runs with fewer weights than the widest get empty weight cells."""
    for row in rows:
        missing = dim - (len(row) - 7)
        yield row if not missing else [*row[: len(row) - 4], *[None] * missing, *row[-4:]]


def _json_value(value: Any) -> Any:
    """JSON has no NaN or infinity: non-finite numbers are written as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


__all__ = ["FORMAT", "SUFFIXES", "columns", "trajectory_rows", "write_trajectories"]
