"""``zoo map`` and ``zoo tune``: basin and hyper-parameter maps, and learning-rate sensitivity.

Files are written to a temporary name beside the target and renamed, so an interrupted
run never leaves half a file.  Progress goes to the terminal (stderr) only when it is one.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from zoo import maps
from zoo.engine import EngineError, build_problem
from zoo.limits import check_work
from zoo.registry import UnknownName, load_for
from zoo.specs import SpecError

MAP_SUFFIXES = (".png", ".csv", ".npz")
TUNE_SUFFIXES = (".csv", ".npz")


#: Bounds on the sizes a map or tune may ask for: each is runs × steps of work and memory.
MOST_STEPS = 100_000
MOST_STARTS = 4096
MOST_VALUES = 4096


def _usage_error(message: str) -> Exception:
    from zoo.cli import UsageError

    return UsageError(message)


def add_map_commands(commands: Any) -> None:
    """Add ``map`` and ``tune`` to the ``zoo`` sub-command parser ``commands``."""
    mapping = commands.add_parser(
        "map",
        help="map where every start ends up, or how two hyper-parameters decide a run",
        description="A grid of runs stepped together; each cell coloured by its outcome.",
        epilog="examples:\n"
        "  zoo map himmelblau newton --over start --grid 256 --steps 60 --out basins.png\n"
        "  zoo map quadratic momentum --over lr,momentum --range lr=0.005:0.35 "
        "--range momentum=0:0.95 --metric rate --out rates.npz\n"
        "  zoo map logistic sgd --over lr,batch_size --range lr=0.01:3 --grid 64 --starts 8 "
        "--metric final_loss --out noise.png",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mapping.add_argument("model", help="model name (see `zoo plugins`)")
    mapping.add_argument("optimizer", metavar="OPTIMIZER[:key=value,...]")
    mapping.add_argument(
        "--over",
        default="start",
        help="'start' (a basin map over the view), or two float hyper-parameters such as "
        "lr,momentum, or one and batch_size (models with samples: whole minibatch sizes "
        "from 1 to the sample count, log-spaced, each size once)",
    )
    mapping.add_argument("--grid", type=int, default=128, help="cells per side (default 128)")
    mapping.add_argument("--steps", type=int, default=500, help="steps per run (default 500)")
    mapping.add_argument(
        "--metric",
        help="what colours the picture: basin, steps_to_tol, final_loss, rate, end (basin "
        "maps; default basin; end: the end-state class of the runs that stopped, minimum, "
        "saddle, plateau or stalled) or rate, steps_to_tol, final_loss, diverged (default rate)",
    )
    mapping.add_argument(
        "--range",
        dest="ranges",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="axis range of a hyper-parameter or of batch_size (repeatable): LOW < HIGH within "
        "the parameter's declared limits, LOW > 0 on a log axis, whole sizes for batch_size "
        "(default: the parameter's default range)",
    )
    mapping.add_argument(
        "--linear", action="append", default=[], metavar="NAME", help="a linear axis"
    )
    mapping.add_argument("--log", action="append", default=[], metavar="NAME", help="a log axis")
    mapping.add_argument("--view", help="basin maps: xmin,xmax,ymin,ymax (default: the model's)")
    mapping.add_argument("--start", help="hyper maps: one start x,y (default: the model's)")
    mapping.add_argument(
        "--starts", type=int, default=0, help="hyper maps: average over this many random starts"
    )
    _common(mapping)
    mapping.add_argument("--out", metavar="FILE.png|.csv|.npz", help="write the map")
    mapping.set_defaults(handler=command_map)

    tune = commands.add_parser(
        "tune",
        help="learning-rate sensitivity: the outcome against lr over random starts",
        description="Each optimizer over a log range of learning rates from the same random "
        "starts, within a budget of steps; prints the best lr per optimizer.",
        epilog="examples:\n"
        "  zoo tune rosenbrock sgd momentum:momentum=0.9 adam --steps 300 --metric gap\n"
        "  zoo tune quadratic sgd --lr 1e-3:1 --values 64 --out curves.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tune.add_argument("model", help="model name (see `zoo plugins`)")
    tune.add_argument("optimizers", nargs="+", metavar="OPTIMIZER[:key=value,...]")
    tune.add_argument(
        "--lr", default="1e-4:1", metavar="LOW:HIGH", help="lr range (default 1e-4:1)"
    )
    tune.add_argument("--values", type=int, default=64, help="lr values (default 64)")
    tune.add_argument("--starts", type=int, default=16, help="random starts (default 16)")
    tune.add_argument("--steps", type=int, default=100, help="the budget in steps (default 100)")
    tune.add_argument(
        "--metric", default="gap", choices=list(maps.METRICS), help="what is minimised"
    )
    _common(tune)
    tune.add_argument("--out", metavar="FILE.csv|.npz", help="write the curves")
    tune.set_defaults(handler=command_tune)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="key=value")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model's data and starts")
    parser.add_argument("--json", action="store_true", help="print a summary as JSON")


# --------------------------------------------------------------------- helpers
def _numbers(text: str, count: int, where: str, sep: str = ",") -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(sep)]
    except ValueError:
        values = []
    if len(values) != count or not all(np.isfinite(values)):
        raise _usage_error(f"{where}: expected {count} numbers separated by {sep!r}, got {text!r}")
    return values


def _out_path(text: str | None, suffixes: tuple[str, ...]) -> Path | None:
    if text is None:
        return None
    path = Path(text)
    if path.suffix.lower() not in suffixes:
        raise _usage_error(f"--out: expected a {'/'.join(suffixes)} file, got {path.name!r}")
    if not path.parent.is_dir():
        raise _usage_error(f"--out: no folder {str(path.parent)!r}")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` whole or not at all (see ``zoo.atomic``)."""
    from zoo.atomic import atomic_path

    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


@contextlib.contextmanager
def _progress(label: str) -> Iterator[Callable[[float], None]]:
    """A callback taking the fraction done, drawn as a bar on a terminal (``zoo.progress``)."""
    from zoo.progress import bar

    with bar(1000, label, unit="‰") as shown:
        done = [0]

        def report(fraction: float) -> None:
            step = int(1000 * fraction) - done[0]
            if step > 0:
                shown.update(step)
                done[0] += step

        yield report


def _registry(args, optimizers: list[str]):
    """The registry a ``zoo map`` or ``zoo tune`` command line needs (``load_for``)."""
    from zoo.cli import wanted_by_runs

    return load_for(
        lambda builtins: wanted_by_runs(builtins, args.model, args.settings, optimizers)
    )


def _problem(args, registry):
    from zoo.cli import parse_assignments

    try:
        spec = registry.get("model", args.model)
        settings = parse_assignments(args.settings, "--set")
        return build_problem(spec, settings, seed=args.seed, registry=registry)
    except (UnknownName, EngineError, SpecError) as error:
        raise _usage_error(str(error)) from None


def _float_param(registry, optimizer: str, name: str):
    spec = registry.get("optimizer", optimizer)
    for param in spec.params:
        if param.name == name:
            if param.kind != "float":
                raise _usage_error(f"--over: {optimizer}'s {name} is not a float hyper-parameter")
            return param
    names = ", ".join(p.name for p in spec.params if p.kind == "float")
    raise _usage_error(f"--over: {optimizer} has no hyper-parameter {name!r} (float ones: {names})")


def _axis(args, registry, problem, optimizer: str, name: str) -> tuple[str, float, float, bool]:
    """An axis of ``--over``: the default range, then ``--linear``/``--log`` and ``--range``,
    checked as the app checks its range fields (``maps.checked_range``)."""
    try:
        if name == maps.BATCH_SIZE:
            low, high, log = maps.batch_range(problem)
            params = {}
        else:
            params = {name: _float_param(registry, optimizer, name)}
            low, high, log = maps.default_range(params[name])
        limits = maps.range_limits(name, params, problem)
    except ValueError as error:
        raise _usage_error(f"--over: {error}") from None
    if name in args.linear:
        log = False
    if name in args.log:
        log = True
    ranges = dict(item.partition("=")[::2] for item in args.ranges)
    if name in ranges:
        low, high = _numbers(ranges[name], 2, f"--range {name}", sep=":")
    try:
        return maps.checked_range(name, low, high, log, limits)
    except ValueError as error:
        raise _usage_error(f"--range {error}") from None


# --------------------------------------------------------------------- zoo map
def command_map(args: argparse.Namespace) -> int:
    from zoo.cli import parse_named

    if not 1 <= args.grid <= 1024:
        raise _usage_error("--grid must be from 1 to 1024")
    if not 1 <= args.steps <= MOST_STEPS:
        raise _usage_error(f"--steps must be from 1 to {MOST_STEPS:,}")
    if not 0 <= args.starts <= MOST_STARTS:
        raise _usage_error(f"--starts must be from 0 to {MOST_STARTS:,}")
    runs = args.grid**2 * max(1, args.starts)
    starts = f" × {args.starts:,} starts" if args.starts else ""
    check_work(runs, args.steps, f"--grid {args.grid} × {args.grid}{starts} × {args.steps:,} steps")
    out = _out_path(args.out, MAP_SUFFIXES)
    registry = _registry(args, [args.optimizer])
    problem = _problem(args, registry)
    optimizer, hyper = parse_named(args.optimizer, "optimizer")
    try:
        spec = registry.get("optimizer", optimizer)
    except UnknownName as error:
        raise _usage_error(str(error)) from None
    hyper = _typed(spec, hyper)
    over = [part.strip() for part in args.over.split(",") if part.strip()]
    basin = over == ["start"]
    if not basin and len(over) != 2:
        raise _usage_error("--over: expected 'start' or two hyper-parameters such as lr,momentum")
    quantities = maps.BASIN_QUANTITIES if basin else maps.HYPER_QUANTITIES
    metric = args.metric or quantities[0]
    if metric not in quantities:
        raise _usage_error(f"--metric: choose from {', '.join(quantities)} for this map")
    try:
        with _progress("map") as progress:
            result = _compute_map(args, problem, registry, optimizer, hyper, over, basin, progress)
    except (EngineError, SpecError, ValueError) as error:
        raise _usage_error(str(error)) from None
    if metric not in result.data:
        raise _usage_error(f"--metric {metric}: this model's end points cannot be classified")
    summary = map_summary(args, result, metric)
    if out is not None:
        write_atomic(out, map_bytes(result, metric, out.suffix.lower()))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
        if out is not None:
            print(f"wrote {out}")
    return 0


def _typed(spec: Any, hyper: dict[str, str]) -> dict[str, Any]:
    """The typed values of ``hyper`` (text from the command line), so that summaries and
    files hold numbers; names ``spec`` lacks are left for the engine to refuse."""
    params = {param.name: param for param in spec.params}
    try:
        return {k: params[k].coerce(v) if k in params else v for k, v in hyper.items()}
    except SpecError as error:
        raise _usage_error(f"optimizer {spec.name}: {error}") from None


def _compute_map(args, problem, registry, optimizer, hyper, over, basin, progress):
    """The map ``zoo map`` asked for."""
    if basin:
        view = None
        if args.view:
            x0, x1, y0, y1 = _numbers(args.view, 4, "--view")
            if not (x0 < x1 and y0 < y1):
                raise _usage_error("--view needs xmin < xmax and ymin < ymax")
            view = ((x0, x1), (y0, y1))
        return maps.basin_map(
            problem,
            optimizer,
            hyper,
            grid=args.grid,
            steps=args.steps,
            view=view,
            registry=registry,
            progress=progress,
        )
    x_axis, y_axis = (_axis(args, registry, problem, optimizer, name) for name in over)
    if args.starts:
        starts = maps.random_starts(problem, args.starts, args.seed)
    elif args.start:
        starts = np.array([_numbers(args.start, 2, "--start")])
        starts = problem.from_view(starts[:, 0], starts[:, 1])
    else:
        starts = None
    return maps.hyper_map(
        problem,
        optimizer,
        x_axis,
        y_axis,
        {k: v for k, v in hyper.items() if k not in over},
        grid=args.grid,
        steps=args.steps,
        starts=starts,
        registry=registry,
        progress=progress,
    )


def map_bytes(result: maps.MapResult, metric: str, suffix: str) -> bytes:
    """The map as a file: ``.png`` (the picture of ``metric`` with a legend strip), ``.csv``
    (one row per cell: both axes, then every quantity) or ``.npz`` (the arrays)."""
    if suffix == ".png":
        import imageio.v3 as iio

        from zoo.map_image import picture

        scale = tuple(-(-256 // cells) for cells in result.shape)  # at least 256 pixels a side
        return iio.imwrite("<bytes>", picture(result, metric, scale), extension=".png")
    if suffix == ".csv":
        text = io.StringIO()
        writer = csv.writer(text)
        names = list(result.data)
        writer.writerow([result.x.name, result.y.name, *names])
        rows, columns = result.shape
        for row in range(rows):
            for column in range(columns):
                writer.writerow(
                    [
                        repr(result.x.values[column].item()),
                        repr(result.y.values[row].item()),
                        *(repr(result.data[name][row, column].item()) for name in names),
                    ]
                )
        return text.getvalue().encode("utf-8")
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=result.x.values,
        y=result.y.values,
        minima=result.minima,
        e_star=np.float64(result.e_star),
        **result.data,
    )
    return buffer.getvalue()


def map_summary(args, result: maps.MapResult, metric: str) -> dict[str, Any]:
    from zoo.map_image import legend

    summary: dict[str, Any] = {
        "model": args.model,
        "optimizer": result.optimizer,
        "hyper": dict(result.hyper),
        "kind": result.kind,
        "grid": result.grid,
        "shape": list(result.shape),
        "steps": result.steps,
        "x": {
            "name": result.x.name,
            "low": float(result.x.values[0]),
            "high": float(result.x.values[-1]),
            "log": result.x.log,
        },
        "y": {
            "name": result.y.name,
            "low": float(result.y.values[0]),
            "high": float(result.y.values[-1]),
            "log": result.y.log,
        },
        "e_star": result.e_star,
        "metric": metric,
        "legend": [label for label, _ in legend(result, metric)],
    }
    if result.kind == "basin":
        basin = result.data["basin"]
        counts = {f"minimum {i}": int((basin == i).sum()) for i in range(len(result.minima))}
        counts.update({name: int((basin == code).sum()) for code, name in maps.CLASS_NAMES.items()})
        summary["cells"] = counts
        if "end" in result.data:
            end = result.data["end"]
            summary["ends"] = {kind: int((end == i).sum()) for i, kind in enumerate(maps.KINDS)}
    else:
        rate = result.data["rate"]
        best = (
            np.nanargmin(np.where(np.isfinite(rate), rate, np.nan))
            if np.isfinite(rate).any()
            else None
        )
        summary["diverged_cells"] = int((result.data["diverged"] == 1).sum())
        if best is not None:
            row, column = divmod(int(best), result.shape[1])
            summary["fastest"] = {**result.cell(row, column), "rate": float(rate[row, column])}
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    print(
        f"{summary['kind']} map of {summary['optimizer']} on {summary['model']}: "
        f"{summary['shape'][1]}×{summary['shape'][0]} runs × {summary['steps']} steps, "
        f"E* = {summary['e_star']:.6g}"
    )
    if "cells" in summary:
        for name, count in summary["cells"].items():
            print(f"  {name:<12} {count}")
        if "ends" in summary:
            ends = ", ".join(f"{count} {kind}" for kind, count in summary["ends"].items())
            print(f"  ended at     {ends}")
    else:
        print(f"  diverged cells  {summary['diverged_cells']}")
        if "fastest" in summary:
            fastest = ", ".join(f"{k}={v:.4g}" for k, v in summary["fastest"].items())
            print(f"  fastest cell    {fastest}")


# --------------------------------------------------------------------- zoo tune
def command_tune(args: argparse.Namespace) -> int:
    from zoo.cli import _print_table, parse_named

    if not (
        2 <= args.values <= MOST_VALUES
        and 1 <= args.starts <= MOST_STARTS
        and 1 <= args.steps <= MOST_STEPS
    ):
        raise _usage_error(
            f"--values must be from 2 to {MOST_VALUES:,}, --starts from 1 to {MOST_STARTS:,} "
            f"and --steps from 1 to {MOST_STEPS:,}"
        )
    check_work(
        args.values * args.starts * len(args.optimizers),
        args.steps,
        f"--values {args.values:,} × --starts {args.starts:,} × {len(args.optimizers)} "
        f"optimizer(s) × {args.steps:,} steps",
    )
    out = _out_path(args.out, TUNE_SUFFIXES)
    low, high = _numbers(args.lr, 2, "--lr", sep=":")
    if not 0 < low < high:
        raise _usage_error("--lr needs 0 < LOW < HIGH")
    registry = _registry(args, args.optimizers)
    problem = _problem(args, registry)
    named = [parse_named(text, "optimizer") for text in args.optimizers]
    try:
        with _progress("tune") as progress:
            result = maps.sensitivity(
                problem,
                named,
                lrs=np.geomspace(low, high, args.values),
                starts=args.starts,
                steps=args.steps,
                seed=args.seed,
                registry=registry,
                progress=progress,
            )
    except (EngineError, SpecError, ValueError, UnknownName) as error:
        raise _usage_error(str(error)) from None
    best = result.best(args.metric)
    if out is not None:
        write_atomic(out, tune_bytes(result, out.suffix.lower()))
    if args.json:
        print(json.dumps(tune_summary(args, result, best), indent=2))
        return 0
    print(
        f"{args.model}: {args.values} learning rates × {args.starts} starts × "
        f"{args.steps} steps; best by {maps.METRICS[args.metric]}"
    )
    rows = []
    for text, (lr, value), diverged in zip(args.optimizers, best, result.diverged, strict=True):
        first = result.lrs[diverged > 0]
        rows.append(
            (text, f"{lr:.4g}", f"{value:.4g}", f"{first[0]:.4g}" if len(first) else "none")
        )
    _print_table(rows, ("optimizer", "best lr", "median", "diverges from lr"))
    if out is not None:
        print(f"wrote {out}")
    return 0


def tune_bytes(result: maps.Sensitivity, suffix: str) -> bytes:
    """``.csv``: one row per optimizer, lr and metric (quartiles, diverged fraction);
    ``.npz``: ``lrs`` (L,), ``starts`` (S, D) and each metric's values (O, L, S)."""
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez(
            buffer,
            lrs=result.lrs,
            starts=result.starts,
            diverged=result.diverged,
            optimizers=np.array(result.optimizers),
            **result.values,
        )
        return buffer.getvalue()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["optimizer", "lr", "metric", "q1", "median", "q3", "diverged"])
    for metric in maps.METRICS:
        low, median, high = result.quartiles(metric)
        for o, name in enumerate(result.optimizers):
            for i, lr in enumerate(result.lrs):
                writer.writerow(
                    [
                        name,
                        repr(float(lr)),
                        metric,
                        *(repr(float(a[o, i])) for a in (low, median, high)),
                        repr(float(result.diverged[o, i])),
                    ]
                )
    return text.getvalue().encode("utf-8")


def tune_summary(args, result: maps.Sensitivity, best) -> dict[str, Any]:
    median = result.quartiles(args.metric)[1]
    return {
        "model": args.model,
        "metric": args.metric,
        "steps": args.steps,
        "e_star": result.e_star,
        "lrs": result.lrs.tolist(),
        "optimizers": [
            {
                "optimizer": text,
                "best_lr": lr,
                "best_median": value if np.isfinite(value) else None,
                "median": [float(v) if np.isfinite(v) else None for v in median[o]],
                "diverged": result.diverged[o].tolist(),
            }
            for o, (text, (lr, value)) in enumerate(zip(args.optimizers, best, strict=True))
        ],
    }
