"""Experiments trained together (``fit_many``) give what the same experiments give trained alone.

Tolerance: on the MLP path the stacked computation happens to be bitwise equal on CPU; on the
convolutional path ``vmap`` runs each convolution as one grouped convolution, whose sums are
ordered differently, and after a few epochs scores differ by about 1e-6 relative (measured:
at most 1.3e-6). The image tests run the vmapped stack on CPU: the path a GPU takes (on CPU the
runner fits image experiments one by one). ``rtol=1e-4, atol=1e-5`` leaves room for
other BLAS builds while any shared random stream or BatchNorm statistic moves scores by far more
(checked by breaking each once).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from detectors.batched import TRAINERS, check_group, fit_many, stacking_pays, supports_batching
from detectors.batched.stacked import StackedAdam
from detectors.deep_sad import DeepSAD
from detectors.errors import DivergenceError

RTOL, ATOL = 1e-4, 1e-5
SEEDS = (3, 4, 5)


def _table(rng: np.random.Generator, n: int, d: int = 12) -> tuple[np.ndarray, np.ndarray, None]:
    X = rng.random((n, d)).astype(np.float32)
    y = np.zeros(n, dtype=int)
    y[:5] = 1
    X[:5] += 0.5
    return X, y, None


def _images(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, None]:
    X = rng.random((n, 1, 28, 28)).astype(np.float32)
    y = np.zeros(n, dtype=int)
    y[:4] = 1
    X[:4] *= 0.3
    return X, y, None


def _alone_and_together(params: dict, data: list) -> tuple[list[DeepSAD], list[DeepSAD], list]:
    alone = [DeepSAD(**params, random_state=s).fit(X, y, eval_set=ev) for s, (X, y, ev) in zip(SEEDS, data)]
    together = [DeepSAD(**params, random_state=s) for s in SEEDS]
    outcomes = fit_many(together, data)
    return alone, together, outcomes


def _assert_same(alone: DeepSAD, together: DeepSAD, X_test: np.ndarray) -> None:
    np.testing.assert_allclose(together.decision_function(X_test), alone.decision_function(X_test), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(together.decision_scores_, alone.decision_scores_, rtol=RTOL, atol=ATOL)
    assert [r["epoch"] for r in together.history_] == [r["epoch"] for r in alone.history_]
    np.testing.assert_allclose([r["loss"] for r in together.history_], [r["loss"] for r in alone.history_], rtol=RTOL)
    for name, buffer in alone.net_.named_buffers():  # BatchNorm running statistics, per experiment
        np.testing.assert_allclose(dict(together.net_.named_buffers())[name].numpy(), buffer.numpy(), rtol=RTOL, atol=ATOL)
    assert together.fit_info_.keys() == alone.fit_info_.keys()
    assert together.fit_info_["selected_epoch"] == alone.fit_info_["selected_epoch"]


def test_deep_sad_declares_batching_and_refuses_mixed_groups():
    assert supports_batching(DeepSAD)
    check_group([DeepSAD(random_state=0), DeepSAD(random_state=1)])
    with pytest.raises(ValueError, match="these differ: epochs"):
        check_group([DeepSAD(epochs=2), DeepSAD(epochs=3)])


def test_tabular_group_of_unequal_sizes_matches_one_by_one():
    """Sizes 150, 181, 150 at batch 32: 5 and 6 batches per epoch and different last batches, so
    masked steps and per-experiment Adam step counts are exercised; milestones in both phases."""
    rng = np.random.default_rng(0)
    data = [_table(rng, n) for n in (150, 181, 150)]
    params = dict(epochs=3, ae_epochs=2, batch_size=32, device="cpu", arch="mlp", lr_milestones=(2,),
                  ae_lr_milestones=(1,))
    alone, together, outcomes = _alone_and_together(params, data)
    assert outcomes == [None, None, None]
    X_test = rng.random((50, 12)).astype(np.float32)
    for a, t in zip(alone, together):
        _assert_same(a, t, X_test)
    # the three experiments really differ (a shared stream or model would make them alike)
    assert np.ptp([t.decision_function(X_test)[0] for t in together]) > 1e-3


def test_mnist_sized_group_matches_one_by_one_with_validation_selection():
    """The LeNet path (convolutions, 2-D BatchNorm, transposed convolutions in the decoder), with
    an eval_set and per-epoch selection as the validation-selection policies use it."""
    rng = np.random.default_rng(1)
    data = []
    for n in (64, 80, 64):
        X, y, _ = _images(rng, n)
        X_val, y_val, _ = _images(rng, 20)
        data.append((X, y, (X_val, y_val)))
    params = dict(epochs=2, ae_epochs=2, batch_size=32, device="cpu", arch="mnist", eval_every=1)
    alone, together, outcomes = _alone_and_together(params, data)
    assert outcomes == [None, None, None]
    X_test = rng.random((30, 1, 28, 28)).astype(np.float32)
    for a, t in zip(alone, together):
        _assert_same(a, t, X_test)
        assert t.fit_info_["val_auroc"] == pytest.approx(a.fit_info_["val_auroc"], abs=1e-6)


def test_without_pretraining_matches_one_by_one():
    rng = np.random.default_rng(2)
    data = [_table(rng, n) for n in (90, 90, 100)]
    params = dict(epochs=2, pretrain=False, batch_size=32, device="cpu", arch="mlp")
    alone, together, outcomes = _alone_and_together(params, data)
    assert outcomes == [None, None, None]
    X_test = rng.random((20, 12)).astype(np.float32)
    for a, t in zip(alone, together):
        _assert_same(a, t, X_test)


def test_one_failing_experiment_does_not_stop_the_others():
    """Bad input and a diverging loss fail their own experiment only, with the error fit raises."""
    rng = np.random.default_rng(3)
    good = _table(rng, 100)
    huge = (good[0] * 1e30, good[1], None)  # finite input, infinite reconstruction loss
    params = dict(epochs=2, ae_epochs=2, batch_size=32, device="cpu", arch="mlp")
    together = [DeepSAD(**params, random_state=s) for s in (0, 1, 2)]
    outcomes = fit_many(together, [good, huge, (np.full((5, 12), np.nan), None, None)])
    assert outcomes[0] is None
    assert isinstance(outcomes[1], DivergenceError) and "autoencoder reconstruction loss" in str(outcomes[1])
    assert isinstance(outcomes[2], ValueError) and "NaN" in str(outcomes[2])
    alone = DeepSAD(**params, random_state=0).fit(good[0], good[1])
    _assert_same(alone, together[0], good[0][:20])


def test_stacked_adam_moves_only_the_experiments_that_step():
    """Rows outside the subset keep weights, moments and step counts; rows inside match torch's Adam."""
    torch.manual_seed(0)
    stacked = torch.randn(3, 4, requires_grad=True)
    own = [torch.nn.Parameter(stacked[k].detach().clone()) for k in range(3)]
    optim = StackedAdam([stacked], 3, lr=0.1, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    reference = [torch.optim.Adam([p], lr=0.1, weight_decay=0.01) for p in own]
    for step, subset in enumerate(([0, 1, 2], [0, 2], [2], [0, 1, 2])):
        grad = torch.randn(3, 4) * (step + 1)
        stacked.grad = grad.clone()
        before = stacked.detach().clone()
        optim.step(None if len(subset) == 3 else torch.tensor(subset))
        for k in range(3):
            if k in subset:
                own[k].grad = grad[k].clone()
                reference[k].step()
                torch.testing.assert_close(stacked[k].detach(), own[k].detach())
            else:
                assert torch.equal(stacked[k].detach(), before[k])
    assert optim.steps[0].tolist() == [3, 2, 4]


def test_trainers_register_in_one_table_for_the_exact_class():
    """The table of :mod:`detectors.batched` names the trainer of each class; a subclass, or a
    class without a trainer, is refused by name and fitted one by one by the runner."""
    from detectors.aa_bigan import AABiGAN
    from detectors.supervised import SupervisedClassifier

    class MyDeepSAD(DeepSAD):
        pass

    assert supports_batching(DeepSAD) and supports_batching(AABiGAN)
    assert not supports_batching(MyDeepSAD) and not supports_batching(SupervisedClassifier)
    assert TRAINERS[DeepSAD].__module__ == "detectors.batched.deep_sad"
    with pytest.raises(ValueError, match="no batched trainer is registered for MyDeepSAD; registered: .*DeepSAD"):
        fit_many([MyDeepSAD(), MyDeepSAD()], [_table(np.random.default_rng(0), 40)] * 2)


def test_stacking_pays_for_tables_anywhere_and_for_images_on_a_gpu():
    assert stacking_pays("cpu", images=False) and stacking_pays("cuda:1", images=False)
    assert stacking_pays("cuda", images=True) and stacking_pays("cuda:0", images=True)
    assert not stacking_pays("cpu", images=True)
    assert stacking_pays("auto", images=True) == torch.cuda.is_available()


# -- AA-BiGAN ---------------------------------------------------------------------------------
# AA-BiGAN's nets have biases right before train-mode BatchNorms. Their gradient is zero up to
# rounding, and Adam turns rounding noise into steps of up to lr, so these biases (and, through
# the running means that follow them, eval-mode outputs) wander by noise alone. Measured on the
# image case below: scores differ by at most 2.2e-4 relative between stacked and one-by-one
# training, and by 1.6e-4 between two one-by-one fits whose inputs differ by one ulp. Hence a
# looser tolerance here; a shared random stream changes scores by far more.
AA_RTOL, AA_ATOL = 2e-3, 1e-3
def _aa_bigan_alone_and_together(params: dict, data: list):
    from detectors.aa_bigan import AABiGAN

    alone = [AABiGAN(**params, random_state=s).fit(X, y, eval_set=ev) for s, (X, y, ev) in zip(SEEDS, data)]
    together = [AABiGAN(**params, random_state=s) for s in SEEDS]
    return alone, together, fit_many(together, data)


def _net_outputs(detector, X: np.ndarray) -> dict[str, np.ndarray]:
    """Each network's eval-mode output on test data: compares weights and BatchNorm statistics by
    what they compute (the biases in front of a BatchNorm are noise, see AA_RTOL)."""
    detector._set_train(False)
    with torch.no_grad():
        x = detector._prepare(torch.as_tensor(X))
        z = detector.encoder_(x)
        out = {"E": z, "G": detector.generator_(z), "D_xz": detector.d_xz_(x, z), "D_xx": detector.d_xx_(x, x)}
    return {name: value.float().numpy() for name, value in out.items()}


def _assert_same_aa_bigan(alone, together, X_test: np.ndarray) -> None:
    np.testing.assert_allclose(together.decision_function(X_test), alone.decision_function(X_test), rtol=AA_RTOL)
    assert len(together.history_) == len(alone.history_)
    for a, t in zip(alone.history_, together.history_):
        assert a.keys() == t.keys()
        np.testing.assert_allclose([t[k] for k in a], [a[k] for k in a], rtol=AA_RTOL)
    for name in ("selected_epoch", "selected_score", "batch_normal", "batch_anomaly", "variant"):
        assert together.fit_info_[name] == alone.fit_info_[name]
    mine = _net_outputs(together, X_test)
    for name, value in _net_outputs(alone, X_test).items():
        np.testing.assert_allclose(mine[name], value, rtol=AA_RTOL, atol=AA_ATOL, err_msg=name)


def test_aa_bigan_tabular_group_of_unequal_sizes_matches_one_by_one():
    """Semi-supervised AA-BiGAN on tables: normal counts 145, 176, 145 at batch 32 (different
    numbers of batches and last batches), its own anomaly cycler and noise per experiment, D, G
    and E steps, per-epoch validation and selection."""
    rng = np.random.default_rng(4)
    data = []
    for n in (150, 181, 150):
        X, y, _ = _table(rng, n)
        X_val, y_val, _ = _table(rng, 30)
        data.append((X, y, (X_val, y_val)))
    params = dict(epochs=2, batch_size=32, device="cpu", arch="mlp", eval_every=1)
    alone, together, outcomes = _aa_bigan_alone_and_together(params, data)
    assert outcomes == [None, None, None]
    X_test = rng.random((40, 12)).astype(np.float32)
    for a, t in zip(alone, together):
        _assert_same_aa_bigan(a, t, X_test)


def test_aa_bigan_image_group_matches_one_by_one():
    """The MNIST nets (convolutions, transposed convolutions, BatchNorm in E, G and D), 28x28
    inputs resized inside the detector, channels-last layout."""
    rng = np.random.default_rng(5)
    data = [_images(rng, n) for n in (40, 48, 40)]
    params = dict(epochs=2, batch_size=16, device="cpu", arch="mnist", eval_every=None)
    alone, together, outcomes = _aa_bigan_alone_and_together(params, data)
    assert outcomes == [None, None, None]
    X_test = rng.random((20, 1, 28, 28)).astype(np.float32)
    for a, t in zip(alone, together):
        _assert_same_aa_bigan(a, t, X_test)
