"""``load_dataset``: find the files, fetch what is missing, verify, decode, and memoize.

The readers for each file format live in their own modules; this module only wires the
registry to them and owns the two policies that concern every dataset:

* an in-process cache keyed by (name, resolved data folder), so a runner that loads the same
  dataset for ninety jobs reads and verifies it once;
* downloads happen only for files that are missing, and a failed download ends in the same
  "missing file" message with the reason added, never in a hang.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import hints
from .checksums import checksum_for
from .adbench import read_adbench_npz
from .cifar10 import read_archive, read_batches_dir
from .cifar10_jpeg import load_cifar10_jpeg
from .dataset import Dataset
from .download import DEFAULT_TIMEOUT, DownloadFailed, fetch
from .errors import MissingDataError
from .idx import read_idx_gz
from .odds import read_odds_mat
from .paths import cache_root, data_dir_and_origin, is_writable_dir
from .registry import DATASETS, DatasetInfo, get_info
from .verify import clear_memo, verify_file

_CACHE_SIZE = 8


def _to_unit(images: np.ndarray) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1] (a fresh array the caller owns)."""
    out = images.astype(np.float32)
    out /= 255.0
    return out


def _require(info: DatasetInfo, paths: list[Path], searched: list[str] | None = None) -> None:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        searched = searched or sorted({f"{p.parent}/" for p in paths})
        raise MissingDataError(info.name, missing, searched=searched, fix=hints.put_files(info, missing))


def _image_dataset(info: DatasetInfo, x_train, y_train, x_test, y_test) -> Dataset:
    return Dataset(name=info.name, kind=info.kind, arch=info.arch, classes=info.classes,
                   X_train=_to_unit(x_train), y_train=y_train.astype(np.int64),
                   X_test=_to_unit(x_test), y_test=y_test.astype(np.int64))


def _read_idx(info: DatasetInfo, root: Path) -> Dataset:
    paths = [root / rel for rel in info.files]
    _require(info, paths)
    x_train, y_train, x_test, y_test = (
        read_idx_gz(info.name, p, checksum_for(rel).payload_sha256, hints.replace_file(info, p))
        for rel, p in zip(info.files, paths)
    )
    return _image_dataset(info, x_train[:, None], y_train, x_test[:, None], y_test)


def _read_table(info: DatasetInfo, root: Path) -> Dataset:
    """One file holding a whole table (ODDS ``.mat``, ADBench ``.npz``): rows X, anomaly flags y."""
    rel = info.files[0]
    path = root / rel
    _require(info, [path])
    X, y = _TABLE_READERS[info.format](info.name, path, checksum_for(rel).file_sha256, hints.replace_file(info, path))
    return Dataset(name=info.name, kind=info.kind, arch=info.arch, classes=info.classes,
                   X_train=X, y_train=y)


def _read_cifar10(info: DatasetInfo, root: Path) -> Dataset:
    batches = [root / rel for rel in info.files]
    archive = root / info.archive
    if all(p.is_file() for p in batches):
        md5s = {p.name: checksum_for(rel).file_md5 for rel, p in zip(info.files, batches)}
        arrays = read_batches_dir(info.name, batches[0].parent, md5s,
                                  lambda p: hints.replace_file(info, p))
    elif archive.is_file():
        arrays = read_archive(info.name, archive, checksum_for(info.archive).file_md5,
                              hints.replace_file(info, archive))
    else:
        raise MissingDataError(
            info.name, [archive],
            searched=[f"{batches[0].parent}/ (extracted batches)", f"{archive.parent}/ (archive)"],
            fix=hints.put_files(info, [archive]),
        )
    return _image_dataset(info, *arrays)


def _read_cifar10_jpeg(info: DatasetInfo, root: Path) -> Dataset:
    rel = info.files[0]
    path = root / rel
    _require(info, [path])
    fix = hints.replace_file(info, path)
    sha = verify_file(info.name, path, "sha256", checksum_for(rel).file_sha256, fix)
    arrays = load_cifar10_jpeg(info.name, path, sha, [path.parent, cache_root()], fix)
    return _image_dataset(info, *arrays)


_TABLE_READERS = {"odds-mat": read_odds_mat, "adbench-npz": read_adbench_npz}

_READERS: dict[str, Callable[[DatasetInfo, Path], Dataset]] = {
    "idx": _read_idx,
    "odds-mat": _read_table,
    "adbench-npz": _read_table,
    "cifar10-python": _read_cifar10,
    "cifar10-jpeg-zip": _read_cifar10_jpeg,
}


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _load_cached(name: str, root: str) -> Dataset:
    info = DATASETS[name]
    return _READERS[info.format](info, Path(root))


def _download(info: DatasetInfo, root: Path, missing: tuple[Path, ...], timeout: float) -> None:
    for path in missing:
        rel = path.relative_to(root).as_posix()
        urls = tuple(u + path.name if u.endswith("/") else u for u in info.urls)
        fetch(urls, path, checksum_for(rel).download_hash, timeout)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Dataset:
    """Load a dataset by its registry name, verified, as read-only arrays.

    ``data_dir`` overrides ``$BENCH_DATA_DIR`` and the default ``~/.cache/aabench/data``.
    Missing files are downloaded into it when ``download`` is true and the dataset has a
    public URL (``timeout`` seconds per connection attempt).  Every problem raises
    :class:`~datasets.DataError` naming the file and the fix.  Repeated calls with the same
    name and folder return the same cached object.
    """
    info = get_info(name)
    root, origin = data_dir_and_origin(data_dir)
    try:
        return _load_cached(info.name, str(root))
    except MissingDataError as err:
        where = f"data folder: {root} ({origin})"
        if not root.is_dir():
            where += " — this folder does not exist"
        elif root.name == info.folder:
            where += f" — it looks like the {info.folder}/ folder itself; give its parent instead"
        err = err.with_note(where)
        if not download:
            raise err.with_note("download: not tried (download=False)") from None
        if not info.urls:
            raise err.with_note("download: not available for this dataset") from None
        try:
            _download(info, root, err.missing, timeout)
        except DownloadFailed as e:
            raise err.with_note(f"download failed: {e}") from None
    return _load_cached(info.name, str(root))


def find_missing(name: str, data_dir: str | os.PathLike[str] | None = None) -> MissingDataError | None:
    """Whether the files of ``name`` are present, without reading, verifying or downloading them.

    For ``--dry-run``: a cheap look at the data folder that creates nothing. Returns None when
    the files are there (their checksums are checked when the data is loaded), else the
    error :func:`load_dataset` would start from, with the folder and whether a download is possible.
    """
    info = get_info(name)
    root, origin = data_dir_and_origin(data_dir)
    files = [root / rel for rel in info.files]
    if all(p.is_file() for p in files) or (info.archive is not None and (root / info.archive).is_file()):
        return None
    missing = [root / info.archive] if info.archive is not None else [p for p in files if not p.is_file()]
    err = MissingDataError(info.name, missing, searched=sorted({f"{p.parent}/" for p in missing}),
                           fix=hints.put_files(info, missing))
    where = f"data folder: {root} ({origin})" + ("" if root.is_dir() else " — this folder does not exist")
    err = err.with_note(where)
    if not info.urls:
        return err.with_note("download: not available for this dataset")
    if not is_writable_dir(missing[0].parent):
        return err.with_note(f"download: not possible, {root} is read-only")
    return err.with_note("download: a real run tries it (needs internet)")


def can_download(name: str, data_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether a real run could fetch the missing files of ``name`` (a URL and a writable folder)."""
    info = get_info(name)
    root, _ = data_dir_and_origin(data_dir)
    return bool(info.urls) and is_writable_dir(root / info.folder)


def clear_cache() -> None:
    """Drop the in-process dataset cache and the memo of verified checksums."""
    _load_cached.cache_clear()
    clear_memo()
