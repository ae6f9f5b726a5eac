"""Build Deep SAD's encoder or decoder for a resolved arch name and an input shape.

``arch`` is what :func:`detectors.networks.arch.resolve_arch` returned: "mnist", "fmnist",
"cifar10" (LeNet-type convolutional nets) or an ODDS set's name / "mlp" (MLPs sized by
:func:`detectors.networks.arch.mlp_sizes`). The encoder's output is the flat representation.
"""
from __future__ import annotations

import math
from typing import Sequence

from torch import nn

from .arch import IMAGE_ARCHS, mlp_sizes
from .lenet import DECODERS, ENCODERS, INPUT_SHAPES
from .mlp import MLPDecoder, MLPEncoder


def _check_image_shape(arch: str, input_shape: Sequence[int]) -> None:
    expected = INPUT_SHAPES[arch]
    if tuple(input_shape) != expected:
        raise ValueError(f"arch {arch!r} builds a network for inputs of shape {expected}; got {tuple(input_shape)}")


def build_encoder(arch: str, input_shape: Sequence[int]) -> nn.Module:
    """The encoder φ: input of ``input_shape`` → flat representation of size ``module.rep_dim``."""
    if arch in IMAGE_ARCHS:
        _check_image_shape(arch, input_shape)
        return ENCODERS[arch]()
    n_features = math.prod(input_shape)
    hidden, rep_dim = mlp_sizes(arch, n_features)
    return MLPEncoder(n_features, hidden, rep_dim)


def build_decoder(arch: str, input_shape: Sequence[int]) -> nn.Module:
    """The mirrored decoder: representation → tensor of shape (n, *input_shape), values in (0, 1)."""
    if arch in IMAGE_ARCHS:
        _check_image_shape(arch, input_shape)
        return DECODERS[arch]()
    n_features = math.prod(input_shape)
    hidden, rep_dim = mlp_sizes(arch, n_features)
    if len(tuple(input_shape)) != 1:
        raise ValueError(f"the MLP decoder reconstructs flat tables; got input shape {tuple(input_shape)}")
    return MLPDecoder(n_features, hidden, rep_dim)
