r"""The unsupervised metrics of Astorga's (2021) Tables 6.4–6.5 (§6.3.2), from encoder outputs and reconstructions.

They return floats in nats (per example, summed over the latent dimensions) or, for :func:`log_mse`, the
natural log of a mean squared error. The information columns of the tables (:math:`D^{\mathrm{VAE}}_{\mathrm{KL}}`,
:math:`D^{\mathcal Z}_{\mathrm{KL}}` and :math:`\tilde I_q`) are the estimator of Eq. 5.11 in
:mod:`gi_core.maths.mutual_information`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.maths.gaussians import diag_gaussian_entropy, diag_gaussian_log_prob
from gi_core.maths.mutual_information import check_codes
from gi_core.validation import check_same_shape, check_tensor


def log_mse(target: Tensor, estimate: Tensor) -> float:
    r""":math:`\log\frac1{N D}\sum_{i,d}(a_{id}-b_{id})^2`, the "LL in :math:`\mathcal X`" and "LL in :math:`\mathcal Z`" columns.

    Astorga's (2021) §6.3.2: the tables' "LL" columns are the log of the mean squared error (lower is better),
    in :math:`\mathcal X` between an input and its reconstruction and in :math:`\mathcal Z` between a
    prior draw :math:`z` and the encoder mean of its decoding.
    """
    check_tensor(target, "target")
    check_tensor(estimate, "estimate")
    check_same_shape(target=target, estimate=estimate)
    return float(torch.log((target.double() - estimate.double()).square().mean()))


def conditional_entropy(log_var: Tensor) -> float:
    r""":math:`h_q(z|x) = \frac1N\sum_i\sum_j \tfrac12\log(2\pi e\,\tilde\sigma_{ij}^2)` (nats; negative for narrow posteriors)."""
    check_tensor(log_var, "log_var", ndim=2)
    return float(diag_gaussian_entropy(log_var.double()).mean())


def aggregate_posterior_log_prob(z: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    r"""Log-density of the aggregate posterior :math:`q(z)=\frac1N\sum_i\mathcal N(z;\tilde\mu_i,\operatorname{diag}\tilde\sigma_i^2)` at ``z`` ``(M, J)``.

    Computed as :math:`\operatorname{logsumexp}_i \log\mathcal N(z;\tilde\mu_i,\tilde\sigma_i^2) - \log N`, so
    that points far from every component do not underflow. Returns ``(M,)``.
    """
    check_codes(mean, log_var)
    check_tensor(z, "z", ndim=2)
    if z.shape[1] != mean.shape[1]:
        raise ValueError(f"z has {z.shape[1]} latent dimensions but the codes have {mean.shape[1]}")
    components = diag_gaussian_log_prob(z.unsqueeze(1), mean.unsqueeze(0), log_var.unsqueeze(0))
    return torch.logsumexp(components, dim=1) - math.log(mean.shape[0])
