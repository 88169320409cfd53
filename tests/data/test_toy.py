"""Tests for gi_core.data.toy: the ring of Gaussians."""

import math

import pytest
import torch

from gi_core.data.toy import ring_means, ring_of_gaussians
from tests.helpers import gen


def test_ring_means_are_evenly_spaced_on_the_circle():
    square = ring_means(4, radius=1.5)
    assert torch.allclose(square, torch.tensor([[1.5, 0.0], [0.0, 1.5], [-1.5, 0.0], [0.0, -1.5]]), atol=1e-6)
    eight = ring_means()
    assert eight.shape == (8, 2) and eight.dtype == torch.float32
    assert torch.allclose(eight.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(eight[1], torch.tensor([math.sqrt(2.0), math.sqrt(2.0)]))


def test_ring_of_gaussians_has_the_stated_modes_spread_and_labels():
    n, std = 40_000, 0.05
    x, labels = ring_of_gaussians(n, std=std, generator=gen(0))
    assert x.shape == (n, 2) and x.dtype == torch.float32 and labels.dtype == torch.int64
    assert labels.min() == 0 and labels.max() == 7
    counts = torch.bincount(labels, minlength=8).double()
    assert ((counts - n / 8).abs() < 5 * math.sqrt(n / 8 * 7 / 8)).all()  # uniform mixture weights
    means = ring_means()
    for k in range(8):
        points = x[labels == k].double()
        # the label names the mode the point was drawn from: its mean and per-coordinate std
        assert (points.mean(0) - means[k].double()).abs().max() < 5 * std / math.sqrt(len(points))
        assert torch.allclose(points.std(0), torch.full((2,), std, dtype=torch.float64), rtol=0.05)
    assert torch.equal(torch.cdist(x, means).argmin(1), labels)  # modes 1.53 apart, 0.05 wide: no overlap
    again, _ = ring_of_gaussians(n, std=std, generator=gen(0))
    assert torch.equal(x, again)
    exact, lab = ring_of_gaussians(16, modes=3, radius=0.5, std=0.0, generator=gen(1))
    assert torch.equal(exact, ring_means(3, 0.5)[lab])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": 2.5}, "n must be a positive integer"),
        ({"n": 4, "modes": 0}, "modes must be a positive integer"),
        ({"n": 4, "radius": -1.0}, r"radius must lie in \(0.0, inf\), got -1.0"),
        ({"n": 4, "std": -0.1}, r"std must lie in \[0.0, inf\], got -0.1"),
        ({"n": 4, "std": math.nan}, "std must be finite, got nan"),
    ],
)
def test_ring_of_gaussians_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ring_of_gaussians(**kwargs)
