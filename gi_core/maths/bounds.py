r"""Bounds and their restrictions: the (β-)ELBO, the importance-weighted bound, and the restrictions of Table 5.1.

Inputs are per-sample values already summed over data and latent dimensions (see
:mod:`gi_core.maths.likelihoods` and :mod:`gi_core.maths.gaussians`); per-sample terms reduce as a mean over
the batch. The restrictions on the aggregate posterior :math:`q(z)` (W2, JS, MMD) are batch-level
quantities, one number per batch. Training minimizes the negative bounds and the losses.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from gi_core.maths.gaussians import batch_moments, gaussian_midpoint_jensen_shannon, wasserstein2_gaussians_sq
from gi_core.maths.kernels import default_imq_scale, mmd_squared
from gi_core.validation import check_real, check_same_shape, check_tensor


def beta_elbo(log_likelihood: Tensor, kl: Tensor, beta: float = 1.0) -> Tensor:
    r"""Batch mean of :math:`\mathbb E_{q(z|x)}[\log p(x|z)] - \beta\,\mathrm{KL}(q(z|x)\,\|\,p(z))`.

    .. math:: \frac1B\sum_{b=1}^B \big[\ell_b - \beta\,\mathrm{KL}_b\big]

    With :math:`\beta=1` this is the ELBO of Astorga's (2021) Eq. 2.3–2.4; :math:`\beta\neq1` is the β-VAE
    (Higgins et al., 2017; Astorga 2021, Table 5.1). ``log_likelihood`` (a one-sample Monte Carlo estimate
    or an exact expectation) and ``kl`` have shape ``(B,)``. The VAE loss is the negative of this.
    """
    check_tensor(log_likelihood, "log_likelihood", ndim=1, finite=False)
    check_tensor(kl, "kl", ndim=1, finite=False)
    check_same_shape(log_likelihood=log_likelihood, kl=kl)
    check_real(beta, "beta", minimum=0.0)
    return (log_likelihood - beta * kl).mean()


def elbo(log_likelihood: Tensor, kl: Tensor) -> Tensor:
    r"""Batch mean of the ELBO :math:`\mathbb E_q[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))` (Astorga 2021, Eq. 2.4).

    :func:`beta_elbo` with :math:`\beta = 1`.
    """
    return beta_elbo(log_likelihood, kl, beta=1.0)


def importance_weighted_bound(log_p_x_given_z: Tensor, log_p_z: Tensor, log_q_z: Tensor) -> Tensor:
    r"""Importance-weighted bound (IWAE, Burda et al., 2016), averaged over the batch.

    .. math:: \mathcal L_K = \frac1B\sum_b\Big[\operatorname{logsumexp}_{k}\log w_{kb} - \log K\Big],\qquad
        \log w_{kb} = \log p(x_b|z_{kb}) + \log p(z_{kb}) - \log q(z_{kb}|x_b)

    with :math:`z_{kb}\sim q(z|x_b)`. Inputs have shape ``(K, B)``. :math:`\mathbb E\,\mathcal L_K` is
    non-decreasing in :math:`K` and tends to :math:`\log p(x)`; :math:`K=1` is the single-sample
    estimate of the ELBO of Astorga's (2021) Eq. 2.3 (Jensen's bound before the KL is split off).
    """
    check_tensor(log_p_x_given_z, "log_p_x_given_z", ndim=2)
    check_tensor(log_p_z, "log_p_z", ndim=2)
    check_tensor(log_q_z, "log_q_z", ndim=2)
    check_same_shape(log_p_x_given_z=log_p_x_given_z, log_p_z=log_p_z, log_q_z=log_q_z)
    log_w = log_p_x_given_z + log_p_z - log_q_z
    return (torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])).mean()


def _standard_normal_moments(z: Tensor) -> tuple[Tensor, Tensor]:
    dim = z.shape[-1]
    return z.new_zeros(dim), torch.eye(dim, dtype=z.dtype, device=z.device)


@contextmanager
def _full_precision(codes: Tensor) -> Iterator[Tensor]:
    """``codes`` in float32 if they are half precision (a bf16 autocast step), with autocast off: the moments'
    Cholesky and eigendecompositions have no half-precision kernels."""
    check_tensor(codes, "codes", ndim=2, finite=False)
    with torch.autocast(codes.device.type, enabled=False):
        yield codes.float() if codes.dtype in (torch.float16, torch.bfloat16) else codes


def wasserstein_restriction(codes: Tensor) -> Tensor:
    r"""WVAE restriction: squared W2 between the batch-moment Gaussian of the codes and :math:`\mathcal N(0, I)`.

    .. math:: R^{\mathrm{WVAE}} = W_2^2\big(\mathcal N(\hat\mu, \hat\Sigma),\ \mathcal N(0, I)\big)
        = \|\hat\mu\|^2 + \operatorname{Tr}\big(\hat\Sigma + I - 2\hat\Sigma^{1/2}\big)

    Astorga's (2021) §6.2, Eq. 6.2–6.5, with :math:`\hat\mu, \hat\Sigma` the batch moments of the posterior
    means :math:`\tilde\mu(x_i)` (``codes``, shape ``(B, J)``). The thesis prints the loss as
    ":math:`+\mathbb E[\log p]` + W", a sign typo: the likelihood term enters as :math:`-\log p(x|z)`.
    """
    with _full_precision(codes) as codes:
        mean, cov = batch_moments(codes, "codes")
        return wasserstein2_gaussians_sq(mean, cov, *_standard_normal_moments(codes))


def jensen_shannon_restriction(codes: Tensor) -> Tensor:
    r"""JS-VAE restriction: :math:`\mathrm{JS}_{\mathcal N}(\mathcal N(\hat\mu,\hat\Sigma)\,\|\,\mathcal N(0, I))` in closed form.

    Astorga's (2021) §6.2 lists JS-VAE among the closed-form marginal matchers but gives no formula (the JS of
    two Gaussians has none). Here :math:`q(z)` is the batch-moment Gaussian of the posterior means, as for
    WVAE, and the divergence is :func:`~gi_core.maths.gaussians.gaussian_midpoint_jensen_shannon`: the JS
    with the mixture replaced by its moment-matched Gaussian. The exact JS
    (:func:`~gi_core.maths.gaussians.jensen_shannon_gaussians`) saturates at :math:`\log 2` while
    :math:`q(z)` and :math:`p(z)` barely overlap, which is the state of an encoder at initialisation, and
    then passes no gradient.
    """
    with _full_precision(codes) as codes:
        mean, cov = batch_moments(codes, "codes")
        return gaussian_midpoint_jensen_shannon(mean, cov, *_standard_normal_moments(codes))


def mmd_restriction(z: Tensor, prior_samples: Tensor | None = None) -> Tensor:
    r"""InfoVAE/WAE-MMD restriction: unbiased :math:`\mathrm{MMD}^2(q(z), p(z))` with the IMQ kernel.

    .. math:: R^{\mathrm{MMD}} = \widehat{\mathrm{MMD}}{}^2_u\big(\{\tilde z_i\}, \{z_i\}\big),\qquad
        \tilde z_i\sim q(z|x_i),\ z_i\sim\mathcal N(0, I),\qquad k(a, b) = \frac{C}{C + \|a-b\|^2},\ C = 2J

    Astorga's (2021) Table 5.1 (:math:`R^{\mathrm{InfoVAE/WAE}}`); the thesis does not state the kernel. The
    inverse multiquadratic kernel with :math:`C = 2J` is that of WAE-MMD (Tolstikhin et al., 2018): its heavy
    tails keep a gradient when the two sample sets are far apart. ``z`` are encoder samples ``(B, J)``;
    ``prior_samples`` ``(M, J)`` default to as many fresh draws of :math:`\mathcal N(0, I)`.
    """
    check_tensor(z, "z", ndim=2)
    if prior_samples is None:
        prior_samples = torch.randn_like(z)
    check_tensor(prior_samples, "prior_samples", ndim=2, finite=False)
    if prior_samples.shape[1] != z.shape[1] or prior_samples.shape[0] < 2 or z.shape[0] < 2:
        raise ValueError(f"z and prior_samples need the same width and at least 2 rows each, got shapes "
                         f"{tuple(z.shape)} and {tuple(prior_samples.shape)}")
    return mmd_squared(z, prior_samples, kernel="imq", unbiased=True, scale=default_imq_scale(z.shape[1]))
