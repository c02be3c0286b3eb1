"""Classic optimisation test surfaces with analytic gradients and Hessians."""

from __future__ import annotations

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl


class Rosenbrock(Problem):
    """f = (a − x)² + b(y − x²)²: a curved valley with its minimum at (a, a²)."""

    bounds = ((-2.0, 2.0), (-1.0, 3.0))

    def __init__(self, a: float, b: float):
        self.a, self.b = a, b

    @property
    def start(self):
        return np.array([-1.2, 1.0])

    @property
    def minima(self):
        return np.array([[self.a, self.a**2]])

    def loss(self, x):
        u, v = x[:, 0], x[:, 1]
        return (self.a - u) ** 2 + self.b * (v - u * u) ** 2

    def grad(self, x):
        u, v = x[:, 0], x[:, 1]
        inner = v - u * u
        return np.stack([-2 * (self.a - u) - 4 * self.b * u * inner, 2 * self.b * inner], axis=1)

    def hess(self, x):
        u, v = x[:, 0], x[:, 1]
        out = np.empty((len(x), 2, 2))
        out[:, 0, 0] = 2 - 4 * self.b * (v - 3 * u * u)
        out[:, 0, 1] = out[:, 1, 0] = -4 * self.b * u
        out[:, 1, 1] = 2 * self.b
        return out


ROSENBROCK = ModelSpec(
    name="rosenbrock",
    build=lambda settings, ctx: Rosenbrock(settings["a"], settings["b"]),
    params=(
        Param("a", 1.0, low=-3.0, high=3.0, doc="minimum at (a, a²)"),
        Param("b", 100.0, low=0.0, high=1000.0, doc="steepness of the valley walls"),
    ),
    label="Rosenbrock",
    family="test function",
    doc="f(x, y) = (a − x)² + b(y − x²)², minimum 0 at (a, a²).",
)


@hookimpl
def zoo_models():
    return [ROSENBROCK]
