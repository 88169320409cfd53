r"""The Gaussian mixture of DAGMM's estimation network and its sample energy (Zong et al. 2018, Eq. 5–7).

DAGMM (the "Energy GMM" baseline of Astorga 2021, Table 9.4, after Tsang & Schultz 2019) fits a
:math:`K`-component mixture to codes :math:`z_i\in\mathbb R^D` with soft memberships
:math:`\gamma_{ik}` (an estimation network's softmax): :func:`mixture_statistics` gives the weights, means and
covariances of Eq. 5, :func:`sample_energy` the energy of Eq. 6 (high means unlikely, i.e. anomalous) and
:func:`covariance_penalty` the term :math:`P(\hat\Sigma)` of Eq. 7 that keeps the covariances from collapsing.
The whole objective is :math:`\frac1N\sum_i L(x_i,x_i') + \frac{\lambda_1}N\sum_i E(z_i) + \lambda_2 P(\hat\Sigma)`.

A component that takes points with (nearly) equal codes has a singular covariance, and :math:`E` is then
undefined; ``mixture_statistics`` adds :math:`\epsilon I` to every covariance, the stabiliser public ports of
DAGMM use, and :func:`sample_energy` refuses a covariance without a Cholesky factor, naming its component.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_linalg_dtype, check_real, check_same_dtype, check_tensor


class SingularCovarianceError(ValueError):
    """A mixture component's covariance is finite but not positive definite (a collapsed component)."""


def _check_simplex(weights: Tensor, name: str, axis: int) -> None:
    """Raise unless ``weights`` is non-negative and sums to 1 along ``axis`` (up to float32 rounding); a non-finite
    entry passes (the training path: the NaN reaches the loss and the trainer's guard)."""
    total = weights.sum(axis)
    if bool(((weights < 0).any() | ((total - 1).abs() > 1e-4).any())):
        raise ValueError(f"{name} must be non-negative and sum to 1 over the components")


def mixture_statistics(z: Tensor, gamma: Tensor, eps: float = 1e-6) -> tuple[Tensor, Tensor, Tensor]:
    r"""The mixture of Zong et al. (2018, Eq. 5) estimated from codes ``z`` (N, D) and memberships ``gamma`` (N, K).

    .. math::
        \hat\phi_k = \frac1N\sum_i\gamma_{ik},\qquad
        \hat\mu_k = \frac{\sum_i\gamma_{ik}z_i}{\sum_i\gamma_{ik}},\qquad
        \hat\Sigma_k = \frac{\sum_i\gamma_{ik}(z_i-\hat\mu_k)(z_i-\hat\mu_k)^\top}{\sum_i\gamma_{ik}} + \epsilon I.

    ``eps`` (:math:`\epsilon\ge0`) is the stabiliser against singular covariances; ``eps=0`` is Eq. 5 as printed.
    Returns ``phi`` (K,), ``means`` (K, D) and ``covariances`` (K, D, D). Gradients flow through all three. Each row
    of ``gamma`` must be a distribution over the components, and each component must hold some membership mass.
    """
    check_tensor(z, "z", ndim=2, finite=False)
    check_tensor(gamma, "gamma", ndim=2, finite=False)
    check_linalg_dtype(z, "z")
    check_same_dtype(z=z, gamma=gamma)
    if gamma.shape[0] != z.shape[0]:
        raise ValueError(f"gamma must have one row per code: z has {z.shape[0]}, gamma {gamma.shape[0]}")
    _check_simplex(gamma, "gamma", 1)
    eps = check_real(eps, "eps", minimum=0.0)
    mass = gamma.sum(0)  # (K,)
    if bool((mass <= 0).any()):
        raise ValueError("gamma gives a component no membership at all: its mean and covariance are undefined")
    phi = mass / z.shape[0]
    means = gamma.T @ z / mass[:, None]
    centred = z[None] - means[:, None]  # (K, N, D)
    weighted = gamma.T[:, :, None] * centred
    covariances = weighted.transpose(1, 2) @ centred / mass[:, None, None]
    covariances = covariances + eps * torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
    return phi, means, covariances


def _check_mixture(phi: Tensor, means: Tensor, covariances: Tensor) -> None:
    check_tensor(phi, "phi", ndim=1, finite=False)
    check_tensor(means, "means", ndim=2, finite=False)
    check_tensor(covariances, "covariances", ndim=3, finite=False)
    check_linalg_dtype(covariances, "covariances")
    check_same_dtype(phi=phi, means=means, covariances=covariances)
    k, d = means.shape
    if phi.shape[0] != k or tuple(covariances.shape) != (k, d, d):
        raise ValueError(f"phi (K,), means (K, D) and covariances (K, D, D) must agree, got phi {tuple(phi.shape)}, "
                         f"means {tuple(means.shape)} and covariances {tuple(covariances.shape)}")
    _check_simplex(phi, "phi", 0)


def sample_energy(z: Tensor, phi: Tensor, means: Tensor, covariances: Tensor) -> Tensor:
    r"""The sample energy of Zong et al. (2018, Eq. 6) of each code in ``z`` (B, D), shape (B,):

    .. math::
        E(z) = -\log\sum_{k=1}^K\hat\phi_k\,
        \frac{\exp\!\big(-\tfrac12(z-\hat\mu_k)^\top\hat\Sigma_k^{-1}(z-\hat\mu_k)\big)}{\sqrt{|2\pi\hat\Sigma_k|}}
        = -\log\sum_k\hat\phi_k\,\mathcal N(z;\hat\mu_k,\hat\Sigma_k).

    Computed through the Cholesky factor :math:`\hat\Sigma_k=L_kL_k^\top` (a triangular solve for the Mahalanobis
    term, :math:`\log|\hat\Sigma_k|=2\sum_j\log L_{k,jj}`) and a log-sum-exp over the components. A covariance
    that is finite but not positive definite (a collapsed component) is refused with its index; add ``eps`` in
    :func:`mixture_statistics`. A non-finite one (a diverged run) gives NaN energies, for the trainer's guard.
    Higher energy means a less likely, more anomalous code.
    """
    check_tensor(z, "z", ndim=2, finite=False)
    _check_mixture(phi, means, covariances)
    check_same_dtype(z=z, means=means)
    if z.shape[1] != means.shape[1]:
        raise ValueError(f"z must have the mixture's dimension {means.shape[1]}, got shape {tuple(z.shape)}")
    chol, info = torch.linalg.cholesky_ex(covariances)
    finite = torch.isfinite(covariances).flatten(1).all(1)
    if bool(((info != 0) & finite).any()):
        bad = int(torch.nonzero((info != 0) & finite)[0])
        raise SingularCovarianceError(f"covariances[{bad}] is not positive definite (a singular mixture component): "
                         "estimate the mixture with eps > 0 in mixture_statistics")
    centred = (z[None] - means[:, None]).transpose(1, 2)  # (K, D, B)
    whitened = torch.linalg.solve_triangular(chol, centred, upper=False)
    mahalanobis = whitened.square().sum(1)  # (K, B)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # (K,)
    log_det = torch.where(finite, log_det, torch.full_like(log_det, math.nan))  # a diverged component: NaN energy
    log_normal = -0.5 * (z.shape[1] * math.log(2 * math.pi) + log_det[:, None] + mahalanobis)
    return -torch.logsumexp(torch.log(phi)[:, None] + log_normal, dim=0)


def covariance_penalty(covariances: Tensor) -> Tensor:
    r"""The penalty :math:`P(\hat\Sigma)=\sum_{k=1}^K\sum_{j=1}^D 1/\hat\Sigma_{k,jj}` of Zong et al. (2018, Eq. 7),
    a scalar, for ``covariances`` (K, D, D): it grows without bound as a variance collapses to zero. A zero or
    negative variance is refused; NaN passes to the result (the training path)."""
    check_tensor(covariances, "covariances", ndim=3, finite=False)
    if covariances.shape[1] != covariances.shape[2]:
        raise ValueError(f"covariances must be (K, D, D), got shape {tuple(covariances.shape)}")
    diagonal = torch.diagonal(covariances, dim1=-2, dim2=-1)
    if bool((diagonal <= 0).any()):
        raise ValueError("covariances must have strictly positive variances on their diagonals")
    return diagonal.reciprocal().sum()
