"""Many runs of one architecture trained as one batched model: :class:`MultiRunTrainer`.

A table of the book is many small runs (models × seeds × configurations). A :class:`GroupedTrainable` holds
``groups`` independent copies of a model (grouped layers, :mod:`gi_core.nets.grouped`) and returns every loss term
with one value per run; the trainer descends the sum, which moves each copy along its own gradient. Each run keeps
what a :class:`~gi_core.trainer.Trainer` run keeps, so a run's numbers depend only on its seed:

* its own data order (a shuffle generator seeded with its seed) and its own generator for the model's draws, both
  seeded as the sequential trainer seeds them;
* its own optimizer state (element-wise optimizers such as Adam on the stacked tensors update each slice as the
  run's own optimizer would);
* its own NaN guard: a run whose terms go non-finite is stopped, reported (a warning and :attr:`MultiRunTrainer.stopped`,
  with the guard's message naming the step and the term) and frozen, and the others go on;
* its own checkpoint folder, in the sequential trainer's format (the plain twin's state dict, plain optimizer state
  dicts, the generator states and the data order, plus the JSON record), so a run can resume in any group, or
  alone in a :class:`~gi_core.trainer.Trainer`.

At ``groups=1`` a run is bitwise the sequential trainer's run; at ``groups > 1`` the batched matrix products round
differently, and Adam's trajectories drift apart from there (``tests/test_multi_run.py`` measures how fast).
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from tqdm import tqdm

from gi_core.checkpoints import CheckpointError, check_fits, checkpoint_step, read_checkpoint, write_checkpoint
from gi_core.guards import NonFiniteLossError, non_finite_error
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
from gi_core.validation import check_device, check_non_negative_int, check_path, check_positive_int, check_seeds


@runtime_checkable
class GroupedTrainable(Protocol):
    """What :class:`MultiRunTrainer` trains: ``groups`` copies of a plain model as one ``nn.Module``.

    ``training_loss(*batch, generators=...)`` takes batches shaped ``(groups, B, ...)`` and one generator per run
    (every random draw of run ``s`` comes from ``generators[s]``) and returns terms of shape ``(groups,)``;
    ``parameters_by_loss()`` lists the grouped parameters in the order the plain twin lists its own;
    ``run_slice(name, tensor, run)`` is the view of ``tensor`` (shaped like state entry ``name``) that is run
    ``run``'s entry of the plain twin (:func:`gi_core.nets.grouped.run_slice`); ``run_model(run)`` is the plain
    twin holding run ``run``'s weights.
    """

    groups: int

    def training_loss(self, *batch: Tensor, generators: Sequence[torch.Generator]) -> dict[str, Tensor]: ...

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]: ...

    def run_slice(self, name: str, tensor: Tensor, run: int) -> Tensor: ...

    def run_model(self, run: int) -> nn.Module: ...


def _check_grouped(model: object) -> None:
    needed = ("training_loss", "parameters_by_loss", "run_slice", "run_model")
    if not isinstance(model, nn.Module) or not all(callable(getattr(model, m, None)) for m in needed) \
            or not isinstance(getattr(model, "groups", None), int):
        raise TypeError(f"model must be a grouped model (an nn.Module with groups, {', '.join(m + '()' for m in needed)}), "
                        f"got {type(model).__name__}")


class MultiRunTrainer:
    """Train the ``model.groups`` runs of a :class:`GroupedTrainable` together, run ``s`` seeded with ``seeds[s]``.

    The arguments are the sequential :class:`~gi_core.trainer.Trainer`'s, with ``seeds`` (one per run) for ``seed``
    and ``checkpoint_dirs`` (one folder per run, or ``None``) for ``checkpoint_dir``; ``optimizer`` is built over
    the grouped parameters (``make_optimizers(model, spec)``) and must update element by element (Adam, SGD).
    """

    def __init__(
        self,
        model: GroupedTrainable,
        optimizer: torch.optim.Optimizer | dict[str, torch.optim.Optimizer],
        data: Tensor | Sequence[Tensor],
        batch_size: int,
        seeds: Sequence[int],
        *,
        device: torch.device | str | None = None,
        amp: bool = False,
        compile: bool = False,
        checkpoint_dirs: Sequence[str | os.PathLike] | None = None,
        checkpoint_every: int = 0,
        log_every: int = 50,
        progress: bool = True,
        schedules: Mapping[str, Callable[[int], float]] | None = None,
        drop_last: bool = True,
        threads: int | None = None,
    ) -> None:
        _check_grouped(model)
        tensors = check_training_data(data, batch_size)
        self.seeds = check_seeds(list(seeds) if isinstance(seeds, (tuple, list)) else seeds, "seeds")
        if len(self.seeds) != model.groups:
            raise ValueError(f"seeds must give one seed per run: the model has {model.groups} runs, got {len(self.seeds)} seeds")
        check_non_negative_int(checkpoint_every, "checkpoint_every")
        check_positive_int(log_every, "log_every")
        if checkpoint_dirs is not None:
            if isinstance(checkpoint_dirs, (str, os.PathLike)) or len(checkpoint_dirs) != model.groups:
                raise ValueError(f"checkpoint_dirs must be a sequence of one folder per run ({model.groups})")
            checkpoint_dirs = [check_path(folder, f"checkpoint_dirs[{s}]") for s, folder in enumerate(checkpoint_dirs)]
            if len(set(checkpoint_dirs)) < len(checkpoint_dirs):
                raise ValueError("checkpoint_dirs must name a different folder for every run")
        if checkpoint_every and checkpoint_dirs is None:
            raise ValueError("checkpoint_every > 0 needs checkpoint_dirs")
        self.schedules = check_schedules(schedules, model)
        self.device = check_device(device, "device") if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.optimizers = check_optimizers(optimizer)
        self.names = {p: name for name, p in model.named_parameters()}
        for optimizer_ in self.optimizers.values():
            for group in optimizer_.param_groups:
                group.setdefault("initial_lr", group["lr"])
                if any(p not in self.names for p in group["params"]):
                    raise ValueError("optimizer: every parameter it updates must be a parameter of the model")
        self.runs = model.groups
        self.data = tuple(t.to(self.device) for t in tensors)
        self.dataset_size = self.data[0].shape[0]
        self.batch_size = batch_size
        self.steps_per_epoch = self.dataset_size // batch_size if drop_last else math.ceil(self.dataset_size / batch_size)
        self.amp, self.progress, self.log_every = amp, progress, log_every
        self.loss_fn = torch.compile(model.training_loss) if compile else model.training_loss
        self.checkpoint_dirs = checkpoint_dirs
        self.checkpoint_every = checkpoint_every
        self.threads = default_threads(model, batch_size, self.device) if threads is None else check_positive_int(threads, "threads")
        self.shuffles = [torch.Generator().manual_seed(seed) for seed in self.seeds]
        self.generators = [torch.Generator(self.device).manual_seed(seed) for seed in self.seeds]
        self.cpu_generators = self.generators if self.device.type == "cpu" else [
            torch.Generator().manual_seed(seed) for seed in self.seeds]
        self._inside = False
        self.step = 0
        self.history: list[list[dict[str, float]]] = [[] for _ in self.seeds]
        self.stopped: dict[int, NonFiniteLossError] = {}
        self._frozen: dict[int, dict] = {}
        self._last_finite: list[tuple[int, dict[str, float]] | None] = [None] * self.runs
        self._set_orders([torch.randperm(self.dataset_size, generator=g) for g in self.shuffles])

    def _set_orders(self, orders: list[Tensor]) -> None:
        """Each run's epoch permutation on the host (for checkpoints), and all of them once on the device."""
        self._orders = orders
        self._orders_device = torch.stack(orders).to(self.device)

    def _batch(self) -> tuple[Tensor, ...]:
        position = self.step % self.steps_per_epoch
        if position == 0 and self.step > 0:
            self._set_orders([torch.randperm(self.dataset_size, generator=g) for g in self.shuffles])
        idx = self._orders_device[:, position * self.batch_size : (position + 1) * self.batch_size]
        return tuple(t[idx] for t in self.data)

    @property
    def active(self) -> list[int]:
        """The runs that are still training (not stopped by the NaN guard)."""
        return [s for s in range(self.runs) if s not in self.stopped]

    def _read_terms(self, terms: dict[str, Tensor]) -> list[dict[str, float]]:
        """Every run's terms as floats (one host copy); stop (and freeze) every run with a non-finite one."""
        if not isinstance(terms, dict) or not all(isinstance(v, Tensor) for v in terms.values()):
            raise TypeError(f"training_loss must return a dict of tensors, got {type(terms).__name__}")
        if missing := [name for name in self.optimizers if name not in terms]:
            raise KeyError(f"training_loss must return the terms {missing} that the optimizers minimise")
        if bad := {name: tuple(v.shape) for name, v in terms.items() if tuple(v.shape) != (self.runs,)}:
            raise ValueError(f"training_loss must return one value per run, shape ({self.runs},); got {bad}")
        table = torch.stack([v.detach().float() for v in terms.values()]).t().tolist()
        floats = [dict(zip(terms, row)) for row in table]
        for s in self.active:
            if all(math.isfinite(v) for v in floats[s].values()):
                self._last_finite[s] = (self.step, floats[s])
                continue
            error = non_finite_error(self.step, floats[s], self.optimizers, self.model.run_model(s), self._last_finite[s])
            self.stopped[s] = error
            self._frozen[s] = self.run_state(s)
            warnings.warn(f"run {s} (seed {self.seeds[s]}) stopped, the others go on: {error}", RuntimeWarning, stacklevel=3)
        return floats

    def train_step(self) -> list[dict[str, float]]:
        """One step of every active run on its next batch; returns each run's terms as floats."""
        if not self.active:
            raise RuntimeError(f"every run has stopped: {'; '.join(str(e) for e in self.stopped.values())}")
        with self._running():
            self.model.train()
            batch = self._batch()
            apply_schedules(self.schedules, self.step, self.model, self.optimizers)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
                terms = self.loss_fn(*batch, generators=self.generators)
            floats = self._read_terms(terms)
            if self.active:
                keep = None if not self.stopped else torch.tensor(self.active, device=self.device)
                optimizer_step(self.optimizers, {name: (terms[name] if keep is None else terms[name][keep]).sum()
                                                 for name in self.optimizers})
                for s, state in self._frozen.items():  # a stopped run keeps the weights and moments it stopped with
                    self._load_run(s, state["model"], state["optimizers"], slices_only=True)
            self.step += 1
        return floats

    def fit(self, steps: int) -> list[list[dict[str, float]]]:
        """Train every active run until ``self.step == steps`` (or until every run has stopped); each run's history."""
        check_target_step(steps, self.step)
        start = time.perf_counter()
        bar = tqdm(total=steps, initial=self.step, disable=not self.progress, file=sys.stderr,
                   desc=f"train {self.runs} runs", mininterval=1.0, dynamic_ncols=True)
        with bar, self._running():
            while self.step < steps and self.active:
                floats = self.train_step()
                bar.update(1)
                if self.step % self.log_every == 0 or self.step == steps:
                    for s in self.active:
                        record = {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                                  "seconds": time.perf_counter() - start, **floats[s]}
                        self.history[s].append(record)
                        append_metrics(None if self.checkpoint_dirs is None else self.checkpoint_dirs[s], record)
                    bar.set_postfix(active=len(self.active))
                if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save_checkpoints()
        return self.history

    @contextmanager
    def _running(self) -> Iterator[None]:
        """The runs' CPU threads; torch's global generators are left as they were (the runs draw from their own).
        Entered once per ``fit``: a ``train_step`` inside it does not enter again."""
        if self._inside:
            yield
            return
        self._inside = True
        try:
            with cpu_threads(self.threads), torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                yield
        finally:
            self._inside = False

    # --- one run's state, in the sequential trainer's format ----------------------------------------------------

    def _check_run(self, run: int) -> int:
        if not 0 <= check_non_negative_int(run, "run") < self.runs:
            raise ValueError(f"run must be below the number of runs {self.runs}, got {run}")
        return run

    def run_state(self, run: int) -> dict:
        """Run ``run``'s checkpoint state as the sequential trainer writes it: the plain twin's state dict, plain
        optimizer state dicts, the generator states and the data order (copies)."""
        self._check_run(run)
        model = {name: self.model.run_slice(name, t, run).clone() for name, t in self.model.state_dict().items()}
        optimizers = {}
        for term, optimizer in self.optimizers.items():
            saved = optimizer.state_dict()
            params = [p for group in optimizer.param_groups for p in group["params"]]
            saved["state"] = {i: {key: self._slice(params[i], value, run) for key, value in entries.items()}
                              for i, entries in saved["state"].items()}
            optimizers[term] = saved
        rng = {"torch": self.cpu_generators[run].get_state(), "shuffle": self.shuffles[run].get_state(),
               "order": self._orders[run].clone()}
        if self.device.type == "cuda":
            rng["cuda"] = self.generators[run].get_state()
        return {"model": model, "optimizers": optimizers, "rng": rng}

    def _slice(self, param: nn.Parameter, value: object, run: int) -> object:
        """A copy of one run's per-parameter optimizer state entry: its slice if shaped like the parameter, else the
        whole entry (a step count; ``None`` or a number as they are)."""
        if isinstance(value, Tensor) and value.shape == param.shape:
            return self.model.run_slice(self.names[param], value, run).clone()
        return value.clone() if isinstance(value, Tensor) else value

    def _load_run(self, run: int, model: dict[str, Tensor], optimizers: dict[str, dict], slices_only: bool = False) -> None:
        """Write one run's plain model and optimizer states into its slices of the group; the optimizers' shared
        entries (Adam's step count) too, unless ``slices_only``."""
        with torch.no_grad():
            for name, t in self.model.state_dict().items():
                self.model.run_slice(name, t, run).copy_(model[name])
            for term, optimizer in self.optimizers.items():
                params = [p for group in optimizer.param_groups for p in group["params"]]
                for i, entries in optimizers[term]["state"].items():
                    param = params[int(i)]
                    state, name = optimizer.state[param], self.names[param]
                    plain_shape = self.model.run_slice(name, param, 0).shape
                    for key, value in entries.items():
                        if isinstance(value, Tensor) and value.dim() > 0 and value.shape == plain_shape:
                            target = state.setdefault(key, torch.zeros_like(param, memory_format=torch.preserve_format))
                            self.model.run_slice(name, target, run).copy_(value)
                        elif slices_only:
                            continue
                        elif isinstance(value, Tensor) and key in state:
                            state[key].copy_(value)
                        else:
                            on_device = optimizer.defaults.get("fused") or optimizer.defaults.get("capturable")
                            state[key] = value.to(param.device if on_device else "cpu") if isinstance(value, Tensor) else value

    def _record(self, run: int) -> dict:
        return {"step": self.step, "seed": self.seeds[run], "batch_size": self.batch_size,
                "dataset_size": self.dataset_size, "history": self.history[run]}

    def save_checkpoints(self) -> list[Path]:
        """Commit one checkpoint per active run into its folder (atomic per run); a stopped run keeps its last one."""
        if self.checkpoint_dirs is None:
            raise ValueError("no checkpoint_dirs: pass one folder per run to the trainer")
        return [write_checkpoint(self.checkpoint_dirs[s], self.run_state(s), self._record(s)) for s in self.active]

    def resume(self) -> int:
        """Load every run's checkpoint (all at one step, or none: a fresh group); return the step reached.

        Runs checkpointed at different steps (a kill between two runs' commits) cannot continue as one group:
        the error names their steps (:func:`~gi_core.checkpoints.checkpoint_step` reads them, to regroup).
        """
        if self.checkpoint_dirs is None:
            return self.step
        steps = [checkpoint_step(folder) for folder in self.checkpoint_dirs]
        if len(set(steps)) > 1:
            raise CheckpointError(f"the runs' checkpoints are at different steps {steps}; train each set of runs at one "
                                  "step as its own group")
        if steps[0] == 0:
            for folder in self.checkpoint_dirs:  # records of a group killed before its first checkpoint
                if (folder / METRICS_FILE).exists():
                    rewrite_metrics(folder, [])
            return self.step
        loaded = []
        for s, folder in enumerate(self.checkpoint_dirs):
            state, record = read_checkpoint(folder)
            check_fits(state, record, self.model.run_model(0), self.optimizers, self.batch_size, self.dataset_size, folder)
            if record["seed"] != self.seeds[s]:
                raise CheckpointError(f"checkpoint in {folder} is of seed {record['seed']}, run {s} has seed {self.seeds[s]}")
            loaded.append((state, record))
        for s, (state, record) in enumerate(loaded):
            self._load_run(s, state["model"], state["optimizers"])
            rng = state["rng"]
            self.cpu_generators[s].set_state(rng["torch"])
            if self.device.type == "cuda" and "cuda" in rng:
                self.generators[s].set_state(rng["cuda"])
            self.shuffles[s].set_state(rng["shuffle"])
            self.history[s] = list(record.get("history", []))
            rewrite_metrics(self.checkpoint_dirs[s], self.history[s])
        self._set_orders([state["rng"]["order"] for state, _ in loaded])
        self.step = steps[0]
        return self.step
