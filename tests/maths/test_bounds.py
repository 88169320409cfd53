"""Tests for gi_core.maths.bounds, the IWAE bound checked on the exact linear-Gaussian model (float64), the
restrictions on q(z) of the model zoo, and their likelihood term (gi_core.maths.likelihoods.squared_error).

Monte Carlo tolerances are 5 standard errors of the mean over independent replicates.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal

from gi_core.maths.bounds import (
    beta_elbo,
    elbo,
    importance_weighted_bound,
    jensen_shannon_restriction,
    mmd_restriction,
    wasserstein_restriction,
)
from gi_core.maths.gaussians import (
    batch_moments,
    diag_gaussian_log_prob,
    gaussian_midpoint_jensen_shannon,
    reparameterize,
    wasserstein2_gaussians_sq,
)
from gi_core.maths.kernels import mmd_squared
from gi_core.maths.likelihoods import gaussian_log_likelihood, squared_error
from gi_core.maths.linear_gaussian import LinearGaussianModel
from tests.helpers import F64, N_SE
pytestmark = pytest.mark.usefixtures("one_thread")


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
    with pytest.raises(ValueError, match=r"beta must lie in \[0.0, inf\]"):
        beta_elbo(ok, ok, beta=-1.0)
    # a NaN term is not rejected here: it propagates to the trainer, whose guard names step and term
    assert torch.isnan(beta_elbo(ok, torch.full((3,), float("nan"), dtype=F64)))
    with pytest.raises(ValueError, match="log_likelihood is empty"):
        elbo(torch.zeros(0, dtype=F64), torch.zeros(0, dtype=F64))
    grid = torch.zeros(4, 3, dtype=F64)
    with pytest.raises(ValueError, match="shapes must match"):
        importance_weighted_bound(grid, grid, torch.zeros(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="log_p_z must have 2 dimensions"):
        importance_weighted_bound(grid, ok, grid)
    empty = torch.zeros(0, 3, dtype=F64)
    with pytest.raises(ValueError, match="log_p_x_given_z is empty"):
        importance_weighted_bound(empty, empty, empty)


# --- the likelihood term and the restrictions on q(z) of the model zoo --------------------------


def test_squared_error_sums_each_example() -> None:
    x = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 0.0]]], dtype=F64)  # (B=2, 2, 2)
    rec = torch.tensor([[[1.0, 0.0], [3.0, 5.0]], [[0.5, -0.5], [1.0, 0.0]]], dtype=F64)
    torch.testing.assert_close(squared_error(x, rec), torch.tensor([4.0 + 1.0, 0.25 + 0.25 + 1.0], dtype=F64))
    torch.testing.assert_close(squared_error(x, x), torch.zeros(2, dtype=F64))
    images = torch.zeros(3, 1, 4, 4)
    torch.testing.assert_close(squared_error(images, torch.full_like(images, 0.5)), torch.full((3,), 16 * 0.25))


def test_squared_error_validates_shapes() -> None:
    with pytest.raises(ValueError, match=r"axis/axes must match exactly, got x=\(3, 4\), mean=\(3, 5\)"):
        squared_error(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match="batch axis"):
        squared_error(torch.zeros(4), torch.zeros(4))


def whitened(n: int = 64, dim: int = 3, seed: int = 0) -> torch.Tensor:
    """Codes whose batch mean is 0 and unbiased batch covariance is I (up to rounding)."""
    z = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)
    z = z - z.mean(0)
    chol = torch.linalg.cholesky(torch.cov(z.T))
    return torch.linalg.solve_triangular(chol, z.T, upper=False).T


def test_whitened_codes_are_standard() -> None:
    mean, cov = batch_moments(whitened())
    torch.testing.assert_close(mean, torch.zeros(3, dtype=F64), atol=1e-14, rtol=0)
    torch.testing.assert_close(cov, torch.eye(3, dtype=F64), atol=1e-13, rtol=0)


def test_wasserstein_restriction_values() -> None:
    w = whitened()
    assert abs(wasserstein_restriction(w).item()) < 1e-12
    for c in (0.5, 2.0, 3.0):  # N(0, c^2 I) against N(0, I): J (c - 1)^2
        assert wasserstein_restriction(c * w).item() == pytest.approx(3 * (c - 1.0) ** 2, rel=1e-10)
    shift = torch.tensor([1.0, -2.0, 0.5], dtype=F64)  # a mean shift adds its squared norm
    assert wasserstein_restriction(w + shift).item() == pytest.approx(5.25, rel=1e-10)
    codes = torch.randn(40, 3, generator=torch.Generator().manual_seed(1), dtype=F64) * 0.3 + 1.0
    mean, cov = batch_moments(codes)
    expected = wasserstein2_gaussians_sq(mean, cov, torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))
    torch.testing.assert_close(wasserstein_restriction(codes), expected)


def test_jensen_shannon_restriction_values() -> None:
    w = whitened()
    assert abs(jensen_shannon_restriction(w).item()) < 1e-12
    # N(0, c^2 I) against N(0, I): the midpoint is N(0, (c^2 + 1)/2 I) and JS_N = (J/2) log((c^2 + 1) / (2c))
    for c in (0.5, 2.0):
        expected = 1.5 * math.log((c**2 + 1) / (2 * c))
        assert jensen_shannon_restriction(c * w).item() == pytest.approx(expected, rel=1e-10)
    codes = torch.randn(40, 3, generator=torch.Generator().manual_seed(1), dtype=F64) * 0.3 + 1.0
    mean, cov = batch_moments(codes)
    expected = gaussian_midpoint_jensen_shannon(mean, cov, torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64))
    torch.testing.assert_close(jensen_shannon_restriction(codes), expected)
    assert expected.item() > 0.1


def numpy_imq_mmd(x: np.ndarray, y: np.ndarray, scale: float) -> float:
    """Unbiased MMD^2 with k(a, b) = C / (C + |a - b|^2), written out with loops over the pairs."""

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return scale / (scale + float(((a - b) ** 2).sum()))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_restriction_is_the_unbiased_imq_estimate_with_scale_2j() -> None:
    g = torch.Generator().manual_seed(0)
    z = 0.5 * torch.randn(12, 3, generator=g, dtype=F64) + 1.0
    prior = torch.randn(12, 3, generator=g, dtype=F64)
    value = mmd_restriction(z, prior)
    assert value.item() == pytest.approx(numpy_imq_mmd(z.numpy(), prior.numpy(), scale=6.0), rel=1e-12)
    torch.testing.assert_close(value, mmd_squared(z, prior, kernel="imq", unbiased=True, scale=6.0))
    assert value.item() > 0.05  # shifted codes are told apart from the prior
    # without prior samples: as many fresh standard-normal draws as codes, from the global generator
    torch.manual_seed(3)
    default = mmd_restriction(z)
    torch.manual_seed(3)
    torch.testing.assert_close(default, mmd_restriction(z, torch.randn_like(z)))
