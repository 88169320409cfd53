"""Checkpoints on disk: a run's state dicts and its JSON record, committed as one unit.

A checkpoint folder holds ``trainer.json`` (the record: step, sizes, history, and the name and SHA-256 of its state
file) and the state file it names, ``state-<step>-<token>.pt`` (a plain ``torch.save`` of state dicts and tensors,
loadable with ``weights_only=True``). Writing one never touches the previous checkpoint until the new one is
complete:

1. the state is written to a temporary file, flushed to disk and renamed to its new, unique name;
2. the record is written to a temporary file and renamed over ``trainer.json`` — the commit point;
3. only then are older state files removed.

A kill at any instant therefore leaves ``trainer.json`` naming a complete state file with a matching hash: the old
checkpoint before step 2, the new one after it. Reading validates the whole checkpoint (record fields, hash, that the
state unpickles into the expected entries) before anything is returned, so a caller never half-applies a bad one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import torch

from gi_core.validation import check_module, check_non_negative_int, check_path, check_positive_int, check_str

META_FILE = "trainer.json"
LEGACY_STATE_FILE = "state.pt"
"""The state file of checkpoints written before state files were versioned (read, never written)."""
STATE_ENTRIES = ("model", "optimizers", "rng")
RECORD_INTEGERS = ("step", "seed", "batch_size", "dataset_size")


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted or does not fit the model."""


def _fsync_folder(folder: Path) -> None:
    """Make the renames inside ``folder`` durable (where the platform allows opening a directory)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _write_durably(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path.tmp``, flush it to disk, and rename it to ``path``."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def write_text_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` so that a reader (or a kill) sees the old file or the new one, never a part."""
    _write_durably(check_path(path, "path"), check_str(text, "text").encode())


def write_checkpoint(folder: str | os.PathLike, state: dict[str, Any], record: dict[str, Any]) -> Path:
    """Commit ``state`` (state dicts and tensors) and ``record`` (JSON-able; its ``"step"`` names the file) to
    ``folder`` as one checkpoint; return the state file's path."""
    folder = check_path(folder, "folder")
    if not isinstance(state, dict) or not isinstance(record, dict):
        raise TypeError(f"state and record must be dicts, got {type(state).__name__} and {type(record).__name__}")
    check_non_negative_int(record.get("step"), "record['step']")
    if missing := [key for key in STATE_ENTRIES if key not in state]:
        raise ValueError(f"state is missing the entries {missing}")
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    name = f"state-{int(record['step']):08d}-{secrets.token_hex(4)}.pt"
    _write_durably(folder / name, payload)
    committed = {**record, "state_file": name, "sha256": hashlib.sha256(payload).hexdigest()}
    write_text_atomically(folder / META_FILE, json.dumps(committed, indent=1))
    _fsync_folder(folder)
    for stale in [*folder.glob("state-*"), folder / LEGACY_STATE_FILE]:
        if stale.name != name:
            stale.unlink(missing_ok=True)
    return folder / name


def has_checkpoint(folder: str | os.PathLike | None) -> bool:
    """Whether ``folder`` holds a committed checkpoint record (which :func:`read_checkpoint` then validates)."""
    return folder is not None and (check_path(folder, "folder") / META_FILE).exists()


def checkpoint_step(folder: str | os.PathLike | None) -> int:
    """The step of the checkpoint committed in ``folder`` (from its record alone), 0 where there is none."""
    if not has_checkpoint(folder):
        return 0
    return _read_record(check_path(folder, "folder"))["step"]


def _read_record(folder: Path) -> dict[str, Any]:
    path = folder / META_FILE
    if not path.exists():
        raise CheckpointError(f"no checkpoint in {folder}: expected {META_FILE} and the state file it names")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is corrupted: not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise CheckpointError(f"{path} is corrupted: expected a JSON object, got {type(record).__name__}")
    for key in RECORD_INTEGERS:
        value = record.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CheckpointError(f"{path} is corrupted: '{key}' must be a non-negative integer, got {value!r}")
    sha = record.get("sha256")
    if not isinstance(sha, str) or len(sha) != 64:
        raise CheckpointError(f"{path} is corrupted: 'sha256' must be a 64-character hex digest, got {sha!r}")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(isinstance(r, dict) and isinstance(r.get("step"), int) for r in history):
        raise CheckpointError(f"{path} is corrupted: 'history' must be a list of records with a 'step'")
    state_file = record.get("state_file", LEGACY_STATE_FILE)
    if not isinstance(state_file, str) or Path(state_file).name != state_file or not state_file:
        raise CheckpointError(f"{path} is corrupted: 'state_file' must be a file name in {folder}, got {state_file!r}")
    return record


def read_checkpoint(folder: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """The validated ``(state, record)`` of the checkpoint in ``folder``; :class:`CheckpointError` says what is wrong."""
    folder = check_path(folder, "folder")
    record = _read_record(folder)
    state_path = folder / record.get("state_file", LEGACY_STATE_FILE)
    if not state_path.exists():
        raise CheckpointError(f"{folder / META_FILE} names the state file {state_path.name}, which is missing")
    payload = state_path.read_bytes()
    if hashlib.sha256(payload).hexdigest() != record["sha256"]:
        raise CheckpointError(f"{state_path} is corrupted: its SHA-256 does not match the one in {folder / META_FILE}")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means the same: the file is unreadable
        raise CheckpointError(f"{state_path} cannot be read ({type(error).__name__}: {error}); "
                              "it is truncated or not a checkpoint") from error
    if not isinstance(state, dict) or (missing := [k for k in STATE_ENTRIES if not isinstance(state.get(k), dict)]):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise CheckpointError(f"{state_path} is not a trainer checkpoint: it lacks the entries "
                              f"{missing if isinstance(state, dict) else list(STATE_ENTRIES)} (found {found})")
    return state, record


def check_fits(state: dict[str, Any], record: dict[str, Any], model: torch.nn.Module,
               optimizers: dict[str, torch.optim.Optimizer], batch_size: int, dataset_size: int, folder: Path) -> None:
    """Raise :class:`CheckpointError` unless a :func:`read_checkpoint` result fits a trainer of ``model`` and
    ``optimizers`` over ``dataset_size`` examples in batches of ``batch_size``: sizes, state dicts, generator states."""
    check_module(model, "model")
    check_positive_int(batch_size, "batch_size")
    check_positive_int(dataset_size, "dataset_size")
    folder = check_path(folder, "folder")
    if not isinstance(optimizers, dict) or not all(isinstance(o, torch.optim.Optimizer) for o in optimizers.values()):
        raise TypeError(f"optimizers must be a dict of torch optimizers, got {type(optimizers).__name__}")
    if not isinstance(state, dict) or not all(isinstance(state.get(k), dict) for k in STATE_ENTRIES) \
            or not isinstance(record, dict):
        raise TypeError("state and record must be what read_checkpoint returns")
    if record["batch_size"] != batch_size or record["dataset_size"] != dataset_size:
        raise CheckpointError(f"checkpoint in {folder} was written with batch_size={record['batch_size']} and "
                              f"dataset_size={record['dataset_size']}; this trainer has {batch_size} and {dataset_size}")
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state["model"].items() if isinstance(v, torch.Tensor)}
    if found != expected:
        differ = sorted(set(expected) ^ set(found) | {k for k in set(expected) & set(found) if expected[k] != found[k]})
        raise CheckpointError(f"checkpoint in {folder} does not fit this model: the entries {differ[:5]} differ")
    if set(state["optimizers"]) != set(optimizers):
        raise CheckpointError(f"checkpoint in {folder} has optimizers {sorted(state['optimizers'])}; "
                              f"this trainer has {sorted(optimizers)}")
    for name, optimizer in optimizers.items():
        saved = state["optimizers"][name]
        groups = saved.get("param_groups") if isinstance(saved, dict) else None
        sizes = [len(g.get("params", ())) for g in groups] if isinstance(groups, list) else None
        if sizes != [len(g["params"]) for g in optimizer.param_groups] or not isinstance(saved.get("state"), dict):
            raise CheckpointError(f"checkpoint in {folder} does not fit this model/optimizer: optimizer '{name}' "
                                  f"has parameter groups of sizes {sizes}")
    rng = state["rng"]
    for key in ("torch", "shuffle"):
        if not isinstance(rng.get(key), torch.Tensor) or rng[key].dtype != torch.uint8:
            raise CheckpointError(f"checkpoint in {folder} lacks the generator state rng['{key}']")
    order = rng.get("order")
    if (not isinstance(order, torch.Tensor) or order.shape != (dataset_size,)
            or not torch.equal(order.sort().values, torch.arange(dataset_size))):
        raise CheckpointError(f"checkpoint in {folder} lacks a valid data order rng['order'] (a permutation of {dataset_size})")
