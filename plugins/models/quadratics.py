"""Quadratic bowls and saddles, the home of step-size theory.

Every model here is E(w) = ½wᵀAw + bᵀw + e₀ with a constant symmetric A, exposed as
``.matrix`` with its ``.eigenvalues`` so the step-size lab can read 1/λ and 2/λ off them.
The gradient is Aw + b and the stationary point w* = −A⁻¹b (the usual sign convention).
"""

from __future__ import annotations

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl
from zoo.problem import row_matmul

#: |λ|_min below this fraction of |λ|_max counts as singular: w* = −A⁻¹b would not exist.
SINGULAR = 1e-12


class Quadratic(Problem):
    """E(w) = ½wᵀAw + bᵀw + e₀; a saddle when A is indefinite (then ``minima`` is empty)."""

    def __init__(
        self,
        matrix,
        vector,
        offset: float = 0.0,
        centre=None,
        offset_start=(-1.5, 1.0),
        half_width: float = 2.0,
    ) -> None:
        self.matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        self.vector = np.asarray(vector, dtype=float).reshape(-1)
        self.offset = float(offset)
        self.dim = len(self.vector)
        self.eigenvalues = np.linalg.eigvalsh(self.matrix)
        #: A stationary point (−A⁻¹b when A is invertible): minimum, saddle or maximum.
        self.centre = (
            -np.linalg.solve(self.matrix, self.vector)
            if centre is None
            else np.asarray(centre, dtype=float).reshape(-1)
        )
        self.start = self.centre + np.asarray(offset_start, dtype=float)[: self.dim]
        first = (self.centre[0] - half_width, self.centre[0] + half_width)
        second = (
            (self.centre[1] - half_width, self.centre[1] + half_width)
            if self.dim > 1
            else (-half_width, half_width)
        )
        self.bounds = (first, second)

    @property
    def minima(self) -> np.ndarray:
        # With a zero eigenvalue the centre is one point of a valley of minima.
        if np.all(self.eigenvalues >= 0):
            return self.centre[None, :]
        return np.empty((0, self.dim))

    def loss(self, x):
        x = np.asarray(x, dtype=float)
        return (
            0.5 * (row_matmul(x, self.matrix) * x).sum(axis=1)
            + (x * self.vector).sum(axis=1)
            + self.offset
        )

    def grad(self, x):
        return row_matmul(x, self.matrix) + self.vector

    def hess(self, x):
        return np.broadcast_to(self.matrix, (len(x), self.dim, self.dim)).copy()


def centred(matrix, centre, **options) -> Quadratic:
    """½(w − c)ᵀA(w − c): the bowl centred at c with E(c) = 0."""
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    centre = np.asarray(centre, dtype=float).reshape(-1)
    return Quadratic(
        matrix, -matrix @ centre, 0.5 * centre @ matrix @ centre, centre=centre, **options
    )


def rotation(angle_degrees: float) -> np.ndarray:
    angle = np.deg2rad(angle_degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def build_quadratic(settings, ctx):
    eigenvalues = [settings["lambda1"], settings["lambda2"]]
    rotate = rotation(settings["angle"])
    matrix = rotate @ np.diag(eigenvalues) @ rotate.T
    return centred(matrix, [settings["cx"], settings["cy"]])


def build_quadratic_matrix(settings, ctx):
    matrix = np.array([[settings["a11"], settings["a12"]], [settings["a12"], settings["a22"]]])
    eigenvalues = np.linalg.eigvalsh(matrix)
    if np.min(np.abs(eigenvalues)) <= SINGULAR * max(1.0, float(np.max(np.abs(eigenvalues)))):
        raise ValueError(
            f"A is singular (eigenvalues {eigenvalues[0]:g}, {eigenvalues[1]:g}): w* = −A⁻¹b "
            "does not exist; the quadratic model draws a valley with a zero eigenvalue"
        )
    return Quadratic(matrix, [settings["b1"], settings["b2"]])


def build_quadratic_1d(settings, ctx):
    return centred([[settings["lambda1"]]], [settings["c"]])


EIGENVALUE_RANGE = {"low": -10.0, "high": 100.0}
ENTRY_RANGE = {"low": -100.0, "high": 100.0}

QUADRATIC = ModelSpec(
    name="quadratic",
    build=build_quadratic,
    params=(
        Param("lambda1", 1.0, **EIGENVALUE_RANGE, doc="first eigenvalue λ₁ (negative: saddle)"),
        Param("lambda2", 10.0, **EIGENVALUE_RANGE, doc="second eigenvalue λ₂"),
        Param("angle", 30.0, low=-90.0, high=90.0, doc="rotation of the eigenvectors, degrees"),
        Param("cx", 0.0, low=-10.0, high=10.0, doc="centre, x"),
        Param("cy", 0.0, low=-10.0, high=10.0, doc="centre, y"),
    ),
    label="Quadratic (eigenvalues, rotation)",
    family="quadratic",
    doc="E = ½(w − c)ᵀA(w − c) with A = R(θ)·diag(λ₁, λ₂)·R(θ)ᵀ; condition number "
    "κ = λ_max/λ_min. A negative eigenvalue makes the centre a saddle, a zero one a valley.",
)

QUADRATIC_MATRIX = ModelSpec(
    name="quadratic_matrix",
    build=build_quadratic_matrix,
    params=(
        Param("a11", 1.0, **ENTRY_RANGE, doc="A₁₁"),
        Param("a12", 0.5, **ENTRY_RANGE, doc="A₁₂ = A₂₁ (A is symmetric)"),
        Param("a22", 4.0, **ENTRY_RANGE, doc="A₂₂"),
        Param("b1", -1.0, **ENTRY_RANGE, doc="b₁"),
        Param("b2", 1.0, **ENTRY_RANGE, doc="b₂"),
    ),
    label="Quadratic (A and b)",
    family="quadratic",
    doc="E = ½wᵀAw + bᵀw with A and b typed in; gradient Aw + b, stationary point "
    "w* = −A⁻¹b. An indefinite A gives a saddle (no minimum); a singular A is refused.",
)

QUADRATIC_1D = ModelSpec(
    name="quadratic_1d",
    build=build_quadratic_1d,
    params=(
        Param("lambda1", 1.0, **EIGENVALUE_RANGE, doc="curvature λ (negative: a hill)"),
        Param("c", 0.0, low=-10.0, high=10.0, doc="centre"),
    ),
    label="Quadratic in one weight",
    family="quadratic",
    doc="E = ½λ(x − c)²: one eigen-direction alone, drawn as a curve. Gradient descent "
    "converges monotonically for η < 1/λ, oscillates for 1/λ < η < 2/λ and diverges past 2/λ.",
)


@hookimpl
def zoo_models():
    return [QUADRATIC, QUADRATIC_MATRIX, QUADRATIC_1D]
