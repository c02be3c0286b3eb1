"""Backprop fails to separate where perceptrons succeed (Brady, Raghavan & Slawny 1989).

One input x with a bias, so the weights (w, b) live in a plane and the boundary is the
threshold x = −b/w.  Eighty points sit in two clusters, and one positive point lies near
the negatives: the data are linearly separable, but only by a threshold in a narrow gap.

* The perceptron rule (w ← w + y·x̃ on each mistake, x̃ = (x, 1), one random example per
  step) finds a separator after at
  most (R/γ)² mistakes (Novikoff), R = max‖x̃‖, γ the best margin of a unit separator.
* A sigmoid unit σ(wx + b) trained by gradient descent on squared error towards the targets
  0.1/0.9 ends at a minimum whose boundary misclassifies the lone point: the loss prefers
  fitting the clusters, and no separating (w, b) is an optimum of it.
* Adding one more correctly labelled point (a fresh draw from a cluster) and training again
  moves the perceptron's boundary anywhere within the gap, but the sigmoid's boundary hardly
  at all: the lecture's high-variance perceptron and low-variance backprop.
"""

from __future__ import annotations

import numpy as np

from zoo import Problem, simulate
from zoo.experiments import Result, Row
from zoo.registry import load_for_builtins

NEGATIVES = np.linspace(-1.2, -0.8, 40)
POSITIVES = np.concatenate([np.linspace(0.8, 1.2, 40), [-0.5]])
ADDITIONS = 12  # one-point additions for the variance comparison
START = (1.0, 0.0)  # a unit of modest slope and no bias
PERCEPTRON_STEPS = 800
TARGETS = (0.1, 0.9)  # sigmoid targets for the classes −1 and +1
LR = 1.0
STEPS = 5000


class SigmoidUnit(Problem):
    """½Σ(σ(w·x + b) − t)² over (w, b) as least squares, with the ±1 labels for local rules."""

    bounds = ((-10.0, 10.0), (-10.0, 10.0))

    def __init__(self, points: np.ndarray, labels: np.ndarray) -> None:
        self.inputs = np.stack([points, np.ones_like(points)], axis=1)  # augmented x̃
        self.labels = labels
        self.targets = np.where(labels > 0, TARGETS[1], TARGETS[0])

    def residuals(self, x: np.ndarray) -> np.ndarray:
        return _sigmoid(x @ self.inputs.T) - self.targets

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x @ self.inputs.T))
        slope = e / (1.0 + e) ** 2  # σ′ = σ(z)σ(−z), with no 1 − σ to cancel
        return slope[:, :, None] * self.inputs[None, :, :]

    def loss(self, x: np.ndarray) -> np.ndarray:
        r = self.residuals(x)
        return 0.5 * np.einsum("bn,bn->b", r, r)

    def grad(self, x: np.ndarray) -> np.ndarray:
        return np.einsum("bn,bnd->bd", self.residuals(x), self.jacobian(x))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) from e^{−|z|}, accurate relative to itself in both tails (½(1 + tanh(z/2))
    loses the left tail)."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0, e) / (1.0 + e)


def perceptron(unit: SigmoidUnit, seed: int, registry) -> tuple[np.ndarray, int]:
    """The zoo's perceptron rule from w = 0, one random example per step: (w, mistakes)."""
    path = simulate(
        unit,
        "perceptron",
        steps=PERCEPTRON_STEPS,
        start=(0.0, 0.0),
        seed=seed,
        registry=registry,
        gtol=0.0,
    )
    mistakes = int(np.sum(np.any(np.diff(path.x, axis=0) != 0, axis=1)))
    return path.x[-1], mistakes


def best_margin(inputs: np.ndarray, labels: np.ndarray) -> float:
    """γ = max over unit u of min_i yᵢuᵀx̃ᵢ, by a fine sweep of the direction (2-D weights)."""
    angles = np.linspace(0, 2 * np.pi, 200_001)
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    margins = np.min(labels[None, :] * (directions @ inputs.T), axis=1)
    return float(margins.max())


def errors(w: np.ndarray, inputs: np.ndarray, labels: np.ndarray) -> int:
    return int(np.sum(labels * (inputs @ w) <= 0))


def run(seed: int = 0) -> Result:
    registry = load_for_builtins()
    rng = np.random.default_rng(seed)
    points = np.concatenate([NEGATIVES, POSITIVES])
    labels = np.concatenate([-np.ones(len(NEGATIVES)), np.ones(len(POSITIVES))])
    unit = SigmoidUnit(points, labels)
    inputs = unit.inputs
    radius = float(np.max(np.linalg.norm(inputs, axis=1)))
    gamma = best_margin(inputs, labels)
    w_perceptron, mistakes = perceptron(unit, seed, registry)
    fit = simulate(
        unit, "sgd", steps=STEPS, start=START, hyper={"lr": LR}, registry=registry, gtol=1e-9
    )
    w_backprop = fit.x[-1]
    hessian = np.linalg.eigvalsh(unit.hess(w_backprop[None])[0])
    separator_loss = _lowest_separating_loss(unit)
    shifts = [
        _one_more_point(points, labels, w_backprop, rng, seed + 1 + trial, registry)
        for trial in range(ADDITIONS)
    ]
    spread_p, spread_b = np.std(np.array(shifts), axis=0)
    rows = [
        Row("best margin γ of a unit separator (separable data)", gamma, "> 0", gamma > 0),
        Row(
            "perceptron: mistakes until it separates",
            mistakes,
            f"≤ (R/γ)² = {(radius / gamma) ** 2:.4g}",
            mistakes <= (radius / gamma) ** 2,
        ),
        Row.close(
            "perceptron: training errors at the end",
            errors(w_perceptron, inputs, labels),
            0,
            atol=0,
        ),
        Row.close(
            "backprop: gradient norm at the end (a minimum)", fit.grad_norm[-1], 0.0, atol=1e-8
        ),
        Row(
            "backprop: lowest Hessian eigenvalue at the end",
            float(hessian[0]),
            "> 0",
            bool(hessian[0] > 0),
        ),
        Row(
            "backprop: training errors at its minimum",
            errors(w_backprop, inputs, labels),
            "≥ 1 (separator not an optimum)",
            errors(w_backprop, inputs, labels) >= 1,
        ),
        Row(
            "lowest loss of any separating (w, b) on the grid",
            separator_loss,
            f"> {fit.loss[-1]:.4g} (the minimum)",
            separator_loss > fit.loss[-1],
        ),
        Row(
            f"spread of the boundary over {ADDITIONS} one-point additions: perceptron / backprop",
            float(spread_p / spread_b),
            "≫ 1 (variance)",
            bool(spread_p > 5 * spread_b),
        ),
    ]
    grid = np.linspace(-2.0, 2.0, 201)
    curves = {
        "the data and the two outputs": {
            "perceptron: sign(wx + b)": (grid, np.sign(w_perceptron[0] * grid + w_perceptron[1])),
            "backprop: 2σ(wx + b) − 1": (
                grid,
                2 * _sigmoid(w_backprop[0] * grid + w_backprop[1]) - 1,
            ),
            "labels ±1, in order of x": (np.sort(points), labels[np.argsort(points)]),
        },
        "backprop loss": {"gradient descent": (np.arange(len(fit.loss)), fit.loss)},
    }
    return Result("perceptron_vs_backprop", rows, curves)


def _one_more_point(points, labels, w_backprop, rng, seed, registry) -> tuple[float, float]:
    """Thresholds −b/w of both learners after adding one correctly labelled cluster point."""
    label = rng.choice([-1.0, 1.0])
    extra = label * rng.uniform(0.8, 1.2)
    grown = SigmoidUnit(np.append(points, extra), np.append(labels, label))
    w_p, _ = perceptron(grown, seed, registry)
    refit = simulate(
        grown, "sgd", steps=STEPS, start=w_backprop, hyper={"lr": LR}, registry=registry, gtol=1e-9
    ).x[-1]
    return -w_p[1] / w_p[0], -refit[1] / refit[0]


def _lowest_separating_loss(unit: SigmoidUnit) -> float:
    """The least squared-error loss over separating (w, b) on a wide grid of the plane."""
    w, b = np.meshgrid(np.linspace(-40, 40, 801), np.linspace(-40, 40, 801))
    weights = np.stack([w.ravel(), b.ravel()], axis=1)
    separating = np.all(unit.labels[None, :] * (weights @ unit.inputs.T) > 0, axis=1)
    return float(unit.loss(weights[separating]).min())
