"""A third-party distribution, installed, shows up in `zoo plugins` and runs in `zoo run`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.testing import check_plugin

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plugin-example"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Install the example into a fresh folder and return an environment that sees it."""
    target = tmp_path_factory.mktemp("site")
    copy = tmp_path_factory.mktemp("build") / "plugin-example"
    shutil.copytree(EXAMPLE, copy)  # building writes next to the sources; keep ours clean
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(copy),
        ],
        check=True,
        timeout=300,
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target), env.get("PYTHONPATH", "")])
    return env


def zoo(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "zoo.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_example_is_listed_with_its_distribution(installed):
    result = zoo(installed, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    found = {
        kind: {e["name"]: e for e in listing[kind]}
        for kind in ("optimizers", "activations", "models", "schedules")
    }
    for kind, name in (
        ("optimizers", "cube_root_gd"),
        ("activations", "bent_identity"),
        ("models", "rippled_bowl"),
        ("schedules", "halving"),
    ):
        entry = found[kind][name]
        assert entry["plugin"] == "example"
        assert entry["source"] == "zoo-example-plugin 0.1.0"
    assert not listing["failures"]


def test_the_installed_example_runs_from_the_command_line(installed):
    result = zoo(
        installed,
        "run",
        "rippled_bowl",
        "cube_root_gd:lr=0.05",
        "sgd:lr=0.05",
        "--schedule",
        "halving:every=50",
        "--steps",
        "300",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    row = next(line for line in lines if line.startswith("cube_root_gd"))
    final_loss = float(row.split()[1])
    assert final_loss < 1e-3


def test_a_network_model_offers_the_third_party_activation(installed):
    code = "import zoo; r = zoo.load_registry(); print('bent_identity' in r.activations)"
    result = subprocess.run(
        [sys.executable, "-c", code], env=installed, capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip() == "True"


def test_the_example_passes_the_conformance_kit(registry):
    report = check_plugin(str(EXAMPLE / "src" / "zoo_example" / "plugin.py"))
    assert report.passed, "\n".join(report.lines())
    assert sorted({result.kind for result in report.results}) == [
        "activation",
        "model",
        "optimizer",
        "schedule",
    ]


def test_a_one_file_local_plugin_works_too(tmp_path, monkeypatch):
    source = (EXAMPLE / "src" / "zoo_example" / "plugin.py").read_text()
    (tmp_path / "my_bowl.py").write_text(source)
    env = dict(os.environ, ZOO_PLUGIN_PATH=str(tmp_path))
    result = zoo(env, "run", "rippled_bowl", "cube_root_gd", "--steps", "50")
    assert result.returncode == 0, result.stderr
    listing = json.loads(zoo(env, "plugins", "--json").stdout)
    model = next(m for m in listing["models"] if m["name"] == "rippled_bowl")
    assert model["plugin"] == "my_bowl" and model["source"] == str(tmp_path / "my_bowl.py")
