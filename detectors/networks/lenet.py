"""The LeNet-type encoders and decoders of Deep SAD (Ruff et al., ICLR 2020) for the image sets.

Deep SAD's network φ must have no bias terms and no bounded activations: with a bias, a network
can map every input to the centre c and reach zero loss without learning anything (the
"hypersphere collapse" of Deep SVDD). Hence every layer here is bias-free and every BatchNorm is
without affine parameters (its shift would be a bias). The decoders mirror the encoders with
nearest-neighbour ×2 upsampling followed by 5x5 transposed convolutions and a sigmoid, because
the images are in [0, 1]. Two steps are computed in an equivalent, cheaper form (issue 12):
each upsampling and the transposed convolution after it as one stride-2 transposed convolution
(:func:`_up_deconv`; with an even padding in its sub-pixel form, ordinary 3x3 convolutions and
a pixel shuffle), and the encoders' max-pool before their activation (:class:`_ConvStack`). The same networks serve the supervised classifier, the SSAD hybrid (via
the autoencoder) and AA-BiGAN's CIFAR-10 nets.

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
    the state dict are those of ``deconv``); the values differ only by float rounding (1e-14 in
    float64, ``tests/test_deep_sad.py``). It never builds the upsampled tensor and does 36
    multiply-adds per input pixel and channel pair instead of 4 x 25. Measured on one CPU
    thread, an MNIST autoencoder step (batch 128, channels-last) takes 0.87-0.93 of the time of
    upsampling followed by the convolution; with the default layout, 0.70. With an even padding
    the stride-2 transposed convolution itself runs in its sub-pixel form
    (:func:`_subpixel_transposed_conv`).
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
    shuffle (the sub-pixel form).

    The same values up to float rounding (``tests/test_deep_sad.py`` compares in float64). Why:
    oneDNN's ordinary convolutions are faster on CPU than its transposed ones at these few
    channels. Forward and backward on one idle CPU thread, batch 128, channels-last: the MNIST
    decoder's last layer (8 -> 1 channels, 14 -> 28 pixels) 2.6 ms against 5.9 ms, its first
    0.7 against 1.3; CIFAR-10's last 8.9 against 20.0. An odd padding would need a crop after the
    shuffle, which leaves the output out of channels-last order and was slower (Fashion-MNIST's
    middle layer 13.3 ms against 8.7), so :func:`_up_deconv` keeps the transposed convolution there.
    """
    if padding not in (0, 2, 4):
        raise ValueError(f"the sub-pixel form takes a padding of 0, 2 or 4; got {padding}")
    # the unpadded output has phase rows q = 0 ... size + 1; padding 2k drops k of them at each end
    return F.pixel_shuffle(F.conv2d(x, _phase_kernels(weight), padding=2 - padding // 2), UPSAMPLE)


def _inside_functorch(x: torch.Tensor) -> bool:
    """Whether ``x`` is wrapped by a ``torch.func`` transform (``vmap`` of the stacked trainers), where
    a custom autograd function without a vmap rule cannot run."""
    check = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(check is not None and check(x))


class _BatchNormMaxPool(torch.autograd.Function):
    """Training-mode BatchNorm (no affine parameters) followed by 2x2 max-pooling, normalising only
    the pooled quarter, with a backward pass that works on that quarter.

    BatchNorm's normalisation is increasing in each channel, so it commutes with the max: the
    forward pass takes the batch statistics (and updates the running ones) with the native
    kernel, pools the raw maps and normalises the pooled values. The backward pass uses that
    pooling sends each output's gradient to one input: the BatchNorm gradient
    invstd (G - mean(G) - x̂ mean(G x̂)) needs the sums of G and G x̂ over each channel, and G is
    zero outside the selected elements, where x̂ is the pooled output; so both sums run over the
    pooled gradient, and the full-size work is one multiply-add and the scatter. The same
    function as BatchNorm then pooling up to float rounding (``tests/test_deep_sad.py`` compares
    values, gradients and running statistics in float64). Why: the native BatchNorm kernels on
    channels-last maps vectorise over the channels, and 4 to 16 channels fill less than one
    vector; on one idle CPU thread, forward and backward of Deep SAD's first MNIST layer
    (batch 128, 8 x 28 x 28) took 0.78 of the native time, 16 x 28 x 28 (Fashion-MNIST) 0.58,
    CIFAR-10's layers 0.75-0.93 (first version, which normalised the whole map).
    """

    @staticmethod
    def forward(ctx, x, running_mean, running_var, momentum: float, eps: float):  # type: ignore[override]
        mean, var = torch.batch_norm_update_stats(x, running_mean, running_var, momentum)
        channel = (1, x.shape[1], 1, 1)
        mean, invstd = mean.view(channel), (var + eps).rsqrt().view(channel)
        pooled, indices = F.max_pool2d(x, POOL, POOL, return_indices=True)
        normalised = (pooled - mean) * invstd
        ctx.save_for_backward(x, indices, mean, invstd, normalised)
        return normalised

    @staticmethod
    def backward(ctx, grad_pooled):  # type: ignore[override]
        x, indices, mean, invstd, normalised = ctx.saved_tensors
        channels = x.shape[1]
        per_channel = x.numel() // channels
        dims = (0, 2, 3)
        # d/dx of BatchNorm at the input: invstd (G - mean(G) - x̂ mean(G x̂)), G the pooling's
        # scatter of grad_pooled; as slope * x + shift plus the scatter of invstd * grad_pooled
        slope = (grad_pooled * normalised).sum(dims, keepdim=True).mul_(-1.0 / per_channel) * invstd * invstd
        shift = grad_pooled.sum(dims, keepdim=True).mul_(-1.0 / per_channel) * invstd - slope * mean
        spread = grad_pooled * invstd
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
            # channels-last: work on the memory order, rows (n, h * w, c); the per-channel
            # multiply-add is faster there (vectorised along the contiguous channels)
            def rows(t: torch.Tensor) -> torch.Tensor:
                return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, channels)
            grad_rows = torch.addcmul(shift.view(channels), rows(x), slope.view(channels))
            grad_rows.scatter_add_(1, rows(indices), rows(spread))
            n, _, height, width = x.shape
            grad = grad_rows.view(n, height, width, channels).permute(0, 3, 1, 2)
        else:
            grad = torch.addcmul(shift, x, slope)
            grad.flatten(2).scatter_add_(2, indices.flatten(2), spread.flatten(2))
        return grad, None, None, None, None


def _batchnorm_maxpool(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``max_pool2d(bn(x), POOL)``: with ``bn`` in training mode on CPU, where it was measured,
    through :class:`_BatchNormMaxPool` (which also updates ``bn``'s running statistics and batch
    count as ``bn`` would); otherwise (eval mode, GPU: cuDNN's BatchNorm, fewer kernel launches,
    and a scatter that would not be deterministic there; under ``vmap``) the module then pooling."""
    if (not bn.training or x.device.type != "cpu" or bn.affine or not bn.track_running_stats
            or _inside_functorch(x)):
        return F.max_pool2d(bn(x), POOL, POOL)
    bn.num_batches_tracked.add_(1)
    momentum = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
    return _BatchNormMaxPool.apply(x, bn.running_mean, bn.running_var, momentum, bn.eps)


class _ConvStack(nn.Module):
    """Conv → BN → leaky ReLU → 2x2 max-pool, repeated over ``channels``.

    Computed as conv → BN → max-pool → leaky ReLU: the leaky ReLU is increasing, so it commutes
    with the max; both orders give the same values and send the gradient to the same element of
    each window (the one exception: two negative inputs less than a rounding step apart can
    become equal after the ×0.01 and then tie). After the pool it touches a quarter of the
    elements: on one CPU thread the activations' forward and backward passes of an MNIST
    Deep SAD epoch take about 22 ms instead of about 60 ms (torch profiler). BatchNorm and the
    pool run through :func:`_batchnorm_maxpool` (one autograd step in training on CPU).
    """

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(_conv(a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.bns = nn.ModuleList(_bn2d(b) for b in channels[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, bn in zip(self.convs, self.bns):
            x = _act(_batchnorm_maxpool(conv(x), bn))
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
