"""The trainer of every model in the book, the model protocol it trains, and its optimizers.

A model is anything that follows :class:`TrainableModel`: ``training_loss(*batch) -> dict`` returns the
scalar terms (the one named ``"loss"`` and any others an optimizer minimises, beside logged ones) and
``parameters_by_loss()`` says which parameters each minimised term moves.

* The dataset lives on the device as tensors; batches are gathered by indexing with a
  per-epoch random permutation, so no host-to-device copy happens per batch.
* Every schedule is a function of the step that the trainer applies before each step: the learning
  rate (``"lr"``) and any coefficient of the model (e.g. the gradient-reversal ``"grl"``), so a loss
  function has no side effects and a resumed run follows the same schedules.
* Optional bf16 autocast (``amp=True``) and ``torch.compile`` of the loss function.
* A NaN/inf guard names the step and the offending term.
* Checkpoints are a plain ``torch.save`` of state dicts (weights-only loadable) plus a JSON
  record with the step, the data order and a SHA-256 of the state file; resuming from one
  continues bitwise identically on CPU.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor, nn
from tqdm import tqdm

STATE_FILE = "state.pt"
META_FILE = "trainer.json"
METRICS_FILE = "metrics.jsonl"


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite."""


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupted or does not fit the model."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def parameter_groups(**modules_by_term: Sequence[nn.Module]) -> dict[str, list[nn.Parameter]]:
    """``{term: parameters of its modules, in order}``: the ``parameters_by_loss`` of a model whose terms train
    disjoint parts (e.g. ``loss=[encoder, decoder], discriminator_loss=[discriminator]``)."""
    return {term: [p for module in modules for p in module.parameters()] for term, modules in modules_by_term.items()}


OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a run: ``kind`` ``"adam"`` (``betas``; ``fused`` or ``foreach`` implementation) or ``"sgd"``
    (``momentum``), at rate ``lr``.

    Only settings that differ from PyTorch's defaults are passed to the optimizer.
    """

    kind: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.0
    fused: bool = False
    foreach: bool = False

    def __post_init__(self) -> None:
        if self.kind not in OPTIMIZERS:
            raise ValueError(f"optimizer kind must be one of {OPTIMIZERS}, got {self.kind!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be finite and positive, got {self.lr}")
        if self.kind == "sgd" and (self.fused or self.foreach or self.betas != (0.9, 0.999)):
            raise ValueError("SGD takes no betas and no implementation choice here; set them for kind='adam' only")
        if self.fused and self.foreach:
            raise ValueError("choose one Adam implementation: fused or foreach")
        if self.kind == "adam" and self.momentum:
            raise ValueError("Adam takes betas, not momentum; set momentum for kind='sgd' only")

    def build(self, params: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimizer over ``params``."""
        if self.kind == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        options = {"betas": tuple(self.betas)} if tuple(self.betas) != (0.9, 0.999) else {}
        if self.fused:
            options["fused"] = True
        if self.foreach:
            options["foreach"] = True
        return torch.optim.Adam(params, lr=self.lr, **options)


def make_optimizers(model: TrainableModel, spec: OptimizerSpec | Mapping[str, OptimizerSpec]) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per term of ``model.parameters_by_loss()``: ``spec`` for all of them, or ``spec[term]`` for each."""
    groups = model.parameters_by_loss()
    specs = {term: spec for term in groups} if isinstance(spec, OptimizerSpec) else dict(spec)
    if set(specs) != set(groups):
        raise ValueError(f"optimizer specs are given for {sorted(specs)}, but the model trains the terms {sorted(groups)}")
    return {term: specs[term].build(params) for term, params in groups.items()}


class Trainer:
    """Optimise ``model.training_loss`` over tensors resident on ``device``.

    ``data`` is one tensor or a sequence of tensors sharing their first dimension; each
    step passes ``model.training_loss`` the rows of a random batch of every tensor.

    ``optimizer`` is one optimizer for the term ``"loss"``, or, for adversarial models, a
    dict from loss-term names to optimizers, e.g. ``{"loss": opt_gen, "critic_loss": opt_critic}``:
    each optimizer then descends the gradient of its own term with respect to its own
    parameters, all gradients taken at the same point (simultaneous updates).

    ``schedules`` maps names to functions of the step (0, 1, ...), applied before each step: ``"lr"`` gives a
    factor of every group's initial learning rate, any other name a coefficient of the model, set with
    ``model.set_coefficient(name, value)`` (:class:`Scheduled`). They are pure functions of the step, so a
    resumed run follows the same schedules.

    Incomplete final batches are dropped (``drop_last=True``, every step has the same shape) or kept as a
    shorter last batch of each epoch (``drop_last=False``, every example is seen once per epoch).
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
    ) -> None:
        tensors = (data,) if isinstance(data, Tensor) else tuple(data)
        if not tensors or any(not isinstance(t, Tensor) for t in tensors):
            raise TypeError("data must be a tensor or a non-empty sequence of tensors")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"all data tensors must share their first dimension, got {[tuple(t.shape) for t in tensors]}")
        if not 1 <= batch_size <= n:
            raise ValueError(f"batch_size must be between 1 and the dataset size {n}, got {batch_size}")
        if checkpoint_every < 0 or log_every < 1:
            raise ValueError("checkpoint_every must be >= 0 and log_every >= 1")
        if checkpoint_every and checkpoint_dir is None:
            raise ValueError("checkpoint_every > 0 needs a checkpoint_dir")
        self.schedules = dict(schedules or {})
        if any(not callable(f) for f in self.schedules.values()):
            raise TypeError("schedules must map names to functions of the step")
        if set(self.schedules) - {"lr"} and not isinstance(model, Scheduled):
            raise TypeError(f"the schedules {sorted(set(self.schedules) - {'lr'})} need a model with set_coefficient(name, value)")
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model = model.to(self.device)
        self.optimizers = optimizer if isinstance(optimizer, dict) else {"loss": optimizer}
        if not self.optimizers or any(not isinstance(o, torch.optim.Optimizer) for o in self.optimizers.values()):
            raise TypeError("optimizer must be a torch optimizer or a non-empty dict of them keyed by loss term")
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
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group.setdefault("initial_lr", group["lr"])
        self.shuffle = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.step = 0
        self.history: list[dict[str, float]] = []
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
        if missing := [name for name in self.optimizers if name not in terms]:
            raise KeyError(f"training_loss must return the terms {missing} that the optimizers minimise")
        values = [value.detach() for value in terms.values()]
        if any(v.numel() != 1 for v in values):
            shapes = {name: tuple(v.shape) for name, v in zip(terms, values)}
            raise ValueError(f"training_loss must return scalar terms, got shapes {shapes}")
        if self.device.type == "cpu":
            floats = [float(v) for v in values]
        else:
            floats = torch.stack([v.reshape(()).float() for v in values]).tolist()
        for name, value in zip(terms, floats):
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"step {self.step}: loss term '{name}' is {value}; training stopped "
                    "(lower the learning rate, check the inputs, or bound the log-variances)"
                )
        return dict(zip(terms, floats))

    def train_step(self) -> dict[str, float]:
        """One optimisation step on the next batch; returns the terms as floats."""
        self.model.train()
        batch = self._batch()
        self._apply_schedules()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            terms = self.loss_fn(*batch)
        floats = self._read_terms(terms)
        if len(self.optimizers) == 1:
            (name, optimizer), = self.optimizers.items()
            optimizer.zero_grad(set_to_none=True)
            terms[name].backward()
            optimizer.step()
        else:
            self._simultaneous_step(terms)
        self.step += 1
        return floats

    def _apply_schedules(self) -> None:
        """Set every scheduled value for this step: rates = initial rates × ``schedules["lr"]``, coefficients on the model."""
        for name, schedule in self.schedules.items():
            value = schedule(self.step)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"step {self.step}: schedule '{name}' returned {value}; it must be finite and non-negative")
            if name != "lr":
                self.model.set_coefficient(name, value)
                continue
            for optimizer in self.optimizers.values():
                for group in optimizer.param_groups:
                    group["lr"] = group["initial_lr"] * value

    def _simultaneous_step(self, terms: dict[str, Tensor]) -> None:
        """Each optimizer's parameters move along the gradient of that optimizer's own term."""
        updates = []
        for name, optimizer in self.optimizers.items():
            params = [p for group in optimizer.param_groups for p in group["params"]]
            grads = torch.autograd.grad(terms[name], params, retain_graph=True, allow_unused=True)
            updates.append((optimizer, params, grads))
        for optimizer, params, grads in updates:
            for p, g in zip(params, grads):
                p.grad = g
            optimizer.step()

    def fit(self, steps: int) -> list[dict[str, float]]:
        """Train until ``self.step == steps`` (a resumed trainer continues where it stopped)."""
        if steps < self.step:
            raise ValueError(f"already at step {self.step}; cannot train to step {steps}")
        start = time.perf_counter()
        bar = tqdm(total=steps, initial=self.step, disable=not self.progress, file=sys.stderr,
                   desc="train", mininterval=1.0, dynamic_ncols=True)
        with bar:
            while self.step < steps:
                terms = self.train_step()
                bar.update(1)
                if self.step % self.log_every == 0 or self.step == steps:
                    record = {"step": self.step, "epoch": self.step / self.steps_per_epoch,
                              "seconds": time.perf_counter() - start, **terms}
                    self.history.append(record)
                    self._append_metrics(record)
                    bar.set_postfix(loss=f"{terms['loss']:.3f}")
                if self.checkpoint_every and self.step % self.checkpoint_every == 0:
                    self.save_checkpoint()
        return self.history

    def _append_metrics(self, record: dict[str, float]) -> None:
        if self.checkpoint_dir is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            with open(self.checkpoint_dir / METRICS_FILE, "a") as f:
                f.write(json.dumps(record) + "\n")

    def save_checkpoint(self, directory: str | os.PathLike | None = None) -> Path:
        """Write ``state.pt`` (state dicts and RNG states) and ``trainer.json``, atomically."""
        folder = Path(directory) if directory is not None else self.checkpoint_dir
        if folder is None:
            raise ValueError("no checkpoint directory given")
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "model": self.model.state_dict(),
            "optimizers": {name: o.state_dict() for name, o in self.optimizers.items()},
            "rng": {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state(), "order": self._order},
        }
        if self.device.type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        tmp = folder / (STATE_FILE + ".tmp")
        torch.save(state, tmp)
        meta = {"step": self.step, "seed": self.seed, "batch_size": self.batch_size,
                "dataset_size": self.data[0].shape[0], "sha256": _sha256(tmp), "history": self.history}
        os.replace(tmp, folder / STATE_FILE)
        (folder / (META_FILE + ".tmp")).write_text(json.dumps(meta, indent=1))
        os.replace(folder / (META_FILE + ".tmp"), folder / META_FILE)
        return folder

    def resume(self) -> int:
        """Load the checkpoint in ``checkpoint_dir`` if one was written there (a run that was interrupted);
        return the step reached, 0 for a fresh run."""
        if self.checkpoint_dir is not None and (self.checkpoint_dir / META_FILE).exists():
            return self.load_checkpoint()
        return self.step

    def load_checkpoint(self, directory: str | os.PathLike | None = None) -> int:
        """Restore model, optimizer, data order and RNG states; return the step reached."""
        folder = Path(directory) if directory is not None else self.checkpoint_dir
        if folder is None:
            raise ValueError("no checkpoint directory given")
        state_path, meta_path = folder / STATE_FILE, folder / META_FILE
        if not state_path.exists() or not meta_path.exists():
            raise CheckpointError(f"no checkpoint in {folder}: expected {STATE_FILE} and {META_FILE}")
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as error:
            raise CheckpointError(f"{meta_path} is corrupted: not valid JSON ({error})") from error
        if _sha256(state_path) != meta.get("sha256"):
            raise CheckpointError(f"{state_path} is corrupted: its SHA-256 does not match the one in {meta_path}")
        if meta.get("batch_size") != self.batch_size or meta.get("dataset_size") != self.data[0].shape[0]:
            raise CheckpointError(
                f"checkpoint in {folder} was written with batch_size={meta.get('batch_size')} and "
                f"dataset_size={meta.get('dataset_size')}; this trainer has {self.batch_size} and {self.data[0].shape[0]}"
            )
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        try:
            self.model.load_state_dict(state["model"])
            for name, optimizer in self.optimizers.items():
                optimizer.load_state_dict(state["optimizers"][name])
        except (RuntimeError, KeyError, ValueError) as error:
            raise CheckpointError(f"checkpoint in {folder} does not fit this model/optimizer: {error}") from error
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        self.shuffle.set_state(rng["shuffle"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self._set_order(rng["order"])
        self.step = int(meta["step"])
        self.history = list(meta.get("history", []))
        if self.checkpoint_dir is not None:  # drop records written after this checkpoint
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            (self.checkpoint_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in self.history))
        return self.step
