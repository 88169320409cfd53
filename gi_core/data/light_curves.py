"""Light curves of periodic variable stars: text files, the ASAS training set (Richards et al. 2012) and padding.

A light curve is an ``(n, 3)`` float64 array of observations ``(time in days, magnitude, magnitude error)`` sorted
by time. Two sources, as for the images (:mod:`gi_core.data.images`):

* ``quick``: 27 stars of each of the five classes of Astorga (2021, Table 9.3 b) at full length with their periods,
  shipped as ``gi_core/data/quick/asas_light_curves.npz`` (with its SHA-256), built by
  ``data_scripts/make_light_curve_subset.py``;
* ``full``: the 810 curves of ``asas_training_set.tar.gz`` with ``asas_training_set_classes.dat`` under
  ``<data root>/light_curves/ASAS`` (``GI_DATA_ROOT``), read from the archive without extracting it, checked against
  the SHA-256 of :data:`ASAS_SHA256`; no periods (estimate them with :mod:`gi_core.data.light_curve_periods`).

Classes are numbered in :data:`FIVE_CLASSES` order (the thesis's table order), stars in the classes file's order.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from gi_core.data.files import DatasetCorruptError, read_info, read_npz, verify_checksum
from gi_core.data.images import DATA_ROOT_ENV, QUICK_DATA_DIR, DatasetUnavailableError, data_root
from gi_core.runtime import current_profile
from gi_core.validation import (check_array, check_choice, check_instance, check_label_array, check_names,
                                check_path, check_positive_int, check_str)

FIVE_CLASSES = ("Classical_Cepheid", "Semireg_PV", "Beta_Persei", "RR_Lyrae_FM", "W_Ursae_Maj")
"""The ASAS classes of Astorga (2021, Table 9.3 b), in the table's order: label ``k`` is ``FIVE_CLASSES[k]``."""
ASAS_FOLDER = Path("light_curves") / "ASAS"
ASAS_FILES = {"archive": "asas_training_set.tar.gz", "classes": "asas_training_set_classes.dat"}
ASAS_SHA256 = {
    "archive": "6c66c4435b03576a3b20416fac9b7b9453d2a9189e1af745733816a0715e08fd",
    "classes": "572f628cccf3ce529326c085034ed310c79503fba3a9ac2447e2959ae540d85f",
}
"""SHA-256 of the shared ASAS files."""
ASAS_MD5 = {"archive": "02c65e90d23999ec1c59ad56a78de477", "classes": "315852323c6594611f75d786ac651260"}
"""Their MD5s (as in ``shared/data/MD5SUMS``), which torchvision's download checks."""
ASAS_URL = ("https://raw.githubusercontent.com/cesium-ml/cesium-data/2ad85e77b6c1fea00124e055cedbc45181e9f6ba/"
            "asas_training")
"""Where the files come from: cesium-data's ``asas_training/`` at the commit the shared copy was taken from."""
ASAS_CITATION = ("J. W. Richards et al., Construction of a Calibrated Probabilistic Classification Catalog: "
                 "Application to 50k Variable Sources in the All-Sky Automated Survey, ApJS 203(2):32, 2012; "
                 "ASAS: G. Pojmanski, Acta Astronomica 52, 2002")
QUICK_FILE = "asas_light_curves.npz"
QUICK_KEYS = ("star_ids", "class_names", "labels", "lengths", "observations", "periods", "info")
SOURCES = ("quick", "full")


@dataclass(frozen=True)
class LightCurveSet:
    """Light curves with their classes: ``curves[i]`` (``(n_i, 3)`` float64, time-sorted) of star ``star_ids[i]``
    has class ``class_names[labels[i]]``; ``periods`` (days, float64) or ``None`` when not yet estimated."""

    star_ids: tuple[str, ...]
    class_names: tuple[str, ...]
    labels: np.ndarray
    curves: tuple[np.ndarray, ...]
    periods: np.ndarray | None
    source: str
    citation: str

    def __post_init__(self) -> None:
        for name in ("star_ids", "class_names"):
            check_names(getattr(self, name), name)
        check_str(self.source, "source")
        check_str(self.citation, "citation")
        labels = check_label_array(self.labels, "labels")
        n = len(self.star_ids)
        if labels.shape != (n,) or len(self.curves) != n:
            raise ValueError(f"star_ids, labels and curves must have one length, got {n}, {labels.shape[0]}, "
                             f"{len(self.curves)}")
        if labels.min() < 0 or labels.max() >= len(self.class_names):
            raise ValueError(f"labels must lie in 0..{len(self.class_names) - 1}, got {labels.min()}..{labels.max()}")
        for i, curve in enumerate(self.curves):
            check_curve(curve, f"curves[{i}]")
        object.__setattr__(self, "labels", labels.astype(np.int64))
        if self.periods is not None:
            periods = np.asarray(check_array(self.periods, "periods", 1), dtype=np.float64)
            if periods.shape != (n,) or (periods <= 0).any():
                raise ValueError(f"periods must be {n} positive numbers, got shape {periods.shape}")
            object.__setattr__(self, "periods", periods)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LightCurveSet:
        """The stars ``indices`` (in that order), with the same classes, source and citation."""
        index = check_label_array(np.asarray(indices), "indices")
        if index.min() < 0 or index.max() >= len(self.star_ids):
            raise ValueError(f"indices must lie in 0..{len(self.star_ids) - 1}, got {index.min()}..{index.max()}")
        periods = None if self.periods is None else self.periods[index]
        return replace(self, star_ids=tuple(self.star_ids[i] for i in index), labels=self.labels[index],
                       curves=tuple(self.curves[i] for i in index), periods=periods)

    def with_periods(self, periods: np.ndarray) -> LightCurveSet:
        """The same curves with ``periods`` (days, one per star)."""
        return replace(self, periods=check_array(periods, "periods", 1))


def check_curve(curve: object, name: str) -> np.ndarray:
    """Raise unless ``curve`` is an ``(n, 3)`` float64 array (``n >= 3``) of finite values with positive errors,
    sorted by time; return it. ``name`` labels it in the messages."""
    check_str(name, "name")
    check_instance(curve, np.ndarray, name)
    if curve.dtype != np.float64 or curve.ndim != 2 or curve.shape[1] != 3 or curve.shape[0] < 3:
        raise ValueError(f"{name} must be a float64 array of shape (n >= 3, 3), got {curve.dtype} {curve.shape}")
    if not np.isfinite(curve).all() or (curve[:, 2] <= 0).any() or (np.diff(curve[:, 0]) < 0).any():
        raise ValueError(f"{name} must hold finite values, positive errors and increasing times")
    return curve


def _parse_curve(text: str, where: str) -> np.ndarray:
    """The observations of the text ``text`` (see :func:`read_light_curve_csv`); ``where`` names it in errors."""
    rows, first = [], True
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        header, first = first, False
        fields = content.replace(",", " ").split()
        try:
            values = [float(field) for field in fields]
        except ValueError:
            if header:
                continue
            raise DatasetCorruptError(f"{where}, line {number}: {line.strip()!r} is not three numbers") from None
        if len(values) != 3:
            raise DatasetCorruptError(f"{where}, line {number}: expected 3 values (time, mag, err), got {len(values)}")
        if not all(np.isfinite(values)):
            raise DatasetCorruptError(f"{where}, line {number}: non-finite value in {line.strip()!r}")
        if values[2] <= 0:
            raise DatasetCorruptError(f"{where}, line {number}: the error {values[2]} is not positive")
        rows.append(values)
    if len(rows) < 3:
        raise DatasetCorruptError(f"{where}: {len(rows)} observation(s); a light curve needs at least 3")
    curve = np.array(rows, dtype=np.float64)
    return curve[np.argsort(curve[:, 0], kind="stable")]


def read_light_curve_csv(path: str | os.PathLike) -> np.ndarray:
    """The light curve in the text file ``path``: lines ``time, mag, err`` separated by commas or whitespace, with
    an optional header line and ``#`` comments; an ``(n, 3)`` float64 array sorted by time. Non-finite values,
    non-positive errors and fewer than 3 observations raise :class:`DatasetCorruptError` naming the file and line."""
    path = check_path(path, "path")
    if not path.is_file():
        raise DatasetUnavailableError(f"path {path} is not a file")
    return _parse_curve(path.read_text(), str(path))


def _read_classes(path: Path) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = [field.strip() for field in line.split(",")]
        if number == 1 and fields[0] == "filename" or not line.strip():
            continue
        if len(fields) != 2 or not all(fields):
            raise DatasetCorruptError(f"{path}, line {number}: expected 'filename,class', got {line!r}")
        rows.append((fields[0], fields[1]))
    return rows


def read_asas_archive(archive: str | os.PathLike, classes_file: str | os.PathLike,
                      classes: Sequence[str] = FIVE_CLASSES, archive_sha256: str | None = None,
                      classes_sha256: str | None = None) -> LightCurveSet:
    """The light curves of the stars of ``classes`` from the tarball ``archive`` of
    ``<id>.dat`` files, read in memory (no extraction), classes from ``classes_file`` (``filename,class``). ``class_names`` are the classes of ``classes`` present in
    the file, in the order of ``classes`` (labels index them); stars are in the file's order.

    Given checksums are verified first (:func:`~gi_core.data.files.verify_checksum`). A missing file raises
    :class:`~gi_core.data.images.DatasetUnavailableError`, a damaged one (checksum, truncated archive, a curve
    listed but absent, a bad line) :class:`~gi_core.data.files.DatasetCorruptError`.
    """
    archive, classes_file = check_path(archive, "archive"), check_path(classes_file, "classes_file")
    classes = check_names(classes, "classes")
    for name, digest in (("archive_sha256", archive_sha256), ("classes_sha256", classes_sha256)):
        if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise ValueError(f"{name} must be a SHA-256 hex digest (64 lower-case hex digits) or None, got {digest!r}")
    restore = (f"load_asas('full') downloads it where the network allows ({ASAS_URL}); otherwise copy "
               f"{ASAS_FOLDER} from the shared data folder (shared/data/README.md, section 'Light curves') and "
               f"point {DATA_ROOT_ENV} at the folder above light_curves/")
    for path, expected in ((archive, archive_sha256), (classes_file, classes_sha256)):
        if not path.is_file():
            raise DatasetUnavailableError(f"ASAS light curves are not available: missing file {path}; {restore}")
        if expected is not None:
            verify_checksum(path, "ASAS light curves", restore, expected=expected)
    rows = _read_classes(classes_file)
    known = sorted({name for _, name in rows})
    classes = tuple(name for name in classes if name in known)
    if not classes:
        raise ValueError(f"classes: none of them is in {classes_file}; its classes: {', '.join(known)}")
    wanted = {star: classes.index(name) for star, name in rows if name in classes}
    texts: dict[str, str] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                star = Path(member.name).stem
                if member.isfile() and member.name.endswith(".dat") and star in wanted:
                    texts[star] = tar.extractfile(member).read().decode()
    except (tarfile.TarError, EOFError, OSError, zlib.error, UnicodeDecodeError) as error:
        raise DatasetCorruptError(f"ASAS light curves: {archive} is a damaged tar.gz archive ({error}); "
                                  f"{restore}") from error
    if missing := [star for star in wanted if star not in texts]:
        raise DatasetCorruptError(f"ASAS light curves: {archive} lacks {len(missing)} curve(s) listed in "
                                  f"{classes_file} (first: {missing[0]}.dat); {restore}")
    stars = tuple(wanted)
    curves = tuple(_parse_curve(texts[star], f"{archive}:{star}.dat") for star in stars)
    return LightCurveSet(stars, classes, np.array([wanted[s] for s in stars], dtype=np.int64), curves, None,
                         f"ASAS training set {archive.name}", ASAS_CITATION)


def fetch_asas(folder: str | os.PathLike) -> None:
    """Download the ASAS files that ``folder`` lacks from their public source (:data:`ASAS_URL`), each checked
    against its MD5 by ``torchvision.datasets.utils.download_url`` (and against its SHA-256 when it is read)."""
    folder = check_path(folder, "folder")
    from torchvision.datasets.utils import download_url

    folder.mkdir(parents=True, exist_ok=True)
    for key, name in ASAS_FILES.items():
        if not (folder / name).is_file():
            download_url(f"{ASAS_URL}/{name}", str(folder), name, ASAS_MD5[key])


def load_asas(source: str | None = None, root: str | os.PathLike | None = None,
              download: bool = True) -> LightCurveSet:
    """The five-class ASAS light curves: ``source="quick"`` the shipped subset with its periods (checksum
    verified), ``"full"`` all of them from ``<data root>/light_curves/ASAS`` (``root``, else ``GI_DATA_ROOT``),
    without periods, fetched there first when missing and ``download`` (:func:`fetch_asas`; on Colab, for
    example); ``None`` follows the profile (``GI_PROFILE``)."""
    source = current_profile() if source is None else source
    check_choice(source, SOURCES, "source")
    check_instance(download, bool, "download")
    folder = data_root(root) / ASAS_FOLDER
    if source == "full" and download and not all((folder / name).is_file() for name in ASAS_FILES.values()):
        try:
            fetch_asas(folder)
        except (OSError, RuntimeError) as error:  # offline: read_asas_archive names the missing file below
            warnings.warn(f"could not download the ASAS light curves into {folder}: {error}", stacklevel=2)
    if source == "full":
        return read_asas_archive(folder / ASAS_FILES["archive"], folder / ASAS_FILES["classes"], FIVE_CLASSES,
                                 ASAS_SHA256["archive"], ASAS_SHA256["classes"])
    return read_quick_subset(QUICK_DATA_DIR / QUICK_FILE)


def read_quick_subset(path: str | os.PathLike) -> LightCurveSet:
    """The light-curve subset ``path`` written by ``data_scripts/make_light_curve_subset.py``, checked against its
    ``.sha256`` and for consistent arrays (else :class:`~gi_core.data.files.DatasetCorruptError`)."""
    path = check_path(path, "path")
    rebuild = (f"rebuild it with `{DATA_ROOT_ENV}=<folder with light_curves/ASAS> python "
               f"data_scripts/make_light_curve_subset.py` (which writes {path.name}.sha256 too), or restore the "
               f"shipped files with `git checkout -- gi_core/data/quick/{path.name}*`")
    if not path.is_file():
        raise DatasetUnavailableError(f"the ASAS quick subset is missing ({path}); {rebuild}")
    verify_checksum(path, "ASAS quick subset", rebuild)
    arrays = read_npz(path, "ASAS quick subset", QUICK_KEYS, rebuild)
    info = read_info(arrays["info"], str(path))
    lengths, observations = arrays["lengths"], arrays["observations"]
    if lengths.ndim != 1 or observations.ndim != 2 or int(lengths.sum()) != observations.shape[0]:
        raise DatasetCorruptError(f"{path}: lengths (sum {int(lengths.sum())}) do not match the "
                                  f"{observations.shape[0]} observations; {rebuild}")
    curves = tuple(np.split(observations.astype(np.float64), np.cumsum(lengths)[:-1]))
    try:
        return LightCurveSet(tuple(map(str, arrays["star_ids"])), tuple(map(str, arrays["class_names"])),
                             arrays["labels"], curves, arrays["periods"], f"ASAS quick subset {path.name}",
                             str(info.get("citation", ASAS_CITATION)))
    except (TypeError, ValueError) as error:
        raise DatasetCorruptError(f"{path}: inconsistent arrays ({error}); {rebuild}") from error


class PaddedCurves(NamedTuple):
    """Curves padded to one length: ``time``, ``value``, ``error`` ``(N, T)`` and ``mask`` ``(N, T)`` (True where
    observed; padding holds time 0, value 0, error 1)."""

    time: Tensor
    value: Tensor
    error: Tensor
    mask: Tensor


def pad_light_curves(curves: Sequence[np.ndarray], length: int | None = None,
                     dtype: torch.dtype = torch.float32) -> PaddedCurves:
    """The ``(n_i, 3)`` arrays ``curves`` (time or phase, value, error) as :class:`PaddedCurves` of ``length``
    columns (default: the longest curve), in ``dtype``; a curve longer than ``length`` is refused (subsample it
    first, as :func:`~gi_core.data.light_curve_folding.fold_light_curves` does)."""
    if isinstance(curves, (str, bytes, np.ndarray)) or not isinstance(curves, Sequence) or not curves:
        raise ValueError(f"curves must be a non-empty sequence of (n, 3) arrays, got {type(curves).__name__}")
    arrays = [check_array(c, f"curves[{i}]", 2) for i, c in enumerate(curves)]
    if bad := [i for i, a in enumerate(arrays) if a.shape[1] != 3]:
        raise ValueError(f"curves[{bad[0]}] must have 3 columns (time, value, error), got {arrays[bad[0]].shape}")
    longest = max(a.shape[0] for a in arrays)
    length = longest if length is None else check_positive_int(length, "length")
    if longest > length:
        raise ValueError(f"length {length} is shorter than the longest curve ({longest} observations)")
    check_instance(dtype, torch.dtype, "dtype")
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    out = np.zeros((3, len(arrays), length))
    out[2] = 1.0
    mask = np.zeros((len(arrays), length), dtype=bool)
    for i, array in enumerate(arrays):
        out[:, i, : array.shape[0]] = array.T
        mask[i, : array.shape[0]] = True
    time, value, error = (torch.from_numpy(x).to(dtype) for x in out)
    return PaddedCurves(time, value, error, torch.from_numpy(mask))


def write_quick_subset(path: str | os.PathLike, curve_set: LightCurveSet, info: dict) -> Path:
    """Write ``curve_set`` (with periods) and the JSON record ``info`` as the ``.npz`` :func:`read_quick_subset`
    reads (atomically: a temporary file, then renamed); return ``path``."""
    path = check_path(path, "path")
    check_instance(curve_set, LightCurveSet, "curve_set")
    check_instance(info, dict, "info")
    if curve_set.periods is None:
        raise ValueError("curve_set has no periods: estimate them first (gi_core.data.light_curve_periods)")
    arrays = {"star_ids": np.array(curve_set.star_ids), "class_names": np.array(curve_set.class_names),
              "labels": curve_set.labels, "lengths": np.array([len(c) for c in curve_set.curves], dtype=np.int64),
              "observations": np.concatenate(curve_set.curves), "periods": curve_set.periods,
              "info": np.array(json.dumps(info))}
    tmp = path.with_name(path.stem + ".tmp.npz")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)
    return path
