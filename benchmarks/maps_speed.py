"""Wall time and memory of a basin map: G² Adam runs × K steps on Rosenbrock.

Prints ``name = value unit`` lines: the time to the first coarse picture (a quarter of the
grid per side), the time to the full map, the run-steps per second of the full map, and
the growth of the peak resident memory of this process.  The machine may be shared:
the load average is printed first so the figures can be read against it.

    python benchmarks/maps_speed.py                 # 256² × 500, the reference map
    python benchmarks/maps_speed.py --grid 64 --steps 100
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from zoo import build_problem, heap, load_registry, maps


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    heap.steady()  # as the zoo command and the app do
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=256)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()
    registry = load_registry()
    problem = build_problem("rosenbrock", registry=registry)
    print(f"load average = {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    before = peak_mb()
    start = time.perf_counter()
    times = []
    for picture in maps.basin_maps(
        problem,
        args.optimizer,
        {"lr": args.lr},
        grid=args.grid,
        steps=args.steps,
        registry=registry,
    ):
        times.append((picture.grid, time.perf_counter() - start))
    full = times[-1][1] - (times[0][1] if len(times) > 1 else 0.0)
    for grid, elapsed in times[:-1]:
        print(f"first picture ({grid}²) = {elapsed:.2f} s")
    print(f"full map ({args.grid}² × {args.steps} steps) = {full:.2f} s")
    print(f"map run-steps per second = {args.grid**2 * args.steps / full:.3g}")
    print(f"peak memory growth = {peak_mb() - before:.0f} MB")


if __name__ == "__main__":
    main()
