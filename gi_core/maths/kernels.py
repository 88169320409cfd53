r"""Positive-definite kernels on vectors and the maximum mean discrepancy (MMD) between two samples.

InfoVAE-MMD (Astorga 2021, §6.2, and §2 "InfoVAE/WAE-MMD replace it by MMD(q(z), p(z))") penalizes
:math:`\mathrm{MMD}^2(q(z), p(z))`; the thesis does not state the kernel. Two common choices are
provided: the Gaussian (RBF) kernel of InfoVAE (Zhao et al., 2019) and the inverse multiquadratic
(IMQ) kernel of WAE-MMD (Tolstikhin et al., 2018), whose heavier tails keep gradients alive when
the two samples are far apart.

Kernel matrices are built from explicit pairwise differences, so :math:`\|a_i-b_j\|^2` is never
negative by cancellation and its gradient is exactly zero (not NaN) where :math:`a_i=b_j`.
This costs :math:`O(NMD)` memory, which is small for latent codes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gi_core.validation import check_positive_int, check_real, check_tensor


def _squared_distances(a: Tensor, b: Tensor) -> Tensor:
    r"""Matrix of :math:`\|a_i-b_j\|^2`, shape ``(N, M)``, for ``a`` ``(N, D)`` and ``b`` ``(M, D)``."""
    check_tensor(a, "a", ndim=2, finite=False)
    check_tensor(b, "b", ndim=2, finite=False)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must have the same width, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return (a.unsqueeze(1) - b.unsqueeze(0)).square().sum(-1)


def rbf_kernel(a: Tensor, b: Tensor, bandwidth: float) -> Tensor:
    r"""Gaussian (RBF) kernel matrix, shape ``(N, M)``.

    .. math:: k(a, b) = \exp\!\Big(-\frac{\|a-b\|^2}{2h^2}\Big)

    with bandwidth :math:`h > 0`; :math:`k(a, a) = 1`.
    """
    check_real(bandwidth, "bandwidth", minimum=0.0, strict=True)
    return torch.exp(-_squared_distances(a, b) / (2.0 * bandwidth**2))


def imq_kernel(a: Tensor, b: Tensor, scale: float) -> Tensor:
    r"""Inverse multiquadratic kernel matrix, shape ``(N, M)`` (Tolstikhin et al., 2018, WAE-MMD).

    .. math:: k(a, b) = \frac{C}{C + \|a-b\|^2}

    with scale :math:`C > 0`; :math:`k(a, a) = 1`. See :func:`default_imq_scale` for the usual :math:`C`.
    """
    check_real(scale, "scale", minimum=0.0, strict=True)
    return scale / (scale + _squared_distances(a, b))


def default_imq_scale(latent_dim: int, prior_var: float = 1.0) -> float:
    r"""The IMQ scale of WAE-MMD for a prior :math:`\mathcal N(0, \sigma_p^2 I_J)`: :math:`C = 2J\sigma_p^2`.

    :math:`2J\sigma_p^2 = \mathbb E\|z-z'\|^2` for independent prior draws, so the kernel has decayed to
    one half at the typical distance between two prior samples (Tolstikhin et al., 2018, §4; their
    experiments also sum the kernel over several multiples of this :math:`C`).
    """
    check_positive_int(latent_dim, "latent_dim")
    check_real(prior_var, "prior_var", minimum=0.0, strict=True)
    return 2.0 * latent_dim * float(prior_var)


_KERNELS: dict[str, tuple[Callable[..., Tensor], str]] = {
    "rbf": (rbf_kernel, "bandwidth"),
    "imq": (imq_kernel, "scale"),
}


def mmd_squared(x: Tensor, y: Tensor, kernel: str = "imq", unbiased: bool = True, **kernel_args: float) -> Tensor:
    r"""Estimate of :math:`\mathrm{MMD}^2` between the distributions of samples ``x`` ``(N, D)`` and ``y`` ``(M, D)``.

    With :math:`K^{xx}_{ij} = k(x_i, x_j)`, :math:`K^{yy}_{ij} = k(y_i, y_j)`, :math:`K^{xy}_{ij} = k(x_i, y_j)`
    (Gretton et al., 2012, Eqs. 3 and 5), the unbiased U-statistic (``unbiased=True``) is

    .. math:: \widehat{\mathrm{MMD}}^2_u = \frac{1}{N(N-1)}\sum_{i\ne j} K^{xx}_{ij}
        + \frac{1}{M(M-1)}\sum_{i\ne j} K^{yy}_{ij} - \frac{2}{NM}\sum_{i,j} K^{xy}_{ij},

    whose expectation is the population :math:`\mathrm{MMD}^2`; it can be negative when the
    distributions are close. The biased V-statistic (``unbiased=False``) keeps the diagonals,

    .. math:: \widehat{\mathrm{MMD}}^2_b = \frac{1}{N^2}\sum_{i,j} K^{xx}_{ij}
        + \frac{1}{M^2}\sum_{i,j} K^{yy}_{ij} - \frac{2}{NM}\sum_{i,j} K^{xy}_{ij}
        = \Big\|\frac1N\sum_i \phi(x_i) - \frac1M\sum_j \phi(y_j)\Big\|_{\mathcal H}^2 \ge 0,

    the squared RKHS distance of the two empirical mean embeddings (non-negative up to rounding, and
    exactly 0 for ``y = x``). ``kernel`` is ``"imq"`` (:func:`imq_kernel`, keyword ``scale``; WAE uses
    :func:`default_imq_scale`) or ``"rbf"`` (:func:`rbf_kernel`, keyword ``bandwidth``), and
    ``kernel_args`` must hold exactly that keyword. The result is a differentiable scalar tensor:
    InfoVAE-MMD (Astorga 2021, §6.2) uses it as the restriction :math:`R = \mathrm{MMD}^2(q(z), p(z))`.
    """
    if kernel not in _KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {sorted(_KERNELS)}")
    kernel_fn, arg_name = _KERNELS[kernel]
    if set(kernel_args) != {arg_name}:
        raise ValueError(f"kernel {kernel!r} takes exactly the keyword {arg_name!r}, got {sorted(kernel_args)}")
    check_tensor(x, "x", ndim=2, finite=False)
    check_tensor(y, "y", ndim=2, finite=False)
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same width, got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    n, m = x.shape[0], y.shape[0]
    min_rows = 2 if unbiased else 1
    if n < min_rows or m < min_rows:
        raise ValueError(
            f"{'the unbiased' if unbiased else 'the biased'} estimator needs at least {min_rows} row(s) in x and y, "
            f"got shapes {tuple(x.shape)} and {tuple(y.shape)}"
        )
    k_xx, k_yy, k_xy = (kernel_fn(a, b, **kernel_args) for a, b in ((x, x), (y, y), (x, y)))
    if unbiased:
        within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
        within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    else:
        within_x, within_y = k_xx.mean(), k_yy.mean()
    return within_x + within_y - 2.0 * k_xy.mean()
