r"""Distributions over finitely many values (the last axis of a tensor): validation, entropy and KL in nats."""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.validation import check_tensor


def check_probability_table(table: Tensor, name: str, ndim: int | None = None, atol: float | None = None) -> Tensor:
    """Raise unless ``table`` is non-negative, finite, and sums to 1 along its last axis; return it.

    ``atol`` defaults to ``1e-9`` for float64 and ``1e-5`` for lower precisions.
    """
    check_tensor(table, name, ndim=ndim)
    if table.dim() == 0 or table.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty last axis, got shape {tuple(table.shape)}")
    if bool((table < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {table.min().item():.4g}")
    if atol is None:
        atol = 1e-9 if table.dtype == torch.float64 else 1e-5
    worst = (table.sum(-1) - 1.0).abs().max().item()
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along its last axis (within {atol:g}), off by up to {worst:.3g}")
    return table


def categorical_entropy(probs: Tensor) -> Tensor:
    r"""Entropy :math:`H(r) = -\sum_i r_i \log r_i` in nats over the last axis, with :math:`0\log0 = 0`.

    The discrete counterpart of :math:`h_r(\cdot)` in seed 002, Ch. 4. ``probs`` is not validated here
    (callers check it with :func:`check_probability_table`).
    """
    return -torch.special.xlogy(probs, probs).sum(-1)


def categorical_kl(probs_a: Tensor, probs_b: Tensor) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(a\|b) = \sum_i a_i\log(a_i/b_i)` over the last axis, with :math:`0\log(0/b)=0`.

    It is :math:`+\infty` where some :math:`a_i>0` has :math:`b_i=0` (``b`` does not cover the support of ``a``).
    """
    return (torch.special.xlogy(probs_a, probs_a) - torch.special.xlogy(probs_a, probs_b)).sum(-1)
