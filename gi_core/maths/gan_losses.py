r"""GAN losses on logits, the optimal discriminator and the Jensen–Shannon divergence it measures.

Convention (the thesis's, Astorga 2021, Eq. 2.1–2.2 and 4.1): the discriminator tells samples of the
inference side :math:`q` (the data, label 1, "real") from samples of the generative side :math:`p`
(label 0, "fake"). It outputs a logit :math:`\ell`, with :math:`D = \sigma(\ell)`; the generalized GAN
of Astorga (2021) reads

.. math:: \max_D\ \mathbb E_{q}[f(\ell)] + \mathbb E_{p}[g(\ell)],\qquad \min_G\ \mathbb E_{p}[h(\ell)]
    \qquad(2.1\text{–}2.2)

with :math:`f(y) = \log\sigma(y) = -\operatorname{softplus}(-y)` and
:math:`g(y) = \log(1-\sigma(y)) = -\operatorname{softplus}(y)` for the vanilla GAN. Every loss here is
written with ``softplus`` of the logits, so it stays finite for logits of any size. The density-ratio trick is
:mod:`gi_core.maths.density_ratio`, the Dirac-GAN :mod:`gi_core.maths.dirac_gan`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gi_core.maths.categorical import categorical_kl, check_probability_table
from gi_core.validation import check_choice, check_same_shape, check_tensor

DISCRIMINATOR_LOSSES = ("standard", "hinge")
GENERATOR_LOSSES = ("saturating", "non_saturating", "hinge")


# --- losses on logits -------------------------------------------------------------------------


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "standard") -> Tensor:
    r"""Discriminator loss (minimized), from ``real_logits`` (samples of :math:`q`) and ``fake_logits`` (of :math:`p`).

    ``"standard"`` is the negative of Astorga's (2021) Eq. 2.1 with :math:`f=\log\sigma`, :math:`g=\log(1-\sigma)`,
    i.e. the binary cross-entropy with labels 1 for :math:`q` and 0 for :math:`p`:

    .. math:: -\mathbb E_q\log\sigma(\ell) - \mathbb E_p\log(1-\sigma(\ell))
        = \mathbb E_q\operatorname{softplus}(-\ell) + \mathbb E_p\operatorname{softplus}(\ell)

    ``"hinge"``: :math:`\mathbb E_q\max(0, 1-\ell) + \mathbb E_p\max(0, 1+\ell)`. Each sample set is
    averaged on its own, so the two classes weigh equally whatever the batch sizes.
    """
    check_tensor(real_logits, "real_logits", finite=False)
    check_tensor(fake_logits, "fake_logits", finite=False)
    check_choice(kind, DISCRIMINATOR_LOSSES, "discriminator loss kind")
    if kind == "standard":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_loss(fake_logits: Tensor, kind: str = "non_saturating") -> Tensor:
    r"""Generator loss (minimized), a batch mean over the logits of generated (:math:`p`) samples.

    - ``"saturating"`` (Astorga 2021, Eq. 2.2 with :math:`h(y) = -y-\log(1+e^{-y}) = \log(1-\sigma(y))`, the
      minimax game): :math:`\mathbb E_p\log(1-\sigma(\ell)) = -\mathbb E_p\operatorname{softplus}(\ell)`.
      Its gradient vanishes when the discriminator rejects the samples confidently (:math:`\ell\ll0`).
    - ``"non_saturating"`` (Corro and Sebag 2023, §2.1):
      :math:`-\mathbb E_p\log\sigma(\ell) = \mathbb E_p\operatorname{softplus}(-\ell)`.
    - ``"hinge"``: :math:`-\mathbb E_p\,\ell`.
    """
    check_tensor(fake_logits, "fake_logits", finite=False)
    check_choice(kind, GENERATOR_LOSSES, "generator loss kind")
    if kind == "saturating":
        return -F.softplus(fake_logits).mean()
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


# --- optimal discriminator and Jensen-Shannon -------------------------------------------------


def optimal_discriminator(q: Tensor, p: Tensor) -> Tensor:
    r"""The Bayes-optimal discriminator :math:`D^*(x) = \frac{q(x)}{q(x)+p(x)}`, elementwise (Corro and Sebag 2023,
    §2.4).

    ``q`` and ``p`` are densities or probabilities (non-negative, same shape) at the same points; :math:`q`
    is the label-1 side. Where :math:`q = p = 0` every value is optimal and :math:`\tfrac12` is returned.
    """
    for name, value in (("q", q), ("p", p)):
        check_tensor(value, name)
        if bool((value < 0).any()):
            raise ValueError(f"{name} must be non-negative, got minimum {value.min().item():.4g}")
    check_same_shape(q=q, p=p)
    total = q + p
    positive = total > 0
    return torch.where(positive, q / torch.where(positive, total, torch.ones_like(total)), 0.5)


def _check_pair_of_distributions(q: Tensor, p: Tensor) -> None:
    check_probability_table(q, "q")
    check_probability_table(p, "p")
    check_same_shape(q=q, p=p)


def discriminator_value(q: Tensor, p: Tensor, d: Tensor) -> Tensor:
    r"""The discriminator's objective :math:`V(D) = \mathbb E_q\log D + \mathbb E_p\log(1-D)` on a finite space.

    Astorga's (2021) Eq. 2.1 with :math:`f = \log\sigma`, :math:`g = \log(1-\sigma)`, written in probability space.
    ``q`` and ``p`` are distributions over the last axis, ``d`` the values :math:`D(x)\in[0,1]`
    (same shape); :math:`0\log0 = 0`. Reduces the last axis.
    """
    _check_pair_of_distributions(q, p)
    check_tensor(d, "d")
    check_same_shape(q=q, d=d)
    if bool(((d < 0) | (d > 1)).any()):
        raise ValueError("d must lie in [0, 1]")
    return (torch.special.xlogy(q, d) + torch.special.xlogy(p, 1.0 - d)).sum(-1)


def jensen_shannon(q: Tensor, p: Tensor) -> Tensor:
    r"""Jensen–Shannon divergence (nats) between distributions over the last axis.

    .. math:: \mathrm{JS}(q\|p) = \tfrac12 D_{\mathrm{KL}}(q\|m) + \tfrac12 D_{\mathrm{KL}}(p\|m),\qquad m=\tfrac12(q+p)

    (Corro and Sebag 2023, §2.4). It lies in :math:`[0, \log 2]`.
    """
    _check_pair_of_distributions(q, p)
    mixture = 0.5 * (q + p)
    return 0.5 * (categorical_kl(q, mixture) + categorical_kl(p, mixture))


def value_at_optimal_discriminator(q: Tensor, p: Tensor) -> Tensor:
    r""":math:`V(D^*) = \mathbb E_q\log D^* + \mathbb E_p\log(1-D^*)`, evaluated in log space.

    With :math:`\log D^* = \log q - \log(q+p)` and :math:`\log(1-D^*) = \log p - \log(q+p)` the sum is
    :math:`\sum_x\big[q\log q + p\log p - (q+p)\log(q+p)\big]` (:math:`0\log0 = 0`), finite for any two
    distributions, even where :math:`1-D^* = p/(q+p)` is below the rounding of :math:`1 - q/(q+p)`. Equals
    :math:`-\log 4 + 2\,\mathrm{JS}(q\|p)` (Corro and Sebag 2023, §2.4), the quantity the generator minimizes when the
    discriminator is optimal.
    """
    _check_pair_of_distributions(q, p)
    xlogx = torch.special.xlogy
    return (xlogx(q, q) + xlogx(p, p) - xlogx(q + p, q + p)).sum(-1)


def balanced_domain_accuracy(source_logits: Tensor, target_logits: Tensor) -> Tensor:
    r"""A domain classifier's balanced accuracy :math:`\tfrac12(\Pr_S[\ell>0] + \Pr_T[\ell<0])` (source = 1), detached.

    The logits have any shapes; a NaN logit counts as wrong (the loss on the same logits reaches the trainer's
    guard).
    """
    check_tensor(source_logits, "source_logits", finite=False)
    check_tensor(target_logits, "target_logits", finite=False)
    with torch.no_grad():
        return 0.5 * ((source_logits > 0).float().mean() + (target_logits < 0).float().mean())
