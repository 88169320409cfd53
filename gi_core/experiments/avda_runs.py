r"""Runs of the AVDA chapter: the source model, one adaptation (or baseline) run on one draw of the target shots.

A run's configuration is :class:`AVDAConfig`. Every run of a task shares one source model (:func:`source_model`,
Algorithm 1's first phase, trained once per ``source_seed`` and kept in the run directory). A run on draw :math:`d`
(:func:`train_run`) then

1. draws ``shots`` labelled target training images per class by index (:func:`~gi_core.data.digit_shots.draw_shots`,
   seeded by :math:`d`) and 100 more as the *validation* images (:func:`~gi_core.data.digit_shots.validation_indices`),
   the thesis's model selection on labelled training samples;
2. trains its method from the source model (AVDA, fine-tuning) or from scratch (target only, DANN), evaluating the
   validation accuracy every ``eval_every`` steps;
3. records the target *test* accuracy at the last step and at the step of best validation accuracy (the latest
   among ties). The test labels are read only to report: **nothing is selected with them**.

Methods: ``avda`` (:class:`~gi_core.models.avda.AVDAAdapter`, alternating updates, :math:`\gamma` ramped by the
trainer), ``fine_tune`` and ``target_only`` (:class:`~gi_core.models.code_classifier.CodeClassifier` on the shots
alone), ``dann`` (:class:`~gi_core.models.dann.DANN` on the same encoder, unsupervised), ``source_only`` (the
source model's own classifier, no target training). Runs checkpoint and resume; the evaluations made so far are
kept in the run's folder so that a resumed run selects as an uninterrupted one would.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
from torch import Tensor

from gi_core.checkpoints import has_checkpoint, read_checkpoint, write_text_atomically
from gi_core.data.digit_shots import draw_shots, validation_indices
from gi_core.data.domains import TASKS, DomainData, paired_domains
from gi_core.maths.schedules import grl_ramp, linear_ramp
from gi_core.metrics.domain import accuracy
from gi_core.models.avda import AVDASource, build_adapter, build_source
from gi_core.models.code_classifier import CodeClassifier, CodeMean
from gi_core.models.dann import DANN
from gi_core.nets.discriminators import DomainDiscriminator
from gi_core.nets.gradient_reversal import GradientReversal
from gi_core.nets.unit_digits import UNITEncoder, unit_latent_mlp
from gi_core.results import MissingResultError, git_commit
from gi_core.runs import load_or_run
from gi_core.runtime import seed_everything
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_instance, check_non_negative_int, check_path, check_positive_int,
                                check_real, check_seeds)

METHODS = ("avda", "source_only", "fine_tune", "target_only", "dann")
SHOT_METHODS = ("fine_tune", "target_only")
"""Baselines trained on the labelled shots alone (they need ``shots > 0``)."""
SELECTION_FILE = "selection.json"
LATENT_DIM, NUM_CLASSES = 20, 10
"""The digit tasks' latent dimension J and number of classes K."""


@dataclass(frozen=True)
class AVDAConfig:
    r"""One run of the chapter. The optimisation is the thesis's for every method: Adam, learning rate
    :math:`10^{-3}`, :math:`\beta=(0.5, 0.5)`, batches of 128 (of *each* set the step draws). ``pretrain_steps`` trains
    the shared source model; ``steps`` the run itself (DANN, which has no source phase, trains for both). AVDA's
    options: ``learn_prior`` (False: AVDA_FP), ``discriminator`` (``"binary"``: AVDA_ADA), ``target_decoder``
    (AVDA_GT), ``categorical_kl`` (False drops the entropy-raising term), :math:`\alpha_s,\alpha_t,\tau` and the
    :math:`\gamma` ramp from 1 to ``gamma_end`` over ``gamma_batches`` steps."""

    task: str = "mnist_usps"
    method: str = "avda"
    shots: int = 0
    pretrain_steps: int = 1000
    steps: int = 800
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 0.5
    learn_prior: bool = True
    discriminator: str = "classes"
    target_decoder: bool = False
    categorical_kl: bool = True
    alpha_s: float = 1000.0
    alpha_t: float = 10.0
    tau: float = 3.0
    gamma_end: float = 0.9
    gamma_batches: int = 25
    eval_every: int = 100
    validation_size: int = 100
    source_seed: int = 0
    checkpoint_every: int = 200
    amp: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        check_choice(self.task, tuple(sorted(TASKS)), "task")
        check_choice(self.method, METHODS, "method")
        check_choice(self.discriminator, ("classes", "binary"), "discriminator")
        for name in ("shots", "source_seed"):
            check_non_negative_int(getattr(self, name), name)
        for name in ("pretrain_steps", "steps", "batch_size", "eval_every", "validation_size", "gamma_batches"):
            check_positive_int(getattr(self, name), name)
        check_non_negative_int(self.checkpoint_every, "checkpoint_every")
        for name in ("learn_prior", "target_decoder", "categorical_kl", "amp", "compile"):
            check_instance(getattr(self, name), bool, name)
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_real(self.beta, "beta", minimum=0.0, maximum=1.0)
        if self.beta == 1.0:
            raise ValueError("beta must lie in [0, 1) (Adam's decay of both moments), got 1.0")
        check_real(self.gamma_end, "gamma_end", minimum=0.0, maximum=1.0)
        for name in ("alpha_s", "alpha_t"):
            check_real(getattr(self, name), name, minimum=0.0)
        check_real(self.tau, "tau", minimum=0.0, strict=True)
        if self.method in SHOT_METHODS and self.shots == 0:
            raise ValueError(f"method {self.method!r} trains on the labelled shots: it needs shots > 0")
        if self.method == "dann" and self.shots:
            raise ValueError("the DANN baseline is unsupervised: shots must be 0")

    @property
    def label(self) -> str:
        """``<method>[_<option>-<value>...]_<k>shot``: the method, every option that differs from the defaults
        except task, shots and lengths, and the label budget."""
        ignored = {"task", "method", "shots", "pretrain_steps", "steps", "eval_every", "checkpoint_every", "amp",
                   "compile"}
        default = AVDAConfig()
        changed = [f"{f.name}-{getattr(self, f.name)}" for f in fields(self)
                   if f.name not in ignored and getattr(self, f.name) != getattr(default, f.name)]
        return "_".join([self.method, *changed, f"{self.shots}shot"])

    def source_name(self) -> str:
        """The run name of the source model this run starts from."""
        options = "" if self.learn_prior else "_fixed-prior"
        return f"{self.task}_source{options}_steps{self.pretrain_steps}_seed{self.source_seed}"


def run_name(config: AVDAConfig, draw: int) -> str:
    """``<task>_<label>_draw<d>``: a run's record (``.json``) and checkpoint folder in a run directory."""
    check_instance(config, AVDAConfig, "config")
    check_non_negative_int(draw, "draw")
    return f"{config.task}_{config.label}_draw{draw}"


def _adam(params: list, config: AVDAConfig) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=config.lr, betas=(config.beta, config.beta))


def _optimizers(model: torch.nn.Module, config: AVDAConfig) -> dict[str, torch.optim.Optimizer]:
    return {term: _adam(params, config) for term, params in model.parameters_by_loss().items()}


def source_model(config: AVDAConfig, data: DomainData, run_dir: Path | None, progress: bool = True
                 ) -> tuple[AVDASource, dict]:
    """The trained source model of ``config`` (Eq. 3.5 on the labelled source, ``pretrain_steps`` steps) and its
    record: source and target test accuracy (the latter is the *source only* baseline), the final terms and the
    training time. Trained once and kept in ``run_dir`` (resumable); later calls load it."""
    check_instance(config, AVDAConfig, "config")
    check_instance(data, DomainData, "data")
    name = config.source_name()
    folder = None if run_dir is None else check_path(run_dir, "run_dir") / name

    def build() -> AVDASource:
        seed_everything(config.source_seed)
        return build_source(data.source_x.shape[1], LATENT_DIM, NUM_CLASSES, alpha_s=config.alpha_s,
                            learn_prior=config.learn_prior).to(data.source_x.device)

    holder = {}

    def run(checkpoint_dir: Path | None) -> dict:
        model = build()
        trainer = Trainer(model, _optimizers(model, config), (data.source_x, data.source_y), config.batch_size,
                          seed=config.source_seed, checkpoint_dir=checkpoint_dir, progress=progress,
                          amp=config.amp, compile=config.compile,
                          checkpoint_every=config.checkpoint_every if checkpoint_dir else 0)
        trainer.resume()
        start = time.perf_counter()
        trainer.fit(config.pretrain_steps)
        if checkpoint_dir is not None:
            trainer.save_checkpoint()
        holder["model"] = model.eval()
        return {"name": name, "commit": git_commit(), "steps": config.pretrain_steps, "train_seconds": round(time.perf_counter() - start, 2),
                "source_test_accuracy": accuracy(model.predict(data.source_test_x), data.source_test_y),
                "target_test_accuracy": accuracy(model.predict(data.target_test_x), data.target_test_y),
                "final_terms": {k: v for k, v in trainer.history[-1].items() if k not in ("step", "epoch")},
                "prior_means_norm": [round(float(v), 4) for v in model.prior.means.detach().norm(dim=1)],
                "prior_variances_mean": [round(float(v), 4) for v in model.prior.log_vars.detach().exp().mean(1)]}

    record = load_or_run(run_dir, name, run)
    if "model" not in holder:
        model = build()
        state, _ = read_checkpoint(folder)
        model.load_state_dict(state["model"])
        holder["model"] = model.eval()
    return holder["model"], record


def split_target(config: AVDAConfig, data: DomainData, draw: int) -> dict[str, Tensor]:
    """The draw's index sets of the target training images: ``shots`` (labelled, by class), ``validation`` (100
    labelled images for model selection, disjoint from the shots) and ``unlabelled`` (every image but the shots)."""
    check_instance(config, AVDAConfig, "config")
    check_instance(data, DomainData, "data")
    check_non_negative_int(draw, "draw")
    labels = data.target_y.cpu()
    shots = draw_shots(labels, config.shots, draw)
    validation = validation_indices(labels, config.validation_size, draw, exclude=shots)
    keep = torch.ones(labels.numel(), dtype=torch.bool)
    keep[shots] = False
    return {"shots": shots, "validation": validation, "unlabelled": torch.nonzero(keep).squeeze(1)}


def _model_and_data(config: AVDAConfig, data: DomainData, source: AVDASource | None, split: dict[str, Tensor],
                    draw: int) -> tuple[torch.nn.Module, tuple[Tensor, ...], dict]:
    """The run's model, the tensors its trainer draws batches from and its schedules."""
    device = data.target_x.device
    shots = split["shots"].to(device)
    shot_x, shot_y = data.target_x[shots], data.target_y[shots]
    if config.method in SHOT_METHODS:
        if config.method == "fine_tune":
            model = CodeClassifier(copy.deepcopy(source.encoder), copy.deepcopy(source.classifier))
        else:
            model = CodeClassifier(UNITEncoder(data.target_x.shape[1]), unit_latent_mlp(LATENT_DIM, NUM_CLASSES))
        return model.to(device).requires_grad_(True), (shot_x, shot_y), {}
    unlabelled = data.target_x[split["unlabelled"].to(device)]
    if config.method == "dann":
        features = CodeMean(UNITEncoder(data.source_x.shape[1]))
        model = DANN(features, unit_latent_mlp(LATENT_DIM, NUM_CLASSES), DomainDiscriminator(LATENT_DIM, (500, 500)), GradientReversal(0.0))
        total = config.pretrain_steps + config.steps
        return (model.to(device), paired_domains((data.source_x, data.source_y), (unlabelled,), draw),
                {"grl": grl_ramp(1.0, total)})
    model = build_adapter(source, discriminator_kind=config.discriminator, target_decoder=config.target_decoder,
                          alpha_t=config.alpha_t, tau=config.tau, categorical_kl=config.categorical_kl)
    mean, log_var = source.code_moments(data.source_x)
    tensors = paired_domains((mean, log_var, data.source_y), (unlabelled,), draw)
    schedules = {}
    if config.shots:
        tensors = paired_domains(tensors, (shot_x, shot_y), draw)
        schedules["gamma"] = linear_ramp(1.0, config.gamma_end, config.gamma_batches)
    return model, tensors, schedules


def _read_selection(folder: Path | None, step: int) -> list[dict]:
    """The evaluations a resumed run made up to its checkpoint's ``step``."""
    if folder is None or not (folder / SELECTION_FILE).exists():
        return []
    return [entry for entry in json.loads((folder / SELECTION_FILE).read_text()) if entry["step"] <= step]


def train_run(config: AVDAConfig, data: DomainData, draw: int, source: AVDASource | None = None,
              checkpoint_dir: Path | None = None, progress: bool = True) -> tuple[torch.nn.Module, dict]:
    """Train one run on draw ``draw`` (see the module docstring); returns the final model and the run's record."""
    check_instance(config, AVDAConfig, "config")
    check_instance(data, DomainData, "data")
    check_non_negative_int(draw, "draw")
    if config.method != "dann":
        check_instance(source, AVDASource, "source")
    folder = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    split = split_target(config, data, draw)
    record = {"task": config.task, "model": config.label, "method": config.method, "shots": config.shots,
              "draw": draw, "commit": git_commit(), "config": asdict(config), "shot_indices": split["shots"].tolist(),
              "validation_indices": split["validation"].tolist()}
    val_x, val_y = data.target_x[split["validation"].to(data.target_x.device)], data.target_y[split["validation"]]
    if config.method == "source_only":
        return source, record | {"test_accuracy_final": accuracy(source.predict(data.target_test_x),
                                                                  data.target_test_y),
                                 "validation_accuracy": accuracy(source.predict(val_x), val_y)}
    seed_everything(draw)
    model, tensors, schedules = _model_and_data(config, data, source, split, draw)
    steps = config.steps + (config.pretrain_steps if config.method == "dann" else 0)
    batch = min(config.batch_size, tensors[0].shape[0])
    trainer = Trainer(model, _optimizers(model, config), tensors, batch, seed=draw, checkpoint_dir=folder,
                      checkpoint_every=config.checkpoint_every if folder else 0, progress=progress,
                      schedules=schedules, amp=config.amp, compile=config.compile, updates="alternating" if config.method == "avda" else "simultaneous")
    evaluations = _read_selection(folder, trainer.resume())
    if trainer.step > steps:
        raise ValueError(f"checkpoint_dir {folder} holds a checkpoint at step {trainer.step}, past this run's {steps} "
                         "steps (the run name ignores the length): delete it or train longer")
    start = time.perf_counter()
    best: tuple[float, int, float] | None = None
    for entry in evaluations:
        if best is None or entry["validation_accuracy"] >= best[0]:
            best = (entry["validation_accuracy"], entry["step"], entry["test_accuracy"])
    while True:
        # an evaluation point not yet evaluated (also one a kill interrupted after the step's checkpoint)
        if (trainer.step and (trainer.step % config.eval_every == 0 or trainer.step == steps)
                and (not evaluations or evaluations[-1]["step"] < trainer.step)):
            entry = {"step": trainer.step, "validation_accuracy": accuracy(model.predict(val_x), val_y),
                     "test_accuracy": accuracy(model.predict(data.target_test_x), data.target_test_y)}
            evaluations.append(entry)
            if best is None or entry["validation_accuracy"] >= best[0]:
                best = (entry["validation_accuracy"], entry["step"], entry["test_accuracy"])
            if folder is not None:  # the evaluations first: a kill in between re-evaluates, never loses one
                write_text_atomically(folder / SELECTION_FILE, json.dumps(evaluations))
                trainer.save_checkpoint()
        if trainer.step >= steps:
            break
        trainer.fit(min(steps, (trainer.step // config.eval_every + 1) * config.eval_every))
    model.eval()
    return model, record | {
        "steps": steps, "train_seconds": round(time.perf_counter() - start, 2),
        "test_accuracy_final": evaluations[-1]["test_accuracy"], "validation_accuracy": best[0],
        "selected_step": best[1], "test_accuracy_selected": best[2], "evaluations": evaluations,
        "final_terms": {k: v for k, v in trainer.history[-1].items() if k not in ("step", "epoch")}}


def load_run_model(config: AVDAConfig, data: DomainData, draw: int, source: AVDASource, run_dir: Path
                   ) -> torch.nn.Module:
    """The final model of a finished AVDA or baseline run, rebuilt and loaded from its checkpoint in ``run_dir``."""
    check_instance(config, AVDAConfig, "config")
    check_instance(data, DomainData, "data")
    if config.method != "dann":
        check_instance(source, AVDASource, "source")
    folder = check_path(run_dir, "run_dir") / run_name(config, draw)
    if config.method == "source_only":
        return source
    if not has_checkpoint(folder):
        raise MissingResultError(f"no checkpoint of run {run_name(config, draw)} (draw {draw}) in run_dir {run_dir}; "
                                 "train it first")
    seed_everything(draw)
    model, _, _ = _model_and_data(config, data, source, split_target(config, data, draw), draw)
    state, _ = read_checkpoint(folder)
    model.load_state_dict(state["model"])
    return model.eval()


def run_plan_entry(config: AVDAConfig, draws: list[int], data: DomainData, run_dir: Path | None,
                   progress: bool = True) -> list[dict]:
    """Every draw of one configuration (:func:`~gi_core.runs.load_or_run`: finished runs are read back)."""
    check_instance(config, AVDAConfig, "config")
    draws = check_seeds(draws, "draws")
    check_instance(data, DomainData, "data")
    source = None if config.method == "dann" else source_model(config, data, run_dir, progress)[0]
    return [load_or_run(run_dir, run_name(config, draw),
                        lambda folder, d=draw: train_run(config, data, d, source, folder, progress)[1])
            for draw in draws]

