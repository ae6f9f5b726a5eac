"""Shared fixtures: the data folder, and fast settings for tests on a 2-core CPU."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOY_PLUGIN = REPO / "tests" / "plugins" / "toy_detectors.py"


def pytest_addoption(parser):
    parser.addoption(
        "--plugin", action="append", default=[], metavar="MODULE",
        help="import a module or .py file that registers your own detectors before collection, so that "
             "tests/test_detector_contract.py checks them too (select them with -k NAME)")


def pytest_configure(config):
    """Load ``--plugin`` modules before the contract tests list the registry at collection.

    Under pytest-xdist (``-n N``) each worker gets an equal share of the cores for torch and the
    BLAS libraries, so that N workers do not each spin a thread per core and slow one another down.
    """
    _share_cores_between_workers()
    plugins = config.getoption("--plugin", default=[]) or []
    if plugins:
        from detectors import load_plugin

        for plugin in plugins:
            load_plugin(str(Path(plugin).resolve()) if plugin.endswith(".py") else plugin)


def _share_cores_between_workers() -> None:
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not workers or "OMP_NUM_THREADS" in os.environ:
        return
    import torch
    from threadpoolctl import threadpool_limits

    threads = max(1, (os.cpu_count() or 1) // int(workers))
    torch.set_num_threads(threads)
    threadpool_limits(threads)


def _data_dir() -> Path | None:
    value = os.environ.get("BENCH_DATA_DIR")
    if value and Path(value).is_dir():
        return Path(value)
    fallback = REPO.parent / "shared" / "data"
    return fallback if fallback.is_dir() else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data folder (BENCH_DATA_DIR, else ../shared/data); tests that need it skip without it."""
    path = _data_dir()
    if path is None:
        pytest.skip("no data folder: set BENCH_DATA_DIR to a folder holding mnist/, fashion-mnist/, odds/")
    return path


@pytest.fixture(scope="session")
def mnist(data_dir):
    from datasets import load_dataset

    return load_dataset("mnist", data_dir)


@pytest.fixture(scope="session")
def toy_plugin():
    """Register the test-only detectors (toy-centroid, toy-torch)."""
    from detectors import load_plugin

    load_plugin(str(TOY_PLUGIN))
    return TOY_PLUGIN
