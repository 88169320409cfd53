"""Fuzz cases of the light-curve data (see tests.fuzz.harness): reading (gi_core.data.light_curves), periods
(gi_core.data.light_curve_periods) and folding (gi_core.data.light_curve_folding), on small synthetic curves and a
two-star archive written to the scratch folder."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np

from gi_core.data.files import sha256
from gi_core.data.light_curves import QUICK_DATA_DIR, QUICK_FILE, LightCurveSet
from tests.fuzz.harness import Case, scratch

D = "gi_core.data."
LABEL = "a label for the error messages: any string is printed as given"
FREE_TEXT = "free text, shown in messages and records"
ANY_COUNT = "any number of stars may be selected"
ANY_SHAPE = "any shape: the fold is elementwise"
SEED_ZERO = "0 is a valid seed"
OUTPUT = "a NamedTuple that gi_core's own functions return (results, not an input)"


def curve(n: int = 60, period: float = 0.7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 200, n))
    mag = 10 + 0.3 * np.sin(2 * np.pi * t / period) + 0.02 * rng.standard_normal(n)
    return np.column_stack([t, mag, np.full(n, 0.02)])


def curve_set(periods: bool = True) -> LightCurveSet:
    curves = (curve(60, 0.7, 0), curve(80, 2.3, 1), curve(70, 5.1, 2))
    return LightCurveSet(("a", "b", "c"), ("x", "y"), np.array([0, 1, 1]), curves,
                         np.array([0.7, 2.3, 5.1]) if periods else None, "toy", "none")


def arrays() -> dict:
    c = curve(60)
    return {"time": c[:, 0], "mag": c[:, 1], "err": c[:, 2]}


def csv_file() -> Path:
    path = scratch() / "c.csv"
    path.write_text("time,mag,err\n" + "".join(f"{t},{m},{e}\n" for t, m, e in curve(10)))
    return path


def archive() -> dict:
    folder = scratch()
    with tarfile.open(folder / "a.tar.gz", "w:gz") as tar:
        for star in ("1", "2"):
            data = "".join(f"{t},{m},{e}\n" for t, m, e in curve(10)).encode()
            info = tarfile.TarInfo(f"asas_training_set/{star}.dat")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (folder / "c.dat").write_text("filename,class\n1,Beta_Persei\n2,Mira\n")
    return {"archive": folder / "a.tar.gz", "classes_file": folder / "c.dat", "classes": ("Mira", "Beta_Persei"),
            "archive_sha256": sha256(folder / "a.tar.gz"), "classes_sha256": sha256(folder / "c.dat")}


def set_fields() -> dict:
    toy = curve_set()
    return {"star_ids": toy.star_ids, "class_names": toy.class_names, "labels": toy.labels, "curves": toy.curves,
            "periods": toy.periods, "source": "toy", "citation": "none"}



def present_asas():
    """A folder holding both ASAS files (empty stand-ins: fetch_asas only fetches missing files)."""
    folder = scratch("asas_present")
    for name in ("asas_training_set.tar.gz", "asas_training_set_classes.dat"):
        (folder / name).touch()
    return folder

CASES: list[Case] = [
    # reading
    Case(D + "light_curves.LightCurveSet", set_fields,
         allow={"source:unknown": FREE_TEXT, "citation:unknown": FREE_TEXT}),
    Case(D + "light_curves.LightCurveSet.subset", lambda: {"indices": np.array([2, 0])}, instance=curve_set,
         allow={"indices:size": ANY_COUNT}),
    Case(D + "light_curves.LightCurveSet.with_periods", lambda: {"periods": np.array([1.0, 2.0, 3.0])},
         instance=lambda: curve_set(False)),
    Case(D + "light_curves.check_curve", lambda: {"curve": curve(5), "name": "curve"},
         allow={"name:unknown": LABEL}),
    Case(D + "light_curves.read_light_curve_csv", lambda: {"path": csv_file()}),
    Case(D + "light_curves.read_asas_archive", archive),
    Case(D + "light_curves.load_asas", lambda: {"source": "quick", "root": scratch("data"), "download": False}),
    Case(D + "light_curves.fetch_asas", lambda: {"folder": present_asas()}),
    Case(D + "light_curves.read_quick_subset", lambda: {"path": QUICK_DATA_DIR / QUICK_FILE}),
    Case(D + "light_curves.pad_light_curves", lambda: {"curves": [curve(5), curve(3)], "length": 6}),
    Case(D + "light_curves.write_quick_subset", lambda: {"path": scratch() / "s.npz", "curve_set": curve_set(),
                                                        "info": {"seed": 0}}),
    # periods
    Case(D + "light_curve_periods.harmonic_shape", lambda: {**arrays(), "period": 0.7}),
    Case(D + "light_curve_periods.estimate_period", lambda: {**arrays(), "min_period": 0.2, "max_period": 50.0,
                                                            "oversampling": 3, "nterms": 2, "n_peaks": 3,
                                                            "spurious_width": 0.0075, "double": True},
         allow={"spurious_width:zero": "0 keeps every frequency"}),
    Case(D + "light_curve_periods.estimate_periods", lambda: {"curve_set": curve_set(), "progress": False}),
    # folding
    Case(D + "light_curve_folding.fold", lambda: {"time": np.array([0.1, 1.5, 7.25]), "period": 0.7},
         allow={"time:rank": ANY_SHAPE, "time:size": ANY_SHAPE}),
    Case(D + "light_curve_folding.normalise", lambda: {"value": np.array([10.0, 10.5, 11.2]),
                                                      "error": np.array([0.1, 0.1, 0.2])}),
    Case(D + "light_curve_folding.fold_light_curves", lambda: {"curve_set": curve_set(), "periods": np.array(
        [0.7, 2.3, 5.1]), "length": 50, "seed": 0, "period_factor": 2.0},
         allow={"seed:zero": SEED_ZERO}),
    Case(D + "light_curve_folding.outlier_split", lambda: {"labels": np.repeat(np.arange(3), [5, 4, 6]),
                                                          "outlier": 1, "seed": 0, "n_anomalies": 3},
         allow={"labels:size": ANY_COUNT, "outlier:zero": "class 0 is the first class", "seed:zero": SEED_ZERO}),
]

EXEMPT: dict[str, str] = {
    "gi_core.data.light_curves.PaddedCurves": OUTPUT,
    "gi_core.data.light_curve_periods.PeriodEstimate": OUTPUT,
    "gi_core.data.light_curve_periods.HarmonicShape": OUTPUT,
    "gi_core.data.light_curve_folding.FoldedCurves": "a NamedTuple of tensors that fold_light_curves returns; the "
                                                     "experiments check its type",
}
