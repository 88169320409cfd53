"""Image transforms applied once to a whole dataset (no per-sample pipeline): binarization, the [-1, 1] range of a
tanh decoder, and the digit preparation of the domain-adaptation tasks (resizing, channels, framing)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from gi_core.validation import check_positive_int, check_real, check_tensor


def binarize(x: Tensor, threshold: float = 0.5) -> Tensor:
    """Deterministic binarization ``1[x > threshold]`` (elementwise, any shape) for Bernoulli likelihoods on grey-level
    images."""
    check_tensor(x, "x")
    check_real(threshold, "threshold", minimum=0.0, maximum=1.0)
    return (x > threshold).to(x.dtype)


def to_signed_images(x: Tensor, size: int | None = None) -> Tensor:
    """Images in [0, 1] mapped to [-1, 1] (the range of a tanh decoder), optionally resized to ``size`` x ``size``.

    Astorga's (2021) §6.3 feeds 32x32 images to networks ending in a tanh; MNIST's 28x28 digits are resized
    bilinearly (with antialiasing off, which only matters when shrinking) and the result is clamped to
    [-1, 1].
    """
    check_tensor(x, "x", ndim=4)
    if size is not None:
        check_positive_int(size, "size")
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return (2.0 * x - 1.0).clamp(-1.0, 1.0)


def prepare_digits(x: Tensor, size: int = 28, channels: int = 1) -> Tensor:
    """Digits ``(N, C, H, W)`` in [0, 1] resized bilinearly to ``size`` × ``size`` with ``channels`` channels.

    One channel becomes three by repetition (MNIST fed to an MNIST-M network), three become one by the
    channel mean. USPS's 16×16 images become 28×28 this way (Hou et al. 2022, §6, resize USPS to 28×28 too). The
    result is clamped to [0, 1].
    """
    check_tensor(x, "x", ndim=4)
    check_positive_int(size, "size")
    if check_positive_int(channels, "channels") not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels, got shape {tuple(x.shape)}")
    if tuple(x.shape[-2:]) != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    if x.shape[1] != channels:
        x = x.expand(-1, 3, -1, -1) if channels == 3 else x.mean(1, keepdim=True)
    return x.clamp(0.0, 1.0).contiguous()


def ink_extent(x: Tensor, threshold: float = 0.3) -> tuple[Tensor, Tensor]:
    """Height and width in pixels of each image's ink: from the first to the last row (column) of ``x`` ``(N, 1, H, W)``
    with a pixel above ``threshold``; 0 for a blank image. A label-free measure of how digits are framed."""
    check_tensor(x, "x", ndim=4)
    check_real(threshold, "threshold", minimum=0.0, maximum=1.0)
    if x.shape[1] != 1:
        raise ValueError(f"x must have one channel, got shape {tuple(x.shape)}")
    ink = x[:, 0] > threshold

    def extent(lines: Tensor) -> Tensor:  # lines (N, L): does line l hold ink?
        index = torch.arange(lines.shape[1], device=lines.device)
        first = torch.where(lines, index, lines.shape[1]).min(1).values
        last = torch.where(lines, index, -1).max(1).values
        return (last - first + 1).clamp(min=0)

    return extent(ink.any(2)), extent(ink.any(1))


def frame_digits(x: Tensor, box: int = 20, size: int = 28) -> Tensor:
    """Digits that fill their frame ``(N, C, H, W)``, shrunk into a centred ``box`` × ``box`` square of a ``size`` × ``size`` frame.

    MNIST's construction scales every digit into a 20×20 box and centres it in 28×28 pixels (LeCun et al.,
    1998); USPS's 16×16 digits fill their frame, so a USPS digit resized to 28×28 is about 40 % taller than an
    MNIST one (chapter 4 measures 27.6 against 19.7 pixels of ink). This gives USPS MNIST's framing: resize to
    ``box`` (bilinear with antialiasing), zero padding around it, clamped to [0, 1].
    """
    check_tensor(x, "x", ndim=4)
    if x.device.type == "cpu" and x.dtype in (torch.float16, torch.bfloat16):
        raise TypeError(f"x must be float32 or float64 on the CPU (antialiased resizing has no {x.dtype} there)")
    check_positive_int(box, "box")
    check_positive_int(size, "size")
    if not box <= size:
        raise ValueError(f"need 1 <= box <= size, got box={box}, size={size}")
    inner = F.interpolate(x, size=(box, box), mode="bilinear", align_corners=False, antialias=True)
    before = (size - box) // 2
    return F.pad(inner, (before, size - box - before, before, size - box - before)).clamp(0.0, 1.0).contiguous()
