r"""LC-VaDE (Astorga 2021, Ch. 9): VaDE on folded light curves and their features, scored by its information anomaly
score.

The model is :math:`p(x,z,y,f|t)=p(x|z,t)\,p(z|y)\,p(f|y)\,p(y)` with :math:`q(z,y|x,f,t)=q(z|x,t)\,q(y|z,f)`:

* :math:`q(z|x,t)`: :class:`~gi_core.nets.light_curve_resnets.LightCurveEncoder`;
* :math:`p(x|z,t)`: :class:`~gi_core.nets.light_curve_resnets.InducingPointDecoder` with the expected Gaussian
  log-likelihood of the photometry, :func:`~gi_core.maths.likelihoods.expected_gaussian_log_likelihood` (Eq. 9.7);
* :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`: a
  :class:`~gi_core.nets.priors.GaussianMixturePrior` whose weights are frozen uniform (:math:`p(y)` uniform, the
  thesis's choice: the labels are balanced during training);
* :math:`p(f|y)=\mathcal N(\mu_{f,y},\operatorname{diag}\sigma^2_{f,y})`: learnable means ``(K, 3)`` and bounded
  log-variances ``(K, 3)`` over :math:`f=(m, s, \log_{10}P)`;
* :math:`q(y|z,f)\propto p(y)p(z|y)p(f|y)` (:func:`~gi_core.maths.lc_vade_objective.class_log_posterior`), at one
  reparameterized draw :math:`z\sim q(z|x,t)` in training (gradients flow through it, as in VaDE).

The loss is LC-VaDE-S (Eq. 9.8): the batch mean of :math:`-\mathcal L^{\text{LC-VaDE}}` (the bound of Eq. 9.9–9.11,
:func:`~gi_core.maths.lc_vade_objective.lc_vade_bound_terms`) plus ``supervised_weight`` times the cross-entropy
:math:`h(y,\tilde y)` of :math:`q(y|z,f)` against the true class. Evaluation reads the encoder mean
:math:`\tilde\mu`; the batch norms use their running statistics only in ``eval()`` mode, which the caller sets.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gi_core.maths.gaussians import inverse_soft_clamp_log_var, reparameterize, soft_clamp_log_var
from gi_core.maths.lc_vade_objective import (class_log_posterior, information_anomaly_score, lc_vade_bound_terms,
                                             supervised_cross_entropy)
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.nets.light_curve_resnets import (InducingPointDecoder, LightCurveAutoencoder, LightCurveEncoder,
                                             check_curves, check_features)
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.validation import check_class_indices, check_generator, check_positive_int, check_real

LOG_VAR_BOUNDS = (-10.0, 5.0)
"""The soft-clamp bounds of every prior log-variance (the mixture's and the features')."""


def _class_moments(values: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    r"""Per-class means and (biased) variances ``(K, D)`` of ``values`` ``(N, D)``, the variances clamped into the
    prior's range :math:`(e^{-10}, e^{5})` shrunk by 1% (a class of one example gets the smallest variance)."""
    counts = torch.bincount(labels, minlength=num_classes)
    if bool((counts == 0).any()):
        raise ValueError(f"labels must hold every class 0..{num_classes - 1} at least once, got counts "
                         f"{counts.tolist()}")
    one_hot = torch.nn.functional.one_hot(labels, num_classes).to(values).T / counts[:, None].to(values)  # (K, N)
    means = one_hot @ values
    variances = one_hot @ values.square() - means.square()
    low, high = (math.exp(bound) for bound in LOG_VAR_BOUNDS)
    return means, variances.clamp(1.01 * low, 0.99 * high)


class LCVaDE(LightCurveAutoencoder):
    r"""LC-VaDE-S: ``encoder`` (``(phase, value, error, mask) -> (mean, log_var)``), ``decoder``
    (``(z, phase) -> (mean, var)``, with a ``latent_dim``), ``num_classes`` K, ``feature_dim`` (3) and
    ``supervised_weight`` (the weight of :math:`h(y,\tilde y)` in Eq. 9.8, 1 by default; 0 is plain LC-VaDE)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, num_classes: int, feature_dim: int = 3,
                 supervised_weight: float = 1.0) -> None:
        super().__init__(encoder, decoder, feature_dim)
        self.num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        self.supervised_weight = check_real(supervised_weight, "supervised_weight", minimum=0.0)
        dtype = next(encoder.parameters(), torch.empty(0)).dtype
        self.prior = GaussianMixturePrior(num_classes, self.latent_dim, log_var_bounds=LOG_VAR_BOUNDS, dtype=dtype)
        self.prior.logits.requires_grad_(False)
        self.feature_means = nn.Parameter(torch.zeros(num_classes, feature_dim, dtype=dtype))
        self.feature_raw_log_vars = nn.Parameter(torch.zeros(num_classes, feature_dim, dtype=dtype))

    @property
    def feature_log_vars(self) -> Tensor:
        r""":math:`\log\sigma^2_{f,y}`, shape ``(K, F)``: the soft-clamped raw values."""
        return soft_clamp_log_var(self.feature_raw_log_vars, *LOG_VAR_BOUNDS)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every trainable parameter (networks, :math:`p(z|y)` and :math:`p(f|y)`; not the frozen
        :math:`p(y)`)."""
        return {"loss": [p for p in self.parameters() if p.requires_grad]}

    def _log_gamma(self, z: Tensor, features: Tensor) -> Tensor:
        return class_log_posterior(z, features, self.prior.means, self.prior.log_vars, self.feature_means,
                                   self.feature_log_vars, self.prior.log_weights)

    def terms(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
              generator: torch.Generator | None = None) -> dict[str, Tensor]:
        r"""Per-curve terms of the bound for one draw :math:`z\sim q(z|x,t)`: those of
        :func:`~gi_core.maths.lc_vade_objective.lc_vade_bound_terms` (``"elbo"`` and its parts, each ``(B,)``),
        ``"log_likelihood"`` (Eq. 9.7) and ``"log_gamma"`` :math:`\log q(y|z,f)` ``(B, K)``."""
        check_curves(phase, value, error, mask, self)
        check_features(features, phase.shape[0], self.feature_dim, self)
        check_generator(generator, "generator")
        mean, log_var = self.encoder(phase, value, error, mask)
        z = reparameterize(mean, log_var, generator=generator)
        log_likelihood = expected_gaussian_log_likelihood(value, error, *self.decoder(z, phase), mask)
        log_gamma = self._log_gamma(z, features)
        terms = lc_vade_bound_terms(log_likelihood, mean, log_var, log_gamma, features, self.prior.means,
                                    self.prior.log_vars, self.feature_means, self.feature_log_vars,
                                    self.prior.log_weights)
        return {**terms, "log_likelihood": log_likelihood, "log_gamma": log_gamma}

    def training_loss(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
                      labels: Tensor) -> dict[str, Tensor]:
        r"""LC-VaDE-S (Eq. 9.8): :math:`\frac1B\sum_b[-\mathcal L_b + w\,h(y_b, q(y|z_b,f_b))]` as ``"loss"``; the batch
        means of ``"neg_log_likelihood"``, ``"supervised"`` (the cross-entropy) and of the bound's other parts are
        logged."""
        t = self.terms(phase, value, error, mask, features)
        check_class_indices(labels, phase.shape[0], self.num_classes)
        supervised = supervised_cross_entropy(t["log_gamma"], labels)
        logged = {name: term.mean() for name, term in t.items()
                  if name not in ("elbo", "log_likelihood", "log_gamma") and term.dim() == 1}
        return {"loss": (-t["elbo"] + self.supervised_weight * supervised).mean(),
                "neg_log_likelihood": -t["log_likelihood"].mean(), "supervised": supervised.mean(),
                "neg_elbo": -t["elbo"].mean(), **logged}

    @torch.no_grad()
    def class_probabilities(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor,
                            features: Tensor) -> Tensor:
        r""":math:`q(y|z{=}\tilde\mu, f)` ``(B, K)`` at the encoder mean."""
        mean, _ = self.encode(phase, value, error, mask)
        check_features(features, phase.shape[0], self.feature_dim, self)
        return torch.exp(self._log_gamma(mean, features))

    @torch.no_grad()
    def anomaly_score(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor) -> Tensor:
        r"""The information anomaly score (Eq. 9.12) ``(B,)``, with :math:`q(y|z,f)` at the encoder mean:

        .. math:: \mathrm{IAS}(x) = \sum_k q(y{=}k|\tilde\mu,f)\int\mathcal N(z;\tilde\mu,\tilde\sigma^2)
            \log\mathcal N(z;\mu_k,\sigma_k^2)\,dz + h_q(z|x)

        High means normal: :math:`-\mathrm{IAS}` is the outlier score."""
        mean, log_var = self.encode(phase, value, error, mask)
        check_features(features, phase.shape[0], self.feature_dim, self)
        return information_anomaly_score(mean, log_var, self._log_gamma(mean, features), self.prior.means,
                                         self.prior.log_vars)

    @torch.no_grad()
    def fit_priors(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
                   labels: Tensor) -> None:
        r"""Set :math:`p(z|y)` to the class means and variances of the encoder means :math:`\tilde\mu` and
        :math:`p(f|y)` to those of the features (the maximum-likelihood class Gaussians; VaDE's initialisation
        from fitted codes with the labels known); :math:`p(y)` stays uniform. Every class must appear."""
        codes, _ = self.encode(phase, value, error, mask)
        check_features(features, phase.shape[0], self.feature_dim, self)
        check_class_indices(labels, phase.shape[0], self.num_classes)
        z_means, z_vars = _class_moments(codes, labels, self.num_classes)
        self.prior.set_mixture(torch.ones(self.num_classes, dtype=codes.dtype), z_means, z_vars)
        f_means, f_vars = _class_moments(features, labels, self.num_classes)
        self.feature_means.copy_(f_means)
        self.feature_raw_log_vars.copy_(inverse_soft_clamp_log_var(torch.log(f_vars), *LOG_VAR_BOUNDS))


def lc_vade_networks(num_classes: int, rep_dim: int = 10, kernel_dim: int = 2, channels: int = 72, inducing: int = 24,
                     references: int = 64, kernel: str = "rbf", supervised_weight: float = 1.0) -> LCVaDE:
    """LC-VaDE with the thesis's networks (Table 9.2, §9): J = ``rep_dim + kernel_dim`` = 12, C = 72, I = 24,
    R = 64."""
    decoder = InducingPointDecoder(rep_dim, kernel_dim, channels, inducing, kernel)
    encoder = LightCurveEncoder(decoder.latent_dim, channels, references)
    return LCVaDE(encoder, decoder, num_classes, supervised_weight=supervised_weight)
