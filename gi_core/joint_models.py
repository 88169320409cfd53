r"""Adversarial generative-inference models: ALI/BiGAN (joint matching) and AVB (adversarial KL).

Both models train a discriminator on pairs :math:`(x, z)` beside an encoder :math:`q(z|x)` and a
decoder :math:`p(x|z)`. Their ``training_loss`` returns two terms to minimise, ``"loss"`` for the
encoder and decoder and ``"discriminator_loss"`` for the discriminator, computed at the same point.
Train them with :class:`gi_core.trainer.Trainer` and a dict of two optimizers whose parameters do
not overlap, e.g. ``{name: Adam(params) for name, params in model.parameters_by_loss().items()}``:
each optimizer then descends its own term with respect to its own parameters only. One optimizer
over all parameters on ``"loss"`` would be wrong (it would move the discriminator to help the
encoder and decoder).

Label convention of :mod:`gi_core.adversarial`: 1 for the inference side :math:`q(x, z) = q(x)q(z|x)`,
0 for the generative side (:math:`p(x, z) = p(z)p(x|z)` in ALI, :math:`q(x)p(z)` in AVB).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gi_core.adversarial import DISCRIMINATOR_LOSSES, discriminator_loss, generator_loss
from gi_core.distributions import diag_gaussian_log_prob, kl_diag_gaussian_std_normal, reparameterize
from gi_core.models import VAE
from gi_core.networks import GaussianHead, mlp
from gi_core.validation import check_positive_int

# the generator loss that pairs with each discriminator loss (both sides of the swapped-label game)
_GENERATOR_KIND = {"standard": "non_saturating", "hinge": "hinge"}


def leaky_relu() -> nn.Module:
    """LeakyReLU with slope 0.2, the activation of the ALI and AVB discriminators."""
    return nn.LeakyReLU(0.2)


def _check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    widths = tuple(hidden)
    if not widths or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ValueError(f"hidden must be a non-empty sequence of positive integers, got {hidden!r}")
    return widths


def _check_module(module: object, name: str) -> None:
    if not isinstance(module, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")


def _check_latent_dim(encoder: nn.Module, latent_dim: int | None) -> int:
    """``latent_dim``, checked against (or, when None, read from) the encoder's :class:`GaussianHead`."""
    head = getattr(encoder, "head", None)
    inferred = head.mean.out_features if isinstance(head, GaussianHead) else None
    if latent_dim is None:
        if inferred is None:
            raise ValueError("latent_dim must be given when the encoder has no GaussianHead named 'head'")
        return inferred
    check_positive_int(latent_dim, "latent_dim")
    if inferred is not None and inferred != latent_dim:
        raise ValueError(f"latent_dim={latent_dim} does not match the encoder's latent size {inferred}")
    return latent_dim


def _standard_normal(n: int, latent_dim: int, like: nn.Module, generator: torch.Generator | None) -> Tensor:
    """``n`` draws of :math:`\\mathcal N(0, I_J)` on the device and in the dtype of ``like``'s parameters."""
    check_positive_int(n, "n")
    param = next(like.parameters())
    return torch.randn(n, latent_dim, generator=generator).to(device=param.device, dtype=param.dtype)


class JointDiscriminator(nn.Module):
    r"""A discriminator of pairs, :math:`D(x, z) = \mathrm{MLP}([\operatorname{vec}(x), z])`, returning one logit per pair.

    ``input_shape`` is the shape of one ``x`` (an int for vectors, ``(C, H, W)`` for images, which are
    flattened); the MLP has the ``hidden`` widths with LeakyReLU(0.2) between layers and a linear
    output. ``forward(x, z)`` takes ``x`` ``(B, *input_shape)`` and ``z`` ``(B, latent_dim)`` and
    returns ``(B,)`` logits :math:`\ell = \operatorname{logit} D`.
    """

    def __init__(self, input_shape: int | Sequence[int], latent_dim: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
            raise ValueError(f"input_shape must be a positive integer or a sequence of them, got {input_shape!r}")
        self.input_shape = shape
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.net = mlp([math.prod(shape) + latent_dim, *_check_hidden(hidden), 1], leaky_relu)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape or z.dim() != 2 or z.shape != (x.shape[0], self.latent_dim):
            raise ValueError(
                f"discriminator expects x of shape (B, {', '.join(map(str, self.input_shape))}) and z of shape "
                f"(B, {self.latent_dim}), got {tuple(x.shape)} and {tuple(z.shape)}"
            )
        return self.net(torch.cat([x.flatten(1), z], dim=1)).squeeze(-1)


# --- ALI / BiGAN ---------------------------------------------------------------------------------


class ALI(nn.Module):
    r"""Adversarially learned inference / BiGAN (Dumoulin et al., 2017; Donahue et al., 2017), seed 002 Eq. 4.1.

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

    i.e. :func:`~gi_core.adversarial.generator_loss` (``"non_saturating"``) applied to :math:`-\ell_q`
    and to :math:`\ell_p` (``loss="hinge"``: :math:`\mathbb E_q\ell_q - \mathbb E_p\ell_p`). The
    discriminator minimises :func:`~gi_core.adversarial.discriminator_loss` of ``loss`` kind.

    ``encoder(x)`` returns the mean and log-variance of :math:`q(z|x)`; ``decoder(z)`` returns the
    mean of :math:`p(x|z)` (for images in [0, 1] end it with a sigmoid). With ``decoder_std``
    :math:`s`, :math:`\tilde x = \mathrm{decoder}(z) + s\,\varepsilon` (a Gaussian decoder); with
    ``None`` the decoder is deterministic. ``discriminator(x, z)`` returns one logit per pair, e.g.
    :class:`JointDiscriminator`.
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
            _check_module(module, name)
        self.latent_dim = _check_latent_dim(encoder, latent_dim)
        if decoder_std is not None and not (
            isinstance(decoder_std, (int, float)) and math.isfinite(decoder_std) and decoder_std > 0
        ):
            raise ValueError(f"decoder_std must be None or a finite positive number, got {decoder_std!r}")
        if loss not in DISCRIMINATOR_LOSSES:
            raise ValueError(f"loss must be one of {DISCRIMINATOR_LOSSES}, got {loss!r}")
        self.encoder, self.decoder, self.discriminator = encoder, decoder, discriminator
        self.decoder_std = None if decoder_std is None else float(decoder_std)
        self.loss = loss

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per term: encoder + decoder for ``"loss"``, the discriminator for ``"discriminator_loss"``."""
        return {
            "loss": [*self.encoder.parameters(), *self.decoder.parameters()],
            "discriminator_loss": list(self.discriminator.parameters()),
        }

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x)."""
        return self.encoder(x)

    def decode(self, z: Tensor, generator: torch.Generator | None = None) -> Tensor:
        r"""A draw :math:`\tilde x\sim p(x|z)`: the decoder mean, plus ``decoder_std`` times Gaussian noise if set.

        The noise is drawn with ``generator`` (on its device) when given, then moved to the decoder's device.
        """
        mean = self.decoder(z)
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
        return self.discriminator(x, z_q), self.discriminator(self.decode(z_p), z_p)

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
        return self.decoder(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, noisy: bool = False) -> Tensor:
        """Decoder means for ``n`` draws z ~ N(0, I) (``noisy=True``: draws of p(x|z), with ``decoder_std`` noise)."""
        z = _standard_normal(n, self.latent_dim, self, generator)
        return self.decode(z, generator) if noisy else self.decoder(z)


# --- AVB -----------------------------------------------------------------------------------------


class AVB(VAE):
    r"""Adversarial variational Bayes (Mescheder, Nowozin & Geiger, 2017): the KL of the ELBO estimated by a discriminator.

    Seed 002 Table 5.1, :math:`R^{\mathrm{AVB}} = \mathcal D(q(z|x)q(x)\,\|\,p(z)q(x))`. A discriminator
    :math:`T(x, z)` (a logit) tells :math:`(x, z)`, :math:`z\sim q(z|x)` (label 1) from
    :math:`(x, z)`, :math:`z\sim p(z)=\mathcal N(0,I)` (label 0). Its optimum is the log density ratio

    .. math:: T^*(x, z) = \log q(z|x) - \log p(z),\qquad
        \mathbb E_{q(z|x)}[T^*(x,z)] = \mathrm{KL}(q(z|x)\,\|\,p(z)),

    so the encoder and decoder minimise :math:`-\mathbb E_{q(x)}\mathbb E_{q(z|x)}[\log p(x|z) - T(x,z)]`,
    the negative ELBO (seed 002 Eq. 2.4) with the KL replaced by :math:`T`. The sample
    :math:`z = \mu + \sigma\odot\varepsilon` is reparameterized, so the gradient reaches the encoder through
    :math:`T`'s input; :math:`T`'s own parameters must be moved only by ``"discriminator_loss"`` (build
    the optimizers from :meth:`parameters_by_loss`). Because :math:`\mathbb E_q[\nabla_\phi T^*] = 0`,
    the ignored dependence of :math:`T^*` on the encoder parameters does not bias the gradient.

    The encoder stays Gaussian (as in the VAE) so that the adversarial estimate can be compared with
    the closed-form KL: the terms ``"kl_adversarial"`` (batch mean of :math:`T` on the q-pairs) and
    ``"kl_exact"`` are logged, detached. A cross-entropy-trained :math:`T` stops learning once the two
    sets of pairs are separated, so it underestimates large KLs (tens of nats), and the encoder can
    exploit the gap: watch ``kl_adversarial`` against ``kl_exact``. ``likelihood`` and ``obs_scale`` are those of
    :class:`~gi_core.models.VAE`, whose ``log_likelihood``, ``encode``, ``reconstruct``, ``elbo``
    (closed-form KL) and ``importance_weighted_bound`` this class inherits. ``latent_dim`` is read from
    the encoder's :class:`~gi_core.networks.GaussianHead` when not given.
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
        for name, module in (("encoder", encoder), ("decoder", decoder), ("discriminator", discriminator)):
            _check_module(module, name)
        if not hasattr(decoder, "output_shape"):
            raise ValueError("decoder must have an 'output_shape' attribute (the data shape of one example)")
        super().__init__(encoder, decoder, likelihood=likelihood, beta=1.0, obs_scale=obs_scale)
        self.latent_dim = _check_latent_dim(encoder, latent_dim)
        self.discriminator = discriminator

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per term: encoder + decoder for ``"loss"``, the discriminator for ``"discriminator_loss"``."""
        return {
            "loss": [*self.encoder.parameters(), *self.decoder.parameters()],
            "discriminator_loss": list(self.discriminator.parameters()),
        }

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

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Mean images of p(x|z) for ``n`` draws z ~ N(0, I)."""
        return self.mean_image(self.decoder(_standard_normal(n, self.latent_dim, self, generator)))


class GaussianLogRatio(nn.Module):
    r"""The optimal AVB discriminator for a Gaussian encoder: :math:`T^*(x, z) = \log q(z|x) - \log\mathcal N(z; 0, I)`.

    Not trained: it evaluates the encoder's density (seed 002 Eq. 6.1 form, :func:`diag_gaussian_log_prob`)
    and is the reference against which a learned :math:`T` is compared.
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        _check_module(encoder, "encoder")
        self.encoder = encoder

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        mean, log_var = self.encoder(x)
        zeros = torch.zeros_like(z)
        return diag_gaussian_log_prob(z, mean, log_var) - diag_gaussian_log_prob(z, zeros, zeros)
