"""Fuzz cases of LC-VaDE's networks and models (see tests.fuzz.harness): the interpolation block
(gi_core.nets.interpolation_prediction), the 1-D residual encoder and GP decoder (gi_core.nets.light_curve_resnets),
LC-VaDE (gi_core.models.lc_vade) and its VAE baseline (gi_core.models.light_curve_vae), on 4 curves of 12 points
with C = 2, R = 16 and I = 8."""

from __future__ import annotations

import torch

from gi_core.models.lc_vade import LCVaDE, lc_vade_networks
from gi_core.models.light_curve_vae import LightCurveVAE, light_curve_vae_networks
from gi_core.nets.interpolation_prediction import InterpolationBlock
from gi_core.nets.light_curve_resnets import InducingPointDecoder, LightCurveEncoder, ResBlock1d
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import seeded, training

P, M = "gi_core.nets.", "gi_core.models."
N, T, K = 4, 12, 2
LENGTH = "any length L of at least 2: the convolutions and the pooling do not fix it"
PHASES = "any number of phases: the GP posterior is evaluated wherever asked"
LABEL = "a label for the error messages: any string is printed as given"
OUTPUT = "a NamedTuple that gi_core's own functions return (results, not an input)"
SIZES = {"rep_dim": 2, "kernel_dim": 2, "channels": 2, "inducing": 8, "references": 16}


def curves() -> dict[str, torch.Tensor]:
    """``N`` folded curves padded to ``T`` (the first 12, 10, 9, 8 points observed), float32."""
    g = seeded()
    mask = torch.arange(T)[None] < torch.tensor([12, 10, 9, 8])[:, None]
    phase = torch.where(mask, torch.rand(N, T, generator=g), torch.zeros(N, T))
    value = torch.where(mask, torch.sin(6.28 * phase) + 0.1 * torch.randn(N, T, generator=g), torch.zeros(N, T))
    error = torch.where(mask, torch.full((N, T), 0.1), torch.ones(N, T))
    return {"phase": phase, "value": value, "error": error, "mask": mask}


def with_features() -> dict[str, torch.Tensor]:
    return {**curves(), "features": torch.randn(N, 3, generator=seeded())}


def batch() -> dict[str, torch.Tensor]:
    return {**with_features(), "labels": torch.arange(N) % K}


def query() -> dict[str, torch.Tensor]:
    return {**curves(), "query_phase": torch.rand(N, 5, generator=seeded())}


def block() -> InterpolationBlock:
    return InterpolationBlock(2, 16, 20.0)


def encoder() -> LightCurveEncoder:
    torch.manual_seed(0)
    return LightCurveEncoder(latent_dim=4, channels=2, references=16)


def decoder() -> InducingPointDecoder:
    torch.manual_seed(0)
    return InducingPointDecoder(rep_dim=2, kernel_dim=2, channels=2, inducing=8)


def lc_vade() -> LCVaDE:
    torch.manual_seed(0)
    return lc_vade_networks(K, **SIZES)


def vae() -> LightCurveVAE:
    torch.manual_seed(0)
    return light_curve_vae_networks(K, **SIZES)


NETS = [
    Case(P + "interpolation_prediction.check_mask", lambda: {"mask": curves()["mask"], "shape": (N, T)}),
    Case(P + "interpolation_prediction.check_observed",
         lambda: {"x": curves()["phase"], "name": "x", "mask": curves()["mask"]}, allow={"name:unknown": LABEL}),
    Case(P + "interpolation_prediction.InterpolationBlock", lambda: {"channels": 2, "references": 16,
                                                                     "bandwidth": 20.0}),
    Case(P + "interpolation_prediction.InterpolationBlock.forward",
         lambda: {"phase": curves()["phase"], "inputs": torch.stack([curves()["value"], curves()["error"]], 1),
                  "mask": curves()["mask"]}, instance=block),
    Case(P + "light_curve_resnets.ResBlock1d", lambda: {"c_in": 2, "c_out": 3, "resample": "down"}),
    Case(P + "light_curve_resnets.ResBlock1d.forward", lambda: {"x": torch.randn(2, 2, 6)},
         instance=lambda: ResBlock1d(2, 3, "down", circular=True), allow={**training("x"), "x:size": LENGTH}),
    Case(P + "light_curve_resnets.check_curves", lambda: {**curves(), "like": encoder()}),
    Case(P + "light_curve_resnets.check_curve_networks", lambda: {"encoder": encoder(), "decoder": decoder()}),
    Case(P + "light_curve_resnets.check_features",
         lambda: {"features": torch.randn(N, 3), "n": N, "feature_dim": 3, "like": encoder()},
         skip={"n": "the number of curves the caller counted; a mismatch is reported as the features'",
               "feature_dim": "the model's own feature size; a mismatch is reported as the features'"}),
    Case(P + "light_curve_resnets.LightCurveEncoder", lambda: {"latent_dim": 4, "channels": 2, "references": 16}),
    Case(P + "light_curve_resnets.LightCurveEncoder.forward", curves, instance=encoder),
    Case(P + "light_curve_resnets.InducingPointDecoder",
         lambda: {"rep_dim": 2, "kernel_dim": 2, "channels": 2, "inducing": 8, "kernel": "periodic"}),
    Case(P + "light_curve_resnets.InducingPointDecoder.inducing_points", lambda: {"z": torch.randn(N, 4)},
         instance=decoder, allow=training("z")),
    Case(P + "light_curve_resnets.InducingPointDecoder.forward",
         lambda: {"z": torch.randn(N, 4), "phase": curves()["phase"]}, instance=decoder,
         allow={**training("z"), "phase:size": PHASES}),
    Case(P + "light_curve_resnets.LightCurveAutoencoder",
         lambda: {"encoder": encoder(), "decoder": decoder(), "feature_dim": 3}),
    Case(P + "light_curve_resnets.LightCurveAutoencoder.encode", curves, instance=lc_vade),
    Case(P + "light_curve_resnets.LightCurveAutoencoder.reconstruct", query, instance=vae,
         allow={"query_phase:size": PHASES}),
]


def model_cases(module: str, cls: str, builder: str, make) -> list[Case]:
    """The cases one light-curve model shares with the other (same constructor, method names and arguments)."""
    target = M + f"{module}.{cls}"
    return [
        Case(target, lambda: {"encoder": encoder(), "decoder": decoder(), "num_classes": K, "feature_dim": 3,
                              "supervised_weight": 0.5}),
        Case(M + f"{module}.{builder}", lambda: {"num_classes": K, **SIZES, "kernel": "rbf",
                                                 "supervised_weight": 1.0}),
        Case(target + ".parameters_by_loss", dict, instance=make),
        Case(target + ".terms", lambda: {**with_features(), "generator": seeded()}, instance=make),
        Case(target + ".training_loss", batch, instance=make),
        *(Case(target + f".{method}", with_features, instance=make)
          for method in ("class_probabilities", "anomaly_score")),
    ]


MODELS = [
    *model_cases("lc_vade", "LCVaDE", "lc_vade_networks", lc_vade),
    Case(M + "lc_vade.LCVaDE.fit_priors", batch, instance=lc_vade),
    *model_cases("light_curve_vae", "LightCurveVAE", "light_curve_vae_networks", vae),
]

CASES: list[Case] = [*NETS, *MODELS]
EXEMPT: dict[str, str] = {"gi_core.nets.light_curve_resnets.InducingPoints": OUTPUT}
