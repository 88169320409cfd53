"""Fetch the 200 BSDS500 training images that MNIST-M is built from, and check each against its SHA-256.

The images come from the GitHub mirror of the January 2013 BSR release (``BIDS/BSDS500`` at a fixed commit), as
one archive; only ``BSDS500/data/images/train/*.jpg`` is kept, under the layout ``make_mnist_m.py`` reads::

    <out-root>/BSDS500/BSR/BSDS500/data/images/train/<id>.jpg

Every file must match ``bsds500_train.sha256`` (beside this script, ``sha256sum`` format); a missing, extra or
changed image stops the script, naming it, and nothing is left half-written. Example (chapter 4's Colab cell
runs this)::

    python data_scripts/fetch_bsds500.py --out-root /content/data
    python data_scripts/make_mnist_m.py --source-root /content/data --out-root /content/data

BSDS500: Arbelaez, Maire, Fowlkes and Malik, "Contour Detection and Hierarchical Image Segmentation", IEEE TPAMI
33(5), 2011; UC Berkeley distributes it for research and educational use.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import tarfile
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

COMMIT = "a04b7c6c3a9f0ace74bf205c72a43d32e1c72722"
ARCHIVE_URL = f"https://codeload.github.com/BIDS/BSDS500/tar.gz/{COMMIT}"
MEMBER_DIR = "BSDS500/data/images/train/"
TRAIN_DIR = Path("BSDS500") / "BSR" / "BSDS500" / "data" / "images" / "train"
MANIFEST = Path(__file__).with_name("bsds500_train.sha256")


def read_manifest(path: Path = MANIFEST) -> dict[str, str]:
    """File name -> SHA-256 from a ``sha256sum`` listing."""
    entries = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise ValueError(f"{path.name} line {number} is not '<sha256>  <name>': {line!r}")
        entries[name] = digest
    return entries


def extract_train_images(archive: bytes, out_root: Path, manifest: dict[str, str]) -> Path:
    """Unpack the training JPEGs of ``archive`` (a .tar.gz of the repository) into ``out_root``, verified.

    The images are checked in memory and written to a temporary folder that is renamed into place only when
    all of them match, so an interrupted or failed fetch leaves no partial folder behind.
    """
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            # Members are "<repo>-<commit>/BSDS500/data/images/train/<id>.jpg"; nothing else is read.
            head, _, rest = member.name.partition("/")
            if member.isfile() and rest.startswith(MEMBER_DIR) and rest.endswith(".jpg") and "/" not in rest[len(MEMBER_DIR):]:
                found[rest[len(MEMBER_DIR):]] = tar.extractfile(member).read()
    missing = sorted(set(manifest) - set(found))
    extra = sorted(set(found) - set(manifest))
    changed = sorted(name for name in set(found) & set(manifest)
                     if hashlib.sha256(found[name]).hexdigest() != manifest[name])
    if missing or extra or changed:
        raise ValueError("the BSDS500 archive does not hold the expected 200 training images: "
                         f"missing {missing[:5]}{'...' if len(missing) > 5 else ''} ({len(missing)}), "
                         f"unexpected {extra[:5]} ({len(extra)}), checksum mismatch {changed[:5]} ({len(changed)})")
    target = out_root / TRAIN_DIR
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".train-"))
    try:
        for name, data in found.items():
            (staging / name).write_bytes(data)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-root", type=Path, required=True, help="data folder; BSDS500/ is created in it")
    parser.add_argument("--archive", type=Path, default=None,
                        help="a .tar.gz of the repository already downloaded (default: download it)")
    args = parser.parse_args(argv)
    manifest = read_manifest()
    if args.archive is not None:
        archive = args.archive.read_bytes()
    else:
        print(f"downloading {ARCHIVE_URL}")
        with urllib.request.urlopen(ARCHIVE_URL, timeout=300) as response:
            archive = response.read()
    target = extract_train_images(archive, args.out_root, manifest)
    print(f"{len(manifest)} BSDS500 training images verified in {target}")


if __name__ == "__main__":
    main()
