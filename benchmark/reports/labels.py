"""Names, orderings and caption phrases shared by every report.

Kept in one place so that a table, a figure and the reproduction check always spell a
detector, a dataset or a selection policy the same way, and so that matching our rows
against the paper's does not depend on how the runner capitalised a dataset name.
"""
from __future__ import annotations

import re
import sys
from typing import Iterable

#: The six ODDS sets of the paper's tabular table (docs/methods.md §3).
ODDS_DATASETS: tuple[str, ...] = ("arrhythmia", "cardio", "satellite", "satimage-2", "shuttle", "thyroid")

#: Column order of the paper's Table 1; detectors not listed follow in alphabetical order.
DETECTOR_ORDER: tuple[str, ...] = (
    "ssad-raw", "ssad-hybrid", "ss-dgm", "supervised", "deep-sad", "nda", "aad", "aa-bigan",
)

DETECTOR_LABELS: dict[str, str] = {
    "ssad-raw": "SSAD raw",
    "ssad-hybrid": "SSAD hybrid",
    "ss-dgm": "SS-DGM",
    "supervised": "Supervised",
    "deep-sad": "Deep SAD",
    "nda": "NDA",
    "aad": "AAD",
    "aa-bigan": "AA-BiGAN",
    "devnet": "DevNet",
    "prenet": "PReNet",
    "feawad": "FEAWAD",
    "xgbod": "XGBOD",
    # PyOD's unsupervised models through detectors.pyod_adapter
    "pyod-iforest": "iForest",
    "pyod-ocsvm": "OCSVM",
    "pyod-kde": "KDE",
    "pyod-ecod": "ECOD",
    "pyod-deepsvdd": "DeepSVDD (PyOD)",
}

DATASET_LABELS: dict[str, str] = {
    "mnist": "MNIST",
    "fmnist": "F-MNIST",
    "cifar10": "CIFAR-10",
    "cifar10jpeg": "CIFAR-10 (JPEG)",
}

#: Image datasets first, in the paper's order, then ODDS in the paper's order.
DATASET_ORDER: tuple[str, ...] = ("mnist", "fmnist", "cifar10", "cifar10jpeg") + ODDS_DATASETS

#: What each selection policy means, for captions (docs/methods.md §2, "Model selection").
POLICY_DESCRIPTIONS: dict[str, str] = {
    "paper": "epoch/score chosen on a validation set drawn from the test split, as in the AA-BiGAN code",
    "oracle-10": "hyperparameters tuned on a stratified 10% of the test set, as in the Deep SAD paper",
    "strict": "no test label used for model selection",
}


def canonical_dataset(name: str) -> str:
    """Return a spelling-independent key, so 'Fashion-MNIST', 'fmnist' and 'F-MNIST' match."""
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    aliases = {"fashionmnist": "fmnist", "fmnist": "fmnist", "cifar": "cifar10", "satimage2": "satimage-2"}
    return aliases.get(key, key)


def dataset_label(name: str) -> str:
    """Human label for a dataset, falling back to the name the runner used."""
    return DATASET_LABELS.get(canonical_dataset(name), str(name))


def detector_label(method: str) -> str:
    """Human label for a method (a detector, possibly with a parameter suffix).

    Built-in detectors have their labels here; any other registered detector (a user's plugin)
    may set ``display_name`` on its class. Otherwise the registry name is shown.
    """
    base, sep, rest = str(method).partition("[")
    label = DETECTOR_LABELS.get(base) or _registered_display_name(base) or base
    return label + (sep + rest if sep else "")


def _registered_display_name(name: str) -> str:
    """A plugin's ``display_name``, looked up only if the registry is already imported (no torch import here)."""
    lookup = getattr(sys.modules.get("detectors.registry"), "registered_display_name", None)
    return lookup(name) if lookup is not None else ""


def order_methods(methods: Iterable[str]) -> list[str]:
    """Sort methods as the paper's columns, unknown ones alphabetically after them."""
    def key(m: str) -> tuple[int, str]:
        base = str(m).partition("[")[0]
        rank = DETECTOR_ORDER.index(base) if base in DETECTOR_ORDER else len(DETECTOR_ORDER)
        return rank, str(m)
    return sorted(set(methods), key=key)


def order_datasets(datasets: Iterable[str]) -> list[str]:
    """Sort datasets as the paper does, unknown ones alphabetically after them."""
    order = list(DATASET_ORDER)

    def key(d: str) -> tuple[int, str]:
        c = canonical_dataset(d)
        return (order.index(c) if c in order else len(order)), str(d)
    return sorted(set(datasets), key=key)


def is_tabular(dataset: str, normal_class: int) -> bool:
    """ODDS sets have no classes (normal_class -1); the name check guards a runner slip."""
    return canonical_dataset(dataset) in ODDS_DATASETS or int(normal_class) < 0


def format_gamma(value: float) -> str:
    """Write a ratio the way the paper does ('.05'), so row labels match its tables."""
    text = f"{value:.2f}" if round(value, 2) == value else f"{value:g}"
    return text[1:] if text.startswith("0.") else text
