"""The ``zoo`` command line: the app, plugins, headless runs, renders, checks, experiments.

Errors a user can fix (unknown names, bad values, out-of-range settings) print one line
naming the problem and the valid choices, and exit with status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.engine import EngineError, RunConfig, RunSet, build_problem
from zoo.registry import KINDS, Registry, UnknownName, load_registry, local_plugin_dirs
from zoo.specs import SpecError

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input on the command line; printed as one line, exit status 2."""


# --------------------------------------------------------------------- parsing helpers
def parse_assignments(items: Sequence[str], where: str) -> dict[str, str]:
    """``["lr=0.1", "momentum=0.9"]`` → ``{"lr": "0.1", "momentum": "0.9"}``."""
    values = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{where}: expected key=value, got {item!r}")
        values[key.strip()] = value.strip()
    return values


def parse_named(text: str, where: str) -> tuple[str, dict[str, str]]:
    """``"adam:lr=0.01,beta1=0.8"`` → ``("adam", {"lr": "0.01", "beta1": "0.8"})``."""
    name, _, rest = text.partition(":")
    items = [part for part in rest.split(",") if part.strip()] if rest else []
    return name.strip(), parse_assignments(items, f"{where} {name.strip()}")


def parse_point(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise UsageError(f"--start: expected numbers separated by commas, got {text!r}") from None


def add_run_arguments(parser: argparse.ArgumentParser, *, require_model: bool = True) -> None:
    """The flags shared by ``zoo run`` and ``zoo render``."""
    if require_model:
        parser.add_argument("model", help="model name (see `zoo plugins`)")
    parser.add_argument(
        "optimizers",
        nargs="*" if not require_model else "+",
        metavar="OPTIMIZER[:key=value,...]",
        help="one run per optimizer, e.g. adam:lr=0.01 sgd:lr=0.1,momentum=0.9",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="key=value",
        help="a model setting (repeatable), e.g. --set lambda2=100",
    )
    parser.add_argument("--steps", type=int, default=200, help="steps per run (default 200)")
    parser.add_argument("--start", help="start point x,y (view coordinates); default: the model's")
    parser.add_argument(
        "--schedule",
        metavar="NAME[:key=value,...]",
        help="learning-rate schedule for every run, e.g. inverse or step:step_size=50",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the model's data and noise")


def runs_from_args(args: argparse.Namespace, registry: Registry) -> tuple[Any, str, dict, list]:
    """Build the problem and run configurations that ``zoo run``/``zoo render`` flags describe.

    Returns ``(problem, model_name, settings, configs)``; raises ``UsageError``.
    """
    try:
        spec = registry.get("model", args.model)
        settings = parse_assignments(args.settings, "--set")
        problem = build_problem(spec, settings, seed=args.seed, registry=registry)
        schedule, schedule_params = (None, {})
        if args.schedule:
            schedule, schedule_params = parse_named(args.schedule, "--schedule")
            registry.get("schedule", schedule)
        start = parse_point(args.start)
        configs = []
        runs = RunSet(problem, registry)
        for text in args.optimizers:
            name, hyper = parse_named(text, "optimizer")
            config = RunConfig(name, hyper, schedule, schedule_params, start, args.seed, label=text)
            runs.add(config)  # validates: names, values, ranges, compatibility
            configs.append(config)
    except (UnknownName, EngineError, SpecError) as error:
        raise UsageError(str(error)) from None
    return problem, spec.name, settings, configs


# --------------------------------------------------------------------- commands
def command_plugins(args: argparse.Namespace) -> int:
    registry = load_registry()
    if args.json:
        print(json.dumps(plugins_as_dict(registry), indent=2))
        return 0
    titles = {
        "optimizer": "Optimizers",
        "activation": "Activations",
        "model": "Models",
        "schedule": "Schedules",
    }
    for kind in KINDS:
        records = registry.records(kind)
        print(f"{titles[kind]} ({len(records)})")
        rows = []
        for name, record in sorted(records.items()):
            origin = registry.provenance(kind, name)
            rows.append((name, record.label or name, origin.plugin, origin.source))
        _print_table(rows, ("name", "label", "plugin", "source"), indent="  ")
        print()
    print(f"Failures ({len(registry.failures)})")
    for failure in registry.failures:
        print(f"  {failure.plugin} ({failure.source}): {failure.message}")
    if not registry.failures:
        print("  none")
    print()
    print("Local plugin folder: " + ", ".join(str(p) for p in local_plugin_dirs()))
    return 0


def plugins_as_dict(registry: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KINDS:
        entries = []
        for name, record in sorted(registry.records(kind).items()):
            origin = registry.provenance(kind, name)
            entry = {
                "name": name,
                "label": record.label,
                "plugin": origin.plugin,
                "source": origin.source,
                "doc": record.doc,
            }
            if hasattr(record, "params"):
                entry["params"] = [
                    {
                        "name": p.name,
                        "default": p.default,
                        "kind": p.kind,
                        "low": p.low,
                        "high": p.high,
                        "log": p.log,
                        "choices": list(p.choices),
                        "doc": p.doc,
                    }
                    for p in record.params
                ]
            if kind == "optimizer":
                entry["needs"] = sorted(record.needs)
                entry["family"] = record.family
                entry["reference"] = record.reference
            if kind == "model":
                entry["family"] = record.family
            entries.append(entry)
        out[kind + "s"] = entries
    out["failures"] = [
        {"plugin": f.plugin, "source": f.source, "message": f.message} for f in registry.failures
    ]
    out["plugins"] = [
        {"name": p.name, "source": p.source, "origin": p.origin} for p in registry.plugins
    ]
    out["local_plugin_dirs"] = [str(p) for p in local_plugin_dirs()]
    return out


def command_run(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise UsageError("--steps must be 0 or more")
    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--out: expected a .csv or .json file, got {out.name!r}")
    registry = load_registry()
    problem, model, settings, configs = runs_from_args(args, registry)
    runs = RunSet(problem, registry)
    ids = [runs.add(config) for config in configs]
    runs.step(args.steps)
    minima = np.asarray(problem.minima, dtype=float).reshape(-1, problem.dim)
    rows = []
    results = []
    for run_id, config in zip(ids, configs, strict=True):
        trajectory = runs.trajectory(run_id)
        final = trajectory.x[-1]
        distance = float(np.min(np.linalg.norm(minima - final, axis=1))) if len(minima) else None
        evals = {k: v for k, v in trajectory.evals.items() if v}
        rows.append(
            (
                config.label,
                _number(trajectory.loss[-1]),
                "n/a" if distance is None else _number(distance),
                str(trajectory.steps),
                str(trajectory.status),
                " ".join(f"{k}={v}" for k, v in evals.items()) or "0",
            )
        )
        results.append((config, trajectory, distance))
    if args.json:
        print(json.dumps(_runs_json(model, settings, args, results), indent=2))
    else:
        print(
            f"{model} ({', '.join(f'{k}={v}' for k, v in settings.items()) or 'defaults'}), "
            f"{args.steps} steps"
        )
        _print_table(rows, ("run", "final loss", "to minimum", "steps", "status", "evaluations"))
    if out is not None:
        if out.suffix.lower() == ".json":
            out.write_text(json.dumps(_runs_json(model, settings, args, results), indent=2))
        else:
            _write_csv(out, results, problem.dim)
        if not args.json:
            print(f"wrote {out}")
    return 0


def _runs_json(model, settings, args, results) -> dict[str, Any]:
    return {
        "model": model,
        "settings": settings,
        "steps": args.steps,
        "runs": [
            {
                "label": config.label,
                "optimizer": config.optimizer,
                "hyper": dict(config.hyper),
                "status": trajectory.status.state,
                "status_step": trajectory.status.step,
                "message": trajectory.status.message,
                "final_loss": _json_float(trajectory.loss[-1]),
                "distance_to_minimum": distance,
                "evals": trajectory.evals,
                "x": trajectory.x.tolist(),
                "loss": [_json_float(v) for v in trajectory.loss],
            }
            for config, trajectory, distance in results
        ],
    }


def _write_csv(path: Path, results, dim: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["run", "optimizer", "step", *[f"x{i}" for i in range(dim)], "loss", "grad_norm"]
        )
        for config, trajectory, _ in results:
            for step, (x, loss, gnorm) in enumerate(
                zip(trajectory.x, trajectory.loss, trajectory.grad_norm, strict=True)
            ):
                writer.writerow(
                    [
                        config.label,
                        config.optimizer,
                        step,
                        *map(repr, x.tolist()),
                        repr(float(loss)),
                        repr(float(gnorm)),
                    ]
                )


def command_check(args: argparse.Namespace) -> int:
    from zoo.testing import check_plugin

    try:
        report = check_plugin(args.target)
    except LookupError as error:
        raise UsageError(str(error)) from None
    for line in report.lines():
        print(line)
    return 0 if report.passed else 1


def command_app(args: argparse.Namespace) -> int:
    from gui.app import run_app

    return run_app(scene=getattr(args, "scene", None))


def command_lab(args: argparse.Namespace) -> int:
    from gui.app import run_app

    return run_app(lesson=args.lesson, lab=True)


def command_render(args: argparse.Namespace) -> int:
    from gui.render import render_command

    return render_command(args)


def command_experiment(args: argparse.Namespace) -> int:
    from zoo.experiments import command

    return command(args)


# --------------------------------------------------------------------- output helpers
def _number(value: float) -> str:
    return f"{value:.6g}" if np.isfinite(value) else str(value)


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _print_table(rows, header, indent: str = "") -> None:
    if not rows:
        print(indent + "none")
        return
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    print(indent + line.format(*header).rstrip())
    for row in rows:
        print(indent + line.format(*map(str, row)).rstrip())


# --------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoo",
        description="Optimizer Zoo: race optimizers on loss landscapes. Without a command, "
        "opens the desktop app.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    app = commands.add_parser("app", help="open the desktop app (the default)")
    app.add_argument("scene", nargs="?", help="a scene file (.json) to open")
    app.set_defaults(handler=command_app)

    plugins = commands.add_parser(
        "plugins", help="list every optimizer, activation, model and schedule, and failures"
    )
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(handler=command_plugins)

    run = commands.add_parser(
        "run",
        help="run optimizers on a model headless and print a table",
        description="Run optimizers on a model without a display. Example: "
        "zoo run rosenbrock adam:lr=0.01 lbfgs newton --steps 500",
    )
    add_run_arguments(run)
    run.add_argument("--out", metavar="FILE.csv|FILE.json", help="write the trajectories")
    run.add_argument("--json", action="store_true", help="print the results as JSON")
    run.set_defaults(handler=command_run)

    render = commands.add_parser(
        "render",
        help="render a scene or runs to PNG, GIF or MP4 without a display",
        description="Render without a display. Give a scene file, or a model and optimizers "
        "with the same flags as `zoo run`.",
    )
    render.add_argument("model", help="a scene file (.json) or a model name")
    add_run_arguments(render, require_model=False)
    render.add_argument("--frames", type=int, default=120, help="animation frames (default 120)")
    render.add_argument("--steps-per-frame", type=int, default=1, help="steps per frame")
    render.add_argument("--size", default="800x600", help="image size WxH (default 800x600)")
    render.add_argument(
        "--out",
        required=True,
        metavar="FILE.png|.gif|.mp4",
        help="output file; the suffix chooses the format",
    )
    render.set_defaults(handler=command_render)

    check = commands.add_parser(
        "check",
        help="run the conformance kit on a plugin",
        description="Check a plugin: a module name (mypackage.plugin), a .py file, or the "
        "name of a loaded plugin (see `zoo plugins`).",
    )
    check.add_argument("target", metavar="MODULE_OR_PLUGIN")
    check.set_defaults(handler=command_check)

    experiment = commands.add_parser(
        "experiment", help="reproduce a classic experiment: measured numbers beside theory"
    )
    experiment.add_argument("name", nargs="?", help="experiment name (see --list)")
    experiment.add_argument("--list", action="store_true", help="list the experiments")
    experiment.add_argument("--json", action="store_true", help="machine-readable output")
    experiment.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    experiment.set_defaults(handler=command_experiment)

    lab = commands.add_parser("lab", help="open the app with the step-size lab")
    lab.add_argument("lesson", nargs="?", help="a lesson name or file (see the Lessons menu)")
    lab.set_defaults(handler=command_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = command_app
    if handler is command_render:
        _split_render_target(args)
    try:
        return handler(args)
    except UsageError as error:
        print(f"zoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 0


def _split_render_target(args: argparse.Namespace) -> None:
    """``zoo render`` takes a scene file or a model: tell them apart by the suffix."""
    args.scene = args.model if args.model.lower().endswith(".json") else None
    if args.scene is not None:
        args.model = None


if __name__ == "__main__":
    sys.exit(main())
