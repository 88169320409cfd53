"""Tests for gi_core.data.files: checksums beside the files (hashed once per process), and `.npz` archives and image
arrays refused with the dataset, the file and the cause."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

from gi_core.data import files
from gi_core.data.files import (DatasetCorruptError, check_image_arrays, damage_report, read_info, read_npz,
                                recorded_checksum, sha256, verify_checksum, write_checksum)


def archive(path, **arrays):
    """A compressed `.npz` with ``arrays`` (default: 4 USPS-shaped images, 4 labels, an info record)."""
    arrays = arrays or {"x": np.zeros((4, 1, 16, 16), np.uint8), "y": np.arange(4), "info": np.array("{}")}
    np.savez_compressed(path, **arrays)
    return path


def test_sha256_is_the_digest_of_the_file_and_is_computed_once_per_version(tmp_path, monkeypatch):
    path = tmp_path / "a.bin"
    path.write_bytes(b"abc")
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(files.hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert sha256(path) == real(b"abc").hexdigest() == sha256(path) and len(calls) == 1
    path.write_bytes(b"abcd")  # another size: hashed again
    assert sha256(path) == real(b"abcd").hexdigest() and len(calls) == 2


def test_checksum_files_use_the_sha256sum_format(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(b"payload")
    assert recorded_checksum(path) is None
    record = write_checksum(path)
    assert record.name == "data.npz.sha256" and record.read_text() == f"{sha256(path)}  data.npz\n"
    record.write_text(f"{sha256(path)} *data.npz\n")  # sha256sum's binary mode
    assert recorded_checksum(path) == sha256(path)
    record.write_text(f"{sha256(path)}  other.npz\n")
    with pytest.raises(DatasetCorruptError, match=r"not a SHA-256 record of data.npz.*sha256sum data.npz"):
        recorded_checksum(path)


def test_verify_checksum_refuses_a_mismatch_and_says_how_to_rebuild(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(b"payload")
    write_checksum(path)
    verify_checksum(path, "toy", "run make_toy.py")
    path.write_bytes(b"payloaD")
    with pytest.raises(DatasetCorruptError, match=r"^toy: .*data.npz has SHA-256 [0-9a-f]{64}, but [0-9a-f]{64} was "
                                                  r"recorded for it: the file is damaged .*; run make_toy.py$"):
        verify_checksum(path, "toy", "run make_toy.py")
    verify_checksum(path, "toy", "unused", expected=sha256(path))  # an expected digest takes the place of the file's
    with pytest.raises(ValueError, match="expected must be a SHA-256 hex digest"):
        verify_checksum(path, "toy", "unused", expected="abc")


def test_a_missing_checksum_is_refused_or_warned_about(tmp_path):
    path = tmp_path / "data.npz"
    path.write_bytes(b"payload")
    with pytest.raises(DatasetCorruptError, match=r"toy: no SHA-256 recorded for .*data.npz.*; run make_toy.py"):
        verify_checksum(path, "toy", "run make_toy.py")
    with pytest.warns(UserWarning, match=r"loading it unverified.*run make_toy.py.*sha256sum data.npz > data.npz.sha256"):
        verify_checksum(path, "toy", "run make_toy.py", required=False)


def test_read_npz_returns_the_arrays(tmp_path):
    arrays = read_npz(archive(tmp_path / "a.npz"), "toy", ["x", "y"], "rebuild")
    assert set(arrays) == {"x", "y"} and arrays["x"].shape == (4, 1, 16, 16) and arrays["y"].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("damage", "cause"),
    [
        (lambda raw: b"\x00garbage" * 50, r"not an \.npz archive: it does not start like a zip file"),
        (lambda raw: raw[: len(raw) // 2], r"damaged zip archive, most likely truncated"),
        (lambda raw: raw[:60] + b"\xff" * 20 + raw[80:], r"the array 'x' of .* is damaged"),
        (lambda raw: b"", r"is empty \(0 bytes\)"),
    ],
)
def test_a_damaged_npz_names_the_dataset_the_file_and_the_cause(tmp_path, damage, cause):
    """Regression: numpy reported these as 'pickled (object) data ... allow_pickle', BadZipFile or a zlib error."""
    path = archive(tmp_path / "a.npz")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(DatasetCorruptError, match=rf"^toy: .*{cause}.*; run make_toy\.py$") as error:
        read_npz(path, "toy", ["x", "y"], "run make_toy.py")
    assert str(path) in str(error.value) and "pickle" not in str(error.value)


def test_a_single_npy_array_and_a_missing_key_are_named(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    os.replace(tmp_path / "a.npy", tmp_path / "a.npz")
    with pytest.raises(DatasetCorruptError, match=r"holds a single \.npy array, not an \.npz archive"):
        read_npz(tmp_path / "a.npz", "toy", ["x"], "rebuild")
    with pytest.raises(DatasetCorruptError, match=r"^toy: .*b\.npz lacks the array\(s\) x_test \(it holds x, y, info\)"):
        read_npz(archive(tmp_path / "b.npz"), "toy", ["x", "x_test"], "rebuild")
    objects = archive(tmp_path / "c.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetCorruptError, match=r"the array 'x' .* holds Python objects, which are not loaded"):
        read_npz(objects, "toy", ["x"], "rebuild")


@pytest.mark.parametrize(
    ("x", "y", "message"),
    [
        (np.zeros((4, 1, 16, 16), np.uint8), np.arange(3), r"3 labels y for 4 images x"),
        (np.zeros((4, 1, 28, 28), np.uint8), np.arange(4), r"images x must be uint8 of shape \(N, 1, 16, 16\)"),
        (np.zeros((4, 1, 16, 16), np.float32), np.arange(4), r"images x must be uint8 .*got float32"),
        (np.zeros((0, 1, 16, 16), np.uint8), np.arange(0), r"images x is empty"),
        (np.zeros((4, 1, 16, 16), np.uint8), np.arange(4.0), r"labels y must be a 1-D integer array"),
        (np.zeros((4, 1, 16, 16), np.uint8), np.array([0, 1, 10, 2]), r"labels y must lie in 0..9, got 0..10"),
        (np.zeros((4, 1, 16, 16), np.uint8), np.array([0, -1, 2, 3]), r"labels y must lie in 0..9, got -1..3"),
    ],
)
def test_image_arrays_are_checked_against_the_spec(x, y, message):
    """Regression: an archive with 4 images and 3 labels loaded silently."""
    with pytest.raises(DatasetCorruptError, match=rf"^usps \(test split\) in f.npz: {message}"):
        check_image_arrays(x, y, (1, 16, 16), 10, "usps (test split) in f.npz")
    check_image_arrays(np.zeros((4, 1, 16, 16), np.uint8), np.arange(4), (1, 16, 16), 10, "fine")


def test_read_info_wants_a_json_object():
    assert read_info(np.array('{"seed": 0}'), "f.npz") == {"seed": 0}
    with pytest.raises(DatasetCorruptError, match=r"f.npz: info is not valid JSON"):
        read_info(np.array('{"seed": '), "f.npz")
    with pytest.raises(DatasetCorruptError, match=r"f.npz: info must be a JSON object, got list"):
        read_info(np.array("[1]"), "f.npz")
    with pytest.raises(DatasetCorruptError, match=r"f.npz: info must be a 0-d string array .*got int64 of shape \(2,\)"):
        read_info(np.arange(2), "f.npz")


def test_damage_report_finds_empty_and_truncated_idx_files(tmp_path):
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (5, 28, 28))
    (tmp_path / "images-ubyte").write_bytes(header + bytes(100))
    (tmp_path / "labels-ubyte").write_bytes(b"")
    (tmp_path / "fine-ubyte").write_bytes(header + bytes(5 * 28 * 28))
    (tmp_path / "other-ubyte").write_bytes(b"\x01\x02\x03\x04\x05")
    report = damage_report([tmp_path / name for name in ("images-ubyte", "labels-ubyte", "fine-ubyte", "other-ubyte")])
    assert report.startswith("Damaged: ") and "images-ubyte has 116 bytes, but its IDX header announces 5x28x28 " \
        "values (3936 bytes)" in report and "labels-ubyte is empty" in report and "fine-ubyte" not in report
    assert "other-ubyte does not start with an IDX header" in report
    assert damage_report([tmp_path / "fine-ubyte"]) == f"The file(s) read: {tmp_path / 'fine-ubyte'}."
