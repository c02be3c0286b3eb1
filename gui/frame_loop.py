"""The frame loop: each tick draws what the runs hold now, then starts the next steps;
a few times a second it refreshes the status column, the legend and the status bar."""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

FRAME_MS = 16
STATUS_EVERY = 0.25  # seconds between refreshes of the status column and bar
#: Seconds between redraws of the step plots: a curve growing by a step a frame reads
#: the same at twenty redraws a second, and the canvas keeps the frame time.
PLOT_EVERY = 0.05


class FrameLoopMixin:
    """Per-frame drawing of ``MainWindow``."""

    def force_redraw(self) -> None:
        self._last_pictures = ()
        self._last_arrows = None
        self._last_plot = 0.0

    def frame(self) -> None:
        """Draw what the runs hold now, then start the next steps (the timer's slot)."""
        ws = self.workspace
        if self._closing or ws.runset is None:
            return
        now = time.perf_counter()
        plots_due = self.plots.isVisible() and now - self._last_plot >= PLOT_EVERY
        self.drawing.want_series = plots_due
        frame = self.drawing.frame(ws.runset)
        pictures = tuple(id(p) for p in frame.pictures)
        changed = pictures != self._last_pictures
        if changed:
            self._last_pictures = pictures
            self._plots_stale = True
            selected = frame.head_of(ws.selected)
            self.canvas.draw(frame.trails, frame.heads, frame.head_colours, selected, frame.exits)
            self._draw_arrows(selected)
        if plots_due and self._plots_stale:
            self._plots_stale = False
            self._last_plot = now
            self.plots.draw(frame.pictures)
        if ws.playing:
            self.stepper.submit(ws.steps_per_frame, ws.step_limit)
        self._frames += 1
        if now - self._last_status >= STATUS_EVERY:
            self._update_status(now)
        if changed:  # listeners redraw only when there is something new
            self.stepped.emit()

    def draw_now(self) -> None:
        """Draw the current state synchronously (exports and rendering)."""
        ws = self.workspace
        frame = self.drawing.frame(ws.runset)
        selected = frame.head_of(ws.selected)
        self.canvas.draw(frame.trails, frame.heads, frame.head_colours, selected, frame.exits)

    def _draw_arrows(self, head: np.ndarray | None) -> None:
        ws = self.workspace
        run_id = ws.selected
        if (
            not self.arrows_action.isChecked()
            or run_id is None
            or head is None
            or not np.isfinite(head).all()  # the run has left the picture
            or ws.problem.dim == 1
        ):
            self.canvas.set_arrows(None, {})
            return
        x, _, _ = ws.runset.history(run_id)
        if not len(x):
            return
        here = x[-1]
        (x0, x1), _ = self.canvas.current_view()
        reach = 0.12 * (x1 - x0)
        vectors: dict[str, np.ndarray] = {}
        with np.errstate(all="ignore"):
            if "grad" in ws.problem.provides:
                gradient = np.asarray(ws.problem.grad(here[None]))[0]
                vectors["gradient"] = _scaled(-ws.direction_to_view(gradient), reach)
            if len(x) > 1:
                vectors["update"] = ws.direction_to_view(x[-1] - x[-2])
            config = ws.runset.configs[run_id]
            optimizer = ws.registry.get("optimizer", config.optimizer)
            value = ws.runset.optimizer_state(run_id).get(optimizer.momentum_key)
            if (
                value is not None
                and np.shape(value) == here.shape
                and _has_momentum(optimizer, config)
            ):
                vectors["momentum"] = _scaled(-ws.direction_to_view(value), 0.7 * reach)
        self.canvas.set_arrows(ws.to_view(here[None])[0], vectors)

    def _update_status(self, now: float) -> None:
        ws = self.workspace
        elapsed = now - self._last_status if self._last_status else 1.0
        self._last_status = now
        self.frames_per_second = self._frames / elapsed
        self.steps_per_second = self.stepper.take_step_count() / elapsed
        self._frames = 0
        self.speed_label.setText(
            f"{self.frames_per_second:5.0f} frames/s   {self.steps_per_second:8.0f} steps/s"
        )
        slow_runs = self.stepper.slow_runs()
        texts = {}
        states: Counter[str] = Counter()
        for view in ws.runset.batches():
            # Running rows (most of them) are told from the view's arrays alone; only
            # stopped ones need their full status.
            running, steps, losses = view.running.tolist(), view.steps.tolist(), view.loss
            for row, run_id in enumerate(view.run_ids):
                if running[row]:
                    states["running"] += 1
                    text = f"step {steps[row]}" + (" (slow)" if run_id in slow_runs else "")
                    texts[run_id] = (text, "running", f"{losses[row]:.4g}")
                    continue
                status = ws.runset.status(run_id)
                states[status.outcome] += 1
                text = f"failed: {status.message}" if status.state == "failed" else str(status)
                texts[run_id] = (text, status.outcome, f"{losses[row]:.4g}")
        self.runs_panel.set_status(texts)
        self._summarise(states)

    def _summarise(self, states: Counter) -> None:
        """Past a dozen runs the legend is one line: how many runs stand where."""
        total = sum(states.values())
        if total <= self.LEGEND_MOST:
            return
        parts = ", ".join(f"{count} {state}" for state, count in states.items() if count)
        summary = f"{total} runs: {parts}"
        if summary != self._legend_summary:
            self._legend_summary = summary
            self.canvas.set_legend([(summary, "#10141c")])

    def status_text(self, run_id: int) -> str:
        """The status column's text for ``run_id`` (as last shown)."""
        return self.runs_panel.table_model.status_text(run_id)

    def _hovered(self, a: float, b: float) -> None:
        ws = self.workspace
        if ws.problem is None:
            return
        if ws.problem.dim == 1:
            weights = np.array([[a]])
            where = f"x = {a:.4g}"
        else:
            weights = np.asarray(
                ws.view_plane.to_weights(a, b) if ws.view_plane is not None else [a, b],
                dtype=float,
            )[None, :]
            where = f"x₁ = {a:.4g}   x₂ = {b:.4g}"
        try:
            with np.errstate(all="ignore"):
                loss = float(np.asarray(ws.problem.loss(weights)).reshape(-1)[0])
        except Exception:  # a point where the loss is undefined
            loss = float("nan")
        self.hover_label.setText(f"{where}   loss = {loss:.6g}")


def _has_momentum(optimizer, config) -> bool:
    """Whether a run's momentum state is momentum: with a ``momentum`` value of 0 (plain
    gradient descent) the buffer only holds the gradient, so no arrow is drawn for it."""
    param = next((p for p in optimizer.params if p.name == "momentum"), None)
    if param is None or param.kind != "float":
        return True
    return float(config.hyper.get("momentum", param.default)) != 0.0


def _scaled(vector: np.ndarray, length: float) -> np.ndarray | None:
    """``vector`` stretched to ``length`` (its direction is what is shown); None when it
    has vanished, since a converged run has no direction left to show."""
    norm = float(np.hypot(*vector))
    return vector * (length / norm) if norm > 1e-10 else None
