"""How each detector is drawn: its own colour, marker and line, the paper's detectors set apart.

One mapping for every figure of a report (the curves and the critical-difference diagram). The
paper's detectors have fixed colours from seaborn's "tab10" palette, so AA-BiGAN is the same red
in every report; the other detectors (PyOD's, a user's plugin) take the two remaining tab10
colours and then black, gold and navy, and beyond that evenly spaced HUSL hues. Markers never
repeat up to 20 detectors. The paper's detectors are drawn with solid lines and filled markers,
every other one with dashed lines and hollow markers, so the two groups separate at a glance and
in grey scale. The report computes the mapping once per group, over every detector of the group,
so a detector keeps its colour and marker from one figure to the next.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.colors as mcolors
import seaborn as sns

from .labels import DETECTOR_ORDER

# No "x" or "X": a cross marks a planned point without a result.
MARKERS = ("o", "s", "^", "D", "v", "P", "*", "h", "<", ">", "p", "d", "H", "8", (6, 1, 0), (4, 1, 0), (7, 0, 0),
           (5, 1, 0), (3, 0, 90), (3, 0, 270))
_TAB10 = sns.color_palette("tab10", 10)
#: The paper's detectors: fixed tab10 colours (AA-BiGAN red, Deep SAD blue, ...).
PAPER_COLORS: dict[str, tuple[float, float, float]] = {
    "aa-bigan": _TAB10[3], "deep-sad": _TAB10[0], "ssad-raw": _TAB10[1], "ssad-hybrid": _TAB10[5],
    "ss-dgm": _TAB10[6], "supervised": _TAB10[7], "nda": _TAB10[2], "aad": _TAB10[4],
}
#: The others, in order of appearance; then HUSL hues.
OTHER_COLORS: tuple[tuple[float, float, float], ...] = (
    _TAB10[8], _TAB10[9], mcolors.to_rgb("black"), mcolors.to_rgb("#e6ab02"), mcolors.to_rgb("navy"),
)
OTHER_DASHES = ("--", "-.", ":", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (6, 2)))


@dataclass(frozen=True)
class Style:
    color: tuple[float, float, float]
    marker: object  # a matplotlib marker: a string or a (sides, style, angle) tuple
    linestyle: object
    filled: bool  # the paper's detectors: filled markers and solid lines
    linewidth: float


def is_paper_detector(method: str) -> bool:
    """One of the detectors of the AA-BiGAN paper's tables (with or without a parameter suffix)."""
    return str(method).partition("[")[0] in DETECTOR_ORDER


def detector_styles(methods: Sequence[str]) -> dict[str, Style]:
    """A distinct style for each method, in the given (display) order."""
    methods = list(dict.fromkeys(methods))
    others = [m for m in methods if not _paper_color(m)]
    extra = sns.husl_palette(max(len(others) - len(OTHER_COLORS), 1), l=0.5, s=0.8)
    used: set[tuple[float, float, float]] = set()
    styles = {}
    for i, method in enumerate(methods):
        paper = is_paper_detector(method)
        color = _paper_color(method)
        if color is None or color in used:  # a second configuration of a paper detector: next free colour
            k = others.index(method) if method in others else len(others) + i
            color = OTHER_COLORS[k] if k < len(OTHER_COLORS) else tuple(extra[(k - len(OTHER_COLORS)) % len(extra)])
        used.add(color)
        k_other = others.index(method) if method in others else 0
        styles[method] = Style(color=tuple(color), marker=MARKERS[i % len(MARKERS)],
                               linestyle="-" if paper else OTHER_DASHES[k_other % len(OTHER_DASHES)],
                               filled=paper, linewidth=1.6 if paper else 1.1)
    return styles


def _paper_color(method: str) -> tuple[float, float, float] | None:
    base = str(method).partition("[")[0]
    return PAPER_COLORS.get(base) if str(method) == base else None
