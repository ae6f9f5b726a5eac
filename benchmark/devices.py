"""The devices a run uses: what kind a device name is, which CPU this is, and GPU slots.

:func:`device_kind` ('auto' resolved as a detector resolves it) and :func:`cpu_description`
label timings: the perf benchmark's rows and the dry run's estimates.

GPU slots for ``--workers-per-gpu N``: at most N tasks run on each GPU at any time. Assigning
GPUs by task index (as ``--jobs`` does) cannot bound how many tasks share a GPU: tasks finish at
different times, and the next free worker takes the next task whatever GPU it was given. Here a
task picks its GPU when it starts instead: each GPU has N slots, each slot a lock file in a
folder of the machine's temporary directory named after the run, and a task holds a free slot
(spreading over GPUs first) until it ends. The run has N x (number of GPUs) workers, so a worker
always finds a slot free. GPUs are counted where the run starts (on a Dask cluster, machines with
as many GPUs as that one).
"""
from __future__ import annotations

import contextlib
import functools
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock, Timeout

SLOT_FOLDER_PREFIX = "aabench-gpu-slots-"
SLOT_POLL_SECONDS = 0.2  # how often a task looks for a free slot when all are held


def device_kind(device: Any) -> str:
    """'cuda' or 'cpu': the kind of device that ``device`` names (a job's or a stored row's);
    'auto' is resolved as a detector resolves it here (:func:`detectors.torch_utils.resolve_device`)."""
    text = str(device or "")
    if text == "auto":
        from detectors.torch_utils import resolve_device

        return resolve_device("auto").type
    return "cuda" if text.startswith("cuda") else "cpu"


@functools.lru_cache(maxsize=1)
def cpu_description() -> str:
    """The processor's model name and the widest vector instructions torch uses on it, e.g.
    "AMD EPYC (AVX2)". CPU timings move with both, so every perf row records it and the dry run
    warns when an estimate comes from another processor. Read once per process."""
    import torch

    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    model = model or platform.processor() or platform.machine()
    return f"{model} ({torch.backends.cpu.get_cpu_capability()})"


def visible_gpus() -> int:
    """How many CUDA devices torch sees here (0 without CUDA)."""
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # noqa: BLE001 - a broken CUDA setup counts as none
        return 0


def slot_folder(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"{SLOT_FOLDER_PREFIX}{run_id}"


@contextlib.contextmanager
def gpu_slot(run_id: str, workers_per_gpu: int, n_gpus: int | None = None,
             timeout: float | None = None) -> Iterator[str]:
    """Hold one of the ``workers_per_gpu`` slots of some GPU while the block runs; yields its
    device ("cuda:I"). Waits while every slot is held (up to ``timeout`` seconds, then
    ``TimeoutError``; ``None``: no limit). ``n_gpus`` defaults to the GPUs visible here."""
    n_gpus = visible_gpus() if n_gpus is None else n_gpus
    if n_gpus < 1 or workers_per_gpu < 1:
        raise ValueError(f"gpu_slot needs at least one GPU and one worker per GPU; got {n_gpus} and {workers_per_gpu}")
    folder = slot_folder(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        for slot in range(workers_per_gpu):
            for gpu in range(n_gpus):
                lock = FileLock(str(folder / f"gpu{gpu}-slot{slot}.lock"))
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue
                try:
                    yield f"cuda:{gpu}"
                finally:
                    lock.release()
                return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"all {n_gpus * workers_per_gpu} GPU slots of run {run_id} stayed busy for {timeout} s")
        time.sleep(SLOT_POLL_SECONDS)


def remove_slots(run_id: str) -> None:
    """Delete the run's slot folder (its lock files) once the run is over."""
    shutil.rmtree(slot_folder(run_id), ignore_errors=True)
