"""Tiny inputs, allow reasons and networks shared by the fuzz cases of gi_core.nets, gi_core.models and gi_core.maths."""

from __future__ import annotations

import torch

from gi_core.nets.autoencoder import GaussianAutoencoder
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.nets.resnets import ResNetGenerator

TRAINING = "training path: a non-finite value reaches the trainer's guard, which names the step and term"
LEADING = "leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)"
BROADCAST = "leading axes broadcast, as documented: z (..., J) gives (..., K)"
IDENTITY = "an identity map: a tensor of any shape passes through unchanged"
SPATIAL = "any spatial size: convolutions, pooling and batch norm do not fix the height and width"
REVERSAL = "a negative factor is the reversal itself (c = -lambda); gradient scaling takes any finite real"
SHAPE, IMAGE, J = (1, 4, 4), (1, 16, 16), 2


def training(*names: str) -> dict[str, str]:
    """``allow`` entries for NaN and inf in the training-path inputs ``names``."""
    return {f"{name}:{bad}": TRAINING for name in names for bad in ("nan", "inf")}


def seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def images(shape: tuple[int, ...] = SHAPE, n: int = 2) -> torch.Tensor:
    return torch.rand(n, *shape)


def codes(n: int = 2) -> torch.Tensor:
    return torch.randn(n, J)


def autoencoder() -> GaussianAutoencoder:
    return GaussianAutoencoder(MLPEncoder(SHAPE, J, (8,)), MLPDecoder(J, SHAPE, (8,)), likelihood="gaussian", obs_scale=0.5)


def generator_net() -> ResNetGenerator:
    return ResNetGenerator(J, IMAGE, channels=1)
