r"""The deterministic autoencoder that pretrains VaDE's networks (Jiang et al. 2017, §3.3).

The encoder's mean :math:`\tilde\mu(x)` is the code and the decoder's logits reconstruct :math:`x` under the Bernoulli
cross-entropy, :math:`-\log p(x|z{=}\tilde\mu(x))` summed over pixels, mean over the batch. The encoder's
log-variance head receives no gradient. Without this start VaDE's mixture has nothing to cluster: every point falls
into one component (the trap the public reimplementations report).
"""

from __future__ import annotations

from torch import Tensor, nn

from gi_core.maths.likelihoods import bernoulli_log_likelihood
from gi_core.validation import check_batch, check_module


class DeterministicAutoencoder(nn.Module):
    """``encoder`` (returning mean and log-variance; the mean is the code) and ``decoder`` (logits, ``output_shape``)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__()
        check_module(encoder, "encoder")
        check_module(decoder, "decoder")
        if not hasattr(decoder, "output_shape"):
            raise ValueError("decoder must have an 'output_shape' attribute (the data shape of one example)")
        self.encoder, self.decoder = encoder, decoder

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter."""
        return {"loss": list(self.parameters())}

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """The reconstruction cross-entropy from the code, mean over the batch; labels, if given, are ignored."""
        check_batch(x, "x", self.decoder.output_shape, like=self, finite=False)
        logits = self.decoder(self.encoder(x)[0])
        return {"loss": -bernoulli_log_likelihood(x, logits, event_dims=len(self.decoder.output_shape)).mean()}
