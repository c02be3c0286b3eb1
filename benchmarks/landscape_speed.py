"""Time to sample, colour and contour the landscape, per model family in the registry.

Prints ``name = value unit`` lines: ``grid[model, N]`` for N = 128, 256, 512 for the first
model of every family (the best of several repeats), ``raw[model, 256]`` for the bare batched
loss on the same points (the floor the grid's overhead sits on), ``color[model, 256]`` and
``contour[model, 256]`` (15 levels, all lines), and for the ``mlp`` model, when registered,
``refine_first[mlp]`` and ``refine_full[mlp]``: the coarse image and the full one.
Goals: a 256² grid under 5 ms for closed-form surfaces; for ``mlp`` the coarse image under
100 ms and the full 256² under 1 s.
"""

from __future__ import annotations

import time

import numpy as np

from zoo import build_problem, load_registry
from zoo.landscape import color_scale, contour_levels, contour_paths, evaluate_grid, refine

SIZES = (128, 256, 512)


def best_of(repeats: int, function) -> float:
    """Milliseconds of the fastest of ``repeats`` calls."""
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - begin)
    return best * 1e3


def representatives(registry) -> dict[str, str]:
    """The first model of every family, by name."""
    chosen: dict[str, str] = {}
    for name, spec in registry.models.items():
        chosen.setdefault(spec.family or name, name)
    return chosen


def raw_points(problem, resolution: int) -> np.ndarray:
    (x0, x1), (y0, y1) = problem.bounds
    a, b = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return np.asarray(problem.from_view(a.ravel(), b.ravel()), dtype=float)


def time_model(name: str, registry) -> None:
    problem = build_problem(name, registry=registry)
    repeats = 2 if problem.dim > 2 else 20
    for size in SIZES:
        elapsed = best_of(repeats, lambda s=size: evaluate_grid(problem, resolution=s))
        print(f"grid[{name}, {size}] = {elapsed:.3f} ms")
    if problem.dim == 2:
        points = raw_points(problem, 256)
        print(f"raw[{name}, 256] = {best_of(repeats, lambda: problem.loss(points)):.3f} ms")
    grid = evaluate_grid(problem, resolution=256)
    print(f"color[{name}, 256] = {best_of(repeats, lambda: color_scale(grid)):.3f} ms")
    contour = best_of(repeats, lambda: contour_paths(grid, contour_levels(grid, 15)))
    print(f"contour[{name}, 256] = {contour:.3f} ms")


def main() -> None:
    registry = load_registry(local=False)
    for name in representatives(registry).values():
        time_model(name, registry)
    if "mlp" in registry.models:
        problem = build_problem("mlp", registry=registry)
        first = full = float("inf")
        for _ in range(3):
            begin = time.perf_counter()
            grids = refine(problem, resolution=256, coarse=64)
            next(grids)
            first = min(first, time.perf_counter() - begin)
            begin = time.perf_counter()
            next(grids)
            full = min(full, time.perf_counter() - begin)
        print(f"refine_first[mlp] = {first * 1e3:.1f} ms")
        print(f"refine_full[mlp] = {full * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
