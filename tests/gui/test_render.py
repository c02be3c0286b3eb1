"""``zoo render`` without a display: PNG, GIF and MP4, from flags or a scene file."""

from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from zoo.session import Scene, save_scene


def render_args(**values):
    args = dict(
        scene=None,
        model="quadratic",
        optimizers=["sgd:lr=0.05", "adam:lr=0.1"],
        settings=["lambda2=8"],
        steps=40,
        start=None,
        schedule=None,
        seed=0,
        frames=6,
        out=None,
        size="320x240",
        steps_per_frame=2,
    )
    args.update(values)
    return SimpleNamespace(**args)


def test_render_a_png_from_flags(qapp, tmp_path, capsys):
    import imageio.v3 as iio

    from zoo_gui.render import render_command

    out = tmp_path / "picture.png"
    assert render_command(render_args(out=str(out))) == 0
    picture = iio.imread(out)
    assert picture.shape[:2] == (240, 320)
    assert len(np.unique(picture.reshape(-1, picture.shape[-1]), axis=0)) > 100
    assert "wrote" in capsys.readouterr().out


def test_render_a_gif_of_a_scene_file_in_a_subprocess(tmp_path):
    import imageio.v3 as iio

    from zoo import RunConfig

    scene = tmp_path / "scene.json"
    save_scene(Scene("rosenbrock", runs=[RunConfig("adam", {"lr": 0.05}, color="#ff7f0e")]), scene)
    out = tmp_path / "runs.gif"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoo",
            "render",
            str(scene),
            "--frames",
            "7",
            "--size",
            "200x160",
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frames = iio.imread(out, index=None)
    assert frames.shape[:3] == (7, 160, 200)


def test_render_refuses_bad_input_with_a_message(qapp, tmp_path):
    from zoo.cli import UsageError
    from zoo_gui.render import render_command

    with pytest.raises(UsageError, match="--out"):
        render_command(render_args(out=str(tmp_path / "x.bmp")))
    with pytest.raises(UsageError, match="unknown optimizer"):
        render_command(render_args(out=str(tmp_path / "x.png"), optimizers=["nope"]))
    with pytest.raises(UsageError, match="--size"):
        render_command(render_args(out=str(tmp_path / "x.png"), size="big"))


def test_render_an_mp4(qapp, tmp_path):
    import imageio.v3 as iio

    from zoo_gui.render import render_command

    out = tmp_path / "runs.mp4"
    assert render_command(render_args(out=str(out), frames=5)) == 0
    assert (
        iio.imread(out, index=None, plugin="pyav").shape[0] == 5
        if _has_pyav()
        else out.stat().st_size > 1000
    )


def _has_pyav():
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_scene_written_by_zoo_run_replays_bit_for_bit_in_the_renderer(qapp, tmp_path, capsys):
    import json

    import zoo
    from zoo.cli import main
    from zoo.session import load_scene
    from zoo_gui.render import Renderer

    scene_file = tmp_path / "run.json"
    argv = ["run", "rosenbrock", "adam:lr=0.05", "sgd:lr=0.002", "--start", "-1.2,1"]
    assert main([*argv, "--steps", "120", "--json", "--scene-out", str(scene_file)]) == 0
    ends = [r["x"][-1] for r in json.loads(capsys.readouterr().out)["results"]]
    registry = zoo.load_registry()
    scene = load_scene(scene_file, registry)
    renderer = Renderer(scene, registry, 64, 48)
    try:
        renderer.advance(scene.playback["step_limit"])
        runset = renderer.window.workspace.runset
        assert [runset.trajectory(i).x[-1].tolist() for i in runset.configs] == ends
    finally:
        renderer.close()
