r"""VaDE's bound in closed form: a diagonal-Gaussian encoder against a Gaussian-mixture prior.

With :math:`q(z|x)=\mathcal N(\tilde\mu,\operatorname{diag}\tilde\sigma^2)`, the cluster posterior
:math:`q(y|x)=\gamma` and the prior :math:`p(y)=\pi`, :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`,
the negative of VaDE's loss (Astorga 2021, Eq. 7.1) splits into three expectations, two of them in closed form:

.. math:: -\mathcal L^{\mathrm{VaDE}}(x) = \mathbb E_{q(z|x)}[\log p(x|z)]
    - \sum_k \gamma_k\,D_{\mathrm{KL}}\big(q(z|x)\,\|\,p(z|y{=}k)\big) - D_{\mathrm{KL}}(\gamma\,\|\,\pi).

This is Jiang et al.'s (2017) Eq. 17 regrouped: their sum of log-variances, traces and Mahalanobis terms is the
KL between diagonal Gaussians (the closed form the thesis's Eq. 7.20 asks for), and their
:math:`\sum_k\gamma_k\log(\pi_k/\gamma_k)` is :math:`-D_{\mathrm{KL}}(\gamma\|\pi)`. VaDE sets
:math:`\gamma = p(y|z)`, the prior's responsibilities at one draw :math:`z\sim q(z|x)`
(:func:`mixture_responsibilities`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.maths.gaussians import kl_diag_gaussians
from gi_core.maths.mpcc_objective import mixture_log_responsibilities
from gi_core.validation import check_same_shape, check_tensor


def _check_mixture(log_weights: Tensor, means: Tensor, log_vars: Tensor) -> None:
    for name, t in (("log_weights", log_weights), ("means", means), ("log_vars", log_vars)):
        check_tensor(t, name, ndim=1 if name == "log_weights" else 2)
    check_same_shape(means=means, log_vars=log_vars)
    if log_weights.shape[0] != means.shape[0]:
        raise ValueError(f"log_weights must have one entry per component ({means.shape[0]}), got {log_weights.shape[0]}")
    total = torch.logsumexp(log_weights.detach(), 0)
    if abs(float(total)) > 1e-4:
        raise ValueError(f"log_weights must be log-probabilities (logsumexp 0), got logsumexp {float(total):.3g}")


def mixture_responsibilities(z: Tensor, log_weights: Tensor, means: Tensor, log_vars: Tensor) -> Tensor:
    r"""Log-responsibilities :math:`\log p(y{=}k|z) = \log\pi_k + \log\mathcal N(z;\mu_k,\sigma_k^2) - \log p(z)`,
    shape ``(..., K)`` for ``z`` ``(..., J)``: VaDE's :math:`\log\gamma` (Jiang et al. 2017, Eq. 16; Astorga 2021,
    Eq. 7.15 with weights), computed by :func:`~gi_core.maths.mpcc_objective.mixture_log_responsibilities` for any leading
    axes of ``z``, after checking that ``log_weights`` are normalised."""
    check_tensor(z, "z", finite=False)
    _check_mixture(log_weights, means, log_vars)
    if z.dim() < 1 or z.shape[-1] != means.shape[1]:
        raise ValueError(f"z must have last dimension {means.shape[1]} (the mixture's), got shape {tuple(z.shape)}")
    flat = mixture_log_responsibilities(z.reshape(-1, means.shape[1]), means, log_vars, log_weights)
    return flat.reshape(*z.shape[:-1], means.shape[0])


def vade_bound_terms(log_likelihood: Tensor, mean: Tensor, log_var: Tensor, log_gamma: Tensor,
                     log_weights: Tensor, means: Tensor, log_vars: Tensor) -> dict[str, Tensor]:
    r"""Per-example terms of VaDE's bound (module docstring; Astorga 2021, Eq. 7.1 with 7.20):

    ``"log_likelihood"`` :math:`\log p(x|z)` as given (one draw), ``"kl_z"``
    :math:`\sum_k\gamma_k D_{\mathrm{KL}}(q(z|x)\|p(z|k))`, ``"kl_y"`` :math:`D_{\mathrm{KL}}(\gamma\|\pi)` and
    ``"elbo"`` = log_likelihood − kl_z − kl_y. Shapes: ``log_likelihood`` (B,), ``mean``/``log_var`` (B, J),
    ``log_gamma`` (B, K) (log-probabilities), the mixture ``log_weights`` (K,), ``means``/``log_vars`` (K, J).
    """
    check_tensor(log_likelihood, "log_likelihood", ndim=1, finite=False)
    for name, t in (("mean", mean), ("log_var", log_var), ("log_gamma", log_gamma)):
        check_tensor(t, name, ndim=2, finite=False)
    check_same_shape(mean=mean, log_var=log_var)
    _check_mixture(log_weights, means, log_vars)
    if mean.shape[1] != means.shape[1]:
        raise ValueError(f"mean must have the mixture's latent size {means.shape[1]}, got {mean.shape[1]}")
    if log_gamma.shape != (mean.shape[0], means.shape[0]) or log_likelihood.shape[0] != mean.shape[0]:
        raise ValueError(f"log_gamma must be (B, K) = ({mean.shape[0]}, {means.shape[0]}) and log_likelihood (B,), "
                         f"got {tuple(log_gamma.shape)} and {tuple(log_likelihood.shape)}")
    gamma = torch.exp(log_gamma)
    kl_components = kl_diag_gaussians(mean.unsqueeze(1), log_var.unsqueeze(1), means, log_vars)
    kl_z = (gamma * kl_components).sum(-1)
    kl_y = (gamma * (log_gamma - log_weights)).sum(-1)
    return {"log_likelihood": log_likelihood, "kl_z": kl_z, "kl_y": kl_y, "elbo": log_likelihood - kl_z - kl_y}
