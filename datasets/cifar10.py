"""Reader for the official CIFAR-10 "python version" (pickled batches).

It reads either the extracted folder ``cifar-10-batches-py`` (each batch checked by the md5
the authors publish) or, when only the archive is there, the batches straight out of
``cifar-10-python.tar.gz`` (the archive checked by its md5).  Reading from the archive avoids
having to extract into a data folder that may be read-only.

The batches are Python pickles; they are only unpickled after their checksum matched, so a
foreign file is never unpickled.
"""
from __future__ import annotations

import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .errors import DataError, problem_message
from .verify import verify_file

TRAIN_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5")
TEST_BATCHES = ("test_batch",)
ARCHIVE_FOLDER = "cifar-10-batches-py"

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _unpack(dataset: str, where: str, raw: bytes, fix: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = pickle.loads(raw, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as e:
        raise DataError(problem_message(
            dataset, f"cannot read the CIFAR-10 batch ({type(e).__name__}: {e})", file=where, fix=fix
        )) from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise DataError(problem_message(
            dataset, f"unexpected batch layout {data.shape} with {len(labels)} labels", file=where, fix=fix
        ))
    return data.reshape(-1, 3, 32, 32), labels


def _assemble(read: Callable[[str], tuple[np.ndarray, np.ndarray]]) -> Arrays:
    train = [read(b) for b in TRAIN_BATCHES]
    test = [read(b) for b in TEST_BATCHES]
    return (
        np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
        np.concatenate([x for x, _ in test]), np.concatenate([y for _, y in test]),
    )


def read_batches_dir(dataset: str, folder: Path, md5s: dict[str, str],
                     fix: Callable[[Path], str]) -> Arrays:
    """Arrays (uint8 N×3×32×32 images, int64 labels) from an extracted batches folder."""

    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        path = folder / name
        verify_file(dataset, path, "md5", md5s[name], fix(path))
        return _unpack(dataset, str(path), path.read_bytes(), fix(path))

    return _assemble(read)


def read_archive(dataset: str, archive: Path, md5: str, fix: str) -> Arrays:
    """Arrays from the official ``cifar-10-python.tar.gz`` without extracting it."""
    verify_file(dataset, archive, "md5", md5, fix)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            raws = {}
            for name in TRAIN_BATCHES + TEST_BATCHES:
                member = tar.extractfile(f"{ARCHIVE_FOLDER}/{name}")
                if member is None:
                    raise KeyError(name)
                raws[name] = member.read()
    except (tarfile.TarError, KeyError, OSError, EOFError) as e:
        raise DataError(problem_message(
            dataset, f"cannot read the archive ({type(e).__name__}: {e})", file=archive, fix=fix
        )) from None
    return _assemble(lambda name: _unpack(dataset, f"{archive}:{name}", raws[name], fix))
