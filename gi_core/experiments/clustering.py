"""The clustering chapter as an experiment (chapter 5): VaDE and MPCC beside Astorga's (2021) Table 8.7.

:data:`PLANS` are the tables the chapter shows: VaDE over ten seeds on MNIST at this CPU's budget (with the baselines
on the same pretrained codes) and MPCC at this CPU's budget, and the sources' full schedules on MNIST and Fashion-MNIST
for a GPU (VaDE's 300 epochs, MPCC's 125,000 and 75,000 iterations). A plan's runs are kept in ``--run-dir`` (finished
ones are read back, unfinished ones resume), and its table is written with provenance::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.clustering --plan vade_mnist_cpu
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from gi_core.experiments.clustering_mpcc import MPCCConfig, MPCCRun, load_clustering_images, run_seeds, summary
from gi_core.experiments.clustering_mpcc import run_name as mpcc_run_name
from gi_core.experiments.clustering_mpcc import train_run as train_mpcc
from gi_core.experiments.clustering_vade import (ClusteringData, VaDEConfig, VaDERun, load_clustering_data, summarize,
                                                 train_run)
from gi_core.results import git_commit, provenance, read_reference, read_result, write_result
from gi_core.runs import add_run_arguments, check_outputs, load_or_run
from gi_core.runtime import current_profile
from gi_core.validation import (check_batch, check_choice, check_instance, check_non_negative_int, check_path, check_seeds,
                                check_str)


@dataclass(frozen=True)
class Plan:
    """A table of the chapter: one configuration (a :class:`VaDEConfig` or an :class:`MPCCConfig`, which says whose
    runs these are), its seeds and the stem of its result file."""

    config: VaDEConfig | MPCCConfig
    seeds: tuple[int, ...]
    result: str
    description: str

    def __post_init__(self) -> None:
        check_instance(self.config, (VaDEConfig, MPCCConfig), "config")
        check_seeds(list(self.seeds), "seeds")
        check_str(self.result, "result")
        check_str(self.description, "description")


def _check_plan(plan: Plan, kind: type) -> None:
    check_instance(plan, Plan, "plan")
    if not isinstance(plan.config, kind):
        raise TypeError(f"plan must be a plan of {kind.__name__} runs, got one of {type(plan.config).__name__}")


TEN_SEEDS = tuple(range(10))
PLANS: dict[str, Plan] = {
    "quick": Plan(VaDEConfig(pretrain_epochs=6, epochs=4, eval_every=2), (0,), "clustering_vade_quick",
                      "the quick profile: 7,000 shipped MNIST images, one seed"),
    "vade_mnist_cpu": Plan(VaDEConfig(pretrain_epochs=10, epochs=10, eval_every=5), TEN_SEEDS,
                               "clustering_vade_mnist_cpu",
                               "MNIST, 70,000 images, ten seeds, 10 + 10 epochs (this CPU's budget)"),
    "vade_mnist_cpu_pretrain30": Plan(VaDEConfig(pretrain_epochs=30, epochs=10, eval_every=5), (0, 1),
                                          "clustering_vade_mnist_cpu_pretrain30",
                                          "the CPU plan's first two seeds with 30 epochs of pretraining (the "
                                          "pretraining-length check)"),
    "vade_mnist": Plan(VaDEConfig(), TEN_SEEDS, "clustering_vade_mnist",
                           "MNIST, 70,000 images, ten seeds, 50 + 300 epochs (a GPU's schedule)"),
    "vade_fashion_mnist": Plan(VaDEConfig(dataset="fashion_mnist"), TEN_SEEDS, "clustering_vade_fashion_mnist",
                                   "Fashion-MNIST, 70,000 images, ten seeds, 50 + 300 epochs (a GPU's schedule)"),
    "mpcc_mnist_cpu": Plan(MPCCConfig.thesis("mnist", iterations=500, eval_every=100, eval_size=10_000), (0,),
                               "clustering_mpcc_mnist_cpu",
                               "MPCC on MNIST, one seed, 500 iterations, evaluated on the first 10,000 images (this "
                               "CPU's budget)"),
    "mpcc_mnist": Plan(MPCCConfig.thesis("mnist"), tuple(range(5)), "clustering_mpcc_mnist",
                           "MPCC on MNIST, five seeds, the thesis's 125,000 iterations (a GPU, 12-24 h per run)"),
    "mpcc_fashion_mnist": Plan(MPCCConfig.thesis("fashion_mnist", iterations=75_000), tuple(range(5)),
                                   "clustering_mpcc_fashion_mnist",
                                   "MPCC on Fashion-MNIST, five seeds, the thesis's 75,000 iterations (a GPU)"),
}
"""The chapter's tables, by name."""


def run_name(config: VaDEConfig, seed: int) -> str:
    """The name of a run in the cache of finished runs (its record ``<name>.json``, its checkpoints ``<name>/``)."""
    check_instance(config, VaDEConfig, "config")
    check_non_negative_int(seed, "seed")
    return f"vade_{config.dataset}_p{config.pretrain_epochs}_e{config.epochs}_seed{seed}"


def run_plan(plan: Plan, data: ClusteringData, run_dir: Path | None, progress: bool = True) -> list[dict]:
    """The record of every seed of ``plan`` (finished runs read back from ``run_dir``, others trained or resumed)."""
    _check_plan(plan, VaDEConfig)
    return [load_or_run(run_dir, run_name(plan.config, seed),
                        lambda folder, seed=seed: train_run(plan.config, data, seed, folder, progress).record)
            for seed in plan.seeds]


def trained_model(plan: Plan, data: ClusteringData, seed: int, run_dir: Path | None,
                  progress: bool = True) -> VaDERun:
    """The model of one seed of ``plan`` with its record: rebuilt from the run's checkpoints in ``run_dir`` when it has
    finished there (pretraining and VaDE resume at their last step; the mixture fit is repeated), else trained."""
    _check_plan(plan, VaDEConfig)
    folder = None if run_dir is None else check_path(run_dir, "run_dir") / run_name(plan.config, seed)
    return train_run(plan.config, data, seed, folder, progress)


def trained_mpcc(plan: Plan, x: Tensor, y: Tensor, seed: int, run_dir: Path | None,
                 progress: bool = True) -> MPCCRun:
    """The model of one seed of an MPCC ``plan`` with its record: rebuilt from the run's checkpoints in ``run_dir`` when
    it has finished there, else trained (``x``, ``y``: :func:`~gi_core.experiments.clustering_mpcc.load_clustering_images`)."""
    _check_plan(plan, MPCCConfig)
    check_batch(x, "x", shape=(1, plan.config.image_size, plan.config.image_size))
    folder = None if run_dir is None else check_path(run_dir, "run_dir") / mpcc_run_name(plan.config, seed)
    return train_mpcc(plan.config, x, y, seed, folder, progress)


def reproduce(plan: Plan, run_dir: Path | None, results_dir: Path | None = None,
              device: torch.device | None = None, progress: bool = True) -> Path:
    """Train (or read back) ``plan``'s runs and write ``results/<plan.result>.json``: every run's record and the
    summary table (:func:`~gi_core.experiments.clustering_vade.summarize` or
    :func:`~gi_core.experiments.clustering_mpcc.summary`), with provenance."""
    check_instance(plan, Plan, "plan")
    run_dir, result, results_dir, device = check_outputs(run_dir, plan.result, results_dir, device)
    start, commit = time.perf_counter(), git_commit()  # the code the runs start from, not the tree at the end
    if isinstance(plan.config, VaDEConfig):
        records = run_plan(plan, load_clustering_data(plan.config.dataset, device), run_dir, progress)
        table, seconds = summarize(records), sum(r["wall_time_s"] for r in records)
    else:
        x, y, _ = load_clustering_images(plan.config.dataset, device, image_size=plan.config.image_size)
        records = run_seeds(plan.config, list(plan.seeds), x, y, run_dir, progress)
        table, seconds = summary(records), sum(r["train_seconds"] for r in records)
    described = {**plan.config.describe(), "cpu_threads": torch.get_num_threads() if device.type == "cpu" else None}
    meta = {**provenance(described, list(plan.seeds), device, seconds or time.perf_counter() - start), "commit": commit}
    return write_result(result, {"summary": table, "runs": records}, meta, results_dir)


def comparison_table(stored: dict, dataset: str = "mnist", mpcc: dict | None = None) -> pd.DataFrame:
    """A stored VaDE table (and, if given, a stored MPCC table) beside Table 8.7's rows (%, with the source's
    protocol): mean ± std over our seeds, our best run, our label-free pick (highest bound), and the purity that the
    MPCC code reports as accuracy."""
    check_instance(stored, dict, "stored")
    if mpcc is not None:
        check_instance(mpcc, dict, "mpcc")
    tables = read_reference("seed002_table_8_7")["table"]
    check_choice(dataset, tuple(tables), "dataset")
    reference = tables[dataset]
    rows = {}
    for method, entry in stored["metrics"]["summary"].items():
        mean, std, n = entry["accuracy"]
        rows[f"{method} (ours)"] = {
            "ACC mean ± std": f"{100 * mean:.2f} ± {100 * std:.2f}", "runs": n,
            "best ACC": round(100 * entry["best_accuracy"], 2),
            "label-free": round(100 * entry["label_free_accuracy"], 2) if "label_free_accuracy" in entry else None,
            "purity mean": round(100 * entry["purity"][0], 2)}
    if mpcc is not None:
        entry, runs = mpcc["metrics"]["summary"], mpcc["metrics"]["runs"]
        mean, std, n = entry["accuracy"]
        rows[f"MPCC (ours, {runs[0]['iterations']:,} iterations)"] = {
            "ACC mean ± std": f"{100 * mean:.2f} ± {100 * std:.2f}", "runs": n,
            "best ACC": round(100 * max(r["final"]["accuracy"] for r in runs), 2),
            "purity mean": round(100 * entry["purity"][0], 2)}
    for method, entry in reference.items():
        value = f"{entry['value']:.2f}" + (f" ± {entry['std']:.2f}" if "std" in entry else "")
        rows[f"{method} (Table 8.7)"] = {"ACC mean ± std" if entry["protocol"] == "avg" else "best ACC": value,
                                         "runs": {"avg": "≥5", "best10": "best of ≥10", "best5": "best of 5",
                                                  "best3": "best of 3"}[entry["protocol"]]}
    return pd.DataFrame(rows).T.fillna("")


def stored(plan: str = "vade_mnist_cpu") -> dict | None:
    """The stored result of plan ``plan``, or ``None``."""
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {sorted(PLANS)}, got {plan!r}")
    return read_result(PLANS[plan].result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(set(PLANS) - {"quick"}), required=True,
                        help="; ".join(f"{name}: {plan.description}" for name, plan in PLANS.items() if name != "quick"))
    parser.add_argument("--epochs", type=int, default=None, help="VaDE epochs (default: the plan's)")
    parser.add_argument("--pretrain-epochs", type=int, default=None, help="VaDE's pretraining epochs (default: the plan's)")
    parser.add_argument("--iterations", type=int, default=None, help="MPCC's iterations (default: the plan's)")
    add_run_arguments(parser, steps=None, batch_size=VaDEConfig.batch_size, run_dir="clustering",
                      result_help="result file stem (default: the plan's)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the tables need all 70,000 images")
    if args.amp or args.compile or args.steps:
        parser.error("--amp, --compile and --steps are not used by these plans (epochs or iterations set their length)")
    plan = PLANS[args.plan]
    if isinstance(plan.config, VaDEConfig):
        if args.iterations:
            parser.error("--iterations sets MPCC's length; VaDE's plans take --epochs and --pretrain-epochs")
        config = replace(plan.config, batch_size=args.batch_size, epochs=args.epochs or plan.config.epochs,
                         pretrain_epochs=args.pretrain_epochs or plan.config.pretrain_epochs)
    else:
        if args.epochs or args.pretrain_epochs or args.batch_size != VaDEConfig.batch_size:
            parser.error("MPCC's plans take --iterations; their batch is the thesis's 50")
        config = replace(plan.config, iterations=args.iterations or plan.config.iterations)
    plan = replace(plan, config=config, seeds=tuple(args.seeds or plan.seeds), result=args.result or plan.result)
    print(f"wrote {reproduce(plan, args.run_dir, args.results_dir)}")


if __name__ == "__main__":
    main()
