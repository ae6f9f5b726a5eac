"""Text renderers: markdown (tabulate) for terminals and READMEs, booktabs LaTeX for papers.

Only presentation lives here; the numbers arrive already computed, so the three
formats of one table can never disagree.
"""
from __future__ import annotations

import math
import re

import pandas as pd
from tabulate import tabulate

_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_UNICODE = {"±": r"$\pm$", "γ": r"$\gamma$", "†": r"$^{\dagger}$", "‡": r"$^{\ddagger}$", "≥": r"$\geq$",
                "≤": r"$\leq$", "–": "--", "×": r"$\times$", "°": r"$^{\circ}$"}


def tex_escape(text: str) -> str:
    """Escape LaTeX specials and map the few Unicode signs our captions use."""
    out = "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
    for uni, tex in _TEX_UNICODE.items():
        out = out.replace(uni, tex)
    return out


def markdown_block(title: str, caption: str, headers: list[str], body: list[list[str]],
                   notes: str = "") -> str:
    """A titled pipe table with its caption above and its legend below."""
    table = tabulate(body, headers=headers, tablefmt="pipe", disable_numparse=True,
                     colalign=["left"] * len(headers))
    parts = [f"### {title}", "", caption, "", table]
    if notes:
        parts += ["", notes]
    return "\n".join(parts) + "\n"


def latex_block(caption: str, label: str, headers: list[str], body: list[list[str]],
                n_label_cols: int = 1, rule_after: list[int] | None = None) -> str:
    """A booktabs table (needs \\usepackage{booktabs}); cells are passed through as LaTeX."""
    spec = "l" * n_label_cols + "c" * (len(headers) - n_label_cols)
    lines = [r"% requires \usepackage{booktabs}", r"\begin{table}[t]", r"\centering", r"\small",
             rf"\caption{{{caption}}}", rf"\label{{{label}}}", rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(headers) + r" \\", r"\midrule"]
    rules = set(rule_after or [])
    for i, row in enumerate(body):
        lines.append(" & ".join(row) + r" \\")
        if i in rules and i != len(body) - 1:
            lines.append(r"\midrule")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def format_p(value: float) -> str:
    """p-values with enough precision to see Holm's effect, never rounded to a bare 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def frame_markdown(frame: pd.DataFrame, title: str, caption: str, notes: str = "") -> str:
    """Render an already formatted frame (all cells text) as a titled markdown table."""
    body = frame.astype(str).values.tolist()
    return markdown_block(title, caption, [str(c) for c in frame.columns], body, notes)


def frame_latex(frame: pd.DataFrame, caption: str, label: str, n_label_cols: int = 1) -> str:
    """Render an already formatted frame as a booktabs table, escaping every cell."""
    headers = [tex_escape(c) for c in frame.columns]
    body = [[tex_escape(v) for v in row] for row in frame.astype(str).values.tolist()]
    return latex_block(tex_escape(caption), label, headers, body, n_label_cols)


def slug(text: str) -> str:
    """A LaTeX label / file-name fragment."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
