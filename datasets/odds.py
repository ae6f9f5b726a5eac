"""Reader for ODDS ``.mat`` files (MATLAB v5 files with a matrix ``X`` and labels ``y``).

The structure is checked before the checksum so that a user who saved their own file gets
"key 'y' is missing" rather than only "checksum differs".  The checksum is still required,
because the protocol's results are only comparable on the original files.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from .errors import DataError, problem_message
from .tables import check_labelled_table
from .verify import verify_file


def read_odds_mat(dataset: str, path: Path, sha256: str, fix: str) -> tuple[np.ndarray, np.ndarray]:
    """Verified ``(X float32 N×d, y int64 N)`` with y=1 for outliers."""

    def fail(problem: str) -> DataError:
        return DataError(problem_message(dataset, problem, file=path, fix=fix))

    try:
        mat = scipy.io.loadmat(str(path))
    except NotImplementedError as e:  # MATLAB v7.3 files are HDF5
        raise fail(f"MATLAB v7.3 (HDF5) file, expected the original v5 ODDS file ({e})") from None
    except Exception as e:  # a damaged file can fail deep in the parser (zlib, struct, ...)
        raise fail(f"not a readable MATLAB .mat file ({type(e).__name__}: {e})") from None
    keys = sorted(k for k in mat if not k.startswith("__"))
    for key in ("X", "y"):
        if key not in mat:
            raise fail(f"the .mat file has no key {key!r} (keys found: {', '.join(keys) or 'none'})")
    X, y = check_labelled_table(np.asarray(mat["X"]), np.asarray(mat["y"]), fail)
    verify_file(dataset, path, "sha256", sha256, fix)
    return X.astype(np.float32), y.astype(np.int64)
