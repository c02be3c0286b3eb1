"""Resident memory of long runs: 256 Adam runs on Rosenbrock stepped 200,000 steps.

With the default thinned history each run keeps at most ``zoo.HISTORY_POINTS`` points,
so memory stays flat however long the runs go; ``--history full`` shows what keeping
every step costs instead.  Memory is the process's peak resident set, read from the
operating system, so it counts everything the runs hold.

    python benchmarks/history_memory.py [--runs 256] [--steps 200000] [--history thinned]

Prints ``peak resident = M MB after S steps of R runs (history …), kept points per run = K``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np


def peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=256)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--history", choices=("thinned", "full"), default="thinned")
    args = parser.parse_args()
    from zoo import RunConfig, RunSet, build_problem, load_registry

    registry = load_registry(local=False)
    problem = build_problem("rosenbrock", registry=registry)
    runs = RunSet(problem, registry, history=args.history)
    rng = np.random.default_rng(0)
    starts = rng.uniform([-2.0, -1.0], [2.0, 3.0], size=(args.runs, 2))
    ids = runs.add_many(
        [RunConfig("adam", {"lr": 1e-3}, start=tuple(map(float, s))) for s in starts]
    )
    before = peak_mb()
    begin = time.perf_counter()
    done = 0
    while done < args.steps:
        done += (chunk := min(10_000, args.steps - done))
        runs.step(chunk)
    elapsed = time.perf_counter() - begin
    kept = max(len(runs.run(run_id).history.x) for run_id in ids)
    running = sum(runs.status(run_id).state == "running" for run_id in ids)
    print(
        f"peak resident = {peak_mb():.0f} MB (before stepping {before:.0f} MB) after "
        f"{args.steps} steps of {args.runs} runs (history {args.history}, {running} still "
        f"running), kept points per run = {kept}, {elapsed:.0f} s"
    )


if __name__ == "__main__":
    main()
