"""Input checks shared by every public function: each raises with a message that says what is wrong."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def check_tensor(x: object, name: str, ndim: int | Sequence[int] | None = None, finite: bool = True) -> Tensor:
    """Return ``x`` if it is a floating tensor of the expected rank (with finite values), else raise.

    ``ndim`` is one allowed rank or a sequence of them; ``None`` accepts any rank.
    ``finite=False`` skips the value check: functions on the training path use it for
    network outputs, so that a NaN reaches the loss, where the trainer's guard reports
    the step and the term (and no device synchronisation is spent per call).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(x.shape)}")
    if finite and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def check_module(module: object, name: str) -> None:
    """Raise unless ``module`` is a ``torch.nn.Module`` (an encoder, a decoder, a discriminator)."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(module).__name__}")


def check_array(x: Tensor | np.ndarray, name: str, ndim: int, finite: bool = True) -> np.ndarray:
    """``x`` (a tensor, moved to the CPU, or an array-like) as a NumPy array of rank ``ndim`` (with finite values),
    else raise; for the scikit-learn estimators behind the probes and the domain metrics."""
    array = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {array.shape}")
    if finite and np.issubdtype(array.dtype, np.number) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def check_same_shape(**tensors: Tensor) -> None:
    """Raise unless all named tensors have one shape."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name}={shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes must match, got {listed}")


def check_positive(x: Tensor | float, name: str) -> None:
    """Raise unless every entry of ``x`` is strictly positive (a variance, a scale, a temperature)."""
    values = torch.as_tensor(x)
    if not bool((values > 0).all()):
        raise ValueError(f"{name} must be strictly positive, got minimum {values.min().item():.4g}")


def check_choice(value: object, allowed: tuple[str, ...], what: str) -> None:
    """Raise unless ``value`` is one of ``allowed`` (``what`` names the option in the message)."""
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")


def check_positive_int(value: object, name: str) -> int:
    """Raise unless ``value`` is an ``int`` (not a ``bool``) of at least 1; return it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
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


def check_covariance(cov: Tensor, name: str) -> Tensor:
    """Raise unless ``cov`` is a symmetric positive-definite ``(D, D)`` matrix; return its Cholesky factor."""
    check_tensor(cov, name, ndim=2)
    if cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be square, got shape {tuple(cov.shape)}")
    if not torch.allclose(cov, cov.T, rtol=1e-5, atol=1e-8):
        raise ValueError(f"{name} must be symmetric")
    chol, info = torch.linalg.cholesky_ex(cov)
    if int(info) != 0:
        raise ValueError(f"{name} must be positive definite (a non-positive variance direction was found)")
    return chol


def check_probability(p: float, name: str) -> None:
    """Raise unless ``0 <= p <= 1``."""
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p}")


def broadcast_batch_shape(event_dims: int, **tensors: Tensor) -> torch.Size:
    """Return the broadcast shape of ``tensors`` whose trailing ``event_dims`` axes must agree exactly.

    Leading (batch or sample) axes broadcast by the usual rules; the event axes may not.
    """
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
    if y.dim() != 1 or y.shape[0] != n or y.is_floating_point():
        raise ValueError(f"{name} must be integer labels of shape ({n},), got {tuple(y.shape)} {y.dtype}")
