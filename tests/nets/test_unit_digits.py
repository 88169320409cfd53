"""Tests for gi_core.nets.unit_digits: UNIT's 32×32 digit encoder and decoder, and the MLP on codes."""

import pytest
import torch
from torch import nn

from gi_core.data.images import load_images
from gi_core.data.transforms import to_signed_images
from gi_core.nets.unit_digits import UNITDecoder, UNITEncoder, unit_latent_mlp

pytestmark = pytest.mark.usefixtures("one_thread")


def conv(k: int, c_in: int, c_out: int, bias: bool = False) -> int:
    """Parameters of a k×k (transposed) convolution, with its bias if any."""
    return k * k * c_in * c_out + (c_out if bias else 0)


def batch_norm(c: int) -> int:
    return 2 * c


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts_follow_the_layer_table():
    encoder = (conv(5, 1, 32) + batch_norm(32) + conv(5, 32, 64) + batch_norm(64) + conv(8, 64, 128)
               + batch_norm(128) + conv(1, 128, 256) + batch_norm(256) + 2 * (256 * 20 + 20))
    decoder = (conv(4, 20, 256) + batch_norm(256) + conv(4, 256, 128) + batch_norm(128) + conv(4, 128, 64)
               + batch_norm(64) + conv(4, 64, 32) + batch_norm(32) + conv(1, 32, 1, bias=True))
    assert (encoder, decoder) == (620296, 771041)
    assert count(UNITEncoder()) == encoder and count(UNITDecoder()) == decoder
    assert count(UNITEncoder(3, 8)) == encoder + conv(5, 2, 32) - 2 * 12 * 257  # 3 channels, J = 8
    assert count(UNITDecoder(8, 3)) == decoder - conv(4, 12, 256) + 2 * 32 + 2
    assert count(unit_latent_mlp(20, 11)) == 20 * 500 + 500 + 500 * 500 + 500 + 500 * 11 + 11
    assert count(unit_latent_mlp(20, 10, (7,))) == 21 * 7 + 8 * 10


def test_shapes_and_attributes():
    encoder, decoder = UNITEncoder(3, 8), UNITDecoder(8, 3)
    assert encoder.input_shape == (3, 32, 32) and encoder.latent_dim == 8
    assert decoder.output_shape == (3, 32, 32) and decoder.latent_dim == 8
    mean, log_var = encoder(torch.rand(4, 3, 32, 32) * 2 - 1)
    assert mean.shape == log_var.shape == (4, 8)
    assert decoder(mean).shape == (4, 3, 32, 32)


def test_latent_mlp_is_linear_layers_with_leaky_relu_between():
    torch.manual_seed(0)
    net = unit_latent_mlp(3, 4, (5, 6)).double()
    linears = [m for m in net if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 5), (5, 6), (6, 4)]
    z = torch.randn(7, 3, dtype=torch.float64)
    h = z
    for i, layer in enumerate(linears):
        h = layer(h)
        if i < len(linears) - 1:
            h = torch.where(h > 0, h, 0.2 * h)
    torch.testing.assert_close(net(z), h, rtol=0, atol=1e-12)


def test_decoder_is_tanh_of_a_network_linear_in_z_in_eval_mode():
    """In eval mode (fresh running statistics: mean 0, variance 1) the bias-free transposed convolutions,
    the batch norms and the positively homogeneous LeakyReLU make the pre-tanh output b + c (g(z) - b) at scale
    c > 0; large codes saturate the tanh at ±1 and the output never leaves [-1, 1]."""
    torch.manual_seed(1)
    decoder = UNITDecoder(4).double().eval()
    z = torch.randn(5, 4, dtype=torch.float64)
    pre = decoder.net[:-1]
    bias = decoder.net[-2].bias
    torch.testing.assert_close(decoder(z), torch.tanh(pre(z)), rtol=0, atol=1e-12)
    torch.testing.assert_close(pre(7.0 * z) - bias.view(1, -1, 1, 1), 7.0 * (pre(z) - bias.view(1, -1, 1, 1)),
                               rtol=1e-10, atol=1e-10)
    big = decoder(1e7 * z)  # untrained, the eval-mode network shrinks codes: |g(z) - b| ~ 1e-4
    assert big.abs().max() <= 1.0
    assert (big.abs() > 0.999).double().mean() > 0.99  # saturated (measured: 99.8 % of the pixels)
    small = decoder(1e-6 * z)  # tanh of almost only the last bias
    torch.testing.assert_close(small, torch.tanh(bias).view(1, -1, 1, 1).expand_as(small), rtol=0, atol=1e-5)


def test_encoder_mean_depends_on_every_pixel_of_its_own_image_only():
    torch.manual_seed(2)
    encoder = UNITEncoder(1, 5).double().eval()
    x = (torch.rand(3, 1, 32, 32, dtype=torch.float64) * 2 - 1).requires_grad_()
    mean, _ = encoder(x)
    (mean[0] @ torch.randn(5, dtype=torch.float64)).backward()
    grad = x.grad
    assert (grad[0] != 0).all()  # all 1024 pixels of image 0
    assert (grad[1:] == 0).all()  # eval mode: no batch coupling


def test_training_mode_couples_the_batch_and_eval_mode_is_deterministic():
    torch.manual_seed(3)
    encoder = UNITEncoder(1, 6).double()
    x = torch.rand(4, 1, 32, 32, dtype=torch.float64) * 2 - 1
    train_mean = encoder(x)[0]
    assert (train_mean[:2] - encoder(x[:2])[0]).abs().max() > 1e-3  # batch statistics differ
    encoder.eval()
    first, second = encoder(x), encoder(x)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    torch.testing.assert_close(encoder(x[:1])[0], first[0][:1], rtol=0, atol=1e-10)
    decoder = UNITDecoder(6).double().eval()
    assert torch.equal(decoder(first[0]), decoder(first[0]))


def test_a_few_adam_steps_reduce_the_reconstruction_error_of_64_digits():
    torch.manual_seed(4)
    x = to_signed_images(load_images("mnist", "train", profile="quick").x[:64], 32)
    encoder, decoder = UNITEncoder(), UNITDecoder()
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3, betas=(0.5, 0.5))
    losses = []
    for _ in range(15):
        mean, _ = encoder(x)
        loss = ((decoder(mean) - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0], losses  # measured: 0.95 -> 0.17


def test_validation_errors():
    with pytest.raises(ValueError, match="image_size must be 32"):
        UNITEncoder(1, 20, 28)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        UNITDecoder(0)
    with pytest.raises(ValueError, match="out_channels"):
        UNITDecoder(20, -1)
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 32, 32\), got \(2, 1, 28, 28\)$"):
        UNITEncoder()(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="at least 2 images in training mode"):
        UNITEncoder()(torch.zeros(1, 1, 32, 32))
    assert UNITEncoder().eval()(torch.zeros(1, 1, 32, 32))[0].shape == (1, 20)
    with pytest.raises(TypeError, match="z must have the dtype"):
        UNITDecoder()(torch.zeros(2, 20, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"^z must have shape \(B, 20\)"):
        UNITDecoder()(torch.zeros(3, 2, 20))
    with pytest.raises(ValueError, match="hidden"):
        unit_latent_mlp(20, 10, ())
    with pytest.raises(ValueError, match="outputs"):
        unit_latent_mlp(20, 0)
