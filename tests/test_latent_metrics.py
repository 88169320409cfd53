"""Tests for gi_core.latent_metrics: hand values, torch.distributions, and the linear-Gaussian encoder.

The acceptance test is an encoder whose aggregate posterior is exactly Gaussian: with
:math:`x\\sim\\mathcal N(0,\\Sigma_x)` and :math:`q(z|x)=\\mathcal N(Ax, S)`, :math:`q(z)=\\mathcal N(0, C+S)`,
:math:`C=A\\Sigma_xA^\\top`, so the mutual information is known in closed form,

.. math:: I_q = \\tfrac12\\log\\det(C+S) - \\tfrac12\\log\\det S,

and the thesis's ``moments="means"`` estimate tends to :math:`\\tfrac12\\log\\det C - \\tfrac12\\log\\det S +
\\tfrac12\\operatorname{tr}S` instead (the Gaussian of the means misses the encoder variances).

Monte Carlo tolerance. With the encoder means :math:`\\mu_i = Ax_i` and a constant :math:`S`, the
``mean`` terms of the two KLs cancel exactly (checked below), leaving

.. math:: \\tilde I_q = \\tfrac12\\log\\det(\\hat C + S) - \\tfrac12\\log\\det S - \\operatorname{tr}\\hat C/(2N)

with :math:`\\hat C` the unbiased sample covariance of the means (``"aggregate"``; drop :math:`S` in the
first log-det for ``"means"``). By the delta method,
:math:`\\operatorname{Var}\\log\\det(\\hat C+S)\\approx 2\\operatorname{tr}((\\Sigma^{-1}C)^2)/(N-1)` with
:math:`\\Sigma = C+S` (or :math:`C`); the eigenvalues of :math:`\\Sigma^{-1}C` lie in :math:`(0, 1]`, so the
standard deviation of :math:`\\tilde I_q` is at most :math:`\\sqrt{J/(2(N-1))}` (0.0027 nats for
:math:`J=3`, :math:`N=200\\,000`); the biases (:math:`O(J^2/N)` and :math:`\\operatorname{tr}C/(2N)`) are
below :math:`10^{-4}`. The tolerance is 5 of these standard deviations, 0.014 nats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from gi_core.latent_metrics import (
    aggregate_gaussian,
    conditional_entropy,
    estimated_mutual_information,
    expected_kl_to_prior,
    log_mse,
    marginal_kl_to_prior,
)

pytestmark = pytest.mark.usefixtures("one_thread")

F64 = torch.float64
N_SE = 5.0
D, J, N = 4, 3, 200_000


def codes(n: int = 50, dim: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mean = 2.0 * torch.randn(n, dim, generator=g, dtype=F64) + 0.5
    log_var = torch.randn(n, dim, generator=g, dtype=F64)
    return mean, log_var


def log_det(m: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return float(value)


# --- log_mse -------------------------------------------------------------------------------------


def test_log_mse_hand_values() -> None:
    target = torch.zeros(3, 4)
    assert log_mse(target, torch.full((3, 4), 0.1)) == pytest.approx(math.log(0.01), rel=1e-6)
    assert log_mse(target, torch.full((3, 4), -0.1)) == pytest.approx(math.log(0.01), rel=1e-6)
    # mean of the squares over every entry: (0 + 4 + 1 + 1) / 4
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[1.0, 0.0], [2.0, 5.0]])
    assert log_mse(a, b) == pytest.approx(math.log(1.5), abs=1e-12)
    assert log_mse(a, a) == -math.inf  # a perfect reconstruction


def test_log_mse_validates() -> None:
    with pytest.raises(ValueError):
        log_mse(torch.zeros(3, 4), torch.zeros(4, 3))
    with pytest.raises(ValueError):
        log_mse(torch.zeros(0, 4), torch.zeros(0, 4))


# --- the KL terms and the aggregate Gaussian -----------------------------------------------------


def test_expected_kl_to_prior_matches_torch_distributions() -> None:
    mean, log_var = codes()
    reference = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)).sum(-1).mean()
    assert expected_kl_to_prior(mean, log_var) == pytest.approx(float(reference), rel=1e-12)
    # a posterior equal to the prior costs nothing
    assert expected_kl_to_prior(torch.zeros(5, 2), torch.zeros(5, 2)) == 0.0


def test_aggregate_gaussian_moments_match_numpy() -> None:
    mean, log_var = codes()
    mu, cov = aggregate_gaussian(mean, log_var, "means")
    np.testing.assert_allclose(mu.numpy(), mean.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(mean.numpy(), rowvar=False, ddof=1), rtol=1e-12)
    mu_agg, cov_agg = aggregate_gaussian(mean, log_var, "aggregate")
    np.testing.assert_allclose(mu_agg.numpy(), mu.numpy(), rtol=1e-12)
    extra = np.diag(np.exp(log_var.numpy()).mean(0))
    np.testing.assert_allclose(cov_agg.numpy(), cov.numpy() + extra, rtol=1e-12)
    assert mu.dtype == cov.dtype == F64


def test_aggregate_gaussian_validates() -> None:
    mean, log_var = codes()
    with pytest.raises(ValueError, match="moments"):
        aggregate_gaussian(mean, log_var, "mixture")
    with pytest.raises(ValueError):
        aggregate_gaussian(mean[:1], log_var[:1])  # one code has no covariance
    with pytest.raises(ValueError):
        aggregate_gaussian(mean, log_var[:, :2])


def test_marginal_kl_to_prior_hand_value() -> None:
    # means (+-1, 0): mean 0, unbiased variances (2, 0); the unit encoder variances make it diag(3, 1)
    mean = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=F64)
    log_var = torch.zeros(2, 2, dtype=F64)
    # N(0, diag(3, 1)) against N(0, I): (3 - 1 - log 3) / 2
    assert marginal_kl_to_prior(mean, log_var, "aggregate") == pytest.approx(0.5 * (2.0 - math.log(3.0)), rel=1e-12)


def test_conditional_entropy_hand_value_and_torch() -> None:
    _, log_var = codes()
    hand = (0.5 * np.log(2.0 * np.pi * np.e * np.exp(log_var.numpy()))).sum(1).mean()
    assert conditional_entropy(log_var) == pytest.approx(hand, rel=1e-12)
    reference = Normal(torch.zeros_like(log_var), torch.exp(0.5 * log_var)).entropy().sum(-1).mean()
    assert conditional_entropy(log_var) == pytest.approx(float(reference), rel=1e-12)
    assert conditional_entropy(torch.zeros(4, 2)) == pytest.approx(math.log(2.0 * math.pi * math.e), rel=1e-6)
    with pytest.raises(ValueError):
        conditional_entropy(torch.zeros(0, 2))


# --- the linear-Gaussian encoder: the acceptance test --------------------------------------------


def linear_gaussian_setup(scale: float, encoder_var: np.ndarray) -> dict:
    """x ~ N(0, Sigma_x) (D = 4), encoder means A x (J = 3) with A = scale * random, variances ``encoder_var``."""
    rng = np.random.default_rng(0)
    b = rng.standard_normal((D, D))
    sigma_x = b @ b.T / D + 0.5 * np.eye(D)
    a = scale * rng.standard_normal((J, D))
    c = a @ sigma_x @ a.T
    s = np.diag(encoder_var)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, D, generator=g, dtype=F64) @ torch.from_numpy(np.linalg.cholesky(sigma_x)).T
    mean = x @ torch.from_numpy(a).T
    log_var = torch.log(torch.from_numpy(encoder_var)).expand(N, J)
    true_mi = 0.5 * log_det(c + s) - 0.5 * log_det(s)
    # its own limit: E KL(q(z|x) || p) - KL(N(0, C) || N(0, I)), each KL in closed form
    expected_kl = 0.5 * (np.trace(c) + np.trace(s) - log_det(s) - J)
    means_kl = 0.5 * (np.trace(c) - log_det(c) - J)
    return {"mean": mean, "log_var": log_var, "c": c, "s": s, "true_mi": true_mi,
            "means_mi": expected_kl - means_kl, "expected_kl": expected_kl}


MC_TOL = N_SE * math.sqrt(J / (2 * (N - 1)))  # see the module docstring: 0.0137 nats


@pytest.fixture(scope="module")
def informative() -> dict:
    return linear_gaussian_setup(1.0 / math.sqrt(D), np.array([0.5, 1.0, 2.0]))


@pytest.fixture(scope="module")
def collapsed() -> dict:
    return linear_gaussian_setup(0.01, np.full(J, 0.99))


def test_linear_gaussian_identity_of_the_estimate(informative: dict) -> None:
    """Exact algebra behind the tolerance: the estimate is a log-det of the sample covariance."""
    mean, log_var, s = informative["mean"], informative["log_var"], informative["s"]
    c_hat = np.cov(mean.numpy(), rowvar=False, ddof=1)
    correction = np.trace(c_hat) / (2 * N)
    aggregate = 0.5 * log_det(c_hat + s) - 0.5 * log_det(s) - correction
    means = 0.5 * log_det(c_hat) - 0.5 * log_det(s) + 0.5 * np.trace(s) - correction
    assert estimated_mutual_information(mean, log_var, "aggregate") == pytest.approx(aggregate, abs=1e-9)
    assert estimated_mutual_information(mean, log_var, "means") == pytest.approx(means, abs=1e-9)
    assert expected_kl_to_prior(mean, log_var) == pytest.approx(informative["expected_kl"], abs=MC_TOL)


def test_aggregate_estimate_matches_the_true_mutual_information(informative: dict) -> None:
    true_mi = informative["true_mi"]
    assert true_mi == pytest.approx(0.9307, abs=1e-4)  # the setup is what the numbers below refer to
    estimate = estimated_mutual_information(informative["mean"], informative["log_var"], "aggregate")
    assert abs(estimate - true_mi) < MC_TOL, (estimate, true_mi, MC_TOL)


def test_means_estimate_converges_to_its_own_biased_limit(informative: dict) -> None:
    c, s = informative["c"], informative["s"]
    estimate = estimated_mutual_information(informative["mean"], informative["log_var"], "means")
    assert abs(estimate - informative["means_mi"]) < MC_TOL
    # the bias: (tr S - log det(I + C^-1 S)) / 2, negative here and far beyond Monte Carlo error
    predicted_bias = 0.5 * (np.trace(s) - log_det(np.eye(J) + np.linalg.solve(c, s)))
    assert informative["means_mi"] - informative["true_mi"] == pytest.approx(predicted_bias, abs=1e-12)
    assert predicted_bias < -0.5
    observed_bias = estimate - estimated_mutual_information(informative["mean"], informative["log_var"], "aggregate")
    assert observed_bias < 0
    assert abs(observed_bias - predicted_bias) < 2 * MC_TOL


def test_collapsed_encoder_means_estimate_is_negative(collapsed: dict) -> None:
    """Posterior ~ prior: I_q ~ 0, but the Gaussian of the means is tiny, so the thesis's estimate is very negative."""
    mean, log_var = collapsed["mean"], collapsed["log_var"]
    assert 0.0 < collapsed["true_mi"] < 1e-3
    aggregate = estimated_mutual_information(mean, log_var, "aggregate")
    assert abs(aggregate - collapsed["true_mi"]) < MC_TOL
    means = estimated_mutual_information(mean, log_var, "means")
    assert means < -10.0  # cf. seed 002 Table 6.4, VAE beta=30: -33 nats
    assert abs(means - collapsed["means_mi"]) < MC_TOL
    assert expected_kl_to_prior(mean, log_var) < 0.01  # the posterior carries (almost) no information
