"""A model written exactly as the plugin guide says — attributes set in ``__init__`` —
runs in ``simulate``, ``zoo run``, the conformance kit and the app."""

from __future__ import annotations

import numpy as np

import zoo
from zoo.cli import main
from zoo.testing import check_plugin

DOC_STYLE = """
import numpy as np
from zoo import ModelSpec, Param, Problem, hookimpl


class TiltedBowl(Problem):
    def __init__(self, tilt):
        self.dim = 2
        self.bounds = ((-3.0, 3.0), (-3.0, 3.0))
        self.start = np.array([2.0, -1.5])
        self.minima = np.array([[tilt, 0.0]])
        self.tilt = tilt

    def loss(self, x):
        return 0.5 * ((x[:, 0] - self.tilt) ** 2 + 4.0 * x[:, 1] ** 2)

    def grad(self, x):
        return np.stack([x[:, 0] - self.tilt, 4.0 * x[:, 1]], axis=1)


@hookimpl
def zoo_models():
    return [
        ModelSpec(
            "tilted_bowl",
            lambda settings, ctx: TiltedBowl(settings["tilt"]),
            params=(Param("tilt", 0.5, low=-1.0, high=1.0),),
        )
    ]
"""


def test_a_model_written_as_the_guide_says_runs_everywhere(
    qtbot, make_window, tmp_path, monkeypatch, capsys
):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "doc_style.py").write_text(DOC_STYLE)
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(folder))
    registry = zoo.load_registry()
    assert [f for f in registry.failures if f.plugin == "doc_style"] == []

    path = zoo.simulate("tilted_bowl", "sgd", steps=200, hyper={"lr": 0.2}, registry=registry)
    np.testing.assert_allclose(path.x[0], [2.0, -1.5])
    np.testing.assert_allclose(path.x[-1], [0.5, 0.0], atol=1e-8)  # the minimum at (tilt, 0)

    assert main(["run", "tilted_bowl", "sgd:lr=0.2", "--steps", "50"]) == 0
    assert "tilted_bowl (tilt=0.5)" in capsys.readouterr().out

    report = check_plugin(str(folder / "doc_style.py"))
    assert report.plugin == "doc_style" and report.passed, "\n".join(report.lines())

    window = make_window(registry, autoplay=False)
    assert window.set_model("tilted_bowl", {"tilt": -0.5})
    run = window.add_run(zoo.RunConfig("sgd", {"lr": 0.2}))
    window.runset.step(200)
    np.testing.assert_allclose(window.runset.position(run), [-0.5, 0.0], atol=1e-8)
    np.testing.assert_array_equal(window.workspace.problem.minima, [[-0.5, 0.0]])
