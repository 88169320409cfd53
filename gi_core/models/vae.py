r"""The variational autoencoder (Kingma & Welling, 2014) and the β-VAE (Higgins et al., 2017).

The model minimises the negative β-ELBO of Astorga's (2021) Eq. 2.3–2.4 (:func:`gi_core.maths.bounds.beta_elbo`): the
expected negative log-likelihood of one reparameterized draw plus β times the closed-form KL to the prior.
"""

from __future__ import annotations

from torch import Tensor, nn

from gi_core.maths.bounds import beta_elbo
from gi_core.nets.autoencoder import GaussianAutoencoder
from gi_core.validation import check_real


class VAE(GaussianAutoencoder):
    r"""Variational autoencoder with prior :math:`\mathcal N(0, I)` and a diagonal-Gaussian encoder.

    ``likelihood``, ``obs_scale`` and ``location`` choose p(x|z) as in
    :class:`~gi_core.nets.autoencoder.GaussianAutoencoder`; ``beta`` (> 0) weights the KL term (β-VAE).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        likelihood: str = "bernoulli",
        beta: float = 1.0,
        obs_scale: float = 1.0,
        location: str = "sigmoid",
    ) -> None:
        super().__init__(encoder, decoder, likelihood=likelihood, obs_scale=obs_scale, location=location)
        self.beta = check_real(beta, "beta", minimum=0.0, strict=True)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter."""
        return {"loss": list(self.parameters())}

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """Negative beta-ELBO (mean over the batch) with its two terms; labels, if given, are ignored."""
        t = self.terms(x)
        loss = -beta_elbo(t["log_likelihood"], t["kl"], self.beta)
        return {"loss": loss, "neg_log_likelihood": -t["log_likelihood"].mean(), "kl": t["kl"].mean()}
