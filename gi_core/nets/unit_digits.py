r"""UNIT's 32×32 digit networks (Liu et al. 2017), as AVDA uses them: the encoder q(z|x), the tanh decoder, the code MLPs.

Pérez Carrasco (2021, §3.3) builds AVDA's source and target encoders, its decoder, its classifier heads
:math:`q(y\mid z)` and its :math:`(K+1)`-way latent discriminator "similar to" UNIT's domain-adaptation digit
networks, without a layer table. The layers are fixed here (``c`` = ``in_channels``, ``J`` = ``latent_dim``,
every convolution followed by batch norm and LeakyReLU with slope 0.2 unless stated):

=========================  ==========================================  ============
encoder layer              kernel, stride, padding                     output
=========================  ==========================================  ============
conv                       5×5, 2, 2                                   32 × 16 × 16
conv                       5×5, 2, 2                                   64 × 8 × 8
conv                       8×8, 1, 0                                   128 × 1 × 1
conv                       1×1, 1, 0                                   256 × 1 × 1
Gaussian head              two linear maps 256 → J                      J, J
=========================  ==========================================  ============

The decoder maps z ``(B, J)`` to ``(B, J, 1, 1)``, then transposed convolutions 4×4 (stride 1, padding 0 → 256 ×
4 × 4; stride 2, padding 1 → 128 × 8 × 8, 64 × 16 × 16, 32 × 32 × 32), each with batch norm and LeakyReLU, and a
1×1 convolution to ``out_channels`` followed by :math:`\tanh`: images in [-1, 1].

Departures from UNIT's code (``cocogan_nets_da.py``), all of them choices of this book: the convolutions before a
batch norm have no bias (the norm's shift replaces it), the batch norms are the usual affine ones (UNIT: no scale,
a separate bias), the LeakyReLU slope is 0.2 (UNIT: PyTorch's default 0.01), the latent head is
:class:`~gi_core.nets.encoders.GaussianHead` (mean and bounded log-variance, UNIT: a 1×1 convolution and a softplus
standard deviation), and the decoder's first layer has stride 1 (on a 1×1 input stride 1 and 2 give the same
4×4 map).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from torch import Tensor, nn

from gi_core.nets.encoders import GaussianHead, mlp
from gi_core.validation import check_batch, check_positive_int, check_sizes

SLOPE = 0.2
"""The negative slope of every LeakyReLU of these networks."""
IMAGE_SIZE = 32


def _conv_block(conv: nn.Module, channels: int) -> list[nn.Module]:
    """``conv`` followed by batch norm over its ``channels`` maps and a LeakyReLU."""
    return [conv, nn.BatchNorm2d(channels), nn.LeakyReLU(SLOPE)]


class UNITEncoder(nn.Module):
    r"""The 32×32 digit encoder :math:`q(z\mid x)=\mathcal N(\mu(x),\operatorname{diag}\sigma^2(x))` of AVDA's source
    and target domains (Pérez Carrasco 2021, Eq. 3.2–3.3), after UNIT's (see the module's layer table).

    ``forward(x)`` gives the mean and the bounded log-variance, each ``(B, latent_dim)``. Only 32×32 images:
    the 8×8 convolution reduces the 8×8 map of a 32×32 input to one pixel. In training mode batch norm needs at
    least two images per batch (the third and fourth layers see one value per image and channel).
    """

    def __init__(self, in_channels: int = 1, latent_dim: int = 20, image_size: int = IMAGE_SIZE) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        if check_positive_int(image_size, "image_size") != IMAGE_SIZE:
            raise ValueError(f"image_size must be {IMAGE_SIZE}: UNIT's digit encoder reduces a 32×32 image to one "
                             f"pixel with its 8×8 convolution, got {image_size}")
        self.input_shape = (in_channels, IMAGE_SIZE, IMAGE_SIZE)
        self.body = nn.Sequential(
            *_conv_block(nn.Conv2d(in_channels, 32, 5, stride=2, padding=2, bias=False), 32),
            *_conv_block(nn.Conv2d(32, 64, 5, stride=2, padding=2, bias=False), 64),
            *_conv_block(nn.Conv2d(64, 128, 8, bias=False), 128),
            *_conv_block(nn.Conv2d(128, 256, 1, bias=False), 256),
            nn.Flatten(),
        )
        self.head = GaussianHead(256, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        if self.training and x.shape[0] < 2:
            raise ValueError(f"x must hold at least 2 images in training mode (batch norm on the 1×1 maps), got "
                             f"shape {tuple(x.shape)}")
        return self.head(self.body(x))


class UNITDecoder(nn.Module):
    r"""The 32×32 digit decoder :math:`p_\theta(x\mid z)` of AVDA's source domain (Pérez Carrasco 2021, Eq. 3.1),
    after UNIT's (see the module's description): z ``(B, latent_dim)`` to images ``(B, out_channels, 32, 32)`` in
    [-1, 1], the location of the squared-error reconstruction (Pérez Carrasco 2021, §2.3: MSE between x and
    :math:`\hat x`)."""

    def __init__(self, latent_dim: int = 20, out_channels: int = 1) -> None:
        super().__init__()
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        check_positive_int(out_channels, "out_channels")
        self.output_shape = (out_channels, IMAGE_SIZE, IMAGE_SIZE)
        self.net = nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),
            *_conv_block(nn.ConvTranspose2d(latent_dim, 256, 4, bias=False), 256),
            *_conv_block(nn.ConvTranspose2d(256, 128, 4, stride=2, padding=1, bias=False), 128),
            *_conv_block(nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False), 64),
            *_conv_block(nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, bias=False), 32),
            nn.Conv2d(32, out_channels, 1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        """The image ``(B, C, 32, 32)`` in [-1, 1] of each code of ``z`` ``(B, latent_dim)``."""
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        return self.net(z)


def unit_latent_mlp(latent_dim: int, outputs: int, hidden: Sequence[int] = (500, 500)) -> nn.Sequential:
    r"""An MLP on codes z ``(B, latent_dim)`` with ``outputs`` logits: linear layers of widths ``hidden`` with
    LeakyReLU (slope 0.2) between them.

    AVDA uses it twice on its 20-d codes (Pérez Carrasco 2021, §3.3): with ``outputs = K`` as a classifier head
    :math:`q(y\mid z)=\mathrm{Cat}(\pi(z))` (Eq. 3.2–3.3; the logits :math:`\tilde\alpha` of the Gumbel-softmax
    sample, Eq. 3.14), and with ``outputs = K + 1`` as the latent discriminator :math:`D_w` of Eq. 3.8–3.9 (class
    :math:`K+1` = "from the target encoder"). UNIT's classifier is convolutional on images; a code has no
    spatial axes, so this one is an MLP.
    """
    check_positive_int(latent_dim, "latent_dim")
    check_positive_int(outputs, "outputs")
    widths = check_sizes(hidden, "hidden")
    return mlp([latent_dim, *widths, outputs], partial(nn.LeakyReLU, SLOPE))
