"""Clustering metrics against values worked out by hand, a brute-force matching, and scikit-learn."""

import itertools
import math

import numpy as np
import pytest
import torch

from gi_core.metrics.clustering import (adjusted_rand_index, clustering_accuracy, contingency_table, mixture_health,
                                        normalized_mutual_information, purity)


def brute_force_accuracy(labels, clusters):
    """The best one-to-one matching by trying every injective map of clusters to classes."""
    k, c = int(clusters.max()) + 1, int(max(labels.max(), clusters.max())) + 1
    return max(np.mean([labels[i] == m[clusters[i]] for i in range(len(labels))])
               for m in itertools.permutations(range(c), k))


def test_a_relabelled_perfect_clustering_scores_one():
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([2, 2, 0, 0, 1, 1])
    assert clustering_accuracy(labels, clusters) == purity(labels, clusters) == 1.0
    assert normalized_mutual_information(labels, clusters) == pytest.approx(1.0)
    assert adjusted_rand_index(labels, clusters) == pytest.approx(1.0)


def test_purity_lets_clusters_share_a_class_and_accuracy_does_not():
    """Four clusters on two classes: purity counts each cluster's majority (3 + 1 + 2 + 1 = 7 of 8); the
    one-to-one accuracy can use only two clusters, one per class (cluster 0 to class 0 and one of clusters 1 and 3
    to class 1: 3 + 1 = 4 of 8)."""
    labels = np.array([0, 0, 0, 1, 0, 0, 1, 0])
    clusters = np.array([0, 0, 0, 1, 2, 2, 3, 3])
    assert contingency_table(labels, clusters).tolist() == [[3, 0], [0, 1], [2, 0], [1, 1]]
    assert purity(labels, clusters) == 7 / 8
    assert clustering_accuracy(labels, clusters) == 4 / 8


@pytest.mark.parametrize("seed", range(5))
def test_the_hungarian_matching_is_the_best_matching(seed):
    rng = np.random.default_rng(seed)
    labels, clusters = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
    assert clustering_accuracy(labels, clusters) == pytest.approx(brute_force_accuracy(labels, clusters))
    assert purity(labels, clusters) >= clustering_accuracy(labels, clusters)


def test_nmi_and_ari_of_a_known_pair():
    """A 2×2 table [[2, 0], [1, 1]]: ARI = (Σ C(n_ij,2) − E) / (max − E) with Σ = 1, rows Σ C(a,2) = 2,
    columns Σ C(b,2) = 3, C(4,2) = 6: E = 1, max = 2.5, ARI = 0; NMI = I / ((H(Y) + H(C)) / 2)."""
    labels, clusters = np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])
    assert adjusted_rand_index(labels, clusters) == pytest.approx(0.0, abs=1e-12)
    h_y = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    h_c = math.log(2)
    mutual = 0.5 * math.log(0.5 / (0.75 * 0.5)) + 0.25 * math.log(0.25 / (0.75 * 0.5)) + 0.25 * math.log(0.25 / (0.25 * 0.5))
    assert normalized_mutual_information(labels, clusters) == pytest.approx(mutual / ((h_y + h_c) / 2))


def test_tensors_are_accepted_and_bad_labels_refused():
    assert clustering_accuracy(torch.tensor([0, 1]), torch.tensor([1, 0])) == 1.0
    with pytest.raises(ValueError, match="one entry per point"):
        purity(np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match="non-negative"):
        clustering_accuracy(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(TypeError, match="integer class labels"):
        purity(np.array([0.5, 1.0]), np.array([0, 1]))


def test_mixture_health_counts_occupancy_empty_components_and_entropy():
    gamma = torch.tensor([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    health = mixture_health(gamma)
    assert health["occupancy"] == [0.75, 0.25, 0.0]  # ties go to the first component (argmax)
    assert health["empty"] == 1
    entropy = (0 + -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) + math.log(2) + math.log(3)) / 4
    assert health["posterior_entropy"] == pytest.approx(entropy)
    with pytest.raises(ValueError, match="sum to 1"):
        mixture_health(torch.tensor([[0.5, 0.4]]))
