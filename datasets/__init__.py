"""Verified loaders for the benchmark's datasets (MNIST, Fashion-MNIST, CIFAR-10, the lossy
cifar10-jpeg, and six ODDS tables).

>>> from datasets import load_dataset
>>> ds = load_dataset("mnist")            # data folder: argument, $BENCH_DATA_DIR, ~/.cache/aabench/data
>>> ds.X_train.shape, ds.y_train.dtype
((60000, 1, 28, 28), dtype('int64'))

Everything that can go wrong with a file raises :class:`DataError` with a message that names
the file, the folders searched and the fix.
"""
from .dataset import Dataset
from .errors import DataError, MissingDataError, UnknownDatasetError
from .loader import can_download, clear_cache, find_missing, load_dataset
from .paths import resolve_data_dir
from .registry import DATASETS, DatasetInfo

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "DatasetInfo",
    "MissingDataError",
    "UnknownDatasetError",
    "can_download",
    "clear_cache",
    "find_missing",
    "load_dataset",
    "resolve_data_dir",
]
