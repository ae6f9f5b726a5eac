"""Detectors of the suite: the contract, the registry and one module per detector."""
from .base import SemiSupervisedDetector
from .errors import DivergenceError, NotApplicableError
from .registry import DuplicateNameError, available_detectors, get_detector_class, import_errors, load_plugin, make_detector, register
from .torch_base import TorchDetector

__all__ = [
    "SemiSupervisedDetector",
    "TorchDetector",
    "DivergenceError",
    "NotApplicableError",
    "DuplicateNameError",
    "available_detectors",
    "get_detector_class",
    "import_errors",
    "load_plugin",
    "make_detector",
    "register",
]
