"""Tests for gi_core.maths.gan_losses: GAN losses, the optimal discriminator and JS, the balanced domain accuracy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gi_core.maths.gan_losses import (
    balanced_domain_accuracy,
    discriminator_loss,
    discriminator_value,
    generator_loss,
    jensen_shannon,
    optimal_discriminator,
    value_at_optimal_discriminator,
)
from tests.helpers import F64, gen

LOG4 = math.log(4.0)


pytestmark = pytest.mark.usefixtures("one_thread")


LOGITS = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)


@st.composite
def distribution_pairs(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two strictly positive distributions on 2-6 points (softmaxes of logits) and a discriminator in (0, 1)."""
    n = draw(st.integers(2, 6))
    q, p, d = (torch.from_numpy(draw(arrays(np.float64, (n,), elements=LOGITS))) for _ in range(3))
    return torch.softmax(q, 0), torch.softmax(p, 0), torch.sigmoid(d)


# --- optimal discriminator and Jensen-Shannon -------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(distribution_pairs())
def test_value_at_the_optimal_discriminator_is_minus_log4_plus_twice_js(triple) -> None:
    q, p, _ = triple
    js = jensen_shannon(q, p).item()
    assert value_at_optimal_discriminator(q, p).item() == pytest.approx(-LOG4 + 2.0 * js, abs=1e-12)
    # scipy's jensenshannon takes a square root and returns NaN when rounding makes JS slightly negative
    # (q == p), so the reference is built from scipy's relative entropy directly
    m = (q.numpy() + p.numpy()) / 2
    reference = 0.5 * scipy.special.rel_entr(q.numpy(), m).sum() + 0.5 * scipy.special.rel_entr(p.numpy(), m).sum()
    assert js == pytest.approx(reference, abs=1e-10)
    assert -1e-15 <= js <= math.log(2.0) + 1e-15


@settings(max_examples=30, deadline=None)
@given(distribution_pairs())
def test_the_optimal_discriminator_beats_any_other(triple) -> None:
    q, p, d = triple
    best = value_at_optimal_discriminator(q, p).item()
    assert discriminator_value(q, p, d).item() <= best + 1e-12
    d_star = optimal_discriminator(q, p)
    torch.testing.assert_close(torch.logit(d_star), torch.log(q / p), rtol=0, atol=1e-12)
    # pointwise: D* maximizes q log D + p log(1 - D) in every cell, so a small move never helps
    for step in (-1e-3, 1e-3):
        moved = (d_star + step).clamp(1e-9, 1 - 1e-9)
        assert discriminator_value(q, p, moved).item() <= best + 1e-15


def test_js_and_optimal_discriminator_at_the_extremes() -> None:
    q = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=F64)
    p = torch.tensor([0.0, 0.0, 0.3, 0.7], dtype=F64)
    assert jensen_shannon(q, p).item() == pytest.approx(math.log(2.0), abs=1e-15)  # disjoint supports
    assert value_at_optimal_discriminator(q, p).item() == pytest.approx(0.0, abs=1e-15)  # a perfect discriminator
    assert jensen_shannon(q, q).item() == pytest.approx(0.0, abs=1e-15)
    assert value_at_optimal_discriminator(q, q).item() == pytest.approx(-LOG4, abs=1e-15)
    densities = torch.tensor([0.0, 2.0, 0.0]), torch.tensor([0.0, 0.0, 3.0])
    torch.testing.assert_close(optimal_discriminator(*densities), torch.tensor([0.5, 1.0, 0.0]))
    batch = torch.stack([q, p]), torch.stack([p, p])  # leading axes are batch axes
    torch.testing.assert_close(jensen_shannon(*batch), torch.tensor([math.log(2.0), 0.0], dtype=F64))


# --- losses on logits -------------------------------------------------------------------------


def test_losses_equal_their_probability_space_formulas() -> None:
    real, fake = 4.0 * torch.randn(64, generator=gen(1), dtype=F64), 4.0 * torch.randn(48, generator=gen(2), dtype=F64)
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = {
        ("standard", "d"): -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean()),
        ("hinge", "d"): torch.clamp(1 - real, min=0).mean() + torch.clamp(1 + fake, min=0).mean(),
        ("saturating", "g"): torch.log(1 - d_fake).mean(),
        ("non_saturating", "g"): -torch.log(d_fake).mean(),
        ("hinge", "g"): -fake.mean(),
    }
    for (kind, who), value in expected.items():
        got = discriminator_loss(real, fake, kind) if who == "d" else generator_loss(fake, kind)
        assert got.item() == pytest.approx(value.item(), rel=1e-12, abs=1e-12), (kind, who)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    as_bce = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
    assert discriminator_loss(real, fake).item() == pytest.approx(as_bce.item(), rel=1e-12)


def test_losses_stay_finite_for_large_logits() -> None:
    logits = torch.tensor([-100.0, 100.0], dtype=torch.float32, requires_grad=True)
    values = [discriminator_loss(logits, logits, kind) for kind in ("standard", "hinge")]
    values += [generator_loss(logits, kind) for kind in ("saturating", "non_saturating", "hinge")]
    for value in values:
        (grad,) = torch.autograd.grad(value, logits)
        assert torch.isfinite(value) and torch.isfinite(grad).all()
    # a confidently rejected sample: the saturating loss has (almost) no gradient, the non-saturating one has
    rejected = torch.tensor([-100.0], requires_grad=True)
    (sat,) = torch.autograd.grad(generator_loss(rejected, "saturating"), rejected)
    (non_sat,) = torch.autograd.grad(generator_loss(rejected, "non_saturating"), rejected)
    assert abs(sat.item()) < 1e-40 and non_sat.item() == pytest.approx(-1.0)


def test_balanced_domain_accuracy_weighs_the_domains_equally():
    source, target = torch.tensor([2.0, -1.0, 3.0, 0.5]), torch.tensor([-1.0, 4.0])  # 3/4 and 1/2 right
    assert balanced_domain_accuracy(source, target).item() == pytest.approx(0.625)
    assert not balanced_domain_accuracy(source.requires_grad_(), target).requires_grad


# --- validation -------------------------------------------------------------------------------


def test_inputs_are_validated() -> None:
    logits = torch.zeros(3)
    with pytest.raises(ValueError, match="unknown discriminator loss kind 'wasserstein'"):
        discriminator_loss(logits, logits, "wasserstein")
    with pytest.raises(ValueError, match="unknown generator loss kind 'minimax'"):
        generator_loss(logits, "minimax")
    with pytest.raises(ValueError, match="fake_logits is empty"):
        generator_loss(torch.zeros(0))
    with pytest.raises(TypeError, match="real_logits must be a torch.Tensor"):
        discriminator_loss([0.0], logits)
    q = torch.tensor([0.5, 0.5], dtype=F64)
    with pytest.raises(ValueError, match="p must be non-negative"):
        optimal_discriminator(q, torch.tensor([1.5, -0.5], dtype=F64))
    with pytest.raises(ValueError, match="p must sum to 1"):
        jensen_shannon(q, torch.tensor([0.5, 0.6], dtype=F64))
    with pytest.raises(ValueError, match="shapes must match"):
        jensen_shannon(q, torch.tensor([0.2, 0.3, 0.5], dtype=F64))
    with pytest.raises(ValueError, match=r"d must lie in \[0, 1\]"):
        discriminator_value(q, q, torch.tensor([0.5, 1.5], dtype=F64))


def test_value_at_optimal_discriminator_stays_finite_when_a_ratio_underflows() -> None:
    """Issue 14: with p/q below ~1e-16, ``1 - q/(q+p)`` rounds to 0 and the direct value was -inf."""
    q, p = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([1e-17, 1.0 - 1e-17], dtype=F64)
    value = value_at_optimal_discriminator(q, p)
    assert math.isfinite(value.item())
    assert abs(value.item() - (-math.log(4) + 2 * jensen_shannon(q, p).item())) < 1e-12
    # ordinary inputs: the log-space value equals the direct one to float precision
    generator = gen(3)
    for _ in range(50):
        q, p = (torch.softmax(3 * torch.randn(6, generator=generator, dtype=F64), 0) for _ in range(2))
        direct = discriminator_value(q, p, optimal_discriminator(q, p))
        assert abs(value_at_optimal_discriminator(q, p).item() - direct.item()) < 1e-14
