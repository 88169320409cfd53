"""The trainer of every model in the book and the model protocol it trains (its optimizers: :mod:`gi_core.optimizers`).

A model is anything that follows :class:`TrainableModel`: ``training_loss(*batch) -> dict`` returns the
scalar terms (the one named ``"loss"`` and any others an optimizer minimises, beside logged ones) and
``parameters_by_loss()`` says which parameters each minimised term moves.

* The dataset lives on the device as tensors; batches are gathered by indexing with a
  per-epoch random permutation, so no host-to-device copy happens per batch.
* Every schedule is a function of the step that the trainer applies before each step: the learning
  rate (``"lr"``) and any coefficient of the model (e.g. the gradient-reversal ``"grl"``), so a loss
  function has no side effects and a resumed run follows the same schedules.
* Optional bf16 autocast (``amp=True``) and ``torch.compile`` of the loss function.
* Each run draws from its own random generators (the data order, and the generator the model's own draws use,
  swapped in while it trains), so a run's numbers depend only on its seed and its checkpoint, not on what
  else the process drew before or between ``fit`` calls.
* A NaN/inf guard names the step, the component terms that went non-finite and the last finite values.
* Checkpoints (:mod:`gi_core.checkpoints`) are plain state dicts plus a JSON record, committed atomically and
  validated whole before any state is restored; resuming from one continues bitwise identically on CPU.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from tqdm import tqdm

from gi_core.checkpoints import (
    CheckpointError,
    check_fits,
    has_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from gi_core.guards import non_finite_error
from gi_core.random_state import RunGenerators
from gi_core.training_step import (
    METRICS_FILE,
    append_metrics,
    apply_schedules,
    check_optimizers,
    check_schedules,
    check_target_step,
    check_training_data,
    cpu_threads,
    default_threads,
    optimizer_step,
    rewrite_metrics,
)
from gi_core.validation import check_choice, check_device, check_non_negative_int, check_path, check_positive_int

UPDATES = ("simultaneous", "alternating")
"""How a trainer with several optimizers moves them in one step (see :class:`Trainer`)."""



@runtime_checkable
class TrainableModel(Protocol):
    """What :class:`Trainer` trains: an ``nn.Module`` with these two methods.

    ``training_loss(*batch)`` returns scalar tensors by name; every name in ``parameters_by_loss()`` is a
    term that one optimizer minimises over those parameters (``"loss"`` alone for most models; a second
    term such as ``"discriminator_loss"`` for adversarial ones). The other terms are logged.
    """

    def training_loss(self, *batch: Tensor) -> dict[str, Tensor]: ...

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]: ...


@runtime_checkable
class Scheduled(Protocol):
    """A model with coefficients that the trainer sets from the step (``Trainer(schedules={name: f})``)."""

    def set_coefficient(self, name: str, value: float) -> None: ...


def check_trainable(model: object, name: str, *, groups: bool = True) -> None:
    """Raise unless ``model`` is an ``nn.Module`` with ``training_loss`` and (``groups=True``) ``parameters_by_loss``
    (:class:`TrainableModel`; the trainer, given its optimizers, needs only ``training_loss``)."""
    needed = ("training_loss", "parameters_by_loss") if groups else ("training_loss",)
    if not isinstance(model, nn.Module) or not all(callable(getattr(model, m, None)) for m in needed):
        raise TypeError(f"{name} must be an nn.Module with {' and '.join(m + '()' for m in needed)}, got {type(model).__name__}")


def parameter_groups(**modules_by_term: Sequence[nn.Module]) -> dict[str, list[nn.Parameter]]:
    """``{term: parameters of its modules, in order}``: the ``parameters_by_loss`` of a model whose terms train
    disjoint parts (e.g. ``loss=[encoder, decoder], discriminator_loss=[discriminator]``)."""
    return {term: [p for module in modules for p in module.parameters()] for term, modules in modules_by_term.items()}


class Trainer:
    """Optimise ``model.training_loss`` over tensors resident on ``device``.

    ``data`` is one tensor or a sequence of tensors sharing their first dimension; each
    step passes ``model.training_loss`` the rows of a random batch of every tensor.

    ``optimizer`` is one optimizer for the term ``"loss"``, or, for adversarial models, a
    dict from loss-term names to optimizers, e.g. ``{"loss": opt_gen, "critic_loss": opt_critic}``:
    each optimizer then descends the gradient of its own term with respect to its own
    parameters, all gradients taken at the same point (``updates="simultaneous"``), or one after the other in the
    dict's order, the loss evaluated afresh on the same batch before each update (``updates="alternating"``: the
    second player answers the first one's new parameters, as in ADDA or AVDA; the logged terms are those of the last
    evaluation).

    ``schedules`` maps names to functions of the step (0, 1, ...), applied before each step: ``"lr"`` gives a
    factor of every group's initial learning rate, any other name a coefficient of the model, set with
    ``model.set_coefficient(name, value)`` (:class:`Scheduled`). They are pure functions of the step, so a
    resumed run follows the same schedules.

    Incomplete final batches are dropped (``drop_last=True``, every step has the same shape) or kept as a
    shorter last batch of each epoch (``drop_last=False``, every example is seen once per epoch).

    ``threads`` is the number of CPU threads ``fit`` trains with (the process's setting is restored afterwards);
    ``None`` chooses by the model's size (:func:`~gi_core.training_step.default_threads`).
    """

    def __init__(
        self,
        model: TrainableModel,
        optimizer: torch.optim.Optimizer | dict[str, torch.optim.Optimizer],
        data: Tensor | Sequence[Tensor],
        batch_size: int,
        *,
        seed: int = 0,
        device: torch.device | str | None = None,
        amp: bool = False,
        compile: bool = False,
        checkpoint_dir: str | os.PathLike | None = None,
        checkpoint_every: int = 0,
        log_every: int = 50,
        progress: bool = True,
        schedules: Mapping[str, Callable[[int], float]] | None = None,
        drop_last: bool = True,
        threads: int | None = None,
        updates: str = "simultaneous",
    ) -> None:
        check_trainable(model, "model", groups=False)
        check_choice(updates, UPDATES, "updates")
        tensors = check_training_data(data, batch_size)
        n = tensors[0].shape[0]
        check_non_negative_int(seed, "seed")
        check_non_negative_int(checkpoint_every, "checkpoint_every")
        check_positive_int(log_every, "log_every")
        if checkpoint_dir is not None:
            checkpoint_dir = check_path(checkpoint_dir, "checkpoint_dir")
        if checkpoint_every and checkpoint_dir is None:
            raise ValueError("checkpoint_every > 0 needs a checkpoint_dir")
        self.schedules = check_schedules(schedules, model)
        self.device = check_device(device, "device") if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.optimizers = check_optimizers(optimizer)
        self.updates = updates
        self.data = tuple(t.to(self.device) for t in tensors)
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.steps_per_epoch = n // batch_size if self.drop_last else math.ceil(n / batch_size)
        self.amp = amp
        self.loss_fn = torch.compile(model.training_loss) if compile else model.training_loss
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = checkpoint_every
        self.log_every = log_every
        self.progress = progress
        self.seed = seed
        self.threads = default_threads(model, batch_size, self.device) if threads is None else check_positive_int(threads, "threads")
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.shuffle = torch.Generator().manual_seed(seed)
        self.generators = RunGenerators(seed, self.device)
        self._inside = False
        self.step = 0
        self.history: list[dict[str, float]] = []
        self._last_finite: tuple[int, dict[str, float]] | None = None
        self._set_order(torch.randperm(n, generator=self.shuffle))

    def _set_order(self, order: Tensor) -> None:
        """Keep the epoch's permutation on the host (for checkpoints) and once on the device."""
        self._order = order
        self._order_device = order.to(self.device)

    def _batch(self) -> tuple[Tensor, ...]:
        position = self.step % self.steps_per_epoch
        if position == 0 and self.step > 0:
            self._set_order(torch.randperm(self.data[0].shape[0], generator=self.shuffle))
        idx = self._order_device[position * self.batch_size : (position + 1) * self.batch_size]
        return tuple(t[idx] for t in self.data)

    def _read_terms(self, terms: dict[str, Tensor]) -> dict[str, float]:
        """Every term as a float (one device-to-host copy on an accelerator); stop on NaN or inf."""
        if not isinstance(terms, dict) or not all(isinstance(v, Tensor) for v in terms.values()):
            raise TypeError(f"training_loss must return a dict of scalar tensors, got {type(terms).__name__}")
        if missing := [name for name in self.optimizers if name not in terms]:
            raise KeyError(f"training_loss must return the terms {missing} that the optimizers minimise")
        values = [value.detach() for value in terms.values()]
        if any(v.numel() != 1 for v in values):
            shapes = {name: tuple(v.shape) for name, v in zip(terms, values)}
            raise ValueError(f"training_loss must return scalar terms, got shapes {shapes}")
        if self.device.type == "cpu":
            floats = dict(zip(terms, (float(v) for v in values)))
        else:
            floats = dict(zip(terms, torch.stack([v.reshape(()).float() for v in values]).tolist()))
        if any(not math.isfinite(value) for value in floats.values()):
            raise non_finite_error(self.step, floats, self.optimizers, self.model, self._last_finite)
        self._last_finite = (self.step, floats)
        return floats

    def train_step(self) -> dict[str, float]:
        """One optimisation step on the next batch, on the run's threads and generators; returns the terms as floats."""
        with self._running():
            self.model.train()
            batch = self._batch()
            apply_schedules(self.schedules, self.step, self.model, self.optimizers)
            groups = ([self.optimizers] if self.updates == "simultaneous"
                      else [{name: optimizer} for name, optimizer in self.optimizers.items()])
            for group in groups:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                    terms = self.loss_fn(*batch)
                floats = self._read_terms(terms)
                optimizer_step(group, terms)
            self.step += 1
        return floats

    def fit(self, steps: int) -> list[dict[str, float]]:
        """Train until ``self.step == steps`` (a resumed trainer continues where it stopped)."""
        check_target_step(steps, self.step)
        start = time.perf_counter()
        bar = tqdm(total=steps, initial=self.step, disable=not self.progress, file=sys.stderr,
                   desc="train", mininterval=1.0, dynamic_ncols=True)
        with bar, self._running():
            while self.step < steps:
                terms = self.train_step()
                bar.update(1)
                if self.step % self.log_every == 0 or self.step == steps:
                    record = {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                              "seconds": time.perf_counter() - start, **terms}
                    self.history.append(record)
                    append_metrics(self.checkpoint_dir, record)
                    bar.set_postfix(loss=f"{terms['loss']:.3f}")
                if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save_checkpoint()
        return self.history

    @contextmanager
    def _running(self) -> Iterator[None]:
        """Train on the run's CPU threads and generators, and give the process its own back afterwards (entered once
        per ``fit``; a ``train_step`` inside it does not enter again)."""
        if self._inside:
            yield
            return
        self._inside = True
        try:
            with cpu_threads(self.threads), self.generators.active():
                yield
        finally:
            self._inside = False

    def _folder(self, directory: str | os.PathLike | None) -> Path:
        folder = check_path(directory, "directory") if directory is not None else self.checkpoint_dir
        if folder is None:
            raise ValueError("directory: no checkpoint directory given (pass one, or set the trainer's checkpoint_dir)")
        return folder

    def save_checkpoint(self, directory: str | os.PathLike | None = None) -> Path:
        """Commit the model, optimizers, data order and the run's generator states as one checkpoint
        (:func:`gi_core.checkpoints.write_checkpoint`); return its folder."""
        folder = self._folder(directory)
        state = {
            "model": self.model.state_dict(),
            "optimizers": {name: o.state_dict() for name, o in self.optimizers.items()},
            "rng": {**self.generators.state(), "shuffle": self.shuffle.get_state(), "order": self._order},
        }
        record = {"step": self.step, "seed": self.seed, "batch_size": self.batch_size,
                  "dataset_size": self.data[0].shape[0], "history": self.history}
        write_checkpoint(folder, state, record)
        return folder

    def resume(self) -> int:
        """Load the checkpoint in ``checkpoint_dir`` if one was written there (a run that was interrupted);
        return the step reached, 0 for a fresh run."""
        if has_checkpoint(self.checkpoint_dir):
            return self.load_checkpoint()
        if self.checkpoint_dir is not None and (self.checkpoint_dir / METRICS_FILE).exists():
            rewrite_metrics(self.checkpoint_dir, [])  # records of a run killed before its first checkpoint
        return self.step

    def load_checkpoint(self, directory: str | os.PathLike | None = None) -> int:
        """Restore model, optimizers, data order and generator states; return the step reached.

        The whole checkpoint is validated first (:func:`gi_core.checkpoints.read_checkpoint`, then that it fits this
        trainer); if restoring still fails, the trainer is put back as it was, so an error never leaves it half-loaded.
        """
        folder = self._folder(directory)
        state, record = read_checkpoint(folder)
        check_fits(state, record, self.model, self.optimizers, self.batch_size, self.data[0].shape[0], folder)
        backup = (copy.deepcopy(self.model.state_dict()), {n: copy.deepcopy(o.state_dict()) for n, o in self.optimizers.items()})
        try:
            self.model.load_state_dict(state["model"])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
        except (RuntimeError, KeyError, ValueError, TypeError) as error:
            self.model.load_state_dict(backup[0])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(backup[1][name])
            raise CheckpointError(f"checkpoint in {folder} does not fit this model/optimizer: {error}") from error
        rng = state["rng"]
        self.generators.load({key: rng[key] for key in ("torch", "cuda") if key in rng})
        self.shuffle.set_state(rng["shuffle"])
        self._set_order(rng["order"])
        self.step = record["step"]
        self.history = list(record.get("history", []))
        self._last_finite = None
        if self.checkpoint_dir is not None:  # drop records written after this checkpoint
            rewrite_metrics(self.checkpoint_dir, self.history)
        return self.step
