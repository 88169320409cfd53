r"""The GI model zoo of Astorga's (2021) Ch. 6: one encoder :math:`q(z|x)`, one decoder :math:`p(x|z)`, many objectives.

Every model is a likelihood term plus a restriction (Astorga 2021, Eq. 5.5 and 5.8, Table 5.1):

========  =====================================================  =====================================================
kind      minimised by the encoder and decoder                   bound
========  =====================================================  =====================================================
vae       :math:`\|x-\tilde x\|^2 + \beta\,\mathrm{KL}(q(z|x)\|p(z))`           :math:`I_q`
wvae      :math:`\|x-\tilde x\|^2 + \beta\,W_2^2(q(z), p(z))`                 :math:`I_q`
mmd       :math:`\|x-\tilde x\|^2 + \beta\,\mathrm{MMD}^2(q(z), p(z))`         :math:`I_q`
jsvae     :math:`\|x-\tilde x\|^2 + \beta\,\mathrm{JS}(q(z)\|p(z))`            :math:`I_q`
aae       :math:`\|x-\tilde x\|^2 + \mathcal D(q(z)\|p(z))`                     :math:`I_q`
aim       :math:`-\log q(z|\tilde x) + \mathcal D(p(x)\|q(x))`                  :math:`I_p`
veegan    :math:`-\log q(z|\tilde x) + \mathcal D(p(x,z)\|q(x,z))`              :math:`I_p`
ali       :math:`\mathcal D(p(x,z)\|q(x,z))`                                    none (no likelihood term)
alice     :math:`\|x-\tilde x\|^2 - \log q(z|\tilde x) + \mathcal D(p(x,z)\|q(x,z))`  :math:`I_q + I_p`
========  =====================================================  =====================================================

with :math:`\tilde x = \tanh(\mathrm{decoder}(\tilde z))`, :math:`\tilde z\sim q(z|x)` in the :math:`I_q` terms
and :math:`z\sim p(z)=\mathcal N(0,I)`, :math:`\tilde x = \tanh(\mathrm{decoder}(z))` in the :math:`I_p`
terms. The likelihood terms are those of Astorga's (2021) §6.1: the squared error
(:func:`~gi_core.maths.likelihoods.squared_error`) in :math:`\mathcal X` and the Gaussian NLL of Eq. 6.1 in
:math:`\mathcal Z`. :math:`\mathcal D` is an adversarial divergence trained with the hinge loss (the thesis
builds on BigGAN, whose default it is); the discriminator sees data as "real" and the model's samples
(or pairs) as "fake". In the kinds with the latent NLL the encoder variance is floored at
:data:`LATENT_NLL_MIN_VAR` (see :meth:`ZooModel.encode`). Joint discriminators tell :math:`(x,\tilde z)\sim q(x,z)` from
:math:`(\tilde x, z)\sim p(x,z)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gi_core.maths.bounds import jensen_shannon_restriction, mmd_restriction, wasserstein_restriction
from gi_core.maths.gan_losses import discriminator_loss, generator_loss
from gi_core.maths.gaussians import diag_gaussian_log_prob, kl_diag_gaussian_std_normal, reparameterize
from gi_core.maths.likelihoods import squared_error
from gi_core.nets.autoencoder import latent_dim_of, standard_normal
from gi_core.nets.discriminators import JointDiscriminator, MLPCritic
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.nets.grouped import GroupedMLPDecoder, GroupedMLPEncoder, run_slice
from gi_core.nets.resnets import ResNetDiscriminator, ResNetEncoder, ResNetGenerator, ResNetJointDiscriminator
from gi_core.trainer import parameter_groups
from gi_core.validation import (check_batch, check_choice, check_generator, check_module, check_non_negative_int,
                                check_positive_int, check_real, check_sizes, check_str)

BETA_KINDS = ("vae", "wvae", "mmd", "jsvae")
ZOO_KINDS = (*BETA_KINDS, "aae", "aim", "veegan", "ali", "alice")
_DISCRIMINATOR_OF = {"aae": "z_discriminator", "aim": "x_discriminator", "veegan": "joint_discriminator",
                     "ali": "joint_discriminator", "alice": "joint_discriminator"}
_RECONSTRUCTS_X = ("vae", "wvae", "mmd", "jsvae", "aae", "alice")
_RECONSTRUCTS_Z = ("aim", "veegan", "alice")
LATENT_NLL_MIN_VAR = 0.25
r"""Smallest encoder variance of the kinds trained with the latent NLL: :math:`\sigma\ge0.5`, the floor of MPCC
(Astorga 2021, §7.2)."""


@dataclass(frozen=True)
class ZooEntry:
    """One row of the comparison: a display ``label``, the model ``kind`` and its restriction weight ``beta``."""

    label: str
    kind: str
    beta: float = 1.0

    def __post_init__(self) -> None:
        check_str(self.label, "label")
        check_choice(self.kind, ZOO_KINDS, "model kind")
        check_real(self.beta, "beta", minimum=0.0, strict=True)
        if self.kind not in BETA_KINDS and self.beta != 1.0:
            raise ValueError(f"{self.kind} has no restriction weight; beta must be 1, got {self.beta}")


def zoo_networks(
    arch: str, image_shape: Sequence[int], latent_dim: int, channels: int = 32, hidden: Sequence[int] = (512, 256)
) -> dict[str, nn.Module]:
    """Encoder, decoder and the three discriminators shared by every model of the zoo.

    ``arch="mlp"``: MLPs with ``hidden`` widths (the decoder mirrors the encoder), the CPU variant.
    ``arch="resnet"``: the thesis's ResNets with spectral norm, Tables 6.1–6.3, width ``channels``
    (:mod:`gi_core.nets.resnets`). The latent discriminator of AAE (not in the thesis) is an MLP in both.
    """
    check_choice(arch, ("mlp", "resnet"), "arch")
    check_sizes(image_shape, "image_shape")
    check_positive_int(latent_dim, "latent_dim")
    check_positive_int(channels, "channels")
    hidden = check_sizes(hidden, "hidden")
    z_discriminator = MLPCritic(latent_dim, (256, 256))
    if arch == "mlp":
        return {
            "encoder": MLPEncoder(image_shape, latent_dim, hidden),
            "decoder": MLPDecoder(latent_dim, image_shape, hidden[::-1]),
            "x_discriminator": MLPCritic(image_shape, hidden),
            "z_discriminator": z_discriminator,
            "joint_discriminator": JointDiscriminator(image_shape, latent_dim, hidden),
        }
    return {
        "encoder": ResNetEncoder(image_shape, latent_dim, channels),
        "decoder": ResNetGenerator(latent_dim, image_shape, channels),
        "x_discriminator": ResNetDiscriminator(image_shape, channels),
        "z_discriminator": z_discriminator,
        "joint_discriminator": ResNetJointDiscriminator(image_shape, latent_dim, channels),
    }


class ZooModel(nn.Module):
    """A model of the zoo (see the module docstring for the objective of each ``kind``).

    ``encoder(x)`` returns the mean and bounded log-variance of :math:`q(z|x)`; ``decoder(z)`` returns
    the pre-activation image, squashed here by :math:`\\tanh` (data in :math:`[-1, 1]`). Only the one
    discriminator the kind needs is kept (``x_discriminator(x)``, ``z_discriminator(z)`` or
    ``joint_discriminator(x, z)``, each returning logits ``(B,)``).
    """

    def __init__(self, entry: ZooEntry, encoder: nn.Module, decoder: nn.Module, **discriminators: nn.Module) -> None:
        super().__init__()
        if not isinstance(entry, ZooEntry):
            raise TypeError(f"entry must be a ZooEntry, got {type(entry).__name__}")
        for name, module in (("encoder", encoder), ("decoder", decoder), *discriminators.items()):
            check_module(module, name)
        self.entry, self.kind, self.beta = entry, entry.kind, entry.beta
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = latent_dim_of(encoder)
        self.discriminator: nn.Module | None = None
        if self.kind in _DISCRIMINATOR_OF:
            needed = _DISCRIMINATOR_OF[self.kind]
            if needed not in discriminators:
                raise ValueError(f"{entry.label} needs a {needed}; got {sorted(discriminators) or 'none'}")
            self.discriminator = discriminators[needed]

    @classmethod
    def build(cls, entry: ZooEntry, networks: dict[str, nn.Module]) -> ZooModel:
        """The model of ``entry`` on networks from :func:`zoo_networks` (which it takes ownership of)."""
        if not isinstance(networks, dict) or not {"encoder", "decoder"} <= networks.keys():
            raise ValueError(f"networks must be a dict with an 'encoder' and a 'decoder', as zoo_networks returns; "
                             f"got {sorted(networks) if isinstance(networks, dict) else type(networks).__name__}")
        return cls(entry, networks["encoder"], networks["decoder"],
                   **{k: v for k, v in networks.items() if k.endswith("discriminator")})

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: encoder and decoder; ``"discriminator_loss"``: the discriminator, for adversarial kinds."""
        if self.discriminator is None:
            return parameter_groups(loss=[self.encoder, self.decoder])
        return parameter_groups(loss=[self.encoder, self.decoder], discriminator_loss=[self.discriminator])

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean and log-variance of q(z|x); for kinds with a latent likelihood, variance floored at ``LATENT_NLL_MIN_VAR``.

        The floor is smooth, :math:`\sigma^2 = \sigma^2_{\mathrm{enc}} + \sigma^2_{\min}`. Without it the
        Gaussian NLL of Eq. 6.1 lets the encoder shrink :math:`\sigma` on generated images until the weight
        :math:`1/2\sigma^2` of the latent reconstruction drowns the adversarial term in the generator's loss.
        """
        check_batch(x, "x", getattr(self.encoder, "input_shape", None), like=self.encoder, finite=False)
        mean, log_var = self.encoder(x)
        if self.kind in _RECONSTRUCTS_Z:
            log_var = torch.logaddexp(log_var, torch.full_like(log_var, math.log(LATENT_NLL_MIN_VAR)))
        return mean, log_var

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's image :math:`\\tanh(\\mathrm{decoder}(z))` in [-1, 1] at ``z`` ``(..., latent_dim)``."""
        check_batch(z, "z", (self.latent_dim,), like=self.decoder, leading=True, finite=False)
        return torch.tanh(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decoded posterior means."""
        check_batch(x, "x")
        return self.decode(self.encode(x)[0])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Decoded draws z ~ N(0, I)."""
        return self.decode(standard_normal(n, self.latent_dim, self, generator))

    def _restriction(self, mean: Tensor, log_var: Tensor, z_q: Tensor) -> Tensor:
        if self.kind == "vae":
            return kl_diag_gaussian_std_normal(mean, log_var).mean()
        if self.kind == "wvae":
            return wasserstein_restriction(mean)
        if self.kind == "jsvae":
            return jensen_shannon_restriction(mean)
        return mmd_restriction(z_q)

    def _adversarial(self, x: Tensor, z_q: Tensor, x_p: Tensor, z_p: Tensor) -> tuple[Tensor, Tensor]:
        """(model's hinge loss, discriminator's hinge loss); data and q-pairs are "real"."""
        d = self.discriminator
        if self.kind == "aae":
            real, fake = d(z_p), d(z_q)
        elif self.kind == "aim":
            real, fake = d(x), d(x_p)
        else:
            real, fake = d(x, z_q), d(x_p, z_p)
        critic = discriminator_loss(real, fake, "hinge")
        if self.kind in ("aae", "aim"):
            return generator_loss(fake, "hinge"), critic
        return generator_loss(-real, "hinge") + generator_loss(fake, "hinge"), critic

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """The model's loss (``"loss"``), the discriminator's (``"discriminator_loss"``) and each term, detached.

        Random draws, in this order: the encoder noise, then :math:`z\\sim\\mathcal N(0, I)` (for the kinds
        with a latent likelihood term, ALI and AAE), then MMD's prior sample.
        """
        mean, log_var = self.encode(x)
        z_q = reparameterize(mean, log_var)
        terms: dict[str, Tensor] = {}
        loss = x.new_zeros(())
        if self.kind in _RECONSTRUCTS_X:
            terms["reconstruction"] = squared_error(x, self.decode(z_q)).mean()
            loss = loss + terms["reconstruction"]
        z_p = x_p = None
        if self.kind in _RECONSTRUCTS_Z or self.kind in ("ali", "aae"):
            z_p = torch.randn_like(z_q)
            x_p = self.decode(z_p) if self.kind != "aae" else None
        if self.kind in _RECONSTRUCTS_Z:
            terms["latent_nll"] = -diag_gaussian_log_prob(z_p, *self.encode(x_p)).mean()
            loss = loss + terms["latent_nll"]
        if self.kind in BETA_KINDS:
            terms["restriction"] = self._restriction(mean, log_var, z_q)
            loss = loss + self.beta * terms["restriction"]
        critic = None
        if self.discriminator is not None:
            terms["adversarial"], critic = self._adversarial(x, z_q, x_p, z_p)
            loss = loss + terms["adversarial"]
        out = {"loss": loss, **{name: value.detach() for name, value in terms.items()}}
        if critic is not None:
            out["discriminator_loss"] = critic
        return out


class GroupedZooAutoencoders(nn.Module):
    r"""``groups`` zoo autoencoders of the β-kinds (VAE, WVAE, MMD, JS-VAE) on MLPs, as one model for
    :class:`~gi_core.multi_run.MultiRunTrainer`.

    Run :math:`s` is the :class:`ZooModel` of ``entries[s]`` (its kind and its β), with the encoder and decoder
    weights in slice :math:`s` of grouped layers (:mod:`gi_core.nets.grouped`); its loss is that model's
    :math:`\|x-\tilde x\|^2 + \beta_s R_s`, and its draws (the encoder noise, then MMD's prior sample) come from its
    own generator in the plain model's order. State entries carry the plain model's names
    (:meth:`run_slice`, :meth:`run_model`).
    """

    def __init__(self, entries: Sequence[ZooEntry], image_shape: Sequence[int], latent_dim: int,
                 hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        self.entries = tuple(entries) if isinstance(entries, (tuple, list)) else ()
        if not self.entries or not all(isinstance(e, ZooEntry) for e in self.entries):
            raise TypeError(f"entries must be a non-empty sequence of ZooEntry, got {entries!r:.80}")
        if others := sorted({e.kind for e in self.entries} - set(BETA_KINDS)):
            raise ValueError(f"only the kinds {BETA_KINDS} (no discriminator) can be grouped, got {others}")
        self.groups = len(self.entries)
        self.image_shape = check_sizes(image_shape, "image_shape")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.hidden = check_sizes(hidden, "hidden")
        self.encoder = GroupedMLPEncoder(self.groups, self.image_shape, latent_dim, self.hidden)
        self.decoder = GroupedMLPDecoder(self.groups, latent_dim, self.image_shape, self.hidden[::-1])
        self.register_buffer("betas", torch.tensor([e.beta for e in self.entries]), persistent=False)

    @classmethod
    def stack(cls, models: Sequence[ZooModel]) -> GroupedZooAutoencoders:
        """The group whose run ``s`` holds a copy of ``models[s]``'s weights (MLP zoo models of one architecture)."""
        models = list(models) if isinstance(models, (tuple, list)) else []
        if not models or not all(isinstance(m, ZooModel) and isinstance(m.encoder, MLPEncoder) for m in models):
            raise TypeError("models must be a non-empty sequence of ZooModel on MLP networks (zoo_networks('mlp', ...))")
        first = models[0]
        hidden = tuple(layer.out_features for layer in first.encoder.body[1] if isinstance(layer, nn.Linear))
        with torch.random.fork_rng(devices=[]):  # the fresh group's initialisation is overwritten
            group = cls([m.entry for m in models], first.encoder.input_shape, first.latent_dim, hidden)
        group = group.to(next(first.parameters()))
        with torch.no_grad():
            for s, model in enumerate(models):
                plain = model.state_dict()
                if {k: v.shape for k, v in plain.items()} != {k: group.run_slice(k, t, s).shape
                                                               for k, t in group.state_dict().items()}:
                    raise ValueError(f"models[{s}] does not have the architecture of models[0]")
                for name, t in group.state_dict().items():
                    group.run_slice(name, t, s).copy_(plain[name])
        return group

    def run_slice(self, name: str, tensor: Tensor, run: int) -> Tensor:
        """Run ``run``'s view of ``tensor`` (shaped like state entry ``name``) in the plain model's layout."""
        return run_slice(self, name, tensor, run)

    def run_model(self, run: int) -> ZooModel:
        """The plain :class:`ZooModel` of run ``run``, holding copies of its weights (in this group's mode)."""
        if not 0 <= check_non_negative_int(run, "run") < self.groups:
            raise ValueError(f"run must be below the number of runs {self.groups}, got {run}")
        with torch.random.fork_rng(devices=[]):
            model = ZooModel(self.entries[run], MLPEncoder(self.image_shape, self.latent_dim, self.hidden),
                             MLPDecoder(self.latent_dim, self.image_shape, self.hidden[::-1]))
        model = model.to(self.betas.device, next(self.parameters()).dtype)
        model.load_state_dict({name: self.run_slice(name, t.detach(), run) for name, t in self.state_dict().items()})
        return model.train(self.training)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: encoder and decoder, in the plain model's order."""
        return parameter_groups(loss=[self.encoder, self.decoder])

    def training_loss(self, x: Tensor, *unused: Tensor, generators: Sequence[torch.Generator]) -> dict[str, Tensor]:
        """Every run's loss and terms, shape ``(groups,)``, from images ``x`` ``(groups, B, *image_shape)``."""
        if not isinstance(generators, (tuple, list)) or len(generators) != self.groups:
            raise ValueError(f"generators must be a sequence of one torch.Generator per run ({self.groups})")
        for generator in generators:
            check_generator(generator, "generators[i]")
        mean, log_var = self.encoder(x)
        eps = torch.stack([torch.randn(mean.shape[1:], generator=g, dtype=mean.dtype, device=mean.device)
                           for g in generators])
        z_q = mean + torch.exp(0.5 * log_var) * eps  # reparameterize's formula, with each run's own noise
        reconstruction = squared_error(x, torch.tanh(self.decoder(z_q)), event_dims=len(self.image_shape)).mean(-1)
        restriction = torch.stack([self._restriction(s, mean[s], log_var[s], z_q[s], generators[s])
                                   for s in range(self.groups)])
        loss = reconstruction + self.betas * restriction
        return {"loss": loss, "reconstruction": reconstruction.detach(), "restriction": restriction.detach()}

    def _restriction(self, run: int, mean: Tensor, log_var: Tensor, z_q: Tensor, generator: torch.Generator) -> Tensor:
        kind = self.entries[run].kind
        if kind == "vae":
            return kl_diag_gaussian_std_normal(mean, log_var).mean()
        if kind == "wvae":
            return wasserstein_restriction(mean)
        if kind == "jsvae":
            return jensen_shannon_restriction(mean)
        prior = torch.randn(z_q.shape, generator=generator, dtype=z_q.dtype, device=z_q.device)
        return mmd_restriction(z_q, prior)
