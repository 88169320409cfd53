r"""MPCC's objective (Astorga 2021, §7.2): Loss II's two terms (Eq. 7.13–7.15) and Loss III (Eq. 7.16).

MPCC minimises the forward KL :math:`D_{\mathrm{KL}}(p(x,z,y)\|q(x,z,y))` (Eq. 7.9), split into

* **Loss I**, :math:`\mathbb E_{p(y)p(z|y)}[D_{\mathrm{KL}}(p(x|z,y)\|q(x))]`, matched adversarially with the hinge
  losses of :mod:`gi_core.maths.gan_losses` (the thesis prints :math:`f=-\min(0,o-1)`; the leading minus is a sign
  typo, the standard hinge :math:`\max_D \mathbb E_q\min(0,o-1)+\mathbb E_p\min(0,-o-1)` is meant);
* **Loss II**, :math:`\mathbb E_{p(x,z,y)}[-\log q(z|x)-\log q(y|z)]`: :func:`latent_cycle_nll` and
  :func:`sampled_label_cross_entropy` on :func:`mixture_log_responsibilities`;
* **Loss III**, :math:`\mathbb E_{p(y)p(z|y)}[\log p(y)+\log p(z|y)]`: :func:`prior_negative_entropy`.

The prior is :math:`p(y)=\mathrm{Cat}(\phi)`, :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`.
Every function takes the component variances as log-variances; the floor :math:`\sigma\ge\sigma_{\min}` is part of
the prior's parameterisation (:class:`gi_core.nets.priors.GaussianMixturePrior` with ``variance_floor``):
:math:`\sigma^2=\sigma_{\min}^2+e^{\ell}`, one variance for the samples, the responsibilities and the entropies.
The official MPCC code instead samples with the standard deviation :math:`e^{\ell/2}+0.5` and computes the
responsibilities with the variance :math:`e^{\ell}+0.25`; as :math:`(e^{\ell/2}+0.5)^2\ne e^{\ell}+0.25` these are two
different Gaussians, so its Eq. 7.15 is not the posterior of the components its codes are drawn from, and its Loss III
is the entropy of neither. With one variance, :func:`mixture_log_responsibilities` is Bayes' rule for the very prior
that generated :math:`z` and :func:`prior_negative_entropy` that prior's entropy. The floor is added to the variance
(not clamped) so that it holds exactly while the gradient stays smooth, vanishing as :math:`\sigma\to\sigma_{\min}`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_positive_int, check_real, check_same_shape, check_tensor

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2PI_E = _LOG_2PI + 1.0


def latent_cycle_nll(z: Tensor, mean: Tensor, log_var: Tensor, data_dim: int) -> Tensor:
    r"""Eq. 7.13, the latent-cycle Gaussian NLL of Loss II, averaged over the batch and divided by :math:`\dim x`.

    For :math:`y_i\sim p(y)`, :math:`z_i\sim p(z|y_i)`, :math:`\tilde x_i=G(z_i,y_i)` and
    :math:`(\tilde\mu_i,\tilde\sigma_i^2)=\mathrm{Enc}(\tilde x_i)`:

    .. math:: \frac{1}{n\,\dim x}\sum_{i=1}^n \sum_{j=1}^J\Big[\tfrac12\log(2\pi\tilde\sigma_{ij}^2)
        + \frac{(z_{ij}-\tilde\mu_{ij})^2}{2\tilde\sigma_{ij}^2}\Big]

    The sum runs over the latent axis (the last, size :math:`J`), the mean over the batch (the first); the factor
    :math:`1/\dim x` (``data_dim`` :math:`=C\cdot H\cdot W`) is the thesis's scaling of this term (§7.2). ``z``,
    ``mean`` and ``log_var`` have shape ``(n, J)``.
    """
    for name, value in (("z", z), ("mean", mean), ("log_var", log_var)):
        check_tensor(value, name, ndim=2, finite=False)
    check_same_shape(z=z, mean=mean, log_var=log_var)
    check_positive_int(data_dim, "data_dim")
    per_sample = 0.5 * (_LOG_2PI + log_var + (z - mean).square() * torch.exp(-log_var)).sum(-1)
    return per_sample.mean(0) / data_dim


def mixture_log_responsibilities(z: Tensor, means: Tensor, log_vars: Tensor, log_weights: Tensor) -> Tensor:
    r"""Eq. 7.15 in log space: :math:`\log q(y=m|z)=\log\phi_m\mathcal N(z;\mu_m,\sigma_m^2)
    -\operatorname{logsumexp}_k[\log\phi_k\mathcal N(z;\mu_k,\sigma_k^2)]`, shape ``(n, K)`` for ``z`` ``(n, J)``.

    The thesis prints it without the weights because :math:`\phi` is uniform there (they cancel); they are kept here
    so that the function is Bayes' rule for any :math:`\phi`. ``means`` and ``log_vars`` are ``(K, J)``,
    ``log_weights`` ``(K,)`` (normalised or not: a constant shift cancels).
    """
    check_tensor(z, "z", ndim=2, finite=False)
    check_tensor(means, "means", ndim=2, finite=False)
    check_tensor(log_vars, "log_vars", ndim=2, finite=False)
    check_tensor(log_weights, "log_weights", ndim=1, finite=False)
    check_same_shape(means=means, log_vars=log_vars)
    if z.shape[1] != means.shape[1] or log_weights.shape[0] != means.shape[0]:
        raise ValueError(f"z (n, J), means (K, J) and log_weights (K,) disagree: {tuple(z.shape)}, "
                         f"{tuple(means.shape)}, {tuple(log_weights.shape)}")
    component = -0.5 * (_LOG_2PI + log_vars + (z.unsqueeze(-2) - means).square() * torch.exp(-log_vars)).sum(-1)
    joint = log_weights + component
    return joint - torch.logsumexp(joint, dim=-1, keepdim=True)


def sampled_label_cross_entropy(labels: Tensor, log_responsibilities: Tensor) -> Tensor:
    r"""Eq. 7.14 averaged over the batch: :math:`\frac1n\sum_i L_c(y_i,\tilde y_i)
    = -\frac1n\sum_i\sum_k y_{ik}\log\tilde y_{ik} = -\frac1n\sum_i \log q(y=y_i|z_i)`.

    ``labels`` ``(n,)`` are the components :math:`y_i\sim p(y)` that generated :math:`z_i` (one-hot :math:`y_{ik}`),
    ``log_responsibilities`` ``(n, K)`` the :math:`\log\tilde y_{ik}` of :func:`mixture_log_responsibilities`; the
    loss is read off in log space, never from probabilities.
    """
    check_tensor(log_responsibilities, "log_responsibilities", ndim=2, finite=False)
    if not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point() \
            or labels.dtype == torch.bool or labels.shape[0] != log_responsibilities.shape[0]:
        raise ValueError(f"labels must be integer components of shape ({log_responsibilities.shape[0]},), one per row "
                         f"of log_responsibilities, got {getattr(labels, 'shape', type(labels).__name__)}")
    if int(labels.min()) < 0 or int(labels.max()) >= log_responsibilities.shape[1]:
        raise ValueError(f"labels must lie in 0..{log_responsibilities.shape[1] - 1} (the columns of "
                         f"log_responsibilities), got {int(labels.min())}..{int(labels.max())}")
    return -log_responsibilities.gather(1, labels.unsqueeze(1)).squeeze(1).mean()


def prior_negative_entropy(log_weights: Tensor, log_vars: Tensor, component_scale: float = 1.0) -> Tensor:
    r"""Eq. 7.16, Loss III in closed form: :math:`L_p(\phi,\sigma^2)=\mathbb E_{p(y)p(z|y)}[\log p(y)+\log p(z|y)]`.

    .. math:: L_p = \sum_{k=1}^K \phi_k\Big[\log\phi_k - c\sum_{j=1}^J\big(\tfrac12+\tfrac12\log(2\pi\sigma_{kj}^2)\big)\Big]
        = -H(\phi) - c\,\mathbb E_{p(y)}\,h(p(z|y))

    with ``component_scale`` :math:`c` (1 is the equation; the thesis trains with :math:`c=1/J`, §7.2). Minimising it
    raises both entropies: the first term is constant for MPCC's fixed uniform :math:`\phi`, the second keeps
    :math:`\sigma` from collapsing. ``log_weights`` ``(K,)`` are :math:`\log\phi` (normalised), ``log_vars`` ``(K, J)``.
    """
    check_tensor(log_weights, "log_weights", ndim=1)
    check_tensor(log_vars, "log_vars", ndim=2, finite=False)
    if log_vars.shape[0] != log_weights.shape[0]:
        raise ValueError(f"log_weights (K,) and log_vars (K, J) disagree on K: {tuple(log_weights.shape)}, "
                         f"{tuple(log_vars.shape)}")
    check_real(component_scale, "component_scale", minimum=0.0, strict=True)
    if not bool(torch.isclose(log_weights.exp().sum(), torch.ones((), dtype=log_weights.dtype), atol=1e-5)):
        raise ValueError(f"log_weights must be normalised (exp sums to 1), got {log_weights.exp().sum().item():.6g}")
    weights = log_weights.exp()
    component_entropy = 0.5 * (_LOG_2PI_E + log_vars).sum(-1)
    return (weights * (log_weights - component_scale * component_entropy)).sum()
