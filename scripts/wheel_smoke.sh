#!/bin/sh
# Build the wheel, install it into a fresh virtual environment beside another distribution
# that installs top-level plugins and gui packages, and use it from a folder that holds
# packages of those names too: the installed built-ins, lessons and app must be the ones
# that run.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the built-ins: no local plugins, and settings kept in the scratch folder.
export ZOO_PLUGIN_PATH="$work/none" XDG_CONFIG_HOME="$work/config"
pip="--quiet --no-cache-dir --disable-pip-version-check"
mkdir "$work/src" "$work/other" "$work/here"
tar --exclude=./.venv --exclude=./build --exclude='*.egg-info' -cf - . | tar -xf - -C "$work/src"
cat >"$work/other/pyproject.toml" <<'TOML'
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "generic-names"
version = "1.0"

[tool.setuptools]
packages = ["plugins", "gui"]
TOML
for folder in other here; do
    for package in plugins gui; do
        mkdir "$work/$folder/$package"
        echo "raise ImportError('the $package package of $folder was imported')" \
            >"$work/$folder/$package/__init__.py"
    done
done
# shellcheck disable=SC2086
.venv/bin/python -m pip wheel $pip --no-deps --no-build-isolation -w "$work/dist" \
    "$work/src" "$work/other"
"${PYTHON:-python3}" -m venv "$work/venv"
# shellcheck disable=SC2086
"$work/venv/bin/python" -m pip install $pip "$work"/dist/*.whl
"$work/venv/bin/python" -P -c "import plugins" 2>&1 | grep -q "package of other was imported"
cd "$work/here"
zoo="$work/venv/bin/python -m zoo"
$zoo plugins >plugins.txt
grep -q "^Failures (0)" plugins.txt || { cat plugins.txt; exit 1; }
$zoo plugins --json | "$work/venv/bin/python" -c '
import json, sys

plugins = [(p["name"], p["source"]) for p in json.load(sys.stdin)["plugins"]]
assert len(plugins) == 12, plugins  # the built-ins, all from the wheel
assert all(source.startswith("optimizer-zoo ") for _, source in plugins), plugins
'
$zoo lab --list | grep -q "^01_four_regimes"
"$work/venv/bin/python" - <<'PY'
import glob
import re
import zipfile

from zoo.workspace import lesson_files

lessons = lesson_files()
assert len(lessons) >= 9, f"the wheel carries {len(lessons)} lessons"
names = zipfile.ZipFile(glob.glob("../dist/*.whl")[0]).namelist()
assert any(name.endswith("licenses/LICENSE") for name in names), "no LICENSE in the wheel"
readme = open("../src/README.md", encoding="utf-8").read()
images = set(re.findall(r"\]\((assets/[^)]+)\)", readme))
assert images, "the README shows no images"
missing = [i for i in images if not any(n.endswith("/share/optimizer-zoo/" + i) for n in names)]
assert not missing, f"the wheel lacks the README images {missing}"
PY
# A lesson opened in the app's window, offscreen, as the installed app would (-P: the
# working directory is not on the path).
QT_QPA_PLATFORM=offscreen "$work/venv/bin/python" -P - <<'PY'
from zoo_gui.app import ensure_application
from zoo_gui.help import DOCS, GUIDES
from zoo_gui.window import MainWindow

app = ensure_application()
window = MainWindow()
window.show()
assert window.open_lesson("01_four_regimes"), "the first lesson did not open"
assert window.workspace.lesson and window.lesson_view.toPlainText().strip(), "no lesson shown"
assert all((DOCS / name).is_file() for _, name in GUIDES), f"the Help guides are not in {DOCS}"
window.close()
window.shutdown()
PY
QT_QPA_PLATFORM=offscreen $zoo render "$("$work/venv/bin/python" -c 'from zoo.workspace import lesson_files; print(lesson_files()[0])')" \
    --frames 2 --out lesson.png
test -s lesson.png
echo "wheel smoke test passed"
