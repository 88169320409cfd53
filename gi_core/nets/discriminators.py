"""Discriminators (networks with parameters and no loss) that return one logit per example or pair:
of images or vectors (:class:`MLPCritic`), of pairs :math:`(x, z)` (:class:`JointDiscriminator`) and of features
(:class:`DomainDiscriminator`). Their losses are in :mod:`gi_core.maths.gan_losses`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from gi_core.nets.encoders import mlp
from gi_core.validation import check_batch, check_positive_int, check_sizes


def leaky_relu() -> nn.Module:
    """LeakyReLU with slope 0.2, the activation of the ALI and AVB discriminators."""
    return nn.LeakyReLU(0.2)


class JointDiscriminator(nn.Module):
    r"""A discriminator of pairs, :math:`D(x, z) = \mathrm{MLP}([\operatorname{vec}(x), z])`, returning one logit per pair.

    ``input_shape`` is the shape of one ``x`` (an int for vectors, ``(C, H, W)`` for images, which are
    flattened); the MLP has the ``hidden`` widths with LeakyReLU(0.2) between layers and a linear
    output. ``forward(x, z)`` takes ``x`` ``(B, *input_shape)`` and ``z`` ``(B, latent_dim)`` and
    returns ``(B,)`` logits :math:`\ell = \operatorname{logit} D`.
    """

    def __init__(self, input_shape: int | Sequence[int], latent_dim: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        self.input_shape = check_sizes(input_shape, "input_shape")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.net = mlp([math.prod(self.input_shape) + latent_dim, *check_sizes(hidden, "hidden"), 1], leaky_relu)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        if z.shape[0] != x.shape[0]:
            raise ValueError(f"z must have as many rows as x (the pairs), got {tuple(z.shape)} and {tuple(x.shape)}")
        return self.net(torch.cat([x.flatten(1), z], dim=1)).squeeze(-1)


class MLPCritic(nn.Module):
    """An MLP discriminator: flatten, Linear + LeakyReLU(0.2) layers, one logit per example.

    ``spectral=True`` puts spectral normalisation on every linear layer (as the thesis does for all of
    its networks).
    """

    def __init__(self, input_shape: int | Sequence[int], hidden: Sequence[int] = (512, 256), spectral: bool = True) -> None:
        super().__init__()
        self.input_shape = check_sizes(input_shape, "input_shape")
        self.net = nn.Sequential(nn.Flatten(), mlp([math.prod(self.input_shape), *check_sizes(hidden, "hidden"), 1], leaky_relu))
        if spectral:
            for layer in self.net.modules():
                if isinstance(layer, nn.Linear):
                    nn.utils.parametrizations.spectral_norm(layer)

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.net(x).squeeze(-1)


class DomainDiscriminator(nn.Module):
    """An MLP from features ``(B, F)`` to one domain logit ``(B,)`` (source = 1, target = 0).

    Default ``hidden=(100,)``: DANN's MNIST domain classifier (Ganin et al., 2016) and CDLM's "two-layer
    fully connected" discriminator :math:`\\Xi` (Hou et al. 2022, §4.2) are both two linear layers.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (100,)) -> None:
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.net = mlp([self.in_features, *check_sizes(hidden, "hidden"), 1])

    def forward(self, features: Tensor) -> Tensor:
        check_batch(features, "features", (self.in_features,), like=self, finite=False)
        return self.net(features).squeeze(-1)
