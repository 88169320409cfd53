"""Build MNIST-M from MNIST and the BSDS500 training images, following Ganin & Lempitsky (2015).

Protocol, for every MNIST digit of a split (MNIST's order and labels are kept):

1. pick one of the 200 BSDS500 *train* images uniformly at random (files sorted by name, decoded to
   8-bit RGB by Pillow; 481x321 or 321x481 pixels);
2. pick a 28x28 window uniformly among all the positions that fit inside it (``top``, ``left``);
3. turn the digit into a mask: 255 where the MNIST pixel is above 0, else 0 (``--blend grey`` keeps
   MNIST's grey levels instead). Ganin & Lempitsky only state the blend below; the binary mask follows
   the widely used public re-creation of MNIST-M, whose digits are strokes of uniform contrast;
4. blend per RGB channel: ``out = |patch - digit|`` (their :math:`I^{out}_{ijk} = |I^1_{ijk} - I^2_{ijk}|`):
   the background is kept outside the stroke and its colour is inverted inside.

Randomness: each split draws from ``numpy.random.default_rng([seed, split_id])`` (``split_id`` 0 for
train, 1 for test), all at once and in this order: the background index of every digit, then every
``top``, then every ``left``. Image ``i`` therefore depends only on the seed, the split (and its size),
``i`` and the digit, and any image can be rebuilt from ``crops`` alone; the quick subset is cut from the
full build, so it holds the same pixels. Decoded JPEG pixels could differ between libjpeg builds; the
record lists Pillow's version and an MD5 over the background files' MD5s.

Output: ``<out-root>/MNIST-M/mnist_m_{train,test}.npz`` with ``x`` (N, 3, 28, 28) uint8, ``y`` (N,)
int64, ``crops`` (N, 3) int32 = (background index, top, left) and ``info`` (a JSON record), each with its
SHA-256 in ``mnist_m_<split>.npz.sha256`` (``sha256sum`` format), which the loader verifies. The full set
is about 165 MB: keep it under a data folder, not in the repository. Example::

    python data_scripts/make_mnist_m.py --source-root ../shared/data --out-root ~/.cache/gi-book/data

then ``load_images("mnist_m", split, profile="full")`` finds it (``GI_BUILT_DATA_ROOT`` or
``GI_DATA_ROOT`` naming the output folder, default ``~/.cache/gi-book/data``), and
``GI_BUILT_DATA_ROOT=<out-root> python data_scripts/make_quick_subsets.py --datasets mnist_m`` writes
the quick subset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SIDE = 28
SPLIT_IDS = {"train": 0, "test": 1}
BSDS_TRAIN = Path("BSDS500") / "BSR" / "BSDS500" / "data" / "images" / "train"
BLENDS = ("binary", "grey")
OUT_FOLDER = "MNIST-M"


def load_backgrounds(folder: Path) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The ``*.jpg`` images of ``folder`` sorted by name, as (H, W, 3) uint8 arrays, with names and MD5s."""
    from PIL import Image

    files = sorted(Path(folder).glob("*.jpg"))
    if not files:
        raise FileNotFoundError(f"no .jpg images in {folder}; expected the BSDS500 train images ({BSDS_TRAIN})")
    images, md5s = [], []
    for file in files:
        data = file.read_bytes()
        md5s.append(hashlib.md5(data).hexdigest())
        with Image.open(file) as image:
            images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
    return images, [f.name for f in files], md5s


def draw_crops(n: int, shapes: Sequence[tuple[int, int]], seed: int, split: str) -> np.ndarray:
    """``(n, 3)`` int32 rows (background index, top, left) of 28x28 windows, drawn as the module docstring says."""
    if split not in SPLIT_IDS:
        raise ValueError(f"split must be one of {tuple(SPLIT_IDS)}, got {split!r}")
    sizes = np.asarray(shapes, dtype=np.int64).reshape(-1, 2)
    if sizes.size == 0 or (sizes < SIDE).any():
        raise ValueError(f"need at least one background of at least {SIDE}x{SIDE} pixels, got shapes {sizes.tolist()}")
    rng = np.random.default_rng([seed, SPLIT_IDS[split]])
    which = rng.integers(0, len(sizes), size=n)
    top = rng.integers(0, sizes[which, 0] - SIDE + 1)
    left = rng.integers(0, sizes[which, 1] - SIDE + 1)
    return np.stack([which, top, left], axis=1).astype(np.int32)


def blend(digits: np.ndarray, backgrounds: Sequence[np.ndarray], crops: np.ndarray, mode: str = "binary") -> np.ndarray:
    """MNIST-M images ``(N, 3, 28, 28)`` uint8: ``|patch - digit|`` per channel for digits ``(N, 28, 28)`` uint8."""
    if mode not in BLENDS:
        raise ValueError(f"blend mode must be one of {BLENDS}, got {mode!r}")
    digits = np.asarray(digits)
    if digits.dtype != np.uint8 or digits.ndim != 3 or digits.shape[1:] != (SIDE, SIDE):
        raise ValueError(f"digits must be uint8 of shape (N, {SIDE}, {SIDE}), got {digits.dtype} {digits.shape}")
    if crops.shape != (digits.shape[0], 3):
        raise ValueError(f"crops must have shape ({digits.shape[0]}, 3), got {crops.shape}")
    out = np.empty((digits.shape[0], 3, SIDE, SIDE), dtype=np.uint8)
    for start in range(0, digits.shape[0], 10000):
        rows = crops[start : start + 10000]
        patches = np.stack([backgrounds[b][t : t + SIDE, l : l + SIDE] for b, t, l in rows]).astype(np.int16)
        ink = digits[start : start + len(rows)].astype(np.int16)
        if mode == "binary":
            ink = np.where(ink > 0, 255, 0).astype(np.int16)
        out[start : start + len(rows)] = np.abs(patches - ink[..., None]).astype(np.uint8).transpose(0, 3, 1, 2)
    return out


def build_split(
    digits: np.ndarray, backgrounds: Sequence[np.ndarray], seed: int, split: str, mode: str = "binary"
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-M images of one split and the crops they used (see the module docstring)."""
    crops = draw_crops(len(digits), [b.shape[:2] for b in backgrounds], seed, split)
    return blend(digits, backgrounds, crops, mode), crops


def write_split(folder: Path, split: str, x: np.ndarray, y: np.ndarray, crops: np.ndarray, info: dict) -> Path:
    """Write ``folder/mnist_m_<split>.npz`` (uncompressed: the noisy backgrounds hardly compress) and its
    ``.sha256`` beside it."""
    from gi_core.data.files import write_checksum

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mnist_m_{split}.npz"
    tmp = folder / f"mnist_m_{split}.tmp.npz"
    np.savez(tmp, x=x, y=np.asarray(y, dtype=np.int64), crops=crops, info=np.array(json.dumps(info)))
    tmp.replace(path)
    write_checksum(path)
    return path


def main(argv: Sequence[str] | None = None) -> None:
    import PIL

    from gi_core.data.images import DATASETS, built_data_root, data_root, load_images

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source-root", default=None, help="folder with MNIST/ and BSDS500/ (default: $GI_DATA_ROOT)")
    parser.add_argument("--out-root", default=None, help="output folder; MNIST-M/ is created in it (default: $GI_BUILT_DATA_ROOT)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--blend", choices=BLENDS, default="binary")
    parser.add_argument("--splits", nargs="+", choices=tuple(SPLIT_IDS), default=list(SPLIT_IDS))
    args = parser.parse_args(argv)
    source_root, out = data_root(args.source_root), built_data_root(args.out_root) / OUT_FOLDER
    backgrounds, names, md5s = load_backgrounds(source_root / BSDS_TRAIN)
    spec = DATASETS["mnist_m"]
    for split in args.splits:
        mnist = load_images("mnist", split, profile="full", root=source_root, download=False)
        digits = (mnist.x[:, 0] * 255).round().byte().numpy()
        x, crops = build_split(digits, backgrounds, args.seed, split, args.blend)
        info = {
            "dataset": "mnist_m", "split": split, "seed": args.seed, "blend": args.blend, "size": int(len(x)),
            "protocol": "per digit: random BSDS500 train image, uniform 28x28 window, out = |patch - digit| per "
                        "RGB channel" + (" with the digit binarized (>0 -> 255)" if args.blend == "binary" else ""),
            "rng": "numpy default_rng([seed, split_id]); background index, then top, then left for all digits",
            "digits": f"MNIST {split} ({mnist.source.split(' under ')[0]}), in order; labels kept",
            "backgrounds": {"folder": str(BSDS_TRAIN), "count": len(names),
                            "md5_of_md5s": hashlib.md5("".join(md5s).encode()).hexdigest()},
            "pillow": PIL.__version__, "numpy": np.__version__,
            "script": "data_scripts/make_mnist_m.py", "licence": spec.licence, "citation": spec.citation,
        }
        path = write_split(out, split, x, mnist.y.numpy(), crops, info)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {len(x)} images")


if __name__ == "__main__":
    main()
