"""What a plugin author gets (issue 15): a display name in tables, and the contract tests on their detector."""
from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

PLUGIN = '''
from typing import ClassVar

import numpy as np

from detectors import SemiSupervisedDetector, register


@register("{name}")
class Plugged(SemiSupervisedDetector):
    """A user's detector."""

    test_params: ClassVar[dict] = {{}}
    display_name: ClassVar[str] = "Plugged In"

    def __init__(self, *, contamination: float = 0.1):
        self.contamination = contamination

    def _fit(self, X, y, eval_set):
        self.center_ = X[y == 0].reshape((y == 0).sum(), -1).mean(axis=0)

    def _score(self, X):
        return {score}
'''
GOOD = "np.linalg.norm(X.reshape(len(X), -1) - self.center_, axis=1)"
BAD = "np.zeros(len(X))"  # constant scores: the contract must reject it


def contract(tmp_path, name: str, score: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(PLUGIN.format(name=name, score=score))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_detector_contract.py", "--plugin", str(path), "-k", name],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_contract_tests_run_on_a_users_plugin(tmp_path):
    good = contract(tmp_path, "plug-good", GOOD)
    assert good.returncode == 0, good.stdout[-2000:]
    assert " passed" in good.stdout and "deselected" in good.stdout
    bad = contract(tmp_path, "plug-bad", BAD)
    assert bad.returncode == 1 and "plug-bad" in bad.stdout


def test_a_plugin_display_name_is_used_in_reports(tmp_path):
    from benchmark.reports.labels import detector_label
    from detectors import load_plugin

    path = tmp_path / "plug_label.py"
    path.write_text(PLUGIN.format(name="plug-label", score=GOOD))
    assert detector_label("plug-label") == "plug-label"  # not registered yet: its registry name
    load_plugin(str(path))
    assert detector_label("plug-label") == "Plugged In"
    assert detector_label("plug-label[epochs:2]") == "Plugged In[epochs:2]"
    assert detector_label("deep-sad") == "Deep SAD"
    assert detector_label("pyod-iforest") == "iForest"
