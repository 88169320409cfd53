r"""A classifier read off a Gaussian encoder's code mean: the shot baselines of the AVDA chapter.

:class:`CodeClassifier` is :math:`\arg\max_y q(y|\mu(x))`, the prediction rule of AVDA itself, trained by
cross-entropy alone. Started from AVDA's source encoder and classifier it is *source + fine-tune on the shots*;
started from fresh networks it is *target only with the shots*. :class:`CodeMean` hands the code mean to models that
take a plain feature extractor (DANN, :class:`~gi_core.models.dann.DANN`).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.validation import check_batch, check_class_indices, check_module


class CodeMean(nn.Module):
    r"""The mean :math:`\mu(x)` of an ``encoder`` that returns ``(mean, log_var)``; keeps its ``input_shape``."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        check_module(encoder, "encoder")
        self.encoder = encoder
        self.input_shape = getattr(encoder, "input_shape", None)

    def forward(self, x: Tensor) -> Tensor:
        """Code means ``(B, J)``."""
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.encoder(x)[0]


class CodeClassifier(nn.Module):
    r"""Class logits :math:`q(y|\mu(x))` from an ``encoder`` (``(mean, log_var)``) and a code ``classifier``."""

    def __init__(self, encoder: nn.Module, classifier: nn.Module) -> None:
        super().__init__()
        check_module(classifier, "classifier")
        self.code = CodeMean(encoder)
        self.classifier = classifier

    def forward(self, x: Tensor) -> Tensor:
        """Class logits ``(B, K)``."""
        return self.classifier(self.code(x))

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter."""
        return {"loss": list(self.parameters())}

    def training_loss(self, x: Tensor, y: Tensor) -> dict[str, Tensor]:
        """Batch-mean cross-entropy of the logits against ``y``, and the batch accuracy (detached)."""
        logits = self(x)
        check_class_indices(y, x.shape[0], logits.shape[-1], "y")
        return {"loss": F.cross_entropy(logits, y), "accuracy": (logits.argmax(-1) == y).float().mean().detach()}

    def predict(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Predicted classes (on the CPU), in evaluation mode, without gradients."""
        check_batch(x, "x", self.code.input_shape)
        with eval_mode(self):
            return apply_in_batches(lambda b: self(b).argmax(-1), x, batch_size)
