"""Build the small real subsets that the quick profile and the tests use.

Reads the complete datasets through torchvision (``gi_core.data.images.load_images`` with the full
profile, no download) and writes ``gi_core/data/quick/<name>.npz`` with uint8 images,
int64 labels and a JSON ``info`` record (source, seed, sizes, licence), and its SHA-256 in
``gi_core/data/quick/<name>.npz.sha256`` (``sha256sum`` format; the quick loader refuses a subset
without it). Run from the repository root, for example::

    GI_DATA_ROOT=../shared/data python data_scripts/make_quick_subsets.py

USPS: torchvision's training file ``usps.bz2`` is not in ``../shared/data``; when it is
missing the training subset is drawn from ``--usps-esl-root`` (the ESL release of the same
images and labels, smoothed differently) and ``info`` records that.

MNIST-M is not a torchvision dataset: build it first with ``data_scripts/make_mnist_m.py``; it is read
from ``<root>/MNIST-M`` or ``$GI_BUILT_DATA_ROOT/MNIST-M``, and the builder's record (seed, protocol,
input checksums) is copied into ``info["builds"]``. Its subset holds the same images as the full
dataset at the selected indices.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gi_core.data.files import write_checksum
from gi_core.data.images import (
    DATASETS,
    QUICK_DATA_DIR,
    DatasetUnavailableError,
    ImageData,
    data_root,
    load_images,
    load_usps_esl_variant,
)

SIZES = {"mnist": (6000, 1000), "fashion_mnist": (6000, 1000), "usps": (2000, 1000), "mnist_m": (2000, 1000)}


def stratified_indices(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices with (as nearly as possible) equal counts per class, in random order."""
    classes = np.unique(labels)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    quota = n // len(classes)
    chosen = [idx[:quota] for idx in per_class]
    rest = rng.permutation(np.concatenate([idx[quota:] for idx in per_class]))[: n - quota * len(classes)]
    return rng.permutation(np.concatenate(chosen + [rest]))


def to_uint8(data: ImageData) -> tuple[np.ndarray, np.ndarray]:
    return (data.x * 255).round().to(torch.uint8).numpy(), data.y.numpy()


def load_usps_train(root: Path, esl_root: Path) -> tuple[ImageData, str]:
    try:
        data = load_images("usps", "train", profile="full", root=root, download=False, substitute=False)
        return data, "torchvision USPS train"
    except DatasetUnavailableError:
        data = load_usps_esl_variant("train", esl_root)
        return data, data.source.split(" under ")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None, help="torchvision data root (default: $GI_DATA_ROOT)")
    parser.add_argument("--usps-esl-root", default=None, help="folder with the ESL usps.bz2 (default: <root>/USPS-ESL-variant)")
    parser.add_argument("--datasets", nargs="+", default=sorted(SIZES), choices=sorted(SIZES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = data_root(args.root)
    esl_root = Path(args.usps_esl_root) if args.usps_esl_root else root / "USPS-ESL-variant"
    QUICK_DATA_DIR.mkdir(exist_ok=True)
    for name in args.datasets:
        rng = np.random.default_rng(args.seed)
        arrays, sources, builds = {}, {}, {}
        for split, n in zip(("train", "test"), SIZES[name]):
            if name == "usps" and split == "train":
                data, sources[split] = load_usps_train(root, esl_root)
            else:
                data = load_images(name, split, profile="full", root=root, download=False)
                sources[split] = data.source.split(" under ")[0]
                if data.info:
                    builds[split] = data.info
            x, y = to_uint8(data)
            idx = np.sort(stratified_indices(y, n, rng))
            arrays[f"x_{split}"], arrays[f"y_{split}"] = x[idx], y[idx]
        spec = DATASETS[name]
        info = {
            "dataset": name, "seed": args.seed, "sizes": {s: int(arrays[f"y_{s}"].size) for s in ("train", "test")},
            "sources": sources, "selection": "stratified by class, uniformly at random within a class",
            "licence": spec.licence, "citation": spec.citation,
        }
        if builds:
            info["builds"] = builds
        out, tmp = QUICK_DATA_DIR / f"{name}.npz", QUICK_DATA_DIR / f"{name}.tmp.npz"
        np.savez_compressed(tmp, info=np.array(json.dumps(info)), **arrays)
        tmp.replace(out)
        write_checksum(out)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and its .sha256: {info['sizes']}")


if __name__ == "__main__":
    main()
