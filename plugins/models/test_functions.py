"""Classic optimisation test surfaces with analytic gradients and Hessians.

Each surface is three hand-written functions of the coordinates (u, v) — the value, the
gradient (f_u, f_v) and the Hessian entries (f_uu, f_uv, f_vv) — plus its default view,
start and known global minima.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl


class Surface(Problem):
    """f(u, v) given by its value, gradient and Hessian functions of (u, v)."""

    def __init__(
        self, value: Callable, gradient: Callable, hessian: Callable, bounds, start, minima=()
    ) -> None:
        self._value, self._gradient, self._hessian = value, gradient, hessian
        self.bounds = tuple(tuple(float(e) for e in edge) for edge in bounds)
        self.start = np.asarray(start, dtype=float)
        self.minima = np.asarray(minima, dtype=float).reshape(-1, 2)

    def loss(self, x):
        x = np.asarray(x, dtype=float)
        return self._value(x[:, 0], x[:, 1])

    def grad(self, x):
        x = np.asarray(x, dtype=float)
        fu, fv = self._gradient(x[:, 0], x[:, 1])
        out = np.empty((len(x), 2))  # filled by column: a constant derivative broadcasts
        out[:, 0] = fu
        out[:, 1] = fv
        return out

    def hess(self, x):
        x = np.asarray(x, dtype=float)
        fuu, fuv, fvv = np.broadcast_arrays(*self._hessian(x[:, 0], x[:, 1]), x[:, 0])[:3]
        return np.stack([np.stack([fuu, fuv], axis=1), np.stack([fuv, fvv], axis=1)], axis=1)


def polish(surface: Surface, points, steps: int = 30) -> np.ndarray:
    """Newton steps from approximate stationary points, so listed minima have zero gradient
    to rounding (published digits are not enough for that)."""
    x = np.asarray(points, dtype=float).reshape(-1, 2)
    for _ in range(steps):
        x = x - np.linalg.solve(surface.hess(x), surface.grad(x)[:, :, None])[:, :, 0]
    return x


# --------------------------------------------------------------------- Rosenbrock
def rosenbrock(settings, ctx) -> Surface:
    a, b = settings["a"], settings["b"]
    return Surface(
        lambda u, v: (a - u) ** 2 + b * (v - u * u) ** 2,
        lambda u, v: (-2 * (a - u) - 4 * b * u * (v - u * u), 2 * b * (v - u * u)),
        lambda u, v: (2 - 4 * b * (v - 3 * u * u), -4 * b * u, 2 * b),
        ((-2.0, 2.0), (-1.0, 3.0)),
        (-1.2, 1.0),
        [(a, a * a)],
    )


# --------------------------------------------------------------------- sums of squares
def beale(settings, ctx) -> Surface:
    """Σᵢ tᵢ² with tᵢ = cᵢ − u + u·vⁱ (i = 1, 2, 3)."""
    constants = (1.5, 2.25, 2.625)

    def terms(u, v):
        for i, c in enumerate(constants, start=1):
            t = c - u + u * v**i
            yield i, t, v**i - 1, i * u * v ** (i - 1)

    def value(u, v):
        return sum(t * t for _, t, _, _ in terms(u, v))

    def gradient(u, v):
        parts = list(terms(u, v))
        return (sum(2 * t * tu for _, t, tu, _ in parts), sum(2 * t * tv for _, t, _, tv in parts))

    def hessian(u, v):
        fuu = fuv = fvv = 0.0
        for i, t, tu, tv in terms(u, v):
            fuu = fuu + 2 * tu * tu
            fuv = fuv + 2 * (tu * tv + t * i * v ** (i - 1))
            fvv = fvv + 2 * (tv * tv + t * i * (i - 1) * u * v ** max(i - 2, 0))
        return fuu, fuv, fvv

    return Surface(value, gradient, hessian, ((-4.5, 4.5), (-4.5, 4.5)), (1.0, 1.5), [(3.0, 0.5)])


def himmelblau(settings, ctx) -> Surface:
    """(u² + v − 11)² + (u + v² − 7)²: four global minima, all with f = 0."""
    surface = Surface(
        lambda u, v: (u * u + v - 11) ** 2 + (u + v * v - 7) ** 2,
        lambda u, v: (
            4 * u * (u * u + v - 11) + 2 * (u + v * v - 7),
            2 * (u * u + v - 11) + 4 * v * (u + v * v - 7),
        ),
        lambda u, v: (
            4 * (u * u + v - 11) + 8 * u * u + 2,
            4 * (u + v),
            2 + 4 * (u + v * v - 7) + 8 * v * v,
        ),
        ((-5.0, 5.0), (-5.0, 5.0)),
        (0.0, 0.0),
    )
    surface.minima = polish(
        surface, [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    )
    return surface


def booth(settings, ctx) -> Surface:
    """(u + 2v − 7)² + (2u + v − 5)²: a tilted bowl, minimum 0 at (1, 3)."""
    return Surface(
        lambda u, v: (u + 2 * v - 7) ** 2 + (2 * u + v - 5) ** 2,
        lambda u, v: (
            2 * (u + 2 * v - 7) + 4 * (2 * u + v - 5),
            4 * (u + 2 * v - 7) + 2 * (2 * u + v - 5),
        ),
        lambda u, v: (10.0, 8.0, 10.0),
        ((-10.0, 10.0), (-10.0, 10.0)),
        (-8.0, 8.0),
        [(1.0, 3.0)],
    )


def matyas(settings, ctx) -> Surface:
    """0.26(u² + v²) − 0.48uv: a long flat valley along u = v, eigenvalues 0.04 and 1."""
    return Surface(
        lambda u, v: 0.26 * (u * u + v * v) - 0.48 * u * v,
        lambda u, v: (0.52 * u - 0.48 * v, 0.52 * v - 0.48 * u),
        lambda u, v: (0.52, -0.48, 0.52),
        ((-10.0, 10.0), (-10.0, 10.0)),
        (-8.0, 6.0),
        [(0.0, 0.0)],
    )


# --------------------------------------------------------------------- polynomials
def three_hump_camel(settings, ctx) -> Surface:
    """2u² − 1.05u⁴ + u⁶/6 + uv + v²: one global and two local minima."""
    return Surface(
        lambda u, v: 2 * u**2 - 1.05 * u**4 + u**6 / 6 + u * v + v * v,
        lambda u, v: (4 * u - 4.2 * u**3 + u**5 + v, u + 2 * v),
        lambda u, v: (4 - 12.6 * u**2 + 5 * u**4, 1.0, 2.0),
        ((-3.0, 3.0), (-3.0, 3.0)),
        (2.5, -2.0),
        [(0.0, 0.0)],
    )


def six_hump_camel(settings, ctx) -> Surface:
    """(4 − 2.1u² + u⁴/3)u² + uv + (4v² − 4)v²: two global minima, f = −1.0316."""
    surface = Surface(
        lambda u, v: (4 - 2.1 * u**2 + u**4 / 3) * u**2 + u * v + (4 * v**2 - 4) * v**2,
        lambda u, v: (8 * u - 8.4 * u**3 + 2 * u**5 + v, u - 8 * v + 16 * v**3),
        lambda u, v: (8 - 25.2 * u**2 + 10 * u**4, 1.0, -8 + 48 * v**2),
        ((-2.5, 2.5), (-1.5, 1.5)),
        (-1.5, -1.0),
    )
    surface.minima = polish(surface, [(0.0898, -0.7126), (-0.0898, 0.7126)])
    return surface


def styblinski_tang(settings, ctx) -> Surface:
    """½Σ(xᵢ⁴ − 16xᵢ² + 5xᵢ): minimum −78.33 at xᵢ = −2.9035 (the root of 4x³ − 32x + 5)."""
    surface = Surface(
        lambda u, v: 0.5 * (u**4 - 16 * u**2 + 5 * u + v**4 - 16 * v**2 + 5 * v),
        lambda u, v: (2 * u**3 - 16 * u + 2.5, 2 * v**3 - 16 * v + 2.5),
        lambda u, v: (6 * u**2 - 16, 0.0, 6 * v**2 - 16),
        ((-5.0, 5.0), (-5.0, 5.0)),
        (4.0, 4.5),
    )
    surface.minima = polish(surface, [(-2.9035, -2.9035)])
    return surface


def goldstein_price(settings, ctx) -> Surface:
    """A(u, v)·B(u, v) of two quartic factors; minimum 3 at (0, −1) among several local ones."""

    def factors(u, v):
        p, q = u + v + 1, 2 * u - 3 * v
        big_p = 19 - 14 * u + 3 * u * u - 14 * v + 6 * u * v + 3 * v * v
        p_u = p_v = -14 + 6 * u + 6 * v
        big_q = 18 - 32 * u + 12 * u * u + 48 * v - 36 * u * v + 27 * v * v
        q_u, q_v = -32 + 24 * u - 36 * v, 48 - 36 * u + 54 * v
        a = 1 + p * p * big_p
        a_u, a_v = 2 * p * big_p + p * p * p_u, 2 * p * big_p + p * p * p_v
        a_uu = 2 * big_p + 4 * p * p_u + 6 * p * p
        a_uv = 2 * big_p + 2 * p * (p_u + p_v) + 6 * p * p
        a_vv = 2 * big_p + 4 * p * p_v + 6 * p * p
        b = 30 + q * q * big_q
        b_u, b_v = 4 * q * big_q + q * q * q_u, -6 * q * big_q + q * q * q_v
        b_uu = 8 * big_q + 8 * q * q_u + 24 * q * q
        b_uv = -12 * big_q + 4 * q * q_v - 6 * q * q_u - 36 * q * q
        b_vv = 18 * big_q - 12 * q * q_v + 54 * q * q
        return (a, a_u, a_v, a_uu, a_uv, a_vv), (b, b_u, b_v, b_uu, b_uv, b_vv)

    def value(u, v):
        (a, *_), (b, *_) = factors(u, v)
        return a * b

    def gradient(u, v):
        (a, a_u, a_v, *_), (b, b_u, b_v, *_) = factors(u, v)
        return a_u * b + a * b_u, a_v * b + a * b_v

    def hessian(u, v):
        (a, a_u, a_v, a_uu, a_uv, a_vv), (b, b_u, b_v, b_uu, b_uv, b_vv) = factors(u, v)
        return (
            a_uu * b + 2 * a_u * b_u + a * b_uu,
            a_uv * b + a_u * b_v + a_v * b_u + a * b_uv,
            a_vv * b + 2 * a_v * b_v + a * b_vv,
        )

    return Surface(value, gradient, hessian, ((-2.0, 2.0), (-2.0, 2.0)), (-1.5, 1.5), [(0.0, -1.0)])


# --------------------------------------------------------------------- many minima
def rastrigin(settings, ctx) -> Surface:
    """2A + Σ(xᵢ² − A·cos 2πxᵢ) with A = 10: a bowl covered in a grid of local minima."""
    amplitude, tau = 10.0, 2 * np.pi
    return Surface(
        lambda u, v: (
            2 * amplitude
            + u * u
            - amplitude * np.cos(tau * u)
            + v * v
            - amplitude * np.cos(tau * v)
        ),
        lambda u, v: (
            2 * u + amplitude * tau * np.sin(tau * u),
            2 * v + amplitude * tau * np.sin(tau * v),
        ),
        lambda u, v: (
            2 + amplitude * tau**2 * np.cos(tau * u),
            0.0,
            2 + amplitude * tau**2 * np.cos(tau * v),
        ),
        ((-5.12, 5.12), (-5.12, 5.12)),
        (-4.5, 4.2),
        [(0.0, 0.0)],
    )


def ackley(settings, ctx) -> Surface:
    """−20·e^{−0.2s} − e^{c} + e + 20 with s = √(½(u² + v²)), c = ½(cos 2πu + cos 2πv).

    The minimum at the origin is a cone tip: the gradient is taken as zero there (the
    subgradient that contains zero) and the Hessian as +∞·I (infinite curvature along every
    line through the tip; a Newton step from it is zero).
    """
    tau = 2 * np.pi

    def radius(u, v):
        return np.sqrt(0.5 * (u * u + v * v))

    def value(u, v):
        ripple = np.exp(0.5 * (np.cos(tau * u) + np.cos(tau * v)))
        return -20 * np.exp(-0.2 * radius(u, v)) - ripple + np.e + 20

    def cone_slope(u, v):
        """k(s) = 2e^{−0.2s}/s, the factor in ∂/∂u of the cone term = k·u."""
        s = radius(u, v)
        with np.errstate(divide="ignore", invalid="ignore"):
            return s, np.where(s > 0, 2 * np.exp(-0.2 * s) / s, 0.0)

    def gradient(u, v):
        _, k = cone_slope(u, v)
        ripple = np.exp(0.5 * (np.cos(tau * u) + np.cos(tau * v)))
        return (k * u + np.pi * np.sin(tau * u) * ripple, k * v + np.pi * np.sin(tau * v) * ripple)

    def hessian(u, v):
        s, k = cone_slope(u, v)
        tip = s == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            # dk/ds · ∂s/∂u·(1/u) = −2e^{−0.2s}(0.2s + 1)/s² · ½/s
            bend = np.where(tip, 0.0, -np.exp(-0.2 * s) * (0.2 * s + 1) / s**3)
        # At the tip every line through the origin has a kink, so the curvature is +∞ in
        # every direction: H = +∞·I (the cross term is 0 there by symmetry).
        k = np.where(tip, np.inf, k)
        ripple = np.exp(0.5 * (np.cos(tau * u) + np.cos(tau * v)))
        su, sv = np.sin(tau * u), np.sin(tau * v)
        return (
            k + bend * u * u + np.pi * ripple * (tau * np.cos(tau * u) - np.pi * su * su),
            bend * u * v - np.pi**2 * su * sv * ripple,
            k + bend * v * v + np.pi * ripple * (tau * np.cos(tau * v) - np.pi * sv * sv),
        )

    return Surface(value, gradient, hessian, ((-4.0, 4.0), (-4.0, 4.0)), (-3.2, 2.6), [(0.0, 0.0)])


# --------------------------------------------------------------------- saddles
def monkey_saddle(settings, ctx) -> Surface:
    """u³ − 3uv²: a degenerate saddle with three valleys; unbounded below, no minimum."""
    return Surface(
        lambda u, v: u**3 - 3 * u * v * v,
        lambda u, v: (3 * u * u - 3 * v * v, -6 * u * v),
        lambda u, v: (6 * u, -6 * v, -6 * u),
        ((-2.0, 2.0), (-2.0, 2.0)),
        (1.5, 0.05),
    )


def saddle(settings, ctx) -> Surface:
    """u² − v²: the textbook saddle; gradient descent from near the u-axis slows near the
    origin before the v-direction takes over."""
    return Surface(
        lambda u, v: u * u - v * v,
        lambda u, v: (2 * u, -2 * v),
        lambda u, v: (2.0, 0.0, -2.0),
        ((-2.0, 2.0), (-2.0, 2.0)),
        (-1.8, 0.01),
    )


# --------------------------------------------------------------------- Gaussian wells
WELL_CENTRES = np.array([[-1.2, -0.6], [1.3, 0.9], [0.6, -1.4]])


def gaussian_wells(settings, ctx) -> Surface:
    """½c‖w‖² − Σₖ dₖ·exp(−‖w − μₖ‖²/(2σ²)): three wells of chosen depths on a shallow bowl."""
    depths = np.array([settings["depth1"], settings["depth2"], settings["depth3"]])
    width, bowl = settings["width"], settings["bowl"]
    centres = WELL_CENTRES

    def wells(u, v):
        du = u[..., None] - centres[:, 0]
        dv = v[..., None] - centres[:, 1]
        weight = depths * np.exp(-(du * du + dv * dv) / (2 * width**2))
        return du, dv, weight

    def value(u, v):
        return 0.5 * bowl * (u * u + v * v) - wells(u, v)[2].sum(axis=-1)

    def gradient(u, v):
        du, dv, weight = wells(u, v)
        return (
            bowl * u + (weight * du).sum(axis=-1) / width**2,
            bowl * v + (weight * dv).sum(axis=-1) / width**2,
        )

    def hessian(u, v):
        du, dv, weight = wells(u, v)
        s2, s4 = width**2, width**4
        return (
            bowl + (weight * (1 / s2 - du * du / s4)).sum(axis=-1),
            -(weight * du * dv).sum(axis=-1) / s4,
            bowl + (weight * (1 / s2 - dv * dv / s4)).sum(axis=-1),
        )

    surface = Surface(value, gradient, hessian, ((-3.0, 3.0), (-3.0, 3.0)), (-0.2, 2.4))
    surface.minima = _deepest(surface, centres)
    return surface


def _deepest(surface: Surface, guesses: np.ndarray) -> np.ndarray:
    """The deepest of the minima Newton reaches from ``guesses`` (ties all kept)."""
    with np.errstate(all="ignore"):
        points = polish(surface, guesses, steps=50)
        hessians = surface.hess(points)
    ok = np.all(np.isfinite(points), axis=1)
    ok &= np.linalg.norm(surface.grad(np.nan_to_num(points)), axis=1) < 1e-9
    ok &= np.all(np.linalg.eigvalsh(np.nan_to_num(hessians)) > 0, axis=1)
    points = points[ok]
    if len(points) == 0:
        return np.empty((0, 2))
    values = surface.loss(points)
    best = points[values <= values.min() + 1e-9 * max(1.0, abs(values.min()))]
    _, keep = np.unique(np.round(best, 6), axis=0, return_index=True)
    return best[np.sort(keep)]


def _surface(name, build, label, doc, params=()) -> ModelSpec:
    return ModelSpec(
        name=name, build=build, params=params, label=label, family="test function", doc=doc
    )


SURFACES = [
    _surface(
        "rosenbrock",
        rosenbrock,
        "Rosenbrock",
        "f = (a − u)² + b(v − u²)²: a curved, narrow valley, minimum 0 at (a, a²).",
        (
            Param("a", 1.0, low=-3.0, high=3.0, doc="minimum at (a, a²)"),
            Param("b", 100.0, low=0.0, high=1000.0, doc="steepness of the valley walls"),
        ),
    ),
    _surface(
        "beale",
        beale,
        "Beale",
        "Sum of three squared polynomials; flat plateaus and sharp ridges, minimum 0 at (3, 0.5).",
    ),
    _surface(
        "himmelblau",
        himmelblau,
        "Himmelblau",
        "(u² + v − 11)² + (u + v² − 7)²: four equal minima (f = 0); which one a run finds "
        "depends on the start.",
    ),
    _surface(
        "booth",
        booth,
        "Booth",
        "(u + 2v − 7)² + (2u + v − 5)²: a quadratic bowl (eigenvalues 2 and 18), minimum "
        "at (1, 3).",
    ),
    _surface(
        "matyas",
        matyas,
        "Matyas",
        "0.26(u² + v²) − 0.48uv: a quadratic with condition number 25 along u = v.",
    ),
    _surface(
        "three_hump_camel",
        three_hump_camel,
        "Three-hump camel",
        "A global minimum at the origin flanked by two local ones.",
    ),
    _surface(
        "six_hump_camel",
        six_hump_camel,
        "Six-hump camel",
        "Six local minima, two of them global (f = −1.0316 at ±(0.0898, −0.7126)).",
    ),
    _surface(
        "rastrigin",
        rastrigin,
        "Rastrigin",
        "A bowl covered in a regular grid of local minima; gradient methods stop in the "
        "nearest one.",
    ),
    _surface(
        "ackley",
        ackley,
        "Ackley",
        "A nearly flat, rippled plate with a deep cone at the origin (non-smooth there).",
    ),
    _surface(
        "styblinski_tang",
        styblinski_tang,
        "Styblinski–Tang",
        "½Σ(xᵢ⁴ − 16xᵢ² + 5xᵢ): four basins of unequal depth, global minimum at "
        "(−2.9035, −2.9035).",
    ),
    _surface(
        "goldstein_price",
        goldstein_price,
        "Goldstein–Price",
        "Values from 3 to 10⁶ over the square: a test of scale, minimum 3 at (0, −1).",
    ),
    _surface(
        "monkey_saddle",
        monkey_saddle,
        "Monkey saddle",
        "u³ − 3uv²: a flat (degenerate) saddle, zero Hessian at the origin; no minimum.",
    ),
    _surface(
        "saddle", saddle, "Saddle", "u² − v²: a saddle with eigenvalues 2 and −2; no minimum."
    ),
    _surface(
        "gaussian_wells",
        gaussian_wells,
        "Gaussian wells",
        "Three Gaussian wells on a shallow bowl: local minima of different depths; the "
        "listed minimum is the deepest.",
        (
            Param("depth1", 1.0, low=0.0, high=5.0, doc="depth of the well at (−1.2, −0.6)"),
            Param("depth2", 1.5, low=0.0, high=5.0, doc="depth of the well at (1.3, 0.9)"),
            Param("depth3", 0.7, low=0.0, high=5.0, doc="depth of the well at (0.6, −1.4)"),
            Param("width", 0.6, low=0.1, high=3.0, log=True, doc="width σ of every well"),
            Param("bowl", 0.1, low=0.0, high=2.0, doc="curvature c of the bowl beneath"),
        ),
    ),
]


@hookimpl
def zoo_models():
    return SURFACES
