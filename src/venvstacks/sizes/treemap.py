"""A squarified treemap layout (Bruls, Huizing and van Wijk, 2000): sizes in, rectangles out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rect:
    """A rectangle of the layout, with the index of the value it shows."""

    index: int
    x: float
    y: float
    width: float
    height: float


def _worst(row: Sequence[float], side: float) -> float:
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(
        max(side * side * v / (total * total), (total * total) / (side * side * v)) for v in row
    )


def compute_treemap(values: Sequence[int], width: float, height: float) -> list[Rect]:
    """Lay *values* (largest first works best) out in a *width* by *height* box.

    Each rectangle's area is proportional to its value; zero values get no rectangle.
    """
    total = sum(values)
    items = (
        [(i, v * width * height / total) for i, v in enumerate(values) if v > 0] if total else []
    )
    rects: list[Rect] = []
    x, y, w, h = 0.0, 0.0, float(width), float(height)
    while items:
        side = min(w, h)
        row = [items[0]]
        rest = items[1:]
        while rest and _worst([a for _, a in [*row, rest[0]]], side) <= _worst(
            [a for _, a in row], side
        ):
            row.append(rest.pop(0))
        items = rest
        row_area = sum(a for _, a in row)
        thickness = row_area / side if side else 0.0
        offset = 0.0
        for index, area in row:
            length = area / thickness if thickness else 0.0
            if w >= h:  # a column on the left
                rects.append(Rect(index, x, y + offset, thickness, length))
            else:  # a row on top
                rects.append(Rect(index, x + offset, y, length, thickness))
            offset += length
        if w >= h:
            x, w = x + thickness, w - thickness
        else:
            y, h = y + thickness, h - thickness
    return rects
