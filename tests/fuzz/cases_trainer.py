"""Fuzz cases of the training infrastructure: gi_core.trainer, optimizers, checkpoints, guards and random_state."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from gi_core.models.vae import VAE
from gi_core.models.zoo import GroupedZooAutoencoders, ZooEntry, ZooModel, zoo_networks
from gi_core.multi_run import MultiRunTrainer
from gi_core.nets.encoders import encoder_decoder
from gi_core.random_state import RunGenerators
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from tests.fuzz.harness import Case, scratch

DATA = (torch.rand(16, 1, 4, 4, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(*encoder_decoder("mlp", (1, 4, 4), 2, hidden=(8,)), likelihood="bernoulli")


def trainer(folder: Path | None = None) -> Trainer:
    model = vae()
    return Trainer(model, make_optimizers(model, OptimizerSpec("adam", 1e-2)), DATA, 4, seed=0, checkpoint_dir=folder,
                   progress=False)


def checkpointed() -> Path:
    """A fresh folder holding the checkpoint of a trainer at step 2."""
    folder = scratch()
    run = trainer(folder)
    run.fit(2)
    run.save_checkpoint()
    return folder


def trainer_arguments() -> dict:
    model = vae()
    return {"model": model, "optimizer": make_optimizers(model, OptimizerSpec("adam", 1e-2)), "data": DATA,
            "batch_size": 4, "seed": 1, "checkpoint_every": 0, "log_every": 5, "threads": 1}


def run_state() -> tuple[dict, dict]:
    from gi_core.checkpoints import read_checkpoint
    return read_checkpoint(checkpointed())


def fits_arguments() -> dict:
    state, record = run_state()
    run = trainer()
    return {"state": state, "record": record, "model": run.model, "optimizers": run.optimizers, "batch_size": 4,
            "dataset_size": 16, "folder": Path("checkpoint")}


def group() -> GroupedZooAutoencoders:
    torch.manual_seed(0)
    models = [ZooModel.build(ZooEntry(f"VAE {k}", "vae"), zoo_networks("mlp", (1, 4, 4), 2, hidden=(8,))) for k in "ab"]
    return GroupedZooAutoencoders.stack(models)


def multi_run_arguments() -> dict:
    model = group()
    return {"model": model, "optimizer": make_optimizers(model, OptimizerSpec("adam", 1e-2)), "data": DATA,
            "batch_size": 4, "seeds": [1, 2], "checkpoint_every": 0, "log_every": 5, "threads": 1}


def multi_run(folders: list[Path] | None = None) -> MultiRunTrainer:
    return MultiRunTrainer(**multi_run_arguments() | {"checkpoint_dirs": folders, "progress": False})


def multi_run_checkpointed() -> MultiRunTrainer:
    """A multi-run trainer over two fresh folders holding both runs' checkpoints at step 2."""
    folders = [scratch(), scratch()]
    run = multi_run(folders)
    run.fit(2)
    run.save_checkpoints()
    return multi_run(folders)


def scheduled_optimizers() -> dict:
    return {"loss": torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)}


def step_arguments() -> dict:
    model = torch.nn.Linear(2, 1)
    return {"optimizers": {"loss": torch.optim.SGD(model.parameters(), lr=0.1)},
            "losses": {"loss": model(torch.ones(3, 2)).square().mean()}}


SEEDS = "seed 0 is a seed like any other"
CASES = [
    Case("gi_core.optimizers.OptimizerSpec", lambda: {"kind": "adam", "lr": 1e-3, "betas": (0.5, 0.999)}),
    Case("gi_core.optimizers.OptimizerSpec.build", lambda: {"params": [torch.nn.Parameter(torch.zeros(2))]},
         instance=lambda: OptimizerSpec("adam", 1e-3)),
    Case("gi_core.optimizers.make_optimizers", lambda: {"model": vae(), "spec": OptimizerSpec("sgd", 0.1)}),
    Case("gi_core.training_step.default_threads", lambda: {"model": vae(), "batch_size": 4, "device": "cpu"}),
    Case("gi_core.trainer.check_trainable", lambda: {"model": vae(), "name": "model"},
         allow={"name:*": "the name is only used in the message"}),
    Case("gi_core.trainer.parameter_groups", lambda: {"loss": [torch.nn.Linear(2, 2)], "critic_loss": [torch.nn.Linear(2, 1)]}),
    Case("gi_core.trainer.Trainer", trainer_arguments,
         allow={"seed:zero": "seed 0 is a seed like any other",
                "checkpoint_every:zero": "0 means no periodic checkpoints (the valid call's own value)",
                "data:dtype": "integer tensors are labels or indices, passed to the model's training_loss as they are",
                "data:size": "the trainer does not know the model's input shape: training_loss checks its batch",
                "data:rank": "a leading axis of size 1 is a dataset of one example (then batch_size is refused)"}),
    Case("gi_core.trainer.Trainer.fit", lambda: {"steps": 3}, instance=trainer,
         allow={"steps:zero": "training to step 0 of a fresh run does nothing, as asked"}),
    Case("gi_core.trainer.Trainer.train_step", dict, instance=trainer),
    Case("gi_core.trainer.Trainer.save_checkpoint", lambda: {"directory": scratch()},
         instance=trainer),
    Case("gi_core.trainer.Trainer.load_checkpoint", lambda: {"directory": checkpointed()}, instance=trainer),
    Case("gi_core.trainer.Trainer.resume", dict, instance=lambda: trainer(checkpointed())),
    Case("gi_core.checkpoints.write_checkpoint",
         lambda: {"folder": scratch(), "state": {"model": {}, "optimizers": {}, "rng": {}},
                  "record": {"step": 0}}),
    Case("gi_core.checkpoints.read_checkpoint", lambda: {"folder": checkpointed()}),
    Case("gi_core.checkpoints.has_checkpoint", lambda: {"folder": checkpointed()}),
    Case("gi_core.checkpoints.write_text_atomically",
         lambda: {"path": scratch() / "note.txt", "text": "a line"},
         allow={"text:unknown": "any text can be written"}),
    Case("gi_core.checkpoints.check_fits", fits_arguments,
         allow={"folder:unknown": "the folder is only named in messages"}),
    Case("gi_core.guards.non_finite_error",
         lambda: {"step": 3, "terms": {"loss": math.nan, "kl": math.nan}, "minimised": ("loss",),
                  "model": torch.nn.Linear(2, 2), "last_finite": None},
         allow={"step:zero": "step 0 is the first step", "minimised:unknown": "a term no optimizer minimises is a component",
                "minimised:empty": "with no minimised term every non-finite term is reported as a component"}),
    Case("gi_core.checkpoints.checkpoint_step", lambda: {"folder": checkpointed()}),
    Case("gi_core.training_step.check_training_data", lambda: {"data": DATA, "batch_size": 4},
         allow={"data:dtype": "integer tensors are labels or indices, passed to the model's training_loss as they are",
                "data:size": "the trainer does not know the model's input shape: training_loss checks its batch"}),
    Case("gi_core.training_step.check_optimizers", lambda: {"optimizer": scheduled_optimizers()["loss"], "name": "opt"},
         allow={"name:type": "a label for the error messages: any value is printed as given",
                "name:unknown": "a label for the error messages: any value is printed as given"}),
    Case("gi_core.training_step.check_schedules", lambda: {"schedules": {"lr": lambda step: 1.0}, "model": vae()}),
    Case("gi_core.training_step.apply_schedules",
         lambda: {"schedules": {"lr": lambda step: 0.5}, "step": 3, "model": vae(), "optimizers": scheduled_optimizers()},
         allow={"step:zero": "step 0 is the first step"}),
    Case("gi_core.training_step.optimizer_step", step_arguments),
    Case("gi_core.training_step.check_target_step", lambda: {"steps": 5, "current": 2},
         allow={"current:zero": "a fresh run is at step 0"}),
    Case("gi_core.training_step.cpu_threads", lambda: {"threads": 1}),
    Case("gi_core.training_step.append_metrics", lambda: {"folder": scratch(), "record": {"step": 1, "loss": 0.5}},
         allow={"record:*": "a record of any terms is written as JSON (the trainer's own floats)"}),
    Case("gi_core.training_step.rewrite_metrics", lambda: {"folder": scratch(), "history": [{"step": 1, "loss": 0.5}]},
         allow={"history:*": "the run's own history, written as it is"}),
    Case("gi_core.multi_run.MultiRunTrainer", multi_run_arguments,
         allow={"seeds:zero": SEEDS, "checkpoint_every:zero": "0: no checkpoints",
                "data:dtype": "integer tensors are labels or indices, passed to the model's training_loss as they are",
                "data:size": "the trainer does not know the model's input shape: training_loss checks its batch"}),
    Case("gi_core.multi_run.MultiRunTrainer.fit", lambda: {"steps": 3}, instance=multi_run,
         allow={"steps:zero": "zero steps: a fresh trainer is already there"}),
    Case("gi_core.multi_run.MultiRunTrainer.train_step", dict, instance=multi_run),
    Case("gi_core.multi_run.MultiRunTrainer.run_state", lambda: {"run": 1}, instance=multi_run,
         allow={"run:zero": "run 0 is the first run"}),
    Case("gi_core.multi_run.MultiRunTrainer.save_checkpoints", dict, instance=lambda: multi_run([scratch(), scratch()])),
    Case("gi_core.multi_run.MultiRunTrainer.resume", dict, instance=multi_run_checkpointed),
    Case("gi_core.random_state.RunGenerators", lambda: {"seed": 3, "device": "cpu"},
         allow={"seed:zero": "seed 0 is a seed like any other"}),
    Case("gi_core.random_state.RunGenerators.active", dict, instance=lambda: RunGenerators(0)),
    Case("gi_core.random_state.RunGenerators.state", dict, instance=lambda: RunGenerators(0)),
    Case("gi_core.random_state.RunGenerators.load", lambda: {"state": RunGenerators(5).state()},
         instance=lambda: RunGenerators(0)),
]

EXEMPT = {
    "gi_core.trainer.TrainableModel": "a Protocol: no implementation to call",
    "gi_core.trainer.TrainableModel.training_loss": "a Protocol method: no implementation to call",
    "gi_core.trainer.TrainableModel.parameters_by_loss": "a Protocol method: no implementation to call",
    "gi_core.trainer.Scheduled": "a Protocol: no implementation to call",
    "gi_core.trainer.Scheduled.set_coefficient": "a Protocol method: no implementation to call",
    "gi_core.multi_run.GroupedTrainable": "a Protocol: no implementation to call",
    "gi_core.multi_run.GroupedTrainable.training_loss": "a Protocol method: no implementation to call",
    "gi_core.multi_run.GroupedTrainable.parameters_by_loss": "a Protocol method: no implementation to call",
    "gi_core.multi_run.GroupedTrainable.run_slice": "a Protocol method: no implementation to call",
    "gi_core.multi_run.GroupedTrainable.run_model": "a Protocol method: no implementation to call",
    "gi_core.checkpoints.CheckpointError": "an exception class",
    "gi_core.guards.NonFiniteLossError": "an exception class, raised by the trainer with the guard's report",
}
