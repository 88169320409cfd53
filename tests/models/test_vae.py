"""Tests for gi_core.models.vae: the (β-)VAE's loss, settings, samples and reconstructions."""

import math

import pytest
import torch

from gi_core.maths.gaussians import kl_diag_gaussian_std_normal
from gi_core.maths.likelihoods import gaussian_log_likelihood
from gi_core.models.vae import VAE
from gi_core.nets.encoders import encoder_decoder
from tests.nets.test_autoencoder import networks


def make_vae(likelihood="bernoulli", **kw):
    return VAE(*networks(), likelihood=likelihood, **kw)


def test_vae_loss_is_negative_beta_elbo():
    x = torch.rand(6, 1, 4, 4)
    for beta in (0.33, 1.0, 30.0):
        vae = make_vae(likelihood="gaussian", beta=beta, obs_scale=0.5)
        torch.manual_seed(1)
        terms = vae.training_loss(x)
        torch.manual_seed(1)
        mean, log_var = vae.encode(x)
        z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        log_lik = gaussian_log_likelihood(x, torch.sigmoid(vae.decoder(z)), 0.25)
        kl = kl_diag_gaussian_std_normal(mean, log_var)
        assert torch.allclose(terms["loss"], -(log_lik - beta * kl).mean())
        assert torch.allclose(terms["kl"], kl.mean()) and torch.allclose(terms["neg_log_likelihood"], -log_lik.mean())


def test_vae_validates_its_settings():
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 3)
    with pytest.raises(ValueError, match="unknown likelihood 'poisson'; choose one of"):
        VAE(enc, dec, likelihood="poisson")
    with pytest.raises(ValueError, match=r"beta must lie in \(0.0, inf\)"):
        VAE(enc, dec, beta=0.0)


def test_samples_and_reconstructions_are_images_in_unit_interval():
    vae = make_vae(likelihood="laplace", obs_scale=0.1)
    x = torch.rand(5, 1, 4, 4)
    for images in (vae.sample(7, torch.Generator().manual_seed(0)), vae.reconstruct(x)):
        assert images.min() >= 0 and images.max() <= 1
    assert vae.sample(7).shape == (7, 1, 4, 4)
    assert math.isfinite(vae.training_loss(x)["loss"].item())
