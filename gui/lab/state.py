"""What the lab draws, read once per update from the main window: the selected run, its
path, its step sizes and the local quadratic model where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from zoo import theory
from zoo.workspace import is_plain_gd

#: Learning rate assumed when the selected run has none (or there is no run).
DEFAULT_LR = 0.01


@dataclass(frozen=True)
class LabState:
    """One consistent reading of the window for every panel.

    ``model`` is the local quadratic at ``point`` (the selected run's current position, or
    the problem's start); ``start_model`` the one where the run started.  ``lrs`` are the
    step sizes the run has used so far (``lr`` times its schedule).  ``plain_gd`` says the
    run is gradient descent without momentum or weight decay, so the quadratic theory
    predicts it exactly.  ``error`` explains why ``model`` is missing.
    """

    problem: Any
    registry: Any
    run_id: int | None
    config: Any
    history: np.ndarray
    losses: np.ndarray
    point: np.ndarray
    model: theory.LocalQuadratic | None
    start_model: theory.LocalQuadratic | None
    quadratic: bool
    lr: float
    momentum: float
    lrs: np.ndarray
    plain_gd: bool
    error: str = ""

    @property
    def positive(self) -> np.ndarray:
        """The positive eigenvalues of the local model, ascending."""
        if self.model is None:
            return np.empty(0)
        return self.model.eigenvalues[self.model.eigenvalues > 0]


def _schedule_factors(registry: Any, config: Any, steps: int) -> np.ndarray:
    if config is None or not config.schedule or steps == 0:
        return np.ones(steps)
    spec = registry.schedules.get(config.schedule)
    if spec is None:
        return np.ones(steps)
    factor = spec.factor(np.arange(steps, dtype=float), **dict(config.schedule_params))
    return np.broadcast_to(np.asarray(factor, dtype=float), (steps,)).copy()


def read_state(window: Any) -> LabState:
    """Read the window's problem and selected run; never raises for what a model lacks."""
    problem = window.problem
    runset = window.runset
    registry = window.registry
    run_id = window.selected_run()
    config = None
    if run_id is not None and runset is not None and run_id in runset.configs:
        config = runset.configs[run_id]
        history, losses, _ = runset.history(run_id)
        history, losses = np.array(history), np.array(losses)
    else:
        run_id = None
        history = np.asarray(problem.start, dtype=float).reshape(1, -1)
        losses = np.asarray(problem.loss(history), dtype=float)
    point = history[-1]
    model = start_model = None
    error = ""
    try:
        model = theory.local_quadratic(problem, point)
        start_model = model if len(history) == 1 else theory.local_quadratic(problem, history[0])
        if not (np.all(np.isfinite(model.hessian)) and np.all(np.isfinite(start_model.hessian))):
            raise ValueError("the Hessian is not finite here")
    except Exception as failure:  # a model without gradients or with NaN curvature
        model = start_model = None
        error = f"no local quadratic model: {failure}"
    quadratic = False
    if model is not None:
        probe = theory.local_quadratic(problem, point + 0.5) if len(history) == 1 else start_model
        quadratic = bool(np.allclose(probe.hessian, model.hessian, rtol=1e-6, atol=1e-9))
    hyper = config.hyper if config is not None else {}
    lr = float(hyper.get("lr", DEFAULT_LR))
    momentum = float(hyper.get("momentum", 0.0))
    lrs = lr * _schedule_factors(registry, config, len(history) - 1)
    return LabState(
        problem=problem,
        registry=registry,
        run_id=run_id,
        config=config,
        history=history,
        losses=losses,
        point=point,
        model=model,
        start_model=start_model,
        quadratic=quadratic,
        lr=lr,
        momentum=momentum,
        lrs=lrs,
        plain_gd=is_plain_gd(registry, config),
        error=error,
    )
