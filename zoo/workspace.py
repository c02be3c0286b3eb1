"""The scene being shown, held without any window: model, runs, selection, playback, view.

In the spirit of napari's ``ViewerModel``: the app's views (the main window, its panels,
the lab, the experiments dock, ``zoo render``) read a ``Workspace`` and change it only
through its methods, and it tells them what changed through plain events.  Nothing here
imports Qt, so the whole state of the app can be driven and tested headless.

Runs may be stepped by other threads; ``guard`` (set by whoever steps them) is asked
before every change and returns False when the runs cannot be changed right now.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.resources
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from zoo import expr, landscape, theory
from zoo.engine import EngineError, RunConfig, RunSet, build_problem
from zoo.landscape import LandscapeCache
from zoo.limits import check_runs
from zoo.problem import Plane, missing_needs
from zoo.session import Scene, SessionError, load_scene
from zoo.specs import SpecError, resolve_values

#: The lessons and experiment scenes, shipped as package data of ``zoo``.
LESSONS = Path(str(importlib.resources.files("zoo") / "lessons"))
#: The default scene's model, and the runs it races when their optimizers are registered.
DEFAULT_MODEL = "quadratic"
DEFAULT_SETTINGS = {"lambda1": 1.0, "lambda2": 20.0, "angle": 30.0}
DEFAULT_RUNS = (
    ("sgd", {"lr": 0.09}),
    ("momentum", {"lr": 0.02, "momentum": 0.9}),
    ("adam", {"lr": 0.08}),
    ("rmsprop", {"lr": 0.02}),
)
DEFAULT_START = (-1.6, 1.2)
#: The trail setting that draws whole paths (otherwise: the last that many steps);
#: scene files write it as ``playback.trail = 0``.
ALL_STEPS = None
View = tuple[tuple[float, float], tuple[float, float]]


class WorkspaceBusy(RuntimeError):
    """The runs cannot be changed now (a worker is still stepping them)."""


class Event:
    """Callbacks to call when something happened; ``emit`` passes its values on."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *values: Any) -> None:
        for callback in list(self._callbacks):
            callback(*values)


class WorkspaceEvents:
    """The workspace's events.

    ``runs_changed(selected)``: runs added, removed or edited; ``selection_changed(run)``;
    ``scene_changed(view)``: a new problem and run set (scene, model, seed, plugins), after
    the ``runs_changed`` and ``selection_changed`` it brings; ``playback_changed()``:
    playing, steps per frame or step limit; ``plane_changed(view)``; ``view_changed(view)``:
    a view asked for (not every zoom); ``trail_changed(trail)``; ``lesson_changed(lesson)``;
    ``plugins_changed()``: the registry's records changed (after the events that brings),
    so every chooser lists them again.
    """

    NAMES = (
        "scene_changed",
        "runs_changed",
        "selection_changed",
        "playback_changed",
        "plane_changed",
        "view_changed",
        "trail_changed",
        "lesson_changed",
        "plugins_changed",
    )

    def __init__(self) -> None:
        for name in self.NAMES:
            setattr(self, name, Event(name))


def _no_colour(_index: int) -> str:
    return ""


class Workspace:
    """Everything the app shows, and the one place where it changes."""

    def __init__(
        self,
        registry: Any = None,
        *,
        palette: Callable[[int], str] = _no_colour,
        cache: LandscapeCache | None = None,
    ) -> None:
        if registry is None:
            from zoo.registry import load_registry

            registry = load_registry()
        self.registry = registry
        self._read_prints = self._fingerprints()  # the records as first read
        self.palette = palette
        self.cache = cache or LandscapeCache(maxsize=24)
        self.events = WorkspaceEvents()
        self.guard: Callable[[], bool] = lambda: True
        self.model_name = ""
        self.settings: dict[str, Any] = {}
        self.seed = 0
        self.problem: Any = None
        self.runset: RunSet | None = None
        self.selected: int | None = None
        self.playing = False
        self.steps_per_frame = 1
        self.step_limit = 2000
        self.trail: int | None = ALL_STEPS
        self.full_history = False  # keep every step, not a thinned history
        self.plane_key = "model"
        self.view_plane: Plane | None = None
        self.view: View | None = None
        self.lesson: dict[str, Any] | None = None
        self.maps: dict[str, Any] | None = None  # the Maps dock's settings, saved in scenes
        #: Edits of a run's values continue it from where it is instead of restarting it.
        self.continue_on_edit = False

    # ------------------------------------------------------------------ scenes
    def load_scene(self, scene: Scene) -> None:
        """Show ``scene`` (its runs without a colour get the palette's); on
        ``SessionError`` or ``WorkspaceBusy`` nothing changes."""
        runs = self._coloured(scene.runs, 0)
        problem, runset, _ids = replace(scene, runs=runs).build(self.registry)
        self._ready()
        self.model_name = scene.model
        self.settings = self._typed_settings(scene.model, scene.settings)
        self.seed = int(scene.seed)
        self.steps_per_frame = int(scene.playback.get("steps_per_frame", 1))
        self.step_limit = int(scene.playback.get("step_limit", 2000))
        self.trail = scene.playback.get("trail", ALL_STEPS) or ALL_STEPS
        self.full_history = bool(scene.playback.get("full_history", 0))
        self.maps = scene.maps
        self._install(problem, runset, scene.view)
        self.events.playback_changed.emit()
        self.events.trail_changed.emit(self.trail)
        self.set_lesson(scene.lesson)

    def scene(self) -> Scene:
        """The current scene (model, settings, runs, view, playback, lesson) for saving."""
        playback = {
            "steps_per_frame": self.steps_per_frame,
            "step_limit": self.step_limit,
            "trail": self.trail or 0,
            "full_history": int(self.full_history),
        }
        return Scene(
            model=self.model_name,
            settings=dict(self.settings),
            seed=self.seed,
            runs=list(self.runset.configs.values()) if self.runset else [],
            view=None if self.problem is None or self.problem.dim == 1 else self.view,
            playback=playback,
            lesson=self.lesson,
            maps=self.maps,
        )

    def open_scene(self, path: str | Path) -> None:
        """Load a scene file; ``SessionError`` says why it cannot be shown."""
        self.load_scene(load_scene(Path(path), self.registry))

    def open_lesson(self, path_or_name: str | Path) -> Scene:
        """Load a lesson's scene (by path, file stem, or stem without its number)."""
        scene = load_scene(lesson_path(path_or_name), self.registry)
        self.load_scene(scene)
        return scene

    def set_lesson(self, lesson: dict[str, Any] | None) -> None:
        self.lesson = lesson
        self.events.lesson_changed.emit(lesson)

    # ------------------------------------------------------------------ model
    def set_model(self, name: str, settings: Mapping[str, Any] | None = None) -> list[str]:
        """Build model ``name``; the runs carry over (their starts too when only the
        settings changed).  Returns the runs left out as "label: reason" lines; raises
        ``EngineError`` (nothing changes) when the model cannot be built."""
        settings = dict(settings or {})
        try:
            problem = build_problem(name, settings, seed=self.seed, registry=self.registry)
        except EngineError:
            raise
        except KeyError as error:
            raise EngineError(str(error)) from None
        except Exception as error:  # a plugin's build that fails in its own way
            raise EngineError(f"model {name}: {type(error).__name__}: {error}") from None
        self._ready()
        same_model = name == self.model_name
        configs = list(self.runset.configs.values()) if self.runset else []
        if not same_model:
            configs = [replace(config, start=None) for config in configs]
        dropped = [
            f"{run_label(c, self.registry)}: {self._unusable(c, problem)}"
            for c in configs
            if self._unusable(c, problem)
        ]
        kept = [c for c in configs if not self._unusable(c, problem)]
        runset = RunSet(problem, self.registry, history="full" if self.full_history else "thinned")
        try:
            runset.add_many(kept)
        except EngineError:  # find the runs at fault one by one
            for config in kept:
                try:
                    runset.add(config)
                except EngineError as error:
                    dropped.append(f"{run_label(config, self.registry)}: {error}")
        if configs and not runset.configs:
            names = compatible_optimizers(self.registry, problem)
            if names:
                runset.add(RunConfig(names[0], color=self.palette(0)))
        self.model_name = name
        self.settings = self._typed_settings(name, settings)
        view = None
        if same_model and self.view is not None:
            view = problem.bounds if problem.dim == 1 else self.view
        self._install(problem, runset, view)
        return dropped

    def set_seed(self, seed: int) -> list[str]:
        self.seed = int(seed)
        return self.set_model(self.model_name, self.settings)

    def _unusable(self, config: RunConfig, problem: Any) -> str:
        spec = self.registry.optimizers.get(config.optimizer)
        if spec is None:
            return f"optimizer {config.optimizer} is not registered"
        missing = missing_needs(spec.needs, problem)
        return f"needs {', '.join(sorted(missing))}" if missing else ""

    def formulas_to_compile(self, name: str, settings: Mapping[str, Any]) -> list[str]:
        """The formulas that building model ``name`` with ``settings`` would compile
        first (sympy may need seconds): the text settings of a formula model not compiled
        or refused yet.  A text the parser refuses is left out, being refused at once."""
        spec = self.registry.models.get(name)
        if spec is None or spec.family != "formula":
            return []
        texts = []
        for param in spec.params:
            text = settings.get(param.name, param.default)
            if param.kind == "text" and isinstance(text, str) and not expr.is_compiled(text):
                try:
                    expr.parse_formula(text)
                except expr.FormulaError:
                    continue
                texts.append(text)
        return texts

    def _typed_settings(self, name: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        spec = self.registry.models.get(name)
        if spec is None:
            return dict(settings)
        try:
            return resolve_values(
                spec.params,
                settings,
                where=f"model {name}",
                activations=list(self.registry.activations) or None,
            )
        except SpecError:
            return dict(settings)

    def _install(self, problem: Any, runset: RunSet, view: Any) -> None:
        self.problem = problem
        self.runset = runset
        self.plane_key = "model"
        self.view_plane = problem.plane if problem.dim > 2 else None
        self.view = _as_view(view if view is not None else problem.bounds)
        self.selected = next(iter(runset.configs), None)
        self.events.runs_changed.emit(self.selected)
        self.events.selection_changed.emit(self.selected)
        self.events.scene_changed.emit(self.view)

    def reload_plugins(
        self, update: Callable[[], object] | None = None, done: str = "Local plugins reloaded"
    ) -> str:
        """Re-read the local plugin folder (or change the registry by ``update``: plugins
        loaded later are added this way too).  Runs whose records vanished are dropped,
        runs whose optimizer or schedule file changed start again, and the rest go on
        where they are; if the model's own file changed, every run starts again on it.

        Returns what the user should be told, which starts with ``done``."""
        self._ready()
        before = self._read_prints
        (update or self.registry.reload_local)()
        try:
            return self._records_changed(before, done)
        finally:
            self.events.plugins_changed.emit()

    def _records_changed(self, before: dict[tuple[str, str], Any], done: str) -> str:
        self._read_prints = self._fingerprints()
        if self.model_name not in self.registry.models:
            self.load_scene(default_scene(self.registry, self.palette))
            return "The model is gone; showing the default scene."
        after = self._read_prints
        self.cache.clear()
        gone = [
            run_id
            for run_id, config in self.runset.configs.items()
            if config.optimizer not in self.registry.optimizers
            or (config.schedule is not None and config.schedule not in self.registry.schedules)
        ]
        for run_id in gone:
            self.runset.remove(run_id)
        if before.get(("model", self.model_name)) != after.get(("model", self.model_name)):
            self.set_model(self.model_name, self.settings)
            return f"{done}; model {self.model_name} changed, so every run restarted"
        changed = {
            run_id: config
            for run_id, config in self.runset.configs.items()
            if any(
                before.get(key) != after.get(key)
                for key in (("optimizer", config.optimizer), ("schedule", config.schedule))
            )
        }
        for run_id in changed:  # all of a record's runs leave, so none joins its old batch
            self.runset.remove(run_id)
        new_ids = self.runset.add_many(list(changed.values())) if changed else []
        moved = dict(zip(changed, new_ids, strict=True))
        self._runs_changed(moved.get(self.selected, self.selected))
        parts = [done]
        if changed:
            parts.append(f"{len(changed)} run(s) of changed records restarted")
        if gone:
            parts.append(f"{len(gone)} run(s) of vanished records removed")
        return "; ".join(parts)

    def _fingerprints(self) -> dict[tuple[str, str], Any]:
        """What each record is: its source and, for a plugin file, the file's contents
        as read, so a reload can tell an edited record from one read again unchanged."""
        prints: dict[tuple[str, str], Any] = {}
        hashes: dict[str, str] = {}
        for kind in ("model", "optimizer", "schedule", "activation"):
            for name, record in self.registry.records(kind).items():
                source = self.registry.provenance(kind, name).source
                if source.endswith(".py") and Path(source).is_file():
                    if source not in hashes:
                        hashes[source] = hashlib.sha256(Path(source).read_bytes()).hexdigest()
                    prints[(kind, name)] = (source, hashes[source])
                else:
                    prints[(kind, name)] = (source, id(record))
        return prints

    # ------------------------------------------------------------------ view
    def set_plane(self, key: str) -> None:
        """The view plane of a model with more than two weights: ``"model"`` (its own) or
        ``"pca"`` (principal directions of the paths so far); ``ValueError`` if not yet."""
        if self.problem is None or self.problem.dim <= 2:
            return
        view = None
        if key == "pca":
            paths = [self.runset.history(run_id)[0] for run_id in self.runset.configs]
            paths = [p for p in paths if len(p) > 1]
            if not paths:
                raise ValueError("Run for a few steps first: the plane follows the paths.")
            plane = landscape.pca_plane(paths)
            view = landscape.fit_view(np.concatenate([project(plane, p) for p in paths]))
            self.view_plane = plane
        else:
            self.view_plane = self.problem.plane
        self.plane_key = key
        self.view = _as_view(view if view is not None else self.problem.bounds)
        self.events.plane_changed.emit(self.view)

    def show_view(self, view: Any = None) -> None:
        """Ask the views to show ``view`` (default: the model's bounds)."""
        self.view = _as_view(view if view is not None else self.problem.bounds)
        self.events.view_changed.emit(self.view)

    def track_view(self, view: Any) -> None:
        """Note what the user zoomed or panned to (saved with the scene; no event)."""
        self.view = _as_view(view)

    def to_view(self, x: np.ndarray) -> np.ndarray:
        """Weights (N, D) to view coordinates (N, 2)."""
        x = np.asarray(x, dtype=float)
        if self.problem.dim == 1:
            return np.stack([x[:, 0], np.zeros(len(x))], axis=1)
        if self.view_plane is None:
            return x[:, :2]
        return project(self.view_plane, x)

    def direction_to_view(self, vector: np.ndarray) -> np.ndarray:
        if self.view_plane is None:
            return np.asarray(vector, dtype=float)[:2]
        basis = np.stack([self.view_plane.u, self.view_plane.v], axis=1)
        return np.linalg.pinv(basis) @ vector

    def start_from_view(self, a: float, b: float) -> tuple[float, ...]:
        """The start (weights, or view coordinates the problem maps) of view point (a, b)."""
        if self.problem.dim == 1:
            return (float(a),)
        if self.view_plane is not None and self.plane_key != "model":
            return tuple(float(v) for v in self.view_plane.to_weights(a, b))
        return (float(a), float(b))

    def grid(self, view: Any, resolution: int) -> landscape.Grid:
        """The landscape of ``view`` on the current plane (cached)."""
        plane = self.view_plane if self.plane_key != "model" else None
        return self.cache.grid(
            self.problem,
            model=self.model_name,
            settings=self.settings,
            seed=self.seed,
            view=view,
            resolution=resolution,
            plane=plane,
        )

    def set_full_history(self, full: bool) -> None:
        """Keep every step of every run (``True``) or a thinned history; the runs start
        again, since the steps a thinned history left out are gone."""
        if bool(full) == self.full_history:
            return
        scene = self.scene()
        self.load_scene(replace(scene, playback={**scene.playback, "full_history": int(full)}))

    def set_trail(self, trail: int | None) -> None:
        """Draw whole paths (``None``) or the last ``trail`` steps of each."""
        trail = None if trail is None else max(1, int(trail))
        if trail != self.trail:
            self.trail = trail
            self.events.trail_changed.emit(trail)

    # ------------------------------------------------------------------ playback
    def play(self) -> None:
        self.playing = True
        self.events.playback_changed.emit()

    def pause(self) -> None:
        self.playing = False
        self.events.playback_changed.emit()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_steps_per_frame(self, value: int) -> None:
        self.steps_per_frame = int(min(max(value, 1), 1000))
        self.events.playback_changed.emit()

    def set_step_limit(self, value: int) -> None:
        """Stop each run at step ``value``; ``LimitError`` (nothing changes) when it is past
        ``zoo.limits.MOST_STEPS`` or, with the full history kept, that would not fit."""
        value = int(max(value, 1))
        runs = len(self.runset.configs) if self.runset is not None else 0
        dim = self.problem.dim if self.problem is not None else 1
        check_runs(max(1, runs), value, dim, full_history=self.full_history, where="step limit")
        self.step_limit = value
        self.events.playback_changed.emit()

    # ------------------------------------------------------------------ runs
    def select(self, run_id: int | None) -> None:
        if run_id is not None and (self.runset is None or run_id not in self.runset.configs):
            run_id = None
        if run_id != self.selected:
            self.selected = run_id
            self.events.selection_changed.emit(run_id)

    def selected_config(self) -> RunConfig | None:
        if self.selected is None or self.runset is None:
            return None
        return self.runset.configs.get(self.selected)

    def _coloured(self, configs: Iterable[RunConfig], first: int) -> list[RunConfig]:
        """``configs`` with the palette's colours, from index ``first``, for those without."""
        return [
            c if c.color else replace(c, color=self.palette(first + i))
            for i, c in enumerate(configs)
        ]

    def add_runs(self, configs: Iterable[RunConfig], select: bool = True) -> list[int]:
        """Add runs in one batch (colours are chosen for those without); ``EngineError``
        if one cannot be added, and then none is."""
        configs = self._coloured(configs, len(self.runset.configs))
        self._ready()
        ids = self.runset.add_many(configs)
        self._runs_changed(ids[-1] if ids and select else self.selected)
        return ids

    def add_run(self, config: RunConfig) -> int:
        return self.add_runs([config])[0]

    def new_run(self) -> RunConfig:
        """The run "Add" creates: Adam (or the first optimizer that fits) where the
        selected run starts, with the step size ``suggested_lr`` gives there."""
        names = compatible_optimizers(self.registry, self.problem)
        if not names:
            raise EngineError("no registered optimizer works with this model")
        selected = self.selected_config()
        name = "adam" if "adam" in names else names[0]
        config = RunConfig(name, start=selected.start if selected is not None else None)
        lr = self.suggested_lr(config)
        return config if lr is None else replace(config, hyper={"lr": lr})

    def suggested_lr(self, config: RunConfig) -> float | None:
        """η = 1/λ_max of the Hessian at the run's start (half the stability limit
        2/λ_max of gradient descent there), within the optimizer's range; None when the
        model has no curvature to go by or the optimizer has no ``lr``."""
        spec = self.registry.optimizers.get(config.optimizer)
        param = next((p for p in spec.params if p.name == "lr"), None) if spec else None
        if param is None or "hess" not in self.problem.provides:
            return None
        x0 = self.runset.start_of(config)
        try:
            with np.errstate(all="ignore"):
                top = float(np.max(theory.local_quadratic(self.problem, x0).eigenvalues))
        except Exception:  # a plugin's Hessian that fails here: keep the default
            return None
        if not np.isfinite(top) or top <= 0:
            return None
        lr = float(f"{1.0 / top:.2g}")
        low = param.low if param.low is not None else lr
        high = param.high if param.high is not None else lr
        return min(max(lr, low), high)

    def stability_warnings(self, most: int = 64) -> dict[int, str]:
        """Plain gradient-descent runs whose η is past the stability limit 2/λ_max of
        the Hessian at their start (they diverge there), with what to try instead; none
        past ``most`` runs, since each costs a Hessian."""
        if self.runset is None or len(self.runset.configs) > most:
            return {}
        if "hess" not in self.problem.provides:
            return {}
        warnings = {}
        for run_id, config in self.runset.configs.items():
            if not is_plain_gd(self.registry, config):
                continue
            try:
                with np.errstate(all="ignore"):
                    model = theory.local_quadratic(self.problem, self.runset.start_of(config))
                top = float(np.max(model.eigenvalues))
            except Exception:  # a plugin's Hessian that fails here says nothing
                continue
            spec = self.registry.optimizers[config.optimizer]
            default = next((p.default for p in spec.params if p.name == "lr"), None)
            lr = float(config.hyper.get("lr", default))
            if np.isfinite(top) and top > 0 and lr * top > 2.0 * (1 + 1e-9):
                warnings[run_id] = (
                    f"η = {lr:.3g} is past 2/λ_max = {2 / top:.3g} at the start: gradient "
                    "descent overshoots there and grows while the curvature stays that high "
                    f"(on a quadratic it diverges); try η = 1/λ_max = {1 / top:.3g}"
                )
        return warnings

    def duplicate(self, run_id: int) -> int:
        config = self.runset.configs[run_id]
        label = f"{config.label} (copy)" if config.label else ""
        return self.add_run(
            replace(config, label=label, color=self.palette(len(self.runset.configs)))
        )

    def sweep(
        self, run_id: int, name: str, values: Sequence[float], colours: Sequence[str]
    ) -> list[int]:
        """One copy of run ``run_id`` per value of hyper-parameter ``name``, added at once."""
        base = self.runset.configs[run_id]
        return self.add_runs(
            replace(
                base,
                hyper={**base.hyper, name: value},
                color=colour,
                label=f"{base.label} {name}={value:.3g}" if base.label else "",
            )
            for value, colour in zip(values, colours, strict=True)
        )

    def remove_run(self, run_id: int) -> None:
        self._ready()
        self.runset.remove(run_id)
        self._runs_changed(next(iter(self.runset.configs), None))

    def update_run(self, run_id: int, config: RunConfig, restart: bool | None = None) -> None:
        """Change a run; values restart it unless ``restart`` is False (``None``: restart
        unless ``continue_on_edit``; label, colour and visibility never restart it)."""
        old = self.runset.configs[run_id]
        if restart is None:
            cosmetic = replace(config, label=old.label, color=old.color, visible=old.visible) == old
            restart = not cosmetic and not self.continue_on_edit
        self._ready()
        self.runset.update(run_id, config, restart=restart)
        self._runs_changed(run_id)

    def edit_run(self, run_id: int, *, restart: bool | None = None, **changes: Any) -> None:
        self.update_run(run_id, replace(self.runset.configs[run_id], **changes), restart)

    def set_hyper(self, run_id: int, **values: Any) -> None:
        config = self.runset.configs[run_id]
        self.update_run(run_id, replace(config, hyper={**config.hyper, **values}))

    def set_starts(self, run_ids: Iterable[int], start: Sequence[float]) -> None:
        """Send runs to start at ``start`` (restarted)."""
        self._ready()
        for run_id in run_ids:
            self.runset.update(run_id, replace(self.runset.configs[run_id], start=tuple(start)))
        self._runs_changed(self.selected)

    def reset_runs(self) -> None:
        self._ready()
        self.runset.reset()
        self._runs_changed(self.selected)

    def _runs_changed(self, select: int | None) -> None:
        previous = self.selected
        self.selected = select if select in self.runset.configs else None
        self.events.runs_changed.emit(self.selected)
        if previous != self.selected:
            self.events.selection_changed.emit(self.selected)

    def _ready(self) -> None:
        if not self.guard():
            raise WorkspaceBusy("runs are still stepping; try again in a moment")

    def label(self, run_id: int) -> str:
        return run_label(self.runset.configs[run_id], self.registry)


# ---------------------------------------------------------------------- helpers
def project(plane: Plane, x: np.ndarray) -> np.ndarray:
    """Weights (N, D) to coordinates on ``plane`` (least squares)."""
    basis = np.stack([plane.u, plane.v], axis=1)
    return (np.asarray(x, dtype=float) - plane.origin) @ np.linalg.pinv(basis).T


def _as_view(view: Any) -> View:
    (x0, x1), (y0, y1) = view
    return (float(x0), float(x1)), (float(y0), float(y1))


def compatible_optimizers(registry: Any, problem: Any) -> list[str]:
    """Optimizers whose ``needs`` the problem meets, in the registry's order."""
    if problem is None:
        return []
    return [
        name for name, spec in registry.optimizers.items() if not missing_needs(spec.needs, problem)
    ]


def is_plain_gd(registry: Any, config: RunConfig | None) -> bool:
    """Whether ``config`` is gradient descent x ← x − η∇E: the registered ``sgd`` step
    with no momentum and no weight decay, the method step-size theory speaks of."""
    if config is None:
        return False
    sgd = registry.optimizers.get("sgd")
    spec = registry.optimizers.get(config.optimizer)
    if sgd is None or spec is None or spec.step is not sgd.step:
        return False
    hyper = config.hyper
    return float(hyper.get("momentum", 0.0)) == 0.0 and float(hyper.get("weight_decay", 0.0)) == 0


def run_label(config: RunConfig, registry: Any) -> str:
    """The name a run is shown by: the user's label if they gave one, else the optimizer
    and the values that differ from its defaults ("Momentum lr=0.02")."""
    if config.label:
        return config.label
    spec = registry.optimizers.get(config.optimizer)
    if spec is None:
        return config.optimizer
    parts = [spec.label or spec.name]
    for param in spec.params:
        value = config.hyper.get(param.name, param.default)
        if value == param.default:
            continue
        if param.kind == "bool":
            parts.append(param.name if value else f"no {param.name}")
        elif isinstance(value, float):
            parts.append(f"{param.name}={value:.3g}")
        else:
            parts.append(f"{param.name}={value}")
    if config.schedule:
        schedule = registry.schedules.get(config.schedule)
        parts.append(f"+ {schedule.label or schedule.name if schedule else config.schedule}")
    return " ".join(parts)


def default_scene(registry: Any, palette: Callable[[int], str] = _no_colour) -> Scene:
    """An ill-conditioned bowl with up to four optimizers racing from one start, chosen
    from what is registered (any registered model and optimizers if these are not)."""
    model, settings = DEFAULT_MODEL, dict(DEFAULT_SETTINGS)
    if model not in registry.models:
        model, settings = next(iter(registry.models), ""), {}
    if not model:
        raise SessionError("no model is registered; install or enable a model plugin")
    try:
        problem = build_problem(model, settings, registry=registry)
    except (EngineError, KeyError):
        problem = None
    names = compatible_optimizers(registry, problem)
    chosen = [(name, hyper) for name, hyper in DEFAULT_RUNS if name in names]
    for name in names:
        if len(chosen) >= len(DEFAULT_RUNS):
            break
        if all(name != taken for taken, _ in chosen):
            chosen.append((name, {}))
    start = DEFAULT_START if model == DEFAULT_MODEL else None
    runs = [
        RunConfig(name, dict(hyper), start=start, color=palette(index))
        for index, (name, hyper) in enumerate(chosen)
    ]
    return Scene(
        model=model,
        settings=settings,
        seed=0,
        runs=runs,
        playback={"steps_per_frame": 1, "step_limit": 2000},
    )


def lesson_files() -> list[Path]:
    return sorted(LESSONS.glob("*.json"))


def lesson_title(path: Path) -> str:
    try:
        return json.loads(path.read_text(encoding="utf-8"))["lesson"]["title"]
    except (OSError, ValueError, KeyError, TypeError):
        return path.stem


def lesson_path(path_or_name: str | Path) -> Path:
    """A lesson given by path, by file stem, or by the stem without its number."""
    path = Path(path_or_name)
    if path.is_file():
        return path
    for candidate in lesson_files():
        if str(path_or_name) in (candidate.stem, candidate.stem.split("_", 1)[-1]):
            return candidate
    names = [p.stem for p in lesson_files()]
    close = difflib.get_close_matches(str(path_or_name), names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise SessionError(
        f"no lesson {str(path_or_name)!r} ({hint}lessons: {', '.join(names) or 'none'})"
    )


__all__ = [
    "LESSONS",
    "Event",
    "Workspace",
    "WorkspaceBusy",
    "WorkspaceEvents",
    "compatible_optimizers",
    "default_scene",
    "is_plain_gd",
    "lesson_files",
    "lesson_path",
    "lesson_title",
    "project",
    "run_label",
]
