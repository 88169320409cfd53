r"""AVDA, adversarial variational domain adaptation (Pérez Carrasco 2021, Ch. 3): a source VAE whose prior has one
Gaussian per class, then a target encoder aligned to it class by class.

Algorithm 1 has two phases, one class each:

* :class:`AVDASource` (Eq. 3.1–3.5): encoder :math:`q_\phi(z|x)`, decoder :math:`p_\theta(x|z)`, classifier
  :math:`q_\phi(y|z)` and the prior :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`, learnt on the
  labelled source with :func:`~gi_core.maths.avda_objective.source_objective`.
* :class:`AVDAAdapter` (Eq. 3.6–3.12): the target encoder :math:`q_\psi(z|x)` and classifier :math:`q_\psi(y|z)`
  (initialised from the source's), the latent discriminator :math:`D_w` and the frozen prior :math:`p^*`. Its two
  terms, ``"discriminator_loss"`` (:math:`\mathcal L_D`, moves :math:`w`) and ``"loss"`` (:math:`\mathcal L_t`,
  moves :math:`\psi`), are meant for a :class:`~gi_core.trainer.Trainer` with ``updates="alternating"``:
  :math:`D` steps first, then the encoder answers the updated :math:`D`; no gradient reversal layer.

The source encoder is frozen during adaptation (Algorithm 1 updates only :math:`w` and :math:`\psi`), so the
adapter reads the source codes' moments :math:`(\mu_\phi(x^s), \log\sigma^2_\phi(x^s))`, computed once
(:meth:`AVDASource.code_moments`), and draws :math:`z^s` from them at every step.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.maths.avda_objective import (adversarial_objective, binary_adversarial_objectives, component_kl,
                                          discriminator_objective, labelled_target_objective, source_objective,
                                          straight_through_gumbel, target_objective, unlabelled_target_objective)
from gi_core.maths.gaussians import reparameterize
from gi_core.maths.likelihoods import squared_error
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.nets.unit_digits import UNITDecoder, UNITEncoder, unit_latent_mlp
from gi_core.validation import (check_batch, check_choice, check_class_indices, check_instance, check_module,
                                check_positive_int, check_real, check_tensor)

DISCRIMINATORS = ("classes", "binary")
"""The latent discriminator of :class:`AVDAAdapter`: Odena's (K+1)-way one, or the binary ablation (AVDA_ADA)."""
PRIOR_MEAN_NORM = 10.0
r"""The prior means start on the axes, :math:`\mu_k = 10\,e_k`, with unit variances (Pérez Carrasco 2021, §3.3)."""


def axis_prior(num_classes: int, latent_dim: int) -> GaussianMixturePrior:
    r"""The thesis's starting prior: :math:`K` components with means :math:`10\,e_k` and unit variances, uniform
    :math:`p(y)` (needs :math:`K\le J`)."""
    check_positive_int(num_classes, "num_classes", minimum=2)
    check_positive_int(latent_dim, "latent_dim")
    if num_classes > latent_dim:
        raise ValueError(f"the axis prior needs num_classes <= latent_dim, got {num_classes} > {latent_dim}")
    prior = GaussianMixturePrior(num_classes, latent_dim)  # logits 0 (uniform) and raw log-variances 0 (unit)
    with torch.no_grad():
        prior.means.copy_(PRIOR_MEAN_NORM * torch.eye(num_classes, latent_dim))
    return prior


def _encoder_input_shape(encoder: nn.Module) -> tuple[int, ...] | None:
    return getattr(encoder, "input_shape", None)


class AVDASource(nn.Module):
    r"""The source model of AVDA (Eq. 3.1–3.5). ``encoder`` maps images to ``(mean, log_var)`` ``(B, J)``,
    ``decoder`` maps codes back to images, ``classifier`` maps codes to ``K`` logits, ``prior`` holds the ``K``
    components. ``learn_prior=False`` keeps the prior at its start (the AVDA_FP ablation of §4.1.3).

    :meth:`training_loss` is Eq. 3.5 averaged over the batch, with the reconstruction
    :math:`-\log p_\theta(x|z)` taken as the squared error *summed* over the pixels (a Gaussian decoder of variance
    :math:`\tfrac12`, up to a constant): with 1 024 pixels in :math:`[-1,1]` it is tens of nats, the scale of the
    KL, so that :math:`\alpha_s=1000` makes the classifier dominate without silencing the other two terms.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, classifier: nn.Module, prior: GaussianMixturePrior,
                 alpha_s: float = 1000.0, learn_prior: bool = True) -> None:
        super().__init__()
        for name, module in (("encoder", encoder), ("decoder", decoder), ("classifier", classifier)):
            check_module(module, name)
        check_instance(prior, GaussianMixturePrior, "prior")
        check_instance(learn_prior, bool, "learn_prior")
        self.encoder, self.decoder, self.classifier, self.prior = encoder, decoder, classifier, prior
        self.alpha_s = check_real(alpha_s, "alpha_s", minimum=0.0)
        self.learn_prior = learn_prior
        self.prior.requires_grad_(learn_prior)
        self.prior.logits.requires_grad_(False)  # p(y) is a constant of the model (§3.1)

    @property
    def num_classes(self) -> int:
        """Number of classes K (the prior's components)."""
        return self.prior.num_components

    def prior_moments(self) -> tuple[Tensor, Tensor]:
        """The prior's means and log-variances ``(K, J)``, detached: the frozen :math:`p^*` of the target phase."""
        return self.prior.means.detach().clone(), self.prior.log_vars.detach().clone()

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: encoder, decoder, classifier and (unless ``learn_prior`` is off) the prior's means and
        variances."""
        return {"loss": [p for p in self.parameters() if p.requires_grad]}

    def training_loss(self, x: Tensor, y: Tensor) -> dict[str, Tensor]:
        r"""Eq. 3.5: :math:`\mathrm{KL}(q_\phi(z|x)\|p(z|y)) - \log p_\theta(x|z) - \alpha_s\log q_\phi(y|z)` with one
        reparameterized :math:`z`, batch mean (:func:`~gi_core.maths.avda_objective.source_objective`), plus the
        batch's ``accuracy`` (detached)."""
        check_batch(x, "x", _encoder_input_shape(self.encoder), like=self.encoder, finite=False)
        check_class_indices(y, x.shape[0], self.num_classes, "y")
        mean, log_var = self.encoder(x)
        z = reparameterize(mean, log_var)
        logits = self.classifier(z)
        kl = component_kl(mean, log_var, self.prior.means, self.prior.log_vars, y)
        terms = source_objective(-squared_error(x, self.decoder(z)), kl, logits, y, self.alpha_s)
        return terms | {"accuracy": (logits.argmax(-1) == y).float().mean().detach()}

    def code_moments(self, x: Tensor, batch_size: int = 1024) -> tuple[Tensor, Tensor]:
        """``(mean, log_var)`` of :math:`q_\\phi(z|x)` for every image, in evaluation mode, without gradients, on
        ``x``'s device."""
        check_batch(x, "x", _encoder_input_shape(self.encoder))
        check_positive_int(batch_size, "batch_size")
        with eval_mode(self), torch.no_grad():
            parts = [self.encoder(x[i:i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return torch.cat([m for m, _ in parts]), torch.cat([v for _, v in parts])

    def predict(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        r"""Predicted classes :math:`\arg\max_y q_\phi(y|\mu_\phi(x))` (on the CPU): the *source only* baseline."""
        check_batch(x, "x", _encoder_input_shape(self.encoder))
        with eval_mode(self):
            return apply_in_batches(lambda b: self.classifier(self.encoder(b)[0]).argmax(-1), x, batch_size)


class AVDAAdapter(nn.Module):
    r"""The target phase of AVDA (Eq. 3.6–3.12, Algorithm 1's loop).

    ``target_encoder`` :math:`q_\psi(z|x)` and ``target_classifier`` :math:`q_\psi(y|z)` (copies of the source's in
    :func:`build_adapter`), ``discriminator`` :math:`D_w` on codes (``K+1`` logits for ``"classes"``, one for
    ``"binary"``), the frozen prior moments ``(K, J)``, the weights ``alpha_t`` (10), ``tau`` (3) and the scheduled
    coefficient ``"gamma"`` (:meth:`set_coefficient`; 1 until the trainer sets it). ``target_decoder`` adds a
    target generative model (the AVDA_GT ablation): its squared error joins the unlabelled term.
    ``categorical_kl=False`` drops :math:`\mathrm{KL}(q(y|z)\|p(y))`, the term that raises the prediction entropy;
    ``unlabelled_kl=False`` drops the whole unlabelled term :math:`\mathcal L_t^{unsup}`, leaving the alignment
    :math:`\mathcal L_A` (and the shots' term) to act alone: the chapter's toy isolates the discriminator this way.
    """

    def __init__(self, target_encoder: nn.Module, target_classifier: nn.Module, discriminator: nn.Module,
                 prior_means: Tensor, prior_log_vars: Tensor, *, alpha_t: float = 10.0, tau: float = 3.0,
                 discriminator_kind: str = "classes", target_decoder: nn.Module | None = None,
                 categorical_kl: bool = True, unlabelled_kl: bool = True) -> None:
        super().__init__()
        for name, module in (("target_encoder", target_encoder), ("target_classifier", target_classifier),
                             ("discriminator", discriminator)):
            check_module(module, name)
        if target_decoder is not None:
            check_module(target_decoder, "target_decoder")
        check_tensor(prior_means, "prior_means", ndim=2)
        check_tensor(prior_log_vars, "prior_log_vars", ndim=2)
        if prior_means.shape != prior_log_vars.shape:
            raise ValueError(f"prior_means and prior_log_vars differ in shape: {tuple(prior_means.shape)} vs "
                             f"{tuple(prior_log_vars.shape)}")
        check_choice(discriminator_kind, DISCRIMINATORS, "discriminator_kind")
        check_instance(categorical_kl, bool, "categorical_kl")
        check_instance(unlabelled_kl, bool, "unlabelled_kl")
        self.target_encoder, self.target_classifier = target_encoder, target_classifier
        self.discriminator, self.target_decoder = discriminator, target_decoder
        self.register_buffer("prior_means", prior_means.detach().clone())
        self.register_buffer("prior_log_vars", prior_log_vars.detach().clone())
        self.register_buffer("gamma", torch.tensor(1.0))
        self.alpha_t = check_real(alpha_t, "alpha_t", minimum=0.0)
        self.tau = check_real(tau, "tau", minimum=0.0, strict=True)
        self.discriminator_kind, self.categorical_kl = discriminator_kind, categorical_kl
        self.unlabelled_kl = unlabelled_kl

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return self.prior_means.shape[0]

    def set_coefficient(self, name: str, value: float) -> None:
        r"""Set :math:`\gamma` of Eq. 3.12 (``name`` ``"gamma"``, the trainer's schedule), in :math:`[0, 1]`."""
        if name != "gamma":
            raise ValueError(f"name must be 'gamma', AVDA's one scheduled coefficient; got {name!r}")
        self.gamma.fill_(check_real(value, "value", minimum=0.0, maximum=1.0))

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"discriminator_loss"``: :math:`w`, first (it steps first in alternating updates); ``"loss"``: the target
        encoder, classifier and decoder."""
        decoder = [] if self.target_decoder is None else [self.target_decoder]
        players = [self.target_encoder, self.target_classifier, *decoder]
        return {"discriminator_loss": list(self.discriminator.parameters()),
                "loss": [p for module in players for p in module.parameters()]}

    def _check_batch(self, source_mean: Tensor, source_log_var: Tensor, source_y: Tensor, target_x: Tensor,
                     shots: tuple[Tensor, ...]) -> None:
        k, j = self.prior_means.shape
        for name, t in (("source_mean", source_mean), ("source_log_var", source_log_var)):
            check_tensor(t, name, ndim=2)
            if t.shape[1] != j:
                raise ValueError(f"{name} must have {j} columns (the latent dimension), got shape {tuple(t.shape)}")
            check_batch(t, name, like=self.discriminator, finite=False)  # z^s meets D's weights in their dtype
        if source_mean.shape != source_log_var.shape:
            raise ValueError("source_mean and source_log_var must have one shape")
        check_class_indices(source_y, source_mean.shape[0], k, "source_y")
        shape = _encoder_input_shape(self.target_encoder)
        check_batch(target_x, "target_x", shape, like=self.target_encoder)  # finite: the Gumbel draw needs it
        if len(shots) not in (0, 2):
            raise TypeError(f"the labelled target batch is (shot_x, shot_y) or absent, got {len(shots)} tensors")
        if shots:
            check_batch(shots[0], "shot_x", shape, like=self.target_encoder)
            check_class_indices(shots[1], shots[0].shape[0], k, "shot_y")

    def _alignment(self, z_s: Tensor, source_y: Tensor, z_t: Tensor, labels_t: Tensor) -> tuple[Tensor, Tensor]:
        """(:math:`\\mathcal L_D` on detached target codes, :math:`\\mathcal L_A`) for the chosen discriminator."""
        if self.discriminator_kind == "binary":
            d_loss, _ = binary_adversarial_objectives(self.discriminator(z_s).squeeze(-1),
                                                      self.discriminator(z_t.detach()).squeeze(-1))
            _, a_loss = binary_adversarial_objectives(self.discriminator(z_s).squeeze(-1).detach(),
                                                      self.discriminator(z_t).squeeze(-1))
            return d_loss, a_loss
        d_loss = discriminator_objective(self.discriminator(z_s), source_y, self.discriminator(z_t.detach()))
        return d_loss, adversarial_objective(self.discriminator(z_t), labels_t)

    def training_loss(self, source_mean: Tensor, source_log_var: Tensor, source_y: Tensor, target_x: Tensor,
                      *shots: Tensor) -> dict[str, Tensor]:
        r"""One batch of each set: source code moments with labels, unlabelled target images and, in the
        semi-supervised setting, ``shot_x, shot_y`` (labelled target images).

        ``"loss"`` is Eq. 3.12, :math:`\gamma\mathcal L_t^{sup} + (1-\gamma)\mathcal L_t^{unsup} + \mathcal L_A`;
        without shots (unsupervised adaptation) it is :math:`\mathcal L_t^{unsup} + \mathcal L_A`. The unlabelled
        term uses one straight-through Gumbel sample :math:`\tilde y` (Eq. 3.13–3.14), which is also the class
        :math:`\mathcal L_A` asks :math:`D` for (Eq. 3.9). ``"discriminator_loss"`` is Eq. 3.8 on the detached
        target codes. Logged: each term, the prediction entropy, the batch accuracy of :math:`D` on source classes.
        """
        self._check_batch(source_mean, source_log_var, source_y, target_x, shots)
        z_s = reparameterize(source_mean, source_log_var)
        mean_u, log_var_u = self.target_encoder(target_x)
        z_u = reparameterize(mean_u, log_var_u)
        logits_u = self.target_classifier(z_u)
        pseudo = straight_through_gumbel(logits_u, self.tau)
        unsup = unlabelled_target_objective(mean_u, log_var_u, logits_u, pseudo, self.prior_means, self.prior_log_vars)
        unsup_loss = unsup["loss"] if self.categorical_kl else component_kl(
            mean_u, log_var_u, self.prior_means, self.prior_log_vars, pseudo).mean()
        if not self.unlabelled_kl:
            unsup_loss = torch.zeros_like(unsup_loss)
        terms = {"unsupervised": unsup_loss.detach(), "categorical_kl": unsup["categorical_kl"],
                 "gaussian_kl": unsup["gaussian_kl"], "entropy": unsup["entropy"]}
        if self.target_decoder is not None:
            reconstruction = squared_error(target_x, self.target_decoder(z_u)).mean()
            unsup_loss = unsup_loss + reconstruction
            terms["target_reconstruction"] = reconstruction.detach()
        z_t, labels_t = z_u, pseudo.argmax(-1)
        if shots:
            shot_x, shot_y = shots
            mean_l, log_var_l = self.target_encoder(shot_x)
            z_l = reparameterize(mean_l, log_var_l)
            sup = labelled_target_objective(component_kl(mean_l, log_var_l, self.prior_means, self.prior_log_vars,
                                                         shot_y), self.target_classifier(z_l), shot_y, self.alpha_t)
            terms |= {"supervised": sup["loss"].detach(), "shot_cross_entropy": sup["cross_entropy"]}
            z_t, labels_t = torch.cat([z_u, z_l]), torch.cat([labels_t, shot_y])
        d_loss, a_loss = self._alignment(z_s, source_y, z_t, labels_t)
        if shots:
            loss = target_objective(sup["loss"], unsup_loss, a_loss, float(self.gamma))
        else:
            loss = unsup_loss + a_loss
        return {"loss": loss, "discriminator_loss": d_loss, **terms, "adversarial": a_loss.detach(),
                "gamma": self.gamma.detach().clone()}

    def predict(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        r"""Predicted classes :math:`\arg\max_y q_\psi(y|\mu_\psi(x))` (on the CPU), in evaluation mode."""
        check_batch(x, "x", _encoder_input_shape(self.target_encoder))
        with eval_mode(self):
            return apply_in_batches(lambda b: self.target_classifier(self.target_encoder(b)[0]).argmax(-1), x,
                                    batch_size)

    def embed(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        r"""Code means :math:`\mu_\psi(x)` (on the CPU), in evaluation mode, for the latent-space figures."""
        check_batch(x, "x", _encoder_input_shape(self.target_encoder))
        with eval_mode(self):
            return apply_in_batches(lambda b: self.target_encoder(b)[0], x, batch_size)


def build_source(in_channels: int = 1, latent_dim: int = 20, num_classes: int = 10, alpha_s: float = 1000.0,
                 learn_prior: bool = True) -> AVDASource:
    """:class:`AVDASource` on the 32×32 digit networks (:mod:`gi_core.nets.unit_digits`) with the axis prior
    (:func:`axis_prior`); weights from torch's global generator."""
    prior = axis_prior(num_classes, latent_dim)  # checks num_classes before the networks name it "outputs"
    return AVDASource(UNITEncoder(in_channels, latent_dim), UNITDecoder(latent_dim, in_channels),
                      unit_latent_mlp(latent_dim, num_classes), prior, alpha_s, learn_prior)


def build_adapter(source: AVDASource, *, discriminator_kind: str = "classes", target_decoder: bool = False,
                  alpha_t: float = 10.0, tau: float = 3.0, categorical_kl: bool = True) -> AVDAAdapter:
    r""":class:`AVDAAdapter` started from a trained ``source``: :math:`\psi` a copy of :math:`\phi` (as ADDA does; the
    thesis is silent), :math:`q_\psi(y|z)` a copy of :math:`q_\phi(y|z)`, a fresh discriminator
    (:func:`~gi_core.nets.unit_digits.unit_latent_mlp`, K+1 or 1 outputs) and the source's prior, frozen. With
    ``target_decoder`` a copy of the source decoder joins the target side."""
    check_instance(source, AVDASource, "source")
    check_choice(discriminator_kind, DISCRIMINATORS, "discriminator_kind")
    check_instance(target_decoder, bool, "target_decoder")
    latent_dim = source.prior.latent_dim
    outputs = source.num_classes + 1 if discriminator_kind == "classes" else 1
    means, log_vars = source.prior_moments()
    adapter = AVDAAdapter(copy.deepcopy(source.encoder), copy.deepcopy(source.classifier),
                          unit_latent_mlp(latent_dim, outputs).to(means), means, log_vars, alpha_t=alpha_t,
                          tau=tau, discriminator_kind=discriminator_kind,
                          target_decoder=copy.deepcopy(source.decoder) if target_decoder else None,
                          categorical_kl=categorical_kl)
    return adapter.requires_grad_(True)

