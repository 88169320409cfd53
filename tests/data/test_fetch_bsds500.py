"""Tests for data_scripts/fetch_bsds500.py: the training images are kept, verified and placed, or refused by name."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.helpers import SHARED_DATA, load_data_script


fb = load_data_script("fetch_bsds500")
TRAIN = SHARED_DATA / "BSDS500" / "BSR" / "BSDS500" / "data" / "images" / "train"
needs_bsds = pytest.mark.skipif(not TRAIN.is_dir(), reason=f"the BSDS500 images are not at {TRAIN}")


def archive(files: dict[str, bytes]) -> bytes:
    """A .tar.gz laid out as GitHub's archive of the mirror: ``BSDS500-<commit>/<path>``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(f"BSDS500-{fb.COMMIT}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def repository_files() -> dict[str, bytes]:
    files = {f"{fb.MEMBER_DIR}{p.name}": p.read_bytes() for p in sorted(TRAIN.glob("*.jpg"))}
    files["BSDS500/data/images/test/100007.jpg"] = b"not a training image"
    files["BSDS500/data/groundTruth/train/100075.mat"] = b"segmentation"
    return files


def test_the_manifest_lists_200_training_images() -> None:
    manifest = fb.read_manifest()
    assert len(manifest) == 200 and all(name.endswith(".jpg") for name in manifest)
    assert len(set(manifest.values())) == 200


@needs_bsds
def test_the_training_images_are_extracted_verified(tmp_path) -> None:
    target = fb.extract_train_images(archive(repository_files()), tmp_path, fb.read_manifest())
    assert target == tmp_path / fb.TRAIN_DIR
    names = sorted(p.name for p in target.iterdir())
    assert names == sorted(fb.read_manifest())
    assert (target / "100075.jpg").read_bytes() == (TRAIN / "100075.jpg").read_bytes()
    assert not any(p.name.startswith(".train-") for p in target.parent.iterdir())


@needs_bsds
@pytest.mark.parametrize(("change", "message"), [
    (lambda files: files.pop(f"{fb.MEMBER_DIR}100075.jpg"), r"missing \['100075.jpg'\] \(1\)"),
    (lambda files: files.__setitem__(f"{fb.MEMBER_DIR}999999.jpg", b"x"), r"unexpected \['999999.jpg'\] \(1\)"),
    (lambda files: files.__setitem__(f"{fb.MEMBER_DIR}100080.jpg", b"tampered"), r"mismatch \['100080.jpg'\] \(1\)"),
])
def test_a_wrong_archive_is_refused_and_leaves_nothing(tmp_path, change, message) -> None:
    files = repository_files()
    change(files)
    with pytest.raises(ValueError, match=message):
        fb.extract_train_images(archive(files), tmp_path, fb.read_manifest())
    assert not (tmp_path / "BSDS500").exists()


def test_a_malformed_manifest_is_refused(tmp_path) -> None:
    bad = tmp_path / "m.sha256"
    bad.write_text("abc  1.jpg\n")
    with pytest.raises(ValueError, match="line 1"):
        fb.read_manifest(bad)
