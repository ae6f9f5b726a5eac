"""Paper versus this run: the published Table 1 numbers next to ours, cell by cell.

Two yardsticks, because they answer different questions: "within the paper's std"
asks whether our mean is a plausible single experiment of theirs (loose), and
"within two standard errors of our mean" asks whether their mean is consistent
with the uncertainty of our own estimate (tight, shrinks with more experiments).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .labels import canonical_dataset, dataset_label, detector_label, format_gamma, order_datasets, order_methods

#: Where the published numbers live in the repository (docs/methods.md §6, MNIST and F-MNIST).
REFERENCE_PATH = Path(__file__).resolve().parents[2] / "reference" / "paper_table1.csv"

#: Below this many experiments a cell gets numbers but no verdict: with two or three experiments
#: the standard error is itself too uncertain for "within 2 SE" to mean anything.
MIN_N_VERDICT = 5

SOURCE_NOTE = ("Published numbers (Tian et al., IJCAI 2022, Table 1): baselines other than NDA were run by the "
               "Deep SAD authors (SSAD's kernel width tuned on 10% of the test set), NDA and AA-BiGAN by the "
               "AA-BiGAN authors (selection on a validation set drawn from the test split).")


def load_reference(path: Path = REFERENCE_PATH) -> pd.DataFrame:
    """Read the published numbers; gamma rounded like our runs so the keys match."""
    ref = pd.read_csv(path, dtype={"dataset": str, "detector": str, "status": str})
    ref["gamma_l"] = ref["gamma_l"].astype(float).round(6)
    ref["key"] = ref["dataset"].map(canonical_dataset)
    return ref


def compare_to_paper(cells: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Pair every published cell of the datasets and γl we ran with our cell (or its absence).

    ``cells`` is the long per-cell summary of Table 1 (dataset, gamma_l, method, mean,
    std, n, status). Methods with a parameter suffix are compared with their base
    detector's published number.
    """
    ours = cells.assign(key=cells["dataset"].map(canonical_dataset),
                        detector=cells["method"].str.partition("[")[0])
    ran = ours[["key", "gamma_l"]].drop_duplicates()
    ref = reference.merge(ran, on=["key", "gamma_l"], how="inner")
    merged = ref.merge(ours, on=["key", "gamma_l", "detector"], how="left", suffixes=("_paper", ""))
    merged["method"] = merged["method"].fillna(merged["detector"])
    merged["dataset"] = merged["dataset"].fillna(merged["dataset_paper"])
    se2 = 2 * merged["std"] / np.sqrt(merged["n"].where(merged["n"] > 0))
    merged["diff"] = merged["mean"] - merged["auroc_mean"]
    merged["two_se"] = se2
    have = merged["diff"].notna() & (merged["n"] >= MIN_N_VERDICT)
    merged["within_paper_std"] = np.where(have, merged["diff"].abs() <= merged["auroc_std"], np.nan)
    merged["within_2se"] = np.where(have & se2.notna(), merged["diff"].abs() <= se2, np.nan)
    merged["agreement"] = [_agreement(p, o) for p, o in zip(merged["status_paper"], merged["status"])]
    order_d = {d: i for i, d in enumerate(order_datasets(merged["key"]))}
    order_m = {m: i for i, m in enumerate(order_methods(merged["method"]))}
    merged = merged.assign(_d=merged["key"].map(order_d), _m=merged["method"].map(order_m))
    merged = merged.sort_values(["_d", "gamma_l", "_m"]).reset_index(drop=True)
    cols = ["dataset", "gamma_l", "method", "auroc_mean", "auroc_std", "mean", "std", "n", "diff", "two_se",
            "within_paper_std", "within_2se", "agreement"]
    return merged[cols].rename(columns={"auroc_mean": "paper_mean", "auroc_std": "paper_std",
                                        "mean": "ours_mean", "std": "ours_std", "n": "ours_n"})


def _agreement(paper_status: str, our_status: object) -> str:
    if pd.isna(our_status):
        return "not run"
    if paper_status == "n.a.":
        return "both n.a." if our_status == "n.a." else f"paper n.a., ours {our_status}"
    return "compared" if our_status == "ok" else f"ours {our_status}"


def _note(agreement: str, n: float) -> str:
    if agreement == "compared" and not pd.isna(n) and n < MIN_N_VERDICT:
        return f"n < {MIN_N_VERDICT}: no verdict"
    return agreement


def display_frame(comparison: pd.DataFrame) -> pd.DataFrame:
    """Text version of the comparison, for markdown and LaTeX."""
    def num(v: float, digits: int = 1, sign: bool = False) -> str:
        return "–" if pd.isna(v) else (f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}")

    def yes(v: float) -> str:
        return "–" if pd.isna(v) else ("yes" if v else "no")

    return pd.DataFrame({
        "Dataset": comparison["dataset"].map(dataset_label),
        "γl": comparison["gamma_l"].map(format_gamma),
        "Detector": comparison["method"].map(detector_label),
        "Paper": [num(m) + ("" if pd.isna(s) else f"±{s:.1f}") for m, s in
                  zip(comparison["paper_mean"], comparison["paper_std"])],
        "This run": [num(m) + ("" if pd.isna(s) else f"±{s:.1f}") for m, s in
                     zip(comparison["ours_mean"], comparison["ours_std"])],
        "n": comparison["ours_n"].map(lambda v: "–" if pd.isna(v) else str(int(v))),
        "Diff": comparison["diff"].map(lambda v: num(v, sign=True)),
        "2·SE": comparison["two_se"].map(num),
        "Within paper std": comparison["within_paper_std"].map(yes),
        "Within 2 SE": comparison["within_2se"].map(yes),
        "Note": [_note(a, n) for a, n in zip(comparison["agreement"], comparison["ours_n"])],
    })


def summary_sentence(comparison: pd.DataFrame) -> str:
    """How many compared cells agree, by each yardstick."""
    numbers = comparison["diff"].notna()
    compared = numbers & (comparison["ours_n"] >= MIN_N_VERDICT)
    few = int((numbers & ~compared).sum())
    few_note = (f"{few} cell{'s' if few != 1 else ''} with fewer than {MIN_N_VERDICT} experiments "
                "show their numbers but no verdict. ") if few else ""
    n = int(compared.sum())
    if n == 0:
        return f"No cell could be judged. {few_note}".strip()
    in_std = int((comparison.loc[compared, "within_paper_std"] == 1).sum())
    in_se = int((comparison.loc[compared, "within_2se"] == 1).sum())
    return (f"{in_std} of {n} compared cells lie within the paper's std; {in_se} of {n} lie within two standard "
            f"errors of our mean. {few_note}Diff = this run − paper, in AUROC points.")
