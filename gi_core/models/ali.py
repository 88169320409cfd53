r"""ALI/BiGAN (Dumoulin et al., 2017; Donahue et al., 2017): matching the two joints with a discriminator of pairs.

The model trains a discriminator on pairs :math:`(x, z)` beside an encoder :math:`q(z|x)` and a decoder
:math:`p(x|z)`. Its ``training_loss`` returns two terms to minimise, ``"loss"`` for the encoder and decoder and
``"discriminator_loss"`` for the discriminator, computed at the same point. Train it with
:class:`gi_core.trainer.Trainer` and one optimizer per term of :meth:`ALI.parameters_by_loss`
(:func:`gi_core.trainer.make_optimizers`): each optimizer then descends its own term with respect to its own
parameters only. One optimizer over all parameters on ``"loss"`` would be wrong (it would move the
discriminator to help the encoder and decoder).

Label convention of :mod:`gi_core.maths.gan_losses`: 1 for the inference side :math:`q(x, z) = q(x)q(z|x)`,
0 for the generative side :math:`p(x, z) = p(z)p(x|z)`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.maths.gan_losses import DISCRIMINATOR_LOSSES, discriminator_loss, generator_loss
from gi_core.maths.gaussians import reparameterize
from gi_core.nets.autoencoder import latent_dim_of, standard_normal
from gi_core.trainer import parameter_groups
from gi_core.validation import check_batch, check_choice, check_generator, check_module, check_real

# the generator loss that pairs with each discriminator loss (both sides of the swapped-label game)
_GENERATOR_KIND = {"standard": "non_saturating", "hinge": "hinge"}


class ALI(nn.Module):
    r"""Adversarially learned inference / BiGAN (Dumoulin et al., 2017; Donahue et al., 2017): Astorga's (2021) Eq. 4.1.

    A discriminator tells inference pairs :math:`(x, \tilde z)`, :math:`x\sim q(x)`,
    :math:`\tilde z\sim q(z|x)` (label 1), from generative pairs :math:`(\tilde x, z)`,
    :math:`z\sim\mathcal N(0, I)`, :math:`\tilde x\sim p(x|z)` (label 0):

    .. math:: \max_D\ \mathbb E_{q(x,z)}[f(\ell(x,\tilde z))] + \mathbb E_{p(x,z)}[g(\ell(\tilde x, z))],\qquad
        \min_{G,E}\ -\mathbb E_{q(x,z)}[h(\ell)] + \mathbb E_{p(x,z)}[h(\ell)]   \qquad(4.1)

    At the optimal discriminator the minimax game minimises :math:`\mathrm{JS}(q(x,z)\|p(x,z))`. This
    class trains with the non-saturating swapped-label form: the encoder and decoder minimise the
    discriminator's loss with the labels exchanged, pushing q-pairs towards label 0 and p-pairs
    towards label 1,

    .. math:: \mathcal L_{G,E} = \mathbb E_q\operatorname{softplus}(\ell_q) + \mathbb E_p\operatorname{softplus}(-\ell_p),

    i.e. :func:`~gi_core.maths.gan_losses.generator_loss` (``"non_saturating"``) applied to :math:`-\ell_q`
    and to :math:`\ell_p` (``loss="hinge"``: :math:`\mathbb E_q\ell_q - \mathbb E_p\ell_p`). The
    discriminator minimises :func:`~gi_core.maths.gan_losses.discriminator_loss` of ``loss`` kind.

    ``encoder(x)`` returns the mean and log-variance of :math:`q(z|x)`; ``decoder(z)`` returns the
    mean of :math:`p(x|z)` (for images in [0, 1] end it with a sigmoid). With ``decoder_std``
    :math:`s`, :math:`\tilde x = \mathrm{decoder}(z) + s\,\varepsilon` (a Gaussian decoder); with
    ``None`` the decoder is deterministic. ``discriminator(x, z)`` returns one logit per pair, e.g.
    :class:`~gi_core.nets.discriminators.JointDiscriminator`.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        latent_dim: int,
        decoder_std: float | None = None,
        loss: str = "standard",
    ) -> None:
        super().__init__()
        for name, module in (("encoder", encoder), ("decoder", decoder), ("discriminator", discriminator)):
            check_module(module, name)
        self.latent_dim = latent_dim_of(encoder, latent_dim)
        if decoder_std is not None:
            check_real(decoder_std, "decoder_std", minimum=0.0, strict=True)
        check_choice(loss, DISCRIMINATOR_LOSSES, "discriminator loss")
        self.encoder, self.decoder, self.discriminator = encoder, decoder, discriminator
        self.decoder_std = None if decoder_std is None else float(decoder_std)
        self.loss = loss

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per term: encoder + decoder for ``"loss"``, the discriminator for ``"discriminator_loss"``."""
        return parameter_groups(loss=[self.encoder, self.decoder], discriminator_loss=[self.discriminator])

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x)."""
        check_batch(x, "x", getattr(self.encoder, "input_shape", None), like=self.encoder, finite=False)
        return self.encoder(x)

    def decode(self, z: Tensor) -> Tensor:
        """The mean of p(x|z), the decoder's output, at ``z`` ``(..., latent_dim)``."""
        check_batch(z, "z", (self.latent_dim,), like=self.decoder, leading=True, finite=False)
        return self.decoder(z)

    def draw(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        r"""A draw :math:`\tilde x\sim p(x|z)`: the decoder mean, plus ``decoder_std`` times Gaussian noise if set.

        The noise is drawn with ``generator`` (on its device) when given, then moved to the decoder's device.
        """
        check_generator(generator, "generator")
        mean = self.decode(z)
        if self.decoder_std is None:
            return mean
        device = mean.device if generator is None else generator.device
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=device).to(mean.device)
        return mean + self.decoder_std * noise

    def logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Logits :math:`(\ell_q, \ell_p)` of the q-pairs :math:`(x,\tilde z)` and of as many p-pairs :math:`(\tilde x, z)`.

        Random draws, in this order: the encoder noise, :math:`z\sim\mathcal N(0,I)`, the decoder noise.
        """
        mean, log_var = self.encode(x)
        z_q = reparameterize(mean, log_var)
        z_p = torch.randn(x.shape[0], self.latent_dim, dtype=mean.dtype, device=mean.device)
        return self.discriminator(x, z_q), self.discriminator(self.draw(z_p), z_p)

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """Generator (encoder + decoder) loss, discriminator loss, mean D on each side (detached); labels ignored."""
        logits_q, logits_p = self.logits(x)
        kind = _GENERATOR_KIND[self.loss]
        return {
            "loss": generator_loss(-logits_q, kind) + generator_loss(logits_p, kind),
            "discriminator_loss": discriminator_loss(logits_q, logits_p, self.loss),
            "d_q_mean": torch.sigmoid(logits_q).mean().detach(),
            "d_p_mean": torch.sigmoid(logits_p).mean().detach(),
        }

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoder means at the posterior means z = E_q[z|x]."""
        check_batch(x, "x")
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, noisy: bool = False) -> Tensor:
        """Decoder means for ``n`` draws z ~ N(0, I) (``noisy=True``: draws of p(x|z), with ``decoder_std`` noise)."""
        z = standard_normal(n, self.latent_dim, self, generator)
        return self.draw(z, generator) if noisy else self.decode(z)
