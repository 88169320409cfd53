r"""LC-VaDE's decoder likelihood model: a Gaussian process through inducing points (Astorga 2021, Eq. 9.2–9.5).

The decoder of LC-VaDE emits, for each light curve, :math:`I` inducing values :math:`(\hat\mu_k,\hat\sigma_k^2)` at
fixed phases :math:`t_k` and the two parameters :math:`(\sigma_\theta, l_\theta)` of a stationary kernel on phase.
The model of the curve at its observed phases :math:`t` is the GP posterior given the inducing points, of which
only the marginal (diagonal) variances are used.

Everything is batched over curves: a leading batch shape ``(...)`` (one curve per entry, ``(N,)`` in the model)
is shared by the times ``(..., T)``, the inducing values ``(..., I)`` and the kernel parameters ``(...)``, and
broadcasts by the usual rules (e.g. one set of inducing times ``(I,)`` for all curves). Only :math:`\sigma_\theta^2`
and :math:`l_\theta^2` enter, so their signs do not matter; their values are not read (the training path: a NaN
reaches the trainer's guard). This is a kernel on scalar times with per-curve tensor parameters; the vector
kernels of :mod:`gi_core.maths.kernels` (for MMD, one scalar bandwidth) are a different object.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_choice, check_positive_int, check_real, check_same_dtype, check_tensor

KERNELS = ("rbf", "periodic")


def inducing_times(num_points: int, *, dtype: torch.dtype = torch.float32,
                   device: torch.device | str | None = None) -> Tensor:
    r"""The fixed inducing phases :math:`t_k = k/(I+1)`, :math:`k=1,\dots,I` (Astorga 2021, Eq. 9.2), shape ``(I,)``.

    They are evenly spaced strictly inside :math:`(0, 1)`, at distance :math:`1/(I+1)` from each other and from the
    ends of the folded phase interval. ``dtype`` and ``device`` place the result.
    """
    count = check_positive_int(num_points, "num_points")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return torch.arange(1, count + 1, dtype=dtype, device=device) / (count + 1)


def _kernel_inputs(t1: Tensor, t2: Tensor, scale: Tensor, length: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Validate the kernel arguments; return the differences ``(..., n, m)`` and the parameters ``(..., 1, 1)``."""
    check_tensor(t1, "t1", finite=False)
    check_tensor(t2, "t2", finite=False)
    check_tensor(scale, "scale", finite=False)
    check_tensor(length, "length", finite=False)
    for name, t in (("t1", t1), ("t2", t2)):
        if t.dim() < 1:
            raise ValueError(f"{name} must have a last axis of times, got a scalar")
    try:
        torch.broadcast_shapes(t1.shape[:-1], t2.shape[:-1], scale.shape, length.shape)
    except RuntimeError as err:
        raise ValueError(f"the batch shapes of t1 {tuple(t1.shape[:-1])}, t2 {tuple(t2.shape[:-1])}, scale "
                         f"{tuple(scale.shape)} and length {tuple(length.shape)} do not broadcast") from err
    diff = t1.unsqueeze(-1) - t2.unsqueeze(-2)
    return diff, scale.unsqueeze(-1).unsqueeze(-1), length.unsqueeze(-1).unsqueeze(-1)


def rbf_kernel(t1: Tensor, t2: Tensor, scale: Tensor, length: Tensor) -> Tensor:
    r"""Squared-exponential kernel on times (Astorga 2021, Eq. 9.3), shape ``(..., n, m)``.

    .. math:: k(t,t') = \sigma_\theta^2\exp\!\Big(-\frac{(t-t')^2}{2l_\theta^2}\Big)

    ``t1`` ``(..., n)``, ``t2`` ``(..., m)``, ``scale`` :math:`\sigma_\theta` and ``length`` :math:`l_\theta`
    ``(...)``; the batch shapes broadcast. On folded phase it does not wrap: :math:`t=0.01` and :math:`t'=0.99` are
    far apart although they are neighbours on the circle (see :func:`periodic_kernel`).
    """
    diff, s, l = _kernel_inputs(t1, t2, scale, length)
    return s.square() * torch.exp(-0.5 * diff.square() / l.square())


def periodic_kernel(t1: Tensor, t2: Tensor, scale: Tensor, length: Tensor, period: float = 1.0) -> Tensor:
    r"""Periodic (exp-sine-squared) kernel on times, shape ``(..., n, m)``: an ablation of Eq. 9.3.

    .. math:: k(t,t') = \sigma_\theta^2\exp\!\Big(-\frac{2\sin^2(\pi|t-t'|/p)}{l_\theta^2}\Big)

    (scikit-learn's ``ExpSineSquared`` times ``ConstantKernel``). A folded light curve lives on a circle of
    circumference :math:`p=1`: this kernel wraps, :math:`k(0.01, 0.99)=k(0.01, 0.03)`, so the model is continuous
    across phase 0 ↔ 1, which the thesis's RBF (:func:`rbf_kernel`) is not. For :math:`|t-t'|\ll p` it is the RBF
    with length :math:`l_\theta p/(2\pi)`. Arguments as in :func:`rbf_kernel`; ``period`` :math:`p>0`.
    """
    check_real(period, "period", minimum=0.0, strict=True)
    diff, s, l = _kernel_inputs(t1, t2, scale, length)
    return s.square() * torch.exp(-2.0 * torch.sin(math.pi * diff.abs() / period).square() / l.square())


def gp_posterior(times: Tensor, inducing_times: Tensor, inducing_means: Tensor, inducing_vars: Tensor,
                 scale: Tensor, length: Tensor, kernel: str = "rbf") -> tuple[Tensor, Tensor]:
    r"""GP posterior mean and marginal variance at ``times`` given noisy inducing values (Astorga 2021, Eq. 9.4–9.5).

    .. math:: \Sigma = K(t_{\mathrm{ind}},t_{\mathrm{ind}}) + \operatorname{diag}(\hat\sigma^2_{\mathrm{ind}}),\qquad
        \hat\mu = K(t,t_{\mathrm{ind}})\,\Sigma^{-1}\hat\mu_{\mathrm{ind}},\qquad
        \hat\sigma^2 = \operatorname{diag}\big(K(t,t) - K(t,t_{\mathrm{ind}})\,\Sigma^{-1}K(t_{\mathrm{ind}},t)\big)

    the predictive of scikit-learn's ``GaussianProcessRegressor(alpha=inducing_vars)`` fitted to
    :math:`(t_{\mathrm{ind}},\hat\mu_{\mathrm{ind}})` (no noise is added at ``times``). With :math:`\Sigma=LL^\top`
    (``torch.linalg.cholesky_ex``), the mean is ``cholesky_solve`` and the variance is
    :math:`k(t,t)-\|L^{-1}K(t_{\mathrm{ind}},t)\|^2` by a triangular solve; rounding can make it slightly negative,
    so it is clamped to :math:`\ge 0`. No jitter is added: for :math:`I=24`, :math:`l_\theta\le 1/I` (the thesis's
    range) and :math:`\hat\sigma^2_{\mathrm{ind}}\ge 10^{-4}`, :math:`\Sigma` has condition number below 100 and
    the float32 factorisation succeeds; against float64 the variances are within :math:`3\cdot10^{-5}\sigma_\theta^2`
    (measured), an absolute error, so much smaller variances are coarse in float32. A batch entry whose
    :math:`\Sigma` is not numerically positive definite (NaN inputs, or much longer lengths with tiny variances) gets
    NaN mean and variance, without a device sync, for the trainer's guard to report.

    Shapes: ``times`` ``(..., T)``; ``inducing_times``, ``inducing_means``, ``inducing_vars`` ``(..., I)``;
    ``scale``, ``length`` ``(...)``; the batch shapes broadcast; ``kernel`` is ``"rbf"`` (Eq. 9.3) or
    ``"periodic"`` (:func:`periodic_kernel`, period 1). Returns ``(mean, var)``, each ``(..., T)``.
    """
    check_choice(kernel, KERNELS, "kernel")
    check_tensor(times, "times")
    check_tensor(inducing_times, "inducing_times")
    for name, t in (("inducing_means", inducing_means), ("inducing_vars", inducing_vars)):
        check_tensor(t, name, finite=False)
    for name, t in (("times", times), ("inducing_times", inducing_times), ("inducing_means", inducing_means),
                    ("inducing_vars", inducing_vars)):
        if t.dim() < 1:
            raise ValueError(f"{name} must have a last axis, got a scalar")
    check_same_dtype(times=times, inducing_times=inducing_times, inducing_means=inducing_means,
                     inducing_vars=inducing_vars, scale=scale, length=length)
    count = inducing_times.shape[-1]
    for name, t in (("inducing_means", inducing_means), ("inducing_vars", inducing_vars)):
        if t.shape[-1] != count:
            raise ValueError(f"{name} must have one entry per entry of inducing_times ({count}), got shape "
                             f"{tuple(t.shape)}")
    cov = rbf_kernel if kernel == "rbf" else periodic_kernel
    k_ind = cov(inducing_times, inducing_times, scale, length)
    k_cross = cov(inducing_times, times, scale, length)  # (..., I, T)
    try:
        batch = torch.broadcast_shapes(k_ind.shape[:-2], k_cross.shape[:-2], inducing_means.shape[:-1],
                                       inducing_vars.shape[:-1])
    except RuntimeError as err:
        raise ValueError(f"the batch shapes of inducing_means {tuple(inducing_means.shape[:-1])} and inducing_vars "
                         f"{tuple(inducing_vars.shape[:-1])} do not broadcast with the times and kernel "
                         f"parameters {tuple(k_cross.shape[:-2])}") from err
    sigma = (k_ind + torch.diag_embed(inducing_vars)).expand(*batch, count, count)
    chol, info = torch.linalg.cholesky_ex(sigma)
    alpha = torch.cholesky_solve(inducing_means.expand(*batch, count).unsqueeze(-1), chol)  # (..., I, 1)
    k_cross = k_cross.expand(*batch, count, k_cross.shape[-1])
    mean = (k_cross.transpose(-1, -2) @ alpha).squeeze(-1)
    whitened = torch.linalg.solve_triangular(chol, k_cross, upper=False)
    prior_var = scale.square().unsqueeze(-1)  # k(t, t) = scale^2 for both kernels
    var = (prior_var - whitened.square().sum(-2)).clamp(min=0.0)
    failed = (info != 0).unsqueeze(-1)
    nan = torch.full((), math.nan, dtype=mean.dtype, device=mean.device)
    return torch.where(failed, nan, mean), torch.where(failed, nan, var)
