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
from gi_core.validation import check_positive_int


def _check_shape(shape: Sequence[int], name: str, image: bool = True) -> tuple[int, ...]:
    """``shape`` as a tuple: ``(channels, height, width)`` for images, any positive sizes otherwise."""
    if (image and len(shape) != 3) or not shape or any(int(s) <= 0 for s in shape):
        wanted = "(channels, height, width)" if image else "a non-empty shape"
        raise ValueError(f"{name} must be {wanted} with positive sizes, got {tuple(shape)}")
    return tuple(int(s) for s in shape)


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of the given sizes with ``activation`` between them (none after the last)."""
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
        self.mean = nn.Linear(features, latent_dim)
        self.log_var = nn.Linear(features, latent_dim)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
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
        self.body = nn.Sequential(nn.Flatten(), mlp([math.prod(self.input_shape), *hidden], activation), activation())
        self.head = GaussianHead(hidden[-1], latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"encoder expects inputs of shape (B, {self.input_shape}), got {tuple(x.shape)}")
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
        check_positive_int(latent_dim, "latent_dim")
        self.net = mlp([latent_dim, *hidden, math.prod(self.output_shape)], activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).unflatten(-1, self.output_shape)


def conv_side(height: int) -> int:
    """The side ``height / 4`` after two stride-2 convolutions (4×4 kernels, padding 1); ``height`` divisible by 4."""
    if height % 4:
        raise ValueError(f"convolutional networks need a height divisible by 4 (28 or 32), got {height}")
    return height // 4


class ConvEncoder(nn.Module):
    """Two stride-2 convolutions (H -> H/4), a linear layer, and the Gaussian head."""

    def __init__(self, input_shape: Sequence[int], latent_dim: int, channels: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.input_shape = _check_shape(input_shape, "input_shape")
        check_positive_int(latent_dim, "latent_dim")
        c, h, w = self.input_shape
        side_h, side_w = conv_side(h), conv_side(w)
        self.body = nn.Sequential(
            nn.Conv2d(c, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(2 * channels * side_h * side_w, hidden), nn.ReLU(),
        )
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"encoder expects inputs of shape (B, {self.input_shape}), got {tuple(x.shape)}")
        return self.head(self.body(x))


class ConvDecoder(nn.Module):
    """A linear layer to (2C, H/4, W/4) and two stride-2 transposed convolutions back to (C_out, H, W)."""

    def __init__(self, latent_dim: int, output_shape: Sequence[int], channels: int = 32, hidden: int = 256) -> None:
        super().__init__()
        self.output_shape = _check_shape(output_shape, "output_shape")
        check_positive_int(latent_dim, "latent_dim")
        c, h, w = self.output_shape
        side = (2 * channels, conv_side(h), conv_side(w))
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, math.prod(side)), nn.ReLU(),
            nn.Unflatten(-1, side),
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(channels, c, 4, stride=2, padding=1),
        )

    def forward(self, z: Tensor) -> Tensor:
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
    if arch == "mlp":
        widths = tuple(hidden or (512, 256))
        return MLPEncoder(image_shape, latent_dim, widths), MLPDecoder(latent_dim, image_shape, widths[::-1])
    if arch == "conv":
        channels, width = tuple(hidden or (32, 256))
        return ConvEncoder(image_shape, latent_dim, channels, width), ConvDecoder(latent_dim, image_shape, channels, width)
    raise ValueError(f"network arch must be 'mlp' or 'conv', got {arch!r}")
