r"""The target label budget of semi-supervised adaptation, recorded by index, on the signed 32×32 digits of AVDA.

Pérez Carrasco (2021, §4.1) adapts with 1 or 5 labelled target images per class (1-shot, 5-shot) and the rest of
the target training set unlabelled, and selects models on 100 randomly chosen labelled training images instead
of the test set. :func:`draw_shots` and :func:`validation_indices` return indices into the target training split
(so a run stores the integers, and the labels of every other index stay unseen); :func:`signed_domain_data`
gives the chapter's images: 32×32 and in [-1, 1], the range of the tanh decoder.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.data.domains import DOMAIN_SPLITS, TASKS, DomainData, load_domain_data
from gi_core.data.transforms import to_signed_images
from gi_core.runtime import PROFILES
from gi_core.validation import check_choice, check_device, check_non_negative_int, check_positive_int

SIGNED_SIZE = 32


def _check_index_labels(labels: object, name: str) -> Tensor:
    """``labels`` if it is a non-empty 1-D tensor of non-negative integers, else raise."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer labels, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer labels, got dtype {labels.dtype}")
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor of labels, got shape {tuple(labels.shape)}")
    if int(labels.min()) < 0:
        raise ValueError(f"{name} must be non-negative class labels, got minimum {int(labels.min())}")
    return labels


def _available(exclude: object, n: int) -> Tensor:
    """A CPU mask ``(n,)`` of the indices not listed in ``exclude`` (``None``, or a 1-D integer tensor of indices)."""
    keep = torch.ones(n, dtype=torch.bool)
    if exclude is None:
        return keep
    if not isinstance(exclude, Tensor):
        raise TypeError(f"exclude must be None or a torch.Tensor of indices, got {type(exclude).__name__}")
    if exclude.is_floating_point() or exclude.is_complex() or exclude.dtype == torch.bool:
        raise TypeError(f"exclude must hold integer indices, got dtype {exclude.dtype}")
    if exclude.dim() != 1:
        raise ValueError(f"exclude must be a 1-D tensor of indices, got shape {tuple(exclude.shape)}")
    if exclude.numel() and (int(exclude.min()) < 0 or int(exclude.max()) >= n):
        raise ValueError(f"exclude must hold indices in 0..{n - 1}, got {int(exclude.min())}..{int(exclude.max())}")
    keep[exclude.cpu().long()] = False
    return keep


def draw_shots(labels: Tensor, shots_per_class: int, seed: int, num_classes: int = 10,
               exclude: Tensor | None = None) -> Tensor:
    r"""Indices of ``shots_per_class`` labelled examples of each of ``num_classes`` classes: the k-shot budget.

    One permutation :math:`\sigma` of :math:`0..N-1` from ``torch.Generator().manual_seed(seed)``; class
    :math:`c` gets the first ``shots_per_class`` indices :math:`\sigma_i` with :math:`y_{\sigma_i}=c` not in
    ``exclude``, sorted. The result ``(shots_per_class · num_classes,)`` (int64, on ``labels``' device) lists class
    0's indices first. Budgets of one seed are nested: the 1-shot indices are among the 5-shot ones (Pérez
    Carrasco 2021, §4.1: 1 and 5 labels per class). ``shots_per_class = 0`` gives no indices (unsupervised
    adaptation). Raises naming the class that has fewer than ``shots_per_class`` available examples.
    """
    _check_index_labels(labels, "labels")
    shots = check_non_negative_int(shots_per_class, "shots_per_class")
    check_non_negative_int(seed, "seed")
    check_positive_int(num_classes, "num_classes")
    if int(labels.max()) >= num_classes:
        raise ValueError(f"labels must lie in 0..{num_classes - 1} (num_classes={num_classes}), got maximum "
                         f"{int(labels.max())}")
    keep = _available(exclude, labels.numel())
    if shots == 0:
        return torch.empty(0, dtype=torch.long, device=labels.device)
    y = labels.cpu()
    order = torch.randperm(y.numel(), generator=torch.Generator().manual_seed(seed))
    order = order[keep[order]]
    picks = []
    for c in range(num_classes):
        candidates = order[y[order] == c]
        if candidates.numel() < shots:
            raise ValueError(f"labels: class {c} has {candidates.numel()} available examples (after exclude), fewer "
                             f"than shots_per_class={shots}")
        picks.append(candidates[:shots].sort().values)
    return torch.cat(picks).to(labels.device)


def validation_indices(labels: Tensor, size: int, seed: int, exclude: Tensor | None = None) -> Tensor:
    r"""``size`` random indices of labelled training examples outside ``exclude``, sorted (int64, on ``labels``'
    device): the model-selection set that replaces the test set.

    The first ``size`` available entries of a permutation from ``torch.Generator().manual_seed(seed)``, not
    stratified (Pérez Carrasco 2021, §4.1: "100 randomly selected samples from the training set"). Pass the
    shots of :func:`draw_shots` as ``exclude`` to keep the two sets disjoint.
    """
    _check_index_labels(labels, "labels")
    size = check_positive_int(size, "size")
    check_non_negative_int(seed, "seed")
    keep = _available(exclude, labels.numel())
    if size > int(keep.sum()):
        raise ValueError(f"size={size} exceeds the {int(keep.sum())} examples of labels outside exclude")
    order = torch.randperm(labels.numel(), generator=torch.Generator().manual_seed(seed))
    return order[keep[order]][:size].sort().values.to(labels.device)


def signed_domain_data(task: str, device: torch.device, profile: str | None = None) -> DomainData:
    r"""The four splits of ``task`` (:data:`~gi_core.data.domains.TASKS`) as 32×32 images in [-1, 1].

    Each image of :func:`~gi_core.data.domains.load_domain_data` (``image_size=32``, in [0, 1]) becomes
    :math:`\min(1, \max(-1, 2x-1))` (:func:`~gi_core.data.transforms.to_signed_images`), the range of AVDA's tanh
    decoder (Pérez Carrasco 2021, §4.1: images scaled to [-1, 1] and resized to 32×32). The labels are unchanged;
    ``sources`` says "32×32, in [-1, 1]". The quick profile reads the shipped subsets.
    """
    check_choice(task, tuple(sorted(TASKS)), "task")
    check_device(device, "device")
    if profile is not None:
        check_choice(profile, PROFILES, "profile")
    data = load_domain_data(task, device, profile=profile, image_size=SIGNED_SIZE)
    splits = {}
    for split in DOMAIN_SPLITS:
        splits[f"{split}_x"] = to_signed_images(getattr(data, f"{split}_x"))
        splits[f"{split}_y"] = getattr(data, f"{split}_y")
    sources = {key: f"{value}, {SIGNED_SIZE}×{SIGNED_SIZE}, in [-1, 1]" for key, value in data.sources.items()}
    return DomainData(**splits, sources=sources)
