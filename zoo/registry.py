"""Collect records from every plugin, validate them once, and keep going past failures.

Order of loading: the zoo's own entry points of the group ``optimizer_zoo`` (the
built-ins), then the other distributions' entry points of that group, then ``*.py``
files of the local plugin folder, then whatever is passed to ``Registry.register`` at
run time.  A plugin that fails to import, raises in a hook, returns a malformed record or
reuses a taken name is recorded in ``failures`` and skipped; everything else still loads.

The built-ins always load first, so a name a built-in holds is always the built-in's:
another plugin's record or plugin of that name is refused.  That is what lets a command
that names only built-ins skip every other import (``load_for``), and the app start on
the built-ins alone (``load_builtins``) while it imports the rest on another thread
(``load_deferred``) into a registry of its own, which ``Registry.adopt`` then adds: a
third-party import may take seconds, and nothing should wait for it that does not need it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pluggy

from zoo import guard, hookspecs
from zoo.specs import (
    ActivationSpec,
    ModelSpec,
    OptimizerSpec,
    Provenance,
    ScheduleSpec,
    SpecError,
    validate_record,
)

KINDS = ("optimizer", "activation", "model", "schedule")
HOOK_OF_KIND = {
    "optimizer": "zoo_optimizers",
    "activation": "zoo_activations",
    "model": "zoo_models",
    "schedule": "zoo_schedules",
}
LOCAL_MODULE_PREFIX = "optimizer_zoo_local."
#: The distribution whose entry points are the built-in plugins.
BUILTIN_DISTRIBUTION = "optimizer-zoo"
#: Told each plugin's name before it is imported (the app shows it while it waits).
Progress = Callable[[str], object]
#: Hook-implementation options the registry does not honour: it calls every plugin's hook
#: once, on its own, so wrapping and ordering mean nothing.
UNHONOURED_OPTIONS = ("hookwrapper", "wrapper", "tryfirst", "trylast")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin, or one of its records, that could not be loaded."""

    plugin: str
    source: str
    message: str


#: Seconds of importing after which ``zoo plugins`` and the app's plugin view say how long a
#: plugin took (every command that needs records waits for it).
SLOW_IMPORT = 1.0


@dataclass(frozen=True)
class PluginInfo:
    """A plugin that loaded (possibly with some records refused)."""

    name: str
    source: str
    origin: str  # "entry point", "local folder" or "registered"
    import_seconds: float = 0.0  # how long importing it took

    @property
    def slow(self) -> str:
        """``"plugin X took 8.0 s to import"`` when that was over ``SLOW_IMPORT``, else ``""``."""
        if self.import_seconds < SLOW_IMPORT:
            return ""
        return f"plugin {self.name} took {self.import_seconds:.1f} s to import"


class UnknownName(KeyError):
    """A name that no plugin provides; the message lists the valid ones."""

    def __str__(self) -> str:
        return str(self.args[0])


def local_plugin_dirs() -> list[Path]:
    """The folders searched for ``*.py`` plugins: ``ZOO_PLUGIN_PATH`` or the user folder."""
    override = os.environ.get("ZOO_PLUGIN_PATH")
    if override is not None:
        return [Path(p).expanduser() for p in override.split(os.pathsep) if p]
    import platformdirs

    return [Path(platformdirs.user_config_dir("optimizer-zoo")) / "plugins"]


def disabled_plugins() -> frozenset[str]:
    text = os.environ.get("ZOO_DISABLE_PLUGINS", "")
    return frozenset(name.strip() for name in text.split(",") if name.strip())


class Registry:
    """Every record by kind and name, where each came from, and what failed."""

    def __init__(self) -> None:
        self._manager = pluggy.PluginManager(hookspecs.PROJECT)
        self._manager.add_hookspecs(hookspecs)
        self._records: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._provenance: dict[tuple[str, str], Provenance] = {}
        self.failures: list[PluginFailure] = []
        self.plugins: list[PluginInfo] = []
        self._disabled = disabled_plugins()

    # ----------------------------------------------------------------- reading
    @property
    def optimizers(self) -> dict[str, OptimizerSpec]:
        return self._records["optimizer"]

    @property
    def activations(self) -> dict[str, ActivationSpec]:
        return self._records["activation"]

    @property
    def models(self) -> dict[str, ModelSpec]:
        return self._records["model"]

    @property
    def schedules(self) -> dict[str, ScheduleSpec]:
        return self._records["schedule"]

    def records(self, kind: str) -> dict[str, Any]:
        return self._records[kind]

    def get(self, kind: str, name: str) -> Any:
        """The record ``name`` of ``kind``; ``UnknownName`` lists the valid names."""
        try:
            return self._records[kind][name]
        except KeyError:
            valid = ", ".join(sorted(self._records[kind])) or "none"
            raise UnknownName(f"unknown {kind} {name!r} (valid: {valid})") from None

    def provenance(self, kind: str, name: str) -> Provenance:
        return self._provenance[(kind, name)]

    def origin(self, kind: str, name: str) -> guard.Origin:
        """Who ``name`` is, for ``zoo.guard`` messages (an unregistered record has no plugin)."""
        provenance = self._provenance.get((kind, name))
        if provenance is None:
            return guard.Origin(kind, name)
        return guard.Origin(kind, name, provenance.plugin, provenance.source)

    # ----------------------------------------------------------------- editing
    def add(self, record: Any, plugin: str = "script", source: str = "") -> None:
        """Add one record as if ``plugin`` had returned it; raise ``SpecError`` if it is
        malformed or its name is taken."""
        message = self._admit(record, None, Provenance(plugin, source or "added at run time"))
        if message is not None:
            raise SpecError(message)

    def remove(self, kind: str, name: str) -> None:
        """Forget the record ``name`` of ``kind``; ``UnknownName`` if there is none."""
        self.get(kind, name)
        del self._records[kind][name]
        del self._provenance[(kind, name)]

    def plugin_object(self, name: str) -> Any:
        """The module or object registered under plugin ``name`` (None if unknown)."""
        return self._manager.get_plugin(name)

    def __iter__(self) -> Iterator[tuple[str, str, Any]]:
        for kind in KINDS:
            for name, record in self._records[kind].items():
                yield kind, name, record

    # ----------------------------------------------------------------- loading
    def load_entry_points(
        self, *, builtin: bool | None = None, progress: Progress | None = None
    ) -> None:
        """Import the plugins of the entry-point group: all of them, or with ``builtin``
        only the zoo's own (True) or only the others (False)."""
        for entry in sorted(entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if entry.name in self._disabled:
                continue
            dist = entry.dist
            if builtin is not None and _is_builtin(dist) != builtin:
                continue
            source = f"{dist.name} {dist.version}" if dist is not None else entry.value
            if progress is not None:
                progress(entry.name)
            started = time.monotonic()
            try:
                plugin = guard.call(guard.Origin(plugin=entry.name), "import", entry.load)
            except guard.PluginFault as fault:
                self._fail(entry.name, source, f"import failed: {fault.reason}")
                continue
            seconds = time.monotonic() - started
            self._add_plugin(plugin, entry.name, source, "entry point", seconds)

    def load_local(
        self, folders: Iterable[Path] | None = None, *, progress: Progress | None = None
    ) -> None:
        """Import every ``*.py`` in the local plugin folders (fresh each call)."""
        for folder in local_plugin_dirs() if folders is None else folders:
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*.py")):
                name = path.stem
                if name.startswith("_") or name in self._disabled:
                    continue
                module_name = LOCAL_MODULE_PREFIX + name
                sys.modules.pop(module_name, None)
                if progress is not None:
                    progress(name)
                started = time.monotonic()
                try:
                    module = guard.call(
                        guard.Origin(plugin=name), "import", _import_file, module_name, path
                    )
                except guard.PluginFault as fault:
                    sys.modules.pop(module_name, None)
                    self._fail(name, str(path), f"import failed: {fault.reason}")
                    continue
                seconds = time.monotonic() - started
                self._add_plugin(module, name, str(path), "local folder", seconds)

    def adopt(self, other: Registry) -> None:
        """Add the plugins, records and failures of ``other`` (see ``load_deferred``) as
        if they had been loaded here after what is here already: a plugin or record name
        taken here is refused with the message loading would give."""
        refused = set()
        for info in other.plugins:
            clash = self._clash(info.name)
            if clash:
                self._fail(info.name, info.source, clash)
                refused.add(info.name)
                continue
            self._manager.register(other.plugin_object(info.name), name=info.name)
            self.plugins.append(info)
        sources = {info.name: info.source for info in other.plugins}
        self.failures += [
            failure
            for failure in other.failures
            if not (failure.plugin in refused and failure.source == sources[failure.plugin])
        ]
        for kind, name, record in other:
            provenance = other.provenance(kind, name)
            if provenance.plugin in refused:
                continue
            message = self._admit(record, kind, provenance)
            if message is not None:
                self._fail(provenance.plugin, provenance.source, message)

    def register(self, plugin: Any, name: str | None = None, source: str = "") -> None:
        """Add a module or object with hook implementations at run time."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if name in self._disabled:
            return
        self._add_plugin(plugin, name, source or "registered at run time", "registered")

    def unregister(self, name: str) -> None:
        """Forget plugin ``name``, its records and its failures."""
        self._forget({name})
        self.failures = [f for f in self.failures if f.plugin != name]

    def unregister_origin(self, origin: str) -> None:
        """Forget every plugin of one origin, its records and failures (for reloading)."""
        self._forget({p.name for p in self.plugins if p.origin == origin})
        if origin == "local folder":
            folders = tuple(str(folder) for folder in local_plugin_dirs())
            self.failures = [f for f in self.failures if not f.source.startswith(folders)]

    def reload_local(self) -> None:
        """Pick up new, edited or removed files in the local plugin folder."""
        self.replace_local(load_local_only())

    def replace_local(self, loaded: Registry) -> None:
        """``reload_local`` with the folder already read into ``loaded``
        (``load_local_only``, which the app runs on another thread)."""
        self.unregister_origin("local folder")
        self.adopt(loaded)

    # --------------------------------------------------------------- internals
    def _forget(self, names: set[str]) -> None:
        self.plugins = [p for p in self.plugins if p.name not in names]
        for kind in KINDS:
            for record_name in list(self._records[kind]):
                if self._provenance[(kind, record_name)].plugin in names:
                    del self._records[kind][record_name]
                    del self._provenance[(kind, record_name)]
        for name in names:
            plugin = self._manager.get_plugin(name)
            if plugin is not None:
                self._manager.unregister(plugin, name=name)

    def _clash(self, name: str) -> str:
        """Why a plugin called ``name`` cannot be added ("" if it can)."""
        if not self._manager.has_plugin(name):
            return ""
        other = next((p for p in self.plugins if p.name == name), None)
        where = other.source if other else "another plugin"
        return f"a plugin named {name!r} is already loaded from {where}"

    def _fail(self, plugin: str, source: str, message: str) -> None:
        self.failures.append(PluginFailure(plugin, source, message))

    def _add_plugin(
        self, plugin: Any, name: str, source: str, origin: str, seconds: float = 0.0
    ) -> None:
        clash = self._clash(name)
        if clash:
            self._fail(name, source, clash)
            return
        try:
            self._manager.register(plugin, name=name)
        except Exception as error:  # pluggy refuses malformed hook implementations
            self._fail(name, source, f"not a valid plugin: {guard.describe(error)}")
            return
        self.plugins.append(PluginInfo(name, source, origin, seconds))
        provenance = Provenance(name, source)
        for message in _hook_mistakes(self._manager, plugin, name, origin != "registered"):
            self._fail(name, source, message)
        for kind, hook_name in HOOK_OF_KIND.items():
            hook = getattr(self._manager.hook, hook_name)
            for impl in hook.get_hookimpls():
                if impl.plugin_name != name:
                    continue
                unhonoured = [option for option in UNHONOURED_OPTIONS if impl.opts.get(option)]
                if unhonoured:
                    self._fail(
                        name,
                        source,
                        f"{hook_name}: hookimpl option {', '.join(unhonoured)} is not honoured "
                        "(every plugin's hook is called once, on its own); remove it",
                    )
                    continue
                try:
                    records = guard.collect(guard.Origin(plugin=name), impl.function)
                except guard.PluginFault as fault:
                    self._fail(name, source, f"{hook_name}() failed: {fault.reason}")
                    continue
                for record in records:
                    message = self._admit(record, kind, provenance)
                    if message is not None:
                        self._fail(name, source, message)

    def _admit(self, record: Any, kind: str | None, provenance: Provenance) -> str | None:
        """Validate and store one record; the reason it was refused, or None."""
        plugin, source = provenance.plugin, provenance.source
        try:
            record_kind = validate_record(record)
        except SpecError as error:
            return str(error)
        except Exception as error:
            return f"malformed record: {guard.describe(error)}"
        if kind is not None and record_kind != kind:
            return f"{HOOK_OF_KIND[kind]}() returned a {record_kind} {record.name!r}"
        taken = self._provenance.get((record_kind, record.name))
        if taken is not None:
            return (
                f"{record_kind} {record.name!r} is already provided by plugin {taken.plugin!r} "
                f"({taken.source}); this one from plugin {plugin!r} ({source}) is skipped"
            )
        self._records[record_kind][record.name] = record
        self._provenance[(record_kind, record.name)] = provenance
        return None


def _is_builtin(dist: Any) -> bool:
    name = getattr(dist, "name", None) or ""
    return name.lower().replace("_", "-") == BUILTIN_DISTRIBUTION


def _import_file(module_name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _hook_mistakes(
    manager: pluggy.PluginManager, plugin: Any, name: str, needs_hook: bool = False
) -> list[str]:
    """Hooks a plugin meant to implement but the zoo will not call: unknown or misspelt
    ``zoo_*`` names, and hook functions without ``@zoo.hookimpl``; with ``needs_hook``
    (a file or entry point), also a plugin without a hook, which could only be a mistake."""
    valid = sorted(HOOK_OF_KIND.values())
    listing = ", ".join(valid)
    implemented = set()
    mistakes = []
    for caller in manager.get_hookcallers(plugin) or ():
        implemented.add(caller.name)
        if caller.name not in valid:
            mistakes.append(f"{caller.name} is not a hook of the zoo (valid hooks: {listing})")
    for attribute in dir(plugin):
        if not attribute.startswith("zoo_") or attribute in implemented:
            continue
        if not callable(getattr(plugin, attribute, None)):
            continue
        if attribute in valid:
            mistakes.append(f"{attribute} is not decorated with @zoo.hookimpl, so it is not called")
        else:
            mistakes.append(f"{attribute} is not a hook of the zoo (valid hooks: {listing})")
    if needs_hook and not mistakes and not implemented & set(valid):
        mistakes.append(
            f"defines no hook of the zoo, so it adds nothing (valid hooks: {listing}, "
            "each decorated with @zoo.hookimpl)"
        )
    return mistakes


def load_registry(*, local: bool = True) -> Registry:
    """A registry with the built-ins, installed plugins and (by default) local plugins,
    in that order."""
    registry = Registry()
    registry.load_entry_points(builtin=True)
    registry.load_entry_points(builtin=False)
    if local:
        registry.load_local()
    return registry


#: A record a command needs: ``(kind, name)``.
Wanted = tuple[str, str]


def load_for(wanted: Callable[[Registry], Iterable[Wanted]]) -> Registry:
    """The built-ins, and everything ``load_registry`` loads only if a record in
    ``wanted(builtins)`` is not a built-in.

    Every name resolves as in ``load_registry``: a built-in's name is never another
    plugin's (the built-ins load first), and any other name loads everything.  ``wanted``
    is given the built-ins so it can look into their records (``wanted_record``)."""
    registry = load_builtins()
    if missing(registry, wanted(registry)):
        registry.adopt(load_deferred())
    return registry


def load_for_builtins() -> Registry:
    """For code that names built-in records only (the experiments): the built-ins, or
    with a built-in plugin disabled, when another plugin may stand in, everything."""
    registry = load_builtins()
    disabled = disabled_plugins()
    builtin = entry_points(group=hookspecs.PROJECT)
    if any(entry.name in disabled and _is_builtin(entry.dist) for entry in builtin):
        registry.adopt(load_deferred())
    return registry


def missing(registry: Registry, wanted: Iterable[Wanted]) -> list[Wanted]:
    """The records of ``wanted`` that ``registry`` does not hold."""
    return [(kind, name) for kind, name in wanted if name not in registry.records(kind)]


def wanted_record(
    registry: Registry, kind: str, name: str, values: dict[str, Any] | None = None
) -> list[Wanted]:
    """``(kind, name)`` and, if ``registry`` has that record, the activations its
    activation parameters name in ``values`` (or by default)."""
    wanted = [(kind, name)]
    for param in getattr(registry.records(kind).get(name), "params", ()):
        if param.kind == "activation":
            value = (values or {}).get(param.name, param.default)
            if isinstance(value, str):
                wanted.append(("activation", value))
    return wanted


def load_builtins() -> Registry:
    """A registry with the zoo's own plugins only: fast, what the app starts on."""
    registry = Registry()
    registry.load_entry_points(builtin=True)
    return registry


def load_deferred(progress: Progress | None = None) -> Registry:
    """A new registry with what ``load_builtins`` leaves out: the other distributions'
    entry points, then the local plugin folder, for ``Registry.adopt``.  It shares nothing
    with any other registry, so it may be loaded on another thread while those are read."""
    registry = Registry()
    registry.load_entry_points(builtin=False, progress=progress)
    registry.load_local(progress=progress)
    return registry


def load_local_only(progress: Progress | None = None) -> Registry:
    """A new registry with the local plugin folder alone, for ``Registry.replace_local``;
    like ``load_deferred`` it shares nothing, so it may be loaded on another thread."""
    registry = Registry()
    registry.load_local(progress=progress)
    return registry
