"""Tests for gi_core.maths.exact_models: the discrete and linear-Gaussian GI models, their entropies, information,
posteriors and reverse-KL terms against explicit loops, scipy, torch.distributions and probabilistic PCA."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from torch.distributions import MultivariateNormal

from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel, ReverseKLTerms
from gi_core.maths.gaussians import gaussian_entropy
from gi_core.maths.linear_gaussian import LinearGaussianModel
from tests.helpers import F64, gen
from tests.maths.gi_models import brute_force_reverse_terms, discrete_models, gaussian_models

pytestmark = pytest.mark.usefixtures("one_thread")


@settings(max_examples=30, deadline=None)
@given(discrete_models())
def test_discrete_mutual_information_three_ways(model: DiscreteGIModel) -> None:
    pairs = ((model.q_joint(), model.mutual_information_q()), (model.p_joint(), model.mutual_information_p()))
    for joint, info in pairs:
        table = joint.numpy()
        product = np.outer(table.sum(1), table.sum(0))
        as_kl = scipy.stats.entropy(table.ravel(), product.ravel())  # D_KL(r(x,z) || r(x) r(z))
        # h(x) - h(x|z), the other chain rule
        h_x = scipy.stats.entropy(table.sum(1))
        h_x_given_z = -np.sum(table * np.log(table / table.sum(0, keepdims=True)))
        assert info.item() == pytest.approx(as_kl, abs=1e-10)
        assert info.item() == pytest.approx(h_x - h_x_given_z, abs=1e-10)
    assert model.h_q_z().item() == pytest.approx(scipy.stats.entropy(model.q_z().numpy()), abs=1e-12)
    assert model.h_p_x().item() == pytest.approx(scipy.stats.entropy(model.p_x().numpy()), abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(gaussian_models())
def test_gaussian_entropies_match_torch_distributions(model: GaussianGIModel) -> None:
    def entropy(dist: MultivariateNormal) -> float:
        return dist.entropy().item()

    q_z, p_x = model.q_z(), model.p_x()
    pairs = [
        (model.h_q_x(), MultivariateNormal(model.q_x_mean, model.q_x_cov)),
        (model.h_q_z(), MultivariateNormal(q_z.mean, q_z.cov)),
        (model.h_q_z_given_x(), MultivariateNormal(model.q_z_given_x_bias, model.q_z_given_x_cov)),
        (model.h_p_z(), MultivariateNormal(model.p_z_mean, model.p_z_cov)),
        (model.h_p_x(), MultivariateNormal(p_x.mean, p_x.cov)),
        (model.h_p_x_given_z(), MultivariateNormal(model.p_x_given_z_bias, model.p_x_given_z_cov)),
    ]
    for value, dist in pairs:
        assert value.item() == pytest.approx(entropy(dist), rel=1e-9, abs=1e-9)
    # I_p = h_p(z) - h_p(z|x), the chain rule the module does not use
    posterior = model.p_z_given_x()
    other_route = model.h_p_z() - gaussian_entropy(posterior.cov)
    assert model.mutual_information_p().item() == pytest.approx(other_route.item(), rel=1e-8, abs=1e-8)


def test_gaussian_posterior_matches_probabilistic_pca() -> None:
    ppca = LinearGaussianModel.random(2, 4, noise_std=0.7, generator=gen(2))
    model = dataclasses.replace(
        GaussianGIModel.random(4, 2, generator=gen(3)),
        p_z_mean=torch.zeros(2, dtype=F64),
        p_z_cov=torch.eye(2, dtype=F64),
        p_x_given_z_weight=ppca.weight,
        p_x_given_z_bias=ppca.bias,
        p_x_given_z_cov=ppca.noise_var * torch.eye(4, dtype=F64),
    )
    x, _ = ppca.sample(5, generator=gen(4))
    post_mean, post_cov = ppca.posterior(x)
    posterior = model.p_z_given_x()
    torch.testing.assert_close(x @ posterior.weight.T + posterior.bias, post_mean, rtol=0, atol=1e-10)
    torch.testing.assert_close(posterior.cov, post_cov, rtol=0, atol=1e-10)
    torch.testing.assert_close(model.p_x().cov, ppca.marginal_covariance(), rtol=0, atol=1e-12)


def test_reverse_terms_are_named_for_the_thesis_terms() -> None:
    model = DiscreteGIModel.random(3, 4, generator=gen(11))
    terms = model.reverse_terms()
    assert isinstance(terms, ReverseKLTerms) and len(terms) == 9
    expected = brute_force_reverse_terms(*(t.numpy() for t in (model.q_x, model.q_z_given_x, model.p_z, model.p_x_given_z)))
    names = {
        "data_kl": "D_KL(q(x)||p(x))", "posterior_kl": "E_q(x)[D_KL(q(z|x)||p(z|x))]", "reconstruction": "E_q[-log p(x|z)]",
        "neg_data_entropy": "-h_q(x)", "prior_kl": "E_q(x)[D_KL(q(z|x)||p(z))]", "neg_conditional_entropy": "-h_q(z|x)",
        "prior_cross_entropy": "-E_q(z)[log p(z)]", "mutual_information": "I_q(x,z)", "aggregate_kl": "D_KL(q(z)||p(z))",
    }
    assert set(names) == set(ReverseKLTerms._fields)
    for field, name in names.items():
        assert getattr(terms, field).item() == pytest.approx(expected[name], abs=1e-12), field


def test_discrete_model_validates_its_tables() -> None:
    good = DiscreteGIModel.random(3, 2, generator=gen(0))
    with pytest.raises(ValueError, match="non-negative"):
        dataclasses.replace(good, q_x=torch.tensor([1.2, -0.1, -0.1], dtype=F64))
    with pytest.raises(ValueError, match="sum to 1"):
        dataclasses.replace(good, p_z=torch.tensor([0.5, 0.5 + 1e-8], dtype=F64))
    with pytest.raises(ValueError, match=r"q_z_given_x must have shape \(\|X\|, \|Z\|\) = \(3, 2\)"):
        dataclasses.replace(good, q_z_given_x=torch.full((2, 2), 0.5, dtype=F64))
    with pytest.raises(ValueError, match="p_x_given_z must have shape"):
        dataclasses.replace(good, p_x_given_z=torch.full((2, 2), 0.5, dtype=F64))
    with pytest.raises(TypeError, match="float64"):
        dataclasses.replace(good, q_x=good.q_x.float())
    with pytest.raises(ValueError, match="2 dimensions"):
        dataclasses.replace(good, q_z_given_x=good.q_x)
    with pytest.raises(TypeError, match="torch.Tensor"):
        dataclasses.replace(good, p_z=[0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        dataclasses.replace(good, p_z=torch.tensor([math.nan, 0.5], dtype=F64))


def test_gaussian_model_validates_its_parameters() -> None:
    good = GaussianGIModel.random(3, 2, generator=gen(0))
    with pytest.raises(ValueError, match="q_x_cov must be positive definite"):
        dataclasses.replace(good, q_x_cov=-torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match="p_z_cov must be symmetric"):
        dataclasses.replace(good, p_z_cov=torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=F64))
    with pytest.raises(ValueError, match=r"p_x_given_z_weight must have shape \(3, 2\)"):
        dataclasses.replace(good, p_x_given_z_weight=torch.zeros(2, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"q_z_given_x_cov must have shape \(2, 2\)"):
        dataclasses.replace(good, q_z_given_x_cov=torch.eye(3, dtype=F64))
    with pytest.raises(TypeError, match="float64"):
        dataclasses.replace(good, q_x_mean=good.q_x_mean.float())
