"""Image datasets as tensors.

Two sources, chosen by the profile (``GI_PROFILE``):

* ``quick``: small real subsets shipped inside the package (``gi_core/data/quick/<name>.npz``),
  built from the real datasets by ``data_scripts/make_quick_subsets.py``;
* ``full``: the complete datasets, read through torchvision under a root folder given by
  ``GI_DATA_ROOT`` (default ``~/.cache/gi-book/data``) and downloaded there when possible.
  Datasets that no host serves ready-made (MNIST-M) are built by a script in ``data_scripts/`` and read
  from the data root or from ``GI_BUILT_DATA_ROOT`` (default ``~/.cache/gi-book/data``), for when
  the data root is read-only.

Either way the result is a pair of tensors (images in [0, 1], shape ``(N, C, H, W)``, and
integer labels) that a trainer can move to the device once; no per-sample transforms run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import URLError

import numpy as np
import torch
from torch import Tensor

from gi_core.runtime import current_profile

DATA_ROOT_ENV = "GI_DATA_ROOT"
BUILT_DATA_ROOT_ENV = "GI_BUILT_DATA_ROOT"
USPS_ESL_FOLDER = "USPS-ESL-variant"
QUICK_DATA_DIR = Path(__file__).with_name("quick")


class DatasetUnavailableError(FileNotFoundError):
    """A dataset is not on disk and could not be downloaded."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the package knows about one dataset.

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


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "MNIST", "", (1, 28, 28), 10,
        {"train": "MNIST/raw/train-images-idx3-ubyte", "test": "MNIST/raw/t10k-images-idx3-ubyte"},
        "http://yann.lecun.com/exdb/mnist/ (torchvision mirrors it)",
        "CC BY-SA 3.0 (as given on the MNIST page)", "lecun1998mnist",
    ),
    "fashion_mnist": DatasetSpec(
        "FashionMNIST", "", (1, 28, 28), 10,
        {"train": "FashionMNIST/raw/train-images-idx3-ubyte", "test": "FashionMNIST/raw/t10k-images-idx3-ubyte"},
        "https://github.com/zalandoresearch/fashion-mnist",
        "MIT (c) 2017 Zalando SE", "xiao2017fashion",
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
        {"train": "cifar-10-batches-py/data_batch_1", "test": "cifar-10-batches-py/test_batch"},
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        "no explicit licence; free for research use", "krizhevsky2009cifar",
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
SPLITS = ("train", "test")


@dataclass
class ImageData:
    """Images ``x`` (float32 in [0, 1], ``(N, C, H, W)``) with labels ``y`` (int64, ``(N,)``)."""

    x: Tensor
    y: Tensor
    name: str
    split: str
    source: str
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.x.shape[0]

    def to(self, device: torch.device | str) -> ImageData:
        """A copy with both tensors on ``device`` (one transfer for the whole set)."""
        return ImageData(self.x.to(device), self.y.to(device), self.name, self.split, self.source, self.info)

    def subset(self, n: int, generator: torch.Generator | None = None) -> ImageData:
        """A random subset of ``n`` examples (all of them when ``n >= len(self)``)."""
        if n <= 0:
            raise ValueError(f"subset size must be positive, got {n}")
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=generator)[:n].to(self.x.device)
        return ImageData(self.x[idx], self.y[idx], self.name, self.split, self.source, self.info)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The folder that holds torchvision datasets: ``root``, else ``$GI_DATA_ROOT``, else ``~/.cache/gi-book/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ROOT_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gi-book" / "data"


def built_data_root(root: str | os.PathLike | None = None) -> Path:
    """Where locally built datasets (MNIST-M) are written: ``root``, else ``$GI_BUILT_DATA_ROOT``, else ``~/.cache/gi-book/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(BUILT_DATA_ROOT_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gi-book" / "data"


def _spec(name: str, split: str) -> DatasetSpec:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}")
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
    Raises :class:`DatasetUnavailableError` naming the missing file and how to get it.

    USPS training split, full profile: when torchvision's ``USPS/usps.bz2`` is missing and
    ``substitute`` is true, the training images come from ``<root>/USPS-ESL-variant/usps.bz2`` (the
    same 7,291 images and labels in the ESL release, smoothed differently); ``source`` says so and
    ``info["substitute"]`` records it. The test split is never substituted.
    """
    spec = _spec(name, split)
    profile = current_profile() if profile is None else profile
    if profile == "quick":
        return _load_quick(name, split)
    if profile != "full":
        raise ValueError(f"profile must be 'quick' or 'full', got {profile!r}")
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


def _load_quick(name: str, split: str) -> ImageData:
    path = QUICK_DATA_DIR / f"{name}.npz"
    if not path.exists():
        shipped = sorted(p.stem for p in QUICK_DATA_DIR.glob("*.npz"))
        raise DatasetUnavailableError(
            f"no quick-profile subset of {name!r} is shipped (missing file {path}); shipped subsets: "
            f"{', '.join(shipped) or 'none'}. Use GI_PROFILE=full with the complete dataset, or build the "
            f"subset with `python data_scripts/make_quick_subsets.py --datasets {name}`."
        )
    with np.load(path) as arrays:
        x = torch.from_numpy(arrays[f"x_{split}"]).float().div_(255.0)
        y = torch.from_numpy(arrays[f"y_{split}"]).long()
        info = json.loads(str(arrays["info"]))
    return ImageData(x, y, name, split, f"quick subset {path.name}", info)


def load_usps_esl_variant(split: str, folder: str | os.PathLike) -> ImageData:
    """The ESL release of USPS (``usps.bz2`` / ``usps.t.bz2`` in ``folder``, LIBSVM format) as tensors.

    Same images, order and labels as torchvision's USPS, but the pixels are smoothed differently (see
    ``shared/data/README.md``): a stand-in for the training split when torchvision's file is missing.
    """
    import torchvision.datasets as tvd

    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(folder)
    file = folder / ("usps.bz2" if split == "train" else "usps.t.bz2")
    if not file.exists():
        raise DatasetUnavailableError(f"USPS-ESL-variant ({split} split) is not available: expected file {file}")
    dataset = tvd.USPS(root=str(folder), train=split == "train", download=False)
    x = torch.as_tensor(np.asarray(dataset.data)).unsqueeze(1).float().div_(255.0)
    y = torch.as_tensor(np.asarray(dataset.targets)).long()
    note = "USPS-ESL-variant usps.bz2 (same images and labels as torchvision's, smoothed differently)"
    if split == "test":
        note = note.replace("usps.bz2", "usps.t.bz2")
    return ImageData(x, y, "usps", split, f"{note} under {folder}", {"variant": "USPS-ESL-variant"})


def _load_built(name: str, split: str, spec: DatasetSpec, root: str | os.PathLike | None) -> ImageData:
    """A locally built dataset: the first of ``<data root>/<file>``, ``<built root>/<file>`` that exists."""
    candidates = list(dict.fromkeys([data_root(root) / spec.files[split], built_data_root() / spec.files[split]]))
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        tried = " or ".join(str(p) for p in candidates)
        raise DatasetUnavailableError(
            f"{name} ({split} split) is not available: expected file {tried}. It is built locally, not "
            f"downloaded: run `{spec.build_command}` (the output folder is then your {DATA_ROOT_ENV} or "
            f"{BUILT_DATA_ROOT_ENV}), or use GI_PROFILE=quick for the shipped subset."
        )
    with np.load(path) as arrays:
        x = torch.from_numpy(arrays["x"]).float().div_(255.0)
        y = torch.from_numpy(arrays["y"]).long()
        info = json.loads(str(arrays["info"]))
    if tuple(x.shape[1:]) != spec.shape:
        raise ValueError(f"{name}: expected images of shape {spec.shape} in {path}, got {tuple(x.shape[1:])}")
    return ImageData(x, y, name, split, f"{spec.subfolder} npz built by data_scripts under {path.parent}", info)


def _missing_message(name: str, split: str, spec: DatasetSpec, root: Path, reason: str) -> str:
    return (
        f"{name} ({split} split) is not available: expected file {root / spec.files[split]} "
        f"({reason}). Get it from {spec.source} on a machine with internet access (or run once with "
        f"download=True there), then copy the folder '{Path(spec.files[split]).parts[0]}' under "
        f"{root} or point {DATA_ROOT_ENV} at a folder that holds it."
    )


def _load_torchvision(name: str, split: str, spec: DatasetSpec, root: Path, download: bool) -> ImageData:
    import torchvision.datasets as tvd

    cls = getattr(tvd, spec.torchvision_class)
    folder = root / spec.subfolder if spec.subfolder else root
    split_kwargs = {"split": split} if name == "svhn" else {"train": split == "train"}
    try:
        dataset = cls(root=str(folder), download=download, **split_kwargs)
    except (RuntimeError, OSError, URLError) as error:
        reason = "download failed: " + str(error).splitlines()[0] if download else "download=False"
        raise DatasetUnavailableError(_missing_message(name, split, spec, root, reason)) from error
    images = torch.as_tensor(np.asarray(dataset.data))
    labels = torch.as_tensor(np.asarray(dataset.labels if name == "svhn" else dataset.targets)).long()
    if images.dim() == 3:
        images = images.unsqueeze(1)
    elif name == "cifar10":
        images = images.permute(0, 3, 1, 2)
    x = images.float().div_(255.0).contiguous()
    if tuple(x.shape[1:]) != spec.shape:
        raise ValueError(f"{name}: expected images of shape {spec.shape}, got {tuple(x.shape[1:])}")
    return ImageData(x, labels, name, split, f"torchvision {spec.torchvision_class} under {folder}")

