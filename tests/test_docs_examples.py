"""Every example in README.md and docs/*.md runs, and prints what the page shows.

What is run, per page, in one temporary folder and in page order:

Pages whose examples take tens of seconds (renders, maps) run in the slow set.

- ``console`` blocks: each ``$ zoo …`` line runs through ``zoo.cli.main``; it must exit 0,
  and the lines under it up to the next ``$`` (if any) must be exactly what it prints.
  A line whose comment says ``(window)`` opens the app and is not run.
- ``pycon`` blocks run as doctests.
- ``python`` blocks run in one namespace per page, so later fragments see earlier ones.

Other blocks (``sh`` set-up commands, ``toml``) are shown, not run.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.cli import main

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EXAMPLE = ROOT / "examples" / "plugin-example"
WINDOW = "(window)"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(page.read_text(encoding="utf-8"))]


def console_examples(text: str) -> list[tuple[str, list[str]]]:
    """``(command, expected output lines)`` for every ``$`` line of a console block."""
    examples: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            examples.append((line[2:], []))
        elif examples:
            examples[-1][1].append(line.rstrip())
    return examples


@pytest.fixture(scope="module")
def example_site(tmp_path_factory) -> Path:
    """The example plugin distribution installed into a folder, as the docs assume."""
    target = tmp_path_factory.mktemp("site")
    copy = tmp_path_factory.mktemp("build") / "plugin-example"
    shutil.copytree(EXAMPLE, copy)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",  # no lock on a cache another pip may be holding
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
    return target


def run_console(command: str) -> tuple[int, str, str]:
    argv = shlex.split(command, comments=True)
    assert argv[0] == "zoo", f"a console example must start with `zoo`: {command}"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv[1:])
        except SystemExit as done:  # --help, --version
            code = done.code or 0
    return code, out.getvalue(), err.getvalue()


#: Pages whose examples take tens of seconds (renders, maps) run whole in the slow set;
#: the README's Python examples run in the default set too.
HEAVY = ("README.md", "app.md", "maps.md")
CASES = [
    pytest.param(page, True, id=page.name, marks=pytest.mark.slow)
    if page.name in HEAVY
    else pytest.param(page, True, id=page.name)
    for page in PAGES
] + [pytest.param(ROOT / "README.md", False, id="README.md-code")]


@pytest.mark.parametrize(("page", "commands"), CASES)
def test_every_example_on_the_page_runs_as_shown(
    page, commands, tmp_path, monkeypatch, example_site
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(example_site))
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for language, text in blocks(page):
        if language == "console" and commands:
            for command, expected in console_examples(text):
                if WINDOW in command:
                    continue
                code, out, err = run_console(command)
                assert code == 0, f"{page.name}: `{command}` exited {code}: {err}"
                if any(expected):
                    shown = "\n".join(expected).strip("\n")
                    printed = "\n".join(line.rstrip() for line in out.splitlines()).strip("\n")
                    assert printed == shown, f"{page.name}: `{command}` printed:\n{printed}"
                ran += 1
        elif language == "pycon":
            test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            report = io.StringIO()
            runner.run(test, out=report.write)
            assert runner.failures == 0, report.getvalue()
            ran += 1
        elif language == "python":
            exec(compile(text, f"{page.name} example", "exec"), namespace)
            ran += 1
    showing = {"README.md", "writing-plugins.md", "formulas.md"} | (
        {"app.md"} if commands else set()
    )
    assert ran or page.name not in showing, f"{page.name} shows examples but none ran"


def test_the_window_marker_is_used_only_on_commands_that_open_the_app():
    for page in PAGES:
        for language, text in blocks(page):
            if language != "console":
                continue
            for command, _ in console_examples(text):
                if WINDOW in command:
                    words = shlex.split(command, comments=True)
                    assert words[1:2] in ([], ["app"], ["lab"]), (page.name, command)
                    assert "--list" not in words, (page.name, command)
