"""Tests for gi_core.maths.mutual_information: Astorga (2021), Ch. 5 (Eq. 5.2–5.13, Table 5.1) in two exact settings.

Each decomposition is summed and compared with the mutual information computed directly; single terms
are checked against explicit loops (discrete) and textbook log-determinant formulas (linear-Gaussian).

The estimator of Eq. 5.11 (from encoder outputs) is accepted on an encoder whose aggregate posterior is exactly
Gaussian: with :math:`x\\sim\\mathcal N(0,\\Sigma_x)` and :math:`q(z|x)=\\mathcal N(Ax, S)`, :math:`q(z)=\\mathcal N(0, C+S)`,
:math:`C=A\\Sigma_xA^\\top`, so the mutual information is known in closed form,

.. math:: I_q = \\tfrac12\\log\\det(C+S) - \\tfrac12\\log\\det S,

and the thesis's ``moments="means"`` estimate tends to :math:`\\tfrac12\\log\\det C - \\tfrac12\\log\\det S +
\\tfrac12\\operatorname{tr}S` instead (the Gaussian of the means misses the encoder variances).

Monte Carlo tolerance. With the encoder means :math:`\\mu_i = Ax_i` and a constant :math:`S`, the
``mean`` terms of the two KLs cancel exactly (checked below), leaving

.. math:: \\tilde I_q = \\tfrac12\\log\\det(\\hat C + S) - \\tfrac12\\log\\det S - \\operatorname{tr}\\hat C/(2N)

with :math:`\\hat C` the unbiased sample covariance of the means (``"aggregate"``; drop :math:`S` in the
first log-det for ``"means"``). By the delta method,
:math:`\\operatorname{Var}\\log\\det(\\hat C+S)\\approx 2\\operatorname{tr}((\\Sigma^{-1}C)^2)/(N-1)` with
:math:`\\Sigma = C+S` (or :math:`C`); the eigenvalues of :math:`\\Sigma^{-1}C` lie in :math:`(0, 1]`, so the
standard deviation of :math:`\\tilde I_q` is at most :math:`\\sqrt{J/(2(N-1))}` (0.0027 nats for
:math:`J=3`, :math:`N=200\\,000`); the biases (:math:`O(J^2/N)` and :math:`\\operatorname{tr}C/(2N)`) are
below :math:`10^{-4}`. The tolerance is 5 of these standard deviations, 0.014 nats.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel
from gi_core.maths.mutual_information import (
    BOUNDS,
    GROUPS,
    RESTRICTIONS,
    Restriction,
    aggregate_gaussian,
    estimated_mutual_information,
    expected_kl_to_prior,
    generative_mi_from_kls,
    generative_mi_terms,
    inference_mi_from_kls,
    inference_mi_terms,
    marginal_kl_to_prior,
    mi_bound_terms,
    restriction_table,
)
from tests.helpers import F64, N_SE, gen

DISCRETE_ATOL = 1e-10
GAUSSIAN_ATOL = 1e-8
DECOMPOSITIONS = (inference_mi_terms, generative_mi_terms, inference_mi_from_kls, generative_mi_from_kls)

pytestmark = pytest.mark.usefixtures("one_thread")


def discrete_models() -> list[DiscreteGIModel]:
    """20 strictly positive random tables, |X| in 2-6, |Z| in 2-5, logit scales 0.5-2.5."""
    return [
        DiscreteGIModel.random(2 + seed % 5, 2 + (3 * seed) % 4, scale=0.5 + seed % 3, generator=gen(seed))
        for seed in range(20)
    ]


def gaussian_models() -> list[GaussianGIModel]:
    """10 random linear-Gaussian models, D in 1-4, J in 1-3."""
    return [GaussianGIModel.random(1 + seed % 4, 1 + seed % 3, generator=gen(100 + seed)) for seed in range(10)]


def sum_error(terms: dict[str, torch.Tensor]) -> float:
    """|sum of the terms - mutual information computed directly|."""
    return abs(terms["total"] - terms["mutual_information"]).item()


def logdet(matrix: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(matrix)
    assert sign > 0
    return value


# --- every decomposition sums to the direct mutual information ---------------------------------


@pytest.mark.parametrize("decomposition", DECOMPOSITIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("models", "atol"), [(discrete_models, DISCRETE_ATOL), (gaussian_models, GAUSSIAN_ATOL)])
def test_decompositions_sum_to_the_mutual_information(decomposition, models, atol: float) -> None:
    assert max(sum_error(decomposition(model)) for model in models()) < atol


@pytest.mark.parametrize(("models", "atol"), [(discrete_models, DISCRETE_ATOL), (gaussian_models, GAUSSIAN_ATOL)])
def test_terms_are_the_sum_of_their_parts_and_name_the_right_side(models, atol: float) -> None:
    for model in models():
        q_side, p_side = inference_mi_terms(model), generative_mi_terms(model)
        parts = ("expected_log_likelihood", "posterior_gap")
        assert torch.allclose(q_side["total"], sum(q_side[k] for k in parts) + q_side["h_q_x"], rtol=0, atol=atol)
        assert torch.allclose(q_side["h_q_x"], model.h_q_x(), rtol=0, atol=atol)
        assert torch.allclose(p_side["h_p_z"], model.h_p_z(), rtol=0, atol=atol)
        assert torch.allclose(q_side["mutual_information"], model.mutual_information_q(), rtol=0, atol=0)
        assert torch.allclose(p_side["mutual_information"], model.mutual_information_p(), rtol=0, atol=0)
        assert q_side["posterior_gap"] > 1e-6 and p_side["posterior_gap"] > 1e-6  # random models: p != q


# --- single terms against independent computations ---------------------------------------------


def test_discrete_terms_match_explicit_loops() -> None:
    model = DiscreteGIModel.random(3, 4, generator=gen(7))
    qx, qzx, pz, pxz = (t.numpy() for t in (model.q_x, model.q_z_given_x, model.p_z, model.p_x_given_z))
    nx, nz = qzx.shape
    qj = np.array([[qx[x] * qzx[x, z] for z in range(nz)] for x in range(nx)])
    pj = np.array([[pz[z] * pxz[z, x] for z in range(nz)] for x in range(nx)])
    qz, px = qj.sum(0), pj.sum(1)
    log_likelihood = sum(qj[x, z] * math.log(pxz[z, x]) for x in range(nx) for z in range(nz))
    q_gap = sum(
        qj[x, z] * math.log((qj[x, z] / qz[z]) / pxz[z, x]) for x in range(nx) for z in range(nz)
    )  # sum_z q(z) sum_x q(x|z) log q(x|z)/p(x|z)
    p_gap = sum(pj[x, z] * math.log((pj[x, z] / px[x]) / qzx[x, z]) for x in range(nx) for z in range(nz))
    kl_to_data = sum(pj[x, z] * math.log(pxz[z, x] / qx[x]) for x in range(nx) for z in range(nz))

    q_side, p_side = inference_mi_terms(model), generative_mi_terms(model)
    assert q_side["expected_log_likelihood"].item() == pytest.approx(log_likelihood, abs=1e-12)
    assert q_side["posterior_gap"].item() == pytest.approx(q_gap, abs=1e-12)
    assert p_side["posterior_gap"].item() == pytest.approx(p_gap, abs=1e-12)
    assert generative_mi_from_kls(model)["expected_kl_to_data"].item() == pytest.approx(kl_to_data, abs=1e-12)


def test_scalar_gaussian_channel_has_the_textbook_information() -> None:
    r"""x ~ N(0, s^2), z = x + N(0, n^2): I_q = 0.5 log(1 + s^2/n^2), whatever the decoder and prior."""
    s2, n2 = 4.0, 0.25
    one, zero = torch.ones(1, 1, dtype=F64), torch.zeros(1, dtype=F64)
    model = GaussianGIModel(zero, one, 0.3 * one, zero + 1.0, 2.0 * one, zero, s2 * one, one, zero, n2 * one)
    expected = 0.5 * math.log(1.0 + s2 / n2)
    for terms in (inference_mi_terms(model), inference_mi_from_kls(model), mi_bound_terms(model, 0.0)):
        assert terms["total"].item() == pytest.approx(expected, abs=1e-12)


def test_gaussian_information_matches_the_log_determinant_formula() -> None:
    r"""I_q = 0.5 log det Cov(z) - 0.5 log det Cov(z|x); I_p likewise with x and z exchanged (numpy)."""
    for model in gaussian_models():
        a, s_z, s_x_z = (t.numpy() for t in (model.p_x_given_z_weight, model.p_z_cov, model.p_x_given_z_cov))
        b, s_x, s_z_x = (t.numpy() for t in (model.q_z_given_x_weight, model.q_x_cov, model.q_z_given_x_cov))
        i_q = 0.5 * (logdet(b @ s_x @ b.T + s_z_x) - logdet(s_z_x))
        i_p = 0.5 * (logdet(a @ s_z @ a.T + s_x_z) - logdet(s_x_z))
        for terms in (inference_mi_terms(model), inference_mi_from_kls(model), mi_bound_terms(model, 1.0, "q")):
            assert terms["total"].item() == pytest.approx(i_q, abs=GAUSSIAN_ATOL)
        for terms in (generative_mi_terms(model), generative_mi_from_kls(model), mi_bound_terms(model, 1.0, "p")):
            assert terms["total"].item() == pytest.approx(i_p, abs=GAUSSIAN_ATOL)


def test_matched_joints_close_every_gap() -> None:
    """With p(z) = q(z) and p(x|z) = q(x|z) the joints agree: no posterior gap, no marginal KL, I_p = I_q."""
    base = DiscreteGIModel.random(4, 3, generator=gen(3))
    model = DiscreteGIModel(base.q_x, base.q_z_given_x, base.q_z(), base.q_x_given_z())
    q_side, p_side = inference_mi_terms(model), generative_mi_terms(model)
    for value in (q_side["posterior_gap"], p_side["posterior_gap"], inference_mi_from_kls(model)["marginal_kl"]):
        assert abs(value.item()) < 1e-12
    assert q_side["mutual_information"].item() == pytest.approx(p_side["mutual_information"].item(), abs=1e-12)
    assert inference_mi_from_kls(model)["expected_kl_to_prior"].item() == pytest.approx(
        q_side["mutual_information"].item(), abs=1e-12
    )


# --- the bound (Eq. 5.4–5.9) --------------------------------------------------------------------


@pytest.mark.parametrize("side", ["q", "p"])
def test_minus_loss_bounds_the_information_for_discrete_models(side: str) -> None:
    restrictions = torch.tensor([0.0, 0.1, 2.0], dtype=F64)
    for model in discrete_models():
        terms = mi_bound_terms(model, restrictions, side)
        parts = inference_mi_terms(model) if side == "q" else generative_mi_terms(model)
        entropy = parts["h_q_x"] if side == "q" else parts["h_p_z"]
        assert entropy >= 0
        assert bool((terms["delta_mi"] >= 0).all())
        assert bool((terms["bound"] <= terms["mutual_information"]).all())
        assert torch.allclose(terms["total"], terms["mutual_information"].expand(3), rtol=0, atol=DISCRETE_ATOL)
        assert torch.allclose(terms["loss"] - restrictions, terms["expected_nll"], rtol=0, atol=1e-14)
        expected_gap = restrictions + entropy + parts["posterior_gap"]
        assert torch.allclose(terms["delta_mi"], expected_gap, rtol=0, atol=DISCRETE_ATOL)
        assert torch.allclose(terms["expected_nll"], -parts["expected_log_likelihood"], rtol=0, atol=0)


def test_bound_fails_when_the_data_entropy_is_negative() -> None:
    """A narrow Gaussian q(x) (h_q(x) < 0) decoded by the exact inverse encoder: -L_q > I_q at R = 0."""
    one, zero = torch.ones(1, 1, dtype=F64), torch.zeros(1, dtype=F64)
    encoder_only = GaussianGIModel(zero, one, one, zero, one, zero, 1e-4 * one, one, zero, one)
    inverse = encoder_only.q_x_given_z()
    model = dataclasses.replace(
        encoder_only,
        p_z_mean=encoder_only.q_z().mean,
        p_z_cov=encoder_only.q_z().cov,
        p_x_given_z_weight=inverse.weight,
        p_x_given_z_bias=inverse.bias,
        p_x_given_z_cov=inverse.cov,
    )
    terms = mi_bound_terms(model, 0.0)
    assert model.h_q_x() < 0
    assert abs(inference_mi_terms(model)["posterior_gap"].item()) < 1e-10
    assert terms["delta_mi"].item() == pytest.approx(model.h_q_x().item(), abs=1e-10)
    assert terms["bound"] > terms["mutual_information"] + 1.0
    assert terms["total"].item() == pytest.approx(terms["mutual_information"].item(), abs=1e-10)


# --- Table 5.1 -----------------------------------------------------------------------------------

EXPECTED_BOUNDS = {
    "VAE": "I_q",
    "beta-VAE": "I_q",
    "AVB": "I_q",
    "AAE/WAE": "I_q",
    "InfoVAE/WAE-MMD": "I_q",
    "VAE-GAN": "I_q",
    "Cycle-GAN": "I_q",
    "WVAE": "I_q",
    "JS-VAE": "I_q",
    "AIM/InfoGAN": "I_p",
    "VEEGAN": "I_p",
    "ALICE": "I_q + I_p",
    "DiscoGAN": "I_q + I_p",
}


def test_restriction_table_has_every_row_with_its_bound() -> None:
    assert {row.model: row.bound for row in RESTRICTIONS} == EXPECTED_BOUNDS
    assert len(RESTRICTIONS) == len(EXPECTED_BOUNDS)
    assert not any("ALI/" in row.model or "BiGAN" in row.model for row in RESTRICTIONS)
    likelihoods = {
        "I_q": "E_q[-log p(x|z)]",
        "I_p": "E_p[-log q(z|x)]",
        "I_q + I_p": "E_q[-log p(x|z)] + E_p[-log q(z|x)]",
    }
    for row in RESTRICTIONS:
        assert row.likelihood == likelihoods[row.bound]
        assert row.group in GROUPS
        assert all(re.fullmatch(r"[a-z]+\d{4}[a-z]+", key) for key in row.bibtex_key.split(","))
    groups = {row.model: row.group for row in RESTRICTIONS}
    assert groups["VAE"] == groups["beta-VAE"] == groups["AVB"] == "match q(z|x), p(z)"
    assert groups["AAE/WAE"] == groups["WVAE"] == groups["JS-VAE"] == "match q(z), p(z)"
    assert groups["AIM/InfoGAN"] == "match p(x), q(x)"


def test_restriction_table_rows_print() -> None:
    rows = restriction_table()
    assert [row["model"] for row in rows] == [row.model for row in RESTRICTIONS]
    assert all(set(row) == {f.name for f in dataclasses.fields(Restriction)} for row in rows)
    assert all(isinstance(value, str) for row in rows for value in row.values())
    wvae = next(row for row in rows if row["model"] == "WVAE")
    assert wvae["restriction"].startswith("W_2^2(q(z), p(z))")


def test_restriction_rows_are_frozen_and_validated() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RESTRICTIONS[0].bound = "I_p"
    with pytest.raises(ValueError, match="bound must be one of"):
        Restriction("X", "I_x", GROUPS[0], "", "", "key2000x")
    with pytest.raises(ValueError, match="group must be one of"):
        Restriction("X", BOUNDS[0], "nowhere", "", "", "key2000x")
    with pytest.raises(ValueError, match="likelihood must be one of"):
        Restriction("X", BOUNDS[0], GROUPS[0], "E[log p]", "", "key2000x")
    with pytest.raises(TypeError, match="^bibtex_key must be a string, got int$"):
        Restriction("X", BOUNDS[0], GROUPS[0], RESTRICTIONS[0].likelihood, "", 7)


# --- input validation ----------------------------------------------------------------------------


def test_functions_reject_other_models() -> None:
    for function in DECOMPOSITIONS:
        with pytest.raises(TypeError, match="DiscreteGIModel or a GaussianGIModel"):
            function("not a model")
    with pytest.raises(TypeError, match="DiscreteGIModel or a GaussianGIModel"):
        mi_bound_terms(object(), 0.0)


@pytest.mark.parametrize(
    ("restriction", "error", "message"),
    [
        (-0.1, ValueError, ">= 0"),
        (torch.tensor([0.5, -1e-3], dtype=F64), ValueError, ">= 0"),
        (float("nan"), ValueError, "finite"),
        (float("inf"), ValueError, "finite"),
        (True, TypeError, "float or a tensor"),
        ("0.5", TypeError, "float or a tensor"),
    ],
)
def test_bound_rejects_bad_restrictions(restriction, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        mi_bound_terms(DiscreteGIModel.random(2, 2, generator=gen(0)), restriction)


def test_bound_rejects_an_unknown_side() -> None:
    with pytest.raises(ValueError, match="unknown side 'x'"):
        mi_bound_terms(DiscreteGIModel.random(2, 2, generator=gen(0)), 0.0, side="x")


# --- the estimator of Eq. 5.11 from encoder outputs ------------------------------------------------

D, J, N = 4, 3, 200_000


def codes(n: int = 50, dim: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mean = 2.0 * torch.randn(n, dim, generator=g, dtype=F64) + 0.5
    log_var = torch.randn(n, dim, generator=g, dtype=F64)
    return mean, log_var


def test_expected_kl_to_prior_matches_torch_distributions() -> None:
    mean, log_var = codes()
    reference = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)).sum(-1).mean()
    assert expected_kl_to_prior(mean, log_var) == pytest.approx(float(reference), rel=1e-12)
    # a posterior equal to the prior costs nothing
    assert expected_kl_to_prior(torch.zeros(5, 2), torch.zeros(5, 2)) == 0.0


def test_aggregate_gaussian_moments_match_numpy() -> None:
    mean, log_var = codes()
    mu, cov = aggregate_gaussian(mean, log_var, "means")
    np.testing.assert_allclose(mu.numpy(), mean.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(mean.numpy(), rowvar=False, ddof=1), rtol=1e-12)
    mu_agg, cov_agg = aggregate_gaussian(mean, log_var, "aggregate")
    np.testing.assert_allclose(mu_agg.numpy(), mu.numpy(), rtol=1e-12)
    extra = np.diag(np.exp(log_var.numpy()).mean(0))
    np.testing.assert_allclose(cov_agg.numpy(), cov.numpy() + extra, rtol=1e-12)
    assert mu.dtype == cov.dtype == F64


def test_aggregate_gaussian_validates() -> None:
    mean, log_var = codes()
    with pytest.raises(ValueError, match="moments"):
        aggregate_gaussian(mean, log_var, "mixture")
    with pytest.raises(ValueError):
        aggregate_gaussian(mean[:1], log_var[:1])  # one code has no covariance
    with pytest.raises(ValueError):
        aggregate_gaussian(mean, log_var[:, :2])


def test_marginal_kl_to_prior_hand_value() -> None:
    # means (+-1, 0): mean 0, unbiased variances (2, 0); the unit encoder variances make it diag(3, 1)
    mean = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=F64)
    log_var = torch.zeros(2, 2, dtype=F64)
    # N(0, diag(3, 1)) against N(0, I): (3 - 1 - log 3) / 2
    assert marginal_kl_to_prior(mean, log_var, "aggregate") == pytest.approx(0.5 * (2.0 - math.log(3.0)), rel=1e-12)


# --- the linear-Gaussian encoder: the acceptance test --------------------------------------------


def linear_gaussian_setup(scale: float, encoder_var: np.ndarray) -> dict:
    """x ~ N(0, Sigma_x) (D = 4), encoder means A x (J = 3) with A = scale * random, variances ``encoder_var``."""
    rng = np.random.default_rng(0)
    b = rng.standard_normal((D, D))
    sigma_x = b @ b.T / D + 0.5 * np.eye(D)
    a = scale * rng.standard_normal((J, D))
    c = a @ sigma_x @ a.T
    s = np.diag(encoder_var)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, D, generator=g, dtype=F64) @ torch.from_numpy(np.linalg.cholesky(sigma_x)).T
    mean = x @ torch.from_numpy(a).T
    log_var = torch.log(torch.from_numpy(encoder_var)).expand(N, J)
    true_mi = 0.5 * logdet(c + s) - 0.5 * logdet(s)
    # its own limit: E KL(q(z|x) || p) - KL(N(0, C) || N(0, I)), each KL in closed form
    expected_kl = 0.5 * (np.trace(c) + np.trace(s) - logdet(s) - J)
    means_kl = 0.5 * (np.trace(c) - logdet(c) - J)
    return {"mean": mean, "log_var": log_var, "c": c, "s": s, "true_mi": true_mi,
            "means_mi": expected_kl - means_kl, "expected_kl": expected_kl}


MC_TOL = N_SE * math.sqrt(J / (2 * (N - 1)))  # see the module docstring: 0.0137 nats


@pytest.fixture(scope="module")
def informative() -> dict:
    return linear_gaussian_setup(1.0 / math.sqrt(D), np.array([0.5, 1.0, 2.0]))


@pytest.fixture(scope="module")
def collapsed() -> dict:
    return linear_gaussian_setup(0.01, np.full(J, 0.99))


def test_linear_gaussian_identity_of_the_estimate(informative: dict) -> None:
    """Exact algebra behind the tolerance: the estimate is a log-det of the sample covariance."""
    mean, log_var, s = informative["mean"], informative["log_var"], informative["s"]
    c_hat = np.cov(mean.numpy(), rowvar=False, ddof=1)
    correction = np.trace(c_hat) / (2 * N)
    aggregate = 0.5 * logdet(c_hat + s) - 0.5 * logdet(s) - correction
    means = 0.5 * logdet(c_hat) - 0.5 * logdet(s) + 0.5 * np.trace(s) - correction
    assert estimated_mutual_information(mean, log_var, "aggregate") == pytest.approx(aggregate, abs=1e-9)
    assert estimated_mutual_information(mean, log_var, "means") == pytest.approx(means, abs=1e-9)
    assert expected_kl_to_prior(mean, log_var) == pytest.approx(informative["expected_kl"], abs=MC_TOL)


def test_aggregate_estimate_matches_the_true_mutual_information(informative: dict) -> None:
    true_mi = informative["true_mi"]
    assert true_mi == pytest.approx(0.9307, abs=1e-4)  # the setup is what the numbers below refer to
    estimate = estimated_mutual_information(informative["mean"], informative["log_var"], "aggregate")
    assert abs(estimate - true_mi) < MC_TOL, (estimate, true_mi, MC_TOL)


def test_means_estimate_converges_to_its_own_biased_limit(informative: dict) -> None:
    c, s = informative["c"], informative["s"]
    estimate = estimated_mutual_information(informative["mean"], informative["log_var"], "means")
    assert abs(estimate - informative["means_mi"]) < MC_TOL
    # the bias: (tr S - log det(I + C^-1 S)) / 2, negative here and far beyond Monte Carlo error
    predicted_bias = 0.5 * (np.trace(s) - logdet(np.eye(J) + np.linalg.solve(c, s)))
    assert informative["means_mi"] - informative["true_mi"] == pytest.approx(predicted_bias, abs=1e-12)
    assert predicted_bias < -0.5
    observed_bias = estimate - estimated_mutual_information(informative["mean"], informative["log_var"], "aggregate")
    assert observed_bias < 0
    assert abs(observed_bias - predicted_bias) < 2 * MC_TOL


def test_collapsed_encoder_means_estimate_is_negative(collapsed: dict) -> None:
    """Posterior ~ prior: I_q ~ 0, but the Gaussian of the means is tiny, so the thesis's estimate is very negative."""
    mean, log_var = collapsed["mean"], collapsed["log_var"]
    assert 0.0 < collapsed["true_mi"] < 1e-3
    aggregate = estimated_mutual_information(mean, log_var, "aggregate")
    assert abs(aggregate - collapsed["true_mi"]) < MC_TOL
    means = estimated_mutual_information(mean, log_var, "means")
    assert means < -10.0  # cf. Astorga (2021) Table 6.4, VAE beta=30: -33 nats
    assert abs(means - collapsed["means_mi"]) < MC_TOL
    assert expected_kl_to_prior(mean, log_var) < 0.01  # the posterior carries (almost) no information
