"""Fuzzing the window's doors: scene files generated from the format and mutated, opened in
the real window (offscreen), through ``zoo lab`` and through ``zoo render``.

Each says what may come back — the scene shown, or refused with the reason the file's own
check gives, a field named and the scene before kept; an exit status of 0, 2 or 3 with one
line and no traceback — and nothing else.  The examples are replayed from a fixed seed
(``derandomize``), few in the default run; the ``slow`` set runs many more.  Every wait is
bounded (the ``settled`` fixture's 30 s), so a hang fails the example."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz import FEW, mutated_scenes

from zoo.cli import main
from zoo.session import SessionError, load_scene

GUI_FEW = settings(FEW, max_examples=8)
GUI_MANY = settings(FEW, max_examples=80)

#: Formulas a scene may carry: fine, refused by the parser, by the compiler, or odd text.
FORMULAS = [
    "x**2 + 10*y**2",
    "max(x, y, -x, -y)",
    "sqrt(-1) + x",
    "x**2 + (y",
    "__import__('os')",
    "x**1e999",
    "log(x) + y**2",
    "",
]
#: What names the field or part of a scene a refusal is about.
NAMED = re.compile(
    r"'[\w.\[\]]+'"
    r"|\b(model|runs\[\d+\]|playback\.\w+|maps\.\w+|lesson\.\w+|formula|view|seed|settings)"
    r"|not valid JSON|nested too deeply|a number is too long|not a text file|too large"
)


@st.composite
def window_scenes(draw):
    """Mutated scenes, a third of them of the formula model with a formula from ``FORMULAS``."""
    scene = draw(mutated_scenes())
    if isinstance(scene.get("model"), dict) and draw(st.integers(0, 2)) == 0:
        formula = draw(st.one_of(st.sampled_from(FORMULAS), st.text(max_size=20)))
        scene["model"] = {"name": "expression", "settings": {"formula": formula}}
    if isinstance(scene.get("playback"), dict):  # a replayed render takes these many steps
        scene["playback"].pop("step_limit", None)
    return scene


def _expected(path, registry):
    """What the file's own check says: None (it loads and builds) or the refusal."""
    try:
        load_scene(path, registry).build(registry)
    except SessionError as error:
        return str(error)
    return None


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _open_in_window(window, settled, registry, path):
    before = window.scene()
    expected = _expected(path, registry)
    result = settled(window, window.open_scene_file(path))
    if expected is None:
        assert result is True, window.last_message
        assert not window.gate.pending
    else:
        assert result is False
        assert window.last_message == f"Scene not opened: {expected}"
        assert NAMED.search(expected), expected
        assert window.scene() == before  # nothing lost


@pytest.fixture
def window(make_window):
    """One window for all the examples of a test, so each scene replaces the last."""
    return make_window(autoplay=False)


def _check_opens(window, settled, registry, fuzz_folder, scene):
    path = fuzz_folder / "scene.json"
    path.write_text(json.dumps(scene))
    _open_in_window(window, settled, registry, path)


@GUI_FEW
@given(scene=window_scenes())
def test_a_mutated_scene_opened_in_the_window_is_shown_or_refused_by_name(
    window, settled, registry, fuzz_folder, scene
):
    _check_opens(window, settled, registry, fuzz_folder, scene)


def _check_lab(settled, registry, fuzz_folder, monkeypatch, capsys, scene):
    from zoo.workspace import default_scene
    from zoo_gui.window import MainWindow

    path = fuzz_folder / "lesson.json"
    path.write_text(json.dumps(scene))
    windows = []

    def run_app(scene=None, lesson=None, lab=False):  # a new window, without its event loop
        window = MainWindow(autoplay=False)
        windows.append(window)
        settled(window, window.open_lesson(lesson, lab=lab))
        return 0

    monkeypatch.setattr("zoo_gui.app.run_app", run_app)
    try:
        status = main(["lab", str(path)])
        err = capsys.readouterr().err
        assert status == 0 and err == "", err
        (window,) = windows
        expected = _expected(path, registry)
        if expected is None:
            assert window.lesson == load_scene(path, registry).lesson
        else:
            assert window.last_message == f"Lesson not opened: {expected}"
            assert NAMED.search(expected), expected
            assert window.model_name == default_scene(registry).model  # still shown
    finally:
        for window in windows:
            window.shutdown()
            window.stepper.idle(timeout=5.0)
            window.close()


@GUI_FEW
@given(scene=window_scenes())
def test_a_mutated_lesson_opened_by_zoo_lab_is_shown_or_refused_by_name(
    qapp, settled, registry, fuzz_folder, monkeypatch, capsys, scene
):
    _check_lab(settled, registry, fuzz_folder, monkeypatch, capsys, scene)


def _check_render(registry, fuzz_folder, capsys, scene):
    path = fuzz_folder / "render.json"
    path.write_text(json.dumps(scene))
    out = fuzz_folder / "render.png"
    out.unlink(missing_ok=True)
    status = main(["render", str(path), "--steps", "3", "--size", "64x48", "--out", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "run with --traceback" not in err, err
    expected = _expected(path, registry)
    if expected is None:
        assert status == 0 and out.is_file(), err
    else:
        assert status == 2 and not out.exists()  # a scene's fault, not a plugin's
        assert err.startswith("zoo: error: ") and err.count("\n") == 1, err


@GUI_FEW
@given(scene=window_scenes())
def test_a_mutated_scene_rendered_by_zoo_render_exits_as_documented(
    qapp, registry, fuzz_folder, capsys, scene
):
    _check_render(registry, fuzz_folder, capsys, scene)


# ----------------------------------------------------------------------------- the wide run
@pytest.mark.slow
@GUI_MANY
@given(scene=window_scenes())
def test_wide_scenes_in_the_window(window, settled, registry, fuzz_folder, scene):
    _check_opens(window, settled, registry, fuzz_folder, scene)


@pytest.mark.slow
@GUI_MANY
@given(scene=window_scenes())
def test_wide_lessons_through_zoo_lab(
    qapp, settled, registry, fuzz_folder, monkeypatch, capsys, scene
):
    _check_lab(settled, registry, fuzz_folder, monkeypatch, capsys, scene)


@pytest.mark.slow
@GUI_MANY
@given(scene=window_scenes())
def test_wide_scenes_through_zoo_render(qapp, registry, fuzz_folder, capsys, scene):
    _check_render(registry, fuzz_folder, capsys, scene)
