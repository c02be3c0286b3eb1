"""Batched stepping throughput of the engine, against the bare numpy update it wraps.

Prints ``name = value unit`` lines:

- run-steps per second of Adam on Rosenbrock for B = 1 … 262,144 runs, with history kept
  (``thinned``) and outcome only (``none``, what maps use), next to the bare numpy Adam
  update (the model's gradient and the textbook update in plain float64 arithmetic, no
  engine, no exact multiply-adds), the limit to approach;
- the time of one step of one ``zoo.simulate`` run against one bare update, in this process;
- when torch is installed, one ``torch.optim.Adam`` step of one tensor of shape (2,);
- run-steps per second of minibatch SGD on ``logistic`` and ``mlp`` (batch_size 8), where
  every run draws its own minibatch.

    python benchmarks/engine_speed.py            # everything
    python benchmarks/engine_speed.py --quick    # B up to 65,536, fewer repeats
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from zoo import RunConfig, RunSet, build_problem, heap, load_registry, simulate

BATCHES = (1, 16, 256, 4096, 65536, 262144)
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def steps_for(batch: int) -> int:
    """Enough steps for a stable figure, few enough that a large batch stays quick."""
    return int(min(2000, max(10, 2_000_000 // batch)))


def starts(batch: int) -> np.ndarray:
    return np.random.default_rng(0).uniform((-2, -1), (2, 3), size=(batch, 2))


def engine_rate(problem, registry, batch: int, steps: int, history: str, repeats: int) -> float:
    """Fresh runs each repeat (gtol 0 so that none converges on the way)."""
    points = starts(batch).tolist()
    configs = [RunConfig("adam", {"lr": LR}, start=tuple(p), seed=i) for i, p in enumerate(points)]
    best = float("inf")
    for _ in range(repeats):
        runs = RunSet(problem, registry, gtol=0.0, history=history, end_states=False)
        runs.add_many(configs)
        runs.step(2)  # warm up
        begin = time.perf_counter()
        runs.step(steps)
        best = min(best, time.perf_counter() - begin)
    return batch * steps / best


def bare_rate(problem, batch: int, steps: int, repeats: int) -> float:
    """The model's gradient and Adam's update in plain numpy, state kept in place."""
    best = float("inf")
    for _ in range(repeats):
        x = starts(batch)
        m, v = np.zeros_like(x), np.zeros_like(x)
        begin = time.perf_counter()
        for t in range(1, steps + 1):
            g = problem.grad(x)
            m *= BETA1
            m += (1 - BETA1) * g
            v *= BETA2
            v += (1 - BETA2) * g * g
            step_size = LR / (1 - BETA1**t)
            denom = np.sqrt(v) / np.sqrt(1 - BETA2**t) + EPS
            x = x - step_size * m / denom
        best = min(best, time.perf_counter() - begin)
    return batch * steps / best


def simulate_step(problem, registry, steps: int, repeats: int) -> float:
    """Seconds per step of one ``zoo.simulate`` Adam run (its set-up included, spread)."""
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        simulate(
            problem,
            "adam",
            steps=steps,
            hyper={"lr": LR},
            start=(-1.2, 1.0),
            gtol=0.0,
            registry=registry,
        )
        best = min(best, (time.perf_counter() - begin) / steps)
    return best


def torch_step(steps: int, repeats: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    param = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([param], lr=LR)
    best = float("inf")
    for _ in range(repeats):
        begin = time.perf_counter()
        for _ in range(steps):
            with torch.no_grad():
                u, w = param[0], param[1]
                param.grad = torch.stack((-2 * (1 - u) - 400 * u * (w - u * u), 200 * (w - u * u)))
            optimizer.step()
        best = min(best, (time.perf_counter() - begin) / steps)
    return best


def minibatch_rate(data, registry, batch: int, steps: int) -> float:
    configs = [RunConfig("sgd", {"lr": 0.05}, seed=seed, batch_size=8) for seed in range(batch)]
    runs = RunSet(data, registry, gtol=0.0)
    runs.add_many(configs)
    runs.step(2)
    begin = time.perf_counter()
    runs.step(steps)
    return batch * steps / (time.perf_counter() - begin)


def main() -> None:
    heap.steady()  # as the zoo command and the app do
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B ≤ 65,536 and one repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    batches = BATCHES[:-1] if args.quick else BATCHES
    registry = load_registry(local=False)
    problem = build_problem("rosenbrock", registry=registry)
    print(f"load average = {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for batch in batches:
        steps = steps_for(batch)
        bare = bare_rate(problem, batch, steps, repeats)
        for history in ("thinned", "none"):
            ours = engine_rate(problem, registry, batch, steps, history, repeats)
            print(
                f"engine_adam[{history}, B={batch}] = {ours:.4g} run-steps/s "
                f"({bare / ours:.2f}x the bare update)"
            )
        print(f"bare_numpy_adam[B={batch}] = {bare:.4g} run-steps/s")
    single = simulate_step(problem, registry, 2000, repeats)
    bare_single = 1 / bare_rate(problem, 1, 2000, repeats)
    print(f"simulate_adam_step[B=1] = {single * 1e6:.3g} us")
    print(f"bare_numpy_adam_step[B=1] = {bare_single * 1e6:.3g} us")
    print(f"ratio_simulate_over_bare[B=1] = {single / bare_single:.3g} x")
    theirs = torch_step(2000, repeats)
    if theirs is not None:
        print(f"torch_adam_step[B=1] = {theirs * 1e6:.3g} us")
    for model in ("logistic", "mlp"):
        data = build_problem(model, registry=registry)
        for batch in (1, 16, 256):
            rate = minibatch_rate(data, registry, batch, max(5, 500 // batch))
            print(f"engine_minibatch_sgd[{model}, B={batch}] = {rate:.4g} run-steps/s")


if __name__ == "__main__":
    main()
