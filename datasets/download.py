"""Fetching missing files with pooch, turning every failure into one readable sentence.

Downloads only happen for files that are absent, into the data folder the user chose, and
each one is verified by pooch against the published hash before it is kept.  The timeout is
short on purpose: on a machine without internet the user should see the "put the file here"
message at once, not after minutes of retries.
"""
from __future__ import annotations

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
    dest.parent.mkdir(parents=True, exist_ok=True)
    reasons = []
    for url in urls:
        try:
            pooch.retrieve(
                url,
                known_hash=known_hash,
                fname=dest.name,
                path=dest.parent,
                downloader=pooch.HTTPDownloader(timeout=timeout, progressbar=True),
            )
            return
        except Exception as e:  # requests errors, hash mismatch (ValueError), disk errors
            reasons.append(f"{url}: {type(e).__name__}: {_first_line(e)}")
    raise DownloadFailed("; ".join(reasons) or "no download URL")


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return text[0][:300] if text else ""
