"""Input checks shared by every public function: each raises with a message that says what is wrong."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor


def _require_tensor(x: object, name: str) -> None:
    """Raise unless ``x`` is a tensor (the type check every tensor check starts with)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")


def check_tensor(x: object, name: str, ndim: int | Sequence[int] | None = None, finite: bool = True,
                 nonempty: bool = True) -> Tensor:
    """Return ``x`` if it is a floating tensor of the expected rank (non-empty, with finite values), else raise.

    ``ndim`` is one allowed rank or a sequence of them; ``None`` accepts any rank. ``nonempty=False`` accepts a
    tensor without elements.
    ``finite=False`` skips the value check: functions on the training path use it for
    network outputs, so that a NaN reaches the loss, where the trainer's guard reports
    the step and the term (and no device synchronisation is spent per call).
    """
    _require_tensor(x, name)
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def check_batch(x: object, name: str, shape: Sequence[int] | None = None, like: torch.nn.Module | None = None,
                leading: bool = False, finite: bool = True) -> Tensor:
    """Return ``x`` if it is a non-empty floating batch ``(B, *shape)`` (``leading=True``: ``(..., *shape)``, any
    leading axes) in the dtype of ``like``'s parameters, else raise: the input check of a network's ``forward``.

    ``shape=None`` accepts any example shape. Under autocast any floating dtype passes (autocast mixes them).
    ``finite=False`` (the training path) reads no values, as in :func:`check_tensor`.
    """
    check_tensor(x, name, finite=False)
    param = None if like is None else next(like.parameters(), None)
    if param is not None and x.dtype != param.dtype and not torch.is_autocast_enabled(x.device.type):
        raise TypeError(f"{name} must have the dtype of the network's parameters, {param.dtype}, got {x.dtype}")
    if shape is None:
        if x.dim() < 1:
            raise ValueError(f"{name} must have a batch axis, got a scalar")
    else:
        lead = x.dim() - len(shape)
        if lead < 1 or (lead > 1 and not leading) or tuple(x.shape[lead:]) != tuple(shape):
            sizes = ", ".join(map(str, shape))
            raise ValueError(f"{name} must have shape ({'...' if leading else 'B'}, {sizes}), got {tuple(x.shape)}")
    if finite:
        check_tensor(x, name)
    return x


def check_module(module: object, name: str) -> None:
    """Raise unless ``module`` is a ``torch.nn.Module`` (an encoder, a decoder, a discriminator)."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")


def check_array(x: Tensor | np.ndarray, name: str, ndim: int, finite: bool = True, nonempty: bool = True) -> np.ndarray:
    """``x`` (a tensor, moved to the CPU, or a NumPy array) as a NumPy array of numbers of rank ``ndim`` (non-empty,
    with finite values), else raise; for the scikit-learn estimators behind the probes and the domain metrics."""
    if isinstance(x, Tensor):
        array = x.detach().cpu().numpy()
    elif isinstance(x, np.ndarray):
        array = x
    else:
        raise TypeError(f"{name} must be a torch.Tensor or a numpy.ndarray, got {type(x).__name__}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if nonempty and array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape})")
    if finite and np.issubdtype(array.dtype, np.number) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_label_array(y: Tensor | np.ndarray, name: str) -> np.ndarray:
    """``y`` as a non-empty 1-D NumPy array of integer class labels (see :func:`check_array`), else raise."""
    labels = check_array(y, name, 1)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"{name} must be integer class labels, got dtype {labels.dtype}")
    return labels


def check_same_shape(**tensors: Tensor) -> None:
    """Raise unless all named tensors have one shape."""
    for name, t in tensors.items():
        _require_tensor(t, name)
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name}={shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes must match, got {listed}")


def check_same_dtype(**tensors: Tensor) -> None:
    """Raise unless all named tensors have one dtype (the linear algebra does not mix precisions)."""
    for name, t in tensors.items():
        _require_tensor(t, name)
    dtypes = {name: t.dtype for name, t in tensors.items()}
    if len(set(dtypes.values())) > 1:
        listed = ", ".join(f"{name}={dtype}" for name, dtype in dtypes.items())
        raise TypeError(f"dtypes must match, got {listed}")


def check_generator(generator: object, name: str) -> None:
    """Raise unless ``generator`` is ``None`` or a ``torch.Generator``."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(generator).__name__}")


def check_positive(x: Tensor | float, name: str) -> None:
    """Raise unless every entry of ``x`` is strictly positive (a variance, a scale, a temperature)."""
    if isinstance(x, bool) or not isinstance(x, (Tensor, int, float, np.number)):
        raise TypeError(f"{name} must be a tensor or a real number, got {type(x).__name__}")
    values = torch.as_tensor(x)
    if not bool((values > 0).all()):
        raise ValueError(f"{name} must be strictly positive, got minimum {values.min().item():.4g}")


def check_choice(value: object, allowed: tuple[str, ...], what: str) -> None:
    """Raise unless ``value`` is one of ``allowed`` (``what`` names the option in the message)."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")


def check_real(value: object, name: str, minimum: float | None = None, maximum: float | None = None,
               strict: bool = False) -> float:
    """Raise unless ``value`` is a finite real number (not a ``bool``) in ``[minimum, maximum]`` (open bounds with
    ``strict=True``); return it as a ``float``. A 0-d tensor or NumPy scalar counts as a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number, Tensor)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if isinstance(value, Tensor) and (value.numel() != 1 or value.is_complex()):
        raise TypeError(f"{name} must be a real number, got a tensor of shape {tuple(value.shape)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    below = minimum is not None and (number <= minimum if strict else number < minimum)
    above = maximum is not None and (number >= maximum if strict else number > maximum)
    if below or above:
        low, high = ("(" if strict else "[") + f"{minimum if minimum is not None else '-inf'}", \
            f"{maximum if maximum is not None else 'inf'}" + (")" if strict else "]")
        raise ValueError(f"{name} must lie in {low}, {high}, got {number}")
    return number


def check_non_negative_int(value: object, name: str) -> int:
    """Raise unless ``value`` is an ``int`` or NumPy integer (not a ``bool``) of at least 0; return it as an ``int``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Raise unless ``value`` is an ``int`` (not a ``bool``) of at least 1 and at least ``minimum``; return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def check_sizes(values: object, name: str) -> tuple[int, ...]:
    """Raise unless ``values`` is a positive ``int`` or a non-empty sequence of them (widths, a shape); return the tuple."""
    sizes = (values,) if isinstance(values, int) and not isinstance(values, bool) else values
    try:
        sizes = tuple(sizes)  # type: ignore[arg-type]
    except TypeError:
        sizes = ()
    if not sizes or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"{name} must be a positive integer or a non-empty sequence of them, got {values!r}")
    return sizes


def _is_items(values: object) -> bool:
    """Whether ``values`` is a non-empty sequence that is not a string (the list a sequence check accepts)."""
    return not isinstance(values, (str, bytes)) and isinstance(values, Sequence) and bool(values)


def check_reals(values: object, name: str, length: int | None = None, minimum: float | None = None,
                maximum: float | None = None, strict: bool = False) -> tuple[float, ...]:
    """Raise unless ``values`` is a non-empty sequence (of ``length`` entries, if given) of finite real numbers in
    the range of :func:`check_real`; return them as floats."""
    if not _is_items(values) or (length is not None and len(values) != length):
        size = f"{length} " if length is not None else "a non-empty sequence of "
        raise ValueError(f"{name} must be {size}real numbers, got {values!r}")
    return tuple(check_real(v, f"{name}[{i}]", minimum, maximum, strict) for i, v in enumerate(values))


def check_seeds(values: object, name: str) -> list[int]:
    """Raise unless ``values`` is a non-empty sequence of non-negative ``int`` seeds; return them as a list."""
    if not _is_items(values):
        raise ValueError(f"{name} must be a non-empty sequence of non-negative integers, got {values!r}")
    return [check_non_negative_int(value, f"{name}[{i}]") for i, value in enumerate(values)]


def check_names(values: object, name: str) -> tuple[str, ...]:
    """Raise unless ``values`` is a non-empty sequence (not a string) of strings (metric names, labels); return them."""
    if not _is_items(values):
        raise ValueError(f"{name} must be a non-empty sequence of strings, got {values!r}")
    if bad := [value for value in values if not isinstance(value, str)]:
        raise TypeError(f"{name} must hold strings, got {bad[0]!r}")
    return tuple(values)


def check_instance(value: object, kind: type | tuple[type, ...], name: str) -> None:
    """Raise unless ``value`` is an instance of ``kind`` (a configuration, a dataset, a parser)."""
    if not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise TypeError(f"{name} must be a {expected}, got {type(value).__name__}")


def check_callable(value: object, name: str) -> None:
    """Raise unless ``value`` is callable (a statistic, a run, a record check)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")


def check_path(value: object, name: str) -> Path:
    """Raise unless ``value`` is a path (a ``str`` or an ``os.PathLike``); return it as a :class:`~pathlib.Path`."""
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(value).__name__}")
    return Path(value)


def check_str(value: object, name: str) -> str:
    """Raise unless ``value`` is a ``str`` (free text: a name, a source, a message part); return it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}")
    return value


def check_device(value: object, name: str) -> torch.device:
    """Raise unless ``value`` is a ``torch.device`` or a string that names one (``"cpu"``, ``"cuda:0"``); return it."""
    if isinstance(value, torch.device):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a torch.device or a device string, got {type(value).__name__}")
    try:
        return torch.device(value)
    except RuntimeError as error:
        raise ValueError(f"{name} {value!r} is not a device string ({error})") from error


def check_file_stem(value: object, name: str) -> str:
    """Raise unless ``value`` is a plain file stem: a non-empty string without path separators or blanks."""
    if check_str(value, name) in ("", ".", "..") or any(c in "/\\" or c.isspace() for c in value):
        raise ValueError(f"{name} must be a plain file stem (no path separators or blanks), got {value!r}")
    return value


def check_json(value: object, name: str) -> None:
    """Raise unless ``value`` is JSON data with finite numbers (dicts with string keys, lists, tuples, strings, bools,
    ``None``, ints, finite floats); the message gives the key path of the first bad entry, e.g. ``metrics['fid']``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{name} has the key {key!r}: JSON keys must be strings")
            check_json(item, f"{name}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json(item, f"{name}[{i}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} is {value}: JSON has no NaN or infinity")
    elif not (value is None or isinstance(value, (str, int, float))):
        raise TypeError(f"{name} is a {type(value).__name__}: not JSON serializable")


def check_linalg_dtype(x: Tensor, name: str) -> None:
    """Raise unless ``x`` is float32 or float64, the precisions of Cholesky, eigh and the solves."""
    _require_tensor(x, name)
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} must be float32 or float64 (Cholesky, eigh and solves have no half precision), "
                        f"got {x.dtype}")


def check_covariance(cov: Tensor, name: str) -> Tensor:
    """Raise unless ``cov`` is a symmetric positive-definite float32/float64 ``(D, D)`` matrix; return its Cholesky
    factor."""
    check_tensor(cov, name, ndim=2)
    check_linalg_dtype(cov, name)
    if cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(cov.shape)}")
    if not torch.allclose(cov, cov.T, rtol=1e-5, atol=1e-8):
        raise ValueError(f"{name} must be symmetric")
    chol, info = torch.linalg.cholesky_ex(cov)
    if int(info) != 0:
        raise ValueError(f"{name} must be positive definite (a non-positive variance direction was found)")
    return chol


def check_semidefinite(cov: Tensor, name: str) -> None:
    """Raise unless ``cov`` is a symmetric positive *semi*-definite ``(D, D)`` matrix (a covariance, maybe singular).

    Checked in float64 up to rounding: an asymmetry or a negative eigenvalue is tolerated up to the square root
    of the machine epsilon of ``cov``'s dtype (float32's at least) times its largest absolute entry.
    """
    check_tensor(cov, name, ndim=2)
    if cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(cov.shape)}")
    matrix = cov.detach().cpu().double()
    tolerance = max(torch.finfo(cov.dtype).eps, torch.finfo(torch.float32).eps) ** 0.5 * matrix.abs().max().item()
    asymmetry = (matrix - matrix.T).abs().max().item()
    if asymmetry > tolerance:
        raise ValueError(f"{name} must be symmetric, got entries that differ from their transposes by {asymmetry:.3g}")
    lowest = torch.linalg.eigvalsh(0.5 * (matrix + matrix.T))[0].item()
    if lowest < -tolerance:
        raise ValueError(f"{name} must be positive semi-definite, got an eigenvalue of {lowest:.3g}")


def check_probability(p: float, name: str) -> None:
    """Raise unless ``p`` is a real number (or a one-element tensor) with ``0 <= p <= 1``."""
    if not 0.0 <= check_real(p, name) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p}")


def broadcast_batch_shape(event_dims: int, **tensors: Tensor) -> torch.Size:
    """Return the broadcast shape of ``tensors`` whose trailing ``event_dims`` axes must agree exactly.

    Leading (batch or sample) axes broadcast by the usual rules; the event axes may not.
    """
    check_non_negative_int(event_dims, "event_dims")
    for name, t in tensors.items():
        _require_tensor(t, name)
    listed = ", ".join(f"{name}={tuple(t.shape)}" for name, t in tensors.items())
    for name, t in tensors.items():
        if t.dim() < event_dims:
            raise ValueError(f"{name} needs at least {event_dims} dimension(s), got shape {tuple(t.shape)}")
    event_shapes = {tuple(t.shape[t.dim() - event_dims :]) for t in tensors.values()}
    if len(event_shapes) > 1:
        raise ValueError(f"the last {event_dims} axis/axes must match exactly, got {listed}")
    try:
        return torch.broadcast_shapes(*(t.shape for t in tensors.values()))
    except RuntimeError as err:
        raise ValueError(f"leading axes cannot be broadcast together, got {listed}") from err


def check_labels(y: Tensor, n: int, name: str) -> None:
    """Raise unless ``y`` holds ``n`` integer class labels, shape ``(n,)``."""
    if not isinstance(y, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer labels, got {type(y).__name__}")
    if y.dim() != 1 or y.shape[0] != n or y.is_floating_point():
        raise ValueError(f"{name} must be integer labels of shape ({n},), got {tuple(y.shape)} {y.dtype}")


def check_class_indices(y: Tensor, n: int, num_classes: int, name: str = "labels") -> None:
    """Raise unless ``y`` holds ``n`` int64 class indices in ``0..num_classes-1``, shape ``(n,)``."""
    check_labels(y, n, name)
    if y.dtype != torch.long:
        raise TypeError(f"{name} must be int64 class indices, got {y.dtype}")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(f"{name} must lie in 0..{num_classes - 1}, got {int(y.min())}..{int(y.max())}")

