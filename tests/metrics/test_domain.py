"""Tests for gi_core.metrics.domain: the proxy A-distance, the joint error and the feature summaries of a trained model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gi_core.experiments.domain_adaptation import DAConfig, train_method
from gi_core.metrics.domain import (
    a_distance,
    accuracy,
    evaluate_method,
    feature_a_distance,
    feature_joint_error,
    joint_error,
    tsne_coordinates,
)
from tests.toy_domains import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("classifier", ["linear_svm", "logistic"])
def test_a_distance_is_two_for_separable_domains(classifier):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(300, 5))
    target = rng.normal(size=(200, 5))
    target[:, 0] += 12.0  # a margin of many standard deviations along one axis
    result = a_distance(source, target, classifier=classifier)
    assert result.error == 0.0 and result.value == 2.0 and result.raw == 2.0 and float(result) == 2.0
    assert result.n_train + result.n_test == 500 and result.classifier == classifier


@pytest.mark.parametrize("classifier", ["linear_svm", "logistic"])
def test_a_distance_is_near_zero_for_identical_domains(classifier):
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(600, 10)), rng.normal(size=(600, 10))
    result = a_distance(torch.from_numpy(source), torch.from_numpy(target), classifier=classifier)
    assert 0.4 < result.error < 0.6
    assert abs(result.raw) < 0.4 and 0.0 <= result.value < 0.4
    assert result.value == max(result.raw, 0.0)


def test_a_distance_grows_with_the_shift():
    rng = np.random.default_rng(2)
    source = rng.normal(size=(400, 4))
    values = []
    for shift in (0.0, 0.5, 1.0, 3.0):
        target = rng.normal(size=(400, 4))
        target[:, 1] += shift
        values.append(a_distance(source, target, C_grid=(1.0,)).value)
    assert values == sorted(values) and values[-1] > 1.7 and values[0] < 0.4


def test_a_distance_validates():
    x = np.zeros((50, 3))
    with pytest.raises(ValueError, match="differ in width"):
        a_distance(x, np.zeros((50, 4)))
    with pytest.raises(ValueError, match=r"source_features must have 2 dimension\(s\), got shape \(50,\)"):
        a_distance(np.zeros(50), x)
    with pytest.raises(ValueError, match="classifier must be"):
        a_distance(x, x, classifier="rbf")
    with pytest.raises(ValueError, match="test_fraction"):
        a_distance(x, x, test_fraction=1.0)
    with pytest.raises(ValueError, match="too few rows"):
        a_distance(x[:5], x)
    with pytest.raises(ValueError, match="NaN"):
        a_distance(np.full((50, 3), np.nan), x)


def clustered_features(n: int, classes: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = 4.0 * np.random.default_rng(99).normal(size=(classes, 5))  # the same class centres for every call
    labels = rng.integers(0, classes, n)
    return centres[labels] + rng.normal(size=(n, 5)) + shift, labels


def test_joint_error_is_small_when_one_classifier_serves_both_domains():
    (xs, ys), (xt, yt) = clustered_features(800, 3, 0.0, 0), clustered_features(800, 3, 0.5, 1)
    result = joint_error(xs, ys, xt, yt)
    assert result["lambda_star"] == result["source_error"] + result["target_error"] < 0.05


def test_joint_error_is_one_when_the_target_relabels_the_source():
    # the same feature distribution with the two classes swapped: every h has eps_S(h) + eps_T(h) = 1 in
    # expectation; the held-out estimate deviates by sampling noise only (two errors on 1 000 points each)
    (xs, ys), (xt, yt) = clustered_features(2000, 2, 0.0, 0), clustered_features(2000, 2, 0.0, 1)
    assert abs(joint_error(xs, ys, xt, 1 - yt)["lambda_star"] - 1.0) < 0.08


def test_joint_error_validates():
    x, y = clustered_features(40, 2, 0.0, 0)
    with pytest.raises(ValueError, match=r"target_labels must have shape \(40,\)"):
        joint_error(x, y, x, y[:30])
    with pytest.raises(ValueError, match="differ in width"):
        joint_error(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="test_fraction"):
        joint_error(x, y, x, y, test_fraction=0.0)
    with pytest.raises(ValueError, match=r"C must lie in \(0.0, inf\)"):
        joint_error(x, y, x, y, C=-1.0)


def test_feature_summaries_have_the_right_sizes():
    data = toy_data()
    model, _, _ = train_method(DAConfig(method="source_only", steps=2, batch_size=16), data, 0, progress=False)
    emb = tsne_coordinates(model, data, n_per_domain=12)
    assert len(emb["xy"]) == 24 and emb["domain"] == [1] * 12 + [0] * 12 and len(emb["label"]) == 24
    assert 0.0 <= feature_a_distance(None, data, max_per_domain=30) <= 2.0


def test_feature_joint_error_reads_the_model_features_and_the_test_labels():
    data = toy_data(n_test=60)
    model, _, _ = train_method(DAConfig(method="source_only", steps=20, batch_size=16), data, 0, progress=False)
    direct = joint_error(model.embed(data.source_test_x), data.source_test_y, model.embed(data.target_test_x),
                         data.target_test_y)
    assert feature_joint_error(model, data) == direct
    raw = feature_joint_error(None, data)
    assert raw == joint_error(data.source_test_x.flatten(1), data.source_test_y, data.target_test_x.flatten(1),
                              data.target_test_y)
    assert raw["lambda_star"] < 0.2  # the toy classes sit in one image row in both domains: pixels serve both


class Constant:
    """A domain classifier that predicts class ``label`` for every image."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0],), self.label)


def test_accuracy_and_evaluate_method_score_the_test_splits():
    assert accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 0, 3, 0])) == 0.5
    data = toy_data()
    scores = evaluate_method(Constant(3), data)
    assert scores == {"target_accuracy": accuracy(torch.full((30,), 3), data.target_test_y),
                      "source_accuracy": accuracy(torch.full((30,), 3), data.source_test_y)}
    assert scores["target_accuracy"] == (data.target_test_y == 3).float().mean().item()
