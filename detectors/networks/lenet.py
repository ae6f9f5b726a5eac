"""The LeNet-type encoders and decoders of Deep SAD (Ruff et al., ICLR 2020) for the image sets.

Deep SAD's network φ must have no bias terms and no bounded activations: with a bias, a network
can map every input to the centre c and reach zero loss without learning anything (the
"hypersphere collapse" of Deep SVDD). Hence every layer here is bias-free and every BatchNorm is
without affine parameters (its shift would be a bias). The decoders mirror the encoders with
nearest-neighbour ×2 upsampling followed by 5x5 transposed convolutions and a sigmoid, because
the images are in [0, 1]. Some steps are computed in an equivalent, cheaper form (issue 12):
each upsampling and the transposed convolution after it as one stride-2 transposed convolution
(:func:`_up_deconv`; with an even padding in its sub-pixel form, ordinary 3x3 convolutions and
a pixel shuffle), the encoders' max-pool before their activation (:class:`_ConvStack`), their
BatchNorm and pool as one step (:func:`_batchnorm_maxpool`) and their convolutions with few
output channels with neighbouring columns packed into channels (:func:`_same_conv`). The same
networks serve the supervised classifier, the SSAD hybrid (via the autoencoder) and AA-BiGAN's
CIFAR-10 nets.

Shapes (representation size): MNIST 1x28x28 → 32, Fashion-MNIST 1x28x28 → 64, CIFAR-10 3x32x32 → 128.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

# Deep SAD's layer settings, in one place.
BN_EPS = 1e-4
LEAKY_SLOPE = 0.01
KERNEL = 5
UPSAMPLE = 2
POOL = 2  # the encoders' max-pooling window and stride
# float32 lanes of a 256-bit vector register (AVX2): convolutions with fewer output channels
# than this run in packed form (:func:`_same_conv`)
VECTOR_FLOATS = 8
# the most extra multiply-adds (the packed kernel's zero taps) that packing may cost: 1.2 for 5x5
# kernels packed by 2 (faster, see :func:`_same_conv`); 3x3 kernels packed by 2 would do twice the
# work, and were slower (the MNIST decoder's 8 -> 4 channel 3x3 convolution, forward and backward
# on one CPU thread: 2.04 ms against 1.76)
MAX_PACKING_WORK = 1.2
# packing is measured on x86 with AVX2 (oneDNN's register blocking by output channels); elsewhere
# (ARM's 4-float vectors, no SIMD) it stays off
PACKING_CPU = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")

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


def _channels_last_on_cpu(x: torch.Tensor) -> bool:
    """Whether ``x`` is a plain (not ``vmap``-wrapped) channels-last tensor on the CPU: what the
    rewritten steps of this module work on (:func:`_pixel_rows` views its memory)."""
    return (x.device.type == "cpu"
            and not _inside_functorch(x)  # before the layout query: vmap cannot answer it
            and x.is_contiguous(memory_format=torch.channels_last))


def _pixel_rows(x: torch.Tensor) -> torch.Tensor:
    """A channels-last (n, c, h, w) tensor as its memory: rows (n h, w c), a view."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(n * h, w * c)


def _packed_width(kernel: int, pack: int) -> int:
    """Columns of the packed kernel of a 'same' ``kernel`` x ``kernel`` convolution packed by
    ``pack`` (:func:`_packing_index`): taps m = -reach ... reach, reach = ceil((kernel // 2) / pack)."""
    return 2 * -(-(kernel // 2) // pack) + 1


@functools.lru_cache(maxsize=None)
def _packing_index(c_out: int, c_in: int, kernel: int, pack: int, device: torch.device) -> torch.Tensor:
    """Where each entry of the packed kernel of :func:`_packed_kernel` comes from.

    A 'same' convolution (odd ``kernel``, padding ``kernel // 2``) whose input and output are
    viewed with ``pack`` neighbouring columns as channels: output column ``pack * q + s`` reads
    input column ``pack * q + s + dx - pad`` = ``pack * (q + m) + r``, so it is a convolution over
    ``q`` with input channel ``(r, c)``, output channel ``(s, o)`` and column tap ``m``, whose
    weight is ``weight[o, c, dy, dx]`` at ``dx = pack * m + r - s + pad`` where that is a tap of
    the kernel and zero elsewhere. The packed kernel's memory is channels-last,
    ``(s, o, dy, m, r, c)``; entries index ``weight``'s own channels-last memory ``(o, dy, dx, c)``,
    with one index past its end for the zeros. Built outside inference mode: the cache outlives
    the call, and an inference tensor cannot be saved for a later training step's backward pass.
    """
    pad = kernel // 2
    reach = _packed_width(kernel, pack) // 2
    with torch.inference_mode(False):
        s, o, dy, m, r, c = torch.meshgrid(
            torch.arange(pack), torch.arange(c_out), torch.arange(kernel), torch.arange(-reach, reach + 1),
            torch.arange(pack), torch.arange(c_in), indexing="ij")
        dx = pack * m + r - s + pad
        source = ((o * kernel + dy) * kernel + dx.clamp(0, kernel - 1)) * c_in + c
        zero = c_out * kernel * kernel * c_in
        return torch.where((dx >= 0) & (dx < kernel), source, zero).reshape(-1).to(device)


def _packed_kernel(weight: torch.Tensor, pack: int) -> torch.Tensor:
    """The kernel of :func:`_packing_index` built from ``weight`` (o, c, k, k), differentiably:
    the gradient of each packed entry flows back to the weight it was taken from."""
    c_out, c_in, kernel, _ = weight.shape
    index = _packing_index(c_out, c_in, kernel, pack, weight.device)
    memory = F.pad(weight.permute(0, 2, 3, 1).reshape(-1), (0, 1))  # channels-last order, then a zero
    width = _packed_width(kernel, pack)
    return memory.index_select(0, index).view(pack * c_out, kernel, width, pack * c_in).permute(0, 3, 1, 2)


def _same_conv(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=k // 2)`` for an odd square kernel without bias; in packed
    form on an x86 CPU (:data:`PACKING_CPU`), for a channels-last ``x`` (:func:`_channels_last_on_cpu`)
    and fewer than :data:`VECTOR_FLOATS` output channels, where packing adds at most
    :data:`MAX_PACKING_WORK` times the multiply-adds (5x5 kernels and 4 output channels, packed by 2).

    The packed form views ``pack`` neighbouring columns as channels (free: channels-last memory
    (n, h, w, c) is also (n, h, w / pack, pack c)), so the convolution has ``pack`` times as many
    input and output channels on a ``1 / pack`` as wide map, with a kernel of fewer columns (3
    instead of 5 for a 5x5 kernel packed by 2; :func:`_packing_index`); its output's memory is
    the plain output's. oneDNN's CPU kernels fill one vector register per output pixel with
    output channels, so 4 output channels used half of each. The same function: equal values
    in the tests (``tests/test_deep_sad.py``, float64), gradients up to float rounding. It does
    1.2 times the multiply-adds (the zero taps) in less time: the MNIST encoder's second
    convolution (8 -> 4 channels, 14x14, batch 128) on one CPU thread, forward 0.89 ms instead
    of 1.32, forward and backward 2.64 ms instead of 3.34.
    """
    c_out, _, kernel, _ = weight.shape
    n, c_in, h, w = x.shape
    pack = VECTOR_FLOATS // c_out if c_out < VECTOR_FLOATS and VECTOR_FLOATS % c_out == 0 else 1
    width = _packed_width(kernel, pack)
    if (pack == 1 or pack * width > MAX_PACKING_WORK * kernel or w % pack or not PACKING_CPU
            or not _channels_last_on_cpu(x)):
        return F.conv2d(x, weight, padding=kernel // 2)
    packed = _pixel_rows(x).view(n, h, w // pack, pack * c_in).permute(0, 3, 1, 2)
    out = F.conv2d(packed, _packed_kernel(weight, pack), padding=(kernel // 2, width // 2))
    return out.permute(0, 2, 3, 1).reshape(n, h, w, c_out).permute(0, 3, 1, 2)


def _along_rows(per_channel: torch.Tensor, width: int) -> torch.Tensor:
    """A per-channel vector repeated for each of ``width`` pixels: one row of :func:`_pixel_rows`.
    (``Tensor.repeat`` does the same in twice the time for these small vectors, 10 us against 4.5.)"""
    return per_channel.expand(width, -1).reshape(-1)


def _channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch mean and biased variance per channel of a channels-last map.

    Taken over the rows (n h, w c) of its memory, where the native kernel vectorises over w c
    columns, then pooled over the w columns of each channel (equal counts: the mean of the
    means, and the mean of the variances plus the variance of the means). The native kernel on
    the map itself vectorises over the c channels, and 4 to 16 fill less than one vector: on
    one CPU thread, the 8 x 28 x 28 maps of an MNIST batch of 128 took 0.86 ms that way and
    0.14 ms this way.
    """
    n, c, h, w = x.shape
    column_mean, column_var = torch.batch_norm_update_stats(_pixel_rows(x), None, None, 0.0)
    column_mean, column_var = column_mean.view(w, c), column_var.view(w, c)
    mean = column_mean.mean(0)
    return mean, column_var.mean(0) + (column_mean - mean).square().mean(0)


class _BatchNormMaxPool(torch.autograd.Function):
    """Training-mode BatchNorm (no affine parameters) followed by 2x2 max-pooling of a
    channels-last map with even sides, normalising only the pooled quarter, with a backward pass
    that works on that quarter.

    BatchNorm's normalisation is increasing in each channel, so it commutes with the max: the
    forward pass takes the batch statistics (:func:`_channel_stats`; it updates the running
    ones as BatchNorm does), pools the raw maps and normalises the pooled values. The pooling
    works on the memory (n, h/2, 2, w/2, 2, c) as two element-wise maxima, first of the column
    pairs, then of the row pairs, and keeps which of each pair won (1 where the second is
    strictly greater, so a tie goes to the first element of the window in row-major order, as
    in ``max_pool2d``; MNIST's blank borders give many exact ties). The backward pass uses that
    pooling sends each output's gradient to one input: the BatchNorm gradient
    invstd (G - mean(G) - x̂ mean(G x̂)) needs the sums of G and G x̂ over each channel, and G is
    zero outside the selected elements, where x̂ is the pooled output; so both sums run over the
    pooled gradient, and the full-size work is the two-level spread of the pooled gradient to
    the winners and one multiply-add. The same function as BatchNorm then pooling up to float
    rounding (``tests/test_deep_sad.py`` compares values, gradients, running statistics and ties
    in float64). Why: the native BatchNorm and pooling kernels on channels-last maps vectorise
    over the channels, and 4 to 16 channels fill less than one vector. On one idle CPU thread,
    a training step of Deep SAD's MNIST encoder (batch 128) took 0.80-0.85 of the time it took
    with the earlier form of this step (native statistics, ``max_pool2d`` with indices and a
    scatter; ``benchmarks/lenet_step_speed.py``), which itself took 0.94 of BatchNorm then pooling.
    With more channels the native kernels vectorise well and the gain fades: Fashion-MNIST's
    encoder step took 0.97 of BatchNorm then pooling (the earlier form 0.99), CIFAR-10's 0.97
    (the earlier form 0.96), random inputs, ten alternating rounds.
    """

    @staticmethod
    def forward(ctx, x, running_mean, running_var, momentum: float, eps: float):  # type: ignore[override]
        n, c, h, w = x.shape
        count = n * h * w
        mean, var = _channel_stats(x)
        running_mean.lerp_(mean, momentum)
        running_var.lerp_(var * (count / (count - 1)), momentum)  # unbiased, as BatchNorm keeps it
        invstd = (var + eps).rsqrt()
        windows = _pixel_rows(x).view(n, h // POOL, POOL, w // POOL, POOL, c)  # the 2x2 windows in memory order
        left, right = windows[:, :, :, :, 0], windows[:, :, :, :, 1]
        right_won = torch.gt(right, left, out=x.new_empty(left.shape))
        row_max = torch.maximum(left, right)
        top, bottom = row_max[:, :, 0], row_max[:, :, 1]
        bottom_won = torch.gt(bottom, top, out=x.new_empty(top.shape))
        pooled = torch.maximum(top, bottom).view(n * h // POOL, w // POOL * c)
        normalised = pooled.sub_(_along_rows(mean, w // POOL)).mul_(_along_rows(invstd, w // POOL))
        ctx.save_for_backward(x, right_won, bottom_won, mean, invstd, normalised)
        return normalised.view(n, h // POOL, w // POOL, c).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx, grad_pooled):  # type: ignore[override]
        x, right_won, bottom_won, mean, invstd, normalised = ctx.saved_tensors
        n, c, h, w = x.shape
        count = n * h * w
        grad_rows = _pixel_rows(grad_pooled)  # (n h/2, w/2 c), a copy if it is not channels-last
        # d/dx of BatchNorm at the input: invstd (G - mean(G) - x̂ mean(G x̂)), G the pooling's
        # spread of grad_pooled; as slope * x + shift plus the spread of invstd * grad_pooled
        def per_channel_sum(t: torch.Tensor) -> torch.Tensor:
            return t.sum(0).view(w // POOL, c).sum(0)

        slope = per_channel_sum(grad_rows * normalised).mul_(-1.0 / count) * invstd * invstd
        shift = per_channel_sum(grad_rows).mul_(-1.0 / count) * invstd - slope * mean
        spread = (grad_rows * _along_rows(invstd, w // POOL)).view(n, h // POOL, w // POOL, c)
        rows = x.new_empty(n, h // POOL, POOL, w // POOL, c)  # spread to the winning row
        torch.mul(spread, bottom_won, out=rows[:, :, 1])
        torch.sub(spread, rows[:, :, 1], out=rows[:, :, 0])
        grad = x.new_empty(n, h // POOL, POOL, w // POOL, POOL, c)  # then to the winning column
        torch.mul(rows, right_won, out=grad[..., 1, :])
        torch.sub(rows, grad[..., 1, :], out=grad[..., 0, :])
        grad = grad.view(n * h, w * c).addcmul_(_pixel_rows(x), _along_rows(slope, w)).add_(_along_rows(shift, w))
        return grad.view(n, h, w, c).permute(0, 3, 1, 2), None, None, None, None


def _batchnorm_maxpool(x: torch.Tensor, bn: nn.BatchNorm2d) -> torch.Tensor:
    """``max_pool2d(bn(x), POOL)``: with ``bn`` in training mode on CPU, where it was measured, and
    ``x`` channels-last with even sides, through :class:`_BatchNormMaxPool` (which also updates
    ``bn``'s running statistics and batch count as ``bn`` would); otherwise (eval mode; GPU:
    cuDNN's BatchNorm, fewer kernel launches; the default layout, whose native kernels
    vectorise along the rows; under ``vmap``) the module then pooling."""
    n, c, h, w = x.shape
    if (not bn.training or bn.affine or not bn.track_running_stats or not _channels_last_on_cpu(x)
            or h % POOL or w % POOL):
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
    pool run through :func:`_batchnorm_maxpool` (one autograd step in training on CPU), the
    convolutions (built by :func:`_conv`: 'same' padding, no bias) through :func:`_same_conv`.
    """

    def __init__(self, channels: tuple[int, ...]):
        super().__init__()
        self.convs = nn.ModuleList(_conv(a, b) for a, b in zip(channels[:-1], channels[1:]))
        self.bns = nn.ModuleList(_bn2d(b) for b in channels[1:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, bn in zip(self.convs, self.bns):
            x = _act(_batchnorm_maxpool(_same_conv(x, conv.weight), bn))
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
