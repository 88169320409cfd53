"""Runs that survive interruption: a finished run's record is kept and read back, an unfinished one resumes.

Every experiment trains many runs (models × seeds) whose results it aggregates. :func:`load_or_run` is the one
place that decides whether a run must be trained: its record ``<run_dir>/<name>.json`` exists once the run has
finished and been evaluated, and its checkpoints live in ``<run_dir>/<name>/`` while it trains, so an
experiment that is interrupted and started again skips what is done and resumes the rest.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

RUNS_ROOT = Path.home() / ".cache" / "gi-book" / "runs"
"""Where the command-line experiments keep their finished runs and checkpoints (``--run-dir`` overrides it)."""

Record = dict[str, Any]


def load_or_run(run_dir: Path | None, name: str, run: Callable[[Path | None], Record],
                check: Callable[[Record, Path], None] | None = None) -> Record:
    """The record of run ``name``: read from ``<run_dir>/<name>.json`` if a finished run wrote it, else computed.

    ``run(checkpoint_dir)`` trains and evaluates the run (checkpointing into ``<run_dir>/<name>/``) and returns its
    record, which is then written atomically (a temporary file renamed into place), so a record on disk is always
    complete. ``check(record, path)`` may refuse a stored record (raise) that does not belong to this run. Without
    ``run_dir`` nothing is read or written.
    """
    if run_dir is None:
        return run(None)
    path = run_dir / f"{name}.json"
    if path.exists():
        record = json.loads(path.read_text())
        if check is not None:
            check(record, path)
        return record
    record = run(run_dir / name)
    run_dir.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, path)
    return record


def add_run_arguments(parser: argparse.ArgumentParser, *, steps: int | None, batch_size: int, run_dir: str,
                      result_help: str) -> None:
    """The command-line options every full-profile experiment shares: length, batch, seeds, GPU switches, the cache
    of finished runs (``~/.cache/gi-book/runs/<run_dir>``), the result file's stem and its folder.

    ``steps=None`` leaves the length to the experiment's plans (``--steps`` then overrides them only when given).
    """
    parser.add_argument("--steps", type=int, default=steps)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds of every run (default: the plan's)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the loss (GPU)")
    parser.add_argument("--run-dir", type=Path, default=RUNS_ROOT / run_dir)
    parser.add_argument("--result", default=None, help=result_help)
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of the result files (default: the repository's results/)")
