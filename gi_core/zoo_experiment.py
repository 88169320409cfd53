"""Seed 002 Table 6.4 as an experiment: train every zoo model, compute every metric, aggregate over seeds.

Run from the command line to reproduce the table (resumable: finished runs are kept in ``--run-dir``
and skipped, unfinished ones resume from their last checkpoint)::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.zoo_experiment --arch resnet --steps 30000

The chapter ``notebooks/03_mutual_information`` calls the same functions.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from gi_core.data import load_images, to_signed_images
from gi_core.evaluation import apply_in_batches
from gi_core.generation_metrics import (
    classifier_accuracy,
    classifier_outputs,
    feature_classifier,
    feature_statistics,
    frechet_distance,
    inception_score,
    train_classifier,
)
from gi_core.latent_metrics import (
    conditional_entropy,
    estimated_mutual_information,
    expected_kl_to_prior,
    log_mse,
    marginal_kl_to_prior,
)
from gi_core.probe import encode_means, linear_probe_accuracy
from gi_core.resnets import standing_statistics
from gi_core.results import git_commit, provenance, summarize_runs, write_result
from gi_core.runtime import add_run_arguments, current_profile, default_device, seed_everything
from gi_core.trainer import Trainer
from gi_core.zoo import ZooEntry, ZooModel, table_6_4_entries, zoo_networks

METRICS = ("log_mse_x", "log_mse_z", "kl_z", "kl_vae", "mi_estimate", "h_z_given_x", "inception_score", "fid",
           "probe_accuracy")


@dataclass(frozen=True)
class ZooConfig:
    """Everything that defines a run of the comparison (the thesis's values where it gives them).

    ``eval_train``: how many training images the unsupervised metrics and the probe's training set use
    (``None``: all); ``n_generated``: samples for IS and FID (reference statistics: the test set);
    ``amp``/``compile``: bf16 autocast and ``torch.compile`` in the trainer (for GPU runs).
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

    def describe(self) -> dict:
        """A JSON-ready copy (the model list as labels)."""
        out = asdict(self)
        out["models"] = [e.label for e in self.models]
        return out


@dataclass
class ZooData:
    """Train and test images in [-1, 1] with labels, on the device."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    source: str


def load_zoo_data(config: ZooConfig, device: torch.device, profile: str | None = None) -> ZooData:
    """Images of ``config.dataset`` resized to ``config.image_size`` and mapped to [-1, 1] (seed 002 §6.3)."""
    train, test = (load_images(config.dataset, split, profile=profile) for split in ("train", "test"))
    size = config.image_size
    return ZooData(to_signed_images(train.x, size).to(device), train.y.to(device),
                   to_signed_images(test.x, size).to(device), test.y.to(device), train.source)


def build_model(entry: ZooEntry, config: ZooConfig, image_shape: tuple[int, ...]) -> ZooModel:
    """The zoo model of ``entry`` on fresh networks of ``config.arch``."""
    networks = zoo_networks(config.arch, image_shape, config.latent_dim, config.channels, config.hidden)
    return ZooModel.build(entry, networks)


def make_optimizers(model: ZooModel, config: ZooConfig) -> dict[str, torch.optim.Optimizer]:
    """Adam(lr, betas) for each parameter group of the model (thesis: 2e-4, (0, 0.999) for every network)."""
    return {name: torch.optim.Adam(params, lr=config.lr, betas=config.adam_betas)
            for name, params in model.parameters_by_loss().items()}


def slug(label: str) -> str:
    """A file-name-safe version of a model label (``"VAE β=0.33"`` -> ``"vae_beta_0.33"``)."""
    return re.sub(r"[^a-z0-9.]+", "_", label.lower().replace("β", "beta")).strip("_")


def train_model(entry: ZooEntry, config: ZooConfig, data: ZooData, seed: int,
                checkpoint_dir: Path | None = None, progress: bool = True) -> tuple[ZooModel, float]:
    """Train one model for ``config.steps`` steps; resume from ``checkpoint_dir`` if it holds a checkpoint."""
    seed_everything(seed)
    model = build_model(entry, config, tuple(data.train_x.shape[1:])).to(data.train_x.device)
    trainer = Trainer(model, make_optimizers(model, config), data.train_x, config.batch_size, seed=seed,
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

    @classmethod
    def fit(cls, config: ZooConfig, data: ZooData, seed: int = 0, progress: bool = True) -> Evaluator:
        """Train the IS/FID classifier (the encoder architecture with a softmax layer) on the training set."""
        seed_everything(seed)
        width = config.hidden if config.arch == "mlp" else (config.channels,)
        classifier = feature_classifier(config.arch, tuple(data.train_x.shape[1:]), 10, width)
        classifier = classifier.to(data.train_x.device)
        train_classifier(classifier, data.train_x, data.train_y, config.classifier_epochs, seed=seed, progress=progress)
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
    and training checkpoints go to ``<model>_seed<k>/``, so an interrupted comparison resumes.
    """
    records, commit = [], git_commit()  # the code that runs is the code at the start
    for entry in config.models:
        for seed in seeds:
            name = f"{slug(entry.label)}_seed{seed}"
            done = run_dir / f"{name}.json" if run_dir is not None else None
            if done is not None and done.exists():
                records.append(json.loads(done.read_text()))
                continue
            model, seconds = train_model(entry, config, data, seed, run_dir / name if run_dir else None, progress)
            record = {"model": entry.label, "kind": entry.kind, "beta": entry.beta, "seed": seed, "commit": commit,
                      "train_seconds": round(seconds, 2), **evaluator(model, config, data, seed)}
            if done is not None:
                done.write_text(json.dumps(record))
            records.append(record)
    return records


def summarize(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """``{model: {metric: [mean, std, n]}}`` over seeds (:func:`~gi_core.results.summarize_runs`)."""
    return summarize_runs(records, (*METRICS, "train_seconds"))


def compare_with_reference(summary: dict[str, dict[str, list[float]]], reference: dict[str, dict[str, list[float]]],
                           metrics: tuple[str, ...] = METRICS) -> list[dict]:
    r"""One row per (model, metric) found in both tables: our mean ± std, the reference's, the difference and its size.

    ``gap`` is the difference in units of the combined spread,
    :math:`|\bar a-\bar b|/\sqrt{s_a^2+s_b^2}` (infinite when both spreads are 0 and the means differ);
    a row is ``beyond_spread`` when ``gap > 2``.
    """
    rows = []
    for model, ours in summary.items():
        if model not in reference:
            continue
        for metric in metrics:
            if metric not in ours or metric not in reference[model]:
                continue
            (mean, std, _), (ref_mean, ref_std) = ours[metric], reference[model][metric][:2]
            spread, diff = math.hypot(std, ref_std), mean - ref_mean
            gap = abs(diff) / spread if spread > 0 else (0.0 if diff == 0 else math.inf)
            rows.append({"model": model, "metric": metric, "ours": mean, "ours_std": std, "thesis": ref_mean,
                         "thesis_std": ref_std, "difference": diff, "gap": gap, "beyond_spread": gap > 2})
    return rows


def reproduce(config: ZooConfig, seeds: list[int], run_dir: Path, result_name: str,
              device: torch.device | None = None, progress: bool = True) -> Path:
    """Run the whole comparison and write ``results/<result_name>.json`` with provenance."""
    device = device or default_device()
    commit, start = git_commit(), time.perf_counter()  # the code that runs is the code at the start
    data = load_zoo_data(config, device)
    evaluator = Evaluator.fit(config, data, progress=progress)
    records = run_comparison(config, seeds, data, evaluator, run_dir, progress)
    meta = provenance({**config.describe(), "data_source": data.source,
                       "classifier_test_accuracy": evaluator.classifier_test_accuracy},
                      seeds, device, time.perf_counter() - start) | {"commit": commit}
    return write_result(result_name, {"summary": summarize(records), "runs": records}, meta)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("mlp", "resnet"), default="resnet")
    add_run_arguments(parser, steps=ZooConfig.steps, batch_size=ZooConfig.batch_size, run_dir="zoo",
                      result_help="result file stem (default zoo_mnist_j10_<arch>)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the comparison needs the complete MNIST training set")
    config = ZooConfig(arch=args.arch, steps=args.steps, batch_size=args.batch_size, amp=args.amp, compile=args.compile)
    run_dir = args.run_dir / f"{args.arch}_{args.steps}"
    path = reproduce(config, args.seeds, run_dir, args.result or f"zoo_mnist_j10_{args.arch}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
