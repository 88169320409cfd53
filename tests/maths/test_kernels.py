"""Tests for gi_core.maths.kernels: kernel matrices, and MMD^2 against explicit loops, a Gaussian closed form and Monte Carlo.

Monte Carlo checks use fixed seeds and tolerances in standard errors of the mean over repeated draws.
"""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.maths.kernels import default_imq_scale, imq_kernel, mmd_squared, rbf_kernel
from tests.helpers import F64, randn

pytestmark = pytest.mark.usefixtures("one_thread")


def gaussian_rbf_mean(mean1: torch.Tensor, var1: float, mean2: torch.Tensor, var2: float, h: float) -> float:
    """E k(a, b), a ~ N(mean1, var1 I), b ~ N(mean2, var2 I) independent, RBF bandwidth h (closed form)."""
    spread = h**2 + var1 + var2
    dim = mean1.numel()
    return (h**2 / spread) ** (dim / 2) * math.exp(-float((mean1 - mean2).square().sum()) / (2 * spread))


def loop_mmd(x: torch.Tensor, y: torch.Tensor, k, unbiased: bool) -> float:
    """MMD^2 by explicit double loops over the samples, from the definition."""

    def mean_k(a, b, skip_diag):
        pairs = [(i, j) for i in range(len(a)) for j in range(len(b)) if not (skip_diag and i == j)]
        return sum(float(k(a[i], b[j])) for i, j in pairs) / len(pairs)

    return mean_k(x, x, unbiased) + mean_k(y, y, unbiased) - 2 * mean_k(x, y, False)


@pytest.mark.parametrize("name, fn, arg", [("rbf", rbf_kernel, 0.7), ("imq", imq_kernel, 3.0)])
def test_kernel_matrix_symmetric_with_unit_diagonal(name, fn, arg):
    x = randn(6, 3)
    k = fn(x, x, arg)
    assert k.shape == (6, 6)
    torch.testing.assert_close(k, k.T, rtol=0, atol=0)
    torch.testing.assert_close(k.diagonal(), torch.ones(6, dtype=F64), rtol=0, atol=0)
    assert bool(((k > 0) & (k <= 1)).all())


def test_kernel_values_by_hand():
    a = torch.tensor([[0.0, 0.0], [1.0, 2.0]], dtype=F64)
    b = torch.tensor([[3.0, 4.0]], dtype=F64)  # squared distances 25 and 8
    torch.testing.assert_close(rbf_kernel(a, b, 2.0), torch.tensor([[math.exp(-25 / 8)], [math.exp(-1.0)]], dtype=F64))
    torch.testing.assert_close(imq_kernel(a, b, 5.0), torch.tensor([[5 / 30], [5 / 13]], dtype=F64))


def test_default_imq_scale():
    assert default_imq_scale(10) == 20.0
    assert default_imq_scale(8, prior_var=0.5) == 8.0
    with pytest.raises(ValueError, match="latent_dim"):
        default_imq_scale(0)
    with pytest.raises(ValueError, match="prior_var"):
        default_imq_scale(4, prior_var=0.0)


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize(
    "kernel, kwargs, k",
    [
        ("rbf", {"bandwidth": 0.8}, lambda a, b: math.exp(-float((a - b).square().sum()) / (2 * 0.8**2))),
        ("imq", {"scale": 2.5}, lambda a, b: 2.5 / (2.5 + float((a - b).square().sum()))),
    ],
)
def test_mmd_matches_explicit_loops(kernel, kwargs, k, unbiased):
    x, y = randn(5, 2, seed=1), randn(4, 2, seed=2) + 0.5
    value = mmd_squared(x, y, kernel, unbiased=unbiased, **kwargs)
    assert value.shape == ()
    assert value.item() == pytest.approx(loop_mmd(x, y, k, unbiased), rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("kernel, kwargs", [("rbf", {"bandwidth": 1.0}), ("imq", {"scale": default_imq_scale(3)})])
def test_biased_mmd_of_a_set_with_itself_is_zero(kernel, kwargs):
    x = randn(30, 3)
    assert mmd_squared(x, x, kernel, unbiased=False, **kwargs).item() == 0.0
    # The U-statistic of a set with itself is not zero: it drops the diagonal of k(x, x) but not of k(x, y).
    assert mmd_squared(x, x, kernel, unbiased=True, **kwargs).item() < 0.0


@pytest.mark.parametrize("kernel, kwargs", [("rbf", {"bandwidth": 1.0}), ("imq", {"scale": default_imq_scale(2)})])
def test_unbiased_mmd_is_centred_for_identical_distributions(kernel, kwargs):
    draws = 200
    unbiased, biased = [], []
    gen = torch.Generator().manual_seed(0)
    for _ in range(draws):
        x, y = torch.randn(20, 2, generator=gen, dtype=F64), torch.randn(20, 2, generator=gen, dtype=F64)
        unbiased.append(mmd_squared(x, y, kernel, unbiased=True, **kwargs).item())
        biased.append(mmd_squared(x, y, kernel, unbiased=False, **kwargs).item())
    u = torch.tensor(unbiased, dtype=F64)
    se = u.std() / math.sqrt(draws)
    assert abs(u.mean()) < 3 * se
    assert bool((u < 0).any()) and bool((u > 0).any())  # the U-statistic takes both signs
    b = torch.tensor(biased, dtype=F64)
    assert bool((b > 0).all())
    assert b.mean() > 10 * b.std() / math.sqrt(draws)  # the V-statistic is biased upwards


def test_unbiased_rbf_mmd_matches_gaussian_closed_form():
    dim, h, shift = 3, 1.5, torch.tensor([1.0, -0.5, 0.0], dtype=F64)
    zero = torch.zeros(dim, dtype=F64)
    exact = (
        gaussian_rbf_mean(zero, 1.0, zero, 1.0, h)
        + gaussian_rbf_mean(shift, 1.0, shift, 1.0, h)
        - 2 * gaussian_rbf_mean(zero, 1.0, shift, 1.0, h)
    )
    draws, gen = 20, torch.Generator().manual_seed(0)
    estimates = torch.tensor(
        [
            mmd_squared(
                torch.randn(200, dim, generator=gen, dtype=F64),
                torch.randn(200, dim, generator=gen, dtype=F64) + shift,
                "rbf",
                bandwidth=h,
            ).item()
            for _ in range(draws)
        ],
        dtype=F64,
    )
    se = estimates.std() / math.sqrt(draws)
    # Equal variances: MMD^2 = 2 (h^2 / (h^2 + 2))^{d/2} (1 - exp(-|shift|^2 / (2 (h^2 + 2)))), here with |shift|^2 = 5/4.
    assert exact == pytest.approx(2 * (9 / 17) ** 1.5 * (1 - math.exp(-5 / 34)), rel=1e-12)
    assert abs(estimates.mean() - exact) < 5 * se
    assert se < 0.1 * exact  # the check is sharp enough to notice a wrong estimator


@pytest.mark.parametrize("unbiased", [True, False])
@pytest.mark.parametrize("kernel, kwargs", [("rbf", {"bandwidth": 1.0}), ("imq", {"scale": 4.0})])
def test_mmd_gradients_finite(kernel, kwargs, unbiased):
    x = randn(8, 2, seed=3).requires_grad_()
    y = randn(8, 2, seed=4)
    mmd_squared(x, y, kernel, unbiased=unbiased, **kwargs).backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().sum()) > 0
    # Coincident points (zero distances) must not produce NaN gradients.
    z = randn(8, 2, seed=5).requires_grad_()
    mmd_squared(z, z.detach(), kernel, unbiased=unbiased, **kwargs).backward()
    assert bool(torch.isfinite(z.grad).all())


def test_mmd_gradient_matches_finite_differences():
    x, y = randn(4, 2, seed=6), randn(5, 2, seed=7)
    assert torch.autograd.gradcheck(lambda a: mmd_squared(a, y, "imq", scale=2.0), (x.requires_grad_(),))


def test_mmd_validation():
    x, y = randn(4, 2), randn(4, 2, seed=1)
    with pytest.raises(ValueError, match=r"unknown kernel 'gauss'.*\['imq', 'rbf'\]"):
        mmd_squared(x, y, "gauss", bandwidth=1.0)
    with pytest.raises(ValueError, match="exactly the keyword 'scale'"):
        mmd_squared(x, y, "imq")
    with pytest.raises(ValueError, match="exactly the keyword 'bandwidth'"):
        mmd_squared(x, y, "rbf", scale=1.0)
    with pytest.raises(ValueError, match="2 dimensions"):
        mmd_squared(x[0], y, "rbf", bandwidth=1.0)
    with pytest.raises(ValueError, match="same width"):
        mmd_squared(x, randn(4, 3), "rbf", bandwidth=1.0)
    with pytest.raises(ValueError, match="at least 2 row"):
        mmd_squared(x[:1], y, "rbf", bandwidth=1.0)
    assert mmd_squared(x[:1], y, "rbf", unbiased=False, bandwidth=1.0).item() > 0  # one row is fine when biased
    with pytest.raises(ValueError, match=r"bandwidth must lie in \(0.0, inf\)"):
        mmd_squared(x, y, "rbf", bandwidth=0.0)
    with pytest.raises(ValueError, match=r"scale must lie in \(0.0, inf\)"):
        mmd_squared(x, y, "imq", scale=-1.0)
    with pytest.raises(TypeError, match="floating-point"):
        mmd_squared(x.long(), y, "imq", scale=1.0)
