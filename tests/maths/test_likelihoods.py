"""Tests for gi_core.maths.likelihoods against torch.distributions, scipy and the MSE identity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Laplace, Normal

from gi_core.maths.likelihoods import (
    bernoulli_log_likelihood,
    expected_gaussian_log_likelihood,
    gaussian_log_likelihood,
    gaussian_log_likelihood_constant,
    laplace_log_likelihood,
    squared_error,
)
from tests.helpers import F64, N_SE, gen, randn

IMAGES = randn(4, 2, 3, 5, seed=1)
RECON = randn(4, 2, 3, 5, seed=2)


@pytest.mark.parametrize("variance", [0.1, 1.0, 3.5])
def test_gaussian_matches_torch_normal_on_images(variance: float) -> None:
    expected = Normal(RECON, math.sqrt(variance)).log_prob(IMAGES).sum((1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(IMAGES, RECON, variance), expected)


@pytest.mark.parametrize("variance", [0.01, 0.5, 1.0, 7.0])
def test_gaussian_is_affine_in_sse(variance: float) -> None:
    dim = 2 * 3 * 5
    sse = squared_error(IMAGES, RECON)
    constant = gaussian_log_likelihood_constant(dim, variance)
    torch.testing.assert_close(
        gaussian_log_likelihood(IMAGES, RECON, variance), -sse / (2 * variance) + constant, rtol=1e-14, atol=1e-12
    )
    mse = F.mse_loss(RECON, IMAGES, reduction="none").mean((1, 2, 3))
    torch.testing.assert_close(sse, dim * mse)


def test_gaussian_constant_value() -> None:
    # the constant is the log-density at the mean: D * log N(0; 0, sigma^2)
    expected = 7 * scipy.stats.norm.logpdf(0.0, scale=math.sqrt(0.3))
    assert gaussian_log_likelihood_constant(7, 0.3) == pytest.approx(expected)


def test_gaussian_tensor_variance_per_pixel_and_per_sample() -> None:
    per_pixel = torch.rand(2, 3, 5, generator=torch.Generator().manual_seed(3), dtype=F64) + 0.1
    expected = Normal(RECON, per_pixel.sqrt()).log_prob(IMAGES).sum((1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(IMAGES, RECON, per_pixel), expected)
    per_sample = torch.tensor([0.5, 1.0, 2.0, 4.0], dtype=F64).view(4, 1, 1, 1)
    expected = Normal(RECON, per_sample.sqrt()).log_prob(IMAGES).sum((1, 2, 3))
    torch.testing.assert_close(gaussian_log_likelihood(IMAGES, RECON, per_sample), expected)


def test_sample_axis_broadcasts_and_event_dims() -> None:
    x, means = randn(6, 4, seed=1), randn(3, 6, 4, seed=2)
    out = gaussian_log_likelihood(x, means, 0.7)
    assert out.shape == (3, 6)
    for k in range(3):
        torch.testing.assert_close(out[k], gaussian_log_likelihood(x, means[k], 0.7))
    stacked = x.expand(3, 6, 4)
    torch.testing.assert_close(gaussian_log_likelihood(stacked, means, 0.7, event_dims=1), out)
    images = gaussian_log_likelihood(IMAGES, RECON, 1.0, event_dims=2)
    torch.testing.assert_close(images, Normal(RECON, 1.0).log_prob(IMAGES).sum((2, 3)))


def test_bernoulli_matches_torch_for_binary_targets() -> None:
    x = (torch.rand(4, 2, 3, 5, generator=torch.Generator().manual_seed(4)) > 0.5).to(F64)
    logits = 3 * RECON
    expected = Bernoulli(logits=logits).log_prob(x).sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected)


def test_bernoulli_fractional_targets_are_minus_bce_and_stable() -> None:
    x = torch.rand(4, 2, 3, 5, generator=torch.Generator().manual_seed(5), dtype=F64)
    logits = 3 * RECON
    expected = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), expected)
    p = torch.sigmoid(logits)
    by_hand = (x * torch.log(p) + (1 - x) * torch.log1p(-p)).sum((1, 2, 3))
    torch.testing.assert_close(bernoulli_log_likelihood(x, logits), by_hand)
    extreme = bernoulli_log_likelihood(torch.tensor([[1.0, 0.0]], dtype=F64), torch.tensor([[200.0, 200.0]], dtype=F64))
    assert extreme.item() == pytest.approx(-200.0)


def test_laplace_matches_torch_and_scipy() -> None:
    scale = 0.4
    expected = Laplace(RECON, scale).log_prob(IMAGES).sum((1, 2, 3))
    torch.testing.assert_close(laplace_log_likelihood(IMAGES, RECON, scale), expected)
    by_scipy = scipy.stats.laplace.logpdf(IMAGES.numpy(), RECON.numpy(), scale).sum((1, 2, 3))
    np.testing.assert_allclose(laplace_log_likelihood(IMAGES, RECON, torch.tensor(scale, dtype=F64)).numpy(), by_scipy)


def test_gradients_flow_to_decoder_output() -> None:
    recon = RECON.clone().requires_grad_(True)
    gaussian_log_likelihood(IMAGES, recon, 2.0).sum().backward()
    torch.testing.assert_close(recon.grad, (IMAGES - RECON) / 2.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="variance must "):
        gaussian_log_likelihood(IMAGES, RECON, 0.0)
    with pytest.raises(ValueError, match="variance must "):
        gaussian_log_likelihood(IMAGES, RECON, -torch.ones(5, dtype=F64))
    with pytest.raises(ValueError, match="variance must "):
        gaussian_log_likelihood_constant(3, 0.0)
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        gaussian_log_likelihood_constant(0, 1.0)
    with pytest.raises(ValueError, match=r"scale must lie in \(0.0, inf\)"):
        laplace_log_likelihood(IMAGES, RECON, 0.0)
    with pytest.raises(ValueError, match="does not broadcast to the data shape"):
        gaussian_log_likelihood(IMAGES, RECON, torch.ones(7, dtype=F64))
    with pytest.raises(ValueError, match=r"x must lie in \[0, 1\]"):
        bernoulli_log_likelihood(IMAGES, RECON)
    with pytest.raises(ValueError, match="x contains NaN"):
        gaussian_log_likelihood(torch.full_like(IMAGES, float("nan")), RECON)
    with pytest.raises(ValueError, match="variance must be finite, got nan"):
        gaussian_log_likelihood(IMAGES, RECON, float("nan"))
    with pytest.raises(ValueError, match="must match exactly"):
        gaussian_log_likelihood(IMAGES, RECON[..., :4])
    with pytest.raises(ValueError, match="cannot be broadcast"):
        squared_error(randn(6, 4), randn(5, 4))
    with pytest.raises(ValueError, match="batch axis and at least one data axis"):
        laplace_log_likelihood(randn(6), randn(6), 1.0)
    with pytest.raises(ValueError, match="event_dims must be an integer between 1 and"):
        gaussian_log_likelihood(IMAGES, RECON, event_dims=5)


@pytest.mark.parametrize("likelihood", [
    squared_error,
    gaussian_log_likelihood,
    bernoulli_log_likelihood,
    lambda x, output: laplace_log_likelihood(x, output, 0.5),
])
def test_an_empty_batch_is_refused_clearly(likelihood) -> None:
    """Issue 14: an empty batch failed inside torch (Bernoulli's range check) or gave an empty result."""
    x = torch.rand(3, 5, dtype=F64)
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0, 5\)\)$"):
        likelihood(x[:0], x[:0])
    with pytest.raises(ValueError, match=r"is empty \(shape \(0, 5\)\)$"):
        likelihood(x, x[:0])


def light_curves(seed: int = 0) -> dict[str, torch.Tensor]:
    """Three curves of 6 entries, the last ones padded (value 0, error 1), with a model mean and variance."""
    g = gen(seed)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2, [True] + [False] * 5])
    value = torch.where(mask, torch.randn(3, 6, generator=g, dtype=F64), torch.zeros(3, 6, dtype=F64))
    error = torch.where(mask, 0.05 + 0.5 * torch.rand(3, 6, generator=g, dtype=F64), torch.ones(3, 6, dtype=F64))
    mean = torch.randn(3, 6, generator=g, dtype=F64)
    var = 0.1 + torch.rand(3, 6, generator=g, dtype=F64)
    return {"value": value, "error": error, "mean": mean, "var": var, "mask": mask}


def test_expected_gaussian_log_likelihood_matches_monte_carlo() -> None:
    """Draws x ~ N(value, error^2) of every entry, 20000 per curve: the closed form lies within N_SE = 5 standard
    errors of the mean of sum_j log N(x_j; mean_j, var_j) over the observed entries (measured: within 2.3 SE)."""
    args = light_curves()
    exact = expected_gaussian_log_likelihood(**args)
    draws = args["value"] + args["error"] * torch.randn(20000, 3, 6, generator=gen(1), dtype=F64)
    per_draw = (Normal(args["mean"], args["var"].sqrt()).log_prob(draws) * args["mask"]).sum(-1)  # (S, 3)
    estimate, standard_error = per_draw.mean(0), per_draw.std(0) / math.sqrt(per_draw.shape[0])
    assert bool(((exact - estimate).abs() < N_SE * standard_error).all()), (exact, estimate, standard_error)


def test_expected_gaussian_log_likelihood_at_zero_error_is_the_log_density() -> None:
    args = {**light_curves(2)}
    args["error"] = torch.where(args["mask"], torch.zeros_like(args["error"]), args["error"])
    expected = (Normal(args["mean"], args["var"].sqrt()).log_prob(args["value"]) * args["mask"]).sum(-1)
    torch.testing.assert_close(expected_gaussian_log_likelihood(**args), expected, rtol=1e-14, atol=1e-14)
    # and with error > 0 it is that minus error^2 / (2 var) per observed entry
    with_error = light_curves(2)
    gap = (with_error["error"].square() / (2 * with_error["var"]) * with_error["mask"]).sum(-1)
    torch.testing.assert_close(expected_gaussian_log_likelihood(**with_error), expected - gap, rtol=1e-14, atol=1e-14)


def test_expected_gaussian_log_likelihood_ignores_padding_values_and_gradients() -> None:
    args = light_curves(3)
    reference = expected_gaussian_log_likelihood(**args)
    padded = ~args["mask"]
    mean = torch.where(padded, torch.full_like(args["mean"], math.nan), args["mean"]).requires_grad_()
    var = torch.where(padded, torch.zeros_like(args["var"]), args["var"]).requires_grad_()
    value = torch.where(padded, torch.full_like(args["value"], 1e3), args["value"])
    error = torch.where(padded, torch.full_like(args["error"], 7.0), args["error"])
    out = expected_gaussian_log_likelihood(value, error, mean, var, args["mask"])
    torch.testing.assert_close(out, reference, rtol=0, atol=0)
    out.sum().backward()
    assert bool((mean.grad[padded] == 0).all()) and bool((var.grad[padded] == 0).all())
    assert bool(torch.isfinite(mean.grad).all()) and bool(torch.isfinite(var.grad).all())
    observed = args["mask"]
    torch.testing.assert_close(mean.grad[observed], ((args["value"] - args["mean"]) / args["var"])[observed])
    # leading sample axes of the model broadcast against the data
    stacked = expected_gaussian_log_likelihood(args["value"], args["error"], args["mean"].expand(2, 3, 6),
                                               args["var"].expand(2, 3, 6), args["mask"])
    torch.testing.assert_close(stacked, reference.expand(2, 3))


def test_thesis_printed_form_has_two_wrong_factors() -> None:
    """Eq. 9.7 as printed, -log(2 pi s^2) - sigma^2/(2 s^2) - (mu - mu_hat)^2 / s^2, exceeds the correct value by
    -1/2 log(2 pi s^2) - (mu - mu_hat)^2 / (2 s^2): with mu = mu_hat only the log factor shows, with
    s^2 = 1/(2 pi) only the residual's."""
    def printed(mu: float, sigma: float, mu_hat: float, s2: float) -> float:
        return -math.log(2 * math.pi * s2) - sigma**2 / (2 * s2) - (mu - mu_hat) ** 2 / s2

    def ours(mu: float, sigma: float, mu_hat: float, s2: float) -> float:
        one = torch.tensor([[True]])
        return expected_gaussian_log_likelihood(*(torch.tensor([[v]], dtype=F64) for v in (mu, sigma, mu_hat, s2)),
                                                one).item()

    # mu = 1, sigma = 0.5, mu_hat = 0, s^2 = 2: correct -1/2 log(4 pi) - 1.25/4 = -1.5780, printed -3.0935
    assert ours(1.0, 0.5, 0.0, 2.0) == pytest.approx(-0.5 * math.log(4 * math.pi) - 1.25 / 4, rel=1e-14)
    assert printed(1.0, 0.5, 0.0, 2.0) - ours(1.0, 0.5, 0.0, 2.0) == pytest.approx(-1.5155, abs=1e-4)
    assert printed(0.3, 0.5, 0.3, 2.0) - ours(0.3, 0.5, 0.3, 2.0) == pytest.approx(-0.5 * math.log(4 * math.pi))
    s2 = 1 / (2 * math.pi)
    assert printed(1.0, 0.5, 0.0, s2) - ours(1.0, 0.5, 0.0, s2) == pytest.approx(-1.0 / (2 * s2))


def test_expected_gaussian_log_likelihood_refuses_bad_data() -> None:
    args = light_curves()
    with pytest.raises(ValueError, match="error must be non-negative"):
        expected_gaussian_log_likelihood(**{**args, "error": -args["error"]})
    with pytest.raises(TypeError, match="mask must be a boolean tensor"):
        expected_gaussian_log_likelihood(**{**args, "mask": args["mask"].double()})
    with pytest.raises(ValueError, match="value, error and mask must have one shape"):
        expected_gaussian_log_likelihood(**{**args, "mask": args["mask"][:, :5]})
    with pytest.raises(ValueError, match="must match exactly"):
        expected_gaussian_log_likelihood(**{**args, "mean": args["mean"][:, :5]})
