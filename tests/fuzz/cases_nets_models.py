"""Fuzz cases of gi_core.nets (here) and gi_core.models (:mod:`tests.fuzz.cases_models`); see tests.fuzz.harness.

Networks are tiny (4×4 and 16×16 images, widths of a few units), so every case runs in milliseconds.
"""

from __future__ import annotations

import torch
from torch import nn

from gi_core.nets.discriminators import DomainDiscriminator, JointDiscriminator, MLPCritic
from gi_core.nets.encoders import ConvDecoder, ConvEncoder, GaussianHead, MLPDecoder, MLPEncoder
from gi_core.nets.gradient_reversal import GradientReversal
from gi_core.nets.grouped import GroupedLinear, GroupedMLPDecoder, GroupedMLPEncoder
from gi_core.nets.lenet import LeNetFeatures
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.nets.resnets import (ConditionalBatchNorm2d, DiscriminatorBlock, GeneratorBlock, ImageFeatures, LatentFeatures,
                                  ResNetDiscriminator, ResNetEncoder, ResNetJointDiscriminator)
from tests.fuzz import cases_models
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import (BROADCAST, IDENTITY, IMAGE, J, LEADING, REVERSAL, SHAPE, SPATIAL, autoencoder, codes,
                                  generator_net, images, seeded, training)

P = "gi_core.nets."
VIEW = "a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped"
NETS = [
    # encoders
    Case(P + "encoders.mlp", lambda: {"sizes": [3, 4, 2]}),
    Case(P + "encoders.GaussianHead", lambda: {"features": 3, "latent_dim": J}),
    Case(P + "encoders.GaussianHead.forward", lambda: {"h": torch.randn(2, 3)}, instance=lambda: GaussianHead(3, J),
         allow=training("h")),
    Case(P + "encoders.MLPEncoder", lambda: {"input_shape": SHAPE, "latent_dim": J, "hidden": (8,)}),
    Case(P + "encoders.MLPEncoder.forward", lambda: {"x": images()}, instance=lambda: MLPEncoder(SHAPE, J, (8,)),
         allow=training("x")),
    Case(P + "encoders.MLPDecoder", lambda: {"latent_dim": J, "output_shape": SHAPE, "hidden": (8,)}),
    Case(P + "encoders.MLPDecoder.forward", lambda: {"z": codes()}, instance=lambda: MLPDecoder(J, SHAPE, (8,)),
         allow=training("z") | {"z:rank": LEADING}),
    # grouped copies
    Case(P + "grouped.GroupedLinear", lambda: {"groups": 2, "in_features": 3, "out_features": 4}),
    Case(P + "grouped.GroupedLinear.forward", lambda: {"x": torch.randn(2, 5, 3)}, instance=lambda: GroupedLinear(2, 3, 4),
         allow=training("x")),
    Case(P + "grouped.GroupedLinear.unstack", lambda: {}, instance=lambda: GroupedLinear(2, 3, 4)),
    Case(P + "grouped.grouped_mlp", lambda: {"groups": 2, "sizes": [3, 4, 2]}),
    Case(P + "grouped.stack_linears", lambda: {"layers": [nn.Linear(3, 2), nn.Linear(3, 2)]}),
    Case(P + "grouped.stack_mlps", lambda: {"mlps": [nn.Sequential(nn.Linear(3, 2)), nn.Sequential(nn.Linear(3, 2))]}),
    Case(P + "grouped.run_slice", lambda: {"module": GroupedLinear(2, 3, 4), "name": "weight",
                                           "tensor": torch.zeros(2, 3, 4), "run": 1},
         allow={"run:zero": "run 0 is the first copy", "tensor:nan": VIEW, "tensor:inf": VIEW}),
    Case(P + "grouped.GroupedMLPEncoder", lambda: {"groups": 2, "input_shape": SHAPE, "latent_dim": J, "hidden": (8,)}),
    Case(P + "grouped.GroupedMLPEncoder.forward", lambda: {"x": torch.rand(2, 3, *SHAPE)},
         instance=lambda: GroupedMLPEncoder(2, SHAPE, J, (8,)), allow=training("x")),
    Case(P + "grouped.GroupedMLPDecoder", lambda: {"groups": 2, "latent_dim": J, "output_shape": SHAPE, "hidden": (8,)}),
    Case(P + "grouped.GroupedMLPDecoder.forward", lambda: {"z": torch.randn(2, 3, J)},
         instance=lambda: GroupedMLPDecoder(2, J, SHAPE, (8,)), allow=training("z")),
    Case(P + "encoders.conv_side", lambda: {"height": 8}),
    Case(P + "encoders.ConvEncoder", lambda: {"input_shape": SHAPE, "latent_dim": J, "channels": 2, "hidden": 4}),
    Case(P + "encoders.ConvEncoder.forward", lambda: {"x": images()}, instance=lambda: ConvEncoder(SHAPE, J, 2, 4),
         allow=training("x")),
    Case(P + "encoders.ConvDecoder", lambda: {"latent_dim": J, "output_shape": SHAPE, "channels": 2, "hidden": 4}),
    Case(P + "encoders.ConvDecoder.forward", lambda: {"z": codes()}, instance=lambda: ConvDecoder(J, SHAPE, 2, 4),
         allow=training("z") | {"z:rank": LEADING}),
    Case(P + "encoders.encoder_decoder", lambda: {"arch": "mlp", "image_shape": SHAPE, "latent_dim": J, "hidden": (8,)}),
    Case(P + "encoders.encoder_decoder", lambda: {"arch": "conv", "image_shape": SHAPE, "latent_dim": J, "hidden": (2, 4)}),
    # discriminators
    Case(P + "discriminators.leaky_relu", lambda: {}),
    Case(P + "discriminators.JointDiscriminator", lambda: {"input_shape": SHAPE, "latent_dim": J, "hidden": (8,)}),
    Case(P + "discriminators.JointDiscriminator.forward", lambda: {"x": images(), "z": codes()},
         instance=lambda: JointDiscriminator(SHAPE, J, (8,)), allow=training("x", "z")),
    Case(P + "discriminators.MLPCritic", lambda: {"input_shape": SHAPE, "hidden": (8,)}),
    Case(P + "discriminators.MLPCritic.forward", lambda: {"x": images()}, instance=lambda: MLPCritic(SHAPE, (8,)),
         allow=training("x")),
    Case(P + "discriminators.DomainDiscriminator", lambda: {"in_features": 3, "hidden": (4,)}),
    Case(P + "discriminators.DomainDiscriminator.forward", lambda: {"features": torch.randn(2, 3)},
         instance=lambda: DomainDiscriminator(3, (4,)), allow=training("features")),
    # gradient reversal
    Case(P + "gradient_reversal.GradientReversal", lambda: {"coefficient": 0.5}),
    Case(P + "gradient_reversal.GradientReversal.forward", lambda: {"x": torch.randn(2, 3)},
         instance=lambda: GradientReversal(0.5), allow=training("x") | {"x:rank": IDENTITY, "x:size": IDENTITY}),
    Case(P + "gradient_reversal.GradientReversal.set_coefficient", lambda: {"value": 0.5},
         instance=lambda: GradientReversal(0.5)),
    Case(P + "gradient_reversal.scale_gradient", lambda: {"x": torch.randn(2, 3), "factor": 0.5},
         allow=training("x") | {"x:rank": IDENTITY, "x:size": IDENTITY, "factor:negative": REVERSAL}),
    # LeNet
    Case(P + "lenet.LeNetFeatures", lambda: {"in_channels": 1, "image_size": 16, "channels": (2, 3)}),
    Case(P + "lenet.LeNetFeatures.forward", lambda: {"x": images(IMAGE)}, instance=lambda: LeNetFeatures(1, 16, (2, 3)),
         allow=training("x")),
    # priors
    Case(P + "priors.GaussianMixturePrior", lambda: {"num_components": 2, "latent_dim": J, "mean_scale": 1.0,
                                                     "log_var_bounds": (-10.0, 5.0), "generator": seeded(),
                                                     "variance_floor": 0.5}),
    *(Case(P + f"priors.GaussianMixturePrior.{method}", lambda: {"z": torch.randn(3, J)},
           instance=lambda: GaussianMixturePrior(2, J, generator=seeded()), allow={"z:rank": BROADCAST})
      for method in ("component_log_prob", "log_prob", "responsibilities")),
    Case(P + "priors.GaussianMixturePrior.sample", lambda: {"n": 3, "generator": seeded()},
         instance=lambda: GaussianMixturePrior(2, J, generator=seeded())),
    Case(P + "priors.GaussianMixturePrior.sample_components", lambda: {"n": 3, "generator": seeded()},
         instance=lambda: GaussianMixturePrior(2, J, generator=seeded(), variance_floor=0.5)),
    Case(P + "priors.GaussianMixturePrior.distribution", dict, instance=lambda: GaussianMixturePrior(2, J, generator=seeded())),
    # ResNets
    Case(P + "resnets.ConditionalBatchNorm2d", lambda: {"channels": 2, "latent_dim": J}),
    Case(P + "resnets.ConditionalBatchNorm2d.forward", lambda: {"h": torch.randn(2, 2, 2, 2), "z": codes()},
         instance=lambda: ConditionalBatchNorm2d(2, J), allow=training("h", "z") | {"h:size": SPATIAL}),
    Case(P + "resnets.GeneratorBlock", lambda: {"c_in": 2, "c_out": 2, "latent_dim": J}),
    Case(P + "resnets.GeneratorBlock.forward", lambda: {"x": torch.randn(2, 2, 2, 2), "z": codes()},
         instance=lambda: GeneratorBlock(2, 2, J), allow=training("x", "z") | {"x:size": SPATIAL}),
    Case(P + "resnets.ResNetGenerator", lambda: {"latent_dim": J, "output_shape": IMAGE, "channels": 1}),
    Case(P + "resnets.ResNetGenerator.forward", lambda: {"z": codes()}, instance=generator_net,
         allow=training("z") | {"z:rank": LEADING}),
    Case(P + "resnets.standing_statistics", lambda: {"generator": generator_net(), "latent_dim": J, "passes": 1,
                                                    "batch_size": 2, "generator_rng": seeded()}),
    Case(P + "resnets.DiscriminatorBlock", lambda: {"c_in": 1, "c_out": 2}),
    Case(P + "resnets.DiscriminatorBlock.forward", lambda: {"x": torch.randn(2, 1, 4, 4)},
         instance=lambda: DiscriminatorBlock(1, 2), allow=training("x") | {"x:size": SPATIAL}),
    Case(P + "resnets.ResNetEncoder", lambda: {"input_shape": IMAGE, "latent_dim": J, "channels": 1}),
    Case(P + "resnets.ResNetEncoder.forward", lambda: {"x": images(IMAGE)}, instance=lambda: ResNetEncoder(IMAGE, J, 1),
         allow=training("x")),
    Case(P + "resnets.ImageFeatures", lambda: {"input_shape": IMAGE, "channels": 1}),
    Case(P + "resnets.ImageFeatures.forward", lambda: {"x": images(IMAGE)}, instance=lambda: ImageFeatures(IMAGE, 1),
         allow=training("x")),
    Case(P + "resnets.ResNetDiscriminator", lambda: {"input_shape": IMAGE, "channels": 1}),
    *(Case(P + f"resnets.ResNetDiscriminator.{method}", lambda: {"x": images(IMAGE)},
           instance=lambda: ResNetDiscriminator(IMAGE, 1), allow=training("x")) for method in ("features", "forward")),
    Case(P + "resnets.LatentFeatures", lambda: {"latent_dim": J, "channels": 1}),
    Case(P + "resnets.LatentFeatures.forward", lambda: {"z": codes()}, instance=lambda: LatentFeatures(J, 1),
         allow=training("z")),
    Case(P + "resnets.ResNetJointDiscriminator", lambda: {"input_shape": IMAGE, "latent_dim": J, "channels": 1}),
    Case(P + "resnets.ResNetJointDiscriminator.forward", lambda: {"x": images(IMAGE), "z": codes()},
         instance=lambda: ResNetJointDiscriminator(IMAGE, J, 1), allow=training("x", "z")),
    # the Gaussian autoencoder
    Case(P + "autoencoder.latent_dim_of", lambda: {"encoder": MLPEncoder(SHAPE, J, (8,)), "latent_dim": J}),
    Case(P + "autoencoder.standard_normal", lambda: {"n": 3, "latent_dim": J, "like": nn.Linear(2, 2), "generator": seeded()}),
    Case(P + "autoencoder.GaussianAutoencoder",
         lambda: {"encoder": MLPEncoder(SHAPE, J, (8,)), "decoder": MLPDecoder(J, SHAPE, (8,)), "likelihood": "gaussian",
                  "obs_scale": 0.5, "location": "sigmoid", "latent_dim": J}),
    Case(P + "autoencoder.GaussianAutoencoder.encode", lambda: {"x": images()}, instance=autoencoder, allow=training("x")),
    Case(P + "autoencoder.GaussianAutoencoder.terms", lambda: {"x": images()}, instance=autoencoder),
    Case(P + "autoencoder.GaussianAutoencoder.mean_image", lambda: {"output": torch.randn(2, *SHAPE)}, instance=autoencoder,
         allow=training("output") | {"output:rank": LEADING}),
    Case(P + "autoencoder.GaussianAutoencoder.decode", lambda: {"z": codes()}, instance=autoencoder,
         allow=training("z") | {"z:rank": LEADING}),
    Case(P + "autoencoder.GaussianAutoencoder.log_likelihood", lambda: {"x": images(), "output": torch.randn(2, *SHAPE)},
         instance=autoencoder, allow=training("output") | {"x:rank": LEADING, "output:rank": LEADING}),
    *(Case(P + f"autoencoder.GaussianAutoencoder.{method}", lambda: {"x": images()}, instance=autoencoder)
      for method in ("elbo", "reconstruct")),
    Case(P + "autoencoder.GaussianAutoencoder.importance_weighted_bound", lambda: {"x": images(), "k": 3},
         instance=autoencoder),
    Case(P + "autoencoder.GaussianAutoencoder.sample", lambda: {"n": 3, "generator": seeded()}, instance=autoencoder),
]

CASES: list[Case] = NETS + cases_models.CASES
EXEMPT: dict[str, str] = dict(cases_models.EXEMPT)
