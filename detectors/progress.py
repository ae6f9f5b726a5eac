"""A hook through which a long training loop reports its epochs to whoever is listening.

The runner shows an epoch counter inside its progress bar while a deep detector trains; a
detector must not know about bars, and its results must not depend on whether anybody listens.
So the loops call :func:`report_epoch`, which does nothing unless a listener was installed with
:func:`epoch_listener` (a context variable: one listener per thread or task, nothing global to
reset). Listening changes neither the parameters nor the job key of a detector.
"""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Callable, Iterator

#: ``listener(stage, epoch, total)``: ``stage`` names the loop (e.g. "DeepSAD" or "autoencoder"),
#: ``epoch`` counts from 1, ``total`` is the planned number of epochs.
EpochListener = Callable[[str, int, int], None]

_listener: ContextVar[EpochListener | None] = ContextVar("aabench_epoch_listener", default=None)


@contextlib.contextmanager
def epoch_listener(listener: EpochListener | None) -> Iterator[None]:
    """Send the epochs reported inside this block to ``listener`` (None: to nobody)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report_epoch(stage: str, epoch: int, total: int) -> None:
    """Tell the listener, if any, that ``epoch`` of ``total`` of ``stage`` is done; never raises."""
    listener = _listener.get()
    if listener is None:
        return
    try:
        listener(stage, epoch, total)
    except Exception:  # noqa: BLE001 - a display problem must never fail a training run
        pass
