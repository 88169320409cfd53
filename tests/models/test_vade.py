"""Tests for gi_core.models.vade: VaDE's loss is the negative bound of Eq. 7.1, its gradients, clusters and samples."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.distributions import Categorical, kl_divergence

from gi_core.maths.gaussians import kl_diag_gaussians
from gi_core.maths.likelihoods import bernoulli_log_likelihood
from gi_core.maths.vade_bound import mixture_responsibilities
from gi_core.models.vade import VaDE, vade_networks
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.nets.priors import GaussianMixturePrior
from tests.helpers import gen

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE, J, K = (1, 4, 4), 2, 3


def make_vade() -> VaDE:
    """A seeded tiny VaDE whose mixture is spread out (unequal weights, distinct means and variances)."""
    torch.manual_seed(0)
    model = vade_networks(SHAPE, J, K, hidden=(8,))
    model.prior.set_mixture(torch.tensor([0.5, 0.3, 0.2]), torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.5]]),
                            torch.tensor([[0.5, 1.0], [2.0, 0.3], [1.0, 1.0]]))
    return model


def images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, *SHAPE, generator=gen(1))


def test_training_loss_is_the_negative_bound_computed_by_hand() -> None:
    model, x = make_vade(), images()
    torch.manual_seed(3)
    loss = model.training_loss(x, torch.zeros(6, dtype=torch.long))  # labels are ignored
    torch.manual_seed(3)
    mean, log_var = model.encoder(x)
    z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
    log_lik = bernoulli_log_likelihood(x, model.decoder(z))
    prior = model.prior
    gamma = torch.softmax(prior.component_log_prob(z), -1)  # p(y|z) at the draw
    kl_z = (gamma * kl_diag_gaussians(mean.unsqueeze(1), log_var.unsqueeze(1), prior.means, prior.log_vars)).sum(-1)
    kl_y = kl_divergence(Categorical(probs=gamma), Categorical(logits=prior.logits.expand(6, K)))
    torch.testing.assert_close(loss["loss"], -(log_lik - kl_z - kl_y).mean())
    torch.testing.assert_close(loss["neg_log_likelihood"], -log_lik.mean())
    torch.testing.assert_close(loss["kl_z"], kl_z.mean())
    torch.testing.assert_close(loss["kl_y"], kl_y.mean())
    assert set(loss) == {"loss", "neg_log_likelihood", "kl_z", "kl_y"}


def test_gradients_reach_the_mixture_and_both_networks() -> None:
    model = make_vade()
    torch.manual_seed(0)
    model.training_loss(images())["loss"].backward()
    named = dict(model.named_parameters())
    for name in ("prior.logits", "prior.means", "prior.raw_log_vars", "encoder.head.mean.weight",
                 "encoder.head.log_var.weight", "decoder.net.0.weight"):
        assert named[name].grad is not None and named[name].grad.abs().sum() > 0, name
    assert model.parameters_by_loss()["loss"] == list(model.parameters())


def test_elbo_is_the_bound_of_one_seeded_draw() -> None:
    model, x = make_vade(), images()
    terms = model.terms(x, gen(4))
    torch.testing.assert_close(model.elbo(x, gen(4)), terms["elbo"], rtol=0, atol=0)
    assert not model.elbo(x, gen(4)).requires_grad
    assert not torch.equal(model.elbo(x, gen(5)), terms["elbo"])


def test_cluster_probabilities_are_the_responsibilities_at_the_encoder_mean() -> None:
    model, x = make_vade(), images()
    probs = model.cluster_probabilities(x)
    mean = model.encoder(x)[0]
    prior = model.prior
    torch.testing.assert_close(probs.sum(1), torch.ones(6))
    torch.testing.assert_close(probs, mixture_responsibilities(mean, prior.log_weights, prior.means, prior.log_vars).exp())
    torch.testing.assert_close(probs, prior.responsibilities(mean))
    assert probs.std(0).sum() > 0  # the images are told apart


def test_samples_are_decoded_draws_of_the_chosen_component() -> None:
    model = make_vade()
    first, again = model.sample(5, 2, gen(7)), model.sample(5, 2, gen(7))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert first.shape == (5, *SHAPE) and first.min() > 0 and first.max() < 1
    prior = model.prior
    z = prior.means[2] + torch.exp(0.5 * prior.log_vars[2]) * torch.randn(5, J, generator=gen(7))
    torch.testing.assert_close(first, torch.sigmoid(model.decoder(z)))
    assert not torch.allclose(model.sample(5, 0, gen(7)), first)


def test_vade_networks_mirror_the_encoder_in_the_decoder() -> None:
    model = vade_networks(SHAPE, 3, 4, hidden=(8, 5))
    sizes = [(m.in_features, m.out_features) for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    assert sizes == [(3, 5), (5, 8), (8, 16)]
    assert (model.prior.num_components, model.prior.latent_dim, model.latent_dim) == (4, 3, 3)
    assert model.encoder.head.mean.in_features == 5


def test_errors() -> None:
    model = make_vade()
    with pytest.raises(ValueError, match="cluster must be below the number of components 3, got 3"):
        model.sample(2, 3)
    with pytest.raises(ValueError, match="cluster must be a non-negative integer"):
        model.sample(2, -1)
    encoder, prior = MLPEncoder(SHAPE, J, (8,)), GaussianMixturePrior(K, J)
    with pytest.raises(ValueError, match="decoder must have an 'output_shape' attribute"):
        VaDE(encoder, nn.Linear(J, 16), prior)
    with pytest.raises(ValueError, match="latent_dim=3 does not match the encoder's latent size 2"):
        VaDE(encoder, MLPDecoder(J, SHAPE, (8,)), GaussianMixturePrior(K, 3))
    with pytest.raises(TypeError, match="prior"):
        VaDE(encoder, MLPDecoder(J, SHAPE, (8,)), nn.Linear(2, 2))
    with pytest.raises(ValueError, match="x"):
        model.training_loss(torch.rand(6, 1, 4, 3))
    with pytest.raises(ValueError, match="x contains NaN"):
        model.cluster_probabilities(torch.full((2, *SHAPE), float("nan")))
    with pytest.raises(ValueError, match="num_clusters must be a positive integer"):
        vade_networks(SHAPE, J, 0)
