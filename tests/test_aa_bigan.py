"""What is special about AA-BiGAN: its loss targets and weights, its update order, the anomaly
target learned by D, score selection, and that it learns (docs/methods.md §4)."""
from __future__ import annotations

import copy
from collections import defaultdict

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

import detectors.aa_bigan as aab
from detectors.aa_bigan import AABiGAN, anomaly_batch_size
from detectors.networks import bigan
from detectors.registry import available_detectors
from tests.helpers import random_mnist_task, reversed_labels

TINY = dict(epochs=1, batch_size=32, device="cpu", random_state=0, eval_every=None, arch="cardio")


def gaussian_task(n_normal=256, n_anomaly=24, d=8, seed=0):
    """Normals around 0.3, collected anomalies around 0.8 in [0, 1]^d (an ODDS-like table)."""
    rng = np.random.default_rng(seed)
    normal = np.clip(rng.normal(0.3, 0.08, (n_normal, d)), 0, 1)
    anomaly = np.clip(rng.normal(0.8, 0.08, (n_anomaly, d)), 0, 1)
    X = np.concatenate([normal, anomaly]).astype(np.float32)
    y = np.r_[np.zeros(n_normal), np.ones(n_anomaly)].astype(np.int64)
    return X, y


@pytest.fixture
def spy(monkeypatch):
    """Record (phase, term) -> set of (target, weight) passed to the loss helper."""
    calls: dict[tuple[str, str], set] = defaultdict(set)
    real = aab.least_squares

    def recording(phase, term, output, target, weight=1.0):
        calls[(phase, term)].add((round(float(target), 6), round(float(weight), 6)))
        return real(phase, term, output, target, weight)

    monkeypatch.setattr(aab, "least_squares", recording)
    return calls


def test_registered():
    assert "aa-bigan" in available_detectors()


def test_loss_targets_and_weights_with_anomalies(spy):
    X, y = gaussian_task()
    AABiGAN(**TINY).fit(X, y)
    third = round(1 / 3, 6)
    assert dict(spy) == {
        ("D", "xz/normal"): {(1.0, 1.0)}, ("D", "xz/generated"): {(0.0, 1.0)}, ("D", "xz/anomaly"): {(0.5, 1.0)},
        ("D", "xx/normal"): {(1.0, 1.0)}, ("D", "xx/reconstruction"): {(0.0, 1.0)}, ("D", "xx/anomaly"): {(0.5, 1.0)},
        ("GE", "xz/normal"): {(0.75, 1.0)}, ("GE", "xz/generated"): {(0.75, 1.0)}, ("GE", "xz/anomaly"): {(0.75, 1.0)},
        ("GE", "xx/normal"): {(0.75, third)}, ("GE", "xx/reconstruction"): {(0.75, third)},
        ("GE", "xx/anomaly"): {(0.75, third)},
    }


def test_loss_targets_unsupervised_and_custom(spy):
    X, y = gaussian_task()
    AABiGAN(**TINY, a=2.0, b=-1.0, c=0.25).fit(X[y == 0])
    assert not any("anomaly" in term for _, term in spy)
    assert spy[("D", "xz/normal")] == {(2.0, 1.0)} and spy[("D", "xz/generated")] == {(-1.0, 1.0)}
    assert spy[("GE", "xx/reconstruction")] == {(0.25, 0.5)} and spy[("GE", "xz/normal")] == {(0.25, 1.0)}


def test_each_expectation_is_its_own_batch_mean():
    out = torch.tensor([1.0, 1.0, 1.0, 3.0])
    assert aab.least_squares("D", "t", out, 1.0, 0.5).item() == pytest.approx(0.5 * 4.0 / 4)


@pytest.mark.filterwarnings("ignore:Seems like `optimizer.step\\(\\)` has been overridden")
def test_update_order_and_fresh_d_passes(monkeypatch):
    """Per iteration: D steps first, then G and E; every D pass of the G/E losses comes after D's
    step. Autograd's version counters would raise if a graph were differentiated after one of its
    weights was stepped."""
    events: list[str] = []
    real_build = AABiGAN._build

    def build(self, X, y):
        real_build(self, X, y)
        for name, module in self._modules().items():
            for part in (module, getattr(module, "head", None)):  # D_xx may call its head directly
                if part is not None:
                    part.register_forward_hook(lambda *_, n=name: events.append("fwd:" + n))
        for name, opt in (("d", self._opt_d), ("g", self._opt_g), ("e", self._opt_e)):
            real_step = opt.step
            opt.step = lambda *a, n=name, s=real_step, **k: (events.append("step:" + n), s(*a, **k))[1]

    monkeypatch.setattr(AABiGAN, "_build", build)
    X, y = gaussian_task(n_normal=64)
    AABiGAN(**TINY).fit(X, y)
    steps = [e for e in events if e.startswith("step")]
    assert steps == ["step:d", "step:g", "step:e"] * 2  # 64 normals, batch 32
    first = events[: events.index("step:e") + 1]
    after_d = first[first.index("step:d"): first.index("step:g")]
    assert "fwd:d_xz" in after_d and "fwd:d_xx" in after_d


@pytest.mark.parametrize("n_normal, sizes", [(70, [32, 32, 6]), (65, [32, 32])])
def test_batch_composition(monkeypatch, n_normal, sizes):
    """As in the public code: E runs once per iteration on [x+, x-] and G once on [E(x+), z], so
    their BatchNorm layers see the mixed batches; the last incomplete batch of normals is kept
    unless it holds a single sample."""
    calls: dict[str, list[int]] = defaultdict(list)
    real_build = AABiGAN._build

    def build(self, X, y):
        real_build(self, X, y)
        for name in ("encoder", "generator"):
            self._modules()[name].register_forward_hook(
                lambda m, inp, out, n=name: calls[n].append(len(inp[0])) if m.training else None)

    monkeypatch.setattr(AABiGAN, "_build", build)
    X, y = gaussian_task(n_normal=n_normal)
    det = AABiGAN(**TINY).fit(X, y)
    k = det.batch_anomaly_
    assert calls["encoder"] == [n + k for n in sizes]
    assert calls["generator"] == [2 * n for n in sizes]


def test_anomaly_batch_size_rule():
    assert [anomaly_batch_size(g, "mnist", 200, 10_000) for g in (0.2, 0.1, 0.05, 0.01)] == [50, 22, 10, 22]
    assert anomaly_batch_size(0.01, "cifar10", 200, 50) == 50
    assert anomaly_batch_size(311 / (5923 + 311), "fmnist", 200, 311) == 10  # derived from counts
    assert anomaly_batch_size(0.3, "mnist", 200, 10_000) == int(200 * 0.3 / 0.7)  # off-table rule
    assert anomaly_batch_size(0.05, "mnist", 200, 4) == 4  # never more than |X-|


def test_anomaly_pairs_get_the_anomaly_target():
    """Trained with collected anomalies, D_xz gives their pairs values near (a+b)/2 = 0.5 and the
    normal pairs values near a = 1, read as D sees them in training (train-mode BatchNorm in E, which
    encodes a batch of normals and a batch of anomalies together)."""
    X, y = gaussian_task(n_normal=512, n_anomaly=64, seed=1)
    det = AABiGAN(epochs=30, batch_size=64, lr_d=1e-3, device="cpu", random_state=0, eval_every=None,
                  arch="cardio").fit(X, y)
    det._set_train(True)
    with torch.no_grad():
        xn, xp = torch.as_tensor(X[y == 1][:det.batch_anomaly_]), torch.as_tensor(X[y == 0][:64])
        batch = det._forward(xp, xn, det._noise(64))
        d_anom = det.d_xz_(xn, batch.en).mean().item()
        d_norm = det.d_xz_(xp, batch.ep).mean().item()
    assert abs(d_anom - 0.5) < 0.1, d_anom
    assert abs(d_norm - 1.0) < 0.2, d_norm


def test_same_seed_same_scores():
    X, y = gaussian_task()
    a = AABiGAN(**{**TINY, "epochs": 2}).fit(X, y).decision_scores_
    b = AABiGAN(**{**TINY, "epochs": 2}).fit(X, y).decision_scores_
    np.testing.assert_array_equal(a, b)
    assert np.std(a) > 0


def test_best_epoch_weights_are_restored():
    X, y = gaussian_task(seed=2)
    X_val, y_val = gaussian_task(n_normal=100, n_anomaly=40, seed=3)
    det = AABiGAN(**{**TINY, "epochs": 5, "eval_every": 1}).fit(X, y, eval_set=(X_val, y_val))
    info = det.fit_info_
    assert info["selected_score"] in ("recon", "latent") and 1 <= info["selected_epoch"] <= 5
    best = max(r.get(f"val_auroc_{s}", -1) for r in det.history_ for s in ("recon", "latent"))
    assert roc_auc_score(y_val, det.decision_function(X_val)) == pytest.approx(best)
    assert info["val_auroc"] == pytest.approx(best)


def test_clone_and_epoch_scale():
    det = AABiGAN(epochs=10, epoch_scale=0.2, **{k: v for k, v in TINY.items() if k != "epochs"})
    twin = clone(det)
    assert twin.get_params() == det.get_params()
    X, y = gaussian_task(n_normal=64)
    twin.fit(X, y)
    assert twin.fit_info_["epochs_run"] == 2 and twin.get_params()["epochs"] == 10


def test_tabular_design_options_shape_the_mlps():
    """mlp_hidden sets the widths of E, G (mirrored) and both D towers; mlp_batchnorm=False takes
    BatchNorm out of E and G; the variant still learns an easy table. Images refuse the options."""
    X, y = gaussian_task(n_normal=192)
    det = AABiGAN(**{**TINY, "epochs": 15}, mlp_hidden=(24, 12, 6), mlp_batchnorm=False).fit(X, y)

    def widths(module):
        return [m.out_features for m in module.modules() if isinstance(m, torch.nn.Linear)]

    assert widths(det.encoder_) == [24, 12, 6, det.latent_dim_]
    assert widths(det.generator_) == [6, 12, 24, X.shape[1]]
    assert widths(det.d_xx_.tower_a) == widths(det.d_xz_.tower) == [24, 12, 6]
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in [*det.encoder_.modules(), *det.generator_.modules()])
    X_test, y_test = gaussian_task(n_normal=100, n_anomaly=100, seed=1)
    scores = det.decision_function(X_test)
    assert np.std(scores) > 0 and roc_auc_score(y_test, scores) > 0.9
    default = AABiGAN(**TINY).fit(X, y)
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in default.generator_.modules()) == 2
    rng = np.random.default_rng(0)
    images = rng.random((20, 1, 28, 28), dtype=np.float32)
    with pytest.raises(ValueError, match="tabular"):
        AABiGAN(**{**TINY, "arch": "mnist"}, mlp_hidden=(8,)).fit(images, np.zeros(20, dtype=np.int64))


def test_iterations_budget_and_evenly_spread_evaluations():
    """iterations=N runs ceil(N / steps per epoch) epochs (the last batch counts as a step);
    n_evaluations=k evaluates every epochs // k epochs, whatever the run's length."""
    X, y = gaussian_task(n_normal=70)  # batch 32: steps of 32, 32, 6 -> 3 per epoch
    params = {k: v for k, v in TINY.items() if k not in ("epochs", "eval_every")}
    det = AABiGAN(**params, iterations=25, eval_every=1, n_evaluations=3).fit(X, y, eval_set=gaussian_task(40, 10, seed=2))
    assert det.fit_info_["epochs_planned"] == det.fit_info_["epochs_run"] == 9  # ceil(25 / 3)
    assert [h["epoch"] for h in det.history_ if "val_auroc_recon" in h] == [3, 6, 9]
    with pytest.raises(ValueError, match="not both"):
        AABiGAN(**params, epochs=2, iterations=10).fit(X, y)


def test_tables_default_to_the_studied_design():
    """epochs=None on a table is the design study's step budget, batch and evaluation count;
    images keep the public code's 200 epochs at batch 200 and evaluate every eval_every epochs."""
    X, y = gaussian_task(n_normal=64)  # one step per epoch at any batch of 64 or more
    params = {k: v for k, v in TINY.items() if k not in ("epochs", "batch_size", "eval_every")}
    det = AABiGAN(**params, epoch_scale=0.01, eval_every=1).fit(X, y, eval_set=gaussian_task(30, 10, seed=3))
    steps = aab.TABULAR_DESIGN["iterations"]
    assert det.fit_info_["batch_normal"] == min(aab.TABULAR_DESIGN["batch_size"], 64)
    assert det.fit_info_["steps_planned"] == det.fit_info_["epochs_planned"] == round(steps * 0.01)
    assert det._eval_interval(steps) == steps // aab.TABULAR_DESIGN["n_evaluations"]
    with pytest.raises(ValueError, match="step budget"):
        AABiGAN().epoch_plan("cardio")
    image = AABiGAN(eval_every=1)
    assert image.epoch_plan("mnist") == {AABiGAN.TRAIN_STAGE: 200} and image._eval_interval(200) == 1


def test_image_nets_shapes():
    for arch, shape in (("mnist", (1, 32, 32)), ("cifar10", (3, 32, 32))):
        latent = bigan.latent_dim_for(arch, shape)
        E = bigan.build_encoder(arch, shape, latent)
        G = bigan.build_generator(arch, shape, latent)
        x = torch.rand(4, *shape)
        z = E(x)
        assert z.shape == (4, latent) and G(z).shape == (4, *shape)
        assert bigan.build_xz_discriminator(arch, shape, latent)(x, z).shape == (4,)
        assert bigan.build_xx_discriminator(arch, shape)(x, x).shape == (4,)
    assert bigan.build_image_tower("mnist", 1).out_features == 256
    assert bigan.build_image_tower("cifar10", 3).out_features == 2048


MNIST_FIT = dict(epochs=4, batch_size=100, device="cpu", random_state=0, eval_every=None, arch="mnist")
#: Each score's own floor on the task below (measured at seed 0: recon 0.83, latent 0.93). The latent
#: score must also beat the same networks untrained (learning rates 1e-12: 0.67). The recon score does
#: not, at this length: an untrained G(E(x)) is close to one image, so its error already ranks digit 0
#: against the rest (0.85); its floor only holds it to that.
SCORE_FLOORS = {"recon": 0.75, "latent": 0.85}


@pytest.fixture(scope="module")
def mnist_fits(mnist):
    """Digit 0 normal, 20 collected 1s (28x28 inputs resized inside); fitted with these labels, with the
    labels moved onto normals, and untrained; the test scores of each, per score."""
    X, y, X_test, digits = random_mnist_task(mnist, 400, 20, 1000)
    out = {"y_test": (digits != 0).astype(int), "digits": digits}
    for kind, labels, extra in (("trained", y, {}), ("reversed", reversed_labels(y), {}),
                                ("untrained", y, {"lr": 1e-12, "lr_d": 1e-12, "epochs": 1})):
        det = AABiGAN(**{**MNIST_FIT, **extra}).fit(X, labels)
        out[kind] = {name: s.numpy() if hasattr(s, "numpy") else np.asarray(s)
                     for name, s in det._score_candidates(torch.as_tensor(X_test)).items()}
    return out


@pytest.mark.parametrize("score", sorted(SCORE_FLOORS))
def test_learns_mnist_zero_vs_rest(mnist_fits, score):
    y_test, scores = mnist_fits["y_test"], mnist_fits["trained"][score]
    assert np.std(scores) > 0
    auroc = roc_auc_score(y_test, scores)
    assert auroc >= SCORE_FLOORS[score], f"{score}: AUROC {auroc:.3f} below {SCORE_FLOORS[score]}"
    if score == "latent":
        untrained = roc_auc_score(y_test, mnist_fits["untrained"][score])
        assert untrained < auroc - 0.15, (untrained, auroc)


def test_labels_are_used_the_right_way_round(mnist_fits):
    """The collected 1s labelled as anomalies, against as many 0s labelled instead: the latent score
    (measured 0.93 against 0.74) must be clearly worse with the labels on the wrong rows."""
    y_test = mnist_fits["y_test"]
    right = roc_auc_score(y_test, mnist_fits["trained"]["latent"])
    wrong = roc_auc_score(y_test, mnist_fits["reversed"]["latent"])
    assert right > wrong + 0.1, (right, wrong)


def test_default_epochs_follow_the_dataset_family():
    rng = np.random.default_rng(0)
    for arch, shape, planned in (("cifar10", (3, 32, 32), 2), ("mnist", (1, 28, 28), 1)):
        X = rng.random((40, *shape), dtype=np.float32)
        y = np.r_[np.zeros(36), np.ones(4)].astype(np.int64)
        det = AABiGAN(epoch_scale=0.002, batch_size=16, device="cpu", random_state=0, eval_every=None, arch=arch)
        det.fit(X, y)
        # 1000 epochs for CIFAR-10 and 200 for MNIST, scaled by 0.002 (at least one epoch)
        assert det.fit_info_["epochs_planned"] == planned == det.fit_info_["epochs_run"]


def test_channels_last_is_a_layout_not_a_different_model():
    """Channels-last (the default, for speed) changes memory layout only: same seed, same data,
    one epoch each way -> the same scores up to float rounding; the nets really are channels-last;
    and images, like tables, give the same scores for the same seed."""
    rng = np.random.default_rng(0)
    X = rng.random((120, 1, 28, 28), dtype=np.float32)
    y = np.r_[np.zeros(112), np.ones(8)].astype(np.int64)
    params = dict(epochs=1, batch_size=56, device="cpu", random_state=0, eval_every=None, arch="mnist")
    fast = AABiGAN(**params).fit(X, y)
    plain = AABiGAN(**params, channels_last=False).fit(X, y)
    again = AABiGAN(**params).fit(X, y)
    np.testing.assert_array_equal(fast.decision_scores_, again.decision_scores_)  # same seed, same scores
    conv = fast.d_xx_.tower_a[2].weight
    assert conv.dim() == 4 and conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    np.testing.assert_allclose(fast.decision_scores_, plain.decision_scores_, rtol=1e-3)
    assert np.std(fast.decision_scores_) > 0


# -- gradients: which loss term moves which network --------------------------------------------
NETS = ("encoder", "generator", "d_xz", "d_xx")
# (phase, term) -> the networks whose weights get a non-zero gradient from that term alone.
# D phase: E and G outputs are detached, so each term reaches only its own head. G/E phase (G and
# E are the networks stepped): the (x, x) pairs contain no E or G output; the generated pair
# reaches E only through the BatchNorm statistics G shares between E(x+) and z, which the step
# keeps out of E's update (E's loss does not contain that term, see test_step_applies_own_losses).
MOVES = {
    ("D", "xz/normal"): {"d_xz"}, ("D", "xz/generated"): {"d_xz"}, ("D", "xz/anomaly"): {"d_xz"},
    ("D", "xx/normal"): {"d_xx"}, ("D", "xx/reconstruction"): {"d_xx"}, ("D", "xx/anomaly"): {"d_xx"},
    ("GE", "xz/normal"): {"encoder"}, ("GE", "xz/anomaly"): {"encoder"},
    ("GE", "xz/generated"): {"generator", "encoder"},
    ("GE", "xx/reconstruction"): {"generator", "encoder"},
    ("GE", "xx/normal"): set(), ("GE", "xx/anomaly"): set(),
}


def _params(det, name):
    return list(det._modules()[name].parameters())


def _grad_norms(loss, det) -> dict[str, float]:
    """The norm of d loss / d weights for each network (0 where the loss does not depend on it)."""
    out = {}
    for name in NETS:
        params = _params(det, name)
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True) if loss.requires_grad else [None]
        out[name] = float(sum(g.pow(2).sum() for g in grads if g is not None)) ** 0.5
    return out


IMAGE_SHAPES = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _ready_detector(arch="cardio", **params):
    """A detector after one short epoch (so that D is not at its initial values), in train mode,
    with one fixed batch of normals, collected anomalies and codes."""
    if arch == "cardio":
        X, y = gaussian_task(n_normal=96)
    else:
        rng = np.random.default_rng(0)
        X = rng.random((72, *IMAGE_SHAPES[arch]), dtype=np.float32)
        y = np.r_[np.zeros(64), np.ones(8)].astype(np.int64)
    det = AABiGAN(**{**TINY, "arch": arch, **params}).fit(X, y)
    det._set_train(True)
    xp, xn = det._x_normal[:16], det._x_anom[:4]
    z = torch.randn(16, det.latent_dim_, generator=torch.Generator().manual_seed(1))
    return det, xp, xn, z


@pytest.mark.parametrize("arch, params", [("cardio", {}), ("mnist", {}), ("cifar10", {}),
                                          ("cardio", {"mlp_batchnorm": False, "mlp_hidden": (24, 12, 6)})])
def test_each_term_moves_only_its_networks(arch, params):
    """Every loss term, alone, on a tiny batch: non-zero gradient for the networks it must move,
    exactly zero for the others (the MLP and the image nets; an MLP without BatchNorm, where the
    generated pair no longer reaches E through G's batch statistics)."""
    det, xp, xn, z = _ready_detector(arch, **params)
    expected = dict(MOVES)
    if params.get("mlp_batchnorm") is False:
        expected[("GE", "xz/generated")] = {"generator"}
    batch = det._forward(xp, xn, z)
    terms = {("D", t): v for t, v in det._d_terms(batch).items()}
    terms |= {("GE", t): v for t, v in det._ge_terms(batch).items()}
    assert set(terms) == set(MOVES)
    for key, loss in terms.items():
        norms = _grad_norms(loss, det)
        moved = {name for name, norm in norms.items() if norm > 0}
        if key[0] == "GE":
            moved -= {"d_xz", "d_xx"}  # D is not stepped in this phase
        assert moved == expected[key], (key, norms)


@pytest.mark.parametrize("arch", ["cardio", "mnist", "cifar10"])
def test_step_applies_own_losses(arch):
    """The gradients the optimizers apply in one training step, from identical weights and batch,
    equal those of each network's loss rebuilt from the terms: D the sum of all six, G its four
    (generated pair and the three cycle terms), E its five (encoded pairs and the cycle). A term
    that lost its graph on the way into a loss (e.g. summed under no_grad) makes this fail."""
    det, xp, xn, z = _ready_detector(arch)
    twin = copy.deepcopy(det)
    applied: dict[str, list[torch.Tensor]] = {}
    for name, opt, nets in (("d", det._opt_d, ("d_xz", "d_xx")), ("g", det._opt_g, ("generator",)),
                            ("e", det._opt_e, ("encoder",))):
        real_step = opt.step

        def step(*args, _name=name, _nets=nets, _real=real_step, **kwargs):
            applied[_name] = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                              for n in _nets for p in _params(det, n)]
            return _real(*args, **kwargs)
        opt.step = step
    det._step(xp, xn, z)

    batch = twin._forward(xp, xn, z)
    d_params = _params(twin, "d_xz") + _params(twin, "d_xx")
    d_terms = twin._d_terms(batch)
    twin._opt_d.zero_grad()
    sum(d_terms.values()).backward()
    expected_d = [p.grad.clone() for p in d_params]
    twin._opt_d.step()  # the same D step as det's: G and E now see the same D
    ge = twin._ge_terms(batch)
    expected = {
        "d": expected_d,
        "g": torch.autograd.grad(sum(ge[t] for t in aab.G_TERMS), _params(twin, "generator"), retain_graph=True),
        "e": torch.autograd.grad(sum(ge[t] for t in aab.E_TERMS), _params(twin, "encoder"), retain_graph=True,
                                    allow_unused=True),
    }
    for name in ("d", "g", "e"):
        assert len(applied[name]) == len(expected[name])
        for got, want in zip(applied[name], expected[name]):
            want = torch.zeros_like(got) if want is None else want
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-7)
    # the reconstruction term really reaches G and E through their losses
    for net, loss in (("generator", sum(ge[t] for t in aab.G_TERMS)), ("encoder", sum(ge[t] for t in aab.E_TERMS))):
        with_rec = _grad_norms(loss, twin)[net]
        without = _grad_norms(loss - ge["xx/reconstruction"], twin)[net]
        assert with_rec > 0 and abs(with_rec - without) > 1e-6 * with_rec, net


def test_losses_reported_per_network():
    """The history carries each network's epoch-mean loss, as the public code logs them."""
    X, y = gaussian_task()
    det = AABiGAN(**TINY).fit(X, y)
    row = det.history_[0]
    assert {"loss_d", "loss_d_xz", "loss_d_xx", "loss_g", "loss_e"} <= set(row)
    assert row["loss_d"] == pytest.approx(row["loss_d_xz"] + row["loss_d_xx"])
    assert all(row[k] > 0 for k in ("loss_d_xz", "loss_d_xx", "loss_g", "loss_e"))
