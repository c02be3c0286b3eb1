"""The registry loads every plugin it can and records, with reasons, the ones it cannot."""

from __future__ import annotations

import dataclasses
import sys
import textwrap
import types

import pytest

from zoo import OptimizerSpec, Param, hookimpl, load_registry
from zoo.registry import (
    BUILTIN_DISTRIBUTION,
    Registry,
    UnknownName,
    load_builtins,
    load_deferred,
)
from zoo.specs import SpecError

GOOD = """
import numpy as np
from zoo import OptimizerSpec, Param, hookimpl

def init(problem, x, hyper):
    return {"t": np.zeros(len(x), dtype=np.int64)}

def step(problem, x, state, hyper):
    return x - hyper["lr"] * problem.grad(x), {"t": state["t"] + 1}

@hookimpl
def zoo_optimizers():
    return [OptimizerSpec("NAME", init, step, params=(Param("lr", 0.1, 0.0, 1.0),))]
"""


def write(folder, name, text):
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(tmp_path))
    return tmp_path


def test_built_ins_arrive_through_entry_points_with_their_distribution(registry):
    assert {"sgd", "adam"} <= set(registry.optimizers)
    assert {"quadratic", "rosenbrock"} <= set(registry.models)
    origin = registry.provenance("optimizer", "sgd")
    assert origin.plugin == "first_order"
    assert origin.source.startswith("optimizer-zoo ")
    assert not [f for f in registry.failures if f.source.startswith("optimizer-zoo")]


def test_a_local_file_plugin_is_loaded_with_its_path(plugin_dir):
    path = write(plugin_dir, "mine", GOOD.replace("NAME", "local_gd"))
    registry = load_registry()
    assert "local_gd" in registry.optimizers
    origin = registry.provenance("optimizer", "local_gd")
    assert (origin.plugin, origin.source) == ("mine", str(path))


def test_broken_plugins_are_listed_while_the_rest_loads(plugin_dir):
    write(plugin_dir, "a_import_error", "import not_a_module_anywhere\n")
    write(plugin_dir, "b_syntax", "def broken(:\n")
    write(
        plugin_dir,
        "c_raises",
        """
        from zoo import hookimpl
        @hookimpl
        def zoo_models():
            raise RuntimeError("database unavailable")
        """,
    )
    write(
        plugin_dir,
        "d_malformed",
        """
        import numpy as np
        from zoo import OptimizerSpec, Param, hookimpl
        @hookimpl
        def zoo_optimizers():
            ok = OptimizerSpec("fine_one", lambda p, x, h: {}, lambda p, x, s, h: (x, s))
            bad = OptimizerSpec("bad_one", None, lambda p, x, s, h: (x, s))
            wrong = OptimizerSpec("bad_two", lambda p, x, h: {}, lambda p, x, s, h: (x, s),
                                  params=(Param("lr", 5.0, 0.0, 1.0),))
            return [ok, bad, wrong, "not a record"]
        """,
    )
    write(plugin_dir, "e_good", GOOD.replace("NAME", "survivor"))
    registry = load_registry()
    messages = {f.plugin: [] for f in registry.failures}
    for failure in registry.failures:
        messages[failure.plugin].append(failure.message)
    assert "ModuleNotFoundError" in messages["a_import_error"][0]
    assert "SyntaxError" in messages["b_syntax"][0]
    assert "zoo_models() failed: RuntimeError: database unavailable" in messages["c_raises"][0]
    malformed = " | ".join(messages["d_malformed"])
    assert "optimizer 'bad_one': field 'init' must be callable" in malformed
    assert "optimizer 'bad_two': field 'params[0]' (lr).default" in malformed
    assert "got str" in malformed
    assert "fine_one" in registry.optimizers and "survivor" in registry.optimizers
    assert {"sgd", "adam", "quadratic"} <= set(registry.optimizers) | set(registry.models)
    assert all(f.source.endswith(".py") for f in registry.failures)


def test_a_name_clash_names_both_providers_and_the_first_keeps_the_name(plugin_dir):
    write(plugin_dir, "first", GOOD.replace("NAME", "twin"))
    write(plugin_dir, "second", GOOD.replace("NAME", "twin"))
    write(plugin_dir, "third", GOOD.replace("NAME", "sgd"))
    registry = load_registry()
    assert registry.provenance("optimizer", "twin").plugin == "first"
    clash = next(f for f in registry.failures if f.plugin == "second")
    assert "'twin' is already provided by plugin 'first'" in clash.message
    assert "plugin 'second'" in clash.message
    builtin = next(f for f in registry.failures if f.plugin == "third")
    assert "plugin 'first_order' (optimizer-zoo" in builtin.message
    assert registry.provenance("optimizer", "sgd").plugin == "first_order"


def test_disabled_plugins_are_skipped(plugin_dir, monkeypatch):
    write(plugin_dir, "extra", GOOD.replace("NAME", "extra_gd"))
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "adaptive, extra")
    registry = load_registry()
    assert "adam" not in registry.optimizers and "extra_gd" not in registry.optimizers
    assert "sgd" in registry.optimizers


def test_register_at_run_time_and_unknown_names_list_the_valid_ones():
    registry = Registry()
    plugin = types.SimpleNamespace()

    @hookimpl
    def zoo_optimizers():
        return [
            OptimizerSpec(
                "runtime_gd",
                lambda p, x, h: {},
                lambda p, x, s, h: (x, s),
                params=(Param("lr", 0.1),),
            )
        ]

    plugin.zoo_optimizers = zoo_optimizers
    registry.register(plugin, name="notebook")
    assert registry.provenance("optimizer", "runtime_gd").plugin == "notebook"
    with pytest.raises(UnknownName, match=r"unknown optimizer 'nope' \(valid: runtime_gd\)"):
        registry.get("optimizer", "nope")
    registry.register(plugin, name="notebook")
    assert "already loaded" in registry.failures[-1].message


def test_a_record_in_the_wrong_hook_is_refused():
    registry = Registry()
    module = types.ModuleType("confused")

    @hookimpl
    def zoo_models():
        return [OptimizerSpec("misfiled", lambda p, x, h: {}, lambda p, x, s, h: (x, s))]

    module.zoo_models = zoo_models
    registry.register(module)
    assert "zoo_models() returned a optimizer 'misfiled'" in registry.failures[0].message
    assert "misfiled" not in registry.optimizers


def test_reload_picks_up_new_edited_and_removed_local_files(plugin_dir):
    path = write(plugin_dir, "live", GOOD.replace("NAME", "version_one"))
    registry = load_registry()
    assert "version_one" in registry.optimizers
    path.write_text(GOOD.replace("NAME", "version_two"))
    write(plugin_dir, "broken", "raise ValueError('half written')\n")
    registry.reload_local()
    assert "version_two" in registry.optimizers and "version_one" not in registry.optimizers
    assert [f.plugin for f in registry.failures] == ["broken"]
    (plugin_dir / "broken.py").unlink()
    path.unlink()
    registry.reload_local()
    assert "version_two" not in registry.optimizers and not registry.failures
    assert "sgd" in registry.optimizers


def test_misspelt_unmarked_and_wrapper_hooks_are_failures_naming_the_valid_hooks(plugin_dir):
    write(
        plugin_dir,
        "typos",
        """
        from zoo import hookimpl

        @hookimpl
        def zoo_optimisers():
            return []

        def zoo_models():
            return []

        @hookimpl(tryfirst=True)
        def zoo_schedules():
            return []
        """,
    )
    messages = [f.message for f in load_registry().failures if f.plugin == "typos"]
    valid = "zoo_activations, zoo_models, zoo_optimizers, zoo_schedules"
    assert f"zoo_optimisers is not a hook of the zoo (valid hooks: {valid})" in messages
    assert any("zoo_models is not decorated with @zoo.hookimpl" in m for m in messages)
    assert any("option tryfirst is not honoured" in m for m in messages)


def test_endless_hooks_wrong_return_types_and_sys_exit_are_contained(plugin_dir):
    write(
        plugin_dir,
        "endless",
        """
        from zoo import hookimpl

        @hookimpl
        def zoo_activations():
            while True:
                yield None
        """,
    )
    write(
        plugin_dir,
        "number",
        "from zoo import hookimpl\n@hookimpl\ndef zoo_models():\n    return 3\n",
    )
    write(plugin_dir, "quits", "import sys\nsys.exit(3)\n")
    write(
        plugin_dir,
        "quits_in_hook",
        "import sys\nfrom zoo import hookimpl\n@hookimpl\ndef zoo_models():\n    sys.exit(0)\n",
    )
    write(plugin_dir, "fine", GOOD.replace("NAME", "still_here"))
    registry = load_registry()
    failures = {f.plugin: f.message for f in registry.failures}
    assert "yielded more than 10000 records" in failures["endless"]
    assert "returned int; return a list, tuple or generator" in failures["number"]
    assert failures["quits"].startswith("import failed: called sys.exit(3)")
    assert "called sys.exit(0)" in failures["quits_in_hook"]
    assert "still_here" in registry.optimizers


def test_add_and_remove_are_the_public_way_to_edit_a_registry(registry):
    extra = Registry()
    record = registry.optimizers["sgd"]
    extra.add(record, plugin="script")
    assert extra.optimizers["sgd"] is record
    assert extra.provenance("optimizer", "sgd").plugin == "script"
    with pytest.raises(SpecError, match="already provided by plugin 'script'"):
        extra.add(record, plugin="other")
    with pytest.raises(SpecError, match="not a lowercase identifier"):
        extra.add(dataclasses.replace(record, name="Bad Name"))
    extra.remove("optimizer", "sgd")
    assert "sgd" not in extra.optimizers
    with pytest.raises(UnknownName):
        extra.remove("optimizer", "sgd")


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    """An installed distribution ``zoo-extras`` whose entry point ``extras`` gives
    optimizer ``extra_gd``: found on ``sys.path`` through its ``.dist-info``."""
    site = tmp_path / "site"
    info = site / "zoo_extras-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-extras\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[optimizer_zoo]\nextras = zoo_extras_plugin\n")
    (site / "zoo_extras_plugin.py").write_text(textwrap.dedent(GOOD.replace("NAME", "extra_gd")))
    monkeypatch.syspath_prepend(str(site))
    yield "zoo-extras 1.0"
    sys.modules.pop("zoo_extras_plugin", None)


def summary(registry):
    """Every record with its provenance, every plugin and every failure."""
    records = {(kind, name): registry.provenance(kind, name) for kind, name, _ in registry}
    plugins = sorted((p.name, p.source, p.origin) for p in registry.plugins)
    return records, plugins, sorted(registry.failures, key=lambda f: (f.plugin, f.message))


def test_built_ins_first_then_the_rest_adopted_is_what_loading_everything_gives(
    plugin_dir, third_party
):
    write(plugin_dir, "mine", GOOD.replace("NAME", "local_gd"))
    write(plugin_dir, "clashing", GOOD.replace("NAME", "sgd"))  # a built-in's name
    # A built-in plugin's name, and a mistake that is never reported, the plugin being refused.
    write(plugin_dir, "adaptive", GOOD.replace("NAME", "other_gd") + "def zoo_models(): pass\n")
    write(plugin_dir, "broken", "raise ValueError('half written')\n")
    registry = load_builtins()
    assert "extra_gd" not in registry.optimizers and "local_gd" not in registry.optimizers
    assert {p.source.split()[0] for p in registry.plugins} == {BUILTIN_DISTRIBUTION}
    announced = []
    later = load_deferred(announced.append)
    assert announced == ["extras", "adaptive", "broken", "clashing", "mine"]
    assert later.provenance("optimizer", "sgd").plugin == "clashing"  # refused on adoption
    registry.adopt(later)
    assert summary(registry) == summary(load_registry())
    assert registry.provenance("optimizer", "extra_gd").source == third_party
    assert registry.provenance("optimizer", "sgd").plugin == "first_order"
    assert "other_gd" not in registry.optimizers


def test_loading_the_rest_touches_no_registry_but_its_own(plugin_dir, third_party):
    write(plugin_dir, "mine", GOOD.replace("NAME", "local_gd"))
    registry = load_builtins()
    before = summary(registry)
    later = load_deferred()
    assert summary(registry) == before
    assert set(later.optimizers) == {"extra_gd", "local_gd"}
    registry.adopt(later)
    registry.reload_local()  # adopted local plugins reload like any others
    assert {"extra_gd", "local_gd"} <= set(registry.optimizers)
    assert not registry.failures


def test_a_local_file_without_any_hook_is_a_failure_naming_the_valid_hooks(plugin_dir, capsys):
    from zoo.cli import main

    write(plugin_dir, "empty", "import numpy as np\n\nRATE = 0.1\n")
    write(plugin_dir, "misspelt", "def zoo_optimiser():\n    return []\n")
    write(
        plugin_dir,
        "unprefixed",
        "from zoo import hookimpl\n@hookimpl\ndef optimizers():\n    return []\n",
    )
    write(plugin_dir, "fine", GOOD.replace("NAME", "fine_gd"))
    failures = {f.plugin: f.message for f in load_registry().failures}
    valid = "zoo_activations, zoo_models, zoo_optimizers, zoo_schedules"
    assert failures.pop("empty") == (
        f"defines no hook of the zoo, so it adds nothing (valid hooks: {valid}, "
        "each decorated with @zoo.hookimpl)"
    )
    assert (
        failures.pop("misspelt") == f"zoo_optimiser is not a hook of the zoo (valid hooks: {valid})"
    )
    assert (
        failures.pop("unprefixed") == f"optimizers is not a hook of the zoo (valid hooks: {valid})"
    )
    assert failures == {}
    assert main(["plugins"]) == 0
    listing = capsys.readouterr().out.split("Failures (3)\n", 1)[1]
    assert f"empty ({plugin_dir / 'empty.py'}): defines no hook of the zoo" in listing
