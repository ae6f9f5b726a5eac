"""PyOD's unsupervised detectors behind the suite's contract, registered from one table.

They ignore ``y``: every collected anomaly is treated as one more unlabelled training sample, so
these rows are the gamma_l = 0 (purely unsupervised) reference of every experiment, and an
``eval_set`` is ignored too (no selection: PyOD's defaults). Images are flattened to vectors.

One generic class, :class:`PyODDetector`, holds the logic; each row of ``PYOD_DETECTORS``
becomes a registered subclass (``pyod-iforest`` ...) that fixes the PyOD class and its default
keyword arguments. Constructor parameters of every subclass:

- ``params``: extra keyword arguments for the PyOD class (``None``: its defaults; they override
  the row's defaults; unknown names are an error listing the valid ones);
- ``random_state``: passed to the PyOD class when it takes one; every fit and scoring also runs
  with numpy's and torch's global generators seeded from it and restored afterwards, because
  some PyOD models (DeepSVDD) draw from the global generators;
- ``max_train``: fit on a seeded subsample of at most this many rows (``None``: all), for the
  models whose cost grows with n² (OCSVM, KDE) on the largest tables (:mod:`.subsample`);
- ``contamination``.

``pyod-ecod`` scores depend on the other rows of the batch being scored: upstream ECOD pools the
scored batch with the training data when it estimates its tail probabilities, so a sample's score
changes with its companions (score test sets in one call for comparable numbers).

Rows whose PyOD class cannot be imported here (a missing optional dependency) are not
registered; :data:`UNAVAILABLE` says why.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator

import numpy as np

from .base import SemiSupervisedDetector
from .params import Interval, IsNone
from .registry import register
from .subsample import limit_training_rows
from .torch_utils import seed_from


@dataclass(frozen=True)
class PyODRow:
    """One registered detector: the PyOD class (dotted path), its defaults, its fast test settings."""

    class_path: str
    defaults: dict = field(default_factory=dict)
    test_kwargs: dict = field(default_factory=dict)


# name -> (PyOD class, default kwargs, test kwargs). Defaults are PyOD's own unless noted.
PYOD_DETECTORS: dict[str, PyODRow] = {
    "pyod-iforest": PyODRow("pyod.models.iforest.IForest", {}, {"n_estimators": 20}),
    "pyod-ocsvm": PyODRow("pyod.models.ocsvm.OCSVM", {}, {}),
    "pyod-kde": PyODRow("pyod.models.kde.KDE", {}, {}),
    "pyod-ecod": PyODRow("pyod.models.ecod.ECOD", {}, {}),
    # verbose=0: PyOD prints every epoch by default. n_features is filled in at fit time.
    "pyod-deepsvdd": PyODRow("pyod.models.deep_svdd.DeepSVDD", {"verbose": 0}, {"epochs": 2, "batch_size": 64}),
}
INJECTED_AT_FIT = ("n_features",)  # keyword arguments the adapter derives from the data

UNAVAILABLE: dict[str, str] = {}


class _DictOrNone:
    def accepts(self, value: Any) -> bool:
        return value is None or (isinstance(value, dict) and all(isinstance(k, str) for k in value))

    def __str__(self) -> str:
        return "a dict of keyword arguments or None"


def _load_class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@contextlib.contextmanager
def isolated_global_rngs(seed: int) -> Iterator[None]:
    """Seed numpy's and torch's global generators for the block, then restore both."""
    import torch

    state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            np.random.seed(seed % 2**32)
            yield
    finally:
        np.random.set_state(state)


class PyODDetector(SemiSupervisedDetector):
    """A PyOD detector (``pyod_class_path``) fitted on flattened inputs, labels ignored."""

    pyod_class_path: ClassVar[str] = ""
    pyod_defaults: ClassVar[dict] = {}
    test_params: ClassVar[dict] = {}
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "params": [_DictOrNone()],
        "random_state": [Interval(numbers.Integral, 0, None), IsNone()],
        "max_train": [Interval(numbers.Integral, 1, None), IsNone()],
    }

    def __init__(self, *, params: dict | None = None, random_state: int | None = None, max_train: int | None = None,
                 contamination: float = 0.1):
        self.params = params
        self.random_state = random_state
        self.max_train = max_train
        self.contamination = contamination

    def _pyod_kwargs(self, n_features: int, accepted: set[str]) -> dict:
        kwargs = {**self.pyod_defaults, **(self.params or {})}
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise ValueError(f"{self.pyod_class_path} has no parameter(s) {unknown}; its parameters are "
                             f"{sorted(accepted - set(INJECTED_AT_FIT))}")
        if "n_features" in accepted:
            kwargs["n_features"] = n_features
        if "random_state" in accepted and "random_state" not in kwargs:
            kwargs["random_state"] = self.random_state
        if "contamination" in accepted:
            kwargs["contamination"] = self.contamination
        return kwargs

    def _fit(self, X: np.ndarray, y: np.ndarray, eval_set: tuple[np.ndarray, np.ndarray] | None) -> None:
        self.seed_ = seed_from(self.random_state)
        # Labels are ignored, so every row counts as unlabelled for the subsample.
        Xf, _, subsampled_from = limit_training_rows(X.reshape(len(X), -1), np.zeros(len(X)), self.max_train, self.seed_)
        if subsampled_from is not None:
            self.fit_info_["subsampled_from"] = subsampled_from
        klass = _load_class(self.pyod_class_path)
        accepted = set(inspect.signature(klass.__init__).parameters) - {"self"}
        with isolated_global_rngs(self.seed_):
            self.model_ = klass(**self._pyod_kwargs(Xf.shape[1], accepted)).fit(Xf)
        self.fit_info_.update({"pyod_class": self.pyod_class_path, "labels_used": False,
                               "eval_set_used": False})

    def _score(self, X: np.ndarray) -> np.ndarray:
        with isolated_global_rngs(self.seed_):
            return self.model_.decision_function(X.reshape(len(X), -1))


def _make_detector_class(name: str, row: PyODRow) -> type:
    """A registered subclass of PyODDetector for one table row, importable by its module path."""
    class_name = "PyOD" + row.class_path.rpartition(".")[2]
    cls = type(class_name, (PyODDetector,), {
        "__module__": __name__,
        "__qualname__": class_name,
        "__doc__": f"PyOD's {row.class_path.rpartition('.')[2]} (labels ignored: the gamma_l = 0 baseline). "
                   f"Default kwargs {row.defaults or 'PyOD’s'}; see the module docstring.",
        "pyod_class_path": row.class_path,
        "pyod_defaults": dict(row.defaults),
        "test_params": {"params": dict(row.test_kwargs)} if row.test_kwargs else {},
    })
    return register(name)(cls)


for _name, _row in PYOD_DETECTORS.items():
    try:
        _load_class(_row.class_path)
    except ImportError as _exc:
        UNAVAILABLE[_name] = f"{_row.class_path} cannot be imported: {_exc}"
        continue
    _cls = _make_detector_class(_name, _row)
    globals()[_cls.__name__] = _cls
