"""Astorga's (2021) Table 6.4 as an experiment (chapter 3): train every zoo model, compute every metric, aggregate
over seeds.

:data:`PLANS` are the comparisons the chapter shows (the 17 models × 3 seeds of Table 6.4 on MLPs, one run at a time
and with the autoencoders trained in groups, the group-of-one check, and three models trained eight times longer)
and one it cannot run on a CPU (the thesis's ResNets). Run from the command line
to reproduce one (resumable: finished runs are kept in ``--run-dir`` and skipped, unfinished ones resume from their
last checkpoint)::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.zoo --plan table_6_4
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from torch import Tensor

from gi_core.batching import apply_in_batches
from gi_core.experiments.zoo_training import (ZooConfig, ZooData, groupable, load_zoo_data, slug, table_6_4_entries,
                                              train_group, train_model)
from gi_core.maths.mutual_information import estimated_mutual_information, expected_kl_to_prior, marginal_kl_to_prior
from gi_core.metrics.generation import (
    classifier_accuracy,
    classifier_outputs,
    feature_statistics,
    frechet_distance,
    inception_score,
)
from gi_core.metrics.latent import conditional_entropy, log_mse
from gi_core.metrics.representation import encode_means, linear_probe_accuracy
from gi_core.models.classifier import feature_classifier
from gi_core.models.zoo import BETA_KINDS, ZooEntry, ZooModel
from gi_core.results import compare_with_reference, git_commit, provenance, read_result, summarize_runs, write_result
from gi_core.runs import add_run_arguments, check_outputs, load_or_run, load_or_run_group
from gi_core.runtime import current_profile, seed_everything
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from gi_core.validation import check_instance, check_module, check_path, check_real, check_seeds, check_tensor

METRICS = ("log_mse_x", "log_mse_z", "kl_z", "kl_vae", "mi_estimate", "h_z_given_x", "inception_score", "fid",
           "probe_accuracy")

CLASSIFIER_BATCH = 256


def _posterior(model: ZooModel, x: Tensor) -> tuple[Tensor, Tensor]:
    """Means and log-variances of q(z|x) (as the model uses them), on the CPU."""
    return apply_in_batches(lambda batch: torch.cat(model.encode(batch), dim=1), x).chunk(2, dim=1)


@dataclass
class Evaluator:
    """The metric suite: a classifier for IS/FID with the test set's feature statistics as reference."""

    classifier: torch.nn.Module
    reference: tuple[Tensor, Tensor]
    classifier_test_accuracy: float

    def __post_init__(self) -> None:
        check_module(self.classifier, "classifier")
        if not (isinstance(self.reference, tuple) and len(self.reference) == 2):
            raise TypeError(f"reference must be the (mean, covariance) of the test features, got {self.reference!r:.80}")
        check_tensor(self.reference[0], "reference mean", ndim=1)
        check_tensor(self.reference[1], "reference covariance", ndim=2)
        check_real(self.classifier_test_accuracy, "classifier_test_accuracy", minimum=0.0, maximum=1.0)

    @classmethod
    def fit(cls, config: ZooConfig, data: ZooData, seed: int = 0, progress: bool = True) -> Evaluator:
        """Train the IS/FID classifier (the encoder architecture with a softmax layer) on the training set.

        Adam with PyTorch's defaults, batches of :data:`CLASSIFIER_BATCH`, every image once per epoch."""
        check_instance(config, ZooConfig, "config")
        check_instance(data, ZooData, "data")
        seed_everything(seed)
        width = config.hidden if config.arch == "mlp" else (config.channels,)
        classifier = feature_classifier(config.arch, tuple(data.train_x.shape[1:]), 10, width)
        classifier = classifier.to(data.train_x.device)
        trainer = Trainer(classifier, make_optimizers(classifier, OptimizerSpec("adam")), (data.train_x, data.train_y),
                          CLASSIFIER_BATCH, seed=seed, progress=progress, drop_last=False)
        trainer.fit(config.classifier_epochs * trainer.steps_per_epoch)  # Astorga (2021) does not say how it is trained
        _, features = classifier_outputs(classifier, data.test_x)
        return cls(classifier, feature_statistics(features), classifier_accuracy(classifier, data.test_x, data.test_y))

    @torch.no_grad()
    def __call__(self, model: ZooModel, config: ZooConfig, data: ZooData, seed: int) -> dict[str, float]:
        """Every column of Table 6.4 for one trained model (unsupervised metrics on training images)."""
        generator = torch.Generator().manual_seed(10_000 + seed)
        n_train = data.train_x.shape[0] if config.eval_train is None else min(config.eval_train, data.train_x.shape[0])
        idx = torch.randperm(data.train_x.shape[0], generator=generator)[:n_train].to(data.train_x.device)
        x, y = data.train_x[idx], data.train_y[idx]
        mean, log_var = _posterior(model, x)
        z = torch.randn(config.n_generated, config.latent_dim, generator=generator)
        generated = apply_in_batches(model.decode, z.to(x.device))
        probs, features = classifier_outputs(self.classifier, generated)
        return {
            "log_mse_x": log_mse(x.cpu(), apply_in_batches(model.reconstruct, x)),
            "log_mse_z": log_mse(z, encode_means(model.encoder, generated)),
            "kl_z": marginal_kl_to_prior(mean, log_var),
            "kl_vae": expected_kl_to_prior(mean, log_var),
            "mi_estimate": estimated_mutual_information(mean, log_var),
            "h_z_given_x": conditional_entropy(log_var),
            "inception_score": inception_score(probs),
            "fid": frechet_distance(*feature_statistics(features), *self.reference),
            "probe_accuracy": 100.0 * linear_probe_accuracy(mean, y.cpu(), encode_means(model.encoder, data.test_x),
                                                            data.test_y.cpu()),
        }


def run_comparison(config: ZooConfig, seeds: list[int], data: ZooData, evaluator: Evaluator,
                   run_dir: Path | None = None, progress: bool = True) -> list[dict]:
    """Train and evaluate every model of ``config.models`` for every seed; one record per run, in table order.

    Runs that can be grouped (:func:`~gi_core.experiments.zoo_training.groupable`) train ``config.group_size`` at a
    time, in table order; the others one at a time. With ``run_dir``, each finished run is stored as
    ``<model>_seed<k>.json`` (``..._group<n>.json`` when trained in groups of up to n) and skipped next time, and
    training checkpoints go to the folder of that name, so an interrupted comparison resumes
    (:func:`~gi_core.runs.load_or_run`, :func:`~gi_core.runs.load_or_run_group`).
    """
    check_instance(config, ZooConfig, "config")
    check_seeds(seeds, "seeds")
    check_instance(data, ZooData, "data")
    check_instance(evaluator, Evaluator, "evaluator")
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")
    commit = git_commit()  # the code that runs is the code at the start

    def record(entry: ZooEntry, seed: int, model: ZooModel, seconds: float, group: int) -> dict:
        return {"model": entry.label, "kind": entry.kind, "beta": entry.beta, "seed": seed, "commit": commit,
                "train_seconds": round(seconds, 2), "group_size": group, **evaluator(model, config, data, seed)}

    def alone(entry: ZooEntry, seed: int, checkpoint_dir: Path | None) -> dict:
        return record(entry, seed, *train_model(entry, config, data, seed, checkpoint_dir, progress), 0)

    runs = [(entry, seed) for entry in config.models for seed in seeds]
    grouped = [run for run in runs if groupable(run[0], config)]
    names = {run: f"{slug(run[0].label)}_seed{run[1]}" + (f"_group{config.group_size}" if run in grouped else "")
             for run in runs}
    records = {}
    for start in range(0, len(grouped), max(config.group_size, 1)):
        members = {names[run]: run for run in grouped[start:start + config.group_size]}

        def train(pending: list[str], folders: dict, members: dict = members) -> dict:
            trained = train_group([members[n] for n in pending], config, data, [folders[n] for n in pending], progress)
            return {n: outcome if isinstance(outcome, BaseException) else record(*members[n], outcome, seconds, size)
                    for n, (outcome, seconds, size) in zip(pending, trained)}

        records.update(zip(members, load_or_run_group(run_dir, list(members), train)))
    for run in runs:
        if run not in grouped:
            records[names[run]] = load_or_run(run_dir, names[run], lambda folder, run=run: alone(*run, folder))
    return [records[names[run]] for run in runs]


def summarize(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """``{model: {metric: [mean, std, n]}}`` over seeds (:func:`~gi_core.results.summarize_runs`)."""
    return summarize_runs(records, (*METRICS, "train_seconds"))


def reproduce(config: ZooConfig, seeds: list[int], run_dir: Path, result_name: str,
              device: torch.device | None = None, progress: bool = True, results_dir: Path | None = None) -> Path:
    """Run the whole comparison and write ``<results_dir>/<result_name>.json`` with provenance."""
    check_instance(config, ZooConfig, "config")
    check_seeds(seeds, "seeds")
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    commit, start = git_commit(), time.perf_counter()  # the code that runs is the code at the start
    data = load_zoo_data(config, device)
    evaluator = Evaluator.fit(config, data, progress=progress)
    records = run_comparison(config, seeds, data, evaluator, run_dir, progress)
    meta = provenance({**config.describe(), "data_source": data.source,
                       "classifier_test_accuracy": evaluator.classifier_test_accuracy},
                      seeds, device, time.perf_counter() - start) | {"commit": commit}
    return write_result(result_name, {"summary": summarize(records), "runs": records}, meta, results_dir)


# --- what the chapter shows ----------------------------------------------------------------------


class ZooPlan(NamedTuple):
    """A comparison: its configuration, seeds and result file stem."""

    config: ZooConfig
    seeds: tuple[int, ...]
    result: str


LONG_RUN_MODELS = ("VAE β=1", "WVAE β=1", "AIM")
AUTOENCODERS = tuple(e for e in table_6_4_entries() if e.kind in BETA_KINDS)
PLANS: dict[str, ZooPlan] = {
    "table_6_4": ZooPlan(ZooConfig(steps=3000), (0, 1, 2), "zoo_mnist_j10_mlp"),
    "table_6_4_grouped": ZooPlan(ZooConfig(steps=3000, group_size=9), (0, 1, 2), "zoo_mnist_j10_mlp_grouped"),
    "autoencoders_alone": ZooPlan(ZooConfig(steps=3000, models=AUTOENCODERS), (0,), "zoo_mnist_j10_mlp_autoencoders"),
    "autoencoders_group1": ZooPlan(ZooConfig(steps=3000, group_size=1, models=AUTOENCODERS), (0,),
                                   "zoo_mnist_j10_mlp_autoencoders_group1"),
    "long": ZooPlan(ZooConfig(steps=24000, models=tuple(e for e in table_6_4_entries() if e.label in LONG_RUN_MODELS)),
                    (0,), "zoo_mnist_j10_mlp_long"),
    "resnet": ZooPlan(ZooConfig(arch="resnet", steps=30000), (0, 1, 2), "zoo_mnist_j10_resnet"),
}
"""The full-profile comparisons: Table 6.4 on MLPs (3 000 steps of 64), one run at a time (the chapter's table) and
with the twelve autoencoders × 3 seeds trained in four groups of nine (:class:`~gi_core.multi_run.MultiRunTrainer`);
the twelve autoencoders at seed 0 alone and in groups of one (which must give the same numbers bit for bit); three
models eight times longer; and the thesis's ResNets (a GPU run; the chapter shows it when it is stored)."""
QUICK = ZooConfig(steps=150, eval_train=2000, n_generated=1000, classifier_epochs=2)
"""The quick profile's comparison: every model for a few steps on the shipped subset (it exercises the pipeline)."""
METRIC_LABELS = {"log_mse_x": "log-MSE X", "log_mse_z": "log-MSE Z", "kl_z": "D_KL^Z", "kl_vae": "D_KL^VAE",
                 "mi_estimate": "Ĩ_q", "h_z_given_x": "h_q(z|x)", "inception_score": "IS", "fid": "FID",
                 "probe_accuracy": "probe acc %"}


def stored_comparison() -> dict | None:
    """The stored Table 6.4 comparison: the ResNet run when there is one, else the MLP run (``None`` if neither)."""
    return read_result(PLANS["resnet"].result) or read_result(PLANS["table_6_4"].result)


def _shown(value: float, spread: float | None = None, sign: str = "") -> str:
    """``value`` (and ``±spread``) with 2 decimals below 100, 1 below 1000, else none: short table cells."""
    digits = 2 if abs(value) < 100 else 1 if abs(value) < 1000 else 0
    return f"{value:{sign}.{digits}f}" + ("" if spread is None else f"±{spread:.{digits}f}")


def summary_table(summary: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Every metric of every model as "mean±std", rows in the order of Table 6.4."""
    table = pd.DataFrame({METRIC_LABELS[m]: {model: _shown(*v[m][:2]) for model, v in summary.items()} for m in METRICS})
    return table.reindex([entry.label for entry in table_6_4_entries() if entry.label in summary])


def difference_table(summary: dict[str, dict[str, list[float]]], reference: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Ours − the thesis's, per model and metric, starred beyond twice the combined spread
    (:func:`~gi_core.results.compare_with_reference`)."""
    comparison = pd.DataFrame(compare_with_reference(summary, reference, METRICS))
    comparison["shown"] = [_shown(d, sign="+") + ("*" if b else "") for d, b in zip(comparison.difference, comparison.beyond_spread)]
    table = comparison.pivot(index="model", columns="metric", values="shown")[list(METRICS)]
    return table.rename(columns=METRIC_LABELS).reindex(list(reference))


MARGINAL_MATCHERS = tuple(f"{name} β={b}" for name in ("WVAE", "MMD", "JS-VAE") for b in ("0.33", "1"))


def claims(table: dict[str, dict[str, list[float]]]) -> dict[str, float]:
    """The thesis's five testable conclusions (Astorga 2021, end of Ch. 6) as numbers, from a
    ``{model: {metric: [mean, ...]}}`` table; each is described in chapter 3, with the sign that means it holds."""
    def value(model: str, metric: str) -> float:
        return table[model][metric][0]

    models = list(table)
    autoencoders = [e.label for e in table_6_4_entries() if e.kind in BETA_KINDS]
    return {
        "1. marginal matchers' acc. − VAE β=1's": float(np.mean([value(m, "probe_accuracy") for m in MARGINAL_MATCHERS]))
        - value("VAE β=1", "probe_accuracy"),
        "2. best marginal-matcher FID − worse of AIM/VEEGAN": min(value(m, "fid") for m in MARGINAL_MATCHERS)
        - max(value(m, "fid") for m in ("AIM", "VEEGAN")),
        "3. Spearman ρ(h_q(z|x), FID)": float(spearmanr([value(m, "h_z_given_x") for m in models],
                                                         [value(m, "fid") for m in models]).statistic),
        "4. Spearman ρ(Ĩ_q, probe acc.)": float(spearmanr([value(m, "mi_estimate") for m in models],
                                                           [value(m, "probe_accuracy") for m in models]).statistic),
        "5. VAE β=30 acc. − lowest other autoencoder's": value("VAE β=30", "probe_accuracy")
        - min(value(m, "probe_accuracy") for m in autoencoders if m != "VAE β=30"),
    }


CLAIM_HOLDS = (lambda v: v > 0, lambda v: v > 0, lambda v: v < 0, lambda v: v > 0, lambda v: v < 0)
"""For each claim of :func:`claims`, in order, the sign of its number when it holds."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(PLANS), required=True,
                        help="table_6_4: 17 MLP models x 3 seeds, one at a time; table_6_4_grouped: the same with the "
                             "autoencoders in groups of nine; autoencoders_alone / autoencoders_group1: the twelve "
                             "autoencoders at seed 0 (the group-of-one check); long: three models for 24 000 steps; "
                             "resnet: the thesis's networks (GPU)")
    parser.add_argument("--models", nargs="+", default=None, metavar="LABEL", help="only these rows of the plan, e.g. 'VAE β=1'")
    parser.add_argument("--group-size", type=int, default=None,
                        help="train up to this many autoencoder runs together (0: one at a time; default: the plan's)")
    add_run_arguments(parser, steps=None, batch_size=ZooConfig.batch_size, run_dir="zoo",
                      result_help="result file stem (default: the plan's)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the comparison needs the complete MNIST training set")
    plan = PLANS[args.plan]
    config = replace(plan.config, batch_size=args.batch_size, amp=args.amp, compile=args.compile,
                     steps=args.steps or plan.config.steps,
                     group_size=plan.config.group_size if args.group_size is None else args.group_size)
    if args.models:
        unknown = sorted(set(args.models) - {e.label for e in config.models})
        if unknown:
            parser.error(f"the plan has no models {unknown}; it has {[e.label for e in config.models]}")
        config = replace(config, models=tuple(e for e in config.models if e.label in args.models))
    run_dir = args.run_dir / f"{config.arch}_{config.steps}"
    path = reproduce(config, list(args.seeds or plan.seeds), run_dir, args.result or plan.result,
                     results_dir=args.results_dir)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
