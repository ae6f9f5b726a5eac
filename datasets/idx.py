"""Reader for the gzip-compressed IDX files of MNIST and Fashion-MNIST.

The checks run in the order that gives the most useful message: can the gzip be read at all
(truncated downloads are the common failure), does the header have the IDX magic number and
the dimensions this file must have, and only then is the payload's sha256 compared, which
catches everything else (a flipped pixel, the wrong dataset with the right shape).
"""
from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError, problem_message
from .verify import check_digest, memoized

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_SPLIT_SIZES = {"train": 60000, "t10k": 10000}


def expected_layout(filename: str) -> tuple[int, tuple[int, ...]]:
    """Magic number and dimensions implied by the standard file names."""
    n = _SPLIT_SIZES[filename.split("-", 1)[0]]
    if "-images-" in filename:
        return IMAGES_MAGIC, (n, 28, 28)
    return LABELS_MAGIC, (n,)


def _decompress(dataset: str, path: Path, fix: str) -> bytes:
    try:
        with open(path, "rb") as f:
            raw = f.read()
        return gzip.decompress(raw)
    except EOFError as e:
        problem = f"truncated gzip file, the download or copy was cut short ({e})"
    except (gzip.BadGzipFile, zlib.error) as e:
        problem = f"not a readable gzip file ({e})"
    except OSError as e:
        problem = f"cannot read the file ({e})"
    raise DataError(problem_message(dataset, problem, file=path, fix=fix))


def read_idx_gz(dataset: str, path: Path, payload_sha256: str, fix: str) -> np.ndarray:
    """Verified uint8 array from one IDX ``.gz`` file, shaped by its header."""
    payload = _decompress(dataset, path, fix)
    magic, dims = expected_layout(path.name)

    def fail(problem: str) -> DataError:
        return DataError(problem_message(dataset, problem, file=path, fix=fix))

    if len(payload) < 4:
        raise fail(f"too short to be an IDX file ({len(payload)} bytes after decompression)")
    found = int.from_bytes(payload[:4], "big")
    if found != magic:
        raise fail(f"wrong IDX magic number 0x{found:08x}, expected 0x{magic:08x} "
                   "(not an IDX file, or images and labels swapped)")
    header = 4 + 4 * len(dims)
    found_dims = tuple(int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(len(dims)))
    if found_dims != dims:
        raise fail(f"IDX dimensions {found_dims}, expected {dims}")
    if len(payload) != header + int(np.prod(dims)):
        raise fail(f"IDX payload has {len(payload) - header} data bytes, "
                   f"expected {int(np.prod(dims))}")
    actual = memoized(path, "idx-payload:sha256", lambda: hashlib.sha256(payload).hexdigest())
    check_digest(dataset, path, "sha256 of the uncompressed payload", actual, payload_sha256, fix)
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape(dims)
