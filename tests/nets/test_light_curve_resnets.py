"""Tests for gi_core.nets.light_curve_resnets: the 1-D residual blocks against their layers composed by hand, the
encoder's indifference to padding, and the decoder as the GP posterior of its own inducing points."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.utils.parametrize import is_parametrized

from gi_core.maths.gaussian_process import gp_posterior, inducing_times
from gi_core.nets.light_curve_resnets import (INDUCING_VARIANCE_FLOOR, InducingPointDecoder, LightCurveEncoder,
                                              ResBlock1d, check_curves)

pytestmark = pytest.mark.usefixtures("one_thread")


def curves(n: int = 4, t: int = 20, seed: int = 0, dtype: torch.dtype = torch.float64):
    """Random irregular curves padded to ``t`` with the convention's padding (phase 0, value 0, error 1)."""
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(n, t, generator=g, dtype=dtype)
    value = torch.randn(n, t, generator=g, dtype=dtype)
    error = 0.1 + 0.1 * torch.rand(n, t, generator=g, dtype=dtype)
    mask = torch.arange(t)[None] < torch.randint(t // 2, t + 1, (n,), generator=g)[:, None]
    zero, one = torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype)
    return torch.where(mask, phase, zero), torch.where(mask, value, zero), torch.where(mask, error, one), mask


def circular_pool(h: torch.Tensor) -> torch.Tensor:
    """out[i] = (h[2i-1] + h[2i] + h[2i+1]) / 3 with indices modulo the length: kernel 3, stride 2, padding 1."""
    length = h.shape[-1]
    centre = torch.arange(0, length, 2)
    return (h[..., (centre - 1) % length] + h[..., centre] + h[..., (centre + 1) % length]) / 3


def linear_up(h: torch.Tensor) -> torch.Tensor:
    """Linear ×2 with half-pixel centres: out[2i] = .75 h[i] + .25 h[i-1], out[2i+1] = .75 h[i] + .25 h[i+1],
    the neighbours clamped at the ends."""
    length = h.shape[-1]
    i = torch.arange(length)
    before, after = h[..., (i - 1).clamp(min=0)], h[..., (i + 1).clamp(max=length - 1)]
    return torch.stack([0.75 * h + 0.25 * before, 0.75 * h + 0.25 * after], -1).flatten(-2)


def test_a_down_block_is_its_layers_with_a_circular_pool_of_kernel_3() -> None:
    torch.manual_seed(0)
    block = ResBlock1d(3, 5, "down", circular=True).double().train()
    x = torch.randn(4, 3, 16, dtype=torch.float64)
    out = block(x)
    conv = lambda layer, h: F.conv1d(F.pad(h, (1, 1), mode="circular"), layer.weight, layer.bias)  # noqa: E731
    h = conv(block.conv1, F.relu(block.bn1(x)))
    h = conv(block.conv2, F.relu(block.bn2(h)))
    expected = circular_pool(h) + F.conv1d(circular_pool(x), block.skip.weight)
    assert out.shape == (4, 5, 8)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_a_zero_padded_down_block_averages_only_the_real_entries_at_the_ends() -> None:
    block = ResBlock1d(1, 1, "down").double()
    h = torch.arange(6, dtype=torch.float64).reshape(1, 1, 6)
    torch.testing.assert_close(block._pool(h), torch.tensor([[[0.5, 2.0, 4.0]]], dtype=torch.float64))


def test_an_up_block_interpolates_linearly_before_its_convs() -> None:
    torch.manual_seed(1)
    block = ResBlock1d(4, 4, "up").double().train()
    x = torch.randn(3, 4, 3, dtype=torch.float64)
    h = block.conv1(linear_up(F.relu(block.bn1(x))))
    h = block.conv2(F.relu(block.bn2(h)))
    expected = h + block.skip(linear_up(x))
    torch.testing.assert_close(block(x), expected, rtol=0, atol=1e-12)
    first = ResBlock1d(2, 4, "down", first=True).double()
    signed = -torch.ones(2, 2, 8, dtype=torch.float64)  # no ReLU on a first block's input: the sign matters
    assert not torch.equal(first(signed), first(torch.zeros_like(signed)))


def test_the_encoder_is_the_interpolation_block_then_the_body_and_ignores_padding() -> None:
    torch.manual_seed(0)
    encoder = LightCurveEncoder(latent_dim=3, channels=2, references=16).double()
    assert encoder.head.mean.in_features == 4 * 2 * 16 // 16  # 4C · R / 2^4, not the printed 32 // 2^4 · 4C
    phase, value, error, mask = curves()
    for mode in (encoder.train, encoder.eval):
        mode()
        mean, log_var = encoder(phase, value, error, mask)
        h = encoder.body(encoder.interpolation(phase, torch.stack([value, error], 1), mask))
        expected_mean, expected_log_var = encoder.head(h)
        torch.testing.assert_close(mean, expected_mean, rtol=0, atol=0)
        torch.testing.assert_close(log_var, expected_log_var, rtol=0, atol=0)
        noisy = [torch.where(mask, x, torch.tensor(9.0, dtype=torch.float64)) for x in (phase, value, error)]
        again = encoder(*noisy, mask)
        assert torch.equal(again[0], mean) and torch.equal(again[1], log_var)
    assert bool((log_var > -10).all()) and bool((log_var < 5).all())


def decoder(kernel: str = "rbf") -> InducingPointDecoder:
    torch.manual_seed(0)
    return InducingPointDecoder(rep_dim=3, kernel_dim=2, channels=2, inducing=16, kernel=kernel).double()


@pytest.mark.parametrize("kernel", ["rbf", "periodic"])
def test_the_decoder_is_the_gp_posterior_of_its_own_inducing_points(kernel: str) -> None:
    net = decoder(kernel)
    z = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    phase = curves()[0]
    mean, var = net(z, phase)
    points = net.inducing_points(z)
    torch.testing.assert_close(points.times, inducing_times(16, dtype=torch.float64), rtol=0, atol=0)
    expected = gp_posterior(phase, points.times, points.means, points.variances, points.scale, points.length, kernel)
    assert torch.equal(mean, expected[0]) and torch.equal(var, expected[1])
    # Eq. 9.3's ranges: sigma = 10 sigmoid(.), l = sigmoid(.) / I, and the inducing variances above the floor
    raw = net.kernel_net(z[:, 3:])
    torch.testing.assert_close(points.scale, 10 * torch.sigmoid(raw[:, 0]), rtol=0, atol=0)
    torch.testing.assert_close(points.length, torch.sigmoid(raw[:, 1]) / 16, rtol=0, atol=0)
    assert bool((points.variances >= INDUCING_VARIANCE_FLOOR).all())
    assert points.means.shape == points.variances.shape == (4, 16)


def test_the_rep_code_moves_the_inducing_points_and_the_kernel_code_the_kernel() -> None:
    net = decoder().eval()
    z = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    other = z.clone()
    other[:, 3:] += 1.0  # change only z_kernel
    a, b = net.inducing_points(z), net.inducing_points(other)
    assert torch.equal(a.means, b.means) and torch.equal(a.variances, b.variances)
    assert not torch.equal(a.scale, b.scale) and not torch.equal(a.length, b.length)
    other = z.clone()
    other[:, :3] += 1.0  # change only z_rep
    c = net.inducing_points(other)
    assert torch.equal(a.scale, c.scale) and not torch.equal(a.means, c.means)


def test_the_networks_are_deterministic_and_spectral_norm_is_optional() -> None:
    phase, value, error, mask = (x.float() if x.is_floating_point() else x for x in curves())
    outputs = []
    for _ in range(2):
        torch.manual_seed(5)
        encoder, net = LightCurveEncoder(5, 2, 16), InducingPointDecoder(3, 2, 2, 16)
        mean, _ = encoder(phase, value, error, mask)
        outputs.append(net(mean, phase)[0])
    assert torch.equal(*outputs)
    normalised = LightCurveEncoder(5, 2, 16, spectral=True)
    assert all(is_parametrized(m, "weight") for m in normalised.modules() if isinstance(m, torch.nn.Conv1d))
    assert not any(is_parametrized(m) for m in encoder.modules() if isinstance(m, torch.nn.Conv1d))
    sigma = torch.linalg.matrix_norm(normalised.head.mean.weight.detach(), ord=2)
    assert math.isclose(float(sigma), 1.0, rel_tol=0.2)  # one power iteration per call: near 1 after a few
    with pytest.raises(ValueError, match="divisible by 16"):
        LightCurveEncoder(5, 2, 24)
    with pytest.raises(ValueError, match="divisible by 8"):
        InducingPointDecoder(3, 2, 2, 20)


def test_bad_curves_are_refused_by_name() -> None:
    encoder = LightCurveEncoder(3, 2, 16).double()
    phase, value, error, mask = curves()
    with pytest.raises(ValueError, match="value"):
        check_curves(phase, value[:, :-1], error, mask, encoder)
    with pytest.raises(ValueError, match="error"):
        check_curves(phase, value, torch.where(mask, torch.tensor(math.nan, dtype=torch.float64), error), mask,
                     encoder)
    with pytest.raises(TypeError, match="phase"):
        check_curves(phase.float(), value, error, mask, encoder)
    with pytest.raises(ValueError, match="phase"):
        decoder()(torch.zeros(3, 5, dtype=torch.float64), phase)
