r"""Unsupervised domain adaptation: the gradient reversal layer, DANN and the proxy A-distance.

Seed 004, Part 3: a labelled source :math:`\mathcal D_S`, an unlabelled target :math:`\mathcal D_T`, and the
Ben-David et al. bound :math:`R_T(h)\le \hat R_S(h) + \text{complexity} + \hat d_{\mathcal H}(\mathcal D_S,
\mathcal D_T) + \inf_{h}[R_S(h)+R_T(h)]` (seed 004 §3.3). DANN (Ganin et al., 2016; seed 004 §3.4) lowers the
divergence term by training features that a domain classifier cannot separate, through the saddle point of

.. math:: E(\theta_f,\theta_y,\theta_d) = \frac1n\sum_{i\in S} L_y\big(G_y(G_f(x_i)), y_i\big)
    - \lambda\Big[\frac1n\sum_{i\in S} L_d\big(G_d(G_f(x_i)), 1\big)
    + \frac1{n'}\sum_{j\in T} L_d\big(G_d(G_f(x'_j)), 0\big)\Big],

minimised over :math:`(\theta_f,\theta_y)` and maximised over :math:`\theta_d`. The gradient reversal layer
:math:`R_\lambda` (forward :math:`R_\lambda(x)=x`, backward :math:`\partial R_\lambda/\partial x = -\lambda I`)
turns the saddle point into one minimisation of :math:`L_y + L_d\circ G_d\circ R_\lambda\circ G_f` by ordinary
back-propagation: the discriminator descends :math:`L_d`, the feature extractor receives
:math:`-\lambda\,\partial L_d/\partial f`.

Domain labels: source = 1, target = 0, as in seed 004 §3.4; losses are computed on logits.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.adversarial import discriminator_loss
from gi_core.evaluation import apply_in_batches, eval_mode
from gi_core.networks import mlp
from gi_core.validation import check_labels, check_tensor

__all__ = [
    "ADistance",
    "DANN",
    "DomainDiscriminator",
    "GradientReversal",
    "LeNetFeatures",
    "a_distance",
    "balanced_domain_accuracy",
    "ben_david_terms",
    "build_dann",
    "dann_learning_rate",
    "discrimination_divergence",
    "frame_digits",
    "grad_reverse",
    "grl_schedule",
    "h_divergence",
    "ink_extent",
    "joint_error",
    "prepare_digits",
    "scale_gradient",
    "symmetric_difference_class",
]


# --- gradient reversal ------------------------------------------------------------------------


class _ScaleGradient(torch.autograd.Function):
    """Identity in the forward pass; the backward pass multiplies the incoming gradient by ``factor``."""

    @staticmethod
    def forward(ctx, x: Tensor, factor: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(factor.detach().clone())  # a copy: the caller may update its factor in place
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (factor,) = ctx.saved_tensors
        return grad_output * factor.to(device=grad_output.device, dtype=grad_output.dtype), None


def _as_factor(value: float | Tensor, like: Tensor, name: str) -> Tensor:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a scalar, got shape {tuple(value.shape)}")
        return value.reshape(())
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return torch.tensor(value, dtype=like.dtype if like.is_floating_point() else torch.float32, device=like.device)


def scale_gradient(x: Tensor, factor: float | Tensor) -> Tensor:
    r"""Identity forward, gradient multiplied by ``factor`` backward: :math:`\partial y/\partial x = c\,I`.

    With :math:`c=-\lambda` this is the gradient reversal layer; with :math:`0<c<1` it lets a loss reach
    the parameters before ``x`` with a smaller weight than the parameters after it (CDLM's
    :math:`\lambda_2\mathcal L_{Rec}` for the encoder, seed 003 Eq. 21).
    """
    check_tensor(x, "x", finite=False)
    return _ScaleGradient.apply(x, _as_factor(factor, x, "factor"))


def grad_reverse(x: Tensor, lambda_: float | Tensor = 1.0) -> Tensor:
    r"""The gradient reversal layer :math:`R_\lambda` as a function: forward :math:`x`, backward :math:`-\lambda\,g`."""
    check_tensor(x, "x", finite=False)
    return _ScaleGradient.apply(x, -_as_factor(lambda_, x, "lambda_"))


def grl_schedule(progress: float, gamma: float = 10.0) -> float:
    r"""Ganin et al.'s GRL coefficient :math:`\lambda_p = \frac{2}{1+e^{-\gamma p}} - 1 = \tanh(\gamma p/2)`.

    ``progress`` :math:`p\in[0,1]` is the fraction of training done (seed 004 §3.4, :math:`\gamma=10`). The
    coefficient rises from 0, which keeps the noisy early domain gradient from swamping the features,
    to (almost) 1: :math:`\lambda_{0.5}\approx0.9866` and :math:`\lambda_1\approx0.99991` for :math:`\gamma=10`.
    """
    progress, gamma = float(progress), float(gamma)
    if not (math.isfinite(progress) and 0.0 <= progress <= 1.0):
        raise ValueError(f"progress must lie in [0, 1], got {progress}")
    if not (math.isfinite(gamma) and gamma > 0.0):
        raise ValueError(f"gamma must be finite and positive, got {gamma}")
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def dann_learning_rate(progress: float, lr0: float = 0.01, alpha: float = 10.0, beta: float = 0.75) -> float:
    r"""Ganin et al.'s annealed learning rate :math:`\mu_p = \mu_0/(1+\alpha p)^\beta` (seed 004 §3.4).

    Defaults :math:`\mu_0=0.01`, :math:`\alpha=10`, :math:`\beta=0.75`; ``progress`` :math:`p\in[0,1]`.
    """
    progress = float(progress)
    if not (math.isfinite(progress) and 0.0 <= progress <= 1.0):
        raise ValueError(f"progress must lie in [0, 1], got {progress}")
    for name, value in (("lr0", lr0), ("alpha", alpha), ("beta", beta)):
        if not (math.isfinite(value) and value >= 0.0) or (name == "lr0" and value == 0.0):
            raise ValueError(f"{name} must be finite and {'positive' if name == 'lr0' else 'non-negative'}, got {value}")
    return lr0 / (1.0 + alpha * progress) ** beta


class GradientReversal(nn.Module):
    r"""The gradient reversal layer :math:`R_\lambda`: identity forward, :math:`-\lambda\cdot` gradient backward.

    The coefficient :math:`\lambda\ge0` is a float32 buffer (saved in checkpoints, no host synchronisation
    when it changes; 0.3 is stored as 0.30000001...); set it with ``grl.lambda_ = value`` or from the training progress with :meth:`set_progress`.
    With ``schedule_steps`` given, ``lambda_`` is the scale :math:`\lambda_{\max}` of the schedule and each
    call of :meth:`advance` (a model's ``training_loss`` makes one per step) sets :math:`\lambda` to
    :math:`\lambda_{\max}` × :func:`grl_schedule` of ``step / schedule_steps`` (capped at 1) and counts
    the step, so that :class:`~gi_core.trainer.Trainer` runs the schedule without a callback.
    """

    def __init__(self, lambda_: float = 1.0, schedule_steps: int | None = None, gamma: float = 10.0) -> None:
        super().__init__()
        if schedule_steps is not None and (isinstance(schedule_steps, bool) or not isinstance(schedule_steps, int)
                                           or schedule_steps < 1):
            raise ValueError(f"schedule_steps must be a positive integer or None, got {schedule_steps!r}")
        grl_schedule(0.0, gamma)  # validates gamma
        self.schedule_steps, self.gamma = schedule_steps, float(gamma)
        self.register_buffer("coefficient", torch.zeros(()))
        self.register_buffer("schedule_step", torch.zeros((), dtype=torch.long))
        self.lambda_ = lambda_  # validates it
        self.lambda_max = float(lambda_)
        if schedule_steps is not None:
            self.lambda_ = 0.0

    @property
    def lambda_(self) -> float:
        """The current coefficient :math:`\\lambda` (reading it synchronises with the device)."""
        return float(self.coefficient)

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        value = float(value)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"the reversal coefficient lambda must be finite and non-negative, got {value}")
        with torch.no_grad():
            self.coefficient.fill_(value)

    def set_progress(self, progress: float) -> float:
        """Set :math:`\\lambda=\\lambda_{\\max}` × :func:`grl_schedule` ``(progress, gamma)`` and return it."""
        value = self.lambda_max * grl_schedule(progress, self.gamma)
        self.lambda_ = value
        return value

    def advance(self) -> None:
        """With ``schedule_steps``: set :math:`\\lambda` from the step counter, then count one step (else nothing)."""
        if self.schedule_steps is None:
            return
        with torch.no_grad():
            progress = (self.schedule_step.float() / self.schedule_steps).clamp(max=1.0)
            self.coefficient.copy_(self.lambda_max * torch.tanh(0.5 * self.gamma * progress))  # tanh = 2/(1+e^{-γp}) - 1
            self.schedule_step.add_(1)

    def forward(self, x: Tensor) -> Tensor:
        return _ScaleGradient.apply(x, -self.coefficient)

    def extra_repr(self) -> str:
        return f"schedule_steps={self.schedule_steps}, gamma={self.gamma}"


def balanced_domain_accuracy(source_logits: Tensor, target_logits: Tensor) -> Tensor:
    r"""A domain classifier's balanced accuracy :math:`\tfrac12(\Pr_S[\ell>0] + \Pr_T[\ell<0])` (source = 1), detached."""
    with torch.no_grad():
        return 0.5 * ((source_logits > 0).float().mean() + (target_logits < 0).float().mean())


# --- networks -------------------------------------------------------------------------------


class DomainDiscriminator(nn.Module):
    """An MLP from features ``(B, F)`` to one domain logit ``(B,)`` (source = 1, target = 0).

    Default ``hidden=(100,)``: DANN's MNIST domain classifier (Ganin et al., 2016) and CDLM's "two-layer
    fully connected" discriminator :math:`\\Xi` (seed 003 §4.2) are both two linear layers.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (100,)) -> None:
        super().__init__()
        if in_features < 1 or any(int(h) < 1 for h in hidden):
            raise ValueError(f"in_features and hidden sizes must be positive, got {in_features} and {tuple(hidden)}")
        self.in_features = int(in_features)
        self.net = mlp([self.in_features, *map(int, hidden), 1])

    def forward(self, features: Tensor) -> Tensor:
        if features.dim() != 2 or features.shape[1] != self.in_features:
            raise ValueError(f"discriminator expects features of shape (B, {self.in_features}), got {tuple(features.shape)}")
        return self.net(features).squeeze(-1)


def _lenet_side(size: int) -> int:
    """Side after conv5 -> pool2 -> conv5 -> pool2 (valid convolutions), or raise."""
    after_first = size - 4
    if size < 16 or after_first % 2 or (after_first // 2 - 4) % 2:
        raise ValueError(f"LeNet features need an image side of 16, 20, 24, 28, 32, ... (4k, >= 16), got {size}")
    return (after_first // 2 - 4) // 2


class LeNetFeatures(nn.Module):
    r"""DANN's feature extractor :math:`G_f` for digits (Ganin et al., 2016, MNIST architecture after LeNet-5).

    conv 5×5, 32 maps → ReLU → max-pool 2×2 → conv 5×5, 48 maps → ReLU → max-pool 2×2 → flatten. Valid
    convolutions: a 28×28 image gives 48·4·4 = 768 features, a 32×32 image 48·5·5 = 1200. ``in_channels``
    is 1 (MNIST, USPS) or 3 (MNIST-M; grey digits are repeated over three channels, see
    :func:`prepare_digits`). ``out_features`` holds the width.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, channels: tuple[int, int] = (32, 48)) -> None:
        super().__init__()
        if in_channels < 1 or min(channels) < 1:
            raise ValueError(f"in_channels and channels must be positive, got {in_channels} and {channels}")
        side = _lenet_side(int(image_size))
        self.input_shape = (int(in_channels), int(image_size), int(image_size))
        self.out_features = channels[1] * side * side
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels[0], channels[1], 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"feature extractor expects images of shape (B, {self.input_shape}), got {tuple(x.shape)}")
        return self.net(x)


def prepare_digits(x: Tensor, size: int = 28, channels: int = 1) -> Tensor:
    """Digits ``(N, C, H, W)`` in [0, 1] resized bilinearly to ``size`` × ``size`` with ``channels`` channels.

    One channel becomes three by repetition (MNIST fed to an MNIST-M network), three become one by the
    channel mean. USPS's 16×16 images become 28×28 this way (seed 003 §6 resizes USPS to 28×28). The
    result is clamped to [0, 1].
    """
    check_tensor(x, "x", ndim=4)
    if size < 1 or channels not in (1, 3):
        raise ValueError(f"size must be positive and channels 1 or 3, got size={size}, channels={channels}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels, got shape {tuple(x.shape)}")
    if tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if x.shape[1] != channels:
        x = x.expand(-1, 3, -1, -1) if channels == 3 else x.mean(1, keepdim=True)
    return x.clamp(0.0, 1.0).contiguous()


def ink_extent(x: Tensor, threshold: float = 0.3) -> tuple[Tensor, Tensor]:
    """Height and width in pixels of each image's ink: from the first to the last row (column) of ``x`` ``(N, 1, H, W)``
    with a pixel above ``threshold``; 0 for a blank image. A label-free measure of how digits are framed."""
    check_tensor(x, "x", ndim=4)
    if x.shape[1] != 1:
        raise ValueError(f"x must have one channel, got shape {tuple(x.shape)}")
    ink = x[:, 0] > threshold

    def extent(lines: Tensor) -> Tensor:  # lines (N, L): does line l hold ink?
        index = torch.arange(lines.shape[1], device=lines.device)
        first = torch.where(lines, index, lines.shape[1]).min(1).values
        last = torch.where(lines, index, -1).max(1).values
        return (last - first + 1).clamp(min=0)

    return extent(ink.any(2)), extent(ink.any(1))


def frame_digits(x: Tensor, box: int = 20, size: int = 28) -> Tensor:
    """Digits that fill their frame ``(N, C, H, W)``, shrunk into a centred ``box`` × ``box`` square of a ``size`` × ``size`` frame.

    MNIST's construction scales every digit into a 20×20 box and centres it in 28×28 pixels (LeCun et al.,
    1998); USPS's 16×16 digits fill their frame, so a USPS digit resized to 28×28 is about 40 % taller than an
    MNIST one (chapter 4 measures 27.6 against 19.7 pixels of ink). This gives USPS MNIST's framing: resize to
    ``box`` (bilinear with antialiasing), zero padding around it, clamped to [0, 1].
    """
    check_tensor(x, "x", ndim=4)
    if not 1 <= box <= size:
        raise ValueError(f"need 1 <= box <= size, got box={box}, size={size}")
    inner = F.interpolate(x, size=(box, box), mode="bilinear", align_corners=False, antialias=True)
    before = (size - box) // 2
    return F.pad(inner, (before, size - box - before, before, size - box - before)).clamp(0.0, 1.0).contiguous()


# --- DANN -----------------------------------------------------------------------------------


class DANN(nn.Module):
    r"""Domain-adversarial neural network (Ganin et al., 2016; seed 004 §3.4).

    ``feature_extractor`` :math:`G_f` maps images to features ``(B, F)``; ``label_classifier`` :math:`G_y` maps
    features to class logits; ``domain_discriminator`` :math:`G_d` maps features to one domain logit and sees
    them through the gradient reversal layer ``grl`` (default: a fixed :math:`\lambda=1`).
    :meth:`training_loss` returns

    .. math:: \mathcal L = \underbrace{\frac1n\sum_{i\in S} \mathrm{CE}(G_y(G_f(x_i)), y_i)}_{\texttt{class\_loss}}
        + \underbrace{\frac1n\sum_{i\in S}\operatorname{softplus}(-\ell_i)
        + \frac1{n'}\sum_{j\in T}\operatorname{softplus}(\ell_j)}_{\texttt{domain\_loss}},
        \qquad \ell = G_d(R_\lambda(G_f(x))),

    the domain term being the binary cross-entropy on logits (source label 1) of
    :func:`~gi_core.adversarial.discriminator_loss`. One backward pass of :math:`\mathcal L` gives
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
        self.feature_extractor = feature_extractor
        self.label_classifier = label_classifier
        self.domain_discriminator = domain_discriminator
        self.grl = grl if grl is not None else GradientReversal(1.0)
        if not isinstance(self.grl, GradientReversal):
            raise TypeError(f"grl must be a GradientReversal, got {type(self.grl).__name__}")

    def features(self, x: Tensor) -> Tensor:
        """The features :math:`G_f(x)` ``(B, F)`` (differentiable)."""
        return self.feature_extractor(x).flatten(1)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits :math:`G_y(G_f(x))`."""
        return self.label_classifier(self.features(x))

    def domain_logits(self, x: Tensor) -> Tensor:
        """Domain logits :math:`G_d(R_\\lambda(G_f(x)))` ``(B,)`` (positive: source)."""
        return self.domain_discriminator(self.grl(self.features(x)))

    def set_progress(self, progress: float) -> float:
        """Set the reversal coefficient from the training progress :math:`p\\in[0,1]` (:func:`grl_schedule`)."""
        return self.grl.set_progress(progress)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter (one optimizer suffices; the GRL does the min-max)."""
        return {"loss": list(self.parameters())}

    def training_loss(self, source_x: Tensor, source_y: Tensor, target_x: Tensor) -> dict[str, Tensor]:
        """``"loss"`` = ``class_loss`` + ``domain_loss``, with those two, ``domain_accuracy`` and ``grl_lambda`` detached.

        ``domain_accuracy`` is the balanced accuracy of the discriminator on this batch,
        :math:`\\tfrac12(\\Pr_S[\\ell>0] + \\Pr_T[\\ell<0])`. In training mode the GRL's schedule (if any)
        advances by one step first.
        """
        check_tensor(source_x, "source_x", finite=False)
        check_tensor(target_x, "target_x", finite=False)
        check_labels(source_y, source_x.shape[0], "source_y")
        if source_x.shape[1:] != target_x.shape[1:]:
            raise ValueError(f"source and target images differ in shape: {tuple(source_x.shape)} vs {tuple(target_x.shape)}")
        if self.training:
            self.grl.advance()
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
        with eval_mode(self):
            return apply_in_batches(lambda b: self(b).argmax(-1), x, batch_size)

    def embed(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Features :math:`G_f(x)` (on the CPU) in evaluation mode without gradients, for t-SNE or the A-distance."""
        with eval_mode(self):
            return apply_in_batches(self.features, x, batch_size)


def build_dann(
    in_channels: int = 1,
    image_size: int = 28,
    num_classes: int = 10,
    schedule_steps: int | None = None,
    gamma: float = 10.0,
    lambda_: float = 1.0,
) -> DANN:
    """DANN with Ganin et al.'s MNIST architecture.

    :class:`LeNetFeatures` (32 and 48 maps of 5×5), label classifier 100 → ReLU → 100 → ReLU →
    ``num_classes``, domain discriminator 100 → ReLU → 1. With ``schedule_steps`` the GRL follows
    ``lambda_`` × :func:`grl_schedule` over that many training steps; otherwise :math:`\\lambda` stays at
    ``lambda_`` (0: a source-only network with the same parts).
    """
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    features = LeNetFeatures(in_channels, image_size)
    return DANN(
        features,
        mlp([features.out_features, 100, 100, num_classes]),
        DomainDiscriminator(features.out_features, (100,)),
        GradientReversal(lambda_, schedule_steps=schedule_steps, gamma=gamma),
    )


# --- the Ben-David bound on a finite input space ----------------------------------------------


def _finite_domain(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> None:
    for name, p in (("p_source", p_source), ("p_target", p_target)):
        check_tensor(p, name, ndim=1)
        if (p < 0).any() or abs(float(p.sum()) - 1.0) > 1e-9:
            raise ValueError(f"{name} must be a probability vector over the inputs (non-negative, summing to 1)")
    check_tensor(hypotheses, "hypotheses", ndim=2)
    if p_source.shape != p_target.shape or hypotheses.shape[1] != p_source.shape[0]:
        raise ValueError(f"need p_source, p_target of shape (X,) and hypotheses (H, X), got {tuple(p_source.shape)}, "
                         f"{tuple(p_target.shape)}, {tuple(hypotheses.shape)}")
    if ((hypotheses != 0) & (hypotheses != 1)).any():
        raise ValueError("hypotheses must be 0/1 labelings of the inputs")


def h_divergence(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> Tensor:
    r"""The :math:`\mathcal H`-divergence :math:`d_{\mathcal H}=2\sup_{h\in\mathcal H}|\Pr_S(h=1)-\Pr_T(h=1)|` (seed 004 §3.3).

    On a finite input space: ``p_source``, ``p_target`` ``(X,)`` are the input marginals, ``hypotheses``
    ``(H, X)`` the 0/1 labelings that make up :math:`\mathcal H`.
    """
    _finite_domain(p_source, p_target, hypotheses)
    return 2.0 * (hypotheses @ (p_source - p_target)).abs().max()


def discrimination_divergence(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> Tensor:
    r"""Seed 004's proposition: :math:`2\big(1-\min_h[\Pr_S(h=0)+\Pr_T(h=1)]\big)`, the divergence as a domain classifier's success.

    With the sample frequencies in place of ``p_source``/``p_target`` this is the empirical
    :math:`\hat d_{\mathcal H}`; for a class closed under complement (:math:`h\in\mathcal H\Rightarrow1-h\in\mathcal H`)
    it equals :func:`h_divergence`, because :math:`\Pr_S(h=0)+\Pr_T(h=1) = 1-[\Pr_S(h=1)-\Pr_T(h=1)]`.
    """
    _finite_domain(p_source, p_target, hypotheses)
    errors = (1.0 - hypotheses) @ p_source + hypotheses @ p_target
    return 2.0 * (1.0 - errors.min())


def symmetric_difference_class(hypotheses: Tensor) -> Tensor:
    r""":math:`\mathcal H\Delta\mathcal H=\{h\oplus h' : h,h'\in\mathcal H\}` as 0/1 labelings ``(H², X)`` (Ben-David et al., 2010)."""
    check_tensor(hypotheses, "hypotheses", ndim=2)
    return (hypotheses[:, None, :] != hypotheses[None, :, :]).to(hypotheses.dtype).flatten(0, 1)


def ben_david_terms(p_source: Tensor, p_target: Tensor, labels_source: Tensor, labels_target: Tensor,
                    hypotheses: Tensor) -> dict[str, Tensor]:
    r"""Every term of :math:`\varepsilon_T(h)\le\varepsilon_S(h)+\tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)+\lambda^*`
    for each :math:`h\in\mathcal H` (Ben-David et al., 2010, Thm. 2; seed 004 §3.3, seed 003 Eq. 23).

    ``labels_source``/``labels_target`` ``(X,)`` are the deterministic 0/1 labeling functions
    :math:`f_S, f_T`; :math:`\varepsilon_D(h)=\sum_x p_D(x)|h(x)-f_D(x)|`, :math:`\lambda^*=\min_h[\varepsilon_S(h)+\varepsilon_T(h)]`.
    Returns ``source_risk``, ``target_risk`` (both ``(H,)``), ``divergence`` (:math:`d_{\mathcal H\Delta\mathcal H}`),
    ``lambda_star`` and ``bound`` ``(H,)``; the bound holds exactly (the proof is three triangle inequalities
    of the disagreement :math:`\varepsilon_D(h,h')=\sum_x p_D(x)|h(x)-h'(x)|`).
    """
    _finite_domain(p_source, p_target, hypotheses)
    for name, f in (("labels_source", labels_source), ("labels_target", labels_target)):
        if f.shape != p_source.shape or ((f != 0) & (f != 1)).any():
            raise ValueError(f"{name} must be a 0/1 labeling of shape {tuple(p_source.shape)}")
    source_risk = (hypotheses - labels_source).abs() @ p_source
    target_risk = (hypotheses - labels_target).abs() @ p_target
    divergence = h_divergence(p_source, p_target, symmetric_difference_class(hypotheses))
    lambda_star = (source_risk + target_risk).min()
    return {"source_risk": source_risk, "target_risk": target_risk, "divergence": divergence,
            "lambda_star": lambda_star, "bound": source_risk + 0.5 * divergence + lambda_star}


# --- the adaptability term on features -------------------------------------------------------


def joint_error(
    source_features: Tensor | np.ndarray,
    source_labels: Tensor | np.ndarray,
    target_features: Tensor | np.ndarray,
    target_labels: Tensor | np.ndarray,
    test_fraction: float = 0.5,
    C: float = 1.0,
    max_per_domain: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    r"""An estimate of the Ben-David adaptability term :math:`\lambda^*=\min_h[\varepsilon_S(h)+\varepsilon_T(h)]`
    for linear classifiers on given features (seed 004 §3.3; :func:`ben_david_terms` computes it exactly on a
    finite space).

    Each domain is split at random into a training and a test part (``test_fraction``); one multinomial
    logistic regression (scikit-learn, standardised features, penalty ``C``) is fitted to the labelled training
    parts of *both* domains, each domain weighing one half as in :math:`\varepsilon_S+\varepsilon_T`. Returns its
    held-out ``source_error``, ``target_error`` and their sum ``lambda_star``. Small when one linear
    classifier serves both domains; it grows when an alignment maps target digits onto source features of
    another class, which lowers the divergence term of the bound and raises this one (Zhao et al., 2019). It
    reads target labels: a diagnosis, never a selection rule.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    if not (math.isfinite(C) and C > 0):
        raise ValueError(f"C must be positive and finite, got {C}")
    rng = np.random.default_rng(seed)
    parts = []
    for name, x, y in (("source", source_features, source_labels), ("target", target_features, target_labels)):
        features = _features_array(x, f"{name}_features")
        labels = np.asarray(y.cpu() if isinstance(y, Tensor) else y).astype(np.int64)
        if labels.shape != (features.shape[0],):
            raise ValueError(f"{name}_labels must have shape ({features.shape[0]},), got {labels.shape}")
        order = rng.permutation(features.shape[0])[:max_per_domain]
        n_test = int(round(test_fraction * order.size))
        if n_test < 1 or order.size - n_test < 2:
            raise ValueError(f"{name} has too few rows ({features.shape[0]}) for a train/test split")
        train, test = order[n_test:], order[:n_test]
        parts.append((features[train], labels[train], features[test], labels[test]))
    if parts[0][0].shape[1] != parts[1][0].shape[1]:
        raise ValueError(f"source and target features differ in width: {parts[0][0].shape[1]} vs {parts[1][0].shape[1]}")
    (xs, ys, xs_test, ys_test), (xt, yt, xt_test, yt_test) = parts
    weights = np.r_[np.full(len(ys), 0.5 / len(ys)), np.full(len(yt), 0.5 / len(yt))] * (len(ys) + len(yt))
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    classifier.fit(np.concatenate([xs, xt]), np.r_[ys, yt], logisticregression__sample_weight=weights)
    source_error = float(np.mean(classifier.predict(xs_test) != ys_test))
    target_error = float(np.mean(classifier.predict(xt_test) != yt_test))
    return {"source_error": source_error, "target_error": target_error, "lambda_star": source_error + target_error}


# --- proxy A-distance -------------------------------------------------------------------------


@dataclass(frozen=True)
class ADistance:
    r"""A proxy A-distance estimate :math:`\hat d_A = 2(1-2\varepsilon)` and how it was obtained.

    ``value`` is clipped to :math:`[0, 2]`; ``raw`` is the unclipped :math:`2(1-2\varepsilon)`, negative
    when the held-out error ``error`` exceeds one half (a classifier worse than chance: the domains are
    indistinguishable to this classifier, and the small negative number is estimation noise). ``C`` is the
    selected regularisation constant; ``n_train`` and ``n_test`` count examples of both domains.
    """

    value: float
    raw: float
    error: float
    classifier: str
    C: float
    n_train: int
    n_test: int

    def __float__(self) -> float:
        return self.value


def _features_array(x: Tensor | np.ndarray, name: str) -> np.ndarray:
    array = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (N, F), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array.astype(np.float64, copy=False)


def a_distance(
    source_features: Tensor | np.ndarray,
    target_features: Tensor | np.ndarray,
    classifier: str = "linear_svm",
    test_fraction: float = 0.5,
    C_grid: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_per_domain: int | None = None,
    seed: int = 0,
) -> ADistance:
    r"""Proxy A-distance :math:`\hat d_A = 2(1-2\varepsilon)` between two samples of features (seed 004 §3.3).

    :math:`\varepsilon` is the held-out error of a linear domain classifier (Ben-David et al., 2007/2010;
    Ganin et al., 2016; Long et al., 2015, used by seed 003 Fig. 9). Protocol:

    1. with ``max_per_domain``, keep that many random examples of each domain;
    2. split each domain at random into a training part and a test part (``test_fraction`` of it);
    3. standardise the features with the training part's statistics;
    4. choose :math:`C` in ``C_grid`` by 3-fold cross-validated balanced accuracy on the training part
       (the test part is never used to choose anything), then refit on the whole training part;
    5. :math:`\varepsilon = \tfrac12(\text{error on the source test part} + \text{error on the target test
       part})`, the balanced error: the empirical divergence of seed 004 §3.3 weighs the two domains by
       :math:`1/n` and :math:`1/n'`, so unequal sample sizes do not move it.

    ``classifier``: ``"linear_svm"`` (scikit-learn ``LinearSVC``) or ``"logistic"`` (logistic regression),
    both with balanced class weights. Separable domains give :math:`\varepsilon=0`, :math:`\hat d_A=2`;
    identical ones :math:`\varepsilon\approx\tfrac12`, :math:`\hat d_A\approx0`. The error is *not* folded
    (:math:`\varepsilon\to1-\varepsilon` when above one half), which would read the test labels; ``raw``
    keeps the unclipped value.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if classifier not in ("linear_svm", "logistic"):
        raise ValueError(f"classifier must be 'linear_svm' or 'logistic', got {classifier!r}")
    if not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    grid = [float(c) for c in C_grid]
    if not grid or any(not (math.isfinite(c) and c > 0) for c in grid):
        raise ValueError(f"C_grid must hold positive finite values, got {tuple(C_grid)}")
    source, target = _features_array(source_features, "source_features"), _features_array(target_features, "target_features")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features differ in width: {source.shape[1]} vs {target.shape[1]}")
    if max_per_domain is not None and max_per_domain < 10:
        raise ValueError(f"max_per_domain must be at least 10, got {max_per_domain}")
    rng = np.random.default_rng(seed)
    parts = []
    for name, data in (("source_features", source), ("target_features", target)):
        order = rng.permutation(data.shape[0])
        if max_per_domain is not None:
            order = order[:max_per_domain]
        n_test = int(round(test_fraction * order.size))
        if n_test < 2 or order.size - n_test < 6:
            raise ValueError(f"{name} has too few rows ({data.shape[0]}) for a train/test split with 3-fold selection")
        parts.append((data[order[n_test:]], data[order[:n_test]]))
    (source_train, source_test), (target_train, target_test) = parts
    x_train = np.concatenate([source_train, target_train])
    y_train = np.concatenate([np.ones(len(source_train), int), np.zeros(len(target_train), int)])

    if classifier == "linear_svm":
        estimator = LinearSVC(class_weight="balanced", max_iter=5000, random_state=seed)
    else:
        estimator = LogisticRegression(class_weight="balanced", max_iter=2000)
    pipeline = make_pipeline(StandardScaler(), estimator)
    param = f"{type(estimator).__name__.lower()}__C"
    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)  # a hard-margin fit on separable data stops early; harmless here
        if len(grid) > 1:
            search = GridSearchCV(pipeline, {param: grid}, scoring="balanced_accuracy",
                                  cv=StratifiedKFold(3, shuffle=True, random_state=seed))
            search.fit(x_train, y_train)
            best_c, fitted = float(search.best_params_[param]), search.best_estimator_
        else:
            best_c = grid[0]
            fitted = pipeline.set_params(**{param: best_c}).fit(x_train, y_train)
    error = 0.5 * (float(np.mean(fitted.predict(source_test) != 1)) + float(np.mean(fitted.predict(target_test) != 0)))
    raw = 2.0 * (1.0 - 2.0 * error)
    return ADistance(min(max(raw, 0.0), 2.0), raw, error, classifier, best_c,
                     len(x_train), len(source_test) + len(target_test))
