"""Decoder for the lossy ``cifar10-jpeg.zip`` with an on-disk cache of the decoded arrays.

Decoding 60,000 JPEG files takes tens of seconds, too long to repeat in every worker, so the
result is stored once as an uncompressed ``.npz`` (uint8, about 180 MB).  The cache records
the sha256 of the zip it came from and a format number; a cache made from another zip or by
an older version of this code is ignored and rebuilt.  Writes go to a temporary file that is
renamed into place, and a file lock keeps parallel workers from decoding at the same time,
so a reader never sees half a cache.

Layout of the zip: ``train/<class>/NNNN.jpg`` and ``test/<class>/NNNN.jpg``.  Images come out
class by class in the official class order, and within a class in the order of ``NNNN``
(which follows the original CIFAR-10 order).  The interleaving of classes of the original
batches is not recoverable from the zip.
"""
from __future__ import annotations

import io
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import DataError, problem_message
from .paths import is_writable_dir
from .registry import CIFAR10_CLASS_NAMES

CACHE_NAME = "cifar10-jpeg.npz"
CACHE_FORMAT = 1
_MEMBER = re.compile(r"^(train|test)/([a-z]+)/(\d+)\.jpg$")
_LOCK_TIMEOUT_S = 900

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _list_members(dataset: str, zf: zipfile.ZipFile, path: Path, fix: str) -> dict[str, list]:
    """Image members per split, sorted by (class id, file number)."""
    splits: dict[str, list] = {"train": [], "test": []}
    for info in zf.infolist():
        if info.is_dir():
            continue
        m = _MEMBER.match(info.filename)
        if not m or m.group(2) not in CIFAR10_CLASS_NAMES:
            raise DataError(problem_message(
                dataset, f"unexpected entry {info.filename!r} in the zip "
                "(expected train/<class>/NNNN.jpg or test/<class>/NNNN.jpg)", file=path, fix=fix,
            ))
        split, cls, number = m.groups()
        splits[split].append((CIFAR10_CLASS_NAMES.index(cls), int(number), info))
    for split, members in splits.items():
        if not members:
            raise DataError(problem_message(dataset, f"the zip has no {split}/ images", file=path, fix=fix))
        members.sort(key=lambda t: (t[0], t[1]))
    return splits


def decode_zip(dataset: str, path: Path, fix: str, progress: bool = True) -> Arrays:
    """Decode every JPEG with Pillow: uint8 N×3×32×32 images and int64 labels per split."""
    from PIL import Image
    from tqdm.auto import tqdm

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DataError(problem_message(dataset, f"not a readable zip file ({e})", file=path, fix=fix)) from None
    with zf:
        splits = _list_members(dataset, zf, path, fix)
        total = sum(len(m) for m in splits.values())
        out = []
        with tqdm(total=total, desc=f"decoding {dataset} (once, then cached)", unit="img",
                  disable=not progress) as bar:
            for split in ("train", "test"):
                members = splits[split]
                images = np.empty((len(members), 32, 32, 3), dtype=np.uint8)
                labels = np.array([c for c, _, _ in members], dtype=np.int64)
                for i, (_, _, info) in enumerate(members):
                    try:
                        with Image.open(io.BytesIO(zf.read(info))) as img:
                            if img.size != (32, 32):
                                raise ValueError(f"image size {img.size}, expected (32, 32)")
                            images[i] = np.asarray(img.convert("RGB"))
                    except Exception as e:  # Pillow and zipfile raise many types for bad data
                        raise DataError(problem_message(
                            dataset, f"cannot decode {info.filename} ({e})", file=path, fix=fix
                        )) from None
                    bar.update(1)
                out += [np.ascontiguousarray(images.transpose(0, 3, 1, 2)), labels]
    return tuple(out)  # type: ignore[return-value]


def _read_cache(path: Path, source_sha256: str) -> Arrays | None:
    """The cached arrays if the file is complete and made from this exact zip, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if int(npz["format"]) != CACHE_FORMAT or str(npz["source_sha256"]) != source_sha256:
                return None
            arrays = tuple(npz[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
    x_train, y_train, x_test, y_test = arrays
    if x_train.shape[1:] != (3, 32, 32) or len(x_train) != len(y_train) or len(x_test) != len(y_test):
        return None
    return arrays  # type: ignore[return-value]


def _write_cache(path: Path, arrays: Arrays, source_sha256: str) -> None:
    """Write atomically: a crash leaves either the old file or none, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            x_train, y_train, x_test, y_test = arrays
            np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                     source_sha256=np.array(source_sha256), format=np.array(CACHE_FORMAT))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _try_write_cache(path: Path, arrays: Arrays, source_sha256: str) -> None:
    """A cache that cannot be written (disk full) costs time next run, not this result."""
    try:
        _write_cache(path, arrays, source_sha256)
    except OSError as e:
        warnings.warn(f"could not write the decoded-array cache {path}: {e}", stacklevel=3)


def load_cifar10_jpeg(dataset: str, zip_path: Path, source_sha256: str, cache_dirs: Sequence[Path],
                      fix: str, progress: bool = True) -> Arrays:
    """Decoded arrays from the first valid cache in ``cache_dirs``, else decode and cache.

    ``source_sha256`` must be the digest of ``zip_path`` (the caller has verified it); it is
    what ties a cache to its zip.  The cache is written into the first writable folder of
    ``cache_dirs``; if none is writable the arrays are decoded and returned uncached.
    """
    from filelock import FileLock, Timeout

    for folder in cache_dirs:
        cached = _read_cache(folder / CACHE_NAME, source_sha256)
        if cached is not None:
            return cached
    target = next((d for d in cache_dirs if is_writable_dir(d)), None)
    if target is None:
        return decode_zip(dataset, zip_path, fix, progress)
    target.mkdir(parents=True, exist_ok=True)
    cache_path = target / CACHE_NAME
    lock = FileLock(str(cache_path) + ".lock", timeout=_LOCK_TIMEOUT_S)
    try:
        with lock:
            cached = _read_cache(cache_path, source_sha256)  # another worker may have finished
            if cached is not None:
                return cached
            arrays = decode_zip(dataset, zip_path, fix, progress)
            _try_write_cache(cache_path, arrays, source_sha256)
            return arrays
    except Timeout:  # a stuck lock must not block the run; the atomic write keeps this safe
        arrays = decode_zip(dataset, zip_path, fix, progress)
        _try_write_cache(cache_path, arrays, source_sha256)
        return arrays
