"""Tests for gi_core.nets.interpolation_prediction: the smooth, intensity and transient channels against a hand
computation, the wrapped phase distance, and the padding that changes nothing."""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.nets.interpolation_prediction import InterpolationBlock, check_mask, check_observed

pytestmark = pytest.mark.usefixtures("one_thread")


def block(channels: int = 2, references: int = 8, bandwidth: float | None = None) -> InterpolationBlock:
    return InterpolationBlock(channels, references, bandwidth).double()


def irregular(n: int = 3, t: int = 7, d: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(n, t, generator=g, dtype=torch.float64)
    inputs = torch.randn(n, d, t, generator=g, dtype=torch.float64)
    mask = torch.rand(n, t, generator=g) > 0.3
    mask[:, 0] = True
    return phase, inputs, mask


def by_hand(net: InterpolationBlock, phase, inputs, mask) -> torch.Tensor:
    """Loops over curves, channels, reference phases and observations, in plain Python floats."""
    n, d, _ = inputs.shape
    r = net.references
    alphas = [math.exp(a) for a in net.log_bandwidth.tolist()]
    out = torch.zeros(n, 3 * d, r, dtype=torch.float64)
    for i in range(n):
        observed = [j for j in range(phase.shape[1]) if mask[i, j]]
        for c in range(d):
            for k in range(r):
                def interpolant(alpha: float) -> tuple[float, float]:
                    weights = []
                    for j in observed:
                        gap = abs(k / r - float(phase[i, j])) % 1.0
                        weights.append(math.exp(-alpha * min(gap, 1.0 - gap) ** 2))
                    total = sum(weights)
                    return sum(w * float(inputs[i, c, j]) for w, j in zip(weights, observed)) / total, total
                smooth, total = interpolant(alphas[c])
                sharp, _ = interpolant(10.0 * alphas[c])
                out[i, c, k], out[i, d + c, k], out[i, 2 * d + c, k] = smooth, math.log1p(total), sharp - smooth
    return out


def test_the_three_channels_match_a_hand_computation() -> None:
    net = block(bandwidth=20.0)
    with torch.no_grad():
        net.log_bandwidth.copy_(torch.log(torch.tensor([20.0, 45.0])))  # one bandwidth per channel
    phase, inputs, mask = irregular()
    out = net(phase, inputs, mask)
    assert out.shape == (3, 6, 8)
    torch.testing.assert_close(out, by_hand(net, phase, inputs, mask), rtol=0, atol=1e-12)


def test_masked_entries_change_nothing_exactly() -> None:
    net = block()
    phase, inputs, mask = irregular()
    out = net(phase, inputs, mask)
    scrambled_phase = torch.where(mask, phase, torch.tensor(0.5, dtype=torch.float64))
    scrambled = torch.where(mask[:, None], inputs, torch.tensor(1e6, dtype=torch.float64))
    assert torch.equal(net(scrambled_phase, scrambled, mask), out)
    nan_padding = torch.where(mask[:, None], inputs, torch.tensor(math.nan, dtype=torch.float64))
    assert torch.equal(net(phase, nan_padding, mask), out)
    # dropping padded columns, or appending more, gives the same curve (equal up to the order of the sums)
    wider = net(torch.cat([phase, torch.zeros(3, 5, dtype=torch.float64)], 1),
                torch.cat([inputs, torch.zeros(3, 2, 5, dtype=torch.float64)], 2),
                torch.cat([mask, torch.zeros(3, 5, dtype=torch.bool)], 1))
    torch.testing.assert_close(wider, out, rtol=0, atol=1e-13)


def test_the_gradient_ignores_padding_and_reaches_the_bandwidths() -> None:
    net = block()
    phase, inputs, mask = irregular()
    inputs.requires_grad_(True)
    net(phase, inputs, mask).square().sum().backward()
    assert torch.equal(inputs.grad[~mask[:, None].expand_as(inputs)], torch.zeros(int((~mask).sum()) * 2,
                                                                                  dtype=torch.float64))
    assert net.log_bandwidth.grad is not None and bool((net.log_bandwidth.grad != 0).all())


def test_the_phase_distance_wraps_on_the_circle() -> None:
    net = block(channels=1, references=8)
    phase, inputs, mask = irregular(d=1)
    out = net(phase, inputs, mask)
    # a phase is read modulo 1
    torch.testing.assert_close(net(phase + 3.0, inputs, mask), out, rtol=0, atol=1e-10)
    # reflecting every phase t -> 1 - t reflects the reference grid k -> (R - k) mod R
    reflected = net(torch.remainder(1.0 - phase, 1.0), inputs, mask)
    torch.testing.assert_close(reflected[..., (8 - torch.arange(8)) % 8], out, rtol=0, atol=1e-12)
    # an observation at 0.99 weighs on the reference phase 0 as much as one at 0.01
    one = torch.ones(1, 1, 1, dtype=torch.float64)
    late = net(torch.tensor([[0.99]], dtype=torch.float64), one, torch.ones(1, 1, dtype=torch.bool))
    early = net(torch.tensor([[0.01]], dtype=torch.float64), one, torch.ones(1, 1, dtype=torch.bool))
    torch.testing.assert_close(late[0, 1, 0], early[0, 1, 0], rtol=0, atol=1e-14)


def test_one_observation_is_copied_everywhere_with_its_intensity() -> None:
    """With one observed point the softmax weights are 1 (even where exp(-alpha d^2) underflows), the transient is 0
    and the intensity is log(1 + exp(-alpha d^2)): the default bandwidth R^2/2 is a weight of standard deviation 1/R."""
    net = block(channels=1, references=16)
    alpha = float(net.log_bandwidth.detach().exp())
    assert math.isclose(alpha, 16**2 / 2, rel_tol=1e-6)  # float32 log(128), then doubled
    phase = torch.tensor([[0.25, 0.0]], dtype=torch.float64)
    out = net(phase, torch.tensor([[[1.7, -4.0]]], dtype=torch.float64), torch.tensor([[True, False]]))
    assert torch.equal(out[0, 0], torch.full((16,), 1.7, dtype=torch.float64))
    assert torch.equal(out[0, 2], torch.zeros(16, dtype=torch.float64))
    gaps = torch.remainder(torch.arange(16) / 16 - 0.25, 1.0).double()
    gaps = torch.minimum(gaps, 1 - gaps)
    torch.testing.assert_close(out[0, 1], torch.log1p(torch.exp(-alpha * gaps.square())), rtol=0, atol=1e-14)


def test_bad_masks_are_refused() -> None:
    net = block()
    phase, inputs, mask = irregular()
    empty = mask.clone()
    empty[1] = False
    with pytest.raises(ValueError, match="at least one observed"):
        net(phase, inputs, empty)
    with pytest.raises(TypeError, match="mask"):
        net(phase, inputs, mask.double())
    with pytest.raises(ValueError, match="inputs"):
        net(phase, inputs[:, :1], mask)
    with pytest.raises(ValueError, match="observed entries"):
        check_observed(torch.where(mask, torch.tensor(math.inf, dtype=torch.float64), phase), "phase", mask)
    check_observed(torch.where(mask, phase, torch.tensor(math.inf, dtype=torch.float64)), "phase", mask)
    with pytest.raises(ValueError, match="shape"):
        check_mask(mask, (3, 8))
