"""Clustering with MPCC (Astorga 2021, Ch. 8): the MNIST and Fashion-MNIST runs, evaluated over training.

A run trains :class:`~gi_core.models.mpcc.MPCC` for ``iterations`` iterations of Algorithm 1 on the training and
test images concatenated (70,000, fully unsupervised), resized to 32×32 in [-1, 1], and keeps the last iterate. Every
``eval_every`` iterations (and at 0 and at the end) it records the clustering of the data read off at the encoder means
(:meth:`~gi_core.models.mpcc.MPCC.assign_clusters`) against the classes: the Hungarian accuracy of Eq. 8.1, purity,
NMI, ARI and the mixture's occupancy (:mod:`gi_core.metrics.clustering`), with the prior's standard deviations.
Runs go through :func:`gi_core.runs.load_or_run` and resume after an interruption, their evaluations included::

    GI_PROFILE=full GI_DATA_ROOT=/work/shared/data python -m gi_core.experiments.clustering_mpcc \\
        --dataset mnist --iterations 125000 --seeds 0 1 2 3 4 --run-dir runs/mpcc
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from gi_core.checkpoints import write_text_atomically
from gi_core.data.images import load_images
from gi_core.data.transforms import to_signed_images
from gi_core.metrics.clustering import (adjusted_rand_index, clustering_accuracy, mixture_health,
                                        normalized_mutual_information, purity)
from gi_core.models.mpcc import MPCC, build_mpcc
from gi_core.nets.conditional_resnets import INJECTIONS
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.results import read_json
from gi_core.runs import RUNS_ROOT, load_or_run
from gi_core.runtime import current_profile, default_device, seed_everything
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_device, check_instance, check_labels, check_non_negative_int,
                                check_path, check_positive_int, check_real, check_reals, check_seeds, check_str,
                                check_tensor)

DATASETS = ("mnist", "fashion_mnist")
THESIS_SETTINGS = {
    "mnist": {"injection": "class_embeddings", "channels": 12, "latent_dim": 24, "prior_lr": 1.6e-3,
              "iterations": 125_000},
    "fashion_mnist": {"injection": "latent_and_embedding", "channels": 24, "latent_dim": 16, "prior_lr": 1.6e-3,
                      "iterations": 75_000},
}
"""Astorga's (2021) per-dataset settings (Ch. 8): latent injection (method 3 / method 2), C, J, the prior's rate
:math:`\\eta_p` and the iterations. The thesis's table prints J = 16 for Fashion-MNIST beside "C = 24"."""
EVALUATIONS_FILE = "evaluations.json"
"""The file in a run's checkpoint folder that holds its evaluations so far (rewritten atomically after each)."""
TIMING = ("train_seconds", "seconds_per_iteration")
"""The record's wall-clock entries (the only ones that differ between a straight and a resumed run)."""


class MPCCRun(NamedTuple):
    """A trained MPCC and its run record (JSON-ready)."""

    model: MPCC
    record: dict


@dataclass(frozen=True)
class MPCCConfig:
    """One MPCC clustering run; the defaults are the thesis's MNIST setting (use :meth:`thesis` for a dataset).

    ``lr`` is :math:`\\eta` (generator, discriminator, encoder; Adam with ``adam_betas``), ``prior_lr`` :math:`\\eta_p`;
    ``variance_floor`` is :math:`\\sigma_{\\min}`; ``mean_scale`` the spread of the initial component means (this book's
    choice); ``eval_size`` the number of images the evaluations use (``None``: all, in their fixed order). Every field
    is checked on construction.
    """

    dataset: str = "mnist"
    iterations: int = 125_000
    batch_size: int = 50
    num_clusters: int = 10
    image_size: int = 32
    injection: str = "class_embeddings"
    channels: int = 12
    latent_dim: int = 24
    lr: float = 2e-4
    prior_lr: float = 1.6e-3
    adam_betas: tuple[float, float] = (0.0, 0.999)
    lambda_p: float = 0.01
    variance_floor: float = 0.5
    mean_scale: float = 1.0
    d_steps: int = 4
    e_steps: int = 4
    eval_every: int = 5_000
    eval_size: int | None = None

    def __post_init__(self) -> None:
        check_choice(self.dataset, DATASETS, "dataset")
        check_choice(self.injection, INJECTIONS, "injection")
        for name in ("iterations", "batch_size", "channels", "latent_dim", "d_steps", "e_steps", "eval_every"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.num_clusters, "num_clusters", minimum=2)
        if check_positive_int(self.image_size, "image_size") % 16:
            raise ValueError(f"image_size must be divisible by 16 (32 in the thesis), got {self.image_size}")
        if self.eval_size is not None:
            check_positive_int(self.eval_size, "eval_size")
        for name in ("lr", "prior_lr"):
            check_real(getattr(self, name), name, minimum=0.0, strict=True)
        check_reals(self.adam_betas, "adam_betas", length=2, minimum=0.0, maximum=1.0)
        if self.adam_betas[1] >= 1.0:
            raise ValueError(f"adam_betas: the second must be below 1, got {self.adam_betas}")
        for name in ("lambda_p", "variance_floor", "mean_scale"):
            check_real(getattr(self, name), name, minimum=0.0)

    @classmethod
    def thesis(cls, dataset: str, **changes: object) -> MPCCConfig:
        """The thesis's setting for ``dataset`` (:data:`THESIS_SETTINGS`, batch 50, ten clusters), with ``changes``."""
        check_choice(dataset, DATASETS, "dataset")
        return replace(cls(dataset=dataset, **THESIS_SETTINGS[dataset]), **changes)

    def describe(self) -> dict:
        """A JSON-ready copy."""
        return {**asdict(self), "adam_betas": list(self.adam_betas)}


def load_clustering_images(dataset: str, device: torch.device | str = "cpu",
                           profile: str | None = None, image_size: int = 32) -> tuple[Tensor, Tensor, str]:
    """Images of ``dataset``'s training and test splits concatenated (train first), resized to ``image_size`` and mapped
    to [-1, 1], with their labels, on ``device``, and where they came from (``profile``: ``GI_PROFILE``)."""
    check_choice(dataset, DATASETS, "dataset")
    device = check_device(device, "device")
    check_positive_int(image_size, "image_size")
    splits = [load_images(dataset, split, profile=profile) for split in ("train", "test")]
    x = torch.cat([to_signed_images(split.x, image_size) for split in splits])
    y = torch.cat([split.y for split in splits])
    return x.to(device), y.to(device), splits[0].source


def build_run(config: MPCCConfig, device: torch.device | str = "cpu") -> tuple[MPCC, dict[str, torch.optim.Optimizer]]:
    """The model of ``config`` (from the global generator: seed first) on ``device`` with its four Adam optimizers."""
    check_instance(config, MPCCConfig, "config")
    model = build_mpcc((1, config.image_size, config.image_size), config.num_clusters, config.latent_dim,
                       config.channels, config.injection, config.variance_floor, config.mean_scale, config.lambda_p,
                       config.d_steps, config.e_steps).to(check_device(device, "device"))
    rate = OptimizerSpec("adam", config.lr, betas=tuple(config.adam_betas))
    specs = {"discriminator_loss": rate, "generator_loss": rate, "loss": rate,
             "prior_loss": OptimizerSpec("adam", config.prior_lr, betas=tuple(config.adam_betas))}
    return model, make_optimizers(model, specs)


def evaluate_clustering(model: MPCC, x: Tensor, y: Tensor, batch_size: int = 1000) -> dict:
    """Hungarian accuracy (Eq. 8.1), purity, NMI, ARI, the mixture's health and the prior's σ, for images ``x`` with
    classes ``y``; deterministic (encoder means, evaluation mode), so it draws nothing and changes no state."""
    check_instance(model, MPCC, "model")
    check_tensor(x, "x", ndim=4)
    check_labels(y, x.shape[0], "y")
    gamma = model.cluster_probabilities(x, batch_size)
    clusters, labels = gamma.argmax(-1), y.cpu()
    sigma = torch.exp(0.5 * model.prior.log_vars.detach()).cpu()
    return {"accuracy": clustering_accuracy(labels, clusters), "purity": purity(labels, clusters),
            "nmi": normalized_mutual_information(labels, clusters), "ari": adjusted_rand_index(labels, clusters),
            **mixture_health(gamma), "sigma_mean": float(sigma.mean()), "sigma_min": float(sigma.min())}


def evaluation_points(config: MPCCConfig) -> list[int]:
    """The iterations a run is evaluated at: 0, every ``eval_every``, and the last."""
    check_instance(config, MPCCConfig, "config")
    return sorted({0, *range(config.eval_every, config.iterations, config.eval_every), config.iterations})


def stored_evaluations(folder: Path | None, upto: int) -> list[dict]:
    """The evaluations a run's checkpoint folder holds for iterations up to ``upto`` (none without a folder or file)."""
    check_non_negative_int(upto, "upto")
    if folder is None or not (check_path(folder, "folder") / EVALUATIONS_FILE).exists():
        return []
    return [e for e in read_json(folder / EVALUATIONS_FILE)["evaluations"] if e["iteration"] <= upto]


def train_run(config: MPCCConfig, x: Tensor, y: Tensor, seed: int, checkpoint_dir: Path | None = None,
              progress: bool = True) -> MPCCRun:
    """Train one seeded run to ``config.iterations``, evaluating at :func:`evaluation_points`: the model (in evaluation
    mode) and the run's record.

    With ``checkpoint_dir`` the trainer checkpoints at every evaluation point and the evaluations are kept beside the
    checkpoints, so an interrupted run resumes from its last checkpoint with its earlier evaluations and ends with the
    same record (bitwise, on the CPU, apart from :data:`TIMING`)."""
    check_instance(config, MPCCConfig, "config")
    check_tensor(x, "x", ndim=4)
    check_labels(y, x.shape[0], "y")
    check_non_negative_int(seed, "seed")
    checkpoint_dir = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    seed_everything(seed)
    model, optimizers = build_run(config, x.device)
    period = model.steps_per_iteration
    trainer = Trainer(model, optimizers, x, config.batch_size, seed=seed, checkpoint_dir=checkpoint_dir,
                      checkpoint_every=config.eval_every * period if checkpoint_dir else 0,
                      log_every=config.eval_every * period, progress=progress,
                      schedules={"phase": model.phase_schedule()})
    trainer.resume()
    evaluations = stored_evaluations(checkpoint_dir, trainer.step // period)
    done = {e["iteration"] for e in evaluations}
    eval_x, eval_y = (x, y) if config.eval_size is None else (x[:config.eval_size], y[:config.eval_size])
    start, first = time.perf_counter(), trainer.step
    for point in evaluation_points(config):
        if point in done:
            continue
        if point * period < trainer.step:
            raise RuntimeError(f"the checkpoint in {checkpoint_dir} is at iteration {trainer.step // period}, past the "
                               f"evaluation at iteration {point} that its folder lacks: delete the folder to rerun")
        trainer.fit(point * period)
        if checkpoint_dir is not None and point and trainer.step % trainer.checkpoint_every:
            trainer.save_checkpoint()
        evaluations.append({"iteration": point, **evaluate_clustering(model, eval_x, eval_y)})
        if checkpoint_dir is not None:
            checkpoint_dir.mkdir(parents=True, exist_ok=True)
            write_text_atomically(checkpoint_dir / EVALUATIONS_FILE, json.dumps({"evaluations": evaluations}))
    seconds = time.perf_counter() - start
    trained = (trainer.step - first) // period
    record = {"dataset": config.dataset, "seed": seed, "iterations": config.iterations, "config": config.describe(),
              "evaluations": evaluations, "final": evaluations[-1], "train_seconds": round(seconds, 2),
              "seconds_per_iteration": round(seconds / trained, 4) if trained else None}
    return MPCCRun(model.eval(), record)


def run_name(config: MPCCConfig, seed: int) -> str:
    """``mpcc_<dataset>_<iterations>it_seed<k>``: the run's record (``.json``) and checkpoint folder in a run dir."""
    check_instance(config, MPCCConfig, "config")
    check_non_negative_int(seed, "seed")
    return f"mpcc_{config.dataset}_{config.iterations}it_seed{seed}"


def run_seeds(config: MPCCConfig, seeds: list[int], x: Tensor, y: Tensor, run_dir: Path | None = None,
              progress: bool = True) -> list[dict]:
    """One record per seed (:func:`~gi_core.runs.load_or_run`): finished runs are read back, unfinished ones resume.

    A stored record of another configuration under the same name is refused."""
    check_instance(config, MPCCConfig, "config")
    seeds = check_seeds(seeds, "seeds")
    check_tensor(x, "x", ndim=4)
    check_labels(y, x.shape[0], "y")
    run_dir = None if run_dir is None else check_path(run_dir, "run_dir")

    def same_config(record: dict, path: Path) -> None:
        if record.get("config") != config.describe():
            raise ValueError(f"{path} holds a run of another configuration: use another run_dir or delete it")

    return [load_or_run(run_dir, run_name(config, seed),
                        lambda folder, s=seed: train_run(config, x, y, s, folder, progress).record, same_config)
            for seed in seeds]


def summary(records: list[dict]) -> dict:
    """Mean, standard deviation (ddof=1, 0 for one run) and count over runs of the final accuracy, purity, NMI and ARI."""
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) and "final" in r for r in records):
        raise TypeError("records must be a non-empty list of run records (dicts with a 'final' evaluation)")
    finals = {name: np.array([r["final"][name] for r in records]) for name in ("accuracy", "purity", "nmi", "ari")}
    return {name: [float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values)]
            for name, values in finals.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=DATASETS, default="mnist")
    parser.add_argument("--iterations", type=int, default=None, help="iterations of Algorithm 1 (default: the thesis's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--run-dir", type=Path, default=RUNS_ROOT / "mpcc")
    parser.add_argument("--eval-every", type=int, default=MPCCConfig.eval_every)
    parser.add_argument("--eval-size", type=int, default=None, help="images per evaluation (default: all)")
    parser.add_argument("--device", default=None, help="default: the accelerator if there is one")
    args = parser.parse_args(argv)
    changes = {"eval_every": args.eval_every, "eval_size": args.eval_size}
    if args.iterations is not None:
        changes["iterations"] = args.iterations
    config = MPCCConfig.thesis(args.dataset, **changes)
    device = default_device() if args.device is None else check_device(args.device, "--device")
    x, y, source = load_clustering_images(config.dataset, device, image_size=config.image_size)
    print(f"{check_str(source, 'source')} ({current_profile()} profile): {x.shape[0]} images on {device}")
    records = run_seeds(config, args.seeds, x, y, args.run_dir)
    for record in records:
        print(json.dumps({"seed": record["seed"], **{k: record["final"][k] for k in ("accuracy", "purity", "nmi", "ari",
                                                                                     "empty")}}))
    print(json.dumps({"summary": summary(records)}))


if __name__ == "__main__":
    main()
