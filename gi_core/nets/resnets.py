r"""BigGAN-style residual networks of Astorga's (2021) Ch. 6 (Fig. 6.1, Tables 6.1–6.3).

Every ``Conv2d`` and ``Linear`` weight (generator, encoder and discriminators alike) is drawn from
:math:`\mathcal N(0, 0.02^2)` (biases start at zero) and then spectrally normalised with
:func:`torch.nn.utils.parametrizations.spectral_norm` (one power iteration per training-mode call).

The interfaces match :mod:`gi_core.nets.encoders` and :class:`gi_core.nets.discriminators.JointDiscriminator`, so
the models can swap them in:

* :class:`ResNetEncoder` (Table 6.2): ``x -> (mean, log_var)``, the log-variance bounded by
  :func:`~gi_core.maths.gaussians.soft_clamp_log_var`;
* :class:`ResNetGenerator` (Table 6.1): ``z -> raw image``; the thesis's output Tanh is *not* inside,
  the models apply it themselves;
* :class:`ResNetDiscriminator` (Table 6.3, :math:`D_x`): ``x -> (B,)`` logits;
* :class:`ResNetJointDiscriminator` (:math:`D_{xz}`): ``(x, z) -> (B,)`` logits from the concatenated
  features of :class:`ImageFeatures` (:math:`D_x` without its output layer) and :class:`LatentFeatures`
  (:math:`D_z`).

In evaluation mode the batch norms use their running statistics. The thesis instead evaluates with
"standing statistics" (BigGAN): the statistics are re-estimated from 16 generator passes just before
evaluation; :func:`standing_statistics` does that.

Images are ``(channels, height, width)`` with both sides divisible by 16 (32 in the thesis): the
encoder halves them four times, the generator doubles ``side / 8`` three times.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm
from torch.nn.utils.parametrize import is_parametrized

from gi_core.nets.encoders import GaussianHead
from gi_core.validation import check_batch, check_generator, check_module, check_positive_int, check_sizes

INIT_STD = 0.02


def _image_shape(shape: Sequence[int], name: str) -> tuple[int, int, int]:
    """``shape`` as ``(channels, height, width)``, with positive channels and sides divisible by 16."""
    dims = check_sizes(shape, name)
    if len(dims) != 3:
        raise ValueError(f"{name} must be (channels, height, width) with positive integer sizes, got {dims}")
    if dims[1] % 16 or dims[2] % 16:
        raise ValueError(f"{name} needs height and width divisible by 16 (32 in the thesis), got {dims}")
    return dims[0], dims[1], dims[2]


def _check_maps(x: Tensor, name: str, channels: int, like: nn.Module) -> None:
    """Raise unless ``x`` is a batch of feature maps ``(B, channels, H, W)`` in ``like``'s dtype."""
    check_batch(x, name, like=like, finite=False)
    if x.dim() != 4 or x.shape[1] != channels:
        raise ValueError(f"{name} must be feature maps of shape (B, {channels}, H, W), got {tuple(x.shape)}")


def _check_rows(z: Tensor, x: Tensor, name: str, of: str) -> None:
    if z.shape[0] != x.shape[0]:
        raise ValueError(f"{name} must have as many rows as {of}, got {tuple(z.shape)} and {tuple(x.shape)}")


def _init_and_normalize(module: nn.Module) -> None:
    """Draw every conv/linear weight of ``module`` from N(0, 0.02²), zero its bias, add spectral norm."""
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv2d, nn.Linear)) and not is_parametrized(layer, "weight"):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
            spectral_norm(layer)


def _conv3(c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)


def _conv1(c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 1, bias=bias)


# --- generator -----------------------------------------------------------------------------------


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose per-channel gain ``1 + W_g z`` and bias ``W_b z`` are linear maps of ``z`` (Fig. 6.1a)."""

    def __init__(self, channels: int, latent_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(check_positive_int(channels, "channels"), affine=False)
        self.gain = nn.Linear(check_positive_int(latent_dim, "latent_dim"), channels, bias=False)
        self.bias = nn.Linear(latent_dim, channels, bias=False)

    def forward(self, h: Tensor, z: Tensor) -> Tensor:
        """Normalised ``h`` ``(B, channels, H, W)`` with gain and bias from ``z`` ``(B, latent_dim)``."""
        _check_maps(h, "h", self.bn.num_features, self)
        check_batch(z, "z", (self.gain.in_features,), like=self, finite=False)
        _check_rows(z, h, "z", "h")
        gain = 1.0 + self.gain(z)[:, :, None, None]
        return self.bn(h) * gain + self.bias(z)[:, :, None, None]


class GeneratorBlock(nn.Module):
    """Fig. 6.1a: CBN(z), ReLU, bilinear ×2 upsample, 3×3 conv, CBN(z), ReLU, 3×3 conv; skip: upsample, 1×1 conv.

    Both batch norms are conditional on ``z`` with their own linear maps, as in BigGAN's ``GBlock``.
    The convs have no bias: each output reaches a batch norm (the next block's, or the output BN)
    whose mean subtraction cancels a per-channel constant, which the skip path only passes on as
    another constant, so in training such a bias would get no gradient.
    """

    def __init__(self, c_in: int, c_out: int, latent_dim: int) -> None:
        super().__init__()
        check_positive_int(c_in, "c_in")
        check_positive_int(c_out, "c_out")
        self.bn1 = ConditionalBatchNorm2d(c_in, latent_dim)
        self.conv1 = _conv3(c_in, c_out, bias=False)
        self.bn2 = ConditionalBatchNorm2d(c_out, latent_dim)
        self.conv2 = _conv3(c_out, c_out, bias=False)
        self.skip = _conv1(c_in, c_out, bias=False)

    @staticmethod
    def _up(h: Tensor) -> Tensor:
        return F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        """``(B, c_in, H, W)`` maps and ``(B, latent_dim)`` codes to ``(B, c_out, 2H, 2W)`` maps."""
        _check_maps(x, "x", self.skip.in_channels, self)
        h = self.conv1(self._up(F.relu(self.bn1(x, z))))
        h = self.conv2(F.relu(self.bn2(h, z)))
        return h + self.skip(self._up(x))


class ResNetGenerator(nn.Module):
    """Table 6.1: Linear J -> 4C×(H/8)×(W/8), three up blocks 4C -> 4C, BN, ReLU, 3×3 conv 4C -> D.

    ``forward(z)`` maps ``z`` of shape ``(..., J)`` (leading sample axes allowed) to the raw image
    ``(..., D, H, W)``. The thesis's final Tanh is applied by the model, not here. The same ``z``
    conditions every block's batch norms. ``channels`` is the thesis's C (32 for MNIST).
    """

    def __init__(self, latent_dim: int, output_shape: Sequence[int] = (1, 32, 32), channels: int = 32) -> None:
        super().__init__()
        self.output_shape = _image_shape(output_shape, "output_shape")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        width = 4 * check_positive_int(channels, "channels")
        d, h, w = self.output_shape
        self.start = (width, h // 8, w // 8)
        self.linear = nn.Linear(latent_dim, width * (h // 8) * (w // 8))
        self.blocks = nn.ModuleList(GeneratorBlock(width, width, latent_dim) for _ in range(3))
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), _conv3(width, d))
        _init_and_normalize(self)

    def forward(self, z: Tensor) -> Tensor:
        check_batch(z, "z", (self.latent_dim,), like=self, leading=True, finite=False)
        lead = z.shape[:-1]
        z = z.reshape(-1, self.latent_dim)
        h = self.linear(z).unflatten(-1, self.start)
        for block in self.blocks:
            h = block(h, z)
        return self.out(h).reshape(*lead, *self.output_shape)


def standing_statistics(
    generator: nn.Module,
    latent_dim: int,
    passes: int = 16,
    batch_size: int = 64,
    generator_rng: torch.Generator | None = None,
) -> nn.Module:
    """BigGAN's "standing statistics" (Astorga 2021, §6.3): re-estimate the generator's batch-norm statistics.

    Resets every batch norm's running mean and variance, then averages (``momentum=None``, a
    cumulative average) the batch statistics of ``passes`` forward passes on ``z ~ N(0, I)`` of
    ``batch_size`` rows drawn with ``generator_rng``. Only the batch norms run in training mode, so
    nothing else (e.g. spectral-norm power iterations) changes. Returns ``generator`` in eval mode.
    """
    check_module(generator, "generator")
    if check_positive_int(latent_dim, "latent_dim") != getattr(generator, "latent_dim", latent_dim):
        raise ValueError(f"latent_dim={latent_dim} does not match the generator's latent size {generator.latent_dim}")
    check_positive_int(passes, "passes")
    check_generator(generator_rng, "generator_rng")
    if check_positive_int(batch_size, "batch_size") < 2:
        raise ValueError(f"batch_size must be at least 2 to estimate batch statistics, got {batch_size}")
    norms = [m for m in generator.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d))]
    if not norms:
        raise ValueError("generator has no batch-norm layers to re-estimate")
    momenta = [m.momentum for m in norms]
    generator.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    param = next(generator.parameters())
    rng_device = generator_rng.device if generator_rng is not None else torch.device("cpu")
    with torch.no_grad():
        for _ in range(passes):
            z = torch.randn(batch_size, latent_dim, generator=generator_rng, device=rng_device, dtype=param.dtype)
            generator(z.to(param.device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return generator.eval()


# --- encoder and discriminators ------------------------------------------------------------------


class DiscriminatorBlock(nn.Module):
    """Fig. 6.1b: ReLU, 3×3 conv, ReLU, 3×3 conv, 2×2 average pool; skip: 1×1 conv, then pool.

    ``first=True`` (the block that reads the image) drops the first ReLU and pools before the skip's
    1×1 conv (the same map, as a 1×1 conv commutes with average pooling, but cheaper when
    ``c_in < c_out``); ``downsample=False`` drops both pools, and with ``c_in == c_out`` the skip is
    the identity.
    """

    def __init__(self, c_in: int, c_out: int, downsample: bool = True, first: bool = False) -> None:
        super().__init__()
        check_positive_int(c_in, "c_in")
        check_positive_int(c_out, "c_out")
        self.first = first
        self.downsample = downsample
        self.conv1 = _conv3(c_in, c_out)
        self.conv2 = _conv3(c_out, c_out)
        self.skip = _conv1(c_in, c_out) if (downsample or c_in != c_out) else nn.Identity()

    def _pool(self, h: Tensor) -> Tensor:
        return F.avg_pool2d(h, 2) if self.downsample else h

    def forward(self, x: Tensor) -> Tensor:
        """``(B, c_in, H, W)`` maps to ``(B, c_out, H/2, W/2)`` (``downsample=False``: ``H, W``)."""
        _check_maps(x, "x", self.conv1.in_channels, self)
        if self.downsample and min(x.shape[2:]) < 2:
            raise ValueError(f"x needs sides of at least 2 to be pooled, got shape {tuple(x.shape)}")
        h = x if self.first else F.relu(x)
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        skip = self.skip(self._pool(x)) if self.first else self._pool(self.skip(x))
        return h + skip


class ResNetEncoder(nn.Module):
    """Table 6.2: down D -> 4C, down, plain, down, down (4C -> 4C), flatten, two linear heads -> J.

    As in the table there is no activation between the last block and the heads. ``latent_dim``
    defaults to the thesis's J = 10 (MNIST) only because ``input_shape`` has a default before it.
    The flattened features have ``4C · H/16 · W/16`` entries (16C at 32×32; the thesis prints
    "32//2⁴×4C"). The heads are a :class:`~gi_core.nets.encoders.GaussianHead` with spectral norm:
    ``forward(x)`` returns the mean and the soft-clamped log-variance, each ``(B, J)``.
    """

    def __init__(self, input_shape: Sequence[int] = (1, 32, 32), latent_dim: int = 10, channels: int = 32) -> None:
        super().__init__()
        self.input_shape = _image_shape(input_shape, "input_shape")
        check_positive_int(latent_dim, "latent_dim")
        width = 4 * check_positive_int(channels, "channels")
        d, h, w = self.input_shape
        self.body = nn.Sequential(
            DiscriminatorBlock(d, width, first=True),
            DiscriminatorBlock(width, width),
            DiscriminatorBlock(width, width, downsample=False),
            DiscriminatorBlock(width, width),
            DiscriminatorBlock(width, width),
            nn.Flatten(),
        )
        self.head = GaussianHead(width * (h // 16) * (w // 16), latent_dim)
        _init_and_normalize(self)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.head(self.body(x))


class ImageFeatures(nn.Module):
    """Table 6.3 without its output layer: down D -> 4C, down, plain, plain, ReLU, global sum pool -> (B, 4C)."""

    def __init__(self, input_shape: Sequence[int] = (1, 32, 32), channels: int = 32) -> None:
        super().__init__()
        self.input_shape = _image_shape(input_shape, "input_shape")
        width = 4 * check_positive_int(channels, "channels")
        self.out_features = width
        self.blocks = nn.Sequential(
            DiscriminatorBlock(self.input_shape[0], width, first=True),
            DiscriminatorBlock(width, width),
            DiscriminatorBlock(width, width, downsample=False),
            DiscriminatorBlock(width, width, downsample=False),
        )
        _init_and_normalize(self)

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return F.relu(self.blocks(x)).sum(dim=(2, 3))


class ResNetDiscriminator(nn.Module):
    """Table 6.3, :math:`D_x`: :class:`ImageFeatures`, then a linear layer 4C -> 1; ``forward(x)`` gives ``(B,)`` logits.

    Used only by the GAN-based models.
    """

    def __init__(self, input_shape: Sequence[int] = (1, 32, 32), channels: int = 32) -> None:
        super().__init__()
        self.body = ImageFeatures(input_shape, channels)
        self.input_shape = self.body.input_shape
        self.linear = nn.Linear(self.body.out_features, 1)
        _init_and_normalize(self)

    def features(self, x: Tensor) -> Tensor:
        """The pooled ``(B, 4C)`` features that feed the output layer."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.body(x)).squeeze(-1)


class LatentFeatures(nn.Module):
    """:math:`D_z`: one residual block of two linear layers with 8C units, ``h = W_2 ReLU(W_1 z) + W_s z``.

    The skip is a linear projection (J != 8C), like the 1×1 skip conv of the image blocks; as the first
    block it has no input ReLU. ``forward(z)`` returns ``ReLU(h)``, the ``(B, 8C)`` features that
    :class:`ResNetJointDiscriminator` concatenates with those of :math:`D_x`.
    """

    def __init__(self, latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.out_features = 8 * check_positive_int(channels, "channels")
        self.linear1 = nn.Linear(latent_dim, self.out_features)
        self.linear2 = nn.Linear(self.out_features, self.out_features)
        self.skip = nn.Linear(latent_dim, self.out_features)
        _init_and_normalize(self)

    def forward(self, z: Tensor) -> Tensor:
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        return F.relu(self.linear2(F.relu(self.linear1(z))) + self.skip(z))


class ResNetJointDiscriminator(nn.Module):
    """:math:`D_{xz}` (ALI, ALICE, VEEGAN): ``[D_x features (4C), D_z features (8C)]`` -> linear -> one logit.

    Same call as :class:`gi_core.nets.discriminators.JointDiscriminator`: ``forward(x, z)`` with ``x``
    ``(B, *input_shape)`` and ``z`` ``(B, J)`` returns ``(B,)`` logits.
    """

    def __init__(self, input_shape: Sequence[int], latent_dim: int, channels: int = 32) -> None:
        super().__init__()
        self.x_features = ImageFeatures(input_shape, channels)
        self.z_features = LatentFeatures(latent_dim, channels)
        self.input_shape = self.x_features.input_shape
        self.latent_dim = self.z_features.latent_dim
        self.linear = nn.Linear(self.x_features.out_features + self.z_features.out_features, 1)
        _init_and_normalize(self)

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        _check_rows(z, x, "z", "x")
        features = torch.cat([self.x_features(x), self.z_features(z)], dim=1)
        return self.linear(features).squeeze(-1)
