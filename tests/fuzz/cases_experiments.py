"""Fuzz cases of gi_core.experiments (see tests.fuzz.harness).

The experiments train models, so every case runs on tiny configurations and toy data: a few steps of networks a few
units wide. A reproduction (data loading, every run of a plan, t-SNE, the result file) is not run
(``run_valid=False``); its bad inputs must be refused before anything is loaded or trained, and its free result
stem is not mutated (every string is a valid stem, and a valid one would start the whole reproduction; the type
of a result stem is checked by ``gi_core.runs.check_outputs``, whose case mutates it).
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import cache
from pathlib import Path

import torch

from gi_core.data.images import ImageData
from gi_core.experiments import domain_adaptation as da
from gi_core.experiments import domain_adaptation_diagnostics as dd
from gi_core.experiments import elbo, joint_kl, zoo
from gi_core.models.vae import VAE
from gi_core.models.zoo import ZooEntry
from gi_core.nets.encoders import encoder_decoder
from gi_core.results import read_reference
from tests.fuzz.harness import Case, scratch
from tests.toy_domains import toy_data

CPU = torch.device("cpu")
SEED = "0 is a seed"
STEM = "a free result stem: its type is checked up front (check_outputs' case); a valid one starts the reproduction"
ARGPARSE = "a command line: argparse validates it (a bad --task/--plan/--diagnosis is its usage error, exit status 2)"
OUTPUT = "a NamedTuple that gi_core's own functions return (results, not an input)"


# --- domain adaptation ---------------------------------------------------------------------------

TINY = da.DAConfig(steps=4, batch_size=8, checkpoint_every=2)
TINY_CDLM = da.DAConfig(method="cdlm", steps=3, batch_size=8, cdlm={"latent_dim": 4, "channels": 2})


def da_config() -> dict:
    return {"task": "mnist_usps", "method": "dann", "steps": 4, "batch_size": 8, "lr": 0.01, "momentum": 0.9,
            "lambda_max": 1.0, "lr_generative": 1e-3, "cdlm": {}, "checkpoint_every": 2, "amp": False, "compile": False}


@cache
def stored_runs() -> Path:
    """A run directory holding the finished run of :data:`TINY` with seed 1 (record and checkpoints)."""
    folder = scratch("da_runs")
    da.run_methods([TINY], [1], toy_data(), folder, progress=False, a_distance_seed=None)
    return folder


def trained(**options: object) -> dict:
    return {"config": TINY, "data": toy_data(), "seed": 1, "progress": False, **options}


def reproduction(**options: object) -> dict:
    return {"plan": [(TINY, [1])], "run_dir": scratch("never_written"), "result_name": "unused", "device": CPU,
            "results_dir": scratch("never_written_results"), **options}


DA = [
    Case("gi_core.experiments.domain_adaptation.DAConfig", da_config,
         allow={"checkpoint_every:zero": "0: no checkpoints (a run without a run directory)"}),
    Case("gi_core.experiments.domain_adaptation.accuracy_table", lambda: {"task": "mnist_usps"}),
    Case("gi_core.experiments.domain_adaptation.build_method", lambda: {"config": TINY, "data": toy_data()}),
    Case("gi_core.experiments.domain_adaptation.load_stored_model",
         lambda: {"config": TINY, "seed": 1, "data": toy_data(), "run_dir": stored_runs()}),
    Case("gi_core.experiments.domain_adaptation.method_trainer",
         lambda: trained(checkpoint_dir=scratch("unused_checkpoints"), log_every=1), allow={"seed:zero": SEED}),
    Case("gi_core.experiments.domain_adaptation.train_method", lambda: trained(checkpoint_dir=None),
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.domain_adaptation.run_name", lambda: {"config": TINY, "seed": 1}, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.domain_adaptation.run_methods",
         lambda: {"configs": [TINY], "seeds": [1], "data": toy_data(), "run_dir": stored_runs(), "progress": False,
                  "a_distance_seed": 5},
         allow={"a_distance_seed:zero": "seed 0 is not run here: no run records the A-distance"}),
    Case("gi_core.experiments.domain_adaptation.single_task", lambda: {"plan": [(TINY, [0, 1])]}),
    Case("gi_core.experiments.domain_adaptation.plan_provenance",
         lambda: {"plan": [(TINY, [0])], "data_sources": {"source": "toy"}, "device": CPU, "start": time.perf_counter()}),
    Case("gi_core.experiments.domain_adaptation.reproduce", reproduction, run_valid=False, skip={"result_name": STEM}),
    Case("gi_core.experiments.domain_adaptation.stored_models",
         lambda: {"plan": [(TINY, [1])], "data": toy_data(), "run_dir": stored_runs()}),
    Case("gi_core.experiments.domain_adaptation.stored_result", lambda: {"task": "mnist_usps"}),
]

# --- the diagnoses of the appendix ----------------------------------------------------------------

DD = [
    Case("gi_core.experiments.domain_adaptation_diagnostics.evaluate_stored_runs",
         lambda: {"plan": [(TINY, [1])], "data": toy_data(), "run_dir": stored_runs(),
                  "test_sets": {"target": (toy_data().target_test_x, toy_data().target_test_y)}}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.release_check", reproduction, run_valid=False,
         skip={"result_name": STEM}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reverse_validate_runs",
         lambda: {"plan": [(TINY, [1])], "data": toy_data(), "run_dir": stored_runs(), "progress": False}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reverse_validation", lambda: reproduction(progress=False),
         run_valid=False, skip={"result_name": STEM}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.highest",
         lambda: {"summary": {"a": {"m": [0.7, 0.1, 3]}, "b": {"m": [0.9, 0.0, 3]}}, "labels": ["a", "b"], "metric": "m"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.bound_terms_of_runs", reproduction, run_valid=False,
         skip={"result_name": STEM}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.early_training_trace",
         lambda: {"config": TINY_CDLM, "data": toy_data(), "seed": 1, "stops": (1, 2), "max_per_domain": 10},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.early_training_traces",
         lambda: {"configs": [TINY_CDLM], "seed": 1, "stops": (1,), "result_name": "traces", "device": CPU,
                  "results_dir": scratch("traces_results")},
         allow={"seed:zero": SEED, "result_name:unknown": "any plain file stem names the result file"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.translation_diagnoses",
         lambda: reproduction(plan=[(TINY_CDLM, [1])]), run_valid=False, skip={"result_name": STEM}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reversal_plan", lambda: {}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.cdlm_plan", lambda: {"task": "mnist_usps_framed"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.trace_configs", lambda: {"task": "mnist_mnistm"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.trace_name",
         lambda: {"label": dd.trace_configs("mnist_mnistm")[1].label}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reproduce_all",
         lambda: {"run_root": scratch("never_read"), "results_dir": scratch("never_written_results"),
                  "diagnoses": ["traces"]}, run_valid=False),
    Case("gi_core.experiments.domain_adaptation_diagnostics.stored_diagnosis",
         lambda: {"name": "mnist_usps_framed_bound_terms"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.release_table", lambda: {"task": "mnist_usps_framed"}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reversal_table", lambda: {}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.reversal_summary", lambda: {}),
    Case("gi_core.experiments.domain_adaptation_diagnostics.diagnosis_table", lambda: {"task": "mnist_mnistm"}),
]

# --- chapter 1: the ELBO --------------------------------------------------------------------------


def elbo_config() -> dict:
    return {"dataset": "mnist", "binarize_threshold": 0.5, "hidden": (8,), "latent_dim": 2, "lr": 1e-3, "batch_size": 16,
            "epochs": 1, "betas": (1.0, 30.0), "seed": 3, "iw_samples": (1, 5), "iw_test_images": 16}


def images(n: int = 32) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(n)) > 0.7).float()


def elbo_data() -> dict:
    x = images()
    split = ImageData(x, torch.arange(32) % 2, "toy", "train", "toy")
    return {"train": split, "test": split, "x_train": x, "x_test": x.clone()}


def tiny_vae() -> VAE:
    torch.manual_seed(0)
    return VAE(*encoder_decoder("mlp", (1, 28, 28), 2, hidden=(8,)))


ELBO = elbo.ElboConfig(**elbo_config())
ELBO_CASES = [
    Case("gi_core.experiments.elbo.ElboConfig", elbo_config, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.elbo.ElboConfig.describe", lambda: {}, instance=lambda: ELBO),
    Case("gi_core.experiments.elbo.ElboData", elbo_data),
    Case("gi_core.experiments.elbo.comparison_table", lambda: {"stored": elbo.stored()}),
    Case("gi_core.experiments.elbo.evaluate",
         lambda: {"runs": {1.0: elbo.TrainedVAE(tiny_vae(), [])}, "data": elbo.ElboData(**elbo_data())}),
    Case("gi_core.experiments.elbo.importance_weighted_bounds",
         lambda: {"model": tiny_vae(), "x": images(8), "samples": (1, 3)}),
    Case("gi_core.experiments.elbo.load_data", lambda: {"config": ELBO, "device": CPU, "profile": "quick"}),
    Case("gi_core.experiments.elbo.mean_kl", lambda: {"model": tiny_vae(), "x": images(8)}),
    Case("gi_core.experiments.elbo.run",
         lambda: {"config": ELBO, "data": elbo.ElboData(**elbo_data()), "device": CPU, "progress": False}),
    Case("gi_core.experiments.elbo.stored", lambda: {}),
    Case("gi_core.experiments.elbo.train_vaes", lambda: {"config": ELBO, "x_train": images(), "device": CPU, "progress": False}),
    Case("gi_core.experiments.elbo.write",
         lambda: {"config": ELBO, "metrics": {"1.0": {"test_elbo": -90.5}}, "device": CPU, "wall_time": 1.5,
                  "results_dir": scratch("elbo_results")}),
]

# --- chapter 2: the joint KL ----------------------------------------------------------------------


def ring_config() -> dict:
    return {"modes": 4, "radius": 2.0, "std": 0.05, "n_train": 64, "latent_dim": 2, "hidden": (8,),
            "discriminator_hidden": (8,), "batch_size": 16, "lr": 1e-3, "adam_betas": (0.5, 0.999), "steps": 2,
            "vae_obs_std": 0.05, "seed": 3}


def avb_config() -> dict:
    return {"dataset": "mnist", "latent_dim": 2, "hidden": (8,), "discriminator_hidden": (8,), "batch_size": 16,
            "lr": 1e-3, "steps": 2, "seed": 3}


RING = joint_kl.RingConfig(**ring_config())
AVB = joint_kl.AVBConfig(**avb_config())


def ring_points() -> torch.Tensor:
    return joint_kl.ring_data(RING, CPU)[0]


def ring_model() -> torch.nn.Module:
    return joint_kl.ring_trainers(RING, ring_points(), CPU, progress=False)["VAE"].model


@cache
def avb_models() -> dict:
    trainers, _ = joint_kl.mnist_trainers(AVB, CPU, profile="quick", progress=False)
    return {name: trainer.model for name, trainer in trainers.items()}


HISTORY = [{"step": k, "kl_adversarial": 1.0 + k, "kl_exact": 2.0, "seconds": 0.1 * k} for k in range(1, 11)]
JOINT_KL = [
    Case("gi_core.experiments.joint_kl.RingConfig", ring_config, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.joint_kl.AVBConfig", avb_config, allow={"seed:zero": SEED}),
    Case("gi_core.experiments.joint_kl.JointKLPlan", lambda: {"ring": RING, "avb": AVB}),
    Case("gi_core.experiments.joint_kl.avb_scores",
         lambda: {"models": avb_models(), "x_test": images(8), "avb_history": HISTORY}),
    Case("gi_core.experiments.joint_kl.mnist_trainers",
         lambda: {"config": AVB, "device": CPU, "profile": "quick", "progress": False}),
    Case("gi_core.experiments.joint_kl.reproduce",
         lambda: {"plan": joint_kl.JointKLPlan(RING, AVB), "device": CPU, "progress": False,
                  "results_dir": scratch("never_written_results")}, run_valid=False),
    Case("gi_core.experiments.joint_kl.ring_data", lambda: {"config": RING, "device": CPU}),
    Case("gi_core.experiments.joint_kl.ring_scores",
         lambda: {"model": ring_model(), "x": ring_points(), "config": RING, "n": 50}),
    Case("gi_core.experiments.joint_kl.ring_trainers",
         lambda: {"config": RING, "x": ring_points(), "device": CPU, "progress": False}),
    Case("gi_core.experiments.joint_kl.stored", lambda: {}),
    Case("gi_core.experiments.joint_kl.write",
         lambda: {"plan": joint_kl.JointKLPlan(RING, AVB), "ring_results": {"VAE": {"near_mode": 0.9}},
                  "avb_results": {"AVB": {"kl_exact_last": 2.0}}, "device": CPU, "histories": [HISTORY],
                  "results_dir": scratch("joint_kl_results")}),
]

# --- chapter 3: the zoo ---------------------------------------------------------------------------

ENTRY = ZooEntry("VAE β=1", "vae", 1.0)


def zoo_config() -> dict:
    return {"arch": "mlp", "dataset": "mnist", "image_size": 16, "latent_dim": 2, "channels": 4, "hidden": (8,),
            "batch_size": 16, "steps": 2, "lr": 2e-4, "adam_betas": (0.0, 0.999), "classifier_epochs": 1,
            "eval_train": 100, "n_generated": 50, "checkpoint_every": 2, "amp": False, "compile": False,
            "group_size": 0, "models": (ENTRY,)}


ZOO = zoo.ZooConfig(**zoo_config())


def zoo_data() -> dict:
    g = torch.Generator().manual_seed(0)
    return {"train_x": 2 * torch.rand(300, 1, 16, 16, generator=g) - 1, "train_y": torch.arange(300) % 10,
            "test_x": 2 * torch.rand(50, 1, 16, 16, generator=g) - 1, "test_y": torch.arange(50) % 10, "source": "toy"}


@cache
def evaluator() -> zoo.Evaluator:
    return zoo.Evaluator.fit(ZOO, zoo.ZooData(**zoo_data()), seed=0, progress=False)


def stored_table() -> dict:
    return zoo.stored_comparison()["metrics"]["summary"]


ZOO_CASES = [
    Case("gi_core.experiments.zoo_training.table_6_4_entries", lambda: {"include_aae": False}),
    Case("gi_core.experiments.zoo_training.ZooConfig", zoo_config,
         allow={"checkpoint_every:zero": "0: no checkpoints (a run without a run directory)",
                "group_size:zero": "0: every run trained alone"}),
    Case("gi_core.experiments.zoo_training.ZooConfig.describe", lambda: {}, instance=lambda: ZOO),
    Case("gi_core.experiments.zoo_training.ZooData", zoo_data,
         allow={"source:unknown": "free text: where the images came from"}),
    Case("gi_core.experiments.zoo_training.load_zoo_data", lambda: {"config": ZOO, "device": CPU, "profile": "quick"}),
    Case("gi_core.experiments.zoo_training.build_model", lambda: {"entry": ENTRY, "config": ZOO, "image_shape": (1, 16, 16)}),
    Case("gi_core.experiments.zoo_training.slug", lambda: {"label": "JS-VAE β=30"},
         allow={"label:unknown": "any label with a letter or digit has a file-name-safe slug"}),
    Case("gi_core.experiments.zoo_training.train_model",
         lambda: {"entry": ENTRY, "config": ZOO, "data": zoo.ZooData(**zoo_data()), "seed": 1,
                  "checkpoint_dir": scratch("zoo_checkpoints"), "progress": False},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.zoo_training.groupable", lambda: {"entry": ENTRY, "config": replace(ZOO, group_size=2)}),
    Case("gi_core.experiments.zoo_training.train_group",
         lambda: {"runs": [(ENTRY, 1), (ENTRY, 2)], "config": replace(ZOO, group_size=2),
                  "data": zoo.ZooData(**zoo_data()), "checkpoint_dirs": [scratch("g1"), scratch("g2")], "progress": False}),
    Case("gi_core.experiments.zoo.Evaluator",
         lambda: {"classifier": torch.nn.Linear(2, 10), "reference": (torch.zeros(3), torch.eye(3)),
                  "classifier_test_accuracy": 0.9}),
    Case("gi_core.experiments.zoo.Evaluator.fit",
         lambda: {"config": ZOO, "data": zoo.ZooData(**zoo_data()), "seed": 1, "progress": False},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.zoo.run_comparison",
         lambda: {"config": ZOO, "seeds": [1], "data": zoo.ZooData(**zoo_data()), "evaluator": evaluator(),
                  "run_dir": scratch("zoo_runs"), "progress": False}),
    Case("gi_core.experiments.zoo.summarize",
         lambda: {"records": [{"model": "VAE β=1", "seed": k, "fid": 1.0 + k, "train_seconds": 2.0} for k in range(3)]}),
    Case("gi_core.experiments.zoo.reproduce",
         lambda: {"config": ZOO, "seeds": [0], "run_dir": scratch("never_written"), "result_name": "unused",
                  "device": CPU, "progress": False, "results_dir": scratch("never_written_results")},
         run_valid=False, skip={"result_name": STEM}),
    Case("gi_core.experiments.zoo.stored_comparison", lambda: {}),
    Case("gi_core.experiments.zoo.summary_table", lambda: {"summary": stored_table()}),
    Case("gi_core.experiments.zoo.difference_table",
         lambda: {"summary": stored_table(), "reference": read_reference("seed002_table_6_4")["table"]}),
    Case("gi_core.experiments.zoo.claims", lambda: {"table": stored_table()}),
]

CASES: list[Case] = [*DA, *DD, *ELBO_CASES, *JOINT_KL, *ZOO_CASES]
EXEMPT: dict[str, str] = {
    "gi_core.experiments.domain_adaptation.main": ARGPARSE,
    "gi_core.experiments.domain_adaptation_diagnostics.main": ARGPARSE,
    "gi_core.experiments.elbo.main": ARGPARSE,
    "gi_core.experiments.joint_kl.main": ARGPARSE,
    "gi_core.experiments.zoo.main": ARGPARSE,
    "gi_core.experiments.elbo.TrainedVAE": OUTPUT + " (train_vaes)",
    "gi_core.experiments.joint_kl.RingScores": OUTPUT + " (ring_scores)",
    "gi_core.experiments.zoo.ZooPlan": "a NamedTuple of the PLANS constants (configuration, seeds, result stem); "
                                       "reproduce checks all three when a plan is run",
}
