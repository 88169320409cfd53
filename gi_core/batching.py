"""Work on a whole dataset one batch at a time: means of per-batch statistics, batched maps, evaluation mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import torch
from torch import Tensor, nn

from gi_core.validation import check_batch, check_callable, check_module, check_positive_int


def _check_batched(fn: object, fn_name: str, x: object, batch_size: object) -> None:
    check_callable(fn, fn_name)
    check_batch(x, "x")
    check_positive_int(batch_size, "batch_size")


@torch.no_grad()
def batched_mean(statistic: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 500) -> float:
    r"""Mean of a per-example statistic over a whole dataset, computed batch by batch.

    ``statistic`` maps a batch to the *batch mean* of a per-example quantity (as the objectives
    in :mod:`gi_core.maths.bounds` do); batches are weighted by their size, so the result is
    :math:`\frac1N\sum_i s(x_i)` whatever ``batch_size`` is. ``x`` is a non-empty floating tensor with finite
    values, split along its first axis; what one example is (its shape) is the statistic's to check.
    """
    _check_batched(statistic, "statistic", x, batch_size)
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        chunk = x[start : start + batch_size]
        value = statistic(chunk)
        if not (isinstance(value, (int, float)) or isinstance(value, Tensor) and value.numel() == 1):
            raise ValueError(f"statistic must return one number (the batch mean), got {type(value).__name__} "
                             f"{tuple(value.shape) if isinstance(value, Tensor) else ''}")
        total += float(value) * chunk.shape[0]
    return total / x.shape[0]


def apply_in_batches(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 1024) -> Tensor:
    """``fn`` on consecutive batches of ``x`` without gradients; the results are concatenated on the CPU.

    ``x`` is a non-empty floating tensor with finite values, split along its first axis."""
    _check_batched(fn, "fn", x, batch_size)
    with torch.no_grad():
        return torch.cat([fn(x[i : i + batch_size]).cpu() for i in range(0, x.shape[0], batch_size)])


def eval_mode(module: nn.Module) -> AbstractContextManager[None]:
    """Evaluation mode without gradients; the previous mode is restored on exit, also after an error."""
    check_module(module, "module")
    return _eval_mode(module)


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)
