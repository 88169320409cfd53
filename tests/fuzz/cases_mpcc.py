"""Fuzz cases of MPCC (Astorga 2021, §7.2, Ch. 8) across the floors (see tests.fuzz.harness): its objective
(gi_core.maths.mpcc_objective), networks (gi_core.nets.conditional_resnets), model (gi_core.models.mpcc) and
experiment (gi_core.experiments.clustering_mpcc), on networks of one or four channels and 16×16 images."""

from __future__ import annotations

import torch

from gi_core.experiments import clustering_mpcc as cm
from gi_core.models.mpcc import MPCC, build_mpcc
from gi_core.nets.conditional_resnets import ClassConditionalGenerator, SharedDiscriminatorEncoder
from tests.fuzz.harness import Case, scratch
from tests.fuzz.tiny_nets import IMAGE, J, codes, images, seeded, training

CPU = torch.device("cpu")
K = 3
SEED = "0 is a seed"
ARGPARSE = "a command line: argparse validates it (a bad --dataset is its usage error, exit status 2)"
TINY = cm.MPCCConfig(iterations=2, batch_size=4, image_size=16, channels=1, latent_dim=J, num_clusters=K,
                     d_steps=1, e_steps=1, eval_every=1)


def labels(n: int = 2) -> torch.Tensor:
    return torch.tensor([0, 2, 1, 1, 0, 2][:n])


def mixture() -> dict[str, torch.Tensor]:
    return {"means": torch.randn(K, J), "log_vars": torch.zeros(K, J), "log_weights": torch.log(torch.full((K,), 1 / K))}


def model() -> MPCC:
    torch.manual_seed(0)
    return build_mpcc(IMAGE, K, J, 1, d_steps=1, e_steps=1)


def generator(injection: str = "class_embeddings") -> ClassConditionalGenerator:
    return ClassConditionalGenerator(K, J, IMAGE, 1, injection)


def critic() -> SharedDiscriminatorEncoder:
    return SharedDiscriminatorEncoder(IMAGE, J, 1)


def data(n: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, *IMAGE) * 2 - 1, torch.arange(n) % K


def config_fields() -> dict:
    return {**TINY.describe(), "adam_betas": (0.0, 0.999), "eval_size": 8}


MATHS = "gi_core.maths.mpcc_objective."
NETS = "gi_core.nets.conditional_resnets."
MODEL = "gi_core.models.mpcc."
EXPERIMENT = "gi_core.experiments.clustering_mpcc."
CASES: list[Case] = [
    Case(MATHS + "latent_cycle_nll", lambda: {"z": codes(), "mean": codes(), "log_var": codes(), "data_dim": 16},
         allow=training("z", "mean", "log_var")),
    Case(MATHS + "mixture_log_responsibilities", lambda: {"z": codes(3), **mixture()},
         allow=training("z", "means", "log_vars", "log_weights")),
    Case(MATHS + "sampled_label_cross_entropy",
         lambda: {"labels": labels(), "log_responsibilities": torch.log_softmax(torch.randn(2, K), -1)},
         allow=training("log_responsibilities")),
    Case(MATHS + "prior_negative_entropy", lambda: {"log_weights": mixture()["log_weights"], "log_vars": torch.zeros(K, J),
                                                    "component_scale": 0.5},
         allow=training("log_vars") | {"log_vars:size": "any latent width J"}),
    # networks
    Case(NETS + "ClassConditionalGenerator", lambda: {"num_classes": K, "latent_dim": J, "output_shape": IMAGE,
                                                      "channels": 1, "injection": "latent_and_embedding"}),
    *(Case(NETS + f"ClassConditionalGenerator.{method}", lambda: {"z": codes(), "y": labels()},
           instance=lambda: generator("latent_and_embedding"), allow=training("z"))
      for method in ("condition", "forward")),
    Case(NETS + "SharedDiscriminatorEncoder", lambda: {"input_shape": IMAGE, "latent_dim": J, "channels": 1}),
    *(Case(NETS + f"SharedDiscriminatorEncoder.{method}", dict, instance=critic)
      for method in ("discriminator_modules", "encoder_modules")),
    *(Case(NETS + f"SharedDiscriminatorEncoder.{method}", lambda: {"x": images(IMAGE)}, instance=critic,
           allow=training("x")) for method in ("discriminate", "encode")),
    # the model
    Case(MODEL + "MPCC", lambda: {"generator": generator(), "critic": critic(), "prior": model().prior, "lambda_p": 0.1,
                                  "d_steps": 2, "e_steps": 3}),
    Case(MODEL + "build_mpcc", lambda: {"image_shape": IMAGE, "num_clusters": K, "latent_dim": J, "channels": 1,
                                        "injection": "class_embeddings", "variance_floor": 0.5, "mean_scale": 1.0,
                                        "lambda_p": 0.01, "d_steps": 1, "e_steps": 2}),
    *(Case(MODEL + f"MPCC.{method}", dict, instance=model) for method in ("phase_schedule", "parameters_by_loss")),
    Case(MODEL + "MPCC.phase_name", lambda: {"phase": 1}, instance=model,
         allow={"phase:zero": "phase 0 is the first discriminator update"}),
    Case(MODEL + "MPCC.set_coefficient", lambda: {"name": "phase", "value": 1.0}, instance=model),
    Case(MODEL + "MPCC.log_responsibilities", lambda: {"z": codes()}, instance=model, allow=training("z")),
    Case(MODEL + "MPCC.prior_objective", lambda: {"labels": labels(), "z": codes()}, instance=model, allow=training("z")),
    *(Case(MODEL + f"MPCC.{method}", lambda: {"x": images(IMAGE)}, instance=model, allow=training("x"))
      for method in ("training_loss", "encode")),
    *(Case(MODEL + f"MPCC.{method}", lambda: {"x": images(IMAGE, 3), "batch_size": 2}, instance=model)
      for method in ("cluster_probabilities", "assign_clusters")),
    Case(MODEL + "MPCC.sample", lambda: {"n": 2, "cluster": 1, "generator": seeded()}, instance=model,
         allow={"cluster:zero": "cluster 0 is a component"}),
    # the experiment
    Case(EXPERIMENT + "MPCCConfig", config_fields),
    Case(EXPERIMENT + "MPCCConfig.thesis", lambda: {"dataset": "fashion_mnist"}),
    Case(EXPERIMENT + "MPCCConfig.describe", dict, instance=lambda: TINY),
    Case(EXPERIMENT + "load_clustering_images", lambda: {"dataset": "mnist", "device": CPU, "profile": "quick",
                                                         "image_size": 16}),
    Case(EXPERIMENT + "build_run", lambda: {"config": TINY, "device": CPU}),
    Case(EXPERIMENT + "evaluate_clustering",
         lambda: {"model": cm.build_run(TINY)[0], "x": data()[0], "y": data()[1], "batch_size": 5}),
    Case(EXPERIMENT + "evaluation_points", lambda: {"config": TINY}),
    Case(EXPERIMENT + "stored_evaluations", lambda: {"folder": scratch("mpcc_evaluations"), "upto": 3},
         allow={"upto:zero": "iteration 0 is the first evaluation"}),
    Case(EXPERIMENT + "train_run",
         lambda: {"config": TINY, "x": data()[0], "y": data()[1], "seed": 1, "checkpoint_dir": scratch(),
                  "progress": False}, allow={"seed:zero": SEED}),
    Case(EXPERIMENT + "run_name", lambda: {"config": TINY, "seed": 1}, allow={"seed:zero": SEED}),
    Case(EXPERIMENT + "run_seeds", lambda: {"config": TINY, "seeds": [1], "x": data()[0], "y": data()[1],
                                            "run_dir": None, "progress": False}),
    Case(EXPERIMENT + "summary", lambda: {"records": [{"final": {"accuracy": 0.5, "purity": 0.6, "nmi": 0.1, "ari": 0.0}}]}),
]
EXEMPT: dict[str, str] = {EXPERIMENT + "main": ARGPARSE}
