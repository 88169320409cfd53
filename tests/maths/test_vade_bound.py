"""Tests for gi_core.maths.vade_bound: VaDE's closed-form bound against torch.distributions and Monte Carlo.

Monte Carlo checks use a fixed seed, float64 and a tolerance of 5 standard errors (``N_SE``).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, Dirichlet, MixtureSameFamily, Normal, kl_divergence

from gi_core.maths.vade_bound import mixture_responsibilities, vade_bound_terms
from tests.helpers import F64, N_SE, diag_normal, randn, t

pytestmark = pytest.mark.usefixtures("one_thread")
B, K, J = 2, 3, 2


def mixture() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """log pi (K,), means (K, J) and log-variances (K, J) of a fixed, unequal mixture."""
    log_weights = torch.log(t(0.5, 0.3, 0.2))
    means = torch.tensor([[-1.0, 0.5], [0.8, -0.3], [0.0, 1.5]], dtype=F64)
    log_vars = torch.tensor([[0.2, -0.4], [-0.1, 0.3], [0.5, -0.8]], dtype=F64)
    return log_weights, means, log_vars


def encoder_outputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mean, log_var (B, J) of q(z|x) and a fixed log q(y|x) (B, K)."""
    mean = torch.tensor([[-0.6, 0.2], [0.4, 0.9]], dtype=F64)
    log_var = torch.tensor([[-0.5, 0.1], [0.3, -0.2]], dtype=F64)
    log_gamma = torch.log(torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]], dtype=F64))
    return mean, log_var, log_gamma


def bound(mean, log_var, log_gamma, log_likelihood=None) -> dict[str, torch.Tensor]:
    ll = torch.zeros(mean.shape[0], dtype=F64) if log_likelihood is None else log_likelihood
    return vade_bound_terms(ll, mean, log_var, log_gamma, *mixture())


def test_closed_form_equals_monte_carlo_of_the_joint_log_ratio() -> None:
    """elbo - log_likelihood = E_{q(z|x)q(y|x)}[log p(z|y) + log p(y) - log q(z|x) - log q(y|x)], gamma fixed."""
    log_weights, means, log_vars = mixture()
    mean, log_var, log_gamma = encoder_outputs()
    ll = t(-3.0, -7.5)
    terms = bound(mean, log_var, log_gamma, ll)
    n = 200_000
    q_z = diag_normal(mean, log_var)
    torch.manual_seed(0)
    z = q_z.sample((n,))  # (n, B, J)
    y = Categorical(logits=log_gamma).sample((n,))  # (n, B)
    log_p_z_given_y = Normal(means[y], torch.exp(0.5 * log_vars[y])).log_prob(z).sum(-1)
    integrand = log_p_z_given_y + log_weights[y] - q_z.log_prob(z) - log_gamma.gather(1, y.T).T
    estimate, se = integrand.mean(0), integrand.std(0) / math.sqrt(n)
    assert torch.all((terms["elbo"] - ll - estimate).abs() < N_SE * se)
    torch.testing.assert_close(terms["elbo"], ll - terms["kl_z"] - terms["kl_y"], rtol=0, atol=1e-12)
    assert terms["log_likelihood"] is ll


def test_kl_terms_match_torch_distributions() -> None:
    log_weights, means, log_vars = mixture()
    mean, log_var, log_gamma = encoder_outputs()
    terms = bound(mean, log_var, log_gamma)
    per_component = kl_divergence(diag_normal(mean.unsqueeze(1), log_var.unsqueeze(1)), diag_normal(means, log_vars))
    torch.testing.assert_close(terms["kl_z"], (log_gamma.exp() * per_component).sum(-1), rtol=0, atol=1e-12)
    kl_y = kl_divergence(Categorical(logits=log_gamma), Categorical(logits=log_weights.expand(B, K)))
    torch.testing.assert_close(terms["kl_y"], kl_y, rtol=0, atol=1e-12)


def test_responsibilities_are_the_mixture_posterior_by_bayes_rule() -> None:
    log_weights, means, log_vars = mixture()
    z = randn(5, 4, J, seed=2) * 2  # leading axes broadcast
    log_gamma = mixture_responsibilities(z, log_weights, means, log_vars)
    library = MixtureSameFamily(Categorical(logits=log_weights), diag_normal(means, log_vars))
    posterior = log_weights + library.component_distribution.log_prob(z.unsqueeze(-2)) - library.log_prob(z).unsqueeze(-1)
    assert log_gamma.shape == (5, 4, K)
    torch.testing.assert_close(log_gamma, posterior, rtol=0, atol=1e-12)
    torch.testing.assert_close(log_gamma.exp().sum(-1), torch.ones(5, 4, dtype=F64), rtol=0, atol=1e-12)


def test_with_gamma_the_posterior_at_z_the_y_term_vanishes() -> None:
    """Astorga's Eq. 7.3: sum_k gamma_k [log p(z|k) + log pi_k - log gamma_k] = log p(z) when gamma = p(y|z)."""
    log_weights, means, log_vars = mixture()
    z = randn(6, J, seed=3)
    log_gamma = mixture_responsibilities(z, log_weights, means, log_vars)
    log_p_z_given_k = diag_normal(means, log_vars).log_prob(z.unsqueeze(1))
    lhs = (log_gamma.exp() * (log_p_z_given_k + log_weights - log_gamma)).sum(-1)
    library = MixtureSameFamily(Categorical(logits=log_weights), diag_normal(means, log_vars))
    torch.testing.assert_close(lhs, library.log_prob(z), rtol=0, atol=1e-12)


def test_the_optimal_gamma_is_the_softmax_of_log_pi_minus_the_component_kls() -> None:
    """For fixed q(z|x) the bound is maximal at gamma* = softmax(log pi - KL_k), where it is logsumexp(log pi - KL_k)."""
    log_weights, means, log_vars = mixture()
    mean, log_var, _ = encoder_outputs()
    kls = kl_divergence(diag_normal(mean.unsqueeze(1), log_var.unsqueeze(1)), diag_normal(means, log_vars))
    best = bound(mean, log_var, torch.log_softmax(log_weights - kls, -1))["elbo"]
    torch.testing.assert_close(best, torch.logsumexp(log_weights - kls, -1), rtol=0, atol=1e-12)
    torch.manual_seed(1)
    for _ in range(50):
        other = torch.log(Dirichlet(torch.ones(B, K, dtype=F64)).sample())
        assert torch.all(bound(mean, log_var, other)["elbo"] < best)


def test_a_non_finite_draw_reaches_the_loss_for_the_trainer_s_guard() -> None:
    log_gamma = mixture_responsibilities(torch.tensor([[0.0, float("nan")], [0.1, 0.2]], dtype=F64), *mixture())
    assert log_gamma[0].isnan().all() and log_gamma[1].isfinite().all()


def test_errors_name_the_argument() -> None:
    log_weights, means, log_vars = mixture()
    mean, log_var, log_gamma = encoder_outputs()
    ll = t(-1.0, -2.0)
    with pytest.raises(ValueError, match="log_weights must be log-probabilities"):
        mixture_responsibilities(mean, log_weights + 0.1, means, log_vars)
    with pytest.raises(ValueError, match="log_weights must be log-probabilities"):
        vade_bound_terms(ll, mean, log_var, log_gamma, log_weights - 1.0, means, log_vars)
    with pytest.raises(ValueError, match="log_weights must have one entry per component"):
        mixture_responsibilities(mean, torch.log(t(0.5, 0.5)), means, log_vars)
    with pytest.raises(ValueError, match="means=.*log_vars="):
        mixture_responsibilities(mean, log_weights, means, log_vars[:, :1])
    with pytest.raises(ValueError, match="z must have last dimension 2"):
        mixture_responsibilities(mean[:, :1], log_weights, means, log_vars)
    with pytest.raises(ValueError, match="mean must have the mixture's latent size 2"):
        vade_bound_terms(ll, mean[:, :1], log_var[:, :1], log_gamma, log_weights, means, log_vars)
    with pytest.raises(ValueError, match="log_gamma must be"):
        vade_bound_terms(ll, mean, log_var, log_gamma[:, :2], log_weights, means, log_vars)
    with pytest.raises(ValueError, match="log_likelihood"):
        vade_bound_terms(ll[:1], mean, log_var, log_gamma, log_weights, means, log_vars)
    with pytest.raises(ValueError, match="mean=.*log_var="):
        vade_bound_terms(ll, mean, log_var[:1], log_gamma, log_weights, means, log_vars)
    with pytest.raises(ValueError, match="log_weights must have 1 dimensions"):
        vade_bound_terms(ll, mean, log_var, log_gamma, log_weights[None], means, log_vars)
    with pytest.raises(TypeError, match="means must be a floating-point tensor"):
        mixture_responsibilities(mean, log_weights, means.long(), log_vars)
