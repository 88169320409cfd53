"""Tests for gi_core.maths.gaussians against torch.distributions, scipy and Monte Carlo.

Monte Carlo checks use a fixed seed and a tolerance of 5 standard errors.

The Jensen-Shannon divergences: ``jensen_shannon_gaussians`` (Monte Carlo, exact in expectation) is checked against
``scipy.integrate.quad`` of the JS integral in 1-D; its tolerance is 5 standard errors, with the variances of the two
integrands :math:`\\log(q/m)` under :math:`q` and :math:`\\log(p/m)` under :math:`p` also computed by quadrature.
``gaussian_midpoint_jensen_shannon`` (closed form) is checked against an independent NumPy computation and
against the true JS for nearby Gaussians, where both are :math:`\\delta^2/8` to second order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.distributions import MultivariateNormal, kl_divergence

from gi_core.maths.exact_models import GaussianGIModel
from gi_core.maths.gaussians import (
    batch_moments,
    diag_gaussian_entropy,
    diag_gaussian_log_prob,
    gaussian_cross_entropy,
    gaussian_entropy,
    gaussian_midpoint_jensen_shannon,
    inverse_soft_clamp_log_var,
    jensen_shannon_gaussians,
    kl_diag_gaussian_std_normal,
    kl_diag_gaussians,
    kl_full_gaussians,
    reparameterize,
    soft_clamp_log_var,
    wasserstein2_gaussians_sq,
)
from tests.helpers import F64, N_SE, diag_normal, gen, randn, t
from tests.maths.gi_models import numpy_cross_entropy

pytestmark = pytest.mark.usefixtures("one_thread")
LOG2 = math.log(2.0)


@st.composite
def gaussians(draw: st.DrawFn, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A mean and an SPD covariance A A^T + 0.1 I with entries of A in [-2, 2]."""
    entries = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    a = draw(arrays(np.float64, (dim, dim), elements=entries))
    mean = draw(arrays(np.float64, (dim,), elements=entries))
    return torch.from_numpy(mean), torch.from_numpy(a @ a.T + 0.1 * np.eye(dim))


@st.composite
def gaussian_pairs(draw: st.DrawFn) -> tuple[torch.Tensor, ...]:
    dim = draw(st.integers(1, 4))
    return (*draw(gaussians(dim)), *draw(gaussians(dim)))


# --- diagonal Gaussian densities and entropy ---------------------------------------------------


def test_diag_gaussian_log_prob_matches_torch_and_scipy() -> None:
    x, mean, log_var = randn(6, 3, seed=1), randn(6, 3, seed=2), randn(6, 3, seed=3)
    expected = diag_normal(mean, log_var).log_prob(x)
    torch.testing.assert_close(diag_gaussian_log_prob(x, mean, log_var), expected)
    by_scipy = scipy.stats.norm.logpdf(x.numpy(), mean.numpy(), np.exp(0.5 * log_var.numpy())).sum(-1)
    np.testing.assert_allclose(diag_gaussian_log_prob(x, mean, log_var).numpy(), by_scipy, rtol=1e-12)


def test_diag_gaussian_log_prob_broadcasts_sample_axis() -> None:
    z, mean, log_var = randn(4, 6, 3, seed=1), randn(6, 3, seed=2), randn(6, 3, seed=3)
    out = diag_gaussian_log_prob(z, mean, log_var)
    assert out.shape == (4, 6)
    torch.testing.assert_close(out, diag_normal(mean, log_var).log_prob(z))


def test_diag_gaussian_entropy_matches_torch() -> None:
    log_var = randn(5, 4)
    expected = diag_normal(torch.zeros_like(log_var), log_var).entropy()
    torch.testing.assert_close(diag_gaussian_entropy(log_var), expected)
    # unit variance in J dimensions: J/2 log(2 pi e)
    unit = diag_gaussian_entropy(torch.zeros(3, dtype=F64))
    assert unit.item() == pytest.approx(1.5 * math.log(2 * math.pi * math.e))


# --- reparameterization -----------------------------------------------------------------------


def test_reparameterize_uses_standard_deviation_and_generator() -> None:
    mean, log_var = randn(3, 2, seed=1), randn(3, 2, seed=2)
    z = reparameterize(mean, log_var, generator=gen(7))
    eps = torch.randn(3, 2, generator=gen(7), dtype=F64)
    torch.testing.assert_close(z, mean + torch.exp(0.5 * log_var) * eps)
    samples = reparameterize(mean, log_var, n_samples=5, generator=gen(7))
    assert samples.shape == (5, 3, 2)
    torch.testing.assert_close(samples, reparameterize(mean, log_var, n_samples=5, generator=gen(7)))


def test_reparameterize_moments_by_monte_carlo() -> None:
    mean = torch.tensor([1.0, -2.0], dtype=F64)
    log_var = torch.tensor([math.log(4.0), math.log(0.25)], dtype=F64)
    n = 200_000
    z = reparameterize(mean, log_var, n_samples=n, generator=gen(3))
    var = torch.exp(log_var)
    assert torch.all((z.mean(0) - mean).abs() < N_SE * torch.sqrt(var / n))
    # the sample variance has standard error sqrt(2/n) var for a Gaussian
    assert torch.all((z.var(0) - var).abs() < N_SE * math.sqrt(2.0 / n) * var)


def test_reparameterize_gradients_are_pathwise() -> None:
    mean = randn(4, seed=1).requires_grad_(True)
    log_var = randn(4, seed=2).requires_grad_(True)
    z = reparameterize(mean, log_var, generator=gen(5))
    z.sum().backward()
    torch.testing.assert_close(mean.grad, torch.ones(4, dtype=F64))
    torch.testing.assert_close(log_var.grad, 0.5 * (z - mean).detach())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_reparameterize_on_cuda_with_cuda_generator() -> None:
    mean = torch.zeros(3, 2, device="cuda")
    z = reparameterize(mean, torch.zeros_like(mean), n_samples=4, generator=torch.Generator("cuda").manual_seed(0))
    assert z.device.type == "cuda" and z.shape == (4, 3, 2)


# --- KL divergences ---------------------------------------------------------------------------


def test_kl_diag_gaussians_matches_torch_with_broadcasting() -> None:
    mean_q, log_var_q = randn(5, 3, seed=1), randn(5, 3, seed=2)
    mean_p, log_var_p = randn(3, seed=3), randn(3, seed=4)
    expected = kl_divergence(diag_normal(mean_q, log_var_q), diag_normal(mean_p, log_var_p))
    torch.testing.assert_close(kl_diag_gaussians(mean_q, log_var_q, mean_p, log_var_p), expected)
    torch.testing.assert_close(kl_diag_gaussians(mean_q, log_var_q, mean_q, log_var_q), torch.zeros(5, dtype=F64))


def test_kl_diag_gaussians_by_monte_carlo() -> None:
    mean_q, log_var_q = torch.tensor([0.3, -0.5], dtype=F64), torch.tensor([0.4, -0.2], dtype=F64)
    mean_p, log_var_p = torch.tensor([1.0, 0.0], dtype=F64), torch.tensor([-0.3, 0.5], dtype=F64)
    z = reparameterize(mean_q, log_var_q, n_samples=100_000, generator=gen(11))
    log_ratio = diag_gaussian_log_prob(z, mean_q, log_var_q) - diag_gaussian_log_prob(z, mean_p, log_var_p)
    standard_error = log_ratio.std() / math.sqrt(z.shape[0])
    exact = kl_diag_gaussians(mean_q, log_var_q, mean_p, log_var_p)
    assert abs(log_ratio.mean() - exact) < N_SE * standard_error


def test_kl_std_normal_closed_form_and_seed_typo() -> None:
    # mu = 1, sigma^2 = 1 per dimension: 1/2 (1 + 1 - 0 - 1) = 1/2 each (the printed Eq. 2.5 would give 3)
    value = kl_diag_gaussian_std_normal(torch.ones(4, dtype=F64), torch.zeros(4, dtype=F64))
    assert value.item() == pytest.approx(2.0)
    mean, log_var = randn(6, 3, seed=1), randn(6, 3, seed=2)
    zeros = torch.zeros_like(mean)
    general = kl_diag_gaussians(mean, log_var, zeros, zeros)
    torch.testing.assert_close(kl_diag_gaussian_std_normal(mean, log_var), general)
    expected = kl_divergence(diag_normal(mean, log_var), diag_normal(zeros, zeros))
    torch.testing.assert_close(kl_diag_gaussian_std_normal(mean, log_var), expected)


@settings(max_examples=25, deadline=None)
@given(gaussian_pairs())
def test_kl_full_gaussians_matches_torch(pair: tuple[torch.Tensor, ...]) -> None:
    mean1, cov1, mean2, cov2 = pair
    value = kl_full_gaussians(mean1, cov1, mean2, cov2)
    expected = kl_divergence(MultivariateNormal(mean1, cov1), MultivariateNormal(mean2, cov2))
    torch.testing.assert_close(value, expected, rtol=1e-7, atol=1e-9)
    assert value >= -1e-9
    assert abs(kl_full_gaussians(mean1, cov1, mean1, cov1)) < 1e-9


def test_kl_full_with_diagonal_covariances_equals_diagonal_kl() -> None:
    mean1, log_var1, mean2, log_var2 = (randn(4, seed=s) for s in range(4))
    full = kl_full_gaussians(mean1, torch.diag(log_var1.exp()), mean2, torch.diag(log_var2.exp()))
    torch.testing.assert_close(full, kl_diag_gaussians(mean1, log_var1, mean2, log_var2))


def test_batch_moments_match_numpy() -> None:
    z = randn(50, 3)
    mean, cov = batch_moments(z)
    np.testing.assert_allclose(mean.numpy(), z.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(z.numpy(), rowvar=False, ddof=1), rtol=1e-12)
    one_dim_mean, one_dim_cov = batch_moments(randn(10, 1))
    assert one_dim_mean.shape == (1,) and one_dim_cov.shape == (1, 1)


def test_gaussian_cross_entropy_matches_torch() -> None:
    model = GaussianGIModel.random(3, 2, generator=gen(0))
    q_z, p_x = model.q_z(), model.p_x()
    value = gaussian_cross_entropy(q_z.mean, q_z.cov, model.p_z_mean, model.p_z_cov)
    assert value.shape == ()
    expected = numpy_cross_entropy(q_z.mean.numpy(), q_z.cov.numpy(), model.p_z_mean.numpy(), model.p_z_cov.numpy())
    assert value.item() == pytest.approx(expected, rel=1e-12)
    q_dist, p_dist = MultivariateNormal(q_z.mean, q_z.cov), MultivariateNormal(model.p_z_mean, model.p_z_cov)
    assert value.item() == pytest.approx((kl_divergence(q_dist, p_dist) + q_dist.entropy()).item(), rel=1e-12)
    assert gaussian_cross_entropy(p_x.mean, p_x.cov, p_x.mean, p_x.cov).item() == pytest.approx(
        gaussian_entropy(p_x.cov).item(), rel=1e-12
    )


# --- 2-Wasserstein ----------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(gaussian_pairs())
def test_wasserstein2_matches_scipy_sqrtm(pair: tuple[torch.Tensor, ...]) -> None:
    mean1, cov1, mean2, cov2 = pair
    value = wasserstein2_gaussians_sq(mean1, cov1, mean2, cov2)
    c1, c2 = cov1.numpy(), cov2.numpy()
    base = float(((mean1 - mean2) ** 2).sum()) + np.trace(c1) + np.trace(c2)
    thesis_form = base - 2.0 * np.trace(scipy.linalg.sqrtm(c1 @ c2)).real  # Astorga (2021) Eq. 6.5 as printed
    root2 = scipy.linalg.sqrtm(c2).real
    symmetric_form = base - 2.0 * np.trace(scipy.linalg.sqrtm(root2 @ c1 @ root2)).real
    scale = 1.0 + base
    assert value.item() == pytest.approx(thesis_form, abs=1e-7 * scale)
    assert value.item() == pytest.approx(symmetric_form, abs=1e-7 * scale)
    swapped = wasserstein2_gaussians_sq(mean2, cov2, mean1, cov1)
    assert value.item() == pytest.approx(swapped.item(), abs=1e-9 * scale)
    assert value.item() >= -1e-9 * scale
    assert abs(wasserstein2_gaussians_sq(mean1, cov1, mean1, cov1).item()) < 1e-9 * scale


def test_wasserstein2_commuting_diagonal_closed_form() -> None:
    mean1, mean2 = randn(3, seed=1), randn(3, seed=2)
    std1 = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    std2 = torch.tensor([1.5, 1.0, 0.1], dtype=F64)
    value = wasserstein2_gaussians_sq(mean1, torch.diag(std1**2), mean2, torch.diag(std2**2))
    expected = ((mean1 - mean2) ** 2).sum() + ((std1 - std2) ** 2).sum()
    torch.testing.assert_close(value, expected)


def test_wasserstein2_gradients() -> None:
    def w2(mean1: torch.Tensor, a1: torch.Tensor, mean2: torch.Tensor, a2: torch.Tensor) -> torch.Tensor:
        eye = torch.eye(3, dtype=F64)
        return wasserstein2_gaussians_sq(mean1, a1 @ a1.T + 0.5 * eye, mean2, a2 @ a2.T + 0.5 * eye)

    inputs = tuple(randn(*shape, seed=s).requires_grad_(True) for s, shape in enumerate([(3,), (3, 3), (3,), (3, 3)]))
    assert torch.autograd.gradcheck(w2, inputs)
    # repeated eigenvalues (both identity, the WVAE target): gradient is finite and zero at the minimum
    cov = torch.eye(3, dtype=F64, requires_grad=True)
    zeros = torch.zeros(3, dtype=F64)
    wasserstein2_gaussians_sq(zeros, cov, zeros, torch.eye(3, dtype=F64)).backward()
    torch.testing.assert_close(cov.grad, torch.zeros(3, 3, dtype=F64), atol=1e-12, rtol=0)


# --- soft clamp -------------------------------------------------------------------------------


def test_soft_clamp_log_var_bounds_and_identity_at_zero() -> None:
    raw = torch.linspace(-1e4, 1e4, 2001, dtype=F64)
    out = soft_clamp_log_var(raw, low=-10.0, high=5.0)
    assert torch.all(out >= -10.0) and torch.all(out <= 5.0)
    assert torch.all(out.diff() >= 0)
    assert out[0].item() == pytest.approx(-10.0) and out[-1].item() == pytest.approx(5.0)
    zero = torch.zeros(1, dtype=F64, requires_grad=True)
    value = soft_clamp_log_var(zero, low=-3.0, high=2.0)
    value.backward()
    assert value.item() == pytest.approx(0.0, abs=1e-15)
    assert zero.grad.item() == pytest.approx(1.0)
    default = soft_clamp_log_var(torch.tensor([-1e3, 0.0, 1e3], dtype=F64))
    torch.testing.assert_close(default, torch.tensor([-10.0, 0.0, 5.0], dtype=F64))


def test_inverse_soft_clamp_log_var_round_trips_both_ways() -> None:
    for low, high in ((-10.0, 5.0), (-3.0, 2.0)):
        raw = torch.linspace(-10.0, 10.0, 401, dtype=F64)  # beyond, the sigmoid saturates and digits are lost
        back = inverse_soft_clamp_log_var(soft_clamp_log_var(raw, low, high), low, high)
        torch.testing.assert_close(back, raw, rtol=0, atol=1e-10)
        log_var = torch.linspace(low, high, 303, dtype=F64)[1:-1]
        forth = soft_clamp_log_var(inverse_soft_clamp_log_var(log_var, low, high), low, high)
        torch.testing.assert_close(forth, log_var, rtol=0, atol=1e-10)
    assert inverse_soft_clamp_log_var(torch.zeros(1, dtype=F64)).item() == pytest.approx(0.0, abs=1e-15)
    for outside in (-10.0, 5.0, -11.0, 7.0):
        with pytest.raises(ValueError, match=r"log_var must lie in the open interval \(-10.0, 5.0\)"):
            inverse_soft_clamp_log_var(t(0.0, outside))
    with pytest.raises(ValueError, match=r"log_var must lie in the open interval \(-3.0, 2.0\)"):
        inverse_soft_clamp_log_var(t(2.5), low=-3.0, high=2.0)
    with pytest.raises(ValueError, match="log_var contains NaN"):
        inverse_soft_clamp_log_var(t(float("nan")))
    with pytest.raises(ValueError, match=r"low must lie in \(-inf, 0.0\), got 1.0"):
        inverse_soft_clamp_log_var(t(0.0), low=1.0)


# --- errors -----------------------------------------------------------------------------------


def test_input_errors() -> None:
    x = randn(4, 3)
    with pytest.raises(ValueError, match="x contains NaN"):
        diag_gaussian_log_prob(torch.full((2, 3), float("nan"), dtype=F64), x[:2], x[:2])
    with pytest.raises(ValueError, match="last 1 axis/axes must match"):
        diag_gaussian_log_prob(x, randn(4, 2), x)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        kl_diag_gaussians(x, x, randn(5, 3), randn(5, 3))
    with pytest.raises(ValueError, match="shapes must match"):
        reparameterize(x, randn(4, 2))
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        reparameterize(x, x, n_samples=0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        batch_moments(randn(1, 3))
    with pytest.raises(ValueError, match=r"low must lie in \(-inf, 0.0\), got 1.0"):
        soft_clamp_log_var(x, low=1.0, high=5.0)
    with pytest.raises(ValueError, match=r"high must lie in \(0.0, inf\), got -1.0"):
        soft_clamp_log_var(x, low=-5.0, high=-1.0)


def test_covariance_errors() -> None:
    mean, eye = torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)
    not_pd = torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64)
    with pytest.raises(ValueError, match="cov1 must be positive definite"):
        kl_full_gaussians(mean, not_pd, mean, eye)
    with pytest.raises(ValueError, match="cov2 must be positive definite"):
        wasserstein2_gaussians_sq(mean, eye, mean, -eye)
    with pytest.raises(ValueError, match="cov1 must be symmetric"):
        kl_full_gaussians(mean, torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=F64), mean, eye)
    with pytest.raises(ValueError, match="mean1 has 3 entries"):
        wasserstein2_gaussians_sq(torch.zeros(3, dtype=F64), eye, mean, eye)
    with pytest.raises(ValueError, match="differ in dimension"):
        kl_full_gaussians(torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64), mean, eye)


# --- Jensen-Shannon divergences ---------------------------------------------------------------


def random_gaussian(dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = gen(seed)
    a = torch.randn(dim, dim, generator=g, dtype=F64)
    return torch.randn(dim, generator=g, dtype=F64), a @ a.T / dim + 0.2 * torch.eye(dim, dtype=F64)


def quad_js_1d(m1: float, s1: float, m2: float, s2: float) -> tuple[float, float]:
    """True JS between N(m1, s1^2) and N(m2, s2^2) and the standard error of a Monte Carlo estimate with n = 1."""
    q, p = scipy.stats.norm(m1, s1), scipy.stats.norm(m2, s2)
    lo, hi = min(m1 - 15 * s1, m2 - 15 * s2), max(m1 + 15 * s1, m2 + 15 * s2)

    def moments(own, other) -> tuple[float, float]:
        def log_ratio(x: float) -> float:
            a, b = own.logpdf(x), other.logpdf(x)
            return a - (np.logaddexp(a, b) - LOG2)

        kw = {"limit": 400, "epsabs": 1e-14, "epsrel": 1e-12}
        first = scipy.integrate.quad(lambda x: own.pdf(x) * log_ratio(x), lo, hi, **kw)[0]
        second = scipy.integrate.quad(lambda x: own.pdf(x) * log_ratio(x) ** 2, lo, hi, **kw)[0]
        return first, second - first**2

    (e_q, v_q), (e_p, v_p) = moments(q, p), moments(p, q)
    return 0.5 * (e_q + e_p), 0.5 * math.sqrt(v_q + v_p)  # SE for n draws from each: this / sqrt(n)


# --- the Monte Carlo JS --------------------------------------------------------------------------


def test_js_of_identical_gaussians_is_zero() -> None:
    mean, cov = random_gaussian(3, seed=0)
    value = jensen_shannon_gaussians(mean, cov, mean, cov, n_samples=500, generator=gen(1))
    # log q = log p at every draw, so every term is log 2 - log 2 (exact up to one rounding)
    assert abs(value.item()) < 1e-12


def test_js_matches_quadrature_in_1d() -> None:
    n = 20_000
    truth, se_one = quad_js_1d(0.0, 1.0, 1.0, 1.5)
    estimate = jensen_shannon_gaussians(t(0.0), t(1.0).reshape(1, 1), t(1.0), t(2.25).reshape(1, 1),
                                        n_samples=n, generator=gen(0)).item()
    se = se_one / math.sqrt(n)
    assert 0.05 < truth < 0.2 and se < 0.003
    assert abs(estimate - truth) < N_SE * se, (estimate, truth, se)


def test_js_is_symmetric_within_monte_carlo_error() -> None:
    n = 20_000
    _, se_one = quad_js_1d(0.0, 1.0, 1.0, 1.5)
    q, p = (t(0.0), t(1.0).reshape(1, 1)), (t(1.0), t(2.25).reshape(1, 1))
    forward = jensen_shannon_gaussians(*q, *p, n_samples=n, generator=gen(0)).item()
    backward = jensen_shannon_gaussians(*p, *q, n_samples=n, generator=gen(1)).item()
    assert forward != backward  # different draws ...
    assert abs(forward - backward) < N_SE * math.sqrt(2.0) * se_one / math.sqrt(n)  # ... same expectation


def test_js_lies_between_zero_and_log2() -> None:
    for seed in range(6):
        (m1, c1), (m2, c2) = random_gaussian(2, seed), random_gaussian(2, 100 + seed)
        value = jensen_shannon_gaussians(m1, c1, m2, c2, n_samples=2000, generator=gen(seed)).item()
        assert 0.0 < value <= LOG2  # every Monte Carlo term is log 2 - log(1 + p/q) <= log 2


def test_js_is_reproducible_with_a_generator() -> None:
    (m1, c1), (m2, c2) = random_gaussian(2, 0), random_gaussian(2, 1)
    a = jensen_shannon_gaussians(m1, c1, m2, c2, n_samples=64, generator=gen(7))
    b = jensen_shannon_gaussians(m1, c1, m2, c2, n_samples=64, generator=gen(7))
    assert torch.equal(a, b)


def test_js_saturates_and_loses_its_gradient_for_far_apart_gaussians() -> None:
    eye = torch.eye(2, dtype=F64)
    far = t(20.0, 0.0).requires_grad_(True)
    value = jensen_shannon_gaussians(t(0.0, 0.0), eye, far, eye, n_samples=256, generator=gen(0))
    assert value.item() == pytest.approx(LOG2, abs=1e-12)
    (grad,) = torch.autograd.grad(value, far)
    assert grad.abs().max().item() < 1e-10
    # nearby Gaussians do pass a gradient, which pulls the means together
    near = t(1.0, 0.0).requires_grad_(True)
    value = jensen_shannon_gaussians(t(0.0, 0.0), eye, near, eye, n_samples=2000, generator=gen(0))
    (grad,) = torch.autograd.grad(value, near)
    assert grad[0].item() > 0.05


def test_js_validates() -> None:
    eye = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError):
        jensen_shannon_gaussians(t(0.0, 0.0), eye, t(0.0, 0.0), eye, n_samples=0)
    with pytest.raises(ValueError):
        jensen_shannon_gaussians(t(0.0, 0.0), eye, t(0.0), torch.eye(1, dtype=F64))


# --- the closed-form midpoint surrogate ----------------------------------------------------------


def numpy_kl(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    d = m1 - m2
    inv = np.linalg.inv(c2)
    return 0.5 * (np.linalg.slogdet(c2)[1] - np.linalg.slogdet(c1)[1] - len(m1) + d @ inv @ d + np.trace(inv @ c1))


def test_midpoint_js_of_identical_gaussians_is_zero() -> None:
    mean, cov = random_gaussian(3, seed=0)
    assert abs(gaussian_midpoint_jensen_shannon(mean, cov, mean, cov).item()) < 1e-12


def test_midpoint_js_matches_a_hand_computation_and_is_symmetric() -> None:
    for seed in range(4):
        (m1, c1), (m2, c2) = random_gaussian(3, seed), random_gaussian(3, 50 + seed)
        a, b, ca, cb = m1.numpy(), m2.numpy(), c1.numpy(), c2.numpy()
        mid_cov = 0.5 * (ca + cb) + 0.25 * np.outer(a - b, a - b)
        mid = 0.5 * (a + b)
        hand = 0.5 * (numpy_kl(a, ca, mid, mid_cov) + numpy_kl(b, cb, mid, mid_cov))
        value = gaussian_midpoint_jensen_shannon(m1, c1, m2, c2).item()
        assert value == pytest.approx(hand, rel=1e-10)
        assert value > 0
        assert abs(value - gaussian_midpoint_jensen_shannon(m2, c2, m1, c1).item()) < 1e-10


def test_midpoint_js_of_a_mean_shift_has_a_closed_form() -> None:
    """Unit variances, means 0 and delta: the midpoint Gaussian is N(delta/2, 1 + delta^2/4), JS_N = log(1 + delta^2/4)/2."""
    for delta in (0.1, 1.0, 3.0):
        value = gaussian_midpoint_jensen_shannon(t(0.0), torch.eye(1, dtype=F64), t(delta), torch.eye(1, dtype=F64))
        assert value.item() == pytest.approx(0.5 * math.log1p(delta**2 / 4), rel=1e-12)


def test_midpoint_js_agrees_with_the_true_js_for_nearby_gaussians() -> None:
    """delta = 0.1: both are delta^2/8 - delta^4/64 + ...; they differ by < 1e-6 relative (observed 3e-9)."""
    delta = 0.1
    truth, _ = quad_js_1d(0.0, 1.0, delta, 1.0)
    value = gaussian_midpoint_jensen_shannon(t(0.0), torch.eye(1, dtype=F64), t(delta), torch.eye(1, dtype=F64)).item()
    second_order = delta**2 / 8
    for v in (truth, value):
        assert abs(v - second_order) <= delta**4 / 64  # the next term of both expansions
    assert value == pytest.approx(truth, rel=1e-6)


def test_midpoint_js_grows_past_log2_and_keeps_a_gradient() -> None:
    eye = torch.eye(2, dtype=F64)
    far = t(20.0, 0.0).requires_grad_(True)
    value = gaussian_midpoint_jensen_shannon(t(0.0, 0.0), eye, far, eye)
    assert value.item() > 3 * LOG2  # log(1 + 100) / 2 = 2.31 per shifted dimension
    assert value.item() == pytest.approx(0.5 * math.log(101.0), rel=1e-12)
    (grad,) = torch.autograd.grad(value, far)
    assert grad[0].item() > 1e-3  # d/d delta of log(1 + delta^2/4)/2 = delta / (4 + delta^2) = 0.0495
    assert grad[0].item() == pytest.approx(20.0 / 404.0, rel=1e-10)
    assert abs(grad[1].item()) < 1e-12


# --- batch_moments -------------------------------------------------------------------------------


def test_batch_moments_covariance_is_exactly_symmetric_in_float32() -> None:
    # large float32 values: torch.cov alone is off-symmetric in the last bits for data like these
    for seed in range(3):
        z = 1e3 * torch.randn(1000, 6, generator=gen(seed)) + 1e4
        mean, cov = batch_moments(z)
        assert cov.dtype == torch.float32
        assert torch.equal(cov, cov.T)
        np.testing.assert_allclose(cov.numpy(), np.cov(z.double().numpy(), rowvar=False), rtol=1e-3)
        np.testing.assert_allclose(mean.numpy(), z.double().numpy().mean(0), rtol=1e-5)


@pytest.mark.parametrize("function", [kl_full_gaussians, wasserstein2_gaussians_sq, gaussian_midpoint_jensen_shannon,
                                      gaussian_cross_entropy, jensen_shannon_gaussians])
def test_half_precision_and_mixed_dtypes_are_refused_clearly(function) -> None:
    """Issue 14: float16 into the W2 failed inside torch (Cholesky and eigh have no half precision on the CPU), and
    so did a float64 mean against float32 covariances; the linear algebra takes float32 or float64, one dtype."""
    mean, cov = torch.tensor([0.1, -0.2]), torch.tensor([[1.0, 0.2], [0.2, 0.5]])
    half = [value.half() for value in (mean, cov, mean, cov)]
    with pytest.raises(TypeError, match=r"^cov1 must be float32 or float64 .*got torch.float16$"):
        function(*half)
    with pytest.raises(TypeError, match=r"^dtypes must match, got mean1=torch.float64, cov1=torch.float32"):
        function(mean.double(), cov, mean, cov)
    with pytest.raises(TypeError, match=r"^dtypes must match, got mean2=torch.float32, cov2=torch.float64$"):
        function(mean, cov, mean, cov.double())
    with pytest.raises(TypeError, match=r"^dtypes must match, got mean1=torch.float32, cov1=torch.float32, "
                                        r"mean2=torch.float64, cov2=torch.float64$"):
        function(mean, cov, mean.double(), cov.double())
    with pytest.raises(TypeError, match=r"^cov must be float32 or float64"):
        gaussian_entropy(cov.half())


def test_conditioning_and_sampling_inputs_are_validated() -> None:
    from gi_core.maths.gaussians import condition_gaussian

    eye = torch.eye(2, dtype=F64)
    conditional = condition_gaussian(t(0.0, 1.0), t(2.0), eye, t(0.5, 0.0)[:, None], 2.0 * torch.eye(1, dtype=F64))
    torch.testing.assert_close(conditional.weight, t(0.25, 0.0)[:, None])
    with pytest.raises(ValueError, match=r"^cov_ab must have shape \(A, B\) = \(2, 1\), got \(1, 2\)$"):
        condition_gaussian(t(0.0, 1.0), t(2.0), eye, t(0.5, 0.0)[None, :], torch.eye(1, dtype=F64))
    with pytest.raises(ValueError, match="^cov_bb must be positive definite"):
        condition_gaussian(t(0.0, 1.0), t(2.0), eye, t(0.5, 0.0)[:, None], -torch.eye(1, dtype=F64))
    with pytest.raises(TypeError, match="^generator must be a torch.Generator or None, got int$"):
        reparameterize(t(0.0), t(0.0), generator=0)
