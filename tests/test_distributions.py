"""Tests for gi_core.distributions against torch.distributions, scipy and Monte Carlo.

Monte Carlo checks use a fixed seed and a tolerance of 5 standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.distributions import (
    Categorical,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
    kl_divergence,
)

from gi_core.distributions import (
    GaussianMixturePrior,
    batch_moments,
    diag_gaussian_entropy,
    diag_gaussian_log_prob,
    kl_diag_gaussian_std_normal,
    kl_diag_gaussians,
    kl_full_gaussians,
    reparameterize,
    soft_clamp_log_var,
    wasserstein2_gaussians_sq,
)

F64 = torch.float64
N_SE = 5.0  # Monte Carlo tolerance in standard errors


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen(seed), dtype=F64)


def diag_normal(mean: torch.Tensor, log_var: torch.Tensor) -> Independent:
    return Independent(Normal(mean, torch.exp(0.5 * log_var)), 1)


@st.composite
def gaussians(draw: st.DrawFn, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A mean and an SPD covariance A A^T + 0.1 I with entries of A in [-2, 2]."""
    entries = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    a = draw(arrays(np.float64, (dim, dim), elements=entries))
    mean = draw(arrays(np.float64, (dim,), elements=entries))
    return torch.from_numpy(mean), torch.from_numpy(a @ a.T + 0.1 * np.eye(dim))


@st.composite
def gaussian_pairs(draw: st.DrawFn) -> tuple[torch.Tensor, ...]:
    dim = draw(st.integers(1, 4))
    return (*draw(gaussians(dim)), *draw(gaussians(dim)))


# --- diagonal Gaussian densities and entropy ---------------------------------------------------


def test_diag_gaussian_log_prob_matches_torch_and_scipy() -> None:
    x, mean, log_var = randn(6, 3, seed=1), randn(6, 3, seed=2), randn(6, 3, seed=3)
    expected = diag_normal(mean, log_var).log_prob(x)
    torch.testing.assert_close(diag_gaussian_log_prob(x, mean, log_var), expected)
    by_scipy = scipy.stats.norm.logpdf(x.numpy(), mean.numpy(), np.exp(0.5 * log_var.numpy())).sum(-1)
    np.testing.assert_allclose(diag_gaussian_log_prob(x, mean, log_var).numpy(), by_scipy, rtol=1e-12)


def test_diag_gaussian_log_prob_broadcasts_sample_axis() -> None:
    z, mean, log_var = randn(4, 6, 3, seed=1), randn(6, 3, seed=2), randn(6, 3, seed=3)
    out = diag_gaussian_log_prob(z, mean, log_var)
    assert out.shape == (4, 6)
    torch.testing.assert_close(out, diag_normal(mean, log_var).log_prob(z))


def test_diag_gaussian_entropy_matches_torch() -> None:
    log_var = randn(5, 4)
    expected = diag_normal(torch.zeros_like(log_var), log_var).entropy()
    torch.testing.assert_close(diag_gaussian_entropy(log_var), expected)
    # unit variance in J dimensions: J/2 log(2 pi e)
    unit = diag_gaussian_entropy(torch.zeros(3, dtype=F64))
    assert unit.item() == pytest.approx(1.5 * math.log(2 * math.pi * math.e))


# --- reparameterization -----------------------------------------------------------------------


def test_reparameterize_uses_standard_deviation_and_generator() -> None:
    mean, log_var = randn(3, 2, seed=1), randn(3, 2, seed=2)
    z = reparameterize(mean, log_var, generator=gen(7))
    eps = torch.randn(3, 2, generator=gen(7), dtype=F64)
    torch.testing.assert_close(z, mean + torch.exp(0.5 * log_var) * eps)
    samples = reparameterize(mean, log_var, n_samples=5, generator=gen(7))
    assert samples.shape == (5, 3, 2)
    torch.testing.assert_close(samples, reparameterize(mean, log_var, n_samples=5, generator=gen(7)))


def test_reparameterize_moments_by_monte_carlo() -> None:
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    log_var = torch.tensor([math.log(4.0), math.log(0.25)], dtype=F64)
    n = 200_000
    z = reparameterize(mean, log_var, n_samples=n, generator=gen(3))
    var = torch.exp(log_var)
    assert torch.all((z.mean(0) - mean).abs() < N_SE * torch.sqrt(var / n))
    # the sample variance has standard error sqrt(2/n) var for a Gaussian
    assert torch.all((z.var(0) - var).abs() < N_SE * math.sqrt(2.0 / n) * var)


def test_reparameterize_gradients_are_pathwise() -> None:
    mean = randn(4, seed=1).requires_grad_(True)
    log_var = randn(4, seed=2).requires_grad_(True)
    z = reparameterize(mean, log_var, generator=gen(5))
    z.sum().backward()
    torch.testing.assert_close(mean.grad, torch.ones(4, dtype=F64))
    torch.testing.assert_close(log_var.grad, 0.5 * (z - mean).detach())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_reparameterize_on_cuda_with_cuda_generator() -> None:
    mean = torch.zeros(3, 2, device="cuda")
    z = reparameterize(mean, torch.zeros_like(mean), n_samples=4, generator=torch.Generator("cuda").manual_seed(0))
    assert z.device.type == "cuda" and z.shape == (4, 3, 2)


# --- KL divergences ---------------------------------------------------------------------------


def test_kl_diag_gaussians_matches_torch_with_broadcasting() -> None:
    mean_q, log_var_q = randn(5, 3, seed=1), randn(5, 3, seed=2)
    mean_p, log_var_p = randn(3, seed=3), randn(3, seed=4)
    expected = kl_divergence(diag_normal(mean_q, log_var_q), diag_normal(mean_p, log_var_p))
    torch.testing.assert_close(kl_diag_gaussians(mean_q, log_var_q, mean_p, log_var_p), expected)
    torch.testing.assert_close(kl_diag_gaussians(mean_q, log_var_q, mean_q, log_var_q), torch.zeros(5, dtype=F64))


def test_kl_diag_gaussians_by_monte_carlo() -> None:
    mean_q, log_var_q = torch.tensor([0.3, -0.5], dtype=F64), torch.tensor([0.4, -0.2], dtype=F64)
    mean_p, log_var_p = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([-0.3, 0.5], dtype=F64)
    z = reparameterize(mean_q, log_var_q, n_samples=100_000, generator=gen(11))
    log_ratio = diag_gaussian_log_prob(z, mean_q, log_var_q) - diag_gaussian_log_prob(z, mean_p, log_var_p)
    standard_error = log_ratio.std() / math.sqrt(z.shape[0])
    exact = kl_diag_gaussians(mean_q, log_var_q, mean_p, log_var_p)
    assert abs(log_ratio.mean() - exact) < N_SE * standard_error


def test_kl_std_normal_closed_form_and_seed_typo() -> None:
    # mu = 1, sigma^2 = 1 per dimension: 1/2 (1 + 1 - 0 - 1) = 1/2 each (the printed Eq. 2.5 would give 3)
    value = kl_diag_gaussian_std_normal(torch.ones(4, dtype=F64), torch.zeros(4, dtype=F64))
    assert value.item() == pytest.approx(2.0)
    mean, log_var = randn(6, 3, seed=1), randn(6, 3, seed=2)
    zeros = torch.zeros_like(mean)
    general = kl_diag_gaussians(mean, log_var, zeros, zeros)
    torch.testing.assert_close(kl_diag_gaussian_std_normal(mean, log_var), general)
    expected = kl_divergence(diag_normal(mean, log_var), diag_normal(zeros, zeros))
    torch.testing.assert_close(kl_diag_gaussian_std_normal(mean, log_var), expected)


@settings(max_examples=25, deadline=None)
@given(gaussian_pairs())
def test_kl_full_gaussians_matches_torch(pair: tuple[torch.Tensor, ...]) -> None:
    mean1, cov1, mean2, cov2 = pair
    value = kl_full_gaussians(mean1, cov1, mean2, cov2)
    expected = kl_divergence(MultivariateNormal(mean1, cov1), MultivariateNormal(mean2, cov2))
    torch.testing.assert_close(value, expected, rtol=1e-7, atol=1e-9)
    assert value >= -1e-9
    assert abs(kl_full_gaussians(mean1, cov1, mean1, cov1)) < 1e-9


def test_kl_full_with_diagonal_covariances_equals_diagonal_kl() -> None:
    mean1, log_var1, mean2, log_var2 = (randn(4, seed=s) for s in range(4))
    full = kl_full_gaussians(mean1, torch.diag(log_var1.exp()), mean2, torch.diag(log_var2.exp()))
    torch.testing.assert_close(full, kl_diag_gaussians(mean1, log_var1, mean2, log_var2))


def test_batch_moments_match_numpy() -> None:
    z = randn(50, 3)
    mean, cov = batch_moments(z)
    np.testing.assert_allclose(mean.numpy(), z.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(z.numpy(), rowvar=False, ddof=1), rtol=1e-12)
    one_dim_mean, one_dim_cov = batch_moments(randn(10, 1))
    assert one_dim_mean.shape == (1,) and one_dim_cov.shape == (1, 1)


# --- 2-Wasserstein ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(gaussian_pairs())
def test_wasserstein2_matches_scipy_sqrtm(pair: tuple[torch.Tensor, ...]) -> None:
    mean1, cov1, mean2, cov2 = pair
    value = wasserstein2_gaussians_sq(mean1, cov1, mean2, cov2)
    c1, c2 = cov1.numpy(), cov2.numpy()
    base = float(((mean1 - mean2) ** 2).sum()) + np.trace(c1) + np.trace(c2)
    thesis_form = base - 2.0 * np.trace(scipy.linalg.sqrtm(c1 @ c2)).real  # seed 002 Eq. 6.5 as printed
    root2 = scipy.linalg.sqrtm(c2).real
    symmetric_form = base - 2.0 * np.trace(scipy.linalg.sqrtm(root2 @ c1 @ root2)).real
    scale = 1.0 + base
    assert value.item() == pytest.approx(thesis_form, abs=1e-7 * scale)
    assert value.item() == pytest.approx(symmetric_form, abs=1e-7 * scale)
    swapped = wasserstein2_gaussians_sq(mean2, cov2, mean1, cov1)
    assert value.item() == pytest.approx(swapped.item(), abs=1e-9 * scale)
    assert value.item() >= -1e-9 * scale
    assert abs(wasserstein2_gaussians_sq(mean1, cov1, mean1, cov1).item()) < 1e-9 * scale


def test_wasserstein2_commuting_diagonal_closed_form() -> None:
    mean1, mean2 = randn(3, seed=1), randn(3, seed=2)
    std1 = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    std2 = torch.tensor([1.5, 1.0, 0.1], dtype=F64)
    value = wasserstein2_gaussians_sq(mean1, torch.diag(std1**2), mean2, torch.diag(std2**2))
    expected = ((mean1 - mean2) ** 2).sum() + ((std1 - std2) ** 2).sum()
    torch.testing.assert_close(value, expected)


def test_wasserstein2_gradients() -> None:
    def w2(mean1: torch.Tensor, a1: torch.Tensor, mean2: torch.Tensor, a2: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(3, dtype=F64)
        return wasserstein2_gaussians_sq(mean1, a1 @ a1.T + 0.5 * eye, mean2, a2 @ a2.T + 0.5 * eye)

    inputs = tuple(randn(*shape, seed=s).requires_grad_(True) for s, shape in enumerate([(3,), (3, 3), (3,), (3, 3)]))
    assert torch.autograd.gradcheck(w2, inputs)
    # repeated eigenvalues (both identity, the WVAE target): gradient is finite and zero at the minimum
    cov = torch.eye(3, dtype=F64, requires_grad=True)
    zeros = torch.zeros(3, dtype=F64)
    wasserstein2_gaussians_sq(zeros, cov, zeros, torch.eye(3, dtype=F64)).backward()
    torch.testing.assert_close(cov.grad, torch.zeros(3, 3, dtype=F64), atol=1e-12, rtol=0)


# --- soft clamp -------------------------------------------------------------------------------


def test_soft_clamp_log_var_bounds_and_identity_at_zero() -> None:
    raw = torch.linspace(-1e4, 1e4, 2001, dtype=F64)
    out = soft_clamp_log_var(raw, low=-10.0, high=5.0)
    assert torch.all(out >= -10.0) and torch.all(out <= 5.0)
    assert torch.all(out.diff() >= 0)
    assert out[0].item() == pytest.approx(-10.0) and out[-1].item() == pytest.approx(5.0)
    zero = torch.zeros(1, dtype=F64, requires_grad=True)
    value = soft_clamp_log_var(zero, low=-3.0, high=2.0)
    value.backward()
    assert value.item() == pytest.approx(0.0, abs=1e-15)
    assert zero.grad.item() == pytest.approx(1.0)
    default = soft_clamp_log_var(torch.tensor([-1e3, 0.0, 1e3], dtype=F64))
    torch.testing.assert_close(default, torch.tensor([-10.0, 0.0, 5.0], dtype=F64))


# --- Gaussian mixture prior -------------------------------------------------------------------


def make_prior() -> GaussianMixturePrior:
    prior = GaussianMixturePrior(3, 2, mean_scale=2.0, generator=gen(1), dtype=F64)
    with torch.no_grad():
        prior.logits.copy_(torch.tensor([0.2, -0.4, 1.0], dtype=F64))
        prior.raw_log_vars.copy_(torch.tensor([[0.3, -0.2], [0.0, 0.5], [-0.7, 0.1]], dtype=F64))
    return prior


def test_mixture_log_prob_matches_mixture_same_family() -> None:
    prior = make_prior()
    z = randn(7, 2, seed=4)
    reference = MixtureSameFamily(Categorical(logits=prior.logits), diag_normal(prior.means, prior.log_vars))
    torch.testing.assert_close(prior.log_prob(z), reference.log_prob(z))
    assert prior.component_log_prob(z).shape == (7, 3)


def test_mixture_responsibilities_follow_bayes_rule() -> None:
    prior = make_prior()
    z = randn(7, 2, seed=4)
    resp = prior.responsibilities(z)
    torch.testing.assert_close(resp.sum(-1), torch.ones(7, dtype=F64))
    weights = torch.softmax(prior.logits, -1).detach().numpy()
    stds = torch.exp(0.5 * prior.log_vars).detach().numpy()
    means = prior.means.detach().numpy()
    joint = np.stack(
        [weights[k] * scipy.stats.norm.pdf(z.numpy(), means[k], stds[k]).prod(-1) for k in range(3)], axis=-1
    )
    np.testing.assert_allclose(resp.detach().numpy(), joint / joint.sum(-1, keepdims=True), rtol=1e-10)


def test_mixture_sample_moments_and_gradients() -> None:
    prior = make_prior()
    n = 100_000
    z = prior.sample(n, generator=gen(9))
    assert z.shape == (n, 2)
    weights = torch.softmax(prior.logits, -1)
    exact_mean = weights @ prior.means
    second = weights @ (prior.log_vars.exp() + prior.means**2)
    exact_std = torch.sqrt(second - exact_mean**2)
    assert torch.all((z.mean(0) - exact_mean).abs() < N_SE * exact_std / math.sqrt(n))
    z.sum().backward()
    assert prior.means.grad is not None and prior.raw_log_vars.grad is not None
    torch.testing.assert_close(prior.sample(5, generator=gen(2)), prior.sample(5, generator=gen(2)))


def test_mixture_initialization_is_uniform_with_unit_variance() -> None:
    prior = GaussianMixturePrior(4, 3)
    torch.testing.assert_close(prior.log_weights.exp(), torch.full((4,), 0.25))
    torch.testing.assert_close(prior.log_vars, torch.zeros(4, 3))
    assert (prior.num_components, prior.latent_dim) == (4, 3)


# --- errors -----------------------------------------------------------------------------------


def test_input_errors() -> None:
    x = randn(4, 3)
    with pytest.raises(ValueError, match="x contains NaN"):
        diag_gaussian_log_prob(torch.full((2, 3), float("nan"), dtype=F64), x[:2], x[:2])
    with pytest.raises(ValueError, match="last 1 axis/axes must match"):
        diag_gaussian_log_prob(x, randn(4, 2), x)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        kl_diag_gaussians(x, x, randn(5, 3), randn(5, 3))
    with pytest.raises(ValueError, match="shapes must match"):
        reparameterize(x, randn(4, 2))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        reparameterize(x, x, n_samples=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        batch_moments(randn(1, 3))
    with pytest.raises(ValueError, match="low < 0 < high"):
        soft_clamp_log_var(x, low=1.0, high=5.0)


def test_covariance_errors() -> None:
    mean, eye = torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)
    not_pd = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)
    with pytest.raises(ValueError, match="cov1 must be positive definite"):
        kl_full_gaussians(mean, not_pd, mean, eye)
    with pytest.raises(ValueError, match="cov2 must be positive definite"):
        wasserstein2_gaussians_sq(mean, eye, mean, -eye)
    with pytest.raises(ValueError, match="cov1 must be symmetric"):
        kl_full_gaussians(mean, torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=F64), mean, eye)
    with pytest.raises(ValueError, match="mean1 has 3 entries"):
        wasserstein2_gaussians_sq(torch.zeros(3, dtype=F64), eye, mean, eye)
    with pytest.raises(ValueError, match="differ in dimension"):
        kl_full_gaussians(torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64), mean, eye)


def test_mixture_errors() -> None:
    with pytest.raises(ValueError, match="num_components must be at least 1"):
        GaussianMixturePrior(0, 2)
    with pytest.raises(ValueError, match="latent_dim must be at least 1"):
        GaussianMixturePrior(2, 0)
    with pytest.raises(ValueError, match="log_var_bounds"):
        GaussianMixturePrior(2, 2, log_var_bounds=(0.5, 2.0))
    prior = GaussianMixturePrior(2, 3)
    with pytest.raises(ValueError, match="last dimension 3"):
        prior.log_prob(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        prior.sample(0)
