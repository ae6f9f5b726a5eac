"""AA-BiGAN's image networks against their specification (docs/method.md §4).

For each image architecture, E, G, D_xz and D_xx are pinned by: the parameter count of the
authors' networks, which weight layers carry a bias, how many BatchNorm layers there are and
whether they are affine (and their eps), the leaky-ReLU slope of each D head, and how G's
transposed convolutions are initialised. MNIST and Fashion-MNIST share one set of networks that
keeps torch's defaults; the CIFAR-10 networks are built like Deep SAD's CIFAR-10 LeNet
(bias-free convolutions, BatchNorm without affine parameters, eps 1e-4, Xavier-initialised G).
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from detectors.networks import bigan

SHAPES = {"mnist": (1, 32, 32), "fmnist": (1, 32, 32), "cifar10": (3, 32, 32)}
NETS = ("E", "G", "D_xz", "D_xx")

# parameter counts of the authors' networks
MNIST_COUNTS = {"E": 1_621_220, "G": 369_825, "D_xz": 1_038_465, "D_xx": 922_881}
CIFAR_COUNTS = {"E": 520_544, "G": 284_000, "D_xz": 2_947_937, "D_xx": 4_713_153}
COUNTS = {"mnist": MNIST_COUNTS, "fmnist": MNIST_COUNTS, "cifar10": CIFAR_COUNTS}

# number of BatchNorm layers, their affine flag and eps
MNIST_BN = {"E": 4, "G": 3, "D_xz": 3, "D_xx": 6}
CIFAR_BN = {"E": 3, "G": 3, "D_xz": 3, "D_xx": 6}
BATCHNORM = {"mnist": (MNIST_BN, True, 1e-5), "fmnist": (MNIST_BN, True, 1e-5), "cifar10": (CIFAR_BN, False, 1e-4)}

# leaky-ReLU slope of the hidden layer of each D head
HEAD_SLOPES = {"mnist": {"D_xz": 0.1, "D_xx": 0.1}, "fmnist": {"D_xz": 0.1, "D_xx": 0.1},
               "cifar10": {"D_xz": 0.2, "D_xx": 0.1}}

WEIGHT_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def build(arch: str) -> dict[str, nn.Module]:
    shape = SHAPES[arch]
    latent = bigan.latent_dim_for(arch, shape)
    return {"E": bigan.build_encoder(arch, shape, latent), "G": bigan.build_generator(arch, shape, latent),
            "D_xz": bigan.build_xz_discriminator(arch, shape, latent), "D_xx": bigan.build_xx_discriminator(arch, shape)}


def expects_bias(arch: str, net: str, name: str, layer: nn.Module) -> bool:
    """MNIST/F-MNIST: every layer has a bias. CIFAR-10: no convolution, transposed convolution or
    E/G Linear has one; only D's linear layers (D_xz's z branch and both heads) keep theirs."""
    if arch != "cifar10":
        return True
    return net.startswith("D_") and isinstance(layer, nn.Linear) and name.split(".")[0] in ("z_branch", "head")


@pytest.fixture(scope="module", params=list(SHAPES))
def arch_nets(request):
    torch.manual_seed(0)
    return request.param, build(request.param)


def test_parameter_counts(arch_nets):
    arch, nets = arch_nets
    counts = {net: sum(p.numel() for p in module.parameters()) for net, module in nets.items()}
    assert counts == COUNTS[arch]
    assert counts["D_xz"] + counts["D_xx"] == {"mnist": 1_961_346, "fmnist": 1_961_346, "cifar10": 7_661_090}[arch]


def test_which_layers_have_biases(arch_nets):
    arch, nets = arch_nets
    for net, module in nets.items():
        layers = [(name, layer) for name, layer in module.named_modules() if isinstance(layer, WEIGHT_LAYERS)]
        assert layers, net
        wrong = [name for name, layer in layers if (layer.bias is not None) != expects_bias(arch, net, name, layer)]
        assert not wrong, (arch, net, wrong)
    if arch == "cifar10":  # the layers that keep a bias are exactly D's linear ones
        assert nets["D_xz"].z_branch.bias is not None and nets["D_xz"].z_branch.out_features == 512


def test_batchnorm_layers(arch_nets):
    arch, nets = arch_nets
    n_bn, affine, eps = BATCHNORM[arch]
    for net, module in nets.items():
        bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        assert len(bns) == n_bn[net], (arch, net)
        assert all(bn.affine is affine and bn.eps == pytest.approx(eps) for bn in bns), (arch, net)
        assert all(bn.track_running_stats for bn in bns)


def test_head_slopes(arch_nets):
    arch, nets = arch_nets
    for net, slope in HEAD_SLOPES[arch].items():
        slopes = [m.negative_slope for m in nets[net].head.modules() if isinstance(m, nn.LeakyReLU)]
        assert slopes == [pytest.approx(slope)], (arch, net, slopes)


def _uniform_bound(weight: torch.Tensor, arch: str) -> float:
    """The half-width of the uniform initial weights of a transposed convolution.

    For ``ConvTranspose2d`` torch takes ``weight.size(1)`` as fan-in. CIFAR-10: Xavier-uniform with
    the leaky-ReLU gain (Deep SAD's decoder); MNIST: torch's default, 1/sqrt(fan_in)."""
    receptive = weight[0, 0].numel()
    fan_in, fan_out = weight.size(1) * receptive, weight.size(0) * receptive
    if arch == "cifar10":
        return nn.init.calculate_gain("leaky_relu") * math.sqrt(6.0 / (fan_in + fan_out))
    return 1.0 / math.sqrt(fan_in)


def test_generator_initialisation(arch_nets):
    """The spread of each transposed convolution's initial weights: within the bound, and a
    standard deviation within 5 % of b / sqrt(3), that of uniform(-b, b) (the smallest layer has
    512 weights, whose sample standard deviation varies by about 2 %)."""
    arch, nets = arch_nets
    deconvs = [m for m in nets["G"].modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 4
    for layer in deconvs:
        w = layer.weight.detach()
        bound = _uniform_bound(w, arch)
        assert float(w.abs().max()) <= bound * (1 + 1e-6)
        assert float(w.std()) == pytest.approx(bound / math.sqrt(3), rel=0.05), (arch, tuple(w.shape))


def test_cifar10_latent_size_is_the_encoder_output():
    nets = build("cifar10")
    x = torch.rand(2, *SHAPES["cifar10"])
    z = nets["E"].eval()(x)
    assert z.shape == (2, 128) and nets["G"].eval()(z).shape == (2, *SHAPES["cifar10"])


def test_cifar10_sizes_are_fixed():
    """Deep SAD's CIFAR-10 LeNet takes 3 channels and gives a 128-dim code; other sizes are refused."""
    with pytest.raises(ValueError, match="latent size"):
        bigan.build_encoder("cifar10", SHAPES["cifar10"], 64)
    with pytest.raises(ValueError, match="channels"):
        bigan.build_image_tower("cifar10", 1)
