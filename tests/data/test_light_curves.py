"""Tests for gi_core.data.light_curves: the text format, the ASAS archive (real and synthetic, damaged or missing),
the shipped quick subset, the set's checks and padding."""

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from gi_core.data import light_curves as lc
from gi_core.data.files import DatasetCorruptError, recorded_checksum, sha256, write_checksum
from gi_core.data.images import DatasetUnavailableError
from gi_core.data.light_curve_periods import estimate_period
from gi_core.data.light_curves import (FIVE_CLASSES, LightCurveSet, load_asas, pad_light_curves, read_asas_archive,
                                       read_light_curve_csv, read_quick_subset, write_quick_subset)
from tests.helpers import SHARED_DATA, load_data_script

ASAS = SHARED_DATA / "light_curves" / "ASAS"
ROWS = "1.0,10.0,0.1\n3.0,10.5,0.2\n2.0,10.2,0.1\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def fake_archive(folder: Path, stars: dict[str, str], texts: dict[str, str] | None = None) -> tuple[Path, Path]:
    """A tarball of ``<id>.dat`` files (``texts``, default :data:`ROWS` for every star) and its classes file."""
    archive = folder / "lc.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for star in (texts or stars):
            data = (texts or {}).get(star, ROWS).encode()
            info = tarfile.TarInfo(f"asas_training_set/{star}.dat")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    classes = write(folder / "classes.dat", "filename,class\n" + "".join(f"{s},{c}\n" for s, c in stars.items()))
    return archive, classes


def test_read_light_curve_csv_reads_commas_whitespace_headers_and_comments_sorted_by_time(tmp_path):
    expected = np.array([[1.0, 10.0, 0.1], [2.0, 10.2, 0.1], [3.0, 10.5, 0.2]])
    comma = read_light_curve_csv(write(tmp_path / "a.csv", "HJD,mag,err\n# a comment\n" + ROWS))
    spaced = read_light_curve_csv(write(tmp_path / "b.dat", ROWS.replace(",", "  ") + "\n# end\n"))
    assert comma.dtype == np.float64 and np.array_equal(comma, expected) and np.array_equal(spaced, expected)


@pytest.mark.parametrize("text, message", [
    ("1,2,0.1\n2,nan,0.1\n3,4,0.1\n", r"line 2: non-finite"),
    ("1,2,0.1\n2,3,0\n3,4,0.1\n", r"line 2: the error 0.0 is not positive"),
    ("1,2,0.1\n2,3,0.1\n", r"2 observation\(s\)"),
    ("1,2,0.1\n2,3\n3,4,0.1\n", r"line 2: expected 3 values"),
    ("1,2,0.1\n2,x,0.1\n3,4,0.1\n", r"line 2: '2,x,0.1' is not three numbers"),
])
def test_read_light_curve_csv_names_the_file_and_line_of_a_bad_value(tmp_path, text, message):
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(DatasetCorruptError, match=rf"bad.csv.*{message}"):
        read_light_curve_csv(path)
    with pytest.raises(DatasetUnavailableError, match="not a file"):
        read_light_curve_csv(tmp_path / "missing.csv")


def test_read_asas_archive_reads_the_classes_asked_for_in_their_order(tmp_path):
    archive, classes = fake_archive(tmp_path, {"1": "W_Ursae_Maj", "2": "Mira", "3": "Classical_Cepheid"})
    curve_set = read_asas_archive(archive, classes)
    assert curve_set.star_ids == ("1", "3") and curve_set.class_names == ("Classical_Cepheid", "W_Ursae_Maj")
    assert curve_set.labels.tolist() == [1, 0] and curve_set.periods is None
    assert np.array_equal(curve_set.curves[0][:, 0], [1.0, 2.0, 3.0]) and "Richards" in curve_set.citation
    extra = read_asas_archive(archive, classes, ("Mira", "W_Ursae_Maj"))
    assert extra.star_ids == ("1", "2") and extra.labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"classes: none of them is in .*Classical_Cepheid, Mira"):
        read_asas_archive(archive, classes, ("Delta_Scuti",))


def test_read_asas_archive_refuses_missing_damaged_or_incomplete_files(tmp_path):
    archive, classes = fake_archive(tmp_path, {"1": "Beta_Persei", "2": "Beta_Persei"})
    with pytest.raises(DatasetUnavailableError, match=r"missing file .*nothing.tar.gz.*shared/data/README.md"):
        read_asas_archive(tmp_path / "nothing.tar.gz", classes)
    with pytest.raises(DatasetCorruptError, match="has SHA-256 .* but 0+ was recorded"):
        read_asas_archive(archive, classes, archive_sha256="0" * 64)
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:60])
    with pytest.raises(DatasetCorruptError, match=r"cut.tar.gz is a damaged tar.gz archive"):
        read_asas_archive(truncated, classes)
    partial, _ = fake_archive(tmp_path, {"1": "Beta_Persei", "2": "Beta_Persei"}, texts={"1": ROWS})
    with pytest.raises(DatasetCorruptError, match=r"lacks 1 curve\(s\) listed .*first: 2.dat"):
        read_asas_archive(partial, classes)
    bad, _ = fake_archive(tmp_path, {"1": "Beta_Persei"}, texts={"1": "1,2,0.1\n2,3,-1\n3,4,0.1\n"})
    with pytest.raises(DatasetCorruptError, match=r"lc.tar.gz:1.dat, line 2: the error -1.0"):
        read_asas_archive(bad, write(tmp_path / "c1.dat", "filename,class\n1,Beta_Persei\n"))


def test_the_quick_subset_is_27_real_stars_per_class_with_periods_and_a_checksum():
    quick = load_asas("quick")
    assert quick.class_names == FIVE_CLASSES and np.bincount(quick.labels).tolist() == [27] * 5
    assert recorded_checksum(lc.QUICK_DATA_DIR / lc.QUICK_FILE) == sha256(lc.QUICK_DATA_DIR / lc.QUICK_FILE)
    assert quick.periods.dtype == np.float64 and (quick.periods > 0.1).all()
    lengths = [len(c) for c in quick.curves]
    assert min(lengths) >= 50 and max(lengths) > 1000  # full-length curves, not cut to 200
    medians = [np.median(quick.periods[quick.labels == k]) for k in range(5)]
    low, high = [1, 20, 0.5, 0.4, 0.25], [50, 1000, 10, 0.9, 0.6]  # the classes' known period ranges (days)
    assert all(lo < m < hi for lo, m, hi in zip(low, medians, high)), medians


def test_a_tampered_quick_subset_is_refused_with_how_to_rebuild_it(tmp_path):
    path = tmp_path / lc.QUICK_FILE
    path.write_bytes((lc.QUICK_DATA_DIR / lc.QUICK_FILE).read_bytes())
    write_checksum(path)
    assert read_quick_subset(path).star_ids == load_asas("quick").star_ids
    path.write_bytes(path.read_bytes()[:-10] + b"0" * 10)
    with pytest.raises(DatasetCorruptError, match=r"ASAS quick subset: .* was recorded.*make_light_curve_subset.py"):
        read_quick_subset(path)
    with pytest.raises(DatasetUnavailableError, match="quick subset is missing"):
        read_quick_subset(tmp_path / "none.npz")


def test_write_quick_subset_round_trips(tmp_path):
    curves = tuple(np.column_stack([np.arange(n, dtype=float), np.ones(n), np.full(n, 0.1)]) for n in (3, 5))
    curve_set = LightCurveSet(("a", "b"), ("x", "y"), np.array([1, 0]), curves, np.array([0.5, 3.0]), "toy", "c")
    path = write_quick_subset(tmp_path / "s.npz", curve_set, {"citation": "c"})
    write_checksum(path)
    back = read_quick_subset(path)
    assert back.star_ids == ("a", "b") and back.labels.tolist() == [1, 0] and back.periods.tolist() == [0.5, 3.0]
    assert all(np.array_equal(x, y) for x, y in zip(back.curves, curves))


@pytest.mark.skipif(not ASAS.exists(), reason="../shared/data not present")
def test_the_full_archive_holds_the_338_five_class_stars_and_the_quick_subset_is_drawn_from_it():
    full = load_asas("full", SHARED_DATA)
    assert np.bincount(full.labels).tolist() == [89, 68, 27, 86, 68] and full.periods is None
    quick = load_asas("quick")
    where = {star: i for i, star in enumerate(full.star_ids)}
    assert all(np.array_equal(full.curves[where[s]], c) for s, c in zip(quick.star_ids, quick.curves))
    assert [full.labels[where[s]] for s in quick.star_ids] == quick.labels.tolist()
    script = load_data_script("make_light_curve_subset")
    chosen = script.chosen_stars(full.labels, 27, 0)
    assert tuple(full.star_ids[i] for i in chosen) == quick.star_ids
    for i in (0, 60):  # the shipped periods are estimate_period's at its defaults
        assert estimate_period(*quick.curves[i].T).period == pytest.approx(quick.periods[i], rel=1e-12)


def test_light_curve_set_checks_its_fields_and_selects_stars():
    curves = tuple(np.column_stack([np.arange(4.0), np.arange(4.0), np.ones(4)]) for _ in range(3))
    curve_set = LightCurveSet(("a", "b", "c"), ("x", "y"), np.array([0, 1, 1]), curves, None, "toy", "c")
    sub = curve_set.subset([2, 0])
    assert sub.star_ids == ("c", "a") and sub.labels.tolist() == [1, 0] and sub.periods is None
    assert curve_set.with_periods(np.array([1.0, 2.0, 3.0])).subset([1]).periods.tolist() == [2.0]
    with pytest.raises(ValueError, match=r"labels must lie in 0..1"):
        LightCurveSet(("a", "b", "c"), ("x", "y"), np.array([0, 1, 2]), curves, None, "toy", "c")
    with pytest.raises(ValueError, match=r"curves\[1\] must hold finite values, positive errors"):
        LightCurveSet(("a", "b"), ("x",), np.zeros(2, np.int64), (curves[0], curves[1][::-1]), None, "toy", "c")
    with pytest.raises(ValueError, match="periods must be 3 positive"):
        curve_set.with_periods(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="indices must lie"):
        curve_set.subset([3])


def test_pad_light_curves_pads_with_time_0_value_0_error_1():
    a, b = np.array([[0.1, 1.0, 0.5], [0.4, -1.0, 0.2]]), np.array([[0.3, 2.0, 0.3]])
    padded = pad_light_curves([a, b], length=3, dtype=torch.float64)
    assert padded.mask.tolist() == [[True, True, False], [True, False, False]]
    assert padded.time.tolist() == [[0.1, 0.4, 0.0], [0.3, 0.0, 0.0]]
    assert padded.value.tolist() == [[1.0, -1.0, 0.0], [2.0, 0.0, 0.0]]
    assert padded.error.tolist() == [[0.5, 0.2, 1.0], [0.3, 1.0, 1.0]]
    assert pad_light_curves([a, b]).time.shape == (2, 2)
    with pytest.raises(ValueError, match="shorter than the longest curve"):
        pad_light_curves([a, b], length=1)


@pytest.mark.skipif(not ASAS.exists(), reason="../shared/data not present")
def test_load_asas_downloads_missing_files_with_their_md5_and_says_so_when_it_cannot(tmp_path, monkeypatch):
    import shutil

    import torchvision.datasets.utils as tv_utils

    calls = []

    def fake_download(url, root, filename, md5):  # a copy of the shared file stands in for the network
        calls.append((url, filename, md5))
        shutil.copy(ASAS / filename, Path(root) / filename)

    monkeypatch.setattr(tv_utils, "download_url", fake_download)
    full = load_asas("full", tmp_path)
    assert np.bincount(full.labels).tolist() == [89, 68, 27, 86, 68]
    assert [c[1] for c in calls] == ["asas_training_set.tar.gz", "asas_training_set_classes.dat"]
    assert calls[0][0] == f"{lc.ASAS_URL}/asas_training_set.tar.gz" and calls[0][2] == lc.ASAS_MD5["archive"]
    load_asas("full", tmp_path)  # present now: nothing fetched again
    assert len(calls) == 2

    def offline(url, root, filename, md5):
        raise OSError("no network")

    monkeypatch.setattr(tv_utils, "download_url", offline)
    with pytest.warns(UserWarning, match="could not download the ASAS light curves.*no network"):
        with pytest.raises(DatasetUnavailableError, match="missing file"):
            load_asas("full", tmp_path / "empty")
    with pytest.raises(DatasetUnavailableError, match="missing file"):
        load_asas("full", tmp_path / "empty", download=False)
