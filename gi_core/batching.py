"""Work on a whole dataset one batch at a time: means of per-batch statistics, batched maps, evaluation mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from gi_core.validation import check_positive_int


@torch.no_grad()
def batched_mean(statistic: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 500) -> float:
    r"""Mean of a per-example statistic over a whole dataset, computed batch by batch.

    ``statistic`` maps a batch to the *batch mean* of a per-example quantity (as the objectives
    in :mod:`gi_core.maths.bounds` do); batches are weighted by their size, so the result is
    :math:`\frac1N\sum_i s(x_i)` whatever ``batch_size`` is.
    """
    check_positive_int(batch_size, "batch_size")
    if x.shape[0] == 0:
        raise ValueError("cannot average over an empty dataset")
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        chunk = x[start : start + batch_size]
        total += float(statistic(chunk)) * chunk.shape[0]
    return total / x.shape[0]


def apply_in_batches(fn: Callable[[Tensor], Tensor], x: Tensor, batch_size: int = 1024) -> Tensor:
    """``fn`` on consecutive batches of ``x`` without gradients; the results are concatenated on the CPU."""
    check_positive_int(batch_size, "batch_size")
    with torch.no_grad():
        return torch.cat([fn(x[i : i + batch_size]).cpu() for i in range(0, x.shape[0], batch_size)])


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[None]:
    """Evaluation mode without gradients; the previous mode is restored on exit, also after an error."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        module.train(was_training)

