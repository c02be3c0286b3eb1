"""Colours: run colours that stand out on the landscape, and the landscape's colour map."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

#: Run colours, bright enough for the dark end of the landscape where runs arrive.
RUN_COLOURS = (
    "#ff7f0e",  # orange
    "#00e5ff",  # cyan
    "#ff4fa3",  # pink
    "#b6f542",  # lime
    "#ffd92f",  # yellow
    "#c78bff",  # lavender
    "#ff5a4f",  # red
    "#4fa3ff",  # blue
    "#ffffff",  # white
    "#35d49a",  # green
)


def run_colour(index: int) -> str:
    return RUN_COLOURS[index % len(RUN_COLOURS)]


def sweep_colours(count: int) -> list[str]:
    """Colours from cool to warm, so a sweep over a value reads as an ordered ramp; the
    ramp starts at magenta, since plasma's deep purples vanish on the dark landscape."""
    ramp = pg.colormap.get("plasma")
    if count == 1:
        return [ramp.map(0.6, mode="qcolor").name()]
    return [ramp.map(0.42 + 0.56 * i / (count - 1), mode="qcolor").name() for i in range(count)]


def landscape_map() -> pg.ColorMap:
    """Deep blue at the minimum to pale at high loss: the runs' colours stay readable on it."""
    stops = np.array([0.0, 0.35, 0.7, 1.0])
    colours = np.array(
        [[12, 18, 40], [32, 62, 112], [82, 128, 160], [214, 226, 232]], dtype=np.ubyte
    )
    return pg.ColorMap(stops, colours)
