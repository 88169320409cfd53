r"""The unsupervised metrics of seed 002 Tables 6.4–6.5 (§6.3.2), from encoder outputs.

All take the encoder's means and log-variances of a set of inputs, ``(N, J)`` each, and return
floats in nats (per example, summed over the latent dimensions) or, for :func:`log_mse`, the natural
log of a mean squared error.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.distributions import batch_moments, diag_gaussian_entropy, diag_gaussian_log_prob, kl_diag_gaussian_std_normal, kl_full_gaussians
from gi_core.validation import check_same_shape, check_tensor

MOMENTS = ("means", "aggregate")


def _check_codes(mean: Tensor, log_var: Tensor) -> None:
    check_tensor(mean, "mean", ndim=2)
    check_tensor(log_var, "log_var", ndim=2)
    check_same_shape(mean=mean, log_var=log_var)
    if mean.shape[0] < 2:
        raise ValueError(f"need at least 2 codes, got shape {tuple(mean.shape)}")


def log_mse(target: Tensor, estimate: Tensor) -> float:
    r""":math:`\log\frac1{N D}\sum_{i,d}(a_{id}-b_{id})^2`, the "LL in :math:`\mathcal X`" and "LL in :math:`\mathcal Z`" columns.

    Seed 002 §6.3.2: the tables' "LL" columns are the log of the mean squared error (lower is better),
    in :math:`\mathcal X` between an input and its reconstruction and in :math:`\mathcal Z` between a
    prior draw :math:`z` and the encoder mean of its decoding.
    """
    check_tensor(target, "target")
    check_tensor(estimate, "estimate")
    check_same_shape(target=target, estimate=estimate)
    if target.numel() == 0:
        raise ValueError("log_mse of empty tensors is undefined")
    return float(torch.log((target.double() - estimate.double()).square().mean()))


def expected_kl_to_prior(mean: Tensor, log_var: Tensor) -> float:
    r""":math:`D^{\mathrm{VAE}}_{\mathrm{KL}} = \frac1N\sum_i \mathrm{KL}(q(z|x_i)\,\|\,\mathcal N(0, I))` (closed form)."""
    _check_codes(mean, log_var)
    return float(kl_diag_gaussian_std_normal(mean.double(), log_var.double()).mean())


def aggregate_gaussian(mean: Tensor, log_var: Tensor, moments: str = "means") -> tuple[Tensor, Tensor]:
    r"""Mean and covariance of the Gaussian that stands in for :math:`q(z)=\frac1N\sum_i q(z|x_i)`.

    ``moments="means"`` (seed 002 §6.2): the batch moments (Eq. 6.2–6.3) of the posterior means
    :math:`\tilde\mu_i` only. ``moments="aggregate"``: the exact moments of the mixture,
    :math:`\operatorname{Cov}(\tilde\mu) + \frac1N\sum_i\operatorname{diag}\tilde\sigma_i^2` (law of total
    covariance), with the unbiased :math:`\frac1{N-1}` for the first part as in Eq. 6.3.
    """
    _check_codes(mean, log_var)
    if moments not in MOMENTS:
        raise ValueError(f"moments must be one of {MOMENTS}, got {moments!r}")
    mu, cov = batch_moments(mean.double())
    if moments == "aggregate":
        cov = cov + torch.diag(log_var.double().exp().mean(0))
    return mu, cov


def marginal_kl_to_prior(mean: Tensor, log_var: Tensor, moments: str = "means") -> float:
    r""":math:`D^{\mathcal Z}_{\mathrm{KL}} = \mathrm{KL}(\mathcal N(\hat\mu,\hat\Sigma)\,\|\,\mathcal N(0, I))`, Eq. 6.4 on :func:`aggregate_gaussian`."""
    mu, cov = aggregate_gaussian(mean, log_var, moments)
    dim = mu.shape[0]
    return float(kl_full_gaussians(mu, cov, torch.zeros_like(mu), torch.eye(dim, dtype=cov.dtype)))


def estimated_mutual_information(mean: Tensor, log_var: Tensor, moments: str = "means") -> float:
    r""":math:`\tilde I_q = D^{\mathrm{VAE}}_{\mathrm{KL}} - D^{\mathcal Z}_{\mathrm{KL}}`, seed 002 Eq. 5.11 with a Gaussian :math:`q(z)`.

    .. math:: I_q(x,z) = \mathbb E_{q(x)}\mathrm{KL}(q(z|x)\,\|\,p(z)) - \mathrm{KL}(q(z)\,\|\,p(z))

    is exact; the estimate replaces :math:`q(z)` by a Gaussian (:func:`aggregate_gaussian`). With the
    thesis's ``moments="means"`` the Gaussian ignores the encoder variances and is too narrow when they
    are not negligible, so :math:`\tilde I_q` can be negative (e.g. a posterior that collapses onto the
    prior: :math:`D^{\mathrm{VAE}}_{\mathrm{KL}}\approx0` while the means sit in a tiny ball).
    """
    return expected_kl_to_prior(mean, log_var) - marginal_kl_to_prior(mean, log_var, moments)


def conditional_entropy(log_var: Tensor) -> float:
    r""":math:`h_q(z|x) = \frac1N\sum_i\sum_j \tfrac12\log(2\pi e\,\tilde\sigma_{ij}^2)` (nats; negative for narrow posteriors)."""
    check_tensor(log_var, "log_var", ndim=2)
    if log_var.shape[0] == 0:
        raise ValueError("log_var is empty")
    return float(diag_gaussian_entropy(log_var.double()).mean())


def aggregate_posterior_log_prob(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    r"""Log-density of the aggregate posterior :math:`q(z)=\frac1N\sum_i\mathcal N(z;\tilde\mu_i,\operatorname{diag}\tilde\sigma_i^2)` at ``z`` ``(M, J)``.

    Computed as :math:`\operatorname{logsumexp}_i \log\mathcal N(z;\tilde\mu_i,\tilde\sigma_i^2) - \log N`, so
    that points far from every component do not underflow. Returns ``(M,)``.
    """
    _check_codes(mean, log_var)
    check_tensor(z, "z", ndim=2)
    if z.shape[1] != mean.shape[1]:
        raise ValueError(f"z has {z.shape[1]} latent dimensions but the codes have {mean.shape[1]}")
    components = diag_gaussian_log_prob(z.unsqueeze(1), mean.unsqueeze(0), log_var.unsqueeze(0))
    return torch.logsumexp(components, dim=1) - math.log(mean.shape[0])
