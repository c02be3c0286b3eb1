"""The app reads the engine only through its public API: ``zoo.__all__`` and the names
each submodule lists in its own ``__all__`` (or, without one, its public names)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import zoo

GUI = Path(__file__).resolve().parents[1] / "gui"


def forbidden_imports(source: str) -> list[str]:
    """The zoo names ``source`` imports that are not public API."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "zoo":
            module = importlib.import_module(node.module)
            public = getattr(module, "__all__", None)
            for alias in node.names:
                name = alias.name
                submodule = f"{node.module}.{name}"
                if node.module == "zoo" and name not in zoo.__all__:
                    try:
                        importlib.import_module(submodule)  # ``from zoo import theory``
                    except ImportError:
                        found.append(submodule)
                        continue
                    if name.startswith("_"):
                        found.append(submodule)
                elif name.startswith("_") or (public is not None and name not in public):
                    found.append(submodule)
        elif isinstance(node, ast.Import):
            found.extend(
                alias.name
                for alias in node.names
                if alias.name.split(".")[0] == "zoo" and "._" in alias.name
            )
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            base = node.value
            if isinstance(base, ast.Name) and base.id == "zoo":
                found.append(f"zoo.{node.attr}")
    return found


def test_the_scan_catches_private_engine_names():
    assert forbidden_imports("from zoo.engine import Group") == ["zoo.engine.Group"]
    assert forbidden_imports("from zoo.engine import _CountingProblem")
    assert forbidden_imports("from zoo import Group")
    assert forbidden_imports("from zoo import RunSet, BatchView, theory") == []


def test_gui_imports_only_public_zoo_names():
    offenders = {
        str(path.relative_to(GUI)): bad
        for path in sorted(GUI.rglob("*.py"))
        if (bad := forbidden_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
