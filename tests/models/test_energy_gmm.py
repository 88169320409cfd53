"""Tests for gi_core.models.energy_gmm: DAGMM's loss against the maths composed by hand (float64), training lowers
it, the fitted mixture and the energies against gi_core.maths.energy_gmm, padding, batching and seeding."""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.maths.energy_gmm import covariance_penalty, mixture_statistics, sample_energy
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.models.energy_gmm import EnergyGMM, energy_gmm_networks
from gi_core.nets.light_curve_resnets import InducingPointDecoder, LightCurveEncoder
from tests.helpers import F64, gen

pytestmark = pytest.mark.usefixtures("one_thread")
N, T = 12, 20


def curves(n: int = N, dtype: torch.dtype = F64, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Folded noisy sinusoids of 10..20 observed points padded to T (phase 0, value 0, error 1), normalised; features
    and labels as the trainer passes them."""
    g = gen(seed)
    lengths = torch.randint(10, T + 1, (n,), generator=g)
    mask = torch.arange(T)[None] < lengths[:, None]
    phase = torch.rand(n, T, generator=g, dtype=dtype)
    shift = torch.rand(n, 1, generator=g, dtype=dtype)
    value = torch.sin(2 * math.pi * (phase + shift)) + 0.2 * torch.randn(n, T, generator=g, dtype=dtype)
    mean = (value * mask).sum(1, keepdim=True) / lengths[:, None]
    std = (((value - mean) * mask).square().sum(1, keepdim=True) / lengths[:, None]).sqrt()
    value = (value - mean) / std
    error = 0.05 + 0.1 * torch.rand(n, T, generator=g, dtype=dtype)
    phase, value, error = (torch.where(mask, x, torch.full_like(x, fill)) for x, fill in
                           ((phase, 0.0), (value, 0.0), (error, 1.0)))
    features = torch.randn(n, 3, generator=g, dtype=dtype)
    return phase, value, error, mask, features, torch.arange(n) % 3


def model(dropout: float = 0.5, seed: int = 0) -> EnergyGMM:
    torch.manual_seed(seed)
    encoder = LightCurveEncoder(latent_dim=4, channels=4, references=16)
    decoder = InducingPointDecoder(rep_dim=2, kernel_dim=2, channels=4, inducing=8)
    return EnergyGMM(encoder, decoder, num_components=3, hidden=6, dropout=dropout).double()


def test_loss_equals_the_maths_composed_by_hand() -> None:
    m = model().eval()  # no dropout: the estimation network is a function
    phase, value, error, mask, features, labels = curves()
    out = m.training_loss(phase, value, error, mask, features, labels)
    z_c = m.encoder(phase, value, error, mask)[0]
    fit_mean, fit_var = m.decoder(z_c, phase)
    ll = expected_gaussian_log_likelihood(value, error, fit_mean, fit_var, mask)
    relative = torch.stack([((value[i, mask[i]] - fit_mean[i, mask[i]]) ** 2).sum() / (value[i, mask[i]] ** 2).sum()
                            for i in range(N)])
    code = torch.cat([z_c, (-ll / mask.sum(1))[:, None], relative[:, None]], 1)
    torch.testing.assert_close(m.compress(phase, value, error, mask)["code"], code, rtol=0, atol=1e-12)
    phi, means, covariances = mixture_statistics(code, torch.softmax(m.estimation(code), 1), 1e-6)
    energy = sample_energy(code, phi, means, covariances).mean()
    penalty = covariance_penalty(covariances)
    for name, expected in (("reconstruction", -ll.mean()), ("energy", energy), ("covariance_penalty", penalty),
                           ("loss", -ll.mean() + 0.1 * energy + 0.005 * penalty)):
        torch.testing.assert_close(out[name], expected, rtol=1e-12, atol=1e-10)
    other = m.training_loss(phase, value, error, mask, features.flip(0), labels.flip(0))["loss"]
    assert other.item() == out["loss"].item()  # features and labels are not read


def test_padding_changes_neither_the_code_nor_the_likelihood() -> None:
    m = model().eval()
    phase, value, error, mask, *_ = curves()
    wider = [torch.cat([x, torch.full((N, 7), fill, dtype=x.dtype)], 1)
             for x, fill in ((phase, 0.0), (value, 0.0), (error, 1.0), (mask, False))]
    narrow, wide = m.compress(phase, value, error, mask), m.compress(*wider)
    for key in ("code", "log_likelihood"):
        torch.testing.assert_close(wide[key], narrow[key], rtol=0, atol=1e-10)


def test_adam_steps_lower_the_loss() -> None:
    m = model(dropout=0.0)
    batch = curves()
    optimizer = torch.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = m.training_loss(*batch)["loss"]
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(map(math.isfinite, losses))
    assert losses[-1] < losses[0] - 0.1 * abs(losses[0])  # measured: 38.6 -> 18.0 (the penalty 2421 -> 124)


def test_fitted_mixture_and_energies_match_the_maths() -> None:
    m = model()
    train, test = curves(), curves(n=6, seed=1)
    m.train()
    m.fit_mixture(*train[:4], batch_size=5)
    assert m.training  # the mode is restored
    with torch.no_grad():
        m.eval()
        code = m.compress(*train[:4])["code"]
        phi, means, covariances = mixture_statistics(code, torch.softmax(m.estimation(code), 1), 1e-6)
        test_code = m.compress(*test[:4])["code"]
    for buffer, expected in ((m.mixture_weights, phi), (m.mixture_means, means),
                             (m.mixture_covariances, covariances)):
        torch.testing.assert_close(buffer, expected, rtol=0, atol=1e-10)
    energy = m.anomaly_score(*test[:4], batch_size=4)
    assert torch.isfinite(energy).all() and energy.shape == (6,)
    torch.testing.assert_close(energy, sample_energy(test_code, phi, means, covariances), rtol=0, atol=1e-10)
    torch.testing.assert_close(m.anomaly_score(*test[:4]), energy, rtol=0, atol=1e-10)  # batching does not matter
    restored = model(seed=5)
    restored.load_state_dict(m.state_dict())  # the mixture travels in the checkpoint
    torch.testing.assert_close(restored.anomaly_score(*test[:4]), energy, rtol=0, atol=1e-10)


def test_a_seed_fixes_the_training() -> None:
    def run() -> tuple[float, torch.Tensor]:
        m = model(seed=3)
        torch.manual_seed(7)  # dropout's draws
        optimizer = torch.optim.Adam(m.parameters(), lr=1e-3)
        for _ in range(3):
            loss = m.training_loss(*curves())["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item(), torch.cat([p.detach().flatten() for p in m.parameters()])

    (loss_a, params_a), (loss_b, params_b) = run(), run()
    assert loss_a == loss_b and torch.equal(params_a, params_b)


def test_refusals_and_the_builder() -> None:
    m = model()
    with pytest.raises(ValueError, match="not fitted"):
        m.anomaly_score(*curves()[:4])
    with pytest.raises(ValueError, match="dropout"):
        model(dropout=1.0)
    with pytest.raises(ValueError, match="kernel_dim"):
        energy_gmm_networks(channels=4, latent_dim=2, kernel_dim=2)
    built = energy_gmm_networks(channels=4, latent_dim=5, references=16, inducing=8)
    assert (built.latent_dim, built.code_dim, built.num_components) == (5, 7, 4)
    assert built.decoder.rep_dim == 3 and built.estimation[2].p == 0.5
    assert (built.lambda_energy, built.lambda_covariance) == (0.1, 0.005)
