r"""The digit domains of the adaptation chapters: source and target images of a task, prepared for one network.

A task (:data:`TASKS`) names a source and a target dataset and how their images are prepared (resized to
28×28, repeated to three channels for MNIST-M, USPS digits framed like MNIST's); :func:`load_domain_data` loads
the four splits as tensors on a device, :func:`paired_domains` brings the two domains to one length so that the
trainer draws one batch of each per step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from gi_core.data.images import DATASETS, ImageData, load_images
from gi_core.data.transforms import frame_digits, prepare_digits
from gi_core.validation import (check_choice, check_device, check_instance, check_labels, check_non_negative_int,
                                check_positive_int, check_tensor)


@dataclass(frozen=True)
class DATask:
    """A digit adaptation task: datasets, image channels and how the images are prepared."""

    source: str
    target: str
    channels: int = 1
    usps_box: int | None = None
    """USPS digits framed in a ``usps_box`` square (:func:`~gi_core.data.transforms.frame_digits`); ``None``
    resizes USPS's 16×16 frame to 28×28, as Hou et al. (2022) do."""
    balance_target: bool = False
    """Target training images resampled to the source's class proportions (:func:`proportional_subset`). This
    reads the target's *training labels*: a diagnostic oracle for label shift, not an adaptation method."""

    def __post_init__(self) -> None:
        check_choice(self.source, tuple(sorted(DATASETS)), "source")
        check_choice(self.target, tuple(sorted(DATASETS)), "target")
        if check_positive_int(self.channels, "channels") not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if self.usps_box is not None:
            check_positive_int(self.usps_box, "usps_box")
        check_instance(self.balance_target, bool, "balance_target")


TASKS = {
    "mnist_usps": DATask("mnist", "usps"),
    "usps_mnist": DATask("usps", "mnist"),
    "mnist_mnistm": DATask("mnist", "mnist_m", channels=3),
    "mnist_usps_framed": DATask("mnist", "usps", usps_box=20),
    "usps_mnist_framed": DATask("usps", "mnist", usps_box=20),
    "mnist_usps_framed_balanced": DATask("mnist", "usps", usps_box=20, balance_target=True),
    "svhn_mnist": DATask("svhn", "mnist", channels=3),
}
DOMAIN_SPLITS = ("source", "target", "source_test", "target_test")


@dataclass
class DomainData:
    """Images of a task, prepared for one network input shape, on one device.

    ``target_y`` (target training labels) exists for the ``target_only`` bound alone; adaptation methods
    never see it. ``sources`` names where each split came from (the USPS training split may be the ESL
    variant, see :func:`~gi_core.data.images.load_images`). Each split holds floating images ``(N, C, H, W)``, of
    one shape in all splits, with ``N`` integer labels; a test split may be left empty (both tensors without
    elements) where only training runs.
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

    def __post_init__(self) -> None:
        shapes = {}
        for split in DOMAIN_SPLITS:
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            for name, value in ((f"{split}_x", x), (f"{split}_y", y)):
                if not isinstance(value, Tensor):
                    raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
            if split.endswith("_test") and x.numel() == 0 and y.numel() == 0:
                continue
            check_tensor(x, f"{split}_x", ndim=4)
            check_labels(y, x.shape[0], f"{split}_y")
            shapes[f"{split}_x"] = tuple(x.shape[1:])
        if len(set(shapes.values())) > 1:
            listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            raise ValueError(f"the images of every split must have one shape (C, H, W), got {listed}")
        check_instance(self.sources, dict, "sources")


def load_domain_data(task: str, device: torch.device, profile: str | None = None, image_size: int = 28) -> DomainData:
    """Source and target training and test splits of ``task`` as ``(N, C, image_size, image_size)`` tensors in [0, 1].

    USPS is resized to ``image_size``, or framed in a box for the ``_framed`` tasks (:data:`TASKS`)."""
    check_choice(task, tuple(sorted(TASKS)), "task")
    check_device(device, "device")
    check_positive_int(image_size, "image_size")
    splits, sources = {}, {}
    for role, name in (("source", TASKS[task].source), ("target", TASKS[task].target)):
        for split in ("train", "test"):
            key = role if split == "train" else f"{role}_test"
            splits[f"{key}_x"], splits[f"{key}_y"], sources[key] = task_images(
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
    check_tensor(proportions, "proportions", ndim=1)
    if (proportions < 0).any() or abs(float(proportions.sum()) - 1.0) > 1e-6:
        raise ValueError(f"proportions must be non-negative and sum to 1, got {proportions.tolist()}")
    if not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if (labels.dim() != 1 or labels.is_floating_point() or labels.numel() == 0 or labels.min() < 0
            or labels.max() >= proportions.numel()):
        raise ValueError(f"labels must be a non-empty 1-D integer tensor of classes 0..{proportions.numel() - 1}, got "
                         f"shape {tuple(labels.shape)} {labels.dtype}")
    check_non_negative_int(seed, "seed")
    proportions = proportions.double()  # 1 + 1e-6 below: float32 shares such as 0.3
    counts = torch.bincount(labels, minlength=proportions.numel()).double()
    positive = proportions > 0
    total = (counts[positive] / proportions[positive]).min()
    order = torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(seed))
    keep = [order[labels[order] == c][: int(math.floor(float(p) * float(total) * (1 + 1e-6)))]
            for c, p in enumerate(proportions)]
    return torch.cat(keep).sort().values


def task_images(task: str, data: ImageData, device: torch.device, image_size: int) -> tuple[Tensor, Tensor, str]:
    """Images of one split prepared as ``task`` feeds them to the networks, their labels, and where they came from."""
    check_choice(task, tuple(sorted(TASKS)), "task")
    if not isinstance(data, ImageData):
        raise TypeError(f"data must be an ImageData, got {type(data).__name__}")
    check_device(device, "device")
    check_positive_int(image_size, "image_size")
    box = TASKS[task].usps_box
    x, note = data.x, (" (substitute)" if "substitute" in data.info else "")
    if data.name == "usps" and box is not None:
        x, note = frame_digits(x, box, image_size), note + f", framed in a {box}x{box} box"
    return prepare_digits(x, image_size, TASKS[task].channels).to(device), data.y.long().to(device), data.source + note


def paired_domains(source: tuple[Tensor, ...], target: tuple[Tensor, ...], seed: int) -> tuple[Tensor, ...]:
    """Source and target tensors brought to one length by repeating random permutations of the shorter domain.

    :class:`~gi_core.trainer.Trainer` draws the same rows of every tensor, so each step sees one batch of each
    domain; no example of the longer domain is dropped and the shorter one is used evenly. Each domain is a
    non-empty tuple of tensors of one non-zero length.
    """
    for name, tensors in (("source", source), ("target", target)):
        if not isinstance(tensors, Sequence) or not tensors or not all(isinstance(t, Tensor) for t in tensors):
            raise TypeError(f"{name} must be a non-empty tuple of tensors, got {type(tensors).__name__}")
        lengths = {t.shape[0] if t.dim() else 0 for t in tensors}
        if len(lengths) != 1 or 0 in lengths:
            raise ValueError(f"{name} tensors must share one non-zero length, got shapes "
                             f"{[tuple(t.shape) for t in tensors]}")
    check_non_negative_int(seed, "seed")
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
