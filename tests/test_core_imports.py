"""The core never imports Qt, and heavy modules load only when first used."""

from __future__ import annotations

import subprocess
import sys


def test_the_core_and_built_in_plugins_run_without_qt_or_heavy_imports():
    code = (
        "import sys, zoo, zoo.cli, zoo.testing\n"
        "registry = zoo.load_registry(local=False)\n"
        "zoo.simulate('rosenbrock', 'adam', steps=5, registry=registry)\n"
        "heavy = ('PySide6', 'pyqtgraph', 'imageio', 'torch', 'zoo_gui')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_library_leaves_the_allocator_alone_and_the_command_sets_it():
    code = (
        "import zoo, zoo.heap, zoo.cli, zoo.maps\n"
        "registry = zoo.load_registry(local=False)\n"
        "zoo.simulate('rosenbrock', 'adam', steps=5, registry=registry)\n"
        "problem = zoo.build_problem('rosenbrock', {}, registry=registry)\n"
        "zoo.maps.basin_map(problem, 'adam', grid=4, steps=3, registry=registry)\n"
        "print(zoo.heap._done)\n"
        "try:\n    zoo.cli.main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(zoo.heap._done)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "zoo", "0.1.0", "True"]
