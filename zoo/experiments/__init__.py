"""Classic experiments, reproduced: measured numbers beside the theory that predicts them.

Each experiment lives in its own module with a ``run(seed) -> Result`` function; this
package lists them (``EXPERIMENTS``), runs them (``run_experiment``) and prints them for
``zoo experiment``.  A ``Result`` holds rows of *measured* against *theory* with a verdict
per row, and named curves for plotting.  Modules are imported only when their experiment
runs, so listing the experiments costs nothing.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from zoo.experiments.progress import Cancelled, Progress, checkpoint, reporting

Value = float | int | str | bool
#: plot title → series label → (x, y)
Curves = dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Row:
    """One quantity: what the simulation measured, what theory predicts, and whether they agree."""

    quantity: str
    measured: Value
    theory: Value
    agrees: bool

    def __post_init__(self) -> None:
        # Comparisons of numpy scalars give numpy bools; the record holds plain Python values.
        object.__setattr__(self, "agrees", bool(self.agrees))
        for name in ("measured", "theory"):
            value = getattr(self, name)
            if isinstance(value, np.generic):
                object.__setattr__(self, name, value.item())

    @classmethod
    def close(
        cls, quantity: str, measured: float, theory: float, *, rtol: float = 0.0, atol: float = 0.0
    ) -> Row:
        """A row that agrees when ``|measured − theory| ≤ atol + rtol·|theory|``."""
        measured, theory = float(measured), float(theory)
        agrees = bool(
            math.isfinite(measured) and abs(measured - theory) <= atol + rtol * abs(theory)
        )
        return cls(quantity, measured, theory, agrees)


@dataclass
class Result:
    """What an experiment reports; ``passed`` holds when every row agrees."""

    name: str
    rows: list[Row]
    curves: Curves = field(default_factory=dict)
    passed: bool = False

    def __post_init__(self) -> None:
        self.passed = bool(self.rows) and all(row.agrees for row in self.rows)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form: name, rows and verdict (curves are left to the app)."""
        return {
            "name": self.name,
            "rows": [
                {
                    "quantity": r.quantity,
                    "measured": _json_value(r.measured),
                    "theory": _json_value(r.theory),
                    "agrees": r.agrees,
                }
                for r in self.rows
            ],
            "passed": self.passed,
        }


@dataclass(frozen=True)
class Experiment:
    """A runnable experiment: its name, a one-line summary, and its lesson scene if any."""

    name: str
    summary: str
    lesson: str | None = None  # file stem in zoo/lessons/

    @property
    def run(self) -> Callable[[int], Result]:
        return importlib.import_module(f"zoo.experiments.{self.name}").run


EXPERIMENTS: dict[str, Experiment] = {
    item.name: item
    for item in (
        Experiment(
            "gauss_newton",
            "plain Gauss–Newton cycles around a large-residual fit and stalls on a "
            "saturated tanh unit where Levenberg–Marquardt converges; σ²(JᵀJ)⁻¹ against refits",
            "experiment_gauss_newton",
        ),
        Experiment(
            "perturbation",
            "gradient descent vs node and weight perturbation "
            "(Werfel, Xie & Seung): the K recursion, η_max = 2/K, learning-time slopes",
        ),
        Experiment(
            "perceptron_vs_backprop",
            "the perceptron separates within (R/γ)² mistakes; "
            "a sigmoid unit trained by backprop misclassifies the same separable data",
        ),
        Experiment(
            "hebb_oja_sanger",
            "Hebbian weights blow up, Oja finds the unit top "
            "eigenvector, Sanger's rows come out ordered",
            "experiment_hebb_oja_sanger",
        ),
        Experiment(
            "deep_linear",
            "Saxe's deep linear network: plateau, sudden transition, "
            "the closed-form u(t), the saddle at the origin",
            "experiment_deep_linear",
        ),
        Experiment(
            "wide_net",
            "an over-parameterised ReLU net: residual decay against the "
            "H∞ eigen-prediction as width grows; random features vs NTK training",
        ),
        Experiment(
            "linear_neuron",
            "a linear neuron: with N < D a valley of solutions that "
            "depends on the start, with N ≥ D a single solution",
            "experiment_linear_neuron",
        ),
        Experiment(
            "robbins_monro",
            "step-size schedules under gradient noise: 1/(k+1)² "
            "stalls at sin(π√a)/(π√a), 1/(k+1) keeps going, a constant step wanders",
            "experiment_robbins_monro",
        ),
        Experiment(
            "saddle_escape",
            "gradient descent started on a saddle's stable manifold "
            "stays stuck; with noise it escapes in the predicted time",
            "experiment_saddle_escape",
        ),
    )
}


def run_experiment(name: str, seed: int = 0, progress: Progress | None = None) -> Result:
    """Run the experiment ``name`` with ``seed``; ``KeyError`` lists the valid names.

    ``progress`` hears the fraction done as the experiment goes and may return False to
    stop it, which raises ``Cancelled``."""
    if name not in EXPERIMENTS:
        raise KeyError(f"unknown experiment {name!r}; valid: {', '.join(EXPERIMENTS)}")
    with reporting(progress):
        result = EXPERIMENTS[name].run(seed)
    if progress is not None:
        progress(1.0)
    return result


def format_value(value: Value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.6g}"
    return str(value)


def format_table(result: Result) -> str:
    """An aligned table of quantity, measured, theory and ✓/✗, then the verdict line."""
    header = ("quantity", "measured", "theory", "agrees")
    cells = [
        (r.quantity, format_value(r.measured), format_value(r.theory), "✓" if r.agrees else "✗")
        for r in result.rows
    ]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(4)]
    lines = [f"{result.name}", ""]
    for row in [header, *cells]:
        lines.append(
            "  ".join(
                [row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].rjust(widths[2]), row[3]]
            ).rstrip()
        )
    failed = sum(not r.agrees for r in result.rows)
    lines.append("")
    lines.append(
        f"passed: all {len(result.rows)} agreements hold"
        if result.passed
        else f"FAILED: {failed} of {len(result.rows)} agreements do not hold"
    )
    return "\n".join(lines)


def command(args: argparse.Namespace) -> int:
    """``zoo experiment``: list, or run one and print its table (0 passed, 1 failed, 2 unknown)."""
    if args.list:
        width = max(len(name) for name in EXPERIMENTS)
        for item in EXPERIMENTS.values():
            print(f"{item.name.ljust(width)}  {item.summary}")
        return 0
    if not args.name:
        print(
            f"zoo: error: name an experiment ({', '.join(EXPERIMENTS)}) or pass --list",
            file=sys.stderr,
        )
        return 2
    if args.name not in EXPERIMENTS:
        print(
            f"zoo: error: unknown experiment {args.name!r}; valid: {', '.join(EXPERIMENTS)}",
            file=sys.stderr,
        )
        return 2
    result = run_experiment(args.name, seed=args.seed)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return 0 if result.passed else 1


def _json_value(value: Value) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return str(value)


__all__ = [
    "EXPERIMENTS",
    "Cancelled",
    "Experiment",
    "Result",
    "Row",
    "checkpoint",
    "command",
    "format_table",
    "format_value",
    "run_experiment",
]
