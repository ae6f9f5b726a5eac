"""report.md, the index of a run's reports: completeness first, then files, then job lists.

Its first lines say whether the run is complete, so a partial run (failed or missing
jobs) is never mistaken for a finished one; failed jobs come with the command that
reruns each of them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from .jobs import failed_jobs, flagged_jobs


def status_line(jobs: pd.DataFrame, missing: pd.DataFrame | None = None) -> str:
    """One line of job counts by status: the first thing to read about a run."""
    counts = jobs["status"].value_counts()
    parts = [f"{int(counts.get(s, 0))} {s}" for s in ("ok", "failed", "n.a.")]
    if missing is not None:
        parts.append(f"{len(missing)} missing")
    return f"Jobs: {', '.join(parts)} (last attempt per job).\n"


def _md_cell(value: object, limit: int = 160) -> str:
    """Make free text safe inside a markdown table cell."""
    text = " ".join(str(value).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _jobs_table(frame: pd.DataFrame) -> str:
    cols = [c for c in ["job_key", "selection", "dataset", "normal_class", "known_classes", "gamma_l", "gamma_p",
                        "k_l", "seed", "detector", "error", "flags", "rerun"] if c in frame]
    body = [[(f"`{_md_cell(v, 400)}`" if c == "rerun" and v else _md_cell(v)) for c, v in zip(cols, row)]
            for row in frame[cols].itertuples(index=False)]
    return tabulate(body, headers=cols, tablefmt="pipe", disable_numparse=True)


def index_markdown(runs_csv: Path, jobs: pd.DataFrame, missing: pd.DataFrame | None, sections: list[str]) -> str:
    """report.md: completeness first, then each group's files and tables, then the job lists."""
    failed, flagged = failed_jobs(jobs), flagged_jobs(jobs)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Benchmark report", "", f"Built {stamp} from `{runs_csv}` ({len(jobs)} jobs after keeping the last "
             "attempt of each job key).", "", status_line(jobs, missing)]
    if missing is None:
        lines.append(f"No plan was given, so missing jobs cannot be detected. {len(failed)} jobs failed.")
    elif failed.empty and missing.empty:
        lines.append("**Complete**: every planned job has a result and none failed.")
    if len(failed) or (missing is not None and len(missing)):
        n_missing = "unknown" if missing is None else str(len(missing))
        lines.append(f"\n**PARTIAL RUN**: {len(failed)} failed and {n_missing} missing jobs; cells with failures are "
                     "marked † and averaged over their ok experiments, cells with missing jobs are marked ‡.")
    keys = ["suite", "scale", "selection", "protocol_version"] if "scale" in jobs else ["suite", "selection", "protocol_version"]
    groups = jobs.groupby(keys).size().reset_index(name="jobs")
    lines += ["", "Groups in this run (each reported separately, never averaged together):", "",
              tabulate(groups.values.tolist(), headers=list(groups.columns), tablefmt="pipe",
                       disable_numparse=True), ""]
    lines += sections
    lines += ["", "## Failed jobs", ""]
    if len(failed):
        lines += ["Each `rerun` command reruns its job alone; run it from the repository root.", ""]
    lines.append(_jobs_table(failed) if len(failed) else "None.")
    lines += ["", "## Flagged jobs", ""]
    lines.append(_jobs_table(flagged) if len(flagged) else "None.")
    lines += ["", "## Missing jobs", ""]
    if missing is None:
        lines.append("No plan given.")
    else:
        lines.append(_jobs_table(missing) if len(missing) else "None.")
    return "\n".join(lines) + "\n"
