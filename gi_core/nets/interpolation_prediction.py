r"""The interpolation block of Shukla & Marlin's (2019) interpolation-prediction networks, on folded phase.

LC-VaDE's encoder (Astorga 2021, Table 9.2) first maps an irregularly sampled light curve to a fixed grid of
:math:`R` reference phases :math:`r_k = k/R`, :math:`k=0,\dots,R-1` (64 in the thesis), so that a CNN can read it.
For each input channel :math:`d` (value and error: :math:`D=2`) and each reference phase :math:`r` it computes,
over the *observed* entries :math:`j` only,

.. math::
    w_j(r;\alpha) = \exp\!\big(-\alpha\,\delta(r, t_j)^2\big),\qquad
    \delta(r,t) = \min\big(|r-t| \bmod 1,\; 1 - |r-t| \bmod 1\big)

* the smooth interpolant :math:`\sigma_d(r) = \sum_j w_j(r;\alpha_d)\,x_{jd} / \sum_j w_j(r;\alpha_d)`, with a
  learnable bandwidth :math:`\alpha_d>0` per channel;
* the intensity :math:`\lambda_d(r) = \log\big(1 + \sum_j w_j(r;\alpha_d)\big)`, which shows where the data are;
* the transient :math:`\tau_d(r) = \sigma_d(r;\kappa\alpha_d) - \sigma_d(r;\alpha_d)`, a sharper interpolant
  (:math:`\kappa=10`, Shukla & Marlin's value) minus the smooth one.

The output ``(N, 3D, R)`` stacks :math:`[\sigma_1..\sigma_D, \lambda_1..\lambda_D, \tau_1..\tau_D]`: the block
*triples* the channel count, which is the thesis's "increases the input dimension by three" (Table 9.2 prints
:math:`D\to2D`, inconsistently). Choices of this book, not the paper's: the phase distance :math:`\delta` wraps on
the circle (the curves are folded, so phase 0.99 neighbours 0.01; any real phase is read modulo 1); the intensity
is :math:`\log(1+\sum_j w_j)` rather than Shukla & Marlin's :math:`\sum_j w_j` (a log tames the dense regions) or
:math:`\log\sum_j w_j` (unbounded below in a gap); and there is no cross-channel second layer, since both channels
are observed at the same phases. The weights are normalised as a softmax of :math:`-\alpha\delta^2` over the
observed entries, so a reference phase far from every observation takes the nearest one's value instead of
dividing zero by zero; masked entries get an exact zero weight and their values are replaced by zero first, so they
never change the output.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.validation import check_batch, check_positive_int, check_real, check_sizes, check_str, check_tensor

SHARPENING = 10.0
"""Shukla & Marlin's :math:`\\kappa`: the transient channel's bandwidth is :math:`\\kappa\\alpha_d`."""


def check_mask(mask: Tensor, shape: tuple[int, int]) -> None:
    """Raise unless ``mask`` is a bool tensor of ``shape`` ``(N, T)`` with at least one True entry in every row."""
    if len(check_sizes(shape, "shape")) != 2:
        raise ValueError(f"shape must be (N, T), got {shape!r}")
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a torch.Tensor of booleans, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a bool tensor (True = observed), got dtype {mask.dtype}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"mask must have shape {tuple(shape)}, got {tuple(mask.shape)}")
    if not bool(mask.any(dim=-1).all()):
        raise ValueError("mask must mark at least one observed entry in every curve")


def check_observed(x: Tensor, name: str, mask: Tensor) -> None:
    """Raise unless ``x`` ``(N, ..., T)`` is floating and finite wherever the bool ``mask`` ``(N, T)`` marks an
    observation (padding may hold anything); ``name`` labels the messages."""
    check_str(name, "name")
    check_tensor(x, name, finite=False)
    if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
        got = getattr(mask, "dtype", type(mask).__name__)
        raise TypeError(f"mask must be a bool tensor (True = observed), got {got}")
    if mask.dim() != 2 or x.dim() < 2 or x.shape[0] != mask.shape[0] or x.shape[-1] != mask.shape[1]:
        raise ValueError(f"{name} must be (N, ..., T) for a mask of shape (N, T), got {tuple(x.shape)} and "
                         f"{tuple(mask.shape)}")
    observed = mask.reshape(mask.shape[0], *([1] * (x.dim() - 2)), mask.shape[1])
    if not bool((torch.isfinite(x) | ~observed).all()):
        raise ValueError(f"{name} contains NaN or infinite values at observed entries")


def _check_observations(phase: Tensor, inputs: Tensor, mask: Tensor, channels: int) -> None:
    if phase.dim() != 2:
        raise ValueError(f"phase must have shape (N, T), got {tuple(phase.shape)}")
    check_batch(inputs, "inputs", finite=False)
    if inputs.dim() != 3 or inputs.shape[1] != channels:
        raise ValueError(f"inputs must have shape (N, {channels}, T), got {tuple(inputs.shape)}")
    if inputs.shape[0] != phase.shape[0] or inputs.shape[2] != phase.shape[1]:
        raise ValueError(f"inputs (N, D, T) and phase (N, T) disagree on N or T: {tuple(inputs.shape)} and "
                         f"{tuple(phase.shape)}")
    if inputs.dtype != phase.dtype:
        raise TypeError(f"inputs must have phase's dtype {phase.dtype}, got {inputs.dtype}")
    check_mask(mask, tuple(phase.shape))
    check_observed(phase, "phase", mask)
    check_observed(inputs, "inputs", mask)


class InterpolationBlock(nn.Module):
    r"""Irregular ``(phase, inputs, mask)`` to ``(N, 3D, R)`` smooth, intensity and transient channels at the
    reference phases :math:`k/R` (Shukla & Marlin 2019; the encoder's first layer in Astorga 2021, Table 9.2).

    ``channels`` is :math:`D`, ``references`` :math:`R`. The bandwidths are learnt as ``log_bandwidth`` ``(D,)``,
    starting at :math:`\alpha_d = R^2/2` by default (``bandwidth``), a Gaussian weight of standard deviation
    :math:`1/R`, one reference spacing.
    """

    def __init__(self, channels: int = 2, references: int = 64, bandwidth: float | None = None) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.references = check_positive_int(references, "references")
        alpha = references**2 / 2.0 if bandwidth is None else check_real(bandwidth, "bandwidth", minimum=0.0,
                                                                         strict=True)
        self.log_bandwidth = nn.Parameter(torch.full((channels,), math.log(alpha)))

    @property
    def out_channels(self) -> int:
        """:math:`3D`."""
        return 3 * self.channels

    def _log_weights(self, phase: Tensor, mask: Tensor, scale: float) -> Tensor:
        r""":math:`-\kappa\alpha_d\delta(r_k,t_j)^2`, ``-inf`` at masked entries: shape ``(N, D, R, T)``."""
        references = torch.arange(self.references, dtype=phase.dtype, device=phase.device) / self.references
        gap = torch.remainder(references[:, None] - phase[:, None, :], 1.0)  # (N, R, T)
        gap = torch.minimum(gap, 1.0 - gap)
        alpha = scale * torch.exp(self.log_bandwidth)
        log_w = -alpha[None, :, None, None] * gap.square()[:, None]
        return log_w.masked_fill(~mask[:, None, None, :], -math.inf)

    def forward(self, phase: Tensor, inputs: Tensor, mask: Tensor) -> Tensor:
        """``phase`` ``(N, T)``, ``inputs`` ``(N, D, T)``, ``mask`` ``(N, T)`` (True = observed) to ``(N, 3D, R)``."""
        check_batch(phase, "phase", like=self, finite=False)
        _check_observations(phase, inputs, mask, self.channels)
        zero = torch.zeros((), dtype=inputs.dtype, device=inputs.device)
        x = torch.where(mask[:, None, :], inputs, zero)
        phase = torch.where(mask, phase, zero)
        smooth_log_w = self._log_weights(phase, mask, 1.0)
        smooth = (torch.softmax(smooth_log_w, dim=-1) * x[:, :, None, :]).sum(-1)
        intensity = F.softplus(torch.logsumexp(smooth_log_w, dim=-1))
        sharp = (torch.softmax(self._log_weights(phase, mask, SHARPENING), dim=-1) * x[:, :, None, :]).sum(-1)
        return torch.cat([smooth, intensity, sharp - smooth], dim=1)
