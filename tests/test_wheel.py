"""The wheel carries the lessons and the LICENSE, and its built-ins are not shadowed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_runs_from_a_folder_holding_plugins_and_gui_packages(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__"),
    )
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", source],
        check=True,
        timeout=600,
    )
    (wheel,) = (tmp_path / "dist").glob("optimizer_zoo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "zoo/lessons/01_four_regimes.json" in names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    images = set(re.findall(r"\]\((assets/[^)]+)\)", readme))
    assert len(images) >= 5
    for image in images:  # installed as <prefix>/share/optimizer-zoo/assets/…
        assert any(n.endswith(f".data/data/share/optimizer-zoo/{image}") for n in names), image
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", site, wheel],
        check=True,
        timeout=600,
    )
    here = tmp_path / "here"
    for package in ("plugins", "gui"):
        (here / package).mkdir(parents=True)
        (here / package / "__init__.py").write_text("raise ImportError('shadowed')\n")
    env = {**os.environ, "PYTHONPATH": str(site), "ZOO_PLUGIN_PATH": str(tmp_path / "none")}

    def zoo(*args):
        return subprocess.run(
            [sys.executable, "-m", "zoo", *args],
            cwd=here,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    listing = zoo("plugins")
    assert listing.returncode == 0, listing.stderr
    assert "Failures (0)" in listing.stdout
    assert "Optimizers (0)" not in listing.stdout
    assert zoo("lab", "--list").stdout.splitlines()[0] == "01_four_regimes"
    where = subprocess.run(
        [
            sys.executable,
            "-P",  # as the installed script: the working directory is not on the path
            "-c",
            "import zoo_plugins.optimizers.first_order as m\n"
            "from zoo.workspace import lesson_files\n"
            "print(m.__file__)\nprint(lesson_files()[0])",
        ],
        cwd=here,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert all(path.startswith(str(site)) for path in where), where
    lessons = where[1]
    render = zoo("render", lessons, "--frames", "2", "--out", str(tmp_path / "lesson.png"))
    assert render.returncode == 0, render.stderr
    assert (tmp_path / "lesson.png").stat().st_size > 0
