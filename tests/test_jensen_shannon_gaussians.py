"""Tests for the Jensen-Shannon divergences between Gaussians in gi_core.distributions.

``jensen_shannon_gaussians`` (Monte Carlo, exact in expectation) is checked against ``scipy.integrate.quad``
of the JS integral in 1-D; its tolerance is 5 standard errors, with the variances of the two integrands
:math:`\\log(q/m)` under :math:`q` and :math:`\\log(p/m)` under :math:`p` also computed by quadrature.
``gaussian_midpoint_jensen_shannon`` (closed form) is checked against an independent NumPy computation and
against the true JS for nearby Gaussians, where both are :math:`\\delta^2/8` to second order.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from gi_core.distributions import batch_moments, gaussian_midpoint_jensen_shannon, jensen_shannon_gaussians

pytestmark = pytest.mark.usefixtures("one_thread")

F64 = torch.float64
N_SE = 5.0
LOG2 = math.log(2.0)


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=F64)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


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
