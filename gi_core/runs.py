"""Runs that survive interruption: a finished run's record is kept and read back, an unfinished one resumes.

Every experiment trains many runs (models × seeds) whose results it aggregates. :func:`load_or_run` is the one
place that decides whether a run must be trained: its record ``<run_dir>/<name>.json`` exists once the run has
finished and been evaluated, and its checkpoints live in ``<run_dir>/<name>/`` while it trains, so an
experiment that is interrupted and started again skips what is done and resumes the rest.

A record is written atomically, so no crash leaves half of one; a record file that is nevertheless unreadable
(truncated or edited by hand, not JSON, not an object) is **refused** with an error naming it, not silently re-run:
deleting it evaluates the run again from its last checkpoint, which a finished run keeps.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gi_core.checkpoints import write_text_atomically
from gi_core.results import ResultFileError, read_json
from gi_core.runtime import default_device
from gi_core.validation import (check_callable, check_device, check_file_stem, check_instance, check_json, check_path,
                                check_positive_int, check_str)

RUNS_ROOT = Path.home() / ".cache" / "gi-book" / "runs"
"""Where the command-line experiments keep their finished runs and checkpoints (``--run-dir`` overrides it)."""

Record = dict[str, Any]


def load_or_run(run_dir: Path | None, name: str, run: Callable[[Path | None], Record],
                check: Callable[[Record, Path], None] | None = None) -> Record:
    """The record of run ``name``: read from ``<run_dir>/<name>.json`` if a finished run wrote it, else computed.

    ``run(checkpoint_dir)`` trains and evaluates the run (checkpointing into ``<run_dir>/<name>/``) and returns its
    record (a dict), which is then written atomically, so a record on disk is always complete; one that JSON cannot
    hold (NaN, infinity, tensors) is refused naming the entry. ``check(record, path)`` may refuse a stored record (raise)
    that does not belong to this run. Without ``run_dir`` nothing is read or written. A stored record that cannot be
    read raises :class:`~gi_core.results.ResultFileError` naming the file (see the module's docstring).
    """
    check_file_stem(name, "name")
    check_callable(run, "run")
    if check is not None:
        check_callable(check, "check")
    if run_dir is None:
        return _record(run(None), name)
    run_dir = check_path(run_dir, "run_dir")
    path = run_dir / f"{name}.json"
    if path.exists():
        try:
            record = read_json(path)
        except ResultFileError as error:
            raise ResultFileError(f"{error}. Delete it to evaluate run {name!r} again from its last checkpoint "
                                  f"in {run_dir / name}") from error
        if check is not None:
            check(record, path)
        return record
    record = _record(run(run_dir / name), name)
    check_json(record, "record")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(record, allow_nan=False))
    return record


def load_or_run_group(run_dir: Path | None, names: list[str],
                      run_group: Callable[[list[str], dict[str, Path | None]], dict[str, Record | BaseException]],
                      check: Callable[[Record, Path], None] | None = None) -> list[Record]:
    """The records of runs ``names`` trained together: finished ones are read back, the others trained as one group.

    ``run_group(pending, checkpoint_dirs)`` trains and evaluates the runs ``pending`` (each checkpointing into
    ``checkpoint_dirs[name]`` = ``<run_dir>/<name>/``, ``None`` without ``run_dir``) and returns each one's record, or
    the error that stopped it (a run whose loss diverged). Every record is written as :func:`load_or_run` writes it;
    then, if any run failed, a ``RuntimeError`` names each failed run and its error (the finished ones stay stored).
    """
    names = [check_file_stem(name, "names[i]") for name in (names if isinstance(names, list) else [None])]
    if not names or len(set(names)) < len(names):
        raise ValueError(f"names must be a non-empty list of distinct run names, got {names}")
    check_callable(run_group, "run_group")
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")
    finished = {name: load_or_run(run_dir, name, _unfinished, check) for name in names
                if run_dir is not None and (run_dir / f"{name}.json").exists()}
    pending = [name for name in names if name not in finished]
    failures: dict[str, BaseException] = {}
    if pending:
        outcomes = run_group(pending, {name: None if run_dir is None else run_dir / name for name in pending})
        if not isinstance(outcomes, dict) or set(outcomes) != set(pending):
            raise TypeError(f"run_group must return a record or an error for each of {pending}")
        for name in pending:
            if isinstance(outcomes[name], BaseException):
                failures[name] = outcomes[name]
            else:
                finished[name] = load_or_run(run_dir, name, lambda folder, record=outcomes[name]: record, check)
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(names)} runs failed (the others are stored): "
                           + "; ".join(f"{name}: {error}" for name, error in failures.items()))
    return [finished[name] for name in names]


def _unfinished(folder: Path | None) -> Record:
    raise AssertionError("a finished run's record is read back, never recomputed")


def _record(record: object, name: str) -> Record:
    """``record`` if it is a dict, else raise naming the run."""
    if not isinstance(record, dict):
        raise TypeError(f"run {name!r} returned a {type(record).__name__}, not a record (dict)")
    return record


def add_run_arguments(parser: argparse.ArgumentParser, *, steps: int | None, batch_size: int, run_dir: str,
                      result_help: str) -> None:
    """The command-line options every full-profile experiment shares: length, batch, seeds, GPU switches, the cache
    of finished runs (``~/.cache/gi-book/runs/<run_dir>``), the result file's stem and its folder.

    ``steps=None`` leaves the length to the experiment's plans (``--steps`` then overrides them only when given).
    """
    check_instance(parser, argparse.ArgumentParser, "parser")
    if steps is not None:
        check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    check_file_stem(run_dir, "run_dir")
    check_str(result_help, "result_help")
    parser.add_argument("--steps", type=_integer_from(1), default=steps)
    parser.add_argument("--batch-size", type=_integer_from(1), default=batch_size)
    parser.add_argument("--seeds", type=_integer_from(0), nargs="+", default=None, help="seeds of every run (default: the plan's)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast (GPU)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the loss (GPU)")
    parser.add_argument("--run-dir", type=Path, default=RUNS_ROOT / run_dir)
    parser.add_argument("--result", default=None, help=result_help)
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of the result files (default: the repository's results/)")


def _integer_from(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum`` (else argparse's usage error)."""
    def integer(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer of at least {minimum}, got {value}")
        return value
    return integer


def check_outputs(run_dir: Path | None, result_name: str, results_dir: Path | None = None,
                  device: torch.device | str | None = None) -> tuple[Path | None, str, Path | None, torch.device]:
    """The checked destinations of a reproduction, before anything is loaded or trained: ``run_dir`` (the cache of
    finished runs, a path or ``None``), ``result_name`` (a plain file stem), ``results_dir`` (a path, ``None``: the
    repository's results/) and ``device`` (``None``: :func:`~gi_core.runtime.default_device`)."""
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")
    results_dir = None if results_dir is None else check_path(results_dir, "results_dir")
    device = default_device() if device is None else check_device(device, "device")
    return run_dir, check_file_stem(result_name, "result_name"), results_dir, device
