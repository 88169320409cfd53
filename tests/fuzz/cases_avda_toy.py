"""Fuzz cases of AVDA's label-shift toy (see tests.fuzz.harness): the data (gi_core.data.toy.label_shifted_domains)
and the experiment (gi_core.experiments.avda_toy), with a 2-step run for the training call."""

from __future__ import annotations

import torch

from tests.fuzz.harness import Case

SEED = "0 is a seed"
UNSUPERVISED = "0 shots is unsupervised adaptation (no labelled target points)"


def components() -> dict[str, torch.Tensor]:
    return {"means": torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), "variances": torch.full((3, 2), 0.25)}


CASES = [
    Case("gi_core.data.toy.label_shifted_domains",
         lambda: {"n": 40, "target_proportions": (0.8, 0.2), "shift": (0.0, 3.0), "spread": 0.3, "seed": 1},
         allow={"seed:zero": SEED}),
    Case("gi_core.experiments.avda_toy.bayes_classifier", components),
    Case("gi_core.experiments.avda_toy.nearest_components",
         lambda: {"codes": torch.tensor([[0.5, 0.2], [-1.0, 3.0]]), "means": components()["means"]}),
    Case("gi_core.experiments.avda_toy.toy_alignment",
         lambda: {"discriminator_kind": "binary", "steps": 2, "seed": 1, "shots": 1, "spread": 0.3, "lr": 1e-3},
         allow={"seed:zero": SEED, "shots:zero": UNSUPERVISED}),
    Case("gi_core.experiments.avda_toy.alignment_game",
         lambda: {"moved": [0.0, 0.5], "spread": 0.5, "minority": 0.1, "points": 101}),
]
EXEMPT: dict[str, str] = {}
