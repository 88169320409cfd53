"""Tests for gi_core.data.toy: the ring of Gaussians and the label-shifted domains."""

import math

import pytest
import torch

from gi_core.data.toy import label_shifted_domains, ring_means, ring_of_gaussians
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


def test_label_shifted_domains_have_the_stated_classes_clusters_and_shift():
    n, spread = 4001, 0.3
    d = label_shifted_domains(n, (0.75, 0.25), shift=(1.0, -2.0), spread=spread, seed=3)
    assert set(d) == {"source_codes", "source_labels", "target_x", "target_labels", "means", "variances"}
    for name in ("source_codes", "target_x"):
        assert d[name].shape == (n, 2) and d[name].dtype == torch.float32
    assert d["source_labels"].dtype == torch.int64 and d["target_labels"].dtype == torch.int64
    assert d["source_labels"].bincount().tolist() == [2001, 2000]  # balanced, exactly
    assert d["target_labels"].bincount().tolist() == [3001, 1000]  # 0.75 n = 3000.75 and 1000.25: largest remainder
    assert torch.equal(d["means"], torch.tensor([[-2.0, 0.0], [2.0, 0.0]]))
    assert torch.allclose(d["variances"], torch.full((2, 2), spread ** 2))
    shift = torch.tensor([1.0, -2.0], dtype=torch.float64)
    for points, labels, offset in ((d["source_codes"], d["source_labels"], 0.0),
                                   (d["target_x"], d["target_labels"], shift)):
        for k in range(2):
            cluster = points[labels == k].double()
            # each class is N(mu_k + offset, s^2 I): mean within 5 standard errors, std within 5 %
            assert (cluster.mean(0) - d["means"][k].double() - offset).abs().max() < 5 * spread / math.sqrt(len(cluster))
            assert torch.allclose(cluster.std(0), torch.full((2,), spread, dtype=torch.float64), rtol=0.05)
    assert d["source_labels"][:40].float().std() > 0  # rows in random order, not sorted by class
    again = label_shifted_domains(n, (0.75, 0.25), shift=(1.0, -2.0), spread=spread, seed=3)
    assert all(torch.equal(d[k], again[k]) for k in d)
    other = label_shifted_domains(n, (0.75, 0.25), shift=(1.0, -2.0), spread=spread, seed=4)
    assert not torch.equal(d["target_x"], other["target_x"])
    default = label_shifted_domains()
    assert default["target_labels"].bincount().tolist() == [1800, 200]
    assert default["source_codes"].shape == (2000, 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n": 1}, ValueError, "n must be at least 2"),
        ({"n": 3.0}, ValueError, "n must be a positive integer"),
        ({"target_proportions": (0.5, 0.3)}, ValueError, "target_proportions must sum to 1"),
        ({"target_proportions": (1.0,)}, ValueError, "target_proportions must be 2 real numbers"),
        ({"target_proportions": (1.2, -0.2)}, ValueError, r"target_proportions\[1\] must lie in \[0.0, inf\]"),
        ({"n": 10, "target_proportions": (0.99, 0.01)}, ValueError, "leave a class without target points"),
        ({"shift": (0.0, math.inf)}, ValueError, r"shift\[1\] must be finite"),
        ({"shift": (1.0,)}, ValueError, "shift must be 2 real numbers"),
        ({"spread": 0.0}, ValueError, r"spread must lie in \(0.0, inf\)"),
        ({"spread": "wide"}, TypeError, "spread must be a real number"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer"),
    ],
)
def test_label_shifted_domains_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        label_shifted_domains(**kwargs)
