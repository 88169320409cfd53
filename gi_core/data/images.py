"""Image datasets as tensors.

Two sources, chosen by the profile (``GI_PROFILE``):

* ``quick``: small real subsets shipped inside the package (``gi_core/data/quick/<name>.npz``, each with its
  SHA-256 in ``<name>.npz.sha256``), built from the real datasets by ``data_scripts/make_quick_subsets.py``;
* ``full``: the complete datasets, read through torchvision under a root folder given by
  ``GI_DATA_ROOT`` (default ``~/.cache/gi-book/data``) and downloaded there when possible.
  Datasets that no host serves ready-made (MNIST-M) are built by a script in ``data_scripts/`` and read
  from the data root or from ``GI_BUILT_DATA_ROOT`` (default ``~/.cache/gi-book/data``), for when
  the data root is read-only.

Either way the result is a pair of tensors (images in [0, 1], shape ``(N, C, H, W)``, and
integer labels) that a trainer can move to the device once; no per-sample transforms run. Files are checked on
load: a quick subset against its shipped checksum, a built file against the ``.sha256`` its script wrote beside it
(a file built before checksums were recorded loads with a warning), the USPS-ESL-variant against the checksums
shipped here; shapes, dtypes and label ranges against the dataset's :class:`DatasetSpec`. A missing file raises
:class:`DatasetUnavailableError`, a damaged one :class:`~gi_core.data.files.DatasetCorruptError`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gi_core.data.files import (DatasetCorruptError, check_image_arrays, damage_report, read_info, read_npz,
                                 verify_checksum)
from gi_core.runtime import current_profile
from gi_core.validation import (check_choice, check_device, check_generator, check_instance, check_labels, check_path,
                                check_positive_int, check_sizes, check_str, check_tensor)

DATA_ROOT_ENV = "GI_DATA_ROOT"
BUILT_DATA_ROOT_ENV = "GI_BUILT_DATA_ROOT"
USPS_ESL_FOLDER = "USPS-ESL-variant"
USPS_ESL_FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}
USPS_ESL_SHA256 = {
    "train": "7f77be1e4366a6597f1d2747bf07181f01c5eeb7beb2d0215b03b17651450de7",
    "test": "8d286c001d1c817840643eb3208fa75f98797b383ba0d6843a14caf0fa663657",
}
"""The SHA-256 of the USPS-ESL-variant files of ``shared/data`` (their MD5s are in its README)."""
QUICK_DATA_DIR = Path(__file__).with_name("quick")
SPLITS = ("train", "test")
TORCHVISION_CLASSES = ("MNIST", "FashionMNIST", "USPS", "SVHN", "CIFAR10")
"""The torchvision classes whose layout :func:`load_images` knows (empty: a dataset built locally)."""


class DatasetUnavailableError(FileNotFoundError):
    """A dataset is not on disk and could not be downloaded."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the package knows about one dataset.

    ``files`` names the image file of each split (under the data root). ``needs`` lists every file torchvision's
    class checks before reading a split, by the split each belongs to (default: ``files[split]`` alone);
    ``needs_both_splits`` says that the class refuses one split unless the files of both are there.
    ``torchvision_class`` is empty for datasets built locally by ``build_command`` (a ``.npz`` per split
    under ``files``, read from :func:`data_root` or :func:`built_data_root`).
    """

    torchvision_class: str
    subfolder: str
    shape: tuple[int, int, int]
    num_classes: int
    files: dict[str, str]
    source: str
    licence: str
    citation: str
    build_command: str = ""
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    needs_both_splits: bool = False

    def __post_init__(self) -> None:
        if self.torchvision_class != "" and self.torchvision_class not in TORCHVISION_CLASSES:
            raise ValueError(f"unknown torchvision_class {self.torchvision_class!r}; choose one of "
                             f"{', '.join(TORCHVISION_CLASSES)}, or '' for a dataset built locally")
        for name in ("subfolder", "source", "licence", "citation", "build_command"):
            check_str(getattr(self, name), name)
        if len(check_sizes(self.shape, "shape")) != 3:
            raise ValueError(f"shape must be (channels, height, width), got {self.shape!r}")
        object.__setattr__(self, "shape", tuple(self.shape))
        check_positive_int(self.num_classes, "num_classes")
        if not isinstance(self.files, dict) or set(self.files) != set(SPLITS) or not all(
                isinstance(f, str) and f for f in self.files.values()):
            raise ValueError(f"files must map each split of {SPLITS} to a file name, got {self.files!r}")
        if not isinstance(self.needs, dict) or not set(self.needs) <= set(SPLITS) or not all(
                isinstance(f, str) for files in self.needs.values() for f in files):
            raise ValueError(f"needs must map splits of {SPLITS} to tuples of file names, got {self.needs!r}")
        if bool(self.torchvision_class) == bool(self.build_command):
            raise ValueError("build_command must be given exactly when torchvision_class is empty (a dataset built "
                             f"locally), got torchvision_class={self.torchvision_class!r}, "
                             f"build_command={self.build_command!r}")


def _idx_files(folder: str) -> dict[str, tuple[str, ...]]:
    return {split: tuple(f"{folder}/raw/{prefix}-{kind}-ubyte" for kind in ("images-idx3", "labels-idx1"))
            for split, prefix in (("train", "train"), ("test", "t10k"))}


_CIFAR = "cifar-10-batches-py"
DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "MNIST", "", (1, 28, 28), 10, {split: files[0] for split, files in _idx_files("MNIST").items()},
        "http://yann.lecun.com/exdb/mnist/ (torchvision mirrors it)",
        "CC BY-SA 3.0 (as given on the MNIST page)", "lecun1998mnist",
        needs=_idx_files("MNIST"), needs_both_splits=True,
    ),
    "fashion_mnist": DatasetSpec(
        "FashionMNIST", "", (1, 28, 28), 10, {split: files[0] for split, files in _idx_files("FashionMNIST").items()},
        "https://github.com/zalandoresearch/fashion-mnist",
        "MIT (c) 2017 Zalando SE", "xiao2017fashion",
        needs=_idx_files("FashionMNIST"), needs_both_splits=True,
    ),
    "usps": DatasetSpec(
        "USPS", "USPS", (1, 16, 16), 10,
        {"train": "USPS/usps.bz2", "test": "USPS/usps.t.bz2"},
        "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps",
        "no explicit licence; redistributed for research use", "hull1994usps",
    ),
    "svhn": DatasetSpec(
        "SVHN", "SVHN", (3, 32, 32), 10,
        {"train": "SVHN/train_32x32.mat", "test": "SVHN/test_32x32.mat"},
        "http://ufldl.stanford.edu/housenumbers/",
        "non-commercial use only", "netzer2011svhn",
    ),
    "cifar10": DatasetSpec(
        "CIFAR10", "", (3, 32, 32), 10,
        {"train": f"{_CIFAR}/data_batch_1", "test": f"{_CIFAR}/test_batch"},
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        "no explicit licence; free for research use", "krizhevsky2009cifar",
        needs={"train": (*(f"{_CIFAR}/data_batch_{i}" for i in range(1, 6)), f"{_CIFAR}/batches.meta"),
               "test": (f"{_CIFAR}/test_batch", f"{_CIFAR}/batches.meta")}, needs_both_splits=True,
    ),
    "mnist_m": DatasetSpec(
        "", "MNIST-M", (3, 28, 28), 10,
        {"train": "MNIST-M/mnist_m_train.npz", "test": "MNIST-M/mnist_m_test.npz"},
        "built from MNIST and BSDS500 train images (protocol of Ganin & Lempitsky 2015)",
        "derived from MNIST (CC BY-SA 3.0) and BSDS500 (UC Berkeley, research and educational use)",
        "ganin2015unsupervised",
        "python data_scripts/make_mnist_m.py --source-root <folder with MNIST/ and BSDS500/> --out-root <folder>",
    ),
}


@dataclass
class ImageData:
    """Images ``x`` (float in [0, 1], ``(N, C, H, W)``) with labels ``y`` (integers, ``(N,)``).

    A ``name`` of :data:`DATASETS` fixes the image shape and the label range; other names (toy data) do not.
    """

    x: Tensor
    y: Tensor
    name: str
    split: str
    source: str
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_tensor(self.x, "x", ndim=4, finite=False)  # the range check below refuses NaN and inf in one pass
        check_labels(self.y, self.x.shape[0], "y")
        check_str(self.name, "name")
        check_choice(self.split, SPLITS, "split")
        check_str(self.source, "source")
        check_instance(self.info, dict, "info")
        spec = DATASETS.get(self.name)
        if spec is not None and tuple(self.x.shape[1:]) != spec.shape:
            raise ValueError(f"x must hold {self.name} images of shape (N, {', '.join(map(str, spec.shape))}), "
                             f"got {tuple(self.x.shape)}")
        low, high = torch.aminmax(self.x)
        if not (low >= 0 and high <= 1):
            raise ValueError(f"x must hold images in [0, 1], got values in [{low.item():.4g}, {high.item():.4g}]")
        low, high = int(self.y.min()), int(self.y.max())
        if low < 0 or (spec is not None and high >= spec.num_classes):
            allowed = f"0..{spec.num_classes - 1}" if spec is not None else "0 and above"
            raise ValueError(f"y must hold labels in {allowed}, got {low}..{high}")

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> ImageData:
        """A copy with both tensors on ``device`` (one transfer for the whole set)."""
        device = check_device(device, "device")
        return ImageData(self.x.to(device), self.y.to(device), self.name, self.split, self.source, self.info)

    def subset(self, n: int, generator: torch.Generator | None = None) -> ImageData:
        """A random subset of ``n`` examples (all of them when ``n >= len(self)``)."""
        check_positive_int(n, "n")
        check_generator(generator, "generator")
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=generator)[:n].to(self.x.device)
        return ImageData(self.x[idx], self.y[idx], self.name, self.split, self.source, self.info)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds torchvision datasets: ``root``, else ``$GI_DATA_ROOT``, else ``~/.cache/gi-book/data``."""
    if root is not None:
        return check_path(root, "root").expanduser()
    env = os.environ.get(DATA_ROOT_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gi-book" / "data"


def built_data_root(root: str | os.PathLike | None = None) -> Path:
    """Where locally built datasets (MNIST-M) are written: ``root``, else ``$GI_BUILT_DATA_ROOT``, else ``~/.cache/gi-book/data``."""
    if root is not None:
        return check_path(root, "root").expanduser()
    env = os.environ.get(BUILT_DATA_ROOT_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gi-book" / "data"


def _spec(name: str, split: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"name {name!r} is not a known dataset; known datasets: {', '.join(sorted(DATASETS))}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return DATASETS[name]


def load_images(
    name: str,
    split: str = "train",
    profile: str | None = None,
    root: str | os.PathLike | None = None,
    download: bool = True,
    substitute: bool = True,
) -> ImageData:
    """Load dataset ``name`` (``mnist``, ``fashion_mnist``, ``usps``, ``svhn``, ``cifar10``, ``mnist_m``) as tensors.

    ``profile`` defaults to ``GI_PROFILE``: ``quick`` reads the shipped subset, ``full``
    reads (and, with ``download=True``, downloads) the complete split under :func:`data_root`.
    MNIST-M (full profile) is read from ``<root>/MNIST-M``, else from :func:`built_data_root`.
    Raises :class:`DatasetUnavailableError` naming the missing files (and their split) and how to get them, and
    :class:`~gi_core.data.files.DatasetCorruptError` naming a file that is there but damaged.

    USPS training split, full profile: when torchvision's ``USPS/usps.bz2`` is missing and
    ``substitute`` is true, the training images come from ``<root>/USPS-ESL-variant/usps.bz2`` (the
    same 7,291 images and labels in the ESL release, smoothed differently); ``source`` says so and
    ``info["substitute"]`` records it. The test split is never substituted, nor is a damaged file.
    """
    spec = _spec(name, split)
    profile = current_profile() if profile is None else profile
    if profile not in ("quick", "full"):
        raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
    if root is not None:
        check_path(root, "root")
    if profile == "quick":
        return _load_quick(name, split)
    if not spec.torchvision_class:
        return _load_built(name, split, spec, root)
    try:
        return _load_torchvision(name, split, spec, data_root(root), download)
    except DatasetUnavailableError:
        esl = data_root(root) / USPS_ESL_FOLDER
        if not (name == "usps" and split == "train" and substitute and (esl / "usps.bz2").exists()):
            raise
        data = load_usps_esl_variant(split, esl)
        data.info["substitute"] = {"for": "torchvision USPS training file usps.bz2",
                                   "missing": str(data_root(root) / spec.files[split]), "used": str(esl / "usps.bz2")}
        return data


def _arrays_to_data(x: np.ndarray, y: np.ndarray, name: str, split: str, source: str, info: dict) -> ImageData:
    return ImageData(torch.from_numpy(x).float().div_(255.0), torch.from_numpy(y).long(), name, split, source, info)


def _load_quick(name: str, split: str) -> ImageData:
    path = QUICK_DATA_DIR / f"{name}.npz"
    if not path.exists():
        shipped = sorted(p.stem for p in QUICK_DATA_DIR.glob("*.npz"))
        raise DatasetUnavailableError(
            f"no quick-profile subset of {name!r} is shipped (missing file {path}); shipped subsets: "
            f"{', '.join(shipped) or 'none'}. Use GI_PROFILE=full with the complete dataset, or build the "
            f"subset with `python data_scripts/make_quick_subsets.py --datasets {name}`."
        )
    rebuild = (f"rebuild it with `{DATA_ROOT_ENV}=<folder with the full datasets> python "
               f"data_scripts/make_quick_subsets.py --datasets {name}` (which writes {path.name}.sha256 too), or "
               f"restore the shipped files with `git checkout -- gi_core/data/quick/{path.name}*`")
    verify_checksum(path, f"{name} quick subset", rebuild)
    arrays = read_npz(path, f"{name} quick subset", (f"x_{split}", f"y_{split}", "info"), rebuild)
    spec, where = DATASETS[name], f"{name} ({split} split) in {path}"
    check_image_arrays(arrays[f"x_{split}"], arrays[f"y_{split}"], spec.shape, spec.num_classes, where)
    return _arrays_to_data(arrays[f"x_{split}"], arrays[f"y_{split}"], name, split, f"quick subset {path.name}",
                           read_info(arrays["info"], where))


def load_usps_esl_variant(split: str, folder: str | os.PathLike) -> ImageData:
    """The ESL release of USPS (``usps.bz2`` / ``usps.t.bz2`` in ``folder``, LIBSVM format) as tensors.

    Same images, order and labels as torchvision's USPS, but the pixels are smoothed differently (see
    ``shared/data/README.md``): a stand-in for the training split when torchvision's file is missing. The file
    must match the SHA-256 of :data:`USPS_ESL_SHA256`.
    """
    import torchvision.datasets as tvd

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = check_path(folder, "folder")
    file = folder / USPS_ESL_FILES[split]
    restore = (f"copy the folder {USPS_ESL_FOLDER} again from the shared data folder (shared/data/README.md, section "
               f"'{USPS_ESL_FOLDER}', says how it was made from the ESL zip-code data)")
    if not file.exists():
        raise DatasetUnavailableError(f"{USPS_ESL_FOLDER} ({split} split) is not available: missing file {file}; "
                                      f"{restore}")
    verify_checksum(file, USPS_ESL_FOLDER, restore, expected=USPS_ESL_SHA256[split])
    dataset = tvd.USPS(root=str(folder), train=split == "train", download=False)
    x, y = np.asarray(dataset.data)[:, None], np.asarray(dataset.targets)
    check_image_arrays(x, y, DATASETS["usps"].shape, DATASETS["usps"].num_classes, f"{USPS_ESL_FOLDER} {file}")
    note = f"{USPS_ESL_FOLDER} {file.name} (same images and labels as torchvision's, smoothed differently)"
    return _arrays_to_data(x, y, "usps", split, f"{note} under {folder}", {"variant": USPS_ESL_FOLDER})


def _load_built(name: str, split: str, spec: DatasetSpec, root: str | os.PathLike | None) -> ImageData:
    """A locally built dataset: the first of ``<data root>/<file>``, ``<built root>/<file>`` that exists."""
    candidates = list(dict.fromkeys([data_root(root) / spec.files[split], built_data_root() / spec.files[split]]))
    path = next((p for p in candidates if p.exists()), None)
    rebuild = (f"run `{spec.build_command}` (the output folder is then your {DATA_ROOT_ENV} or "
               f"{BUILT_DATA_ROOT_ENV}), or use GI_PROFILE=quick for the shipped subset")
    if path is None:
        tried = " or ".join(str(p) for p in candidates)
        raise DatasetUnavailableError(
            f"{name} ({split} split) is not available: expected file {tried}. It is built locally, not "
            f"downloaded: {rebuild}."
        )
    verify_checksum(path, name, f"rebuild it: {rebuild}", required=False)
    arrays = read_npz(path, name, ("x", "y", "info"), f"rebuild it: {rebuild}")
    where = f"{name} ({split} split) in {path}"
    check_image_arrays(arrays["x"], arrays["y"], spec.shape, spec.num_classes, where)
    source = f"{spec.subfolder} npz built by data_scripts under {path.parent}"
    return _arrays_to_data(arrays["x"], arrays["y"], name, split, source, read_info(arrays["info"], where))


def _needed(spec: DatasetSpec, split: str, root: Path) -> dict[Path, str]:
    """Every file torchvision's class checks before it reads ``split``, with the split the file belongs to."""
    splits = SPLITS if spec.needs_both_splits else (split,)
    return {root / f: s for s in splits for f in spec.needs.get(s, (spec.files[s],))}


def _torchvision_error(name: str, split: str, spec: DatasetSpec, root: Path, download: bool,
                       error: Exception) -> Exception:
    """The error to raise when torchvision's class failed: files missing (which, of which split), or damaged."""
    cause = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    needed, cls = _needed(spec, split, root), f"torchvision's {spec.torchvision_class}"
    missing = {file: owner for file, owner in needed.items() if not file.exists()}
    if not missing:
        read = [file for file, owner in needed.items() if owner == split]
        return DatasetCorruptError(
            f"{name} ({split} split): every file {cls} needs is under {root}, but it could not read them ({cause}). "
            f"{damage_report(read)} Replace the damaged file with a good copy from {spec.source}."
        )
    listed = "; ".join(f"the {owner} split's file(s) " + ", ".join(str(f) for f, o in missing.items() if o == owner)
                       for owner in dict.fromkeys(missing.values()))
    notes = [f"download failed: {cause}" if download else "download=False"]
    if split not in missing.values():
        notes.append(f"{cls} reads one split only when the files of both are there; the {split} split's own files are")
    if not download and any(file.with_name(file.name + ".gz").exists() for file in missing):
        notes.append("the .gz files are there: download=True only extracts them, without network")
    return DatasetUnavailableError(
        f"{name} ({split} split) is not available: missing {listed} ({'; '.join(notes)}). Get it from {spec.source} "
        f"on a machine with internet access (or run once with download=True there), then copy the folder "
        f"'{Path(spec.files[split]).parts[0]}' under {root} or point {DATA_ROOT_ENV} at a folder that holds it."
    )


def _load_torchvision(name: str, split: str, spec: DatasetSpec, root: Path, download: bool) -> ImageData:
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.torchvision_class)
    folder = root / spec.subfolder if spec.subfolder else root
    split_kwargs = {"split": split} if name == "svhn" else {"train": split == "train"}
    try:
        dataset = cls(root=str(folder), download=download, **split_kwargs)
    except Exception as error:  # noqa: BLE001 - torchvision raises RuntimeError, OSError, EOFError, AssertionError...
        raise _torchvision_error(name, split, spec, root, download, error) from error
    images = torch.as_tensor(np.asarray(dataset.data))
    labels = torch.as_tensor(np.asarray(dataset.labels if name == "svhn" else dataset.targets)).long()
    if images.dim() == 3:
        images = images.unsqueeze(1)
    elif name == "cifar10":
        images = images.permute(0, 3, 1, 2)
    where = f"{name} ({split} split) read by torchvision's {spec.torchvision_class} under {folder}"
    check_image_arrays(images.numpy(), labels.numpy(), spec.shape, spec.num_classes, where)
    x = images.float().div_(255.0).contiguous()
    return ImageData(x, labels, name, split, f"torchvision {spec.torchvision_class} under {folder}")
