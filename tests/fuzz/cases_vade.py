"""Fuzz cases of VaDE (Jiang et al. 2017; Astorga 2021, §7.1, Ch. 5 of the book) across the floors (see
tests.fuzz.harness): its bound (gi_core.maths.vade_bound), the inverse soft clamp and the prior's set_mixture, the
models (gi_core.models.vade, gi_core.models.deterministic_autoencoder) and the experiment (gi_core.experiments.clustering,
gi_core.experiments.clustering_vade), on 4×4 images for the models and 30 random 28×28 images for the runs."""

from __future__ import annotations

import torch

from gi_core.experiments import clustering as cl
from gi_core.experiments import clustering_vade as cv
from gi_core.experiments.clustering_mpcc import MPCCConfig
from gi_core.models.deterministic_autoencoder import DeterministicAutoencoder
from gi_core.models.vade import VaDE, vade_networks
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.nets.priors import GaussianMixturePrior
from tests.fuzz.harness import Case, scratch
from tests.fuzz.tiny_nets import BROADCAST, J, SHAPE, images, seeded, training

CPU = torch.device("cpu")
K = 3
SEED = "0 is a seed"
ANY_SHAPE = "any shape: the function is elementwise or averages over every entry"
ARGPARSE = "a command line: argparse validates it (a bad --plan is its usage error, exit status 2)"
OUTPUT = "a NamedTuple that gi_core's own functions return (results, not an input)"
FREE = "free text: any string is a valid stem or description (check_file_stem checks a stem when it is written)"


def mixture() -> dict[str, torch.Tensor]:
    return {"log_weights": torch.log(torch.tensor([0.5, 0.3, 0.2])),
            "means": torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.0, -1.0]]), "log_vars": torch.zeros(K, J)}


def bound_terms() -> dict[str, torch.Tensor]:
    return {"log_likelihood": torch.tensor([-3.0, -2.0]), "mean": torch.tensor([[0.1, -0.2], [0.3, 0.4]]),
            "log_var": torch.tensor([[0.0, -0.5], [0.2, 0.1]]),
            "log_gamma": torch.log(torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])), **mixture()}


def mixture_arguments() -> dict[str, torch.Tensor]:
    return {"weights": torch.tensor([2.0, 1.0, 1.0]), "means": torch.randn(K, J, generator=seeded()),
            "variances": torch.tensor([[0.5, 1.0], [2.0, 0.3], [1.0, 1.0]])}


def mlp_pair() -> dict:
    return {"encoder": MLPEncoder(SHAPE, J, (8,)), "decoder": MLPDecoder(J, SHAPE, (8,))}


def vade() -> VaDE:
    torch.manual_seed(0)
    return vade_networks(SHAPE, J, K, hidden=(8,))


def autoencoder() -> DeterministicAutoencoder:
    torch.manual_seed(0)
    return DeterministicAutoencoder(**mlp_pair())


MATHS_MODELS = [
    Case("gi_core.maths.vade_bound.mixture_responsibilities",
         lambda: {"z": torch.tensor([[0.1, -0.2], [0.3, 0.4]]), **mixture()},
         allow={**training("z"), "z:rank": BROADCAST}),
    Case("gi_core.maths.vade_bound.vade_bound_terms", bound_terms,
         allow=training("log_likelihood", "mean", "log_var", "log_gamma")),
    Case("gi_core.maths.gaussians.inverse_soft_clamp_log_var",
         lambda: {"log_var": torch.tensor([-0.5, 0.0, 2.0]), "low": -10.0, "high": 5.0},
         allow={"log_var:rank": ANY_SHAPE, "log_var:size": ANY_SHAPE,
                "low:negative": "low must be negative: -1 is a valid lower bound"}),
    Case("gi_core.nets.priors.GaussianMixturePrior.set_mixture", mixture_arguments,
         instance=lambda: GaussianMixturePrior(K, J, generator=seeded(), variance_floor=0.5)),
    Case("gi_core.models.vade.VaDE", lambda: {**mlp_pair(), "prior": GaussianMixturePrior(K, J)}),
    Case("gi_core.models.vade.vade_networks", lambda: {"input_shape": SHAPE, "latent_dim": J, "num_clusters": K,
                                                      "hidden": (8,)}),
    Case("gi_core.models.vade.VaDE.parameters_by_loss", dict, instance=vade),
    Case("gi_core.models.vade.VaDE.terms", lambda: {"x": images(), "generator": seeded()}, instance=vade),
    *(Case(f"gi_core.models.vade.VaDE.{method}", lambda: {"x": images()}, instance=vade)
      for method in ("training_loss", "elbo", "cluster_probabilities")),
    Case("gi_core.models.vade.VaDE.sample", lambda: {"n": 3, "cluster": 1, "generator": seeded()}, instance=vade,
         allow={"cluster:zero": "cluster 0 is the first component"}),
    Case("gi_core.models.deterministic_autoencoder.DeterministicAutoencoder", mlp_pair),
    Case("gi_core.models.deterministic_autoencoder.DeterministicAutoencoder.parameters_by_loss", dict,
         instance=autoencoder),
    Case("gi_core.models.deterministic_autoencoder.DeterministicAutoencoder.training_loss", lambda: {"x": images()},
         instance=autoencoder),
]

# --- the experiment ---------------------------------------------------------------------------------------


def config() -> dict:
    return {"dataset": "mnist", "hidden": (8,), "latent_dim": J, "num_clusters": K, "batch_size": 10,
            "pretrain_epochs": 1, "pretrain_lr": 1e-3, "epochs": 1, "lr": 2e-3, "lr_decay": 0.9, "lr_decay_epochs": 2,
            "gmm_inits": 1, "eval_every": 1}


TINY = cv.VaDEConfig(**config())
PLAN = cl.Plan(TINY, (1,), "clustering_fuzz", "a tiny plan")
MPCC_TINY = MPCCConfig(iterations=1, batch_size=4, image_size=16, channels=1, latent_dim=2, num_clusters=K, d_steps=1,
                       e_steps=1, eval_every=1)
MPCC_PLAN = cl.Plan(MPCC_TINY, (1,), "clustering_mpcc_fuzz", "a tiny plan")


def mpcc_images(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, 1, 16, 16) * 2 - 1, torch.arange(n) % K


def data() -> cv.ClusteringData:
    g = torch.Generator().manual_seed(0)
    return cv.ClusteringData(torch.rand(30, *cv.IMAGE_SHAPE, generator=g), torch.arange(30) % K, "toy")


def separated_codes() -> torch.Tensor:
    labels = torch.arange(12) % K
    return torch.tensor([[-5.0, 0.0], [5.0, 0.0], [0.0, 5.0]])[labels] + 0.1 * torch.randn(12, J, generator=seeded())


def big_vade() -> VaDE:
    torch.manual_seed(0)
    return vade_networks(cv.IMAGE_SHAPE, J, K, hidden=(8,))


def records() -> list[dict]:
    scores = {"accuracy": 0.8, "purity": 0.85, "nmi": 0.7, "ari": 0.6}
    return [{"seed": s, "final": {**scores, "elbo": -100.0 - s}, "baselines": {"gmm": scores, "kmeans": scores}}
            for s in range(2)]


def stored_table() -> dict:
    return {"metrics": {"summary": cv.summarize(records())}}


EXPERIMENT = [
    Case("gi_core.experiments.clustering_vade.VaDEConfig", config),
    Case("gi_core.experiments.clustering_vade.VaDEConfig.describe", dict, instance=lambda: TINY),
    Case("gi_core.experiments.clustering_vade.load_clustering_data",
         lambda: {"dataset": "mnist", "device": CPU, "profile": "quick"}),
    Case("gi_core.experiments.clustering_vade.clustering_scores",
         lambda: {"labels": torch.tensor([0, 0, 1, 1, 2]), "clusters": torch.tensor([1, 1, 0, 2, 2])}),
    Case("gi_core.experiments.clustering_vade.evaluate", lambda: {"model": big_vade(), "data": data(), "seed": 1},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering_vade.fit_mixture",
         lambda: {"codes": separated_codes(), "config": TINY, "seed": 1}, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering_vade.baselines",
         lambda: {"codes": separated_codes(), "labels": torch.arange(12) % K, "config": TINY, "seed": 1},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering_vade.lr_schedule", lambda: {"config": TINY, "steps_per_epoch": 3}),
    Case("gi_core.experiments.clustering_vade.train_run",
         lambda: {"config": TINY, "data": data(), "seed": 1, "checkpoint_dir": scratch(), "progress": False},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering_vade.summarize", lambda: {"records": records()}),
    Case("gi_core.experiments.clustering.Plan",
         lambda: {"config": TINY, "seeds": (0, 1), "result": "clustering_x", "description": "two seeds"},
         allow={"result:unknown": FREE, "description:unknown": FREE}),
    Case("gi_core.experiments.clustering.run_plan",
         lambda: {"plan": PLAN, "data": data(), "run_dir": scratch("vade_runs"), "progress": False}),
    Case("gi_core.experiments.clustering.reproduce",
         lambda: {"plan": PLAN, "run_dir": scratch("never_written"), "results_dir": scratch("never_written_results"),
                  "device": CPU, "progress": False}, run_valid=False),
    Case("gi_core.experiments.clustering.comparison_table", lambda: {"stored": stored_table(), "dataset": "mnist"}),
    Case("gi_core.experiments.clustering.stored", lambda: {"plan": "vade_mnist_cpu"}),
    Case("gi_core.experiments.clustering.run_name", lambda: {"config": TINY, "seed": 1}, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering.trained_model",
         lambda: {"plan": PLAN, "data": data(), "seed": 1, "run_dir": scratch("vade_model_runs"), "progress": False},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.clustering.trained_mpcc",
         lambda: {"plan": MPCC_PLAN, "x": mpcc_images()[0], "y": mpcc_images()[1], "seed": 1,
                  "run_dir": scratch("mpcc_model_runs"), "progress": False}, allow={"seed:zero": SEED}),
]


CASES: list[Case] = [*MATHS_MODELS, *EXPERIMENT]
EXEMPT: dict[str, str] = {
    "gi_core.experiments.clustering.main": ARGPARSE,
    "gi_core.experiments.clustering_vade.ClusteringData": "a NamedTuple record (images, labels, source) that "
                                                          "load_clustering_data returns; train_run checks its fields",
    "gi_core.experiments.clustering_vade.VaDERun": OUTPUT,
    "gi_core.experiments.clustering_mpcc.MPCCRun": OUTPUT,
}
