"""The workspace model, driven without Qt: scenes, model changes, runs, events."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo.engine import EngineError, RunConfig
from zoo.session import scene_from_dict, scene_to_dict
from zoo.workspace import Workspace, WorkspaceBusy, default_scene, run_label


class Recorder:
    """Every event of a workspace, in order, as (name, values)."""

    def __init__(self, workspace: Workspace) -> None:
        self.seen: list[tuple[str, tuple]] = []
        for name in workspace.events.NAMES:
            getattr(workspace.events, name).connect(
                lambda *values, n=name: self.seen.append((n, values))
            )

    def names(self) -> list[str]:
        return [name for name, _ in self.seen]


@pytest.fixture
def workspace(registry):
    ws = Workspace(registry, palette=lambda i: f"#0000{i:02x}")
    ws.load_scene(default_scene(registry, ws.palette))
    return ws


def test_the_workspace_module_imports_no_qt():
    code = (
        "import sys, zoo.workspace; "
        "print(any('PySide6' in m or m.startswith('zoo_gui') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_default_scene_races_four_optimizers_from_one_start(workspace):
    configs = list(workspace.runset.configs.values())
    assert [c.optimizer for c in configs] == ["sgd", "momentum", "adam", "rmsprop"]
    assert {c.start for c in configs} == {(-1.6, 1.2)}
    assert len({c.color for c in configs}) == 4
    assert workspace.selected == next(iter(workspace.runset.configs))


def test_loading_a_scene_tells_runs_selection_then_scene(registry):
    ws = Workspace(registry)
    events = Recorder(ws)
    ws.load_scene(default_scene(registry))
    names = events.names()
    assert names.index("runs_changed") < names.index("selection_changed")
    assert names.index("selection_changed") < names.index("scene_changed")
    assert "playback_changed" in names and "lesson_changed" in names


def test_a_scene_saved_from_the_workspace_loads_back_the_same(workspace, registry):
    workspace.set_trail(250)
    workspace.set_step_limit(77)
    workspace.track_view(((-1.0, 1.0), (-0.5, 0.5)))
    data = scene_to_dict(workspace.scene())
    other = Workspace(registry)
    other.load_scene(scene_from_dict(data, registry))
    assert list(other.runset.configs.values()) == list(workspace.runset.configs.values())
    assert (other.trail, other.step_limit, other.view) == (250, 77, ((-1.0, 1.0), (-0.5, 0.5)))


def test_a_scene_without_a_trail_setting_draws_whole_paths(workspace, registry):
    data = scene_to_dict(workspace.scene())
    del data["playback"]["trail"]
    other = Workspace(registry)
    other.load_scene(scene_from_dict(data, registry))
    assert other.trail is None


def test_runs_of_a_scene_file_without_colours_get_the_palettes(workspace, registry):
    data = scene_to_dict(workspace.scene())
    for run in data["runs"]:
        run.pop("color", None)
    data["runs"][1]["color"] = "#123456"
    other = Workspace(registry, palette=lambda i: f"#0000{i:02x}")
    other.load_scene(scene_from_dict(data, registry))
    colours = [c.color for c in other.runset.configs.values()]
    assert colours == ["#000000", "#123456", "#000002", "#000003"]


def test_changing_only_settings_keeps_the_starts_and_another_model_drops_them(workspace):
    starts = [c.start for c in workspace.runset.configs.values()]
    assert workspace.set_model("quadratic", {**workspace.settings, "lambda2": 5.0}) == []
    assert [c.start for c in workspace.runset.configs.values()] == starts
    assert workspace.set_model("rosenbrock") == []
    assert all(c.start is None for c in workspace.runset.configs.values())
    assert workspace.model_name == "rosenbrock"


def test_a_model_that_cannot_be_built_changes_nothing(workspace):
    before = (workspace.model_name, workspace.runset, workspace.problem)
    with pytest.raises(EngineError, match="formula"):
        workspace.set_model("expression", {"formula": "x**2 + (y"})
    assert (workspace.model_name, workspace.runset, workspace.problem) == before


def test_a_plugin_build_that_raises_is_an_engine_error(registry):
    import types

    from zoo import ModelSpec, hookimpl

    def build(values, context):
        raise RuntimeError("the build broke")

    module = types.ModuleType("breaking_model")
    module.zoo_models = hookimpl(lambda: [ModelSpec("breaking", build)])
    registry = zoo.load_registry(local=False)
    registry.register(module, name="breaking_model")
    ws = Workspace(registry)
    ws.load_scene(default_scene(registry))
    with pytest.raises(EngineError, match="RuntimeError: the build broke"):
        ws.set_model("breaking")
    assert ws.model_name == "quadratic"


def test_a_sweep_is_added_in_one_batch(workspace):
    events = Recorder(workspace)
    base = next(iter(workspace.runset.configs))
    values = list(np.geomspace(0.001, 0.1, 256))
    ids = workspace.sweep(base, "lr", values, ["#123456"] * 256)
    assert len(ids) == 256
    assert [workspace.runset.configs[i].hyper["lr"] for i in ids] == values
    assert events.names().count("runs_changed") == 1
    assert workspace.selected == ids[-1]


def test_a_busy_guard_refuses_changes_and_keeps_the_runs(workspace):
    before = dict(workspace.runset.configs)
    workspace.guard = lambda: False
    with pytest.raises(WorkspaceBusy):
        workspace.add_run(RunConfig("adam"))
    with pytest.raises(WorkspaceBusy):
        workspace.set_model("rosenbrock")
    assert dict(workspace.runset.configs) == before
    assert workspace.model_name == "quadratic"


def test_edits_restart_a_run_unless_asked_to_continue(workspace):
    run_id = next(iter(workspace.runset.configs))
    workspace.runset.step(5)
    workspace.set_hyper(run_id, lr=0.05)
    assert workspace.runset.steps_taken(run_id) == 0
    workspace.runset.step(5)
    workspace.continue_on_edit = True
    workspace.set_hyper(run_id, lr=0.04)
    assert workspace.runset.steps_taken(run_id) == 5
    workspace.edit_run(run_id, label="mine")  # a new name never restarts a run
    assert workspace.runset.steps_taken(run_id) == 5


def test_selection_follows_added_and_removed_runs(workspace):
    events = Recorder(workspace)
    new = workspace.add_run(workspace.new_run())
    assert workspace.selected == new
    assert workspace.runset.configs[new].optimizer == "adam"
    workspace.remove_run(new)
    assert workspace.selected == next(iter(workspace.runset.configs))
    assert [v for n, v in events.seen if n == "selection_changed"] == [
        (new,),
        (workspace.selected,),
    ]


def test_playback_settings_are_clamped_and_told(workspace):
    events = Recorder(workspace)
    workspace.set_steps_per_frame(5000)
    workspace.set_step_limit(0)
    workspace.play()
    assert (workspace.steps_per_frame, workspace.step_limit, workspace.playing) == (1000, 1, True)
    assert events.names() == ["playback_changed"] * 3


def test_labels_follow_the_optimizer_and_its_changed_values(registry):
    assert run_label(RunConfig("adam"), registry) == "Adam"
    assert run_label(RunConfig("adam", {"lr": 0.05}), registry) == "Adam lr=0.05"
    assert run_label(RunConfig("sgd", {"lr": 0.09}), registry) == "SGD lr=0.09"
    assert run_label(RunConfig("rmsprop", {"centered": True}), registry) == "RMSprop centered"
    assert run_label(RunConfig("newton", {"lr": 0.09}), registry) == "Newton lr=0.09"
    assert run_label(RunConfig("sgd", {"lr": 0.09}, label="my run"), registry) == "my run"


def test_a_run_changed_to_another_optimizer_is_named_after_it(workspace):
    run_id = next(iter(workspace.runset.configs))
    assert workspace.label(run_id) == "SGD lr=0.09"
    workspace.set_hyper(run_id, lr=0.05)
    assert workspace.label(run_id) == "SGD lr=0.05"
    workspace.edit_run(run_id, optimizer="newton", hyper={"lr": 0.05})
    assert workspace.label(run_id) == "Newton lr=0.05"


def test_the_default_scene_uses_what_is_registered(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "first_order")
    registry = zoo.load_registry(local=False)
    assert "sgd" not in registry.optimizers
    scene = default_scene(registry)
    names = [run.optimizer for run in scene.runs]
    assert names[:2] == ["adam", "rmsprop"] and len(names) == 4
    assert all(name in registry.optimizers for name in names)
    ws = Workspace(registry)
    ws.load_scene(scene)
    ws.runset.step(3)
    assert all(ws.runset.steps_taken(r) == 3 for r in ws.runset.configs)
    assert ws.add_run(ws.new_run()) in ws.runset.configs


def test_the_pca_plane_needs_paths_first(registry):
    ws = Workspace(registry)
    ws.load_scene(default_scene(registry))
    ws.set_model("mlp")
    with pytest.raises(ValueError, match="few steps"):
        ws.set_plane("pca")
    ws.runset.step(20)
    events = Recorder(ws)
    ws.set_plane("pca")
    assert ws.plane_key == "pca" and events.names() == ["plane_changed"]
    run_id = next(iter(ws.runset.configs))
    x = ws.runset.history(run_id)[0]
    back = np.array([ws.view_plane.to_weights(*p) for p in ws.to_view(x)])
    np.testing.assert_allclose(ws.to_view(back), ws.to_view(x), atol=1e-9)


def test_add_suggests_a_step_size_from_the_curvature_at_the_start(workspace):
    config = workspace.new_run()
    assert config.optimizer == "adam"
    # The default bowl has eigenvalues 1 and 20 everywhere: η = 1/20.
    assert config.hyper == {"lr": 0.05}
    workspace.set_model("rosenbrock")
    start = workspace.runset.start_of(workspace.new_run())
    top = np.linalg.eigvalsh(workspace.problem.hess(start[None])[0]).max()
    assert workspace.new_run().hyper["lr"] == pytest.approx(1 / top, rel=0.05)


def test_a_gradient_descent_run_past_two_over_lambda_max_is_warned_of(workspace):
    assert workspace.stability_warnings() == {}  # the default scene is stable
    workspace.set_model("rosenbrock")
    warnings = workspace.stability_warnings()
    gd = [r for r, c in workspace.runset.configs.items() if c.optimizer == "sgd"]
    assert set(warnings) == set(gd)  # momentum, Adam and RMSprop have other limits
    (text,) = warnings.values()
    top = float(np.max(np.linalg.eigvalsh(workspace.problem.hess(np.array([[-1.2, 1.0]]))[0])))
    assert f"2/λ_max = {2 / top:.3g}" in text and f"1/λ_max = {1 / top:.3g}" in text
    (run_id,) = gd
    workspace.set_hyper(run_id, lr=1.9 / top)
    assert workspace.stability_warnings() == {}
