"""Tests for gi_core.maths.avda_objective: AVDA's Eq. 3.5–3.14 against torch.distributions, torch's cross-entropy,
closed forms, quadrature and Monte Carlo (N_SE standard errors)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from scipy import stats
from torch.distributions import Categorical, kl_divergence

from gi_core.maths.avda_objective import (adversarial_objective, binary_adversarial_objectives, categorical_prior_kl,
                                          component_kl, discriminator_objective, labelled_target_objective,
                                          source_objective, straight_through_gumbel, target_objective,
                                          unlabelled_target_objective)
from gi_core.maths.categorical import categorical_entropy
from gi_core.maths.gaussians import diag_gaussian_log_prob
from tests.helpers import F64, N_SE, diag_normal, gen, randn, t

pytestmark = pytest.mark.usefixtures("one_thread")
EXACT = {"rtol": 0.0, "atol": 1e-12}


def posterior_and_prior(batch: int = 4, classes: int = 3, latent: int = 2):
    """A batch of diagonal posteriors ``(B, J)`` and ``K`` components ``(K, J)`` in float64."""
    return (randn(batch, latent, seed=1), 0.4 * randn(batch, latent, seed=2),
            2.0 * randn(classes, latent, seed=3), 0.3 * randn(classes, latent, seed=4))


# --- straight-through Gumbel-softmax (Eq. 3.14) ---------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_gumbel_forward_rows_are_exactly_one_hot(dtype):
    logits = (3.0 * randn(500, 5, seed=5)).to(dtype).requires_grad_()
    sample = straight_through_gumbel(logits, 3.0, gen(1))
    assert sample.dtype == dtype
    assert bool(((sample == 0) | (sample == 1)).all())
    assert bool((sample.sum(-1) == 1).all())


@pytest.mark.parametrize("tau", [0.5, 3.0])
def test_gumbel_argmax_is_an_exact_categorical_draw_whatever_tau(tau):
    logits, n = t(1.0, -0.5, 0.3, 2.0), 20000
    probs = torch.softmax(logits, -1)
    counts = straight_through_gumbel(logits.expand(n, 4), tau, gen(2)).sum(0)
    se = (probs * (1 - probs) / n).sqrt()  # at most 0.0034 here (measured worst: 2.3 SE, chi-square p = 0.08)
    assert bool(((counts / n - probs).abs() < N_SE * se).all()), (counts / n, probs)
    assert stats.chisquare(counts.numpy(), (n * probs).numpy()).pvalue > 1e-4
    # the same law as torch's own hard Gumbel-softmax (5 SE of the difference of two frequencies)
    torch.manual_seed(3)
    torch_counts = F.gumbel_softmax(logits.expand(n, 4), tau=tau, hard=True).sum(0)
    assert bool(((counts - torch_counts).abs() / n < N_SE * math.sqrt(2) * se).all())


def test_gumbel_gradient_is_the_soft_samples_reproduced_from_the_seed():
    logits, tau = randn(6, 4, seed=6).requires_grad_(), 3.0
    weights = randn(6, 4, seed=7)
    (straight_through_gumbel(logits, tau, gen(8)) * weights).sum().backward()
    u = torch.rand(6, 4, generator=gen(8), dtype=F64)  # the same uniforms
    soft = torch.softmax((logits.detach() - torch.log(-torch.log(u))) / tau, -1)
    expected = soft * (weights - (soft * weights).sum(-1, keepdim=True)) / tau  # the softmax Jacobian
    torch.testing.assert_close(logits.grad, expected, **EXACT)
    assert float(logits.grad.abs().min()) > 0


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_gumbel_gradient_is_finite_for_huge_logits(dtype):
    base = torch.tensor([[0.5, -1.0, 2.0, 0.0]], dtype=dtype).expand(64, 4)
    weights = torch.arange(4, dtype=dtype)
    grads = []
    for shift in (0.0, 1e4, -1e4):  # logits of +-1e4 with moderate differences: the same non-zero gradient
        logits = (base + shift).clone().requires_grad_()
        (straight_through_gumbel(logits, 3.0, gen(9)) * weights).sum().backward()
        assert bool(torch.isfinite(logits.grad).all()) and float(logits.grad.abs().sum()) > 0
        grads.append(logits.grad)
    tol = 1e-2 if dtype == torch.float32 else 1e-9  # float32 resolves 1e4 + x to about 1e-3
    torch.testing.assert_close(grads[1], grads[0], rtol=0, atol=tol)
    torch.testing.assert_close(grads[2], grads[0], rtol=0, atol=tol)
    # a spread of +-1e4 saturates the softmax: the sample is the argmax, the gradient finite (exactly 0)
    spread = torch.tensor([[1e4, -1e4, 0.0]], dtype=dtype, requires_grad=True)
    sample = straight_through_gumbel(spread, 3.0, gen(10))
    (sample * torch.arange(3, dtype=dtype)).sum().backward()
    assert sample.tolist() == [[1.0, 0.0, 0.0]] and bool(torch.isfinite(spread.grad).all())


def test_gumbel_same_seed_same_draws_and_refusals():
    logits = randn(50, 3, seed=11)
    torch.testing.assert_close(straight_through_gumbel(logits, 3.0, gen(4)), straight_through_gumbel(logits, 3.0, gen(4)),
                               rtol=0, atol=0)
    assert not torch.equal(straight_through_gumbel(logits, 3.0, gen(4)), straight_through_gumbel(logits, 3.0, gen(5)))
    # the forward sample is argmax(logits + g): the same noise gives the same one-hot rows at every temperature
    assert torch.equal(straight_through_gumbel(logits, 0.1, gen(4)), straight_through_gumbel(logits, 30.0, gen(4)))
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="tau"):
            straight_through_gumbel(logits, bad)
    with pytest.raises(ValueError, match="logits contains NaN"):
        straight_through_gumbel(torch.tensor([[0.0, math.nan]]), 3.0)
    with pytest.raises(ValueError, match="logits must have 2 dimensions"):
        straight_through_gumbel(t(0.0, 1.0), 3.0)


# --- KL to a component (Eq. 3.10) ------------------------------------------------------------------------------------


def test_component_kl_is_torch_kl_of_the_true_class_component():
    mean, log_var, means, log_vars = posterior_and_prior()
    labels = torch.tensor([2, 0, 1, 2])
    reference = kl_divergence(diag_normal(mean, log_var), diag_normal(means[labels], log_vars[labels]))
    torch.testing.assert_close(component_kl(mean, log_var, means, log_vars, labels), reference, **EXACT)


def test_component_kl_matches_monte_carlo():
    mean, log_var, means, log_vars = posterior_and_prior(batch=1)
    n, label = 200000, torch.tensor([1])
    z = mean + torch.exp(0.5 * log_var) * torch.randn(n, 2, generator=gen(12), dtype=F64)
    draws = diag_gaussian_log_prob(z, mean, log_var) - diag_gaussian_log_prob(z, means[1], log_vars[1])
    se = draws.std() / math.sqrt(n)  # 0.0027 against a KL of 1.008 (measured off by 0.4 SE)
    exact = component_kl(mean, log_var, means, log_vars, label)[0]
    assert abs(float(draws.mean() - exact)) < N_SE * float(se), (float(draws.mean()), float(exact), float(se))


def test_component_kl_weights_one_hot_equal_labels_soft_weights_are_the_weighted_sum():
    mean, log_var, means, log_vars = posterior_and_prior()
    labels = torch.tensor([2, 0, 1, 2])
    one_hot = F.one_hot(labels, 3).to(F64)
    torch.testing.assert_close(component_kl(mean, log_var, means, log_vars, one_hot),
                               component_kl(mean, log_var, means, log_vars, labels), **EXACT)
    weights = torch.softmax(randn(4, 3, seed=13), -1)
    every = torch.stack([component_kl(mean, log_var, means, log_vars, torch.full((4,), k)) for k in range(3)], -1)
    torch.testing.assert_close(component_kl(mean, log_var, means, log_vars, weights), (weights * every).sum(-1), **EXACT)


def test_component_kl_gradient_reaches_the_logits_through_the_weights():
    mean, log_var, means, log_vars = posterior_and_prior()
    weights = F.one_hot(torch.tensor([0, 1, 2, 0]), 3).to(F64).requires_grad_()
    component_kl(mean, log_var, means, log_vars, weights).sum().backward()
    every = torch.stack([component_kl(mean, log_var, means, log_vars, torch.full((4,), k)) for k in range(3)], -1)
    torch.testing.assert_close(weights.grad, every, **EXACT)  # d/dw_k sum_k w_k KL_k = KL_k
    logits = randn(4, 3, seed=14).requires_grad_()
    sample = straight_through_gumbel(logits, 3.0, gen(15))
    component_kl(mean, log_var, means, log_vars, sample).sum().backward()
    assert bool(torch.isfinite(logits.grad).all()) and float(logits.grad.abs().sum()) > 0


def test_component_kl_refuses_bad_labels_and_shapes():
    mean, log_var, means, log_vars = posterior_and_prior()
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        component_kl(mean, log_var, means, log_vars, torch.tensor([0, 1, 3, 0]))
    with pytest.raises(TypeError, match="labels must be int64"):
        component_kl(mean, log_var, means, log_vars, torch.tensor([0, 1, 2, 0], dtype=torch.int32))
    with pytest.raises(ValueError, match="labels must sum to 1"):
        component_kl(mean, log_var, means, log_vars, torch.ones(4, 3, dtype=F64))
    with pytest.raises(ValueError, match="labels must be non-negative"):
        component_kl(mean, log_var, means, log_vars, t(1.5, -0.5, 0.0).expand(4, 3))
    with pytest.raises(ValueError, match=r"labels \(weights\) must have shape"):
        component_kl(mean, log_var, means, log_vars, torch.full((4, 2), 0.5, dtype=F64))
    with pytest.raises(ValueError, match="disagree on J"):
        component_kl(mean, log_var, means[:, :1], log_vars[:, :1], torch.tensor([0, 1, 2, 0]))


# --- KL of the prediction to p(y) ------------------------------------------------------------------------------------


def test_categorical_prior_kl_is_torch_kl_and_log_k_minus_entropy():
    logits = 2.0 * randn(5, 4, seed=16)
    log_prior = torch.log_softmax(randn(4, seed=17), -1)
    reference = kl_divergence(Categorical(logits=logits), Categorical(logits=log_prior.expand(5, 4)))
    torch.testing.assert_close(categorical_prior_kl(logits, log_prior), reference, **EXACT)
    entropy = categorical_entropy(torch.softmax(logits, -1))
    torch.testing.assert_close(categorical_prior_kl(logits), math.log(4) - entropy, **EXACT)
    torch.testing.assert_close(categorical_prior_kl(logits), math.log(4) - Categorical(logits=logits).entropy(), **EXACT)
    saturated = categorical_prior_kl(torch.tensor([[1e4, -1e4, 0.0]], dtype=F64))
    torch.testing.assert_close(saturated, torch.tensor([math.log(3)], dtype=F64), **EXACT)


def test_minimising_the_uniform_prior_kl_raises_the_entropy():
    logits = (2.0 * randn(5, 4, seed=18)).requires_grad_()
    categorical_prior_kl(logits).sum().backward()
    reference = logits.detach().clone().requires_grad_()
    Categorical(logits=reference).entropy().sum().backward()
    torch.testing.assert_close(logits.grad, -reference.grad, **EXACT)
    before = Categorical(logits=logits.detach()).entropy()
    after = Categorical(logits=logits.detach() - 0.1 * logits.grad).entropy()
    assert bool((after > before).all()), (before, after)


def test_categorical_prior_kl_refuses_a_bad_prior():
    with pytest.raises(ValueError, match="log_prior must be normalised"):
        categorical_prior_kl(randn(2, 3), torch.zeros(3, dtype=F64))
    with pytest.raises(ValueError, match="log_prior must have K = 3"):
        categorical_prior_kl(randn(2, 3), torch.log(t(0.5, 0.5)))


# --- the encoders' losses (Eq. 3.5-3.7, 3.12) ------------------------------------------------------------------------


def test_source_objective_is_kl_minus_log_likelihood_plus_alpha_cross_entropy():
    log_likelihood, kl, logits = -10.0 + randn(4, seed=19), randn(4, seed=20).abs(), randn(4, 3, seed=21)
    labels = torch.tensor([0, 2, 1, 1])
    terms = source_objective(log_likelihood, kl, logits, labels, alpha_s=1000.0)
    ce = -torch.log_softmax(logits, -1)[torch.arange(4), labels]  # -sum_k y_k log yhat_k
    torch.testing.assert_close(terms["loss"], (kl - log_likelihood + 1000.0 * ce).mean(), **EXACT)
    torch.testing.assert_close(terms["cross_entropy"], F.cross_entropy(logits, labels), **EXACT)
    torch.testing.assert_close(terms["kl"], kl.mean(), **EXACT)
    torch.testing.assert_close(terms["reconstruction"], -log_likelihood.mean(), **EXACT)
    assert float(terms["cross_entropy"]) > 0  # the minus that Eq. 2.2 drops
    with pytest.raises(ValueError, match="alpha_s"):
        source_objective(log_likelihood, kl, logits, labels, alpha_s=-1.0)


def test_labelled_target_objective_and_detached_logs():
    kl, logits = randn(4, seed=22).abs().requires_grad_(), randn(4, 3, seed=23).requires_grad_()
    labels = torch.tensor([1, 1, 0, 2])
    terms = labelled_target_objective(kl, logits, labels, alpha_t=10.0)
    torch.testing.assert_close(terms["loss"], (kl + 10.0 * F.cross_entropy(logits, labels, reduction="none")).mean(),
                               **EXACT)
    assert terms["loss"].requires_grad and not terms["kl"].requires_grad and not terms["cross_entropy"].requires_grad
    with pytest.raises(ValueError, match="kl must have shape"):
        labelled_target_objective(kl[:3], logits, labels)


def test_unlabelled_gaussian_term_averages_to_the_exact_expectation_over_q_y():
    mean, log_var, means, log_vars = posterior_and_prior(batch=3)
    logits, n = randn(3, 3, seed=24), 20000
    q = torch.softmax(logits, -1)
    exact = component_kl(mean, log_var, means, log_vars, q)  # sum_k q_k KL_k, per sample
    rows = lambda x: x.repeat(n, 1)  # noqa: E731 - n copies of the batch, sample-major
    pseudo = straight_through_gumbel(rows(logits), 3.0, gen(25))
    terms = unlabelled_target_objective(rows(mean), rows(log_var), rows(logits), pseudo, means, log_vars)
    per_row = component_kl(rows(mean), rows(log_var), means, log_vars, pseudo).reshape(n, 3)
    se = math.sqrt(float(per_row.var(0).sum()) / (n * 9))  # 0.0068 against 3.249 (measured off by 0.6 SE)
    assert abs(float(terms["gaussian_kl"] - exact.mean())) < N_SE * se, (float(terms["gaussian_kl"]), float(exact.mean()))
    torch.testing.assert_close(terms["categorical_kl"], categorical_prior_kl(logits).mean(), **EXACT)
    torch.testing.assert_close(terms["entropy"], Categorical(logits=logits).entropy().mean(), **EXACT)


def test_unlabelled_objective_is_the_joint_kl_by_quadrature_with_q_y_fixed():
    """Chain rule of App. B: KL(q(y)q(z|x) || p(y)p(z|y)) with the z-integral done on a 2-d grid (trapezoid)."""
    mean, log_var, means, log_vars = posterior_and_prior(batch=1)
    logits, log_prior = randn(1, 3, seed=26), torch.log(t(0.5, 0.3, 0.2))
    q = torch.softmax(logits, -1)[0]
    axis = torch.linspace(-16.0, 16.0, 641, dtype=F64)
    grid = torch.cartesian_prod(axis, axis)
    log_qz = diag_gaussian_log_prob(grid, mean[0], log_var[0])
    step = float(axis[1] - axis[0])
    joint = 0.0
    for k in range(3):
        log_pz = diag_gaussian_log_prob(grid, means[k], log_vars[k])
        integrand = log_qz.exp() * (q[k].log() + log_qz - log_prior[k] - log_pz)
        joint += q[k] * integrand.sum() * step ** 2  # the integrand vanishes at the edges
    terms = unlabelled_target_objective(mean, log_var, logits, q[None], means, log_vars, log_prior)
    torch.testing.assert_close(terms["loss"], joint, **EXACT)
    split = categorical_prior_kl(logits, log_prior) + component_kl(mean, log_var, means, log_vars, q[None])
    torch.testing.assert_close(split[0], joint, **EXACT)


def test_target_objective_weighs_the_three_losses():
    value = target_objective(t(2.0)[0], t(5.0)[0], t(0.25)[0], 0.9)
    assert float(value) == pytest.approx(0.9 * 2.0 + 0.1 * 5.0 + 0.25, abs=1e-15)
    assert float(target_objective(t(2.0)[0], t(5.0)[0], t(0.0)[0], 1.0)) == 2.0
    with pytest.raises(ValueError, match="gamma"):
        target_objective(t(2.0)[0], t(5.0)[0], t(0.0)[0], 1.5)


# --- the latent GAN (Eq. 3.8-3.9, §4.1.3) ----------------------------------------------------------------------------


def confident(indices: list[int], width: int = 4, margin: float = 50.0) -> torch.Tensor:
    return margin * F.one_hot(torch.tensor(indices), width).to(F64)


def test_discriminator_objective_targets_the_class_and_index_k():
    labels = torch.tensor([0, 2, 1])
    right = discriminator_objective(confident([0, 2, 1]), labels, confident([3, 3]))
    assert float(right) < 1e-20  # all mass on the answers: 3 e^-50 per sample
    wrong_target = discriminator_objective(confident([0, 2, 1]), labels, confident([1, 0]))
    assert float(wrong_target) == pytest.approx(50.0, abs=1e-12)  # target codes called source codes
    source_logits, target_logits = randn(3, 4, seed=27), randn(5, 4, seed=28)
    by_hand = (-torch.log_softmax(source_logits, -1)[torch.arange(3), labels].mean()
               - torch.log_softmax(target_logits, -1)[:, 3].mean())
    torch.testing.assert_close(discriminator_objective(source_logits, labels, target_logits), by_hand, **EXACT)
    with pytest.raises(ValueError, match="source_labels must lie in 0..2"):
        discriminator_objective(source_logits, torch.tensor([0, 3, 1]), target_logits)
    with pytest.raises(ValueError, match="same K \\+ 1 columns"):
        discriminator_objective(source_logits, labels, target_logits[:, :3])


def test_adversarial_objective_targets_the_pseudo_class_never_k():
    labels = torch.tensor([1, 0, 2])
    assert float(adversarial_objective(confident([1, 0, 2]), labels)) < 1e-20
    assert float(adversarial_objective(confident([3, 3, 3]), labels)) == pytest.approx(50.0, abs=1e-12)
    logits = randn(3, 4, seed=29)
    torch.testing.assert_close(adversarial_objective(logits, labels), F.cross_entropy(logits, labels), **EXACT)
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        adversarial_objective(logits, torch.tensor([1, 3, 0]))


def test_binary_objectives_are_the_binary_cross_entropies():
    source, target = randn(6, seed=30), randn(4, seed=31)
    d_loss, e_loss = binary_adversarial_objectives(source, target)
    bce = F.binary_cross_entropy_with_logits
    torch.testing.assert_close(d_loss, bce(source, torch.ones(6, dtype=F64)) + bce(target, torch.zeros(4, dtype=F64)),
                               **EXACT)
    torch.testing.assert_close(e_loss, bce(target, torch.ones(4, dtype=F64)), **EXACT)
    with pytest.raises(ValueError, match="source_logits must have 1 dimensions"):
        binary_adversarial_objectives(source[:, None], target)


def test_the_optimal_class_discriminator_minimises_eq_3_8_pointwise():
    from gi_core.maths.avda_objective import optimal_class_discriminator

    g = torch.Generator().manual_seed(3)
    source = torch.rand(6, 3, generator=g, dtype=torch.float64)
    source /= source.sum()
    target = torch.rand(6, generator=g, dtype=torch.float64)
    target /= target.sum()
    d = optimal_class_discriminator(source, target)
    table = torch.cat([source, target[:, None]], 1)

    def loss(d_):  # Eq. 3.8 in expectation: -sum_z sum_j table(z, j) log D_j(z)
        return -(table * d_.log()).sum()

    assert torch.allclose(d.sum(1), torch.ones(6, dtype=torch.float64), atol=1e-15)
    assert torch.allclose(d, table / table.sum(1, keepdim=True), atol=1e-15)
    for _ in range(20):  # any other discriminator does worse
        other = (d.log() + 0.1 * torch.randn(d.shape, generator=g, dtype=torch.float64)).softmax(1)
        assert loss(other) > loss(d)
    empty = optimal_class_discriminator(torch.tensor([[0.0, 0.0], [0.5, 0.5]], dtype=torch.float64),
                                        torch.tensor([0.0, 1.0], dtype=torch.float64))
    assert torch.allclose(empty[0], torch.full((3,), 1 / 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="source_joint"):
        optimal_class_discriminator(source * 2, target)
    with pytest.raises(ValueError, match="share N"):
        optimal_class_discriminator(source, torch.full((5,), 0.2, dtype=torch.float64))


def test_alignment_costs_prefer_classes_for_the_class_discriminator_and_marginals_for_the_binary_one():
    from gi_core.maths.avda_objective import alignment_costs

    # two code cells; balanced source classes in their own cell; target 90/10
    source = torch.tensor([[0.5, 0.0], [0.0, 0.5]], dtype=torch.float64)
    aligned = torch.tensor([[0.9, 0.0], [0.0, 0.1]], dtype=torch.float64)
    marginal = torch.tensor([[0.5, 0.0], [0.4, 0.1]], dtype=torch.float64)  # 4/9 of class 0 moved to cell 1
    a, m = alignment_costs(source, aligned), alignment_costs(source, marginal)
    # closed forms: binary -E_t log(p_s/(p_s+p_t)); classes -E_t log(p_s(z,y)/(p_s+p_t))
    assert a["binary"].item() == pytest.approx(-(0.9 * math.log(0.5 / 1.4) + 0.1 * math.log(0.5 / 0.6)), abs=1e-12)
    assert a["classes"].item() == pytest.approx(a["binary"].item(), abs=1e-12)
    assert m["binary"].item() == pytest.approx(math.log(2), abs=1e-12)  # the marginals match
    assert m["classes"].item() == math.inf  # class 0 sent where the source has none of it
    assert m["binary"] < a["binary"]
