"""Tests for gi_core.objectives, the IWAE bound checked on the exact linear-Gaussian model (float64).

Monte Carlo tolerances are 5 standard errors of the mean over independent replicates.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from gi_core.distributions import diag_gaussian_log_prob, reparameterize
from gi_core.likelihoods import gaussian_log_likelihood
from gi_core.linear_gaussian import LinearGaussianModel
from gi_core.objectives import beta_elbo, elbo, importance_weighted_bound

F64 = torch.float64
N_SE = 5.0


def test_beta_elbo_values() -> None:
    log_lik = torch.tensor([-3.0, -5.0], dtype=F64)
    kl = torch.tensor([1.0, 2.0], dtype=F64)
    assert beta_elbo(log_lik, kl, beta=1.0).item() == pytest.approx(-5.5)
    assert beta_elbo(log_lik, kl, beta=4.0).item() == pytest.approx(-10.0)
    assert beta_elbo(log_lik, kl, beta=0.0).item() == pytest.approx(-4.0)
    assert elbo(log_lik, kl).item() == beta_elbo(log_lik, kl).item()


def test_beta_elbo_gradient_weights_kl_by_beta() -> None:
    kl = torch.tensor([1.0, 2.0, 3.0], dtype=F64, requires_grad=True)
    beta_elbo(torch.zeros(3, dtype=F64), kl, beta=0.33).backward()
    torch.testing.assert_close(kl.grad, torch.full((3,), -0.33 / 3, dtype=F64))


def test_importance_weighted_bound_k1_is_mean_log_weight() -> None:
    a, b, c = (torch.randn(1, 5, generator=torch.Generator().manual_seed(s), dtype=F64) for s in range(3))
    torch.testing.assert_close(importance_weighted_bound(a, b, c), (a + b - c).mean())
    # equal weights: logsumexp - log K gives the common value back for any K
    same = torch.full((7, 5), -2.5, dtype=F64)
    zeros = torch.zeros_like(same)
    assert importance_weighted_bound(same, zeros, zeros).item() == pytest.approx(-2.5)


Setup = tuple[LinearGaussianModel, torch.Tensor]


def log_weights_terms(model: LinearGaussianModel, x: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """log p(x|z) and log p(z) for latent samples z of shape (K, B, J)."""
    log_lik = gaussian_log_likelihood(x, z @ model.weight.T + model.bias, model.noise_var)
    return log_lik, diag_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))


@pytest.fixture(scope="module")
def setup() -> Setup:
    generator = torch.Generator().manual_seed(0)
    model = LinearGaussianModel.random(latent_dim=2, data_dim=5, noise_std=0.5, generator=generator)
    x, _ = model.sample(4, generator=generator)
    return model, x


def test_importance_weighted_bound_with_exact_posterior_is_log_marginal(setup: Setup) -> None:
    model, x = setup
    generator = torch.Generator().manual_seed(1)
    post_mean, post_cov = model.posterior(x)
    posterior = MultivariateNormal(post_mean, covariance_matrix=post_cov)
    for k in (1, 3, 50):
        eps = torch.randn(k, *post_mean.shape, generator=generator, dtype=F64)
        z = post_mean + eps @ torch.linalg.cholesky(post_cov).T
        log_lik, log_prior = log_weights_terms(model, x, z)
        bound = importance_weighted_bound(log_lik, log_prior, posterior.log_prob(z))
        assert bound.item() == pytest.approx(model.log_marginal(x).mean().item(), abs=1e-10)


def test_importance_weighted_bound_increases_with_k_towards_log_marginal(setup: Setup) -> None:
    model, x = setup
    generator = torch.Generator().manual_seed(2)
    post_mean, post_cov = model.posterior(x)
    q_mean = post_mean + 0.5  # a deliberately poor diagonal q(z|x)
    q_log_var = torch.log(torch.diagonal(post_cov)).expand_as(post_mean) + 1.0
    log_marginal = model.log_marginal(x).mean().item()
    replicates, means, errors = 200, [], []
    ks = (1, 4, 16, 64, 256, 1024)
    for k in ks:
        values = []
        for _ in range(replicates):
            z = reparameterize(q_mean, q_log_var, n_samples=k, generator=generator)
            log_lik, log_prior = log_weights_terms(model, x, z)
            values.append(importance_weighted_bound(log_lik, log_prior, diag_gaussian_log_prob(z, q_mean, q_log_var)))
        values = torch.stack(values)
        means.append(values.mean().item())
        errors.append(values.std().item() / math.sqrt(replicates))
    # K = 1 estimates the closed-form ELBO
    assert abs(means[0] - model.elbo(x, q_mean, q_log_var).mean().item()) < N_SE * errors[0]
    for i, k in enumerate(ks):
        assert means[i] <= log_marginal + N_SE * errors[i], f"bound above log p(x) at K={k}"
        if i:
            assert means[i] >= means[i - 1] - N_SE * math.hypot(errors[i], errors[i - 1]), f"bound decreased at K={k}"
    # the gap shrinks from about 7.5 nats at K=1 to under 1% of that at K=1024
    assert log_marginal - means[-1] < 0.01 * (log_marginal - means[0])


def test_errors() -> None:
    ok = torch.zeros(3, dtype=F64)
    with pytest.raises(ValueError, match="shapes must match"):
        beta_elbo(ok, torch.zeros(4, dtype=F64))
    with pytest.raises(ValueError, match="log_likelihood must have 1 dimensions"):
        elbo(torch.zeros(3, 2, dtype=F64), ok)
    with pytest.raises(ValueError, match="beta must be finite and non-negative"):
        beta_elbo(ok, ok, beta=-1.0)
    # a NaN term is not rejected here: it propagates to the trainer, whose guard names step and term
    assert torch.isnan(beta_elbo(ok, torch.full((3,), float("nan"), dtype=F64)))
    with pytest.raises(ValueError, match="the batch is empty"):
        elbo(torch.zeros(0, dtype=F64), torch.zeros(0, dtype=F64))
    grid = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(ValueError, match="shapes must match"):
        importance_weighted_bound(grid, grid, torch.zeros(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="log_p_z must have 2 dimensions"):
        importance_weighted_bound(grid, ok, grid)
    empty = torch.zeros(0, 3, dtype=F64)
    with pytest.raises(ValueError, match="need K >= 1"):
        importance_weighted_bound(empty, empty, empty)
