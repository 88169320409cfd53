"""Tests for gi_core.data.images: the quick subsets, the full datasets through torchvision, and what is missing."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gi_core.data.images import DATASETS, QUICK_DATA_DIR, DatasetUnavailableError, data_root, load_images
from tests.helpers import SHARED_DATA


@pytest.mark.parametrize("name, shape", [("mnist", (1, 28, 28)), ("fashion_mnist", (1, 28, 28)), ("usps", (1, 16, 16))])
def test_quick_subsets_are_real_balanced_and_scaled(name, shape):
    for split in ("train", "test"):
        data = load_images(name, split, profile="quick")
        assert tuple(data.x.shape[1:]) == shape
        assert data.x.dtype == torch.float32 and data.y.dtype == torch.int64
        assert 0.0 <= data.x.min() and data.x.max() <= 1.0
        counts = torch.bincount(data.y, minlength=10)
        assert counts.max() - counts.min() <= 1, counts  # stratified
        assert len(data) == data.info["sizes"][split]
    # real digits, not noise: MNIST's mean intensity is about 0.13
    if name == "mnist":
        assert abs(load_images("mnist", "train", profile="quick").x.mean().item() - 0.1307) < 0.01


def test_quick_subset_records_licence_and_source():
    with np.load(QUICK_DATA_DIR / "usps.npz") as arrays:
        info = json.loads(str(arrays["info"]))
    assert "ESL" in info["sources"]["train"] and info["citation"] == "hull1994usps"


def test_unknown_dataset_and_split_are_named():
    with pytest.raises(ValueError, match="unknown dataset 'mnits'.*mnist"):
        load_images("mnits")
    with pytest.raises(ValueError, match="split must be one of"):
        load_images("mnist", "validation")


def test_dataset_without_quick_subset_says_so():
    with pytest.raises(DatasetUnavailableError, match="no quick-profile subset of 'svhn'.*GI_PROFILE=full"):
        load_images("svhn", profile="quick")


def test_missing_offline_data_names_the_file(tmp_path):
    with pytest.raises(DatasetUnavailableError, match=r"MNIST/raw/t10k-images-idx3-ubyte.*GI_DATA_ROOT"):
        load_images("mnist", "test", profile="full", root=tmp_path, download=False)
    with pytest.raises(DatasetUnavailableError, match=r"SVHN/train_32x32.mat"):
        load_images("svhn", "train", profile="full", root=tmp_path, download=False)


def test_data_root_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("GI_DATA_ROOT", str(tmp_path))
    assert data_root() == tmp_path
    assert data_root("/elsewhere") == Path("/elsewhere")


@pytest.mark.skipif(not (SHARED_DATA / "MNIST").exists(), reason="../shared/data not present")
def test_full_profile_reads_torchvision_files_and_matches_quick_subset():
    full = load_images("mnist", "test", profile="full", root=SHARED_DATA, download=False)
    assert full.x.shape == (10000, 1, 28, 28)
    assert torch.bincount(full.y).tolist()[:3] == [980, 1135, 1032]
    quick = load_images("mnist", "test", profile="quick")
    # every quick image is one of the real test images
    full_flat = (full.x.flatten(1) * 255).round().to(torch.uint8)
    quick_flat = (quick.x[:20].flatten(1) * 255).round().to(torch.uint8)
    matches = (full_flat[None] == quick_flat[:, None]).all(-1).any(-1)
    assert bool(matches.all())


def test_every_dataset_spec_names_files_for_both_splits():
    for spec in DATASETS.values():
        assert set(spec.files) == {"train", "test"} and spec.licence and spec.citation


def test_subset_and_to():
    data = load_images("usps", "test", profile="quick")
    sub = data.subset(10, torch.Generator().manual_seed(0))
    assert len(sub) == 10 and sub.to("cpu").x.device.type == "cpu"
    with pytest.raises(ValueError, match="subset size must be positive"):
        data.subset(0)


@pytest.mark.skipif(not (SHARED_DATA / "USPS-ESL-variant").exists(), reason="../shared/data not present")
def test_usps_training_split_falls_back_to_the_esl_variant_and_says_so(tmp_path):
    (tmp_path / "USPS").mkdir()
    (tmp_path / "USPS" / "usps.t.bz2").symlink_to(SHARED_DATA / "USPS" / "usps.t.bz2")
    (tmp_path / "USPS-ESL-variant").symlink_to(SHARED_DATA / "USPS-ESL-variant")
    train = load_images("usps", "train", profile="full", root=tmp_path, download=False)
    assert train.x.shape == (7291, 1, 16, 16) and train.source.startswith("USPS-ESL-variant usps.bz2")
    assert train.info["substitute"]["missing"] == str(tmp_path / "USPS" / "usps.bz2")
    assert train.info["substitute"]["used"] == str(tmp_path / "USPS-ESL-variant" / "usps.bz2")
    assert torch.bincount(train.y).tolist()[:3] == [1194, 1005, 731]
    test = load_images("usps", "test", profile="full", root=tmp_path, download=False)
    assert test.source.startswith("torchvision USPS") and "substitute" not in test.info
    with pytest.raises(DatasetUnavailableError, match=r"USPS/usps.bz2"):
        load_images("usps", "train", profile="full", root=tmp_path, download=False, substitute=False)
    (tmp_path / "USPS" / "usps.t.bz2").unlink()  # the test split is never substituted
    with pytest.raises(DatasetUnavailableError, match=r"USPS/usps.t.bz2"):
        load_images("usps", "test", profile="full", root=tmp_path, download=False)
