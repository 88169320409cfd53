r"""The gradient reversal layer :math:`R_\lambda` of DANN (Ganin et al., 2016; seed 004 §3.4) and gradient scaling.

:math:`R_\lambda` is the identity in the forward pass and multiplies the gradient by :math:`-\lambda` in the
backward pass, so that one minimisation of :math:`L_y + L_d\circ G_d\circ R_\lambda\circ G_f` by ordinary
back-propagation follows the saddle point of DANN: the discriminator descends :math:`L_d`, the features before
the layer receive :math:`-\lambda\,\partial L_d/\partial f`. Its coefficient is set from outside, by the
trainer's schedule (:func:`gi_core.maths.schedules.grl_ramp`), never by the layer itself.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from gi_core.validation import check_tensor


class _ScaleGradient(torch.autograd.Function):
    """Identity in the forward pass; the backward pass multiplies the incoming gradient by ``factor``."""

    @staticmethod
    def forward(ctx, x: Tensor, factor: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(factor.detach().clone())  # a copy: the caller may update its factor in place
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (factor,) = ctx.saved_tensors
        return grad_output * factor.to(device=grad_output.device, dtype=grad_output.dtype), None


def scale_gradient(x: Tensor, factor: float | Tensor) -> Tensor:
    r"""Identity forward, gradient multiplied by ``factor`` backward: :math:`\partial y/\partial x = c\,I`.

    With :math:`c=-\lambda` this is the gradient reversal layer; with :math:`0<c<1` it lets a loss reach
    the parameters before ``x`` with a smaller weight than the parameters after it (CDLM's
    :math:`\lambda_2\mathcal L_{Rec}` for the encoder, seed 003 Eq. 21). ``factor`` is a finite number or a
    one-element tensor.
    """
    check_tensor(x, "x", finite=False)
    if isinstance(factor, Tensor):
        if factor.numel() != 1:
            raise ValueError(f"factor must be a scalar, got shape {tuple(factor.shape)}")
        return _ScaleGradient.apply(x, factor.reshape(()))
    factor = float(factor)
    if not math.isfinite(factor):
        raise ValueError(f"factor must be finite, got {factor}")
    return _ScaleGradient.apply(x, torch.tensor(factor, dtype=x.dtype, device=x.device))


class GradientReversal(nn.Module):
    r"""The gradient reversal layer :math:`R_\lambda`: identity forward, :math:`-\lambda\cdot` gradient backward.

    The coefficient :math:`\lambda\ge0` is the buffer ``coefficient`` (float32, saved in checkpoints; 0.3 is
    stored as 0.30000001...), changed with :meth:`set_coefficient` without a host synchronisation. A model that
    holds the layer passes its trainer's ``"grl"`` schedule on to :meth:`set_coefficient`.
    """

    def __init__(self, coefficient: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("coefficient", torch.zeros(()))
        self.set_coefficient(coefficient)

    def set_coefficient(self, value: float) -> None:
        """Set :math:`\\lambda` (finite, non-negative)."""
        value = float(value)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"the reversal coefficient lambda must be finite and non-negative, got {value}")
        with torch.no_grad():
            self.coefficient.fill_(value)

    def forward(self, x: Tensor) -> Tensor:
        return _ScaleGradient.apply(x, -self.coefficient)
