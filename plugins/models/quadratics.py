"""Quadratic bowls and saddles, the home of step-size theory.

Every model here is E(w) = ½(w − c)ᵀA(w − c) + E* with a constant symmetric A, exposed as
``.matrix`` with its ``.eigenvalues`` so the step-size lab can read 1/λ and 2/λ off them.
The loss is evaluated in that centred form, along the eigen-directions qᵢ of A, as
E* + ½Σλᵢ(qᵢᵀ(w − c))²: near the centre w − c is exact (Sterbenz) and no term cancels, so
E − E* keeps its relative accuracy down to the smallest steps and is never negative on a
bowl.  The expanded form ½wᵀAw + bᵀw + e₀ would subtract numbers of size |E*| + ½cᵀAc and
leave a floor of rounding noise (about 1e-13 at c = (10, 10)) that can go below E*.
The gradient is A(w − c), exactly zero at the centre.
"""

from __future__ import annotations

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl
from zoo.problem import row_matmul

#: |λ|_min below this fraction of |λ|_max counts as singular: w* = −A⁻¹b would not exist.
SINGULAR = 1e-12


class Quadratic(Problem):
    """E(w) = E* + ½Σλᵢ(qᵢᵀ(w − c))² for A = Σλᵢqᵢqᵢᵀ: a bowl, or a saddle when some
    λᵢ < 0 (then ``minima`` is empty)."""

    def __init__(
        self,
        eigenvalues,
        eigenvectors,
        centre,
        value: float = 0.0,
        offset_start=(-1.5, 1.0),
        half_width: float = 2.0,
    ) -> None:
        eigenvalues = np.asarray(eigenvalues, dtype=float).reshape(-1)
        order = np.argsort(eigenvalues)
        #: Ascending λᵢ, and the eigen-directions qᵢ as the columns of ``eigenvectors``.
        self.eigenvalues = eigenvalues[order]
        self.eigenvectors = np.atleast_2d(np.asarray(eigenvectors, dtype=float))[:, order]
        self.matrix = (self.eigenvectors * self.eigenvalues) @ self.eigenvectors.T
        self.matrix = 0.5 * (self.matrix + self.matrix.T)
        #: The stationary point c: minimum, saddle or maximum.
        self.centre = np.asarray(centre, dtype=float).reshape(-1)
        #: E* = E(c).
        self.value = float(value)
        self.dim = len(self.centre)
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
        along = row_matmul(np.asarray(x, dtype=float) - self.centre, self.eigenvectors)
        return 0.5 * (self.eigenvalues * along * along).sum(axis=1) + self.value

    def grad(self, x):
        return row_matmul(np.asarray(x, dtype=float) - self.centre, self.matrix)

    def hess(self, x):
        return np.broadcast_to(self.matrix, (len(x), self.dim, self.dim)).copy()


def expanded(matrix, vector) -> Quadratic:
    """½wᵀAw + bᵀw, held centred: c = −A⁻¹b and E* = ½bᵀc, each computed once, so the
    model is the typed one up to the rounding of c and E*; A's eigen-directions by eigh."""
    matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
    vector = np.asarray(vector, dtype=float).reshape(-1)
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    centre = -np.linalg.solve(matrix, vector)
    quadratic = Quadratic(eigenvalues, eigenvectors, centre, 0.5 * float(vector @ centre))
    quadratic.matrix = matrix.copy()  # the Hessian is the matrix as typed
    return quadratic


def rotation(angle_degrees: float) -> np.ndarray:
    angle = np.deg2rad(angle_degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def build_quadratic(settings, ctx):
    eigenvalues = [settings["lambda1"], settings["lambda2"]]
    return Quadratic(eigenvalues, rotation(settings["angle"]), [settings["cx"], settings["cy"]])


def build_quadratic_matrix(settings, ctx):
    matrix = np.array([[settings["a11"], settings["a12"]], [settings["a12"], settings["a22"]]])
    eigenvalues = np.linalg.eigvalsh(matrix)
    if np.min(np.abs(eigenvalues)) <= SINGULAR * max(1.0, float(np.max(np.abs(eigenvalues)))):
        raise ValueError(
            f"A is singular (eigenvalues {eigenvalues[0]:g}, {eigenvalues[1]:g}): w* = −A⁻¹b "
            "does not exist; the quadratic model draws a valley with a zero eigenvalue"
        )
    return expanded(matrix, [settings["b1"], settings["b2"]])


def build_quadratic_1d(settings, ctx):
    return Quadratic([settings["lambda1"]], [[1.0]], [settings["c"]])


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
