"""A typed-in objective E(x, y): any formula of the safe vocabulary in ``zoo.expr``."""

from __future__ import annotations

import numpy as np

from zoo import ModelSpec, Param, Problem, hookimpl
from zoo.expr import FormulaError, compile_formula


class FormulaProblem(Problem):
    """E(x, y) from a compiled formula, with sympy's exact gradient and Hessian."""

    def __init__(self, formula, bounds, start):
        self.formula = formula
        self.bounds = bounds
        self.start = np.asarray(start, dtype=float)

    def loss(self, x):
        return self.formula.loss(x)

    def grad(self, x):
        return self.formula.grad(x)

    def hess(self, x):
        return self.formula.hess(x)


def build_expression(settings, ctx):
    for low, high in (("xmin", "xmax"), ("ymin", "ymax")):
        if not settings[low] < settings[high]:
            raise ValueError(f"{low} {settings[low]} must be below {high} {settings[high]}")
    try:
        formula = compile_formula(settings["formula"])
    except FormulaError as error:
        raise ValueError(f"formula: {error}") from None
    bounds = ((settings["xmin"], settings["xmax"]), (settings["ymin"], settings["ymax"]))
    return FormulaProblem(formula, bounds, (settings["x0"], settings["y0"]))


EXPRESSION = ModelSpec(
    name="expression",
    build=build_expression,
    params=(
        Param(
            "formula",
            "x**2 + 10*y**2",
            kind="text",
            doc="E(x, y) using numbers, x, y, + - * / **, sin cos tan exp log sqrt abs "
            "tanh sinh cosh arctan min max, pi and e",
        ),
        Param("xmin", -2.0, low=-1e6, high=1e6, doc="view, left edge"),
        Param("xmax", 2.0, low=-1e6, high=1e6, doc="view, right edge"),
        Param("ymin", -2.0, low=-1e6, high=1e6, doc="view, bottom edge"),
        Param("ymax", 2.0, low=-1e6, high=1e6, doc="view, top edge"),
        Param("x0", -1.5, low=-1e6, high=1e6, doc="start, x"),
        Param("y0", 1.0, low=-1e6, high=1e6, doc="start, y"),
    ),
    label="Typed formula E(x, y)",
    family="formula",
    doc="Type an objective in x and y; its gradient and Hessian are derived exactly by "
    "sympy. Where it is undefined (log of a negative number, say) the picture has a gap.",
)


@hookimpl
def zoo_models():
    return [EXPRESSION]
