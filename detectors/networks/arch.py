"""Which network family a detector builds for a given dataset, in one place.

The runner passes ``arch=<dataset's arch>`` ("mnist", "fmnist", "cifar10", or an ODDS set's
name); ``"auto"`` guesses from the input shape. MNIST and Fashion-MNIST share a shape but not a
network in the Deep SAD paper, so the runner's explicit value matters there.
"""
from __future__ import annotations

IMAGE_ARCHS = ("mnist", "fmnist", "cifar10")

# Deep SAD's MLP sizes for the ODDS sets: (hidden layers, representation size), docs/methods.md §5.
ODDS_MLP_SIZES: dict[str, tuple[tuple[int, ...], int]] = {
    "arrhythmia": ((128, 64), 32),
    "cardio": ((32, 16), 8),
    "satellite": ((32, 16), 8),
    "satimage-2": ((32, 16), 8),
    "shuttle": ((32, 16), 8),
    "thyroid": ((32, 16), 4),
}


def resolve_arch(arch: str, input_shape: tuple[int, ...]) -> str:
    """The concrete arch name: an image family, an ODDS set's name, or "mlp" for other tables."""
    if arch != "auto":
        if len(input_shape) == 3 and arch not in IMAGE_ARCHS:
            raise ValueError(f"arch {arch!r} is not an image network; use one of {IMAGE_ARCHS} for images of shape {input_shape}")
        if len(input_shape) == 1 and arch in IMAGE_ARCHS:
            raise ValueError(f"arch {arch!r} needs images, but the data is tabular with {input_shape[0]} features")
        return arch
    if len(input_shape) == 1:
        return "mlp"
    if tuple(input_shape) == (1, 28, 28):
        return "mnist"
    if tuple(input_shape) == (3, 32, 32):
        return "cifar10"
    raise ValueError(f"no image network for inputs of shape {input_shape}; supported: 1x28x28 (MNIST-like) and 3x32x32")


def mlp_sizes(arch: str, n_features: int) -> tuple[tuple[int, ...], int]:
    """Hidden sizes and representation size of the tabular MLP for ``arch``."""
    if arch in ODDS_MLP_SIZES:
        return ODDS_MLP_SIZES[arch]
    hidden = max(16, min(128, n_features))
    return (hidden, max(8, hidden // 2)), max(4, hidden // 4)
