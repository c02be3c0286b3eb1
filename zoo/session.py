"""Scenes: a model, its settings, runs, view and playback saved as versioned JSON.

A scene file is data, never code: it is read with ``json`` only and every field is
checked before anything is built, so a corrupt, hand-edited or newer file is refused
with a ``SessionError`` that says which field is wrong and why.  Replaying a scene
builds the same problem (same model, settings and seed) and the same runs, so the
trajectories come out identical.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.atomic import write_bytes_atomic
from zoo.engine import EngineError, RunConfig, RunSet, build_problem
from zoo.limits import MOST_STEPS, LimitError, check_runs, check_work
from zoo.maps import checked_range
from zoo.registry import Wanted, wanted_record
from zoo.specs import NAME_PATTERN, SpecError, resolve_values

FORMAT = "optimizer-zoo-scene"
VERSION = 1
#: Scene files are small; anything much bigger is not a scene.
MAX_BYTES = 5_000_000
MAX_RUNS = 4096
MAX_LABEL = 200
MAX_LESSON_TEXT = 100_000
#: The model seed is shown in a 32-bit spin box; run seeds feed numpy (up to 2⁶³ − 1).
MODEL_SEED_LIMIT = 2**31
RUN_SEED_LIMIT = 2**63
#: Views beyond this are not pictures anyone can draw (and overflow the plotting).
VIEW_LIMIT = 1e9
COLOR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_PLAYBACK = {"steps_per_frame": 1, "step_limit": 2000}
#: ``trail`` (optional): how many recent steps of each path are drawn, 0 the whole path;
#: ``full_history`` (optional): 1 keeps every step of every run, 0 (the default) a
#: thinned history of ``zoo.HISTORY_POINTS`` points per run.
PLAYBACK_LIMITS = {
    "steps_per_frame": (1, 1000),
    "step_limit": (1, MOST_STEPS),
    "trail": (0, 10_000_000),
    "full_history": (0, 1),
}

View = tuple[tuple[float, float], tuple[float, float]]


class SessionError(ValueError):
    """A scene that cannot be read or built; the message names the field and the reason."""


@dataclass
class Scene:
    """Everything needed to replay a picture: model, runs, view, playback and lesson."""

    model: str
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    runs: list[RunConfig] = field(default_factory=list)
    view: View | None = None
    playback: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PLAYBACK))
    lesson: dict[str, Any] | None = None
    maps: dict[str, Any] | None = None  # the Maps dock's settings (see ``_maps``)

    def build(self, registry: Any) -> tuple[Any, RunSet, list[int]]:
        """The problem, a ``RunSet`` holding the scene's runs, and their ids in order."""
        try:
            problem = build_problem(self.model, self.settings, seed=self.seed, registry=registry)
            history = "full" if self.playback.get("full_history") else "thinned"
            runset = RunSet(problem, registry, history=history)
        except (EngineError, KeyError) as error:
            raise SessionError(f"scene cannot be built: {error}") from None
        try:
            check_runs(
                max(1, len(self.runs)),
                self.playback.get("step_limit", DEFAULT_PLAYBACK["step_limit"]),
                problem.dim,
                full_history=history == "full",
                where="playback.step_limit",
            )
        except LimitError as error:
            raise SessionError(str(error)) from None
        ids = []
        for index, config in enumerate(self.runs):
            try:
                ids.append(runset.add(config))
            except (EngineError, KeyError) as error:
                raise SessionError(f"runs[{index}] cannot be built: {error}") from None
        return problem, runset, ids


# --------------------------------------------------------------------------- writing
def scene_to_dict(scene: Scene) -> dict[str, Any]:
    """The JSON-ready dictionary of ``scene`` (the file format of version ``VERSION``)."""
    data: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "model": {"name": scene.model, "settings": _plain(scene.settings)},
        "seed": int(scene.seed),
    }
    if scene.view is not None:
        data["view"] = [[float(v) for v in pair] for pair in scene.view]
    data["runs"] = [
        {
            "optimizer": run.optimizer,
            "hyper": _plain(run.hyper),
            "schedule": run.schedule,
            "schedule_params": _plain(run.schedule_params),
            "start": None if run.start is None else [float(v) for v in run.start],
            "seed": int(run.seed),
            "batch_size": int(run.batch_size),
            "label": run.label,
            "color": run.color,
            "visible": bool(run.visible),
        }
        for run in scene.runs
    ]
    data["playback"] = {key: int(value) for key, value in scene.playback.items()}
    if scene.lesson is not None:
        data["lesson"] = dict(scene.lesson)
    if scene.maps is not None:
        data["maps"] = dict(scene.maps)
    return data


def save_scene(scene: Scene, path: str | Path) -> None:
    """Write ``scene`` as indented JSON, whole or not at all.

    The file is written to a temporary name in the same folder, flushed to disk and
    renamed over ``path``; on any failure (a value JSON cannot hold, text that is not
    valid Unicode, a full disk) the old file stays byte-identical and ``SessionError``
    says why.
    """
    path = Path(path)
    try:
        text = json.dumps(scene_to_dict(scene), indent=2, allow_nan=False, ensure_ascii=False)
        data = (text + "\n").encode("utf-8")
    except (TypeError, ValueError) as error:  # NaN, infinity, lone surrogates, objects
        raise SessionError(f"scene not saved to {path.name}: {_reason(error)}") from None
    try:
        write_bytes_atomic(path, data)
    except OSError as error:
        raise SessionError(f"scene not saved: {error}") from None


def _reason(error: Exception) -> str:
    if isinstance(error, UnicodeEncodeError):
        return f"text holds a character that cannot be saved ({error.object[error.start]!r})"
    return str(error)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if hasattr(value, "item"):  # numpy scalars
            value = value.item()
        out[str(key)] = value
    return out


# --------------------------------------------------------------------------- reading
def load_scene(path_or_text: str | Path, registry: Any = None) -> Scene:
    """Read a scene from a file path or from JSON text, checking every field.

    With ``registry`` the names (model, optimizers, schedules) and values are checked
    against what is registered too.  Raises ``SessionError`` with the reason.
    """
    if isinstance(path_or_text, Path) or not str(path_or_text).lstrip().startswith("{"):
        path = Path(path_or_text)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise SessionError(f"{path.name}: too large to be a scene file")
            raw = path.read_bytes()
        except OSError as error:
            raise SessionError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionError(f"{path.name}: not a text file (not UTF-8)") from None
        where = path.name
    else:
        text, where = str(path_or_text), "scene"
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise SessionError(
            f"{where}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"
        ) from None
    except SessionError as error:
        raise SessionError(f"{where}: {error}") from None
    except RecursionError:
        raise SessionError(f"{where}: nested too deeply to be a scene") from None
    except ValueError as error:  # integers beyond Python's digit limit
        raise SessionError(f"{where}: a number is too long ({error})") from None
    try:
        return scene_from_dict(data, registry)
    except SessionError as error:
        raise SessionError(f"{where}: {error}") from None


def _refuse_constant(name: str) -> Any:
    raise SessionError(f"{name} is not a valid number in a scene file")


def scene_from_dict(data: Any, registry: Any = None) -> Scene:
    """A ``Scene`` from the parsed JSON, every field checked; ``SessionError`` says why not."""
    if not isinstance(data, dict):
        raise SessionError("a scene must be a JSON object")
    if data.get("format") != FORMAT:
        raise SessionError(f"'format' must be {FORMAT!r}, got {data.get('format')!r}")
    version = data.get("version")
    if not _is_int(version) or version < 1:
        raise SessionError(f"'version' must be a positive whole number, got {version!r}")
    if version > VERSION:
        raise SessionError(
            f"the file is version {version}, newer than this program understands ({VERSION}); "
            "update Optimizer Zoo to open it"
        )
    allowed = {"format", "version", "model", "seed", "view", "runs", "playback", "lesson", "maps"}
    _no_unknown(data, allowed, "scene")
    model, settings = _model(data.get("model"))
    seed = _seed(data.get("seed", 0), "'seed'", MODEL_SEED_LIMIT)
    runs_data = data.get("runs", [])
    if not isinstance(runs_data, list):
        raise SessionError("'runs' must be a list")
    if len(runs_data) > MAX_RUNS:
        raise SessionError(f"'runs' holds {len(runs_data)} runs; at most {MAX_RUNS} are allowed")
    runs = [_run(item, index) for index, item in enumerate(runs_data)]
    scene = Scene(
        model=model,
        settings=settings,
        seed=int(seed),
        runs=runs,
        view=_view(data["view"]) if data.get("view") is not None else None,
        playback=_playback(data.get("playback")),
        lesson=_lesson(data["lesson"]) if data.get("lesson") is not None else None,
        maps=_maps(data["maps"]) if data.get("maps") is not None else None,
    )
    if registry is not None:
        _check_names(scene, registry)
    return scene


def _model(item: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise SessionError("'model' must be an object with 'name' and 'settings'")
    _no_unknown(item, {"name", "settings"}, "model")
    name = _name(item.get("name"), "model.name")
    return name, _values(item.get("settings", {}), "model.settings")


def _run(item: Any, index: int) -> RunConfig:
    where = f"runs[{index}]"
    if not isinstance(item, dict):
        raise SessionError(f"{where} must be an object")
    allowed = {
        "optimizer",
        "hyper",
        "schedule",
        "schedule_params",
        "start",
        "seed",
        "batch_size",
        "label",
        "color",
        "visible",
    }
    _no_unknown(item, allowed, where)
    optimizer = _name(item.get("optimizer"), f"{where}.optimizer")
    schedule = item.get("schedule")
    if schedule is not None:
        schedule = _name(schedule, f"{where}.schedule")
    start = item.get("start")
    if start is not None:
        if not isinstance(start, list) or not start or not all(_is_number(v) for v in start):
            raise SessionError(f"{where}.start must be a list of finite numbers or null")
        start = tuple(float(v) for v in start)
    seed = _seed(item.get("seed", 0), f"{where}.seed", RUN_SEED_LIMIT)
    batch_size = item.get("batch_size", 0)
    if not _is_int(batch_size) or batch_size < 0:
        raise SessionError(f"{where}.batch_size must be 0 or a positive whole number")
    label = _text(item.get("label", ""), f"{where}.label", MAX_LABEL)
    color = item.get("color", "")
    if not isinstance(color, str) or (color and not COLOR_PATTERN.match(color)):
        raise SessionError(f"{where}.color must be '#rrggbb' or empty, got {color!r}")
    visible = item.get("visible", True)
    if not isinstance(visible, bool):
        raise SessionError(f"{where}.visible must be true or false")
    return RunConfig(
        optimizer=optimizer,
        hyper=_values(item.get("hyper", {}), f"{where}.hyper"),
        schedule=schedule,
        schedule_params=_values(item.get("schedule_params", {}), f"{where}.schedule_params"),
        start=start,
        seed=int(seed),
        batch_size=int(batch_size),
        label=label,
        color=color,
        visible=visible,
    )


def _view(item: Any) -> View:
    ok = (
        isinstance(item, list)
        and len(item) == 2
        and all(
            isinstance(pair, list) and len(pair) == 2 and all(_is_number(v) for v in pair)
            for pair in item
        )
    )
    if not ok:
        raise SessionError("'view' must be [[xmin, xmax], [ymin, ymax]] of finite numbers")
    if any(abs(v) > VIEW_LIMIT for pair in item for v in pair):
        raise SessionError(f"'view' must lie within ±{VIEW_LIMIT:g}")
    (x0, x1), (y0, y1) = item
    if not (x0 < x1 and y0 < y1):
        raise SessionError("'view' needs xmin < xmax and ymin < ymax")
    return (float(x0), float(x1)), (float(y0), float(y1))


def _playback(item: Any) -> dict[str, int]:
    playback = dict(DEFAULT_PLAYBACK)
    if item is None:
        return playback
    if not isinstance(item, dict):
        raise SessionError("'playback' must be an object")
    _no_unknown(item, set(PLAYBACK_LIMITS), "playback")
    for key, value in item.items():
        low, high = PLAYBACK_LIMITS[key]
        if not _is_int(value) or not low <= value <= high:
            raise SessionError(f"playback.{key} must be a whole number from {low} to {high}")
        playback[key] = int(value)
    return playback


MAP_LIMITS = {"grid": (4, 512), "steps": (1, 100_000)}
MAP_QUANTITIES = ("basin", "steps_to_tol", "final_loss", "rate", "end", "diverged")


def _maps(item: Any) -> dict[str, Any]:
    """Map settings: kind, optimizer, the two axes of a hyper-parameter map, size, colour."""
    if not isinstance(item, dict):
        raise SessionError("'maps' must be an object")
    known = {"kind", "optimizer", "x", "y", "x_range", "y_range", *MAP_LIMITS, "quantity"}
    _no_unknown(item, known, "maps")
    if item.get("kind") not in ("basin", "hyper"):
        raise SessionError("maps.kind must be 'basin' or 'hyper'")
    out: dict[str, Any] = {"kind": item["kind"]}
    out["optimizer"] = _name(item.get("optimizer"), "maps.optimizer")
    for key in ("x", "y"):
        if item.get(key):
            out[key] = _name(item[key], f"maps.{key}")
        if item.get(f"{key}_range") is not None:
            out[f"{key}_range"] = _map_range(item[f"{key}_range"], out.get(key), key)
    for key, (low, high) in MAP_LIMITS.items():
        value = item.get(key)
        if value is not None:
            if not _is_int(value) or not low <= value <= high:
                raise SessionError(f"maps.{key} must be a whole number from {low} to {high}")
            out[key] = int(value)
    if "grid" in out and "steps" in out:
        try:
            grid, steps = out["grid"], out["steps"]
            check_work(grid**2, steps, f"maps.grid {grid} × {grid} runs × maps.steps {steps:,}")
        except LimitError as error:
            raise SessionError(str(error)) from None
    if item.get("quantity") is not None:
        if item["quantity"] not in MAP_QUANTITIES:
            raise SessionError(f"maps.quantity must be one of {', '.join(MAP_QUANTITIES)}")
        out["quantity"] = item["quantity"]
    return out


def _map_range(item: Any, name: str | None, key: str) -> dict[str, Any]:
    """An axis range ``{"low", "high", "log"}``, checked as ``zoo map --range`` is."""
    where = f"maps.{key}_range"
    if not isinstance(item, dict):
        raise SessionError(f"{where} must be an object with 'low', 'high' and 'log'")
    _no_unknown(item, {"low", "high", "log"}, where)
    low, high, log = item.get("low"), item.get("high"), item.get("log", False)
    if not (_is_number(low) and _is_number(high)):
        raise SessionError(f"{where}.low and .high must be finite numbers")
    if not isinstance(log, bool):
        raise SessionError(f"{where}.log must be true or false")
    if name is None:
        raise SessionError(f"{where} is given without maps.{key}")
    try:
        _, low, high, log = checked_range(name, low, high, log)
    except ValueError as error:
        raise SessionError(f"{where}: {error}") from None
    return {"low": low, "high": high, "log": log}


def _lesson(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SessionError("'lesson' must be an object")
    _no_unknown(item, {"title", "text", "panels"}, "lesson")
    title = _text(item.get("title", ""), "lesson.title", MAX_LABEL)
    text = _text(item.get("text", ""), "lesson.text", MAX_LESSON_TEXT)
    panels = item.get("panels", [])
    if not isinstance(panels, list) or not all(isinstance(p, str) for p in panels):
        raise SessionError("lesson.panels must be a list of panel names")
    return {"title": title, "text": text, "panels": list(panels)}


def wanted_by_scene(scene: Scene, registry: Any) -> list[Wanted]:
    """The records ``scene`` names, with the activations its settings name, for
    ``zoo.registry.load_for``."""
    wanted = wanted_record(registry, "model", scene.model, scene.settings)
    for run in scene.runs:
        wanted += wanted_record(registry, "optimizer", run.optimizer, run.hyper)
        if run.schedule is not None:
            wanted += wanted_record(registry, "schedule", run.schedule, run.schedule_params)
    if scene.maps is not None:
        wanted.append(("optimizer", scene.maps["optimizer"]))
    return wanted


def _check_names(scene: Scene, registry: Any) -> None:
    """Refuse names nothing provides and values their ``Param``s refuse."""
    activations = list(registry.activations) or None
    try:
        spec = registry.get("model", scene.model)
        resolve_values(
            spec.params, scene.settings, where=f"model {spec.name}", activations=activations
        )
        for index, run in enumerate(scene.runs):
            where = f"runs[{index}]"
            optimizer = registry.get("optimizer", run.optimizer)
            resolve_values(
                optimizer.params,
                run.hyper,
                where=f"{where} {optimizer.name}",
                activations=activations,
            )
            if run.schedule is not None:
                schedule = registry.get("schedule", run.schedule)
                resolve_values(
                    schedule.params, run.schedule_params, where=f"{where} schedule {schedule.name}"
                )
            elif run.schedule_params:
                raise SessionError(f"{where}: schedule_params given without a schedule")
    except (KeyError, SpecError) as error:
        raise SessionError(str(error)) from None
    if scene.maps is not None:
        _check_map_ranges(scene.maps, registry)


def _check_map_ranges(settings: dict[str, Any], registry: Any) -> None:
    """Refuse a map range beyond the declared low/high of the optimizer's hyper-parameter."""
    spec = registry.optimizers.get(settings["optimizer"])
    params = {p.name: p for p in spec.params} if spec is not None else {}
    for key in ("x", "y"):
        axis = settings.get(f"{key}_range")
        param = params.get(settings.get(key, ""))
        if axis is None or param is None:
            continue
        try:
            checked_range(
                param.name, axis["low"], axis["high"], axis["log"], (param.low, param.high)
            )
        except ValueError as error:
            raise SessionError(f"maps.{key}_range: {error}") from None


def _no_unknown(item: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise SessionError(
            f"{where} has unknown field {', '.join(map(repr, unknown))} "
            f"(known: {', '.join(sorted(allowed))})"
        )


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        raise SessionError(f"{where} must be a lowercase name, got {value!r}")
    return value


def _values(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SessionError(f"{where} must be an object of name: value")
    for key, value in item.items():
        if not NAME_PATTERN.match(key):
            raise SessionError(f"{where}: {key!r} is not a parameter name")
        if not (isinstance(value, (str, bool)) or _is_number(value)):
            raise SessionError(f"{where}.{key} must be a number, true/false or text")
    return dict(item)


def _seed(value: Any, where: str, limit: int) -> int:
    if not _is_int(value) or not 0 <= value < limit:
        raise SessionError(f"{where} must be a whole number from 0 to {limit - 1}, got {value!r}")
    return int(value)


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise SessionError(f"{where} must be text of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise SessionError(f"{where} holds an invalid character (a lone surrogate)") from None
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


__all__ = [
    "FORMAT",
    "VERSION",
    "Scene",
    "SessionError",
    "load_scene",
    "save_scene",
    "scene_from_dict",
    "scene_to_dict",
    "wanted_by_scene",
]
