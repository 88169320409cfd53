"""Fuzz cases of AVDA's models (Pérez Carrasco 2021; see tests.fuzz.harness): the axis prior, the source model, the
adapter and the builders (gi_core.models.avda), and the code-mean classifier of the shot baselines
(gi_core.models.code_classifier), on MLP Gaussian encoders of 4×4 images with a 2-d code and 2 classes (the axis prior
needs K <= J); the builder of the source model runs the real 32×32 networks."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.models.avda import AVDAAdapter, AVDASource, axis_prior
from gi_core.models.code_classifier import CodeClassifier, CodeMean
from gi_core.nets.encoders import MLPDecoder, MLPEncoder, mlp
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import J, SHAPE, images, seeded, training

K = 2
A = "gi_core.models.avda."
C = "gi_core.models.code_classifier."


def encoder() -> MLPEncoder:
    return MLPEncoder(SHAPE, J, (8,))


def networks() -> dict[str, nn.Module]:
    return {"encoder": encoder(), "decoder": MLPDecoder(J, SHAPE, (8,)), "classifier": mlp([J, 4, K])}


def source() -> AVDASource:
    torch.manual_seed(0)
    return AVDASource(**networks(), prior=axis_prior(K, J), alpha_s=1000.0)


def prior_moments() -> dict[str, Tensor]:
    g = seeded()
    return {"prior_means": torch.randn(K, J, generator=g), "prior_log_vars": 0.2 * torch.randn(K, J, generator=g)}


def adapter() -> AVDAAdapter:
    torch.manual_seed(0)
    return AVDAAdapter(encoder(), mlp([J, 4, K]), mlp([J, 4, K + 1]), **prior_moments())


def adapter_arguments() -> dict:
    return {"target_encoder": encoder(), "target_classifier": mlp([J, 4, K]), "discriminator": mlp([J, 4, K + 1]),
            **prior_moments(), "alpha_t": 10.0, "tau": 3.0, "discriminator_kind": "classes",
            "target_decoder": MLPDecoder(J, SHAPE, (8,)), "categorical_kl": True}


def unlabelled_batch() -> dict[str, Tensor]:
    g = seeded()
    return {"source_mean": torch.randn(3, J, generator=g), "source_log_var": 0.3 * torch.randn(3, J, generator=g),
            "source_y": torch.tensor([0, 1, 1]), "target_x": images()}


class ShotAdapter:
    """:meth:`AVDAAdapter.training_loss` with its labelled target batch named, so the harness can mutate the shots
    (the method takes them as ``*shots``, which keyword arguments cannot fill)."""

    def __init__(self) -> None:
        self.model = adapter()

    def training_loss(self, source_mean: Tensor, source_log_var: Tensor, source_y: Tensor, target_x: Tensor,
                      shot_x: Tensor, shot_y: Tensor) -> dict[str, Tensor]:
        return self.model.training_loss(source_mean, source_log_var, source_y, target_x, shot_x, shot_y)


def code_classifier() -> CodeClassifier:
    torch.manual_seed(0)
    return CodeClassifier(encoder(), mlp([J, 4, K]))


def labelled_images() -> dict[str, Tensor]:
    return {"x": images(n=3), "y": torch.tensor([0, 1, 1])}


def to_predict() -> dict:
    return {"x": images(n=3), "batch_size": 2}


CASES: list[Case] = [
    Case(A + "axis_prior", lambda: {"num_classes": K, "latent_dim": J}),
    Case(A + "AVDASource", lambda: {**networks(), "prior": axis_prior(K, J), "alpha_s": 1000.0, "learn_prior": True}),
    Case(A + "AVDASource.prior_moments", dict, instance=source),
    Case(A + "AVDASource.parameters_by_loss", dict, instance=source),
    Case(A + "AVDASource.training_loss", labelled_images, instance=source, allow=training("x")),
    Case(A + "AVDASource.code_moments", to_predict, instance=source),
    Case(A + "AVDASource.predict", to_predict, instance=source),
    Case(A + "AVDAAdapter", adapter_arguments),
    Case(A + "AVDAAdapter.set_coefficient", lambda: {"name": "gamma", "value": 0.9}, instance=adapter),
    Case(A + "AVDAAdapter.parameters_by_loss", dict, instance=adapter),
    Case(A + "AVDAAdapter.training_loss", unlabelled_batch, instance=adapter),
    Case(A + "AVDAAdapter.training_loss",
         lambda: {**unlabelled_batch(), "shot_x": images(n=2), "shot_y": torch.tensor([1, 0])}, instance=ShotAdapter),
    Case(A + "AVDAAdapter.predict", to_predict, instance=adapter),
    Case(A + "AVDAAdapter.embed", to_predict, instance=adapter),
    Case(A + "build_source", lambda: {"in_channels": 1, "latent_dim": J, "num_classes": K, "alpha_s": 1000.0,
                                      "learn_prior": True}),
    Case(A + "build_adapter", lambda: {"source": source(), "discriminator_kind": "binary", "target_decoder": True,
                                       "alpha_t": 10.0, "tau": 3.0, "categorical_kl": False}),
    Case(C + "CodeMean", lambda: {"encoder": encoder()}),
    Case(C + "CodeMean.forward", lambda: {"x": images()}, instance=lambda: CodeMean(encoder()), allow=training("x")),
    Case(C + "CodeClassifier", lambda: {"encoder": encoder(), "classifier": mlp([J, 4, K])}),
    Case(C + "CodeClassifier.forward", lambda: {"x": images()}, instance=code_classifier, allow=training("x")),
    Case(C + "CodeClassifier.parameters_by_loss", dict, instance=code_classifier),
    Case(C + "CodeClassifier.training_loss", labelled_images, instance=code_classifier, allow=training("x")),
    Case(C + "CodeClassifier.predict", to_predict, instance=code_classifier),
]
EXEMPT: dict[str, str] = {}
