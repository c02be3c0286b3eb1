"""``python -m zoo`` is the ``zoo`` command.

``python -m`` puts the working directory first on ``sys.path``, where a module named like a
dependency or a third-party plugin would shadow the installed one; the command drops it, so
it imports exactly what the installed ``zoo`` script does (local plugins are loaded by path).
"""

import os
import sys

if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
    del sys.path[0]

from zoo.cli import main

sys.exit(main())
