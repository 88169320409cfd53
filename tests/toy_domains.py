"""Toy digit-shaped domains for the domain-adaptation tests of every floor (imported, not collected)."""

from __future__ import annotations

import torch

from gi_core.data.domains import DomainData


def toy_data(n_source: int = 96, n_target: int = 40, n_test: int = 30) -> DomainData:
    """Digits-shaped images: the class sets the brightness of one image row; the target is shifted by +0.2."""
    g = torch.Generator().manual_seed(0)

    def images(n: int, shift: float) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, 10, (n,), generator=g)
        x = 0.3 * torch.rand(n, 1, 28, 28, generator=g)
        x[torch.arange(n), 0, 2 + 2 * y] = 0.8
        return (x + shift).clamp(0, 1), y

    (xs, ys), (xt, yt), (xst, yst), (xtt, ytt) = (images(n_source, 0.0), images(n_target, 0.2),
                                                  images(n_test, 0.0), images(n_test, 0.2))
    return DomainData(xs, ys, xt, yt, xst, yst, xtt, ytt, {"source": "toy", "target": "toy shifted"})
