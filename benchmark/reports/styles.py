"""How each detector is drawn: its own colour, marker and line, the paper's detectors set apart.

One mapping for every figure of a report (the curves and the critical-difference diagram), so a
detector keeps its colour from one figure to the next. Colours come from one seaborn HUSL palette
with as many evenly spaced hues as there are detectors, taken in an order that puts neighbours of
the legend far apart on the colour wheel; markers never repeat up to 20 detectors. The paper's
detectors are drawn with solid lines and filled markers, every other one (PyOD's, a user's plugin)
with dashed lines and hollow markers, so the two groups separate at a glance and in grey scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import seaborn as sns

from .labels import DETECTOR_ORDER

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p", "d", "H", "8", "1", "2", "3", "4", "+")
OTHER_DASHES = ("--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (6, 2)))


@dataclass(frozen=True)
class Style:
    color: tuple[float, float, float]
    marker: str
    linestyle: object
    filled: bool  # the paper's detectors: filled markers and solid lines
    linewidth: float


def is_paper_detector(method: str) -> bool:
    """One of the detectors of the AA-BiGAN paper's tables (with or without a parameter suffix)."""
    return str(method).partition("[")[0] in DETECTOR_ORDER


def _spread(n: int) -> list[int]:
    """0..n-1 reordered so that consecutive entries are about half the wheel apart."""
    step = max(1, n // 2 + (1 if n % 2 == 0 else 0))
    while n > 1 and _gcd(step, n) != 1:
        step += 1
    return [(i * step) % n for i in range(n)]


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def detector_styles(methods: Sequence[str]) -> dict[str, Style]:
    """A distinct style for each method, in the given (display) order."""
    methods = list(dict.fromkeys(methods))
    palette = sns.husl_palette(max(len(methods), 1), l=0.55, s=0.9)
    hues = _spread(len(methods))
    styles, other = {}, 0
    for i, method in enumerate(methods):
        paper = is_paper_detector(method)
        if not paper:
            other += 1
        styles[method] = Style(color=tuple(palette[hues[i]]), marker=MARKERS[i % len(MARKERS)],
                               linestyle="-" if paper else OTHER_DASHES[(other - 1) % len(OTHER_DASHES)],
                               filled=paper, linewidth=1.6 if paper else 1.1)
    return styles
