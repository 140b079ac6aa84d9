"""Gradient colours relative to the graph's own spread, with absolute alarms on top.

A healthy network's gradient norms all sit inside any fixed "healthy" range, so an
absolute scale paints every node alike. ``GradScale`` instead places each norm among
the graph's own norms, by the quantile of its logarithm: the smallest gradient in the
graph gets the palette's first colour and the largest its last, whatever their size.
The absolute thresholds (``grad_range``) still mark nodes outside them as vanishing or
exploding, with a border of their own, and sit as marks on the legend.
"""

from __future__ import annotations

import functools
import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

#: Gradient norms below the first are marked vanishing, above the second exploding.
DEFAULT_GRAD_RANGE = (1e-5, 1e1)

#: Viridis, from the graph's smallest gradient norm to its largest.
PALETTE = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
#: Border colours of the absolute alarms.
FLAG_COLOURS = {"vanishing": "#1f77b4", "exploding": "#d62728"}


@dataclass(frozen=True)
class GradScale:
    """Maps a gradient norm to a colour by its log-quantile among ``logs``, the graph's distinct log10 norms."""

    logs: tuple[float, ...]
    grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE

    @classmethod
    def of(cls, norms: Iterable[float], grad_range: tuple[float, float] = DEFAULT_GRAD_RANGE) -> GradScale:
        low, high = grad_range
        if not 0 < low < high:
            raise ValueError(f"draw: grad_range must be two norms with 0 < low < high, got {grad_range}")
        logs = sorted({math.log10(n) for n in norms if math.isfinite(n) and n > 0})
        return cls(tuple(logs), (low, high))

    def position(self, norm: float) -> float:
        """Where ``norm`` falls among the graph's norms, 0 (smallest) to 1 (largest); 0.5 if they are all one."""
        if not self.logs:
            return 0.5
        if not math.isfinite(norm):
            return 1.0
        if norm <= 0:
            return 0.0
        value = math.log10(norm)
        if len(self.logs) == 1:
            return 0.5 if value == self.logs[0] else float(value > self.logs[0])
        i = bisect_left(self.logs, value)
        if i == 0:
            return 0.0
        if i == len(self.logs):
            return 1.0
        below, above = self.logs[i - 1], self.logs[i]
        return (i - 1 + (value - below) / (above - below)) / (len(self.logs) - 1)

    def colour(self, norm: float) -> str:
        return palette_colour(round(self.position(norm), 3))

    def flag(self, norm: float) -> str:
        """``"vanishing"`` or ``"exploding"`` outside ``grad_range``, ``""`` inside."""
        low, high = self.grad_range
        if not math.isfinite(norm) or norm > high:
            return "exploding"
        return "vanishing" if norm < low else ""

    def decades_outside(self, norm: float) -> float:
        """How far ``norm`` lies outside ``grad_range``, in decades (0 inside): to pick a group's worst gradient."""
        low, high = self.grad_range
        if not math.isfinite(norm) or norm <= 0:
            return math.inf
        return max(math.log10(low / norm), math.log10(norm / high), 0.0)

    def ticks(self) -> list[tuple[float, str]]:
        """Labels for a legend bar: the smallest, median and largest norm at their positions."""
        if not self.logs:
            return []
        picks = [0, (len(self.logs) - 1) / 2, len(self.logs) - 1] if len(self.logs) > 2 else range(len(self.logs))
        ticks = []
        for pick in dict.fromkeys(picks):
            value = 10 ** _interpolate(self.logs, pick)
            ticks.append((self.position(value), f"{value:.1e}"))
        return ticks

    def marks(self) -> list[tuple[float, str]]:
        """The absolute thresholds on a legend bar: position (clipped to the ends) and label."""
        if not self.logs:
            return []
        low, high = self.grad_range
        return [(self.position(low), f"{low:.0e} vanishing"), (self.position(high), f"{high:.0e} exploding")]


@functools.lru_cache(maxsize=1024)
def palette_colour(position: float) -> str:
    """The palette at ``position`` in [0, 1], interpolated between its stops."""
    scaled = min(max(position, 0.0), 1.0) * (len(PALETTE) - 1)
    i = min(int(scaled), len(PALETTE) - 2)
    a, b = _rgb(PALETTE[i]), _rgb(PALETTE[i + 1])
    t = scaled - i
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b, strict=True))


def text_colour(fill: str) -> str:
    """Black or white, whichever reads on ``fill``."""
    r, g, b = _rgb(fill)
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _interpolate(values: tuple[float, ...], index: float) -> float:
    below = int(index)
    if below + 1 >= len(values):
        return values[-1]
    return values[below] + (values[below + 1] - values[below]) * (index - below)
