"""The records a plugin returns, and the one place they are validated.

Records are frozen dataclasses so that the registry can hand the same object to the
engine, the GUI and the CLI without anyone changing it.  ``validate_record`` is called
once, by the registry, when a plugin's records are collected; nothing else re-checks them.
``Param`` also turns user input (CLI text, GUI widgets, session JSON) into typed values,
so every front end refuses the same bad values with the same message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PARAM_KINDS = ("float", "int", "bool", "choice", "activation", "text")
#: Longest value a ``text`` parameter accepts.
MAX_TEXT_LENGTH = 500
#: What an optimizer may ask of a problem (see ``Problem.provides``).
KNOWN_NEEDS = frozenset({"loss", "grad", "hess", "residuals", "samples", "inputs", "labels"})
#: Parameters whose values are plain Python scalars inside one batch of runs.
DISCRETE_KINDS = frozenset({"int", "bool", "choice", "activation", "text"})


class SpecError(ValueError):
    """A record or a value breaks the contract; the message names the field."""


@dataclass(frozen=True)
class Param:
    """One user-settable value: drives GUI forms, CLI ``key=value``, sessions and checks.

    ``kind`` is ``float``, ``int``, ``bool``, ``choice`` (one of ``choices``),
    ``activation`` (the name of any registered activation) or ``text`` (free text of at
    most ``MAX_TEXT_LENGTH`` characters, such as a typed formula).  ``log=True`` asks for a
    logarithmic slider; it needs a positive ``low``.
    """

    name: str
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    kind: str = "float"
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def discrete(self) -> bool:
        return self.kind in DISCRETE_KINDS

    def coerce(self, value: Any, choices: Iterable[str] | None = None) -> Any:
        """Return ``value`` as this parameter's type, or raise ``SpecError`` saying why.

        Accepts the text a user types (``"1e-3"``, ``"true"``) as well as typed values.
        ``choices`` overrides the allowed names for ``activation`` parameters.
        """
        kind = self.kind
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise SpecError(f"{self.name}: expected true or false, got {value!r}")
        if kind == "text":
            if not isinstance(value, str):
                raise SpecError(f"{self.name}: expected text, got {value!r}")
            if len(value) > MAX_TEXT_LENGTH:
                raise SpecError(
                    f"{self.name}: {len(value)} characters is over the limit of {MAX_TEXT_LENGTH}"
                )
            return value
        if kind in ("choice", "activation"):
            allowed = tuple(choices) if choices is not None else self.choices
            text = str(value).strip()
            if allowed and text not in allowed:
                raise SpecError(f"{self.name}: {text!r} is not one of {', '.join(allowed)}")
            return text
        try:
            if isinstance(value, bool):
                raise TypeError
            number = float(value) if not isinstance(value, (int, float)) else value
        except (TypeError, ValueError):
            raise SpecError(f"{self.name}: expected a number, got {value!r}") from None
        if kind == "int":
            if isinstance(number, float) and not number.is_integer():
                raise SpecError(f"{self.name}: expected a whole number, got {value!r}")
            number = int(number)
        else:
            number = float(number)
            if not math.isfinite(number):
                raise SpecError(f"{self.name}: expected a finite number, got {value!r}")
        if self.low is not None and number < self.low:
            raise SpecError(f"{self.name}: {number} is below the minimum {self.low}")
        if self.high is not None and number > self.high:
            raise SpecError(f"{self.name}: {number} is above the maximum {self.high}")
        return number


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer: two pure functions over ``(B, D)`` batches (see ``zoo.hookspecs``)."""

    name: str
    init: Callable[..., dict]
    step: Callable[..., tuple]
    params: tuple[Param, ...] = ()
    needs: frozenset[str] = frozenset({"grad"})
    label: str = ""
    family: str = ""
    doc: str = ""
    reference: str = ""
    #: The state key of a (B, D) array that points like the gradient and carries the
    #: method's memory of past steps (momentum, a first-moment average); "" if none.
    momentum_key: str = ""
    #: The state key of a (B, D) per-coordinate accumulator the step is divided by (or by
    #: its root): a second-moment average, a sum of squares; "" if the method has none.
    scaling_key: str = ""
    #: Why the method may end a run itself (torch's tolerances, say): its state then
    #: holds ``stop`` (B,), 0 while running and k once it stopped for ``stop_reasons[k-1]``.
    stop_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivationSpec:
    """An elementwise activation with its first (and optionally second) derivative."""

    name: str
    f: Callable
    df: Callable
    d2f: Callable | None = None
    label: str = ""
    doc: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """A model: ``build(settings, ctx) -> Problem`` with settings described by ``params``."""

    name: str
    build: Callable[..., Any]
    params: tuple[Param, ...] = ()
    label: str = ""
    family: str = ""
    doc: str = ""


@dataclass(frozen=True)
class ScheduleSpec:
    """A schedule: ``factor(step, **params)`` multiplies the optimizer's ``target`` at ``step``.

    ``target`` names the float hyper-parameter the schedule drives (``lr`` by default; a
    momentum warm-up sets ``target="momentum"``), in the way optax's
    ``inject_hyperparams`` exposes any hyper-parameter to a schedule.  ``step`` counts from
    0 and may be a numpy array; ``factor`` must broadcast over it.  ``robbins_monro``
    optionally maps the settings to ``True``/``False``: whether Σηₖ = ∞ and Σηₖ² < ∞ hold.
    """

    name: str
    factor: Callable[..., Any]
    params: tuple[Param, ...] = ()
    label: str = ""
    doc: str = ""
    robbins_monro: Callable[..., bool] | None = None
    target: str = "lr"


Record = OptimizerSpec | ActivationSpec | ModelSpec | ScheduleSpec
KIND_OF = {
    OptimizerSpec: "optimizer",
    ActivationSpec: "activation",
    ModelSpec: "model",
    ScheduleSpec: "schedule",
}


@dataclass(frozen=True)
class Provenance:
    """Where a record came from: the plugin's name and its distribution or file."""

    plugin: str
    source: str = ""


def _check_param(param: Any, where: str) -> None:
    if not isinstance(param, Param):
        raise SpecError(f"{where}: expected a Param, got {type(param).__name__}")
    if not isinstance(param.name, str) or not NAME_PATTERN.match(param.name):
        raise SpecError(f"{where}.name: {param.name!r} is not a lowercase identifier")
    where = f"{where} ({param.name})"
    if param.kind not in PARAM_KINDS:
        raise SpecError(f"{where}.kind: {param.kind!r} is not one of {', '.join(PARAM_KINDS)}")
    if param.kind == "choice" and not param.choices:
        raise SpecError(f"{where}.choices: a choice parameter needs at least one choice")
    if param.kind in ("float", "int"):
        for bound in ("low", "high"):
            value = getattr(param, bound)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise SpecError(f"{where}.{bound}: expected a number or None, got {value!r}")
        if param.low is not None and param.high is not None and param.low > param.high:
            raise SpecError(f"{where}: low {param.low} is above high {param.high}")
        if param.log and (param.low is None or param.low <= 0):
            raise SpecError(f"{where}.log: a log scale needs a positive low bound")
    if param.kind == "bool" and not isinstance(param.default, bool):
        raise SpecError(f"{where}.default: expected True or False, got {param.default!r}")
    if param.kind == "int" and (
        isinstance(param.default, bool) or not isinstance(param.default, int)
    ):
        raise SpecError(f"{where}.default: expected an int, got {param.default!r}")
    if param.kind in ("activation", "text") and not isinstance(param.default, str):
        wanted = "an activation name" if param.kind == "activation" else "text"
        raise SpecError(f"{where}.default: expected {wanted}, got {param.default!r}")
    if param.kind != "activation":
        try:
            coerced = param.coerce(param.default)
        except SpecError as error:
            raise SpecError(f"{where}.default: {error}") from None
        if coerced != param.default:
            raise SpecError(f"{where}.default: {param.default!r} is not of kind {param.kind}")


_TEXT_FIELDS = ("label", "family", "doc", "reference", "momentum_key", "scaling_key", "target")


def validate_record(record: Any) -> str:
    """Check one record against the contract and return its kind; raise ``SpecError``."""
    kind = KIND_OF.get(type(record))
    if kind is None:
        raise SpecError(
            f"expected an OptimizerSpec, ActivationSpec, ModelSpec or ScheduleSpec, "
            f"got {type(record).__name__}"
        )
    name = getattr(record, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise SpecError(f"{kind} name {name!r} is not a lowercase identifier (a-z, 0-9, _)")
    where = f"{kind} {name!r}"
    for item in fields(record):
        value = getattr(record, item.name)
        if item.name in _TEXT_FIELDS and not isinstance(value, str):
            raise SpecError(f"{where}: field '{item.name}' must be a string")
    callables = {
        "optimizer": ("init", "step"),
        "activation": ("f", "df"),
        "model": ("build",),
        "schedule": ("factor",),
    }[kind]
    for attribute in callables:
        if not callable(getattr(record, attribute)):
            raise SpecError(f"{where}: field '{attribute}' must be callable")
    for attribute in ("d2f", "robbins_monro"):
        value = getattr(record, attribute, None)
        if value is not None and not callable(value):
            raise SpecError(f"{where}: field '{attribute}' must be callable or None")
    params = getattr(record, "params", ())
    if not isinstance(params, tuple):
        raise SpecError(f"{where}: field 'params' must be a tuple of Param")
    seen: set[str] = set()
    for index, param in enumerate(params):
        _check_param(param, f"{where}: field 'params[{index}]'")
        if param.name in seen:
            raise SpecError(f"{where}: field 'params' repeats the name {param.name!r}")
        seen.add(param.name)
    if kind == "optimizer":
        needs = record.needs
        if not isinstance(needs, frozenset) or not all(isinstance(n, str) for n in needs):
            raise SpecError(f"{where}: field 'needs' must be a frozenset of strings")
        unknown = sorted(needs - KNOWN_NEEDS)
        if unknown:
            raise SpecError(
                f"{where}: field 'needs' has unknown {', '.join(unknown)}; "
                f"known: {', '.join(sorted(KNOWN_NEEDS))}"
            )
        if "seed" in seen:
            raise SpecError(f"{where}: field 'params' may not use the reserved name 'seed'")
        for attribute in ("momentum_key", "scaling_key"):
            key = getattr(record, attribute)
            if key and not NAME_PATTERN.match(key):
                raise SpecError(f"{where}: field '{attribute}' {key!r} is not a state key name")
        reasons = record.stop_reasons
        if not isinstance(reasons, tuple) or not all(isinstance(r, str) and r for r in reasons):
            raise SpecError(f"{where}: field 'stop_reasons' must be a tuple of non-empty strings")
    if kind == "schedule" and not NAME_PATTERN.match(record.target):
        raise SpecError(f"{where}: field 'target' {record.target!r} is not a parameter name")
    return kind


def resolve_values(
    params: Iterable[Param],
    values: Mapping[str, Any] | None,
    *,
    where: str,
    activations: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Fill defaults, coerce and range-check ``values``; refuse names ``params`` lacks."""
    params = tuple(params)
    values = dict(values or {})
    known = {p.name for p in params}
    unknown = sorted(set(values) - known)
    if unknown:
        valid = ", ".join(sorted(known)) or "none"
        raise SpecError(f"{where}: unknown setting {', '.join(unknown)} (valid: {valid})")
    choices = tuple(activations) if activations is not None else None
    resolved = {}
    for param in params:
        value = values.get(param.name, param.default)
        try:
            resolved[param.name] = param.coerce(
                value, choices if param.kind == "activation" else None
            )
        except SpecError as error:
            raise SpecError(f"{where}: {error}") from None
    return resolved


def preset(record: Record, name: str, label: str = "", **defaults: Any) -> Record:
    """A copy of ``record`` under a new name with other parameter defaults.

    This is how ``momentum`` and ``nesterov`` are ``sgd`` with different defaults.
    """
    params = tuple(
        replace(p, default=defaults.pop(p.name)) if p.name in defaults else p for p in record.params
    )
    if defaults:
        raise SpecError(f"{record.name}: no parameter {', '.join(sorted(defaults))}")
    return replace(record, name=name, label=label or record.label, params=params)


__all__ = [
    "DISCRETE_KINDS",
    "KNOWN_NEEDS",
    "ActivationSpec",
    "ModelSpec",
    "OptimizerSpec",
    "Param",
    "Provenance",
    "ScheduleSpec",
    "SpecError",
    "preset",
    "resolve_values",
    "validate_record",
]
