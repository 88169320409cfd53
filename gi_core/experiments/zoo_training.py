"""How the runs of the zoo comparison (chapter 3, :mod:`gi_core.experiments.zoo`) are defined and trained: the rows
of Astorga's (2021) Table 6.4, the configuration, the data, and the training of one run (:class:`~gi_core.trainer.Trainer`)
or of a group of runs at once (:class:`~gi_core.multi_run.MultiRunTrainer`, for the kinds without a discriminator
on MLPs, :class:`~gi_core.models.zoo.GroupedZooAutoencoders`)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from gi_core.checkpoints import checkpoint_step
from gi_core.data.images import DATASETS, load_images
from gi_core.data.transforms import to_signed_images
from gi_core.guards import NonFiniteLossError
from gi_core.models.zoo import BETA_KINDS, GroupedZooAutoencoders, ZooEntry, ZooModel, zoo_networks
from gi_core.multi_run import MultiRunTrainer
from gi_core.nets.resnets import standing_statistics
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.runtime import seed_everything
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_instance, check_labels, check_non_negative_int, check_path,
                                check_positive_int, check_real, check_reals, check_sizes, check_str, check_tensor)


def table_6_4_entries(include_aae: bool = True) -> tuple[ZooEntry, ...]:
    """The rows of Astorga's (2021) Table 6.4 (four autoencoders at beta in {0.33, 1, 30}, four GANs), plus AAE."""
    names = {"vae": "VAE", "wvae": "WVAE", "mmd": "MMD", "jsvae": "JS-VAE"}
    rows = [ZooEntry(f"{names[k]} β={b:g}", k, b) for k in BETA_KINDS for b in (0.33, 1.0, 30.0)]
    rows += [ZooEntry("AIM", "aim"), ZooEntry("VEEGAN", "veegan"), ZooEntry("ALI", "ali"), ZooEntry("ALICE", "alice")]
    if include_aae:
        rows.append(ZooEntry("AAE", "aae"))
    return tuple(rows)


@dataclass(frozen=True)
class ZooConfig:
    """Everything that defines a run of the comparison (the thesis's values where it gives them).

    ``eval_train``: how many training images the unsupervised metrics and the probe's training set use
    (``None``: all); ``n_generated``: samples for IS and FID (reference statistics: the test set);
    ``amp``/``compile``: bf16 autocast and ``torch.compile`` in the trainer (for GPU runs); ``group_size``: train up to
    this many runs of the kinds without a discriminator (MLPs only) together (:func:`train_group`), 0 (or 1 with
    one run per group) for one at a time. Every field is checked
    on construction (the models' labels must have distinct :func:`slug` file names).
    """

    arch: str = "mlp"
    dataset: str = "mnist"
    image_size: int = 32
    latent_dim: int = 10
    channels: int = 32
    hidden: tuple[int, ...] = (512, 256)
    batch_size: int = 64
    steps: int = 10_000
    lr: float = 2e-4
    adam_betas: tuple[float, float] = (0.0, 0.999)
    classifier_epochs: int = 5
    eval_train: int | None = None
    n_generated: int = 10_000
    checkpoint_every: int = 2_000
    amp: bool = False
    compile: bool = False
    group_size: int = 0
    models: tuple[ZooEntry, ...] = field(default_factory=table_6_4_entries)

    def __post_init__(self) -> None:
        check_choice(self.arch, ("mlp", "resnet"), "arch")
        check_choice(self.dataset, tuple(DATASETS), "dataset")
        for name in ("image_size", "latent_dim", "channels", "batch_size", "steps", "classifier_epochs", "n_generated"):
            check_positive_int(getattr(self, name), name)
        if self.eval_train is not None:
            check_positive_int(self.eval_train, "eval_train")
        check_non_negative_int(self.checkpoint_every, "checkpoint_every")
        check_non_negative_int(self.group_size, "group_size")
        check_sizes(self.hidden, "hidden")
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_reals(self.adam_betas, "adam_betas", length=2, minimum=0.0, maximum=1.0)
        if not isinstance(self.models, tuple) or not self.models or not all(isinstance(e, ZooEntry) for e in self.models):
            raise TypeError(f"models must be a non-empty tuple of ZooEntry, got {self.models!r:.80}")
        if len({slug(e.label) for e in self.models}) < len(self.models):
            raise ValueError(f"models must have labels with distinct file names, got {[e.label for e in self.models]}")

    def describe(self) -> dict:
        """A JSON-ready copy (the model list as labels)."""
        out = asdict(self)
        out["models"] = [e.label for e in self.models]
        return out


@dataclass
class ZooData:
    """Train and test images in [-1, 1] with labels, on the device."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    source: str

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            check_tensor(x, f"{split}_x", ndim=4)
            check_labels(y, x.shape[0], f"{split}_y")
        if self.train_x.shape[1:] != self.test_x.shape[1:]:
            raise ValueError(f"train_x and test_x must hold images of one shape, got {tuple(self.train_x.shape[1:])} "
                             f"and {tuple(self.test_x.shape[1:])}")
        check_str(self.source, "source")


def load_zoo_data(config: ZooConfig, device: torch.device, profile: str | None = None) -> ZooData:
    """Images of ``config.dataset`` resized to ``config.image_size`` and mapped to [-1, 1] (Astorga 2021, §6.3)."""
    train, test = (load_images(config.dataset, split, profile=profile) for split in ("train", "test"))
    size = config.image_size
    return ZooData(to_signed_images(train.x, size).to(device), train.y.to(device),
                   to_signed_images(test.x, size).to(device), test.y.to(device), train.source)


def build_model(entry: ZooEntry, config: ZooConfig, image_shape: tuple[int, ...]) -> ZooModel:
    """The zoo model of ``entry`` on fresh networks of ``config.arch``."""
    check_instance(entry, ZooEntry, "entry")
    check_instance(config, ZooConfig, "config")
    networks = zoo_networks(config.arch, image_shape, config.latent_dim, config.channels, config.hidden)
    return ZooModel.build(entry, networks)


def slug(label: str) -> str:
    """A file-name-safe version of a model label (``"VAE β=0.33"`` -> ``"vae_beta_0.33"``)."""
    safe = re.sub(r"[^a-z0-9.]+", "_", check_str(label, "label").lower().replace("β", "beta")).strip("_")
    if safe.strip(".") == "":
        raise ValueError(f"label {label!r} has no letter or digit to name a file with")
    return safe


def train_model(entry: ZooEntry, config: ZooConfig, data: ZooData, seed: int,
                checkpoint_dir: Path | None = None, progress: bool = True) -> tuple[ZooModel, float]:
    """Train one model for ``config.steps`` steps; resume from ``checkpoint_dir`` if it holds a checkpoint."""
    check_instance(data, ZooData, "data")
    checkpoint_dir = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    seed_everything(seed)
    model = build_model(entry, config, tuple(data.train_x.shape[1:])).to(data.train_x.device)
    optimizers = make_optimizers(model, OptimizerSpec("adam", config.lr, betas=config.adam_betas))  # thesis: every network
    trainer = Trainer(model, optimizers, data.train_x, config.batch_size, seed=seed,
                      checkpoint_dir=checkpoint_dir, checkpoint_every=config.checkpoint_every if checkpoint_dir else 0,
                      log_every=100, progress=progress, amp=config.amp, compile=config.compile)
    trainer.resume()
    start = time.perf_counter()
    trainer.fit(config.steps)
    if config.arch == "resnet":  # BN statistics of the generator from 16 passes (the thesis's "standing statistics")
        standing_statistics(model.decoder, config.latent_dim)
    model.eval()
    return model, time.perf_counter() - start


def groupable(entry: ZooEntry, config: ZooConfig) -> bool:
    """Whether runs of ``entry`` can be trained in a group under ``config`` (a kind without a discriminator, on MLPs,
    with ``config.group_size`` set)."""
    check_instance(entry, ZooEntry, "entry")
    check_instance(config, ZooConfig, "config")
    return config.group_size > 0 and config.arch == "mlp" and entry.kind in BETA_KINDS


def train_group(runs: list[tuple[ZooEntry, int]], config: ZooConfig, data: ZooData,
                checkpoint_dirs: list[Path | None] | None = None,
                progress: bool = True) -> list[tuple[ZooModel | NonFiniteLossError, float, int]]:
    """Train the runs ``[(entry, seed), ...]`` together, each as :func:`train_model` would train it alone.

    Run ``s`` starts from the weights :func:`train_model` starts from (the model built after seeding with its seed);
    runs resume from their checkpoints, those checkpointed at one step as one group. Returns, per run, the trained
    model (or the error that stopped it), its share of the group's training seconds and the size of its group.
    """
    check_instance(data, ZooData, "data")
    check_instance(config, ZooConfig, "config")
    if not isinstance(runs, list) or not runs or not all(
            isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], ZooEntry) for r in runs):
        raise TypeError(f"runs must be a non-empty list of (ZooEntry, seed) pairs, got {runs!r:.80}")
    for entry, seed in runs:
        check_non_negative_int(seed, "seed")
        if config.arch != "mlp" or entry.kind not in BETA_KINDS:
            raise ValueError(f"{entry.label} on {config.arch} networks cannot be grouped: only {BETA_KINDS} on MLPs")
    folders = [None] * len(runs) if checkpoint_dirs is None else [
        None if folder is None else check_path(folder, "checkpoint_dirs[i]") for folder in checkpoint_dirs]
    if len(folders) != len(runs):
        raise ValueError(f"checkpoint_dirs must give one folder per run ({len(runs)}), got {len(folders)}")
    outcomes: list[tuple[ZooModel | NonFiniteLossError, float, int]] = [None] * len(runs)  # type: ignore[list-item]
    by_step: dict[int, list[int]] = {}
    for i, folder in enumerate(folders):
        by_step.setdefault(checkpoint_step(folder), []).append(i)
    for members in by_step.values():
        models = []
        for i in members:
            seed_everything(runs[i][1])
            models.append(build_model(runs[i][0], config, tuple(data.train_x.shape[1:])))
        group = GroupedZooAutoencoders.stack(models).to(data.train_x.device)
        optimizers = make_optimizers(group, OptimizerSpec("adam", config.lr, betas=config.adam_betas))
        dirs = [folders[i] for i in members]
        trainer = MultiRunTrainer(group, optimizers, data.train_x, config.batch_size, [runs[i][1] for i in members],
                                  checkpoint_dirs=None if None in dirs else dirs,
                                  checkpoint_every=config.checkpoint_every if None not in dirs else 0,
                                  log_every=100, progress=progress, amp=config.amp, compile=config.compile)
        trainer.resume()
        start = time.perf_counter()
        trainer.fit(config.steps)
        share = (time.perf_counter() - start) / len(members)
        for s, i in enumerate(members):
            outcome = trainer.stopped.get(s) or trainer.model.run_model(s).eval()
            outcomes[i] = (outcome, share, len(members))
    return outcomes
