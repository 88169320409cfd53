r"""The gradient reversal layer :math:`R_\lambda` of DANN (Ganin et al., 2016; Corro and Sebag 2023, §3.4) and
gradient scaling.

:math:`R_\lambda` is the identity in the forward pass and multiplies the gradient by :math:`-\lambda` in the
backward pass, so that one minimisation of :math:`L_y + L_d\circ G_d\circ R_\lambda\circ G_f` by ordinary
back-propagation follows the saddle point of DANN: the discriminator descends :math:`L_d`, the features before
the layer receive :math:`-\lambda\,\partial L_d/\partial f`. Its coefficient is set from outside, by the
trainer's schedule (:func:`gi_core.maths.schedules.grl_ramp`), never by the layer itself.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.validation import check_real, check_tensor


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
    :math:`\lambda_2\mathcal L_{Rec}` for the encoder; Hou et al. 2022, Eq. 21). ``factor`` is a finite real number,
    or a one-element floating tensor whose value is not read (no host synchronisation: it is the caller's own buffer,
    checked where the caller sets it, as :class:`GradientReversal` does).
    """
    check_tensor(x, "x", finite=False)
    if isinstance(factor, Tensor):
        if factor.numel() != 1 or not factor.is_floating_point():
            raise ValueError(f"factor must be a one-element floating tensor, got shape {tuple(factor.shape)} {factor.dtype}")
        return _ScaleGradient.apply(x, factor.reshape(()))
    return _ScaleGradient.apply(x, torch.tensor(check_real(factor, "factor"), dtype=x.dtype, device=x.device))


def _check_coefficient(value: object, name: str) -> float:
    r"""``value`` as a float if it is a finite real :math:`\lambda\ge0`, else raise naming ``name``."""
    number = check_real(value, name)
    if number < 0.0:
        raise ValueError(f"{name} (the reversal coefficient lambda) must be non-negative, got {number}")
    return number


class GradientReversal(nn.Module):
    r"""The gradient reversal layer :math:`R_\lambda`: identity forward, :math:`-\lambda\cdot` gradient backward.

    The coefficient :math:`\lambda\ge0` is the buffer ``coefficient`` (float32, saved in checkpoints; 0.3 is
    stored as 0.30000001...), changed with :meth:`set_coefficient` without a host synchronisation. A model that
    holds the layer passes its trainer's ``"grl"`` schedule on to :meth:`set_coefficient`. The constructor and
    :meth:`set_coefficient` refuse the same values: a :math:`\lambda` that is negative, not finite or not a number.
    """

    def __init__(self, coefficient: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("coefficient", torch.zeros(()))
        self.coefficient.fill_(_check_coefficient(coefficient, "coefficient"))

    def set_coefficient(self, value: float) -> None:
        r"""Set :math:`\lambda` (a finite, non-negative real number)."""
        value = _check_coefficient(value, "value")
        with torch.no_grad():
            self.coefficient.fill_(value)

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "x", finite=False)
        return _ScaleGradient.apply(x, -self.coefficient)
