"""What every training step does, shared by :class:`gi_core.trainer.Trainer` and
:class:`gi_core.multi_run.MultiRunTrainer`: the checks of the resident data, the optimizers and the schedules, the
schedules applied before a step, the optimizers' update, and the CPU threads a model trains with."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn

from gi_core.checkpoints import write_text_atomically
from gi_core.validation import check_device, check_module, check_non_negative_int, check_path, check_positive_int

METRICS_FILE = "metrics.jsonl"
"""The file in a run's checkpoint folder that holds its logged records, one JSON object a line."""

SMALL_STEP_WORK = 1e7
"""Parameters × batch size below which a CPU step trains on one thread (see :func:`default_threads`)."""


def default_threads(model: nn.Module, batch_size: int, device: torch.device | str) -> int | None:
    """The CPU threads a model trains with: 1 for a small step (parameters × batch below :data:`SMALL_STEP_WORK`),
    else ``None`` (the process's setting); ``None`` off the CPU.

    Measured by ``benchmarks/bench_threads.py`` (``results/benchmark_threads.json``, 2-core Xeon, median of 5
    interleaved rounds): on an idle machine a second thread gives 0.96× the steps/s of one for the ring models of
    chapter 2 (work 2–3.5e6), 1.20× for a 784-64-20 VAE (1.35e7) and 1.55× for the 784-512-256-20 VAE (1.39e8);
    while a busy loop holds both cores it gives 0.10–0.69× for the ring models and 0.81–0.87× for the VAEs. A tiny
    model gains nothing from a second thread and loses up to tenfold on a loaded machine, so it gets one; a larger
    model keeps the process's threads. A thread count also changes the float rounding, so the choice is a fixed
    function of the model, never of the load.
    """
    check_module(model, "model")
    check_positive_int(batch_size, "batch_size")
    if check_device(device, "device").type != "cpu":
        return None
    work = sum(p.numel() for p in model.parameters()) * batch_size
    return 1 if work < SMALL_STEP_WORK else None


def check_training_data(data: Tensor | Sequence[Tensor], batch_size: int) -> tuple[Tensor, ...]:
    """``data`` as a tuple of finite tensors sharing their first (example) dimension, at least ``batch_size`` long."""
    tensors = (data,) if isinstance(data, Tensor) else tuple(data) if isinstance(data, (tuple, list)) else ()
    if not tensors or any(not isinstance(t, Tensor) or t.dim() == 0 for t in tensors):
        raise TypeError("data must be a tensor or a non-empty sequence of tensors with a first (example) dimension")
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise ValueError(f"all data tensors must share their first dimension, got {[tuple(t.shape) for t in tensors]}")
    if any(t.is_floating_point() and not bool(torch.isfinite(t).all()) for t in tensors):
        raise ValueError("data contains NaN or infinite values")
    check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"batch_size must be between 1 and the dataset size {n} (the first dimension of data), "
                         f"got {batch_size}")
    return tensors


def check_optimizers(optimizer: torch.optim.Optimizer | dict[str, torch.optim.Optimizer],
                     name: str = "optimizer") -> dict[str, torch.optim.Optimizer]:
    """``{term: optimizer}``: one optimizer stands for ``{"loss": optimizer}`` (``name`` labels the error)."""
    optimizers = optimizer if isinstance(optimizer, dict) else {"loss": optimizer}
    if not optimizers or any(not isinstance(o, torch.optim.Optimizer) for o in optimizers.values()):
        raise TypeError(f"{name} must be a torch optimizer or a non-empty dict of them keyed by loss term")
    return optimizers


def check_schedules(schedules: Mapping[str, Callable[[int], float]] | None, model: nn.Module) -> dict[str, Callable[[int], float]]:
    """The schedules as a dict, refused unless each is callable and ``model`` can take every coefficient one sets."""
    check_module(model, "model")
    if schedules is not None and not isinstance(schedules, Mapping):
        raise TypeError(f"schedules must map names to functions of the step, got {type(schedules).__name__}")
    schedules = dict(schedules or {})
    if any(not callable(f) for f in schedules.values()):
        raise TypeError("schedules must map names to functions of the step")
    if set(schedules) - {"lr"} and not callable(getattr(model, "set_coefficient", None)):
        raise TypeError(f"the schedules {sorted(set(schedules) - {'lr'})} need a model with set_coefficient(name, value)")
    return schedules


def apply_schedules(schedules: Mapping[str, Callable[[int], float]], step: int, model: nn.Module,
                    optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Set every scheduled value for ``step``: rates = initial rates × ``schedules["lr"]`` (a group's initial rate is
    its ``"initial_lr"``, recorded from its rate on first use), coefficients on the model."""
    if not isinstance(schedules, Mapping):
        raise TypeError(f"schedules must map names to functions of the step, got {type(schedules).__name__}")
    check_non_negative_int(step, "step")
    check_module(model, "model")
    optimizers = check_optimizers(optimizers, "optimizers")
    for name, schedule in schedules.items():
        value = schedule(step)
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"step {step}: schedule '{name}' returned {value}; it must be finite and non-negative")
        if name != "lr":
            model.set_coefficient(name, value)
            continue
        for optimizer in optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = group.setdefault("initial_lr", group["lr"]) * value


def optimizer_step(optimizers: dict[str, torch.optim.Optimizer], losses: Mapping[str, Tensor]) -> None:
    """One update of every optimizer: a single one descends its loss; several move simultaneously, each optimizer's
    parameters along the gradient of its own term, all gradients taken at the same point."""
    optimizers = check_optimizers(optimizers, "optimizers")
    if not isinstance(losses, Mapping) or any(not isinstance(losses.get(name), Tensor) or losses[name].numel() != 1
                                              for name in optimizers):
        raise ValueError(f"losses must map each optimized term {sorted(optimizers)} to a scalar tensor")
    if len(optimizers) == 1:
        (name, optimizer), = optimizers.items()
        optimizer.zero_grad(set_to_none=True)
        losses[name].backward()
        optimizer.step()
        return
    updates = []
    for name, optimizer in optimizers.items():
        params = [p for group in optimizer.param_groups for p in group["params"]]
        grads = torch.autograd.grad(losses[name], params, retain_graph=True, allow_unused=True)
        updates.append((optimizer, params, grads))
    for optimizer, params, grads in updates:
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()


def check_target_step(steps: int, current: int) -> None:
    """Raise unless ``steps`` is a step a run at step ``current`` can train to (``fit(steps)``)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if steps < check_non_negative_int(current, "current"):
        raise ValueError(f"steps: already at step {current}; cannot train to step {steps}")


def cpu_threads(threads: int | None) -> AbstractContextManager[None]:
    """Run the block on ``threads`` CPU threads (``None``: as set) and give the process its setting back."""
    if threads is not None:
        check_positive_int(threads, "threads")
    return _on_threads(threads)


@contextmanager
def _on_threads(threads: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def append_metrics(folder: Path | None, record: dict[str, float]) -> None:
    """Append ``record`` as one JSON line to ``<folder>/metrics.jsonl`` (nothing without a folder)."""
    if folder is None:
        return
    folder = check_path(folder, "folder")
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / METRICS_FILE, "a") as f:
        f.write(json.dumps(record) + "\n")


def rewrite_metrics(folder: Path, history: list[dict[str, float]]) -> None:
    """Replace ``<folder>/metrics.jsonl`` by the records of ``history`` (a resumed run drops what came after its
    checkpoint; a fresh run starts an empty log)."""
    folder = check_path(folder, "folder")
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomically(folder / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in history))
