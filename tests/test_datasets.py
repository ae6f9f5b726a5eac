"""Tests for the ``datasets`` package.

Tests that read the real files need ``BENCH_DATA_DIR`` (CI sets it to ``../shared/data``)
and are skipped with a reason otherwise.  Nothing here touches the network: missing files are
loaded with ``download=False``, and the download path is exercised with pooch replaced by a
stub that fails the way an offline machine does.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import datasets
import datasets.cifar10_jpeg as cifar10_jpeg
import datasets.loader as loader
from datasets import DATASETS, DataError, Dataset, load_dataset, resolve_data_dir
from datasets.checksums import CHECKSUMS, Checksum

ENV_DATA = os.environ.get("BENCH_DATA_DIR", "")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder, or a skip that says how to enable these tests."""
    if not ENV_DATA:
        pytest.skip("BENCH_DATA_DIR is not set; set it to ../shared/data to run data tests")
    path = Path(ENV_DATA)
    if not path.is_dir():
        pytest.skip(f"BENCH_DATA_DIR={ENV_DATA} is not a folder; set it to ../shared/data")
    return path


def _idx_copy(tmp_path: Path, data_dir: Path, folder: str = "mnist") -> Path:
    """A data folder in tmp_path whose IDX files link to the real ones (replace one to corrupt)."""
    (tmp_path / folder).mkdir(parents=True)
    for f in (data_dir / folder).glob("*.gz"):
        (tmp_path / folder / f.name).symlink_to(f.resolve())
    return tmp_path


def _replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


# --- registry and paths -----------------------------------------------------------------


def test_registry_names_and_arch() -> None:
    adbench = {name for name in DATASETS if name.startswith("adbench/")}  # tests/test_adbench.py
    assert set(DATASETS) - adbench == {"mnist", "fashion-mnist", "cifar10", "cifar10-jpeg", "arrhythmia",
                                       "cardio", "satellite", "satimage-2", "shuttle", "thyroid"}
    assert DATASETS["mnist"].arch == "mnist"
    assert DATASETS["fashion-mnist"].arch == "fmnist"
    assert DATASETS["cifar10"].arch == DATASETS["cifar10-jpeg"].arch == "cifar10"
    assert DATASETS["cifar10-jpeg"].exact is False
    for name in ("arrhythmia", "cardio", "satellite", "satimage-2", "shuttle", "thyroid"):
        info = DATASETS[name]
        assert (info.kind, info.arch, info.n_classes) == ("tabular", name, None)
    for info in DATASETS.values():
        for rel in info.files + ((info.archive,) if info.archive else ()):
            assert rel in CHECKSUMS, rel


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(DataError, match="valid names: arrhythmia, cardio") as err:
        load_dataset("mnsit")
    assert isinstance(err.value, ValueError)


def test_resolve_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "aabench" / "data"
    monkeypatch.setenv("BENCH_DATA_DIR", "")
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "aabench" / "data"
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert resolve_data_dir(str(tmp_path / "arg")) == tmp_path / "arg"
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir("rel") == tmp_path / "rel"  # made absolute


# --- real data ------------------------------------------------------------------------


def test_mnist(data_dir: Path) -> None:
    ds = load_dataset("mnist", data_dir, download=False)
    assert isinstance(ds, Dataset)
    assert (ds.name, ds.kind, ds.arch, ds.classes) == ("mnist", "image", "mnist", tuple(range(10)))
    assert ds.X_train.shape == (60000, 1, 28, 28) and ds.X_test.shape == (10000, 1, 28, 28)
    assert ds.X_train.dtype == ds.X_test.dtype == np.float32
    assert ds.y_train.dtype == ds.y_test.dtype == np.int64
    assert ds.X_train.min() == 0.0 and ds.X_train.max() == 1.0
    assert np.bincount(ds.y_train)[0] == 5923
    assert np.bincount(ds.y_train).sum() == 60000 and set(np.unique(ds.y_test)) == set(range(10))
    with pytest.raises(ValueError):
        ds.X_train[0, 0, 0, 0] = 0.5  # read-only: the object is shared through the cache
    assert load_dataset("mnist", str(data_dir), download=False) is ds


def test_fashion_mnist(data_dir: Path) -> None:
    ds = load_dataset("fashion-mnist", data_dir, download=False)
    assert ds.arch == "fmnist"
    assert ds.X_train.shape == (60000, 1, 28, 28) and ds.X_test.shape == (10000, 1, 28, 28)
    assert 0.0 <= ds.X_test.min() and ds.X_test.max() <= 1.0
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10


@pytest.mark.parametrize("name, shape, outliers", [
    ("arrhythmia", (452, 274), 66),
    ("thyroid", (3772, 6), 93),
])
def test_odds(data_dir: Path, name: str, shape: tuple[int, int], outliers: int) -> None:
    ds = load_dataset(name, data_dir, download=False)
    assert (ds.kind, ds.arch, ds.classes) == ("tabular", name, (0, 1))
    assert ds.X_train.shape == shape and ds.X_train.dtype == np.float32
    assert ds.y_train.dtype == np.int64 and ds.y_train.sum() == outliers
    assert set(np.unique(ds.y_train)) == {0, 1}
    assert ds.X_test is None and ds.y_test is None


def test_env_var_is_used(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATA_DIR", str(data_dir))
    assert load_dataset("thyroid", download=False) is load_dataset("thyroid", data_dir)


# --- damaged and missing files --------------------------------------------------------


def test_truncated_gzip(tmp_path: Path, data_dir: Path) -> None:
    root = _idx_copy(tmp_path, data_dir)
    bad = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    _replace(bad, (data_dir / "mnist" / bad.name).read_bytes()[:2000])
    with pytest.raises(DataError, match="truncated gzip") as err:
        load_dataset("mnist", root, download=False)
    assert str(bad) in str(err.value) and "fix:" in str(err.value)


def test_wrong_magic(tmp_path: Path, data_dir: Path) -> None:
    root = _idx_copy(tmp_path, data_dir)
    bad = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress((data_dir / "mnist" / bad.name).read_bytes()))
    payload[3] = 0x03  # 0x00000803 is the images' magic number
    _replace(bad, gzip.compress(bytes(payload)))
    with pytest.raises(DataError, match="magic number") as err:
        load_dataset("mnist", root, download=False)
    assert str(bad) in str(err.value)


def test_flipped_byte_in_idx_payload(tmp_path: Path, data_dir: Path) -> None:
    """A valid gzip with a changed label: only the payload checksum can catch it."""
    root = _idx_copy(tmp_path, data_dir, "fashion-mnist")
    bad = root / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress((data_dir / "fashion-mnist" / bad.name).read_bytes()))
    payload[100] ^= 0x01
    _replace(bad, gzip.compress(bytes(payload)))
    with pytest.raises(DataError, match="sha256 of the uncompressed payload") as err:
        load_dataset("fashion-mnist", root, download=False)
    assert str(bad) in str(err.value)


def test_flipped_byte_in_gzip_stream(tmp_path: Path, data_dir: Path) -> None:
    root = _idx_copy(tmp_path, data_dir)
    bad = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray((data_dir / "mnist" / bad.name).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    _replace(bad, bytes(raw))
    with pytest.raises(DataError) as err:
        load_dataset("mnist", root, download=False)
    assert str(bad) in str(err.value)


def test_mat_without_y(tmp_path: Path) -> None:
    (tmp_path / "odds").mkdir()
    bad = tmp_path / "odds" / "thyroid.mat"
    scipy.io.savemat(bad, {"X": np.zeros((5, 6))})
    with pytest.raises(DataError, match="no key 'y'") as err:
        load_dataset("thyroid", tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_mat_with_bad_labels(tmp_path: Path) -> None:
    (tmp_path / "odds").mkdir()
    scipy.io.savemat(tmp_path / "odds" / "cardio.mat", {"X": np.zeros((3, 2)), "y": [[0], [2], [1]]})
    with pytest.raises(DataError, match="expected only 0"):
        load_dataset("cardio", tmp_path, download=False)


def test_mat_flipped_byte(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / "odds").mkdir()
    bad = tmp_path / "odds" / "arrhythmia.mat"
    raw = bytearray((data_dir / "odds" / bad.name).read_bytes())
    raw[-10] ^= 0x01
    bad.write_bytes(bytes(raw))
    with pytest.raises(DataError) as err:
        load_dataset("arrhythmia", tmp_path, download=False)
    assert str(bad) in str(err.value)


def test_missing_file_without_download(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("mnist", tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in msg
    assert f"searched: {tmp_path / 'mnist'}/" in msg
    assert "download=False" in msg and "BENCH_DATA_DIR" in msg and "--data-dir" in msg


def test_failed_download_becomes_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pooch
    import requests

    calls = []

    def offline(url, known_hash, fname, path, downloader, **kw):
        calls.append((url, known_hash, downloader.kwargs.get("timeout")))
        raise requests.ConnectionError("Failed to resolve host")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DataError, match="download failed") as err:
        load_dataset("mnist", tmp_path, timeout=0.5)
    assert "ossci-datasets.s3.amazonaws.com" in str(err.value)
    assert calls[0] == ("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
                        "sha256:" + CHECKSUMS["mnist/train-images-idx3-ubyte.gz"].file_sha256, 0.5)
    calls.clear()
    with pytest.raises(DataError, match="not available for this dataset"):
        load_dataset("shuttle", tmp_path)  # ODDS has no URL: never downloaded
    assert calls == []


# --- cifar10-jpeg ------------------------------------------------------------------------


def _tiny_jpeg_zip(path: Path, members: dict[str, int]) -> Path:
    """A zip in the cifar10-jpeg layout; each image is a flat grey of the given value."""
    from PIL import Image

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("train/", b"")
        for name, value in members.items():
            buf = io.BytesIO()
            Image.new("RGB", (32, 32), (value, value, value)).save(buf, format="JPEG", quality=75)
            zf.writestr(name, buf.getvalue())
    return path


TINY = {  # written out of order on purpose: the loader must sort by class, then number
    "train/truck/0001.jpg": 200, "train/airplane/0010.jpg": 60,
    "train/airplane/0000.jpg": 20, "train/truck/0000.jpg": 180,
    "train/airplane/0002.jpg": 40, "test/cat/0000.jpg": 120,
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cifar10_jpeg_tiny_zip_through_load_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cifar10-jpeg").mkdir()
    zip_path = _tiny_jpeg_zip(tmp_path / "cifar10-jpeg" / "cifar10-jpeg.zip", TINY)
    with pytest.raises(DataError, match="sha256 of the file does not match") as err:
        load_dataset("cifar10-jpeg", tmp_path, download=False)
    assert str(zip_path) in str(err.value)

    monkeypatch.setitem(CHECKSUMS, "cifar10-jpeg/cifar10-jpeg.zip", Checksum(file_sha256=_sha256(zip_path)))
    ds = load_dataset("cifar10-jpeg", tmp_path, download=False)
    assert (ds.name, ds.arch) == ("cifar10-jpeg", "cifar10")
    assert ds.X_train.shape == (5, 3, 32, 32) and ds.X_test.shape == (1, 3, 32, 32)
    assert ds.X_train.dtype == np.float32 and 0.0 <= ds.X_train.min() <= ds.X_train.max() <= 1.0
    assert ds.y_train.tolist() == [0, 0, 0, 9, 9] and ds.y_test.tolist() == [3]
    means = (ds.X_train.mean(axis=(1, 2, 3)) * 255).round().tolist()
    assert np.allclose(means, [20, 40, 60, 180, 200], atol=3)  # class order, then file order
    cache = tmp_path / "cifar10-jpeg" / cifar10_jpeg.CACHE_NAME  # data folder writable here
    assert cache.is_file()
    assert not [p for p in cache.parent.iterdir() if p.name.endswith(".tmp")]


def test_cifar10_jpeg_cache_reuse_and_invalidation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zip_path = _tiny_jpeg_zip(tmp_path / "tiny.zip", TINY)
    sha = _sha256(zip_path)
    cache_dir = tmp_path / "cache"
    first = cifar10_jpeg.load_cifar10_jpeg("t", zip_path, sha, [cache_dir], "fix", progress=False)
    assert first[0].dtype == np.uint8 and first[0].shape == (5, 3, 32, 32)

    decodes = []
    real_decode = cifar10_jpeg.decode_zip
    monkeypatch.setattr(cifar10_jpeg, "decode_zip", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))
    again = cifar10_jpeg.load_cifar10_jpeg("t", zip_path, sha, [cache_dir], "fix", progress=False)
    assert decodes == [] and all(np.array_equal(a, b) for a, b in zip(first, again))
    cifar10_jpeg.load_cifar10_jpeg("t", zip_path, "0" * 64, [cache_dir], "fix", progress=False)
    assert decodes == [1]  # another source checksum: the cache is stale and rebuilt


def test_cifar10_jpeg_cache_falls_back_when_data_dir_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "data" / "cifar10-jpeg"
    folder.mkdir(parents=True)
    zip_path = _tiny_jpeg_zip(folder / "cifar10-jpeg.zip", TINY)
    monkeypatch.setitem(CHECKSUMS, "cifar10-jpeg/cifar10-jpeg.zip", Checksum(file_sha256=_sha256(zip_path)))
    monkeypatch.setattr(loader, "cache_root", lambda: tmp_path / "home-cache")
    folder.chmod(0o555)
    try:
        load_dataset("cifar10-jpeg", tmp_path / "data", download=False)
    finally:
        folder.chmod(0o755)
    assert not (folder / cifar10_jpeg.CACHE_NAME).exists()
    assert (tmp_path / "home-cache" / cifar10_jpeg.CACHE_NAME).is_file()


def test_cifar10_jpeg_bad_member(tmp_path: Path) -> None:
    zip_path = _tiny_jpeg_zip(tmp_path / "odd.zip", {"train/airplane/0000.jpg": 1, "train/zebra/0000.jpg": 2})
    with pytest.raises(DataError, match="unexpected entry 'train/zebra/0000.jpg'") as err:
        cifar10_jpeg.decode_zip("t", zip_path, "fix", progress=False)
    assert str(zip_path) in str(err.value)


@pytest.mark.slow
def test_cifar10_jpeg_full_decode(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decodes all 60,000 JPEGs (tens of seconds) into a fresh cache, then reads it back."""
    monkeypatch.setattr(loader, "cache_root", lambda: tmp_path)
    ds = load_dataset("cifar10-jpeg", data_dir, download=False)
    assert ds.X_train.shape == (50000, 3, 32, 32) and ds.X_test.shape == (10000, 3, 32, 32)
    assert ds.X_train.dtype == np.float32 and 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
    assert np.bincount(ds.y_train).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert (tmp_path / cifar10_jpeg.CACHE_NAME).is_file()
    datasets.clear_cache()
    again = load_dataset("cifar10-jpeg", data_dir, download=False)  # now from the .npz cache
    assert again is not ds and np.array_equal(again.X_test, ds.X_test)


# --- official CIFAR-10 (with a tiny stand-in, the real files need internet) ---------------


def _fake_batch(n: int, label: int) -> bytes:
    data = np.full((n, 3072), label * 20, dtype=np.uint8)
    return pickle.dumps({b"data": data, b"labels": [label] * n, b"batch_label": b"fake"})


def test_cifar10_from_archive_and_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    batches = {name: _fake_batch(2, i) for i, name in enumerate(names)}
    folder = tmp_path / "cifar10"
    folder.mkdir()
    archive = folder / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, raw in batches.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    monkeypatch.setitem(CHECKSUMS, "cifar10/cifar-10-python.tar.gz",
                        Checksum(file_md5=hashlib.md5(archive.read_bytes()).hexdigest()))
    ds = load_dataset("cifar10", tmp_path, download=False)
    assert ds.X_train.shape == (10, 3, 32, 32) and ds.X_test.shape == (2, 3, 32, 32)
    assert ds.y_train.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and ds.y_test.tolist() == [5, 5]
    assert np.isclose(ds.X_test.max(), 100 / 255)

    extracted = tmp_path / "other" / "cifar10" / "cifar-10-batches-py"
    extracted.mkdir(parents=True)
    for name, raw in batches.items():
        (extracted / name).write_bytes(raw)
        monkeypatch.setitem(CHECKSUMS, f"cifar10/cifar-10-batches-py/{name}",
                            Checksum(file_md5=hashlib.md5(raw).hexdigest()))
    ds2 = load_dataset("cifar10", tmp_path / "other", download=False)
    assert np.array_equal(ds2.X_train, ds.X_train) and np.array_equal(ds2.y_test, ds.y_test)
    (extracted / "test_batch").write_bytes(batches["data_batch_1"])
    with pytest.raises(DataError, match="md5 of the file does not match") as err:
        datasets.clear_cache()
        load_dataset("cifar10", tmp_path / "other", download=False)
    assert str(extracted / "test_batch") in str(err.value)


def test_cifar10_missing_says_where(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("cifar10", tmp_path, download=False)
    msg = str(err.value)
    assert "cifar-10-python.tar.gz" in msg and "cifar-10-batches-py" in msg
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
