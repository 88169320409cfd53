"""The machinery of the input fuzz: enumerate gi_core's public callables, mutate valid calls, judge the outcome.

A :class:`Case` is one valid call of one public callable (a function, a class's constructor, or a public method),
made fresh by ``make()``. :func:`mutants` derives the bad variants of it, one argument at a time, from the *type
of the valid value* (see :data:`MUST_RAISE`), and :func:`judge` decides each one:

* it raises :class:`ValueError` or :class:`TypeError` (or one of gi_core's own exceptions), from a ``raise``
  statement inside ``gi_core`` (not from inside torch, numpy, scipy or scikit-learn), with a message that names the
  argument: accepted;
* it returns although the mutation is one that must be refused: accepted only if the case lists it in ``allow``
  with the reason (``{"argument:mutation": reason}``, ``"argument:*"`` for every mutation of that argument);
* the dtype changes in :data:`MAY_SUCCEED` may return; if they raise, the error must be as clear as above.
"""

from __future__ import annotations

import importlib
import inspect
import linecache
import math
import pkgutil
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import gi_core

PACKAGE_DIR = Path(gi_core.__file__).resolve().parent
_SCRATCH = tempfile.TemporaryDirectory(prefix="gi-fuzz-")


def scratch(name: str | None = None) -> Path:
    """A folder for the cases' files, removed when the interpreter exits: the folder ``name`` (created once and then
    shared), or a new empty folder for each call without a name."""
    if name is None:
        return Path(tempfile.mkdtemp(dir=_SCRATCH.name))
    folder = Path(_SCRATCH.name) / name
    folder.mkdir(exist_ok=True)
    return folder

MUST_RAISE = {
    "tensor": ("type", "dtype", "nan", "inf", "empty", "rank", "size"),
    "array": ("type", "nan", "inf", "empty", "rank", "size"),
    "int": ("type", "float", "zero", "negative", "bool"),
    "float": ("type", "nan", "inf", "negative"),
    "str": ("type", "unknown"),
    "module": ("type",),
    "sequence": ("type", "empty"),
    "generator": ("type",),
    "path": ("type",),
}
"""The mutations applied to an argument, by the kind of its valid value. They must be refused unless allowed.

``rank`` adds a leading axis; ``size`` drops the last entry of the last axis (a mismatched event size);
``empty`` keeps no rows; ``dtype`` swaps floating and integer dtypes; ``int:float`` passes ``2.5``;
``float:negative`` and ``int:negative`` pass ``-1``; ``type`` passes the integer 7 for a string or a path and
the string ``"not-a-value"`` for anything else. Booleans, ``None`` and values of other kinds (dicts, configs, callables) are not mutated here: a flag is
read by truthiness, and composite values have their own cases.
"""
MAY_SUCCEED = {"tensor": ("float16", "float64")}
"""Dtype changes a function may accept (computing in that precision or converting); if refused, clearly."""


@dataclass
class Case:
    """One valid call of ``target`` (``"module.function"``, ``"module.Class"`` or ``"module.Class.method"``).

    ``make()`` returns the keyword arguments of a valid call, freshly built (mutations may be in place). For a
    method, ``instance()`` builds the object whose method is called. ``allow`` maps ``"argument:mutation"`` (or
    ``"argument:*"``) to the reason why that input is accepted; ``skip`` names arguments not to mutate (with
    the reason). ``run_valid=False`` skips calling the valid variant (a call that trains a model for minutes).
    """

    target: str
    make: Callable[[], dict[str, Any]]
    instance: Callable[[], Any] | None = None
    allow: dict[str, str] = field(default_factory=dict)
    skip: dict[str, str] = field(default_factory=dict)
    run_valid: bool = True

    def callable(self) -> Callable[..., Any]:
        if self.instance is not None:
            return getattr(self.instance(), self.target.rsplit(".", 1)[1])
        return resolve(self.target)


def resolve(target: str) -> Any:
    """The object named ``target`` (a module path followed by attribute names)."""
    parts = target.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise LookupError(target)


def public_callables() -> list[str]:
    """Every public function, class and public method defined in ``gi_core`` (not re-exported names)."""
    names = []
    for info in pkgutil.walk_packages(gi_core.__path__, "gi_core."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != info.name:
                continue
            if inspect.isfunction(obj):
                names.append(f"{info.name}.{name}")
            elif inspect.isclass(obj):
                names.append(f"{info.name}.{name}")
                for method, value in vars(obj).items():
                    if not method.startswith("_") and (inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod))):
                        names.append(f"{info.name}.{name}.{method}")
    return sorted(names)


def kind(value: Any) -> str | None:
    """The mutation family of a valid value (a key of :data:`MUST_RAISE`), or ``None`` when it is not mutated."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, nn.Module):
        return "module"
    if isinstance(value, torch.Generator):
        return "generator"
    if isinstance(value, Path):
        return "path"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float, str)) for v in value):
        return "sequence"
    return None


def _poison(value: torch.Tensor | np.ndarray, bad: float) -> torch.Tensor | np.ndarray | None:
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point() or value.numel() == 0:
            return None
        out = value.detach().clone()
        out.view(-1)[0] = bad
        return out.requires_grad_(value.requires_grad)
    if not np.issubdtype(value.dtype, np.floating) or value.size == 0:
        return None
    out = value.copy()
    out.reshape(-1)[0] = bad
    return out


def mutate(value: Any, mutation: str) -> Any:
    """``value`` changed by ``mutation``, or ``None`` where the mutation does not apply (e.g. NaN in integers)."""
    if mutation == "type":
        return 7 if isinstance(value, (str, Path)) else "not-a-value"
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if mutation == "nan":
            return _poison(value, math.nan)
        if mutation == "inf":
            return _poison(value, math.inf)
        if value.ndim == 0 and mutation in ("empty", "size"):
            return None
        if mutation == "empty":
            return value[:0]
        if mutation == "rank":
            return value[None]
        if mutation == "size":
            return value[..., :-1] if value.shape[-1] > 1 else None
        if isinstance(value, torch.Tensor):
            if mutation == "dtype":
                return value.detach().long() if value.is_floating_point() else value.double()
            if mutation in ("float16", "float64"):
                return value.detach().to(getattr(torch, mutation)) if value.is_floating_point() else None
    if isinstance(value, int):
        return {"float": 2.5, "zero": 0, "negative": -1, "bool": True}[mutation]
    if isinstance(value, float):
        return {"nan": math.nan, "inf": math.inf, "negative": -1.0}[mutation]
    if isinstance(value, str) and mutation == "unknown":
        return "no-such-option"
    if isinstance(value, (list, tuple)) and mutation == "empty":
        return type(value)()
    raise AssertionError(f"no mutation {mutation!r} for {type(value).__name__}")


def mutants(case: Case) -> Iterator[tuple[str, str, bool, dict[str, Any]]]:
    """``(argument, mutation, must_raise, kwargs)`` for every applicable mutation of every argument of the case."""
    for argument, value in case.make().items():
        family = kind(value)
        if family is None or argument in case.skip:
            continue
        plan = [(m, True) for m in MUST_RAISE[family]] + [(m, False) for m in MAY_SUCCEED.get(family, ())]
        for mutation, must_raise in plan:
            kwargs = case.make()
            changed = mutate(kwargs[argument], mutation)
            if changed is None:
                continue
            kwargs[argument] = changed
            yield argument, mutation, must_raise, kwargs


@cache
def _own_exceptions() -> tuple[type[BaseException], ...]:
    found = [ValueError, TypeError]
    for info in pkgutil.walk_packages(gi_core.__path__, "gi_core."):
        for obj in vars(importlib.import_module(info.name)).values():
            if inspect.isclass(obj) and issubclass(obj, Exception) and obj.__module__.startswith("gi_core"):
                found.append(obj)
    return tuple(found)


def raised_by_gi_core(error: BaseException) -> bool:
    """Whether the innermost frame of ``error`` is a ``raise`` statement in a gi_core file."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    last = frames[-1]
    inside = Path(last.filename).resolve().is_relative_to(PACKAGE_DIR)
    return inside and linecache.getline(last.filename, last.lineno).strip().startswith("raise")


def judge(case: Case, argument: str, mutation: str, must_raise: bool, kwargs: dict[str, Any]) -> str | None:
    """``None`` if the call behaved, else what went wrong."""
    label = f"{argument}:{mutation}"
    try:
        case.callable()(**kwargs)
    except _own_exceptions() as error:
        if not raised_by_gi_core(error):
            where = traceback.extract_tb(error.__traceback__)[-1]
            return f"{label}: {type(error).__name__} from inside a library ({where.filename}:{where.lineno}): {error}"
        if argument not in str(error):
            return f"{label}: the message does not name {argument!r}: {type(error).__name__}: {error}"
        return None
    except Exception as error:  # noqa: BLE001 - any other exception is the finding
        where = traceback.extract_tb(error.__traceback__)[-1]
        return f"{label}: {type(error).__name__} at {where.filename}:{where.lineno}: {error}"
    if must_raise and label not in case.allow and f"{argument}:*" not in case.allow:
        return f"{label}: accepted silently (refuse it, or allow it with the reason)"
    return None
