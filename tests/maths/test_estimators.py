"""Tests for gi_core.maths.estimators: both are unbiased (within 5 standard errors); pathwise has lower variance."""

from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from gi_core.maths.estimators import reparameterization_gradients, score_function_gradients
from tests.helpers import F64, N_SE, gen

N = 100_000
MEAN = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
LOG_VAR = torch.tensor([0.2, -0.5, 0.0], dtype=F64)


def sum_of_squares(z: torch.Tensor) -> torch.Tensor:
    return z.square().sum(-1)


def assert_unbiased(estimates: torch.Tensor, exact: torch.Tensor) -> None:
    standard_error = estimates.std(0) / math.sqrt(estimates.shape[0])
    assert torch.all((estimates.mean(0) - exact).abs() < N_SE * standard_error), (estimates.mean(0), exact)


def test_sum_of_squares_both_unbiased_and_pathwise_has_lower_variance() -> None:
    # E[sum z^2] = sum mu^2 + sigma^2: gradient 2 mu w.r.t. mu and sigma^2 w.r.t. log sigma^2
    exact = torch.stack([2 * MEAN, LOG_VAR.exp()])
    pathwise = reparameterization_gradients(sum_of_squares, MEAN, LOG_VAR, N, generator=gen(0))
    score = score_function_gradients(sum_of_squares, MEAN, LOG_VAR, N, generator=gen(1))
    assert pathwise.shape == score.shape == (N, 2, 3)
    assert_unbiased(pathwise, exact)
    assert_unbiased(score, exact)
    assert torch.all(pathwise.var(0) < score.var(0))


def test_pathwise_estimates_per_sample() -> None:
    # with the same generator the pathwise estimate for sample i is (2 z_i, z_i sigma eps_i)
    estimates = reparameterization_gradients(sum_of_squares, MEAN, LOG_VAR, 5, generator=gen(2))
    eps = torch.randn(5, 3, generator=gen(2), dtype=F64)
    sigma = torch.exp(0.5 * LOG_VAR)
    z = MEAN + sigma * eps
    torch.testing.assert_close(estimates[:, 0], 2 * z)
    torch.testing.assert_close(estimates[:, 1], z * sigma * eps)


def test_score_function_handles_non_differentiable_f_and_baseline() -> None:
    def positives(z: torch.Tensor) -> torch.Tensor:
        return (z > 0).to(z.dtype).sum(-1)

    # E f = sum Phi(mu / sigma): d/dmu = phi(u)/sigma, d/dlog sigma^2 = -phi(u) mu / (2 sigma), u = mu / sigma
    sigma = torch.exp(0.5 * LOG_VAR)
    density = torch.from_numpy(scipy.stats.norm.pdf((MEAN / sigma).numpy()))
    exact = torch.stack([density / sigma, -density * MEAN / (2 * sigma)])
    plain = score_function_gradients(positives, MEAN, LOG_VAR, N, generator=gen(3))
    assert_unbiased(plain, exact)
    expected_f = float(torch.from_numpy(scipy.stats.norm.cdf((MEAN / sigma).numpy())).sum())
    centred = score_function_gradients(positives, MEAN, LOG_VAR, N, generator=gen(3), baseline=expected_f)
    assert_unbiased(centred, exact)
    assert torch.all(centred.var(0) < plain.var(0))


def test_gradients_do_not_touch_inputs() -> None:
    mean = MEAN.clone().requires_grad_(True)
    estimates = score_function_gradients(sum_of_squares, mean, LOG_VAR, 10, generator=gen(4))
    assert mean.grad is None and not estimates.requires_grad


def test_errors() -> None:
    with pytest.raises(ValueError, match="mean must have 1 dimensions"):
        reparameterization_gradients(sum_of_squares, MEAN.view(1, 3), LOG_VAR.view(1, 3), 4)
    with pytest.raises(ValueError, match="shapes must match"):
        score_function_gradients(sum_of_squares, MEAN, LOG_VAR[:2], 4)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        reparameterization_gradients(sum_of_squares, MEAN, LOG_VAR, 0)
    with pytest.raises(ValueError, match="mean contains NaN"):
        score_function_gradients(sum_of_squares, torch.full((3,), float("nan"), dtype=F64), LOG_VAR, 4)
    with pytest.raises(ValueError, match=r"f\(z\) must have 1 dimensions"):
        reparameterization_gradients(lambda z: z.sum(), MEAN, LOG_VAR, 4)
    with pytest.raises(ValueError, match=r"f must map shape \(n, J\) to \(n,\)"):
        score_function_gradients(lambda z: z.sum(-1)[:2], MEAN, LOG_VAR, 4)
    with pytest.raises(ValueError, match="baseline must be finite"):
        score_function_gradients(sum_of_squares, MEAN, LOG_VAR, 4, baseline=float("inf"))
