"""The one boundary between the zoo and plugin code.

Every call the core makes into a plugin — importing it, calling a hook, and calling a
record's ``build``, ``init``, ``step``, ``factor``, ``f`` or a problem's ``loss`` — goes
through ``call``.  Whatever the plugin does (raise any exception, call ``sys.exit()``)
comes back as one ``PluginFault`` that names the record, its plugin, the plugin's
distribution and the stage, with the original exception chained as ``__cause__``.  Only
a genuine Ctrl-C (``KeyboardInterrupt``) passes through.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Verbs of the stages, for messages like "failed to build".
STAGE_VERBS = {
    "import": "import",
    "hook": "return its records",
    "build": "build",
    "init": "initialise",
    "step": "step",
    "loss": "evaluate its loss",
    "grad": "evaluate its gradient",
    "minibatch": "draw a minibatch",
    "factor": "compute its factor",
    "f": "evaluate",
}
#: Most records one hook may yield; a generator that never ends is cut off there.
MAX_RECORDS_PER_HOOK = 10_000


@dataclass(frozen=True)
class Origin:
    """Who is being called: a record (kind and name) or a whole plugin, and where from."""

    kind: str = "plugin"  # "optimizer", "activation", "model", "schedule" or "plugin"
    name: str = ""
    plugin: str = ""
    source: str = ""  # the distribution and version, or the file

    def __str__(self) -> str:
        where = f" ({self.source})" if self.source else ""
        if self.kind == "plugin":
            return f"plugin {self.plugin or self.name}{where}"
        if not self.plugin:
            return f"{self.kind} {self.name!r}"
        return f"{self.kind} {self.name!r} from plugin {self.plugin}{where}"


class PluginFault(Exception):
    """Plugin code failed.  ``str()`` is the whole one-line story; ``reason`` is the cause
    alone (``"RuntimeError: boom"``), for places that already say whose it is."""

    def __init__(self, origin: Origin, stage: str, reason: str) -> None:
        verb = STAGE_VERBS.get(stage, stage)
        super().__init__(f"{origin} failed to {verb}: {reason}")
        self.origin = origin
        self.stage = stage
        self.reason = reason


def describe(error: BaseException) -> str:
    """``"RuntimeError: boom (at plugin.py:12)"``: the type, the message and where."""
    if isinstance(error, PluginFault):
        return error.reason
    if isinstance(error, SystemExit):
        text = f"called sys.exit({error.code!r})"
    else:
        message = str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    frames = traceback.extract_tb(error.__traceback__)
    if frames:
        text += f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})"
    return text


def call(origin: Origin, stage: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, with any failure but Ctrl-C turned into ``PluginFault``."""
    try:
        return function(*args, **kwargs)
    except PluginFault:
        raise
    except (Exception, SystemExit) as error:
        raise PluginFault(origin, stage, describe(error)) from error


def collect(origin: Origin, function: Callable[[], Any]) -> list[Any]:
    """The records a hook returns, as a list of at most ``MAX_RECORDS_PER_HOOK``."""

    def gather() -> list[Any]:
        result = function()
        if result is None:
            return []
        if isinstance(result, (str, bytes, dict)) or not hasattr(result, "__iter__"):
            raise PluginFault(
                origin,
                "hook",
                f"returned {type(result).__name__}; return a list, tuple or generator of records",
            )
        records = []
        for record in result:
            if len(records) == MAX_RECORDS_PER_HOOK:
                raise PluginFault(
                    origin, "hook", f"yielded more than {MAX_RECORDS_PER_HOOK} records; cut off"
                )
            records.append(record)
        return records

    return call(origin, "hook", gather)


__all__ = ["MAX_RECORDS_PER_HOOK", "Origin", "PluginFault", "call", "collect", "describe"]
