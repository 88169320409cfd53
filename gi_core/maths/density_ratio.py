r"""The density-ratio trick: a logistic discriminator of two samples estimates :math:`\log q(x)/p(x)`.

The Bayes-optimal logit of a discriminator of :math:`q` (label 1) against :math:`p` (label 0) is the log density
ratio (:func:`gi_core.maths.gan_losses.optimal_discriminator`); this is the estimator behind AVB and the
symmetric-KL discriminators (Ruiz et al. 2019, Eq. 10–13). :func:`gaussian_log_ratio` is the exact ratio of two 1-D
Gaussians to check it against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.gaussians import diag_gaussian_log_prob
from gi_core.validation import check_choice, check_positive, check_positive_int, check_real, check_tensor

_F64 = torch.float64


def gaussian_log_ratio(x: Tensor, q_mean: float, q_std: float, p_mean: float, p_std: float) -> Tensor:
    r"""Exact log density ratio :math:`\log\frac{q(x)}{p(x)}` of two one-dimensional Gaussians.

    Here :math:`q=\mathcal N(\mu_q,\sigma_q^2)` and :math:`p=\mathcal N(\mu_p,\sigma_p^2)`; the ratio is
    a quadratic in :math:`x`, :math:`\log\frac{\sigma_p}{\sigma_q} - \frac{(x-\mu_q)^2}{2\sigma_q^2}
    + \frac{(x-\mu_p)^2}{2\sigma_p^2}`. ``x`` has any shape; the result has the same.
    """
    check_tensor(x, "x")
    for name, value in (("q_mean", q_mean), ("p_mean", p_mean)):
        check_real(value, name)
    for name, value in (("q_std", q_std), ("p_std", p_std)):
        check_real(value, name, minimum=0.0, strict=True)
    points = x.unsqueeze(-1)

    def log_density(mean: float, std: float) -> Tensor:
        log_var = torch.full_like(points, 2.0 * math.log(std))
        return diag_gaussian_log_prob(points, torch.full_like(points, mean), log_var)

    return log_density(q_mean, q_std) - log_density(p_mean, p_std)


FEATURES = ("linear", "quadratic")


def _feature_count(dim: int, kind: str) -> int:
    """How many features :func:`_features` makes of ``dim`` coordinates."""
    return dim if kind == "linear" else dim + dim * (dim + 1) // 2


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
    The logits are float64 and differentiable in ``x``; the four tensors must be float64 (``bias`` a scalar).
    """

    weight: Tensor
    bias: Tensor
    feature_mean: Tensor
    feature_scale: Tensor
    features: str
    dim: int

    def __post_init__(self) -> None:
        check_choice(self.features, FEATURES, "features")
        check_positive_int(self.dim, "dim")
        count = _feature_count(self.dim, self.features)
        for name in ("weight", "bias", "feature_mean", "feature_scale"):
            value = check_tensor(getattr(self, name), name, ndim=0 if name == "bias" else 1)
            if value.dtype != _F64:
                raise TypeError(f"{name} must be float64, got {value.dtype}")
            if name != "bias" and value.shape[0] != count:
                raise ValueError(f"{name} must have {count} entries ({self.features} features of dim={self.dim}), "
                                 f"got shape {tuple(value.shape)}")
        check_positive(self.feature_scale, "feature_scale")

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

    The Bayes-optimal logit is :math:`\log\frac{D^*}{1-D^*} = \log\frac{q(x)}{p(x)}` (:func:`~gi_core.maths.gan_losses.optimal_discriminator`),
    so minimizing :func:`discriminator_loss` (``"standard"``) over the logits
    :math:`\ell(x) = w^\top\phi(x) + c` estimates the log density ratio wherever the family contains it:
    features :math:`\phi(x) = (x_i, x_ix_j)_{i\le j}` (``"quadratic"``) hold the log-ratio of any two
    Gaussians exactly. The loss averages each class on its own (balanced classes): with a pooled
    mean over unequal sample sizes the optimum would be :math:`\log\frac{q}{p} + \log\frac{n_q}{n_p}`,
    which would need a :math:`\log(n_p/n_q)` correction. This is the estimator behind AVB and the
    symmetric-KL discriminators (Ruiz et al. 2019, Eq. 10–13).

    ``x_q`` and ``x_p``: samples ``(N,)`` or ``(N, d)``, cast to float64. Features are standardized with
    the pooled mean and standard deviation, then a full-batch L-BFGS (strong-Wolfe line search; the
    problem is convex) runs for at most ``steps`` iterations with step length ``lr``.
    """
    check_choice(features, FEATURES, "features")
    samples_q, samples_p = _as_samples(x_q, "x_q").detach(), _as_samples(x_p, "x_p").detach()
    if samples_q.shape[1] != samples_p.shape[1]:
        raise ValueError(f"x_q and x_p must have the same dimension, got {tuple(x_q.shape)} and {tuple(x_p.shape)}")
    if samples_q.shape[0] < 2 or samples_p.shape[0] < 2:
        raise ValueError("x_q and x_p need at least 2 samples each")
    check_positive_int(steps, "steps")
    check_real(lr, "lr", minimum=0.0, strict=True)
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
