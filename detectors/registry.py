"""The detector registry: a name on the command line maps to one class.

Adding a detector is one module with ``@register("name")`` on its class. A user's own module is
imported with :func:`load_plugin` (the command line's ``--plugin``), after which its names work
everywhere a built-in name does.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

_REGISTRY: dict[str, type] = {}
_IMPORT_ERRORS: dict[str, str] = {}


class DuplicateNameError(ValueError):
    """A second class tried to register a name that is taken; the message is one line."""

# Modules of the suite that register detectors; imported on first use so that a missing optional
# dependency of one detector does not stop the others.
BUILTIN_MODULES = (
    "detectors.deep_sad",
    "detectors.supervised",
    "detectors.aa_bigan",
    "detectors.ssad",
    "detectors.ss_dgm",
    "detectors.nda",
    "detectors.aad",
    "detectors.pyod_adapter",
    "detectors.xgbod",
    "detectors.devnet",
    "detectors.prenet",
    "detectors.feawad",
)
_builtins_loaded = False


def register(name: str) -> Callable[[type], type]:
    """Class decorator: make ``cls`` available under ``name``."""

    def decorate(cls: type) -> type:
        # Built-ins first: a user's module that reuses a built-in name must be the one refused
        # (with a message about its own class), not the built-in module imported after it.
        _load_builtins()
        existing = _REGISTRY.get(name)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise DuplicateNameError(
                f"detector name {name!r} of {cls.__module__}.{cls.__qualname__} is already registered by module "
                f"{existing.__module__} (class {existing.__qualname__}); rename yours, e.g. @register('my-{name}')")
        cls.registry_name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for module in BUILTIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only a module that does not exist yet (or a missing optional dependency) is skipped;
            # any other error inside a detector module is a bug and must surface.
            if exc.name == module or (exc.name and not exc.name.startswith("detectors")):
                _IMPORT_ERRORS[module] = str(exc)
            else:
                raise


def available_detectors() -> list[str]:
    """Sorted names of every registered detector."""
    _load_builtins()
    return sorted(_REGISTRY)


def import_errors() -> dict[str, str]:
    """Built-in modules that could not be imported, with the reason."""
    _load_builtins()
    return dict(_IMPORT_ERRORS)


def get_detector_class(name: str) -> type:
    """The class registered as ``name``; an unknown name is answered with the valid ones."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown detector {name!r}; registered detectors: {', '.join(sorted(_REGISTRY))}") from None


def registered_display_name(name: str) -> str:
    """The ``display_name`` of the class registered as ``name``, or "" (never imports anything).

    Reports call it for detectors they have no label for, such as a user's plugin: the plugin is
    registered in the process that builds the reports (``--plugin`` is loaded first).
    """
    cls = _REGISTRY.get(name)
    return str(getattr(cls, "display_name", "") or "") if cls is not None else ""


def make_detector(name: str, **params: Any):
    """Build the detector ``name`` with ``params`` (unknown parameters are an error)."""
    cls = get_detector_class(name)
    valid = set(cls().get_params())
    unknown = sorted(set(params) - valid)
    if unknown:
        raise ValueError(f"detector {name!r} has no parameter(s) {unknown}; its parameters are {sorted(valid)}")
    return cls(**params)


def load_plugin(spec: str) -> None:
    """Import a user's module (a dotted name or a path to a .py file) so its detectors register.

    Loading the same file twice is a no-op, so every job of a worker process may call it.
    """
    path = Path(spec)
    if spec.endswith(".py"):
        if not path.is_file():
            raise FileNotFoundError(f"plugin file {spec!r} does not exist")
        module_name = f"aabench_plugin_{path.stem}"
        if module_name in sys.modules:
            return
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]  # a failed import must not pass for a loaded plugin next time
            raise
    else:
        importlib.import_module(spec)
