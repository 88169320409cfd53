"""Build the ASAS light-curve subset that the quick profile and the tests use.

Reads the five classes of Astorga (2021, Table 9.3 b) from the real archive (``gi_core.data.light_curves.load_asas``
with ``source="full"``, checksums verified), draws ``--per-class`` stars of each class with ``numpy``'s generator
seeded with ``--seed`` (all 27 Beta Persei at the default 27), keeps their full-length curves, estimates their
periods with ``gi_core.data.light_curve_periods.estimate_period`` at its default settings, and writes
``gi_core/data/quick/asas_light_curves.npz`` with an ``info`` record (source, archive checksum, citation, seed,
period settings) and its SHA-256 in ``asas_light_curves.npz.sha256``. Run from the repository root::

    GI_DATA_ROOT=../shared/data python data_scripts/make_light_curve_subset.py
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np

from gi_core.data.files import write_checksum
from gi_core.data.images import QUICK_DATA_DIR
from gi_core.data.light_curve_periods import estimate_period, estimate_periods
from gi_core.data.light_curves import (ASAS_FILES, ASAS_FOLDER, ASAS_SHA256, QUICK_FILE, load_asas,
                                       write_quick_subset)


def chosen_stars(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """``per_class`` indices of each class (all of a smaller class), drawn without replacement, sorted."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == k), size=min(per_class, int((labels == k).sum())), replace=False)
             for k in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=None, help="data root holding light_curves/ASAS (default: $GI_DATA_ROOT)")
    parser.add_argument("--per-class", type=int, default=27)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    full = load_asas("full", args.root)
    subset = full.subset(chosen_stars(full.labels, args.per_class, args.seed))
    start = time.perf_counter()
    periods = estimate_periods(subset, progress=False)
    seconds = time.perf_counter() - start
    settings = {name: p.default for name, p in inspect.signature(estimate_period).parameters.items()
                if p.default is not inspect.Parameter.empty}
    info = {
        "dataset": "asas_light_curves",
        "source": f"<data root>/{ASAS_FOLDER.as_posix()}/{ASAS_FILES['archive']} (GitHub cesium-ml/cesium-data @ "
                  f"2ad85e77b6c1fea00124e055cedbc45181e9f6ba, asas_training/)",
        "archive_sha256": ASAS_SHA256["archive"], "classes_sha256": ASAS_SHA256["classes"],
        "citation": full.citation, "seed": args.seed, "per_class": args.per_class,
        "selection": "per class uniformly at random without replacement (numpy default_rng(seed)), all of a "
                     "smaller class; full-length curves",
        "periods": {"estimator": "gi_core.data.light_curve_periods.estimate_period", "settings": settings,
                    "seconds": round(seconds, 1)},
        "counts": {name: int((subset.labels == k).sum()) for k, name in enumerate(subset.class_names)},
    }
    out = write_quick_subset(QUICK_DATA_DIR / QUICK_FILE, subset.with_periods(periods), info)
    write_checksum(out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB) and its .sha256: {info['counts']}, periods in "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
