"""``python -m zoo_gui [SCENE]`` opens the app (with a scene file, if given)."""

import sys

from zoo_gui.app import run_app

if __name__ == "__main__":
    sys.exit(run_app(scene=sys.argv[1] if len(sys.argv) > 1 else None))
