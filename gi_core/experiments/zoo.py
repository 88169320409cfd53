"""Astorga's (2021) Table 6.4 as an experiment (chapter 3): train every zoo model, compute every metric, aggregate
over seeds.

:data:`PLANS` are the comparisons the chapter shows (the 17 models × 3 seeds of Table 6.4 on MLPs, and three of
them trained eight times longer) and one it cannot run on a CPU (the thesis's ResNets). Run from the command line
to reproduce one (resumable: finished runs are kept in ``--run-dir`` and skipped, unfinished ones resume from their
last checkpoint)::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.zoo --plan table_6_4
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from torch import Tensor

from gi_core.batching import apply_in_batches
from gi_core.data.images import DATASETS, load_images
from gi_core.data.transforms import to_signed_images
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
from gi_core.models.zoo import BETA_KINDS, ZooEntry, ZooModel, zoo_networks
from gi_core.nets.resnets import standing_statistics
from gi_core.results import compare_with_reference, git_commit, provenance, read_result, summarize_runs, write_result
from gi_core.runs import add_run_arguments, check_outputs, load_or_run
from gi_core.runtime import current_profile, seed_everything
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_instance, check_labels, check_module, check_non_negative_int,
                                check_path, check_positive_int, check_real, check_reals, check_seeds, check_sizes,
                                check_str, check_tensor)

def table_6_4_entries(include_aae: bool = True) -> tuple[ZooEntry, ...]:
    """The rows of Astorga's (2021) Table 6.4 (four autoencoders at beta in {0.33, 1, 30}, four GANs), plus AAE."""
    names = {"vae": "VAE", "wvae": "WVAE", "mmd": "MMD", "jsvae": "JS-VAE"}
    rows = [ZooEntry(f"{names[k]} β={b:g}", k, b) for k in BETA_KINDS for b in (0.33, 1.0, 30.0)]
    rows += [ZooEntry("AIM", "aim"), ZooEntry("VEEGAN", "veegan"), ZooEntry("ALI", "ali"), ZooEntry("ALICE", "alice")]
    if include_aae:
        rows.append(ZooEntry("AAE", "aae"))
    return tuple(rows)


METRICS = ("log_mse_x", "log_mse_z", "kl_z", "kl_vae", "mi_estimate", "h_z_given_x", "inception_score", "fid",
           "probe_accuracy")


@dataclass(frozen=True)
class ZooConfig:
    """Everything that defines a run of the comparison (the thesis's values where it gives them).

    ``eval_train``: how many training images the unsupervised metrics and the probe's training set use
    (``None``: all); ``n_generated``: samples for IS and FID (reference statistics: the test set);
    ``amp``/``compile``: bf16 autocast and ``torch.compile`` in the trainer (for GPU runs). Every field is checked
    on construction (the models' labels must have distinct :func:`slug` file names).
    """

    arch: str = "mlp"
    dataset: str = "mnist"
    image_size: int = 32
    latent_dim: int = 10
    channels: int = 32
    hidden: tuple[int, ...] = (512, 256)
    batch_size: int = 64
    steps: int = 10_000
    lr: float = 2e-4
    adam_betas: tuple[float, float] = (0.0, 0.999)
    classifier_epochs: int = 5
    eval_train: int | None = None
    n_generated: int = 10_000
    checkpoint_every: int = 2_000
    amp: bool = False
    compile: bool = False
    models: tuple[ZooEntry, ...] = field(default_factory=table_6_4_entries)

    def __post_init__(self) -> None:
        check_choice(self.arch, ("mlp", "resnet"), "arch")
        check_choice(self.dataset, tuple(DATASETS), "dataset")
        for name in ("image_size", "latent_dim", "channels", "batch_size", "steps", "classifier_epochs", "n_generated"):
            check_positive_int(getattr(self, name), name)
        if self.eval_train is not None:
            check_positive_int(self.eval_train, "eval_train")
        check_non_negative_int(self.checkpoint_every, "checkpoint_every")
        check_sizes(self.hidden, "hidden")
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_reals(self.adam_betas, "adam_betas", length=2, minimum=0.0, maximum=1.0)
        if not isinstance(self.models, tuple) or not self.models or not all(isinstance(e, ZooEntry) for e in self.models):
            raise TypeError(f"models must be a non-empty tuple of ZooEntry, got {self.models!r:.80}")
        if len({slug(e.label) for e in self.models}) < len(self.models):
            raise ValueError(f"models must have labels with distinct file names, got {[e.label for e in self.models]}")

    def describe(self) -> dict:
        """A JSON-ready copy (the model list as labels)."""
        out = asdict(self)
        out["models"] = [e.label for e in self.models]
        return out


CLASSIFIER_BATCH = 256


@dataclass
class ZooData:
    """Train and test images in [-1, 1] with labels, on the device."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    source: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            check_tensor(x, f"{split}_x", ndim=4)
            check_labels(y, x.shape[0], f"{split}_y")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise ValueError(f"train_x and test_x must hold images of one shape, got {tuple(self.train_x.shape[1:])} "
                             f"and {tuple(self.test_x.shape[1:])}")
        check_str(self.source, "source")


def load_zoo_data(config: ZooConfig, device: torch.device, profile: str | None = None) -> ZooData:
    """Images of ``config.dataset`` resized to ``config.image_size`` and mapped to [-1, 1] (Astorga 2021, §6.3)."""
    train, test = (load_images(config.dataset, split, profile=profile) for split in ("train", "test"))
    size = config.image_size
    return ZooData(to_signed_images(train.x, size).to(device), train.y.to(device),
                   to_signed_images(test.x, size).to(device), test.y.to(device), train.source)


def build_model(entry: ZooEntry, config: ZooConfig, image_shape: tuple[int, ...]) -> ZooModel:
    """The zoo model of ``entry`` on fresh networks of ``config.arch``."""
    check_instance(entry, ZooEntry, "entry")
    check_instance(config, ZooConfig, "config")
    networks = zoo_networks(config.arch, image_shape, config.latent_dim, config.channels, config.hidden)
    return ZooModel.build(entry, networks)


def slug(label: str) -> str:
    """A file-name-safe version of a model label (``"VAE β=0.33"`` -> ``"vae_beta_0.33"``)."""
    safe = re.sub(r"[^a-z0-9.]+", "_", check_str(label, "label").lower().replace("β", "beta")).strip("_")
    if safe.strip(".") == "":
        raise ValueError(f"label {label!r} has no letter or digit to name a file with")
    return safe


def train_model(entry: ZooEntry, config: ZooConfig, data: ZooData, seed: int,
                checkpoint_dir: Path | None = None, progress: bool = True) -> tuple[ZooModel, float]:
    """Train one model for ``config.steps`` steps; resume from ``checkpoint_dir`` if it holds a checkpoint."""
    check_instance(data, ZooData, "data")
    checkpoint_dir = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    seed_everything(seed)
    model = build_model(entry, config, tuple(data.train_x.shape[1:])).to(data.train_x.device)
    optimizers = make_optimizers(model, OptimizerSpec("adam", config.lr, betas=config.adam_betas))  # thesis: every network
    trainer = Trainer(model, optimizers, data.train_x, config.batch_size, seed=seed,
                      checkpoint_dir=checkpoint_dir, checkpoint_every=config.checkpoint_every if checkpoint_dir else 0,
                      log_every=100, progress=progress, amp=config.amp, compile=config.compile)
    trainer.resume()
    start = time.perf_counter()
    trainer.fit(config.steps)
    if config.arch == "resnet":  # BN statistics of the generator from 16 passes (the thesis's "standing statistics")
        standing_statistics(model.decoder, config.latent_dim)
    model.eval()
    return model, time.perf_counter() - start


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
    """Train and evaluate every model of ``config.models`` for every seed; one record per run.

    With ``run_dir``, each finished run is stored as ``<model>_seed<k>.json`` and skipped next time,
    and training checkpoints go to ``<model>_seed<k>/``, so an interrupted comparison resumes
    (:func:`~gi_core.runs.load_or_run`).
    """
    check_instance(config, ZooConfig, "config")
    check_seeds(seeds, "seeds")
    check_instance(data, ZooData, "data")
    check_instance(evaluator, Evaluator, "evaluator")
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")
    commit = git_commit()  # the code that runs is the code at the start

    def run(entry: ZooEntry, seed: int, checkpoint_dir: Path | None) -> dict:
        model, seconds = train_model(entry, config, data, seed, checkpoint_dir, progress)
        return {"model": entry.label, "kind": entry.kind, "beta": entry.beta, "seed": seed, "commit": commit,
                "train_seconds": round(seconds, 2), **evaluator(model, config, data, seed)}

    return [load_or_run(run_dir, f"{slug(entry.label)}_seed{seed}", lambda folder, e=entry, k=seed: run(e, k, folder))
            for entry in config.models for seed in seeds]


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
PLANS: dict[str, ZooPlan] = {
    "table_6_4": ZooPlan(ZooConfig(steps=3000), (0, 1, 2), "zoo_mnist_j10_mlp"),
    "long": ZooPlan(ZooConfig(steps=24000, models=tuple(e for e in table_6_4_entries() if e.label in LONG_RUN_MODELS)),
                    (0,), "zoo_mnist_j10_mlp_long"),
    "resnet": ZooPlan(ZooConfig(arch="resnet", steps=30000), (0, 1, 2), "zoo_mnist_j10_resnet"),
}
"""The full-profile comparisons: Table 6.4 on MLPs (3 000 steps of 64), three models of it eight times longer, and
the thesis's ResNets (a GPU run; the chapter shows it when it is stored)."""
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
                        help="table_6_4: 17 MLP models x 3 seeds; long: three of them for 24 000 steps; resnet: the thesis's networks (GPU)")
    parser.add_argument("--models", nargs="+", default=None, metavar="LABEL", help="only these rows of the plan, e.g. 'VAE β=1'")
    add_run_arguments(parser, steps=None, batch_size=ZooConfig.batch_size, run_dir="zoo",
                      result_help="result file stem (default: the plan's)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the comparison needs the complete MNIST training set")
    plan = PLANS[args.plan]
    config = replace(plan.config, batch_size=args.batch_size, amp=args.amp, compile=args.compile,
                     steps=args.steps or plan.config.steps)
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
