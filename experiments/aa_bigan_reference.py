"""AA-BiGAN next to the authors' public code, epoch by epoch, on one cell (MNIST 0 vs 1, γl .05).

The reference curves are measurements of the public AA-BiGAN code on this cell (normal digit 0,
known anomaly digit 1, k_l 1, γp 0, batch 200, `paper` validation: 200 normals and 1,800 anomalies
of the test split); each CSV has, per epoch, the validation and test AUROC of both scores and the
mean losses of D_xz, D_xx, G and E. This script trains this project's ``aa-bigan`` on the same
cell (the suite's own split: same sizes, other random draws), scores validation and test after
every epoch in eval mode (this changes no training state), and prints both side by side with a
verdict:

- the mean absolute difference of the test recon AUROC over the common epochs, against each
  reference draw (two draws of the public code differ by about as much; compare with that);
- the mean test recon AUROC over epochs 2..N next to each reference's, with their ranges;
- the D_xx loss at epoch 2 as a ratio of each reference's (a version whose G and E miss the
  reconstruction gradient is at about 0.1 of it);
- the `paper`-policy result: the test AUROC of the epoch and score best on validation.

    python -m experiments.aa_bigan_reference --epochs 45 --threads 2 --out experiments/results/aa_bigan_reference_mnist_0_vs_1.csv

``--reference DIR`` (default ``$BENCH_REFERENCE_DIR``, else ``../shared/reference`` next to the
repository) holds the ``aa-bigan-public_mnist-0-vs-1_gl0.05_seed*.csv`` files. Not a test: it
prints numbers (and writes this run's per-epoch curve with ``--out``).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

DATASET, NORMAL, KNOWN, GAMMA_L = "mnist", 0, 1, 0.05
REFERENCE_GLOB = "aa-bigan-public_mnist-0-vs-1_gl0.05_seed*.csv"
CURVE_COLUMNS = ("epoch", "val_recon", "test_recon", "val_latent", "test_latent", "d_xz", "d_xx", "g", "e")
LOSS_KEYS = {"d_xz": "loss_d_xz", "d_xx": "loss_d_xx", "g": "loss_g", "e": "loss_e"}
FIRST_MEAN_EPOCH = 2  # the first epoch is mostly the initialisation: means start at epoch 2
CHECK_EPOCH = 2       # the D_xx loss is compared here


def load_references(folder: Path) -> dict[str, pd.DataFrame]:
    """Each reference CSV by its name (e.g. ``seed12``), indexed by epoch."""
    files = sorted(folder.glob(REFERENCE_GLOB))
    if not files:
        raise SystemExit(f"no reference curves ({REFERENCE_GLOB}) in {folder}; pass --reference DIR")
    return {f.stem.rsplit("_", 1)[-1]: pd.read_csv(f).set_index("epoch") for f in files}


def train_traced(epochs: int, device: str, data_dir: str | None, seed: int) -> tuple[pd.DataFrame, dict]:
    """Train ``aa-bigan`` on the cell; return its per-epoch curve and its fit_info_."""
    import torch
    from sklearn.metrics import roc_auc_score

    from benchmark.protocol import Experiment, make_split
    from datasets import load_dataset
    from detectors.aa_bigan import AABiGAN

    data = load_dataset(DATASET, data_dir)
    exp = Experiment(DATASET, NORMAL, KNOWN, k_l=1, gamma_l=GAMMA_L, gamma_p=0.0, seed=seed)
    split = make_split(data, exp, "paper")
    rows: list[dict] = []

    class Traced(AABiGAN):
        """AA-BiGAN that also scores the test set after every epoch (eval mode, no state change);
        the validation AUROCs come from the base loop's history."""

        def _train_epoch(self, epoch, X, y):
            losses = super()._train_epoch(epoch, X, y)
            self._set_train(False)
            scores = self._score_candidates(torch.as_tensor(split.X_test, device=self.device_))
            self._set_train(True)
            row = {"epoch": epoch + 1, **{k: losses[v] for k, v in LOSS_KEYS.items()},
                   **{f"test_{name}": roc_auc_score(split.y_test, scores[name]) for name in ("recon", "latent")}}
            rows.append(row)
            print(f"  epoch {row['epoch']:3d}: test recon {100 * row['test_recon']:5.1f}  "
                  f"D_xx {row['d_xx']:.3f}", flush=True)
            return losses

    det = Traced(epochs=epochs, device=device, arch=DATASET, random_state=exp.split_seed() % 2**31, eval_every=1)
    det.fit(split.X_train, split.y_train, eval_set=split.eval_set)
    for row, record in zip(rows, det.history_):
        row.update(val_recon=record["val_auroc_recon"], val_latent=record["val_auroc_latent"])
    return pd.DataFrame(rows, columns=list(CURVE_COLUMNS)).set_index("epoch"), det.fit_info_


def paper_policy(curve: pd.DataFrame) -> tuple[float, int, str]:
    """Test AUROC of the (epoch, score) best on validation, as the `paper` policy picks it."""
    best = max(((curve.loc[e, f"val_{s}"], e, s) for e in curve.index for s in ("recon", "latent")))
    return float(curve.loc[best[1], f"test_{best[2]}"]), int(best[1]), best[2]


def compare(ours: pd.DataFrame, refs: dict[str, pd.DataFrame]) -> list[str]:
    """The side-by-side table (ours and the first reference draw; the others in the verdict)."""
    lines = []
    main_name, main = next(iter(refs.items()))
    header = (f"{'epoch':>5} | {'val rec':>7} {'test rec':>8} {'val lat':>7} {'test lat':>8} {'D_xz':>6} {'D_xx':>6} "
              f"{'G':>6} {'E':>6} | ref {main_name}: {'test rec':>8} {'test lat':>8} {'D_xz':>6} {'D_xx':>6} {'G':>6} {'E':>6}")
    lines += [header, "-" * len(header)]
    for epoch in ours.index:
        r = ours.loc[epoch]
        line = (f"{epoch:5d} | {100 * r.val_recon:7.1f} {100 * r.test_recon:8.1f} {100 * r.val_latent:7.1f} "
                f"{100 * r.test_latent:8.1f} {r.d_xz:6.3f} {r.d_xx:6.3f} {r.g:6.3f} {r.e:6.3f} |")
        if epoch in main.index:
            m = main.loc[epoch]
            line += (f" {'':{len(main_name) + 5}}{100 * m.test_recon:8.1f} {100 * m.test_latent:8.1f} {m.d_xz:6.3f} "
                     f"{m.d_xx:6.3f} {m.g:6.3f} {m.e:6.3f}")
        lines.append(line)
    return lines


def verdict(ours: pd.DataFrame, refs: dict[str, pd.DataFrame]) -> list[str]:
    lines = []
    last = int(ours.index.max())
    span = ours.loc[FIRST_MEAN_EPOCH:, "test_recon"] * 100
    lines.append(f"this project: mean test recon AUROC over epochs {FIRST_MEAN_EPOCH}-{last}: {span.mean():.1f} "
                 f"(range {span.min():.1f}-{span.max():.1f})")
    auc, epoch, score = paper_policy(ours)
    lines.append(f"this project: `paper` policy picks epoch {epoch} ({score}): test AUROC {100 * auc:.1f}")
    for name, ref in refs.items():
        common = ours.index.intersection(ref.index)
        mad = (ours.loc[common, "test_recon"] - ref.loc[common, "test_recon"]).abs().mean() * 100
        ref_span = ref.loc[FIRST_MEAN_EPOCH:last, "test_recon"] * 100
        line = (f"reference {name} ({len(ref)} epochs): mean |difference| of test recon AUROC over {len(common)} "
                f"common epochs {mad:.1f} points")
        if len(ref_span) > 1:
            line += (f"; its mean over epochs {FIRST_MEAN_EPOCH}-{int(ref_span.index.max())} {ref_span.mean():.1f} "
                     f"(range {ref_span.min():.1f}-{ref_span.max():.1f})")
        if CHECK_EPOCH in ref.index and CHECK_EPOCH in ours.index:
            ratio = ours.loc[CHECK_EPOCH, "d_xx"] / ref.loc[CHECK_EPOCH, "d_xx"]
            line += (f"; D_xx at epoch {CHECK_EPOCH}: {ours.loc[CHECK_EPOCH, 'd_xx']:.3f} vs "
                     f"{ref.loc[CHECK_EPOCH, 'd_xx']:.3f} (ratio {ratio:.2f})")
        if len(ref) >= last:
            r_auc, r_epoch, r_score = paper_policy(ref.loc[:last])
            line += f"; its `paper` pick over the same epochs: epoch {r_epoch} ({r_score}) {100 * r_auc:.1f}"
        lines.append(line)
    # the spread between two draws of the public code itself, for scale
    names = list(refs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = refs[a].index.intersection(refs[b].index)
            if len(common) > 1:
                mad = (refs[a].loc[common, "test_recon"] - refs[b].loc[common, "test_recon"]).abs().mean() * 100
                lines.append(f"public code {a} vs {b}: mean |difference| over {len(common)} epochs {mad:.1f} points")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.aa_bigan_reference", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=45)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="repetition index of the experiment (its split)")
    parser.add_argument("--data-dir", default=None, help="data folder (default: $BENCH_DATA_DIR)")
    parser.add_argument("--reference", type=Path,
                        default=Path(os.environ.get("BENCH_REFERENCE_DIR", ROOT.parent / "shared" / "reference")))
    parser.add_argument("--out", type=Path, default=None, help="write this run's per-epoch curve here (CSV)")
    parser.add_argument("--from-csv", type=Path, default=None,
                        help="compare a curve written earlier with --out instead of training")
    args = parser.parse_args()

    refs = load_references(args.reference)
    if args.from_csv is not None:
        ours = pd.read_csv(args.from_csv).set_index("epoch")
    else:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        start = time.perf_counter()
        print(f"training aa-bigan on {DATASET} {NORMAL} vs {KNOWN}, gamma_l {GAMMA_L}, {args.epochs} epochs", flush=True)
        ours, info = train_traced(args.epochs, args.device, args.data_dir, args.seed)
        print(f"trained in {time.perf_counter() - start:.0f} s ({info['batch_normal']}+{info['batch_anomaly']} per batch)")
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            ours.reset_index().round(5).to_csv(args.out, index=False)
    print("\n".join(compare(ours, refs)))
    print("\n".join(verdict(ours, refs)))


if __name__ == "__main__":
    main()
