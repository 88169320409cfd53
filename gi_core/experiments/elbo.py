"""The ELBO chapter as an experiment (chapter 1): β-VAEs on binarized MNIST, their test bounds and linear probes.

Three VAEs (MLP 784–512–256, :math:`J=10`, Bernoulli decoder) are trained with the negative β-ELBO for
:math:`\\beta\\in\\{0.33, 1, 30\\}`, the sweep of Astorga's (2021) Table 6.4; each is scored on the test set (ELBO with
:math:`\\beta=1`, its two terms, a linear probe on the encoder means), and the :math:`\\beta=1` model also by
importance-weighted bounds. :data:`PLANS` holds the quick and the full profile's configuration; the full one writes
``results/elbo_full.json``::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.elbo
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch
from torch import Tensor

from gi_core.batching import batched_mean
from gi_core.data.images import DATASETS, ImageData, load_images
from gi_core.data.transforms import binarize
from gi_core.maths.gaussians import kl_diag_gaussian_std_normal
from gi_core.metrics.representation import encode_means, linear_probe_accuracy
from gi_core.models.vae import VAE
from gi_core.nets.encoders import encoder_decoder
from gi_core.results import provenance, read_reference, read_result, write_result
from gi_core.runs import check_outputs
from gi_core.runtime import current_profile, default_device, seed_everything
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from gi_core.validation import (check_batch, check_choice, check_instance, check_non_negative_int, check_positive_int,
                                check_probability, check_real, check_reals, check_sizes)

RESULT = "elbo_full"
IMAGE_SHAPE = (1, 28, 28)
"""The shape of an image the chapter's MLPs read."""


@dataclass(frozen=True)
class ElboConfig:
    """The β sweep: data, networks, optimisation and the importance-weighted evaluation (checked on construction)."""

    dataset: str = "mnist"
    binarize_threshold: float = 0.5
    hidden: tuple[int, ...] = (512, 256)
    latent_dim: int = 10
    lr: float = 1e-3
    batch_size: int = 128
    epochs: int = 50
    betas: tuple[float, ...] = (0.33, 1.0, 30.0)
    seed: int = 0
    iw_samples: tuple[int, ...] = (1, 5, 50, 500)
    iw_test_images: int = 2000

    def __post_init__(self) -> None:
        check_choice(self.dataset, tuple(DATASETS), "dataset")
        check_probability(self.binarize_threshold, "binarize_threshold")
        for name in ("hidden", "iw_samples"):
            check_sizes(getattr(self, name), name)
        for name in ("latent_dim", "batch_size", "epochs", "iw_test_images"):
            check_positive_int(getattr(self, name), name)
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_reals(self.betas, "betas", minimum=0.0, strict=True)
        check_non_negative_int(self.seed, "seed")

    def describe(self) -> dict:
        """A JSON-ready record of the configuration (the form stored in ``results/elbo_full.json``)."""
        return {"dataset": self.dataset, "binarize_threshold": self.binarize_threshold, "network": "mlp",
                "hidden": list(self.hidden), "latent_dim": self.latent_dim, "likelihood": "bernoulli",
                "optimizer": "adam (fused)", "lr": self.lr, "batch_size": self.batch_size, "epochs": self.epochs,
                "betas": list(self.betas), "seed": self.seed, "iw_samples": list(self.iw_samples),
                "iw_test_images": self.iw_test_images}


PLANS = {"quick": ElboConfig(epochs=15, iw_test_images=200), "full": ElboConfig()}
"""The chapter's configuration in each profile: 15 epochs on the shipped 6,000 images, or 50 on all 60,000."""


@dataclass(frozen=True)
class ElboData:
    """The training and test images, as loaded (with labels) and binarized on the device: ``x_train`` and ``x_test``
    are ``(N, 1, 28, 28)`` images, one per example of ``train`` and of ``test``."""

    train: ImageData
    test: ImageData
    x_train: Tensor
    x_test: Tensor

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            images, x = getattr(self, split), getattr(self, f"x_{split}")
            check_instance(images, ImageData, split)
            check_batch(x, f"x_{split}", shape=IMAGE_SHAPE)
            if x.shape[0] != len(images):
                raise ValueError(f"x_{split} must hold one image per example of {split} ({len(images)}), got {x.shape[0]}")


class TrainedVAE(NamedTuple):
    """A trained model with its logged training terms."""

    model: VAE
    history: list[dict[str, float]]


def load_data(config: ElboConfig, device: torch.device, profile: str | None = None) -> ElboData:
    """Training and test images of ``config.dataset``, binarized at ``config.binarize_threshold``, on ``device``."""
    train, test = (load_images(config.dataset, split, profile=profile) for split in ("train", "test"))
    return ElboData(train, test, *(binarize(d.x, config.binarize_threshold).to(device) for d in (train, test)))


def train_vaes(config: ElboConfig, x_train: Tensor, device: torch.device, progress: bool = True) -> dict[float, TrainedVAE]:
    """One β-VAE per ``config.betas``, each seeded with ``config.seed`` and trained for ``config.epochs`` epochs
    (Adam, fused), in the order of ``config.betas``."""
    check_instance(config, ElboConfig, "config")
    check_batch(x_train, "x_train", shape=IMAGE_SHAPE)
    if x_train.dtype != torch.float32:
        raise TypeError(f"x_train must be float32, the dtype of the networks, got {x_train.dtype}")
    runs = {}
    for beta in config.betas:
        seed_everything(config.seed)
        encoder, decoder = encoder_decoder("mlp", IMAGE_SHAPE, config.latent_dim, hidden=config.hidden)
        vae = VAE(encoder, decoder, likelihood="bernoulli", beta=beta)
        trainer = Trainer(vae, make_optimizers(vae, OptimizerSpec("adam", config.lr, fused=True)), x_train,
                          config.batch_size, seed=config.seed, device=device, log_every=20, progress=progress)
        runs[beta] = TrainedVAE(vae, trainer.fit(config.epochs * trainer.steps_per_epoch))
    return runs


def mean_kl(model: VAE, x: Tensor) -> Tensor:
    """Batch mean of the closed-form :math:`\\mathrm{KL}(q(z|x)\\|\\mathcal N(0,I))` (Astorga 2021, Eq. 2.5)."""
    check_instance(model, VAE, "model")
    check_batch(x, "x", shape=IMAGE_SHAPE, like=model)
    return kl_diag_gaussian_std_normal(*model.encode(x)).mean()


def evaluate(runs: dict[float, TrainedVAE], data: ElboData) -> dict[str, dict[str, float]]:
    """Per β (keys ``"0.33"``, ``"1.0"``, ...): the test ELBO (β = 1), its KL and reconstruction terms, and the
    linear-probe accuracy on the encoder means; the ELBO's noise is seeded (1) for each model."""
    check_instance(data, ElboData, "data")
    if not isinstance(runs, dict) or not runs or not all(isinstance(run, TrainedVAE) for run in runs.values()):
        raise TypeError(f"runs must be a non-empty dict of TrainedVAE by beta, got {runs!r:.80}")
    metrics = {}
    for beta, run in runs.items():
        model = run.model.eval()
        torch.manual_seed(1)
        elbo_test = batched_mean(model.elbo, data.x_test)
        kl_test = batched_mean(lambda x: mean_kl(model, x), data.x_test)
        probe = linear_probe_accuracy(encode_means(model.encoder, data.x_train), data.train.y,
                                      encode_means(model.encoder, data.x_test), data.test.y)
        metrics[str(beta)] = {"test_elbo": elbo_test, "test_kl": kl_test, "test_reconstruction": elbo_test + kl_test,
                              "probe_accuracy": probe}
    return metrics


def importance_weighted_bounds(model: VAE, x: Tensor, samples: tuple[int, ...]) -> dict[int, float]:
    """:math:`\\mathcal L_K` on ``x`` for each ``K`` of ``samples`` (batches of about 20,000 draws, noise seeded with 2)."""
    check_instance(model, VAE, "model")
    check_batch(x, "x", shape=IMAGE_SHAPE, like=model)
    check_sizes(samples, "samples")
    torch.manual_seed(2)
    return {k: batched_mean(lambda batch: model.importance_weighted_bound(batch, k), x, batch_size=max(1, 20_000 // k))
            for k in samples}


def run(config: ElboConfig, data: ElboData, device: torch.device, progress: bool = True) -> tuple[dict[float, TrainedVAE], dict, float]:
    """Train the sweep and score it: ``(runs, metrics, training wall time in s)``; the metrics of β = 1 include its
    importance-weighted bounds (``"iw_bounds"``, keyed by K as a string)."""
    check_instance(config, ElboConfig, "config")
    check_instance(data, ElboData, "data")
    if 1.0 not in config.betas:
        raise ValueError(f"config.betas must include 1.0 (its model's importance-weighted bounds), got {config.betas}")
    start = time.perf_counter()
    runs = train_vaes(config, data.x_train, device, progress)
    wall_time = time.perf_counter() - start
    metrics = evaluate(runs, data)
    bounds = importance_weighted_bounds(runs[1.0].model, data.x_test[: config.iw_test_images], config.iw_samples)
    metrics["1.0"]["iw_bounds"] = {str(k): v for k, v in bounds.items()}
    return runs, metrics, wall_time


def write(config: ElboConfig, metrics: dict, device: torch.device, wall_time: float, results_dir: Path | None = None) -> Path:
    """``results/elbo_full.json``: the metrics with their provenance."""
    _, _, results_dir, device = check_outputs(None, RESULT, results_dir, device)
    check_instance(config, ElboConfig, "config")
    check_real(wall_time, "wall_time", minimum=0.0)
    return write_result(RESULT, metrics, provenance(config.describe(), [config.seed], device, wall_time), results_dir)


def comparison_table(stored: dict) -> pd.DataFrame:
    """The stored full run beside the VAE rows of Astorga's (2021) Table 6.4 (its KL and probe accuracy)."""
    thesis = read_reference("seed002_table_6_4")["table"]
    rows = {}
    for beta, m in stored["metrics"].items():
        row = thesis[f"VAE β={float(beta):g}"]
        rows[beta] = {"test ELBO": round(m["test_elbo"], 2), "KL": round(m["test_kl"], 2),
                      "probe %": round(100 * m["probe_accuracy"], 2), "thesis KL": row["kl_vae"][0],
                      "thesis probe %": row["probe_accuracy"][0]}
    table = pd.DataFrame(rows).T
    table.index.name = "β"
    return table


def stored() -> dict | None:
    """The stored full-profile result, or ``None``."""
    return read_result(RESULT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=PLANS["full"].epochs)
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of the result file (default: the repository's results/)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the sweep needs the complete MNIST training set")
    config, device = replace(PLANS["full"], epochs=args.epochs), default_device()
    _, metrics, wall_time = run(config, load_data(config, device), device)
    print(f"wrote {write(config, metrics, device, wall_time, args.results_dir)}")


if __name__ == "__main__":
    main()
