"""Tests for gi_core.maths.gaussian_process: the kernels by hand and against scikit-learn, the posterior against
scikit-learn's GaussianProcessRegressor, its batching, float32 stability, failure handling and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, ExpSineSquared

from gi_core.maths.gaussian_process import gp_posterior, inducing_times, periodic_kernel, rbf_kernel
from tests.helpers import F64, gen

I = 24


def test_inducing_times_are_evenly_spaced_inside_the_unit_interval() -> None:
    times = inducing_times(I, dtype=F64)
    torch.testing.assert_close(times, torch.tensor([k / 25 for k in range(1, 25)], dtype=F64), rtol=0, atol=1e-15)
    assert inducing_times(3).dtype == torch.float32
    torch.testing.assert_close(inducing_times(3), torch.tensor([0.25, 0.5, 0.75]))


def scalar(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=F64)


def test_rbf_kernel_hand_values() -> None:
    # 2^2 exp(-0.3^2 / (2 * 0.5^2)) = 4 exp(-0.18)
    value = rbf_kernel(torch.tensor([0.1], dtype=F64), torch.tensor([0.4], dtype=F64), scalar(2.0), scalar(0.5))
    assert value.shape == (1, 1)
    assert value.item() == pytest.approx(4.0 * math.exp(-0.18), rel=1e-14)
    assert rbf_kernel(scalar(0.3).reshape(1), scalar(0.3).reshape(1), scalar(1.5), scalar(0.1)).item() == 2.25


def test_periodic_kernel_hand_values_and_wrap() -> None:
    # d = 0.25, p = 1: 1.5^2 exp(-2 sin^2(pi/4) / 0.7^2) = 2.25 exp(-1 / 0.49)
    value = periodic_kernel(torch.tensor([0.1], dtype=F64), torch.tensor([0.35], dtype=F64), scalar(1.5), scalar(0.7))
    assert value.item() == pytest.approx(2.25 * math.exp(-1.0 / 0.49), rel=1e-14)
    # period 2: d = 0.5 is a quarter period, sin^2(pi/4) = 1/2 again
    value = periodic_kernel(torch.tensor([0.0], dtype=F64), torch.tensor([0.5], dtype=F64), scalar(1.5), scalar(0.7),
                            period=2.0)
    assert value.item() == pytest.approx(2.25 * math.exp(-1.0 / 0.49), rel=1e-14)
    a, b, c = (torch.tensor([x], dtype=F64) for x in (0.01, 0.99, 0.03))
    s, l = scalar(1.0), scalar(0.3)
    assert periodic_kernel(a, b, s, l).item() == pytest.approx(periodic_kernel(a, c, s, l).item(), rel=1e-12)
    # the RBF does not wrap: 0.01 and 0.99 are 0.98 apart for it
    assert rbf_kernel(a, b, s, scalar(0.05)).item() < 1e-80 < rbf_kernel(a, c, s, scalar(0.05)).item()


def test_kernels_match_sklearn_and_batch() -> None:
    g = gen(3)
    t1, t2 = torch.rand(3, 5, generator=g, dtype=F64), torch.rand(3, 4, generator=g, dtype=F64)
    scale, length = torch.tensor([0.5, 1.0, 7.0], dtype=F64), torch.tensor([0.05, 0.2, 1.3], dtype=F64)
    rbf, periodic = rbf_kernel(t1, t2, scale, length), periodic_kernel(t1, t2, scale, length, period=0.8)
    assert rbf.shape == periodic.shape == (3, 5, 4)
    for n in range(3):
        x, y = t1[n].numpy()[:, None], t2[n].numpy()[:, None]
        s2, ln = scale[n].item() ** 2, length[n].item()
        np.testing.assert_allclose(rbf[n].numpy(), (ConstantKernel(s2) * RBF(ln))(x, y), rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(periodic[n].numpy(), (ConstantKernel(s2) * ExpSineSquared(ln, 0.8))(x, y),
                                   rtol=1e-12, atol=1e-300)
    # one set of times for all curves broadcasts against per-curve parameters
    shared = rbf_kernel(t1[0], t2[0], scale, length)
    torch.testing.assert_close(shared[1], rbf_kernel(t1[0], t2[0], scale[1], length[1]))


def sklearn_posterior(kernel: str, t_ind: torch.Tensor, mu: torch.Tensor, var: torch.Tensor, t: torch.Tensor,
                      scale: float, length: float) -> tuple[np.ndarray, np.ndarray]:
    shape = RBF(length, "fixed") if kernel == "rbf" else ExpSineSquared(length, 1.0, "fixed", "fixed")
    regressor = GaussianProcessRegressor(kernel=ConstantKernel(scale**2, "fixed") * shape, alpha=var.numpy(),
                                         optimizer=None, normalize_y=False)
    mean, std = regressor.fit(t_ind.numpy()[:, None], mu.numpy()).predict(t.numpy()[:, None], return_std=True)
    return mean, std**2


@pytest.mark.parametrize("kernel", ["rbf", "periodic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_posterior_matches_sklearn(kernel: str, seed: int) -> None:
    g = gen(seed)
    n, t_len, count = 4, 9, 6
    times = torch.rand(n, t_len, generator=g, dtype=F64)
    t_ind = torch.sort(torch.rand(n, count, generator=g, dtype=F64), -1).values  # per-curve inducing times too
    mu = 2.0 * torch.randn(n, count, generator=g, dtype=F64)
    var = 10 ** (-3 + 2 * torch.rand(n, count, generator=g, dtype=F64))
    scale = 0.3 + 3 * torch.rand(n, generator=g, dtype=F64)
    length = 0.05 + 0.3 * torch.rand(n, generator=g, dtype=F64)
    mean, post_var = gp_posterior(times, t_ind, mu, var, scale, length, kernel=kernel)
    worst = 0.0
    for i in range(n):
        ref_mean, ref_var = sklearn_posterior(kernel, t_ind[i], mu[i], var[i], times[i], scale[i].item(),
                                              length[i].item())
        np.testing.assert_allclose(mean[i].numpy(), ref_mean, rtol=0, atol=1e-6)
        np.testing.assert_allclose(post_var[i].numpy(), ref_var, rtol=0, atol=1e-6)
        worst = max(worst, np.abs(mean[i].numpy() - ref_mean).max(), np.abs(post_var[i].numpy() - ref_var).max())
    assert worst < 1e-9  # measured 1e-15 to 1.4e-11 (random inducing times can nearly coincide)


def test_shared_inducing_times_equal_per_curve_ones() -> None:
    g = gen(4)
    times, mu = torch.rand(3, 7, generator=g, dtype=F64), torch.randn(3, I, generator=g, dtype=F64)
    var = torch.full((3, I), 1e-2, dtype=F64)
    scale, length = torch.tensor([1.0, 2.0, 5.0], dtype=F64), torch.tensor([0.01, 0.03, 0.04], dtype=F64)
    t_ind = inducing_times(I, dtype=F64)
    shared = gp_posterior(times, t_ind, mu, var, scale, length)
    per_curve = gp_posterior(times, t_ind.expand(3, I), mu, var, scale, length)
    for a, b in zip(shared, per_curve):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-14)


def test_float32_is_stable_in_the_thesis_range() -> None:
    """I = 24, l in [1/(4I), 1/I] (the thesis's l = Sigmoid/I), scale up to 10, inducing variances down to 1e-4:
    the float32 factorisation succeeds without jitter and stays close to float64 (measured, RBF / periodic: mean
    3e-5 / 1.0e-4, variance 4.5e-6 / 2.8e-5 times scale^2; the variance error is absolute, so variances far below
    1e-5 scale^2 are coarse in float32)."""
    g = gen(5)
    n = 32
    times = torch.rand(n, 200, generator=g, dtype=F64)
    mu = 3 * torch.randn(n, I, generator=g, dtype=F64)
    var = 10 ** (-4 + 3 * torch.rand(n, I, generator=g, dtype=F64))
    scale = (10 * torch.rand(n, generator=g, dtype=F64)).clamp(min=0.1)
    length = (1 + 3 * torch.rand(n, generator=g, dtype=F64)) / (4 * I)
    var[:8], scale[:8], length[:8], length[8:16] = 1e-4, 10.0, 1 / I, 1 / (4 * I)
    t_ind = inducing_times(I, dtype=F64)
    for kernel in ("rbf", "periodic"):
        ref_mean, ref_var = gp_posterior(times, t_ind, mu, var, scale, length, kernel=kernel)
        mean, post_var = gp_posterior(*(x.float() for x in (times, t_ind, mu, var, scale, length)), kernel=kernel)
        assert bool(torch.isfinite(mean).all()) and bool((post_var >= 0).all())
        assert (mean.double() - ref_mean).abs().max() < 1e-3  # |mu_ind| up to ~10
        assert ((post_var.double() - ref_var).abs() / scale[:, None] ** 2).max() < 1e-4


def test_posterior_limits() -> None:
    """Far from every inducing time the posterior is the prior (mean 0, variance scale^2); at an inducing time
    with a tiny inducing variance the mean interpolates it."""
    t_ind = inducing_times(4, dtype=F64)
    mu = torch.tensor([[1.0, -2.0, 0.5, 3.0]], dtype=F64)
    var = torch.full((1, 4), 1e-10, dtype=F64)
    scale, length = torch.tensor([2.0], dtype=F64), torch.tensor([0.01], dtype=F64)
    mean, post_var = gp_posterior(torch.tensor([[0.0, 0.4, 0.6]], dtype=F64), t_ind, mu, var, scale, length)
    torch.testing.assert_close(mean, torch.tensor([[0.0, -2.0, 0.5]], dtype=F64), rtol=0, atol=1e-8)
    assert post_var[0, 0].item() == pytest.approx(4.0, rel=1e-12)
    assert post_var[0, 1:].max().item() < 1e-8


def test_a_failed_factorisation_gives_nan_for_that_curve_only() -> None:
    g = gen(6)
    times, mu = torch.rand(3, 5, generator=g, dtype=F64), torch.randn(3, I, generator=g, dtype=F64)
    var = torch.full((3, I), 1e-2, dtype=F64)
    scale, length = torch.ones(3, dtype=F64), torch.full((3,), 0.03, dtype=F64)
    t_ind = inducing_times(I, dtype=F64)
    reference = gp_posterior(times, t_ind, mu, var, scale, length)
    var[1, 3] = math.nan
    broken = gp_posterior(times, t_ind, mu, var, scale, length)
    for ref, out in zip(reference, broken):
        assert bool(torch.isnan(out[1]).all())
        torch.testing.assert_close(out[[0, 2]], ref[[0, 2]], rtol=0, atol=0)
    var[1, 3] = -5.0  # not positive definite
    assert bool(torch.isnan(gp_posterior(times, t_ind, mu, var, scale, length)[1][1]).all())


def test_gradients_match_finite_differences() -> None:
    g = gen(7)
    times = torch.rand(2, 4, generator=g, dtype=F64)
    t_ind = inducing_times(5, dtype=F64)
    mu = torch.randn(2, 5, generator=g, dtype=F64, requires_grad=True)
    var = (0.05 + torch.rand(2, 5, generator=g, dtype=F64)).requires_grad_()
    scale = torch.tensor([0.7, 1.8], dtype=F64, requires_grad=True)
    length = torch.tensor([0.1, 0.25], dtype=F64, requires_grad=True)
    for kernel in ("rbf", "periodic"):
        assert torch.autograd.gradcheck(lambda *a: gp_posterior(times, t_ind, *a, kernel=kernel),
                                        (mu, var, scale, length))


def test_bad_arguments_are_refused() -> None:
    t = torch.rand(2, 3)
    with pytest.raises(ValueError, match="inducing_vars"):
        gp_posterior(t, inducing_times(4), torch.zeros(2, 4), torch.ones(2, 3), torch.ones(2), torch.ones(2))
    with pytest.raises(ValueError, match="kernel"):
        gp_posterior(t, inducing_times(4), torch.zeros(2, 4), torch.ones(2, 4), torch.ones(2), torch.ones(2), "matern")
    with pytest.raises(ValueError, match="scale"):
        rbf_kernel(t, t, torch.ones(3), torch.ones(2))
