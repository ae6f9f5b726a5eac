"""Fetching missing files with pooch, turning every failure into one readable sentence.

Downloads only happen for files that are absent, into the data folder the user chose, and
each one is verified by pooch against the published hash before it is kept. Nothing is created
in the data folder unless a verified file arrives.  The timeout is
short on purpose: on a machine without internet the user should see the "put the file here"
message at once, not after minutes of retries.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .paths import is_writable_dir

DEFAULT_TIMEOUT = 15.0


class DownloadFailed(Exception):
    """Internal: why a download did not produce the file (folded into a DataError)."""


def fetch(urls: tuple[str, ...], dest: Path, known_hash: str | None, timeout: float) -> None:
    """Download ``dest`` from the first URL that works; raise :class:`DownloadFailed` otherwise.

    ``urls`` are full URLs of the file, tried in order (mirrors).
    """
    import pooch  # imported here: loading local files must not depend on it

    if not is_writable_dir(dest.parent):
        raise DownloadFailed(f"cannot write to {dest.parent} (read-only)")
    reasons = []
    # Download into a scratch folder and create the destination's folders only once a verified
    # file is there to move in: a failed download must leave the data folder (or a --data-dir
    # that does not exist yet, or ~/.cache/aabench) exactly as it was, with no empty folders.
    with tempfile.TemporaryDirectory(prefix="aabench-download-") as scratch:
        for url in urls:
            try:
                fetched = pooch.retrieve(
                    url,
                    known_hash=known_hash,
                    fname=dest.name,
                    path=scratch,
                    downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=True),
                )
            except Exception as e:  # requests errors, hash mismatch (ValueError), disk errors
                reasons.append(f"{url}: {type(e).__name__}: {_first_line(e)}")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(fetched, dest)
            return
    raise DownloadFailed("; ".join(reasons) or "no download URL")


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""
