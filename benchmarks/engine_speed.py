"""Batched stepping throughput of the engine against a torch.optim.Adam loop.

Prints ``name = value unit`` lines: run-steps per second for Adam over B = 1, 16, 256 and
4096 runs of dimension 2 on a quadratic, the time of one engine step of one run, and, when
torch is installed, the same work done the way torch compares runs — one parameter of
shape (2,) per run, each in its own parameter group so that each run may have its own
learning rate, gradients set by hand — and the ratio between the two.  Then run-steps per
second of minibatch SGD on ``logistic`` and ``mlp`` (batch_size 8), where every run draws its
own minibatch.
"""

from __future__ import annotations

import time

import numpy as np

from zoo import RunConfig, RunSet, build_problem, load_registry

BATCHES = (1, 16, 256, 4096)


def best_of(repeats: int, function) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def engine_rate(problem, registry, batch: int, steps: int, **config) -> float:
    """Fresh runs each repeat, few enough steps that none converges on the way."""
    rng = np.random.default_rng(0)
    starts = [tuple(rng.uniform(-2, 2, size=2)) for _ in range(batch)]
    config = config or {"optimizer": "adam", "hyper": {"lr": 1e-3}}
    best = float("inf")
    for _ in range(3):
        runs = RunSet(problem, registry, gtol=0.0)
        for seed, start in enumerate(starts):
            runs.add(RunConfig(start=start, seed=seed, **config))
        runs.step(2)  # warm up
        begin = time.perf_counter()
        runs.step(steps)
        best = min(best, time.perf_counter() - begin)
    return batch * steps / best


def torch_rate(problem, batch: int, steps: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    matrix = torch.tensor(problem.matrix, dtype=torch.float64)
    centre = torch.tensor(problem.centre, dtype=torch.float64)
    rng = np.random.default_rng(0)
    params = [
        torch.tensor(rng.uniform(-2, 2, size=2), dtype=torch.float64, requires_grad=True)
        for _ in range(batch)
    ]
    optimizer = torch.optim.Adam([{"params": [p], "lr": 1e-3} for p in params])

    def loop():
        for _ in range(steps):
            with torch.no_grad():
                for param in params:
                    param.grad = (param - centre) @ matrix
            optimizer.step()

    loop()
    return batch * steps / best_of(3, loop)


def main() -> None:
    registry = load_registry(local=False)
    problem = build_problem("quadratic", {"lambda1": 1.0, "lambda2": 10.0}, registry=registry)
    for batch in BATCHES:
        steps = max(5, 1000 // batch)
        ours = engine_rate(problem, registry, batch, steps)
        print(f"engine_adam[B={batch}] = {ours:.4g} run-steps/s")
        if batch == 1:
            print(f"engine_adam_step[B=1] = {1e6 / ours:.3g} us")
        theirs = torch_rate(problem, batch, steps)
        if theirs is not None:
            print(f"torch_adam[B={batch}] = {theirs:.4g} run-steps/s")
            print(f"ratio_engine_over_torch[B={batch}] = {ours / theirs:.3g} x")
    for model in ("logistic", "mlp"):
        data = build_problem(model, registry=registry)
        for batch in BATCHES[:3]:
            steps = max(5, 500 // batch)
            rate = engine_rate(
                data, registry, batch, steps, optimizer="sgd", hyper={"lr": 0.05}, batch_size=8
            )
            print(f"engine_minibatch_sgd[{model}, B={batch}] = {rate:.4g} run-steps/s")


if __name__ == "__main__":
    main()
