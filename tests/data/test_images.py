"""Tests for gi_core.data.images: the quick subsets, the full datasets through torchvision, and what is missing or
damaged."""

import bz2
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gi_core.data import images
from gi_core.data.files import DatasetCorruptError, recorded_checksum, sha256, write_checksum
from gi_core.data.images import (DATASETS, QUICK_DATA_DIR, DatasetSpec, DatasetUnavailableError, ImageData, data_root,
                                 load_images, load_usps_esl_variant)
from tests.helpers import SHARED_DATA, load_data_script


def write_idx(path: Path, array: np.ndarray) -> None:
    """``array`` (uint8) as an IDX file, MNIST's format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape) + array.tobytes())


def fake_mnist(root: Path, splits=("train", "test"), n: int = 5) -> dict[str, np.ndarray]:
    """Tiny MNIST files under ``root/MNIST/raw`` for ``splits``; returns the images by split."""
    rng, written = np.random.default_rng(0), {}
    for split in splits:
        prefix = "train" if split == "train" else "t10k"
        written[split] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte", written[split])
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte", np.arange(n, dtype=np.uint8) % 10)
    return written


def fake_usps(path: Path, n: int = 3) -> None:
    """``n`` USPS digits in the LIBSVM text format (labels 1..10, values in [-1, 1]), bzip2-compressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = np.linspace(-1, 1, n * 256).reshape(n, 256)
    lines = [f"{i % 10 + 1} " + " ".join(f"{j + 1}:{v:.4f}" for j, v in enumerate(row)) for i, row in enumerate(rows)]
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))


def quick_folder(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setattr(images, "QUICK_DATA_DIR", tmp_path)
    return tmp_path


def quick_archive(path: Path, n_images: int = 4, n_labels: int = 4, shape=(1, 16, 16), labels=None) -> Path:
    """A quick-subset archive of USPS shape (both splits) with its checksum."""
    y = np.arange(n_labels) % 10 if labels is None else np.asarray(labels)
    arrays = {f"{k}_{s}": v for s in ("train", "test")
              for k, v in (("x", np.zeros((n_images, *shape), np.uint8)), ("y", y))}
    np.savez_compressed(path, info=np.array("{}"), **arrays)
    write_checksum(path)
    return path


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
    with pytest.raises(ValueError, match="name 'mnits' is not a known dataset.*mnist"):
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
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        data.subset(0)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        data.subset(10, generator=0)


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


def test_every_shipped_quick_subset_has_a_matching_checksum():
    shipped = sorted(QUICK_DATA_DIR.glob("*.npz"))
    assert [p.stem for p in shipped] == ["asas_light_curves", "fashion_mnist", "mnist", "mnist_m", "usps"]
    for path in shipped:
        assert recorded_checksum(path) == sha256(path), path


def test_a_quick_subset_that_fails_its_checksum_says_how_to_rebuild_it(monkeypatch, tmp_path):
    """Regression: quick files were loaded without any checksum."""
    path = quick_archive(quick_folder(monkeypatch, tmp_path) / "usps.npz")
    assert len(load_images("usps", "test", profile="quick")) == 4
    raw = path.read_bytes()
    path.write_bytes(raw[:100] + bytes([raw[100] ^ 1]) + raw[101:])
    with pytest.raises(DatasetCorruptError, match=r"usps quick subset: .*usps.npz has SHA-256 .* was recorded for it"
                                                  r".*make_quick_subsets.py --datasets usps.*git checkout"):
        load_images("usps", "test", profile="quick")
    (tmp_path / "usps.npz.sha256").unlink()
    with pytest.raises(DatasetCorruptError, match=r"no SHA-256 recorded for .*usps.npz.*make_quick_subsets.py"):
        load_images("usps", "test", profile="quick")


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (lambda p: p.write_bytes(b"\x00garbage" * 50), r"is not an \.npz archive: it does not start like a zip file"),
        (lambda p: p.write_bytes(quick_archive(p).read_bytes()[:500]), r"damaged zip archive, most likely truncated"),
        (lambda p: np.savez(p, x_test=np.zeros((4, 1, 16, 16), np.uint8), info=np.array("{}")),
         r"lacks the array\(s\) y_test"),
        (lambda p: quick_archive(p, n_labels=3), r"usps \(test split\) in .*usps.npz: 3 labels y for 4 images x"),
        (lambda p: quick_archive(p, shape=(1, 28, 28)), r"images x must be uint8 of shape \(N, 1, 16, 16\)"),
        (lambda p: quick_archive(p, labels=[0, 1, 2, 10]), r"labels y must lie in 0..9, got 0..10"),
    ],
)
def test_a_damaged_quick_subset_names_the_dataset_the_file_and_the_cause(monkeypatch, tmp_path, write, message):
    """Regression: numpy's 'pickled (object) data', BadZipFile or KeyError, or a silent load of 4 images, 3 labels."""
    path = quick_folder(monkeypatch, tmp_path) / "usps.npz"
    write(path)
    write_checksum(path)  # the checksum matches: the contents are at fault
    with pytest.raises(DatasetCorruptError, match=message) as error:
        load_images("usps", "test", profile="quick")
    assert "usps" in str(error.value) and str(path) in str(error.value) and "pickle" not in str(error.value)


def test_only_the_test_files_of_mnist_names_the_missing_training_files(tmp_path):
    """Regression: reported as 'expected file .../t10k-images-idx3-ubyte', which was there."""
    fake_mnist(tmp_path, splits=("test",))
    with pytest.raises(DatasetUnavailableError, match=r"mnist \(test split\) is not available: missing the train "
                       r"split's file\(s\) .*train-images-idx3-ubyte, .*train-labels-idx1-ubyte \(download=False; "
                       r"torchvision's MNIST reads one split only when the files of both are there; the test split's "
                       r"own files are\)") as error:
        load_images("mnist", "test", profile="full", root=tmp_path, download=False)
    assert "t10k" not in str(error.value)


def test_a_truncated_mnist_file_is_named_as_damaged_not_missing(tmp_path):
    """Regression: a truncated file was reported as 'not available: expected file ...'."""
    written = fake_mnist(tmp_path)
    full = load_images("mnist", "train", profile="full", root=tmp_path, download=False)
    assert torch.equal(full.x, torch.from_numpy(written["train"]).float().div(255).unsqueeze(1))
    images_file = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    images_file.write_bytes(images_file.read_bytes()[:100])
    with pytest.raises(DatasetCorruptError, match=r"mnist \(train split\): every file torchvision's MNIST needs is "
                       r"under .*, but it could not read them \(RuntimeError: .*\)\. Damaged: .*train-images-idx3-ubyte "
                       r"has 100 bytes, but its IDX header announces 5x28x28 values \(3936 bytes\)"):
        load_images("mnist", "train", profile="full", root=tmp_path, download=False)


def test_mnist_labels_outside_the_classes_are_refused(tmp_path):
    fake_mnist(tmp_path)
    write_idx(tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte", np.array([0, 1, 2, 3, 12], np.uint8))
    with pytest.raises(DatasetCorruptError, match=r"mnist \(test split\) read by torchvision's MNIST .*labels y must "
                                                  r"lie in 0..9, got 0..12"):
        load_images("mnist", "test", profile="full", root=tmp_path, download=False)


def test_a_truncated_usps_file_is_named_with_its_cause_and_never_substituted(tmp_path, monkeypatch):
    """Regression: a truncated bz2 surfaced as a bare EOFError."""
    fake_usps(tmp_path / "USPS" / "usps.t.bz2")
    assert len(load_images("usps", "test", profile="full", root=tmp_path, download=False)) == 3
    file = tmp_path / "USPS" / "usps.t.bz2"
    file.write_bytes(file.read_bytes()[:200])
    with pytest.raises(DatasetCorruptError, match=r"usps \(test split\): .*could not read them \(EOFError: Compressed "
                                                  r"file ended.*\)\. The file\(s\) read: .*USPS/usps.t.bz2\."):
        load_images("usps", "test", profile="full", root=tmp_path, download=False)
    fake_usps(tmp_path / "USPS-ESL-variant" / "usps.bz2")
    monkeypatch.setitem(images.USPS_ESL_SHA256, "train", sha256(tmp_path / "USPS-ESL-variant" / "usps.bz2"))
    assert load_images("usps", "train", profile="full", root=tmp_path, download=False).info["substitute"]
    (tmp_path / "USPS" / "usps.bz2").write_bytes(b"BZh9 damaged")
    with pytest.raises(DatasetCorruptError, match=r"usps \(train split\).*Invalid data stream"):
        load_images("usps", "train", profile="full", root=tmp_path, download=False)  # damaged: not substituted


def test_the_usps_esl_variant_is_checked_against_its_shipped_checksum(tmp_path, monkeypatch):
    """Regression: the substitute's files were read without any checksum."""
    fake_usps(tmp_path / "usps.t.bz2")
    monkeypatch.setitem(images.USPS_ESL_SHA256, "test", sha256(tmp_path / "usps.t.bz2"))
    data = load_usps_esl_variant("test", tmp_path)
    assert data.x.shape == (3, 1, 16, 16) and data.y.tolist() == [0, 1, 2]
    fake_usps(tmp_path / "usps.t.bz2", n=4)
    with pytest.raises(DatasetCorruptError, match=r"USPS-ESL-variant: .*usps.t.bz2 has SHA-256 .*copy the folder "
                                                  r"USPS-ESL-variant again .*shared/data/README.md"):
        load_usps_esl_variant("test", tmp_path)
    with pytest.raises(DatasetUnavailableError, match=r"USPS-ESL-variant \(train split\) is not available: missing "
                                                      r"file .*usps.bz2"):
        load_usps_esl_variant("train", tmp_path)


@pytest.mark.skipif(not (SHARED_DATA / "USPS-ESL-variant").exists(), reason="../shared/data not present")
def test_the_shipped_esl_checksums_are_those_of_the_shared_files():
    for split, name in images.USPS_ESL_FILES.items():
        assert sha256(SHARED_DATA / "USPS-ESL-variant" / name) == images.USPS_ESL_SHA256[split]


def test_image_data_checks_its_tensors():
    x, y = torch.rand(4, 1, 16, 16), torch.arange(4)
    assert len(ImageData(x, y, "usps", "test", "toy")) == 4 and len(ImageData(torch.rand(4, 1, 5, 5), y, "toy", "train", "toy")) == 4
    with pytest.raises(ValueError, match=r"y must be integer labels of shape \(4,\)"):
        ImageData(x, y[:3], "usps", "test", "toy")
    with pytest.raises(ValueError, match=r"x must hold usps images of shape \(N, 1, 16, 16\)"):
        ImageData(torch.rand(4, 1, 28, 28), y, "usps", "test", "toy")
    with pytest.raises(ValueError, match=r"x must hold images in \[0, 1\]"):
        ImageData(x + 1, y, "usps", "test", "toy")
    with pytest.raises(ValueError, match=r"y must hold labels in 0..9, got 0..12"):
        ImageData(x, torch.tensor([0, 1, 2, 12]), "usps", "test", "toy")
    with pytest.raises(ValueError, match=r"device 'gpu' is not a device string"):
        ImageData(x, y, "usps", "test", "toy").to("gpu")


def test_dataset_spec_checks_its_fields():
    spec = DATASETS["mnist"]
    fields = dict(torchvision_class=spec.torchvision_class, subfolder="", shape=(1, 28, 28), num_classes=10,
                  files=spec.files, source="s", licence="l", citation="c")
    assert DatasetSpec(**fields).shape == (1, 28, 28)
    with pytest.raises(ValueError, match="unknown torchvision_class 'MINST'"):
        DatasetSpec(**{**fields, "torchvision_class": "MINST"})
    with pytest.raises(ValueError, match="build_command must be given exactly when torchvision_class is empty"):
        DatasetSpec(**{**fields, "torchvision_class": ""})
    with pytest.raises(ValueError, match="files must map each split"):
        DatasetSpec(**{**fields, "files": {"train": "a"}})


@pytest.mark.skipif(not (SHARED_DATA / "USPS-ESL-variant").exists(), reason="../shared/data not present")
def test_make_quick_subsets_writes_the_shipped_arrays_and_their_checksum(tmp_path, monkeypatch):
    script = load_data_script("make_quick_subsets")
    monkeypatch.setattr(script, "QUICK_DATA_DIR", tmp_path)
    monkeypatch.setattr(sys, "argv", ["make_quick_subsets.py", "--root", str(SHARED_DATA), "--datasets", "usps"])
    script.main()
    assert recorded_checksum(tmp_path / "usps.npz") == sha256(tmp_path / "usps.npz")
    with np.load(tmp_path / "usps.npz") as rebuilt, np.load(QUICK_DATA_DIR / "usps.npz") as shipped:
        assert sorted(rebuilt.files) == sorted(shipped.files)
        assert all(np.array_equal(rebuilt[key], shipped[key]) for key in shipped.files)
