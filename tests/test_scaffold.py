"""`zoo new-plugin` writes a distribution that installs, passes `zoo check` and its own tests."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from zoo.cli import main
from zoo.scaffold import identifier
from zoo.testing import CHECKS, check_plugin


def test_new_plugin_writes_a_distribution_whose_records_pass_the_kit(tmp_path, capsys):
    assert main(["new-plugin", "my-demo", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "my-demo"
    assert "pip install -e" in capsys.readouterr().out
    text = (root / "pyproject.toml").read_text()
    assert 'my_demo = "zoo_my_demo.plugin"' in text
    report = check_plugin(str(root / "src" / "zoo_my_demo" / "plugin.py"))
    assert report.passed, "\n".join(report.lines())
    kinds = sorted({result.kind for result in report.results})
    assert kinds == ["activation", "model", "optimizer", "schedule"]


def test_new_plugin_refuses_bad_names_and_existing_folders(tmp_path, capsys):
    assert main(["new-plugin", "9lives", "--dir", str(tmp_path)]) == 2
    (tmp_path / "taken").mkdir()
    assert main(["new-plugin", "taken", "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("zoo: error: '9lives' is not a plugin name")
    assert err[1].endswith("already exists; choose another name or remove it")
    assert identifier("My-Plugin") == "my_plugin"


@pytest.mark.slow
def test_new_plugin_installs_editable_and_passes_zoo_check_and_its_tests(tmp_path):
    assert main(["new-plugin", "demo", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "demo"
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check", "--no-cache-dir"]
    flags = ["--no-deps", "--no-build-isolation", "--no-index"]
    subprocess.run([*pip, "install", *flags, "-e", str(root)], check=True, timeout=300)
    try:
        check = subprocess.run(
            [sys.executable, "-m", "zoo", "check", "demo"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert check.returncode == 0, check.stdout + check.stderr
        summary = re.fullmatch(
            r"(\d+) passed, 0 failed, (\d+) not applicable", check.stdout.splitlines()[-1]
        )
        assert summary, check.stdout
        passed, skipped = (int(n) for n in summary.groups())
        assert passed + skipped == sum(len(checks) for checks in CHECKS.values())
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(root)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=root,
        )
        assert tests.returncode == 0, tests.stdout + tests.stderr
        # The same checks, one test each, beside the test that the plugin loads.
        assert f"{passed + 1} passed, {skipped} skipped" in tests.stdout, tests.stdout
    finally:
        subprocess.run([*pip, "uninstall", "--yes", "demo"], check=True, timeout=300)
