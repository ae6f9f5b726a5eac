"""What is special about Deep SAD: its networks, the centre rule, pretraining, and that labels matter.

The MNIST task: ~600 training images of digit 0 (normal) plus 30 collected anomalies of digit 1;
the test set is 2,000 official test images of all digits (anomaly = not 0).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch.nn import functional as F

from detectors.autoencoder import autoencoder_loss_terms, train_autoencoder
from detectors.deep_sad import DeepSAD, clip_center, milestone_lr
from detectors.networks.factory import build_decoder, build_encoder
from tests.helpers import random_mnist_task, reversed_labels, structure_task

N_NORMAL, N_KNOWN, N_TEST = 600, 30, 2000
NORMAL_DIGIT, KNOWN_DIGIT = 0, 1
# Measured with test_params: 0.915 (labelled) / 0.903 (unlabelled) at seed 0; floor with margin.
DEEP_SAD_AUROC_FLOOR = 0.80

IMAGE_SHAPES = {"mnist": (1, 28, 28), "fmnist": (1, 28, 28), "cifar10": (3, 32, 32)}
REP_DIMS = {"mnist": 32, "fmnist": 64, "cifar10": 128}


def make_mnist_task(ds, seed: int = 0) -> dict[str, np.ndarray]:
    """Normal digit 0 with collected anomalies of digit 1; test on all digits (a seeded subset)."""
    X, y, X_test, digits = random_mnist_task(ds, N_NORMAL, N_KNOWN, N_TEST, NORMAL_DIGIT, KNOWN_DIGIT, seed)
    return {"X": X, "y": y, "X_test": X_test, "digit_test": digits, "y_test": (digits != NORMAL_DIGIT).astype(np.int64)}


@pytest.fixture(scope="module")
def mnist_task(mnist) -> dict[str, np.ndarray]:
    return make_mnist_task(mnist)


def synthetic_table(seed: int = 0, n_features: int = 21) -> dict[str, np.ndarray]:
    """A min-max scaled table: normals from one Gaussian, anomalies shifted on a few features."""
    rng = np.random.default_rng(seed)

    def draw(n: int, shift: float) -> np.ndarray:
        x = rng.normal(0.0, 1.0, (n, n_features))
        x[:, :5] += shift
        return x

    X = np.concatenate([draw(400, 0.0), draw(8, 3.0)])
    X_test = np.concatenate([draw(200, 0.0), draw(50, 3.0)])
    lo, hi = X.min(axis=0), X.max(axis=0)
    scale = lambda a: ((a - lo) / (hi - lo)).astype(np.float32)  # noqa: E731
    return {"X": scale(X), "y": np.r_[np.zeros(400), np.ones(8)].astype(np.int64),
            "X_test": scale(X_test), "y_test": np.r_[np.zeros(200), np.ones(50)].astype(np.int64)}


def fast_detector(**overrides) -> DeepSAD:
    return DeepSAD(**{**DeepSAD.test_params, "device": "cpu", "random_state": 0, **overrides})


# -- networks ----------------------------------------------------------------------------
@pytest.mark.parametrize("arch", sorted(IMAGE_SHAPES))
def test_image_network_shapes(arch):
    shape = IMAGE_SHAPES[arch]
    encoder, decoder = build_encoder(arch, shape), build_decoder(arch, shape)
    x = torch.rand(3, *shape)
    with torch.no_grad():
        z = encoder(x)
        x_hat = decoder(z)
    assert z.shape == (3, REP_DIMS[arch]) and encoder.rep_dim == REP_DIMS[arch]
    assert x_hat.shape == x.shape
    assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0  # sigmoid output


@pytest.mark.parametrize("arch,shape", [*IMAGE_SHAPES.items(), ("arrhythmia", (274,)), ("thyroid", (6,)), ("mlp", (13,))])
def test_networks_have_no_bias_and_no_affine_batchnorm(arch, shape):
    for net in (build_encoder(arch, shape), build_decoder(arch, shape)):
        names = [name for name, _ in net.named_parameters()]
        assert names and not [n for n in names if "bias" in n]
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                assert not module.affine and module.eps == pytest.approx(1e-4)


@pytest.mark.parametrize("arch,n_features,rep_dim", [("arrhythmia", 274, 32), ("cardio", 21, 8), ("thyroid", 6, 4)])
def test_odds_mlp_sizes(arch, n_features, rep_dim):
    encoder, decoder = build_encoder(arch, (n_features,)), build_decoder(arch, (n_features,))
    z = encoder(torch.rand(4, n_features))
    assert z.shape == (4, rep_dim)
    assert decoder(z).shape == (4, n_features)


def test_image_arch_rejects_wrong_shape():
    with pytest.raises(ValueError, match="inputs of shape"):
        build_encoder("cifar10", (1, 28, 28))


# -- building blocks ---------------------------------------------------------------------
def test_clip_center_moves_small_entries_to_plus_minus_eps():
    c = torch.tensor([0.5, 0.05, -0.05, 0.0, -0.3, 0.1])
    clipped = clip_center(c, 0.1)
    assert torch.allclose(clipped, torch.tensor([0.5, 0.1, -0.1, 0.1, -0.3, 0.1]))


def test_milestone_lr():
    assert milestone_lr(1e-4, (50,), 49) == pytest.approx(1e-4)
    assert milestone_lr(1e-4, (50,), 50) == pytest.approx(1e-5)
    assert milestone_lr(1e-4, (), 140) == pytest.approx(1e-4)


def test_autoencoder_pretraining_lowers_the_loss_and_is_seeded():
    X = torch.as_tensor(synthetic_table()["X"])

    def run():
        history: list[float] = []
        encoder, _ = train_autoencoder(X, "cardio", epochs=8, lr=1e-3, weight_decay=0.5e-3, batch_size=64,
                                       generator=torch.Generator().manual_seed(3), device="cpu", history=history)
        return encoder, history

    (enc_a, hist_a), (enc_b, hist_b) = run(), run()
    assert len(hist_a) == 8 and hist_a[-1] < hist_a[0]
    assert hist_a == hist_b
    assert not enc_a.training
    with torch.no_grad():
        assert torch.equal(enc_a(X), enc_b(X))


# -- the detector ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted(mnist_task) -> dict[str, DeepSAD]:
    """One fit with the collected anomalies labelled, one with the same data all unlabelled (γl = 0)."""
    X, y = mnist_task["X"], mnist_task["y"]
    return {"labelled": fast_detector().fit(X, y), "unlabelled": fast_detector().fit(X, np.zeros_like(y))}


@pytest.mark.parametrize("kind", ["labelled", "unlabelled"])
def test_deep_sad_learns_on_mnist(mnist_task, fitted, kind):
    """With labels (Deep SAD) and without (Deep SVDD, the 30 digit-1 images then act as pollution)."""
    det = fitted[kind]
    scores = det.decision_function(mnist_task["X_test"])
    auroc = roc_auc_score(mnist_task["y_test"], scores)
    assert auroc >= DEEP_SAD_AUROC_FLOOR, f"Deep SAD ({kind}) AUROC {auroc:.3f} below {DEEP_SAD_AUROC_FLOOR}"
    assert np.std(scores) > 0
    # The centre rule: no entry of c is closer to 0 than center_eps.
    assert det.center_.shape == (32,)
    assert (np.abs(det.center_) >= det.center_eps - 1e-7).all()


def test_labels_change_the_scores(mnist_task, fitted):
    y = mnist_task["y"]
    s_unlabelled = fitted["unlabelled"].decision_function(mnist_task["X_test"])
    s_labelled = fitted["labelled"].decision_function(mnist_task["X_test"])
    assert not np.allclose(s_unlabelled, s_labelled)
    # The labelled anomalies are pushed out: they sit farther from c than the normals.
    train_scores = fitted["labelled"].decision_scores_
    assert np.median(train_scores[y == 1]) > np.median(train_scores[y == 0])
    assert fitted["labelled"].fit_info_["n_labelled_anomalies"] == int(y.sum())
    assert fitted["unlabelled"].fit_info_["n_labelled_anomalies"] == 0


#: A table fit that learns (tests/helpers.py, structure_task: neither ||x|| nor an untrained network
#: solves it); ``UNTRAINED`` leaves the networks as initialised, the control.
TABLE_FIT = dict(epochs=20, ae_epochs=10, batch_size=64, lr=1e-3, ae_lr=1e-3, lr_milestones=(), arch="cardio",
                 device="cpu", random_state=0)
UNTRAINED = dict(lr=1e-12, ae_lr=1e-12)


def table_auroc(y_labels=None, **overrides) -> float:
    X, y, X_test, y_test = structure_task(0)
    det = DeepSAD(**{**TABLE_FIT, **overrides}).fit(X, y if y_labels is None else y_labels(y))
    assert det.arch_ == "cardio" and det.center_.shape == (8,)
    return roc_auc_score(y_test, det.decision_function(X_test))


def test_deep_sad_mlp_path_learns_a_table_an_untrained_network_does_not():
    """Measured: 0.99 trained, 0.57 with the same networks untrained."""
    trained, untrained = table_auroc(), table_auroc(**UNTRAINED)
    assert trained >= 0.9, f"Deep SAD MLP AUROC {trained:.3f}"
    assert untrained < trained - 0.25, (untrained, trained)


def test_labels_are_used_the_right_way_round():
    """Labels moved from the collected anomalies onto normals must make Deep SAD clearly worse (it
    then pushes normals away from c); a Deep SAD that ignored or inverted its labels would not fall."""
    right, wrong = table_auroc(), table_auroc(y_labels=reversed_labels)
    assert right > wrong + 0.2, (right, wrong)


def test_without_pretraining_the_network_is_fresh():
    task = synthetic_table()
    det = DeepSAD(epochs=2, batch_size=64, pretrain=False, device="cpu", random_state=0).fit(task["X"], task["y"])
    assert det.arch_ == "mlp" and "ae_final_loss" not in det.fit_info_
    assert np.isfinite(det.decision_function(task["X_test"])).all()


def test_bad_milestones_are_rejected():
    with pytest.raises(ValueError, match="lr_milestones"):
        DeepSAD(lr_milestones=50).fit(synthetic_table()["X"])


def test_autoencoder_loss_is_deep_sads_mse_averaged_over_every_feature():
    """The public Deep SAD code averages the squared error over every pixel; so does the default."""
    X = torch.as_tensor(synthetic_table()["X"])
    encoder, decoder = train_autoencoder(X, "cardio", epochs=1, lr=1e-3, weight_decay=0.0, batch_size=64,
                                         generator=torch.Generator().manual_seed(3), device="cpu")
    with torch.no_grad():
        assert autoencoder_loss_terms(encoder, decoder, X)["reconstruction"] == pytest.approx(
            float(F.mse_loss(decoder(encoder(X)), X)), rel=1e-6)

    def history(**kw) -> np.ndarray:
        out: list[float] = []
        train_autoencoder(X, "cardio", epochs=3, lr=1e-3, weight_decay=0.0, batch_size=64,
                          generator=torch.Generator().manual_seed(3), device="cpu", history=out, **kw)
        return np.array(out)

    # Without weight decay Adam ignores the loss scale: the same training, a loss d times larger.
    np.testing.assert_allclose(history(reduction="sum"), history() * X.shape[1], rtol=1e-3)
    assert DeepSAD().ae_loss == "mean"


# -- the equivalent forms of lenet.py compute what the plain formulation computes ------------------
def _float64(module: torch.nn.Module) -> torch.nn.Module:
    return module.double().train()


@pytest.mark.parametrize("c_in,c_out,padding,size", [(2, 4, 2, 4), (4, 8, 3, 8), (8, 1, 2, 14), (32, 3, 2, 16)])
def test_up_deconv_is_upsampling_then_the_transposed_convolution(c_in, c_out, padding, size):
    """The decoders' single stride-2 transposed convolution against ×2 nearest upsampling followed by
    the module's own stride-1 transposed convolution: same values, same gradients (float64)."""
    from detectors.networks.lenet import _deconv, _up_deconv

    torch.manual_seed(0)
    deconv = _deconv(c_in, c_out, padding=padding).double()
    x = torch.randn(3, c_in, size, size, dtype=torch.float64, requires_grad=True)
    fast = _up_deconv(x, deconv)
    plain = deconv(F.interpolate(x, scale_factor=2, mode="nearest"))
    assert fast.shape == plain.shape
    torch.testing.assert_close(fast, plain, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(plain)
    grads_fast = torch.autograd.grad((fast * weights).sum(), [x, deconv.weight])
    grads_plain = torch.autograd.grad((plain * weights).sum(), [x, deconv.weight])
    for a, b in zip(grads_fast, grads_plain):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("padding", [0, 2, 4])
@pytest.mark.parametrize("c_in,c_out,size", [(2, 4, 4), (8, 1, 14), (3, 5, 7)])
def test_subpixel_form_is_the_stride_2_transposed_convolution(c_in, c_out, size, padding):
    """The sub-pixel form (one 3x3 convolution per output phase, then a pixel shuffle) against
    torch's own stride-2 transposed convolution with the same 6x6 kernel: values and gradients
    (float64); odd paddings are refused, not computed wrongly."""
    from detectors.networks.lenet import _subpixel_transposed_conv

    torch.manual_seed(0)
    weight = torch.randn(c_in, c_out, 6, 6, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, c_in, size, size, dtype=torch.float64, requires_grad=True)
    fast = _subpixel_transposed_conv(x, weight, padding)
    plain = F.conv_transpose2d(x, weight, stride=2, padding=padding)
    assert fast.shape == plain.shape
    torch.testing.assert_close(fast, plain, rtol=1e-12, atol=1e-12)
    weights = torch.randn_like(plain)
    for a, b in zip(torch.autograd.grad((fast * weights).sum(), [x, weight]),
                    torch.autograd.grad((plain * weights).sum(), [x, weight])):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="padding"):
        _subpixel_transposed_conv(x, weight, padding + 1)


@pytest.mark.parametrize("arch", sorted(IMAGE_SHAPES))
def test_encoder_pools_before_the_activation_without_changing_the_result(arch):
    """conv → BN → pool → leaky ReLU against the written order conv → BN → leaky ReLU → pool,
    in training mode (batch statistics), values and weight gradients (float64)."""
    torch.manual_seed(0)
    encoder = _float64(build_encoder(arch, IMAGE_SHAPES[arch]))
    stack = encoder.features
    x = torch.rand(6, *IMAGE_SHAPES[arch], dtype=torch.float64)

    def plain(h: torch.Tensor) -> torch.Tensor:
        for conv, bn in zip(stack.convs, stack.bns):
            h = F.max_pool2d(F.leaky_relu(bn(conv(h)), 0.01), 2, 2)
        return h

    fast_out, plain_out = stack(x), plain(x)
    torch.testing.assert_close(fast_out, plain_out, rtol=1e-12, atol=1e-12)
    params = list(stack.parameters())
    for a, b in zip(torch.autograd.grad(fast_out.square().sum(), params),
                    torch.autograd.grad(plain_out.square().sum(), params)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("arch", sorted(IMAGE_SHAPES))
def test_channels_last_nets_compute_what_default_layout_nets_compute(arch):
    from detectors.torch_utils import use_channels_last

    torch.manual_seed(0)
    encoder, decoder = build_encoder(arch, IMAGE_SHAPES[arch]), build_decoder(arch, IMAGE_SHAPES[arch])
    x = torch.rand(8, *IMAGE_SHAPES[arch])
    with torch.no_grad():
        before = decoder(encoder(x))
        use_channels_last(encoder, decoder)
        after = decoder(encoder(x))
    assert encoder.features.convs[1].weight.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
