"""Results as data: metrics written with their provenance, read back by the book.

A result file ``results/<name>.json`` holds the metrics of one experiment together with
the configuration, seed(s), git commit, device, library versions and wall time that
produced them, so that the rendered book can show real full-profile numbers even when
it is built on a machine without a GPU. The source works' own tables, transcribed, live in
``results/reference/<name>.json`` and are read with :func:`read_reference`; :func:`compare_with_reference`
sets a summary beside one of them.

Every stored file is checked on the way in and out: :func:`write_result` refuses numbers JSON cannot hold (NaN,
infinity: the message gives the metric's key path) and replaces the file atomically, so a reader never sees half of
one; :func:`read_json` (behind :func:`read_result` and :func:`read_reference`) raises :class:`ResultFileError` naming
the file that is truncated, corrupted or lacks an entry, before any chapter reads a number from it.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
from datetime import datetime, timezone
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gi_core.checkpoints import write_text_atomically
from gi_core.runtime import device_name
from gi_core.validation import (check_file_stem, check_instance, check_json, check_names, check_non_negative_int,
                                check_path, check_real, check_seeds, check_str)

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
REFERENCE_DIR = RESULTS_DIR / "reference"
PROVENANCE_KEYS = ("config", "seeds", "commit", "device", "wall_time_s")
"""What a result's provenance must hold (:func:`provenance` writes these and more)."""


class ResultFileError(ValueError):
    """A stored file (a result, a source's table, a run's record) that is truncated, corrupted or lacks an entry."""


class MissingResultError(FileNotFoundError):
    """A stored result, source table or finished run that is not there."""


def git_commit(repo: Path | None = None) -> str:
    """The current commit hash, suffixed with ``-dirty`` when tracked files have uncommitted changes."""
    cwd = Path(__file__).resolve().parent if repo is None else check_path(repo, "repo")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def provenance(config: dict[str, Any], seeds: list[int], device: torch.device, wall_time_s: float) -> dict[str, Any]:
    """Everything needed to say where a number came from."""
    check_instance(config, dict, "config")
    check_seeds(seeds, "seeds")
    check_instance(device, torch.device, "device")
    check_real(wall_time_s, "wall_time_s", minimum=0.0)
    return {
        "config": config,
        "seeds": seeds,
        "commit": git_commit(),
        "device": device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wall_time_s": round(wall_time_s, 2),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_result(name: str, metrics: dict[str, Any], meta: dict[str, Any], directory: Path | None = None) -> Path:
    """Write ``{"name", "metrics", "provenance"}`` to ``<directory>/<name>.json`` (default ``results/``), atomically.

    Refuses a name that is not a plain file stem, provenance without :data:`PROVENANCE_KEYS`, and anything JSON cannot
    hold (NaN or infinity, tensors): the message gives the key path, e.g. ``metrics['1.0']['test_elbo']``."""
    check_file_stem(name, "name")
    folder = RESULTS_DIR if directory is None else check_path(directory, "directory")
    check_instance(metrics, dict, "metrics")
    check_instance(meta, dict, "meta")
    if missing := set(PROVENANCE_KEYS) - meta.keys():
        raise ValueError(f"provenance is missing {sorted(missing)}; build it with gi_core.results.provenance()")
    check_json(metrics, "metrics")
    check_json(meta, "meta")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    record = {"name": name, "metrics": metrics, "provenance": meta}
    write_text_atomically(path, json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path


def _refuse_constant(token: str) -> float:
    raise ValueError(f"{token} is not a JSON number")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} overflows a float")
    return value


def read_json(path: Path, required: dict[str, type] | None = None) -> dict[str, Any]:
    """The JSON object stored at ``path``, whose ``required`` entries (name -> type) are there.

    Raises :class:`ResultFileError` naming the file when it is not JSON (truncated, corrupted), holds NaN or an
    infinite number, is not an object or lacks a required entry; :class:`MissingResultError` when there is no file."""
    path = check_path(path, "path")
    if not path.is_file():
        raise MissingResultError(f"no file {path}")
    try:
        stored = json.loads(path.read_text(), parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise ResultFileError(f"{path} is corrupted or truncated: {error}") from error
    if not isinstance(stored, dict):
        raise ResultFileError(f"{path} is corrupted: expected a JSON object, got {type(stored).__name__}")
    for key, kind in (required or {}).items():
        if not isinstance(stored.get(key), kind):
            found = "nothing" if key not in stored else type(stored[key]).__name__
            raise ResultFileError(f"{path} is incomplete: its {key!r} must be a {kind.__name__}, found {found}")
    return stored


def read_result(name: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The stored result ``name``, or ``None`` when no full-profile run has been recorded yet.

    A file that is there but truncated, corrupted or lacks ``metrics`` or a provenance entry of
    :data:`PROVENANCE_KEYS` raises :class:`ResultFileError` naming the file and what is wrong."""
    check_file_stem(name, "name")
    path = (RESULTS_DIR if directory is None else check_path(directory, "directory")) / f"{name}.json"
    if not path.exists():
        return None
    stored = read_json(path, {"name": str, "metrics": dict, "provenance": dict})
    if missing := [key for key in PROVENANCE_KEYS if key not in stored["provenance"]]:
        raise ResultFileError(f"{path} is incomplete: its provenance lacks {missing}")
    return stored


def summarize_runs(records: list[dict[str, Any]], metrics: Sequence[str], key: str = "model") -> dict[str, dict[str, list[float]]]:
    """``{record[key]: {metric: [mean, std, n]}}`` over the runs (seeds) sharing ``key``.

    std has ddof=1 (the spread of a few runs), 0 for a single run; metrics missing from a record are skipped.
    """
    check_names(metrics, "metrics")
    check_str(key, "key")
    for i, record in enumerate(records):
        if not isinstance(record, dict) or key not in record:
            raise ValueError(f"records[{i}] must be a dict with the key {key!r}, got {record!r:.80}")
        for metric in metrics:
            if metric in record:
                check_real(record[metric], f"records[{i}][{metric!r}]")
    table: dict[str, dict[str, list[float]]] = {}
    for label in dict.fromkeys(r[key] for r in records):
        rows = [r for r in records if r[key] == label]
        table[label] = {}
        for metric in metrics:
            values = np.array([r[metric] for r in rows if metric in r], dtype=float)
            if values.size:
                std = float(values.std(ddof=1)) if values.size > 1 else 0.0
                table[label][metric] = [float(values.mean()), std, int(values.size)]
    return table



def format_mean_std(values: Sequence[float], digits: int = 3) -> str:
    """A :func:`summarize_runs` entry ``[mean, std, n]`` as ``"mean ± std"`` (the mean alone for one run)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != 3:
        raise ValueError(f"values must be a [mean, std, n] entry of summarize_runs, got {values!r}")
    mean, std, n = (check_real(v, f"values[{i}]") for i, v in enumerate(values))
    check_non_negative_int(digits, "digits")
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def read_reference(name: str) -> dict[str, Any]:
    """The transcribed table ``results/reference/<name>.json`` of a source work (its ``"table"``, ``"source"`` and
    ``"bibtex"``); :class:`MissingResultError` lists the known tables, :class:`ResultFileError` names a bad file."""
    check_file_stem(name, "name")
    path = REFERENCE_DIR / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in REFERENCE_DIR.glob("*.json")))
        raise MissingResultError(f"no reference table named {name!r} in {REFERENCE_DIR}; known names: {known}")
    return read_json(path, {"table": dict, "source": str, "bibtex": str})


def compare_with_reference(summary: dict[str, dict[str, list[float]]], reference: dict[str, dict[str, list[float]]],
                           metrics: Sequence[str]) -> list[dict[str, Any]]:
    r"""One row per (row, metric) found in both tables: our mean ± std, the reference's, the difference and its size.

    ``summary`` is a :func:`summarize_runs` table, ``reference`` one of the same shape (``[mean, std]``).
    ``gap`` is the difference in units of the combined spread,
    :math:`|\bar a-\bar b|/\sqrt{s_a^2+s_b^2}` (infinite when both spreads are 0 and the means differ);
    a row is ``beyond_spread`` when ``gap > 2``.
    """
    check_names(metrics, "metrics")
    check_instance(summary, dict, "summary")
    check_instance(reference, dict, "reference")
    rows = []
    for model, ours in summary.items():
        if model not in reference:
            continue
        for metric in metrics:
            if metric not in ours or metric not in reference[model]:
                continue
            (mean, std, _), (ref_mean, ref_std) = ours[metric], reference[model][metric][:2]
            spread, diff = math.hypot(std, ref_std), mean - ref_mean
            gap = abs(diff) / spread if spread > 0 else (0.0 if diff == 0 else math.inf)
            rows.append({"model": model, "metric": metric, "ours": mean, "ours_std": std, "thesis": ref_mean,
                         "thesis_std": ref_std, "difference": diff, "gap": gap, "beyond_spread": gap > 2})
    return rows
