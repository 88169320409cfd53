"""How well a model of a mixture covers its modes: the share of samples near a mode centre, the least-visited mode,
and how often a reconstruction lands on its input's mode (the ring of Gaussians of chapter 2)."""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.validation import check_positive, check_tensor


def _nearest(points: Tensor, means: Tensor) -> torch.return_types.min:
    check_tensor(points, "points", ndim=2)
    check_tensor(means, "means", ndim=2)
    if points.shape[1] != means.shape[1] or points.shape[0] == 0:
        raise ValueError(f"points (N, D) and means (K, D) must share D, N >= 1; got {tuple(points.shape)} and {tuple(means.shape)}")
    return torch.cdist(points, means).min(1)


def mode_coverage(samples: Tensor, means: Tensor, radius: float = 0.25) -> dict[str, float]:
    """``near_mode``: the fraction of ``samples`` within ``radius`` of a mode centre; ``min_mode_share``: the smallest
    fraction of samples whose nearest centre is a given mode (``1/K`` when the K modes are covered evenly)."""
    check_positive(radius, "radius")
    nearest = _nearest(samples, means)
    share = torch.bincount(nearest.indices, minlength=means.shape[0]).float() / samples.shape[0]
    return {"near_mode": (nearest.values < radius).float().mean().item(), "min_mode_share": share.min().item()}


def same_mode_fraction(reconstructions: Tensor, inputs: Tensor, means: Tensor) -> float:
    """The fraction of ``reconstructions`` whose nearest mode centre is that of their ``inputs`` (row by row)."""
    if reconstructions.shape != inputs.shape:
        raise ValueError(f"reconstructions and inputs must have one shape, got {tuple(reconstructions.shape)} and {tuple(inputs.shape)}")
    return (_nearest(reconstructions, means).indices == _nearest(inputs, means).indices).float().mean().item()
