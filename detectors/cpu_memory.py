"""Keep the CPU memory torch frees inside the process for its next allocation (glibc's ``malloc``).

Why: a training step of the image detectors allocates and frees the same large activations
(MNIST AA-BiGAN: many of 6-13 MB) every iteration. glibc serves large blocks with fresh pages
from the kernel and returns the top of its heap when enough is free there; both thresholds
adapt at run time, and in this workload the pages kept going back and coming again: 36,000 to
64,000 page faults per AA-BiGAN iteration, 0.10-0.16 s of kernel time each (one thread). With
both thresholds fixed (every block up to 32 MiB from the heap, the heap's free top kept up to
2 GiB) it was 1,000 to 1,700 faults and 0.002 s, and an iteration took 1.43-1.50 CPU-s against
1.54-1.59 (0.93x; three alternating pairs of fresh processes). Over a whole
``benchmark.perf`` fit (2 epochs and scoring) the faults went from 1.5-2.1 million to 0.13-0.19
million and the kernel time from 4.0-5.9 s to 0.5-0.7 s; the epochs' CPU time moved less than
this machine's noise (45-50 s against 46-54 s per epoch in three pairs), and the smoke suite's
short AA-BiGAN jobs showed no gain. (glibc's adaptive thresholds depend on the process's
history: the same small pattern of allocations, in ``tests/test_cpu_memory.py``, gave 0 or
14,000 faults a round from one run to the next; fixed thresholds make it 0 every time.) Peak
resident memory was unchanged (1.1-1.2 GiB), the values computed are unaffected. No clear gain
for NDA (faults 0.2-0.4 million a fit instead of 0.4-0.5, epochs within the machine's noise)
nor Deep SAD (0 to 4 faults a step already). The price: a process keeps the high-water mark of
what it freed until it exits (a job's peak is what it needs again for the next epoch or job).

Set once per process, by the first CPU fit (:meth:`detectors.torch_base.TorchDetector._start_fit`),
so that the runner's workers, ``benchmark.perf`` and direct use of a detector all run alike.
Only where the C library is glibc (Linux); elsewhere, and with ``BENCH_KEEP_FREED_MEMORY=0``,
nothing is changed. (PyTorch's CPU tuning guide suggests swapping the allocator for jemalloc
or TCMalloc; that needs ``LD_PRELOAD`` before the process starts, which a library cannot do.)
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from typing import Callable

#: environment variable: "0" leaves glibc's own adaptive thresholds in place; "1" (default) fixes them
ENV_VAR = "BENCH_KEEP_FREED_MEMORY"
# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: blocks up to this size come from the heap: glibc's largest allowed value on 64-bit systems
MMAP_THRESHOLD_BYTES = 32 * 2**20
#: free memory at the heap's top is returned to the kernel only above this (the largest int)
TRIM_THRESHOLD_BYTES = 2**31 - 1


def _wanted() -> bool:
    value = os.environ.get(ENV_VAR, "1")
    if value not in ("0", "1"):
        raise ValueError(f"{ENV_VAR} must be 0 or 1; got {value!r}")
    return value == "1"


def glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt(param, value)`` (1 when it took the value), or None where the C library
    is not glibc (macOS, Windows, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):  # not glibc
        return None
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt


@functools.cache
def keep_freed_memory() -> bool:
    """Fix glibc's ``mmap`` and trim thresholds for this process (once); whether they were set.

    False where it was not asked for (:data:`ENV_VAR`), or there is no glibc ``mallopt``
    (:func:`glibc_mallopt`), or glibc refused a value.
    """
    mallopt = glibc_mallopt() if _wanted() else None
    if mallopt is None:
        return False
    mapped = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)  # 1 when glibc took the value
    trimmed = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    return bool(mapped and trimmed)
