"""Nothing imports the built-ins by their folder names.

The folders ``plugins/`` and ``gui/`` install as ``zoo_plugins`` and ``zoo_gui``. In a
checkout the folder names are importable too (the working directory is on the path), so an
import by folder name would load a second copy of every module it reaches.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("zoo", "plugins", "gui", "tests", "benchmarks", "scripts", "examples")
OLD = {"plugins", "gui"}
# Import lines in code held in strings or docs, dotted module paths (monkeypatch targets,
# entry points) and `python -m` of a folder name.
TEXT = re.compile(
    r"(?m)^\s*(?:from|import)\s+(?:plugins|gui)\b"
    r"|(?<![\w/.-])(?:plugins|gui)\.[a-z_]+\.\w"
    r"|[\"'`](?:plugins|gui)\.[a-z_]+[\"'`:]"
    r"|-m\s+(?:plugins|gui)\b"
)

DOTTED = re.compile(r"(?:plugins|gui)(?:\.\w+)+(?::\w+)?")


def old_imports(source: str) -> list[str]:
    """The imports of ``plugins``/``gui`` in Python ``source``, in code or in its strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.split(".")[0] in OLD)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OLD:
                found.append(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if DOTTED.fullmatch(node.value):
                found.append(node.value)
            found.extend(m.group(0).strip() for m in TEXT.finditer(node.value))
    return found


def test_the_scan_catches_imports_by_folder_name():
    assert old_imports("import gui.window") == ["gui.window"]
    assert old_imports("from plugins.models import networks") == ["plugins.models"]
    assert old_imports("code = 'import plugins.models.expression'")
    assert old_imports("m.setattr('gui.start_points.BUDGET', 1)")
    assert old_imports("entry = 'gui.commands:register'")
    assert old_imports("run(['python', '-m gui'])")
    assert old_imports("from zoo_gui import window\nimport zoo_plugins.models") == []
    assert old_imports("from . import gui\nfolder = tmp / 'plugins'") == []


def test_no_source_imports_the_folder_names():
    offenders = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == Path(__file__).resolve():  # its own examples
                continue
            if bad := old_imports(path.read_text(encoding="utf-8")):
                offenders[str(path.relative_to(ROOT))] = bad
    texts = [ROOT / "README.md", ROOT / "pyproject.toml", *sorted((ROOT / "docs").glob("*.md"))]
    texts += sorted((ROOT / "scripts").glob("*.sh"))
    for path in texts:
        if bad := [m.group(0).strip() for m in TEXT.finditer(path.read_text(encoding="utf-8"))]:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}
