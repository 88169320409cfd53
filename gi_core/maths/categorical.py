r"""Distributions over finitely many values (the last axis of a tensor): validation, entropy and KL in nats."""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.validation import broadcast_batch_shape, check_positive_int, check_real, check_tensor


def check_probability_table(table: Tensor, name: str, ndim: int | None = None, atol: float | None = None) -> Tensor:
    """Raise unless ``table`` is non-negative, finite, and sums to 1 along its last axis; return it.

    ``ndim`` (a positive integer) is the required rank, ``None`` any rank of at least 1. ``atol`` defaults to
    ``1e-9`` for float64 and ``1e-5`` for lower precisions.
    """
    if ndim is not None:
        check_positive_int(ndim, "ndim")
    check_tensor(table, name, ndim=ndim)
    if table.dim() == 0:
        raise ValueError(f"{name} needs a last axis, got a scalar")
    _check_non_negative(table, name)
    atol = (1e-9 if table.dtype == torch.float64 else 1e-5) if atol is None else check_real(atol, "atol", minimum=0.0)
    worst = (table.sum(-1) - 1.0).abs().max().item()
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along its last axis (within {atol:g}), off by up to {worst:.3g}")
    return table


def _check_non_negative(table: Tensor, name: str) -> None:
    if bool((table < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {table.min().item():.4g}")


def categorical_entropy(probs: Tensor) -> Tensor:
    r"""Entropy :math:`H(r) = -\sum_i r_i \log r_i` in nats over the last axis, with :math:`0\log0 = 0`.

    The discrete counterpart of :math:`h_r(\cdot)` in Astorga's (2021) Ch. 4. ``probs`` is checked with
    :func:`check_probability_table`.
    """
    check_probability_table(probs, "probs")
    return -torch.special.xlogy(probs, probs).sum(-1)


def categorical_kl(probs_a: Tensor, probs_b: Tensor) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(a\|b) = \sum_i a_i\log(a_i/b_i)` over the last axis, with :math:`0\log(0/b)=0`.

    It is :math:`+\infty` where some :math:`a_i>0` has :math:`b_i=0` (``b`` does not cover the support of ``a``).
    Both must be finite and non-negative with one last axis; their leading axes broadcast. Rows are not required
    to sum to 1, so that a conditional given a value of probability 0 (a row of zeros, as in
    :meth:`~gi_core.maths.exact_models.DiscreteGIModel.q_x_given_z`) can be passed with the others.
    """
    for name, table in (("probs_a", probs_a), ("probs_b", probs_b)):
        check_tensor(table, name)
        _check_non_negative(table, name)
    broadcast_batch_shape(1, probs_a=probs_a, probs_b=probs_b)
    return (torch.special.xlogy(probs_a, probs_a) - torch.special.xlogy(probs_a, probs_b)).sum(-1)


def conditional_table(joint: Tensor, axes: int | tuple[int, ...]) -> Tensor:
    r"""The law of the ``axes`` given the other axes of a joint table: :math:`r(a|b) = r(a,b)/\sum_a r(a,b)`, the same
    shape as ``joint`` (where :math:`r(b)=0` the rows are 0, not NaN)."""
    check_tensor(joint, "joint")
    _check_non_negative(joint, "joint")
    axes = (axes,) if isinstance(axes, int) and not isinstance(axes, bool) else axes
    if not isinstance(axes, tuple) or not axes or any(isinstance(a, bool) or not isinstance(a, int)
                                                      or not -joint.dim() <= a < joint.dim() for a in axes):
        raise ValueError(f"axes must be an axis or a non-empty tuple of axes of the {joint.dim()}-d joint, got {axes!r}")
    marginal = joint.sum(axes, keepdim=True)
    return torch.where(marginal > 0, joint / marginal.clamp_min(torch.finfo(joint.dtype).tiny), 0.0)
