"""Results as data: metrics written with their provenance, read back by the book.

A result file ``results/<name>.json`` holds the metrics of one experiment together with
the configuration, seed(s), git commit, device, library versions and wall time that
produced them, so that the rendered book can show real full-profile numbers even when
it is built on a machine without a GPU. The source works' own tables, transcribed, live in
``results/reference/<name>.json`` and are read with :func:`read_reference`; :func:`compare_with_reference`
sets a summary beside one of them.
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

from gi_core.runtime import device_name

RESULTS_DIR = Path(__file__).resolve().parent.parent / "results"
REFERENCE_DIR = RESULTS_DIR / "reference"


def git_commit(repo: Path | None = None) -> str:
    """The current commit hash, suffixed with ``-dirty`` when tracked files have uncommitted changes."""
    cwd = repo or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def provenance(config: dict[str, Any], seeds: list[int], device: torch.device, wall_time_s: float) -> dict[str, Any]:
    """Everything needed to say where a number came from."""
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
    """Write ``{"name", "metrics", "provenance"}`` to ``<directory>/<name>.json`` (default ``results/``)."""
    if not name or any(c in name for c in "/\\ "):
        raise ValueError(f"result name must be a plain file stem, got {name!r}")
    required = {"config", "seeds", "commit", "device", "wall_time_s"}
    if missing := required - meta.keys():
        raise ValueError(f"provenance is missing {sorted(missing)}; build it with gi_core.results.provenance()")
    folder = directory or RESULTS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "metrics": metrics, "provenance": meta}, indent=2, sort_keys=True) + "\n")
    return path


def read_result(name: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The stored result ``name``, or ``None`` when no full-profile run has been recorded yet."""
    path = (directory or RESULTS_DIR) / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def summarize_runs(records: list[dict[str, Any]], metrics: Sequence[str], key: str = "model") -> dict[str, dict[str, list[float]]]:
    """``{record[key]: {metric: [mean, std, n]}}`` over the runs (seeds) sharing ``key``.

    std has ddof=1 (the spread of a few runs), 0 for a single run; metrics missing from a record are skipped.
    """
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
    mean, std, n = values
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if n > 1 else f"{mean:.{digits}f}"


def read_reference(name: str) -> dict[str, Any]:
    """The transcribed table ``results/reference/<name>.json`` of a source work (its ``"table"`` and notes)."""
    path = REFERENCE_DIR / f"{name}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in REFERENCE_DIR.glob("*.json")))
        raise FileNotFoundError(f"no reference table {name!r} in {REFERENCE_DIR}; known: {known}")
    return json.loads(path.read_text())


def compare_with_reference(summary: dict[str, dict[str, list[float]]], reference: dict[str, dict[str, list[float]]],
                           metrics: Sequence[str]) -> list[dict[str, Any]]:
    r"""One row per (row, metric) found in both tables: our mean ± std, the reference's, the difference and its size.

    ``summary`` is a :func:`summarize_runs` table, ``reference`` one of the same shape (``[mean, std]``).
    ``gap`` is the difference in units of the combined spread,
    :math:`|\bar a-\bar b|/\sqrt{s_a^2+s_b^2}` (infinite when both spreads are 0 and the means differ);
    a row is ``beyond_spread`` when ``gap > 2``.
    """
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
