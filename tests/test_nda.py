"""What is special about NDA: the negatives (collected anomalies, else jigsaw / feature
permutation), the hinge losses with alpha and beta, n_dis D steps per G step, and that it learns.
The generic contract (clone, no work in __init__, bad input, ...) is in the common module."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score


import detectors.nda as nda
from detectors.nda import NDA, hinge_d_terms, hinge_g_loss, jigsaw, permute_features
from tests.helpers import pair_mnist_task

N_NORMAL, N_ANOMALY, N_TEST = 500, 25, 300
# The settings the MNIST floors were measured with (the contract's test_params raise lr for the
# small tabular toy task, where 3 epochs are only 12 D steps).
MNIST_PARAMS = {"epochs": 3, "batch_size": 64, "n_dis": 2}
# Measured with MNIST_PARAMS, random_state=0: normal 0 / known 1 -> AUROC 1.00;
# normal 4 / known 9 -> 0.98 with the collected 9s as negatives, 0.49 with jigsaw negatives only.
LEARN_FLOOR = 0.90
LABEL_GAIN = 0.2


def _task(ds, normal: int, known: int, n_anomaly: int = N_ANOMALY):
    return pair_mnist_task(ds, normal, known, N_NORMAL, n_anomaly, N_TEST)


def _fast(**kw) -> NDA:
    return NDA(**{**MNIST_PARAMS, "device": "cpu", "random_state": 0, "arch": "mnist", **kw})


def _auroc(det, X_test, y_test) -> float:
    return roc_auc_score(y_test, det.decision_function(X_test))


@pytest.fixture(scope="module")
def easy(mnist):
    return _task(mnist, normal=0, known=1)


@pytest.fixture(scope="module")
def fitted(easy):
    X, y, _, _ = easy
    return _fast().fit(X, y)


def test_learns_and_scores_vary(easy, fitted):
    _, _, X_test, y_test = easy
    scores = fitted.decision_function(X_test)
    assert roc_auc_score(y_test, scores) >= LEARN_FLOOR
    assert np.std(scores) > 1e-3
    assert fitted.fit_info_["negatives"] == "collected anomalies"
    assert fitted.model_shape_ == (1, 32, 32)  # 28x28 inputs resized to the AA-BiGAN nets' 32x32


def test_collected_anomalies_help(mnist):
    """Normal 4 vs known 9 (look alike): jigsaw negatives alone miss the 9s, collected 9s do not."""
    X, y, X_test, y_test = _task(mnist, normal=4, known=9)
    with_labels = _fast().fit(X, y)
    without = _fast().fit(X[y == 0], np.zeros(int((y == 0).sum()), dtype=np.int64))
    assert without.fit_info_["negatives"] == "jigsaw 2x2"
    auc_with, auc_without = _auroc(with_labels, X_test, y_test), _auroc(without, X_test, y_test)
    assert auc_with - auc_without >= LABEL_GAIN, (auc_with, auc_without)


def test_clone_and_same_seed_same_scores(easy, fitted):
    X, y, X_test, _ = easy
    again = clone(fitted).fit(X, y)
    np.testing.assert_array_equal(again.decision_function(X_test), fitted.decision_function(X_test))


def _patches(img: torch.Tensor) -> list[torch.Tensor]:
    c, h, w = img.shape
    return [img[:, i * h // 2:(i + 1) * h // 2, j * w // 2:(j + 1) * w // 2] for i in range(2) for j in range(2)]


def test_jigsaw_is_a_non_identity_permutation_of_the_four_patches():
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(64, 3, 32, 32, generator=gen)
    out = jigsaw(images, gen)
    assert out.shape == images.shape
    for src, dst in zip(images, out):
        src_p, dst_p = _patches(src), _patches(dst)
        order = [next(i for i, p in enumerate(src_p) if torch.equal(p, q)) for q in dst_p]
        assert sorted(order) == [0, 1, 2, 3], "every patch must appear exactly once"
        assert order != [0, 1, 2, 3], "the identity permutation is a real image, not a negative"


def test_feature_permutation_keeps_every_column_marginal():
    gen = torch.Generator().manual_seed(0)
    X = torch.rand(50, 6, generator=gen)
    out = permute_features(X, gen)
    for j in range(X.shape[1]):
        assert torch.equal(torch.sort(out[:, j]).values, torch.sort(X[:, j]).values)
    assert not torch.equal(out, X)


def test_hinge_losses_formula():
    d_real, d_fake, d_neg = torch.tensor([0.5, 2.0]), torch.tensor([-0.5, -3.0]), torch.tensor([0.0, 1.0])
    expected = (0.5 + 0.0) / 2 + 0.25 * (0.5 + 0.0) / 2 + 0.75 * (1.0 + 2.0) / 2
    assert float(sum(hinge_d_terms(d_real, d_fake, d_neg, 0.25, 0.75).values())) == pytest.approx(expected)
    assert float(hinge_g_loss(d_fake)) == pytest.approx(1.75)


def test_training_uses_alpha_beta_and_n_dis(monkeypatch, easy):
    """Spy on the loss functions: every D step gets alpha=0.25, beta=0.75, one G step per n_dis D steps."""
    calls = {"d": [], "g": 0}
    real_d, real_g = nda.hinge_d_terms, nda.hinge_g_loss

    def spy_d(d_real, d_fake, d_neg, alpha, beta):
        calls["d"].append((alpha, beta, len(d_real), len(d_fake), len(d_neg)))
        return real_d(d_real, d_fake, d_neg, alpha, beta)

    def spy_g(d_fake):
        calls["g"] += 1
        return real_g(d_fake)

    monkeypatch.setattr(nda, "hinge_d_terms", spy_d)
    monkeypatch.setattr(nda, "hinge_g_loss", spy_g)
    X, y, _, _ = easy
    det = NDA(epochs=2, batch_size=100, n_dis=4, device="cpu", random_state=0, arch="mnist").fit(X, y)
    assert {(a, b) for a, b, *_ in calls["d"]} == {(0.25, 0.75)}
    assert all(r == f == n for _, _, r, f, n in calls["d"])
    assert len(calls["d"]) == 2 * (N_NORMAL // 100)  # one D step per full batch of normals
    assert calls["g"] == len(calls["d"]) // det.n_dis


def test_tabular_variant_learns_with_and_without_labels():
    """The MLP variant on a correlated Gaussian: anomalies break the correlation."""
    rng = np.random.default_rng(0)

    def normals(n):
        t = rng.uniform(0.2, 0.8, size=(n, 1))
        return np.clip(t + rng.normal(0, 0.02, size=(n, 6)), 0, 1)

    anomalies = rng.uniform(0.2, 0.8, size=(215, 6))
    X = np.concatenate([normals(600), anomalies[:15]]).astype(np.float32)
    y = np.r_[np.zeros(600), np.ones(15)].astype(np.int64)
    X_test = np.concatenate([normals(200), anomalies[15:]]).astype(np.float32)
    y_test = np.r_[np.zeros(200), np.ones(200)]
    params = {**MNIST_PARAMS, "epochs": 20, "device": "cpu", "random_state": 0, "arch": "thyroid"}
    with_labels = NDA(**params).fit(X, y)
    without = NDA(**params).fit(X[y == 0], np.zeros(600, dtype=np.int64))
    assert without.fit_info_["negatives"] == "feature-wise permutation"
    # measured (random_state=0): 0.92 with the collected anomalies, 0.93 with permuted features
    assert _auroc(with_labels, X_test, y_test) >= 0.8
    assert _auroc(without, X_test, y_test) >= 0.8


def test_contract_settings_train_the_discriminator():
    """Issue 14: at the former test settings (12 D steps at lr 2e-4) D never left its random
    initialisation (final hinge loss 1.89-2.12 over seeds 0-5, around its D = 0 value 1 + alpha + beta
    = 2) and the toy-task AUROC
    was the sign of a random slope. The contract's settings must take 10% off it on every seed."""
    from tests.test_detector_contract import SEEDS, make, toy_task

    for seed in SEEDS:
        X, y, _, _ = toy_task(seed)
        det = make("nda", random_state=seed).fit(X, y)
        at_zero = 1.0 + det.alpha + det.beta  # the D loss when D outputs 0 everywhere
        assert det.history_[-1]["d_loss"] < 0.9 * at_zero, (seed, det.history_[-1])
        assert det.fit_info_["d_steps"] == det.epochs * (int((y == 0).sum()) // det.batch_size)
