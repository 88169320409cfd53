r"""A Gaussian-latent autoencoder: encoder :math:`q(z|x)`, decoder :math:`p(x|z)`, prior :math:`\mathcal N(0, I)`.

:class:`GaussianAutoencoder` holds what the models that share this generative side have in common: the
decoder likelihood, the ELBO with the closed-form KL (Astorga 2021, Eq. 2.4–2.5), the importance-weighted bound,
reconstructions and prior samples. It has no training loss; the VAE (:mod:`gi_core.models.vae`) and AVB
(:mod:`gi_core.models.avb`) add theirs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.maths.bounds import beta_elbo, importance_weighted_bound
from gi_core.maths.gaussians import diag_gaussian_log_prob, kl_diag_gaussian_std_normal, reparameterize
from gi_core.maths.likelihoods import bernoulli_log_likelihood, gaussian_log_likelihood, laplace_log_likelihood
from gi_core.nets.encoders import GaussianHead
from gi_core.validation import (broadcast_batch_shape, check_batch, check_choice, check_generator, check_module,
                                check_positive_int, check_real)

LIKELIHOODS = ("bernoulli", "gaussian", "laplace")


def latent_dim_of(encoder: nn.Module, latent_dim: int | None = None) -> int:
    """``latent_dim``, checked against (or, when None, read from) the encoder's :class:`GaussianHead` named ``head``."""
    check_module(encoder, "encoder")
    head = getattr(encoder, "head", None)
    inferred = head.mean.out_features if isinstance(head, GaussianHead) else None
    if latent_dim is None:
        if inferred is None:
            raise ValueError("latent_dim must be given when the encoder has no GaussianHead named 'head'")
        return inferred
    check_positive_int(latent_dim, "latent_dim")
    if inferred is not None and inferred != latent_dim:
        raise ValueError(f"latent_dim={latent_dim} does not match the encoder's latent size {inferred}")
    return latent_dim


def standard_normal(n: int, latent_dim: int, like: nn.Module, generator: torch.Generator | None = None) -> Tensor:
    """``n`` draws of :math:`\\mathcal N(0, I_J)` (with ``generator``, a CPU generator), moved to the device and dtype of
    ``like``'s parameters."""
    check_positive_int(n, "n")
    check_positive_int(latent_dim, "latent_dim")
    check_module(like, "like")
    check_generator(generator, "generator")
    if (param := next(like.parameters(), None)) is None:
        raise ValueError("like must have parameters (their device and dtype are those of the draws)")
    return torch.randn(n, latent_dim, generator=generator).to(device=param.device, dtype=param.dtype)


class GaussianAutoencoder(nn.Module):
    r"""Encoder, decoder and likelihood of a model with prior :math:`\mathcal N(0, I)` and a diagonal-Gaussian encoder.

    ``likelihood`` chooses p(x|z): ``"bernoulli"`` (decoder output = logits), ``"gaussian"``
    (mean = sigmoid(output), fixed variance ``obs_scale**2``) or ``"laplace"`` (location =
    sigmoid(output), fixed scale ``obs_scale``). ``location="identity"`` uses the raw output as the
    Gaussian mean or Laplace location, for data that are not in [0, 1]. The decoder must have an
    ``output_shape`` (the data shape of one example); ``latent_dim`` is read from the encoder's
    :class:`~gi_core.nets.encoders.GaussianHead` when not given.
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        likelihood: str = "bernoulli",
        obs_scale: float = 1.0,
        location: str = "sigmoid",
        latent_dim: int | None = None,
    ) -> None:
        super().__init__()
        check_module(encoder, "encoder")
        check_module(decoder, "decoder")
        if not hasattr(decoder, "output_shape"):
            raise ValueError("decoder must have an 'output_shape' attribute (the data shape of one example)")
        check_choice(likelihood, LIKELIHOODS, "likelihood")
        if location not in ("sigmoid", "identity") or (likelihood == "bernoulli" and location != "sigmoid"):
            raise ValueError(f"location must be 'sigmoid' or 'identity' (and 'sigmoid' for Bernoulli), got {location!r}")
        check_real(obs_scale, "obs_scale", minimum=0.0, strict=True)
        self.encoder, self.decoder = encoder, decoder
        self.likelihood, self.obs_scale, self.location = likelihood, float(obs_scale), location
        self.latent_dim = latent_dim_of(encoder, latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x)."""
        check_batch(x, "x", getattr(self.encoder, "input_shape", None), like=self.encoder, finite=False)
        return self.encoder(x)

    def mean_image(self, output: Tensor) -> Tensor:
        """The mean (Laplace: location) of p(x|z) given the decoder output ``(..., *output_shape)``."""
        check_batch(output, "output", self.decoder.output_shape, like=self.decoder, leading=True, finite=False)
        return output if self.location == "identity" else torch.sigmoid(output)

    def decode(self, z: Tensor) -> Tensor:
        """The mean of p(x|z) (for plots, reconstructions and samples) at ``z`` ``(..., latent_dim)``."""
        check_batch(z, "z", (self.latent_dim,), like=self.decoder, leading=True, finite=False)
        return self.mean_image(self.decoder(z))

    def log_likelihood(self, x: Tensor, output: Tensor) -> Tensor:
        """log p(x|z) from the decoder output, summed over pixels; leading sample axes allowed (they broadcast)."""
        shape = self.decoder.output_shape
        check_batch(x, "x", shape, like=self.decoder, leading=True, finite=False)
        check_batch(output, "output", shape, like=self.decoder, leading=True, finite=False)
        event_dims = len(shape)
        broadcast_batch_shape(event_dims, x=x, output=output)
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(x, output, event_dims=event_dims)
        if self.likelihood == "gaussian":
            return gaussian_log_likelihood(x, self.mean_image(output), self.obs_scale**2, event_dims=event_dims)
        return laplace_log_likelihood(x, self.mean_image(output), torch.tensor(self.obs_scale), event_dims=event_dims)

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

    @torch.no_grad()
    def elbo(self, x: Tensor) -> Tensor:
        """Single-sample ELBO estimate with the closed-form KL, mean over the batch."""
        check_batch(x, "x")
        t = self.terms(x)
        return beta_elbo(t["log_likelihood"], t["kl"], 1.0)

    @torch.no_grad()
    def importance_weighted_bound(self, x: Tensor, k: int) -> Tensor:
        """The K-sample importance-weighted bound on log p(x), mean over the batch."""
        check_batch(x, "x")
        check_positive_int(k, "k")
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
        return self.decode(standard_normal(n, self.latent_dim, self, generator))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Mean images of p(x|z) at the posterior means z = E_q[z|x]."""
        check_batch(x, "x")
        return self.decode(self.encode(x)[0])
