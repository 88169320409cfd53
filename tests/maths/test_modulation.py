"""Tests for gi_core.maths.modulation: the modulated reparameterization (Hou et al. (2022), Eq. 1–2), its moments (Eq. 3–6) and
the KL reductions of full and partial modulation (Eq. 7–14)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gi_core.maths.gaussians import reparameterize
from gi_core.maths.modulation import (
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
from tests.helpers import F64, t

pytestmark = pytest.mark.usefixtures("one_thread")


# --- Eq. 1–6 -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma1, gamma2", [(1.0, 0.1), (0.5, 0.5), (0.1, 1.0), (2.0, 0.3)])
def test_modulation_moments_match_monte_carlo(gamma1, gamma2):
    """Eq. 3–4: z = μ + σ(γ1 h + γ2 ε) with h ~ N(μ_h, σ_h²) has mean μ + γ1σμ_h and variance σ²(γ1²σ_h² + γ2²)."""
    n = 400_000
    g = torch.Generator().manual_seed(0)
    mean, std = t(0.5, -1.0, 2.0), t(0.8, 1.5, 0.3)
    h_mean, h_std = t(0.3, 0.7, -0.2), t(0.5, 0.1, 1.2)
    h = h_mean + h_std * torch.randn(n, 3, generator=g, dtype=F64)
    z = reparameterize(*torch.broadcast_tensors(*modulated_gaussian(mean, 2 * std.log(), h, gamma1, gamma2)), generator=g)
    expected_mean, expected_var = modulation_moments(mean, std, h_mean, h_std, gamma1, gamma2)
    # tolerances: 5 standard errors of the sample mean and of the sample variance (Gaussian: var·sqrt(2/n))
    assert (z.mean(0) - expected_mean).abs().le(5 * (expected_var / n).sqrt()).all()
    assert (z.var(0) - expected_var).abs().le(5 * expected_var * math.sqrt(2 / n)).all()
    # spot value for the first coordinate
    assert expected_mean[0].item() == pytest.approx(0.5 + gamma1 * 0.8 * 0.3)
    assert expected_var[0].item() == pytest.approx(0.64 * (gamma1**2 * 0.25 + gamma2**2))


def test_modulated_gaussian_given_h_and_the_plain_vae_special_case():
    mean, log_var, h = t(0.2, -0.4), t(0.1, -0.7), t(0.9, 0.25)
    m, lv = modulated_gaussian(mean, log_var, h, 1.0, 0.1)
    torch.testing.assert_close(m, mean + (0.5 * log_var).exp() * h)
    torch.testing.assert_close(lv, log_var + 2 * math.log(0.1))
    draws = reparameterize(*torch.broadcast_tensors(*modulated_gaussian(mean, log_var, h.expand(200_000, 2), 1.0, 0.1)),
                           generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(draws.mean(0), m, atol=2e-3, rtol=0)
    torch.testing.assert_close(draws.std(0), 0.1 * (0.5 * log_var).exp(), atol=1e-3, rtol=0)
    # γ1 = 0, γ2 = 1 is the VAE's reparameterization, draw for draw
    plain = reparameterize(mean, log_var, generator=torch.Generator().manual_seed(5))
    vae = reparameterize(*torch.broadcast_tensors(*modulated_gaussian(mean, log_var, h, 0.0, 1.0)),
                         generator=torch.Generator().manual_seed(5))
    assert torch.equal(plain, vae)
    # γ2 → 0: the draws collapse on the point μ + γ1σh (γ2 = 0 itself has no density, below)
    point = reparameterize(*torch.broadcast_tensors(*modulated_gaussian(mean, log_var, h, 1.0, 1e-12)),
                           generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(point, m)
    with pytest.raises(ValueError, match="gamma2 must be positive"):
        modulated_gaussian(mean, log_var, h, 1.0, 0.0)
    with pytest.raises(ValueError, match="cannot both be 0"):
        modulated_gaussian(mean, log_var, h, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"gamma1 must lie in \[0.0, inf\]"):
        modulated_gaussian(mean, log_var, h, -1.0, 0.1)


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
    with pytest.raises(ValueError, match=r"gamma1 must lie in \(0.0, inf\)"):
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
    with pytest.raises(ValueError, match="unknown partial modulation variant 'pm3'; choose one of pm1, pm2"):
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
    with pytest.raises(ValueError, match="shapes must match"):
        transfer_latents(ms, lvs, hs, mt[:2], lvt, ht)
