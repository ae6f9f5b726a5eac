"""What a plugin author gets: a display name in tables, and the contract tests on their detector."""
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
# distance to the training mean: the norm-like score the contract's learning task defeats
MEAN_DISTANCE = "np.linalg.norm(X.reshape(len(X), -1) - self.center_, axis=1)"
CONSTANT = "np.zeros(len(X))"


def contributing_example() -> str:
    """The detector module CONTRIBUTING.md shows, as a user would copy it."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    return text.split("```python\n", 1)[1].split("```", 1)[0]


def contract(tmp_path, name: str, source: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(source)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_detector_contract.py", "--plugin", str(path), "-k", name],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def test_the_contributing_example_passes_the_contract(tmp_path):
    good = contract(tmp_path, "pca-residual", contributing_example())
    assert good.returncode == 0, good.stdout[-2000:]
    assert " passed" in good.stdout and "deselected" in good.stdout


def test_the_contract_rejects_a_plugin_that_does_not_learn(tmp_path):
    """Constant scores, and distance to the training mean (which does not find the contract's anomalies)."""
    for name, score in [("plug-constant", CONSTANT), ("plug-mean", MEAN_DISTANCE)]:
        result = contract(tmp_path, name, PLUGIN.format(name=name, score=score))
        assert result.returncode == 1, result.stdout[-2000:]
        assert f"FAILED tests/test_detector_contract.py::test_learns_on_most_seeds[{name}]" in result.stdout


def test_a_plugin_display_name_is_used_in_reports(tmp_path):
    from benchmark.reports.labels import detector_label
    from detectors import load_plugin

    path = tmp_path / "plug_label.py"
    path.write_text(PLUGIN.format(name="plug-label", score=MEAN_DISTANCE))
    assert detector_label("plug-label") == "plug-label"  # not registered yet: its registry name
    load_plugin(str(path))
    assert detector_label("plug-label") == "Plugged In"
    assert detector_label("plug-label[epochs:2]") == "Plugged In[epochs:2]"
    assert detector_label("deep-sad") == "Deep SAD"
    assert detector_label("pyod-iforest") == "iForest"
