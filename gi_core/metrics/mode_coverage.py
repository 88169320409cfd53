"""How well a model of a mixture covers its modes: the share of samples near a mode centre, the least-visited mode,
and how often a reconstruction lands on its input's mode (the ring of Gaussians of chapter 2)."""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.validation import check_real, check_tensor


def _nearest(points: Tensor, means: Tensor, name: str) -> torch.return_types.min:
    """The distance to the nearest of ``means`` and its index, for each row of ``points`` (the argument ``name``),
    in their common dtype (float32 at least: ``cdist`` has no half precision)."""
    check_tensor(points, name, ndim=2)
    check_tensor(means, "means", ndim=2)
    if points.shape[1] != means.shape[1]:
        raise ValueError(f"{name} (N, D) and means (K, D) must share D; got {tuple(points.shape)} and {tuple(means.shape)}")
    dtype = torch.promote_types(torch.promote_types(points.dtype, means.dtype), torch.float32)
    return torch.cdist(points.to(dtype), means.to(dtype)).min(1)


def mode_coverage(samples: Tensor, means: Tensor, radius: float = 0.25) -> dict[str, float]:
    """``near_mode``: the fraction of ``samples`` within ``radius`` of a mode centre; ``min_mode_share``: the smallest
    fraction of samples whose nearest centre is a given mode (``1/K`` when the K modes are covered evenly)."""
    check_real(radius, "radius", minimum=0.0, strict=True)
    nearest = _nearest(samples, means, "samples")
    share = torch.bincount(nearest.indices, minlength=means.shape[0]).float() / samples.shape[0]
    return {"near_mode": (nearest.values < radius).float().mean().item(), "min_mode_share": share.min().item()}


def same_mode_fraction(reconstructions: Tensor, inputs: Tensor, means: Tensor) -> float:
    """The fraction of ``reconstructions`` whose nearest mode centre is that of their ``inputs`` (row by row)."""
    check_tensor(reconstructions, "reconstructions", ndim=2)
    check_tensor(inputs, "inputs", ndim=2)
    if reconstructions.shape != inputs.shape:
        raise ValueError(f"reconstructions and inputs must have one shape, got {tuple(reconstructions.shape)} and {tuple(inputs.shape)}")
    nearest = _nearest(reconstructions, means, "reconstructions"), _nearest(inputs, means, "inputs")
    return (nearest[0].indices == nearest[1].indices).float().mean().item()
