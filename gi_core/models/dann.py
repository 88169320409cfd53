r"""DANN, the domain-adversarial neural network (Ganin et al., 2016; Corro and Sebag 2023, §3.4), and its builder.

Corro and Sebag's (2023) Part 3: a labelled source :math:`\mathcal D_S`, an unlabelled target
:math:`\mathcal D_T`, and the Ben-David et al. bound (:mod:`gi_core.maths.ben_david`). DANN lowers its
divergence term by training features that a domain classifier cannot separate, through the saddle point of

.. math:: E(\theta_f,\theta_y,\theta_d) = \frac1n\sum_{i\in S} L_y\big(G_y(G_f(x_i)), y_i\big)
    - \lambda\Big[\frac1n\sum_{i\in S} L_d\big(G_d(G_f(x_i)), 1\big)
    + \frac1{n'}\sum_{j\in T} L_d\big(G_d(G_f(x'_j)), 0\big)\Big],

minimised over :math:`(\theta_f,\theta_y)` and maximised over :math:`\theta_d`, which the gradient reversal layer
(:mod:`gi_core.nets.gradient_reversal`) turns into one minimisation. Domain labels: source = 1, target = 0, as in
Corro and Sebag's (2023) §3.4; losses are computed on logits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.maths.gan_losses import balanced_domain_accuracy, discriminator_loss
from gi_core.nets.discriminators import DomainDiscriminator
from gi_core.nets.encoders import mlp
from gi_core.nets.gradient_reversal import GradientReversal
from gi_core.nets.lenet import LeNetFeatures
from gi_core.validation import check_batch, check_labels, check_module, check_positive_int


class DANN(nn.Module):
    r"""Domain-adversarial neural network (Ganin et al., 2016; Corro and Sebag 2023, §3.4).

    ``feature_extractor`` :math:`G_f` maps images to features ``(B, F)``; ``label_classifier`` :math:`G_y` maps
    features to class logits; ``domain_discriminator`` :math:`G_d` maps features to one domain logit and sees
    them through the gradient reversal layer ``grl`` (default: :math:`\lambda=1`; the trainer's ``"grl"`` schedule
    sets it, see :meth:`set_coefficient`).
    :meth:`training_loss` returns

    .. math:: \mathcal L = \underbrace{\frac1n\sum_{i\in S} \mathrm{CE}(G_y(G_f(x_i)), y_i)}_{\texttt{class\_loss}}
        + \underbrace{\frac1n\sum_{i\in S}\operatorname{softplus}(-\ell_i)
        + \frac1{n'}\sum_{j\in T}\operatorname{softplus}(\ell_j)}_{\texttt{domain\_loss}},
        \qquad \ell = G_d(R_\lambda(G_f(x))),

    the domain term being the binary cross-entropy on logits (source label 1) of
    :func:`~gi_core.maths.gan_losses.discriminator_loss`. One backward pass of :math:`\mathcal L` gives
    :math:`G_y` and :math:`G_d` the gradients of their own losses and :math:`G_f` the gradient of the class
    loss minus :math:`\lambda` times that of the domain loss: the saddle point of the module docstring.
    Source and target images go through :math:`G_f` in one batch (fine for networks without batch
    normalisation, such as :class:`LeNetFeatures`).
    """

    def __init__(
        self,
        feature_extractor: nn.Module,
        label_classifier: nn.Module,
        domain_discriminator: nn.Module,
        grl: GradientReversal | None = None,
    ) -> None:
        super().__init__()
        for name, module in (("feature_extractor", feature_extractor), ("label_classifier", label_classifier),
                             ("domain_discriminator", domain_discriminator)):
            check_module(module, name)
        self.feature_extractor = feature_extractor
        self.label_classifier = label_classifier
        self.domain_discriminator = domain_discriminator
        self.grl = grl if grl is not None else GradientReversal(1.0)
        if not isinstance(self.grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal, got {type(self.grl).__name__}")

    def features(self, x: Tensor) -> Tensor:
        """The features :math:`G_f(x)` ``(B, F)`` (differentiable)."""
        check_batch(x, "x", getattr(self.feature_extractor, "input_shape", None), like=self.feature_extractor, finite=False)
        return self.feature_extractor(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits :math:`G_y(G_f(x))`."""
        return self.label_classifier(self.features(x))

    def domain_logits(self, x: Tensor) -> Tensor:
        """Domain logits :math:`G_d(R_\\lambda(G_f(x)))` ``(B,)`` (positive: source)."""
        return self.domain_discriminator(self.grl(self.features(x)))

    def set_coefficient(self, name: str, value: float) -> None:
        """Set the reversal coefficient :math:`\\lambda` (``name`` ``"grl"``, the trainer's schedule)."""
        if name != "grl":
            raise ValueError(f"name must be 'grl', DANN's one scheduled coefficient; got {name!r}")
        self.grl.set_coefficient(value)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter (one optimizer suffices; the GRL does the min-max)."""
        return {"loss": list(self.parameters())}

    def training_loss(self, source_x: Tensor, source_y: Tensor, target_x: Tensor) -> dict[str, Tensor]:
        """``"loss"`` = ``class_loss`` + ``domain_loss``, with those two, ``domain_accuracy`` and ``grl_lambda`` detached.

        ``domain_accuracy`` is the balanced accuracy of the discriminator on this batch,
        :math:`\\tfrac12(\\Pr_S[\\ell>0] + \\Pr_T[\\ell<0])`.
        """
        shape = getattr(self.feature_extractor, "input_shape", None)
        check_batch(source_x, "source_x", shape, like=self.feature_extractor, finite=False)
        check_batch(target_x, "target_x", shape, like=self.feature_extractor, finite=False)
        check_labels(source_y, source_x.shape[0], "source_y")
        if source_x.shape[1:] != target_x.shape[1:]:
            raise ValueError(f"source_x and target_x differ in shape: {tuple(source_x.shape)} vs {tuple(target_x.shape)}")
        n = source_x.shape[0]
        features = self.features(torch.cat([source_x, target_x]))
        class_loss = F.cross_entropy(self.label_classifier(features[:n]), source_y)
        logits = self.domain_discriminator(self.grl(features))
        domain_loss = discriminator_loss(logits[:n], logits[n:], "standard")
        return {
            "loss": class_loss + domain_loss,
            "class_loss": class_loss.detach(),
            "domain_loss": domain_loss.detach(),
            "domain_accuracy": balanced_domain_accuracy(logits[:n], logits[n:]),
            "grl_lambda": self.grl.coefficient.detach().clone(),
        }

    def predict(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Predicted classes (on the CPU), in evaluation mode and without gradients."""
        check_batch(x, "x")
        with eval_mode(self):
            return apply_in_batches(lambda b: self(b).argmax(-1), x, batch_size)

    def embed(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Features :math:`G_f(x)` (on the CPU) in evaluation mode without gradients, for t-SNE or the A-distance."""
        check_batch(x, "x")
        with eval_mode(self):
            return apply_in_batches(self.features, x, batch_size)


def build_dann(in_channels: int = 1, image_size: int = 28, num_classes: int = 10, coefficient: float = 1.0) -> DANN:
    """DANN with Ganin et al.'s MNIST architecture.

    :class:`~gi_core.nets.lenet.LeNetFeatures` (32 and 48 maps of 5×5), label classifier 100 → ReLU → 100 → ReLU →
    ``num_classes``, domain discriminator 100 → ReLU → 1, and a reversal layer starting at ``coefficient``
    (0 with no schedule: a source-only network with the same parts).
    """
    check_positive_int(num_classes, "num_classes", minimum=2)
    features = LeNetFeatures(in_channels, image_size)
    return DANN(
        features,
        mlp([features.out_features, 100, 100, num_classes]),
        DomainDiscriminator(features.out_features, (100,)),
        GradientReversal(coefficient),
    )
