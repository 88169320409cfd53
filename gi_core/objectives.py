r"""Evidence lower bounds from per-sample terms: they reduce as a mean over the batch.

Inputs are per-sample values already summed over data and latent dimensions (see
:mod:`gi_core.likelihoods` and :mod:`gi_core.distributions`). Training minimizes the negative bound.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_same_shape, check_tensor


def beta_elbo(log_likelihood: Tensor, kl: Tensor, beta: float = 1.0) -> Tensor:
    r"""Batch mean of :math:`\mathbb E_{q(z|x)}[\log p(x|z)] - \beta\,\mathrm{KL}(q(z|x)\,\|\,p(z))`.

    .. math:: \frac1B\sum_{b=1}^B \big[\ell_b - \beta\,\mathrm{KL}_b\big]

    With :math:`\beta=1` this is the ELBO of seed 002, Eq. 2.3–2.4; :math:`\beta\neq1` is the β-VAE
    (Higgins et al., 2017; seed 002 Table 5.1). ``log_likelihood`` (a one-sample Monte Carlo estimate
    or an exact expectation) and ``kl`` have shape ``(B,)``. The VAE loss is the negative of this.
    """
    check_tensor(log_likelihood, "log_likelihood", ndim=1, finite=False)
    check_tensor(kl, "kl", ndim=1, finite=False)
    check_same_shape(log_likelihood=log_likelihood, kl=kl)
    if log_likelihood.shape[0] == 0:
        raise ValueError("the batch is empty")
    if not (math.isfinite(beta) and beta >= 0.0):
        raise ValueError(f"beta must be finite and non-negative, got {beta}")
    return (log_likelihood - beta * kl).mean()


def elbo(log_likelihood: Tensor, kl: Tensor) -> Tensor:
    r"""Batch mean of the ELBO :math:`\mathbb E_q[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))` (seed 002, Eq. 2.4).

    :func:`beta_elbo` with :math:`\beta = 1`.
    """
    return beta_elbo(log_likelihood, kl, beta=1.0)


def importance_weighted_bound(log_p_x_given_z: Tensor, log_p_z: Tensor, log_q_z: Tensor) -> Tensor:
    r"""Importance-weighted bound (IWAE, Burda et al., 2016), averaged over the batch.

    .. math:: \mathcal L_K = \frac1B\sum_b\Big[\operatorname{logsumexp}_{k}\log w_{kb} - \log K\Big],\qquad
        \log w_{kb} = \log p(x_b|z_{kb}) + \log p(z_{kb}) - \log q(z_{kb}|x_b)

    with :math:`z_{kb}\sim q(z|x_b)`. Inputs have shape ``(K, B)``. :math:`\mathbb E\,\mathcal L_K` is
    non-decreasing in :math:`K` and tends to :math:`\log p(x)`; :math:`K=1` is the single-sample
    estimate of the ELBO of seed 002, Eq. 2.3 (Jensen's bound before the KL is split off).
    """
    check_tensor(log_p_x_given_z, "log_p_x_given_z", ndim=2)
    check_tensor(log_p_z, "log_p_z", ndim=2)
    check_tensor(log_q_z, "log_q_z", ndim=2)
    check_same_shape(log_p_x_given_z=log_p_x_given_z, log_p_z=log_p_z, log_q_z=log_q_z)
    k, b = log_p_x_given_z.shape
    if k < 1 or b < 1:
        raise ValueError(f"need K >= 1 importance samples and B >= 1 data points, got shape (K, B) = ({k}, {b})")
    log_w = log_p_x_given_z + log_p_z - log_q_z
    return (torch.logsumexp(log_w, dim=0) - math.log(k)).mean()
