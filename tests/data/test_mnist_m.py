"""Tests for the MNIST-M builder (data_scripts/make_mnist_m.py) and the mnist_m entry of gi_core.data.images."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from gi_core.data.files import DatasetCorruptError, recorded_checksum, sha256
from gi_core.data.images import DATASETS, DatasetUnavailableError, load_images
from tests.helpers import SHARED_DATA, load_data_script


mm = load_data_script("make_mnist_m")


def fake_backgrounds(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=shape, dtype=np.uint8) for shape in ((40, 50, 3), (29, 28, 3), (64, 33, 3))]


def fake_digits(n: int = 7, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    digits = np.zeros((n, 28, 28), dtype=np.uint8)
    digits[:, 8:20, 10:18] = rng.integers(1, 256, size=(n, 12, 8), dtype=np.uint8)  # a stroke of grey levels
    return digits


def test_crops_are_seeded_fit_inside_and_differ_between_splits_and_seeds():
    shapes = [b.shape[:2] for b in fake_backgrounds()]
    crops = mm.draw_crops(500, shapes, seed=0, split="train")
    assert crops.shape == (500, 3) and crops.dtype == np.int32
    assert np.array_equal(crops, mm.draw_crops(500, shapes, seed=0, split="train"))
    assert not np.array_equal(crops, mm.draw_crops(500, shapes, seed=0, split="test"))
    assert not np.array_equal(crops, mm.draw_crops(500, shapes, seed=1, split="train"))
    sizes = np.asarray(shapes)[crops[:, 0]]
    assert (crops[:, 1:] >= 0).all() and (crops[:, 1:] <= sizes - 28).all()
    assert set(np.unique(crops[:, 0])) == {0, 1, 2}
    assert set(crops[crops[:, 0] == 1, 1]) == {0, 1}  # a 29-row image has two vertical positions, both used
    with pytest.raises(ValueError, match="split must be one of"):
        mm.draw_crops(5, shapes, 0, "val")
    with pytest.raises(ValueError, match="at least 28x28"):
        mm.draw_crops(5, [(27, 40)], 0, "train")


def test_blend_is_the_absolute_difference_with_a_binarized_digit():
    backgrounds, digits = fake_backgrounds(), fake_digits()
    images, crops = mm.build_split(digits, backgrounds, seed=3, split="train")
    assert images.shape == (7, 3, 28, 28) and images.dtype == np.uint8
    again, _ = mm.build_split(digits, backgrounds, seed=3, split="train")
    assert np.array_equal(images, again)
    for i, (b, top, left) in enumerate(crops):
        patch = backgrounds[b][top : top + 28, left : left + 28].transpose(2, 0, 1).astype(int)
        ink = digits[i] > 0
        assert np.array_equal(images[i][:, ~ink], patch[:, ~ink])  # background kept outside the stroke
        assert np.array_equal(images[i][:, ink], 255 - patch[:, ink])  # inverted inside it
    grey = mm.blend(digits, backgrounds, crops, mode="grey")
    patches = np.stack([backgrounds[b][t : t + 28, l : l + 28] for b, t, l in crops]).transpose(0, 3, 1, 2).astype(int)
    assert np.array_equal(grey, np.abs(patches - digits[:, None].astype(int)))
    with pytest.raises(ValueError, match="blend mode"):
        mm.blend(digits, backgrounds, crops, mode="max")
    with pytest.raises(ValueError, match="uint8"):
        mm.blend(digits.astype(np.float32), backgrounds, crops)


def test_written_split_loads_in_the_full_profile(tmp_path, monkeypatch):
    monkeypatch.setenv("GI_BUILT_DATA_ROOT", str(tmp_path / "built"))
    images, crops = mm.build_split(fake_digits(), fake_backgrounds(), seed=0, split="test")
    labels = np.arange(7) % 10
    for split in ("train", "test"):
        mm.write_split(tmp_path / "built" / "MNIST-M", split, images, labels, crops, {"seed": 0, "split": split})
    data = load_images("mnist_m", "test", profile="full", root=tmp_path / "elsewhere")
    assert data.x.shape == (7, 3, 28, 28) and data.x.dtype == torch.float32
    assert torch.equal((data.x * 255).round().byte(), torch.from_numpy(images))
    assert data.y.tolist() == labels.tolist() and data.info == {"seed": 0, "split": "test"}
    assert "MNIST-M" in data.source and str(tmp_path / "built") in data.source


def test_a_built_split_carries_its_checksum_and_is_verified(tmp_path, monkeypatch):
    """Regression: a built MNIST-M file was loaded without any checksum."""
    monkeypatch.setenv("GI_BUILT_DATA_ROOT", str(tmp_path))
    images, crops = mm.build_split(fake_digits(), fake_backgrounds(), seed=0, split="train")
    path = mm.write_split(tmp_path / "MNIST-M", "train", images, np.arange(7), crops, {"seed": 0})
    assert recorded_checksum(path) == sha256(path)
    raw = bytearray(path.read_bytes())
    raw[-200] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetCorruptError, match=r"mnist_m: .*mnist_m_train.npz has SHA-256 .* was recorded for it.*"
                                                  r"rebuild it: run `python data_scripts/make_mnist_m.py"):
        load_images("mnist_m", "train", profile="full", root=tmp_path)


def test_a_build_without_checksum_loads_with_a_warning_and_is_still_checked(tmp_path, monkeypatch):
    """Files built before checksums were recorded load unverified (with a warning); their contents are still checked."""
    monkeypatch.setenv("GI_BUILT_DATA_ROOT", str(tmp_path))
    images, crops = mm.build_split(fake_digits(), fake_backgrounds(), seed=0, split="test")
    path = mm.write_split(tmp_path / "MNIST-M", "test", images, np.arange(7), crops, {"seed": 0})
    path.with_name(path.name + ".sha256").unlink()
    with pytest.warns(UserWarning, match=r"mnist_m: no SHA-256 recorded for .*mnist_m_test.npz.*loading it unverified"):
        assert len(load_images("mnist_m", "test", profile="full", root=tmp_path)) == 7
    mm.write_split(tmp_path / "MNIST-M", "test", images, np.arange(6), crops, {"seed": 0})
    with pytest.raises(DatasetCorruptError, match=r"mnist_m \(test split\) in .*mnist_m_test.npz: 6 labels y for 7 images x"):
        load_images("mnist_m", "test", profile="full", root=tmp_path)


def test_missing_mnist_m_names_the_file_and_the_script(tmp_path, monkeypatch):
    monkeypatch.setenv("GI_BUILT_DATA_ROOT", str(tmp_path / "built"))
    with pytest.raises(DatasetUnavailableError, match=r"MNIST-M/mnist_m_train\.npz.*data_scripts/make_mnist_m\.py"):
        load_images("mnist_m", "train", profile="full", root=tmp_path)


def test_quick_subset_is_balanced_real_mnist_m():
    for split, size in (("train", 2000), ("test", 1000)):
        data = load_images("mnist_m", split, profile="quick")
        assert data.x.shape == (size, 3, 28, 28) and data.x.dtype == torch.float32
        counts = torch.bincount(data.y, minlength=10)
        assert counts.max() - counts.min() <= 1
        assert data.info["citation"] == "ganin2015unsupervised" == DATASETS["mnist_m"].citation
        assert data.info["builds"][split]["seed"] == 0 and data.info["builds"][split]["blend"] == "binary"
    # colour backgrounds: channel means near MNIST-M's usual (0.46, 0.47, 0.42), channels not equal
    means = data.x.mean(dim=(0, 2, 3))
    torch.testing.assert_close(means, torch.tensor([0.46, 0.47, 0.42]), atol=0.02, rtol=0)
    assert (data.x[:, 0] - data.x[:, 2]).abs().mean() > 0.05


@pytest.mark.skipif(not (SHARED_DATA / mm.BSDS_TRAIN).exists() or not (SHARED_DATA / "MNIST").exists(),
                    reason="../shared/data (MNIST, BSDS500) not present")
def test_quick_subset_is_rebuilt_exactly_from_mnist_and_bsds500():
    """The shipped subset's first test images equal the builder's output for the same MNIST digits."""
    backgrounds, names, _ = mm.load_backgrounds(SHARED_DATA / mm.BSDS_TRAIN)
    assert len(names) == 200 and names == sorted(names)
    mnist = load_images("mnist", "test", profile="full", root=SHARED_DATA, download=False)
    full_digits = (mnist.x[:, 0] * 255).round().byte().numpy()
    crops = mm.draw_crops(len(full_digits), [b.shape[:2] for b in backgrounds], seed=0, split="test")
    quick = load_images("mnist_m", "test", profile="quick")
    for k in range(4):  # find the MNIST test digit (same label) whose blend is the shipped image
        target = (quick.x[k] * 255).round().byte().numpy()
        candidates = np.flatnonzero(mnist.y.numpy() == quick.y[k].item())
        rebuilt = mm.blend(full_digits[candidates], backgrounds, crops[candidates])
        matches = [i for i, image in zip(candidates, rebuilt) if np.array_equal(image, target)]
        assert len(matches) == 1
        index = matches[0]
        assert quick.y[k].item() == mnist.y[index].item()
