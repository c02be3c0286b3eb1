"""Quadratic bowls and saddles: E(x) = ½(x − c)ᵀA(x − c), the home of step-size theory."""

from __future__ import annotations

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl


class Quadratic(Problem):
    """E(x) = ½(x − c)ᵀA(x − c) for a symmetric A; a saddle when A is indefinite."""

    def __init__(self, matrix: np.ndarray, centre: np.ndarray, start=None, extent=None):
        self.matrix = np.asarray(matrix, dtype=float)
        self.centre = np.asarray(centre, dtype=float)
        self.dim = len(self.centre)
        eigenvalues = np.linalg.eigvalsh(self.matrix)
        self.eigenvalues = eigenvalues
        self._start = self.centre + (np.asarray(start, dtype=float) if start is not None
                                     else np.array([-1.5, 1.0])[: self.dim])
        half = float(extent) if extent is not None else 2.0
        self.bounds = tuple((c - half, c + half) for c in self.centre[:2])
        if self.dim == 1:
            self.bounds = ((self.centre[0] - half, self.centre[0] + half), (-half, half))

    @property
    def start(self):
        return self._start

    @property
    def minima(self):
        if np.all(self.eigenvalues > 0):
            return self.centre[None, :]
        return np.empty((0, self.dim))

    def loss(self, x):
        d = x - self.centre
        return 0.5 * np.einsum("bi,ij,bj->b", d, self.matrix, d)

    def grad(self, x):
        return (x - self.centre) @ self.matrix

    def hess(self, x):
        return np.broadcast_to(self.matrix, (len(x), self.dim, self.dim)).copy()


def rotation(angle_degrees: float) -> np.ndarray:
    angle = np.deg2rad(angle_degrees)
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


def build_quadratic(settings, ctx):
    rotate = rotation(settings["angle"])
    matrix = rotate @ np.diag([settings["lambda1"], settings["lambda2"]]) @ rotate.T
    centre = np.array([settings["cx"], settings["cy"]])
    return Quadratic(matrix, centre)


QUADRATIC = ModelSpec(
    name="quadratic",
    build=build_quadratic,
    params=(
        Param("lambda1", 1.0, low=-10.0, high=100.0, doc="first eigenvalue λ₁ (negative: saddle)"),
        Param("lambda2", 10.0, low=-10.0, high=100.0, doc="second eigenvalue λ₂"),
        Param("angle", 30.0, low=-90.0, high=90.0, doc="rotation of the eigenvectors, degrees"),
        Param("cx", 0.0, low=-10.0, high=10.0, doc="centre, x"),
        Param("cy", 0.0, low=-10.0, high=10.0, doc="centre, y"),
    ),
    label="Quadratic (eigenvalues, rotation)",
    family="quadratic",
    doc="E = ½(x − c)ᵀA(x − c) with A = R(θ)·diag(λ₁, λ₂)·R(θ)ᵀ; condition number "
    "κ = λ_max/λ_min.",
)


@hookimpl
def zoo_models():
    return [QUADRATIC]
