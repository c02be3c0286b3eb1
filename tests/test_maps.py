"""Maps from batches: basins, hyper-parameter maps against theory, sensitivity, cancelling."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from zoo import Problem, RunSet, build_problem, load_registry, maps, theory
from zoo.map_image import MISSING, colourise, legend
from zoo.workspace import LESSONS


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def quadratic(registry, lambda2=10.0):
    settings = {"lambda1": 1.0, "lambda2": lambda2, "angle": 30.0}
    return build_problem("quadratic", settings, registry=registry)


def test_small_step_gd_sends_every_converged_pixel_to_the_one_minimum(registry):
    problem = quadratic(registry)
    result = maps.basin_map(problem, "sgd", {"lr": 0.05}, grid=16, steps=400, registry=registry)
    basin = result.data["basin"]
    assert basin.shape == (16, 16)
    settled = basin != maps.NOT_YET
    assert settled.sum() > 200
    assert (basin[settled] == 0).all()
    assert np.isfinite(result.data["steps_to_tol"][basin == 0]).all()


def test_newton_on_himmelblau_has_four_basins_each_holding_its_minimum(registry):
    problem = build_problem("himmelblau", registry=registry)
    result = maps.basin_map(problem, "newton", grid=40, steps=60, registry=registry)
    basin = result.data["basin"]
    assert len(result.minima) == 4
    for index, minimum in enumerate(result.minima):
        assert (basin == index).sum() > 0
        row = int(np.argmin(np.abs(result.y.values - minimum[1])))
        column = int(np.argmin(np.abs(result.x.values - minimum[0])))
        assert basin[row, column] == index
    # Newton also finds the saddles and the maximum: those starts end "elsewhere".
    assert (basin == maps.ELSEWHERE).sum() > 0


def himmelblau_hessian(x):
    """Himmelblau's Hessian by hand: (12u² + 4v − 42, 4(u + v), 4u + 12v² − 26)."""
    u, v = x[:, 0], x[:, 1]
    return 12 * u * u + 4 * v - 42, 4 * (u + v), 4 * u + 12 * v * v - 26


def test_end_classes_of_newton_on_himmelblau_follow_the_curvature_where_runs_end(registry):
    problem = build_problem("himmelblau", registry=registry)
    result = maps.basin_map(problem, "newton", grid=24, steps=60, registry=registry)
    end = result.data["end"].ravel()
    # The same runs again, by themselves, to read where each one ended.
    runs = RunSet(problem, registry, history="none", end_states=False)
    a, b = np.meshgrid(result.x.values, result.y.values)
    ids = runs.add_grid("newton", {}, np.stack([a.ravel(), b.ravel()], axis=1))
    runs.step(60)
    ends = np.array([runs.position(i) for i in ids])
    fuu, fuv, fvv = himmelblau_hessian(ends)
    det, trace = fuu * fvv - fuv * fuv, fuu + fvv
    both_positive = (det > 0) & (trace > 0)
    one_negative = (det < 0) | ((det > 0) & (trace < 0))
    minimum, saddle = maps.KINDS.index("minimum"), maps.KINDS.index("saddle")
    assert (end == minimum).sum() > 100 and (end == saddle).sum() > 50
    assert both_positive[end == minimum].all()
    assert one_negative[end == saddle].all()
    # Newton stops on every stationary point: each run is classified, none is left.
    assert np.isin(end, [minimum, saddle]).all()
    assert np.array_equal(end == minimum, both_positive)
    labels = [label for label, _ in legend(result, "end")]
    assert labels == ["minimum", "saddle"]
    colours = colourise(result, "end").reshape(-1, 3)
    assert len({tuple(c) for c in colours[end == minimum]}) == 1
    assert set(map(tuple, colours[end == minimum])) != set(map(tuple, colours[end == saddle]))


def test_newton_on_a_saddle_ends_every_run_on_the_saddle(registry):
    problem = build_problem("saddle", registry=registry)  # u² − v²: eigenvalues 2 and −2
    result = maps.basin_map(problem, "newton", grid=8, steps=5, registry=registry)
    assert (result.data["end"] == maps.KINDS.index("saddle")).all()
    diverging = maps.basin_map(
        quadratic(registry), "sgd", {"lr": 0.5}, grid=6, steps=100, registry=registry
    )
    assert (diverging.data["end"] == maps.DIVERGED_CLASS).all()
    assert [label for label, _ in legend(diverging, "end")] == ["diverged"]


def test_a_diverging_step_colours_pixels_diverged(registry):
    problem = quadratic(registry)
    result = maps.basin_map(problem, "sgd", {"lr": 0.5}, grid=12, steps=100, registry=registry)
    assert (result.data["basin"] == maps.DIVERGED_CLASS).all()
    assert np.isinf(result.data["final_loss"]).all()


def test_measured_heavy_ball_rates_agree_with_theory(registry):
    problem = quadratic(registry)
    result = maps.hyper_map(
        problem,
        "momentum",
        ("lr", 0.005, 0.35, True),
        ("momentum", 0.0, 0.95, False),
        grid=24,
        steps=300,
        starts=[(1.0, 0.7)],
        registry=registry,
    )
    lr, beta = np.meshgrid(result.x.values, result.y.values)
    expected = theory.heavy_ball_rate(lr, beta, [1.0, 10.0])
    converging = expected < 1
    error = np.abs(result.data["rate"] - expected) / expected
    assert converging.sum() > 300
    assert (error[converging] <= 0.02).mean() >= 0.95
    assert (result.data["diverged"][expected > 1.2] == 1).all()


def test_sgd_sensitivity_diverges_exactly_past_two_over_lambda_max(registry):
    problem = quadratic(registry)
    lrs = np.geomspace(1e-3, 1.0, 64)
    result = maps.sensitivity(problem, ["sgd"], lrs=lrs, starts=8, steps=500, registry=registry)
    past = lrs > 2 / 10.0
    assert (result.diverged[0, past] == 1).all()
    assert (result.diverged[0, ~past] == 0).all()
    low, median, high = result.quartiles("gap")
    assert np.isinf(median[0, past]).all() and np.isfinite(median[0, ~past]).all()
    assert (low <= median).all() and (median <= high).all()


def test_best_value_depends_on_the_metric_and_is_one_per_optimizer(registry):
    problem = quadratic(registry)
    result = maps.sensitivity(
        problem, ["sgd", ("momentum", {"momentum": 0.9})], starts=4, steps=60, registry=registry
    )
    for metric in maps.METRICS:
        best = result.best(metric)
        assert len(best) == 2
        for lr, value in best:
            assert lr in result.lrs and not np.isnan(value)
    # Plain GD is best near the optimal fixed step 2/(λ_min + λ_max) = 2/11.
    best_lr = result.best("gap")[0][0]
    assert 2 / 11 / 1.3 < best_lr < 2 / 10
    with pytest.raises(ValueError, match="unknown metric"):
        result.best("speed")


def test_maps_refine_from_coarse_to_fine(registry):
    problem = quadratic(registry)
    pictures = list(maps.basin_maps(problem, "sgd", {"lr": 0.05}, grid=64, steps=5))
    assert [p.grid for p in pictures] == [16, 64]
    assert [p.final for p in pictures] == [False, True]


def test_cancelling_stops_the_computation(registry):
    problem = quadratic(registry)
    stop = threading.Event()
    seen: list[float] = []

    def progress(fraction: float) -> None:
        seen.append(fraction)
        if fraction > 0:
            stop.set()

    with pytest.raises(maps.MapCancelled):
        maps.basin_map(
            problem, "sgd", {"lr": 0.05}, grid=8, steps=1000, progress=progress, cancel=stop
        )
    assert max(seen) < 0.1


def test_a_coarse_picture_arrives_before_a_cancel(registry):
    problem = quadratic(registry)
    stop = threading.Event()
    pictures = maps.basin_maps(problem, "sgd", {"lr": 0.05}, grid=64, steps=30, cancel=stop)
    first = next(pictures)
    assert not first.final and first.data["basin"].shape == (16, 16)
    stop.set()
    with pytest.raises(maps.MapCancelled):
        next(pictures)


class Bowl(Problem):
    """x² + y² + 3 with no listed minimum: E* is the lowest loss seen."""

    def loss(self, x):
        return (x * x).sum(axis=1) + 3.0

    def grad(self, x):
        return 2 * x


def test_e_star_is_the_lowest_seen_when_no_minimum_is_listed(registry):
    result = maps.sensitivity(
        Bowl(), ["sgd"], lrs=[0.1, 0.3], starts=4, steps=50, registry=registry
    )
    assert result.e_star == pytest.approx(3.0, abs=1e-12)
    assert np.isinf(result.values["distance"]).all()  # no minimum to be near
    assert (result.values["gap"] >= 0).all()


# --------------------------------------------------------------------- command line
def test_zoo_map_writes_the_files_it_names_with_the_documented_shapes(tmp_path, capsys):
    import csv

    import imageio.v3 as iio

    from zoo.cli import main

    grid = 8
    for suffix in ("png", "csv", "npz"):
        out = tmp_path / f"map.{suffix}"
        argv = ["map", "himmelblau", "newton", "--grid", str(grid), "--steps", "20"]
        assert main([*argv, "--out", str(out)]) == 0
        assert out.exists()
    assert not list(tmp_path.glob(".*tmp"))  # written under a temporary name, renamed
    image = iio.imread(tmp_path / "map.png")
    assert image.shape[1] == 256 and image.shape[0] > 256 and image.shape[2] in (3, 4)
    with (tmp_path / "map.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["x", "y", "basin", "steps_to_tol", "final_loss", "rate", "end"]
    assert len(rows) == 1 + grid * grid
    arrays = np.load(tmp_path / "map.npz")
    assert arrays["basin"].shape == (grid, grid) and arrays["x"].shape == (grid,)
    assert arrays["end"].shape == (grid, grid)
    assert arrays["minima"].shape == (4, 2)
    capsys.readouterr()

    out = tmp_path / "rates.npz"
    argv = ["map", "quadratic", "momentum:nesterov=true", "--over", "lr,momentum", "--grid", "6"]
    argv += ["--range", "lr=0.01:0.3", "--steps", "50", "--out", str(out), "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kind"] == "hyper" and summary["x"]["log"] and not summary["y"]["log"]
    assert summary["hyper"] == {"nesterov": True}  # typed, not the text typed
    arrays = np.load(out)
    assert {"rate", "steps_to_tol", "final_loss", "diverged"} <= set(arrays.files)
    assert arrays["rate"].shape == (6, 6)


def test_zoo_tune_prints_the_best_lr_and_writes_curves(tmp_path, capsys):
    from zoo.cli import main

    out = tmp_path / "curves.csv"
    argv = ["tune", "quadratic", "sgd", "adam", "--values", "8", "--starts", "3"]
    assert main([*argv, "--steps", "30", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [o["optimizer"] for o in summary["optimizers"]] == ["sgd", "adam"]
    assert len(summary["lrs"]) == 8
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 4 * 2 * 8  # metrics × optimizers × learning rates


@pytest.mark.parametrize(
    "argv",
    [
        ["map", "nope", "sgd"],
        ["map", "quadratic", "sgd", "--over", "lr,foo"],
        ["map", "quadratic", "sgd", "--out", "map.gif"],
        ["map", "quadratic", "sgd", "--metric", "diverged"],
        ["map", "quadratic", "sgd:lr=-1", "--grid", "2", "--steps", "1"],
        ["tune", "quadratic", "sgd", "--lr", "1:0.1"],
    ],
)
def test_bad_map_input_is_one_line_without_a_traceback(argv, capsys):
    from zoo.cli import main

    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("zoo: error: ") and error.count("\n") == 1


# --------------------------------------------------------------------- lessons


def test_basins_lesson_starts_close_together_and_ends_at_different_minima(registry):
    from zoo.session import load_scene

    scene = load_scene(LESSONS / "maps_basins.json", registry)
    problem, runs, ids = scene.build(registry)
    runs.step(400)
    minima = maps.known_minima(problem)
    reached = [int(np.argmin(np.linalg.norm(minima - runs.position(i), axis=1))) for i in ids[:2]]
    assert reached[0] != reached[1]


@pytest.mark.slow
def test_metric_lesson_and_docs_numbers_are_what_the_tuning_gives(registry):
    """The worked example of docs/maps.md: 64 lrs × 16 starts on Rosenbrock."""
    from zoo.session import load_scene

    problem = build_problem("rosenbrock", registry=registry)
    names = ["sgd", ("momentum", {"momentum": 0.9}), "adam"]
    result = maps.sensitivity(problem, names, steps=300, registry=registry)
    best_gap = result.best("gap")
    assert best_gap[1][1] < best_gap[2][1] < best_gap[0][1]  # momentum, Adam, GD
    best_area = result.best("area")
    assert best_area[0][1] < min(best_area[1][1], best_area[2][1])  # GD
    scene = load_scene(LESSONS / "maps_metric.json", registry)
    tuned = [run.hyper["lr"] for run in scene.runs]
    assert tuned == pytest.approx([best_gap[0][0], best_gap[1][0], best_gap[2][0]], rel=1e-3)


# --------------------------------------------------------------------- scenes
def test_scenes_save_map_settings_and_refuse_bad_ones(registry):
    from zoo.session import Scene, SessionError, scene_from_dict, scene_to_dict

    settings = {"kind": "hyper", "optimizer": "momentum", "x": "lr", "y": "momentum",
                "grid": 64, "steps": 300, "quantity": "rate"}  # fmt: skip
    data = scene_to_dict(Scene(model="quadratic", maps=settings))
    assert scene_from_dict(data, registry).maps == settings
    for bad in ({"kind": "volcano", "optimizer": "sgd"}, {**settings, "grid": 10**6},
                {**settings, "colour": "red"}, {**settings, "quantity": "beauty"}):  # fmt: skip
        with pytest.raises(SessionError, match="maps"):
            scene_from_dict({**data, "maps": bad}, registry)


LOSS_ONLY = """
import numpy as np
from zoo import ModelSpec, Problem, hookimpl

class Bowl(Problem):
    def loss(self, x):
        return (np.asarray(x) ** 2).sum(axis=1)

@hookimpl
def zoo_models():
    return [ModelSpec(name="gradient_free_bowl", build=lambda settings, ctx: Bowl())]
"""


def test_a_map_of_a_model_without_a_gradient_has_no_end_classes(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    (tmp_path / "bowl.py").write_text(LOSS_ONLY)
    monkeypatch.setenv("ZOO_PLUGIN_PATH", str(tmp_path))
    argv = ["map", "gradient_free_bowl", "weight_perturbation", "--grid", "4", "--steps", "3"]
    out = tmp_path / "map.npz"
    assert main([*argv, "--out", str(out)]) == 0
    assert "end" not in np.load(out).files and "basin" in np.load(out).files
    capsys.readouterr()
    assert main([*argv, "--metric", "end"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("zoo: error: --metric end") and error.count("\n") == 1
    assert "cannot be classified" in error


# --------------------------------------------------------------------- batch sizes
def logistic(registry):
    return build_problem("logistic", registry=registry)


def test_batch_sizes_are_whole_distinct_and_span_the_samples(registry):
    problem = logistic(registry)
    low, high, log = maps.batch_range(problem)
    assert (low, high, log) == (1.0, 40.0, True)
    sizes = maps.batch_sizes(low, high, 64, log)
    assert sizes[0] == 1 and sizes[-1] == 40 and sizes.dtype.kind == "i"
    assert (np.diff(sizes) > 0).all() and len(sizes) < 64  # each size once
    with pytest.raises(ValueError, match="samples"):
        maps.batch_range(quadratic(registry))
    with pytest.raises(ValueError, match="40 samples"):
        maps.hyper_map(problem, "sgd", ("lr", 0.1, 1, True), ("batch_size", 1, 41, True))


@pytest.mark.parametrize("batch_on", ["x", "y"])
def test_a_batch_size_cell_is_bitwise_its_run_stepped_alone(registry, batch_on):
    problem = logistic(registry)
    lr, sizes = ("lr", 0.05, 2.0, True), ("batch_size", 1, 40, True)
    x, y = (sizes, lr) if batch_on == "x" else (lr, sizes)
    starts = maps.random_starts(problem, 3, seed=1)
    steps = 30
    result = maps.hyper_map(problem, "sgd", x, y, grid=5, steps=steps, starts=starts,
                            registry=registry)  # fmt: skip
    assert result.shape == (5, 5)
    batch_axis = result.x if batch_on == "x" else result.y
    assert batch_axis.values.tolist() == [1, 3, 6, 16, 40]
    for row, column in ((0, 0), (2, 3), (4, 4), (4, 1)):
        alone = RunSet(problem, registry)
        configs = [result.config(row, column, s) for s in range(len(starts))]
        ids = [alone.add(config) for config in configs]
        assert {c.batch_size for c in configs} == {result.cell(row, column)["batch_size"]}
        assert [c.seed for c in configs] == [0, 1, 2]
        alone.step(steps)
        losses = np.array([alone.history(i)[1][-1] for i in ids])
        assert alone.steps_taken(ids[0]) == steps
        assert result.data["final_loss"][row, column] == np.mean(losses)  # bitwise


def test_larger_minibatches_lower_sgds_noise_floor_at_a_fixed_lr(registry):
    """At a fixed lr, SGD settles into a noise floor above E* whose height falls as the
    minibatch grows; at all 40 samples each step is the full-data gradient."""
    problem = logistic(registry)
    result = maps.hyper_map(
        problem, "sgd", ("batch_size", 1, 40, True), ("lr", 1.0, 2.0, False), grid=4,
        steps=400, starts=maps.random_starts(problem, 16, seed=2), registry=registry,
    )  # fmt: skip
    assert result.x.values.tolist() == [1, 3, 12, 40]
    assert not result.data["diverged"].any()
    gap = result.data["final_loss"][-1] - result.e_star  # lr = 2: the loudest noise
    assert gap[0] > gap[1] > gap[2] > gap[3] >= 0
    assert gap[3] < 1e-6 < gap[0] / 100


def test_zoo_map_over_lr_and_batch_size_writes_the_documented_shapes(tmp_path, capsys):
    import csv

    import imageio.v3 as iio

    from zoo.cli import main

    argv = ["map", "logistic", "sgd", "--over", "lr,batch_size", "--range", "lr=0.05:2"]
    argv += ["--range", "batch_size=2:40", "--grid", "12", "--steps", "20"]
    for suffix in ("png", "csv", "npz"):
        assert main([*argv, "--out", str(tmp_path / f"m.{suffix}"), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
    assert summary["y"] == {"name": "batch_size", "low": 2.0, "high": 40.0, "log": True}
    arrays = np.load(tmp_path / "m.npz")
    sizes = arrays["y"]
    assert sizes.tolist() == [2, 3, 5, 6, 8, 10, 13, 18, 23, 30, 40]  # 12 asked, 11 distinct
    assert summary["shape"] == [11, 12] and arrays["x"].shape == (12,)
    assert arrays["final_loss"].shape == (11, 12) and arrays["rate"].shape == (11, 12)
    with (tmp_path / "m.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["lr", "batch_size", "rate", "steps_to_tol", "final_loss", "diverged"]
    assert len(rows) == 1 + 11 * 12
    assert [row[1] for row in rows[1::12]] == [str(size) for size in sizes]  # whole sizes
    image = iio.imread(tmp_path / "m.png")
    assert image.shape[1] == 12 * 22 and image.shape[0] > 11 * 24  # each side at least 256


@pytest.mark.parametrize(
    "argv",
    [
        ["map", "quadratic", "sgd", "--over", "lr,batch_size"],
        ["map", "logistic", "sgd", "--over", "lr,batch_size", "--range", "batch_size=0:8"],
        ["map", "logistic", "sgd", "--over", "lr,batch_size", "--range", "batch_size=1:41"],
    ],
)
def test_bad_batch_size_axes_are_one_line(argv, capsys):
    from zoo.cli import main

    assert main([*argv, "--grid", "2", "--steps", "1"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("zoo: error: ") and error.count("\n") == 1
    assert "batch_size" in error


def test_final_loss_is_coloured_by_its_gap_above_e_star():
    """Noise floors of 1e-4 and 1e-2 above E* = 0.47 are two colours, not one shade."""
    values = 0.47 + np.array([[0.0, 1e-4], [1e-2, np.inf]])
    axis = maps.Axis("lr", np.array([0.1, 1.0]), True)
    result = maps.MapResult(kind="hyper", x=axis, y=maps.Axis("batch_size", np.array([1, 40])),
                            data={"final_loss": values}, optimizer="sgd", hyper={}, steps=1,
                            e_star=0.47, minima=np.empty((0, 2)))  # fmt: skip
    rgb = colourise(result, "final_loss").reshape(4, 3).astype(int)
    assert np.abs(rgb[1] - rgb[2]).sum() > 100 and np.abs(rgb[0] - rgb[1]).sum() > 100
    assert tuple(rgb[3]) == (253, 231, 37)  # diverged: the scale's far end
    assert [label for label, _ in legend(result, "final_loss")] == ["E* + 1e-13", "E* + 0.01"]


def test_a_scale_legend_names_its_grey_cells():
    """Cells without a value are grey; the legend says whether their runs diverged."""
    axis = maps.Axis("lr", np.array([0.1, 1.0]), True)
    rate = np.array([[0.5, 0.9], [np.nan, np.nan]])

    def result(diverged):
        data = {"rate": rate, "diverged": np.array(diverged, dtype=float)}
        return maps.MapResult(kind="hyper", x=axis, y=maps.Axis("momentum", np.array([0, 0.5])),
                              data=data, optimizer="sgd", hyper={}, steps=1, e_star=0.0,
                              minima=np.empty((0, 2)))  # fmt: skip

    def labels(diverged):
        return [label for label, _ in legend(result(diverged), "rate")]

    assert labels([[0, 0], [1, 0.5]]) == ["0.5", "0.9", "diverged"]
    assert labels([[0, 0], [1, 0]]) == ["0.5", "0.9", "diverged, or no value"]
    assert labels([[0, 0], [0, 0]]) == ["0.5", "0.9", "no value"]
    assert tuple(colourise(result([[0, 0], [1, 1]]), "rate")[1, 0]) == MISSING


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--range", "lr=1e-3:100"], "--range lr: high 100 is above the largest allowed, 10"),
        (["--range", "momentum=-0.5:0.5"], "--range momentum: low -0.5 is below the smallest"),
        (["--log", "momentum"], "--range momentum: a log axis needs low > 0, got 0"),
        (["--range", "momentum=0.5:0.1"], "--range momentum: the range needs low < high"),
    ],
)
def test_bad_ranges_are_refused_as_the_app_refuses_them(argv, message, capsys):
    from zoo.cli import main

    assert main(["map", "quadratic", "sgd", "--over", "lr,momentum", *argv, "--grid", "2"]) == 2
    error = capsys.readouterr().err
    assert error == f"zoo: error: {error.removeprefix('zoo: error: ')}" and error.count("\n") == 1
    assert message in error
