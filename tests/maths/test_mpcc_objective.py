"""Tests for gi_core.maths.mpcc_objective: Eq. 7.13–7.16 against torch.distributions, and the printed hinge's sign."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Categorical, Normal

from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.mpcc_objective import (latent_cycle_nll, mixture_log_responsibilities, prior_negative_entropy,
                                          sampled_label_cross_entropy)
from tests.helpers import F64, N_SE, gen, randn

pytestmark = pytest.mark.usefixtures("one_thread")


def test_latent_cycle_nll_is_the_normal_nll_summed_over_j_averaged_over_the_batch_over_dim_x():
    z, mean, log_var = randn(5, 3, seed=1), randn(5, 3, seed=2), 0.5 * randn(5, 3, seed=3)
    reference = -Normal(mean, torch.exp(0.5 * log_var)).log_prob(z).sum(-1).mean() / 1024
    torch.testing.assert_close(latent_cycle_nll(z, mean, log_var, 1024), reference, rtol=1e-12, atol=0)
    # the reductions: one sample with a doubled latent error counts as in a batch of its own
    single = latent_cycle_nll(z[:1], mean[:1], log_var[:1], 1)
    expected = 0.5 * (math.log(2 * math.pi) + log_var[0] + (z[0] - mean[0]) ** 2 / log_var[0].exp()).sum()
    torch.testing.assert_close(single, expected, rtol=1e-12, atol=0)


def test_latent_cycle_nll_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="data_dim must be a positive integer"):
        latent_cycle_nll(randn(2, 3), randn(2, 3), randn(2, 3), 0)
    with pytest.raises(ValueError, match="z"):
        latent_cycle_nll(randn(2, 3), randn(2, 2), randn(2, 2), 4)


def mixture() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    means, log_vars = 2 * randn(4, 3, seed=5), 0.3 * randn(4, 3, seed=6)
    return means, log_vars, torch.log_softmax(randn(4, seed=7), -1)


def test_log_responsibilities_are_bayes_rule_in_log_space():
    means, log_vars, log_weights = mixture()
    z = 3 * randn(6, 3, seed=8)
    log_resp = mixture_log_responsibilities(z, means, log_vars, log_weights)
    joint = log_weights.exp() * Normal(means, torch.exp(0.5 * log_vars)).log_prob(z[:, None]).sum(-1).exp()
    torch.testing.assert_close(log_resp.exp(), joint / joint.sum(-1, keepdim=True), rtol=1e-10, atol=1e-14)
    # far from every component the densities underflow to 0, the log-responsibilities stay finite and correct
    far = torch.full((1, 3), 1e3, dtype=F64)
    assert bool(torch.isfinite(mixture_log_responsibilities(far, means, log_vars, log_weights)).all())
    torch.testing.assert_close(mixture_log_responsibilities(far, means, log_vars, log_weights).logsumexp(-1),
                               torch.zeros(1, dtype=F64))


def test_sampled_label_cross_entropy_is_torch_cross_entropy_of_the_joint_log_terms():
    means, log_vars, log_weights = mixture()
    z, labels = randn(6, 3, seed=9), torch.tensor([0, 3, 1, 1, 2, 0])
    log_resp = mixture_log_responsibilities(z, means, log_vars, log_weights)
    joint = log_weights + Normal(means, torch.exp(0.5 * log_vars)).log_prob(z[:, None]).sum(-1)
    torch.testing.assert_close(sampled_label_cross_entropy(labels, log_resp), F.cross_entropy(joint, labels),
                               rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match=r"labels must lie in 0..3 \(the columns of log_responsibilities\), got 0..4"):
        sampled_label_cross_entropy(torch.tensor([0, 4, 1, 1, 2, 0]), log_resp)
    with pytest.raises(ValueError, match="labels must be integer components"):
        sampled_label_cross_entropy(labels.double(), log_resp)


def test_prior_negative_entropy_matches_the_library_entropies():
    means, log_vars, log_weights = mixture()
    weights = log_weights.exp()
    component = Normal(means, torch.exp(0.5 * log_vars)).entropy().sum(-1)
    exact = -Categorical(probs=weights).entropy() - (weights * component).sum()
    torch.testing.assert_close(prior_negative_entropy(log_weights, log_vars), exact, rtol=1e-12, atol=0)
    scaled = -Categorical(probs=weights).entropy() - (weights * component).sum() / 3
    torch.testing.assert_close(prior_negative_entropy(log_weights, log_vars, 1 / 3), scaled, rtol=1e-12, atol=0)


def test_prior_negative_entropy_is_the_expected_log_joint_of_the_prior_by_monte_carlo():
    means, log_vars, log_weights = mixture()
    n = 200_000
    y = torch.multinomial(log_weights.exp(), n, replacement=True, generator=gen(3))
    z = means[y] + torch.exp(0.5 * log_vars[y]) * torch.randn(n, 3, generator=gen(4), dtype=F64)
    samples = log_weights[y] + Normal(means[y], torch.exp(0.5 * log_vars[y])).log_prob(z).sum(-1)
    estimate, se = samples.mean(), samples.std() / math.sqrt(n)
    assert abs(estimate - prior_negative_entropy(log_weights, log_vars)) < N_SE * se


def test_the_entropy_term_pushes_the_variances_up():
    log_vars = torch.zeros(2, 3, dtype=F64, requires_grad=True)
    prior_negative_entropy(torch.log(torch.full((2,), 0.5, dtype=F64)), log_vars, 1 / 3).backward()
    torch.testing.assert_close(log_vars.grad, torch.full((2, 3), -0.5 * 0.5 / 3, dtype=F64))
    with pytest.raises(ValueError, match="log_weights must be normalised"):
        prior_negative_entropy(torch.zeros(2, dtype=F64), log_vars)


def printed_hinge_value(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Astorga's (2021) Eq. 7.12 as printed, maximised by D: f(o) = -min(0, o - 1), g(o) = min(0, -o - 1)."""
    return -torch.clamp(real_logits - 1, max=0).mean() + torch.clamp(-fake_logits - 1, max=0).mean()


def test_the_printed_hinge_rewards_a_discriminator_that_rejects_the_data():
    """Ascent on the printed objective pushes the real logits down; descent on the standard hinge pushes them up."""
    printed_real, standard_real = (torch.tensor([0.5, -0.2, 0.9], requires_grad=True) for _ in range(2))
    fake = torch.tensor([-0.5, 0.3])
    for _ in range(50):
        (ascent,) = torch.autograd.grad(printed_hinge_value(printed_real, fake), printed_real)
        (descent,) = torch.autograd.grad(discriminator_loss(standard_real, fake, "hinge"), standard_real)
        with torch.no_grad():
            printed_real += 0.1 * ascent
            standard_real -= 0.1 * descent
    assert bool((printed_real < -0.5).all())  # the data is called fake, ever more confidently
    assert bool((standard_real >= 1.0).all())  # the data reaches the hinge's margin
    # the printed value grows without bound as D rejects the data; the standard one is best at o >= 1
    assert printed_hinge_value(torch.full((3,), -10.0), fake) > printed_hinge_value(torch.full((3,), 1.0), fake)
    assert discriminator_loss(torch.full((3,), 1.0), fake, "hinge") < discriminator_loss(torch.full((3,), -10.0), fake,
                                                                                          "hinge")
