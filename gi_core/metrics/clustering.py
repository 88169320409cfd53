r"""How well clusters match classes, and how healthy a mixture's components are (Astorga 2021, Ch. 8; VaDE).

Two accuracies are named apart because the literature mixes them up:

* :func:`clustering_accuracy` matches clusters to classes **one to one** (the Hungarian algorithm,
  ``scipy.optimize.linear_sum_assignment``) and counts the points whose cluster is matched to their class:
  :math:`\mathrm{ACC} = \max_{m}\frac1N\sum_i \mathbb 1[y_i = m(c_i)]` over injective maps :math:`m`.
* :func:`purity` sends every cluster to its majority class, several clusters possibly to the same class:
  :math:`\frac1N\sum_k \max_j n_{kj}`. It is never below the accuracy, and with more clusters than classes it can
  reach 1 while the accuracy cannot. The official MPCC code's ``cluster_acc`` computes purity.

NMI and ARI are scikit-learn's (:func:`normalized_mutual_information`, :func:`adjusted_rand_index`).
:func:`mixture_health` summarises a mixture's responsibilities: how many points each component takes, how many
components are empty, and how certain the assignments are.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from torch import Tensor

from gi_core.validation import check_label_array, check_tensor


def _pair(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, c = check_label_array(labels, "labels"), check_label_array(clusters, "clusters")
    if y.shape != c.shape:
        raise ValueError(f"labels and clusters must have one entry per point, got {y.shape[0]} and {c.shape[0]}")
    if y.min() < 0 or c.min() < 0:
        raise ValueError("labels and clusters must be non-negative integers")
    return y, c


def contingency_table(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> np.ndarray:
    r""":math:`n_{kj}`, the number of points of cluster :math:`k` (rows) and class :math:`j` (columns)."""
    y, c = _pair(labels, clusters)
    table = np.zeros((c.max() + 1, y.max() + 1), dtype=np.int64)
    np.add.at(table, (c, y), 1)
    return table


def clustering_accuracy(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> float:
    """The share of points whose cluster is matched to their class by the best one-to-one matching."""
    table = contingency_table(labels, clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def purity(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> float:
    """The share of points in their cluster's majority class (clusters may share a class)."""
    table = contingency_table(labels, clusters)
    return float(table.max(axis=1).sum() / table.sum())


def normalized_mutual_information(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> float:
    """scikit-learn's NMI (arithmetic normalisation) between classes and clusters, in [0, 1]."""
    return float(normalized_mutual_info_score(*_pair(labels, clusters)))


def adjusted_rand_index(labels: Tensor | np.ndarray, clusters: Tensor | np.ndarray) -> float:
    """scikit-learn's adjusted Rand index between classes and clusters (1 for the same partition, about 0 by chance)."""
    return float(adjusted_rand_score(*_pair(labels, clusters)))


def mixture_health(responsibilities: Tensor) -> dict[str, int | float | list[float]]:
    r"""A mixture's state from its responsibilities :math:`\gamma_{ik}=q(y=k|x_i)`, shape ``(N, K)``.

    ``occupancy``: the share of points whose most probable component is :math:`k`; ``empty``: the components that
    no point prefers; ``posterior_entropy``: :math:`\frac1N\sum_i H(\gamma_i)` in nats (0 for certain assignments,
    :math:`\log K` for uniform ones).
    """
    check_tensor(responsibilities, "responsibilities", ndim=2)
    gamma = responsibilities.detach().double()
    if bool((gamma < 0).any()) or not torch.allclose(gamma.sum(1), torch.ones_like(gamma[:, 0]), atol=1e-6):
        raise ValueError("responsibilities must be non-negative and sum to 1 over the components (each row)")
    occupancy = torch.bincount(gamma.argmax(1), minlength=gamma.shape[1]).double() / gamma.shape[0]
    entropy = -(gamma * torch.log(gamma.clamp_min(1e-300))).sum(1).mean()
    return {"occupancy": occupancy.tolist(), "empty": int((occupancy == 0).sum()),
            "posterior_entropy": float(entropy)}
