"""Tests for gi_core.maths.joint_kl: Astorga (2021), Eq. 4.2–4.9, term by term, in two exact settings.

Every term is checked against an independent computation: explicit loops over the tables (discrete),
and routes through the joint Gaussians, torch.distributions and Monte Carlo (linear-Gaussian).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from torch.distributions import MultivariateNormal, kl_divergence

from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel
from gi_core.maths.joint_kl import (
    FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR,
    FORWARD_KL_FORMS,
    FORWARD_KL_TERM_NAMES,
    MODEL_FAMILIES,
    REVERSE_KL_CONSTANT_TERMS,
    REVERSE_KL_FORMS,
    REVERSE_KL_TERM_NAMES,
    forward_kl,
    forward_kl_terms,
    reverse_kl,
    reverse_kl_terms,
)
from tests.helpers import F64, N_SE, gen
from tests.maths.gi_models import brute_force_reverse_terms, discrete_models, gaussian_models, numpy_cross_entropy

SUM_ATOL = 1e-9
ALL_FORMS = [(reverse_kl_terms, reverse_kl, form) for form in REVERSE_KL_FORMS] + [
    (forward_kl_terms, forward_kl, form) for form in FORWARD_KL_FORMS
]


pytestmark = pytest.mark.usefixtures("one_thread")


def total_of(terms: dict[str, torch.Tensor]) -> float:
    return float(sum(value.item() for value in terms.values()))


# --- brute-force references (and gi_models.brute_force_reverse_terms) -----------------------------


def brute_force_terms(model: DiscreteGIModel) -> dict[str, float]:
    """Reverse terms of the model and forward terms (reverse terms of the hand-swapped tables), by loops."""
    qx, qzx, pz, pxz = (t.numpy() for t in (model.q_x, model.q_z_given_x, model.p_z, model.p_x_given_z))
    reverse = brute_force_reverse_terms(qx, qzx, pz, pxz)
    forward = brute_force_reverse_terms(pz, pxz, qx, qzx)
    return reverse | {f: forward[r] for r, f in zip(REVERSE_KL_TERM_NAMES, FORWARD_KL_TERM_NAMES)}


def numpy_entropy(s: np.ndarray) -> float:
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * s)[1]


def joint_route_reverse_terms(
    mx: np.ndarray, sx: np.ndarray, enc_w: np.ndarray, enc_b: np.ndarray, enc_s: np.ndarray,
    mz: np.ndarray, sz: np.ndarray, dec_w: np.ndarray, dec_b: np.ndarray, dec_s: np.ndarray,
) -> dict[str, float]:
    """The reverse terms from the joint Gaussians alone: no conditioning, no quadratic-form shortcut."""
    d = mx.shape[0]
    mean_q = np.concatenate([mx, enc_w @ mx + enc_b])
    cross_q = sx @ enc_w.T
    cov_q = np.block([[sx, cross_q], [cross_q.T, enc_w @ sx @ enc_w.T + enc_s]])
    mean_p = np.concatenate([dec_w @ mz + dec_b, mz])
    cross_p = dec_w @ sz
    cov_p = np.block([[dec_w @ sz @ dec_w.T + dec_s, cross_p], [cross_p.T, sz]])
    mqz, sqz = mean_q[d:], cov_q[d:, d:]
    mpx, spx = mean_p[:d], cov_p[:d, :d]
    # residual x - A z - a under q(x,z): mean M mu_q - a, covariance M Sigma_q M^T with M = [I, -A]
    lin = np.hstack([np.eye(d), -dec_w])
    residual_mean, residual_cov = lin @ mean_q - dec_b, lin @ cov_q @ lin.T
    recon = numpy_cross_entropy(residual_mean, residual_cov, np.zeros(d), dec_s)
    h_enc = numpy_entropy(enc_s)
    # E_q log p(z|x) = E_q log p(x,z) - E_q(x) log p(x)
    posterior_ce = numpy_cross_entropy(mean_q, cov_q, mean_p, cov_p) - numpy_cross_entropy(mx, sx, mpx, spx)
    prior_ce = numpy_cross_entropy(mqz, sqz, mz, sz)
    logdet = lambda s: np.linalg.slogdet(s)[1]  # noqa: E731
    return {
        "D_KL(q(x)||p(x))": numpy_cross_entropy(mx, sx, mpx, spx) - numpy_entropy(sx),
        "E_q(x)[D_KL(q(z|x)||p(z|x))]": -h_enc + posterior_ce,
        "E_q[-log p(x|z)]": recon,
        "-h_q(x)": -numpy_entropy(sx),
        "E_q(x)[D_KL(q(z|x)||p(z))]": -h_enc + prior_ce,
        "-h_q(z|x)": -h_enc,
        "-E_q(z)[log p(z)]": prior_ce,
        "I_q(x,z)": 0.5 * (logdet(sx) + logdet(sqz) - logdet(cov_q)),
        "D_KL(q(z)||p(z))": prior_ce - numpy_entropy(sqz),
    }


def gaussian_fields(model: GaussianGIModel) -> dict[str, np.ndarray]:
    return {f.name: getattr(model, f.name).numpy() for f in dataclasses.fields(model)}


def joint_route_terms(model: GaussianGIModel) -> dict[str, float]:
    f = gaussian_fields(model)
    q_side = (f["q_x_mean"], f["q_x_cov"], f["q_z_given_x_weight"], f["q_z_given_x_bias"], f["q_z_given_x_cov"])
    p_side = (f["p_z_mean"], f["p_z_cov"], f["p_x_given_z_weight"], f["p_x_given_z_bias"], f["p_x_given_z_cov"])
    reverse = joint_route_reverse_terms(*q_side, *p_side)
    forward = joint_route_reverse_terms(*p_side, *q_side)
    return reverse | {f: forward[r] for r, f in zip(REVERSE_KL_TERM_NAMES, FORWARD_KL_TERM_NAMES)}


# --- the forms sum to the directly computed KL ------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(discrete_models())
def test_discrete_forms_sum_to_the_direct_kl(model: DiscreteGIModel) -> None:
    qj, pj = model.q_joint().numpy().ravel(), model.p_joint().numpy().ravel()
    assert reverse_kl(model).item() == pytest.approx(scipy.stats.entropy(qj, pj), abs=1e-12)
    assert forward_kl(model).item() == pytest.approx(scipy.stats.entropy(pj, qj), abs=1e-12)
    for terms_fn, total_fn, form in ALL_FORMS:
        terms = terms_fn(model, form)
        assert abs(total_of(terms) - total_fn(model).item()) < SUM_ATOL, form


@settings(max_examples=30, deadline=None)
@given(gaussian_models())
def test_gaussian_forms_sum_to_the_direct_kl(model: GaussianGIModel) -> None:
    q, p = model.q_joint(), model.p_joint()
    q_dist, p_dist = MultivariateNormal(q.mean, q.cov), MultivariateNormal(p.mean, p.cov)
    reverse, forward = reverse_kl(model).item(), forward_kl(model).item()
    assert reverse == pytest.approx(kl_divergence(q_dist, p_dist).item(), rel=1e-8, abs=1e-9)
    assert forward == pytest.approx(kl_divergence(p_dist, q_dist).item(), rel=1e-8, abs=1e-9)
    for terms_fn, total_fn, form in ALL_FORMS:
        terms = terms_fn(model, form)
        assert abs(total_of(terms) - total_fn(model).item()) < 1e-6, form


# --- each term against an independent computation ---------------------------------------------


@settings(max_examples=30, deadline=None)
@given(discrete_models())
def test_discrete_terms_match_explicit_loops(model: DiscreteGIModel) -> None:
    expected = brute_force_terms(model)
    for terms_fn, _, form in ALL_FORMS:
        for name, value in terms_fn(model, form).items():
            assert value.item() == pytest.approx(expected[name], abs=1e-10), (form, name)


@settings(max_examples=30, deadline=None)
@given(gaussian_models())
def test_gaussian_terms_match_the_joint_route(model: GaussianGIModel) -> None:
    expected = joint_route_terms(model)
    for terms_fn, _, form in ALL_FORMS:
        for name, value in terms_fn(model, form).items():
            assert value.item() == pytest.approx(expected[name], rel=1e-7, abs=1e-7), (form, name)


def test_gaussian_terms_by_monte_carlo() -> None:
    torch.manual_seed(0)
    model = GaussianGIModel.random(3, 2, noise=0.3, generator=gen(1))
    n = 200_000
    q, p = model.q_joint(), model.p_joint()
    d = model.data_dim

    def check(samples: torch.Tensor, expected: torch.Tensor) -> None:
        se = samples.std().item() / math.sqrt(samples.numel())
        assert abs(samples.mean().item() - expected.item()) < N_SE * se

    # E_q[-log p(x|z)]: sample q(x,z), evaluate the decoder density
    v = MultivariateNormal(q.mean, q.cov).sample((n,))
    x, z = v[:, :d], v[:, d:]
    decoder = MultivariateNormal(z @ model.p_x_given_z_weight.T + model.p_x_given_z_bias, model.p_x_given_z_cov)
    check(-decoder.log_prob(x), reverse_kl_terms(model, "4.3")["E_q[-log p(x|z)]"])
    # E_q(x)[KL(q(z|x) || p(z|x))]: sample x ~ q(x), exact KL per x against the numpy-conditioned posterior
    f = gaussian_fields(model)
    spx = f["p_x_given_z_weight"] @ f["p_z_cov"] @ f["p_x_given_z_weight"].T + f["p_x_given_z_cov"]
    gain = torch.from_numpy(np.linalg.solve(spx, f["p_x_given_z_weight"] @ f["p_z_cov"]).T)
    mpx = model.p_x_given_z_weight @ model.p_z_mean + model.p_x_given_z_bias
    post_cov = model.p_z_cov - gain @ model.p_x_given_z_weight @ model.p_z_cov
    xs = MultivariateNormal(model.q_x_mean, model.q_x_cov).sample((n // 10,))
    encoder = MultivariateNormal(xs @ model.q_z_given_x_weight.T + model.q_z_given_x_bias, model.q_z_given_x_cov)
    posterior = MultivariateNormal(model.p_z_mean + (xs - mpx) @ gain.T, 0.5 * (post_cov + post_cov.T))
    check(kl_divergence(encoder, posterior), reverse_kl_terms(model, "4.2")["E_q(x)[D_KL(q(z|x)||p(z|x))]"])
    # E_p[-log q(z|x)]: sample p(x,z), evaluate the encoder density
    v = MultivariateNormal(p.mean, p.cov).sample((n,))
    x, z = v[:, :d], v[:, d:]
    enc = MultivariateNormal(x @ model.q_z_given_x_weight.T + model.q_z_given_x_bias, model.q_z_given_x_cov)
    check(-enc.log_prob(z), forward_kl_terms(model, "4.7")["E_p[-log q(z|x)]"])


# --- constants are constant -------------------------------------------------------------------


def other_discrete_factors(model: DiscreteGIModel) -> tuple[DiscreteGIModel, DiscreteGIModel]:
    other = DiscreteGIModel.random(model.q_x.shape[0], model.p_z.shape[0], scale=2.0, generator=gen(9))
    return (
        dataclasses.replace(model, q_z_given_x=other.q_z_given_x),
        dataclasses.replace(model, p_x_given_z=other.p_x_given_z),
    )


def other_gaussian_factors(model: GaussianGIModel) -> tuple[GaussianGIModel, GaussianGIModel]:
    other = GaussianGIModel.random(model.data_dim, model.latent_dim, generator=gen(9))
    new_encoder = dataclasses.replace(
        model,
        q_z_given_x_weight=other.q_z_given_x_weight,
        q_z_given_x_bias=other.q_z_given_x_bias,
        q_z_given_x_cov=other.q_z_given_x_cov,
    )
    new_decoder = dataclasses.replace(
        model,
        p_x_given_z_weight=other.p_x_given_z_weight,
        p_x_given_z_bias=other.p_x_given_z_bias,
        p_x_given_z_cov=other.p_x_given_z_cov,
    )
    return new_encoder, new_decoder


@pytest.mark.parametrize(
    "model, change",
    [
        (DiscreteGIModel.random(4, 3, generator=gen(5)), other_discrete_factors),
        (GaussianGIModel.random(3, 2, generator=gen(6)), other_gaussian_factors),
    ],
    ids=["discrete", "gaussian"],
)
def test_constant_terms_do_not_move(model: DiscreteGIModel | GaussianGIModel, change) -> None:
    new_encoder, new_decoder = change(model)
    # a new encoder q(z|x) changes the reverse KL but not h_q(x)
    assert abs(reverse_kl(new_encoder).item() - reverse_kl(model).item()) > 1e-3
    for form in ("4.3", "4.4", "4.5"):
        for name in REVERSE_KL_CONSTANT_TERMS:
            assert reverse_kl_terms(new_encoder, form)[name].item() == reverse_kl_terms(model, form)[name].item()
    # a new decoder p(x|z) with the same prior changes the forward KL but not h_p(z)
    assert abs(forward_kl(new_decoder).item() - forward_kl(model).item()) > 1e-3
    for form in ("4.7", "4.8", "4.9"):
        for name in FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR:
            assert forward_kl_terms(new_decoder, form)[name].item() == forward_kl_terms(model, form)[name].item()
    # both entropies are the module's methods too
    assert new_encoder.h_q_x().item() == model.h_q_x().item()
    assert new_decoder.h_p_z().item() == model.h_p_z().item()


def test_encoder_gradients_reach_exactly_the_encoder_terms() -> None:
    base = GaussianGIModel.random(3, 2, generator=gen(10))
    weight = base.q_z_given_x_weight.clone().requires_grad_()
    model = dataclasses.replace(base, q_z_given_x_weight=weight)

    def moves(value: torch.Tensor) -> bool:
        if not value.requires_grad:
            return False
        (grad,) = torch.autograd.grad(value, weight, allow_unused=True, retain_graph=True)
        return grad is not None and grad.abs().max().item() > 0

    reverse, forward = reverse_kl_terms(model, "4.5"), forward_kl_terms(model, "4.9")
    assert {name: moves(v) for name, v in reverse.items()} == {
        "E_q[-log p(x|z)]": True, "-h_q(x)": False, "I_q(x,z)": True, "D_KL(q(z)||p(z))": True
    }
    # in Eq. 4.9 only the latent reconstruction depends on the encoder (AIM trains it with that term)
    assert {name: moves(v) for name, v in forward.items()} == {
        "E_p[-log q(z|x)]": True, "-h_p(z)": False, "I_p(x,z)": False, "D_KL(p(x)||q(x))": False
    }
    assert moves(reverse_kl(model)) and moves(forward_kl(model))


# --- the check can fail -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [DiscreteGIModel.random(3, 4, generator=gen(7)), GaussianGIModel.random(2, 2, generator=gen(8))]
)
def test_a_wrong_term_breaks_the_sum(model: DiscreteGIModel | GaussianGIModel) -> None:
    total = reverse_kl(model).item()
    terms = reverse_kl_terms(model, "4.5")
    assert abs(total_of(terms) - total) < 1e-9
    nudged = dict(terms, **{"I_q(x,z)": terms["I_q(x,z)"] + 1e-3})
    assert abs(total_of(nudged) - total) > 1e-6
    wrong_sign = dict(terms, **{"-h_q(x)": -terms["-h_q(x)"]})  # + h_q(x) instead of - h_q(x)
    assert abs(total_of(wrong_sign) - total) > 1e-6
    no_conditional = dict(terms, **{"I_q(x,z)": model.h_q_z()})  # h_q(z) in place of h_q(z) - h_q(z|x)
    assert abs(total_of(no_conditional) - total) > 1e-6
    forward_terms = forward_kl_terms(model, "4.9")
    swapped_kl = dict(forward_terms, **{"D_KL(p(x)||q(x))": reverse_kl_terms(model, "4.2")["D_KL(q(x)||p(x))"]})
    assert abs(total_of(swapped_kl) - forward_kl(model).item()) > 1e-6


# --- supports, zeros, forms and families ------------------------------------------------------


def test_tables_with_zeros_on_a_shared_support_keep_every_identity() -> None:
    model = DiscreteGIModel(
        q_x=torch.tensor([0.5, 0.5, 0.0], dtype=F64),
        q_z_given_x=torch.tensor([[1.0, 0.0], [0.25, 0.75], [0.5, 0.5]], dtype=F64),
        p_z=torch.tensor([0.4, 0.6], dtype=F64),
        p_x_given_z=torch.tensor([[0.3, 0.7, 0.0], [0.0, 1.0, 0.0]], dtype=F64),
    )  # both joints live on {(0, 0), (1, 0), (1, 1)}
    for terms_fn, total_fn, form in ALL_FORMS:
        terms = terms_fn(model, form)
        assert all(math.isfinite(v.item()) for v in terms.values()), form
        assert abs(total_of(terms) - total_fn(model).item()) < SUM_ATOL, form
    assert model.q_x_given_z()[:, 2].abs().max().item() == 0.0  # x = 2 has no q-mass


def test_a_support_violation_makes_every_reverse_form_infinite() -> None:
    model = DiscreteGIModel(  # p(z=1) = 0 but q(z=1) > 0
        q_x=torch.tensor([0.5, 0.5], dtype=F64),
        q_z_given_x=torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=F64),
        p_z=torch.tensor([1.0, 0.0], dtype=F64),
        p_x_given_z=torch.tensor([[0.3, 0.7], [0.5, 0.5]], dtype=F64),
    )
    assert reverse_kl(model).item() == math.inf
    for form in REVERSE_KL_FORMS:
        values = [v.item() for v in reverse_kl_terms(model, form).values()]
        assert not any(math.isnan(v) for v in values) and sum(values) == math.inf, form
    assert math.isfinite(forward_kl(model).item())  # p(x,z) is covered by q(x,z)
    for form in FORWARD_KL_FORMS:
        assert abs(total_of(forward_kl_terms(model, form)) - forward_kl(model).item()) < SUM_ATOL, form


def test_form_tables_name_the_thesis_terms() -> None:
    assert FORWARD_KL_FORMS["4.7"] == ("E_p[-log q(z|x)]", "-h_p(z)", "E_p(z)[D_KL(p(x|z)||q(x))]")
    assert FORWARD_KL_FORMS["4.9"] == ("E_p[-log q(z|x)]", "-h_p(z)", "I_p(x,z)", "D_KL(p(x)||q(x))")
    assert FORWARD_KL_FORMS["4.8"] == ("E_p[-log q(z|x)]", "-h_p(z)", "-h_p(x|z)", "-E_p(x)[log q(x)]")
    assert REVERSE_KL_FORMS["4.5"] == ("E_q[-log p(x|z)]", "-h_q(x)", "I_q(x,z)", "D_KL(q(z)||p(z))")
    assert set(REVERSE_KL_CONSTANT_TERMS) <= set(REVERSE_KL_TERM_NAMES)
    assert set(FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR) <= set(FORWARD_KL_TERM_NAMES)


def test_model_families_partition_the_terms_of_their_form() -> None:
    expected = {"VAE": "4.3", "beta-VAE": "4.3", "AVB": "4.3", "AAE": "4.5", "WAE": "4.5", "InfoVAE": "4.5"}
    expected |= {"AIM": "4.9", "InfoGAN": "4.9"}
    assert {name: family.form for name, family in MODEL_FAMILIES.items()} == expected
    for name, family in MODEL_FAMILIES.items():
        forms = REVERSE_KL_FORMS if family.divergence == "reverse" else FORWARD_KL_FORMS
        listed = list(family.kept) + [term for term, _ in family.replaced] + list(family.dropped)
        assert sorted(listed) == sorted(forms[family.form]), name
    for name in ("AAE", "WAE", "InfoVAE"):
        assert "I_q(x,z)" in MODEL_FAMILIES[name].dropped  # Astorga (2021): these models do not optimize I_q
    assert "I_p(x,z)" in MODEL_FAMILIES["AIM"].dropped


# --- validation -------------------------------------------------------------------------------


def test_entry_points_validate_the_form_and_the_model() -> None:
    model = DiscreteGIModel.random(2, 2, generator=gen(0))
    with pytest.raises(ValueError, match=r"unknown reverse-KL form '4.7'; choose one of 4.2, 4.3, 4.4, 4.5"):
        reverse_kl_terms(model, "4.7")
    with pytest.raises(ValueError, match="unknown forward-KL form '4.3'"):
        forward_kl_terms(model, "4.3")
    with pytest.raises(TypeError, match="DiscreteGIModel or a GaussianGIModel"):
        reverse_kl(object())


def test_a_family_form_names_each_term_of_its_equation_once() -> None:
    from gi_core.maths.joint_kl import PRIOR_KL, RECONSTRUCTION_X, FamilyForm

    assert FamilyForm("reverse", "4.3", (RECONSTRUCTION_X,), ((PRIOR_KL, "MMD"),), ("-h_q(x)",)).kept == (RECONSTRUCTION_X,)
    with pytest.raises(ValueError, match=r"^kept, replaced and dropped must split the terms of Eq. 4.3 exactly"):
        FamilyForm("reverse", "4.3", (RECONSTRUCTION_X, PRIOR_KL), (), ())
    with pytest.raises(ValueError, match=r"^unknown forward-KL form '4.3'"):
        FamilyForm("forward", "4.3", (), (), ())
    with pytest.raises(ValueError, match=r"^divergence must be 'reverse' or 'forward', got 'joint'$"):
        FamilyForm("joint", "4.3", (), (), ())
    with pytest.raises(TypeError, match=r"^dropped must be a tuple of term names, got '-h_q\(x\)'$"):
        FamilyForm("reverse", "4.3", (RECONSTRUCTION_X, PRIOR_KL), (), "-h_q(x)")
