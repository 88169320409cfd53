"""Tests for gi_core.nets.autoencoder: the generative side that the VAE and AVB share (likelihoods, bounds, prior draws)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gi_core.maths.likelihoods import gaussian_log_likelihood
from gi_core.nets.autoencoder import GaussianAutoencoder, latent_dim_of, standard_normal
from gi_core.nets.encoders import MLPEncoder, encoder_decoder


def networks() -> tuple[nn.Module, nn.Module]:
    """A seeded MLP encoder and decoder of 1x4x4 images with a 3-d latent (hidden width 8)."""
    torch.manual_seed(0)
    return encoder_decoder("mlp", (1, 4, 4), 3, hidden=(8,))


def test_importance_weighted_bound_with_one_sample_is_the_elbo_in_expectation():
    model = GaussianAutoencoder(*networks())
    x = (torch.rand(64, 1, 4, 4) > 0.5).float()
    torch.manual_seed(0)
    elbo = torch.stack([model.elbo(x) for _ in range(200)]).mean()
    iw1 = torch.stack([model.importance_weighted_bound(x, 1) for _ in range(200)]).mean()
    iw50 = model.importance_weighted_bound(x, 50)
    assert abs(elbo - iw1) < 0.05  # both average 12,800 single-sample estimates
    assert iw50 > elbo
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.importance_weighted_bound(x, 0)


def test_identity_location_uses_the_raw_decoder_output():
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 3, hidden=(8,))
    model = GaussianAutoencoder(enc, dec, likelihood="gaussian", obs_scale=0.5, location="identity")
    x, out = torch.randn(2, 1, 4, 4) * 3, torch.randn(2, 1, 4, 4)
    assert torch.allclose(model.log_likelihood(x, out), gaussian_log_likelihood(x, out, 0.25))
    assert torch.equal(model.mean_image(out), out)
    with pytest.raises(ValueError, match="'sigmoid' for Bernoulli"):
        GaussianAutoencoder(enc, dec, likelihood="bernoulli", location="identity")


def test_latent_dim_is_read_from_the_gaussian_head_or_given():
    encoder = MLPEncoder((3,), 2, (8,))
    assert latent_dim_of(encoder) == 2 and latent_dim_of(encoder, 2) == 2
    assert latent_dim_of(nn.Linear(3, 2), 4) == 4  # no GaussianHead: nothing to check against
    with pytest.raises(ValueError, match="latent_dim=3 does not match the encoder's latent size 2"):
        latent_dim_of(encoder, 3)
    with pytest.raises(ValueError, match="latent_dim must be given when the encoder has no GaussianHead"):
        latent_dim_of(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        latent_dim_of(nn.Linear(3, 2), 0)


def test_standard_normal_draws_from_the_generator_in_the_dtype_of_the_module():
    like = nn.Linear(2, 2).double()
    z = standard_normal(5, 3, like, torch.Generator().manual_seed(4))
    assert z.dtype == torch.float64
    assert torch.equal(z, torch.randn(5, 3, generator=torch.Generator().manual_seed(4)).double())
    with pytest.raises(ValueError, match="n must be a positive integer"):
        standard_normal(0, 3, like)
