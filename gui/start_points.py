"""Setting where runs start: a click on the canvas, or dragging the start ring with a
dashed preview of the first few hundred steps from where it is; the same preview
follows a run's value while its slider is dragged."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from zoo.engine import EngineError, RunSet
from zoo.workspace import WorkspaceBusy

PREVIEW_STEPS = 300
PREVIEW_BUDGET = 0.04  # seconds a start-drag preview may take


class StartPointsMixin:
    """Start-point interaction of ``MainWindow``."""

    def _targets(self) -> list[int]:
        ws = self.workspace
        if self.click_box.currentIndex() == 1 and ws.selected is not None:
            return [ws.selected]
        return list(ws.runset.configs)

    def set_start(self, a: float, b: float) -> None:
        """Send the target runs (all, or the selected one) to start at view point (a, b)."""
        ws = self.workspace
        if ws.problem is None:
            return
        try:
            ws.set_starts(self._targets(), ws.start_from_view(a, b))
        except (WorkspaceBusy, EngineError) as error:
            self.report(str(error))
        self.canvas.set_preview(None)

    def _canvas_clicked(self, a: float, b: float) -> None:
        self.set_start(a, b)

    def _start_dragging(self, a: float, b: float) -> None:
        """Preview the first few hundred steps from the marker while it is dragged."""
        ws = self.workspace
        start = ws.start_from_view(a, b)
        self._preview([replace(ws.runset.configs[r], start=start) for r in self._targets()])

    def _preview_run(self, run_id: int, config) -> None:
        """Preview ``run_id`` as ``config`` (a value being dragged); -1 clears it."""
        ws = self.workspace
        if run_id < 0 or config is None or run_id not in ws.runset.configs:
            self.canvas.set_preview(None)
            return
        if ws.continue_on_edit:  # the edit will go on from where the run is
            x, _, _ = ws.runset.history(run_id)
            config = replace(config, start=tuple(float(v) for v in x[-1]))
        self._preview([config])

    def _preview(self, configs: list) -> None:
        """Draw the first few hundred steps of ``configs``, dashed, each in its colour,
        within a small time budget."""
        ws = self.workspace
        preview = RunSet(ws.problem, ws.registry)
        try:
            preview.add_many(configs)
        except EngineError:
            return
        deadline = time.perf_counter() + PREVIEW_BUDGET
        taken = 0
        while taken < PREVIEW_STEPS and time.perf_counter() < deadline:
            preview.step(25)
            taken += 25
        pieces = []
        for run_id, config in preview.configs.items():
            x, loss, _ = preview.history(run_id)
            points = np.stack([x[:, 0], loss], axis=1) if ws.problem.dim == 1 else ws.to_view(x)
            pieces.append((points, config.color or "#ffffff"))
        self.canvas.set_preview(pieces)

    def _update_start_marker(self) -> None:
        ws = self.workspace
        configs = ws.runset.configs if ws.runset is not None else {}
        run_id = ws.selected if ws.selected is not None else next(iter(configs), None)
        if run_id is None:
            self.canvas.set_start(None)
            return
        x0 = ws.runset.start_of(configs[run_id])
        if ws.problem.dim == 1:
            point = (float(x0[0]), float(np.asarray(ws.problem.loss(x0[None]))[0]))
        else:
            point = ws.to_view(x0[None])[0]
        self.canvas.set_start(point)
