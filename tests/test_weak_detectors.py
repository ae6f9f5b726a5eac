"""What is special about the post-paper weakly-supervised detectors (devnet, prenet, feawad, xgbod).

The contract suite already fits each once; here: they learn over several seeds (and the same
networks untrained do not), labels are used the right way round,
and every loss term reaches exactly the parameters (and the samples) it should, checked on the
terms that the training step sums. Also the finding that made ``devnet`` our own implementation.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from detectors import get_detector_class
from detectors.devnet import DevNet
from detectors.feawad import FEAWAD
from detectors.prenet import PReNet
from detectors.weak_sampling import balanced_batch
from detectors.xgbod import XGBOD
from tests.helpers import reversed_labels, structure_task

N_FEATURES = 8
AUROC_FLOOR = 0.85
SEEDS = (0, 1, 2)
DEEP = ("devnet", "prenet", "feawad")


def easy_task(seed: int):
    """Normals N(0.35, 0.08²) per feature; anomalies shifted to 0.7 on half the features; clipped to [0, 1]
    (for the loss-term checks; the learning checks use a task the norm does not solve)."""
    rng = np.random.default_rng(seed)

    def draw(n: int, shifted: bool) -> np.ndarray:
        x = rng.normal(0.35, 0.08, (n, N_FEATURES))
        if shifted:
            x[:, : N_FEATURES // 2] += 0.35
        return np.clip(x, 0, 1)

    X = np.vstack([draw(400, False), draw(12, True)]).astype(np.float32)
    y = np.r_[np.zeros(400), np.ones(12)].astype(np.int64)
    X_test = np.vstack([draw(200, False), draw(50, True)]).astype(np.float32)
    return X, y, X_test, np.r_[np.zeros(200), np.ones(50)]


def fast(name: str, seed: int = 0, **extra):
    cls = get_detector_class(name)
    params = {**cls.test_params, "random_state": seed, **extra}
    if "device" in cls().get_params():
        params["device"] = "cpu"
    return cls(**params)


def labelled_kind_task(seed: int):
    """Anomalies of the kind the 12 collected ones show, told from the normals by structure, not by
    norm (tests/helpers.py): neither ||x|| nor an untrained network solves it."""
    return structure_task(seed, n_collected=12, anomaly_kind="one-direction")


@pytest.mark.parametrize("name", [*DEEP, "xgbod"])
def test_learns_over_several_seeds(name):
    aurocs, untrained = [], []
    for seed in SEEDS:
        X, y, X_test, y_test = labelled_kind_task(seed)
        aurocs.append(roc_auc_score(y_test, fast(name, seed).fit(X, y).decision_function(X_test)))
        if name in DEEP:  # the control: the same network with a negligible learning rate
            lr = {k: 1e-12 for k in ("lr", "ae_lr") if k in fast(name).get_params()}
            untrained.append(roc_auc_score(y_test, fast(name, seed, **lr).fit(X, y).decision_function(X_test)))
    assert min(aurocs) >= AUROC_FLOOR, f"{name}: AUROC {np.round(aurocs, 3)}"
    if untrained:
        assert max(untrained) < min(aurocs) - 0.1, f"{name}: untrained {np.round(untrained, 3)}"


@pytest.mark.parametrize("name", [*DEEP, "xgbod"])
def test_labels_are_used_the_right_way_round(name):
    """Labels on normals instead of the collected anomalies must make the test AUROC clearly worse:
    a detector that ignored its labels, or used them backwards, would not fall."""
    X, y, X_test, y_test = labelled_kind_task(0)
    right = roc_auc_score(y_test, fast(name).fit(X, y).decision_function(X_test))
    wrong = roc_auc_score(y_test, fast(name).fit(X, reversed_labels(y)).decision_function(X_test))
    assert right > wrong + 0.2, (right, wrong)


# -- gradients of every loss term -------------------------------------------------------------
def _built(cls, **extra):
    """A detector after ``_build`` (networks, optimiser, pools), as ``fit`` leaves it before training."""
    X, y, _, _ = easy_task(0)
    det = cls(**{**cls.test_params, "device": "cpu", "random_state": 0, "ae_epochs": 1, **extra}) \
        if cls is FEAWAD else cls(**{**cls.test_params, "device": "cpu", "random_state": 0, **extra})
    det.device_ = torch.device("cpu")
    det._generator = torch.Generator().manual_seed(0)
    det.fit_info_ = {}
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    det._build(Xt, yt)
    return det, Xt, yt


def _grads(term: torch.Tensor, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    grads = torch.autograd.grad(term, list(tensors.values()), retain_graph=True, allow_unused=True)
    return {k: torch.zeros_like(t) if g is None else g for (k, t), g in zip(tensors.items(), grads)}


def _params(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{n}": p for n, p in module.named_parameters()}


def _moves(grads: dict[str, torch.Tensor], prefix: str) -> bool:
    return any(g.abs().sum() > 0 for k, g in grads.items() if k.startswith(prefix))


def _still(grads: dict[str, torch.Tensor], prefix: str) -> bool:
    return all(torch.count_nonzero(g) == 0 for k, g in grads.items() if k.startswith(prefix))


def test_devnet_terms():
    det, X, _ = _built(DevNet)
    anomalies, unlabelled = det._pools
    idx, labels = balanced_batch(anomalies, unlabelled, 64, det._generator)
    x = X[idx].clone().requires_grad_(True)
    terms = det.loss_terms(x, labels)
    params = _params(det.net_, "net")
    for name, own, other in (("inlier", labels == 0, labels == 1), ("outlier", labels == 1, labels == 0)):
        g = _grads(terms[name], {**params, "x": x})
        assert _moves(g, "net.hidden") and _moves(g, "net.score"), name
        assert g["x"][own].abs().sum() > 0 and torch.count_nonzero(g["x"][other]) == 0, name
    g = _grads(terms["l2"], {**params, "x": x})
    assert _moves(g, "net.hidden.0.weight") and _still(g, "net.score") and _still(g, "net.hidden.0.bias")
    assert torch.count_nonzero(g["x"]) == 0


def test_prenet_terms():
    det, X, _ = _built(PReNet)
    pairs = {kind: (left.clone().requires_grad_(True), right.clone().requires_grad_(True))
             for kind, (left, right) in det.pair_batch(X).items()}
    terms = det.loss_terms(pairs)
    assert set(terms) == {"anomaly-anomaly", "anomaly-unlabelled", "unlabelled-unlabelled"}
    inputs = {f"{kind}.{side}": t for kind, (l, r) in pairs.items() for side, t in (("left", l), ("right", r))}
    for kind, term in terms.items():
        g = _grads(term, {**_params(det.net_, "net"), **inputs})
        assert _moves(g, "net.feature") and _moves(g, "net.relation"), kind
        assert _moves(g, f"{kind}.") and _still(g, "anomaly-" if kind == "unlabelled-unlabelled" else "unlabelled-u"), kind
        for other in set(terms) - {kind}:
            assert _still(g, f"{other}."), (kind, other)


def test_feawad_terms():
    det, X, _ = _built(FEAWAD)
    anomalies, unlabelled = det._pools
    idx, labels = balanced_batch(anomalies, unlabelled, 64, det._generator)
    x = X[idx].clone().requires_grad_(True)
    terms = det.loss_terms(x, labels)
    params = {**_params(det.autoencoder_.encoder, "encoder"), **_params(det.autoencoder_.decoder, "decoder"),
              **_params(det.scorer_, "scorer")}
    for name, term in terms.items():
        g = _grads(term, {**params, "x": x})
        own = labels == (0 if name.endswith("unlabelled") else 1)
        assert g["x"][own].abs().sum() > 0 and torch.count_nonzero(g["x"][~own]) == 0, name
        assert _moves(g, "encoder") and _moves(g, "decoder"), name
        if name.startswith("residual"):  # the residual length does not depend on the score network
            assert _still(g, "scorer"), name
        else:
            assert _moves(g, "scorer"), name
    g = _grads(det.pretraining_loss(X[:32]), params)
    assert _moves(g, "encoder") and _moves(g, "decoder") and _still(g, "scorer")


@pytest.mark.parametrize("cls", [DevNet, PReNet, FEAWAD])
def test_training_step_sums_exactly_these_terms(cls):
    """One training batch: the losses the step records are the terms of loss_terms on the same draws."""
    det, X, y = _built(cls, batches_per_epoch=1)
    state = det._generator.get_state()
    before = {k: v.detach().clone() for k, v in det._modules()[next(iter(det._modules()))].state_dict().items()}
    with torch.no_grad():
        if cls is PReNet:
            expected = det.loss_terms(det.pair_batch(X))
        else:
            anomalies, unlabelled = det._pools
            idx, labels = balanced_batch(anomalies, unlabelled, int(det.batch_size), det._generator)
            expected = det.loss_terms(X[idx], labels)
    det._generator.set_state(state)
    for module in det._modules().values():
        module.train(True)
    recorded = det._train_epoch(0, X, y)
    assert recorded.keys() == expected.keys()
    for name in expected:
        assert recorded[name] == pytest.approx(float(expected[name]), rel=1e-5, abs=1e-7), name
    after = det._modules()[next(iter(det._modules()))].state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before), "the step changed nothing"


# -- what was found in PyOD ----------------------------------------------------------------------
def test_pyod_devnet_loss_ignores_the_labels_as_pyod_calls_it():
    """PyOD's DevNet.fit calls deviation_loss(outputs, labels) against the signature (y_true, y_pred):
    the gradient on every output is then the same number whatever its label, so training cannot
    separate anomalies from normals. If this test fails, PyOD has fixed it: reconsider using it."""
    with torch.random.fork_rng(devices=[]):
        state = np.random.get_state()
        from pyod.models.devnet import deviation_loss  # importing reseeds the global generators

        np.random.set_state(state)
        outputs = torch.randn(16, 1, requires_grad=True)
        labels = torch.tensor([0.0, 1.0] * 8)
        deviation_loss(outputs, labels).backward()
    grad = outputs.grad.flatten()
    assert torch.allclose(grad, grad[0].expand_as(grad))


def test_xgbod_subsample_keeps_every_collected_anomaly():
    X, y, X_test, _ = easy_task(0)
    det = XGBOD(params={"n_estimators": 10}, max_train=100, random_state=0).fit(X, y)
    assert det.fit_info_["subsampled_from"] == len(X)
    assert det.model_.X_train_new_.shape[0] == 100 + int(y.sum())
    assert np.isfinite(det.decision_function(X_test)).all()


def test_xgbod_max_collected_caps_the_collected_anomalies():
    X, y, X_test, y_test = easy_task(0)
    capped = XGBOD(params={"n_estimators": 10}, max_train=100, max_collected=5, random_state=0).fit(X, y)
    assert capped.model_.X_train_new_.shape[0] == 100 + 5
    assert roc_auc_score(y_test, capped.decision_function(X_test)) > 0.8
