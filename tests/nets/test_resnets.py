"""Tests for gi_core.nets.resnets: the thesis's spectrally normalised ResNets (Astorga (2021) Tables 6.1-6.3) and standing statistics."""

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from gi_core.nets.resnets import (
    ConditionalBatchNorm2d,
    LatentFeatures,
    ResNetDiscriminator,
    ResNetEncoder,
    ResNetGenerator,
    ResNetJointDiscriminator,
    standing_statistics,
)

SHAPE = (1, 32, 32)
J, C = 3, 4


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    torch.manual_seed(0)


def _nets():
    return {
        "generator": ResNetGenerator(J, SHAPE, channels=C),
        "encoder": ResNetEncoder(SHAPE, J, channels=C),
        "discriminator": ResNetDiscriminator(SHAPE, channels=C),
        "joint": ResNetJointDiscriminator(SHAPE, J, channels=C),
    }


def test_output_shapes_and_leading_sample_axes():
    nets = _nets()
    x, z = torch.randn(3, *SHAPE), torch.randn(3, J)
    mean, log_var = nets["encoder"](x)
    assert mean.shape == log_var.shape == (3, J)
    assert nets["encoder"].head.mean.out_features == J and nets["encoder"].input_shape == SHAPE
    assert nets["generator"](z).shape == (3, *SHAPE) and nets["generator"].output_shape == SHAPE
    assert nets["generator"](torch.randn(2, 3, J)).shape == (2, 3, *SHAPE)
    assert nets["discriminator"](x).shape == (3,)
    assert nets["discriminator"].features(x).shape == (3, 4 * C)
    assert LatentFeatures(J, C)(z).shape == (3, 8 * C)
    assert nets["joint"](x, z).shape == (3,)
    rgb = ResNetGenerator(J, (3, 16, 48), channels=2)  # any sides divisible by 16
    assert rgb(z).shape == (3, 3, 16, 48)
    assert ResNetEncoder((3, 16, 48), J, channels=2)(rgb(z))[0].shape == (3, J)


@pytest.mark.parametrize(
    "name, expected",
    # generator: linear + 3 blocks x (2 CBN x 2 linears + 2 convs + skip) + output conv;
    # encoder: 4 down blocks x 3 + plain block x 2 + 2 heads; D_x: 2 x 3 + 2 x 2 + linear; D_xz: D_x + D_z (3) .
    [("generator", 23), ("encoder", 16), ("discriminator", 11), ("joint", 14)],
)
def test_every_conv_and_linear_is_spectrally_normalised(name, expected):
    layers = [m for m in _nets()[name].modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == expected
    assert all(is_parametrized(m, "weight") for m in layers)
    assert all(type(p).__name__ == "_SpectralNorm" for m in layers for p in m.parametrizations.weight)


def test_largest_singular_value_is_one_after_training_passes():
    nets = _nets()
    x, z = torch.randn(2, *SHAPE), torch.randn(2, J)

    def sigmas():
        return [
            torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2).item()
            for name in ("generator", "encoder", "joint")
            for m in nets[name].modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        ]

    # the power-iteration estimate never exceeds the true top singular value: sigma(W / estimate) >= 1
    assert 1.0 - 1e-4 <= min(sigmas()) and max(sigmas()) < 1.15
    for _ in range(30):  # one power iteration per training-mode call
        nets["generator"](z), nets["encoder"](x), nets["joint"](x, z)
    assert 1.0 - 1e-4 <= min(sigmas()) and max(sigmas()) < 1.02


def test_initial_raw_weights_are_normal_with_std_002_and_biases_zero():
    gen = ResNetGenerator(10, SHAPE, channels=8)  # linear 10 -> 4*4*32: 5120 raw weights
    raw = gen.linear.parametrizations.weight.original
    assert raw.numel() == 5120
    assert raw.std().item() == pytest.approx(0.02, rel=0.05) and abs(raw.mean().item()) < 0.002
    assert torch.equal(gen.linear.bias, torch.zeros_like(gen.linear.bias))
    assert gen.blocks[0].conv1.bias is None  # bias-free: a batch norm follows


def test_conditional_batch_norm_depends_on_z():
    cbn = ConditionalBatchNorm2d(4, J)
    nn.utils.parametrizations.spectral_norm(cbn.gain), nn.utils.parametrizations.spectral_norm(cbn.bias)
    h = torch.randn(2, 4, 5, 5)
    a, b = cbn(h, torch.randn(2, J)), cbn(h, torch.randn(2, J))
    assert (a - b).abs().max() > 1e-3
    # z = 0 gives plain batch normalisation (gain 1, bias 0)
    plain = cbn(h, torch.zeros(2, J))
    assert plain.mean(dim=(0, 2, 3)).abs().max() < 1e-5 and (plain.var(dim=(0, 2, 3)) - 1).abs().max() < 0.05


def test_log_var_is_soft_clamped_for_huge_inputs():
    _, log_var = ResNetEncoder(SHAPE, J, channels=C)(torch.randn(2, *SHAPE) * 1e8)
    assert torch.isfinite(log_var).all() and log_var.min() >= -10.0 and log_var.max() <= 5.0
    assert log_var.abs().max() > 4.0  # saturated, not merely small


def test_joint_discriminator_depends_on_x_and_z():
    joint = ResNetJointDiscriminator(SHAPE, J, channels=C).eval()
    x, z = torch.randn(2, *SHAPE), torch.randn(2, J)
    base = joint(x, z)
    assert (joint(torch.randn(2, *SHAPE), z) - base).abs().max() > 1e-4
    assert (joint(x, torch.randn(2, J)) - base).abs().max() > 1e-4


def test_gradient_reaches_every_parameter():
    nets = _nets()
    x = torch.randn(3, *SHAPE)
    mean, log_var = nets["encoder"](x)
    z = mean + torch.randn_like(mean) * (0.5 * log_var).exp()
    x_hat = torch.tanh(nets["generator"](z))
    loss = nets["discriminator"](x_hat).sum() + nets["joint"](x_hat, z).sum() + (x_hat - x).pow(2).sum()
    loss.backward()
    for name, net in nets.items():
        for pname, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), (name, pname)
            assert p.grad.abs().max() > 0, (name, pname)


def test_invalid_configurations_and_inputs_raise():
    with pytest.raises(ValueError, match="divisible by 16"):
        ResNetGenerator(J, (1, 28, 28))
    with pytest.raises(ValueError, match="divisible by 16"):
        ResNetEncoder((1, 32, 30), J)
    with pytest.raises(ValueError, match=r"\(channels, height, width\)"):
        ResNetDiscriminator((32, 32))
    with pytest.raises(ValueError, match="channels must be a positive integer"):
        ResNetEncoder(SHAPE, J, channels=0)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        ResNetGenerator(0, SHAPE)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        ResNetJointDiscriminator(SHAPE, 0)
    nets = _nets()
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 32, 32\), got \(2, 3, 32, 32\)$"):
        nets["encoder"](torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 32, 32\)"):
        nets["discriminator"](torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"^z must have shape \(\.\.\., 3\), got \(2, 4\)$"):
        nets["generator"](torch.randn(2, 4))
    with pytest.raises(ValueError, match="z must have as many rows as x"):
        nets["joint"](torch.randn(2, *SHAPE), torch.randn(3, J))
    with pytest.raises(ValueError, match="batch_size must be at least 2"):
        standing_statistics(nets["generator"], J, batch_size=1)


def test_standing_statistics_average_batch_statistics_deterministically():
    gen = ResNetGenerator(J, SHAPE, channels=C)
    gen(torch.randn(8, J) * 3.0 + 2.0)  # training-mode pass: running stats move away from (0, 1)
    before = gen.out[0].running_mean.clone()
    u_before = gen.linear.parametrizations.weight[0]._u.clone()
    batch_means = []
    hook = gen.out[0].register_forward_pre_hook(lambda m, inp: batch_means.append(inp[0].mean(dim=(0, 2, 3))))
    twin = copy.deepcopy(gen)
    out = standing_statistics(gen, J, passes=2, batch_size=6, generator_rng=torch.Generator().manual_seed(1))
    hook.remove()
    assert out is gen and not gen.training and gen.out[0].momentum == 0.1
    assert (gen.out[0].running_mean - before).abs().max() > 1e-3
    # momentum=None: the running mean is the plain average of the passes' batch means
    assert torch.allclose(gen.out[0].running_mean, torch.stack(batch_means).mean(0), atol=1e-6)
    assert int(gen.out[0].num_batches_tracked) == 2
    # only the batch norms ran in training mode: no spectral-norm power iteration
    assert torch.equal(gen.linear.parametrizations.weight[0]._u, u_before)
    standing_statistics(twin, J, passes=2, batch_size=6, generator_rng=torch.Generator().manual_seed(1))
    for a, b in zip(gen.buffers(), twin.buffers()):
        assert torch.equal(a, b)
