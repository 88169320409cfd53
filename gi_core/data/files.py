"""Dataset files checked on load: SHA-256 checksums (hashed once per process) and validated ``.npz`` image archives.

A checksum is recorded beside its file as ``<file>.sha256`` in the format of ``sha256sum`` (``<hex>  <name>``), so
``sha256sum -c <file>.sha256`` checks it too. Every error names the dataset, the file and the cause, and says how to
make the file again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gi_core.checkpoints import write_text_atomically
from gi_core.validation import check_names, check_path, check_positive_int, check_sizes, check_str

CHECKSUM_SUFFIX = ".sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
_HASHES: dict[tuple[str, int, int], str] = {}
"""SHA-256 by (resolved path, mtime in ns, size): a file is hashed once per process unless it changes."""


class DatasetCorruptError(ValueError):
    """A dataset file is on disk but cannot be read, fails its checksum, or holds the wrong contents."""


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 hex digest of the file ``path``, computed once per process for each (path, mtime, size)."""
    path = check_path(path, "path")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def write_checksum(path: str | os.PathLike) -> Path:
    """Record the SHA-256 of ``path`` in ``<path>.sha256`` (replaced atomically); return it."""
    path = check_path(path, "path")
    target = path.with_name(path.name + CHECKSUM_SUFFIX)
    write_text_atomically(target, f"{sha256(path)}  {path.name}\n")
    return target


def recorded_checksum(path: str | os.PathLike) -> str | None:
    """The SHA-256 recorded for ``path`` in ``<path>.sha256``, ``None`` when there is no such file."""
    path = check_path(path, "path")
    record = path.with_name(path.name + CHECKSUM_SUFFIX)
    if not record.exists():
        return None
    fields = record.read_text().split()
    if not fields or not _HEX.fullmatch(fields[0]) or (len(fields) > 1 and fields[1].lstrip("*") != path.name):
        raise DatasetCorruptError(f"{record} is not a SHA-256 record of {path.name} ('<64 hex digits>  {path.name}'): "
                                  f"rebuild the file, or rewrite it with `sha256sum {path.name} > {record.name}`")
    return fields[0]


def verify_checksum(path: str | os.PathLike, dataset: str, rebuild: str, expected: str | None = None,
                    required: bool = True) -> None:
    """Check the SHA-256 of ``path`` against ``expected``, else against ``<path>.sha256``.

    A mismatch raises :class:`DatasetCorruptError` with ``rebuild`` (how to make the file again). Without any
    checksum the file is refused when ``required``, else loaded unverified with a warning.
    """
    path, dataset, rebuild = check_path(path, "path"), check_str(dataset, "dataset"), check_str(rebuild, "rebuild")
    if expected is not None and not (isinstance(expected, str) and _HEX.fullmatch(expected)):
        raise ValueError(f"expected must be a SHA-256 hex digest (64 lower-case hex digits), got {expected!r}")
    recorded = expected if expected is not None else recorded_checksum(path)
    if recorded is None:
        message = f"{dataset}: no SHA-256 recorded for {path} (no {path.name}{CHECKSUM_SUFFIX} beside it)"
        if required:
            raise DatasetCorruptError(f"{message}; {rebuild}")
        warnings.warn(f"{message}: loading it unverified. To record one, {rebuild}, or run `sha256sum {path.name} > "
                      f"{path.name}{CHECKSUM_SUFFIX}` in {path.parent} if you trust the file", stacklevel=2)
        return
    actual = sha256(path)
    if actual != recorded:
        raise DatasetCorruptError(
            f"{dataset}: {path} has SHA-256 {actual}, but {recorded} was recorded for it: the file is damaged or was "
            f"changed after its checksum was recorded; {rebuild}"
        )


_IDX_ITEM_BYTES = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
"""Bytes per value of each IDX type code (the MNIST file format)."""


def _idx_problem(path: Path, size: int) -> str | None:
    """What is wrong with the IDX file ``path`` of ``size`` bytes, from its header, or ``None``."""
    with open(path, "rb") as file:
        head = file.read(4)
        dims = file.read(4 * head[3]) if len(head) == 4 else b""
    if len(head) < 4 or head[:2] != b"\0\0" or head[2] not in _IDX_ITEM_BYTES or len(dims) != 4 * head[3]:
        return f"{path} does not start with an IDX header"
    shape = [int.from_bytes(dims[i : i + 4], "big") for i in range(0, len(dims), 4)]
    expected = 4 + len(dims) + int(np.prod(shape)) * _IDX_ITEM_BYTES[head[2]]
    if size != expected:
        announced = f"{'x'.join(map(str, shape))} values ({expected} bytes)"
        return f"{path} has {size} bytes, but its IDX header announces {announced}"
    return None


def damage_report(paths: Sequence[str | os.PathLike]) -> str:
    """One sentence on what is wrong with the files ``paths``, as far as their sizes tell: empty files, IDX files
    (MNIST's format, ``*-ubyte``) whose length differs from their header's; else the files' list."""
    if isinstance(paths, (str, os.PathLike)) or not isinstance(paths, Sequence) or not paths:
        raise ValueError(f"paths must be a non-empty sequence of paths, got {paths!r}")
    files = [check_path(path, f"paths[{i}]") for i, path in enumerate(paths)]
    found = []
    for path in files:
        size = path.stat().st_size
        if size == 0:
            found.append(f"{path} is empty")
        elif path.name.endswith("-ubyte") and (problem := _idx_problem(path, size)):
            found.append(problem)
    if found:
        return f"Damaged: {'; '.join(found)}."
    return f"The file(s) read: {', '.join(map(str, files))}."


def _open_npz(path: Path, dataset: str, rebuild: str) -> np.lib.npyio.NpzFile:
    if path.stat().st_size == 0:
        raise DatasetCorruptError(f"{dataset}: {path} is empty (0 bytes), not an .npz archive; {rebuild}")
    with open(path, "rb") as file:
        head = file.read(6)
    if head == b"\x93NUMPY":
        raise DatasetCorruptError(f"{dataset}: {path} holds a single .npy array, not an .npz archive; {rebuild}")
    if not head.startswith(b"PK\x03\x04"):
        raise DatasetCorruptError(
            f"{dataset}: {path} is not an .npz archive: it does not start like a zip file (first bytes {head!r}); "
            f"the file is damaged or of another format; {rebuild}"
        )
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise DatasetCorruptError(
            f"{dataset}: {path} is a damaged zip archive, most likely truncated ({error}); {rebuild}"
        ) from error


def read_npz(path: str | os.PathLike, dataset: str, keys: Sequence[str], rebuild: str) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of the ``.npz`` archive ``path``, all read now, without pickles.

    A file that is not such an archive, is truncated, or lacks or holds a damaged array raises
    :class:`DatasetCorruptError` naming ``dataset``, the file and the cause, and ``rebuild``.
    """
    path, dataset, rebuild = check_path(path, "path"), check_str(dataset, "dataset"), check_str(rebuild, "rebuild")
    keys = check_names(keys, "keys")
    with _open_npz(path, dataset, rebuild) as archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise DatasetCorruptError(f"{dataset}: {path} lacks the array(s) {', '.join(missing)} (it holds "
                                      f"{', '.join(archive.files) or 'nothing'}); {rebuild}")
        arrays = {}
        for key in keys:
            try:
                arrays[key] = archive[key]
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
                cause = "it holds Python objects, which are not loaded" if "pickle" in str(error) else str(error)
                raise DatasetCorruptError(f"{dataset}: the array {key!r} of {path} is damaged ({cause}); "
                                          f"{rebuild}") from error
    return arrays


def read_info(info: np.ndarray, where: str) -> dict:
    """The JSON record ``info`` of an archive, stored as a 0-d string array; ``where`` names its file."""
    where = check_str(where, "where")
    if not isinstance(info, np.ndarray) or info.ndim != 0 or info.dtype.kind != "U":
        got = f"{info.dtype} of shape {info.shape}" if isinstance(info, np.ndarray) else type(info).__name__
        raise DatasetCorruptError(f"{where}: info must be a 0-d string array (a JSON record), got {got}")
    try:
        record = json.loads(str(info))
    except json.JSONDecodeError as error:
        raise DatasetCorruptError(f"{where}: info is not valid JSON ({error})") from error
    if not isinstance(record, dict):
        raise DatasetCorruptError(f"{where}: info must be a JSON object, got {type(record).__name__}")
    return record


def check_image_arrays(x: np.ndarray, y: np.ndarray, shape: Sequence[int], num_classes: int, where: str) -> None:
    """Raise :class:`DatasetCorruptError` unless ``x`` holds uint8 images ``(N, *shape)`` (so values in 0..255) and
    ``y`` their ``N`` integer labels in ``0..num_classes - 1``; ``where`` names the dataset, split and file."""
    shape, num_classes = check_sizes(shape, "shape"), check_positive_int(num_classes, "num_classes")
    where = check_str(where, "where")
    for name, array in (("x", x), ("y", y)):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if x.dtype != np.uint8 or x.ndim != 1 + len(shape) or tuple(x.shape[1:]) != shape:
        raise DatasetCorruptError(f"{where}: images x must be uint8 of shape (N, {', '.join(map(str, shape))}), "
                                  f"got {x.dtype} {x.shape}")
    if x.shape[0] == 0:
        raise DatasetCorruptError(f"{where}: images x is empty (shape {x.shape})")
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise DatasetCorruptError(f"{where}: labels y must be a 1-D integer array, got {y.dtype} {y.shape}")
    if y.shape[0] != x.shape[0]:
        raise DatasetCorruptError(f"{where}: {y.shape[0]} labels y for {x.shape[0]} images x")
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        raise DatasetCorruptError(f"{where}: labels y must lie in 0..{num_classes - 1}, got {low}..{high}")
