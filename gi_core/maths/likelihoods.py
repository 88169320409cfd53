r"""Decoder log-likelihoods :math:`\log p(x|z)`, one value per sample.

Axis 0 of ``x`` is the batch; every other axis is a data axis (pixels, channels, features) and is
summed over, so images of any shape ``(B, ...)`` give a ``(B,)`` result. ``event_dims`` overrides how
many trailing axes are data axes. The decoder output (``mean``, ``logits``, ``loc``) must have the
same trailing data shape as ``x``; its leading axes broadcast against those of ``x``, so a decoder
output of shape ``(K, B, ...)`` for ``K`` latent samples gives a ``(K, B)`` result.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gi_core.validation import (
    broadcast_batch_shape,
    check_positive,
    check_positive_int,
    check_probability,
    check_real,
    check_tensor,
)


def _data_axes(x: Tensor, param: Tensor, param_name: str, event_dims: int | None) -> tuple[tuple[int, ...], torch.Size]:
    """Validate ``x`` against a decoder output; return the data axes to sum and the broadcast shape.

    An empty ``x`` or decoder output (no samples, or no data entries) is refused: a batch mean over it would be NaN.
    """
    check_tensor(x, "x")
    check_tensor(param, param_name, finite=False)  # a decoder output: NaN reaches the trainer's guard
    if event_dims is None:
        if x.dim() < 2:
            raise ValueError(f"x must have a batch axis and at least one data axis, got shape {tuple(x.shape)}")
        event_dims = x.dim() - 1
    if isinstance(event_dims, bool) or not isinstance(event_dims, int) or not 1 <= event_dims <= x.dim():
        raise ValueError(f"event_dims must be an integer between 1 and x.dim()={x.dim()}, got {event_dims!r}")
    shape = broadcast_batch_shape(event_dims, x=x, **{param_name: param})
    return tuple(range(-event_dims, 0)), shape


def _positive_parameter(value: float | Tensor, name: str, x: Tensor, shape: torch.Size) -> Tensor:
    """Return ``value`` as a tensor after checking it is finite, positive and broadcasts into ``shape``."""
    if not isinstance(value, Tensor):
        value = torch.tensor(check_real(value, name, minimum=0.0, strict=True), dtype=x.dtype, device=x.device)
    tensor = check_tensor(value, name)
    check_positive(tensor, name)
    try:
        fits = torch.broadcast_shapes(shape, tensor.shape) == shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"{name} of shape {tuple(tensor.shape)} does not broadcast to the data shape {tuple(shape)}")
    return tensor


def squared_error(x: Tensor, mean: Tensor, event_dims: int | None = None) -> Tensor:
    r"""Per-sample sum of squared errors :math:`\mathrm{SSE} = \|x-\tilde x\|^2 = \sum_d (x_d-\tilde x_d)^2`, shape ``(B,)``.

    Astorga's (2021) §6.1 computes the likelihood terms :math:`\mathbb E_{q}[-\log p(x|z)]` "as MSE". Summed over
    the data entries, this is :math:`-\log\mathcal N(x;\tilde x, \tfrac12 I)` up to the constant
    :math:`\tfrac D2\log\pi`: a Gaussian decoder with variance :math:`\tfrac12` (see
    :func:`gaussian_log_likelihood` for the general relation). The zoo's reconstruction term.
    """
    axes, _ = _data_axes(x, mean, "mean", event_dims)
    return (x - mean).square().sum(axes)


def gaussian_log_likelihood_constant(dim: int, variance: float) -> float:
    r"""Normalizing constant :math:`-\tfrac D2\log(2\pi\sigma^2)` of a ``dim``-dimensional isotropic Gaussian."""
    check_positive_int(dim, "dim")
    check_real(variance, "variance", minimum=0.0, strict=True)
    return -0.5 * dim * math.log(2.0 * math.pi * variance)


def gaussian_log_likelihood(
    x: Tensor, mean: Tensor, variance: float | Tensor = 1.0, event_dims: int | None = None
) -> Tensor:
    r"""Gaussian decoder log-likelihood :math:`\sum_d \log\mathcal N(x_d;\hat x_d,\sigma^2)` per sample.

    .. math:: \log p(x|z) = -\frac{1}{2}\sum_d\Big[\log(2\pi\sigma_d^2) + \frac{(x_d-\hat x_d)^2}{\sigma_d^2}\Big]
        \;\overset{\sigma_d\equiv\sigma}{=}\; -\frac{\mathrm{SSE}}{2\sigma^2} - \frac D2\log(2\pi\sigma^2)

    The reconstruction term of the ELBO (Astorga 2021, Eq. 2.4). The thesis's §6.1 trains with the MSE instead:
    for a fixed scalar :math:`\sigma^2` the two differ by the affine map above (scale
    :math:`-D/(2\sigma^2)` on the per-entry MSE, plus :func:`gaussian_log_likelihood_constant`), so
    they have the same minimizer but not the same value, and the implied :math:`\sigma^2` sets the
    weight of the reconstruction against the KL. ``variance`` (> 0) is a float or a tensor that
    broadcasts to the data (e.g. a learned per-pixel variance).
    """
    axes, shape = _data_axes(x, mean, "mean", event_dims)
    var = _positive_parameter(variance, "variance", x, shape)
    return (-0.5 * (torch.log(2.0 * math.pi * var) + (x - mean).square() / var)).sum(axes)


def bernoulli_log_likelihood(x: Tensor, logits: Tensor, event_dims: int | None = None) -> Tensor:
    r"""Bernoulli decoder log-likelihood from logits :math:`\ell`, per sample (minus the summed BCE).

    .. math:: \sum_d \big[x_d\log\operatorname{sigmoid}(\ell_d) + (1-x_d)\log(1-\operatorname{sigmoid}(\ell_d))\big]
        = \sum_d \big[x_d\,\ell_d - \operatorname{softplus}(\ell_d)\big]

    computed on the logits, so it is stable for large :math:`|\ell|`. Targets must lie in [0, 1];
    fractional targets (grey levels) give the plain cross-entropy, not the continuous Bernoulli.
    """
    axes, _ = _data_axes(x, logits, "logits", event_dims)
    check_probability(x.min(), "x")
    check_probability(x.max(), "x")
    return (x * logits - F.softplus(logits)).sum(axes)


def laplace_log_likelihood(
    x: Tensor, loc: Tensor, scale: float | Tensor, event_dims: int | None = None
) -> Tensor:
    r"""Laplace decoder log-likelihood per sample (the L1 reconstruction loss up to an affine map).

    .. math:: \log p(x|z) = -\sum_d\Big[\log(2b_d) + \frac{|x_d-\hat x_d|}{b_d}\Big]

    ``scale`` :math:`b>0` is a float or a tensor that broadcasts to the data.
    """
    axes, shape = _data_axes(x, loc, "loc", event_dims)
    b = _positive_parameter(scale, "scale", x, shape)
    return (-(torch.log(2.0 * b) + (x - loc).abs() / b)).sum(axes)


def expected_gaussian_log_likelihood(value: Tensor, error: Tensor, mean: Tensor, var: Tensor,
                                     mask: Tensor) -> Tensor:
    r"""LC-VaDE's likelihood of a light curve (Astorga 2021, Eq. 9.6–9.7, corrected), one value per curve.

    Each observation is a Gaussian :math:`\mathcal N(\mu,\sigma^2)` (``value``, ``error``: the photometry and its
    error); the model's marginal at that phase is :math:`\mathcal N(\hat\mu,\hat\sigma^2)` (``mean``, ``var``). The
    term is the expected log-density of the model under the data, summed over the observed entries:

    .. math:: \sum_{j:\,m_j}\int\mathcal N(x;\mu_j,\sigma_j^2)\log\mathcal N(x;\hat\mu_j,\hat\sigma_j^2)\,dx
        = \sum_{j:\,m_j}\Big[-\tfrac12\log(2\pi\hat\sigma_j^2) - \frac{\sigma_j^2+(\mu_j-\hat\mu_j)^2}{2\hat\sigma_j^2}\Big]

    The thesis prints
    :math:`-\log(2\pi\hat\sigma^2)-\frac{\sigma^2}{2\hat\sigma^2}-\frac{(\mu-\hat\mu)^2}{\hat\sigma^2}`: the log and
    the squared residual each carry a factor 2 too many. With :math:`\sigma\to0` this is
    :func:`gaussian_log_likelihood` at the observed entries. ``mask`` (bool, True = observed) selects the entries;
    the others (padding) are replaced before any arithmetic, so their values, even NaN, change neither the result nor
    its gradient. ``value``, ``error`` (:math:`\ge0`) and ``mask`` are the data ``(..., T)``; ``mean`` and ``var``
    (:math:`>0` where observed; their values are not read, the training path) broadcast against them over leading
    axes (e.g. ``(S, N, T)`` for S latent draws). Returns the sum over the last axis, shape ``(...)``.
    """
    check_tensor(value, "value")
    check_tensor(error, "error")
    check_tensor(mean, "mean", finite=False)
    check_tensor(var, "var", finite=False)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        raise TypeError(f"mask must be a boolean tensor, got {getattr(mask, 'dtype', type(mask).__name__)}")
    if value.dim() < 1:
        raise ValueError("value must have a last axis of observations, got a scalar")
    if error.shape != value.shape or mask.shape != value.shape:
        raise ValueError(f"value, error and mask must have one shape, got {tuple(value.shape)}, {tuple(error.shape)} "
                         f"and {tuple(mask.shape)}")
    if bool((error < 0).any()):
        raise ValueError(f"error must be non-negative, got minimum {error.min().item():.4g}")
    broadcast_batch_shape(1, value=value, mean=mean, var=var)
    safe_var = torch.where(mask, var, torch.ones_like(var))
    residual = torch.where(mask, value - mean, torch.zeros_like(mean))
    spread = torch.where(mask, error, torch.zeros_like(error)).square() + residual.square()
    per_entry = -0.5 * (torch.log(2.0 * math.pi * safe_var) + spread / safe_var)
    return torch.where(mask, per_entry, torch.zeros_like(per_entry)).sum(-1)
