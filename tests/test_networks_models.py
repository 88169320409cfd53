import math

import pytest
import torch

from gi_core.distributions import kl_diag_gaussian_std_normal
from gi_core.likelihoods import gaussian_log_likelihood
from gi_core.models import VAE
from gi_core.networks import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, encoder_decoder


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("kind", ["mlp", "conv"])
def test_encoder_decoder_round_trip_shapes_and_bounded_log_variance(kind, shape):
    torch.manual_seed(0)
    enc, dec = encoder_decoder(kind, shape, latent_dim=5)
    x = torch.rand(3, *shape)
    mean, log_var = enc(x)
    assert mean.shape == log_var.shape == (3, 5)
    assert dec(mean).shape == (3, *shape)
    assert dec(torch.zeros(4, 3, 5)).shape == (4, 3, *shape)  # leading sample axis
    # bounded log-variance even for absurd inputs
    _, huge = enc(x * 1e6)
    assert torch.isfinite(huge).all() and huge.min() > -10.01 and huge.max() < 5.01


def test_networks_reject_bad_configurations():
    with pytest.raises(ValueError, match="latent_dim must be at least 1"):
        MLPEncoder((1, 28, 28), 0)
    with pytest.raises(ValueError, match=r"\(channels, height, width\)"):
        ConvDecoder(2, (28, 28))
    with pytest.raises(ValueError, match="non-empty shape with positive sizes"):
        MLPDecoder(2, ())
    assert MLPEncoder((2,), 3)(torch.zeros(5, 2))[0].shape == (5, 3)  # vectors as well as images
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvEncoder((1, 30, 30), 2)
    with pytest.raises(ValueError, match="'mlp' or 'conv'"):
        encoder_decoder("resnet", (1, 28, 28), 2)
    enc = ConvEncoder((1, 28, 28), 2)
    with pytest.raises(ValueError, match="encoder expects inputs of shape"):
        enc(torch.rand(2, 1, 32, 32))
    assert ConvDecoder(2, (1, 32, 32))(torch.zeros(1, 2)).shape == (1, 1, 32, 32)


def make_vae(likelihood="bernoulli", **kw):
    torch.manual_seed(0)
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 3, hidden=(8,))
    return VAE(enc, dec, likelihood=likelihood, **kw)


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


def test_importance_weighted_bound_with_one_sample_is_the_elbo_in_expectation():
    vae = make_vae()
    x = (torch.rand(64, 1, 4, 4) > 0.5).float()
    torch.manual_seed(0)
    elbo = torch.stack([vae.elbo(x) for _ in range(200)]).mean()
    iw1 = torch.stack([vae.importance_weighted_bound(x, 1) for _ in range(200)]).mean()
    iw50 = vae.importance_weighted_bound(x, 50)
    assert abs(elbo - iw1) < 0.05  # both average 12,800 single-sample estimates
    assert iw50 > elbo
    with pytest.raises(ValueError, match="k must be at least 1"):
        vae.importance_weighted_bound(x, 0)


def test_vae_validates_its_settings():
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 3)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        VAE(enc, dec, likelihood="poisson")
    with pytest.raises(ValueError, match="beta must be strictly positive"):
        VAE(enc, dec, beta=0.0)


def test_samples_and_reconstructions_are_images_in_unit_interval():
    vae = make_vae(likelihood="laplace", obs_scale=0.1)
    x = torch.rand(5, 1, 4, 4)
    for images in (vae.sample(7, torch.Generator().manual_seed(0)), vae.reconstruct(x)):
        assert images.min() >= 0 and images.max() <= 1
    assert vae.sample(7).shape == (7, 1, 4, 4)
    assert math.isfinite(vae.training_loss(x)["loss"].item())


def test_identity_location_uses_the_raw_decoder_output():
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 3, hidden=(8,))
    vae = VAE(enc, dec, likelihood="gaussian", obs_scale=0.5, location="identity")
    x, out = torch.randn(2, 1, 4, 4) * 3, torch.randn(2, 1, 4, 4)
    assert torch.allclose(vae.log_likelihood(x, out), gaussian_log_likelihood(x, out, 0.25))
    assert torch.equal(vae.mean_image(out), out)
    with pytest.raises(ValueError, match="'sigmoid' for Bernoulli"):
        VAE(enc, dec, likelihood="bernoulli", location="identity")
