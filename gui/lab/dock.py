"""The lab dock: the η ruler on top, the other panels in tabs, all redrawn from one reading
of the window, at most a few times per second while runs move."""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtWidgets

from zoo_gui.lab.conditioning import ConditioningPanel
from zoo_gui.lab.eigen import EigenPanel
from zoo_gui.lab.momentum import MomentumPanel
from zoo_gui.lab.one_dimension import OneDimensionPanel
from zoo_gui.lab.ruler import RulerPanel
from zoo_gui.lab.saddles import SaddlesPanel
from zoo_gui.lab.schedules import SchedulesPanel
from zoo_gui.lab.state import LabState, read_state

#: Tabbed panels in display order; the ruler is always shown above them.
TAB_PANELS = (
    EigenPanel,
    OneDimensionPanel,
    ConditioningPanel,
    MomentumPanel,
    SchedulesPanel,
    SaddlesPanel,
)
#: Every panel name a lesson may list.
PANEL_NAMES = ("ruler", *(panel.name for panel in TAB_PANELS))
#: Shortest time between two redraws while runs step (the window steps far faster).
REFRESH_INTERVAL_MS = 60


class LabDock(QtWidgets.QDockWidget):
    """Reads ``window.problem``, ``runset`` and ``selected_run()``; changes runs only
    through ``window.set_run_hyper``, ``add_run`` and ``set_model``."""

    updated = QtCore.Signal()

    def __init__(self, window: Any) -> None:
        super().__init__("Step-size lab", window)
        self.setObjectName("step_size_lab")
        self.window = window
        self.state: LabState | None = None
        self.last_error = ""
        # Fit the ruler to the marks on the first reading of a scene or selection only, so
        # it does not jump while a run moves.
        self._refit_next = True
        self.ruler = RulerPanel(self)
        self.panels = {panel.name: panel(self) for panel in TAB_PANELS}
        self.tabs = QtWidgets.QTabWidget()
        for panel in self.panels.values():
            scroll = QtWidgets.QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
            scroll.setWidget(panel)
            self.tabs.addTab(scroll, panel.title)
        self.tabs.currentChanged.connect(lambda _: self.refresh_now())
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.ruler)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        self.setWidget(splitter)
        self.setMinimumWidth(460)
        self.panels["eigen"].attach_canvas(_canvas_plot_item(window))

        self.timer = QtCore.QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(REFRESH_INTERVAL_MS)
        self.timer.timeout.connect(self.refresh_now)
        window.stepped.connect(self.refresh_soon)
        window.runs_changed.connect(self.refresh_soon)
        window.selection_changed.connect(self._selection_changed)
        window.scene_loaded.connect(self._scene_loaded)
        self.destroyed.connect(self.timer.stop)

    # ------------------------------------------------------------ reacting to the window
    def refresh_soon(self) -> None:
        if not self.timer.isActive():
            self.timer.start()

    def _selection_changed(self, _run_id: int) -> None:
        self._refit_next = True
        self.refresh_soon()

    def _scene_loaded(self) -> None:
        self._refit_next = True
        self.panels["eigen"].attach_canvas(_canvas_plot_item(self.window))
        self.refresh_soon()

    def current_panel(self) -> QtWidgets.QWidget:
        return list(self.panels.values())[self.tabs.currentIndex()]

    def refresh_now(self) -> None:
        """Read the window once and redraw the ruler, the overlay and the visible tab."""
        self.timer.stop()
        if self.isHidden() or self.window.problem is None:
            return
        try:
            state = read_state(self.window)
            self.state = state
            if self._refit_next:
                self.ruler.reset_range(state)
                self._refit_next = False
            self.ruler.refresh(state)
            panel = self.current_panel()
            if panel is not self.panels["eigen"]:
                self.panels["eigen"].update_overlay(state)
            panel.refresh(state)
            self.last_error = ""
        except Exception as error:  # a plugin's model must not take the lab down
            self.last_error = f"{type(error).__name__}: {error}"
            self.ruler.note.setText(f"The lab could not read this model: {self.last_error}")
        self.updated.emit()

    # ------------------------------------------------------------ acting on the window
    def apply_hyper(self, **values: float) -> bool:
        """Give the selected run new hyper-parameters; False when no run is selected."""
        run_id = self.window.selected_run()
        if run_id is None:
            return False
        config = self.window.runset.configs.get(run_id)
        if config is not None:
            values = {name: value for name, value in values.items() if name in config.hyper}
            if not values:
                return False
        self.window.set_run_hyper(run_id, **values)
        self.refresh_soon()
        return True

    def open_panels(self, names: list[str] | tuple[str, ...]) -> None:
        """Bring forward the first tabbed panel a lesson lists (the ruler is always shown)."""
        for name in names:
            if name in self.panels:
                self.tabs.setCurrentIndex(list(self.panels).index(name))
                return

    def closeEvent(self, event) -> None:
        self.timer.stop()
        self.panels["eigen"].attach_canvas(None)
        super().closeEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.panels["eigen"].overlay is None:
            self.panels["eigen"].attach_canvas(_canvas_plot_item(self.window))
        self.refresh_soon()


def _canvas_plot_item(window: Any):
    canvas = getattr(window, "canvas", None)
    return getattr(canvas, "plot_item", None)
