r"""Toy two-dimensional data for adversarial models: a ring of Gaussians, and two label-shifted domains.

The mixture of :math:`K` isotropic Gaussians with means evenly spaced on a circle is the standard
mode-collapse benchmark of the GAN literature (Metz et al., 2017; used for ALI/BiGAN in Dumoulin et
al., 2017): a model that covers the ring with few modes, or smears mass between them, is easy to see.

:func:`label_shifted_domains` is AVDA's toy (Pérez Carrasco 2021, Ch. 3): two classes whose source codes sit on the
prior's two components, and target inputs moved away from them with other class proportions (label shift).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from gi_core.validation import check_generator, check_non_negative_int, check_positive_int, check_real, check_reals


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


LABEL_SHIFT_MEANS = ((-2.0, 0.0), (2.0, 0.0))
r"""The two class components' means :math:`\mu_0, \mu_1` of :func:`label_shifted_domains`."""


def _exact_counts(n: int, proportions: tuple[float, ...]) -> list[int]:
    """``n`` split in ``proportions`` (floors, the remainder to the largest fractional parts)."""
    raw = [n * p for p in proportions]
    counts = [math.floor(r) for r in raw]
    for k in sorted(range(len(raw)), key=lambda k: counts[k] - raw[k])[:n - sum(counts)]:
        counts[k] += 1
    return counts


def label_shifted_domains(n: int = 2000, target_proportions: tuple[float, ...] = (0.9, 0.1),
                          shift: tuple[float, float] = (0.0, 3.0), spread: float = 0.3,
                          seed: int = 0) -> dict[str, Tensor]:
    r"""Two domains of :math:`K=2` classes in 2-D, the target label-shifted (AVDA's toy, Pérez Carrasco 2021, Ch. 3).

    Source *codes* of class :math:`k` are :math:`z^s\sim\mathcal N(\mu_k, s^2 I_2)` with :math:`\mu_0=(-2,0)`,
    :math:`\mu_1=(2,0)` and balanced classes (:math:`\lceil n/2\rceil`, :math:`\lfloor n/2\rfloor`); target *inputs*
    are :math:`x^t\sim\mathcal N(\mu_k + \delta, s^2 I_2)` with :math:`\delta` = ``shift`` and exactly
    ``round``-ed class counts :math:`n\,\pi_k` of ``target_proportions`` :math:`\pi` (each class at least once).
    ``spread`` is :math:`s>0`; ``seed`` seeds a CPU generator of the draw (rows in random order).

    Returns float32 ``"source_codes"`` ``(n, 2)``, int64 ``"source_labels"`` ``(n,)``, ``"target_x"`` ``(n, 2)``,
    ``"target_labels"`` ``(n,)``, and the components ``"means"`` ``(2, 2)`` and ``"variances"`` ``(2, 2)``
    (:math:`s^2` everywhere): the frozen prior the toy aligns the target to.
    """
    check_positive_int(n, "n", minimum=2)
    proportions = check_reals(target_proportions, "target_proportions", length=len(LABEL_SHIFT_MEANS), minimum=0.0)
    if abs(sum(proportions) - 1.0) > 1e-6:
        raise ValueError(f"target_proportions must sum to 1, got {target_proportions!r} (sum {sum(proportions):.6g})")
    delta = check_reals(shift, "shift", length=2)
    spread = check_real(spread, "spread", minimum=0.0, strict=True)
    generator = torch.Generator().manual_seed(check_non_negative_int(seed, "seed"))
    target_counts = _exact_counts(n, proportions)
    if min(target_counts) < 1:
        raise ValueError(f"target_proportions {target_proportions!r} leave a class without target points at n = {n}")
    means = torch.tensor(LABEL_SHIFT_MEANS)

    def draw(counts: list[int], offset: Tensor) -> tuple[Tensor, Tensor]:
        labels = torch.cat([torch.full((c,), k, dtype=torch.long) for k, c in enumerate(counts)])
        labels = labels[torch.randperm(n, generator=generator)]
        return means[labels] + offset + spread * torch.randn(n, 2, generator=generator), labels

    source_codes, source_labels = draw([n - n // 2, n // 2], torch.zeros(2))
    target_x, target_labels = draw(target_counts, torch.tensor(delta, dtype=torch.float32))
    return {"source_codes": source_codes, "source_labels": source_labels, "target_x": target_x,
            "target_labels": target_labels, "means": means, "variances": torch.full((2, 2), spread ** 2)}
