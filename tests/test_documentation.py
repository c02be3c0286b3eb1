"""The plugin guide is complete: every hook and public name says what it is for."""

from __future__ import annotations

import inspect

import zoo
from zoo import hookspecs

HOOKS = ("zoo_optimizers", "zoo_activations", "zoo_models", "zoo_schedules")


def test_every_hook_is_declared_and_documented():
    declared = {
        name
        for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
        if name.startswith("zoo_")
    }
    assert declared == set(HOOKS)
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert len(doc.split()) >= 40, f"{name} needs a docstring a plugin author can work from"
        assert "Return" in doc


def own_docstring(item) -> str:
    """The docstring ``item`` itself wrote: not one inherited from a base class, and not the
    signature dataclasses write when a class has none."""
    doc = item.__dict__.get("__doc__") if isinstance(item, type) else item.__doc__
    doc = (doc or "").strip()
    if isinstance(item, type) and doc.startswith(f"{item.__name__}("):
        return ""
    return doc


def test_every_public_name_has_a_docstring():
    for name in zoo.__all__:
        item = getattr(zoo, name)
        if callable(item):
            assert own_docstring(item), f"zoo.{name} has no docstring of its own"


def test_generated_and_inherited_docstrings_do_not_count():
    import dataclasses

    @dataclasses.dataclass
    class Undocumented:
        x: int

    class Quiet(ValueError):
        pass

    assert inspect.getdoc(Undocumented) and inspect.getdoc(Quiet)  # what fooled the check
    assert own_docstring(Undocumented) == "" and own_docstring(Quiet) == ""
