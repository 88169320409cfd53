"""Fuzz cases of gi_core.metrics (see tests.fuzz.harness)."""

from __future__ import annotations

from functools import cache

import numpy as np
import torch

from gi_core.data.domains import DomainData
from gi_core.models.cdlm import CDLM, build_cdlm
from gi_core.models.classifier import FeatureClassifier, feature_classifier
from gi_core.nets.encoders import MLPEncoder
from tests.fuzz.harness import Case
from tests.toy_domains import toy_data

M = "gi_core.metrics."
PROTOCOL = "a Protocol: no implementation to call"
SEED_ZERO = "0 is a seed like any other"
LABEL = "the label its messages give the input: any string, only read when raising"


@cache
def data() -> DomainData:
    """Toy digit domains, as small as the A-distance's split (12 rows a domain) and the probes allow."""
    return toy_data(n_source=24, n_target=16, n_test=16)


@cache
def cdlm() -> CDLM:
    """An untrained CDLM with a 4-d latent: a DomainClassifier with predict, embed and an encoder body."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_cdlm(latent_dim=4, channels=2)


@cache
def classifier() -> FeatureClassifier:
    """An untrained 2-class classifier of (1, 4, 4) images with 3 features."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return feature_classifier("mlp", (1, 4, 4), num_classes=2, hidden=(3,))


@cache
def encoder() -> MLPEncoder:
    """An untrained encoder of (1, 4, 4) images to a 2-d latent."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return MLPEncoder((1, 4, 4), 2, (3,))


def features(n: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3)) + shift


def labels(n: int, offset: int = 0) -> np.ndarray:
    return (np.arange(n) + offset) % 2


def images(n: int = 6) -> torch.Tensor:
    return torch.rand(n, 1, 4, 4, generator=torch.Generator().manual_seed(0))


def probs() -> torch.Tensor:
    return torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5], [1.0, 0.0, 0.0]], dtype=torch.float64)


def moments(shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor([shift, 1.0]), torch.tensor([[2.0, 0.5], [0.5, 1.0]])


def codes() -> dict[str, torch.Tensor]:
    return {"mean": torch.tensor([[0.0, 1.0], [1.0, -1.0], [0.5, 0.5]]), "log_var": torch.tensor([[0.0, -1.0], [0.5, 0.0], [-0.5, 0.2]])}


RING = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
SAMPLES = torch.tensor([[0.9, 0.1], [0.1, 1.1], [-1.0, 0.2], [0.3, -0.8], [0.0, 0.0]])

LABELS, CLUSTERS = torch.tensor([0, 0, 1, 1, 2, 2]), torch.tensor([1, 1, 0, 2, 2, 2])
CLUSTER_METRICS = ("contingency_table", "clustering_accuracy", "purity", "normalized_mutual_information",
                   "adjusted_rand_index")

CASES: list[Case] = [
    # ----------------------------------------------------------------------- clustering
    *(Case(M + f"clustering.{name}", lambda: {"labels": LABELS.clone(), "clusters": CLUSTERS.clone()},
           allow={"labels:size": "any number of classes", "clusters:size": "any number of clusters"})
      for name in CLUSTER_METRICS),
    Case(M + "clustering.mixture_health", lambda: {"responsibilities": torch.tensor([[0.7, 0.3], [0.2, 0.8]])},
         allow={"responsibilities:size": "any number of points and components"}),
    # ----------------------------------------------------------------------- domain
    Case(M + "domain.ADistance",
         lambda: {"value": 1.0, "raw": 1.0, "error": 0.25, "classifier": "linear_svm", "C": 1.0, "n_train": 24, "n_test": 16},
         allow={"raw:negative": "raw is the unclipped 2(1 - 2 error), negative when the held-out error exceeds one half"}),
    Case(M + "domain.a_distance",
         lambda: {"source_features": features(16), "target_features": features(16, 2.0, 1), "classifier": "logistic",
                  "test_fraction": 0.5, "C_grid": (0.1, 1.0), "max_per_domain": 14, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(M + "domain.joint_error",
         lambda: {"source_features": features(12), "source_labels": labels(12), "target_features": features(10, 0.5, 1),
                  "target_labels": labels(10, 1), "test_fraction": 0.5, "C": 1.0, "max_per_domain": 10, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(M + "domain.accuracy", lambda: {"predictions": torch.tensor([1, 2, 3, 4]), "labels": torch.tensor([1, 0, 3, 0])}),
    Case(M + "domain.predict_test_splits", lambda: {"model": cdlm(), "data": data()}),
    Case(M + "domain.evaluate_method", lambda: {"model": cdlm(), "data": data()}),
    Case(M + "domain.evaluation_features", lambda: {"model": cdlm(), "data": data()}),
    Case(M + "domain.feature_a_distance", lambda: {"model": cdlm(), "data": data(), "max_per_domain": 14, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(M + "domain.feature_joint_error", lambda: {"model": cdlm(), "data": data(), "max_per_domain": 12, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(M + "domain.tsne_coordinates", lambda: {"model": cdlm(), "data": data(), "n_per_domain": 6, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    # ----------------------------------------------------------------------- generation
    Case(M + "generation.classifier_accuracy",
         lambda: {"classifier": classifier(), "images": images(), "labels": torch.tensor([0, 1, 0, 1, 1, 0]), "batch_size": 4}),
    Case(M + "generation.classifier_outputs", lambda: {"classifier": classifier(), "images": images(), "batch_size": 4}),
    Case(M + "generation.split_inception_scores", lambda: {"probs": probs(), "splits": 2}),
    Case(M + "generation.inception_score", lambda: {"probs": probs(), "splits": 2}),
    Case(M + "generation.feature_statistics", lambda: {"features": torch.tensor([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0]])},
         allow={"features:size": "any feature width F is valid: the statistics are (F,) and (F, F)"}),
    Case(M + "generation.frechet_distance",
         lambda: dict(zip(("mean1", "cov1", "mean2", "cov2"), (*moments(), *moments(1.0)))) | {"eps": 1e-6}),
    # ----------------------------------------------------------------------- latent
    Case(M + "latent.log_mse", lambda: {"target": torch.tensor([[0.0, 1.0], [2.0, 3.0]]), "estimate": torch.tensor([[0.5, 1.0], [2.0, 2.0]])}),
    Case(M + "latent.conditional_entropy", lambda: {"log_var": codes()["log_var"]},
         allow={"log_var:size": "any latent width J is valid (the entropy sums over it)"}),
    Case(M + "latent.aggregate_posterior_log_prob", lambda: {"z": torch.tensor([[0.0, 0.0], [2.0, -1.0]]), **codes()}),
    # ----------------------------------------------------------------------- mode_coverage
    Case(M + "mode_coverage.mode_coverage", lambda: {"samples": SAMPLES.clone(), "means": RING.clone(), "radius": 0.25}),
    Case(M + "mode_coverage.same_mode_fraction",
         lambda: {"reconstructions": SAMPLES.clone(), "inputs": SAMPLES.flip(0), "means": RING.clone()}),
    # ----------------------------------------------------------------------- representation
    Case(M + "representation.linear_probe_accuracy",
         lambda: {"train_features": features(8), "train_labels": labels(8), "test_features": features(6, 0.5, 1),
                  "test_labels": labels(6, 1), "max_iter": 100}),
    Case(M + "representation.encode_means", lambda: {"encoder": encoder(), "x": images(), "batch_size": 4}),
    Case(M + "representation.inactive_fraction",
         lambda: {"activations": torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])},
         allow={"activations:rank": "(N, ...) takes any trailing shape: a leading axis of 1 is one row of N*U units",
                "activations:size": "any number of units is valid"}),
    # ----------------------------------------------------------------------- translation
    Case(M + "translation.translation_diagnosis", lambda: {"model": cdlm(), "data": data(), "probe_size": 12, "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(M + "translation.representation_health", lambda: {"model": cdlm(), "data": data(), "max_per_domain": 8}),
    # ----------------------------------------------------------------------- the checks the metrics added
    Case("gi_core.validation.check_semidefinite", lambda: {"cov": torch.tensor([[2.0, 0.5], [0.5, 1.0]]), "name": "cov"},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_label_array", lambda: {"y": labels(4), "name": "y"}, skip={"name": LABEL},
         allow={"y:size": "any number of labels: the caller matches them to its features' rows"}),
]
EXEMPT: dict[str, str] = {
    M + "domain.DomainClassifier": PROTOCOL,
    M + "domain.DomainClassifier.predict": PROTOCOL,
    M + "domain.DomainClassifier.embed": PROTOCOL,
}
