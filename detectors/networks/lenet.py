"""The LeNet-type encoders and decoders of Deep SAD (Ruff et al., ICLR 2020) for the image sets.

Deep SAD's network φ must have no bias terms and no bounded activations: with a bias, a network
can map every input to the centre c and reach zero loss without learning anything (the
"hypersphere collapse" of Deep SVDD). Hence every layer here is bias-free and every BatchNorm is
without affine parameters (its shift would be a bias). The decoders mirror the encoders with
nearest-neighbour ×2 upsampling followed by 5x5 transposed convolutions and a sigmoid, because
the images are in [0, 1]. The same networks serve the supervised classifier, the SSAD hybrid (via
the autoencoder) and AA-BiGAN's CIFAR-10 nets.

Two steps are computed in an equivalent form that does less work, each the same function of the
inputs and weights up to float rounding (``tests/test_deep_sad.py`` compares them in float64):
the encoders max-pool before their activation (:class:`_ConvStack`), and each upsampling of the
decoders is folded into the transposed convolution after it (:func:`_up_deconv`).

Shapes (representation size): MNIST 1x28x28 → 32, Fashion-MNIST 1x28x28 → 64, CIFAR-10 3x32x32 → 128.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Deep SAD's layer settings, in one place.
BN_EPS = 1e-4
LEAKY_SLOPE = 0.01
KERNEL = 5
UPSAMPLE = 2
POOL = 2  # the encoders' max-pooling window and stride

REP_DIMS = {"mnist": 32, "fmnist": 64, "cifar10": 128}


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, affine=False)


def _bn1d(features: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(features, eps=BN_EPS, affine=False)


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    """5x5 'same' convolution without bias."""
    return nn.Conv2d(c_in, c_out, KERNEL, padding=KERNEL // 2, bias=False)


def _deconv(c_in: int, c_out: int, padding: int = KERNEL // 2) -> nn.ConvTranspose2d:
    """5x5 transposed convolution without bias; padding 2 keeps the size, padding 3 shrinks it by 2."""
    return nn.ConvTranspose2d(c_in, c_out, KERNEL, padding=padding, bias=False)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAKY_SLOPE)


def _upsampling_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The 6x6 kernel of the stride-2 transposed convolution equal to ×2 nearest-neighbour
    upsampling followed by the stride-1 transposed convolution with the 5x5 ``weight``.

    Upsampling repeats each input pixel at offsets 0 and 1 along each axis, so the pixel reaches
    output offset ``b`` through weights ``b`` and ``b - 1``: K[b, c] is the sum of
    ``weight[b - i, c - j]`` over i, j in {0, 1} (zero outside the 5x5 kernel).
    """
    padded = F.pad(weight, (1, 1, 1, 1))
    return padded[..., 1:, 1:] + padded[..., :-1, 1:] + padded[..., 1:, :-1] + padded[..., :-1, :-1]


def _up_deconv(x: torch.Tensor, deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """``deconv(upsample_x2_nearest(x))`` as one stride-2 transposed convolution.

    The same function of ``x`` and of ``deconv.weight`` (the parameters, their initialisation and
    the state dict are those of ``deconv``). It never builds the upsampled tensor and does 36
    multiply-adds per input pixel and channel pair instead of 4 x 25. With an even padding the
    stride-2 transposed convolution runs in its sub-pixel form (:func:`_subpixel_transposed_conv`).
    """
    weight = _upsampling_kernel(deconv.weight)
    padding = deconv.padding[0]
    if padding % 2 == 0:
        return _subpixel_transposed_conv(x, weight, padding)
    return F.conv_transpose2d(x, weight, stride=UPSAMPLE, padding=padding)


def _phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """The stride-2 transposed convolution with the 6x6 ``weight`` (c_in, c_out, 6, 6) split by
    output phase: an ordinary 3x3 convolution kernel (4 c_out, c_in, 3, 3) whose output channel
    ``4 o + 2 r + s`` is output channel ``o`` at rows of parity ``r`` and columns of parity ``s``.

    Output pixel 2q + r gathers input pixels q - t through tap r + 2t (t = 0, 1, 2); as a
    correlation over q - 2 ... q that is tap r + 2 (2 - j) at offset j, hence the flip.
    """
    c_in, c_out = weight.shape[:2]
    taps = weight.reshape(c_in, c_out, 3, 2, 3, 2).flip(2, 4)  # (i, o, t_row, r, t_col, s)
    return taps.permute(1, 3, 5, 0, 2, 4).reshape(4 * c_out, c_in, 3, 3)


def _subpixel_transposed_conv(x: torch.Tensor, weight: torch.Tensor, padding: int) -> torch.Tensor:
    """``F.conv_transpose2d(x, weight, stride=2, padding=padding)`` for a 6x6 ``weight`` and an even
    ``padding`` (0, 2 or 4), computed as one 3x3 convolution per output phase followed by a pixel
    shuffle (the sub-pixel form): the same multiply-adds, run by torch's ordinary convolution
    kernels. An odd padding would need a crop after the shuffle; :func:`_up_deconv` keeps the
    transposed convolution there.
    """
    if padding not in (0, 2, 4):
        raise ValueError(f"the sub-pixel form takes a padding of 0, 2 or 4; got {padding}")
    # the unpadded output has phase rows q = 0 ... size + 1; padding 2k drops k of them at each end
    return F.pixel_shuffle(F.conv2d(x, _phase_kernels(weight), padding=2 - padding // 2), UPSAMPLE)


class _ConvStack(nn.Module):
    """Conv → BN → leaky ReLU → 2x2 max-pool, repeated over ``channels``.

    Computed as conv → BN → max-pool → leaky ReLU: the leaky ReLU is increasing, so it commutes
    with the max; both orders give the same values and send the gradient to the same element of
    each window (the one exception: two negative inputs less than a rounding step apart can
    become equal after the ×0.01 and then tie). After the pool the activation touches a quarter
    of the elements.
    """

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(_conv(a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.bns = nn.ModuleList(_bn2d(b) for b in channels[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, bn in zip(self.convs, self.bns):
            x = _act(F.max_pool2d(bn(conv(x)), POOL))
        return x


class MNISTLeNetEncoder(nn.Module):
    """Conv(1→8) → Conv(8→4) → Linear(4·7·7 → 32)."""

    rep_dim = REP_DIMS["mnist"]

    def __init__(self):
        super().__init__()
        self.features = _ConvStack((1, 8, 4))
        self.fc = nn.Linear(4 * 7 * 7, self.rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


class MNISTLeNetDecoder(nn.Module):
    """32 → (2, 4, 4) → up 8 → ConvT(2→4) → up 16 → ConvT(4→8, shrinks to 14) → up 28 → ConvT(8→1) → sigmoid."""

    rep_dim = REP_DIMS["mnist"]

    def __init__(self):
        super().__init__()
        self.deconv1 = _deconv(self.rep_dim // 16, 4)
        self.bn1 = _bn2d(4)
        self.deconv2 = _deconv(4, 8, padding=3)
        self.bn2 = _bn2d(8)
        self.deconv3 = _deconv(8, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z.view(len(z), self.rep_dim // 16, 4, 4)
        x = _up_deconv(_act(x), self.deconv1)
        x = _up_deconv(_act(self.bn1(x)), self.deconv2)
        x = _up_deconv(_act(self.bn2(x)), self.deconv3)
        return torch.sigmoid(x)


class FMNISTLeNetEncoder(nn.Module):
    """Conv(1→16) → Conv(16→32) → Linear(32·7·7 → 128) + BN + leaky ReLU → Linear(128 → 64)."""

    rep_dim = REP_DIMS["fmnist"]

    def __init__(self):
        super().__init__()
        self.features = _ConvStack((1, 16, 32))
        self.fc1 = nn.Linear(32 * 7 * 7, 128, bias=False)
        self.bn = _bn1d(128)
        self.fc2 = nn.Linear(128, self.rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _act(self.bn(self.fc1(self.features(x).flatten(1))))
        return self.fc2(x)


class FMNISTLeNetDecoder(nn.Module):
    """64 → Linear(→128) + BN → (8, 4, 4) → up/ConvT(8→32) → up/ConvT(32→16, to 14) → up/ConvT(16→1) → sigmoid."""

    rep_dim = REP_DIMS["fmnist"]

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(self.rep_dim, 128, bias=False)
        self.bn0 = _bn1d(128)
        self.deconv1 = _deconv(128 // 16, 32)
        self.bn1 = _bn2d(32)
        self.deconv2 = _deconv(32, 16, padding=3)
        self.bn2 = _bn2d(16)
        self.deconv3 = _deconv(16, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.bn0(self.fc(z)).view(len(z), 128 // 16, 4, 4)
        x = _up_deconv(_act(x), self.deconv1)
        x = _up_deconv(_act(self.bn1(x)), self.deconv2)
        x = _up_deconv(_act(self.bn2(x)), self.deconv3)
        return torch.sigmoid(x)


class CIFAR10LeNetEncoder(nn.Module):
    """Conv 3→32→64→128 (each pooled) → 128·4·4 = 2048 → Linear(2048 → 128)."""

    rep_dim = REP_DIMS["cifar10"]

    def __init__(self):
        super().__init__()
        self.features = _ConvStack((3, 32, 64, 128))
        self.fc = nn.Linear(128 * 4 * 4, self.rep_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


class CIFAR10LeNetDecoder(nn.Module):
    """128 → (8, 4, 4) → ConvT(8→128) → up/ConvT(128→64) → up/ConvT(64→32) → up/ConvT(32→3) → sigmoid.

    Deep SAD's code initialises these transposed convolutions Xavier-uniform with the leaky-ReLU
    gain; done here too.
    """

    rep_dim = REP_DIMS["cifar10"]

    def __init__(self):
        super().__init__()
        self.deconv1 = _deconv(self.rep_dim // 16, 128)
        self.bn1 = _bn2d(128)
        self.deconv2 = _deconv(128, 64)
        self.bn2 = _bn2d(64)
        self.deconv3 = _deconv(64, 32)
        self.bn3 = _bn2d(32)
        self.deconv4 = _deconv(32, 3)
        gain = nn.init.calculate_gain("leaky_relu")
        for layer in (self.deconv1, self.deconv2, self.deconv3, self.deconv4):
            nn.init.xavier_uniform_(layer.weight, gain=gain)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.deconv1(_act(z.view(len(z), self.rep_dim // 16, 4, 4)))
        x = _up_deconv(_act(self.bn1(x)), self.deconv2)
        x = _up_deconv(_act(self.bn2(x)), self.deconv3)
        x = _up_deconv(_act(self.bn3(x)), self.deconv4)
        return torch.sigmoid(x)


ENCODERS: dict[str, type[nn.Module]] = {
    "mnist": MNISTLeNetEncoder,
    "fmnist": FMNISTLeNetEncoder,
    "cifar10": CIFAR10LeNetEncoder,
}
DECODERS: dict[str, type[nn.Module]] = {
    "mnist": MNISTLeNetDecoder,
    "fmnist": FMNISTLeNetDecoder,
    "cifar10": CIFAR10LeNetDecoder,
}
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {
    "mnist": (1, 28, 28),
    "fmnist": (1, 28, 28),
    "cifar10": (3, 32, 32),
}
