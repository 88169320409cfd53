r"""Cross-domain latent modulation (CDLM; Hou et al. 2022, §3–4): the model, its objective and update rules
(Eq. 16–22). The modulated reparameterization and its analysis (Eq. 1–15) are :mod:`gi_core.maths.modulation`.

Typos and ambiguities of the seed in Eq. 16–24, and what is implemented instead:

* Eq. 18 writes :math:`\mathrm{KL}(\log q_\phi\ldots)`; the log is spurious.
* Eq. 17–18 are maximised while Eq. 21–22 minimise :math:`\mathcal L_{Rec}` and :math:`\mathcal L_{KL}`; here
  :math:`\mathcal L_{Rec}=-\log p_\theta(x_s|\ddot z_{st})` and :math:`\mathcal L_{KL}` are costs.
* Eq. 20 squares a difference of two expected log-likelihoods (scalars); the text says the consistency is the
  mean squared error between the two decoded images, which is what :class:`CDLM` computes.
* Eq. 21 descends :math:`\nabla_\phi\mathcal L_{adv}`; the encoder must *ascend* the domain loss, which it
  does because :math:`\mathcal L_{adv}` is computed through the gradient reversal layer (Hou et al. 2022, Eq. 24).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.maths.gan_losses import balanced_domain_accuracy, discriminator_loss
from gi_core.maths.gaussians import kl_diag_gaussian_std_normal, reparameterize
from gi_core.maths.likelihoods import bernoulli_log_likelihood, gaussian_log_likelihood
from gi_core.maths.modulation import MODULATIONS, check_gammas, transfer_latents
from gi_core.nets.discriminators import DomainDiscriminator
from gi_core.nets.encoders import ConvDecoder, GaussianHead, conv_side, mlp
from gi_core.nets.gradient_reversal import GradientReversal, scale_gradient
from gi_core.nets.lenet import LeNetFeatures
from gi_core.trainer import parameter_groups
from gi_core.validation import (check_batch, check_choice, check_generator, check_labels, check_module, check_positive_int,
                                check_real, check_same_shape, check_sizes)


class CDLMEncoder(nn.Module):
    r"""CDLM's shared encoder :math:`E_\phi`: :math:`x\mapsto(\mu, \log\sigma^2, h)` (Hou et al. 2022, §3.1).

    Two stride-2 4×4 convolutions (``channels``, ``2*channels`` maps; :math:`H\to H/4`) give :math:`h'`, the
    flattened last convolutional layer; linear heads give :math:`\mu`, the bounded log-variance (a linear
    map of :math:`h'` for :math:`\log\sigma`, doubled, through
    :func:`~gi_core.maths.gaussians.soft_clamp_log_var`; :class:`~gi_core.nets.encoders.GaussianHead`) and
    :math:`h=\operatorname{sigmoid}(W_hh'+b_h)` of the latent's dimension. The seed uses UNIT's encoder,
    whose layers it does not list; this smaller network is the book's choice for CPU runs.
    """

    def __init__(self, input_shape: Sequence[int], latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.input_shape = check_sizes(input_shape, "input_shape")
        if len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be (channels, height, width), got {self.input_shape}")
        check_positive_int(latent_dim, "latent_dim")
        check_positive_int(channels, "channels")
        c, height, width = self.input_shape
        features = 2 * channels * conv_side(height) * conv_side(width)
        self.latent_dim = latent_dim
        self.body = nn.Sequential(
            nn.Conv2d(c, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = GaussianHead(features, latent_dim)
        self.representation = nn.Linear(features, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        hidden = self.body(x)
        mean, log_var = self.head(hidden)
        return mean, log_var, torch.sigmoid(self.representation(hidden))


class CDLM(nn.Module):
    r"""Cross-domain latent modulation for unsupervised domain adaptation (Hou et al. 2022, §3–4).

    Parts: ``encoder`` :math:`E_\phi(x)\to(\mu,\log\sigma^2,h)` shared by both domains, ``decoder``
    :math:`D_\theta` of the source ("desired") domain returning the raw image (Bernoulli logits, or a
    Gaussian mean after a sigmoid), ``discriminator`` :math:`\Xi` on :math:`h` behind the gradient
    reversal layer ``grl``, and ``classifier`` (class logits of images). Per batch of paired source and
    target images (:meth:`training_loss`):

    * :math:`\ddot z_{st},\ddot z_{ts}` by Eq. 1–2 (or the partial modulations of Eq. 11/15, ``modulation``);
      the generation codes :math:`g_s=\gamma_1h_s+\gamma_2\varepsilon`, :math:`g_t=\gamma_1h_t+\gamma_2\varepsilon`;
    * :math:`\mathcal L_{Rec} = -\log p_\theta(x_s|\ddot z_{st})`, the source reconstruction (Eq. 18);
    * :math:`\mathcal L_{KL} = \mathrm{KL}(q(\ddot z_{st}|x_s,x_t)\|\mathcal N(0,I)) + \mathrm{KL}(q(\ddot z_{ts}|x_t,x_s)\|\mathcal N(0,I))`
      (Eq. 18). The seed does not say how it is computed: ``kl="conditional"`` (default, the literal reading)
      uses the Gaussians of :func:`~gi_core.maths.modulation.transfer_latents`, :math:`\mathcal N(\mu_s+\gamma_1\sigma_s h_t,(\gamma_2\sigma_s)^2)`
      for full modulation; ``kl="encoder"`` uses the ordinary VAE terms on :math:`(\mu_s,\sigma_s)` and
      :math:`(\mu_t,\sigma_t)`;
    * :math:`\mathcal L_{adv}` = the domain cross-entropy of :math:`\Xi(R_\lambda(h))`, source = 1 (Eq. 19, 24);
    * :math:`\mathcal L_c = \beta_1\|D_\theta(\ddot z_{st}) - D_\theta(g_s)\|^2 + \beta_2\|D_\theta(\ddot z_{ts}) - D_\theta(g_t)\|^2`
      on the mean images (Eq. 20 in the MSE form the seed's text chooses);
    * the task classifier's cross-entropy on source labels. Its input is not specified by the seed:
      ``classifier_input="generated"`` uses :math:`D_\theta(g_s)` (the test-time input is
      :math:`D_\theta(g_t)`), ``"source"`` the images :math:`x_s`, ``"both"`` (default) both. The images are
      detached: the classifier trains on its own.

    Reductions: sums over pixels and latent dimensions, means over the batch. The returned ``"loss"``

    .. math:: \mathcal L_{adv} + \lambda_1\mathcal L_{KL} + \mathcal L_{Rec}^{(\lambda_2)} + \mathcal L_c^{(\theta)}
        + \mathcal L_{cls}

    is built so that its gradient with respect to each block is that block's update rule: encoder
    :math:`\nabla_\phi(\mathcal L_{adv}+\lambda_1\mathcal L_{KL}+\lambda_2\mathcal L_{Rec})` (Eq. 21; the
    reconstruction reaches the encoder through :func:`~gi_core.nets.gradient_reversal.scale_gradient` with factor
    :math:`\lambda_2` and at full weight the decoder), decoder :math:`\nabla_\theta(\mathcal L_{Rec}+\mathcal L_c)`
    (Eq. 22; the consistency sees detached codes, so :math:`\phi` gets none of it), discriminator
    :math:`\nabla_\Xi\mathcal L_{adv}`, classifier :math:`\nabla\mathcal L_{cls}`. So one optimizer on
    ``"loss"`` follows Eq. 21–22 exactly; for the seed's two optimizers (SGD with momentum for
    :math:`\phi`, Adam for :math:`\theta`) use :meth:`parameters_by_loss` (:func:`gi_core.trainer.make_optimizers`), which keys
    the decoder and classifier to ``"generative_loss"`` = :math:`\mathcal L_{Rec}+\mathcal L_c+\mathcal L_{cls}`.
    ``consistency_to_encoder=True`` lets :math:`\mathcal L_c` reach the encoder too (not in Eq. 21; an
    ablation). Defaults are the seed's: :math:`\gamma_1=1, \gamma_2=0.1, \lambda_1=\lambda_2=10^{-4},
    \beta_1=0.1, \beta_2=0.01`. Inputs are checked against the encoder's ``input_shape`` and ``latent_dim`` and the
    decoder's ``output_shape`` where the parts have them (kept as ``input_shape``, ``code_shape``, ``output_shape``).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        discriminator: nn.Module,
        classifier: nn.Module,
        *,
        gamma1: float = 1.0,
        gamma2: float = 0.1,
        lambda1: float = 1e-4,
        lambda2: float = 1e-4,
        beta1: float = 0.1,
        beta2: float = 0.01,
        likelihood: str = "bernoulli",
        obs_scale: float = 1.0,
        modulation: str = "full",
        kl: str = "conditional",
        classifier_input: str = "both",
        consistency_to_encoder: bool = False,
        grl: GradientReversal | None = None,
    ) -> None:
        super().__init__()
        for name, module in (("encoder", encoder), ("decoder", decoder), ("discriminator", discriminator),
                             ("classifier", classifier)):
            check_module(module, name)
        self.gamma1, self.gamma2 = check_gammas(gamma1, gamma2)
        for name, value in (("lambda1", lambda1), ("lambda2", lambda2), ("beta1", beta1), ("beta2", beta2)):
            check_real(value, name, minimum=0.0)
        check_choice(likelihood, ("bernoulli", "gaussian"), "likelihood")
        check_real(obs_scale, "obs_scale", minimum=0.0, strict=True)
        check_choice(modulation, MODULATIONS, "modulation")
        check_choice(kl, ("conditional", "encoder"), "kl")
        if kl == "conditional" and modulation == "full" and self.gamma2 == 0.0:
            raise ValueError("kl='conditional' needs gamma2 > 0 (with gamma2 = 0 the modulated latent has no "
                             "density and its KL is infinite); use kl='encoder'")
        check_choice(classifier_input, ("generated", "source", "both"), "classifier_input")
        self.encoder, self.decoder, self.discriminator, self.classifier = encoder, decoder, discriminator, classifier
        self.input_shape = getattr(encoder, "input_shape", None)
        self.code_shape = None if getattr(encoder, "latent_dim", None) is None else (encoder.latent_dim,)
        self.output_shape = getattr(decoder, "output_shape", None)
        self.grl = grl if grl is not None else GradientReversal(1.0)
        if not isinstance(self.grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal, got {type(self.grl).__name__}")
        self.lambda1, self.lambda2, self.beta1, self.beta2 = float(lambda1), float(lambda2), float(beta1), float(beta2)
        self.likelihood, self.obs_scale = likelihood, float(obs_scale)
        self.modulation, self.kl, self.classifier_input = modulation, kl, classifier_input
        self.consistency_to_encoder = bool(consistency_to_encoder)

    # -- pieces --
    def encode(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """:math:`(\\mu, \\log\\sigma^2, h)` of ``x``."""
        check_batch(x, "x", self.input_shape, like=self.encoder, finite=False)
        return self.encoder(x)

    def mean_image(self, output: Tensor) -> Tensor:
        """The mean of :math:`p_\\theta(x|z)`: the sigmoid of the decoder output (both likelihoods)."""
        check_batch(output, "output", self.output_shape, leading=True, finite=False)
        return torch.sigmoid(output)

    def log_likelihood(self, x: Tensor, output: Tensor) -> Tensor:
        """:math:`\\log p_\\theta(x|z)` per example from the decoder output (summed over pixels)."""
        check_batch(x, "x", self.output_shape, finite=False)
        check_batch(output, "output", self.output_shape, finite=False)
        check_same_shape(x=x, output=output)
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, output)
        return gaussian_log_likelihood(x, self.mean_image(output), self.obs_scale**2)

    def generation_code(self, h: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """:math:`\\gamma_1 h + \\gamma_2\\varepsilon`, the decoder input used from :math:`h` alone (Eq. 20, test mode)."""
        check_batch(h, "h", self.code_shape, finite=False)
        check_generator(generator, "generator")
        if self.gamma2 == 0.0:
            return self.gamma1 * h
        noise = torch.randn(h.shape, generator=generator, dtype=h.dtype, device=h.device)
        return self.gamma1 * h + self.gamma2 * noise

    def _sample(self, mean: Tensor, log_var: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.modulation == "full" and self.gamma2 == 0.0:
            return mean  # the conditional latent is a point (log_var = -inf)
        return reparameterize(mean, log_var, generator=generator)

    def modulated_latents(self, source_x: Tensor, target_x: Tensor) -> tuple[Tensor, Tensor]:
        """One draw of :math:`(\\ddot z_{st}, \\ddot z_{ts})` for paired source and target images (for plots)."""
        self._check_pairs(source_x, target_x, finite=True)
        (ms, lvs, hs), (mt, lvt, ht) = self.encode(source_x), self.encode(target_x)
        m_st, lv_st, m_ts, lv_ts = self._transfer(ms, lvs, hs, mt, lvt, ht)
        return self._sample(m_st, lv_st), self._sample(m_ts, lv_ts)

    def _transfer(self, ms: Tensor, lvs: Tensor, hs: Tensor, mt: Tensor, lvt: Tensor, ht: Tensor) -> tuple[Tensor, ...]:
        if self.modulation == "full" and self.gamma2 == 0.0:
            # no density: the point mu + gamma1 * sigma * h, with a placeholder log-variance
            return (ms + self.gamma1 * torch.exp(0.5 * lvs) * ht, torch.full_like(lvs, -math.inf),
                    mt + self.gamma1 * torch.exp(0.5 * lvt) * hs, torch.full_like(lvt, -math.inf))
        return transfer_latents(ms, lvs, hs, mt, lvt, ht, self.gamma1, self.gamma2, self.modulation)

    # -- training --
    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: encoder and discriminator (Eq. 21); ``"generative_loss"``: decoder and classifier (Eq. 22)."""
        return parameter_groups(loss=[self.encoder, self.discriminator], generative_loss=[self.decoder, self.classifier])

    def set_coefficient(self, name: str, value: float) -> None:
        """Set the reversal coefficient :math:`\\lambda` (``name`` ``"grl"``, the trainer's schedule)."""
        if name != "grl":
            raise ValueError(f"name must be 'grl', CDLM's one scheduled coefficient; got {name!r}")
        self.grl.set_coefficient(value)

    def training_loss(self, source_x: Tensor, source_y: Tensor, target_x: Tensor) -> dict[str, Tensor]:
        """``"loss"``, ``"generative_loss"`` (see the class docstring) and every term, detached.

        Terms: ``rec_loss``, ``kl_loss``, ``adv_loss``, ``consistency_source`` and ``consistency_target``
        (unweighted), ``consistency_loss`` (weighted), ``class_loss``, ``inference_loss`` (the Eq. 21
        objective's value), ``domain_accuracy`` (balanced, of :math:`\\Xi` on :math:`h`) and ``grl_lambda``.
        Source and target batches must have the same size (rows are paired by the modulation).
        """
        self._check_pairs(source_x, target_x)
        # the likelihood refuses a non-finite x anyway (one host sync); this second sync names it source_x
        check_batch(source_x, "source_x")
        check_labels(source_y, source_x.shape[0], "source_y")
        n = source_x.shape[0]
        mean, log_var, h = self.encode(torch.cat([source_x, target_x]))
        ms, mt, lvs, lvt, hs, ht = mean[:n], mean[n:], log_var[:n], log_var[n:], h[:n], h[n:]
        m_st, lv_st, m_ts, lv_ts = self._transfer(ms, lvs, hs, mt, lvt, ht)
        z_st, z_ts = self._sample(m_st, lv_st), self._sample(m_ts, lv_ts)
        g_s, g_t = self.generation_code(hs), self.generation_code(ht)

        # L_Rec: full weight for the decoder, lambda2 for the encoder (Eq. 21-22)
        rec = -self.log_likelihood(source_x, self.decoder(scale_gradient(z_st, self.lambda2))).mean()
        # L_KL (Eq. 18)
        if self.kl == "conditional":
            kl = kl_diag_gaussian_std_normal(m_st, lv_st) + kl_diag_gaussian_std_normal(m_ts, lv_ts)
        else:
            kl = kl_diag_gaussian_std_normal(ms, lvs) + kl_diag_gaussian_std_normal(mt, lvt)
        kl = kl.mean()
        # L_adv through the GRL (Eq. 19, 24)
        logits = self.discriminator(self.grl(h))
        adv = discriminator_loss(logits[:n], logits[n:], "standard")
        # L_c on decoded mean images (Eq. 20); codes detached unless consistency_to_encoder
        codes = torch.cat([z_st, g_s, z_ts, g_t])
        images = self.mean_image(self.decoder(codes if self.consistency_to_encoder else codes.detach()))
        img_st, img_gs, img_ts, img_gt = images.split(n)
        cons_s = (img_st - img_gs).square().flatten(1).sum(1).mean()
        cons_t = (img_ts - img_gt).square().flatten(1).sum(1).mean()
        consistency = self.beta1 * cons_s + self.beta2 * cons_t
        # the task classifier, on detached images with source labels
        inputs = {"generated": [img_gs], "source": [source_x], "both": [source_x, img_gs]}[self.classifier_input]
        class_loss = sum(nn.functional.cross_entropy(self.classifier(x.detach()), source_y) for x in inputs) / len(inputs)

        generative = rec + consistency + class_loss
        with torch.no_grad():
            inference = adv + self.lambda1 * kl + self.lambda2 * rec
        return {
            "loss": adv + self.lambda1 * kl + generative,
            "generative_loss": generative,
            "inference_loss": inference,
            "rec_loss": rec.detach(),
            "kl_loss": kl.detach(),
            "adv_loss": adv.detach(),
            "consistency_loss": consistency.detach(),
            "consistency_source": cons_s.detach(),
            "consistency_target": cons_t.detach(),
            "class_loss": class_loss.detach(),
            "domain_accuracy": balanced_domain_accuracy(logits[:n], logits[n:]),
            "grl_lambda": self.grl.coefficient.detach().clone(),
        }

    def _check_pairs(self, source_x: Tensor, target_x: Tensor, finite: bool = False) -> None:
        check_batch(source_x, "source_x", self.input_shape, like=self.encoder, finite=finite)
        check_batch(target_x, "target_x", self.input_shape, like=self.encoder, finite=finite)
        if source_x.shape != target_x.shape:
            raise ValueError(f"source_x and target_x must have one shape (rows are paired), got "
                             f"{tuple(source_x.shape)} and {tuple(target_x.shape)}")

    # -- evaluation --
    def translate(self, x: Tensor, noise: bool = True, generator: torch.Generator | None = None) -> Tensor:
        """Source-style images :math:`\\tilde x = D_\\theta(\\gamma_1h + \\gamma_2\\varepsilon)` of ``x``
        (the test mode of Hou et al. 2022).

        ``noise=False`` drops :math:`\\gamma_2\\varepsilon` (the seed keeps it; Table 6 shows it hardly matters).
        """
        check_batch(x, "x")
        h = self.encode(x)[2]
        code = self.generation_code(h, generator) if noise else self.gamma1 * h
        return self.mean_image(self.decoder(code))

    def predict(self, x: Tensor, batch_size: int = 1024, noise: bool = True) -> Tensor:
        """Classes of target images: the classifier applied to :meth:`translate` (CPU, evaluation mode, no gradients)."""
        check_batch(x, "x")
        with eval_mode(self):
            return apply_in_batches(lambda b: self.classifier(self.translate(b, noise)).argmax(-1), x, batch_size)

    def features(self, x: Tensor) -> Tensor:
        """The deep representation :math:`h` (differentiable)."""
        return self.encode(x)[2]

    def embed(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """:math:`h` of ``x`` on the CPU without gradients (t-SNE, A-distance)."""
        check_batch(x, "x")
        with eval_mode(self):
            return apply_in_batches(self.features, x, batch_size)


def build_cdlm(
    image_shape: Sequence[int] = (1, 28, 28),
    latent_dim: int = 64,
    num_classes: int = 10,
    channels: int = 32,
    coefficient: float = 1.0,
    **options: object,
) -> CDLM:
    """CDLM with :class:`CDLMEncoder`, :class:`~gi_core.nets.encoders.ConvDecoder`, a 2-layer discriminator on :math:`h`
    (100 hidden units) and a :class:`~gi_core.nets.lenet.LeNetFeatures` classifier (100 → 100 → classes).

    The reversal layer starts at ``coefficient``; the seed gives no schedule for it (the experiments use the
    trainer's ``"grl"`` schedule). ``options`` go to :class:`CDLM` (``gamma1``, ``kl``, ...).
    """
    shape = check_sizes(image_shape, "image_shape")
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(f"image_shape must be (channels, side, side) (LeNet's images are square), got {shape}")
    check_positive_int(num_classes, "num_classes", minimum=2)
    features = LeNetFeatures(shape[0], shape[1])
    classifier = nn.Sequential(features, mlp([features.out_features, 100, 100, num_classes]))
    return CDLM(
        CDLMEncoder(shape, latent_dim, channels),
        ConvDecoder(latent_dim, shape, channels),
        DomainDiscriminator(latent_dim, (100,)),
        classifier,
        grl=GradientReversal(coefficient),
        **options,  # type: ignore[arg-type]
    )
