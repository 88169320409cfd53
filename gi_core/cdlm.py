r"""Cross-domain latent modulation (CDLM; Hou et al., seed 003): modulated reparameterization, its moments, KL
reductions, and the model with its objective and update rules.

A shared encoder maps an image :math:`x` to the moments :math:`(\mu,\sigma)` of a diagonal Gaussian and to a
deep representation :math:`h=\operatorname{sigmoid}(W_hh'+b_h)\in(0,1)^d` of the latent's dimension. The
reparameterization noise of one domain is replaced by the other domain's representation plus a little noise
(seed 003 Eq. 1–2):

.. math:: \ddot z_{st} = \mu_s + \sigma_s\odot(\gamma_1 h_t + \gamma_2\varepsilon),\qquad
    \ddot z_{ts} = \mu_t + \sigma_t\odot(\gamma_1 h_s + \gamma_2\varepsilon),\qquad \varepsilon\sim\mathcal N(0,I).

:math:`\gamma_1=0,\gamma_2=1` is the plain VAE reparameterization. Standard deviations are written
:math:`\sigma`; the analysis functions take them directly (``std``), the model works with log-variances as
the rest of :mod:`gi_core` does.

Typos and ambiguities of the seed, and what is implemented instead (each is said again where it applies):

* Eq. 3 ends with :math:`\mu_{h_s}`; the derivation gives :math:`\mu_{h_t}` (:func:`modulation_moments`).
* Eq. 5 uses :math:`\sigma_s\approx1` but Eq. 6 keeps :math:`\sigma_s`; both are kept as printed
  (:func:`idealized_transfer_moments`), and the KL ratio of Eq. 10 holds exactly only for
  :math:`\sigma_s=\sigma_t=1` (:func:`full_modulation_kl`).
* Eq. 9 drops the :math:`\sum_i` on its right-hand side.
* Eq. 13 writes :math:`\tfrac12(\log\frac{\sigma_t}{\sigma_s}+\log\frac{\sigma_s}{\sigma_t})`; from Eq. 7 the
  factor is 1, not :math:`\tfrac12`. The two logs cancel either way, so the inequality stands.
* Eq. 18 writes :math:`\mathrm{KL}(\log q_\phi\ldots)`; the log is spurious.
* Eq. 17–18 are maximised while Eq. 21–22 minimise :math:`\mathcal L_{Rec}` and :math:`\mathcal L_{KL}`; here
  :math:`\mathcal L_{Rec}=-\log p_\theta(x_s|\ddot z_{st})` and :math:`\mathcal L_{KL}` are costs.
* Eq. 20 squares a difference of two expected log-likelihoods (scalars); the text says the consistency is the
  mean squared error between the two decoded images, which is what :class:`CDLM` computes.
* Eq. 21 descends :math:`\nabla_\phi\mathcal L_{adv}`; the encoder must *ascend* the domain loss, which it
  does because :math:`\mathcal L_{adv}` is computed through the gradient reversal layer (seed 003 Eq. 24).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gi_core.adversarial import discriminator_loss
from gi_core.distributions import kl_diag_gaussian_std_normal, kl_diag_gaussians, reparameterize
from gi_core.domain_adaptation import (
    DomainDiscriminator,
    GradientReversal,
    LeNetFeatures,
    balanced_domain_accuracy,
    scale_gradient,
)
from gi_core.evaluation import apply_in_batches, eval_mode
from gi_core.likelihoods import bernoulli_log_likelihood, gaussian_log_likelihood
from gi_core.networks import ConvDecoder, GaussianHead, _conv_sizes, mlp
from gi_core.validation import broadcast_batch_shape, check_labels, check_positive, check_tensor

__all__ = [
    "CDLM",
    "CDLMEncoder",
    "build_cdlm",
    "cdlm_optimizers",
    "cross_modulate",
    "domain_kl",
    "full_modulation_kl",
    "full_modulation_kl_ratio",
    "modulated_gaussian",
    "modulation_moments",
    "idealized_transfer_moments",
    "partial_modulation_moments",
    "pm1_symmetric_kl",
    "symmetric_kl",
    "symmetric_kl_lower_bound",
    "transfer_latents",
]

MODULATIONS = ("full", "pm1", "pm2")


def _check_gammas(gamma1: float, gamma2: float) -> tuple[float, float]:
    gamma1, gamma2 = float(gamma1), float(gamma2)
    for name, value in (("gamma1", gamma1), ("gamma2", gamma2)):
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{name} must be finite and non-negative, got {value}")
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

    Seed 003 Eq. 1–2 with :math:`h` the *other* domain's representation (given :math:`x_s` and :math:`x_t`,
    :math:`h` is deterministic). Needs :math:`\gamma_2>0` (with :math:`\gamma_2=0` the latent is a point).
    """
    gamma1, gamma2 = _check_gammas(gamma1, gamma2)
    if gamma2 == 0.0:
        raise ValueError("gamma2 must be positive for the modulated Gaussian to have a density")
    for name, t in (("mean", mean), ("log_var", log_var), ("h", h)):
        check_tensor(t, name, finite=False)
    broadcast_batch_shape(1, mean=mean, log_var=log_var, h=h)
    return mean + gamma1 * torch.exp(0.5 * log_var) * h, log_var + 2.0 * math.log(gamma2)


def cross_modulate(
    mean: Tensor, log_var: Tensor, h: Tensor, gamma1: float = 1.0, gamma2: float = 0.1,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""One draw of :math:`\ddot z = \mu + \sigma\odot(\gamma_1 h + \gamma_2\varepsilon)`, seed 003 Eq. 1–2.

    Pass the source moments with the target's :math:`h_t` for :math:`\ddot z_{st}` (Eq. 1) and the target
    moments with :math:`h_s` for :math:`\ddot z_{ts}` (Eq. 2). It is :func:`~gi_core.distributions.reparameterize`
    applied to :func:`modulated_gaussian`; with :math:`\gamma_2=0` it returns :math:`\mu+\gamma_1\sigma\odot h`.
    Gradients reach ``mean``, ``log_var`` and ``h``.
    """
    gamma1, gamma2 = _check_gammas(gamma1, gamma2)
    if gamma2 == 0.0:
        for name, t in (("mean", mean), ("log_var", log_var), ("h", h)):
            check_tensor(t, name, finite=False)
        broadcast_batch_shape(1, mean=mean, log_var=log_var, h=h)
        return mean + gamma1 * torch.exp(0.5 * log_var) * h
    m, lv = modulated_gaussian(mean, log_var, h, gamma1, gamma2)
    return reparameterize(*torch.broadcast_tensors(m, lv), generator=generator)


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
    gamma1, gamma2 = _check_gammas(gamma1, gamma2)
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
    if not (math.isfinite(float(gamma1)) and gamma1 > 0):
        raise ValueError(f"gamma1 must be finite and positive, got {gamma1}")
    _check_std(("mean_s", mean_s), ("std_s", std_s), ("mean_t", mean_t), ("std_t", std_t))
    std = gamma1 * std_s * std_t
    return mean_s + gamma1 * mean_t, std, mean_t + gamma1 * mean_s, std


# --- Eq. 7–14: KL reductions ----------------------------------------------------------------------


def domain_kl(mean_a: Tensor, std_a: Tensor, mean_b: Tensor, std_b: Tensor) -> Tensor:
    r""":math:`D_{KL}(a\|b)` between diagonal Gaussians given by standard deviations, summed over the last axis (Eq. 7).

    .. math:: \tfrac12\sum_i\Big[2\log\frac{\sigma_b^i}{\sigma_a^i} + \Big(\frac{\mu_a^i-\mu_b^i}{\sigma_b^i}\Big)^2
        + \Big(\frac{\sigma_a^i}{\sigma_b^i}\Big)^2 - 1\Big]

    This is :func:`~gi_core.distributions.kl_diag_gaussians` with :math:`\log\sigma^2 = 2\log\sigma`.
    """
    _check_std(("mean_a", mean_a), ("std_a", std_a), ("mean_b", mean_b), ("std_b", std_b))
    return kl_diag_gaussians(mean_a, 2.0 * torch.log(std_a), mean_b, 2.0 * torch.log(std_b))


def full_modulation_kl_ratio(gamma1: float) -> float:
    r"""The factor of Eq. 10, :math:`D_{KL}(st\|ts) = \big(\frac{1-\gamma_1}{\gamma_1}\big)^2 D_{KL}(s\|t)`.

    Below 1 exactly when :math:`\gamma_1>\tfrac12` (modulation shrinks the gap); 0 at the paper's
    :math:`\gamma_1=1`, where :math:`\mu_{st}=\mu_{ts}=\mu_s+\mu_t`.
    """
    gamma1 = float(gamma1)
    if not (math.isfinite(gamma1) and gamma1 > 0):
        raise ValueError(f"gamma1 must be finite and positive, got {gamma1}")
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
    if variant not in ("pm1", "pm2"):
        raise ValueError(f"variant must be 'pm1' or 'pm2', got {variant!r}")
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
    if modulation not in MODULATIONS:
        raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
    shapes = {tuple(t.shape) for t in (mean_s, log_var_s, h_s, mean_t, log_var_t, h_t)}
    if len(shapes) != 1:
        raise ValueError(f"source and target moments and representations must share one shape (paired rows), got {sorted(shapes)}")
    if modulation == "full":
        return (*modulated_gaussian(mean_s, log_var_s, h_t, gamma1, gamma2),
                *modulated_gaussian(mean_t, log_var_t, h_s, gamma1, gamma2))
    if modulation == "pm1":
        shared = 2.0 * torch.log(0.5 * (torch.exp(0.5 * log_var_s) + torch.exp(0.5 * log_var_t)))
        return mean_s, shared, mean_t, shared
    return mean_s, log_var_t, mean_t, log_var_s


# --- the model (Eq. 16–22) -------------------------------------------------------------------------


class CDLMEncoder(nn.Module):
    r"""CDLM's shared encoder :math:`E_\phi`: :math:`x\mapsto(\mu, \log\sigma^2, h)` (seed 003 §3.1).

    Two stride-2 4×4 convolutions (``channels``, ``2*channels`` maps; :math:`H\to H/4`) give :math:`h'`, the
    flattened last convolutional layer; linear heads give :math:`\mu`, the bounded log-variance (a linear
    map of :math:`h'` for :math:`\log\sigma`, doubled, through
    :func:`~gi_core.distributions.soft_clamp_log_var`; :class:`~gi_core.networks.GaussianHead`) and
    :math:`h=\operatorname{sigmoid}(W_hh'+b_h)` of the latent's dimension. The seed uses UNIT's encoder,
    whose layers it does not list; this smaller network is the book's choice for CPU runs.
    """

    def __init__(self, input_shape: Sequence[int], latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        if len(input_shape) != 3 or min(input_shape) < 1 or latent_dim < 1 or channels < 1:
            raise ValueError(f"need input_shape (C, H, W), latent_dim >= 1 and channels >= 1, got "
                             f"{tuple(input_shape)}, {latent_dim}, {channels}")
        self.input_shape = tuple(int(s) for s in input_shape)
        c, height, width = self.input_shape
        features = 2 * channels * _conv_sizes(height) * _conv_sizes(width)
        self.latent_dim = int(latent_dim)
        self.body = nn.Sequential(
            nn.Conv2d(c, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = GaussianHead(features, latent_dim)
        self.representation = nn.Linear(features, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"encoder expects inputs of shape (B, {self.input_shape}), got {tuple(x.shape)}")
        hidden = self.body(x)
        mean, log_var = self.head(hidden)
        return mean, log_var, torch.sigmoid(self.representation(hidden))


class CDLM(nn.Module):
    r"""Cross-domain latent modulation for unsupervised domain adaptation (seed 003 §3–4).

    Parts: ``encoder`` :math:`E_\phi(x)\to(\mu,\log\sigma^2,h)` shared by both domains, ``decoder``
    :math:`D_\theta` of the source ("desired") domain returning the raw image (Bernoulli logits, or a
    Gaussian mean after a sigmoid), ``discriminator`` :math:`\Xi` on :math:`h` behind the gradient
    reversal layer ``grl``, and ``classifier`` (class logits of images). Per batch of paired source and
    target images (:meth:`training_loss`):

    * :math:`\ddot z_{st},\ddot z_{ts}` by Eq. 1–2 (or the partial modulations of Eq. 11/15, ``modulation``);
      the generation codes :math:`g_s=\gamma_1h_s+\gamma_2\varepsilon`, :math:`g_t=\gamma_1h_t+\gamma_2\varepsilon`;
    * :math:`\mathcal L_{Rec} = -\log p_\theta(x_s|\ddot z_{st})`, the source reconstruction (Eq. 18);
    * :math:`\mathcal L_{KL} = \mathrm{KL}(q(\ddot z_{st}|x_s,x_t)\|\mathcal N(0,I)) + \mathrm{KL}(q(\ddot z_{ts}|x_t,x_s)\|\mathcal N(0,I))`
      (Eq. 18). The seed does not say how it is computed: ``kl="conditional"`` (default, the literal reading)
      uses the Gaussians of :func:`transfer_latents`, :math:`\mathcal N(\mu_s+\gamma_1\sigma_s h_t,(\gamma_2\sigma_s)^2)`
      for full modulation; ``kl="encoder"`` uses the ordinary VAE terms on :math:`(\mu_s,\sigma_s)` and
      :math:`(\mu_t,\sigma_t)`;
    * :math:`\mathcal L_{adv}` = the domain cross-entropy of :math:`\Xi(R_\lambda(h))`, source = 1 (Eq. 19, 24);
    * :math:`\mathcal L_c = \beta_1\|D_\theta(\ddot z_{st}) - D_\theta(g_s)\|^2 + \beta_2\|D_\theta(\ddot z_{ts}) - D_\theta(g_t)\|^2`
      on the mean images (Eq. 20 in the MSE form the seed's text chooses);
    * the task classifier's cross-entropy on source labels. Its input is not specified by the seed:
      ``classifier_input="generated"`` uses :math:`D_\theta(g_s)` (the test-time input is
      :math:`D_\theta(g_t)`), ``"source"`` the images :math:`x_s`, ``"both"`` (default) both. The images are
      detached: the classifier trains on its own.

    Reductions: sums over pixels and latent dimensions, means over the batch. The returned ``"loss"``

    .. math:: \mathcal L_{adv} + \lambda_1\mathcal L_{KL} + \mathcal L_{Rec}^{(\lambda_2)} + \mathcal L_c^{(\theta)}
        + \mathcal L_{cls}

    is built so that its gradient with respect to each block is that block's update rule: encoder
    :math:`\nabla_\phi(\mathcal L_{adv}+\lambda_1\mathcal L_{KL}+\lambda_2\mathcal L_{Rec})` (Eq. 21; the
    reconstruction reaches the encoder through :func:`~gi_core.domain_adaptation.scale_gradient` with factor
    :math:`\lambda_2` and at full weight the decoder), decoder :math:`\nabla_\theta(\mathcal L_{Rec}+\mathcal L_c)`
    (Eq. 22; the consistency sees detached codes, so :math:`\phi` gets none of it), discriminator
    :math:`\nabla_\Xi\mathcal L_{adv}`, classifier :math:`\nabla\mathcal L_{cls}`. So one optimizer on
    ``"loss"`` follows Eq. 21–22 exactly; for the seed's two optimizers (SGD with momentum for
    :math:`\phi`, Adam for :math:`\theta`) use :meth:`parameters_by_loss` / :func:`cdlm_optimizers`, which key
    the decoder and classifier to ``"generative_loss"`` = :math:`\mathcal L_{Rec}+\mathcal L_c+\mathcal L_{cls}`.
    ``consistency_to_encoder=True`` lets :math:`\mathcal L_c` reach the encoder too (not in Eq. 21; an
    ablation). Defaults are the seed's: :math:`\gamma_1=1, \gamma_2=0.1, \lambda_1=\lambda_2=10^{-4},
    \beta_1=0.1, \beta_2=0.01`.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        classifier: nn.Module,
        *,
        gamma1: float = 1.0,
        gamma2: float = 0.1,
        lambda1: float = 1e-4,
        lambda2: float = 1e-4,
        beta1: float = 0.1,
        beta2: float = 0.01,
        likelihood: str = "bernoulli",
        obs_scale: float = 1.0,
        modulation: str = "full",
        kl: str = "conditional",
        classifier_input: str = "both",
        consistency_to_encoder: bool = False,
        grl: GradientReversal | None = None,
    ) -> None:
        super().__init__()
        self.gamma1, self.gamma2 = _check_gammas(gamma1, gamma2)
        for name, value in (("lambda1", lambda1), ("lambda2", lambda2), ("beta1", beta1), ("beta2", beta2)):
            if not (math.isfinite(float(value)) and value >= 0):
                raise ValueError(f"{name} must be finite and non-negative, got {value}")
        if likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {likelihood!r}")
        check_positive(obs_scale, "obs_scale")
        if modulation not in MODULATIONS:
            raise ValueError(f"modulation must be one of {MODULATIONS}, got {modulation!r}")
        if kl not in ("conditional", "encoder"):
            raise ValueError(f"kl must be 'conditional' or 'encoder', got {kl!r}")
        if kl == "conditional" and modulation == "full" and self.gamma2 == 0.0:
            raise ValueError("kl='conditional' needs gamma2 > 0 (with gamma2 = 0 the modulated latent has no "
                             "density and its KL is infinite); use kl='encoder'")
        if classifier_input not in ("generated", "source", "both"):
            raise ValueError(f"classifier_input must be 'generated', 'source' or 'both', got {classifier_input!r}")
        self.encoder, self.decoder, self.discriminator, self.classifier = encoder, decoder, discriminator, classifier
        self.grl = grl if grl is not None else GradientReversal(1.0)
        if not isinstance(self.grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal, got {type(self.grl).__name__}")
        self.lambda1, self.lambda2, self.beta1, self.beta2 = float(lambda1), float(lambda2), float(beta1), float(beta2)
        self.likelihood, self.obs_scale = likelihood, float(obs_scale)
        self.modulation, self.kl, self.classifier_input = modulation, kl, classifier_input
        self.consistency_to_encoder = bool(consistency_to_encoder)

    # -- pieces --
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:math:`(\\mu, \\log\\sigma^2, h)` of ``x``."""
        return self.encoder(x)

    def mean_image(self, output: Tensor) -> Tensor:
        """The mean of :math:`p_\\theta(x|z)`: the sigmoid of the decoder output (both likelihoods)."""
        return torch.sigmoid(output)

    def log_likelihood(self, x: Tensor, output: Tensor) -> Tensor:
        """:math:`\\log p_\\theta(x|z)` per example from the decoder output (summed over pixels)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, output)
        return gaussian_log_likelihood(x, self.mean_image(output), self.obs_scale**2)

    def generation_code(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """:math:`\\gamma_1 h + \\gamma_2\\varepsilon`, the decoder input used from :math:`h` alone (Eq. 20, test mode)."""
        if self.gamma2 == 0.0:
            return self.gamma1 * h
        noise = torch.randn(h.shape, generator=generator, dtype=h.dtype, device=h.device)
        return self.gamma1 * h + self.gamma2 * noise

    def _sample(self, mean: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.modulation == "full" and self.gamma2 == 0.0:
            return mean  # the conditional latent is a point (log_var = -inf)
        return reparameterize(mean, log_var, generator=generator)

    def modulated_latents(self, source_x: Tensor, target_x: Tensor) -> tuple[Tensor, Tensor]:
        """One draw of :math:`(\\ddot z_{st}, \\ddot z_{ts})` for paired source and target images (for plots)."""
        (ms, lvs, hs), (mt, lvt, ht) = self.encode(source_x), self.encode(target_x)
        m_st, lv_st, m_ts, lv_ts = self._transfer(ms, lvs, hs, mt, lvt, ht)
        return self._sample(m_st, lv_st), self._sample(m_ts, lv_ts)

    def _transfer(self, ms: Tensor, lvs: Tensor, hs: Tensor, mt: Tensor, lvt: Tensor, ht: Tensor) -> tuple[Tensor, ...]:
        if self.modulation == "full" and self.gamma2 == 0.0:
            # no density: the point mu + gamma1 * sigma * h, with a placeholder log-variance
            return (ms + self.gamma1 * torch.exp(0.5 * lvs) * ht, torch.full_like(lvs, -math.inf),
                    mt + self.gamma1 * torch.exp(0.5 * lvt) * hs, torch.full_like(lvt, -math.inf))
        return transfer_latents(ms, lvs, hs, mt, lvt, ht, self.gamma1, self.gamma2, self.modulation)

    # -- training --
    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: encoder and discriminator (Eq. 21); ``"generative_loss"``: decoder and classifier (Eq. 22)."""
        return {
            "loss": [*self.encoder.parameters(), *self.discriminator.parameters()],
            "generative_loss": [*self.decoder.parameters(), *self.classifier.parameters()],
        }

    def training_loss(self, source_x: Tensor, source_y: Tensor, target_x: Tensor) -> dict[str, Tensor]:
        """``"loss"``, ``"generative_loss"`` (see the class docstring) and every term, detached.

        Terms: ``rec_loss``, ``kl_loss``, ``adv_loss``, ``consistency_source`` and ``consistency_target``
        (unweighted), ``consistency_loss`` (weighted), ``class_loss``, ``inference_loss`` (the Eq. 21
        objective's value), ``domain_accuracy`` (balanced, of :math:`\\Xi` on :math:`h`) and ``grl_lambda``.
        Source and target batches must have the same size (rows are paired by the modulation).
        """
        check_tensor(source_x, "source_x", finite=False)
        check_tensor(target_x, "target_x", finite=False)
        if source_x.shape != target_x.shape:
            raise ValueError(f"source and target batches must have one shape (rows are paired), got "
                             f"{tuple(source_x.shape)} and {tuple(target_x.shape)}")
        check_labels(source_y, source_x.shape[0], "source_y")
        if self.training:
            self.grl.advance()
        n = source_x.shape[0]
        mean, log_var, h = self.encode(torch.cat([source_x, target_x]))
        ms, mt, lvs, lvt, hs, ht = mean[:n], mean[n:], log_var[:n], log_var[n:], h[:n], h[n:]
        m_st, lv_st, m_ts, lv_ts = self._transfer(ms, lvs, hs, mt, lvt, ht)
        z_st, z_ts = self._sample(m_st, lv_st), self._sample(m_ts, lv_ts)
        g_s, g_t = self.generation_code(hs), self.generation_code(ht)

        # L_Rec: full weight for the decoder, lambda2 for the encoder (Eq. 21-22)
        rec = -self.log_likelihood(source_x, self.decoder(scale_gradient(z_st, self.lambda2))).mean()
        # L_KL (Eq. 18)
        if self.kl == "conditional":
            kl = kl_diag_gaussian_std_normal(m_st, lv_st) + kl_diag_gaussian_std_normal(m_ts, lv_ts)
        else:
            kl = kl_diag_gaussian_std_normal(ms, lvs) + kl_diag_gaussian_std_normal(mt, lvt)
        kl = kl.mean()
        # L_adv through the GRL (Eq. 19, 24)
        logits = self.discriminator(self.grl(h))
        adv = discriminator_loss(logits[:n], logits[n:], "standard")
        # L_c on decoded mean images (Eq. 20); codes detached unless consistency_to_encoder
        codes = torch.cat([z_st, g_s, z_ts, g_t])
        images = self.mean_image(self.decoder(codes if self.consistency_to_encoder else codes.detach()))
        img_st, img_gs, img_ts, img_gt = images.split(n)
        cons_s = (img_st - img_gs).square().flatten(1).sum(1).mean()
        cons_t = (img_ts - img_gt).square().flatten(1).sum(1).mean()
        consistency = self.beta1 * cons_s + self.beta2 * cons_t
        # the task classifier, on detached images with source labels
        inputs = {"generated": [img_gs], "source": [source_x], "both": [source_x, img_gs]}[self.classifier_input]
        class_loss = sum(nn.functional.cross_entropy(self.classifier(x.detach()), source_y) for x in inputs) / len(inputs)

        generative = rec + consistency + class_loss
        with torch.no_grad():
            inference = adv + self.lambda1 * kl + self.lambda2 * rec
        return {
            "loss": adv + self.lambda1 * kl + generative,
            "generative_loss": generative,
            "inference_loss": inference,
            "rec_loss": rec.detach(),
            "kl_loss": kl.detach(),
            "adv_loss": adv.detach(),
            "consistency_loss": consistency.detach(),
            "consistency_source": cons_s.detach(),
            "consistency_target": cons_t.detach(),
            "class_loss": class_loss.detach(),
            "domain_accuracy": balanced_domain_accuracy(logits[:n], logits[n:]),
            "grl_lambda": self.grl.coefficient.detach().clone(),
        }

    # -- evaluation --
    def translate(self, x: Tensor, noise: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """Source-style images :math:`\\tilde x = D_\\theta(\\gamma_1h + \\gamma_2\\varepsilon)` of ``x`` (seed 003 test mode).

        ``noise=False`` drops :math:`\\gamma_2\\varepsilon` (the seed keeps it; Table 6 shows it hardly matters).
        """
        h = self.encode(x)[2]
        code = self.generation_code(h, generator) if noise else self.gamma1 * h
        return self.mean_image(self.decoder(code))

    def predict(self, x: Tensor, batch_size: int = 1024, noise: bool = True) -> Tensor:
        """Classes of target images: the classifier applied to :meth:`translate` (CPU, evaluation mode, no gradients)."""
        with eval_mode(self):
            return apply_in_batches(lambda b: self.classifier(self.translate(b, noise)).argmax(-1), x, batch_size)

    def features(self, x: Tensor) -> Tensor:
        """The deep representation :math:`h` (differentiable)."""
        return self.encode(x)[2]

    def embed(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """:math:`h` of ``x`` on the CPU without gradients (t-SNE, A-distance)."""
        with eval_mode(self):
            return apply_in_batches(self.features, x, batch_size)


def build_cdlm(
    image_shape: Sequence[int] = (1, 28, 28),
    latent_dim: int = 64,
    num_classes: int = 10,
    channels: int = 32,
    schedule_steps: int | None = None,
    gamma: float = 10.0,
    lambda_max: float = 1.0,
    **options: object,
) -> CDLM:
    """CDLM with :class:`CDLMEncoder`, :class:`~gi_core.networks.ConvDecoder`, a 2-layer discriminator on :math:`h`
    (100 hidden units) and a :class:`~gi_core.domain_adaptation.LeNetFeatures` classifier (100 → 100 → classes).

    The GRL follows ``lambda_max`` × :func:`~gi_core.domain_adaptation.grl_schedule` over ``schedule_steps``
    steps when given (the seed gives no coefficient), else stays at ``lambda_max``. ``options`` go to :class:`CDLM` (``gamma1``, ``kl``, ...).
    """
    shape = tuple(int(s) for s in image_shape)
    features = LeNetFeatures(shape[0], shape[1])
    classifier = nn.Sequential(features, mlp([features.out_features, 100, 100, num_classes]))
    return CDLM(
        CDLMEncoder(shape, latent_dim, channels),
        ConvDecoder(latent_dim, shape, channels),
        DomainDiscriminator(latent_dim, (100,)),
        classifier,
        grl=GradientReversal(lambda_max, schedule_steps=schedule_steps, gamma=gamma),
        **options,  # type: ignore[arg-type]
    )


def cdlm_optimizers(
    model: CDLM, lr_inference: float = 0.01, momentum: float = 0.9, lr_generative: float = 1e-3
) -> dict[str, torch.optim.Optimizer]:
    """The seed's optimizers (§5) keyed for :class:`~gi_core.trainer.Trainer`: SGD with momentum for the encoder
    and discriminator on ``"loss"``, Adam for the decoder and classifier on ``"generative_loss"``.

    The seed gives no learning rates or momentum; these defaults are the book's.
    """
    groups = model.parameters_by_loss()
    return {
        "loss": torch.optim.SGD(groups["loss"], lr=lr_inference, momentum=momentum),
        "generative_loss": torch.optim.Adam(groups["generative_loss"], lr=lr_generative),
    }
