"""The wheel carries the lessons and the LICENSE, and its built-ins and app are not shadowed
by other distributions or the working directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


#: A distribution installing the generic top-level names the repository's folders have.
GENERIC_NAMES = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "generic-names"
version = "1.0"

[tool.setuptools]
packages = ["plugins", "gui"]
"""

#: In the installed app: open a lesson offscreen, and say where the built-ins came from.
APP = """\
import importlib

from zoo_gui.app import ensure_application
from zoo_gui.window import MainWindow
import zoo_gui.window
import zoo_plugins.optimizers.first_order
from zoo.workspace import lesson_files

app = ensure_application()
window = MainWindow()
window.show()
assert window.open_lesson("01_four_regimes"), "the first lesson did not open"
assert window.workspace.lesson and window.lesson_view.toPlainText().strip(), "no lesson shown"
window.close()
window.shutdown()
try:  # the other distribution's package, there but not in the way
    importlib.import_module("plugins")
except ImportError as error:
    print(error)
print(zoo_gui.window.__file__)
print(zoo_plugins.optimizers.first_order.__file__)
print(lesson_files()[0])
"""


def raising_packages(folder: Path, where: str) -> None:
    for package in ("plugins", "gui"):
        (folder / package).mkdir(parents=True)
        (folder / package / "__init__.py").write_text(
            f"raise ImportError('the {package} package of {where} was imported')\n"
        )


@pytest.mark.slow
def test_the_wheel_runs_beside_other_plugins_and_gui_packages(tmp_path):
    """Installed with a distribution that has top-level ``plugins`` and ``gui`` packages, and
    run from a folder holding such packages, the zoo uses its own built-ins and app."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__"),
    )
    other = tmp_path / "generic-names"
    other.mkdir()
    (other / "pyproject.toml").write_text(GENERIC_NAMES)
    raising_packages(other, "another distribution")
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    for project in (source, other):
        subprocess.run(
            [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", project],
            check=True,
            timeout=600,
        )
    (wheel,) = (tmp_path / "dist").glob("optimizer_zoo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "zoo/lessons/01_four_regimes.json" in names
    installed = {"zoo": "zoo", "plugins": "zoo_plugins", "gui": "zoo_gui"}
    for folder, package in installed.items():  # every module, under its installed name
        for path in (ROOT / folder).rglob("*.py"):
            assert f"{package}/{path.relative_to(ROOT / folder).as_posix()}" in names, path
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = set(re.findall(r"\]\((assets/[^)]+)\)", readme))
    assert len(images) >= 5
    for image in images:  # installed as <prefix>/share/optimizer-zoo/assets/…
        assert any(n.endswith(f".data/data/share/optimizer-zoo/{image}") for n in names), image
    for guide in (ROOT / "docs").glob("*.md"):  # the Help menu's guides, beside the images
        assert any(n.endswith(f".data/data/share/optimizer-zoo/docs/{guide.name}") for n in names)
    site = tmp_path / "site"
    subprocess.run(
        [
            *pip,
            "install",
            "--no-deps",
            "--no-index",
            "--target",
            site,
            *(tmp_path / "dist").glob("*.whl"),
        ],
        check=True,
        timeout=600,
    )
    assert (site / "plugins" / "__init__.py").is_file() and (site / "gui").is_dir()
    here = tmp_path / "here"
    raising_packages(here, "the working directory")
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "ZOO_PLUGIN_PATH": str(tmp_path / "none"),
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }

    def python(*args):
        return subprocess.run(
            [sys.executable, *args],
            cwd=here,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    listing = python("-m", "zoo", "plugins", "--json")
    assert listing.returncode == 0, listing.stderr
    listing = json.loads(listing.stdout)
    assert listing["failures"] == []
    built_in = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    assert {p["name"] for p in listing["plugins"]} == set(built_in["optimizer_zoo"])
    assert len(listing["plugins"]) == 12
    assert python("-m", "zoo", "lab", "--list").stdout.splitlines()[0] == "01_four_regimes"
    app = python("-P", "-c", APP)  # -P: as the installed script, without the working directory
    assert app.returncode == 0, app.stderr
    squatter, *where = app.stdout.split("\n")[-5:-1]
    assert squatter == "the plugins package of another distribution was imported"
    assert all(path.startswith(str(site)) for path in where), where
    lesson = where[-1]
    render = python("-m", "zoo", "render", lesson, "--frames", "2", "--out", tmp_path / "l.png")
    assert render.returncode == 0, render.stderr
    assert (tmp_path / "l.png").stat().st_size > 0
