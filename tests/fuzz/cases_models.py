"""Fuzz cases of gi_core.models (see tests.fuzz.harness); :mod:`tests.fuzz.cases_nets_models` adds them to its own.

Each model is built on networks of a few units (4×4 images for the MLP models, 16×16 for LeNet and CDLM).
"""

from __future__ import annotations

import torch
from torch import nn

from gi_core.models.ali import ALI
from gi_core.models.avb import AVB
from gi_core.models.cdlm import CDLM, CDLMEncoder, build_cdlm
from gi_core.models.classifier import feature_classifier
from gi_core.models.dann import DANN
from gi_core.models.vae import VAE
from gi_core.models.zoo import GroupedZooAutoencoders, ZooEntry, ZooModel, zoo_networks
from gi_core.nets.discriminators import DomainDiscriminator, JointDiscriminator, MLPCritic
from gi_core.nets.encoders import ConvDecoder, MLPDecoder, MLPEncoder
from gi_core.nets.gradient_reversal import GradientReversal
from gi_core.nets.lenet import LeNetFeatures
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import IMAGE, J, LEADING, SHAPE, codes, images, seeded, training

LABEL = "a display label is free text: any string names the row"


def mlp_pair() -> dict[str, nn.Module]:
    return {"encoder": MLPEncoder(SHAPE, J, (8,)), "decoder": MLPDecoder(J, SHAPE, (8,))}


def ali() -> ALI:
    return ALI(**mlp_pair(), discriminator=JointDiscriminator(SHAPE, J, (8,)), latent_dim=J, decoder_std=0.1)


def avb() -> AVB:
    return AVB(**mlp_pair(), discriminator=JointDiscriminator(SHAPE, J, (8,)), likelihood="gaussian", obs_scale=0.5)


def vae() -> VAE:
    return VAE(**mlp_pair(), likelihood="gaussian", obs_scale=0.5)


def cdlm_parts() -> dict[str, nn.Module]:
    return {"encoder": CDLMEncoder(IMAGE, J, 1), "decoder": ConvDecoder(J, IMAGE, 1, 4),
            "discriminator": DomainDiscriminator(J, (4,)), "classifier": nn.Sequential(nn.Flatten(), nn.Linear(256, 2))}


def cdlm() -> CDLM:
    return build_cdlm(IMAGE, latent_dim=J, num_classes=2, channels=1)


def dann() -> DANN:
    return DANN(LeNetFeatures(1, 16, (2, 3)), nn.Linear(3, 2), DomainDiscriminator(3, (4,)), GradientReversal(0.5))


VIEW = "a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped"


def zoo_group() -> GroupedZooAutoencoders:
    torch.manual_seed(0)
    return GroupedZooAutoencoders.stack([ZooModel.build(ZooEntry(k, k), zoo_networks("mlp", SHAPE, J, hidden=(8,)))
                                         for k in ("vae", "mmd")])


def zoo() -> ZooModel:
    return ZooModel.build(ZooEntry("ALICE", "alice"), zoo_networks("mlp", SHAPE, J, hidden=(8,)))


def labels() -> torch.Tensor:
    return torch.tensor([0, 1])


def pairs() -> dict[str, torch.Tensor]:
    return {"source_x": images(IMAGE), "source_y": labels(), "target_x": images(IMAGE)}


M = "gi_core.models."
CASES: list[Case] = [
    # ALI
    Case(M + "ali.ALI", lambda: {**mlp_pair(), "discriminator": JointDiscriminator(SHAPE, J, (8,)), "latent_dim": J,
                                 "decoder_std": 0.1, "loss": "hinge"}),
    *(Case(M + f"ali.ALI.{method}", lambda: {"x": images()}, instance=ali, allow=training("x"))
      for method in ("encode", "logits", "training_loss")),
    Case(M + "ali.ALI.decode", lambda: {"z": codes()}, instance=ali, allow=training("z") | {"z:rank": LEADING}),
    Case(M + "ali.ALI.draw", lambda: {"z": codes(), "generator": seeded()}, instance=ali,
         allow=training("z") | {"z:rank": LEADING}),
    Case(M + "ali.ALI.parameters_by_loss", lambda: {}, instance=ali),
    Case(M + "ali.ALI.reconstruct", lambda: {"x": images()}, instance=ali),
    Case(M + "ali.ALI.sample", lambda: {"n": 3, "generator": seeded(), "noisy": True}, instance=ali),
    # AVB and the VAE
    Case(M + "avb.AVB", lambda: {**mlp_pair(), "discriminator": JointDiscriminator(SHAPE, J, (8,)),
                                 "likelihood": "gaussian", "obs_scale": 0.5, "latent_dim": J}),
    Case(M + "avb.AVB.parameters_by_loss", lambda: {}, instance=avb),
    Case(M + "avb.AVB.training_loss", lambda: {"x": images()}, instance=avb),
    Case(M + "vae.VAE", lambda: {**mlp_pair(), "likelihood": "gaussian", "beta": 2.0, "obs_scale": 0.5,
                                 "location": "identity"}),
    Case(M + "vae.VAE.parameters_by_loss", lambda: {}, instance=vae),
    Case(M + "vae.VAE.training_loss", lambda: {"x": images()}, instance=vae),
    # CDLM
    Case(M + "cdlm.CDLMEncoder", lambda: {"input_shape": IMAGE, "latent_dim": J, "channels": 1}),
    Case(M + "cdlm.CDLMEncoder.forward", lambda: {"x": images(IMAGE)}, instance=lambda: CDLMEncoder(IMAGE, J, 1),
         allow=training("x")),
    Case(M + "cdlm.CDLM", lambda: {**cdlm_parts(), "gamma1": 1.0, "gamma2": 0.1, "lambda1": 1e-4, "lambda2": 1e-4,
                                   "beta1": 0.1, "beta2": 0.01, "likelihood": "gaussian", "obs_scale": 0.5,
                                   "modulation": "full", "kl": "encoder", "classifier_input": "source",
                                   "grl": GradientReversal(0.5)}),
    Case(M + "cdlm.build_cdlm", lambda: {"image_shape": IMAGE, "latent_dim": J, "num_classes": 2, "channels": 1,
                                         "coefficient": 0.5}),
    *(Case(M + f"cdlm.CDLM.{method}", lambda: {"x": images(IMAGE)}, instance=cdlm, allow=training("x"))
      for method in ("encode", "features")),
    *(Case(M + f"cdlm.CDLM.{method}", lambda: {"x": images(IMAGE), "batch_size": 1}, instance=cdlm)
      for method in ("embed", "predict")),
    Case(M + "cdlm.CDLM.translate", lambda: {"x": images(IMAGE), "generator": seeded()}, instance=cdlm),
    Case(M + "cdlm.CDLM.generation_code", lambda: {"h": torch.rand(2, J), "generator": seeded()}, instance=cdlm,
         allow=training("h")),
    Case(M + "cdlm.CDLM.mean_image", lambda: {"output": torch.randn(2, *IMAGE)}, instance=cdlm,
         allow=training("output") | {"output:rank": LEADING}),
    Case(M + "cdlm.CDLM.log_likelihood", lambda: {"x": images(IMAGE), "output": torch.randn(2, *IMAGE)}, instance=cdlm,
         allow=training("output")),
    Case(M + "cdlm.CDLM.modulated_latents", lambda: {"source_x": images(IMAGE), "target_x": images(IMAGE)},
         instance=cdlm),
    Case(M + "cdlm.CDLM.parameters_by_loss", lambda: {}, instance=cdlm),
    Case(M + "cdlm.CDLM.set_coefficient", lambda: {"name": "grl", "value": 0.5}, instance=cdlm),
    Case(M + "cdlm.CDLM.training_loss", pairs, instance=cdlm, allow=training("target_x")),
    # the classifier behind the generation metrics
    Case(M + "classifier.FeatureClassifier", lambda: {"body": nn.Flatten(), "features": 16, "num_classes": 2,
                                                      "input_shape": SHAPE}),
    Case(M + "classifier.feature_classifier", lambda: {"arch": "mlp", "image_shape": SHAPE, "num_classes": 2,
                                                       "hidden": (8,)}),
    *(Case(M + f"classifier.FeatureClassifier.{method}", lambda: {"x": images()},
           instance=lambda: feature_classifier("mlp", SHAPE, 2, (8,)), allow=training("x"))
      for method in ("features", "forward")),
    Case(M + "classifier.FeatureClassifier.parameters_by_loss", lambda: {},
         instance=lambda: feature_classifier("mlp", SHAPE, 2, (8,))),
    Case(M + "classifier.FeatureClassifier.training_loss", lambda: {"x": images(), "y": labels()},
         instance=lambda: feature_classifier("mlp", SHAPE, 2, (8,)), allow=training("x")),
    # DANN
    Case(M + "dann.DANN", lambda: {"feature_extractor": LeNetFeatures(1, 16, (2, 3)), "label_classifier": nn.Linear(3, 2),
                                   "domain_discriminator": DomainDiscriminator(3, (4,)), "grl": GradientReversal(0.5)}),
    Case(M + "dann.build_dann", lambda: {"in_channels": 1, "image_size": 16, "num_classes": 2, "coefficient": 0.5}),
    *(Case(M + f"dann.DANN.{method}", lambda: {"x": images(IMAGE)}, instance=dann, allow=training("x"))
      for method in ("domain_logits", "features", "forward")),
    *(Case(M + f"dann.DANN.{method}", lambda: {"x": images(IMAGE), "batch_size": 1}, instance=dann)
      for method in ("embed", "predict")),
    Case(M + "dann.DANN.parameters_by_loss", lambda: {}, instance=dann),
    Case(M + "dann.DANN.set_coefficient", lambda: {"name": "grl", "value": 0.5}, instance=dann),
    Case(M + "dann.DANN.training_loss", pairs, instance=dann, allow=training("source_x", "target_x")),
    # the zoo
    Case(M + "zoo.ZooEntry", lambda: {"label": "beta-VAE", "kind": "vae", "beta": 2.0}, allow={"label:unknown": LABEL}),
    Case(M + "zoo.zoo_networks", lambda: {"arch": "mlp", "image_shape": SHAPE, "latent_dim": J, "channels": 1,
                                          "hidden": (8,)}),
    Case(M + "zoo.ZooModel", lambda: {"entry": ZooEntry("AAE", "aae"), **mlp_pair(), "z_discriminator": MLPCritic(J, (8,))}),
    Case(M + "zoo.ZooModel.build", lambda: {"entry": ZooEntry("ALI", "ali"),
                                            "networks": zoo_networks("mlp", SHAPE, J, hidden=(8,))}),
    Case(M + "zoo.ZooModel.encode", lambda: {"x": images()}, instance=zoo, allow=training("x")),
    Case(M + "zoo.ZooModel.decode", lambda: {"z": codes()}, instance=zoo, allow=training("z") | {"z:rank": LEADING}),
    Case(M + "zoo.ZooModel.parameters_by_loss", lambda: {}, instance=zoo),
    Case(M + "zoo.ZooModel.reconstruct", lambda: {"x": images()}, instance=zoo),
    Case(M + "zoo.ZooModel.sample", lambda: {"n": 3, "generator": seeded()}, instance=zoo),
    Case(M + "zoo.ZooModel.training_loss", lambda: {"x": images()}, instance=zoo),
    Case(M + "zoo.GroupedZooAutoencoders", lambda: {"entries": [ZooEntry("VAE", "vae"), ZooEntry("MMD", "mmd")],
                                                    "image_shape": SHAPE, "latent_dim": J, "hidden": (8,)}),
    Case(M + "zoo.GroupedZooAutoencoders.stack",
         lambda: {"models": [ZooModel.build(ZooEntry("WVAE", "wvae"), zoo_networks("mlp", SHAPE, J, hidden=(8,)))]}),
    Case(M + "zoo.GroupedZooAutoencoders.run_slice",
         lambda: {"name": "decoder.net.0.weight", "tensor": torch.zeros(2, J, 8), "run": 1}, instance=zoo_group,
         allow={"run:zero": "run 0 is the first run", "tensor:nan": VIEW, "tensor:inf": VIEW}),
    Case(M + "zoo.GroupedZooAutoencoders.run_model", lambda: {"run": 1}, instance=zoo_group,
         allow={"run:zero": "run 0 is the first run"}),
    Case(M + "zoo.GroupedZooAutoencoders.parameters_by_loss", lambda: {}, instance=zoo_group),
    Case(M + "zoo.GroupedZooAutoencoders.training_loss",
         lambda: {"x": torch.rand(2, 4, *SHAPE) * 2 - 1, "generators": [seeded(), seeded()]}, instance=zoo_group),
]
EXEMPT: dict[str, str] = {}
