"""Tests for gi_core.cdlm: the modulated reparameterization (Eq. 1–2), its moments (Eq. 3–6), the KL
reductions (Eq. 7–14) and the CDLM objective and update rules (Eq. 16–22)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gi_core.adversarial import discriminator_loss
from gi_core.cdlm import (
    CDLM,
    build_cdlm,
    cdlm_optimizers,
    cross_modulate,
    domain_kl,
    full_modulation_kl,
    full_modulation_kl_ratio,
    idealized_transfer_moments,
    modulated_gaussian,
    modulation_moments,
    partial_modulation_moments,
    pm1_symmetric_kl,
    symmetric_kl,
    symmetric_kl_lower_bound,
    transfer_latents,
)
from gi_core.distributions import reparameterize
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


# --- Eq. 1–6 -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma1, gamma2", [(1.0, 0.1), (0.5, 0.5), (0.1, 1.0), (2.0, 0.3)])
def test_modulation_moments_match_monte_carlo(gamma1, gamma2):
    """Eq. 3–4: z = μ + σ(γ1 h + γ2 ε) with h ~ N(μ_h, σ_h²) has mean μ + γ1σμ_h and variance σ²(γ1²σ_h² + γ2²)."""
    n = 400_000
    g = torch.Generator().manual_seed(0)
    mean, std = t(0.5, -1.0, 2.0), t(0.8, 1.5, 0.3)
    h_mean, h_std = t(0.3, 0.7, -0.2), t(0.5, 0.1, 1.2)
    h = h_mean + h_std * torch.randn(n, 3, generator=g, dtype=F64)
    z = cross_modulate(mean, 2 * std.log(), h, gamma1, gamma2, generator=g)
    expected_mean, expected_var = modulation_moments(mean, std, h_mean, h_std, gamma1, gamma2)
    # tolerances: 5 standard errors of the sample mean and of the sample variance (Gaussian: var·sqrt(2/n))
    assert (z.mean(0) - expected_mean).abs().le(5 * (expected_var / n).sqrt()).all()
    assert (z.var(0) - expected_var).abs().le(5 * expected_var * math.sqrt(2 / n)).all()
    # spot value for the first coordinate
    assert expected_mean[0].item() == pytest.approx(0.5 + gamma1 * 0.8 * 0.3)
    assert expected_var[0].item() == pytest.approx(0.64 * (gamma1**2 * 0.25 + gamma2**2))


def test_cross_modulation_given_h_and_the_plain_vae_special_case():
    mean, log_var, h = t(0.2, -0.4), t(0.1, -0.7), t(0.9, 0.25)
    m, lv = modulated_gaussian(mean, log_var, h, 1.0, 0.1)
    torch.testing.assert_close(m, mean + (0.5 * log_var).exp() * h)
    torch.testing.assert_close(lv, log_var + 2 * math.log(0.1))
    draws = cross_modulate(mean, log_var, h.expand(200_000, 2), 1.0, 0.1, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(draws.mean(0), m, atol=2e-3, rtol=0)
    torch.testing.assert_close(draws.std(0), 0.1 * (0.5 * log_var).exp(), atol=1e-3, rtol=0)
    # γ1 = 0, γ2 = 1 is the VAE's reparameterization, draw for draw
    plain = reparameterize(mean, log_var, generator=torch.Generator().manual_seed(5))
    vae = cross_modulate(mean, log_var, h, 0.0, 1.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(plain, vae)
    # γ2 = 0: the deterministic point
    torch.testing.assert_close(cross_modulate(mean, log_var, h, 1.0, 0.0), m)
    with pytest.raises(ValueError, match="gamma2 must be positive"):
        modulated_gaussian(mean, log_var, h, 1.0, 0.0)
    with pytest.raises(ValueError, match="cannot both be 0"):
        cross_modulate(mean, log_var, h, 0.0, 0.0)
    with pytest.raises(ValueError, match="gamma1 must be finite and non-negative"):
        cross_modulate(mean, log_var, h, -1.0, 0.1)


def test_idealized_moments_are_eq_3_4_under_the_seed_assumptions():
    """Eq. 5–6 follow from Eq. 3–4 with σ_s = 1, μ_h = μ_t, σ_h = σ_t and γ2 → 0."""
    g = torch.Generator().manual_seed(2)
    mean_s, mean_t = torch.randn(6, generator=g, dtype=F64), torch.randn(6, generator=g, dtype=F64)
    std_s, std_t = torch.ones(6, dtype=F64), torch.rand(6, generator=g, dtype=F64) + 0.5
    for gamma1 in (0.5, 1.0, 1.7):
        mu_st, sigma_st, mu_ts, sigma_ts = idealized_transfer_moments(mean_s, std_s, mean_t, std_t, gamma1)
        mean, var = modulation_moments(mean_s, std_s, mean_t, std_t, gamma1, 0.0)
        torch.testing.assert_close(mu_st, mean)
        torch.testing.assert_close(sigma_st, var.sqrt())
        torch.testing.assert_close(mu_ts, mean_t + gamma1 * mean_s)
        assert torch.equal(sigma_st, sigma_ts)


# --- Eq. 7–14 ------------------------------------------------------------------------------


def test_domain_kl_is_eq_7_and_matches_torch():
    g = torch.Generator().manual_seed(3)
    ms, mt = torch.randn(4, generator=g, dtype=F64), torch.randn(4, generator=g, dtype=F64)
    ss, st_ = torch.rand(4, generator=g, dtype=F64) + 0.2, torch.rand(4, generator=g, dtype=F64) + 0.2
    printed = 0.5 * (2 * (st_ / ss).log() + ((ms - mt) / st_) ** 2 + (ss / st_) ** 2 - 1).sum()
    reference = torch.distributions.kl_divergence(torch.distributions.Normal(ms, ss), torch.distributions.Normal(mt, st_)).sum()
    torch.testing.assert_close(domain_kl(ms, ss, mt, st_), printed)
    torch.testing.assert_close(domain_kl(ms, ss, mt, st_), reference)


@pytest.mark.parametrize("gamma1, ratio", [(0.25, 9.0), (0.5, 1.0), (0.75, 1 / 9), (0.9, 1 / 81), (1.0, 0.0), (2.0, 0.25)])
def test_full_modulation_shrinks_the_kl_by_the_ratio(gamma1, ratio):
    """Eq. 8–10 with σ_s = σ_t = 1: KL(st‖ts) = ((1-γ1)/γ1)² KL(s‖t), and KL(ts‖st) likewise."""
    assert full_modulation_kl_ratio(gamma1) == pytest.approx(ratio, abs=1e-15)
    g = torch.Generator().manual_seed(4)
    mean_s, mean_t = 2 * torch.randn(5, generator=g, dtype=F64), torch.randn(5, generator=g, dtype=F64)
    ones = torch.ones(5, dtype=F64)
    mu_st, sigma_st, mu_ts, sigma_ts = idealized_transfer_moments(mean_s, ones, mean_t, ones, gamma1)
    original = domain_kl(mean_s, ones, mean_t, ones)
    torch.testing.assert_close(original, 0.5 * (mean_s - mean_t).square().sum())  # Eq. 8
    torch.testing.assert_close(domain_kl(mu_st, sigma_st, mu_ts, sigma_ts), ratio * original, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(domain_kl(mu_ts, sigma_ts, mu_st, sigma_st), ratio * domain_kl(mean_t, ones, mean_s, ones),
                               atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(full_modulation_kl(mean_s, mean_t, ones, gamma1), ratio * original, atol=1e-12, rtol=1e-12)
    assert (ratio < 1.0) == (gamma1 > 0.5)


def test_full_modulation_kl_eq_9_with_a_general_target_scale():
    """Eq. 9 holds for any σ_t (σ_s = 1): the modulated latents share the variance (γ1σ_t)²."""
    mean_s, mean_t, std_t, ones = t(1.0, -2.0), t(0.0, 0.5), t(0.5, 2.0), t(1.0, 1.0)
    mu_st, sigma_st, mu_ts, sigma_ts = idealized_transfer_moments(mean_s, ones, mean_t, std_t, 0.8)
    torch.testing.assert_close(full_modulation_kl(mean_s, mean_t, std_t, 0.8), domain_kl(mu_st, sigma_st, mu_ts, sigma_ts))
    expected = 0.5 * sum(((1 - 0.8) * d) ** 2 / (0.8 * s) ** 2 for d, s in ((1.0, 0.5), (-2.5, 2.0)))
    assert full_modulation_kl(mean_s, mean_t, std_t, 0.8).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="gamma1 must be finite and positive"):
        full_modulation_kl_ratio(0.0)


MEANS = arrays(np.float64, (4,), elements=st.floats(-5.0, 5.0, allow_nan=False))
STDS = arrays(np.float64, (4,), elements=st.floats(0.05, 5.0, allow_nan=False))


@settings(max_examples=200, deadline=None)
@given(MEANS, STDS, MEANS, STDS)
def test_partial_modulation_never_widens_the_symmetric_gap(ms, ss, mt, st_):
    """Eq. 11–14: PM1's symmetric KL ≤ the Eq. 13 lower bound ≤ the original symmetric KL; PM2 preserves it."""
    ms, ss, mt, st_ = (torch.from_numpy(a) for a in (ms, ss, mt, st_))
    original = symmetric_kl(ms, ss, mt, st_)
    bound = symmetric_kl_lower_bound(ms, ss, mt, st_)
    pm1 = pm1_symmetric_kl(ms, ss, mt, st_)
    torch.testing.assert_close(pm1, symmetric_kl(*partial_modulation_moments(ms, ss, mt, st_, "pm1")))
    torch.testing.assert_close(2 * domain_kl(*partial_modulation_moments(ms, ss, mt, st_, "pm1")), pm1)  # Eq. 12
    slack = 1e-12 * (1.0 + original.abs())
    assert pm1 <= bound + slack and bound <= original + slack
    # the chain of Eq. 13: 4/(a+b)² ≤ 1/(ab) ≤ (1/a² + 1/b²)/2, elementwise
    a, b = ss, st_
    assert (4 / (a + b) ** 2 <= 1 / (a * b) * (1 + 1e-12)).all()
    assert (1 / (a * b) <= 0.5 * (a**-2 + b**-2) * (1 + 1e-12)).all()
    torch.testing.assert_close(symmetric_kl(*partial_modulation_moments(ms, ss, mt, st_, "pm2")), original)


def test_pm1_reduces_strictly_when_the_scales_differ():
    ms, mt = t(1.0, 0.0), t(0.0, 0.0)
    assert pm1_symmetric_kl(ms, t(1.0, 1.0), mt, t(1.0, 1.0)).item() == pytest.approx(symmetric_kl(ms, t(1.0, 1.0), mt, t(1.0, 1.0)).item())
    assert pm1_symmetric_kl(ms, t(0.5, 1.0), mt, t(2.0, 1.0)) < symmetric_kl_lower_bound(ms, t(0.5, 1.0), mt, t(2.0, 1.0))
    with pytest.raises(ValueError, match="variant"):
        partial_modulation_moments(ms, t(1.0, 1.0), mt, t(1.0, 1.0), "pm3")
    with pytest.raises(ValueError, match="std_s must be strictly positive"):
        symmetric_kl_lower_bound(ms, t(0.0, 1.0), mt, t(1.0, 1.0))


def test_transfer_latents_variants():
    g = torch.Generator().manual_seed(6)
    ms, lvs, hs, mt, lvt, ht = (torch.randn(3, 4, generator=g, dtype=F64) for _ in range(6))
    m_st, lv_st, m_ts, lv_ts = transfer_latents(ms, lvs, hs, mt, lvt, ht, 1.0, 0.1, "full")
    torch.testing.assert_close(m_st, ms + (0.5 * lvs).exp() * ht)  # source moments, target h (Eq. 1)
    torch.testing.assert_close(m_ts, mt + (0.5 * lvt).exp() * hs)  # target moments, source h (Eq. 2)
    m_st, lv_st, m_ts, lv_ts = transfer_latents(ms, lvs, hs, mt, lvt, ht, modulation="pm1")
    torch.testing.assert_close((0.5 * lv_st).exp(), 0.5 * ((0.5 * lvs).exp() + (0.5 * lvt).exp()))
    assert torch.equal(m_st, ms) and torch.equal(lv_st, lv_ts)
    m_st, lv_st, m_ts, lv_ts = transfer_latents(ms, lvs, hs, mt, lvt, ht, modulation="pm2")
    assert torch.equal(lv_st, lvt) and torch.equal(lv_ts, lvs)
    with pytest.raises(ValueError, match="paired rows"):
        transfer_latents(ms, lvs, hs, mt[:2], lvt, ht)


# --- the model ---------------------------------------------------------------------------------


def tiny_model(**options) -> CDLM:
    torch.manual_seed(0)
    return build_cdlm((1, 16, 16), latent_dim=6, channels=4, **options).double()


def tiny_batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    xs = torch.rand(n, 1, 16, 16, generator=g, dtype=F64)
    xt = torch.rand(n, 1, 16, 16, generator=g, dtype=F64) ** 2
    return xs, torch.randint(0, 10, (n,), generator=g), xt


def grads(loss: torch.Tensor, module: torch.nn.Module) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if g is None else g for p, g in
            zip(module.parameters(), torch.autograd.grad(loss, list(module.parameters()), retain_graph=True, allow_unused=True))]


def test_cdlm_terms_are_finite_and_add_up():
    model = tiny_model()
    xs, ys, xt = tiny_batch()
    terms = model.training_loss(xs, ys, xt)
    assert all(bool(torch.isfinite(v)) for v in terms.values())
    expected = terms["adv_loss"] + 1e-4 * terms["kl_loss"] + terms["rec_loss"] + terms["consistency_loss"] + terms["class_loss"]
    torch.testing.assert_close(terms["loss"].detach(), expected)
    torch.testing.assert_close(terms["generative_loss"].detach(),
                               terms["rec_loss"] + terms["consistency_loss"] + terms["class_loss"])
    torch.testing.assert_close(terms["inference_loss"], terms["adv_loss"] + 1e-4 * (terms["kl_loss"] + terms["rec_loss"]))
    torch.testing.assert_close(terms["consistency_loss"], 0.1 * terms["consistency_source"] + 0.01 * terms["consistency_target"])
    assert terms["adv_loss"].item() == pytest.approx(2 * math.log(2), abs=0.1)  # an untrained discriminator
    assert 0.0 <= terms["domain_accuracy"].item() <= 1.0


def test_cdlm_gradients_follow_the_update_rules():
    """Eq. 21–22: with λ1 = 0 and GRL λ = 0 the encoder's gradient is λ2 times that of L_Rec (nothing from L_c or the
    classifier); the decoder's is that of L_Rec + L_c; the discriminator's that of L_adv."""
    xs, ys, xt = tiny_batch()
    encoder_grads = {}
    for lambda2 in (0.0, 0.25, 1.0):
        model = tiny_model(lambda1=0.0, lambda2=lambda2)
        model.grl.lambda_ = 0.0
        torch.manual_seed(11)  # the same noise draws for every λ2
        terms = model.training_loss(xs, ys, xt)
        encoder_grads[lambda2] = grads(terms["loss"], model.encoder)
        for total, generative in zip(grads(terms["loss"], model.decoder), grads(terms["generative_loss"], model.decoder)):
            torch.testing.assert_close(total, generative, rtol=0, atol=1e-13)
        h = model.encode(torch.cat([xs, xt]))[2].detach()
        logits = model.discriminator(h)
        adv = discriminator_loss(logits[:6], logits[6:])
        for total, own in zip(grads(terms["loss"], model.discriminator), grads(adv, model.discriminator)):
            torch.testing.assert_close(total, own, rtol=0, atol=1e-13)
    assert all(bool((g == 0).all()) for g in encoder_grads[0.0])
    assert max(g.abs().max().item() for g in encoder_grads[1.0]) > 1e-3
    for quarter, full in zip(encoder_grads[0.25], encoder_grads[1.0]):
        torch.testing.assert_close(quarter, 0.25 * full, rtol=1e-10, atol=1e-14)
    # the ablation flag lets the consistency reach the encoder
    model = tiny_model(lambda1=0.0, lambda2=0.0, consistency_to_encoder=True)
    model.grl.lambda_ = 0.0
    assert max(g.abs().max().item() for g in grads(model.training_loss(xs, ys, xt)["loss"], model.encoder)) > 0


def test_cdlm_adversarial_gradient_reaches_the_encoder_reversed():
    xs, ys, xt = tiny_batch()
    model = tiny_model(lambda1=0.0, lambda2=0.0)
    model.grl.lambda_ = 0.5
    loss = model.training_loss(xs, ys, xt)["loss"]
    h = model.encode(torch.cat([xs, xt]))[2]
    logits = model.discriminator(h)
    adv = discriminator_loss(logits[:6], logits[6:])
    for total, plain in zip(grads(loss, model.encoder), grads(adv, model.encoder)):
        torch.testing.assert_close(total, -0.5 * plain, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("options", [dict(modulation="pm1"), dict(modulation="pm2"), dict(kl="encoder", gamma2=0.0),
                                     dict(likelihood="gaussian", classifier_input="generated")])
def test_cdlm_variants_run(options):
    model = tiny_model(**options)
    terms = model.training_loss(*tiny_batch())
    assert all(bool(torch.isfinite(v)) for v in terms.values())


def test_cdlm_validates():
    with pytest.raises(ValueError, match="kl='conditional' needs gamma2 > 0"):
        tiny_model(gamma2=0.0)
    with pytest.raises(ValueError, match="modulation must be one of"):
        tiny_model(modulation="half")
    with pytest.raises(ValueError, match="lambda1 must be finite and non-negative"):
        tiny_model(lambda1=-1.0)
    model = tiny_model()
    xs, ys, xt = tiny_batch()
    with pytest.raises(ValueError, match="rows are paired"):
        model.training_loss(xs, ys, xt[:4])


def test_cdlm_trains_with_the_seed_optimizers_and_predicts():
    torch.manual_seed(0)
    model = build_cdlm((1, 16, 16), latent_dim=6, channels=4, schedule_steps=10)
    xs, xt = torch.rand(32, 1, 16, 16), torch.rand(32, 1, 16, 16)
    ys = torch.randint(0, 10, (32,))
    optimizers = cdlm_optimizers(model)
    assert isinstance(optimizers["loss"], torch.optim.SGD) and isinstance(optimizers["generative_loss"], torch.optim.Adam)
    before = [p.detach().clone() for p in model.parameters()]
    history = Trainer(model, optimizers, (xs, ys, xt), batch_size=16, progress=False, log_every=1).fit(2)
    assert all(math.isfinite(r["loss"]) for r in history)
    assert [r["grl_lambda"] for r in history] == pytest.approx([0.0, math.tanh(0.5)], abs=1e-6)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # every block moved
    images = model.translate(xt[:5])
    assert images.shape == (5, 1, 16, 16) and 0.0 <= images.min() and images.max() <= 1.0
    predictions = model.predict(xt, batch_size=10)
    assert predictions.shape == (32,) and predictions.dtype == torch.int64 and model.training
    assert model.embed(xt).shape == (32, 6)
    z_st, z_ts = model.modulated_latents(xs[:4], xt[:4])
    assert z_st.shape == z_ts.shape == (4, 6)
