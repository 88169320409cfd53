r"""Cross-domain latent modulation (CDLM; Hou et al. 2022): the modulated reparameterization of Eq. 1–2, its
moments (Eq. 3–6), and the KL reductions of full and partial modulation (Eq. 7–15).

A shared encoder maps an image :math:`x` to the moments :math:`(\mu,\sigma)` of a diagonal Gaussian and to a
deep representation :math:`h\in(0,1)^d` of the latent's dimension. The reparameterization noise of one domain is
replaced by the other domain's representation plus a little noise (Hou et al. 2022, Eq. 1–2):

.. math:: \ddot z_{st} = \mu_s + \sigma_s\odot(\gamma_1 h_t + \gamma_2\varepsilon),\qquad
    \ddot z_{ts} = \mu_t + \sigma_t\odot(\gamma_1 h_s + \gamma_2\varepsilon),\qquad \varepsilon\sim\mathcal N(0,I).

:math:`\gamma_1=0,\gamma_2=1` is the plain VAE reparameterization. Standard deviations are written
:math:`\sigma`; the analysis functions take them directly (``std``), :func:`modulated_gaussian` and
:func:`transfer_latents` work with log-variances as the models do. The model and its objective are
:mod:`gi_core.models.cdlm`.

Typos of the seed in these equations, and what is implemented instead (each is said again where it applies):

* Eq. 3 ends with :math:`\mu_{h_s}`; the derivation gives :math:`\mu_{h_t}` (:func:`modulation_moments`).
* Eq. 5 uses :math:`\sigma_s\approx1` but Eq. 6 keeps :math:`\sigma_s`; both are kept as printed
  (:func:`idealized_transfer_moments`), and the KL ratio of Eq. 10 holds exactly only for
  :math:`\sigma_s=\sigma_t=1` (:func:`full_modulation_kl`).
* Eq. 9 drops the :math:`\sum_i` on its right-hand side.
* Eq. 13 writes :math:`\tfrac12(\log\frac{\sigma_t}{\sigma_s}+\log\frac{\sigma_s}{\sigma_t})`; from Eq. 7 the
  factor is 1, not :math:`\tfrac12`. The two logs cancel either way, so the inequality stands.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.maths.gaussians import kl_diag_gaussians
from gi_core.validation import broadcast_batch_shape, check_choice, check_positive, check_real, check_same_shape, check_tensor

MODULATIONS = ("full", "pm1", "pm2")


def check_gammas(gamma1: float, gamma2: float) -> tuple[float, float]:
    """``(gamma1, gamma2)`` as floats; raise unless both are finite, non-negative and not both 0."""
    gamma1, gamma2 = check_real(gamma1, "gamma1", minimum=0.0), check_real(gamma2, "gamma2", minimum=0.0)
    if gamma1 == 0.0 and gamma2 == 0.0:
        raise ValueError("gamma1 and gamma2 cannot both be 0 (the latent would be the mean alone)")
    return gamma1, gamma2


def _check_std(*pairs: tuple[str, Tensor]) -> None:
    for name, t in pairs:
        check_tensor(t, name)
    for name, t in pairs:
        if name.startswith("std"):
            check_positive(t, name)
    broadcast_batch_shape(1, **dict(pairs))


# --- Eq. 1–2: the cross-modulated reparameterization -------------------------------------------


def modulated_gaussian(mean: Tensor, log_var: Tensor, h: Tensor, gamma1: float, gamma2: float) -> tuple[Tensor, Tensor]:
    r"""Mean and log-variance of :math:`\ddot z = \mu + \sigma\odot(\gamma_1h + \gamma_2\varepsilon)` given :math:`h`.

    .. math:: \ddot z\,|\,h \sim \mathcal N\big(\mu + \gamma_1\sigma\odot h,\ \operatorname{diag}(\gamma_2\sigma)^2\big),
        \qquad \log\operatorname{var} = \log\sigma^2 + 2\log\gamma_2

    Hou et al.'s (2022) Eq. 1–2 with :math:`h` the *other* domain's representation (given :math:`x_s` and :math:`x_t`,
    :math:`h` is deterministic). Needs :math:`\gamma_2>0` (with :math:`\gamma_2=0` the latent is a point).
    """
    gamma1, gamma2 = check_gammas(gamma1, gamma2)
    if gamma2 == 0.0:
        raise ValueError("gamma2 must be positive for the modulated Gaussian to have a density")
    for name, t in (("mean", mean), ("log_var", log_var), ("h", h)):
        check_tensor(t, name, finite=False)
    broadcast_batch_shape(1, mean=mean, log_var=log_var, h=h)
    return mean + gamma1 * torch.exp(0.5 * log_var) * h, log_var + 2.0 * math.log(gamma2)


# --- Eq. 3–6: moments ---------------------------------------------------------------------------


def modulation_moments(
    mean: Tensor, std: Tensor, h_mean: Tensor, h_std: Tensor, gamma1: float, gamma2: float
) -> tuple[Tensor, Tensor]:
    r"""Mean and variance of :math:`\ddot z_{st}` when :math:`h_t\sim\mathcal N(\mu_{h_t},\sigma_{h_t}^2)` (Eq. 3–4).

    .. math:: \mathbb E[\ddot z^i_{st}] = \mu^i_s + \gamma_1\sigma^i_s\mu^i_{h_t},\qquad
        \operatorname{Var}[\ddot z^i_{st}] = (\sigma^i_s)^2\big[\gamma_1^2(\sigma^i_{h_t})^2 + \gamma_2^2\big]

    elementwise, with :math:`h_t` independent of :math:`\varepsilon`. The last line of Eq. 3 prints
    :math:`\mu_{h_s}`; :math:`\mu_{h_t}` is what the derivation gives. ``std`` and ``h_std`` are standard
    deviations (``h_std`` may be 0).
    """
    gamma1, gamma2 = check_gammas(gamma1, gamma2)
    _check_std(("mean", mean), ("std", std), ("h_mean", h_mean), ("h_std", h_std))
    if bool((h_std < 0).any()):
        raise ValueError("h_std must be non-negative")
    return mean + gamma1 * std * h_mean, std.square() * (gamma1**2 * h_std.square() + gamma2**2)


def idealized_transfer_moments(
    mean_s: Tensor, std_s: Tensor, mean_t: Tensor, std_t: Tensor, gamma1: float
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""The idealised moments of Eq. 5–6: :math:`(\mu_{st},\sigma_{st},\mu_{ts},\sigma_{ts})`.

    .. math:: \mu_{st} = \mu_s + \gamma_1\mu_t,\quad \mu_{ts} = \mu_t + \gamma_1\mu_s,\quad
        \sigma_{st} = \sigma_{ts} = \gamma_1\sigma_s\sigma_t

    obtained from Eq. 3–4 by assuming :math:`\mu_{h}\approx\mu`, :math:`\sigma_h\approx\sigma` of the other
    domain, :math:`\gamma_1\gg\gamma_2` (drop :math:`\gamma_2^2`) and, for the means only,
    :math:`\sigma\approx1`; the seed keeps :math:`\sigma_s` in Eq. 6 and so does this function.
    """
    gamma1 = check_real(gamma1, "gamma1", minimum=0.0, strict=True)
    _check_std(("mean_s", mean_s), ("std_s", std_s), ("mean_t", mean_t), ("std_t", std_t))
    std = gamma1 * std_s * std_t
    return mean_s + gamma1 * mean_t, std, mean_t + gamma1 * mean_s, std


# --- Eq. 7–14: KL reductions ----------------------------------------------------------------------


def domain_kl(mean_a: Tensor, std_a: Tensor, mean_b: Tensor, std_b: Tensor) -> Tensor:
    r""":math:`D_{KL}(a\|b)` between diagonal Gaussians given by standard deviations, summed over the last axis (Eq. 7).

    .. math:: \tfrac12\sum_i\Big[2\log\frac{\sigma_b^i}{\sigma_a^i} + \Big(\frac{\mu_a^i-\mu_b^i}{\sigma_b^i}\Big)^2
        + \Big(\frac{\sigma_a^i}{\sigma_b^i}\Big)^2 - 1\Big]

    This is :func:`~gi_core.maths.gaussians.kl_diag_gaussians` with :math:`\log\sigma^2 = 2\log\sigma`.
    """
    _check_std(("mean_a", mean_a), ("std_a", std_a), ("mean_b", mean_b), ("std_b", std_b))
    return kl_diag_gaussians(mean_a, 2.0 * torch.log(std_a), mean_b, 2.0 * torch.log(std_b))


def full_modulation_kl_ratio(gamma1: float) -> float:
    r"""The factor of Eq. 10, :math:`D_{KL}(st\|ts) = \big(\frac{1-\gamma_1}{\gamma_1}\big)^2 D_{KL}(s\|t)`.

    Below 1 exactly when :math:`\gamma_1>\tfrac12` (modulation shrinks the gap); 0 at the paper's
    :math:`\gamma_1=1`, where :math:`\mu_{st}=\mu_{ts}=\mu_s+\mu_t`.
    """
    gamma1 = check_real(gamma1, "gamma1", minimum=0.0, strict=True)
    return ((1.0 - gamma1) / gamma1) ** 2


def full_modulation_kl(mean_s: Tensor, mean_t: Tensor, std_t: Tensor, gamma1: float) -> Tensor:
    r""":math:`D_{KL}(st\|ts)` of the idealised modulated latents with :math:`\sigma_s=1` (Eq. 9).

    .. math:: D_{KL}(st\|ts) = \tfrac12\sum_i\frac{\big[(1-\gamma_1)(\mu^i_s-\mu^i_t)\big]^2}{(\gamma_1\sigma^i_t)^2}

    (the seed's Eq. 9 drops the :math:`\sum_i`). The two latents share the variance
    :math:`(\gamma_1\sigma_t)^2` and their means differ by :math:`(1-\gamma_1)(\mu_s-\mu_t)`. With
    :math:`\sigma_t=1` as well this is :func:`full_modulation_kl_ratio` times Eq. 8,
    :math:`D_{KL}(s\|t)=\tfrac12\sum_i(\mu^i_s-\mu^i_t)^2`: Eq. 10.
    """
    ratio = full_modulation_kl_ratio(gamma1)
    _check_std(("mean_s", mean_s), ("mean_t", mean_t), ("std_t", std_t))
    return 0.5 * (ratio * (mean_s - mean_t).square() / std_t.square()).sum(-1)


def partial_modulation_moments(
    mean_s: Tensor, std_s: Tensor, mean_t: Tensor, std_t: Tensor, variant: str = "pm1"
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Moments :math:`(\mu_{st},\sigma_{st},\mu_{ts},\sigma_{ts})` of the partial modulations (Eq. 11, 15).

    ``"pm1"`` (Eq. 11): :math:`\ddot z_{st}=\mu_s+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon`,
    :math:`\ddot z_{ts}=\mu_t+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon`.
    ``"pm2"`` (Eq. 15): :math:`\ddot z_{st}=\mu_s+\sigma_t\odot\varepsilon`, :math:`\ddot z_{ts}=\mu_t+\sigma_s\odot\varepsilon`.
    Only second moments cross between the domains.
    """
    check_choice(variant, ("pm1", "pm2"), "partial modulation variant")
    _check_std(("mean_s", mean_s), ("std_s", std_s), ("mean_t", mean_t), ("std_t", std_t))
    if variant == "pm1":
        shared = 0.5 * (std_s + std_t)
        return mean_s, shared, mean_t, shared
    return mean_s, std_t, mean_t, std_s


def symmetric_kl(mean_a: Tensor, std_a: Tensor, mean_b: Tensor, std_b: Tensor) -> Tensor:
    r""":math:`D_{KL}(a\|b) + D_{KL}(b\|a)` (left-hand side of Eq. 13), summed over the last axis.

    .. math:: \tfrac12\sum_i\Big[(\mu_a^i-\mu_b^i)^2\Big(\frac1{(\sigma_a^i)^2}+\frac1{(\sigma_b^i)^2}\Big)
        + \Big(\frac{\sigma_a^i}{\sigma_b^i}\Big)^2 + \Big(\frac{\sigma_b^i}{\sigma_a^i}\Big)^2 - 2\Big]

    (the log terms cancel). For PM2 the value equals that of the unmodulated pair: PM2 preserves the gap.
    """
    return domain_kl(mean_a, std_a, mean_b, std_b) + domain_kl(mean_b, std_b, mean_a, std_a)


def symmetric_kl_lower_bound(mean_s: Tensor, std_s: Tensor, mean_t: Tensor, std_t: Tensor) -> Tensor:
    r"""The lower bound of Eq. 13, :math:`\tfrac12\sum_i(\mu^i_s-\mu^i_t)^2\big(1/(\sigma^i_s)^2+1/(\sigma^i_t)^2\big)`.

    :func:`symmetric_kl` exceeds it by :math:`\tfrac12\sum_i[(\sigma_s/\sigma_t)^2+(\sigma_t/\sigma_s)^2-2]\ge0`.
    """
    _check_std(("mean_s", mean_s), ("std_s", std_s), ("mean_t", mean_t), ("std_t", std_t))
    return 0.5 * ((mean_s - mean_t).square() * (std_s.pow(-2) + std_t.pow(-2))).sum(-1)


def pm1_symmetric_kl(mean_s: Tensor, std_s: Tensor, mean_t: Tensor, std_t: Tensor) -> Tensor:
    r""":math:`D_{KL}(st\|ts)+D_{KL}(ts\|st)` under PM1, twice Eq. 12: :math:`\sum_i 4\big(\frac{\mu^i_s-\mu^i_t}{\sigma^i_s+\sigma^i_t}\big)^2`.

    Eq. 14: it never exceeds :func:`symmetric_kl` of the unmodulated domains, by the chain
    :math:`\frac4{(\sigma_s+\sigma_t)^2}\le\frac1{\sigma_s\sigma_t}\le\frac12\big(\frac1{\sigma_s^2}+\frac1{\sigma_t^2}\big)`
    (AM–GM twice) and :func:`symmetric_kl_lower_bound`.
    """
    _check_std(("mean_s", mean_s), ("std_s", std_s), ("mean_t", mean_t), ("std_t", std_t))
    return (4.0 * ((mean_s - mean_t) / (std_s + std_t)).square()).sum(-1)


def transfer_latents(
    mean_s: Tensor, log_var_s: Tensor, h_s: Tensor, mean_t: Tensor, log_var_t: Tensor, h_t: Tensor,
    gamma1: float = 1.0, gamma2: float = 0.1, modulation: str = "full",
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    r"""Conditional Gaussians :math:`(\mu, \log\operatorname{var})` of :math:`\ddot z_{st}` and :math:`\ddot z_{ts}`.

    ``"full"``: :func:`modulated_gaussian` of Eq. 1–2 (source moments with :math:`h_t`, target moments
    with :math:`h_s`); ``"pm1"``/``"pm2"``: :func:`partial_modulation_moments` (Eq. 11, 15; :math:`h`
    unused). Rows of the two domains are paired: row :math:`i` of the source is modulated by row :math:`i`
    of the target. Returns ``(mean_st, log_var_st, mean_ts, log_var_ts)``.
    """
    check_choice(modulation, MODULATIONS, "modulation")
    check_gammas(gamma1, gamma2)
    tensors = {"mean_s": mean_s, "log_var_s": log_var_s, "h_s": h_s, "mean_t": mean_t, "log_var_t": log_var_t, "h_t": h_t}
    for name, t in tensors.items():
        check_tensor(t, name, finite=False)
    check_same_shape(**tensors)  # paired rows
    if modulation == "full":
        return (*modulated_gaussian(mean_s, log_var_s, h_t, gamma1, gamma2),
                *modulated_gaussian(mean_t, log_var_t, h_s, gamma1, gamma2))
    if modulation == "pm1":
        shared = 2.0 * torch.log(0.5 * (torch.exp(0.5 * log_var_s) + torch.exp(0.5 * log_var_t)))
        return mean_s, shared, mean_t, shared
    return mean_s, log_var_t, mean_t, log_var_s
