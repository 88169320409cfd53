"""Tests for gi_core.nets.encoders: the MLP and convolutional encoders and decoders."""

import pytest
import torch

from gi_core.nets.encoders import ConvDecoder, ConvEncoder, MLPDecoder, MLPEncoder, encoder_decoder


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_encoder_decoder_round_trip_shapes_and_bounded_log_variance(arch, shape):
    torch.manual_seed(0)
    enc, dec = encoder_decoder(arch, shape, latent_dim=5)
    x = torch.rand(3, *shape)
    mean, log_var = enc(x)
    assert mean.shape == log_var.shape == (3, 5)
    assert dec(mean).shape == (3, *shape)
    assert dec(torch.zeros(4, 3, 5)).shape == (4, 3, *shape)  # leading sample axis
    # bounded log-variance even for absurd inputs
    _, huge = enc(x * 1e6)
    assert torch.isfinite(huge).all() and huge.min() > -10.01 and huge.max() < 5.01


def test_networks_reject_bad_configurations():
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        MLPEncoder((1, 28, 28), 0)
    with pytest.raises(ValueError, match=r"\(channels, height, width\)"):
        ConvDecoder(2, (28, 28))
    with pytest.raises(ValueError, match="output_shape must be a positive integer or a non-empty sequence"):
        MLPDecoder(2, ())
    assert MLPEncoder((2,), 3)(torch.zeros(5, 2))[0].shape == (5, 3)  # vectors as well as images
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvEncoder((1, 30, 30), 2)
    with pytest.raises(ValueError, match="unknown arch 'resnet'; choose one of mlp, conv"):
        encoder_decoder("resnet", (1, 28, 28), 2)
    enc = ConvEncoder((1, 28, 28), 2)
    with pytest.raises(ValueError, match=r"x must have shape \(B, 1, 28, 28\)"):
        enc(torch.rand(2, 1, 32, 32))
    assert ConvDecoder(2, (1, 32, 32))(torch.zeros(1, 2)).shape == (1, 1, 32, 32)


def test_vector_encoder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="input_shape must be a positive integer or a non-empty sequence"):
        MLPEncoder((0,), 2)
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 3\), got \(4, 2\)$"):
        MLPEncoder((3,), 2)(torch.zeros(4, 2))
