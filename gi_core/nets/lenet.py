"""DANN's LeNet feature extractor for digits (Ganin et al., 2016, MNIST architecture after LeNet-5)."""

from __future__ import annotations

from torch import Tensor, nn

from gi_core.validation import check_batch, check_positive_int, check_sizes


def _lenet_side(size: int) -> int:
    """Side after conv5 -> pool2 -> conv5 -> pool2 (valid convolutions), or raise."""
    after_first = size - 4
    if size < 16 or after_first % 2 or (after_first // 2 - 4) % 2:
        raise ValueError(f"LeNet features need an image side of 16, 20, 24, 28, 32, ... (4k, >= 16), got {size}")
    return (after_first // 2 - 4) // 2


class LeNetFeatures(nn.Module):
    r"""DANN's feature extractor :math:`G_f` for digits (Ganin et al., 2016, MNIST architecture after LeNet-5).

    conv 5×5, 32 maps → ReLU → max-pool 2×2 → conv 5×5, 48 maps → ReLU → max-pool 2×2 → flatten. Valid
    convolutions: a 28×28 image gives 48·4·4 = 768 features, a 32×32 image 48·5·5 = 1200. ``in_channels``
    is 1 (MNIST, USPS) or 3 (MNIST-M; grey digits are repeated over three channels, see
    :func:`gi_core.data.transforms.prepare_digits`). ``out_features`` holds the width.
    """

    def __init__(self, in_channels: int = 1, image_size: int = 28, channels: tuple[int, int] = (32, 48)) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        if len(channels := check_sizes(channels, "channels")) != 2:
            raise ValueError(f"channels must be the two convolutions' map counts, got {channels}")
        side = _lenet_side(check_positive_int(image_size, "image_size"))
        self.input_shape = (in_channels, image_size, image_size)
        self.out_features = channels[1] * side * side
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels[0], channels[1], 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, x: Tensor) -> Tensor:
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        return self.net(x)
