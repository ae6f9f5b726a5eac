"""Reports of a benchmark run: the paper's tables and figures, statistics, reproduction check.

Everything is derived from the runs CSV (the results store) alone, so reports can be
rebuilt at any time without training. Entry points:

- :func:`write_reports` writes all tables (.md, .tex, .csv), figures (.png, .pdf),
  statistics and an index ``report.md`` into ``out_dir/reports``;
- :func:`format_markdown_table` returns the markdown summary a runner prints at the end.
"""
from __future__ import annotations

from .report import format_markdown_table, write_reports

__all__ = ["write_reports", "format_markdown_table"]
