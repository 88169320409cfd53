"""Tests for gi_core.maths.linear_gaussian: the exact identity log p(x) = ELBO + KL(q || posterior) in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch

from gi_core.maths.gaussians import diag_gaussian_log_prob, reparameterize
from gi_core.maths.likelihoods import gaussian_log_likelihood
from gi_core.maths.linear_gaussian import LinearGaussianModel
from tests.helpers import F64, N_SE, gen


@pytest.mark.parametrize("seed,latent_dim,data_dim,noise_std", [(0, 2, 5, 0.5), (1, 3, 3, 1.3), (2, 1, 8, 0.1)])
def test_elbo_gap_is_kl_to_posterior(seed: int, latent_dim: int, data_dim: int, noise_std: float) -> None:
    model = LinearGaussianModel.random(latent_dim, data_dim, noise_std, generator=gen(seed))
    x, _ = model.sample(16, generator=gen(seed + 10))
    q_mean = torch.randn(16, latent_dim, generator=gen(seed + 20), dtype=F64)
    q_log_var = 0.5 * torch.randn(16, latent_dim, generator=gen(seed + 30), dtype=F64)
    gap = model.log_marginal(x) - model.elbo(x, q_mean, q_log_var)
    torch.testing.assert_close(gap, model.kl_to_posterior(x, q_mean, q_log_var), rtol=0, atol=1e-10)
    assert torch.all(gap > 0)


def test_one_dimensional_latent_posterior_makes_the_bound_tight() -> None:
    model = LinearGaussianModel.random(1, 4, 0.7, generator=gen(3))
    x, _ = model.sample(5, generator=gen(4))
    post_mean, post_cov = model.posterior(x)
    log_var = torch.log(post_cov).expand(5, 1)
    torch.testing.assert_close(model.elbo(x, post_mean, log_var), model.log_marginal(x), rtol=0, atol=1e-10)
    kl = model.kl_to_posterior(x, post_mean, log_var)
    torch.testing.assert_close(kl, torch.zeros(5, dtype=F64), rtol=0, atol=1e-10)


def test_log_marginal_and_posterior_match_gaussian_conditioning() -> None:
    model = LinearGaussianModel.random(2, 4, 0.6, generator=gen(5))
    x, _ = model.sample(6, generator=gen(6))
    w, b, xs = model.weight.numpy(), model.bias.numpy(), x.numpy()
    cov_x = w @ w.T + 0.36 * np.eye(4)
    expected = scipy.stats.multivariate_normal(b, cov_x).logpdf(xs)
    np.testing.assert_allclose(model.log_marginal(x).numpy(), expected, rtol=1e-12)
    # joint Gaussian conditioning: E[z|x] = W^T C^-1 (x - b), Cov[z|x] = I - W^T C^-1 W
    gain = np.linalg.solve(cov_x, w).T
    post_mean, post_cov = model.posterior(x)
    np.testing.assert_allclose(post_mean.numpy(), (xs - b) @ gain.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(post_cov.numpy(), np.eye(2) - gain @ w, rtol=1e-10, atol=1e-12)


def test_closed_form_elbo_by_monte_carlo() -> None:
    model = LinearGaussianModel.random(2, 5, 0.8, generator=gen(7))
    x, _ = model.sample(3, generator=gen(8))
    q_mean = torch.tensor([[0.1, -0.3], [1.0, 0.5], [-0.4, 0.2]], dtype=F64)
    q_log_var = torch.tensor([[-1.0, -0.5], [0.0, -2.0], [-0.3, -0.8]], dtype=F64)
    n = 100_000
    z = reparameterize(q_mean, q_log_var, n_samples=n, generator=gen(9))
    log_w = (
        gaussian_log_likelihood(x, z @ model.weight.T + model.bias, model.noise_var)
        + diag_gaussian_log_prob(z, torch.zeros_like(z), torch.zeros_like(z))
        - diag_gaussian_log_prob(z, q_mean, q_log_var)
    )
    standard_error = log_w.std(0) / math.sqrt(n)
    assert torch.all((log_w.mean(0) - model.elbo(x, q_mean, q_log_var)).abs() < N_SE * standard_error)


def test_sample_moments() -> None:
    model = LinearGaussianModel.random(2, 3, 0.5, generator=gen(10))
    n = 200_000
    x, z = model.sample(n, generator=gen(11))
    assert x.shape == (n, 3) and z.shape == (n, 2) and x.dtype == F64
    cov_x = model.marginal_covariance()
    assert torch.all((x.mean(0) - model.bias).abs() < N_SE * torch.sqrt(torch.diagonal(cov_x) / n))
    # entries of a sample covariance have standard error at most sqrt(2/n) * max variance
    tolerance = N_SE * math.sqrt(2.0 / n) * torch.diagonal(cov_x).max()
    assert torch.all((torch.cov(x.T) - cov_x).abs() < tolerance)
    assert torch.all((z.mean(0)).abs() < N_SE / math.sqrt(n))


def test_random_is_reproducible_float64() -> None:
    a = LinearGaussianModel.random(2, 3, 0.5, generator=gen(0))
    b = LinearGaussianModel.random(2, 3, 0.5, generator=gen(0))
    assert a.weight.dtype == F64 and (a.latent_dim, a.data_dim) == (2, 3)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    assert a.noise_var == pytest.approx(0.25)


def test_errors() -> None:
    model = LinearGaussianModel.random(2, 3, 0.5, generator=gen(0))
    x = torch.zeros(4, 3, dtype=F64)
    q = torch.zeros(4, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 3\)"):
        model.log_marginal(torch.zeros(4, 2, dtype=F64))
    with pytest.raises(ValueError, match="x must have dtype torch.float64"):
        model.posterior(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="x contains NaN"):
        model.log_marginal(torch.full((4, 3), float("nan"), dtype=F64))
    with pytest.raises(ValueError, match=r"q_mean must have shape \(B, J\) = \(4, 2\)"):
        model.elbo(x, torch.zeros(4, 3, dtype=F64), torch.zeros(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="shapes must match"):
        model.kl_to_posterior(x, q, torch.zeros(4, 1, dtype=F64))
    with pytest.raises(ValueError, match=r"noise_std must lie in \(0.0, inf\)"):
        LinearGaussianModel(model.weight, model.bias, 0.0)
    with pytest.raises(ValueError, match="bias has 2 entries"):
        LinearGaussianModel(model.weight, torch.zeros(2, dtype=F64), 1.0)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        LinearGaussianModel.random(0, 3, 1.0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)
