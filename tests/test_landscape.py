"""The landscape: grids sample the right points, contours lie on their levels, gaps never
crash, planes are used for D > 2, the cache hits."""

from __future__ import annotations

import numpy as np
import pytest

from zoo import Plane, Problem
from zoo.landscape import (
    Grid,
    LandscapeCache,
    color_scale,
    contour_levels,
    contour_paths,
    evaluate_grid,
    fit_view,
    pca_plane,
    refine,
)


class Bowl(Problem):
    """E = ½xᵀAx + cᵀx with a known Hessian, to bound the contour interpolation error."""

    bounds = ((-2.0, 3.0), (-1.5, 1.0))

    def __init__(self, matrix=((3.0, 1.0), (1.0, 2.0)), shift=(0.3, -0.2)):
        self.matrix = np.asarray(matrix, dtype=float)
        self.shift = np.asarray(shift, dtype=float)
        self.calls = []

    def loss(self, x):
        self.calls.append(np.array(x, copy=True))
        return 0.5 * np.einsum("bi,ij,bj->b", x, self.matrix, x) + x @ self.shift


class Holes(Problem):
    """Undefined in places in every way a loss can be: NaN, ±inf, warnings, exceptions."""

    bounds = ((-1.0, 1.0), (-1.0, 1.0))

    def __init__(self, raise_below: float | None = None):
        self.raise_below = raise_below

    def loss(self, x):
        if self.raise_below is not None and np.any(x[:, 0] < self.raise_below):
            raise ValueError("outside the domain")
        u, v = x[:, 0], x[:, 1]
        values = np.log(u) + v**2  # NaN for u < 0, -inf at u = 0
        values = np.where(v > 0.8, np.inf, values)
        return values


class Wide(Problem):
    """Five weights seen through a plane; E = ‖x − m‖²."""

    dim = 5
    bounds = ((-1.0, 1.0), (-2.0, 2.0))

    def __init__(self):
        rng = np.random.default_rng(3)
        basis, _ = np.linalg.qr(rng.normal(size=(5, 2)))
        self.plane = Plane(origin=rng.normal(size=5), u=basis[:, 0], v=basis[:, 1])
        self.target = rng.normal(size=5)
        self.shapes = []

    def loss(self, x):
        self.shapes.append(x.shape)
        return np.sum((x - self.target) ** 2, axis=1)


class Line(Problem):
    dim = 1
    bounds = ((-1.0, 2.0), (-1.0, 1.0))

    def loss(self, x):
        return (x[:, 0] - 0.5) ** 2


def test_grid_samples_the_view_in_row_major_order():
    problem = Bowl()
    grid = evaluate_grid(problem, ((-1.0, 2.0), (0.0, 1.0)), resolution=7)
    assert grid.loss.shape == (7, 7)
    assert grid.view == ((-1.0, 2.0), (0.0, 1.0))
    np.testing.assert_allclose(grid.xs, np.linspace(-1, 2, 7))
    np.testing.assert_allclose(grid.ys, np.linspace(0, 1, 7))
    for j, i in [(0, 0), (2, 5), (6, 1), (6, 6)]:
        point = np.array([[grid.xs[i], grid.ys[j]]])
        assert grid.loss[j, i] == pytest.approx(problem.loss(point)[0], rel=1e-15)


def test_grid_defaults_to_the_bounds_and_uses_one_batched_call():
    problem = Bowl()
    grid = evaluate_grid(problem, resolution=64)
    assert grid.view == problem.bounds
    assert len(problem.calls) == 1 and problem.calls[0].shape == (64 * 64, 2)


@pytest.mark.parametrize("count", [1, 6])
def test_contour_lines_lie_on_their_level(count):
    problem = Bowl()
    grid = evaluate_grid(problem, resolution=128)
    hx, hy = grid.xs[1] - grid.xs[0], grid.ys[1] - grid.ys[0]
    # Linear interpolation along a cell edge errs by at most f''·h²/8.
    bound = max(problem.matrix[0, 0] * hx**2, problem.matrix[1, 1] * hy**2) / 8
    levels = contour_levels(grid, count=count)
    assert len(levels) == count
    for level in levels:
        paths = contour_paths(grid, [level])
        vertices = paths[np.isfinite(paths).all(axis=1)]
        assert len(vertices) > 10
        error = np.abs(problem.loss(vertices) - level)
        assert error.max() <= bound * (1 + 1e-9) + 1e-12


def test_contours_of_a_plane_are_exact():
    class Tilted(Problem):
        def loss(self, x):
            return 2.0 * x[:, 0] - 3.0 * x[:, 1] + 10.0

    problem = Tilted()
    grid = evaluate_grid(problem, resolution=33)
    levels = np.array([5.0, 9.0, 13.0])
    paths = contour_paths(grid, levels)
    vertices = paths[np.isfinite(paths).all(axis=1)]
    values = problem.loss(vertices)
    nearest = levels[np.argmin(np.abs(values[:, None] - levels[None, :]), axis=1)]
    np.testing.assert_allclose(values, nearest, atol=1e-12)
    # Three straight lines: two NaN rows separate them.
    assert np.isnan(paths).all(axis=1).sum() == 2
    assert set(np.round(nearest, 9)) == {5.0, 9.0, 13.0}


def test_levels_are_log_spaced_above_the_minimum():
    grid = evaluate_grid(Bowl(), resolution=64)
    levels = contour_levels(grid, count=10)
    lowest = np.nanmin(grid.loss)
    assert np.all(levels > lowest) and np.all(np.diff(levels) > 0)
    steps = np.diff(np.log10(levels - lowest))
    np.testing.assert_allclose(steps, steps[0], rtol=1e-9)


def test_color_scale_is_monotone_log_loss_with_robust_limits():
    grid = evaluate_grid(Bowl(), resolution=64)
    scale = color_scale(grid)
    assert scale.image.dtype == np.float32 and scale.image.shape == grid.loss.shape
    assert np.isfinite(scale.image).all()
    assert scale.low < scale.high
    assert np.nanmin(scale.image) <= scale.low and scale.high <= np.nanmax(scale.image)
    order = np.argsort(grid.loss.ravel())
    assert np.all(np.diff(scale.image.ravel()[order]) >= 0)
    lowest = grid.loss.min()
    far = np.unravel_index(np.argmax(grid.loss), grid.loss.shape)
    assert scale.image[far] == pytest.approx(np.log10(grid.loss[far] - lowest), rel=1e-6)


def test_gaps_become_nan_and_never_crash():
    # Floating-point warnings made errors by the caller must still become gaps.
    with np.errstate(all="raise"):
        grid = evaluate_grid(Holes(), resolution=41)
    u = grid.xs[None, :] * np.ones_like(grid.ys[:, None])
    v = grid.ys[:, None] * np.ones_like(grid.xs[None, :])
    undefined = (u <= 0) | (v > 0.8)
    assert np.isnan(grid.loss[undefined]).all()
    assert np.isfinite(grid.loss[~undefined]).all()
    scale = color_scale(grid)
    assert np.isnan(scale.image[undefined]).all() and np.isfinite(scale.image[~undefined]).all()
    paths = contour_paths(grid, contour_levels(grid))
    vertices = paths[np.isfinite(paths).all(axis=1)]
    assert len(vertices) and np.all(vertices[:, 0] > 0)


def test_points_that_raise_become_gaps_alone():
    grid = evaluate_grid(Holes(raise_below=-0.5), resolution=16)
    raising = grid.xs < -0.5
    assert np.isnan(grid.loss[:, raising]).all()
    # Columns that neither raise nor fall in log's domain gap still hold numbers.
    assert np.isfinite(grid.loss[grid.ys <= 0.8][:, grid.xs > 0]).all()


def test_a_loss_that_always_raises_gives_an_empty_picture_in_bounded_calls():
    calls = []

    class Broken(Problem):
        def loss(self, x):
            calls.append(len(x))
            raise FloatingPointError("overflow")

    grid = evaluate_grid(Broken(), resolution=64)
    assert np.isnan(grid.loss).all()
    assert len(calls) <= 300
    assert contour_levels(grid).size == 0
    assert contour_paths(grid, [1.0]).shape == (0, 2)
    scale = color_scale(grid)
    assert np.isnan(scale.image).all() and scale.low < scale.high


def test_many_weights_are_drawn_on_the_plane_in_chunks():
    problem = Wide()
    grid = evaluate_grid(problem, resolution=20, chunk=150)
    a, b = np.meshgrid(grid.xs, grid.ys)
    expected = problem.loss(problem.plane.to_weights(a.ravel(), b.ravel())).reshape(20, 20)
    np.testing.assert_allclose(grid.loss, expected, rtol=1e-14)
    calls = problem.shapes[:-1]
    assert calls == [(150, 5)] * 2 + [(100, 5)]


def test_a_given_plane_overrides_the_problems():
    problem = Wide()
    other = Plane(origin=np.zeros(5), u=np.eye(5)[0], v=np.eye(5)[3])
    grid = evaluate_grid(problem, ((-1.0, 1.0), (-1.0, 1.0)), resolution=5, plane=other)
    weights = np.zeros(5)
    weights[0], weights[3] = grid.xs[4], grid.ys[1]
    assert grid.loss[1, 4] == pytest.approx(problem.loss(weights[None])[0], rel=1e-14)


def test_one_weight_gives_the_curve():
    grid = evaluate_grid(Line(), resolution=31)
    assert grid.loss.shape == (1, 31)
    np.testing.assert_array_equal(grid.ys, [0.0])
    np.testing.assert_allclose(grid.loss[0], (grid.xs - 0.5) ** 2)
    assert contour_paths(grid, [0.5]).shape == (0, 2)
    assert np.isfinite(color_scale(grid).image).all()


def test_refine_gives_coarse_then_full():
    grids = list(refine(Bowl(), resolution=96, coarse=24))
    assert [g.loss.shape for g in grids] == [(24, 24), (96, 96)]
    assert [g.loss.shape for g in refine(Bowl(), resolution=32, coarse=64)] == [(32, 32)]


def test_cache_hits_and_evicts_least_recently_used():
    cache = LandscapeCache(maxsize=2)
    problem = Bowl()
    settings = {"lambda1": 1.0, "angle": 30.0}
    first = cache.grid(problem, model="bowl", settings=settings, resolution=16)
    again = cache.grid(
        problem, model="bowl", settings=dict(reversed(settings.items())), resolution=16
    )
    assert again is first and cache.hits == 1 and cache.misses == 1
    assert len(problem.calls) == 1
    cache.grid(problem, model="bowl", settings=settings, resolution=32)
    cache.grid(problem, model="bowl", settings={**settings, "angle": 10.0}, resolution=16)
    assert len(cache) == 2 and cache.misses == 3
    evicted = LandscapeCache.key("bowl", settings, 0, problem.bounds, 16)
    assert evicted not in cache


def test_cache_keys_planes_by_content():
    problem = Wide()
    cache = LandscapeCache()
    plane = Plane(origin=np.zeros(5), u=np.eye(5)[0], v=np.eye(5)[1])
    same = Plane(origin=np.zeros(5), u=np.eye(5)[0].copy(), v=np.eye(5)[1].copy())
    other = Plane(origin=np.zeros(5), u=np.eye(5)[0], v=np.eye(5)[2])
    one = cache.grid(problem, model="wide", plane=plane, resolution=8)
    assert cache.grid(problem, model="wide", plane=same, resolution=8) is one
    assert cache.grid(problem, model="wide", plane=other, resolution=8) is not one
    assert cache.grid(problem, model="wide", seed=1, plane=plane, resolution=8) is not one
    assert cache.hits == 1 and cache.misses == 3


def test_pca_plane_spans_paths_that_lie_in_a_plane():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    centre = rng.normal(size=6)
    paths = [centre + rng.normal(size=(30, 2)) @ basis.T for _ in range(3)]
    plane = pca_plane(paths)
    ends = np.mean([path[-1] for path in paths], axis=0)
    np.testing.assert_allclose(plane.origin, ends)
    np.testing.assert_allclose(
        [plane.u @ plane.u, plane.v @ plane.v, plane.u @ plane.v], [1, 1, 0], atol=1e-12
    )
    points = np.concatenate(paths)
    back = plane.to_weights(*plane.project(points).T)
    np.testing.assert_allclose(back, points, atol=1e-10)
    again = pca_plane([p.copy() for p in paths])
    np.testing.assert_array_equal(again.u, plane.u)


def test_pca_plane_of_a_straight_path_still_has_two_directions():
    path = np.linspace(0, 1, 10)[:, None] * np.array([1.0, 2.0, 0.0])
    plane = pca_plane([path], origin=np.zeros(3))
    np.testing.assert_allclose(np.abs(plane.u), np.array([1.0, 2.0, 0.0]) / np.sqrt(5))
    assert abs(plane.u @ plane.v) < 1e-12 and plane.v @ plane.v == pytest.approx(1.0)
    with pytest.raises(ValueError):
        pca_plane([])


def test_grid_is_frozen_record():
    grid = evaluate_grid(Bowl(), resolution=4)
    assert isinstance(grid, Grid)
    with pytest.raises(AttributeError):
        grid.xs = None


def test_fit_view_holds_the_projected_paths_with_a_margin():
    points = np.array([[0.0, 1.0], [2.0, 5.0], [np.nan, 0.0]])
    (x0, x1), (y0, y1) = fit_view(points, margin=0.25)
    assert (x0, x1) == pytest.approx((-0.5, 2.5)) and (y0, y1) == pytest.approx((0.0, 6.0))
    (x0, x1), (y0, y1) = fit_view(np.zeros((3, 2)))
    assert x0 < 0 < x1 and y0 < 0 < y1
