"""The networks of AA-BiGAN (docs/methods.md §4): encoder E, generator G, the pair discriminator D_xz and
the image-pair discriminator D_xx, for images (MNIST / F-MNIST, CIFAR-10) and for tables (ODDS).

Images enter these nets at 32x32 with values in [0, 1] (the detector resizes 28x28 inputs);
generators end in a sigmoid.

MNIST / F-MNIST (latent 100), the layers of the AA-BiGAN public code with torch's defaults (biases
on, BatchNorm affine with eps 1e-5, default initialisation): G = ConvT(100→128, k4, s1) then
ConvT 128→64→32→1 (k4, s2, p1), each but the last with BN + ReLU, sigmoid output; E = Conv(1→32,
k3, s2, p1) + LReLU(.1), then 32→64→128→256→512 (k3, s2, p1) + BN + LReLU(.1) down to 1x1 and
Linear(512→100); the image tower of the discriminators is Conv(1→64, k4, s2, p1) + LReLU(.1) and
three Conv(64→64, k4, s2, p1) + BN + LReLU(.1), 256 features; D_xz joins it with a z branch
Linear(100→512) in a head Linear(768→1024) + LReLU(.1) → Linear(1024→1), D_xx joins two unshared
towers in Linear(512→1024) + LReLU(.1) → Linear(1024→1).

CIFAR-10 (latent 128), built like Deep SAD's CIFAR-10 LeNet, as in the AA-BiGAN public code:
E and G are :class:`~detectors.networks.lenet.CIFAR10LeNetEncoder` and
:class:`~detectors.networks.lenet.CIFAR10LeNetDecoder` themselves, and each image tower is that
encoder's convolution stack (5x5 convolutions 3→32→64→128, each + BN + LReLU(.01) + 2x2 max-pool,
2048 features). So no convolution, transposed convolution or E's final Linear has a bias, no
BatchNorm has affine parameters (eps 1e-4), and G's transposed convolutions are Xavier-uniform
initialised with the leaky-ReLU gain. Only D's linear layers keep their biases: D_xz's z branch
Linear(128→512) (no activation) and the heads, Linear(2560→1024) + LReLU(.2) → Linear(1024→1) for
D_xz and Linear(4096→1024) + LReLU(.1) → Linear(1024→1) for D_xx.

Public builders (the NDA detector imports the generator and the image tower so that its nets
match these):

- ``build_generator(arch, input_shape, latent_dim)``   z (n, latent) -> x (n, *input_shape)
- ``build_encoder(arch, input_shape, latent_dim)``     x -> z
- ``build_image_tower(arch, in_channels)``              x -> flat features; ``.out_features``
- ``build_xz_discriminator(arch, input_shape, latent_dim)`` (x, z) -> (n,) raw value
- ``build_xx_discriminator(arch, input_shape)``         (x, x') -> (n,) raw value
- the MLP equivalents ``build_mlp_generator``, ``build_mlp_encoder``, ``build_mlp_tower``,
  ``build_mlp_xz_discriminator``, ``build_mlp_xx_discriminator`` (sizes from
  :func:`detectors.networks.arch.mlp_sizes`).

Tabular design (no public reference exists; our choice, in the spirit of the image nets):
with hidden widths ``d -> [h1, h2] -> r`` (default Deep SAD's MLP sizes for the set, which the
design study of ``python -m experiments.aa_bigan_tabular_study`` kept against (128, 64); any list through
:class:`MLPOptions`) the encoder is Linear(d,h1)+LReLU(.1) then
Linear(h1,h2)+BN+LReLU(.1) then Linear(h2,r) (first layer without BN, like the conv encoder);
the generator mirrors it with ReLU and BN, Linear(r,h2)+BN+ReLU, Linear(h2,h1)+BN+ReLU,
Linear(h1,d)+Sigmoid (ODDS data are min-max scaled to [0, 1]); ``MLPOptions.batchnorm=False``
drops the BN layers of both. The x tower of the
discriminators is the encoder's hidden stack without BatchNorm (d -> h1 -> h2, LReLU(.1)). Why no
BN there: every group of pairs (normal, anomalous, generated) passes D in its own call, so a
train-mode BN normalises each group by its own batch statistics and D's value on a pair depends
on its batch; with the few features of a table this visibly separated D's train-mode and
eval-mode values (anomaly pairs at ~0.5 in training, ~0.04 in eval mode on a synthetic task).
The image towers keep the BN of the public code;
D_xz joins it with a linear z branch Linear(r, h2) and a head Linear(2 h2, 2 h1)+LReLU(.1) ->
Linear(1); D_xx joins two unshared towers with the same head shape. The image nets have the
same structure (tower, linear z branch, one wide hidden head layer).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from .arch import mlp_sizes
from .lenet import CIFAR10LeNetDecoder, CIFAR10LeNetEncoder

# -- configuration (docs/methods.md §4) ---------------------------------------------------------
IMAGE_SIZE = 32
LATENT_DIM = {"mnist": 100, "fmnist": 100, "cifar10": 128}
CHANNELS = {"mnist": 1, "fmnist": 1, "cifar10": 3}
LRELU_SLOPE = 0.1           # MNIST-family E and towers; the D heads unless set below
XZ_HEAD_SLOPE = {"cifar10": 0.2}  # D_xz's head LReLU where it is not LRELU_SLOPE
HEAD_WIDTH = 1024           # hidden width of the D heads on images
Z_BRANCH_WIDTH = 512        # D_xz's linear z branch on images
# MNIST-family layer lists
MNIST_G_CHANNELS = (128, 64, 32)            # ConvT 4x4 stack 1 -> 4 -> 8 -> 16 -> 32
MNIST_E_CHANNELS = (32, 64, 128, 256, 512)  # Conv 3x3 s2: 32 -> 16 -> 8 -> 4 -> 2 -> 1
MNIST_TOWER_CHANNELS = 64                   # Conv 4x4 s2: 32 -> 16 -> 8 -> 4 -> 2, 64*2*2 = 256
MNIST_TOWER_BN_LAYERS = 3
# CIFAR-10: Deep SAD's LeNet (lenet.py), 128 channels at 4x4 after its convolution stack
CIFAR_FLAT = 128 * 4 * 4                    # 2048


def latent_dim_for(arch: str, input_shape: tuple[int, ...]) -> int:
    """The paper's latent size: 100 for MNIST/F-MNIST, 128 for CIFAR-10, Deep SAD's rep size for MLPs."""
    if arch in LATENT_DIM:
        return LATENT_DIM[arch]
    return mlp_sizes(arch, int(input_shape[0]))[1]


def _check_image_arch(arch: str) -> None:
    if arch not in LATENT_DIM:
        raise ValueError(f"no AA-BiGAN image network for arch {arch!r}; use one of {sorted(LATENT_DIM)} or the MLP builders")


# -- image nets ----------------------------------------------------------------------------
class MLPOptions(NamedTuple):
    """The tabular design choices a caller may change (ignored for images): hidden widths of E, G
    and the D towers (None: Deep SAD's sizes for the set) and BatchNorm in E and G."""

    hidden: tuple[int, ...] | None = None
    batchnorm: bool = True


class _Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


def _mnist_generator(latent_dim: int, channels: int) -> nn.Sequential:
    c1, c2, c3 = MNIST_G_CHANNELS
    return nn.Sequential(
        _Reshape(latent_dim, 1, 1),
        nn.ConvTranspose2d(latent_dim, c1, 4, 1, 0), nn.BatchNorm2d(c1), nn.ReLU(True),  # 4x4
        nn.ConvTranspose2d(c1, c2, 4, 2, 1), nn.BatchNorm2d(c2), nn.ReLU(True),  # 8x8
        nn.ConvTranspose2d(c2, c3, 4, 2, 1), nn.BatchNorm2d(c3), nn.ReLU(True),  # 16x16
        nn.ConvTranspose2d(c3, channels, 4, 2, 1), nn.Sigmoid(),  # 32x32
    )


def _mnist_encoder(latent_dim: int, channels: int) -> nn.Sequential:
    widths = MNIST_E_CHANNELS
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 3, 2, 1), nn.LeakyReLU(LRELU_SLOPE, True)]
    for c_in, c_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(LRELU_SLOPE, True)]
    layers += [nn.Flatten(), nn.Linear(widths[-1], latent_dim)]
    return nn.Sequential(*layers)


def _check_cifar_sizes(channels: int, latent_dim: int = LATENT_DIM["cifar10"]) -> None:
    """Deep SAD's CIFAR-10 LeNet has fixed sizes: 3 input channels and a 128-dim code."""
    if channels != CHANNELS["cifar10"] or latent_dim != LATENT_DIM["cifar10"]:
        raise ValueError(f"the CIFAR-10 nets are Deep SAD's CIFAR-10 LeNet: {CHANNELS['cifar10']} channels and latent "
                         f"size {LATENT_DIM['cifar10']}; got {channels} channels and latent size {latent_dim}")


class ImageTower(nn.Sequential):
    """A discriminator's image feature stack, flattened; ``out_features`` is its width."""

    def __init__(self, *layers: nn.Module, out_features: int):
        super().__init__(*layers)
        self.out_features = out_features


def build_image_tower(arch: str, in_channels: int) -> ImageTower:
    """The image branch of D_xz and of each side of D_xx (32x32 inputs)."""
    _check_image_arch(arch)
    if arch == "cifar10":
        # the encoder's convolution stack; its final Linear is not part of the tower
        _check_cifar_sizes(in_channels)
        return ImageTower(CIFAR10LeNetEncoder().features, nn.Flatten(), out_features=CIFAR_FLAT)
    w = MNIST_TOWER_CHANNELS
    layers: list[nn.Module] = [nn.Conv2d(in_channels, w, 4, 2, 1), nn.LeakyReLU(LRELU_SLOPE, True)]
    for _ in range(MNIST_TOWER_BN_LAYERS):
        layers += [nn.Conv2d(w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.LeakyReLU(LRELU_SLOPE, True)]
    side = IMAGE_SIZE // 2 ** (1 + MNIST_TOWER_BN_LAYERS)
    return ImageTower(*layers, nn.Flatten(), out_features=w * side * side)


def build_generator(arch: str, input_shape: tuple[int, ...], latent_dim: int, mlp: MLPOptions | None = None
                    ) -> nn.Module:
    """G: z -> image of shape (C, 32, 32) in [0, 1]; for a tabular ``arch`` the MLP generator."""
    if len(input_shape) == 1:
        mlp = mlp or MLPOptions()
        return build_mlp_generator(arch, int(input_shape[0]), latent_dim, mlp.hidden, mlp.batchnorm)
    _check_image_arch(arch)
    channels = int(input_shape[0])
    if arch == "cifar10":
        _check_cifar_sizes(channels, latent_dim)
        return CIFAR10LeNetDecoder()
    return _mnist_generator(latent_dim, channels)


def build_encoder(arch: str, input_shape: tuple[int, ...], latent_dim: int, mlp: MLPOptions | None = None
                  ) -> nn.Module:
    """E: image (C, 32, 32) -> z; for a tabular ``arch`` the MLP encoder."""
    if len(input_shape) == 1:
        mlp = mlp or MLPOptions()
        return build_mlp_encoder(arch, int(input_shape[0]), latent_dim, mlp.hidden, mlp.batchnorm)
    _check_image_arch(arch)
    channels = int(input_shape[0])
    if arch == "cifar10":
        _check_cifar_sizes(channels, latent_dim)
        return CIFAR10LeNetEncoder()
    return _mnist_encoder(latent_dim, channels)


class XZDiscriminator(nn.Module):
    """D_xz(x, z): image/feature tower and a linear z branch, concatenated, then a 2-layer head."""

    def __init__(self, tower: nn.Module, tower_features: int, latent_dim: int, z_width: int, head_width: int,
                 head_slope: float):
        super().__init__()
        self.tower = tower
        self.z_branch = nn.Linear(latent_dim, z_width)
        self.head = nn.Sequential(nn.Linear(tower_features + z_width, head_width), nn.LeakyReLU(head_slope, True),
                                  nn.Linear(head_width, 1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.tower(x), self.z_branch(z)], dim=1)).squeeze(1)


class XXDiscriminator(nn.Module):
    """D_xx(x, x'): two unshared towers, concatenated, then a 2-layer head (ALICE-style)."""

    def __init__(self, tower_a: nn.Module, tower_b: nn.Module, tower_features: int, head_width: int,
                 head_slope: float):
        super().__init__()
        self.tower_a = tower_a
        self.tower_b = tower_b
        self.head = nn.Sequential(nn.Linear(2 * tower_features, head_width), nn.LeakyReLU(head_slope, True),
                                  nn.Linear(head_width, 1))

    def forward(self, x: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.pair(self.tower_a(x), self.tower_b(x2))

    def pair(self, features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
        """The head on tower features already computed: lets a caller run ``tower_a`` once for
        pairs that share their first image (same batch, hence the same BatchNorm statistics)."""
        return self.head(torch.cat([features_a, features_b], dim=1)).squeeze(1)


def build_xz_discriminator(arch: str, input_shape: tuple[int, ...], latent_dim: int, mlp: MLPOptions | None = None
                           ) -> XZDiscriminator:
    """D_xz for images (tower + Linear(latent, 512) + Linear(., 1024) + Linear(1024, 1)) or tables."""
    if len(input_shape) == 1:
        return build_mlp_xz_discriminator(arch, int(input_shape[0]), latent_dim, (mlp or MLPOptions()).hidden)
    tower = build_image_tower(arch, int(input_shape[0]))
    return XZDiscriminator(tower, tower.out_features, latent_dim, Z_BRANCH_WIDTH, HEAD_WIDTH,
                           XZ_HEAD_SLOPE.get(arch, LRELU_SLOPE))


def build_xx_discriminator(arch: str, input_shape: tuple[int, ...], mlp: MLPOptions | None = None) -> XXDiscriminator:
    """D_xx for images (two unshared towers + Linear(., 1024) + Linear(1024, 1)) or tables."""
    if len(input_shape) == 1:
        return build_mlp_xx_discriminator(arch, int(input_shape[0]), (mlp or MLPOptions()).hidden)
    channels = int(input_shape[0])
    a, b = build_image_tower(arch, channels), build_image_tower(arch, channels)
    return XXDiscriminator(a, b, a.out_features, HEAD_WIDTH, LRELU_SLOPE)


# -- MLP nets (tabular; design in the module docstring) ----------------------------------------
def _mlp_hidden(arch: str, n_features: int, hidden: tuple[int, ...] | None) -> tuple[int, ...]:
    """The hidden widths: ``hidden`` when given, else Deep SAD's sizes for ``arch``."""
    return tuple(int(h) for h in hidden) if hidden else tuple(mlp_sizes(arch, n_features)[0])


def build_mlp_encoder(arch: str, n_features: int, latent_dim: int, hidden: tuple[int, ...] | None = None,
                      batchnorm: bool = True) -> nn.Sequential:
    """d -> h1 (LReLU) -> ... -> h_k (BN, LReLU) -> latent; the first layer has no BN."""
    widths = _mlp_hidden(arch, n_features, hidden)
    layers: list[nn.Module] = [nn.Linear(n_features, widths[0]), nn.LeakyReLU(LRELU_SLOPE, True)]
    for w_in, w_out in zip(widths, widths[1:]):
        layers += [nn.Linear(w_in, w_out), *([nn.BatchNorm1d(w_out)] if batchnorm else []),
                   nn.LeakyReLU(LRELU_SLOPE, True)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], latent_dim))


def build_mlp_generator(arch: str, n_features: int, latent_dim: int, hidden: tuple[int, ...] | None = None,
                        batchnorm: bool = True) -> nn.Sequential:
    """The encoder's mirror: latent -> h_k -> ... -> h1 (each BN, ReLU) -> d (sigmoid)."""
    widths = (latent_dim, *reversed(_mlp_hidden(arch, n_features, hidden)))
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths, widths[1:]):
        layers += [nn.Linear(w_in, w_out), *([nn.BatchNorm1d(w_out)] if batchnorm else []), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], n_features), nn.Sigmoid())


def build_mlp_tower(arch: str, n_features: int, hidden: tuple[int, ...] | None = None) -> ImageTower:
    """The tabular counterpart of the image tower: d -> h1 -> ... -> h_k, LReLU(.1), no BatchNorm."""
    widths = (n_features, *_mlp_hidden(arch, n_features, hidden))
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths, widths[1:]):
        layers += [nn.Linear(w_in, w_out), nn.LeakyReLU(LRELU_SLOPE, True)]
    return ImageTower(*layers, out_features=widths[-1])


def build_mlp_xz_discriminator(arch: str, n_features: int, latent_dim: int,
                               hidden: tuple[int, ...] | None = None) -> XZDiscriminator:
    """Tower, a linear z branch as wide as the tower's output, a head of width 2 h1."""
    widths = _mlp_hidden(arch, n_features, hidden)
    return XZDiscriminator(build_mlp_tower(arch, n_features, widths), widths[-1], latent_dim, widths[-1],
                           2 * widths[0], LRELU_SLOPE)


def build_mlp_xx_discriminator(arch: str, n_features: int, hidden: tuple[int, ...] | None = None) -> XXDiscriminator:
    """Two unshared towers and a head of width 2 h1."""
    widths = _mlp_hidden(arch, n_features, hidden)
    return XXDiscriminator(build_mlp_tower(arch, n_features, widths), build_mlp_tower(arch, n_features, widths),
                           widths[-1], 2 * widths[0], LRELU_SLOPE)
