r"""Adversarial variational Bayes (Mescheder, Nowozin & Geiger, 2017): the KL of the ELBO estimated by a discriminator.

The model trains a discriminator :math:`T(x, z)` beside its encoder and decoder; its ``training_loss`` returns
``"loss"`` for the encoder and decoder and ``"discriminator_loss"`` for :math:`T`, to be minimised by one optimizer
each (:meth:`AVB.parameters_by_loss`, :func:`gi_core.trainer.make_optimizers`). Label convention of
:mod:`gi_core.maths.gan_losses`: 1 for :math:`q(x)q(z|x)`, 0 for :math:`q(x)p(z)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.gaussians import kl_diag_gaussian_std_normal, reparameterize
from gi_core.nets.autoencoder import GaussianAutoencoder
from gi_core.trainer import parameter_groups
from gi_core.validation import check_module


class AVB(GaussianAutoencoder):
    r"""Adversarial variational Bayes (Mescheder, Nowozin & Geiger, 2017): the KL of the ELBO estimated by a discriminator.

    Astorga's (2021) Table 5.1, :math:`R^{\mathrm{AVB}} = \mathcal D(q(z|x)q(x)\,\|\,p(z)q(x))`. A discriminator
    :math:`T(x, z)` (a logit) tells :math:`(x, z)`, :math:`z\sim q(z|x)` (label 1) from
    :math:`(x, z)`, :math:`z\sim p(z)=\mathcal N(0,I)` (label 0). Its optimum is the log density ratio

    .. math:: T^*(x, z) = \log q(z|x) - \log p(z),\qquad
        \mathbb E_{q(z|x)}[T^*(x,z)] = \mathrm{KL}(q(z|x)\,\|\,p(z)),

    so the encoder and decoder minimise :math:`-\mathbb E_{q(x)}\mathbb E_{q(z|x)}[\log p(x|z) - T(x,z)]`,
    the negative ELBO (Astorga 2021, Eq. 2.4) with the KL replaced by :math:`T`. The sample
    :math:`z = \mu + \sigma\odot\varepsilon` is reparameterized, so the gradient reaches the encoder through
    :math:`T`'s input; :math:`T`'s own parameters must be moved only by ``"discriminator_loss"`` (build
    the optimizers from :meth:`parameters_by_loss`). Because :math:`\mathbb E_q[\nabla_\phi T^*] = 0`,
    the ignored dependence of :math:`T^*` on the encoder parameters does not bias the gradient.

    The encoder stays Gaussian (as in the VAE) so that the adversarial estimate can be compared with
    the closed-form KL: the terms ``"kl_adversarial"`` (batch mean of :math:`T` on the q-pairs) and
    ``"kl_exact"`` are logged, detached. A cross-entropy-trained :math:`T` stops learning once the two
    sets of pairs are separated, so it underestimates large KLs (tens of nats), and the encoder can
    exploit the gap: watch ``kl_adversarial`` against ``kl_exact``. ``likelihood`` and ``obs_scale`` are those of
    :class:`~gi_core.nets.autoencoder.GaussianAutoencoder`, whose ``log_likelihood``, ``encode``, ``reconstruct``,
    ``sample``, ``elbo`` (closed-form KL) and ``importance_weighted_bound`` this class inherits. ``latent_dim`` is read from
    the encoder's :class:`~gi_core.nets.encoders.GaussianHead` when not given.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        likelihood: str = "bernoulli",
        obs_scale: float = 1.0,
        latent_dim: int | None = None,
    ) -> None:
        super().__init__(encoder, decoder, likelihood=likelihood, obs_scale=obs_scale, latent_dim=latent_dim)
        check_module(discriminator, "discriminator")
        self.discriminator = discriminator

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per term: encoder + decoder for ``"loss"``, the discriminator for ``"discriminator_loss"``."""
        return parameter_groups(loss=[self.encoder, self.decoder], discriminator_loss=[self.discriminator])

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """The adversarial negative ELBO, the discriminator's BCE, and (detached) both KL values; labels are ignored.

        Random draws, in this order: the encoder noise, then :math:`z\\sim\\mathcal N(0, I)`.
        """
        mean, log_var = self.encode(x)
        z_q = reparameterize(mean, log_var)
        log_likelihood = self.log_likelihood(x, self.decoder(z_q))
        t_q = self.discriminator(x, z_q)
        z_p = torch.randn_like(z_q)
        return {
            "loss": -(log_likelihood - t_q).mean(),
            "discriminator_loss": discriminator_loss(self.discriminator(x, z_q.detach()), self.discriminator(x, z_p)),
            "neg_log_likelihood": -log_likelihood.mean().detach(),
            "kl_adversarial": t_q.mean().detach(),
            "kl_exact": kl_diag_gaussian_std_normal(mean, log_var).mean().detach(),
        }
