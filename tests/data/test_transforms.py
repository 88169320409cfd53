"""Tests for gi_core.data.transforms: binarization, the [-1, 1] range of a tanh decoder, and the digit preparation of
the domain-adaptation tasks (resizing, channels, framing, ink extent)."""

import pytest
import torch

from gi_core.data.images import load_images
from gi_core.data.transforms import binarize, frame_digits, ink_extent, prepare_digits, to_signed_images


def test_binarize_thresholds_and_validates():
    x = torch.tensor([0.1, 0.5, 0.51, 0.9])
    assert binarize(x).tolist() == [0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="threshold must lie in"):
        binarize(x, 1.5)


def test_to_signed_images_maps_the_unit_interval_to_plus_minus_one():
    x = torch.tensor([0.0, 1.0, 0.5, 0.25]).reshape(1, 1, 2, 2)
    assert to_signed_images(x).flatten().tolist() == [-1.0, 1.0, 0.0, -0.5]
    # values a little outside [0, 1] (e.g. rounding) are clamped to the tanh range
    assert to_signed_images(torch.tensor([-0.1, 1.2]).reshape(1, 1, 1, 2)).flatten().tolist() == [-1.0, 1.0]


def test_to_signed_images_resizes_bilinearly():
    # columns 0 and 1 upsampled to 4: source positions -0.25, 0.25, 0.75, 1.25 (clamped) -> 0, 0.25, 0.75, 1
    x = torch.tensor([[0.0, 1.0], [0.0, 1.0]]).reshape(1, 1, 2, 2)
    out = to_signed_images(x, size=4)
    assert out.shape == (1, 1, 4, 4)
    torch.testing.assert_close(out[0, 0], torch.tensor([-1.0, -0.5, 0.5, 1.0]).expand(4, 4))


def test_to_signed_images_resizes_mnist_to_32():
    images = load_images("mnist", "test", profile="quick").x[:20]
    assert images.shape == (20, 1, 28, 28)
    out = to_signed_images(images, size=32)
    assert out.shape == (20, 1, 32, 32) and out.dtype == images.dtype
    assert out.min().item() >= -1.0 and out.max().item() <= 1.0
    assert out.min().item() == -1.0 and out.max().item() > 0.9  # background and ink survive the resize
    assert torch.equal(to_signed_images(images, size=28), to_signed_images(images))  # same size: no change


def test_to_signed_images_validates():
    with pytest.raises(ValueError, match=r"x must have 4 dimensions, got shape \(28, 28\)"):
        to_signed_images(torch.zeros(28, 28))
    with pytest.raises(ValueError, match=r"x must have 4 dimensions"):
        to_signed_images(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match="size must be a positive integer, got 0"):
        to_signed_images(torch.zeros(1, 1, 4, 4), size=0)


def test_prepare_digits_resizes_and_sets_the_channels():
    usps = torch.rand(4, 1, 16, 16)
    out = prepare_digits(usps, 28, 3)
    assert out.shape == (4, 3, 28, 28) and torch.equal(out[:, 0], out[:, 2])
    assert 0.0 <= out.min() and out.max() <= 1.0
    colour = torch.rand(2, 3, 28, 28)
    torch.testing.assert_close(prepare_digits(colour, 28, 1), colour.mean(1, keepdim=True))
    assert torch.equal(prepare_digits(colour, 28, 3), colour)
    with pytest.raises(ValueError, match="channels must be 1 or 3, got 2"):
        prepare_digits(colour, 28, 2)


def test_frame_digits_puts_a_full_frame_digit_in_a_centred_box():
    ones = torch.ones(3, 1, 16, 16)
    out = frame_digits(ones, box=20, size=28)
    assert out.shape == (3, 1, 28, 28)
    assert torch.equal(out[:, :, 4:24, 4:24], torch.ones(3, 1, 20, 20))  # resizing a constant keeps it
    assert out.sum().item() == 3 * 400.0  # nothing outside the box
    bar = torch.zeros(1, 1, 16, 16)
    bar[..., :, 7:9] = 1.0  # a full-height vertical stroke
    rows = (frame_digits(bar)[0, 0] > 0.5).any(1).nonzero().squeeze(1)
    assert rows.min().item() == 4 and rows.max().item() == 23  # 20 rows tall, centred
    assert frame_digits(torch.rand(2, 3, 16, 16), box=9, size=12).shape == (2, 3, 12, 12)  # uneven padding
    with pytest.raises(ValueError, match="box <= size"):
        frame_digits(ones, box=30, size=28)


def test_ink_extent_measures_height_and_width():
    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 4:24, 10:15] = 1.0  # 20 rows by 5 columns
    x[1, 0, 0, 0] = x[1, 0, 27, 3] = 0.9  # two dots span the whole height
    x[2, 0, 5:9, 5:9] = 0.2  # below the threshold: blank
    height, width = ink_extent(x)
    assert height.tolist() == [20, 28, 0] and width.tolist() == [5, 4, 0]
    assert ink_extent(x, threshold=0.1)[0].tolist() == [20, 28, 4]
    with pytest.raises(ValueError, match="one channel"):
        ink_extent(torch.zeros(1, 3, 28, 28))
