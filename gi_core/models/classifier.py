r"""The classifier of Astorga's (2021) §6.3 behind the Inception Score and FID: an encoder's body and a linear
softmax layer.

It is trained by cross-entropy like any model of the book (:class:`gi_core.trainer.Trainer`); its probabilities
and penultimate features are read by :mod:`gi_core.metrics.generation`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.nets.encoders import ConvEncoder, MLPEncoder
from gi_core.nets.resnets import ResNetEncoder
from gi_core.validation import check_batch, check_choice, check_labels, check_module, check_positive_int, check_sizes


class FeatureClassifier(nn.Module):
    r"""An encoder body followed by one linear layer to class logits (Astorga 2021, §6.3).

    ``body`` maps a batch of inputs to features of shape ``(B, features)``; ``head`` is the last linear
    layer, ``features -> num_classes``, whose softmax gives :math:`p^*(y|x)`. ``input_shape`` (optional)
    is checked against every input's trailing shape.
    """

    def __init__(
        self, body: nn.Module, features: int, num_classes: int, input_shape: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        check_module(body, "body")
        check_positive_int(features, "features")
        check_positive_int(num_classes, "num_classes", minimum=2)
        self.body = body
        self.head = nn.Linear(features, num_classes)
        self.input_shape = None if input_shape is None else check_sizes(input_shape, "input_shape")

    @property
    def num_classes(self) -> int:
        """Number of classes K."""
        return self.head.out_features

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features (the input of the last linear layer), shape ``(B, features)``."""
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Class logits, shape ``(B, num_classes)``."""
        return self.head(self.features(x))

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter."""
        return {"loss": list(self.parameters())}

    def training_loss(self, x: Tensor, y: Tensor) -> dict[str, Tensor]:
        """The batch mean of the cross-entropy of the logits against the labels ``y``."""
        logits = self(x)
        check_labels(y, x.shape[0], "y")
        return {"loss": F.cross_entropy(logits, y)}


def feature_classifier(
    arch: str, image_shape: Sequence[int], num_classes: int = 10, hidden: Sequence[int] | None = None
) -> FeatureClassifier:
    """A :class:`FeatureClassifier` on the body of an encoder of architecture ``arch``: ``"mlp"``, ``"conv"`` or ``"resnet"``.

    ``hidden`` follows :func:`gi_core.nets.encoders.encoder_decoder`: for ``mlp`` the hidden widths
    (default ``(512, 256)``), for ``conv`` ``(channels, width of the linear layer)`` (default ``(32, 256)``);
    for ``resnet`` (the thesis's encoder, Table 6.2, :class:`~gi_core.nets.resnets.ResNetEncoder`) ``(channels,)``
    (default ``(32,)``), whose features are the flattened output of the last residual block.
    The features are the last hidden layer (after its ReLU). Weights are drawn from torch's global RNG.
    """
    defaults = {"mlp": (512, 256), "conv": (32, 256), "resnet": (32,)}
    check_choice(arch, tuple(defaults), "arch")
    check_sizes(image_shape, "image_shape")
    widths = check_sizes(defaults[arch] if hidden is None else hidden, "hidden")
    if arch != "mlp" and len(widths) != len(defaults[arch]):
        wanted = "(channels, width of the linear layer)" if arch == "conv" else "(channels,)"
        raise ValueError(f"hidden must be {wanted} for arch {arch!r}, got {hidden!r}")
    if arch == "mlp":
        encoder: nn.Module = MLPEncoder(image_shape, 1, widths)
        width = widths[-1]
    elif arch == "conv":
        channels, width = widths
        encoder = ConvEncoder(image_shape, 1, channels, width)
    else:
        encoder = ResNetEncoder(image_shape, 1, *widths)
        width = encoder.head.mean.in_features
    return FeatureClassifier(encoder.body, width, num_classes, input_shape=encoder.input_shape)
