"""Fuzz cases of the light-curve chapter's anomaly pieces (see tests.fuzz.harness): DAGMM's mixture maths
(gi_core.maths.energy_gmm), the energy GMM model (gi_core.models.energy_gmm) on tiny light-curve networks, the
anomaly metrics (gi_core.metrics.anomaly) and the light-curve statistics of the isolation forest
(gi_core.metrics.light_curve_statistics), on a batch of 4 curves of 12 points."""

from __future__ import annotations

import numpy as np
import torch

from gi_core.metrics.anomaly import anomaly_auroc
from gi_core.models.energy_gmm import EnergyGMM
from gi_core.nets.light_curve_resnets import InducingPointDecoder, LightCurveEncoder
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import TRAINING, seeded, training

N, T, K, D = 4, 12, 3, 2
SEED = "0 is a seed"
ANY_D = "any code dimension D: the mixture takes the codes' width"
INF_VARIANCE = ("an infinite variance adds 1/inf = 0, the limit; the energy of the same covariances is NaN and reaches "
                "the trainer's guard")
UNREAD = "DAGMM is unsupervised: the batch's features and labels are taken, as the trainer passes them, and not read"


def codes() -> dict[str, torch.Tensor]:
    g = seeded()
    return {"z": torch.randn(8, D, generator=g), "gamma": torch.softmax(torch.randn(8, K, generator=g), 1)}


def mixture() -> dict[str, torch.Tensor]:
    return {"phi": torch.tensor([0.5, 0.3, 0.2]), "means": torch.tensor([[0.0, 0.0], [1.0, -1.0], [-1.0, 2.0]]),
            "covariances": torch.tensor([[[1.0, 0.2], [0.2, 0.5]], [[2.0, 0.0], [0.0, 1.0]], [[0.3, 0.1], [0.1, 0.4]]])}


def curves() -> dict[str, torch.Tensor]:
    """``N`` folded curves padded to ``T`` (the first 8 or more points observed), float32."""
    g = seeded()
    mask = torch.arange(T)[None] < torch.tensor([12, 10, 9, 8])[:, None]
    phase = torch.where(mask, torch.rand(N, T, generator=g), torch.zeros(N, T))
    value = torch.where(mask, torch.sin(6.28 * phase) + 0.1 * torch.randn(N, T, generator=g), torch.zeros(N, T))
    error = torch.where(mask, torch.full((N, T), 0.1), torch.ones(N, T))
    return {"phase": phase, "value": value, "error": error, "mask": mask}


def batch() -> dict[str, torch.Tensor]:
    return {**curves(), "features": torch.randn(N, 3, generator=seeded()), "labels": torch.arange(N) % 2}


def networks() -> dict:
    torch.manual_seed(0)
    return {"encoder": LightCurveEncoder(latent_dim=4, channels=2, references=16),
            "decoder": InducingPointDecoder(rep_dim=2, kernel_dim=2, channels=2, inducing=8)}


def model(fitted: bool = False) -> EnergyGMM:
    m = EnergyGMM(**networks(), num_components=K, hidden=4)
    if fitted:
        m.fit_mixture(**curves())
    return m


def scores() -> dict[str, np.ndarray]:
    return {"scores": np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.9]),
            "is_outlier": np.array([False, False, True, True, False, True])}


def statistics_inputs() -> dict[str, np.ndarray]:
    return {name: x.numpy() for name, x in curves().items()} | {"features": np.array([[0.0, 0.3, -0.2]] * N)}


MATHS = [
    Case("gi_core.maths.energy_gmm.mixture_statistics", lambda: {**codes(), "eps": 1e-6},
         allow={**training("z"), "gamma:nan": TRAINING, "z:size": ANY_D}),
    Case("gi_core.maths.energy_gmm.sample_energy", lambda: {"z": codes()["z"], **mixture()},
         allow=training("z", "means", "covariances") | {"phi:nan": TRAINING}),
    Case("gi_core.maths.energy_gmm.covariance_penalty", lambda: {"covariances": mixture()["covariances"]},
         allow={"covariances:nan": TRAINING, "covariances:inf": INF_VARIANCE}),
]

MODEL = [
    Case("gi_core.models.energy_gmm.EnergyGMM",
         lambda: {**networks(), "num_components": K, "hidden": 4, "lambda_energy": 0.1, "lambda_covariance": 0.005,
                  "dropout": 0.5, "eps": 1e-6}),
    Case("gi_core.models.energy_gmm.EnergyGMM.parameters_by_loss", dict, instance=model),
    Case("gi_core.models.energy_gmm.EnergyGMM.compress", curves, instance=model),
    Case("gi_core.models.energy_gmm.EnergyGMM.training_loss", batch, instance=model,
         allow={"features:*": UNREAD, "labels:*": UNREAD}),
    Case("gi_core.models.energy_gmm.EnergyGMM.fit_mixture", lambda: {**curves(), "batch_size": 3}, instance=model),
    Case("gi_core.models.energy_gmm.EnergyGMM.anomaly_score", lambda: {**curves(), "batch_size": 3},
         instance=lambda: model(fitted=True)),
    Case("gi_core.models.energy_gmm.energy_gmm_networks",
         lambda: {"channels": 2, "latent_dim": 4, "references": 16, "inducing": 8, "kernel_dim": 2, "kernel": "rbf",
                  "num_components": K, "hidden": 4, "lambda_energy": 0.1, "lambda_covariance": 0.005,
                  "dropout": 0.5, "eps": 1e-6}),
]

METRICS = [
    Case("gi_core.metrics.anomaly.anomaly_auroc", scores),
    Case("gi_core.metrics.anomaly.anomaly_auprc", scores),
    Case("gi_core.metrics.anomaly.roc_points", scores),
    Case("gi_core.metrics.anomaly.bootstrap_interval",
         lambda: {**scores(), "metric": anomaly_auroc, "resamples": 20, "level": 0.9, "seed": 1},
         allow={"seed:zero": SEED}),
    Case("gi_core.metrics.light_curve_statistics.light_curve_statistics", statistics_inputs),
]

CASES: list[Case] = [*MATHS, *MODEL, *METRICS]
EXEMPT: dict[str, str] = {
    "gi_core.maths.energy_gmm.SingularCovarianceError": "an exception class: sample_energy raises it with the index of "
                                                        "the collapsed component",
}
