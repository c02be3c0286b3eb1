"""Scene files: round trips, replays, and every kind of bad file refused with its reason."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import zoo
from zoo.session import (
    FORMAT,
    VERSION,
    Scene,
    SessionError,
    load_scene,
    save_scene,
    scene_from_dict,
    scene_to_dict,
)


def example_scene() -> Scene:
    return Scene(
        model="quadratic",
        settings={"lambda1": 1.0, "lambda2": 10.0},
        seed=3,
        runs=[
            zoo.RunConfig("sgd", {"lr": 0.05}, start=(-1.5, 1.0), label="GD", color="#1f77b4"),
            zoo.RunConfig(
                "adam",
                {"lr": 0.1, "beta1": 0.8},
                schedule="exponential",
                schedule_params={"gamma": 0.95},
                seed=7,
                label="Adam",
                color="#ff7f0e",
                visible=False,
            ),
        ],
        view=((-2.0, 2.0), (-1.5, 1.5)),
        playback={"steps_per_frame": 4, "step_limit": 300},
        lesson={"title": "Two runs", "text": "<p>Look.</p>", "panels": ["ruler"]},
    )


def test_a_scene_survives_a_file_round_trip(tmp_path, registry):
    scene = example_scene()
    path = tmp_path / "scene.json"
    save_scene(scene, path)
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert load_scene(path, registry) == scene
    assert load_scene(path.read_text(), registry) == scene  # JSON text works too


def test_a_loaded_scene_replays_the_same_trajectories_as_simulate(tmp_path, registry):
    path = tmp_path / "scene.json"
    save_scene(example_scene(), path)
    _, runset, ids = load_scene(path, registry).build(registry)
    runset.step(40)
    for run_id, config in zip(ids, example_scene().runs, strict=True):
        schedule = (config.schedule, dict(config.schedule_params)) if config.schedule else None
        expected = zoo.simulate(
            "quadratic",
            config.optimizer,
            steps=40,
            start=config.start,
            settings={"lambda1": 1.0, "lambda2": 10.0},
            seed=3,
            hyper=dict(config.hyper),
            schedule=schedule,
            registry=registry,
            gtol=1e-10,
        )
        np.testing.assert_array_equal(runset.trajectory(run_id).x, expected.x)


def base() -> dict:
    return scene_to_dict(example_scene())


def broken(**changes) -> dict:
    data = base()
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"version": VERSION + 1}, "newer than this program"),
        ({"version": "1"}, "'version' must be"),
        ({"format": "something-else"}, "'format' must be"),
        ({"model": "quadratic"}, "'model' must be an object"),
        ({"model__name": "Not A Name"}, "model.name"),
        ({"runs": {"a": 1}}, "'runs' must be a list"),
        ({"runs__0__optimizer": 5}, "runs[0].optimizer"),
        ({"runs__0__start": [1.0, "x"]}, "runs[0].start"),
        ({"runs__0__color": "blue"}, "runs[0].color"),
        ({"runs__0__visible": "yes"}, "runs[0].visible"),
        ({"runs__0__seed": 1.5}, "runs[0].seed"),
        ({"runs__0__batch_size": -1}, "runs[0].batch_size"),
        ({"runs__0__hyper": {"lr": [1, 2]}}, "runs[0].hyper.lr"),
        ({"runs__0__exec": "import os"}, "unknown field"),
        ({"view": [[2, -2], [-1, 1]]}, "xmin < xmax"),
        ({"view": [[-2, 2]]}, "'view' must be"),
        ({"playback__steps_per_frame": 0}, "playback.steps_per_frame"),
        ({"playback__speed": 3}, "unknown field"),
        ({"lesson__panels": "ruler"}, "lesson.panels"),
        ({"seed": None}, "'seed' must be"),
        ({"seed": -1}, "'seed' must be a whole number from 0 to 2147483647, got -1"),
        ({"seed": 2**31}, "'seed' must be a whole number from 0 to 2147483647"),
        ({"seed": 2**64}, "'seed' must be a whole number from 0 to 2147483647"),
        ({"runs__0__seed": -1}, "runs[0].seed must be a whole number from 0"),
        ({"runs__0__seed": 2**63}, "runs[0].seed must be a whole number from 0"),
        ({"view": [[-1e308, 1e308], [-1, 1]]}, "'view' must lie within"),
        ({"runs__0__label": "\ud800"}, "runs[0].label holds an invalid character"),
        ({"lesson__title": "\udfff"}, "lesson.title holds an invalid character"),
    ],
)
def test_malformed_scenes_are_refused_with_the_reason(changes, reason):
    with pytest.raises(SessionError) as error:
        scene_from_dict(broken(**changes))
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"model__name": "no_such_model"}, "unknown model 'no_such_model'"),
        ({"runs__1__optimizer": "no_such_optimizer"}, "unknown optimizer"),
        ({"runs__1__schedule": "no_such_schedule"}, "unknown schedule"),
        ({"runs__0__hyper": {"lr": -1.0}}, "below the minimum"),
        ({"runs__0__hyper": {"learning_rate": 0.1}}, "unknown setting learning_rate"),
        ({"model__settings": {"lambda2": "ten"}}, "expected a number"),
        ({"model__settings": {"lambda9": 1.0}}, "unknown setting lambda9"),
        ({"runs__0__schedule_params": {"gamma": 0.5}}, "schedule_params given without"),
    ],
)
def test_names_and_values_are_checked_against_the_registry(changes, reason, registry):
    with pytest.raises(SessionError) as error:
        scene_from_dict(broken(**changes), registry)
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        (
            '{"format": "optimizer-zoo-scene", "version": 1, "seed": NaN, "model": {"name": "a"}}',
            "NaN is not a valid number",
        ),
        ("[1, 2, 3]", "must be a JSON object"),
    ],
)
def test_corrupt_text_is_refused(tmp_path, text, reason):
    path = tmp_path / "scene.json"
    path.write_text(text)
    with pytest.raises(SessionError) as error:
        load_scene(path)
    assert reason in str(error.value)


def test_binary_and_missing_files_are_refused(tmp_path):
    binary = tmp_path / "scene.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SessionError, match="not a text file"):
        load_scene(binary)
    with pytest.raises(SessionError, match="cannot read"):
        load_scene(tmp_path / "missing.json")


def test_a_scene_that_cannot_be_built_says_why(registry):
    scene = Scene("quadratic", runs=[zoo.RunConfig("sgd", start=(1.0, 2.0, 3.0))])
    with pytest.raises(SessionError, match="start has 3 coordinates"):
        scene.build(registry)


names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)
values = st.one_of(numbers, st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=20))
runs = st.builds(
    zoo.RunConfig,
    optimizer=names,
    hyper=st.dictionaries(names, values, max_size=3),
    schedule=st.one_of(st.none(), names),
    schedule_params=st.dictionaries(names, values, max_size=2),
    start=st.one_of(st.none(), st.tuples(numbers, numbers)),
    seed=st.integers(0, 2**31 - 1),
    batch_size=st.integers(0, 1000),
    label=st.text(max_size=30),
    color=st.one_of(st.just(""), st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)),
    visible=st.booleans(),
)


@settings(max_examples=40, deadline=None)
@given(
    model=names,
    seed=st.integers(0, 2**31 - 1),
    runs=st.lists(runs, max_size=4),
    settings_=st.dictionaries(names, values, max_size=3),
)
def test_any_well_formed_scene_survives_the_json_round_trip(model, seed, runs, settings_):
    scene = Scene(model=model, settings=settings_, seed=seed, runs=runs)
    text = json.dumps(scene_to_dict(scene), allow_nan=False)
    assert load_scene(text) == scene


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"a": ' * 3000 + "1" + "}" * 3000, "nested too deeply"),
        (
            '{"format": "optimizer-zoo-scene", "runs": ' + "[" * 3000 + "]" * 3000 + "}",
            "nested too deeply",
        ),
        (
            '{"format": "optimizer-zoo-scene", "version": 1, "seed": ' + "9" * 5000 + "}",
            "a number is too long",
        ),
    ],
)
def test_hostile_json_is_refused_not_raised(tmp_path, text, reason):
    path = tmp_path / "scene.json"
    path.write_text(text)
    with pytest.raises(SessionError, match=reason):
        load_scene(path)
    with pytest.raises(SessionError, match=reason):
        load_scene(text)


def test_a_start_the_model_cannot_take_names_the_run(registry):
    scene = Scene("quadratic_1d", runs=[zoo.RunConfig("sgd"), zoo.RunConfig("sgd", start=(1, 2))])
    with pytest.raises(SessionError) as error:
        scene.build(registry)
    assert str(error.value) == (
        "runs[1] cannot be built: start has 2 coordinates; the model has 1 weight"
    )


def test_saving_writes_whole_files(tmp_path):
    path = tmp_path / "scene.json"
    save_scene(example_scene(), path)
    assert load_scene(path) == example_scene()
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]  # no temporary left


def _saved(tmp_path):
    path = tmp_path / "scene.json"
    save_scene(example_scene(), path)
    return path, path.read_bytes()


def test_a_save_that_cannot_encode_leaves_the_old_file_byte_identical(tmp_path):
    path, before = _saved(tmp_path)
    scene = example_scene()
    scene.runs[0] = zoo.RunConfig("sgd", label="bad \ud800 label")
    with pytest.raises(SessionError, match="cannot be saved"):
        save_scene(scene, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]
    scene.runs[0] = zoo.RunConfig("sgd", hyper={"lr": float("nan")})
    with pytest.raises(SessionError, match="not saved"):
        save_scene(scene, path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_a_full_disk_leaves_the_old_file_byte_identical(tmp_path, monkeypatch, failing):
    import errno
    import os

    path, before = _saved(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    class HalfWritten:
        """A file on a disk that fills up half-way through the write."""

        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[: len(data) // 2])
            self.handle.flush()
            full()

        def __getattr__(self, name):
            return getattr(self.handle, name)

    if failing == "write":
        real_open = open
        monkeypatch.setattr(
            "zoo.atomic.open", lambda *a, **k: HalfWritten(real_open(*a, **k)), raising=False
        )
    else:
        monkeypatch.setattr(os, failing, full)
    with pytest.raises(SessionError, match="No space left on device"):
        save_scene(example_scene(), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]


def test_saving_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(SessionError, match="does not exist"):
        save_scene(example_scene(), tmp_path / "nowhere" / "scene.json")


MAPS = {
    "kind": "hyper",
    "optimizer": "sgd",
    "x": "lr",
    "y": "momentum",
    "grid": 16,
    "steps": 50,
    "quantity": "rate",
    "x_range": {"low": 0.001, "high": 1.0, "log": True},
    "y_range": {"low": 0.0, "high": 0.99, "log": False},
}


def with_maps(**changes) -> dict:
    data = base()
    data["maps"] = {**MAPS, **changes}
    return data


def test_map_ranges_survive_a_file_round_trip(tmp_path, registry):
    scene = example_scene()
    scene.maps = dict(MAPS)
    save_scene(scene, tmp_path / "scene.json")
    assert load_scene(tmp_path / "scene.json", registry).maps == MAPS


def span(low, high, log=False, **more) -> dict:
    return {"low": low, "high": high, "log": log, **more}


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"x_range": [0.001, 1.0]}, "maps.x_range must be an object"),
        ({"x_range": span(1.0, 0.001, True)}, "maps.x_range: lr: the range needs low < high"),
        ({"x_range": span(0.0, 1.0, True)}, "maps.x_range: lr: a log axis needs low > 0"),
        ({"y_range": span("0", 0.99)}, "maps.y_range.low and .high must be finite numbers"),
        ({"y_range": span(0.0, 0.99, "no")}, "maps.y_range.log must be true or false"),
        ({"y_range": span(0.0, 0.99, step=0.1)}, "maps.y_range has unknown field 'step'"),
        (
            {"y": "batch_size", "y_range": span(1.5, 8, True)},
            "maps.y_range: batch_size: sizes are whole numbers",
        ),
        ({"x": None}, "maps.x_range is given without maps.x"),
    ],
)
def test_malformed_map_ranges_are_refused_with_the_field_named(changes, reason):
    with pytest.raises(SessionError) as error:
        scene_from_dict(with_maps(**changes))
    assert reason in str(error.value)


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"x_range": span(0.001, 100.0, True)}, "maps.x_range: lr: high 100 is above the largest"),
        ({"y_range": span(-0.5, 0.9)}, "maps.y_range: momentum: low -0.5 is below the smallest"),
    ],
)
def test_map_ranges_beyond_the_declared_range_are_refused(changes, reason, registry):
    scene_from_dict(with_maps(), registry)
    with pytest.raises(SessionError) as error:
        scene_from_dict(with_maps(**changes), registry)
    assert reason in str(error.value)
