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


def test_every_public_name_has_a_docstring():
    for name in zoo.__all__:
        item = getattr(zoo, name)
        if callable(item):
            assert inspect.getdoc(item), f"zoo.{name} has no docstring"
