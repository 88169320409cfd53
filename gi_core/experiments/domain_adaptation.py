"""Table 2 of Hou et al. (2022) as an experiment: source only, DANN, CDLM and target only on digit tasks (chapter 4).

Every method is trained for a fixed number of steps and evaluated once, at the end, on the target test
split: **no model, checkpoint or hyperparameter is selected with target labels** (the selection rule of
the chapter; the target's training labels are read only by the ``target_only`` bound). :data:`PLANS` lists the
runs the chapter shows, task by task, and :data:`TITLES` their row titles. Resumable: each finished run is kept
as JSON in ``--run-dir`` and skipped next time; unfinished runs resume from their last checkpoint::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.domain_adaptation --task mnist_usps_framed

The diagnoses of the chapter's appendix are :mod:`gi_core.experiments.domain_adaptation_diagnostics`.
"""

from __future__ import annotations

import argparse
import inspect
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gi_core.checkpoints import has_checkpoint, read_checkpoint
from gi_core.data.domains import TASKS, DomainData, load_domain_data, paired_domains
from gi_core.maths.schedules import annealed_lr_factor, grl_ramp
from gi_core.metrics.domain import evaluate_method, feature_a_distance, tsne_coordinates
from gi_core.models.cdlm import CDLM, build_cdlm
from gi_core.models.dann import DANN, build_dann
from gi_core.results import (MissingResultError, format_mean_std, git_commit, provenance, read_reference, read_result,
                              summarize_runs, write_result)
from gi_core.runs import add_run_arguments, check_outputs, load_or_run
from gi_core.runtime import current_profile, seed_everything
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_instance, check_json, check_non_negative_int, check_path,
                                check_positive_int, check_real, check_seeds)

METHODS = ("source_only", "dann", "cdlm", "target_only")
METRICS = ("target_accuracy", "source_accuracy", "a_distance", "train_seconds")
RESULT_PREFIX = "da"
"""Result files are ``results/da_<task>.json``."""
BOOK_CDLM = {"lambda2": 1.0, "consistency_to_encoder": True}
"""The book's CDLM options: the reconstruction reaches the encoder at full weight and the consistency losses
train it too. With the literal Eq. 21 (:math:`\\lambda_2=10^{-4}`, no :math:`\\mathcal L_c` for the encoder) the
encoder gets almost no reconstruction signal: after 4 000 steps on MNIST→USPS the reconstruction is 131 nats
(52–56 with these options) and digits of both domains are classified near chance (chapter 4)."""
BOOK_CDLM_LR = 1e-3
"""The book's initial learning rate for CDLM's encoder and discriminator (SGD with momentum 0.9), a tenth of Ganin's
rate for DANN: the reconstruction, summed over pixels, reaches the encoder at full weight, and at 0.01 most of the
encoder's last hidden units die within ten steps (the early traces of the chapter's appendix)."""
LABEL_REFERENCE = {"steps": 4000, "batch_size": 64, "lambda_max": 1.0, "lr": 0.01, "momentum": 0.9,
                   "lr_generative": 1e-3}
"""The settings a run's label is written against: a label names the method and every setting that differs from
these values (every setting that changes what a run computes, so two different runs never share a cache entry).
They are fixed, not the defaults of :class:`DAConfig`, so that changing a default never renames a stored run;
every stored run used batches of 64, so naming the batch size renames none."""
CDLM_OPTIONS = ("latent_dim", "num_classes", "channels", *(
    name for name, p in inspect.signature(CDLM).parameters.items() if p.kind is p.KEYWORD_ONLY and name != "grl"))
"""The options a configuration's ``cdlm`` may set (:func:`~gi_core.models.cdlm.build_cdlm` and :class:`CDLM`)."""


@dataclass(frozen=True)
class DAConfig:
    """One adaptation run: task, method and optimisation (Ganin et al.'s schedules for every method).

    ``batch_size`` images of *each* domain per step. Learning rate :math:`\\mu_p = \\mu_0/(1+10p)^{0.75}`
    (:func:`~gi_core.maths.schedules.annealed_lr_factor`) and GRL coefficient
    :math:`\\lambda_p=\\lambda_{\\max}\\,(2/(1+e^{-10p})-1)` (:func:`~gi_core.maths.schedules.grl_ramp`), both applied
    by the trainer. ``source_only`` and ``target_only`` are DANN's networks with :math:`\\lambda=0` (the
    discriminator trains, its gradient never reaches the features), so the three share architecture, batches and
    cost. ``cdlm`` options (:data:`CDLM_OPTIONS`) go to :func:`~gi_core.models.cdlm.build_cdlm`. Fields are checked here.
    """

    task: str = "mnist_usps"
    method: str = "dann"
    steps: int = 4000
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    lambda_max: float = 1.0
    lr_generative: float = 1e-3
    cdlm: dict = field(default_factory=dict)
    checkpoint_every: int = 1000
    amp: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        check_choice(self.task, tuple(sorted(TASKS)), "task")
        check_choice(self.method, METHODS, "method")
        for name in ("steps", "batch_size"):
            check_positive_int(getattr(self, name), name)
        check_non_negative_int(self.checkpoint_every, "checkpoint_every")
        for name in ("lr", "lr_generative"):
            check_real(getattr(self, name), name, minimum=0.0, strict=True)
        check_real(self.momentum, "momentum", minimum=0.0, maximum=1.0)
        check_real(self.lambda_max, "lambda_max", minimum=0.0)
        if not isinstance(self.cdlm, dict) or set(self.cdlm) - set(CDLM_OPTIONS):
            raise ValueError(f"cdlm must be a dict of options among {', '.join(CDLM_OPTIONS)}, got {self.cdlm!r}")
        check_json(self.cdlm, "cdlm")

    @property
    def label(self) -> str:
        """File-name-safe run name: the method, then every setting that differs from :data:`LABEL_REFERENCE`
        (``"dann"``, ``"dann_lambda_max-0.3"``, ``"dann_steps-10000"``, ``"cdlm_consistency_to_encoder-True_lambda2-1.0"``)."""
        changed = {name: getattr(self, name) for name, value in LABEL_REFERENCE.items() if getattr(self, name) != value}
        if self.method == "cdlm":
            changed.update(self.cdlm)
        return "_".join([self.method, *(f"{k}-{v}" for k, v in sorted(changed.items()))])


Plan = list[tuple[DAConfig, list[int]]]


def _plan(task: str, *runs: tuple[str, dict, list[int]]) -> Plan:
    return [(DAConfig(task=task, method=method, **settings), seeds) for method, settings, seeds in runs]


_SEEDS = [0, 1, 2]
_BOOK = {"cdlm": BOOK_CDLM}
PLANS: dict[str, Plan] = {
    "mnist_usps": _plan("mnist_usps", ("source_only", {}, _SEEDS), ("dann", {}, _SEEDS), ("target_only", {}, _SEEDS),
                        ("cdlm", _BOOK, _SEEDS), ("dann", {"lambda_max": 0.3}, [0]), ("dann", {"steps": 10000}, [0]),
                        ("cdlm", {}, [0])),
    "usps_mnist": _plan("usps_mnist", ("source_only", {}, [0]), ("dann", {}, [0])),
    "mnist_mnistm": _plan("mnist_mnistm", ("source_only", {}, [0]), ("dann", {}, [0]), ("dann", {"steps": 10000}, [0]),
                          ("cdlm", _BOOK, [0]), ("cdlm", _BOOK | {"lr": BOOK_CDLM_LR}, [0])),
    "mnist_usps_framed": _plan(
        "mnist_usps_framed", ("source_only", {}, _SEEDS), ("dann", {}, _SEEDS), ("target_only", {}, _SEEDS),
        ("cdlm", _BOOK, _SEEDS), ("dann", {"lambda_max": 0.1}, _SEEDS), ("dann", {"lambda_max": 0.3}, _SEEDS),
        *(("cdlm", _BOOK | {"lambda_max": lam}, [0]) for lam in (0.1, 0.3, 0.0)),
        ("cdlm", {"cdlm": BOOK_CDLM | {"beta1": 0.0, "beta2": 0.0}}, [0]),
        ("cdlm", _BOOK | {"lr": BOOK_CDLM_LR}, _SEEDS),
        ("cdlm", {"cdlm": BOOK_CDLM | {"latent_dim": 256}, "lr": BOOK_CDLM_LR}, [0])),
    "usps_mnist_framed": _plan("usps_mnist_framed", ("source_only", {}, _SEEDS), ("dann", {}, _SEEDS),
                               ("cdlm", _BOOK, _SEEDS), ("cdlm", _BOOK | {"lr": BOOK_CDLM_LR}, [0])),
    "mnist_usps_framed_balanced": _plan("mnist_usps_framed_balanced", ("dann", {}, _SEEDS)),
}
"""The full-profile runs of chapter 4, per task, each configuration with its seeds (4 000 steps unless said)."""

TITLES: dict[str, str] = {
    "source_only": "Source only (λ = 0)", "dann": "DANN, Ganin's schedule (λ_max = 1)",
    "dann_steps-10000": "DANN, 10 000 steps", "dann_lambda_max-0.1": "DANN, λ_max = 0.1",
    "dann_lambda_max-0.3": "DANN, λ_max = 0.3",
    "cdlm_consistency_to_encoder-True_lambda2-1.0": "CDLM, book variant (λ2 = 1, L_c trains φ)",
    "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.3": "CDLM, book variant, λ_max = 0.3",
    "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.1": "CDLM, book variant, λ_max = 0.1",
    "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.0": "CDLM, book variant, no reversal (λ_max = 0)",
    "cdlm_beta1-0.0_beta2-0.0_consistency_to_encoder-True_lambda2-1.0": "CDLM, book variant, no L_c (β1 = β2 = 0)",
    "cdlm_consistency_to_encoder-True_lambda2-1.0_lr-0.001": "CDLM, book variant, μ0 = 0.001",
    "cdlm_consistency_to_encoder-True_lambda2-1.0_latent_dim-256_lr-0.001": "CDLM, μ0 = 0.001, 256-d latent",
    "cdlm": "CDLM, literal Eq. 21 (λ2 = 1e-4)", "target_only": "Target only (target labels)",
}
"""The row title of every run label of :data:`PLANS`, in the order the chapter's tables list them."""

PAPER_ROWS = {"source_only": "Source Only", "dann": "DANN", "target_only": "Target Only", "dann_steps-10000": "DANN",
              "cdlm": "CDLM", "cdlm_consistency_to_encoder-True_lambda2-1.0": "CDLM",
              "cdlm_consistency_to_encoder-True_lambda2-1.0_lr-0.001": "CDLM"}
"""The row of Hou et al.'s (2022) Table 2 (``results/reference/seed003_table_2.json``) a run label is compared with."""


def build_method(config: DAConfig, data: DomainData) -> tuple[DANN | CDLM, dict[str, torch.optim.Optimizer]]:
    """The model of ``config.method`` with its optimizers (SGD with momentum; CDLM adds Adam for its decoder).

    The reversal coefficient starts at 0; :func:`method_trainer` schedules it for DANN and CDLM."""
    check_instance(config, DAConfig, "config")
    check_instance(data, DomainData, "data")
    shape = tuple(data.source_x.shape[1:])
    sgd = OptimizerSpec("sgd", config.lr, momentum=config.momentum)
    if config.method == "cdlm":
        model: DANN | CDLM = build_cdlm(shape, coefficient=0.0, **config.cdlm)
        specs = {"loss": sgd, "generative_loss": OptimizerSpec("adam", config.lr_generative)}
    else:
        model, specs = build_dann(shape[0], shape[1], coefficient=0.0), {"loss": sgd}
    return model.to(data.source_x.device), make_optimizers(model, specs)


def method_trainer(config: DAConfig, data: DomainData, seed: int, checkpoint_dir: Path | None = None,
                   progress: bool = True, log_every: int = 100) -> tuple[DANN | CDLM, Trainer]:
    """A seeded, untrained model of ``config`` with its :class:`~gi_core.trainer.Trainer` (batches, schedules over
    ``config.steps``, checkpoints in ``checkpoint_dir``)."""
    checkpoint_dir = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    check_positive_int(log_every, "log_every")
    seed_everything(seed)
    model, optimizers = build_method(config, data)
    if config.method == "target_only":  # the upper bound: labelled target images in the source slot
        tensors = paired_domains((data.target_x, data.target_y), (data.target_x,), seed)
    else:
        tensors = paired_domains((data.source_x, data.source_y), (data.target_x,), seed)
    schedules = {"lr": annealed_lr_factor(config.steps)}
    if config.method in ("dann", "cdlm"):
        schedules["grl"] = grl_ramp(config.lambda_max, config.steps)
    trainer = Trainer(model, optimizers, tensors, config.batch_size, seed=seed, checkpoint_dir=checkpoint_dir,
                      checkpoint_every=config.checkpoint_every if checkpoint_dir else 0, log_every=log_every,
                      progress=progress, amp=config.amp, compile=config.compile, schedules=schedules)
    return model, trainer


def train_method(config: DAConfig, data: DomainData, seed: int, checkpoint_dir: Path | None = None,
                 progress: bool = True) -> tuple[DANN | CDLM, Trainer, float]:
    """Train ``config.method`` for ``config.steps`` steps (resuming from ``checkpoint_dir`` if it holds a checkpoint)."""
    model, trainer = method_trainer(config, data, seed, checkpoint_dir, progress)
    trainer.resume()
    start = time.perf_counter()
    trainer.fit(config.steps)
    model.eval()
    return model, trainer, time.perf_counter() - start


def run_name(config: DAConfig, seed: int) -> str:
    """``<task>_<label>_seed<k>``: the name of a run's record (``.json``) and checkpoint folder in a run directory."""
    check_instance(config, DAConfig, "config")
    check_non_negative_int(seed, "seed")
    return f"{config.task}_{config.label}_seed{seed}"


def run_methods(configs: list[DAConfig], seeds: list[int], data: DomainData, run_dir: Path | None = None,
                progress: bool = True, a_distance_seed: int | None = 0) -> list[dict]:
    """Train and evaluate every configuration for every seed; one record per run (:func:`~gi_core.runs.load_or_run`).

    With ``run_dir`` each finished run is stored as ``<task>_<label>_seed<k>.json`` and skipped next time,
    checkpoints go to ``<task>_<label>_seed<k>/``. Runs with seed ``a_distance_seed`` also record the proxy
    A-distance of their features and a t-SNE of them (:func:`~gi_core.metrics.domain.tsne_coordinates`).
    """
    if not isinstance(configs, list) or not configs or not all(isinstance(c, DAConfig) for c in configs):
        raise TypeError(f"configs must be a non-empty list of DAConfig, got {configs!r:.80}")
    check_seeds(seeds, "seeds")
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")
    if a_distance_seed is not None:
        check_non_negative_int(a_distance_seed, "a_distance_seed")
    commit = git_commit()

    def run(config: DAConfig, seed: int, checkpoint_dir: Path | None) -> dict:
        model, trainer, seconds = train_method(config, data, seed, checkpoint_dir, progress)
        record = {"task": config.task, "model": config.label, "method": config.method, "seed": seed,
                  "steps": config.steps, "commit": commit, "train_seconds": round(seconds, 2),
                  **evaluate_method(model, data),
                  "final_terms": {k: v for k, v in trainer.history[-1].items() if k not in ("step", "epoch")}}
        if seed == a_distance_seed:
            record["a_distance"] = feature_a_distance(model, data)
            record["tsne"] = tsne_coordinates(model, data)
        return record

    def same_length(config: DAConfig):
        def check(record: dict, path: Path) -> None:
            if record.get("steps") != config.steps:
                raise ValueError(f"{path} holds a run of {record.get('steps')} steps, not {config.steps}: "
                                 "use another run_dir or delete it")
        return check

    return [load_or_run(run_dir, run_name(config, seed), lambda folder, c=config, s=seed: run(c, s, folder),
                        same_length(config)) | {"model": config.label}  # older records carry shorter labels
            for config in configs for seed in seeds]


def _check_plan(plan: object) -> None:
    """Raise unless ``plan`` is a non-empty list of ``(DAConfig, seeds)`` pairs."""
    if isinstance(plan, (str, bytes)) or not isinstance(plan, Sequence) or not plan:
        raise ValueError(f"plan must be a non-empty list of (DAConfig, seeds) pairs, got {plan!r:.80}")
    for i, entry in enumerate(plan):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2 or not isinstance(entry[0], DAConfig):
            raise TypeError(f"plan[{i}] must be a (DAConfig, seeds) pair, got {entry!r:.80}")
        check_seeds(entry[1], f"the seeds of plan[{i}]")


def single_task(plan: Plan) -> str:
    """The one task every configuration of ``plan`` belongs to (a result file holds one task), or raise."""
    _check_plan(plan)
    tasks = {config.task for config, _ in plan}
    if len(tasks) != 1:
        raise ValueError(f"one task per result file, got {sorted(tasks)}")
    return tasks.pop()


def plan_provenance(plan: Plan, data_sources: dict[str, str], device: torch.device, start: float, **notes: str) -> dict:
    """:func:`~gi_core.results.provenance` of a plan's result: its configurations with their seeds, where the data
    came from, ``notes`` (selection rule, purpose) and the wall time since ``start`` (``time.perf_counter()``)."""
    _check_plan(plan)
    check_real(start, "start", minimum=0.0, maximum=time.perf_counter())
    return provenance({"runs": [asdict(c) | {"seeds": s} for c, s in plan], "data_sources": data_sources, **notes},
                      sorted({seed for _, seeds in plan for seed in seeds}), device, time.perf_counter() - start)


def reproduce(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None, progress: bool = True,
              results_dir: Path | None = None) -> Path:
    """Run every ``(configuration, seeds)`` of one task and write ``<results_dir>/<result_name>.json`` with provenance.

    The result holds each run's record (with the commit it ran at), the summary over seeds per configuration
    (:func:`~gi_core.results.summarize_runs`), and the proxy A-distance and t-SNE of the raw test images.
    """
    task = single_task(plan)
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    commit, start = git_commit(), time.perf_counter()
    data = load_domain_data(task, device)
    records = [record for config, seeds in plan for record in run_methods([config], seeds, data, run_dir, progress)]
    metrics = {"summary": summarize_runs(records, METRICS), "runs": records,
               "a_distance_raw": feature_a_distance(None, data), "tsne_raw": tsne_coordinates(None, data)}
    meta = plan_provenance(plan, data.sources, device, start,
                           selection_rule="final iterate after a fixed number of steps; no target labels") | {"commit": commit}
    return write_result(result_name, metrics, meta, results_dir)


def load_stored_model(config: DAConfig, seed: int, data: DomainData, run_dir: Path) -> DANN | CDLM:
    """The final model of a finished run (its checkpoint at ``config.steps`` in ``run_dir``), in evaluation mode on
    ``data``'s device; :class:`~gi_core.results.MissingResultError` when the run is not there or did not finish."""
    folder = check_path(run_dir, "run_dir") / run_name(config, seed)
    if not has_checkpoint(folder):
        raise MissingResultError(f"no finished run of {config.label} (seed {seed}): {folder} holds no checkpoint; "
                                 f"train it first with reproduce()")
    state, record = read_checkpoint(folder)
    if record["step"] != config.steps:
        raise MissingResultError(f"the run of {config.label} (seed {seed}) in {folder} stopped at step {record['step']} "
                                 f"of {config.steps}; finish it with reproduce()")
    model, _ = build_method(config, data)
    model.load_state_dict(state["model"])
    return model.eval()


def stored_models(plan: Plan, data: DomainData, run_dir: Path) -> Iterator[tuple[DAConfig, int, DANN | CDLM]]:
    """Every finished run of ``plan`` as ``(config, seed, model)``, one at a time (:func:`load_stored_model`)."""
    _check_plan(plan)
    run_dir = check_path(run_dir, "run_dir")
    return ((config, seed, load_stored_model(config, seed, data, run_dir)) for config, seeds in plan for seed in seeds)


def stored_result(task: str) -> dict | None:
    """The stored full-profile result of ``task`` (``results/da_<task>.json``), or ``None``."""
    check_choice(task, tuple(sorted(TASKS)), "task")
    return read_result(f"{RESULT_PREFIX}_{task}")


def accuracy_table(task: str) -> pd.DataFrame:
    """The chapter's table of one task: each stored configuration (in the order of :data:`TITLES`) with its target
    accuracy over seeds, source accuracy, last-batch domain accuracy, reconstruction and Hou et al.'s (2022) number."""
    check_choice(task, tuple(sorted(PLANS)), "task")
    result = stored_result(task)
    if result is None:
        raise MissingResultError(f"no stored result for task {task}; run python -m gi_core.experiments.domain_adaptation --task {task}")
    summary, runs = result["metrics"]["summary"], result["metrics"]["runs"]
    paper = read_reference("seed003_table_2")["table"][task.split("_framed")[0]]
    rows = {}
    for label in (label for label in TITLES if label in summary):
        values = summary[label]
        finals = [r["final_terms"] for r in runs if r["model"] == label]
        rows[TITLES[label]] = {
            "target accuracy": format_mean_std(values["target_accuracy"]), "seeds": values["target_accuracy"][2],
            "source test accuracy": round(values["source_accuracy"][0], 3),
            "last-batch domain accuracy": round(float(np.mean([f["domain_accuracy"] for f in finals])), 2),
            "last-batch reconstruction (nats)": round(float(np.mean([f["rec_loss"] for f in finals])), 1)
            if "rec_loss" in finals[0] else "",
            "Hou et al. (2022)": paper.get(PAPER_ROWS.get(label), "")}
    return pd.DataFrame(rows).T


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, choices=[*sorted(PLANS), "all"],
                        help="the task whose planned runs to reproduce ('all': every table of chapter 4)")
    parser.add_argument("--runs", nargs="+", default=None, metavar="LABEL",
                        help="only these run labels of the plan (see TITLES), e.g. source_only dann_lambda_max-0.3")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=None,
                        help="instead of the plan: these methods with the book's settings (and --lambda-max, --lr)")
    add_run_arguments(parser, steps=None, batch_size=DAConfig.batch_size, run_dir="da",
                      result_help="result file stem (default da_<task>)")
    parser.add_argument("--lambda-max", type=float, default=DAConfig.lambda_max,
                        help="with --methods: largest reversal coefficient of the adversarial methods (DANN, CDLM)")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"with --methods: initial learning rate mu_0 of the SGD optimizer (default {DAConfig.lr}; "
                             f"{BOOK_CDLM_LR} for CDLM's encoder and discriminator)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the reproduction needs the complete datasets")
    if args.task == "all" and (args.methods or args.result):
        parser.error("--methods and --result need one --task")
    for task in sorted(PLANS) if args.task == "all" else [args.task]:
        plan = PLANS[task]
        if args.methods:
            plan = [(DAConfig(task=task, method=m, cdlm=BOOK_CDLM if m == "cdlm" else {},
                              lr=args.lr if args.lr is not None else (BOOK_CDLM_LR if m == "cdlm" else DAConfig.lr),
                              lambda_max=args.lambda_max if m in ("dann", "cdlm") else DAConfig.lambda_max), [0, 1, 2])
                    for m in args.methods]
        if args.runs:
            unknown = sorted(set(args.runs) - {config.label for config, _ in plan})
            if unknown:
                parser.error(f"{task} plans no runs {unknown}; it plans {[config.label for config, _ in plan]}")
            plan = [(config, seeds) for config, seeds in plan if config.label in args.runs]
        overrides = {name: value for name, value in (("steps", args.steps), ("batch_size", args.batch_size),
                                                     ("amp", args.amp), ("compile", args.compile))
                     if value not in (None, False)}
        plan = [(replace(config, **overrides), args.seeds or seeds) for config, seeds in plan]
        path = reproduce(plan, args.run_dir / task, args.result or f"{RESULT_PREFIX}_{task}",
                         results_dir=args.results_dir)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
