"""Models assembled from the networks, likelihoods and objectives.

A model exposes ``training_loss(x, ...) -> dict`` with the scalar to minimise under
``"loss"`` and each named term beside it, which is what :class:`gi_core.trainer.Trainer`
optimises, logs and guards against NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.distributions import diag_gaussian_log_prob, kl_diag_gaussian_std_normal, reparameterize
from gi_core.likelihoods import bernoulli_log_likelihood, gaussian_log_likelihood, laplace_log_likelihood
from gi_core.objectives import beta_elbo, importance_weighted_bound
from gi_core.validation import check_positive

LIKELIHOODS = ("bernoulli", "gaussian", "laplace")


class VAE(nn.Module):
    r"""Variational autoencoder with prior :math:`\mathcal N(0, I)` and a diagonal-Gaussian encoder.

    ``likelihood`` chooses p(x|z): ``"bernoulli"`` (decoder output = logits), ``"gaussian"``
    (mean = sigmoid(output), fixed variance ``obs_scale**2``) or ``"laplace"`` (location =
    sigmoid(output), fixed scale ``obs_scale``). ``location="identity"`` uses the raw output as the
    Gaussian mean or Laplace location, for data that are not in [0, 1]. ``beta`` weights the KL
    term (beta-VAE).
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
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if location not in ("sigmoid", "identity") or (likelihood == "bernoulli" and location != "sigmoid"):
            raise ValueError(f"location must be 'sigmoid' or 'identity' (and 'sigmoid' for Bernoulli), got {location!r}")
        self.location = location
        check_positive(beta, "beta")
        check_positive(obs_scale, "obs_scale")
        self.encoder, self.decoder = encoder, decoder
        self.likelihood, self.beta, self.obs_scale = likelihood, float(beta), float(obs_scale)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x)."""
        return self.encoder(x)

    def log_likelihood(self, x: Tensor, output: Tensor) -> Tensor:
        """log p(x|z) from the decoder output, summed over pixels; leading sample axes allowed."""
        event_dims = len(self.decoder.output_shape)
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, output, event_dims=event_dims)
        if self.likelihood == "gaussian":
            return gaussian_log_likelihood(x, self.mean_image(output), self.obs_scale**2, event_dims=event_dims)
        return laplace_log_likelihood(x, self.mean_image(output), torch.tensor(self.obs_scale), event_dims=event_dims)

    def mean_image(self, output: Tensor) -> Tensor:
        """The mean (Laplace: location) of p(x|z) given the decoder output (for plots and reconstructions)."""
        return output if self.location == "identity" else torch.sigmoid(output)

    def terms(self, x: Tensor) -> dict[str, Tensor]:
        """Per-example log p(x|z) for one reparameterized z ~ q(z|x), the closed-form KL, and q's moments."""
        mean, log_var = self.encode(x)
        z = reparameterize(mean, log_var)
        return {
            "log_likelihood": self.log_likelihood(x, self.decoder(z)),
            "kl": kl_diag_gaussian_std_normal(mean, log_var),
            "mean": mean,
            "log_var": log_var,
        }

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """Negative beta-ELBO (mean over the batch) with its two terms; labels, if given, are ignored."""
        t = self.terms(x)
        loss = -beta_elbo(t["log_likelihood"], t["kl"], self.beta)
        return {"loss": loss, "neg_log_likelihood": -t["log_likelihood"].mean(), "kl": t["kl"].mean()}

    @torch.no_grad()
    def elbo(self, x: Tensor) -> Tensor:
        """Single-sample ELBO estimate (beta = 1), mean over the batch."""
        t = self.terms(x)
        return beta_elbo(t["log_likelihood"], t["kl"], 1.0)

    @torch.no_grad()
    def importance_weighted_bound(self, x: Tensor, k: int) -> Tensor:
        """The K-sample importance-weighted bound on log p(x), mean over the batch."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        mean, log_var = self.encode(x)
        z = reparameterize(mean, log_var, n_samples=k)
        log_p_x = self.log_likelihood(x.expand(k, *x.shape), self.decoder(z))
        zeros = torch.zeros_like(z)
        log_p_z = diag_gaussian_log_prob(z, zeros, zeros)
        log_q_z = diag_gaussian_log_prob(z, mean, log_var)
        return importance_weighted_bound(log_p_x, log_p_z, log_q_z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Mean images of p(x|z) for ``n`` draws z ~ N(0, I)."""
        latent_dim = self.encoder.head.mean.out_features
        device = next(self.parameters()).device
        z = torch.randn(n, latent_dim, generator=generator).to(device)
        return self.mean_image(self.decoder(z))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Mean images of p(x|z) at the posterior means z = E_q[z|x]."""
        return self.mean_image(self.decoder(self.encode(x)[0]))

