r"""VaDE runs of the clustering chapter: pretraining, the Gaussian-mixture start, training, and the label-free score.

One run (:func:`train_run`) follows Jiang et al. (2017): a deterministic autoencoder pretrains the networks
(:class:`~gi_core.models.deterministic_autoencoder.DeterministicAutoencoder`), a diagonal Gaussian mixture fitted to
its codes (``sklearn.mixture.GaussianMixture``, ``n_init`` restarts) starts the prior, and VaDE trains with Adam, the
learning rate decayed by the trainer's schedule. The same codes give the chapter's two baselines, k-means and the
GMM alone. Every ``eval_every`` epochs the run records the Hungarian accuracy, purity, NMI, ARI, the mixture's
health and the mean bound (nats, the label-free score); labels are read only to measure, never to choose.
Both phases checkpoint, and the evaluations are kept beside the checkpoints, so a killed run resumes bitwise.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture
from torch import Tensor

from gi_core.batching import apply_in_batches, batched_mean
from gi_core.checkpoints import write_text_atomically
from gi_core.data.images import DATASETS, load_images
from gi_core.metrics.clustering import (adjusted_rand_index, clustering_accuracy, mixture_health,
                                        normalized_mutual_information, purity)
from gi_core.metrics.representation import encode_means
from gi_core.models.deterministic_autoencoder import DeterministicAutoencoder
from gi_core.models.vade import VaDE, vade_networks
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.results import read_json
from gi_core.runtime import seed_everything
from gi_core.trainer import Trainer
from gi_core.validation import (check_batch, check_choice, check_instance, check_labels, check_non_negative_int,
                                check_path, check_positive_int, check_real, check_sizes)

IMAGE_SHAPE = (1, 28, 28)
EVALUATIONS_FILE = "evaluations.json"


@dataclass(frozen=True)
class VaDEConfig:
    """One VaDE setting (checked on construction): data, networks, pretraining, mixture start, training, evaluation."""

    dataset: str = "mnist"
    hidden: tuple[int, ...] = (500, 500, 2000)
    latent_dim: int = 10
    num_clusters: int = 10
    batch_size: int = 100
    pretrain_epochs: int = 50
    pretrain_lr: float = 1e-3
    epochs: int = 300
    lr: float = 2e-3
    lr_decay: float = 0.9
    lr_decay_epochs: int = 10
    gmm_inits: int = 10
    eval_every: int = 10

    def __post_init__(self) -> None:
        check_choice(self.dataset, tuple(DATASETS), "dataset")
        check_sizes(self.hidden, "hidden")
        for name in ("latent_dim", "batch_size", "pretrain_epochs", "epochs", "lr_decay_epochs", "gmm_inits",
                     "eval_every"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.num_clusters, "num_clusters", minimum=2)
        check_real(self.pretrain_lr, "pretrain_lr", minimum=0.0, strict=True)
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_real(self.lr_decay, "lr_decay", minimum=0.0, maximum=1.0, strict=True)

    def describe(self) -> dict:
        """A JSON-ready record of the configuration."""
        return {**asdict(self), "hidden": list(self.hidden), "network": "mlp", "likelihood": "bernoulli (grey levels)",
                "optimizer": "adam (fused)", "gmm": "sklearn GaussianMixture, diagonal"}


class VaDERun(NamedTuple):
    """A trained VaDE and its run record (JSON-ready)."""

    model: VaDE
    record: dict


class ClusteringData(NamedTuple):
    """Images ``x`` (N, 1, 28, 28) in [0, 1] on the device and their labels ``y`` (N,), for measuring only."""

    x: Tensor
    y: Tensor
    source: str


def load_clustering_data(dataset: str, device: torch.device, profile: str | None = None) -> ClusteringData:
    """The training and test splits of ``dataset`` concatenated (the thesis's protocol: 70,000 images in the full
    profile, the shipped 7,000 in the quick one), on ``device``."""
    check_choice(dataset, tuple(DATASETS), "dataset")
    splits = [load_images(dataset, split, profile=profile) for split in ("train", "test")]
    x = torch.cat([s.x for s in splits]).to(device)
    return ClusteringData(x, torch.cat([s.y for s in splits]).to(device), " + ".join(s.source for s in splits))


def clustering_scores(labels: Tensor, clusters: Tensor) -> dict[str, float]:
    """Hungarian accuracy, purity, NMI and ARI of ``clusters`` against ``labels``."""
    return {"accuracy": clustering_accuracy(labels, clusters), "purity": purity(labels, clusters),
            "nmi": normalized_mutual_information(labels, clusters), "ari": adjusted_rand_index(labels, clusters)}


def evaluate(model: VaDE, data: ClusteringData, seed: int) -> dict:
    """Scores of the clusters at the encoder means, the mixture's health and the mean bound (one draw per image,
    noise seeded with ``seed``)."""
    check_instance(model, VaDE, "model")
    check_instance(data, ClusteringData, "data")
    check_non_negative_int(seed, "seed")
    was_training = model.training
    model.eval()
    gamma = apply_in_batches(model.cluster_probabilities, data.x)
    generator = torch.Generator(device=data.x.device).manual_seed(seed)
    elbo = batched_mean(lambda batch: model.elbo(batch, generator).mean(), data.x)
    model.train(was_training)
    health = mixture_health(gamma)
    return {**clustering_scores(data.y.cpu(), gamma.argmax(1)), "elbo": elbo, "empty": health["empty"],
            "posterior_entropy": health["posterior_entropy"], "occupancy": health["occupancy"],
            "weights": torch.exp(model.prior.log_weights).tolist()}


def fit_mixture(codes: Tensor, config: VaDEConfig, seed: int) -> GaussianMixture:
    """A diagonal Gaussian mixture of ``config.num_clusters`` components fitted to ``codes`` with
    ``config.gmm_inits`` k-means-started restarts (seeded), the best by likelihood."""
    check_instance(config, VaDEConfig, "config")
    check_batch(codes, "codes", shape=(config.latent_dim,))
    check_non_negative_int(seed, "seed")
    if codes.shape[0] < config.num_clusters:
        raise ValueError(f"codes must have at least num_clusters = {config.num_clusters} rows, got {codes.shape[0]}")
    return GaussianMixture(config.num_clusters, covariance_type="diag", n_init=config.gmm_inits,
                           random_state=seed).fit(codes.detach().double().cpu().numpy())


def baselines(codes: Tensor, labels: Tensor, config: VaDEConfig, seed: int) -> tuple[GaussianMixture, dict]:
    """The GMM of :func:`fit_mixture` and the scores of two baselines on the pretrained codes: k-means
    (``n_init`` = ``config.gmm_inits``) and that GMM's own assignments."""
    gmm = fit_mixture(codes, config, seed)
    check_labels(labels, codes.shape[0], "labels")
    array = codes.detach().double().cpu().numpy()
    kmeans = KMeans(config.num_clusters, n_init=config.gmm_inits, random_state=seed).fit_predict(array)
    scores = {"kmeans": clustering_scores(labels, torch.from_numpy(kmeans)),
              "gmm": clustering_scores(labels, torch.from_numpy(gmm.predict(array)))}
    return gmm, scores


def _trainer(model: torch.nn.Module, lr: float, x: Tensor, config: VaDEConfig, seed: int, folder: Path | None,
             progress: bool, schedules: dict | None = None) -> Trainer:
    every = config.eval_every * (x.shape[0] // config.batch_size) if folder is not None else 0
    trainer = Trainer(model, make_optimizers(model, OptimizerSpec("adam", lr, fused=True)), x, config.batch_size,
                      seed=seed, checkpoint_dir=folder, checkpoint_every=every, log_every=100, progress=progress,
                      schedules=schedules)
    trainer.resume()
    return trainer


def lr_schedule(config: VaDEConfig, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate factor at a step: ``lr_decay`` per ``lr_decay_epochs`` epochs."""
    check_positive_int(steps_per_epoch, "steps_per_epoch")
    period = config.lr_decay_epochs * steps_per_epoch
    return lambda step: config.lr_decay ** (step // period)


def _read_evaluations(folder: Path | None, epoch: int) -> list[dict]:
    path = None if folder is None else folder / EVALUATIONS_FILE
    if path is None or not path.exists():
        return []
    return [e for e in read_json(path)["evaluations"] if e["epoch"] <= epoch]


def train_run(config: VaDEConfig, data: ClusteringData, seed: int, checkpoint_dir: Path | None = None,
              progress: bool = True) -> VaDERun:
    """Pretrain, start the mixture, train VaDE and evaluate: the model and the run's record. With
    ``checkpoint_dir`` both phases checkpoint every ``eval_every`` epochs and an interrupted run resumes."""
    check_instance(config, VaDEConfig, "config")
    check_instance(data, ClusteringData, "data")
    check_batch(data.x, "data.x", shape=IMAGE_SHAPE)
    check_labels(data.y, data.x.shape[0], "data.y")
    check_non_negative_int(seed, "seed")
    folder = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    start = time.perf_counter()
    seed_everything(seed)
    model = vade_networks(IMAGE_SHAPE, config.latent_dim, config.num_clusters, config.hidden).to(data.x.device)
    pretrainer = _trainer(DeterministicAutoencoder(model.encoder, model.decoder), config.pretrain_lr, data.x, config,
                          seed, None if folder is None else folder / "pretrain", progress)
    pretrainer.fit(config.pretrain_epochs * pretrainer.steps_per_epoch)
    codes = encode_means(model.encoder, data.x)
    gmm, baseline_scores = baselines(codes, data.y.cpu(), config, seed)
    model.prior.set_mixture(*(torch.from_numpy(a) for a in (gmm.weights_, gmm.means_, gmm.covariances_)))
    vade_folder = None if folder is None else folder / "vade"
    steps_per_epoch = data.x.shape[0] // config.batch_size
    trainer = _trainer(model, config.lr, data.x, config, seed, vade_folder, progress,
                       {"lr": lr_schedule(config, steps_per_epoch)})
    epoch = trainer.step // trainer.steps_per_epoch
    evaluations = _read_evaluations(vade_folder, epoch)
    if not evaluations or evaluations[-1]["epoch"] != epoch:
        evaluations.append({"epoch": epoch, **evaluate(model, data, seed)})
    while epoch < config.epochs:
        epoch = min(epoch + config.eval_every, config.epochs)
        trainer.fit(epoch * trainer.steps_per_epoch)
        evaluations.append({"epoch": epoch, **evaluate(model, data, seed)})
        if vade_folder is not None:
            write_text_atomically(vade_folder / EVALUATIONS_FILE, json.dumps({"evaluations": evaluations}))
    record = {"seed": seed, "config": config.describe(), "pretrain_loss": pretrainer.history[-1]["loss"],
              "baselines": baseline_scores, "evaluations": evaluations, "final": evaluations[-1],
              "wall_time_s": time.perf_counter() - start}
    return VaDERun(model.eval(), record)


def summarize(records: list[dict]) -> dict[str, dict]:
    """Per method (VaDE, k-means, GMM): mean and std over runs of each score, the best run by accuracy (the papers'
    protocol) and, for VaDE, the run with the highest bound (label-free)."""
    if not isinstance(records, list) or not records:
        raise ValueError(f"records must be a non-empty list of run records, got {records!r:.80}")
    scores = ("accuracy", "purity", "nmi", "ari")
    table = {}
    for method, rows in (("VaDE", [r["final"] for r in records]),
                         ("GMM on codes", [r["baselines"]["gmm"] for r in records]),
                         ("k-means on codes", [r["baselines"]["kmeans"] for r in records])):
        values = {s: np.array([row[s] for row in rows]) for s in scores}
        entry = {s: [float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)] for s, v in values.items()}
        entry["best_accuracy"] = float(values["accuracy"].max())
        if method == "VaDE":
            picked = int(np.argmax([row["elbo"] for row in rows]))
            entry["label_free_accuracy"] = float(values["accuracy"][picked])
            entry["label_free_seed"] = records[picked]["seed"]
        table[method] = entry
    return table
