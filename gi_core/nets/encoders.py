"""MLPs, Gaussian heads, and the encoders q(z|x) and decoders p(x|z) for vectors and small (28x28, 32x32) images.

Encoders return the mean and the *bounded* log-variance of a diagonal Gaussian
(see :func:`gi_core.maths.gaussians.soft_clamp_log_var`); decoders return one raw
tensor shaped like the image, which a likelihood interprets (Bernoulli logits,
or a Gaussian/Laplace location after a sigmoid). ``arch`` names a network family
(``"mlp"``, ``"conv"``; the ResNets are :mod:`gi_core.nets.resnets`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from gi_core.maths.gaussians import soft_clamp_log_var
from gi_core.validation import check_batch, check_choice, check_positive_int, check_sizes


def _check_shape(shape: Sequence[int], name: str, image: bool = True) -> tuple[int, ...]:
    """``shape`` as a tuple: ``(channels, height, width)`` for images, any positive sizes otherwise."""
    sizes = check_sizes(shape, name)
    if image and len(sizes) != 3:
        raise ValueError(f"{name} must be (channels, height, width) with positive sizes, got {sizes}")
    return sizes


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes (at least two) with ``activation`` between them (none after the last)."""
    if len(check_sizes(sizes, "sizes")) < 2:
        raise ValueError(f"sizes must list at least the input and the output width, got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class GaussianHead(nn.Module):
    """Two linear maps from features to the mean and bounded log-variance of q(z|x)."""

    def __init__(self, features: int, latent_dim: int) -> None:
        super().__init__()
        self.mean = nn.Linear(check_positive_int(features, "features"), check_positive_int(latent_dim, "latent_dim"))
        self.log_var = nn.Linear(features, latent_dim)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(h, "h", (self.mean.in_features,), like=self, finite=False)
        return self.mean(h), soft_clamp_log_var(self.log_var(h))


class MLPEncoder(nn.Module):
    """x (an image ``(C, H, W)`` or a vector ``(D,)``) -> flatten -> MLP -> (mean, log-variance)."""

    def __init__(
        self,
        input_shape: Sequence[int],
        latent_dim: int,
        hidden: Sequence[int] = (512, 256),
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.input_shape = _check_shape(input_shape, "input_shape", image=False)
        check_positive_int(latent_dim, "latent_dim")
        hidden = check_sizes(hidden, "hidden")
        self.body = nn.Sequential(nn.Flatten(), mlp([math.prod(self.input_shape), *hidden], activation), activation())
        self.head = GaussianHead(hidden[-1], latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.head(self.body(x))


class MLPDecoder(nn.Module):
    """z -> MLP -> raw output shaped like the data (an image or a vector)."""

    def __init__(
        self,
        latent_dim: int,
        output_shape: Sequence[int],
        hidden: Sequence[int] = (256, 512),
        activation: Callable[[], nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.output_shape = _check_shape(output_shape, "output_shape", image=False)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.net = mlp([latent_dim, *check_sizes(hidden, "hidden"), math.prod(self.output_shape)], activation)

    def forward(self, z: Tensor) -> Tensor:
        """The raw output ``(..., *output_shape)`` of ``z`` ``(..., latent_dim)`` (leading sample axes allowed)."""
        check_batch(z, "z", (self.latent_dim,), like=self, leading=True, finite=False)
        return self.net(z).unflatten(-1, self.output_shape)


def conv_side(height: int) -> int:
    """The side ``height / 4`` after two stride-2 convolutions (4×4 kernels, padding 1); ``height`` divisible by 4."""
    if check_positive_int(height, "height") % 4:
        raise ValueError(f"convolutional networks need a height divisible by 4 (28 or 32), got {height}")
    return height // 4


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions (H -> H/4), a linear layer, and the Gaussian head."""

    def __init__(self, input_shape: Sequence[int], latent_dim: int, channels: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.input_shape = _check_shape(input_shape, "input_shape")
        check_positive_int(latent_dim, "latent_dim")
        check_positive_int(channels, "channels")
        check_positive_int(hidden, "hidden")
        c, h, w = self.input_shape
        side_h, side_w = conv_side(h), conv_side(w)
        self.body = nn.Sequential(
            nn.Conv2d(c, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * channels * side_h * side_w, hidden), nn.ReLU(),
        )
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.head(self.body(x))


class ConvDecoder(nn.Module):
    """A linear layer to (2C, H/4, W/4) and two stride-2 transposed convolutions back to (C_out, H, W)."""

    def __init__(self, latent_dim: int, output_shape: Sequence[int], channels: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.output_shape = _check_shape(output_shape, "output_shape")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        check_positive_int(channels, "channels")
        check_positive_int(hidden, "hidden")
        c, h, w = self.output_shape
        side = (2 * channels, conv_side(h), conv_side(w))
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(side)), nn.ReLU(),
            nn.Unflatten(-1, side),
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(channels, c, 4, stride=2, padding=1),
        )

    def forward(self, z: Tensor) -> Tensor:
        """The raw image ``(..., C, H, W)`` of ``z`` ``(..., latent_dim)`` (leading sample axes allowed)."""
        check_batch(z, "z", (self.latent_dim,), like=self, leading=True, finite=False)
        lead = z.shape[:-1]
        out = self.net(z.reshape(-1, z.shape[-1]))
        return out.reshape(*lead, *self.output_shape)


def encoder_decoder(
    arch: str, image_shape: Sequence[int], latent_dim: int, hidden: Sequence[int] | None = None
) -> tuple[nn.Module, nn.Module]:
    """Matching encoder and decoder of architecture ``arch`` ``"mlp"`` or ``"conv"`` for images of ``image_shape``.

    For ``mlp``, ``hidden`` lists the encoder's hidden widths and the decoder mirrors them;
    for ``conv``, ``hidden`` is ``(channels, width of the linear layer)``.
    """
    check_choice(arch, ("mlp", "conv"), "arch")
    _check_shape(image_shape, "image_shape", image=arch == "conv")
    widths = check_sizes(((512, 256) if arch == "mlp" else (32, 256)) if hidden is None else hidden, "hidden")
    if arch == "mlp":
        return MLPEncoder(image_shape, latent_dim, widths), MLPDecoder(latent_dim, image_shape, widths[::-1])
    if len(widths) != 2:
        raise ValueError(f"hidden must be (channels, width of the linear layer) for arch 'conv', got {hidden!r}")
    channels, width = widths
    return ConvEncoder(image_shape, latent_dim, channels, width), ConvDecoder(latent_dim, image_shape, channels, width)
