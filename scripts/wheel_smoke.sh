#!/bin/sh
# Build the wheel, install it into a fresh virtual environment and use it from a folder
# that holds packages named like the zoo's own folders (plugins/, gui/): the installed
# built-ins, lessons and app must be the ones that run.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
tar --exclude=./.venv --exclude=./build --exclude='*.egg-info' -cf - . | tar -xf - -C "$work/src"
.venv/bin/python -m pip wheel --quiet --no-deps --no-build-isolation -w "$work/dist" "$work/src"
"${PYTHON:-python3}" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/*.whl
mkdir -p "$work/here/plugins" "$work/here/gui"
for package in plugins gui; do
    echo "raise ImportError('the $package package of the working directory was imported')" \
        >"$work/here/$package/__init__.py"
done
cd "$work/here"
zoo="$work/venv/bin/python -m zoo"
$zoo plugins >plugins.txt
grep -q "^Failures (0)" plugins.txt || { cat plugins.txt; exit 1; }
grep -q "^Optimizers (" plugins.txt
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
# working directory is not on the path), with settings kept in the scratch folder.
QT_QPA_PLATFORM=offscreen XDG_CONFIG_HOME="$work/config" "$work/venv/bin/python" -P - <<'PY'
from zoo_gui.app import ensure_application
from zoo_gui.window import MainWindow

app = ensure_application()
window = MainWindow()
window.show()
assert window.open_lesson("01_four_regimes"), "the first lesson did not open"
assert window.workspace.lesson and window.lesson_view.toPlainText().strip(), "no lesson shown"
window.close()
window.shutdown()
PY
QT_QPA_PLATFORM=offscreen $zoo render "$("$work/venv/bin/python" -c 'from zoo.workspace import lesson_files; print(lesson_files()[0])')" \
    --frames 2 --out lesson.png
test -s lesson.png
echo "wheel smoke test passed"
