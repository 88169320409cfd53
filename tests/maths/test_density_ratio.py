"""Tests for gi_core.maths.density_ratio: the Gaussian log-ratio and the logistic density-ratio trick."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
import torch
from torch.distributions import MultivariateNormal

from gi_core.maths.density_ratio import fit_density_ratio, gaussian_log_ratio
from gi_core.maths.gan_losses import optimal_discriminator
from tests.helpers import F64, gen

pytestmark = pytest.mark.usefixtures("one_thread")


def test_gaussian_log_ratio_matches_scipy() -> None:
    x = torch.linspace(-4, 4, 17, dtype=F64)
    expected = scipy.stats.norm.logpdf(x.numpy(), 0.3, 0.8) - scipy.stats.norm.logpdf(x.numpy(), -1.0, 1.7)
    np.testing.assert_allclose(gaussian_log_ratio(x, 0.3, 0.8, -1.0, 1.7).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_logistic_discriminator_recovers_the_gaussian_log_ratio() -> None:
    # q = N(0, 1), p = N(0.5, 1.5^2), 20k samples each; measured max error on the grid: 0.019-0.072 nats
    # over 20 seeds (mean 0.034), so 0.1 nats leaves a margin.
    g = gen(0)
    q_mean, q_std, p_mean, p_std = 0.0, 1.0, 0.5, 1.5
    x_q = q_mean + q_std * torch.randn(20_000, generator=g, dtype=F64)
    x_p = p_mean + p_std * torch.randn(20_000, generator=g, dtype=F64)
    estimate = fit_density_ratio(x_q, x_p, features="quadratic")
    lo, hi = max(q_mean - 2 * q_std, p_mean - 2 * p_std), min(q_mean + 2 * q_std, p_mean + 2 * p_std)
    grid = torch.linspace(lo, hi, 401, dtype=F64)
    error = (estimate(grid) - gaussian_log_ratio(grid, q_mean, q_std, p_mean, p_std)).abs()
    assert error.max().item() < 0.1
    # the loss the estimator minimizes is the standard discriminator loss; at its optimum the logit's
    # sigmoid is D* = q / (q + p) on the grid
    d_star = optimal_discriminator(
        torch.exp(gaussian_log_ratio(grid, q_mean, q_std, p_mean, p_std)), torch.ones_like(grid)
    )
    assert (torch.sigmoid(estimate(grid)) - d_star).abs().max().item() < 0.025  # measured 0.018


def test_density_ratio_with_unequal_sample_sizes_and_two_dimensions() -> None:
    torch.manual_seed(3)
    q = MultivariateNormal(torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64))
    p = MultivariateNormal(torch.tensor([0.5, -0.3], dtype=F64), torch.tensor([[1.5, 0.4], [0.4, 0.8]], dtype=F64))
    x_q, x_p = q.sample((30_000,)), p.sample((15_000,))  # balanced loss: no log(n_p / n_q) correction needed
    estimate = fit_density_ratio(x_q, x_p)
    points = q.sample((2_000,))

    def mahalanobis(dist: MultivariateNormal, x: torch.Tensor) -> torch.Tensor:
        diff = x - dist.loc
        return torch.linalg.solve(dist.covariance_matrix, diff.T).T.mul(diff).sum(1).sqrt()

    points = points[(mahalanobis(q, points) < 2) & (mahalanobis(p, points) < 2)]
    error = (estimate(points) - (q.log_prob(points) - p.log_prob(points))).abs()
    assert error.max().item() < 0.15  # measured 0.104 here; 0.02-0.09 over 10 seeds with 20k + 20k samples
    linear = fit_density_ratio(x_q, x_p, features="linear")  # cannot hold the quadratic log-ratio
    assert (linear(points) - (q.log_prob(points) - p.log_prob(points))).abs().max().item() > 0.3


def test_density_ratio_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown features 'cubic'"):
        fit_density_ratio(torch.randn(10), torch.randn(10), features="cubic")
    with pytest.raises(ValueError, match="same dimension"):
        fit_density_ratio(torch.randn(10, 2), torch.randn(10, 3))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        fit_density_ratio(torch.randn(10), torch.randn(10), steps=0)
    with pytest.raises(ValueError, match=r"p_std must lie in \(0.0, inf\)"):
        gaussian_log_ratio(torch.zeros(3), 0.0, 1.0, 0.0, -1.0)


def test_counts_must_be_positive_integers() -> None:
    """Issue 14: a non-integer count is refused at the entry; a fitted estimate refused none of its fields."""
    from gi_core.maths.density_ratio import DensityRatioEstimate

    fields = {"weight": torch.ones(2, dtype=F64), "bias": torch.tensor(0.0, dtype=F64), "feature_mean": torch.zeros(2, dtype=F64),
              "feature_scale": torch.ones(2, dtype=F64), "features": "linear"}
    assert DensityRatioEstimate(**fields, dim=2)(torch.ones(3, 2)).tolist() == [2.0, 2.0, 2.0]
    for bad in (2.5, 0, True, "2"):
        with pytest.raises(ValueError, match=rf"^dim must be a positive integer, got {bad!r}$"):
            DensityRatioEstimate(**fields, dim=bad)
        with pytest.raises(ValueError, match=rf"^steps must be a positive integer, got {bad!r}$"):
            fit_density_ratio(torch.randn(10), torch.randn(10), steps=bad)
    with pytest.raises(ValueError, match=r"^weight must have 5 entries \(quadratic features of dim=2\), got shape \(2,\)$"):
        DensityRatioEstimate(**{**fields, "features": "quadratic"}, dim=2)
    with pytest.raises(TypeError, match=r"^bias must be float64, got torch.float32$"):
        DensityRatioEstimate(**{**fields, "bias": torch.tensor(0.0)}, dim=2)
