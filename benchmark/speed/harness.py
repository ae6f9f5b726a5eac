"""What the speed scripts share: the AA-BiGAN MNIST training set, and an earlier commit's
``detectors`` run side by side with this tree's.

Side by side. :func:`export_detectors` writes the ``detectors`` package of a git commit into a
folder of its own (``git archive``), whatever else that commit's layout was. :func:`run_side`
runs one measurement in a fresh process of this interpreter, ``python -m MODULE ARGS``, with the
working directory set to that folder for the earlier side (so its ``detectors`` comes first on
the import path) and to this repository for this tree; ``benchmark`` and ``datasets`` come from
this repository for both, so both sides train on the same data through the same measuring code.
A fresh process per side and round means that a setting one side's code makes for its whole
process (threads, the memory allocator) cannot reach the other side's. :func:`alternating`
orders the rounds A B, B A, ..., so that a change of load on the machine hits both sides alike.
The child reports one JSON object on its last line of output, with the file its ``detectors``
came from, which :func:`run_side` checks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any, Iterator, Sequence

ROOT = Path(__file__).resolve().parents[2]
THIS_TREE = "this tree"
#: The AA-BiGAN paper's MNIST setting: normal digit, known anomaly digit, γl.
AA_BIGAN_NORMAL, AA_BIGAN_KNOWN, AA_BIGAN_GAMMA_L = 0, 1, 0.05


def aa_bigan_training_set(data_dir: str | None = None, max_normals: int | None = None):
    """The training data of the AA-BiGAN paper's MNIST setting: every training image of digit 0
    (or the first ``max_normals``) and ``int(n * .05 / .95)`` images of digit 1 drawn with seed
    0 as collected anomalies (y = 1). Returns ``(X, y)``."""
    import numpy as np

    from datasets import load_dataset

    ds = load_dataset("mnist", data_dir)
    normal = np.flatnonzero(ds.y_train == AA_BIGAN_NORMAL)[:max_normals]
    n_anom = int(len(normal) * AA_BIGAN_GAMMA_L / (1 - AA_BIGAN_GAMMA_L))
    rng = np.random.default_rng(0)
    known = rng.choice(np.flatnonzero(ds.y_train == AA_BIGAN_KNOWN), n_anom, replace=False)
    X = np.concatenate([ds.X_train[normal], ds.X_train[known]])
    y = np.r_[np.zeros(len(normal)), np.ones(n_anom)].astype(np.int64)
    return X, y


def commit_name(ref: str) -> str:
    """``ref``'s commit as a short hash; ``SystemExit`` naming ``ref`` when git does not know it."""
    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "--verify", f"{ref}^{{commit}}"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {ref!r} is not a commit of {ROOT}: {done.stderr.strip()}")
    return done.stdout.strip()


def commit_label(ref: str) -> str:
    """``ref`` with its short hash when it is not one already (e.g. "main (0002b9a)")."""
    short = commit_name(ref)
    return ref if short.startswith(ref) or ref.startswith(short) else f"{ref} ({short})"


def this_tree_name() -> str:
    """This tree's commit, with a note when its ``detectors`` differ from that commit."""
    head = commit_name("HEAD")
    changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "detectors"],
                             capture_output=True, text=True).stdout.strip()
    return f"{THIS_TREE} ({head}{', detectors/ changed since' if changed else ''})"


def export_detectors(ref: str, dest: Path) -> Path:
    """The ``detectors`` package of commit ``ref`` unpacked under ``dest``; returns ``dest``."""
    archive = dest / "detectors.tar"
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), ref, "detectors"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    if not (dest / "detectors" / "__init__.py").is_file():
        raise SystemExit(f"error: commit {ref} has no detectors package")
    return dest


def alternating(sides: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, side) in the order A B, B A, A B, ... for ``rounds`` rounds."""
    for i in range(rounds):
        for side in (sides if i % 2 == 0 else list(reversed(sides))):
            yield i, side


def detectors_origin() -> str:
    """The folder the imported ``detectors`` package came from (for the child's report)."""
    import detectors

    return str(Path(detectors.__file__).resolve().parent)


def run_side(module: str, args: Sequence[str], tree: Path | None, threads: int) -> dict[str, Any]:
    """Run ``python -m module *args`` with the ``detectors`` of ``tree`` (an :func:`export_detectors`
    folder; None: this repository's) and ``threads`` CPU threads; the JSON object of its last line.

    ``SystemExit`` with the end of its error output when it fails, or when the child's
    ``detectors_origin`` is not the tree asked for."""
    cwd = ROOT if tree is None else Path(tree)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"error: python -m {module} {' '.join(args)} failed in {cwd}:\n{tail}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = (cwd / "detectors").resolve()
    if Path(result.get("detectors_origin", "")) != expected:
        raise SystemExit(f"error: the child imported detectors from {result.get('detectors_origin')}, not {expected}")
    return result
