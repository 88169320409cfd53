r"""The unimodal baseline of LC-VaDE (Astorga 2021, Table 9.4, "VAE baseline (S)"): the same light-curve networks
with a standard-normal prior and latent supervision.

:math:`q(z|x,t)` is :class:`~gi_core.nets.light_curve_resnets.LightCurveEncoder`, :math:`p(x|z,t)`
:class:`~gi_core.nets.light_curve_resnets.InducingPointDecoder` with Eq. 9.7's expected Gaussian log-likelihood, and
:math:`p(z)=\mathcal N(0,I)`. The latent supervision is a linear softmax classifier :math:`q(y|z)` on the code,
trained by cross-entropy at the same draw :math:`z\sim q(z|x,t)` as the bound, with LC-VaDE's weight:

.. math:: \mathcal L = \frac1B\sum_b\Big[-\log p(x_b|z_b,t_b) + D_{\mathrm{KL}}\big(q(z|x_b)\,\|\,\mathcal N(0,I)\big)
    - w\log q(y_b|z_b)\Big]

Its anomaly score is the log-density of the encoder mean under the prior, :math:`\log\mathcal N(\tilde\mu;0,I)`
(high means normal), as the thesis describes. The features :math:`f` play no part (there is no :math:`p(f|y)` in a
unimodal model); the methods take them anyway, so that an experiment calls both models alike.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.maths.gaussians import diag_gaussian_log_prob, kl_diag_gaussian_std_normal, reparameterize
from gi_core.maths.lc_vade_objective import supervised_cross_entropy
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.nets.light_curve_resnets import (InducingPointDecoder, LightCurveAutoencoder, LightCurveEncoder,
                                             check_curves, check_features)
from gi_core.validation import check_class_indices, check_generator, check_positive_int, check_real


class LightCurveVAE(LightCurveAutoencoder):
    r"""Encoder, decoder (as in :class:`gi_core.models.lc_vade.LCVaDE`), a linear classifier :math:`J\to K` on the code,
    and ``supervised_weight`` :math:`w` (1 by default; 0 is a plain VAE). ``feature_dim`` is only checked."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, num_classes: int, feature_dim: int = 3,
                 supervised_weight: float = 1.0) -> None:
        super().__init__(encoder, decoder, feature_dim)
        self.num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        self.supervised_weight = check_real(supervised_weight, "supervised_weight", minimum=0.0)
        dtype = next(encoder.parameters(), torch.empty(0)).dtype
        self.classifier = nn.Linear(self.latent_dim, num_classes, dtype=dtype)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter (encoder, decoder, classifier)."""
        return {"loss": list(self.parameters())}

    def terms(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
              generator: torch.Generator | None = None) -> dict[str, Tensor]:
        r"""Per-curve terms for one draw :math:`z\sim q(z|x,t)`: ``"log_likelihood"`` (Eq. 9.7), ``"kl"`` (to
        :math:`\mathcal N(0,I)`), ``"elbo"`` (their difference), each ``(B,)``, and ``"log_probs"``
        :math:`\log q(y|z)` ``(B, K)``."""
        check_curves(phase, value, error, mask, self)
        check_features(features, phase.shape[0], self.feature_dim, self)
        check_generator(generator, "generator")
        mean, log_var = self.encoder(phase, value, error, mask)
        z = reparameterize(mean, log_var, generator=generator)
        log_likelihood = expected_gaussian_log_likelihood(value, error, *self.decoder(z, phase), mask)
        kl = kl_diag_gaussian_std_normal(mean, log_var)
        return {"log_likelihood": log_likelihood, "kl": kl, "elbo": log_likelihood - kl,
                "log_probs": torch.log_softmax(self.classifier(z), dim=-1)}

    def training_loss(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
                      labels: Tensor) -> dict[str, Tensor]:
        r"""The batch mean of :math:`-\mathrm{ELBO}_b - w\log q(y_b|z_b)` as ``"loss"``, with the batch means of
        ``"neg_log_likelihood"``, ``"kl"`` and ``"supervised"`` logged."""
        t = self.terms(phase, value, error, mask, features)
        check_class_indices(labels, phase.shape[0], self.num_classes)
        supervised = supervised_cross_entropy(t["log_probs"], labels)
        return {"loss": (-t["elbo"] + self.supervised_weight * supervised).mean(),
                "neg_log_likelihood": -t["log_likelihood"].mean(), "kl": t["kl"].mean(),
                "supervised": supervised.mean(), "neg_elbo": -t["elbo"].mean()}

    @torch.no_grad()
    def class_probabilities(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor,
                            features: Tensor) -> Tensor:
        r"""The classifier's :math:`q(y|z{=}\tilde\mu)` ``(B, K)`` at the encoder mean (``features`` unused)."""
        mean, _ = self.encode(phase, value, error, mask)
        check_features(features, phase.shape[0], self.feature_dim, self)
        return torch.softmax(self.classifier(mean), dim=-1)

    @torch.no_grad()
    def anomaly_score(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor) -> Tensor:
        r""":math:`\log\mathcal N(\tilde\mu;0,I)` ``(B,)`` (high means normal; ``features`` unused)."""
        mean, _ = self.encode(phase, value, error, mask)
        check_features(features, phase.shape[0], self.feature_dim, self)
        zero = torch.zeros_like(mean)
        return diag_gaussian_log_prob(mean, zero, zero)


def light_curve_vae_networks(num_classes: int, rep_dim: int = 10, kernel_dim: int = 2, channels: int = 72,
                             inducing: int = 24, references: int = 64, kernel: str = "rbf",
                             supervised_weight: float = 1.0) -> LightCurveVAE:
    """The VAE baseline with LC-VaDE's networks (Table 9.2): J = ``rep_dim + kernel_dim`` = 12, C = 72, I = 24,
    R = 64."""
    decoder = InducingPointDecoder(rep_dim, kernel_dim, channels, inducing, kernel)
    encoder = LightCurveEncoder(decoder.latent_dim, channels, references)
    return LightCurveVAE(encoder, decoder, num_classes, supervised_weight=supervised_weight)
