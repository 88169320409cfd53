"""Tests for gi_core.models.light_curve_vae: the baseline's loss is the ELBO with a standard-normal prior plus the
classifier's cross-entropy, its score is the prior density of the code, padding changes nothing and Adam lowers
the loss."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from gi_core.maths.gaussians import reparameterize
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.models.light_curve_vae import LightCurveVAE, light_curve_vae_networks
from tests.helpers import gen

pytestmark = pytest.mark.usefixtures("one_thread")


def light_curves(n: int = 16, t: int = 30, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Two classes of noisy folded curves (one and two sinusoid cycles per period), padded to ``t``."""
    g = gen(seed)
    phase = torch.rand(n, t, generator=g)
    mask = torch.arange(t)[None] < torch.randint(t // 2, t + 1, (n,), generator=g)[:, None]
    labels = torch.arange(n) % 2
    value = torch.sin(2 * torch.pi * (1 + labels[:, None]) * phase) + 0.05 * torch.randn(n, t, generator=g)
    error = torch.full((n, t), 0.05)
    return (torch.where(mask, phase, 0.0), torch.where(mask, value, 0.0), torch.where(mask, error, 1.0), mask,
            torch.randn(n, 3, generator=g), labels)


def make_model(seed: int = 0) -> LightCurveVAE:
    torch.manual_seed(seed)
    return light_curve_vae_networks(2, rep_dim=3, kernel_dim=1, channels=4)


def test_training_loss_is_the_elbo_and_the_cross_entropy_by_hand() -> None:
    model, (phase, value, error, mask, features, labels) = make_model(), light_curves()
    torch.manual_seed(3)
    loss = model.training_loss(phase, value, error, mask, features, labels)
    torch.manual_seed(3)
    mean, log_var = model.encoder(phase, value, error, mask)
    z = reparameterize(mean, log_var)
    log_lik = expected_gaussian_log_likelihood(value, error, *model.decoder(z, phase), mask)
    q = Independent(Normal(mean, torch.exp(0.5 * log_var)), 1)
    kl = kl_divergence(q, Independent(Normal(torch.zeros_like(mean), torch.ones_like(mean)), 1))
    cross_entropy = torch.nn.functional.cross_entropy(model.classifier(z), labels, reduction="none")
    torch.testing.assert_close(loss["loss"], (-(log_lik - kl) + cross_entropy).mean())
    torch.testing.assert_close(loss["kl"], kl.mean())
    torch.testing.assert_close(loss["supervised"], cross_entropy.mean())
    torch.testing.assert_close(loss["neg_log_likelihood"], -log_lik.mean(), rtol=0, atol=0)


def test_the_score_is_the_prior_density_of_the_encoder_mean_and_padding_changes_nothing() -> None:
    model, (phase, value, error, mask, features, _) = make_model().eval(), light_curves()
    mean, _ = model.encoder(phase, value, error, mask)
    score = model.anomaly_score(phase, value, error, mask, features)
    expected = Independent(Normal(torch.zeros_like(mean), torch.ones_like(mean)), 1).log_prob(mean)
    torch.testing.assert_close(score, expected)
    noisy = [torch.where(mask, x, torch.tensor(-3.0)) for x in (phase, value, error)]
    assert torch.equal(model.anomaly_score(*noisy, mask, features), score)
    assert torch.equal(model.anomaly_score(phase, value, error, mask, torch.randn(16, 3)), score)  # f unused
    probs = model.class_probabilities(phase, value, error, mask, features)
    torch.testing.assert_close(probs, torch.softmax(model.classifier(mean), -1), rtol=0, atol=0)
    query = torch.rand(16, 5, generator=gen(2))
    assert torch.equal(model.reconstruct(phase, value, error, mask, query)[0], model.decoder(mean, query)[0])


def train(model: LightCurveVAE, data, steps: int) -> list[float]:
    optimizer = torch.optim.Adam(model.parameters_by_loss()["loss"], lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = model.training_loss(*data)["loss"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


def test_adam_lowers_the_loss_and_a_seed_makes_it_bitwise_repeatable() -> None:
    """Measured (40 steps, C = 4, J = 4): the loss falls from 43.3 to -11.8 (mean of the last 5 steps)."""
    data = light_curves()
    runs = []
    for _ in range(2):
        model = make_model(1)
        torch.manual_seed(0)
        runs.append((train(model, data, 40), [p.detach().clone() for p in model.parameters()]))
    losses = runs[0][0]
    assert sum(losses[-5:]) / 5 < 0.5 * losses[0]
    assert runs[0][0] == runs[1][0] and all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))
    named = dict(model.named_parameters())
    assert model.parameters_by_loss()["loss"] == list(model.parameters()) and "classifier.weight" in named


def test_bad_inputs_are_refused_by_name() -> None:
    model, (phase, value, error, mask, features, labels) = make_model(), light_curves()
    with pytest.raises(ValueError, match="labels"):
        model.training_loss(phase, value, error, mask, features, labels - 1)
    with pytest.raises(ValueError, match="features"):
        model.anomaly_score(phase, value, error, mask, features[:4])
    with pytest.raises(ValueError, match="decoder"):
        LightCurveVAE(model.encoder, light_curve_vae_networks(2, rep_dim=2, kernel_dim=1, channels=4).decoder, 2)
