"""Tests for gi_core.nets.priors: the learnable Gaussian-mixture prior against torch.distributions and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from torch.distributions import Categorical, MixtureSameFamily

from gi_core.nets.priors import GaussianMixturePrior
from tests.helpers import F64, N_SE, diag_normal, gen, randn

pytestmark = pytest.mark.usefixtures("one_thread")


def make_prior() -> GaussianMixturePrior:
    prior = GaussianMixturePrior(3, 2, mean_scale=2.0, generator=gen(1), dtype=F64)
    with torch.no_grad():
        prior.logits.copy_(torch.tensor([0.2, -0.4, 1.0], dtype=F64))
        prior.raw_log_vars.copy_(torch.tensor([[0.3, -0.2], [0.0, 0.5], [-0.7, 0.1]], dtype=F64))
    return prior


def test_mixture_log_prob_matches_mixture_same_family() -> None:
    prior = make_prior()
    z = randn(7, 2, seed=4)
    reference = MixtureSameFamily(Categorical(logits=prior.logits), diag_normal(prior.means, prior.log_vars))
    torch.testing.assert_close(prior.log_prob(z), reference.log_prob(z))
    assert prior.component_log_prob(z).shape == (7, 3)


def test_mixture_responsibilities_follow_bayes_rule() -> None:
    prior = make_prior()
    z = randn(7, 2, seed=4)
    resp = prior.responsibilities(z)
    torch.testing.assert_close(resp.sum(-1), torch.ones(7, dtype=F64))
    weights = torch.softmax(prior.logits, -1).detach().numpy()
    stds = torch.exp(0.5 * prior.log_vars).detach().numpy()
    means = prior.means.detach().numpy()
    joint = np.stack(
        [weights[k] * scipy.stats.norm.pdf(z.numpy(), means[k], stds[k]).prod(-1) for k in range(3)], axis=-1
    )
    np.testing.assert_allclose(resp.detach().numpy(), joint / joint.sum(-1, keepdims=True), rtol=1e-10)


def test_mixture_sample_moments_and_gradients() -> None:
    prior = make_prior()
    n = 100_000
    z = prior.sample(n, generator=gen(9))
    assert z.shape == (n, 2)
    weights = torch.softmax(prior.logits, -1)
    exact_mean = weights @ prior.means
    second = weights @ (prior.log_vars.exp() + prior.means**2)
    exact_std = torch.sqrt(second - exact_mean**2)
    assert torch.all((z.mean(0) - exact_mean).abs() < N_SE * exact_std / math.sqrt(n))
    z.sum().backward()
    assert prior.means.grad is not None and prior.raw_log_vars.grad is not None
    torch.testing.assert_close(prior.sample(5, generator=gen(2)), prior.sample(5, generator=gen(2)))


def test_mixture_initialization_is_uniform_with_unit_variance() -> None:
    prior = GaussianMixturePrior(4, 3)
    torch.testing.assert_close(prior.log_weights.exp(), torch.full((4,), 0.25))
    torch.testing.assert_close(prior.log_vars, torch.zeros(4, 3))
    assert (prior.num_components, prior.latent_dim) == (4, 3)


def test_mixture_errors() -> None:
    with pytest.raises(ValueError, match="num_components must be a positive integer, got 0"):
        GaussianMixturePrior(0, 2)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer, got 0"):
        GaussianMixturePrior(2, 0)
    with pytest.raises(ValueError, match="log_var_bounds"):
        GaussianMixturePrior(2, 2, log_var_bounds=(0.5, 2.0))
    prior = GaussianMixturePrior(2, 3)
    with pytest.raises(ValueError, match="last dimension 3"):
        prior.log_prob(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        prior.sample(0)


def test_the_mixture_is_torch_distributions_mixture_same_family():
    """log p(z) and the responsibilities against the library's MixtureSameFamily (its component posterior)."""
    import torch

    from gi_core.nets.priors import GaussianMixturePrior

    prior = GaussianMixturePrior(4, 3, mean_scale=2.0, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        prior.logits.copy_(torch.tensor([0.3, -1.0, 0.5, 0.0], dtype=torch.float64))
        prior.raw_log_vars.copy_(torch.linspace(-1.0, 1.0, 12, dtype=torch.float64).reshape(4, 3))
    z = torch.randn(50, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2
    library = prior.distribution()
    assert torch.allclose(prior.log_prob(z), library.log_prob(z), atol=1e-12)
    joint = library.mixture_distribution.logits.log_softmax(-1) + library.component_distribution.log_prob(z.unsqueeze(1))
    assert torch.allclose(prior.responsibilities(z), joint.softmax(-1), atol=1e-12)


def test_variance_floor_is_one_variance_for_sampling_densities_and_entropies():
    """sigma^2 = floor^2 + exp(l): the floor holds however small l gets, and every method uses that one variance."""
    prior = GaussianMixturePrior(3, 2, generator=gen(1), dtype=F64, variance_floor=0.5)
    torch.testing.assert_close(prior.log_vars.exp(), torch.full((3, 2), 1.25, dtype=F64))
    with torch.no_grad():
        prior.raw_log_vars.fill_(-1e3)
    torch.testing.assert_close(prior.log_vars.exp(), torch.full((3, 2), 0.25 + math.exp(-10.0), dtype=F64))
    z = randn(7, 2, seed=4)
    library = prior.distribution()
    assert torch.allclose(prior.log_prob(z), library.log_prob(z), atol=1e-12)
    assert torch.allclose(library.component_distribution.base_dist.scale, torch.full((3, 2), 0.25 + math.exp(-10.0),
                                                                                     dtype=F64).sqrt())
    labels, draws = prior.sample_components(200_000, generator=gen(2))
    spread = (draws - prior.means[labels]).std()
    assert abs(spread - math.sqrt(0.25 + math.exp(-10.0))) < N_SE * 0.5 / math.sqrt(2 * 200_000)
    with pytest.raises(ValueError, match="variance_floor must lie in"):
        GaussianMixturePrior(2, 2, variance_floor=-0.1)


def test_sample_is_sample_components_without_the_components():
    prior = make_prior()
    labels, z = prior.sample_components(6, generator=gen(3))
    torch.testing.assert_close(prior.sample(6, generator=gen(3)), z, rtol=0, atol=0)
    assert labels.shape == (6,) and labels.dtype == torch.int64 and int(labels.max()) < 3
    with torch.no_grad():  # each draw comes from its own component: pull the components apart to read it off
        prior.means.copy_(torch.tensor([[-100.0, 0.0], [0.0, 0.0], [100.0, 0.0]], dtype=F64))
    labels, z = prior.sample_components(50, generator=gen(5))
    torch.testing.assert_close(torch.bucketize(z[:, 0].contiguous(), torch.tensor([-50.0, 50.0], dtype=F64)), labels)


@pytest.mark.parametrize("floor", [0.0, 0.5])
def test_set_mixture_sets_the_weights_means_and_variances(floor: float) -> None:
    prior = GaussianMixturePrior(3, 2, generator=gen(1), dtype=F64, variance_floor=floor)
    weights = torch.tensor([2.0, 1.0, 1.0], dtype=F64)  # not normalised: set_mixture divides by the sum
    means = torch.tensor([[-3.0, 0.5], [0.0, 2.0], [4.0, -1.0]], dtype=F64)
    variances = floor**2 + torch.tensor([[0.01, 1.0], [3.0, 0.2], [100.0, 1e-4]], dtype=F64)
    prior.set_mixture(weights, means, variances)
    torch.testing.assert_close(prior.log_weights.exp(), torch.tensor([0.5, 0.25, 0.25], dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(prior.means, means, rtol=0, atol=0)
    torch.testing.assert_close(prior.log_vars.exp(), variances, rtol=1e-10, atol=0)
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad for p in (prior.logits, prior.means, prior.raw_log_vars))
    single = GaussianMixturePrior(3, 2)  # float32 parameters take float64 inputs
    single.set_mixture(weights, means, variances if floor == 0.0 else variances - floor**2)
    assert single.means.dtype == torch.float32
    torch.testing.assert_close(single.log_vars.exp(), (variances - floor**2).float(), rtol=1e-5, atol=0)


def test_set_mixture_refuses_bad_mixtures_and_leaves_the_prior_unchanged() -> None:
    prior = GaussianMixturePrior(3, 2, generator=gen(1), dtype=F64, variance_floor=0.5)
    before = {name: p.clone() for name, p in prior.named_parameters()}
    ones, zeros = torch.ones(3, 2, dtype=F64), torch.zeros(3, 2, dtype=F64)
    weights = torch.ones(3, dtype=F64)
    for bad, match in (((weights[:2], zeros, ones), r"weights must have shape \(3,\), got \(2,\)"),
                       ((weights, zeros[:, :1], ones), r"means must have shape \(3, 2\), got \(3, 1\)"),
                       ((weights, zeros, ones[None]), r"variances must have shape \(3, 2\), got \(1, 3, 2\)"),
                       ((torch.tensor([1.0, 0.0, 1.0], dtype=F64), zeros, ones), "weights and variances must be positive"),
                       ((weights, zeros, -ones), "weights and variances must be positive"),
                       ((weights, zeros, torch.full((3, 2), 0.2, dtype=F64)), "variances must lie in"),  # below s²
                       ((weights, zeros, torch.full((3, 2), 0.25 + 1e-6, dtype=F64)), "variances must lie in"),
                       ((weights, zeros, torch.full((3, 2), 0.25 + 200.0, dtype=F64)), "variances must lie in"),
                       ((weights, zeros * float("nan"), ones), "means contains NaN")):
        with pytest.raises(ValueError, match=match):
            prior.set_mixture(*bad)
    with pytest.raises(TypeError, match="weights must be a floating-point tensor"):
        prior.set_mixture(torch.ones(3, dtype=torch.long), zeros, ones)
    for name, p in prior.named_parameters():
        torch.testing.assert_close(p, before[name], rtol=0, atol=0)
