r"""LC-VaDE's encoder and decoder for folded light curves (Astorga 2021, §9, Table 9.2), from 1-D residual blocks.

* :class:`ResBlock1d`: BigGAN's pre-activation block in one dimension, BN, ReLU, conv3, BN, ReLU, conv3 plus a
  skip; a down block average-pools by 2 (kernel 3, stride 2, padding 1, as the thesis says) after its convs, an up
  block interpolates linearly by 2 before them (BigGAN's order), the skip is a 1×1 conv of the resampled input.
* :class:`LightCurveEncoder` (Table 9.2): the :class:`~gi_core.nets.interpolation_prediction.InterpolationBlock` on
  :math:`D=2` channels (value and error) gives :math:`3D=6` channels at :math:`R=64` reference phases; a down block
  :math:`3D\to4C`, three down blocks :math:`4C\to4C` (64 → 4), flatten, two linear heads to the mean and the
  soft-clamped log-variance of :math:`q(z|x,t)`. The flattened size is :math:`4C\cdot R/2^4 = 16C` for :math:`R=64`;
  the thesis prints :math:`32/\!/2^4\times4C`, copied from Table 6.2's 32-pixel images. The encoder's convs and pools
  pad circularly, since the reference phases lie on the circle of a folded curve.
* :class:`InducingPointDecoder` (Eq. 9.2–9.5): :math:`z=[z_{\mathrm{rep}}, z_{\mathrm{kernel}}]`; a linear map of
  :math:`z_{\mathrm{rep}}` to :math:`4C\times3`, three up blocks :math:`4C\to4C` (length 3 → 24) and two heads
  (BN, ReLU, conv3 :math:`4C\to1`; the notes print "C→1" for the feature width) give the :math:`I=24` inducing
  means :math:`\hat\mu_{\mathrm{ind}}` and variances :math:`\hat\sigma^2_{\mathrm{ind}}=\mathrm{softplus}(\cdot)
  +10^{-3}` (the floor keeps :math:`\Sigma_{\mathrm{ind,ind}}` well conditioned); an MLP on :math:`z_{\mathrm{kernel}}`
  with :math:`3\cdot4C` hidden units gives :math:`\sigma_\theta = 10\,\mathrm{sigmoid}(\cdot)` and
  :math:`l_\theta=\mathrm{sigmoid}(\cdot)/I` (Eq. 9.3's text). The curve model at the observed phases is
  :func:`~gi_core.maths.gaussian_process.gp_posterior`.

Spectral normalisation of every conv and linear weight is optional (``spectral=True``; the thesis does not say
whether these networks use it); weights otherwise keep PyTorch's default initialisation.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gi_core.maths.gaussian_process import KERNELS, gp_posterior, inducing_times
from gi_core.nets.autoencoder import latent_dim_of
from gi_core.nets.encoders import GaussianHead
from gi_core.nets.interpolation_prediction import InterpolationBlock, check_mask, check_observed
from gi_core.validation import check_batch, check_choice, check_module, check_positive_int

RESAMPLING = ("down", "up")
INDUCING_VARIANCE_FLOOR = 1e-3
"""The smallest inducing variance :math:`\\hat\\sigma^2_{\\mathrm{ind}}` the decoder emits (normalised magnitudes²)."""
MAX_KERNEL_SCALE = 10.0
"""Eq. 9.3's :math:`\\sigma_\\theta = 10\\,\\mathrm{sigmoid}(\\cdot)`."""


def _normalise(module: nn.Module) -> None:
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv1d, nn.Linear)):
            spectral_norm(layer)


class ResBlock1d(nn.Module):
    """BigGAN-style residual block on ``(B, c_in, L)`` maps: ``(B, c_out, L/2)`` (``"down"``) or ``(B, c_out, 2L)``.

    ``first=True`` drops the first BN and ReLU (the block that reads the raw interpolated curve, whose values are
    signed); ``circular=True`` pads the convs and the pool circularly (periodic inputs), else with zeros (the pool
    then averages the real entries only). The first conv has no bias (a batch norm follows it).
    """

    def __init__(self, c_in: int, c_out: int, resample: str, first: bool = False, circular: bool = False) -> None:
        super().__init__()
        check_positive_int(c_in, "c_in")
        check_positive_int(c_out, "c_out")
        check_choice(resample, RESAMPLING, "resample")
        self.resample, self.first, self.circular = resample, bool(first), bool(circular)
        padding = "circular" if circular else "zeros"
        self.bn1 = nn.Identity() if first else nn.BatchNorm1d(c_in)
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=1, padding_mode=padding, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1, padding_mode=padding)
        self.skip = nn.Conv1d(c_in, c_out, 1, bias=False)

    def _pool(self, h: Tensor) -> Tensor:
        if self.circular:
            return F.avg_pool1d(F.pad(h, (1, 1), mode="circular"), 3, stride=2)
        return F.avg_pool1d(h, 3, stride=2, padding=1, count_include_pad=False)

    @staticmethod
    def _up(h: Tensor) -> Tensor:
        return F.interpolate(h, scale_factor=2, mode="linear", align_corners=False)

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, "x", like=self, finite=False)
        if x.dim() != 3 or x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"x must be maps of shape (B, {self.conv1.in_channels}, L), got {tuple(x.shape)}")
        if self.resample == "down" and x.shape[2] < 2:
            raise ValueError(f"x needs a length of at least 2 to be pooled, got {tuple(x.shape)}")
        h = x if self.first else F.relu(self.bn1(x))
        if self.resample == "up":
            h, x = self._up(h), self._up(x)
        h = self.conv2(F.relu(self.bn2(self.conv1(h))))
        if self.resample == "down":
            h, x = self._pool(h), self._pool(x)
        return h + self.skip(x)


def check_curves(phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, like: nn.Module) -> None:
    """Raise unless ``phase``, ``value``, ``error`` are ``(N, T)`` in ``like``'s dtype, finite where observed, and
    ``mask`` is a bool ``(N, T)`` with an observed entry per curve (the padding's values are never read)."""
    check_module(like, "like")
    check_batch(phase, "phase", like=like, finite=False)
    if phase.dim() != 2:
        raise ValueError(f"phase must have shape (N, T), got {tuple(phase.shape)}")
    for name, t in (("value", value), ("error", error)):
        check_batch(t, name, like=like, finite=False)
        if t.shape != phase.shape:
            raise ValueError(f"{name} must have phase's shape {tuple(phase.shape)}, got {tuple(t.shape)}")
    check_mask(mask, tuple(phase.shape))
    for name, t in (("phase", phase), ("value", value), ("error", error)):
        check_observed(t, name, mask)


def check_curve_networks(encoder: nn.Module, decoder: nn.Module) -> int:
    """The latent size of a light-curve ``encoder`` (``(phase, value, error, mask) -> (mean, log_var)``) after
    checking that ``decoder`` (``(z, phase) -> (mean, var)``) has the same ``latent_dim``."""
    check_module(decoder, "decoder")
    latent_dim = latent_dim_of(encoder)
    if getattr(decoder, "latent_dim", None) != latent_dim:
        raise ValueError(f"decoder must have a latent_dim equal to the encoder's latent size {latent_dim}, "
                         f"got {getattr(decoder, 'latent_dim', None)!r}")
    return latent_dim


def check_features(features: Tensor, n: int, feature_dim: int, like: nn.Module) -> None:
    """Raise unless ``features`` is ``(n, feature_dim)`` in ``like``'s dtype and device, finite."""
    check_module(like, "like")
    check_batch(features, "features", (feature_dim,), like=like)
    if features.shape[0] != n:
        raise ValueError(f"features must have one row per curve ({n}), got {tuple(features.shape)}")


class LightCurveEncoder(nn.Module):
    r""":math:`q(z|x,t)` of Table 9.2: ``forward(phase, value, error, mask)`` ``(N, T)`` each to ``(mean, log_var)``,
    each ``(N, J)``. ``references`` :math:`R` must be divisible by 16 (four halvings); ``channels`` is C (72)."""

    def __init__(self, latent_dim: int = 12, channels: int = 72, references: int = 64, spectral: bool = False) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        width = 4 * check_positive_int(channels, "channels")
        if check_positive_int(references, "references", minimum=16) % 16:
            raise ValueError(f"references must be divisible by 16 (four halvings), got {references}")
        self.interpolation = InterpolationBlock(2, references)
        self.body = nn.Sequential(
            ResBlock1d(self.interpolation.out_channels, width, "down", first=True, circular=True),
            *(ResBlock1d(width, width, "down", circular=True) for _ in range(3)),
            nn.Flatten(),
        )
        self.head = GaussianHead(width * (references // 16), latent_dim)
        if spectral:
            _normalise(self)

    def forward(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        check_curves(phase, value, error, mask, self)
        return self.head(self.body(self.interpolation(phase, torch.stack([value, error], dim=1), mask)))


class InducingPoints(NamedTuple):
    """What :meth:`InducingPointDecoder.inducing_points` returns: times ``(I,)``, means and variances ``(N, I)``,
    the kernel's scale :math:`\\sigma_\\theta` and length :math:`l_\\theta` ``(N,)``."""

    times: Tensor
    means: Tensor
    variances: Tensor
    scale: Tensor
    length: Tensor


class InducingPointDecoder(nn.Module):
    r""":math:`p(x|z,t)` of Eq. 9.2–9.7: ``forward(z, phase)`` gives the GP posterior ``(mean, var)`` ``(N, T)`` at
    ``phase`` ``(N, T)`` for codes ``z`` ``(N, rep_dim + kernel_dim)``.

    ``inducing`` :math:`I` must be divisible by 8 (three doublings of :math:`I/8`; 24 in the thesis); ``kernel``
    ``"rbf"`` (Eq. 9.3) or ``"periodic"`` (an ablation, see :mod:`gi_core.maths.gaussian_process`).
    """

    def __init__(self, rep_dim: int = 10, kernel_dim: int = 2, channels: int = 72, inducing: int = 24,
                 kernel: str = "rbf", spectral: bool = False) -> None:
        super().__init__()
        self.rep_dim = check_positive_int(rep_dim, "rep_dim")
        self.kernel_dim = check_positive_int(kernel_dim, "kernel_dim")
        self.latent_dim = rep_dim + kernel_dim
        width = 4 * check_positive_int(channels, "channels")
        if check_positive_int(inducing, "inducing", minimum=8) % 8:
            raise ValueError(f"inducing must be divisible by 8 (three doublings), got {inducing}")
        check_choice(kernel, KERNELS, "kernel")
        self.kernel, self.inducing = kernel, inducing
        self.start = (width, inducing // 8)
        self.linear = nn.Linear(rep_dim, width * (inducing // 8))
        self.blocks = nn.Sequential(*(ResBlock1d(width, width, "up") for _ in range(3)))
        self.mean_head, self.variance_head = (
            nn.Sequential(nn.BatchNorm1d(width), nn.ReLU(), nn.Conv1d(width, 1, 3, padding=1)) for _ in range(2))
        self.kernel_net = nn.Sequential(nn.Linear(kernel_dim, 3 * width), nn.ReLU(), nn.Linear(3 * width, 2))
        if spectral:
            _normalise(self)

    def inducing_points(self, z: Tensor) -> InducingPoints:
        r"""The inducing times :math:`k/(I+1)`, means, variances (:math:`\ge10^{-3}`) and kernel parameters of
        ``z`` ``(N, J)`` (Eq. 9.2–9.3), for the figures and :meth:`forward`."""
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        h = self.blocks(self.linear(z[:, :self.rep_dim]).unflatten(-1, self.start))
        means = self.mean_head(h).squeeze(1)
        variances = F.softplus(self.variance_head(h).squeeze(1)) + INDUCING_VARIANCE_FLOOR
        raw = self.kernel_net(z[:, self.rep_dim:])
        scale = MAX_KERNEL_SCALE * torch.sigmoid(raw[:, 0])
        length = torch.sigmoid(raw[:, 1]) / self.inducing
        times = inducing_times(self.inducing, dtype=z.dtype, device=z.device)
        return InducingPoints(times, means, variances, scale, length)

    def forward(self, z: Tensor, phase: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        check_batch(phase, "phase", like=self)
        if phase.dim() != 2 or phase.shape[0] != z.shape[0]:
            raise ValueError(f"phase must have shape (N, T) with N = {z.shape[0]} rows of z, got {tuple(phase.shape)}")
        points = self.inducing_points(z)
        return gp_posterior(phase, points.times, points.means, points.variances, points.scale, points.length,
                            self.kernel)


class LightCurveAutoencoder(nn.Module):
    r"""What LC-VaDE and its unimodal baseline share, without a loss: the light-curve ``encoder`` :math:`q(z|x,t)`
    (``(phase, value, error, mask) -> (mean, log_var)``), the GP ``decoder`` (``(z, phase) -> (mean, var)``, with a
    ``latent_dim``) and the size ``feature_dim`` of the features :math:`f`; the models
    (:mod:`gi_core.models.lc_vade`, :mod:`gi_core.models.light_curve_vae`) add their priors and losses."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, feature_dim: int = 3) -> None:
        super().__init__()
        self.latent_dim = check_curve_networks(encoder, decoder)
        self.feature_dim = check_positive_int(feature_dim, "feature_dim")
        self.encoder, self.decoder = encoder, decoder

    @torch.no_grad()
    def encode(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean :math:`\tilde\mu` and log-variance of :math:`q(z|x,t)`, each ``(B, J)``."""
        check_curves(phase, value, error, mask, self)
        return self.encoder(phase, value, error, mask)

    @torch.no_grad()
    def reconstruct(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor,
                    query_phase: Tensor) -> tuple[Tensor, Tensor]:
        r"""The decoder's GP mean and variance ``(B, Q)`` at ``query_phase`` ``(B, Q)`` for :math:`z=\tilde\mu`."""
        mean, _ = self.encode(phase, value, error, mask)
        check_batch(query_phase, "query_phase", like=self)
        if query_phase.dim() != 2 or query_phase.shape[0] != mean.shape[0]:
            raise ValueError(f"query_phase must have shape (N, Q) with N = {mean.shape[0]} curves, got "
                             f"{tuple(query_phase.shape)}")
        return self.decoder(mean, query_phase)

