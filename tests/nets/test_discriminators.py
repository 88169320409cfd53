"""Tests for gi_core.nets.discriminators: of pairs (x, z) for ALI and AVB, of images (MLPCritic), of features (DANN, CDLM)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from gi_core.nets.discriminators import DomainDiscriminator, JointDiscriminator, MLPCritic


def test_joint_discriminator_is_an_mlp_on_the_flattened_pair():
    torch.manual_seed(0)
    disc = JointDiscriminator((1, 3, 3), 2, hidden=(5, 4))
    x, z = torch.rand(6, 1, 3, 3), torch.randn(6, 2)
    logits = disc(x, z)
    assert logits.shape == (6,)
    layers = list(disc.net)
    assert [type(m) for m in layers] == [nn.Linear, nn.LeakyReLU, nn.Linear, nn.LeakyReLU, nn.Linear]
    assert layers[1].negative_slope == 0.2 and layers[0].in_features == 9 + 2
    h = torch.cat([x.reshape(6, 9), z], 1)
    for layer in layers:
        h = layer(h)
    assert torch.allclose(logits, h.squeeze(1))
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 3, 3\), got \(6, 9\)$"):
        disc(torch.rand(6, 9), z)
    with pytest.raises(ValueError, match="z must have as many rows as x"):
        disc(x, torch.randn(5, 2))


def test_joint_discriminator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="input_shape must be a positive integer or a non-empty sequence"):
        JointDiscriminator((1, 0, 3), 2)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        JointDiscriminator(4, 0)
    with pytest.raises(ValueError, match="hidden must be a positive integer or a non-empty sequence of them"):
        JointDiscriminator(4, 2, hidden=())


def test_mlp_critic_is_a_leaky_mlp_on_the_flattened_input_with_spectral_norms():
    torch.manual_seed(0)
    critic = MLPCritic((1, 2, 3), hidden=(5,), spectral=False)
    x = torch.randn(4, 1, 2, 3)
    first, last = critic.net[1][0], critic.net[1][2]
    expected = last(torch.nn.functional.leaky_relu(first(x.reshape(4, 6)), 0.2)).squeeze(1)
    assert torch.allclose(critic(x), expected)
    spectral = MLPCritic((1, 2, 3), hidden=(5,))
    linears = [m for m in spectral.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 2 and all(is_parametrized(m, "weight") for m in linears)
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 2, 3\), got \(4, 6\)$"):
        critic(torch.randn(4, 6))


def test_domain_discriminator_is_a_two_layer_mlp_of_the_features():
    torch.manual_seed(0)
    disc = DomainDiscriminator(6, (4,))
    features = torch.randn(5, 6)
    first, last = disc.net[0], disc.net[2]
    assert torch.allclose(disc(features), last(torch.relu(first(features))).squeeze(1))
    assert [m.out_features for m in disc.modules() if isinstance(m, nn.Linear)] == [4, 1]
    with pytest.raises(ValueError, match=r"^features must have shape \(B, 6\), got \(5, 7\)$"):
        disc(torch.randn(5, 7))
