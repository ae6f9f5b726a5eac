"""detectors.cpu_memory: the process keeps the memory torch frees (fewer page faults), and only
where it is asked for. Each case runs in a fresh process: the setting is process-wide."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from detectors import cpu_memory

ROOT = Path(__file__).resolve().parents[1]

# Activations of a few MB made and freed over and over, as in a training step; prints whether the
# setting took effect and the median page faults of a round once warm. glibc's own thresholds
# adapt to the process's history (here they gave 0 or 14,000 faults a round from one run to the
# next), so the script first fixes them at glibc's starting values, where every large block is
# mapped afresh and handed back: keep_freed_memory() must then replace both.
SCRIPT = """
import resource, statistics, torch
from detectors import cpu_memory
mallopt = cpu_memory.glibc_mallopt()
mallopt(cpu_memory._M_MMAP_THRESHOLD, 128 * 1024)
mallopt(cpu_memory._M_TRIM_THRESHOLD, 128 * 1024)
kept = cpu_memory.keep_freed_memory()
torch.set_num_threads(1)
x = torch.randn(100, 64, 16, 16)
def work():
    a = x * 2; b = torch.cat([a, x]); c = b.relu(); d = torch.cat([c, b]); d.sum()
for _ in range(5):
    work()
faults = []
for _ in range(30):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    work()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, statistics.median(faults))
"""


def _faults_per_round(keep: str) -> tuple[bool, float]:
    env = {**os.environ, cpu_memory.ENV_VAR: keep, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True, cwd=ROOT)
    kept, faults = out.stdout.split()
    return kept == "True", float(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt's thresholds are glibc's")
def test_kept_memory_is_reused_without_page_faults():
    kept_on, faults_on = _faults_per_round("1")
    kept_off, faults_off = _faults_per_round("0")
    assert kept_on and not kept_off
    assert faults_off >= 1000  # glibc's starting thresholds: fresh pages every round ...
    assert faults_on <= faults_off / 100  # ... the kept memory is reused


def test_the_switch_accepts_only_0_and_1(monkeypatch):
    monkeypatch.setenv(cpu_memory.ENV_VAR, "yes")
    with pytest.raises(ValueError, match=cpu_memory.ENV_VAR):
        cpu_memory._wanted()
    monkeypatch.setenv(cpu_memory.ENV_VAR, "0")
    assert not cpu_memory._wanted()
    monkeypatch.delenv(cpu_memory.ENV_VAR)
    assert cpu_memory._wanted()
