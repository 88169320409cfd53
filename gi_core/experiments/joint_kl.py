"""The joint-KL chapter as an experiment (chapter 2): adversarial estimates of the divergences between the joints.

Two trainings: ALI/BiGAN against a VAE with the same networks on a ring of eight Gaussians (mode coverage,
reconstruction), and AVB against a VAE on binarized MNIST (the adversarial KL estimate against the exact one).
:data:`PLANS` holds the quick and the full profile's configurations; the full one writes
``results/joint_kl_full.json``::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.joint_kl
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from gi_core.batching import batched_mean
from gi_core.data.images import DATASETS, load_images
from gi_core.data.toy import ring_means, ring_of_gaussians
from gi_core.data.transforms import binarize
from gi_core.maths.gaussians import kl_diag_gaussian_std_normal
from gi_core.metrics.mode_coverage import mode_coverage, same_mode_fraction
from gi_core.models.ali import ALI
from gi_core.models.avb import AVB
from gi_core.models.vae import VAE
from gi_core.nets.discriminators import JointDiscriminator, leaky_relu
from gi_core.nets.encoders import MLPDecoder, MLPEncoder, encoder_decoder
from gi_core.results import provenance, read_result, write_result
from gi_core.runs import check_outputs
from gi_core.runtime import current_profile, seed_everything
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from gi_core.validation import (check_batch, check_choice, check_instance, check_module, check_non_negative_int,
                                check_positive_int, check_real, check_reals, check_sizes)

RESULT = "joint_kl_full"


@dataclass(frozen=True)
class RingConfig:
    """ALI/BiGAN against a VAE on a ring of Gaussians: data, networks (2-D latent) and optimisation (checked here)."""

    modes: int = 8
    radius: float = 2.0
    std: float = 0.05
    n_train: int = 4096
    latent_dim: int = 2
    hidden: tuple[int, ...] = (64, 64)
    discriminator_hidden: tuple[int, ...] = (64, 64)
    batch_size: int = 256
    lr: float = 1e-3
    adam_betas: tuple[float, float] = (0.5, 0.999)
    steps: int = 20000
    vae_obs_std: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        _check_shared(self)
        check_positive_int(self.modes, "modes")
        for name in ("radius", "std", "vae_obs_std"):
            check_real(getattr(self, name), name, minimum=0.0, strict=True)
        check_positive_int(self.n_train, "n_train")
        if self.batch_size > self.n_train:
            raise ValueError(f"batch_size must be at most n_train ({self.n_train}), got {self.batch_size}")
        check_reals(self.adam_betas, "adam_betas", length=2, minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class AVBConfig:
    """AVB against a VAE with the same networks on binarized MNIST (the networks of chapter 1; checked here)."""

    dataset: str = "mnist"
    latent_dim: int = 10
    hidden: tuple[int, ...] = (512, 256)
    discriminator_hidden: tuple[int, ...] = (256, 256)
    batch_size: int = 128
    lr: float = 1e-3
    steps: int = 9360
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice(self.dataset, tuple(DATASETS), "dataset")
        _check_shared(self)


def _check_shared(config: RingConfig | AVBConfig) -> None:
    """Raise unless the fields both configurations have are valid."""
    for name in ("latent_dim", "batch_size", "steps"):
        check_positive_int(getattr(config, name), name)
    for name in ("hidden", "discriminator_hidden"):
        check_sizes(getattr(config, name), name)
    check_real(config.lr, "lr", minimum=0.0, strict=True)
    check_non_negative_int(config.seed, "seed")


class JointKLPlan(NamedTuple):
    ring: RingConfig
    avb: AVBConfig


PLANS = {"quick": JointKLPlan(RingConfig(steps=5000), AVBConfig(steps=1500)), "full": JointKLPlan(RingConfig(), AVBConfig())}
"""The chapter's configurations per profile (full: 20,000 ring steps; 20 epochs of all 60,000 MNIST images)."""


def ring_data(config: RingConfig, device: torch.device) -> tuple[Tensor, Tensor]:
    """The training points of the ring (on ``device``) and their mode labels (CPU), drawn with seed 0."""
    check_instance(config, RingConfig, "config")
    x, modes = ring_of_gaussians(config.n_train, config.modes, config.radius, config.std,
                                 generator=torch.Generator().manual_seed(0))
    return x.to(device), modes


def ring_trainers(config: RingConfig, x: Tensor, device: torch.device, progress: bool = True) -> dict[str, Trainer]:
    """The ALI/BiGAN and VAE trainers (same MLPs with LeakyReLU, Adam with ``adam_betas`` for every term), each
    model seeded with ``config.seed``; train them in this order."""
    check_instance(config, RingConfig, "config")
    check_batch(x, "x", shape=(2,))

    def adam(model: ALI | VAE) -> dict[str, torch.optim.Optimizer]:
        return make_optimizers(model, OptimizerSpec("adam", config.lr, betas=config.adam_betas))

    def networks() -> tuple[MLPEncoder, MLPDecoder]:
        return (MLPEncoder((2,), config.latent_dim, config.hidden, leaky_relu),
                MLPDecoder(config.latent_dim, (2,), config.hidden, leaky_relu))

    trainers = {}
    seed_everything(config.seed)
    ali = ALI(*networks(), JointDiscriminator(2, config.latent_dim, config.discriminator_hidden), config.latent_dim)
    trainers["ALI/BiGAN"] = Trainer(ali, adam(ali), x, config.batch_size, seed=config.seed, device=device, log_every=50,
                                    progress=progress)
    seed_everything(config.seed)
    vae = VAE(*networks(), likelihood="gaussian", obs_scale=config.vae_obs_std, location="identity")
    trainers["VAE"] = Trainer(vae, adam(vae), x, config.batch_size, seed=config.seed, device=device, log_every=50,
                              progress=progress)
    return trainers


class RingScores(NamedTuple):
    """A ring model's scores with the points they were computed from (for plots)."""

    scores: dict[str, float]
    samples: Tensor
    reconstructions: Tensor


def ring_scores(model: ALI | VAE, x: Tensor, config: RingConfig, n: int = 2000) -> RingScores:
    """Mode coverage of ``n`` samples (drawn with seed 1) and the same-mode rate of the reconstructions of the first
    ``n`` training points (:mod:`gi_core.metrics.mode_coverage`); samples and reconstructions on the CPU."""
    check_module(model, "model")
    check_batch(x, "x", shape=(2,))
    check_instance(config, RingConfig, "config")
    check_positive_int(n, "n")
    means = ring_means(config.modes, config.radius).to(x.device)
    samples = model.sample(n, generator=torch.Generator().manual_seed(1))
    reconstructions = model.reconstruct(x[:n])
    scores = mode_coverage(samples, means) | {"same_mode_reconstruction": same_mode_fraction(reconstructions, x[:n], means)}
    return RingScores(scores, samples.cpu(), reconstructions.cpu())


def mnist_trainers(config: AVBConfig, device: torch.device, profile: str | None = None,
                   progress: bool = True) -> tuple[dict[str, Trainer], Tensor]:
    """The AVB and reference-VAE trainers on binarized MNIST (each model seeded with ``config.seed``; train them in
    this order) and the binarized test images."""
    check_instance(config, AVBConfig, "config")
    train, test = (load_images(config.dataset, split, profile=profile) for split in ("train", "test"))
    x, x_test = binarize(train.x).to(device), binarize(test.x).to(device)
    trainers = {}
    seed_everything(config.seed)
    avb = AVB(*encoder_decoder("mlp", (1, 28, 28), config.latent_dim, hidden=config.hidden),
              JointDiscriminator((1, 28, 28), config.latent_dim, config.discriminator_hidden))
    trainers["AVB"] = Trainer(avb, make_optimizers(avb, OptimizerSpec("adam", config.lr)), x, config.batch_size,
                              seed=config.seed, device=device, log_every=25, progress=progress)
    seed_everything(config.seed)
    vae = VAE(*encoder_decoder("mlp", (1, 28, 28), config.latent_dim, hidden=config.hidden))
    trainers["VAE"] = Trainer(vae, make_optimizers(vae, OptimizerSpec("adam", config.lr)), x, config.batch_size,
                              seed=config.seed, device=device, log_every=25, progress=progress)
    return trainers, x_test


def avb_scores(models: dict[str, AVB | VAE], x_test: Tensor, avb_history: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per model: the test ELBO with the exact KL and the exact KL (noise seeded with 3); for AVB also the mean of
    its adversarial and exact KL over its last ten logged training batches."""
    if not isinstance(models, dict) or "AVB" not in models:
        raise ValueError(f"models must be a dict of the trained models with an 'AVB' entry, got {models!r:.80}")
    check_batch(x_test, "x_test", shape=(1, 28, 28), like=models["AVB"])
    last = avb_history[-10:] if isinstance(avb_history, list) else []
    if len(last) < 10 or any(term not in h for h in last for term in ("kl_adversarial", "kl_exact")):
        raise ValueError("avb_history must be AVB's history, ten or more records of kl_adversarial and kl_exact")
    torch.manual_seed(3)
    results = {name: {"test_elbo_exact_kl": batched_mean(model.elbo, x_test),
                      "test_kl_exact": batched_mean(lambda x, m=model: kl_diag_gaussian_std_normal(*m.encode(x)).mean(), x_test)}
               for name, model in models.items()}
    for term in ("kl_adversarial", "kl_exact"):
        results["AVB"][f"{term}_last"] = sum(h[term] for h in last) / 10
    return results


def reproduce(plan: JointKLPlan, device: torch.device | None = None, progress: bool = True,
              results_dir: Path | None = None) -> Path:
    """Both trainings of ``plan`` and their scores, written to ``results/joint_kl_full.json`` with provenance."""
    check_instance(plan, JointKLPlan, "plan")
    _, _, results_dir, device = check_outputs(None, RESULT, results_dir, device)
    x, _ = ring_data(plan.ring, device)
    ring = ring_trainers(plan.ring, x, device, progress)
    histories = [trainer.fit(plan.ring.steps) for trainer in ring.values()]
    ring_results = {name: ring_scores(trainer.model, x, plan.ring).scores for name, trainer in ring.items()}
    mnist, x_test = mnist_trainers(plan.avb, device, progress=progress)
    histories += [trainer.fit(plan.avb.steps) for trainer in mnist.values()]
    avb_results = avb_scores({name: t.model for name, t in mnist.items()}, x_test, mnist["AVB"].history)
    return write(plan, ring_results, avb_results, device, histories, results_dir)


def write(plan: JointKLPlan, ring_results: dict, avb_results: dict, device: torch.device,
          histories: list[list[dict[str, float]]], results_dir: Path | None = None) -> Path:
    """``results/joint_kl_full.json``: both trainings' scores with their provenance (wall time: the four trainings)."""
    check_instance(plan, JointKLPlan, "plan")
    _, _, results_dir, device = check_outputs(None, RESULT, results_dir, device)
    if not isinstance(histories, list) or not histories or not all(h and "seconds" in h[-1] for h in histories):
        raise ValueError("histories must be the trainers' non-empty histories (their last records give the seconds)")
    wall_time = sum(history[-1]["seconds"] for history in histories)
    meta = provenance({"ring": asdict(plan.ring), "avb": asdict(plan.avb)}, [plan.ring.seed], device, wall_time)
    return write_result(RESULT, {"ring": ring_results, "avb_mnist": avb_results}, meta, results_dir)


def stored() -> dict | None:
    """The stored full-profile result, or ``None``."""
    return read_result(RESULT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of the result file (default: the repository's results/)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the AVB run needs the complete MNIST training set")
    print(f"wrote {reproduce(PLANS['full'], results_dir=args.results_dir)}")


if __name__ == "__main__":
    main()
