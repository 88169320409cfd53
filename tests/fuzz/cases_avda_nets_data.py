"""Fuzz cases of AVDA's networks and data (Pérez Carrasco 2021; see tests.fuzz.harness): UNIT's 32×32 digit encoder and
decoder and the MLP on codes (gi_core.nets.unit_digits), the k-shot target labels, the validation indices and the
signed 32×32 digits (gi_core.data.digit_shots). The networks are the real ones with a 2-d code (32×32 is the only
size they take); the index functions see 12 labels of 3 classes."""

from __future__ import annotations

import torch

from gi_core.nets.unit_digits import UNITDecoder, UNITEncoder
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import J, training

N = "gi_core.nets.unit_digits."
D = "gi_core.data.digit_shots."
SEED = "0 is a valid seed"
ANY_LABELS = "any number of labels: the indices are drawn from those given"
NO_EXCLUSION = "an empty exclude excludes nothing, as None does"
ANY_EXCLUSION = "any number of excluded indices"


def index_labels() -> torch.Tensor:
    return torch.arange(12) % 3


CASES = [
    Case(N + "UNITEncoder", lambda: {"in_channels": 1, "latent_dim": J, "image_size": 32}),
    Case(N + "UNITEncoder.forward", lambda: {"x": torch.rand(2, 1, 32, 32) * 2 - 1},
         instance=lambda: UNITEncoder(1, J), allow=training("x")),
    Case(N + "UNITDecoder", lambda: {"latent_dim": J, "out_channels": 1}),
    Case(N + "UNITDecoder.forward", lambda: {"z": torch.randn(2, J)}, instance=lambda: UNITDecoder(J),
         allow=training("z")),
    Case(N + "unit_latent_mlp", lambda: {"latent_dim": J, "outputs": 3, "hidden": (4,)}),
    Case(D + "draw_shots", lambda: {"labels": index_labels(), "shots_per_class": 2, "seed": 1, "num_classes": 3,
                                    "exclude": torch.tensor([0, 4])},
         allow={"labels:size": ANY_LABELS, "shots_per_class:zero": "0 shots: unsupervised adaptation, no indices",
                "seed:zero": SEED, "exclude:empty": NO_EXCLUSION, "exclude:size": ANY_EXCLUSION}),
    Case(D + "validation_indices", lambda: {"labels": index_labels(), "size": 4, "seed": 1,
                                            "exclude": torch.tensor([0, 5])},
         allow={"labels:size": ANY_LABELS, "seed:zero": SEED, "exclude:empty": NO_EXCLUSION,
                "exclude:size": ANY_EXCLUSION}),
    Case(D + "signed_domain_data", lambda: {"task": "mnist_usps", "device": torch.device("cpu"), "profile": "quick"}),
]
EXEMPT: dict[str, str] = {}
