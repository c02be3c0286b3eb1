"""Optimizer Zoo: optimizers, activations and models as plugins, and an engine to race them.

This package is the public API plugin authors import.  It never imports Qt.
"""

import importlib.metadata

from zoo.engine import (
    EngineError,
    RunConfig,
    RunSet,
    RunStatus,
    Trajectory,
    build_problem,
    simulate,
)
from zoo.hookspecs import hookimpl
from zoo.problem import BuildContext, Plane, Problem
from zoo.randomness import run_integers, run_normal, run_sample, run_uniform
from zoo.registry import Registry, load_registry
from zoo.runview import BatchView, History, RunView
from zoo.specs import (
    ActivationSpec,
    ModelSpec,
    OptimizerSpec,
    Param,
    ScheduleSpec,
    SpecError,
    preset,
)

try:
    __version__ = importlib.metadata.version("optimizer-zoo")
except importlib.metadata.PackageNotFoundError:  # run from a checkout that is not installed
    __version__ = "0+unknown"

__all__ = [
    "ActivationSpec",
    "BatchView",
    "BuildContext",
    "EngineError",
    "History",
    "ModelSpec",
    "OptimizerSpec",
    "Param",
    "Plane",
    "Problem",
    "Registry",
    "RunConfig",
    "RunSet",
    "RunStatus",
    "RunView",
    "ScheduleSpec",
    "SpecError",
    "Trajectory",
    "build_problem",
    "hookimpl",
    "load_registry",
    "preset",
    "run_integers",
    "run_normal",
    "run_sample",
    "run_uniform",
    "simulate",
]
