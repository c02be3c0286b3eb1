"""The ``zoo`` command line: plugins, headless runs, checks, experiments — and whatever
installed packages add (the app adds ``app``, ``lab`` and ``render``).

Errors a user can fix (unknown names, bad values, out-of-range settings, files that
cannot be written) print one line naming the problem and exit with status 2; plugin code
that fails (a model whose ``build`` raises) prints one line naming the record, its plugin
and distribution and exits with status 3 — never a traceback (``--traceback`` or
``ZOO_DEBUG=1`` shows it).  Ctrl-C exits quietly with 130.

Commands come from *registrars*: functions ``register(commands)`` that receive the
``argparse`` sub-parsers object, add their sub-parser and set ``handler`` (a function of
the parsed arguments returning the exit status).  The core's are listed in
``CORE_COMMANDS``; any installed distribution adds more through the entry-point group
``optimizer_zoo.commands`` (see docs/writing-plugins.md).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from zoo import completion, guard, heap, scaffold
from zoo.engine import EngineError, PluginError, RunConfig, RunSet, build_problem
from zoo.guard import PluginFault
from zoo.limits import LimitError, check_runs, check_steps
from zoo.map_commands import add_map_commands
from zoo.registry import (
    KINDS,
    Registry,
    UnknownName,
    Wanted,
    load_for,
    load_registry,
    local_plugin_dirs,
    wanted_record,
)
from zoo.specs import SpecError, resolve_values

EXIT_USAGE = 2
#: Plugin code failed: a user cannot fix it on the command line, a script can tell it apart.
EXIT_PLUGIN = 3
EXIT_INTERRUPTED = 130
COMMANDS_GROUP = "optimizer_zoo.commands"
#: A run's seed is also its scene's model seed, which the app shows in a 32-bit box.
SEED_LIMIT = 2**31
#: An experiment's seed feeds numpy's generators only.
EXPERIMENT_SEED_LIMIT = 2**63
DEBUG_VARIABLE = "ZOO_DEBUG"
#: Commands that end with status 3 when a plugin call is stuck where no interrupt reaches
#: it (``zoo.guard.give_up_on_stuck``); the app's windows stay open instead.
GIVE_UP_ON_STUCK = frozenset({"run", "check", "map", "tune", "experiment", "render"})

Registrar = Callable[[Any], None]


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
    """``"adam:lr=0.01,beta1=0.8"`` → ``("adam", {"lr": "0.01", "beta1": "0.8"})``.

    An empty item (``adam:lr=0.1,`` or ``adam:,lr=0.1``) is refused, not skipped.
    """
    name, sep, rest = text.partition(":")
    name = name.strip()
    items = rest.split(",") if sep else []
    if any(not part.strip() for part in items):
        raise UsageError(f"{where} {name}: empty setting in {text!r} (a stray ',' or ':'?)")
    return name, parse_assignments(items, f"{where} {name}")


def parse_point(text: str | None) -> tuple[float, ...] | None:
    """``"-1.2,1"`` → ``(-1.2, 1.0)``; ``None`` stays ``None``."""
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise UsageError(f"--start: expected numbers separated by commas, got {text!r}") from None


def check_seed(seed: int, limit: int = SEED_LIMIT) -> int:
    """A seed from 0 to ``limit`` − 1, or ``UsageError`` saying so."""
    if not 0 <= seed < limit:
        raise UsageError(f"--seed must be a whole number from 0 to {limit - 1}, got {seed}")
    return seed


def suggest(name: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for a close match among ``choices``, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def lookup(registry: Registry, kind: str, name: str) -> Any:
    """``registry.get(kind, name)``, or a ``UsageError`` with a did-you-mean."""
    try:
        return registry.get(kind, name)
    except UnknownName:
        names = sorted(registry.records(kind))
        hint = ""
        if kind == "model":
            from zoo.workspace import lesson_files

            lessons = [path.stem for path in lesson_files()]
            if name in lessons or any(n.split("_", 1)[-1] == name for n in lessons):
                hint = f" (did you mean the lesson {name!r}? try `zoo lab {name}`)"
        hint = hint or suggest(name, names)
        raise UsageError(
            f"unknown {kind} {name!r}{hint}; valid: {', '.join(names) or 'none'}"
        ) from None


def add_run_arguments(
    parser: argparse.ArgumentParser,
    *,
    require_model: bool = True,
    steps: int | None = 200,
    steps_help: str = "",
) -> None:
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
    parser.add_argument(
        "--steps", type=int, default=steps, help=steps_help or f"steps per run (default {steps})"
    )
    parser.add_argument(
        "--start",
        metavar="X,Y",
        help="start point: every weight, or 2 view coordinates (e.g. -1.2,1); default: the model's",
    )
    parser.add_argument(
        "--schedule",
        metavar="NAME[:key=value,...]",
        help="learning-rate schedule for every run, e.g. inverse or step:step_size=50",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the model's data and noise")


def wanted_by_runs(
    registry: Registry,
    model: str,
    settings: Sequence[str],
    optimizers: Sequence[str],
    schedule: str | None = None,
) -> list[Wanted]:
    """The records that ``zoo run``-like flags name (for ``load_for``): the model,
    optimizers and schedule, with the activations their settings name.  A setting that
    does not parse is left out: the command refuses it anyway."""

    def values(items: Sequence[str]) -> dict[str, str]:
        try:
            return parse_assignments(items, "")
        except UsageError:
            return {}

    wanted = wanted_record(registry, "model", model, values(settings))
    named = [("optimizer", text) for text in optimizers]
    if schedule:
        named.append(("schedule", schedule))
    for kind, text in named:
        name, _, rest = text.partition(":")
        wanted += wanted_record(registry, kind, name.strip(), values(rest.split(",")))
    return wanted


def registry_for_runs(args: argparse.Namespace) -> Registry:
    """The registry a ``zoo run`` or ``zoo render`` of a model needs (``load_for``)."""
    return load_for(
        lambda builtins: wanted_by_runs(
            builtins, args.model, args.settings, args.optimizers, args.schedule
        )
    )


def runs_from_args(args: argparse.Namespace, registry: Registry) -> tuple[Any, str, dict, list]:
    """Build the problem and run configurations that ``zoo run``/``zoo render`` flags describe.

    Returns ``(problem, model_name, settings, configs)``: the settings and each config's
    hyper-parameters and schedule settings are the effective, typed values (defaults
    filled in).  Raises ``UsageError``.
    """
    check_seed(args.seed)
    spec = lookup(registry, "model", args.model)
    if not args.optimizers:
        raise UsageError(
            f"name at least one optimizer, e.g. zoo {args.command} {spec.name} adam:lr=0.01"
        )
    try:
        settings = parse_assignments(args.settings, "--set")
        activations = list(registry.activations) or None
        settings = resolve_values(
            spec.params, settings, where=f"model {spec.name}", activations=activations
        )
        problem = build_problem(spec, settings, seed=args.seed, registry=registry)
        schedule, schedule_params = (None, {})
        if args.schedule:
            schedule, schedule_params = parse_named(args.schedule, "--schedule")
            lookup(registry, "schedule", schedule)
        start = parse_point(args.start)
        runs = RunSet(problem, registry)
        configs = []
        for text in args.optimizers:
            name, hyper = parse_named(text, "optimizer")
            lookup(registry, "optimizer", name)
            config = RunConfig(name, hyper, schedule, schedule_params, start, args.seed, label=text)
            run_id = runs.add(config)  # validates: names, values, ranges, compatibility
            configs.append(runs.configs[run_id])
    except (UnknownName, EngineError, SpecError, OverflowError) as error:
        raise UsageError(str(error)) from None
    return problem, spec.name, settings, configs


def writable(path: str | Path, suffixes: Sequence[str], flag: str = "--out") -> Path:
    """``path`` if its suffix is one of ``suffixes`` and its folder exists, else ``UsageError``."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UsageError(f"{flag}: expected a {', '.join(suffixes)} file, got {path.name!r}")
    if not path.parent.is_dir():
        raise UsageError(f"{flag}: the folder {path.parent} does not exist")
    return path


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
    slow = [plugin.slow for plugin in registry.plugins if plugin.slow]
    if slow:
        print()
        print(f"Slow imports ({len(slow)}; every command naming one of their records waits)")
        for line in slow:
            print(f"  {line}")
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
        {
            "name": p.name,
            "source": p.source,
            "origin": p.origin,
            "import_seconds": round(p.import_seconds, 3),
        }
        for p in registry.plugins
    ]
    out["local_plugin_dirs"] = [str(p) for p in local_plugin_dirs()]
    return out


def command_run(args: argparse.Namespace) -> int:
    if args.steps < 0:
        raise UsageError("--steps must be 0 or more")
    check_steps(args.steps)
    out = writable(args.out, (".csv", ".json")) if args.out else None
    scene_out = writable(args.scene_out, (".json",), "--scene-out") if args.scene_out else None
    registry = registry_for_runs(args)
    problem, model, settings, configs = runs_from_args(args, registry)
    check_runs(len(configs), args.steps, problem.dim, full_history=True)
    runs = RunSet(problem, registry, history="full")
    ids = [runs.add(config) for config in configs]
    from zoo import progress

    with progress.bar(args.steps, "stepping", args.quiet, unit="step") as bar:
        done = 0
        while done < args.steps:
            chunk = min(args.steps - done, 100)
            runs.step(chunk)
            done += chunk
            bar.update(chunk)
            if all(runs.status(i).state != "running" for i in ids):
                break  # every run has stopped (converged, diverged, failed or stopped)
    minima = np.asarray(problem.minima, dtype=float).reshape(-1, problem.dim)
    results = []
    for run_id, config in zip(ids, configs, strict=True):
        trajectory = runs.trajectory(run_id)
        final = trajectory.x[-1]
        distance = float(np.min(np.linalg.norm(minima - final, axis=1))) if len(minima) else None
        results.append((config, trajectory, distance))
    scene = run_scene(model, settings, args, configs)
    if args.json:
        print(json.dumps(runs_json(scene, results, args.steps), indent=2))
    else:
        print(
            f"{model} ({', '.join(f'{k}={v}' for k, v in settings.items()) or 'defaults'}), "
            f"{args.steps} steps"
        )
        _print_table(
            [_table_row(*result) for result in results],
            ("run", "final loss", "to minimum", "steps", "status", "evaluations"),
        )
    written = []
    try:
        if out is not None:
            from zoo.trajectories import write_trajectories

            write_trajectories(out, [(c.label, c.optimizer, t) for c, t, _ in results])
            written.append(out)
        if scene_out is not None:
            from zoo.session import save_scene

            save_scene(scene, scene_out)
            written.append(scene_out)
    except OSError as error:  # includes SessionError's causes: the message is one line
        raise UsageError(str(error)) from None
    if not args.json:
        for path in written:
            print(f"wrote {path}")
    return 0


def run_steps(trajectory: Any) -> int:
    """The step a run reached: its status's step once it stopped, else its history length."""
    status = trajectory.status
    return trajectory.steps if status.state == "running" else int(status.step)


def _table_row(config: RunConfig, trajectory: Any, distance: float | None) -> tuple:
    evals = {k: v for k, v in trajectory.evals.items() if v}
    return (
        config.label,
        _number(trajectory.loss[-1]),
        "n/a" if distance is None else _number(distance),
        str(run_steps(trajectory)),
        str(trajectory.status),
        " ".join(f"{k}={v}" for k, v in evals.items()) or "0",
    )


def run_scene(model: str, settings: dict, args: argparse.Namespace, configs: list) -> Any:
    """The scene that replays a ``zoo run``: same model, settings, seed, runs and steps."""
    from zoo.session import DEFAULT_PLAYBACK, Scene

    playback = dict(DEFAULT_PLAYBACK, step_limit=max(1, args.steps))
    return Scene(
        model=model, settings=dict(settings), seed=args.seed, runs=list(configs), playback=playback
    )


def runs_json(scene: Any, results: list, steps: int) -> dict[str, Any]:
    """``zoo run --json``: the scene that reproduces the runs (every effective, typed
    value), the steps asked for, and each run's outcome in the scene's run order."""
    from zoo.session import scene_to_dict

    return {
        "scene": scene_to_dict(scene),
        "steps": steps,
        "results": [
            {
                "label": config.label,
                "optimizer": config.optimizer,
                "start": [float(v) for v in trajectory.x[0]],
                "status": trajectory.status.state,
                "status_step": int(trajectory.status.step),
                "message": trajectory.status.message,
                "end_state": _end_json(trajectory.status.end),
                "steps": run_steps(trajectory),
                "final_loss": _json_float(trajectory.loss[-1]),
                "distance_to_minimum": distance,
                "evals": {k: int(v) for k, v in trajectory.evals.items()},
                "x": trajectory.x.tolist(),
                "loss": [_json_float(v) for v in trajectory.loss],
            }
            for config, trajectory, distance in results
        ],
    }


def _end_json(end: Any) -> dict[str, Any] | None:
    """A stopped run's end state with the numbers behind it (None while it runs)."""
    if end is None:
        return None
    return {
        "kind": end.kind,
        "loss": _json_float(end.loss),
        "grad_norm": _json_float(end.grad_norm),
        "min_eigenvalue": _json_float(end.min_eigenvalue),
        "max_eigenvalue": _json_float(end.max_eigenvalue),
    }


def command_check(args: argparse.Namespace) -> int:
    from zoo.testing import check_plugin

    target = args.target
    if target.endswith(".py") and not Path(target).is_file():
        raise UsageError(f"no such file: {target}")
    try:
        report = check_plugin(target)
    except LookupError as error:
        raise UsageError(str(error)) from None
    for line in report.lines():
        print(line)
    return 0 if report.passed else 1


def command_experiment(args: argparse.Namespace) -> int:
    from zoo import experiments

    check_seed(args.seed, EXPERIMENT_SEED_LIMIT)
    if args.list:
        if args.json:
            listing = [
                {"name": e.name, "summary": e.summary, "lesson": e.lesson}
                for e in experiments.EXPERIMENTS.values()
            ]
            print(json.dumps(listing, indent=2, ensure_ascii=False))
            return 0
        return experiments.command(args)
    names = list(experiments.EXPERIMENTS)
    if not args.name:
        raise UsageError(f"name an experiment ({', '.join(names)}) or pass --list")
    if args.name not in experiments.EXPERIMENTS:
        raise UsageError(
            f"unknown experiment {args.name!r}{suggest(args.name, names)}; "
            f"valid: {', '.join(names)}"
        )
    from zoo import progress

    with progress.busy(f"experiment {args.name}", args.quiet):
        return experiments.command(args)


# --------------------------------------------------------------------- core commands
def command_parser(commands: Any, name: str, help: str, description: str, examples: Sequence[str]):
    """A sub-parser with a description and an examples section in its ``--help``; command
    registrars of other packages use it too, so every ``--help`` reads alike."""
    return commands.add_parser(
        name,
        help=help,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {line}" for line in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def register_plugins(commands: Any) -> None:
    plugins = command_parser(
        commands,
        "plugins",
        "list every optimizer, activation, model and schedule, and failures",
        "List what the installed plugins provide, where each record came from, and every "
        "plugin that failed to load.",
        ["zoo plugins", "zoo plugins --json"],
    )
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(handler=command_plugins)


def register_run(commands: Any) -> None:
    run = command_parser(
        commands,
        "run",
        "run optimizers on a model headless and print a table",
        "Run optimizers on a model without a display and print where each ended.",
        [
            "zoo run rosenbrock adam:lr=0.01 lbfgs newton --steps 500",
            "zoo run rosenbrock sgd:lr=0.001 --start -1.2,1 --out paths.csv",
            "zoo run quadratic adam --json --scene-out run.json",
        ],
    )
    add_run_arguments(run)
    run.add_argument("--out", metavar="FILE.csv|FILE.json", help="write the trajectories")
    run.add_argument(
        "--scene-out",
        metavar="FILE.json",
        help="write a scene that replays these runs (`zoo app FILE`, `zoo render FILE`)",
    )
    run.add_argument(
        "--json", action="store_true", help="print every effective value and result as JSON"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(handler=command_run)


def register_check(commands: Any) -> None:
    check = command_parser(
        commands,
        "check",
        "run the conformance kit on a plugin",
        "Check a plugin: a module name (mypackage.plugin), a .py file, or the name of a "
        "loaded plugin (see `zoo plugins`).",
        ["zoo check first_order", "zoo check ./my_optimizer.py"],
    )
    check.add_argument("target", metavar="MODULE_OR_PLUGIN")
    check.set_defaults(handler=command_check)


def register_experiment(commands: Any) -> None:
    experiment = command_parser(
        commands,
        "experiment",
        "reproduce a classic experiment: measured numbers beside theory",
        "Run a classic experiment and print its measured numbers beside the theory "
        "(exit 0 when every check passes, 1 when one fails).",
        ["zoo experiment --list", "zoo experiment linear_neuron", "zoo experiment --list --json"],
    )
    experiment.add_argument("name", nargs="?", help="experiment name (see --list)")
    experiment.add_argument("--list", action="store_true", help="list the experiments")
    experiment.add_argument("--json", action="store_true", help="machine-readable output")
    experiment.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    experiment.add_argument("--quiet", action="store_true", help="no progress display")
    experiment.set_defaults(handler=command_experiment)


#: The core's commands; a module of the core adds one by appending its ``register``.
CORE_COMMANDS: list[Registrar] = [
    register_plugins,
    register_run,
    register_check,
    register_experiment,
    add_map_commands,
    scaffold.add_parser,
    completion.add_parser,
]


def plugin_commands() -> list[tuple[str, Registrar | None, str]]:
    """``(name, register, error)`` for every entry point in ``optimizer_zoo.commands``."""
    found = []
    for entry in sorted(metadata.entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        try:
            found.append((entry.name, entry.load(), ""))
        except Exception as error:  # a broken package must not break the command line
            found.append((entry.name, None, f"{type(error).__name__}: {error}"))
    return found


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
        epilog="examples:\n  zoo\n  zoo run rosenbrock adam:lr=0.01 --start -1.2,1\n"
        "  zoo render rosenbrock adam:lr=0.05 --out race.gif\n  zoo lab --list\n\n"
        "exit status:\n  0  done\n  1  a check or experiment failed, or an unexpected error\n"
        f"  {EXIT_USAGE}  bad command line: unknown name, bad value, unwritable file, more\n"
        "     steps or memory than zoo.limits allows\n"
        f"  {EXIT_PLUGIN}  plugin code failed (its record, plugin and distribution are named)\n"
        f"  {EXIT_INTERRUPTED}  interrupted (Ctrl-C)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "--traceback",
        action="store_true",
        help=f"show the full traceback of an unexpected error (or set {DEBUG_VARIABLE}=1)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in CORE_COMMANDS:
        register(commands)
    for name, register, error in plugin_commands():
        try:
            if register is None:
                raise RuntimeError(error)
            register(commands)
        except Exception as failure:
            print(f"zoo: warning: commands of {name!r} not added: {failure}", file=sys.stderr)
    return parser


def _version() -> str:
    try:
        return metadata.version("optimizer-zoo")
    except metadata.PackageNotFoundError:
        return "unknown"


#: ``--start -1.2,1``: argparse takes ``-1.2,1`` for an option; such values are joined.
_NEGATIVE = re.compile(r"^-\.?\d")


def _join_negative_values(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """Turn ``--opt -1.5,1`` into ``--opt=-1.5,1`` for every option that takes a value."""
    takes_value = set()
    stack = [parser]
    while stack:
        current = stack.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend(action.choices.values())
            elif action.option_strings and action.nargs is None:
                takes_value.update(s for s in action.option_strings if s.startswith("--"))
    out: list[str] = []
    index = 0
    while index < len(argv):
        item = argv[index]
        if item in takes_value and index + 1 < len(argv) and _NEGATIVE.match(argv[index + 1]):
            out.append(f"{item}={argv[index + 1]}")
            index += 2
        else:
            out.append(item)
            index += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    heap.steady()  # the command owns its process: keep the memory a step frees
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--traceback" in argv or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    try:
        parser = build_parser()
        argv = [item for item in argv if item != "--traceback"]
        args = parser.parse_args(_join_negative_values(parser, argv))
        handler = getattr(args, "handler", None)
        if handler is None:
            if "app" not in _choices(parser):
                raise UsageError("the desktop app is not installed; see `zoo --help`")
            args = parser.parse_args(["app"])
            handler = args.handler
        if args.command not in GIVE_UP_ON_STUCK:
            return handler(args)
        with guard.give_up_on_stuck(_give_up):
            return handler(args)
    except (UsageError, LimitError, PluginFault) as error:
        fault = _plugin_failure(error)
        if debug and fault is not None:
            traceback.print_exception(fault)
        print(f"zoo: error: {error}", file=sys.stderr)
        return EXIT_USAGE if fault is None else EXIT_PLUGIN
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as error:
        if debug:
            traceback.print_exc()
        else:
            print(
                f"zoo: error: {type(error).__name__}: {error} "
                f"(run with --traceback or {DEBUG_VARIABLE}=1 for details)",
                file=sys.stderr,
            )
        return 1


def _give_up(origin: guard.Origin, stage: str, budget: float, where: str) -> None:
    """End the command on a plugin call that cannot be interrupted: one line, status 3."""
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        message = guard.stuck_message(origin, stage, budget, where)
        print(f"zoo: error: {message}", file=sys.stderr)
        sys.stderr.flush()
    os._exit(EXIT_PLUGIN)


def _plugin_failure(error: BaseException | None) -> BaseException | None:
    """The failure of plugin code behind ``error``, if any: a ``PluginFault``, or a
    ``PluginError`` anywhere in the chain of exceptions that led to it (usage errors
    wrap them)."""
    while error is not None:
        if isinstance(error, (PluginFault, PluginError)):
            return error
        error = error.__cause__ or error.__context__
    return None


def _choices(parser: argparse.ArgumentParser) -> dict[str, Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


if __name__ == "__main__":
    sys.exit(main())
