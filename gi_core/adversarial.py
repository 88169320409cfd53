r"""Adversarial training pieces: GAN losses on logits, the optimal discriminator, the density-ratio trick, Dirac-GAN.

Convention (the thesis's, seed 002 Eq. 2.1–2.2 and 4.1): the discriminator tells samples of the
inference side :math:`q` (the data, label 1, "real") from samples of the generative side :math:`p`
(label 0, "fake"). It outputs a logit :math:`\ell`, with :math:`D = \sigma(\ell)`; the generalized GAN
of seed 002 reads

.. math:: \max_D\ \mathbb E_{q}[f(\ell)] + \mathbb E_{p}[g(\ell)],\qquad \min_G\ \mathbb E_{p}[h(\ell)]
    \qquad(2.1\text{–}2.2)

with :math:`f(y) = \log\sigma(y) = -\operatorname{softplus}(-y)` and
:math:`g(y) = \log(1-\sigma(y)) = -\operatorname{softplus}(y)` for the vanilla GAN. Every loss here is
written with ``softplus`` of the logits, so it stays finite for logits of any size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gi_core.decompositions import categorical_kl, check_probability_table
from gi_core.distributions import diag_gaussian_log_prob
from gi_core.validation import check_positive, check_same_shape, check_tensor

_F64 = torch.float64
DISCRIMINATOR_LOSSES = ("standard", "hinge")
GENERATOR_LOSSES = ("saturating", "non_saturating", "hinge")


def _check_kind(kind: str, allowed: tuple[str, ...], what: str) -> None:
    if kind not in allowed:
        raise ValueError(f"unknown {what} {kind!r}; choose one of {', '.join(allowed)}")


def _check_logits(logits: Tensor, name: str) -> None:
    check_tensor(logits, name, finite=False)
    if logits.numel() == 0:
        raise ValueError(f"{name} is empty")


# --- losses on logits -------------------------------------------------------------------------


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, kind: str = "standard") -> Tensor:
    r"""Discriminator loss (minimized), from ``real_logits`` (samples of :math:`q`) and ``fake_logits`` (of :math:`p`).

    ``"standard"`` is the negative of seed 002, Eq. 2.1 with :math:`f=\log\sigma`, :math:`g=\log(1-\sigma)`,
    i.e. the binary cross-entropy with labels 1 for :math:`q` and 0 for :math:`p`:

    .. math:: -\mathbb E_q\log\sigma(\ell) - \mathbb E_p\log(1-\sigma(\ell))
        = \mathbb E_q\operatorname{softplus}(-\ell) + \mathbb E_p\operatorname{softplus}(\ell)

    ``"hinge"``: :math:`\mathbb E_q\max(0, 1-\ell) + \mathbb E_p\max(0, 1+\ell)`. Each sample set is
    averaged on its own, so the two classes weigh equally whatever the batch sizes.
    """
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    _check_kind(kind, DISCRIMINATOR_LOSSES, "discriminator loss")
    if kind == "standard":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def generator_loss(fake_logits: Tensor, kind: str = "non_saturating") -> Tensor:
    r"""Generator loss (minimized), a batch mean over the logits of generated (:math:`p`) samples.

    - ``"saturating"`` (seed 002, Eq. 2.2 with :math:`h(y) = -y-\log(1+e^{-y}) = \log(1-\sigma(y))`, the
      minimax game): :math:`\mathbb E_p\log(1-\sigma(\ell)) = -\mathbb E_p\operatorname{softplus}(\ell)`.
      Its gradient vanishes when the discriminator rejects the samples confidently (:math:`\ell\ll0`).
    - ``"non_saturating"`` (seed 004, §2.1):
      :math:`-\mathbb E_p\log\sigma(\ell) = \mathbb E_p\operatorname{softplus}(-\ell)`.
    - ``"hinge"``: :math:`-\mathbb E_p\,\ell`.
    """
    _check_logits(fake_logits, "fake_logits")
    _check_kind(kind, GENERATOR_LOSSES, "generator loss")
    if kind == "saturating":
        return -F.softplus(fake_logits).mean()
    if kind == "non_saturating":
        return F.softplus(-fake_logits).mean()
    return -fake_logits.mean()


# --- optimal discriminator and Jensen-Shannon -------------------------------------------------


def optimal_discriminator(q: Tensor, p: Tensor) -> Tensor:
    r"""The Bayes-optimal discriminator :math:`D^*(x) = \frac{q(x)}{q(x)+p(x)}` (seed 004, §2.4), elementwise.

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

    Seed 002, Eq. 2.1 with :math:`f = \log\sigma`, :math:`g = \log(1-\sigma)`, written in probability space.
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

    (seed 004, §2.4). It lies in :math:`[0, \log 2]`.
    """
    _check_pair_of_distributions(q, p)
    mixture = 0.5 * (q + p)
    return 0.5 * (categorical_kl(q, mixture) + categorical_kl(p, mixture))


def value_at_optimal_discriminator(q: Tensor, p: Tensor) -> Tensor:
    r""":math:`V(D^*) = \mathbb E_q\log D^* + \mathbb E_p\log(1-D^*)`, evaluated directly.

    Equals :math:`-\log 4 + 2\,\mathrm{JS}(q\|p)` (seed 004, §2.4), the quantity the generator minimizes
    when the discriminator is optimal.
    """
    return discriminator_value(q, p, optimal_discriminator(q, p))


# --- the density-ratio trick ------------------------------------------------------------------


def gaussian_log_ratio(x: Tensor, q_mean: float, q_std: float, p_mean: float, p_std: float) -> Tensor:
    r"""Exact log density ratio :math:`\log\frac{q(x)}{p(x)}` of two one-dimensional Gaussians.

    Here :math:`q=\mathcal N(\mu_q,\sigma_q^2)` and :math:`p=\mathcal N(\mu_p,\sigma_p^2)`; the ratio is
    a quadratic in :math:`x`, :math:`\log\frac{\sigma_p}{\sigma_q} - \frac{(x-\mu_q)^2}{2\sigma_q^2}
    + \frac{(x-\mu_p)^2}{2\sigma_p^2}`. ``x`` has any shape; the result has the same.
    """
    check_tensor(x, "x")
    check_positive(torch.tensor([q_std, p_std]), "q_std and p_std")
    points = x.unsqueeze(-1)

    def log_density(mean: float, std: float) -> Tensor:
        log_var = torch.full_like(points, 2.0 * math.log(std))
        return diag_gaussian_log_prob(points, torch.full_like(points, mean), log_var)

    return log_density(q_mean, q_std) - log_density(p_mean, p_std)


def _features(x: Tensor, kind: str) -> Tensor:
    """``(N, d)`` samples to ``(N, F)`` features: ``x`` (linear) or ``x`` and all ``x_i x_j, i <= j`` (quadratic)."""
    if kind == "linear":
        return x
    rows, cols = torch.triu_indices(x.shape[1], x.shape[1])
    return torch.cat([x, x[:, rows] * x[:, cols]], dim=1)


def _as_samples(x: Tensor, name: str) -> Tensor:
    check_tensor(x, name, ndim=(1, 2))
    samples = x.to(_F64)
    return samples.unsqueeze(1) if samples.dim() == 1 else samples


@dataclass(frozen=True)
class DensityRatioEstimate:
    r"""A fitted logistic discriminator; calling it returns its logit, an estimate of :math:`\log q(x)/p(x)`.

    ``weight`` (F,) and ``bias`` act on standardized features
    :math:`(\phi(x) - \text{feature\_mean})/\text{feature\_scale}`; ``features`` is ``"linear"`` or
    ``"quadratic"``, ``dim`` the sample dimension (``x`` of shape ``(N,)`` when ``dim`` is 1, else ``(N, dim)``).
    The logits are float64 and differentiable in ``x``.
    """

    weight: Tensor
    bias: Tensor
    feature_mean: Tensor
    feature_scale: Tensor
    features: str
    dim: int

    def __call__(self, x: Tensor) -> Tensor:
        samples = _as_samples(x, "x")
        if samples.shape[1] != self.dim:
            raise ValueError(f"x must have {self.dim} coordinate(s) per sample, got shape {tuple(x.shape)}")
        standardized = (_features(samples, self.features) - self.feature_mean) / self.feature_scale
        return standardized @ self.weight + self.bias


def fit_density_ratio(
    x_q: Tensor, x_p: Tensor, features: str = "quadratic", steps: int = 200, lr: float = 1.0
) -> DensityRatioEstimate:
    r"""The density-ratio trick: a logistic discriminator of :math:`q` (label 1) versus :math:`p` (label 0).

    The Bayes-optimal logit is :math:`\log\frac{D^*}{1-D^*} = \log\frac{q(x)}{p(x)}` (:func:`optimal_discriminator`),
    so minimizing :func:`discriminator_loss` (``"standard"``) over the logits
    :math:`\ell(x) = w^\top\phi(x) + c` estimates the log density ratio wherever the family contains it:
    features :math:`\phi(x) = (x_i, x_ix_j)_{i\le j}` (``"quadratic"``) hold the log-ratio of any two
    Gaussians exactly. The loss averages each class on its own (balanced classes): with a pooled
    mean over unequal sample sizes the optimum would be :math:`\log\frac{q}{p} + \log\frac{n_q}{n_p}`,
    which would need a :math:`\log(n_p/n_q)` correction. This is the estimator behind AVB and the
    symmetric-KL discriminators (seed 001, Eq. 10–13).

    ``x_q`` and ``x_p``: samples ``(N,)`` or ``(N, d)``, cast to float64. Features are standardized with
    the pooled mean and standard deviation, then a full-batch L-BFGS (strong-Wolfe line search; the
    problem is convex) runs for at most ``steps`` iterations with step length ``lr``.
    """
    _check_kind(features, ("linear", "quadratic"), "features")
    samples_q, samples_p = _as_samples(x_q, "x_q").detach(), _as_samples(x_p, "x_p").detach()
    if samples_q.shape[1] != samples_p.shape[1]:
        raise ValueError(f"x_q and x_p must have the same dimension, got {tuple(x_q.shape)} and {tuple(x_p.shape)}")
    if samples_q.shape[0] < 2 or samples_p.shape[0] < 2:
        raise ValueError("x_q and x_p need at least 2 samples each")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be finite and positive, got {lr}")
    phi_q, phi_p = _features(samples_q, features), _features(samples_p, features)
    pooled = torch.cat([phi_q, phi_p])
    mean, scale = pooled.mean(0), pooled.std(0).clamp_min(1e-12)
    phi_q, phi_p = (phi_q - mean) / scale, (phi_p - mean) / scale
    weight = torch.zeros(pooled.shape[1], dtype=_F64, requires_grad=True)
    bias = torch.zeros((), dtype=_F64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=lr, max_iter=steps, tolerance_grad=1e-10, tolerance_change=1e-14,
        history_size=20, line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = discriminator_loss(phi_q @ weight + bias, phi_p @ weight + bias, "standard")
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return DensityRatioEstimate(weight.detach(), bias.detach(), mean, scale, features, samples_q.shape[1])


# --- Dirac-GAN --------------------------------------------------------------------------------


def _dirac_gan_gradients(theta: float, psi: float, loss: str, gamma: float, need: str) -> tuple[float, float]:
    r"""Gradients ``(dL_G/dθ, dL_D/dψ)`` of the Dirac-GAN losses by autograd through the loss functions above.

    ``need`` is ``"both"``, ``"generator"`` or ``"discriminator"``; the other entry is returned as 0.
    """
    with torch.enable_grad():
        theta_t = torch.tensor(theta, dtype=_F64, requires_grad=True)
        psi_t = torch.tensor(psi, dtype=_F64, requires_grad=True)
        real_x = torch.zeros(1, dtype=_F64, requires_grad=True)  # the data point, q = δ_0
        real_logits, fake_logits = psi_t * real_x, psi_t * theta_t.reshape(1)
        grad_theta = grad_psi = 0.0
        if need in ("both", "generator"):
            generator_kind = "saturating" if loss == "standard" else "non_saturating"
            (grad,) = torch.autograd.grad(generator_loss(fake_logits, generator_kind), theta_t, retain_graph=True)
            grad_theta = grad.item()
        if need in ("both", "discriminator"):
            d_loss = discriminator_loss(real_logits, fake_logits, "standard")
            if gamma > 0:
                (slope,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True)
                d_loss = d_loss + 0.5 * gamma * slope.square().mean()
            (grad,) = torch.autograd.grad(d_loss, psi_t)
            grad_psi = grad.item()
    return grad_theta, grad_psi


def dirac_gan_trajectory(
    theta0: float,
    psi0: float,
    lr: float,
    steps: int,
    loss: str = "standard",
    regularization: float = 0.0,
    simultaneous: bool = True,
) -> Tensor:
    r"""Gradient-descent trajectory of the Dirac-GAN (Mescheder, Geiger & Nowozin, 2018; seed 004, §2.5).

    Data :math:`q=\delta_0` (label 1), generator :math:`p=\delta_\theta`, linear discriminator logit
    :math:`\ell(x)=\psi x`. The discriminator minimizes :func:`discriminator_loss` plus the R1 penalty
    :math:`\frac\gamma2\mathbb E_q\|\nabla_x\ell\|^2 = \frac\gamma2\psi^2` (``regularization`` = :math:`\gamma`);
    the generator minimizes :func:`generator_loss` (``loss="standard"``: saturating;
    ``"non_saturating"``). For the standard loss the field is

    .. math:: \dot\theta = \psi\,\sigma(\psi\theta),\qquad \dot\psi = -\theta\,\sigma(\psi\theta) - \gamma\psi,

    Mescheder et al. write the game as :math:`f(\psi\theta) + f(0)` with field
    :math:`(-\psi f'(\psi\theta),\ \theta f'(\psi\theta))`; with the data labelled 1 it reads
    :math:`f(-\psi\theta) + f(0)`, the same dynamics under :math:`\psi\to-\psi`. Without R1 the standard
    field conserves :math:`\theta^2+\psi^2` (it circles), its Jacobian at the equilibrium :math:`(0,0)` has
    eigenvalues :math:`\pm i/2`, and simultaneous gradient descent spirals outwards. The non-saturating
    field contracts slowly (:math:`\tfrac{d}{dt}\tfrac12\|\cdot\|^2 = -\theta\psi\tanh(\theta\psi/2)`) and
    the discrete steps settle on a cycle of radius of order :math:`\sqrt{2\,\mathrm{lr}}`. With
    :math:`\gamma>0` the eigenvalues get negative real parts (:math:`\gamma=1`: a double :math:`-\tfrac12`)
    and small steps converge.

    ``simultaneous=True`` updates both players from the same point; ``False`` alternates (discriminator
    first, then the generator against the updated discriminator). Returns ``(steps + 1, 2)`` float64 rows
    :math:`(\theta_t, \psi_t)`, starting at ``(theta0, psi0)``. Gradients come from autograd through the
    loss functions of this module.
    """
    _check_kind(loss, ("standard", "non_saturating"), "Dirac-GAN loss")
    for name, value in (("theta0", theta0), ("psi0", psi0), ("lr", lr), ("regularization", regularization)):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if regularization < 0:
        raise ValueError(f"regularization (the R1 weight gamma) must be non-negative, got {regularization}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    theta, psi = float(theta0), float(psi0)
    path = [(theta, psi)]
    for _ in range(steps):
        if simultaneous:
            grad_theta, grad_psi = _dirac_gan_gradients(theta, psi, loss, regularization, "both")
            theta, psi = theta - lr * grad_theta, psi - lr * grad_psi
        else:
            _, grad_psi = _dirac_gan_gradients(theta, psi, loss, regularization, "discriminator")
            psi = psi - lr * grad_psi
            grad_theta, _ = _dirac_gan_gradients(theta, psi, loss, regularization, "generator")
            theta = theta - lr * grad_theta
        path.append((theta, psi))
    return torch.tensor(path, dtype=_F64)

