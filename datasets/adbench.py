"""Reader for ADBench's ``.npz`` tables (arrays ``X`` and ``y``, y = 1 for anomalies).

Like the ODDS reader, the structure is checked before the checksum, so a file saved by hand says
what is wrong with it ("no array 'y'") and not only that its hash differs; the checksum is still
required, because results are only comparable on ADBench's own files. ``allow_pickle`` stays off:
a data file must never be able to run code.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .errors import DataError, problem_message
from .tables import check_labelled_table
from .verify import verify_file


def read_adbench_npz(dataset: str, path: Path, sha256: str, fix: str) -> tuple[np.ndarray, np.ndarray]:
    """Verified ``(X float32 N×d, y int64 N)`` with y=1 for anomalies."""

    def fail(problem: str) -> DataError:
        return DataError(problem_message(dataset, problem, file=path, fix=fix))

    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = sorted(npz.files)
            for key in ("X", "y"):
                if key not in keys:
                    raise fail(f"the .npz file has no array {key!r} (arrays found: {', '.join(keys) or 'none'})")
            X, y = np.asarray(npz["X"]), np.asarray(npz["y"])
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:  # truncated or not an .npz at all
        raise fail(f"not a readable .npz file ({type(e).__name__}: {e})") from None
    X, y = check_labelled_table(X, y, fail)
    verify_file(dataset, path, "sha256", sha256, fix)
    X = X.astype(np.float32)
    if not np.isfinite(X).all():
        raise fail("X holds NaN or infinite values")
    return X, y.astype(np.int64)
