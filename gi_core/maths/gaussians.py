r"""Gaussians: densities, entropies, sampling, KL, cross-entropy, W2 and JS, and linear-Gaussian conditioning.

Conventions: the latent (or data) dimension is the last axis; per-sample functions sum over it.
Diagonal Gaussians are parameterized by their mean and log-variance ``log_var`` (:math:`\log\sigma^2`);
full-covariance ones by their mean and covariance (:class:`Gaussian`), conditionals
:math:`v|u\sim\mathcal N(Wu+c,S)` by :class:`LinearGaussianConditional`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from gi_core.validation import (
    broadcast_batch_shape,
    check_covariance,
    check_generator,
    check_positive_int,
    check_real,
    check_same_dtype,
    check_same_shape,
    check_tensor,
)

_LOG_2PI = math.log(2.0 * math.pi)
_LOG_2PI_E = _LOG_2PI + 1.0


def diag_gaussian_log_prob(x: Tensor, mean: Tensor, log_var: Tensor) -> Tensor:
    r"""Log-density of a diagonal Gaussian, summed over the last axis.

    .. math:: \log \mathcal N(x;\mu,\operatorname{diag}\sigma^2)
        = -\tfrac12\sum_j \Big[\log 2\pi + \log\sigma_j^2 + \frac{(x_j-\mu_j)^2}{\sigma_j^2}\Big]

    This is the negative of the latent Gaussian NLL of Astorga's (2021) Eq. 6.1 / 7.13. The last axes must
    have equal sizes; leading axes broadcast (e.g. ``x`` of shape ``(K, B, J)`` against ``mean`` ``(B, J)``).
    """
    for name, t in (("x", x), ("mean", mean), ("log_var", log_var)):
        check_tensor(t, name)
    broadcast_batch_shape(1, x=x, mean=mean, log_var=log_var)
    return -0.5 * (_LOG_2PI + log_var + (x - mean).square() * torch.exp(-log_var)).sum(-1)


def diag_gaussian_entropy(log_var: Tensor) -> Tensor:
    r"""Differential entropy of a diagonal Gaussian, summed over the last axis (nats).

    .. math:: h = \tfrac12 \sum_j \log(2\pi e\,\sigma_j^2)

    This is :math:`h_q(z|x)` of Astorga's (2021) §6.3.2 (it does not depend on the mean).
    """
    check_tensor(log_var, "log_var")
    return 0.5 * (_LOG_2PI + 1.0 + log_var).sum(-1)


def reparameterize(
    mean: Tensor,
    log_var: Tensor,
    n_samples: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Reparameterization trick: :math:`z = \mu + \sigma \odot \varepsilon`, :math:`\varepsilon \sim \mathcal N(0, I)`.

    Eq. 3.11 of Pérez Carrasco's thesis prints :math:`\mu + \sigma^2 \odot \varepsilon`; that is a typo, the standard
    deviation :math:`\sigma = \exp(\tfrac12 \log\sigma^2)` is correct. With ``n_samples=K`` the result
    has shape ``(K, *mean.shape)``, else ``mean.shape``. The noise is drawn on ``mean.device`` with
    ``generator`` (which must live on that device) when given; gradients flow to ``mean`` and ``log_var``.
    """
    check_tensor(mean, "mean", finite=False)
    check_tensor(log_var, "log_var", finite=False)
    check_same_shape(mean=mean, log_var=log_var)
    check_generator(generator, "generator")
    shape = mean.shape
    if n_samples is not None:
        check_positive_int(n_samples, "n_samples")
        shape = torch.Size((n_samples, *shape))
    eps = torch.randn(shape, generator=generator, dtype=mean.dtype, device=mean.device)
    return mean + torch.exp(0.5 * log_var) * eps


def kl_diag_gaussians(mean_q: Tensor, log_var_q: Tensor, mean_p: Tensor, log_var_p: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(q\,\|\,p)` between diagonal Gaussians, summed over the last axis.

    .. math:: \tfrac12 \sum_j \Big[\log\frac{\sigma_{p,j}^2}{\sigma_{q,j}^2}
        + \frac{\sigma_{q,j}^2 + (\mu_{q,j}-\mu_{p,j})^2}{\sigma_{p,j}^2} - 1\Big]

    Eq. 3.10 of Pérez Carrasco's thesis (KL to a mixture component); leading axes broadcast, the last must match.
    """
    for name, t in (("mean_q", mean_q), ("log_var_q", log_var_q), ("mean_p", mean_p), ("log_var_p", log_var_p)):
        check_tensor(t, name, finite=False)
    broadcast_batch_shape(1, mean_q=mean_q, log_var_q=log_var_q, mean_p=mean_p, log_var_p=log_var_p)
    log_ratio = log_var_q - log_var_p
    mahalanobis = (mean_q - mean_p).square() * torch.exp(-log_var_p)
    return 0.5 * (torch.exp(log_ratio) - log_ratio + mahalanobis - 1.0).sum(-1)


def kl_diag_gaussian_std_normal(mean: Tensor, log_var: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu,\operatorname{diag}\sigma^2)\,\|\,\mathcal N(0,I))` (per sample).

    .. math:: \tfrac12 \sum_j \big(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\big)

    Astorga's (2021) Eq. 2.5. The thesis prints :math:`\sum_j \tilde\mu^2+\tilde\sigma^2-\log\tilde\sigma^2+1`,
    which has the wrong sign on the 1 and misses the factor :math:`\tfrac12`; this is the correct form.
    """
    check_tensor(mean, "mean", finite=False)
    check_tensor(log_var, "log_var", finite=False)
    check_same_shape(mean=mean, log_var=log_var)
    return 0.5 * (mean.square() + torch.exp(log_var) - log_var - 1.0).sum(-1)


def batch_moments(z: Tensor, name: str = "z") -> tuple[Tensor, Tensor]:
    r"""Mean and unbiased covariance of a batch ``z`` of shape ``(N, J)``, ``N >= 2``.

    .. math:: \mu = \frac1N\sum_i z_i,\qquad
        \Sigma = \frac1{N-1}\sum_i (z_i-\mu)(z_i-\mu)^\top

    Astorga's (2021) Eq. 6.2–6.3 (the Gaussian fit of the aggregate posterior :math:`q(z)`). Returns
    ``(J,)`` and ``(J, J)`` tensors. ``name`` is what the error messages call ``z``.
    """
    check_tensor(z, name, ndim=2)
    n, dim = z.shape
    if n < 2:
        raise ValueError(f"{name} needs at least 2 rows to estimate a covariance, got shape {tuple(z.shape)}")
    cov = torch.cov(z.T).reshape(dim, dim)
    return z.mean(0), 0.5 * (cov + cov.T)  # exactly symmetric (float32 rounding can break it)


def _check_gaussian(mean: Tensor, cov: Tensor, mean_name: str, cov_name: str) -> Tensor:
    """Validate one full-covariance Gaussian and return the Cholesky factor of its covariance."""
    check_tensor(mean, mean_name, ndim=1)
    chol = check_covariance(cov, cov_name)
    if cov.shape[0] != mean.shape[0]:
        raise ValueError(f"{mean_name} has {mean.shape[0]} entries but {cov_name} has shape {tuple(cov.shape)}")
    check_same_dtype(**{mean_name: mean, cov_name: cov})
    return chol


def _check_pair(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> tuple[Tensor, Tensor]:
    """Validate two Gaussians of one dimension and dtype; return their Cholesky factors."""
    chol1 = _check_gaussian(mean1, cov1, "mean1", "cov1")
    chol2 = _check_gaussian(mean2, cov2, "mean2", "cov2")
    if mean1.shape != mean2.shape:
        raise ValueError(f"the two Gaussians differ in dimension: mean1 has {mean1.shape[0]} entries, mean2 {mean2.shape[0]}")
    check_same_dtype(mean1=mean1, cov1=cov1, mean2=mean2, cov2=cov2)
    return chol1, chol2


def kl_full_gaussians(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(\mathcal N(\mu_1,\Sigma_1)\,\|\,\mathcal N(\mu_2,\Sigma_2))` (a scalar).

    .. math:: \tfrac12\Big[\log\frac{|\Sigma_2|}{|\Sigma_1|} - D + (\mu_1-\mu_2)^\top\Sigma_2^{-1}(\mu_1-\mu_2)
        + \operatorname{Tr}(\Sigma_2^{-1}\Sigma_1)\Big]

    Astorga's (2021) Eq. 6.4. With Cholesky factors :math:`\Sigma_i = L_iL_i^\top`,
    :math:`\log|\Sigma_i| = 2\sum\log\operatorname{diag}L_i`,
    :math:`\operatorname{Tr}(\Sigma_2^{-1}\Sigma_1) = \|L_2^{-1}L_1\|_F^2` and the Mahalanobis term is
    :math:`\|L_2^{-1}(\mu_1-\mu_2)\|^2`, all by triangular solves (no explicit inverse).
    """
    chol1, chol2 = _check_pair(mean1, cov1, mean2, cov2)
    dim = mean1.shape[0]
    log_det_ratio = 2.0 * (torch.log(torch.diagonal(chol2)).sum() - torch.log(torch.diagonal(chol1)).sum())
    whitened_cov = torch.linalg.solve_triangular(chol2, chol1, upper=False)
    whitened_diff = torch.linalg.solve_triangular(chol2, (mean1 - mean2).unsqueeze(-1), upper=False)
    return 0.5 * (log_det_ratio - dim + whitened_diff.square().sum() + whitened_cov.square().sum())


def wasserstein2_gaussians_sq(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> Tensor:
    r"""Squared 2-Wasserstein distance between two Gaussians (a scalar; the FID formula).

    .. math:: W_2^2 = \|\mu_1-\mu_2\|^2 + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2
        - 2(\Sigma_2^{1/2}\Sigma_1\Sigma_2^{1/2})^{1/2}\big)

    Astorga's (2021) Eq. 6.5 (and Eq. 2.8, FID). The thesis writes :math:`(\Sigma_1\Sigma_2)^{1/2}`: that matrix
    is not symmetric, but it is similar to :math:`\Sigma_2^{1/2}\Sigma_1\Sigma_2^{1/2}` so the traces of
    the two square roots agree. Here the trace is taken as :math:`\sum_i \sqrt{\lambda_i}` over the
    eigenvalues (``torch.linalg.eigvalsh``, tiny negatives clamped to 0) of the symmetric matrix
    :math:`L_2^\top\Sigma_1L_2`, with :math:`\Sigma_2 = L_2L_2^\top`, which is similar to both. Only
    eigenvalues are differentiated, so gradients stay finite when eigenvalues repeat (e.g. :math:`\Sigma_2=I`,
    the WVAE target); the value is symmetric in its two arguments up to rounding.
    """
    _, chol2 = _check_pair(mean1, cov1, mean2, cov2)
    inner = chol2.T @ cov1 @ chol2
    eigenvalues = torch.linalg.eigvalsh(0.5 * (inner + inner.T))
    cross = eigenvalues.clamp(min=0.0).sqrt().sum()
    return (mean1 - mean2).square().sum() + torch.trace(cov1) + torch.trace(cov2) - 2.0 * cross


def jensen_shannon_gaussians(
    mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor, n_samples: int = 256,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Monte Carlo Jensen–Shannon divergence between two full-covariance Gaussians (a scalar, nats).

    .. math:: \mathrm{JS}(q\,\|\,p) = \tfrac12\,\mathbb E_{q}\Big[\log\frac{q}{m}\Big]
        + \tfrac12\,\mathbb E_{p}\Big[\log\frac{p}{m}\Big],\qquad m = \tfrac12(q+p),

    with :math:`\log m = \operatorname{logsumexp}(\log q, \log p) - \log 2` evaluated exactly and the two
    expectations estimated with ``n_samples`` reparameterized draws from each Gaussian, so the estimate is
    unbiased, lies in :math:`[0, \log 2]` up to Monte Carlo error and is differentiable in all four
    arguments. It is the reference for the JS-VAE restriction of Astorga's (2021) §6.2, which the thesis leaves
    unspecified; as a training loss it fails (it saturates at :math:`\log 2`, with no gradient, while the
    Gaussians barely overlap), so JS-VAE uses :func:`gaussian_midpoint_jensen_shannon`.
    """
    chol1, chol2 = _check_pair(mean1, cov1, mean2, cov2)
    check_positive_int(n_samples, "n_samples")
    check_generator(generator, "generator")
    q = torch.distributions.MultivariateNormal(mean1, scale_tril=chol1)
    p = torch.distributions.MultivariateNormal(mean2, scale_tril=chol2)
    total = mean1.new_zeros(())
    for own, other in ((q, p), (p, q)):
        noise = torch.randn(n_samples, mean1.shape[0], generator=generator).to(mean1)
        draws = own.loc + noise @ own.scale_tril.T
        log_own, log_other = own.log_prob(draws), other.log_prob(draws)
        log_mixture = torch.logaddexp(log_own, log_other) - math.log(2.0)
        total = total + 0.5 * (log_own - log_mixture).mean()
    return total


def gaussian_midpoint_jensen_shannon(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> Tensor:
    r"""Closed-form Jensen–Shannon surrogate between two Gaussians: the mixture replaced by its moment-matched Gaussian.

    .. math:: \mathrm{JS}_{\mathcal N}(q\,\|\,p) = \tfrac12\mathrm{KL}(q\,\|\,\hat m) + \tfrac12\mathrm{KL}(p\,\|\,\hat m),
        \qquad \hat m = \mathcal N\big(\tfrac{\mu_1+\mu_2}2,\ \tfrac{\Sigma_1+\Sigma_2}2
        + \tfrac14(\mu_1-\mu_2)(\mu_1-\mu_2)^\top\big)

    :math:`\hat m` has the mean and covariance of the mixture :math:`m=\frac12(q+p)`. Both KLs are
    Eq. 6.4, so the value is symmetric, zero exactly when :math:`q=p`, and, unlike the true JS, not
    capped at :math:`\log 2`: it keeps growing (and keeps a gradient) when the two Gaussians separate.
    This is the JS-VAE restriction of this book (Astorga 2021, §6.2, names it among the closed-form marginal
    matchers without giving the formula); :func:`jensen_shannon_gaussians` is the exact JS by Monte Carlo.
    """
    _check_pair(mean1, cov1, mean2, cov2)
    diff = (mean1 - mean2).unsqueeze(-1)
    mid_mean, mid_cov = 0.5 * (mean1 + mean2), 0.5 * (cov1 + cov2) + 0.25 * diff @ diff.T
    return 0.5 * (kl_full_gaussians(mean1, cov1, mid_mean, mid_cov) + kl_full_gaussians(mean2, cov2, mid_mean, mid_cov))


def soft_clamp_log_var(raw: Tensor, low: float = -10.0, high: float = 5.0) -> Tensor:
    r"""Smoothly map an unbounded network output into the open interval ``(low, high)``, ``low < 0 < high``.

    .. math:: f(r) = \ell + (h-\ell)\,\operatorname{sigmoid}\!\Big(\frac{h-\ell}{-\ell h}\,r
        + \log\frac{-\ell}{h}\Big)

    The offset and slope are chosen so that :math:`f(0) = 0` and :math:`f'(0) = 1`: near zero the
    output is the raw value (unit variance at initialization), and it saturates at the bounds, which
    keeps :math:`\sigma^2\in(e^{\ell}, e^{h})` away from 0 and :math:`\infty`. (MPCC, Astorga 2021, §7.2,
    uses a hard floor :math:`\sigma\ge 0.5`, i.e. :math:`\ell=\log 0.25`.)
    """
    check_tensor(raw, "raw", finite=False)
    check_real(low, "low", maximum=0.0, strict=True)
    check_real(high, "high", minimum=0.0, strict=True)
    slope = (high - low) / (-low * high)
    return low + (high - low) * torch.sigmoid(slope * raw + math.log(-low / high))


def inverse_soft_clamp_log_var(log_var: Tensor, low: float = -10.0, high: float = 5.0) -> Tensor:
    r"""The raw value that :func:`soft_clamp_log_var` maps to ``log_var`` (which must lie in ``(low, high)``):

    .. math:: r = \frac{-\ell h}{h-\ell}\Big[\operatorname{logit}\frac{f-\ell}{h-\ell} - \log\frac{-\ell}{h}\Big]
    """
    check_tensor(log_var, "log_var")
    check_real(low, "low", maximum=0.0, strict=True)
    check_real(high, "high", minimum=0.0, strict=True)
    if not bool(((log_var > low) & (log_var < high)).all()):
        raise ValueError(f"log_var must lie in the open interval ({low}, {high}), got values in "
                         f"[{float(log_var.min()):.4g}, {float(log_var.max()):.4g}]")
    slope = (high - low) / (-low * high)
    return (torch.logit((log_var - low) / (high - low)) - math.log(-low / high)) / slope


class Gaussian(NamedTuple):
    r""":math:`\mathcal N(\mathrm{mean}, \mathrm{cov})`."""

    mean: Tensor
    cov: Tensor


class LinearGaussianConditional(NamedTuple):
    r"""The conditional :math:`v\,|\,u \sim \mathcal N(W u + c, S)`.

    ``weight`` is :math:`W`, ``bias`` :math:`c`, ``cov`` :math:`S`; a marginal is the case :math:`W = 0`.
    """

    weight: Tensor
    bias: Tensor
    cov: Tensor


def gaussian_entropy(cov: Tensor) -> Tensor:
    r"""Differential entropy :math:`h = \tfrac12\log\det(2\pi e\,\Sigma)` of :math:`\mathcal N(\mu,\Sigma)` (nats).

    Computed as :math:`\tfrac D2\log(2\pi e) + \sum_i\log L_{ii}` with :math:`\Sigma = LL^\top`.
    """
    chol = check_covariance(cov, "cov")
    return 0.5 * cov.shape[0] * _LOG_2PI_E + torch.log(torch.diagonal(chol)).sum()


def gaussian_cross_entropy(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> Tensor:
    r"""Cross-entropy :math:`\mathbb E_{\mathcal N(\mu_1,\Sigma_1)}[-\log\mathcal N(\mu_2,\Sigma_2)]` (nats).

    .. math:: \tfrac12\Big[\log\det(2\pi\Sigma_2) + \operatorname{tr}(\Sigma_2^{-1}\Sigma_1)
        + (\mu_1-\mu_2)^\top\Sigma_2^{-1}(\mu_1-\mu_2)\Big]
        = D_{\mathrm{KL}}(\mathcal N_1\|\mathcal N_2) + h(\mathcal N_1)

    evaluated as the right-hand side with :func:`kl_full_gaussians` (Astorga 2021,
    Eq. 6.4) and :func:`gaussian_entropy`. It is the building block of every expected log-density term
    of Eq. 4.3–4.9 in the linear-Gaussian setting.
    """
    return kl_full_gaussians(mean1, cov1, mean2, cov2) + gaussian_entropy(cov1)


def expected_conditional_cross_entropy(
    first: LinearGaussianConditional, second: LinearGaussianConditional, inputs: Gaussian
) -> Tensor:
    r"""Expected conditional cross-entropy of two linear-Gaussian conditionals under a Gaussian input.

    .. math:: \mathbb E_{u\sim\mathcal N(m,\Sigma)}\,\mathbb E_{v\sim\mathcal N(W_1u+c_1,S_1)}
        [-\log\mathcal N(v;W_2u+c_2,S_2)]

    For fixed :math:`u` it is :func:`gaussian_cross_entropy`, whose only :math:`u`-dependent part is
    the quadratic form :math:`\tfrac12(Mu+c)^\top S_2^{-1}(Mu+c)` with :math:`M=W_1-W_2`,
    :math:`c=c_1-c_2`. By :math:`\mathbb E[(Mu+c)^\top K(Mu+c)] = \operatorname{tr}(KM\Sigma M^\top)
    + (Mm+c)^\top K(Mm+c)` the expectation is the cross-entropy at :math:`u=m` plus
    :math:`\tfrac12\operatorname{tr}(S_2^{-1}M\Sigma M^\top)`.
    """
    if not isinstance(inputs, Gaussian):
        raise TypeError(f"inputs must be a Gaussian, got {type(inputs).__name__}")
    _check_gaussian(inputs.mean, inputs.cov, "inputs.mean", "inputs.cov")
    _check_conditional(first, "first", inputs.mean)
    chol2 = _check_conditional(second, "second", inputs.mean)
    if first.bias.shape != second.bias.shape:
        raise ValueError(f"first and second must be conditionals of one variable, got biases of shapes "
                         f"{tuple(first.bias.shape)} and {tuple(second.bias.shape)}")
    mean1 = first.weight @ inputs.mean + first.bias
    mean2 = second.weight @ inputs.mean + second.bias
    at_mean = gaussian_cross_entropy(mean1, first.cov, mean2, second.cov)
    gap = first.weight - second.weight
    spread = gap @ inputs.cov @ gap.T
    return at_mean + 0.5 * torch.trace(torch.cholesky_solve(spread, chol2))


def _check_conditional(conditional: LinearGaussianConditional, name: str, inputs_mean: Tensor) -> Tensor:
    """Validate a conditional of an input shaped like ``inputs_mean``; return the Cholesky factor of its covariance."""
    if not isinstance(conditional, LinearGaussianConditional):
        raise TypeError(f"{name} must be a LinearGaussianConditional, got {type(conditional).__name__}")
    weight = check_tensor(conditional.weight, f"{name}.weight", ndim=2)
    chol = _check_gaussian(conditional.bias, conditional.cov, f"{name}.bias", f"{name}.cov")
    if weight.shape != (conditional.bias.shape[0], inputs_mean.shape[0]):
        raise ValueError(f"{name}.weight must have shape {(conditional.bias.shape[0], inputs_mean.shape[0])}, "
                         f"got {tuple(weight.shape)}")
    check_same_dtype(**{f"{name}.weight": weight, f"{name}.cov": conditional.cov, "inputs.mean": inputs_mean})
    return chol


def condition_gaussian(
    mean_a: Tensor, mean_b: Tensor, cov_aa: Tensor, cov_ab: Tensor, cov_bb: Tensor
) -> LinearGaussianConditional:
    r"""Gaussian conditioning :math:`a|b`: weight :math:`\Sigma_{ab}\Sigma_{bb}^{-1}`, Schur-complement covariance.

    .. math:: a|b \sim \mathcal N\big(\mu_a + K(b-\mu_b),\ \Sigma_{aa} - K\Sigma_{ab}^\top\big),\qquad
        K = \Sigma_{ab}\Sigma_{bb}^{-1}

    ``mean_a`` (A,), ``mean_b`` (B,), ``cov_aa`` (A, A), ``cov_ab`` (A, B), ``cov_bb`` (B, B), of one dtype.
    """
    _check_gaussian(mean_a, cov_aa, "mean_a", "cov_aa")
    chol_bb = _check_gaussian(mean_b, cov_bb, "mean_b", "cov_bb")
    check_tensor(cov_ab, "cov_ab", ndim=2)
    if cov_ab.shape != (mean_a.shape[0], mean_b.shape[0]):
        raise ValueError(f"cov_ab must have shape (A, B) = {(mean_a.shape[0], mean_b.shape[0])}, got {tuple(cov_ab.shape)}")
    check_same_dtype(mean_a=mean_a, mean_b=mean_b, cov_ab=cov_ab)
    gain = torch.cholesky_solve(cov_ab.T, chol_bb).T
    cov = cov_aa - gain @ cov_ab.T
    return LinearGaussianConditional(gain, mean_a - gain @ mean_b, 0.5 * (cov + cov.T))
