"""Fuzz cases of AVDA's maths (Pérez Carrasco 2021, Ch. 3; see tests.fuzz.harness): gi_core.maths.avda_objective and
the gamma ramp of gi_core.maths.schedules, on 4 codes of 2 latent dimensions and 3 classes."""

from __future__ import annotations

import torch

from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import seeded, training

B, J, K = 4, 2, 3
AVDA = "gi_core.maths.avda_objective"
CLASSES = "any number of classes K: the logits' last axis"
DOMAIN_BATCH = "each domain's batch has its own size, averaged on its own"


def logits(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=seeded())


def labels() -> torch.Tensor:
    return torch.tensor([0, 1, 2, 2])  # includes K - 1, so fewer logit columns are refused


def gaussians() -> dict[str, torch.Tensor]:
    g = seeded()
    return {"mean": torch.randn(B, J, generator=g), "log_var": 0.3 * torch.randn(B, J, generator=g),
            "prior_means": 2.0 * torch.randn(K, J, generator=g), "prior_log_vars": 0.2 * torch.randn(K, J, generator=g)}


def log_prior() -> torch.Tensor:
    return torch.log(torch.tensor([0.5, 0.3, 0.2]))


def scalar(value: float) -> torch.Tensor:
    return torch.tensor(value)


GAUSSIANS = training("mean", "log_var", "prior_means", "prior_log_vars")
CASES: list[Case] = [
    Case(f"{AVDA}.straight_through_gumbel", lambda: {"logits": logits(B, K), "tau": 3.0, "generator": seeded()},
         allow={"logits:size": CLASSES}),
    Case(f"{AVDA}.component_kl", lambda: {**gaussians(), "labels": labels()}, allow=GAUSSIANS),
    Case(f"{AVDA}.component_kl", lambda: {**gaussians(), "labels": torch.softmax(logits(B, K), -1)}, allow=GAUSSIANS),
    Case(f"{AVDA}.categorical_prior_kl", lambda: {"logits": logits(B, K), "log_prior": log_prior()},
         allow=training("logits")),
    Case(f"{AVDA}.source_objective",
         lambda: {"log_likelihood": -10.0 + logits(B), "kl": logits(B).abs(), "class_logits": logits(B, K),
                  "labels": labels(), "alpha_s": 1000.0},
         allow=training("log_likelihood", "kl", "class_logits")),
    Case(f"{AVDA}.labelled_target_objective",
         lambda: {"kl": logits(B).abs(), "class_logits": logits(B, K), "labels": labels(), "alpha_t": 10.0},
         allow=training("kl", "class_logits")),
    Case(f"{AVDA}.unlabelled_target_objective",
         lambda: {**gaussians(), "class_logits": logits(B, K),
                  "pseudo_labels": torch.nn.functional.one_hot(labels(), K).float(), "log_prior": log_prior()},
         allow={**GAUSSIANS, **training("class_logits")}),
    Case(f"{AVDA}.discriminator_objective",
         lambda: {"source_logits": logits(3, K + 1), "source_labels": torch.tensor([0, 2, 1]),
                  "target_logits": logits(2, K + 1)},
         allow=training("source_logits", "target_logits")),
    Case(f"{AVDA}.adversarial_objective", lambda: {"target_logits": logits(3, K + 1), "labels": torch.tensor([0, 2, 1])},
         allow=training("target_logits")),
    Case(f"{AVDA}.binary_adversarial_objectives", lambda: {"source_logits": logits(3), "target_logits": logits(2)},
         allow={**training("source_logits", "target_logits"),
                "source_logits:size": DOMAIN_BATCH, "target_logits:size": DOMAIN_BATCH}),
    Case(f"{AVDA}.target_objective",
         lambda: {"supervised": scalar(2.0), "unsupervised": scalar(5.0), "adversarial": scalar(0.3), "gamma": 0.9},
         allow=training("supervised", "unsupervised", "adversarial")),
    Case("gi_core.maths.schedules.linear_ramp", lambda: {"start": 1.0, "end": 0.9, "steps": 25}),
    Case(f"{AVDA}.optimal_class_discriminator",
         lambda: {"source_joint": torch.tensor([[0.2, 0.1], [0.3, 0.4]], dtype=torch.float64),
                  "target_marginal": torch.tensor([0.6, 0.4], dtype=torch.float64)}),
    Case(f"{AVDA}.alignment_costs",
         lambda: {"source_joint": torch.tensor([[0.2, 0.1], [0.3, 0.4]], dtype=torch.float64),
                  "target_joint": torch.tensor([[0.5, 0.1], [0.1, 0.3]], dtype=torch.float64)}),
]
EXEMPT: dict[str, str] = {}
