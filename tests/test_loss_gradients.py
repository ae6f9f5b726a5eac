"""Which networks each loss term moves, for every deep detector except AA-BiGAN (issue 10, item 2).

Each detector exposes the named loss terms its training step sums (``_loss_terms``,
``_d_loss_terms``, ``_g_loss_terms``, ``autoencoder_loss_terms``); the step itself calls them (the
last test spies on that). Here every term is back-propagated alone on a tiny batch of a fitted
detector, and the gradient is checked per network: non-zero on every network the term must train,
exactly zero (or absent) on every network it must not. A term added under ``torch.no_grad()`` or
detached by mistake has no gradient and fails the first kind of check; a term that leaks into a
network it must leave alone fails the second. A test that only recorded a loss value would pass
either way.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest
import torch
from torch import nn

from detectors.autoencoder import autoencoder_loss_terms
from detectors.networks.factory import build_decoder, build_encoder
from tests.test_detector_contract import make, toy_task

N_BATCH = 32  # the tiny batch: enough unlabelled samples and collected anomalies for BatchNorm


def tiny_batch(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Unlabelled samples then collected anomalies of the contract's toy task (both kinds present)."""
    X, y, _, _ = toy_task(seed)
    pick = np.r_[np.flatnonzero(y == 0)[: N_BATCH - 8], np.flatnonzero(y == 1)[:8]]
    return torch.as_tensor(X[pick]), torch.as_tensor(y[pick])


def fitted(name: str):
    X, y, _, _ = toy_task()
    detector = make(name, epochs=1).fit(X, y)
    detector._set_train(True)  # the terms are checked as the training step computes them
    return detector


def gradient_norms(term: torch.Tensor, modules: dict[str, nn.Module]) -> dict[str, float]:
    """Back-propagate ``term`` alone; the summed |grad| over each module's parameters (0 when absent)."""
    for module in modules.values():
        module.zero_grad(set_to_none=True)
    assert term.requires_grad, "the term has no graph: computed under no_grad or detached"
    term.backward()
    return {name: float(sum(p.grad.abs().sum() for p in module.parameters() if p.grad is not None))
            for name, module in modules.items()}


def assert_moves(norms: dict[str, float], moved: set[str], term: str) -> None:
    for name, norm in norms.items():
        if name in moved:
            assert norm > 0, f"term {term!r} must train {name} but gives it no gradient"
        else:
            assert norm == 0, f"term {term!r} must not move {name} but gives it gradient {norm:.3g}"


# -- Deep SAD and its autoencoder pretraining ---------------------------------------------
def test_autoencoder_reconstruction_moves_encoder_and_decoder():
    torch.manual_seed(0)
    encoder, decoder = build_encoder("thyroid", (6,)), build_decoder("thyroid", (6,))
    x, _ = tiny_batch()
    terms = autoencoder_loss_terms(encoder, decoder, x)
    assert set(terms) == {"reconstruction"}
    norms = gradient_norms(terms["reconstruction"], {"encoder": encoder, "decoder": decoder})
    assert_moves(norms, {"encoder", "decoder"}, "reconstruction")
    # every weight tensor of both nets is reached, not just some of them
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in [*encoder.parameters(), *decoder.parameters()])


@pytest.mark.parametrize("term", ["unlabelled", "labelled"])
def test_deep_sad_terms_move_the_network_and_never_the_centre(term):
    detector = fitted("deep-sad")
    x, labelled = tiny_batch()
    centre = detector.c_.clone()
    terms = detector._loss_terms(x, labelled == 1)
    assert set(terms) == {"unlabelled", "labelled"}
    assert not detector.c_.requires_grad, "the centre c is fixed after initialisation"
    norms = gradient_norms(terms[term], {"network": detector.net_})
    assert_moves(norms, {"network"}, term)
    assert torch.equal(detector.c_, centre) and detector.c_.grad is None
    # the decoder of the pretraining is not part of the fitted model at all
    assert not any("decoder" in name.lower() for name, _ in detector.net_.named_modules())


def test_deep_sad_labelled_term_is_silent_without_collected_anomalies():
    detector = fitted("deep-sad")
    x, labelled = tiny_batch()
    terms = detector._loss_terms(x, torch.zeros_like(labelled, dtype=torch.bool))
    assert float(terms["labelled"].detach()) == 0.0
    assert gradient_norms(terms["labelled"], {"network": detector.net_})["network"] == 0


# -- the supervised classifier ---------------------------------------------------------------
def test_supervised_bce_moves_encoder_and_head():
    detector = fitted("supervised")
    x, y = tiny_batch()
    terms = detector._loss_terms(x, y.float())
    assert set(terms) == {"bce"}
    norms = gradient_norms(terms["bce"], {"encoder": detector.net_.encoder, "head": detector.net_.head})
    assert_moves(norms, {"encoder", "head"}, "bce")


# -- SS-DGM (M2) -------------------------------------------------------------------------------
SS_DGM_MOVES = {
    # -ELBO of the collected anomalies with their class given: the VAE, never the classifier
    "labelled": {"encoder", "mu", "logvar", "decoder"},
    # the class summed out under q(y|x), minus its entropy: the VAE and the classifier
    "unlabelled": {"classifier", "encoder", "mu", "logvar", "decoder"},
    # -alpha log q(anomaly|x) on the collected anomalies: the classifier only
    "alpha_classification": {"classifier"},
}


@pytest.mark.parametrize("term", sorted(SS_DGM_MOVES))
def test_ss_dgm_terms_move_what_they_should(term):
    detector = fitted("ss-dgm")
    x, y = tiny_batch()
    flat = detector._prepare(x)
    terms = detector._loss_terms(flat[y == 1], flat[y == 0])
    assert set(terms) == set(SS_DGM_MOVES)
    model = detector.model_
    parts = {name: getattr(model, name) for name in ("classifier", "encoder", "mu", "logvar", "decoder")}
    assert_moves(gradient_norms(terms[term], parts), SS_DGM_MOVES[term], term)


# -- NDA ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("term", ["real", "fake", "negative"])
def test_nda_discriminator_terms_move_d_only(term):
    detector = fitted("nda")
    x, y = tiny_batch()
    model_x = detector._to_model_space(x)
    terms = detector._d_loss_terms(model_x[y == 0][:8], model_x[y == 1][:8])
    assert set(terms) == {"real", "fake", "negative"}
    norms = gradient_norms(terms[term], {"D": detector.D_, "G": detector.G_})
    assert_moves(norms, {"D"}, term)


def test_nda_generator_term_moves_g_only():
    detector = fitted("nda")
    terms = detector._g_loss_terms(8)
    assert set(terms) == {"generator"}
    norms = gradient_norms(terms["generator"], {"D": detector.D_, "G": detector.G_})
    assert_moves(norms, {"G"}, "generator")
    assert all(p.requires_grad for p in detector.D_.parameters()), "D must be trainable again after the G step"


# -- the training steps sum exactly these terms --------------------------------------------------
# detector -> {term method: (the loss key the epoch reports for it, weighted by batch size?)}
TERM_METHODS: dict[str, dict[str, tuple[str, bool]]] = {
    "deep-sad": {"_loss_terms": ("loss", True)},
    "supervised": {"_loss_terms": ("bce", True)},
    "ss-dgm": {"_loss_terms": ("loss", False)},
    "nda": {"_d_loss_terms": ("d_loss", False), "_g_loss_terms": ("g_loss", False)},
}


@pytest.mark.parametrize("name", sorted(TERM_METHODS))
def test_training_step_is_built_from_the_checked_terms(name, monkeypatch):
    """One epoch with the term methods spied on: the loss each step reports is the sum of what
    they returned, so the checks above test the loss that is actually trained."""
    detector = fitted(name)
    calls: dict[str, list[tuple[float, int]]] = {method: [] for method in TERM_METHODS[name]}

    def spy(method: str, original: Callable) -> Callable:
        def wrapped(first, *args, **kwargs):
            terms = original(first, *args, **kwargs)
            size = first if isinstance(first, int) else len(first)
            calls[method].append((float(sum(t.detach() for t in terms.values())), size))
            return terms
        return wrapped

    for method in TERM_METHODS[name]:
        monkeypatch.setattr(detector, method, spy(method, getattr(detector, method)))
    X, y, _, _ = toy_task()
    if name == "nda":  # the fitted model forgets its training data; give the step its own
        detector._normals = detector._to_model_space(torch.as_tensor(X[y == 0]))
        detector._negatives = detector._to_model_space(torch.as_tensor(X[y == 1]))
    losses = detector._train_epoch(1, torch.as_tensor(X), torch.as_tensor(y))
    for method, (key, weighted) in TERM_METHODS[name].items():
        values, sizes = np.array(calls[method]).T
        assert len(values), f"{method} was never called by the training step"
        expected = np.average(values, weights=sizes if weighted else None)
        assert losses[key] == pytest.approx(expected, rel=1e-5), (method, key)
