"""A failed lookup or download leaves the data folder as it was: no empty folders (issue 15)."""
from __future__ import annotations

from pathlib import Path

import pytest

from datasets import DataError, clear_cache, load_dataset
from datasets.download import DownloadFailed, fetch


@pytest.fixture
def offline(monkeypatch):
    """Every download fails at once, as on a machine without internet."""
    import pooch

    def refuse(url, **kwargs):
        raise ConnectionError(f"no network for {url}")

    monkeypatch.setattr(pooch, "retrieve", refuse)
    clear_cache()
    yield
    clear_cache()


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_failed_download_into_an_existing_folder_creates_nothing(tmp_path, offline, name):
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.txt").write_text("x")
    with pytest.raises(DataError, match="download failed"):
        load_dataset(name, data)
    assert tree(data) == ["keep.txt"]


def test_failed_download_into_a_missing_data_dir_creates_nothing(tmp_path, offline):
    with pytest.raises(DataError, match="this folder does not exist"):
        load_dataset("fashion-mnist", tmp_path / "not" / "there")
    assert tree(tmp_path) == []


def test_failed_download_into_the_default_cache_creates_nothing(tmp_path, offline, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    with pytest.raises(DataError):
        load_dataset("mnist")
    assert not (tmp_path / ".cache").exists()


def test_a_successful_download_is_moved_into_place(tmp_path, monkeypatch):
    import pooch

    def fake_retrieve(url, known_hash, fname, path, downloader):
        target = Path(path) / fname
        target.write_bytes(b"payload")
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    dest = tmp_path / "data" / "mnist" / "file.gz"
    fetch(("https://example.invalid/file.gz",), dest, None, timeout=1)
    assert dest.read_bytes() == b"payload" and tree(tmp_path / "data") == ["mnist", "mnist/file.gz"]


def test_a_failed_fetch_reports_every_url(tmp_path, offline):
    with pytest.raises(DownloadFailed, match="a.invalid.*b.invalid"):
        fetch(("https://a.invalid/f", "https://b.invalid/f"), tmp_path / "x" / "f", None, timeout=1)
    assert tree(tmp_path) == []
