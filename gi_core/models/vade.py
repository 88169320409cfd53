r"""VaDE (Jiang et al. 2017): a VAE whose prior is a learnable Gaussian mixture, trained by the bound of Eq. 7.1.

Astorga (2021, §7.1) reads it as a three-variable model, :math:`p(x,z,y)=p(y)p(z|y)p(x|z)` and
:math:`q(x,z,y)=q(x)q(z|x)q(y|z)`, whose loss is the inverse joint KL up to the constant :math:`-h_q(x)`. The loss here
is :func:`gi_core.maths.vade_bound.vade_bound_terms` with :math:`\gamma=p(y|z)` at one reparameterized draw
:math:`z\sim q(z|x)` (gradients flow through :math:`\gamma`, as in the authors' code) and a Bernoulli
cross-entropy decoder on grey levels in [0, 1]. Clusters are read at the encoder mean:
:math:`c(x)=\arg\max_k p(y{=}k\,|\,z{=}\tilde\mu(x))`. The mixture's weights are learnt through their logits, so
:math:`\pi` stays on the simplex, and its variances through bounded log-variances.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.maths.gaussians import reparameterize
from gi_core.maths.likelihoods import bernoulli_log_likelihood
from gi_core.maths.vade_bound import mixture_responsibilities, vade_bound_terms
from gi_core.nets.autoencoder import latent_dim_of
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.validation import (check_batch, check_generator, check_instance, check_module, check_non_negative_int,
                                check_positive_int)


class VaDE(nn.Module):
    r"""Encoder :math:`q(z|x)` (returning mean and log-variance), decoder (logits of :math:`p(x|z)`, with an
    ``output_shape``) and a :class:`~gi_core.nets.priors.GaussianMixturePrior` of the encoder's latent size."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, prior: GaussianMixturePrior) -> None:
        super().__init__()
        check_module(decoder, "decoder")
        check_instance(prior, GaussianMixturePrior, "prior")
        if not hasattr(decoder, "output_shape"):
            raise ValueError("decoder must have an 'output_shape' attribute (the data shape of one example)")
        self.latent_dim = latent_dim_of(encoder, prior.latent_dim)
        self.encoder, self.decoder, self.prior = encoder, decoder, prior

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter (networks and mixture)."""
        return {"loss": list(self.parameters())}

    def _log_gamma(self, z: Tensor) -> Tensor:
        return mixture_responsibilities(z, self.prior.log_weights, self.prior.means, self.prior.log_vars)

    def terms(self, x: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Per-example terms of the bound (``log_likelihood``, ``kl_z``, ``kl_y``, ``elbo``) for one draw of z."""
        check_batch(x, "x", self.decoder.output_shape, like=self, finite=False)
        check_generator(generator, "generator")
        mean, log_var = self.encoder(x)
        z = reparameterize(mean, log_var, generator=generator)
        log_likelihood = bernoulli_log_likelihood(x, self.decoder(z), event_dims=len(self.decoder.output_shape))
        return vade_bound_terms(log_likelihood, mean, log_var, self._log_gamma(z), self.prior.log_weights,
                                self.prior.means, self.prior.log_vars)

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """The negative bound, mean over the batch, with its three terms; labels, if given, are ignored."""
        t = self.terms(x)
        return {"loss": -t["elbo"].mean(), "neg_log_likelihood": -t["log_likelihood"].mean(),
                "kl_z": t["kl_z"].mean(), "kl_y": t["kl_y"].mean()}

    @torch.no_grad()
    def elbo(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Per-example bound (nats) for one draw of z: the label-free score used to pick a run."""
        return self.terms(x, generator)["elbo"]

    @torch.no_grad()
    def cluster_probabilities(self, x: Tensor) -> Tensor:
        r""":math:`p(y|z)` at the encoder mean, shape (B, K)."""
        check_batch(x, "x", self.decoder.output_shape, like=self)
        return torch.exp(self._log_gamma(self.encoder(x)[0]))

    @torch.no_grad()
    def sample(self, n: int, cluster: int, generator: torch.Generator | None = None) -> Tensor:
        r"""Mean images of :math:`p(x|z)` for ``n`` draws :math:`z\sim p(z|y{=}\mathrm{cluster})`."""
        check_positive_int(n, "n")
        check_non_negative_int(cluster, "cluster")
        if cluster >= self.prior.num_components:
            raise ValueError(f"cluster must be below the number of components {self.prior.num_components}, got {cluster}")
        check_generator(generator, "generator")
        means = self.prior.means[cluster].expand(n, -1)
        log_vars = self.prior.log_vars[cluster].expand(n, -1)
        return torch.sigmoid(self.decoder(reparameterize(means, log_vars, generator=generator)))


def vade_networks(input_shape: tuple[int, ...], latent_dim: int, num_clusters: int,
                  hidden: tuple[int, ...] = (500, 500, 2000)) -> VaDE:
    """VaDE with Jiang et al.'s (2017) MLPs (784-500-500-2000-J and back for MNIST) and a K-component prior."""
    check_positive_int(num_clusters, "num_clusters")
    encoder = MLPEncoder(input_shape, latent_dim, hidden)
    decoder = MLPDecoder(latent_dim, input_shape, hidden[::-1])
    return VaDE(encoder, decoder, GaussianMixturePrior(num_clusters, latent_dim))
