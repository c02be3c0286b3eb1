"""``zoo new-plugin NAME``: write a complete plugin distribution to start from.

The distribution installs with ``pip install -e NAME``, passes ``zoo check`` and its own
tests unchanged, and holds one record of each kind as a template to edit.
"""

from __future__ import annotations

import argparse
import keyword
import re
from pathlib import Path

DISTRIBUTION_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class ScaffoldError(ValueError):
    """The name or the target folder will not do; the message says why."""


def identifier(name: str) -> str:
    """The plugin's Python name: ``my-plugin`` → ``my_plugin``."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def files(name: str) -> dict[str, str]:
    """Every file of the distribution ``name``, by relative path."""
    ident = identifier(name)
    package = f"zoo_{ident}"
    values = {"name": name, "ident": ident, "package": package}
    return {
        "pyproject.toml": PYPROJECT.format(**values),
        "README.md": README.format(**values),
        f"src/{package}/__init__.py": f'"""The {name} plugin for Optimizer Zoo."""\n',
        f"src/{package}/plugin.py": PLUGIN.replace("PREFIX", ident),
        "tests/test_conformance.py": TESTS.format(**values),
    }


def write(name: str, parent: Path) -> Path:
    """Write the distribution into ``parent / name``; refuse an existing folder."""
    if not DISTRIBUTION_PATTERN.match(name) or keyword.iskeyword(identifier(name)):
        raise ScaffoldError(
            f"{name!r} is not a plugin name: use letters, digits, '-' and '_', "
            "starting with a letter"
        )
    root = parent / name
    if root.exists():
        raise ScaffoldError(f"{root} already exists; choose another name or remove it")
    for relative, text in files(name).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    return root


def add_parser(commands: argparse._SubParsersAction) -> None:
    """The ``new-plugin`` subcommand (``zoo.cli`` calls this)."""
    parser = commands.add_parser(
        "new-plugin",
        help="write a plugin distribution to start from",
        description="Write NAME/ with a pyproject, one optimizer, model, activation and "
        "schedule, tests that run the conformance kit, and a README.",
        epilog="examples:\n  zoo new-plugin my-plugin\n  pip install -e my-plugin\n"
        "  zoo check my_plugin\n  pytest my-plugin",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="the distribution's name, e.g. my-plugin")
    parser.add_argument("--dir", default=".", help="where to create NAME/ (default: here)")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from zoo.cli import UsageError

    try:
        root = write(args.name, Path(args.dir))
    except (ScaffoldError, OSError) as error:
        raise UsageError(str(error)) from None
    ident = identifier(args.name)
    print(f"Wrote {root}/ (plugin {ident}: optimizer, model, activation and schedule)")
    print("Next:")
    print(f"  pip install -e {root}")
    print(f"  zoo check {ident}")
    print(f"  pytest {root}")
    return 0


PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "0.1.0"
description = "Optimizer Zoo plugin {name}: an optimizer, a model, an activation and a schedule."
requires-python = ">=3.10"
dependencies = ["optimizer-zoo", "numpy"]

[project.optional-dependencies]
test = ["pytest"]

# The zoo finds the plugin through this entry point.
[project.entry-points.optimizer_zoo]
{ident} = "{package}.plugin"

[tool.setuptools.packages.find]
where = ["src"]
"""

README = """\
# {name}

An [Optimizer Zoo](https://pypi.org/project/optimizer-zoo/) plugin. `src/{package}/plugin.py`
holds one record of each kind — an optimizer, a model, an activation and a schedule — to
edit or delete.

```console
pip install -e .          # the zoo finds it through the entry point in pyproject.toml
zoo plugins               # lists {ident}_gd, {ident}_bowl, {ident}_softsign, {ident}_halving
zoo check {ident}         # the conformance kit, one line per record and check
pytest                    # the same kit through pytest
zoo run {ident}_bowl {ident}_gd adam --steps 100
```

Read `zoo/hookspecs.py` in the zoo (or its guide, *Writing a plugin*) for the contract.
"""

PLUGIN = '''\
"""Optimizer Zoo records: one of each kind, to edit."""

from __future__ import annotations

import numpy as np

from zoo import ActivationSpec, ModelSpec, OptimizerSpec, Param, Problem, ScheduleSpec, hookimpl


# --- optimizer: gradient descent with heavy-ball momentum ---------------------------------
def init(problem, x, hyper):  # x: (B, D), one row per run
    return {"t": np.zeros(len(x), dtype=np.int64), "velocity": np.zeros_like(x)}


def step(problem, x, state, hyper):  # return new arrays; never change x or state
    velocity = hyper["momentum"] * state["velocity"] + problem.grad(x)
    return x - hyper["lr"] * velocity, {"t": state["t"] + 1, "velocity": velocity}


OPTIMIZER = OptimizerSpec(
    name="PREFIX_gd",
    init=init,
    step=step,
    params=(
        Param("lr", 0.05, low=1e-4, high=1.0, log=True, doc="learning rate"),
        Param("momentum", 0.5, low=0.0, high=0.99, doc="heavy-ball coefficient"),
    ),
    label="PREFIX GD",
    family="first-order",
    doc="v ← μv + ∇f(θ); θ ← θ − γv",
    momentum_key="velocity",
)


# --- model: a tilted bowl -----------------------------------------------------------------
class Bowl(Problem):
    bounds = ((-3.0, 3.0), (-3.0, 3.0))  # the default view

    def __init__(self, stretch: float) -> None:
        self.stretch = stretch
        self.start = np.array([-2.5, 2.0])  # (D,)
        self.minima = np.zeros((1, 2))  # (K, D)

    def loss(self, x):  # (B, D) -> (B,)
        return x[:, 0] ** 2 + self.stretch * x[:, 1] ** 2

    def grad(self, x):  # (B, D) -> (B, D)
        return np.stack([2 * x[:, 0], 2 * self.stretch * x[:, 1]], axis=1)


MODEL = ModelSpec(
    name="PREFIX_bowl",
    build=lambda settings, ctx: Bowl(settings["stretch"]),
    params=(Param("stretch", 4.0, low=0.1, high=100.0, log=True, doc="curvature ratio"),),
    label="PREFIX bowl",
    family="PREFIX",
    doc="f = x² + s·y²",
)


# --- activation: softsign -----------------------------------------------------------------
ACTIVATION = ActivationSpec(
    name="PREFIX_softsign",
    f=lambda z: z / (1 + np.abs(z)),
    df=lambda z: 1 / (1 + np.abs(z)) ** 2,
    d2f=lambda z: -2 * np.sign(z) / (1 + np.abs(z)) ** 3,
    label="PREFIX softsign",
    doc="f(z) = z / (1 + |z|)",
)


# --- schedule: halve the learning rate every `every` steps -------------------------------
SCHEDULE = ScheduleSpec(
    name="PREFIX_halving",
    factor=lambda step, every: 0.5 ** np.floor_divide(step, every),
    params=(Param("every", 100, low=1, high=100000, kind="int", doc="steps per halving"),),
    label="PREFIX halving",
    doc="γₖ = γ·0.5^⌊k/every⌋",
    robbins_monro=lambda every: False,
)


@hookimpl
def zoo_optimizers():
    return [OPTIMIZER]


@hookimpl
def zoo_models():
    return [MODEL]


@hookimpl
def zoo_activations():
    return [ACTIVATION]


@hookimpl
def zoo_schedules():
    return [SCHEDULE]
'''

TESTS = """\
\"\"\"The zoo's conformance kit on every record of this plugin: one test per check.\"\"\"

from zoo.registry import load_registry
from zoo.testing import parametrize_checks

REGISTRY = load_registry(local=False)


def test_the_plugin_loads_without_failures():
    assert [f.message for f in REGISTRY.failures if f.plugin == "{ident}"] == []
    assert "{ident}" in {{p.name for p in REGISTRY.plugins}}


@parametrize_checks(plugin="{ident}", registry=REGISTRY)
def test_conforms(check):
    check()
"""
