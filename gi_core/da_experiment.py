"""Seed 003 Table 2 as an experiment: source-only, DANN, CDLM and target-only on digit adaptation tasks.

Every method is trained for a fixed number of steps and evaluated once, at the end, on the target test
split: **no model, checkpoint or hyperparameter is selected with target labels** (the selection rule of
the chapter; the target's training labels are read only by the ``target_only`` bound). Resumable: each
finished run is kept as JSON in ``--run-dir`` and skipped next time; unfinished runs resume from their
last checkpoint::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.da_experiment --task mnist_usps --steps 4000

The chapter ``notebooks/04_domain_adaptation`` calls the same functions.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

from gi_core.cdlm import CDLM, build_cdlm, cdlm_optimizers
from gi_core.data import USPS_ESL_FOLDER, ImageData, data_root, load_images, load_usps_esl_variant
from gi_core.domain_adaptation import (
    DANN,
    a_distance,
    build_dann,
    dann_learning_rate,
    frame_digits,
    joint_error,
    prepare_digits,
)
from gi_core.results import git_commit, provenance, summarize_runs, write_result
from gi_core.runtime import add_run_arguments, current_profile, default_device, seed_everything
from gi_core.trainer import STATE_FILE, Trainer


class DATask(NamedTuple):
    """A digit adaptation task: datasets, image channels and how the images are prepared."""

    source: str
    target: str
    channels: int = 1
    usps_box: int | None = None
    """USPS digits framed in a ``usps_box`` square (:func:`~gi_core.domain_adaptation.frame_digits`); ``None``
    resizes USPS's 16×16 frame to 28×28, as seed 003 does."""
    balance_target: bool = False
    """Target training images resampled to the source's class proportions (:func:`proportional_subset`). This
    reads the target's *training labels*: a diagnostic oracle for label shift, not an adaptation method."""


TASKS = {
    "mnist_usps": DATask("mnist", "usps"),
    "usps_mnist": DATask("usps", "mnist"),
    "mnist_mnistm": DATask("mnist", "mnist_m", channels=3),
    "mnist_usps_framed": DATask("mnist", "usps", usps_box=20),
    "usps_mnist_framed": DATask("usps", "mnist", usps_box=20),
    "mnist_usps_framed_balanced": DATask("mnist", "usps", usps_box=20, balance_target=True),
}
METHODS = ("source_only", "dann", "cdlm", "target_only")
METRICS = ("target_accuracy", "source_accuracy", "a_distance", "train_seconds")
BOOK_CDLM = {"lambda2": 1.0, "consistency_to_encoder": True}
"""The book's CDLM options: the reconstruction reaches the encoder at full weight and the consistency losses
train it too. With the literal Eq. 21 (:math:`\\lambda_2=10^{-4}`, no :math:`\\mathcal L_c` for the encoder) the
encoder gets almost no reconstruction signal: after 4 000 steps on MNIST→USPS the reconstruction is 131 nats
(52–56 with these options) and digits of both domains are classified near chance (chapter 4)."""
BOOK_CDLM_LR = 1e-3
"""The book's initial learning rate for CDLM's encoder and discriminator (SGD with momentum 0.9), a tenth of Ganin's
rate for DANN: the reconstruction, summed over pixels, reaches the encoder at full weight, and at 0.01 most of the
encoder's last hidden units die within ten steps (:func:`~gi_core.cdlm_diagnosis.early_training_trace`)."""


@dataclass(frozen=True)
class DAConfig:
    """One adaptation run: task, method and optimisation (Ganin et al.'s schedule for every method).

    ``batch_size`` images of *each* domain per step. Learning rate :math:`\\mu_p = \\mu_0/(1+10p)^{0.75}`
    (:func:`~gi_core.domain_adaptation.dann_learning_rate`) and GRL coefficient
    :math:`\\lambda_p=\\lambda_{\\max}\\,(2/(1+e^{-10p})-1)`. ``source_only`` and ``target_only`` are DANN's
    networks with :math:`\\lambda=0` (the discriminator trains, its gradient never reaches the features), so
    the three share architecture, batches and cost. ``cdlm`` options go to :func:`~gi_core.cdlm.build_cdlm`.
    """

    task: str = "mnist_usps"
    method: str = "dann"
    steps: int = 4000
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    lambda_max: float = 1.0
    lr_generative: float = 1e-3
    cdlm: dict = field(default_factory=dict)
    checkpoint_every: int = 1000
    amp: bool = False
    compile: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {sorted(TASKS)}, got {self.task!r}")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.steps < 1 or self.batch_size < 1 or self.lr <= 0 or self.lambda_max < 0:
            raise ValueError(f"steps, batch_size and lr must be positive and lambda_max >= 0, got {self}")

    @property
    def label(self) -> str:
        """File-name-safe run name: the method, then every setting that differs from the default
        (``"dann"``, ``"dann_lambda_max-0.3"``, ``"dann_steps-10000"``, ``"cdlm_consistency_to_encoder-True_lambda2-1.0"``)."""
        changed = {name: getattr(self, name) for name in ("steps", "lambda_max", "lr", "momentum", "lr_generative")
                   if getattr(self, name) != getattr(DAConfig, name)}
        if self.method == "cdlm":
            changed.update(self.cdlm)
        return "_".join([self.method, *(f"{k}-{v}" for k, v in sorted(changed.items()))])


@dataclass
class DomainData:
    """Images of a task, prepared for one network input shape, on one device.

    ``target_y`` (target training labels) exists for the ``target_only`` bound alone; adaptation methods
    never see it. ``sources`` names where each split came from (the USPS training split may be the ESL
    variant, see :func:`~gi_core.data.load_images`).
    """

    source_x: Tensor
    source_y: Tensor
    target_x: Tensor
    target_y: Tensor
    source_test_x: Tensor
    source_test_y: Tensor
    target_test_x: Tensor
    target_test_y: Tensor
    sources: dict[str, str]


def load_domain_data(task: str, device: torch.device, profile: str | None = None, image_size: int = 28) -> DomainData:
    """Source and target training and test splits of ``task`` as ``(N, C, image_size, image_size)`` tensors in [0, 1].

    USPS is resized to ``image_size``, or framed in a box for the ``_framed`` tasks (:data:`TASKS`)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    splits, sources = {}, {}
    for role, name in (("source", TASKS[task].source), ("target", TASKS[task].target)):
        for split in ("train", "test"):
            key = role if split == "train" else f"{role}_test"
            splits[f"{key}_x"], splits[f"{key}_y"], sources[key] = _task_images(
                task, load_images(name, split, profile=profile), device, image_size)
    if TASKS[task].balance_target:
        proportions = torch.bincount(splits["source_y"].cpu(), minlength=10).double()  # ten digit classes
        keep = proportional_subset(splits["target_y"].cpu(), proportions / proportions.sum()).to(device)
        splits["target_x"], splits["target_y"] = splits["target_x"][keep], splits["target_y"][keep]
        sources["target"] += ", resampled to the source's class proportions with its labels (oracle diagnostic)"
    return DomainData(**splits, sources=sources)


def proportional_subset(labels: Tensor, proportions: Tensor, seed: int = 0) -> Tensor:
    r"""Sorted indices of the largest subset of ``labels`` whose class frequencies are ``proportions`` (rounded down).

    With :math:`n_c` examples of class :math:`c` and target frequencies :math:`p_c`, the subset keeps
    :math:`\lfloor p_c M\rfloor` examples of each class, :math:`M=\min_{c:\,p_c>0} n_c/p_c`, drawn by a
    seeded permutation.
    """
    if labels.dim() != 1 or labels.is_floating_point() or labels.min() < 0 or labels.max() >= proportions.numel():
        raise ValueError(f"labels must be a 1-D integer tensor of classes 0..{proportions.numel() - 1}")
    if (proportions < 0).any() or abs(float(proportions.sum()) - 1.0) > 1e-6:
        raise ValueError(f"proportions must be non-negative and sum to 1, got {proportions.tolist()}")
    proportions = proportions.double()  # 1 + 1e-6 below: float32 shares such as 0.3
    counts = torch.bincount(labels, minlength=proportions.numel()).double()
    positive = proportions > 0
    total = (counts[positive] / proportions[positive]).min()
    order = torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(seed))
    keep = [order[labels[order] == c][: int(math.floor(float(p) * float(total) * (1 + 1e-6)))]
            for c, p in enumerate(proportions)]
    return torch.cat(keep).sort().values


def _task_images(task: str, data: ImageData, device: torch.device, image_size: int) -> tuple[Tensor, Tensor, str]:
    """Images of one split prepared as ``task`` feeds them to the networks, their labels, and where they came from."""
    box = TASKS[task].usps_box
    x, note = data.x, (" (substitute)" if "substitute" in data.info else "")
    if data.name == "usps" and box is not None:
        x, note = frame_digits(x, box, image_size), note + f", framed in a {box}x{box} box"
    return prepare_digits(x, image_size, TASKS[task].channels).to(device), data.y.long().to(device), data.source + note


def paired_domains(source: tuple[Tensor, ...], target: tuple[Tensor, ...], seed: int) -> tuple[Tensor, ...]:
    """Source and target tensors brought to one length by repeating random permutations of the shorter domain.

    :class:`~gi_core.trainer.Trainer` draws the same rows of every tensor, so each step sees one batch of each
    domain; no example of the longer domain is dropped and the shorter one is used evenly.
    """
    generator = torch.Generator().manual_seed(seed)
    n = max(source[0].shape[0], target[0].shape[0])

    def stretch(tensors: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        m = tensors[0].shape[0]
        if m == n:
            return tensors
        order = torch.cat([torch.randperm(m, generator=generator) for _ in range(-(-n // m))])[:n]
        order = order.to(tensors[0].device)
        return tuple(t[order] for t in tensors)

    return stretch(source) + stretch(target)


def build_method(config: DAConfig, data: DomainData) -> tuple[DANN | CDLM, dict[str, torch.optim.Optimizer]]:
    """The model of ``config.method`` with its optimizers (SGD with momentum; CDLM adds Adam for its decoder)."""
    shape = tuple(data.source_x.shape[1:])
    if config.method == "cdlm":
        model = build_cdlm(shape, schedule_steps=config.steps, lambda_max=config.lambda_max, **config.cdlm)
        optimizers = cdlm_optimizers(model, config.lr, config.momentum, config.lr_generative)
    else:
        adversarial = config.method == "dann"
        model = build_dann(shape[0], shape[1], schedule_steps=config.steps if adversarial else None,
                           lambda_=config.lambda_max if adversarial else 0.0)
        optimizers = {"loss": torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)}
    return model.to(data.source_x.device), optimizers


def method_trainer(config: DAConfig, data: DomainData, seed: int, checkpoint_dir: Path | None = None,
                   progress: bool = True, log_every: int = 100) -> tuple[DANN | CDLM, Trainer]:
    """A seeded, untrained model of ``config`` with its :class:`~gi_core.trainer.Trainer` (batches, schedules over
    ``config.steps``, checkpoints in ``checkpoint_dir``)."""
    seed_everything(seed)
    model, optimizers = build_method(config, data)
    if config.method == "target_only":  # the upper bound: labelled target images in the source slot
        tensors = paired_domains((data.target_x, data.target_y), (data.target_x,), seed)
    else:
        tensors = paired_domains((data.source_x, data.source_y), (data.target_x,), seed)
    steps = config.steps
    trainer = Trainer(model, optimizers, tensors, config.batch_size, seed=seed, checkpoint_dir=checkpoint_dir,
                      checkpoint_every=config.checkpoint_every if checkpoint_dir else 0, log_every=log_every,
                      progress=progress, amp=config.amp, compile=config.compile,
                      lr_schedule=lambda step: dann_learning_rate(min(step / steps, 1.0), 1.0))
    return model, trainer


def train_method(config: DAConfig, data: DomainData, seed: int, checkpoint_dir: Path | None = None,
                 progress: bool = True) -> tuple[DANN | CDLM, Trainer, float]:
    """Train ``config.method`` for ``config.steps`` steps (resuming from ``checkpoint_dir`` if it holds a checkpoint)."""
    model, trainer = method_trainer(config, data, seed, checkpoint_dir, progress)
    trainer.resume()
    start = time.perf_counter()
    trainer.fit(config.steps)
    model.eval()
    return model, trainer, time.perf_counter() - start


def accuracy(predictions: Tensor, labels: Tensor) -> float:
    """The fraction of ``predictions`` (on the CPU, as ``predict`` returns them) equal to ``labels``."""
    return (predictions == labels.cpu()).float().mean().item()


def predict_test_splits(model: DANN | CDLM, data: DomainData) -> tuple[Tensor, Tensor]:
    """``model.predict`` on the target and then the source test split, CDLM's test-time noise fixed."""
    with torch.random.fork_rng():  # every device's generator is restored afterwards
        torch.manual_seed(0)  # CDLM's test-time noise gamma2 * eps, fixed for a reproducible number
        return model.predict(data.target_test_x), model.predict(data.source_test_x)


def evaluate_method(model: DANN | CDLM, data: DomainData) -> dict[str, float]:
    """Accuracy on the target and source test splits (CDLM classifies its translations :math:`\\tilde x_{ts}`)."""
    target, source = predict_test_splits(model, data)
    return {"target_accuracy": accuracy(target, data.target_test_y), "source_accuracy": accuracy(source, data.source_test_y)}


def evaluation_features(model: DANN | CDLM | None, data: DomainData) -> tuple[Tensor, Tensor]:
    """Source and target test images as CPU rows: the model's features (:meth:`embed`), or raw pixels for ``None``."""
    if model is None:
        return data.source_test_x.flatten(1).cpu(), data.target_test_x.flatten(1).cpu()
    return model.embed(data.source_test_x), model.embed(data.target_test_x)


def feature_a_distance(model: DANN | CDLM | None, data: DomainData, max_per_domain: int = 1000, seed: int = 0) -> float:
    """Proxy A-distance between source and target *test* images in the model's feature space (raw pixels for ``None``).

    Test images of both domains (no labels used); a linear SVM as in :func:`~gi_core.domain_adaptation.a_distance`.
    """
    source, target = evaluation_features(model, data)
    return a_distance(source, target, max_per_domain=max_per_domain, seed=seed).value


def feature_joint_error(model: DANN | CDLM | None, data: DomainData, max_per_domain: int = 2000,
                        seed: int = 0) -> dict[str, float]:
    """The adaptability term :math:`\\lambda^*` in the model's feature space (raw pixels for ``None``), on test images.

    :func:`~gi_core.domain_adaptation.joint_error` on the features of at most ``max_per_domain`` source and
    target test images with their labels: a diagnosis that reads target labels, never a selection rule.
    """
    source, target = evaluation_features(model, data)
    return joint_error(source, data.source_test_y, target, data.target_test_y, max_per_domain=max_per_domain, seed=seed)


def tsne_coordinates(model: DANN | CDLM | None, data: DomainData, n_per_domain: int = 500, seed: int = 0) -> dict[str, list]:
    """2-D t-SNE (scikit-learn, perplexity 30 or less for tiny samples, PCA start) of ``n_per_domain`` test images of each domain.

    Features of ``model`` (raw pixels for ``None``). Returns ``{"xy": [[x, y], ...], "domain": [1 = source,
    0 = target], "label": [class]}``, small enough to store with a result. Labels only colour the plot.
    """
    from sklearn.manifold import TSNE

    generator = torch.Generator().manual_seed(seed)
    parts = []
    for domain, x, y in ((1, data.source_test_x, data.source_test_y), (0, data.target_test_x, data.target_test_y)):
        idx = torch.randperm(x.shape[0], generator=generator)[:n_per_domain].to(x.device)
        features = x[idx].flatten(1).cpu() if model is None else model.embed(x[idx])
        parts.append((features, torch.full((idx.numel(),), domain), y[idx].cpu()))
    features = torch.cat([p[0] for p in parts]).double().numpy()
    perplexity = min(30.0, (features.shape[0] - 1) / 3)  # scikit-learn needs perplexity < n
    xy = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    return {"xy": [[round(float(a), 3), round(float(b), 3)] for a, b in xy],
            "domain": torch.cat([p[1] for p in parts]).tolist(), "label": torch.cat([p[2] for p in parts]).tolist()}


def run_name(config: DAConfig, seed: int) -> str:
    """``<task>_<label>_seed<k>``: the name of a run's record (``.json``) and checkpoint folder in a run directory."""
    return f"{config.task}_{config.label}_seed{seed}"


def run_methods(configs: list[DAConfig], seeds: list[int], data: DomainData, run_dir: Path | None = None,
                progress: bool = True, a_distance_seed: int | None = 0) -> list[dict]:
    """Train and evaluate every configuration for every seed; one record per run.

    With ``run_dir`` each finished run is stored as ``<task>_<label>_seed<k>.json`` and skipped next time,
    checkpoints go to ``<task>_<label>_seed<k>/``. Runs with seed ``a_distance_seed`` also record the proxy
    A-distance of their features and a t-SNE of them (:func:`tsne_coordinates`).
    """
    records, commit = [], git_commit()
    for config in configs:
        for seed in seeds:
            name = run_name(config, seed)
            done = run_dir / f"{name}.json" if run_dir is not None else None
            if done is not None and done.exists():
                record = json.loads(done.read_text())
                if record["steps"] != config.steps:
                    raise ValueError(f"{done} holds a run of {record['steps']} steps, not {config.steps}: "
                                     "use another run_dir or delete it")
                records.append(record | {"model": config.label})  # labels name configurations; older runs used shorter ones
                continue
            model, trainer, seconds = train_method(config, data, seed, run_dir / name if run_dir else None, progress)
            record = {"task": config.task, "model": config.label, "method": config.method, "seed": seed,
                      "steps": config.steps, "commit": commit, "train_seconds": round(seconds, 2),
                      **evaluate_method(model, data),
                      "final_terms": {k: v for k, v in trainer.history[-1].items() if k not in ("step", "epoch")}}
            if seed == a_distance_seed:
                record["a_distance"] = feature_a_distance(model, data)
                record["tsne"] = tsne_coordinates(model, data)
            if done is not None:
                done.write_text(json.dumps(record))
            records.append(record)
    return records


def single_task(plan: list[tuple[DAConfig, list[int]]]) -> str:
    """The one task every configuration of ``plan`` belongs to (a result file holds one task), or raise."""
    tasks = {config.task for config, _ in plan}
    if len(tasks) != 1:
        raise ValueError(f"one task per result file, got {sorted(tasks)}")
    return tasks.pop()


def plan_provenance(plan: list[tuple[DAConfig, list[int]]], data_sources: dict[str, str], device: torch.device,
                    start: float, **notes: str) -> dict:
    """:func:`~gi_core.results.provenance` of a plan's result: its configurations with their seeds, where the data
    came from, ``notes`` (selection rule, purpose) and the wall time since ``start`` (``time.perf_counter()``)."""
    return provenance({"runs": [asdict(c) | {"seeds": s} for c, s in plan], "data_sources": data_sources, **notes},
                      sorted({seed for _, seeds in plan for seed in seeds}), device, time.perf_counter() - start)


def reproduce(plan: list[tuple[DAConfig, list[int]]], run_dir: Path, result_name: str,
              device: torch.device | None = None, progress: bool = True) -> Path:
    """Run every ``(configuration, seeds)`` of one task and write ``results/<result_name>.json`` with provenance.

    The result holds each run's record (with the commit it ran at), the summary over seeds per configuration
    (:func:`~gi_core.results.summarize_runs`), and the proxy A-distance and t-SNE of the raw test images.
    """
    device = device or default_device()
    commit, start = git_commit(), time.perf_counter()
    data = load_domain_data(single_task(plan), device)
    records = [record for config, seeds in plan for record in run_methods([config], seeds, data, run_dir, progress)]
    metrics = {"summary": summarize_runs(records, METRICS), "runs": records,
               "a_distance_raw": feature_a_distance(None, data), "tsne_raw": tsne_coordinates(None, data)}
    meta = plan_provenance(plan, data.sources, device, start,
                           selection_rule="final iterate after a fixed number of steps; no target labels") | {"commit": commit}
    return write_result(result_name, metrics, meta)


def load_stored_model(config: DAConfig, seed: int, data: DomainData, run_dir: Path) -> DANN | CDLM:
    """The final model of a finished run (its last checkpoint in ``run_dir``), in evaluation mode on ``data``'s device."""
    state_file = run_dir / run_name(config, seed) / STATE_FILE
    if not state_file.exists():
        raise FileNotFoundError(f"no finished run of {config.label} (seed {seed}): {state_file} is missing; "
                                f"train it first with reproduce()")
    model, _ = build_method(config, data)
    model.load_state_dict(torch.load(state_file, map_location=data.source_x.device, weights_only=True)["model"])
    return model.eval()


def stored_models(plan: list[tuple[DAConfig, list[int]]], data: DomainData,
                  run_dir: Path) -> Iterator[tuple[DAConfig, int, DANN | CDLM]]:
    """Every finished run of ``plan`` as ``(config, seed, model)``, one at a time (:func:`load_stored_model`)."""
    for config, seeds in plan:
        for seed in seeds:
            yield config, seed, load_stored_model(config, seed, data, run_dir)


def evaluate_stored_runs(plan: list[tuple[DAConfig, list[int]]], data: DomainData, run_dir: Path,
                         test_sets: dict[str, tuple[Tensor, Tensor]]) -> list[dict]:
    """Accuracy of every finished run of ``plan`` (its final checkpoint in ``run_dir``) on each labelled test set.

    One record per run: ``{"model": label, "seed": k, "<name>_accuracy": ...}``, evaluated as
    :func:`evaluate_method` evaluates the target test split (CDLM's test-time noise fixed).
    """
    records = []
    for config, seed, model in stored_models(plan, data, run_dir):
        record = {"model": config.label, "seed": seed}
        for name, (x, y) in test_sets.items():
            record[f"{name}_accuracy"] = evaluate_method(
                model, replace(data, target_test_x=x, target_test_y=y))["target_accuracy"]
        records.append(record)
    return records


def release_check(plan: list[tuple[DAConfig, list[int]]], run_dir: Path, result_name: str,
                  device: torch.device | None = None) -> Path:
    """Diagnosis of the USPS substitute: finished USPS-target runs evaluated on *both* releases of the test images.

    In the full profile the USPS training images are the ESL release (:func:`~gi_core.data.load_images`), the
    test images torchvision's release, smoothed differently; adaptation aligns the source with the first and is
    scored on the second. This writes ``results/<result_name>.json`` with each run's accuracy on the torchvision
    test images (``target``), on the same 2 007 images in the ESL release (``esl_test``) and on the target
    training images (``target_train``). It reads target labels to *measure*, never to choose anything.
    """
    task, device, start = single_task(plan), device or default_device(), time.perf_counter()
    if TASKS[task].target != "usps":
        raise ValueError(f"release_check needs a task with USPS as its target, got {task}")
    data = load_domain_data(task, device)
    esl_x, esl_y, esl_source = _task_images(
        task, load_usps_esl_variant("test", data_root() / USPS_ESL_FOLDER), device, data.target_x.shape[-1])
    records = evaluate_stored_runs(plan, data, run_dir, {"target": (data.target_test_x, data.target_test_y),
                                                          "esl_test": (esl_x, esl_y),
                                                          "target_train": (data.target_x, data.target_y)})
    names = ("target_accuracy", "esl_test_accuracy", "target_train_accuracy")
    meta = plan_provenance(plan, data.sources | {"esl_test": esl_source}, device, start,
                           purpose="diagnosis of the release mismatch; target labels measure, nothing is selected")
    return write_result(result_name, {"summary": summarize_runs(records, names), "runs": records}, meta)


def reverse_validate_runs(plan: list[tuple[DAConfig, list[int]]], data: DomainData, run_dir: Path,
                          progress: bool = True) -> list[dict]:
    """Reverse validation (Zhong et al., 2010; Ganin et al., 2016) of every finished source-only or DANN run of ``plan``.

    For each run, the forward network labels the target training images; a *reverse* network of the same
    configuration and seed is then trained with those pseudo-labelled target images as its source and the
    source training images, unlabelled, as its target. Its accuracy on the labelled source test split (no
    run trains on it) is the forward run's ``reverse_accuracy``: when the forward network labels the target
    mostly right with features that carry over, the reverse network recovers the source classes. Reverse runs
    are cached in ``run_dir`` as ``<run>_reverse``. Each record also holds the forward run's target test
    accuracy and the accuracy of its pseudo-labels, which read target labels *only to measure* the choice.
    """
    if any(config.method not in ("source_only", "dann") for config, _ in plan):
        raise ValueError(f"reverse validation compares source-only and DANN runs, got {sorted({c.method for c, _ in plan})}")
    records = []
    for config, seeds in plan:
        for seed in seeds:
            name = f"{run_name(config, seed)}_reverse"
            if (run_dir / f"{name}.json").exists():
                records.append(json.loads((run_dir / f"{name}.json").read_text()))
                continue
            forward = load_stored_model(config, seed, data, run_dir)
            pseudo = forward.predict(data.target_x).to(data.target_x.device)
            swapped = replace(data, source_x=data.target_x, source_y=pseudo, target_x=data.source_x)
            reverse, _, seconds = train_method(config, swapped, seed, run_dir / name, progress)
            record = {"model": config.label, "method": config.method, "seed": seed, "commit": git_commit(),
                      "train_seconds": round(seconds, 2),
                      "reverse_accuracy": accuracy(reverse.predict(data.source_test_x), data.source_test_y),
                      "pseudo_label_accuracy": (pseudo == data.target_y).float().mean().item(),
                      "target_accuracy": evaluate_method(forward, data)["target_accuracy"]}
            (run_dir / f"{name}.json").write_text(json.dumps(record))
            records.append(record)
    return records


def reverse_validation(plan: list[tuple[DAConfig, list[int]]], run_dir: Path, result_name: str,
                       device: torch.device | None = None, progress: bool = True) -> Path:
    """Reverse-validate the runs of one task (:func:`reverse_validate_runs`) and write ``results/<result_name>.json``.

    The result holds every record, the summary over seeds, ``selected`` (the DANN configuration with the
    highest mean reverse accuracy) and ``selected_any`` (source only competing too).
    """
    device, start = device or default_device(), time.perf_counter()
    data = load_domain_data(single_task(plan), device)
    records = reverse_validate_runs(plan, data, run_dir, progress)
    summary = summarize_runs(records, ("reverse_accuracy", "target_accuracy", "pseudo_label_accuracy"))
    metrics = {"summary": summary, "runs": records,
               "selected": highest(summary, [c.label for c, _ in plan if c.method == "dann"], "reverse_accuracy"),
               "selected_any": highest(summary, [c.label for c, _ in plan], "reverse_accuracy")}
    meta = plan_provenance(plan, data.sources, device, start,
                           selection_rule="highest mean reverse accuracy over seeds (source test labels, pseudo-labelled "
                                          "target training images); target labels only measure the choice")
    return write_result(result_name, metrics, meta)


def highest(summary: dict[str, dict[str, list[float]]], labels: list[str], metric: str) -> str:
    """The label among ``labels`` with the highest mean ``metric`` in a :func:`~gi_core.results.summarize_runs` table
    (the first such label on ties)."""
    if not labels:
        raise ValueError("no candidate labels to choose from")
    missing = [label for label in labels if metric not in summary.get(label, {})]
    if missing:
        raise KeyError(f"no {metric} for {missing} in the summary")
    return max(labels, key=lambda label: summary[label][metric][0])


def bound_terms(plan: list[tuple[DAConfig, list[int]]], run_dir: Path, result_name: str,
                device: torch.device | None = None) -> Path:
    """The measurable terms of the Ben-David bound for every finished run of one task, in its feature space.

    Per run: the source and target test accuracies, the proxy A-distance of the test features
    (:func:`feature_a_distance`) and the adaptability term (:func:`feature_joint_error`); the same two for the
    raw pixels. Writes ``results/<result_name>.json``. Target labels are read to *measure*, never to choose.
    """
    device, start = device or default_device(), time.perf_counter()
    data = load_domain_data(single_task(plan), device)
    records = [{"model": config.label, "seed": seed, **evaluate_method(model, data),
                "a_distance": feature_a_distance(model, data), **feature_joint_error(model, data)}
               for config, seed, model in stored_models(plan, data, run_dir)]
    metrics = {"summary": summarize_runs(records, ("target_accuracy", "source_accuracy", "a_distance", "lambda_star",
                                                   "source_error", "target_error")),
               "runs": records, "raw": {"a_distance": feature_a_distance(None, data), **feature_joint_error(None, data)}}
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="diagnosis: terms of the Ben-David bound; target labels measure, nothing is selected")
    return write_result(result_name, metrics, meta)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=sorted(TASKS), default="mnist_usps")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    add_run_arguments(parser, steps=DAConfig.steps, batch_size=DAConfig.batch_size, run_dir="da",
                      result_help="result file stem (default da_<task>)")
    parser.add_argument("--lambda-max", type=float, default=DAConfig.lambda_max,
                        help="largest reversal coefficient of the adversarial methods (DANN, CDLM)")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"initial learning rate mu_0 of the SGD optimizer, for every method (default {DAConfig.lr}; "
                             f"{BOOK_CDLM_LR} for CDLM's encoder and discriminator)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the reproduction needs the complete datasets")
    default_lr = {"cdlm": BOOK_CDLM_LR}
    configs = [DAConfig(task=args.task, method=m, steps=args.steps, batch_size=args.batch_size, amp=args.amp,
                        compile=args.compile, cdlm=BOOK_CDLM if m == "cdlm" else {},
                        lr=args.lr if args.lr is not None else default_lr.get(m, DAConfig.lr),
                        lambda_max=args.lambda_max if m in ("dann", "cdlm") else DAConfig.lambda_max)
               for m in args.methods]
    path = reproduce([(c, args.seeds) for c in configs], args.run_dir / args.task, args.result or f"da_{args.task}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
