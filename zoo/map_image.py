"""Colours for maps without Qt: a colour per basin, a colour scale for numbers, a legend.

The app and ``zoo map`` both colour a ``MapResult`` here, so a PNG and the screen agree.
"""

from __future__ import annotations

import numpy as np

from zoo.maps import CLASS_NAMES, DIVERGED_CLASS, ELSEWHERE, GAP_FLOOR, KINDS, NOT_YET, MapResult

#: One colour per minimum, in order (repeating past ten).
MINIMUM_COLOURS = np.array(
    [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (188, 189, 34),
        (23, 190, 207),
        (127, 127, 127),
    ],
    dtype=np.uint8,
)
CLASS_COLOURS = {
    ELSEWHERE: (90, 90, 90),
    DIVERGED_CLASS: (15, 15, 15),
    NOT_YET: (235, 235, 235),
}
#: One colour per end-state class of ``end``, in the order of ``zoo.maps.KINDS`` (minimum,
#: saddle, plateau, stalled), none of them a colour of ``CLASS_COLOURS``.
END_COLOURS = np.array(
    [(44, 160, 44), (214, 39, 40), (148, 103, 189), (255, 187, 60)], dtype=np.uint8
)
#: Quantities that hold classes rather than numbers.
CLASSES = ("basin", "end")
#: Anchor colours of the scale (viridis at 0, ¼, ½, ¾, 1); missing values are grey.
SCALE = np.array(
    [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)], dtype=float
)
MISSING = (128, 128, 128)
#: Map quantities drawn on a log scale.
LOG_SCALED = {"steps_to_tol", "final_loss"}


def scale_colours(fractions: np.ndarray) -> np.ndarray:
    """RGB (…, 3) uint8 for values in [0, 1] along the colour scale; NaN is grey."""
    f = np.clip(np.nan_to_num(fractions, nan=0.0), 0.0, 1.0) * (len(SCALE) - 1)
    low = np.minimum(f.astype(int), len(SCALE) - 2)
    part = (f - low)[..., None]
    rgb = SCALE[low] * (1 - part) + SCALE[low + 1] * part
    rgb = np.where(np.isnan(fractions)[..., None], MISSING, rgb)
    return rgb.round().astype(np.uint8)


def value_range(values: np.ndarray, log: bool) -> tuple[float, float] | None:
    """The finite (positive, when ``log``) range of ``values``, or None if there is none."""
    use = np.isfinite(values) & ((values > 0) if log else True)
    if not use.any():
        return None
    return float(values[use].min()), float(values[use].max())


def shown(result: MapResult, quantity: str) -> np.ndarray:
    """The values that colour ``quantity``: its data, but the final loss as its gap above
    E* (at least the rounding floor), as the canvas shows the loss, so that a few decades
    of noise above E* stay apart instead of sharing one shade of a loss far from zero."""
    values = result.data[quantity]
    if quantity != "final_loss":
        return values
    floor = GAP_FLOOR * max(1.0, abs(result.e_star))
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(values), np.nan, np.maximum(values - result.e_star, floor))


def colourise(result: MapResult, quantity: str) -> np.ndarray:
    """(rows, columns, 3) uint8, row 0 the lowest y (flip it for an image whose top is up)."""
    values = shown(result, quantity)
    if quantity in CLASSES:
        rgb = np.empty((*values.shape, 3), dtype=np.uint8)
        ours = values >= 0
        if quantity == "basin":
            rgb[ours] = MINIMUM_COLOURS[values[ours] % len(MINIMUM_COLOURS)]
        else:
            rgb[ours] = END_COLOURS[values[ours]]
        for code, colour in CLASS_COLOURS.items():
            rgb[values == code] = colour
        return rgb
    log = quantity in LOG_SCALED
    span = value_range(values, log)
    if span is None:
        return np.full((*values.shape, 3), MISSING, dtype=np.uint8)
    low, high = span
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log10(values) if log else values.astype(float)
        lo, hi = (np.log10(low), np.log10(high)) if log else (low, high)
        fractions = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    fractions = np.where(np.isfinite(v), fractions, np.nan)
    if quantity == "final_loss":  # diverged runs are infinite: the scale's far end
        fractions = np.where(np.isposinf(values), 1.0, fractions)
    return scale_colours(fractions)


def legend(result: MapResult, quantity: str) -> list[tuple[str, tuple[int, int, int]]]:
    """(label, colour) pairs: the classes present (basin maps) or the ends of the scale."""
    values = result.data[quantity]
    if quantity in CLASSES:
        entries = []
        if quantity == "end":
            for index, kind in enumerate(KINDS):
                if (values == index).any():
                    entries.append((kind, tuple(int(c) for c in END_COLOURS[index])))
        for index, minimum in enumerate(result.minima if quantity == "basin" else ()):
            if (values == index).any():
                where = ", ".join(f"{v:.3g}" for v in minimum[:2])
                colour = MINIMUM_COLOURS[index % len(MINIMUM_COLOURS)]
                entries.append((f"minimum {index} ({where})", tuple(int(c) for c in colour)))
        for code, colour in CLASS_COLOURS.items():
            if (values == code).any():
                entries.append((CLASS_NAMES[code], colour))
        return entries
    log = quantity in LOG_SCALED
    values = shown(result, quantity)
    span = value_range(values, log)
    if span is None:
        return [("no value", MISSING)]
    ends = scale_colours(np.array([0.0, 1.0]))
    above = "E* + " if quantity == "final_loss" else ""
    entries = [(f"{above}{end:.3g}", tuple(int(c) for c in ends[i])) for i, end in enumerate(span)]
    with np.errstate(invalid="ignore"):
        grey = ~(np.isfinite(values) & ((values > 0) if log else True))
    if quantity == "final_loss":
        grey &= ~np.isposinf(values)  # diverged: the scale's far end, not grey
    if grey.any():
        entries.append((_grey_label(result, grey), MISSING))
    return entries


def _grey_label(result: MapResult, grey: np.ndarray) -> str:
    """What the grey cells of a scale are: runs that diverged, or no value to show."""
    diverged = result.data.get("diverged")
    if diverged is None or diverged.shape != grey.shape or not (diverged[grey] > 0).any():
        return "no value"
    return "diverged" if (diverged[grey] > 0).all() else "diverged, or no value"


def picture(result: MapResult, quantity: str, scale: int | tuple[int, int] = 1) -> np.ndarray:
    """The map as an image (top = highest y), each cell ``scale`` pixels wide and high (or
    ``(high, wide)``), with a legend strip below: the classes' colours in order, or the
    colour scale low → high."""
    rgb = np.flipud(colourise(result, quantity))
    high, wide = (scale, scale) if isinstance(scale, int) else scale
    rgb = rgb.repeat(high, axis=0).repeat(wide, axis=1)
    width = rgb.shape[1]
    height = max(8, width // 16)
    if quantity in CLASSES:
        colours = [colour for _, colour in legend(result, quantity)] or [MISSING]
        index = np.minimum(np.arange(width) * len(colours) // width, len(colours) - 1)
        strip = np.array(colours, dtype=np.uint8)[index]
    else:
        strip = scale_colours(np.linspace(0.0, 1.0, width))
    strip = np.broadcast_to(strip[None], (height, width, 3))
    gap = np.full((2, width, 3), 255, dtype=np.uint8)
    return np.concatenate([rgb, gap, strip], axis=0)


__all__ = [
    "CLASSES",
    "END_COLOURS",
    "LOG_SCALED",
    "colourise",
    "legend",
    "picture",
    "scale_colours",
    "shown",
    "value_range",
]
