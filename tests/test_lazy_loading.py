"""A command that names only built-ins never imports another plugin; one that names
another plugin's record loads everything, and every name resolves as in a full load.

The plugins here write a marker file when their import starts and then block until the
test releases them, so an import that should not happen shows as the marker."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from zoo.cli import main
from zoo.registry import load_for, load_registry
from zoo.session import Scene, save_scene

BLOCKING = """
import time
from pathlib import Path

import numpy as np
from zoo import ActivationSpec, ModelSpec, OptimizerSpec, Param, Problem, hookimpl

Path({marker!r}).touch()
deadline = time.monotonic() + 60
while not Path({release!r}).exists() and time.monotonic() < deadline:
    time.sleep(0.01)


class Bowl(Problem):
    dim = 2
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    start = np.array([1.5, 1.0])
    minima = np.zeros((1, 2))

    def loss(self, x):
        return 0.5 * (x**2).sum(axis=1)

    def grad(self, x):
        return x


def init(problem, x, hyper):
    return {{}}


def step(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {{}}


@hookimpl
def zoo_optimizers():
    spec = OptimizerSpec("{prefix}_gd", init, step, (Param("lr", 0.05, 1e-6, 1.0, log=True),))
    return [spec, OptimizerSpec("sgd", init, step, (Param("lr", 0.5, 0.0, 1.0),))]


@hookimpl
def zoo_models():
    return [ModelSpec("{prefix}_bowl", lambda settings, ctx: Bowl())]


@hookimpl
def zoo_activations():
    return [ActivationSpec("{prefix}_act", np.tanh, lambda z: 1 - np.tanh(z) ** 2)]
"""


class Blocking:
    """A local plugin ``local`` and an installed distribution whose entry point ``aaa``
    (sorted before every built-in) imports ``third``: each also offers an ``sgd``."""

    def __init__(self, root, monkeypatch):
        self.release_file = root / "release"
        folder = root / "plugins"
        site = root / "site"
        info = site / "zoo_blocking-1.0.dist-info"
        folder.mkdir()
        info.mkdir(parents=True)
        self.markers = {"local": root / "local-imported", "third": root / "third-imported"}
        (folder / "local.py").write_text(self._text("local"))
        (site / "zoo_blocking_third.py").write_text(self._text("third"))
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-blocking\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[optimizer_zoo]\naaa = zoo_blocking_third\n")
        monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
        monkeypatch.syspath_prepend(str(site))

    def _text(self, prefix):
        marker = str(self.markers[prefix])
        return textwrap.dedent(
            BLOCKING.format(marker=marker, release=str(self.release_file), prefix=prefix)
        )

    def imported(self):
        return sorted(name for name, path in self.markers.items() if path.exists())

    def release(self):
        self.release_file.touch()


@pytest.fixture
def blocking(tmp_path, monkeypatch):
    plugins = Blocking(tmp_path, monkeypatch)
    yield plugins
    plugins.release()
    sys.modules.pop("zoo_blocking_third", None)


def zoo(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_of_built_ins_imports_no_other_plugin(blocking, capsys):
    code, out, err = zoo(capsys, "run", "quadratic", "sgd:lr=0.1", "--steps", "3", "--json")
    assert (code, err) == (0, "")
    assert blocking.imported() == []
    assert json.loads(out)["results"][0]["steps"] == 3
    code, _, _ = zoo(capsys, "run", "tiny_net", "adam", "--set", "activation=relu", "--steps", "2")
    assert code == 0 and blocking.imported() == []


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "local_bowl", "sgd", "--steps", "3"),
        ("run", "quadratic", "third_gd:lr=0.1", "--steps", "3"),
        ("run", "tiny_net", "sgd", "--set", "activation=local_act", "--steps", "3"),
        ("run", "quadratic", "sgd", "--schedule", "nonesuch", "--steps", "3"),
    ],
)
def test_a_run_naming_another_plugins_record_loads_every_plugin(blocking, capsys, argv):
    blocking.release()
    code, out, err = zoo(capsys, *argv)
    assert blocking.imported() == ["local", "third"]
    if "nonesuch" in argv:  # the error lists every schedule, as a full load does
        assert code == 2 and "unknown schedule 'nonesuch'" in err
    else:
        assert (code, err) == (0, "") and "3  " in out


def test_a_built_ins_name_is_the_built_ins_whichever_way_it_is_loaded(blocking):
    blocking.release()
    everything = load_registry()
    assert everything.provenance("optimizer", "sgd").plugin == "first_order"
    assert any(
        f.plugin == "aaa" and "'sgd' is already provided by plugin 'first_order'" in f.message
        for f in everything.failures
    )
    named = load_for(lambda builtins: [("optimizer", "third_gd")])
    assert named.provenance("optimizer", "sgd").plugin == "first_order"
    assert named.provenance("optimizer", "third_gd").plugin == "aaa"


def test_a_disabled_built_in_is_looked_for_among_the_others(blocking, capsys, monkeypatch):
    blocking.release()
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "first_order, local")
    code, out, err = zoo(capsys, "run", "quadratic", "sgd", "--steps", "3", "--json")
    assert (code, err) == (0, "") and blocking.imported() == ["third"]
    assert json.loads(out)["scene"]["runs"][0]["hyper"]["lr"] == 0.5  # the other one's sgd


def test_maps_tunes_and_scene_renders_of_built_ins_import_no_other_plugin(
    blocking, capsys, tmp_path
):
    code, _, err = zoo(capsys, "map", "quadratic", "sgd", "--grid", "3", "--steps", "3", "--json")
    assert (code, err) == (0, "")
    argv = ("tune", "quadratic", "sgd", "--values", "2", "--starts", "1", "--steps", "2")
    assert zoo(capsys, *argv, "--json")[0] == 0
    scene = tmp_path / "scene.json"
    save_scene(Scene(model="rosenbrock", runs=[]), scene)
    from zoo_gui.render import registry_for

    registry = registry_for(type("Args", (), {"scene": str(scene)})())
    assert "rosenbrock" in registry.models and blocking.imported() == []


def test_a_map_of_another_plugins_model_loads_it(blocking, capsys):
    blocking.release()
    argv = ("map", "third_bowl", "sgd", "--grid", "3", "--steps", "3", "--json")
    code, _, err = zoo(capsys, *argv)
    assert (code, err) == (0, "") and blocking.imported() == ["local", "third"]


def test_the_app_opens_a_built_in_scene_at_once_and_imports_the_rest_behind_it(
    blocking, tmp_path, monkeypatch
):
    from zoo.registry import load_deferred
    from zoo_gui import app, commands

    opened = {}
    monkeypatch.setattr(app, "run_app", lambda **kwargs: opened.update(kwargs) or 0)
    monkeypatch.setattr(commands, "require_display", lambda: None)
    built_in, other = tmp_path / "built_in.json", tmp_path / "other.json"
    save_scene(Scene(model="quadratic"), built_in)
    save_scene(Scene(model="local_bowl"), other)
    assert main(["app", str(built_in)]) == 0
    assert opened["load_later"] is load_deferred and blocking.imported() == []
    assert "local_bowl" not in opened["registry"].models
    blocking.release()
    assert main(["app", str(other)]) == 0
    assert opened["load_later"] is None and "local_bowl" in opened["registry"].models


def test_an_experiment_imports_no_other_plugin_unless_a_built_in_is_disabled(
    blocking, capsys, monkeypatch
):
    assert zoo(capsys, "experiment", "linear_neuron", "--json")[0] == 0
    assert blocking.imported() == []
    blocking.release()
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "quadratics")  # another plugin may stand in
    zoo(capsys, "experiment", "linear_neuron", "--json")
    assert blocking.imported() == ["local", "third"]
