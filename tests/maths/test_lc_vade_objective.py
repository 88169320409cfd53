"""Tests for gi_core.maths.lc_vade_objective: LC-VaDE's bound and its information anomaly score against
torch.distributions, VaDE's bound, exact marginals of a linear-Gaussian model and Monte Carlo.

Monte Carlo checks use a fixed seed, float64 and a tolerance of 5 standard errors (``N_SE``).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from gi_core.maths.lc_vade_objective import (
    class_log_posterior,
    information_anomaly_score,
    lc_vade_bound_terms,
    supervised_cross_entropy,
)
from gi_core.maths.vade_bound import vade_bound_terms
from tests.helpers import F64, N_SE, diag_normal, gen, t

pytestmark = pytest.mark.usefixtures("one_thread")
B, K, J, F = 3, 3, 2, 3


def prior() -> dict[str, torch.Tensor]:
    """p(y), p(z|y) and p(f|y) of three unequal classes."""
    return {"z_means": torch.tensor([[-1.0, 0.5], [0.8, -0.3], [0.0, 1.5]], dtype=F64),
            "z_log_vars": torch.tensor([[0.2, -0.4], [-0.1, 0.3], [0.5, -0.8]], dtype=F64),
            "f_means": torch.tensor([[12.0, 0.3, -0.5], [13.5, 0.1, 0.2], [11.0, 0.6, 1.1]], dtype=F64),
            "f_log_vars": torch.tensor([[0.5, -2.0, -1.0], [0.0, -3.0, -2.0], [1.0, -1.5, -0.5]], dtype=F64),
            "log_prior": torch.log(t(0.5, 0.3, 0.2))}


def posterior() -> dict[str, torch.Tensor]:
    """q(z|x) (B, J), features (B, F) and a fixed gamma (B, K)."""
    return {"mean": torch.tensor([[-0.6, 0.2], [0.4, 0.9], [3.0, -2.0]], dtype=F64),
            "log_var": torch.tensor([[-0.5, 0.1], [0.3, -0.2], [-1.0, -1.0]], dtype=F64),
            "log_gamma": torch.log(torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.05, 0.9, 0.05]], dtype=F64)),
            "features": torch.tensor([[12.2, 0.25, -0.4], [11.4, 0.5, 0.9], [13.0, 0.2, 0.0]], dtype=F64)}


def bound(log_likelihood: torch.Tensor | None = None, **changes: torch.Tensor) -> dict[str, torch.Tensor]:
    ll = torch.zeros(B, dtype=F64) if log_likelihood is None else log_likelihood
    return lc_vade_bound_terms(ll, **{**posterior(), **prior(), **changes})


def component(means: torch.Tensor, log_vars: torch.Tensor):
    """The K diagonal Gaussians, batch shape (K,)."""
    return diag_normal(means, log_vars)


def test_class_log_posterior_is_bayes_rule_in_z_and_f() -> None:
    p = prior()
    z = torch.randn(4, B, J, generator=gen(0), dtype=F64)  # a sample axis in front of the batch
    features = posterior()["features"]
    out = class_log_posterior(z, features, **p)
    assert out.shape == (4, B, K)
    log_z = component(p["z_means"], p["z_log_vars"]).log_prob(z.unsqueeze(-2))
    log_f = component(p["f_means"], p["f_log_vars"]).log_prob(features.unsqueeze(-2))
    torch.testing.assert_close(out, torch.log_softmax(p["log_prior"] + log_z + log_f, -1), rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.logsumexp(out, -1), torch.zeros(4, B, dtype=F64), rtol=0, atol=1e-12)
    # the features move the posterior: without them (equal f-components) it is VaDE's p(y|z)
    flat = {**p, "f_means": torch.zeros(K, F, dtype=F64), "f_log_vars": torch.zeros(K, F, dtype=F64)}
    torch.testing.assert_close(class_log_posterior(z, features, **flat),
                               torch.log_softmax(p["log_prior"] + log_z, -1), rtol=0, atol=1e-12)


def test_bound_terms_match_torch_distributions() -> None:
    q, p = posterior(), prior()
    terms = bound()
    q_z = Normal(q["mean"].unsqueeze(1), torch.exp(0.5 * q["log_var"]).unsqueeze(1))  # (B, 1, J)
    p_z = Normal(p["z_means"], torch.exp(0.5 * p["z_log_vars"]))  # (K, J)
    gamma = q["log_gamma"].exp()
    cross = -(kl_divergence(q_z, p_z) + q_z.entropy()).sum(-1)  # (B, K)
    torch.testing.assert_close(terms["z_cross_entropy"], (gamma * cross).sum(-1), rtol=0, atol=1e-12)
    log_f = component(p["f_means"], p["f_log_vars"]).log_prob(q["features"].unsqueeze(1))
    torch.testing.assert_close(terms["f_log_likelihood"], (gamma * log_f).sum(-1), rtol=0, atol=1e-12)
    kl_y = kl_divergence(Categorical(probs=gamma), Categorical(logits=p["log_prior"]))
    torch.testing.assert_close(terms["y_terms"], -kl_y, rtol=0, atol=1e-12)
    torch.testing.assert_close(terms["z_entropy"], diag_normal(q["mean"], q["log_var"]).entropy(), rtol=0, atol=1e-12)
    torch.testing.assert_close(terms["elbo"], sum(terms[k] for k in ("log_likelihood", "z_cross_entropy",
                                                                       "f_log_likelihood", "y_terms", "z_entropy")))


def test_z_cross_entropy_matches_monte_carlo() -> None:
    """sum_k gamma_k E_q log p(z|k) from 200000 draws z ~ q(z|x) (measured: within 0.8 SE)."""
    q, p = posterior(), prior()
    z = q["mean"] + torch.exp(0.5 * q["log_var"]) * torch.randn(200_000, B, J, generator=gen(1), dtype=F64)
    per_draw = (q["log_gamma"].exp() * component(p["z_means"], p["z_log_vars"]).log_prob(z.unsqueeze(-2))).sum(-1)
    estimate, se = per_draw.mean(0), per_draw.std(0) / math.sqrt(per_draw.shape[0])
    assert bool(((bound()["z_cross_entropy"] - estimate).abs() < N_SE * se).all())


def test_the_bound_is_vades_on_the_pair_x_f() -> None:
    """elbo = VaDE's elbo with log p(x|z) + sum_k gamma_k log p(f|k) as its likelihood (the cross-entropies and the
    entropy combine into -sum_k gamma_k KL(q || p_k)), to rounding."""
    ll = t(-3.0, -7.5, -1.25)
    terms = bound(ll)
    q, p = posterior(), prior()
    vade = vade_bound_terms(ll + terms["f_log_likelihood"], q["mean"], q["log_var"], q["log_gamma"],
                            p["log_prior"], p["z_means"], p["z_log_vars"])
    torch.testing.assert_close(terms["elbo"], vade["elbo"], rtol=0, atol=1e-12)
    torch.testing.assert_close(terms["z_cross_entropy"] + terms["z_entropy"], -vade["kl_z"], rtol=0, atol=1e-12)
    torch.testing.assert_close(terms["y_terms"], -vade["kl_y"], rtol=0, atol=1e-12)
    assert terms["log_likelihood"] is ll


def linear_model(seed: int = 2) -> dict[str, torch.Tensor]:
    """A tiny decoder p(x|z) = N(w * z + b, s2) per entry (D = J, diagonal weights) and one observed x."""
    g = gen(seed)
    return {"w": t(1.5, -0.7), "b": t(0.2, -0.1), "s2": t(0.3, 0.5), "x": torch.randn(1, J, generator=g, dtype=F64)}


def expected_log_likelihood(model: dict[str, torch.Tensor], mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """E_{N(z; mean, var)} log N(x; w z + b, s2) in closed form, (B,)."""
    w, b, s2, x = model["w"], model["b"], model["s2"], model["x"]
    at_mean = Normal(w * mean + b, s2.sqrt()).log_prob(x).sum(-1)
    return at_mean - (w.square() * log_var.exp() / (2 * s2)).sum(-1)


def test_bound_matches_monte_carlo_of_the_tiny_model() -> None:
    """E_{q(z|x)q(y)}[log p(x|z) + log p(z|y) + log p(f|y) + log p(y) - log q(y) - log q(z|x)] with gamma fixed, from
    200000 draws of (z, y) (measured: within 1 SE); the closed form is given E log p(x|z) exactly."""
    model, q, p = linear_model(), posterior(), prior()
    terms = bound(expected_log_likelihood(model, q["mean"], q["log_var"]))
    n = 200_000
    g = gen(3)
    z = q["mean"] + torch.exp(0.5 * q["log_var"]) * torch.randn(n, B, J, generator=g, dtype=F64)
    y = torch.multinomial(q["log_gamma"].exp(), n, replacement=True, generator=g).T  # (n, B)
    log_px = Normal(model["w"] * z + model["b"], model["s2"].sqrt()).log_prob(model["x"]).sum(-1)
    log_pz = diag_normal(p["z_means"][y], p["z_log_vars"][y]).log_prob(z)
    log_pf = diag_normal(p["f_means"][y], p["f_log_vars"][y]).log_prob(q["features"])
    log_qz = diag_normal(q["mean"], q["log_var"]).log_prob(z)
    log_qy = q["log_gamma"].gather(1, y.T).T
    integrand = log_px + log_pz + log_pf + p["log_prior"][y] - log_qy - log_qz
    estimate, se = integrand.mean(0), integrand.std(0) / math.sqrt(n)
    assert bool(((terms["elbo"] - estimate).abs() < N_SE * se).all())


def log_evidence(model: dict[str, torch.Tensor], p: dict[str, torch.Tensor], features: torch.Tensor) -> torch.Tensor:
    """log p(x, f) = logsumexp_k [log pi_k + log p(f|k) + log N(x; w mu_k + b, w^2 s_k^2 + s2)], (B,)."""
    var_x = model["w"].square() * p["z_log_vars"].exp() + model["s2"]
    log_px = Normal(model["w"] * p["z_means"] + model["b"], var_x.sqrt()).log_prob(model["x"]).sum(-1)  # (K,)
    log_pf = component(p["f_means"], p["f_log_vars"]).log_prob(features.unsqueeze(1))  # (B, K)
    return torch.logsumexp(p["log_prior"] + log_pf + log_px, -1)


def test_bound_is_tight_at_the_exact_posterior_of_one_class_and_below_otherwise() -> None:
    model = linear_model()
    p1 = {k: v[:1] for k, v in prior().items()}
    p1["log_prior"] = torch.zeros(1, dtype=F64)
    features = posterior()["features"][:1]
    precision = 1 / p1["z_log_vars"].exp() + model["w"].square() / model["s2"]
    mean = (p1["z_means"] / p1["z_log_vars"].exp() + model["w"] * (model["x"] - model["b"]) / model["s2"]) / precision
    log_var = -torch.log(precision)
    terms = lc_vade_bound_terms(expected_log_likelihood(model, mean, log_var), mean, log_var,
                                torch.zeros(1, 1, dtype=F64), features, **p1)
    torch.testing.assert_close(terms["elbo"], log_evidence(model, p1, features), rtol=0, atol=1e-12)
    # three classes, an arbitrary q: the gap log p(x, f) - elbo is a KL, > 0
    q, p = posterior(), prior()
    elbo = bound(expected_log_likelihood(model, q["mean"], q["log_var"]))["elbo"]
    assert bool((elbo < log_evidence(model, p, q["features"]) - 1e-3).all())


def test_supervised_cross_entropy_is_minus_the_label_log_probability() -> None:
    log_gamma = posterior()["log_gamma"]
    labels = torch.tensor([0, 2, 1])
    expected = -Categorical(logits=log_gamma).log_prob(labels)
    torch.testing.assert_close(supervised_cross_entropy(log_gamma, labels), expected, rtol=0, atol=1e-14)
    torch.testing.assert_close(supervised_cross_entropy(log_gamma, labels), -torch.log(t(0.6, 0.6, 0.9)))
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        supervised_cross_entropy(log_gamma, torch.tensor([0, 3, 1]))
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        supervised_cross_entropy(log_gamma, labels.double())


def ias() -> torch.Tensor:
    q, p = posterior(), prior()
    return information_anomaly_score(q["mean"], q["log_var"], q["log_gamma"], p["z_means"], p["z_log_vars"])


def test_ias_is_minus_the_expected_kl() -> None:
    q, p = posterior(), prior()
    q_z = Normal(q["mean"].unsqueeze(1), torch.exp(0.5 * q["log_var"]).unsqueeze(1))
    kl = kl_divergence(q_z, Normal(p["z_means"], torch.exp(0.5 * p["z_log_vars"]))).sum(-1)  # (B, K)
    torch.testing.assert_close(ias(), -(q["log_gamma"].exp() * kl).sum(-1), rtol=0, atol=1e-12)
    terms = bound()
    torch.testing.assert_close(ias(), terms["z_cross_entropy"] + terms["z_entropy"], rtol=0, atol=0)
    assert bool((ias() < 0).all())
    # the far curve (q centred at (3, -2), away from every component) scores lowest: it is the anomaly
    assert int(ias().argmin()) == 2
    # q equal to a component, with all its weight there: IAS = 0, the maximum
    at_component = information_anomaly_score(p["z_means"][1:2], p["z_log_vars"][1:2],
                                             torch.log(t(1e-300, 1.0, 1e-300)).unsqueeze(0), p["z_means"],
                                             p["z_log_vars"])
    assert abs(at_component.item()) < 1e-12


def test_ias_matches_monte_carlo() -> None:
    """E_{q(z|x)}[sum_k gamma_k log p(z|k) - log q(z|x)] from 200000 draws (measured: within 1 SE)."""
    q, p = posterior(), prior()
    q_z = diag_normal(q["mean"], q["log_var"])
    z = q["mean"] + torch.exp(0.5 * q["log_var"]) * torch.randn(200_000, B, J, generator=gen(4), dtype=F64)
    log_pz = component(p["z_means"], p["z_log_vars"]).log_prob(z.unsqueeze(-2))
    per_draw = (q["log_gamma"].exp() * log_pz).sum(-1) - q_z.log_prob(z)
    estimate, se = per_draw.mean(0), per_draw.std(0) / math.sqrt(per_draw.shape[0])
    assert bool(((ias() - estimate).abs() < N_SE * se).all())


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="log_prior must be log-probabilities"):
        bound(log_prior=t(0.0, 0.0, 0.0))
    with pytest.raises(ValueError, match="features"):
        bound(features=posterior()["features"][:, :2])
    with pytest.raises(ValueError, match="log_gamma must be"):
        bound(log_gamma=posterior()["log_gamma"][:, :2])
    p = prior()
    with pytest.raises(ValueError, match="f_means"):
        class_log_posterior(torch.zeros(B, J, dtype=F64), torch.zeros(B, F, dtype=F64),
                            **{**p, "f_means": p["f_means"][:2], "f_log_vars": p["f_log_vars"][:2]})
