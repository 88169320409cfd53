"""Tests for gi_core.maths.energy_gmm: DAGMM's mixture statistics, sample energy and covariance penalty (Zong et al.
2018, Eq. 5–7) against weighted NumPy sums, scipy.stats.multivariate_normal and torch.distributions, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

from gi_core.maths.energy_gmm import covariance_penalty, mixture_statistics, sample_energy
from tests.helpers import F64, randn

pytestmark = pytest.mark.usefixtures("one_thread")
N, K, D = 40, 3, 2


def codes_and_memberships() -> tuple[torch.Tensor, torch.Tensor]:
    z = randn(N, D, seed=1) * torch.tensor([1.0, 2.0], dtype=F64) + 0.5
    gamma = torch.softmax(randn(N, K, seed=2) * 2, dim=1)
    return z, gamma


def test_mixture_statistics_equal_the_weighted_numpy_sums() -> None:
    z, gamma = codes_and_memberships()
    phi, means, covariances = mixture_statistics(z, gamma, eps=1e-6)
    zn, gn = z.numpy(), gamma.numpy()
    for k in range(K):
        w = gn[:, k]
        mu = (w[:, None] * zn).sum(0) / w.sum()
        cov = np.cov(zn.T, aweights=w, bias=True) + 1e-6 * np.eye(D)
        np.testing.assert_allclose(phi[k].item(), w.mean(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(means[k].numpy(), mu, rtol=0, atol=1e-12)
        np.testing.assert_allclose(covariances[k].numpy(), cov, rtol=0, atol=1e-12)
    assert abs(phi.sum().item() - 1) < 1e-12


def test_sample_energy_is_minus_the_log_mixture_density_of_scipy_and_torch() -> None:
    z, gamma = codes_and_memberships()
    phi, means, covariances = mixture_statistics(z, gamma)
    energy = sample_energy(z, phi, means, covariances)
    density = sum(phi[k].item() * multivariate_normal(means[k].numpy(), covariances[k].numpy()).pdf(z.numpy())
                  for k in range(K))
    np.testing.assert_allclose(energy.numpy(), -np.log(density), rtol=0, atol=1e-6)
    mixture = MixtureSameFamily(Categorical(probs=phi), MultivariateNormal(means, covariance_matrix=covariances))
    torch.testing.assert_close(energy, -mixture.log_prob(z), rtol=0, atol=1e-10)


def test_energy_gradients_flow_to_the_codes_and_memberships() -> None:
    z, gamma_logits = randn(N, D, seed=3).requires_grad_(), randn(N, K, seed=4).requires_grad_()
    phi, means, covariances = mixture_statistics(z, torch.softmax(gamma_logits, 1))
    sample_energy(z, phi, means, covariances).mean().backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert torch.isfinite(gamma_logits.grad).all() and gamma_logits.grad.abs().sum() > 0


def test_singular_codes_stay_finite_with_eps_and_are_refused_without() -> None:
    """All codes equal: every covariance is 0, so eps*I alone makes the energy defined (-log N(mu; mu, eps I))."""
    z = torch.ones(10, D, dtype=F64)
    gamma = torch.softmax(randn(10, K, seed=5), 1)
    phi, means, covariances = mixture_statistics(z, gamma, eps=1e-4)
    torch.testing.assert_close(covariances, 1e-4 * torch.eye(D, dtype=F64).expand(K, D, D), rtol=0, atol=1e-15)
    energy = sample_energy(z, phi, means, covariances)
    expected = 0.5 * D * np.log(2 * np.pi * 1e-4)
    torch.testing.assert_close(energy, torch.full((10,), expected, dtype=F64), rtol=0, atol=1e-10)
    phi, means, covariances = mixture_statistics(z, gamma, eps=0.0)
    with pytest.raises(ValueError, match=r"covariances\[0\] is not positive definite"):
        sample_energy(z, phi, means, covariances)
    with pytest.raises(ValueError, match="covariances must have strictly positive variances"):
        covariance_penalty(covariances)


def test_covariance_penalty_sums_the_inverse_variances() -> None:
    covariances = torch.tensor([[[2.0, 0.3], [0.3, 4.0]], [[0.5, 0.0], [0.0, 0.25]]], dtype=F64)
    assert covariance_penalty(covariances).item() == pytest.approx(1 / 2 + 1 / 4 + 2 + 4, abs=1e-12)


def test_bad_inputs_are_refused_with_their_names() -> None:
    z, gamma = codes_and_memberships()
    with pytest.raises(ValueError, match="gamma must be non-negative and sum to 1"):
        mixture_statistics(z, gamma * 2)
    with pytest.raises(ValueError, match="gamma must have one row per code"):
        mixture_statistics(z, gamma[:-1])
    with pytest.raises(ValueError, match="no membership"):
        mixture_statistics(z, torch.nn.functional.pad(gamma, (0, 1)))
    phi, means, covariances = mixture_statistics(z, gamma)
    with pytest.raises(ValueError, match="phi must be non-negative"):
        sample_energy(z, phi * 2, means, covariances)
    with pytest.raises(ValueError, match="z must have the mixture's dimension"):
        sample_energy(z[:, :1], phi, means, covariances)


def test_non_finite_inputs_flow_to_nan_for_the_trainers_guard() -> None:
    """A diverged network's NaN is not refused on the training path: it reaches the loss, where the guard names it."""
    z, gamma = codes_and_memberships()
    gamma = gamma.clone()
    gamma[0, 0] = float("nan")
    phi, means, covariances = mixture_statistics(z, gamma)
    assert torch.isnan(phi[0]) and torch.isnan(covariances[0]).all() and torch.isfinite(covariances[1:]).all()
    energy = sample_energy(z, phi, means, covariances)
    assert torch.isnan(energy).all()
    assert torch.isnan(covariance_penalty(covariances))
