#!/bin/sh
# Prepare this checkout: the system libraries Qt needs (only those missing), a virtual
# environment in .venv, and the project with its test extra installed in it.
set -eu
cd "$(dirname "$0")/.."

QT_LIBRARIES="libegl1 libgl1 libopengl0 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 \
libfreetype6 libglib2.0-0 libdbus-1-3 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 \
libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1"

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=""
    for package in $QT_LIBRARIES; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $package"
    done
    if [ -n "$missing" ]; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "Installing system libraries for Qt:$missing"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        # shellcheck disable=SC2086
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment .venv"
    "$python" -m venv .venv
fi
# On a terminal pip shows what it fetches and builds, with its progress bars; in a log
# (continuous integration) it stays quiet.
quiet="--quiet"
[ -t 1 ] && quiet="--progress-bar=on"
echo "Updating pip and setuptools"
.venv/bin/python -m pip install $quiet --upgrade pip "setuptools>=77"
echo "Installing Optimizer Zoo with its test extra (about a minute on a fresh machine)"
.venv/bin/python -m pip install $quiet -e ".[test]"
echo "Ready: .venv/bin/zoo"
