r"""Toy two-dimensional data for adversarial models: a ring of Gaussians.

The mixture of :math:`K` isotropic Gaussians with means evenly spaced on a circle is the standard
mode-collapse benchmark of the GAN literature (Metz et al., 2017; used for ALI/BiGAN in Dumoulin et
al., 2017): a model that covers the ring with few modes, or smears mass between them, is easy to see.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_generator, check_positive_int, check_real


def ring_means(modes: int = 8, radius: float = 2.0) -> Tensor:
    r"""The ``(modes, 2)`` float32 means :math:`\mu_k = r(\cos\frac{2\pi k}{K}, \sin\frac{2\pi k}{K})`, :math:`k = 0..K-1`."""
    check_positive_int(modes, "modes")
    check_real(radius, "radius", minimum=0.0, strict=True)
    angles = 2.0 * math.pi * torch.arange(modes, dtype=torch.float64) / modes
    return (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()


def ring_of_gaussians(
    n: int,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""``n`` draws from the uniform mixture :math:`q(x) = \frac1K\sum_k \mathcal N(x;\mu_k, s^2 I_2)` of :func:`ring_means`.

    Returns the points ``(n, 2)`` float32 and their mode labels ``(n,)`` int64 in ``[0, modes)``.
    ``std`` (:math:`s \ge 0`) is the per-coordinate standard deviation; ``generator`` (a CPU generator)
    makes the draw reproducible.
    """
    check_positive_int(n, "n")
    means = ring_means(modes, radius)
    check_real(std, "std", minimum=0.0)
    check_generator(generator, "generator")
    labels = torch.randint(modes, (n,), generator=generator)
    noise = torch.randn(n, 2, generator=generator)
    return means[labels] + std * noise, labels
