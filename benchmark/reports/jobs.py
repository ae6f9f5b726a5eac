"""Failed, flagged and missing jobs: what keeps a partial run from passing as a complete one."""
from __future__ import annotations

import pandas as pd

from .load import EXPERIMENT_COLS, normalise

JOB_COLS = ["job_key", "suite", "selection", "protocol_version"] + EXPERIMENT_COLS + ["detector"]
_MATCH_COLS = EXPERIMENT_COLS + ["detector", "detector_params", "selection", "protocol_version"]


def failed_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """The last attempt of every job that failed, with its error and the command that reruns it."""
    cols = [c for c in JOB_COLS + ["error", "rerun"] if c in jobs]
    return jobs.loc[jobs["status"] == "failed", cols].reset_index(drop=True)


def flagged_jobs(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs that finished but carry a warning flag (e.g. constant scores): numbers to distrust."""
    if "flags" not in jobs:
        return jobs.iloc[0:0]
    cols = [c for c in JOB_COLS + ["status", "flags", "rerun"] if c in jobs]
    return jobs.loc[jobs["flags"].str.strip() != "", cols].reset_index(drop=True)


def missing_jobs(jobs: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """Planned jobs with no row at all in the runs (a failed job is failed, not missing).

    Planned jobs are matched by job_key when the plan has keys, otherwise on the
    experiment columns, the detector, and the policy columns the plan carries.
    """
    plan = normalise(expected)
    if "job_key" in plan and (plan["job_key"] != "").all():
        return plan[~plan["job_key"].isin(set(jobs["job_key"]))].reset_index(drop=True)
    keys = [c for c in _MATCH_COLS if c in plan and c in jobs]
    if "dataset" not in keys or "detector" not in keys:
        raise ValueError("expected jobs need a 'job_key' column, or at least 'dataset' and 'detector' "
                         f"with the experiment columns {EXPERIMENT_COLS}; got {list(expected.columns)}")
    seen = jobs[keys].drop_duplicates()
    merged = plan.merge(seen, on=keys, how="left", indicator=True)
    return merged[merged["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
