"""Tests for gi_core.metrics.generation: IS and FID against exact values, and the classifier's outputs they read.

FID (scipy's matrix square root) is cross-checked against the eigenvalue formula of
gi_core.maths.gaussians.wasserstein2_gaussians_sq and against closed forms for diagonal covariances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from gi_core.maths.gaussians import wasserstein2_gaussians_sq
from gi_core.metrics.generation import (
    classifier_outputs,
    feature_statistics,
    frechet_distance,
    inception_score,
    split_inception_scores,
)
from tests.helpers import F64, randn
from tests.models.test_classifier import small_classifier, two_class_images

pytestmark = pytest.mark.usefixtures("one_thread")


# ----------------------------------------------------------------------------- Inception Score


def test_inception_score_uniform_predictions_is_one():
    assert inception_score(torch.full((7, 5), 0.2, dtype=F64)) == pytest.approx(1.0, abs=1e-12)


def test_inception_score_confident_and_balanced_is_num_classes():
    probs = torch.eye(4, dtype=F64).repeat(3, 1)  # 12 one-hot rows, 3 per class (zeros handled by xlogy)
    assert inception_score(probs) == pytest.approx(4.0, rel=1e-12)
    # All samples in one class: confident but not diverse.
    assert inception_score(torch.eye(4, dtype=F64)[[2, 2, 2]]) == pytest.approx(1.0, abs=1e-12)


def test_inception_score_hand_computed():
    # Marginal (3/4, 1/4); KLs log(4/3) and (1/2) log(4/3); mean (3/4) log(4/3).
    probs = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=F64)
    assert inception_score(probs) == pytest.approx((4 / 3) ** 0.75, rel=1e-12)


def test_inception_score_splits():
    probs = torch.cat([torch.eye(2, dtype=F64).repeat(2, 1), torch.full((4, 2), 0.5, dtype=F64)])
    torch.testing.assert_close(split_inception_scores(probs, 2), torch.tensor([2.0, 1.0], dtype=F64))
    assert inception_score(probs, splits=2) == pytest.approx(1.5, rel=1e-12)
    assert inception_score(probs, splits=1) < 1.5  # one pooled marginal is a different number
    assert split_inception_scores(probs, 3).shape == (3,)  # uneven chunks (3, 3, 2) are allowed


def test_inception_score_validation():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(torch.full((3, 2), 0.4, dtype=F64))
    with pytest.raises(ValueError, match="non-negative"):
        inception_score(torch.tensor([[1.5, -0.5]], dtype=F64))
    with pytest.raises(ValueError, match="cannot exceed"):
        inception_score(torch.eye(2, dtype=F64), splits=3)
    with pytest.raises(ValueError, match="splits must be a positive integer"):
        inception_score(torch.eye(2, dtype=F64), splits=0)
    with pytest.raises(ValueError, match="2 dimensions"):
        inception_score(torch.tensor([0.5, 0.5], dtype=F64))


# ----------------------------------------------------------------------------- FID


def test_fid_of_a_feature_set_with_itself_is_zero():
    features = randn(300, 8) @ randn(8, 8, seed=1)  # correlated features
    assert abs(frechet_distance(*feature_statistics(features), *feature_statistics(features))) < 1e-6


def test_fid_matches_eigenvalue_formula_and_mean_shift():
    dim, n = 5, 4000
    shift = torch.tensor([1.0, -1.0, 0.5, 0.0, 0.0], dtype=F64)
    a, b = randn(n, dim, seed=2), randn(n, dim, seed=3) + shift
    mean_a, cov_a = feature_statistics(a)
    mean_b, cov_b = feature_statistics(b)
    fid = frechet_distance(mean_a, cov_a, mean_b, cov_b)
    assert frechet_distance(*feature_statistics(a), *feature_statistics(b)) == fid
    # scipy's sqrtm of cov_a @ cov_b against the eigenvalues of the symmetric similar matrix.
    assert fid == pytest.approx(wasserstein2_gaussians_sq(mean_a, cov_a, mean_b, cov_b).item(), abs=1e-6)
    # Population value |shift|^2 = 2.25; the sample-mean term fluctuates with sd about 2 |shift| sqrt(2 / n).
    sd = 2 * shift.norm().item() * math.sqrt(2 / n)
    assert fid == pytest.approx(shift.square().sum().item(), abs=5 * sd)
    assert frechet_distance(mean_b, cov_b, mean_a, cov_a) == pytest.approx(fid, abs=1e-9)  # symmetric


def test_fid_diagonal_covariances_closed_form():
    var1 = torch.tensor([1.0, 4.0, 9.0, 0.25], dtype=F64)
    var2 = torch.tensor([4.0, 1.0, 0.25, 0.25], dtype=F64)
    mean1, mean2 = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=F64), torch.tensor([1.0, 1.0, 0.0, 3.0], dtype=F64)
    exact = float((var1.sqrt() - var2.sqrt()).square().sum() + (mean1 - mean2).square().sum())
    assert exact == pytest.approx(1 + 1 + 6.25 + 0 + 1 + 4)
    assert frechet_distance(mean1, torch.diag(var1), mean2, torch.diag(var2)) == pytest.approx(exact, abs=1e-12)


def test_fid_accepts_semidefinite_covariances():
    # A zero-variance feature (e.g. a dead ReLU unit) makes cov1 @ cov2 singular.
    var1 = torch.tensor([1.0, 0.0, 4.0], dtype=F64)
    var2 = torch.tensor([1.0, 2.0, 1.0], dtype=F64)
    zero = torch.zeros(3, dtype=F64)
    assert frechet_distance(zero, torch.diag(var1), zero, torch.diag(var2)) == pytest.approx(0 + 2 + 1, abs=1e-9)


def test_fid_retries_with_eps_when_sqrtm_is_not_finite(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    calls = []

    def flaky_sqrtm(matrix):
        calls.append(matrix)
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", flaky_sqrtm)
    var, eps = torch.tensor([1.0, 4.0], dtype=F64), 1e-3
    zero = torch.zeros(2, dtype=F64)
    value = frechet_distance(zero, torch.diag(var), zero, torch.eye(2, dtype=F64), eps=eps)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], np.diag((var.numpy() + eps) * (1 + eps)))
    expected = float(var.sum() + 2 - 2 * ((var + eps) * (1 + eps)).sqrt().sum())
    assert value == pytest.approx(expected, abs=1e-12)


def test_fid_keeps_real_part_of_a_nearly_real_square_root(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda matrix: real_sqrtm(matrix) + 1e-4j * np.eye(len(matrix)))
    zero, var = torch.zeros(2, dtype=F64), torch.tensor([1.0, 9.0], dtype=F64)
    value = frechet_distance(zero, torch.diag(var), zero, torch.eye(2, dtype=F64))
    assert value == pytest.approx(0 + 4, abs=1e-12)  # (1 - 1)^2 + (3 - 1)^2


def test_fid_rejects_complex_square_root(monkeypatch):
    real_sqrtm = scipy.linalg.sqrtm
    monkeypatch.setattr(scipy.linalg, "sqrtm", lambda matrix: real_sqrtm(matrix) + 1e-2j * np.eye(len(matrix)))
    zero = torch.zeros(2, dtype=F64)
    with pytest.raises(ValueError, match="imaginary part"):
        frechet_distance(zero, torch.diag(torch.tensor([4.0, 1.0], dtype=F64)), zero, torch.eye(2, dtype=F64))


def test_fid_refuses_a_covariance_that_is_not_symmetric_positive_semidefinite():
    zero, eye = torch.zeros(2, dtype=F64), torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="cov1 must be symmetric"):
        frechet_distance(zero, torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=F64), zero, eye)
    with pytest.raises(ValueError, match="cov2 must be positive semi-definite"):
        frechet_distance(zero, eye, zero, torch.diag(torch.tensor([-1.0, 1.0], dtype=F64)))
    # rounding is not an asymmetry: a covariance computed in float32 and a singular one (a dead unit) pass
    features = randn(50, 2).float()
    cov = torch.cov(features.T)
    cov[0, 1] = cov[1, 0] * (1 + 1e-6)
    assert frechet_distance(features.mean(0), cov, zero, eye) == pytest.approx(
        frechet_distance(features.mean(0).double(), 0.5 * (cov + cov.T).double(), zero, eye), abs=1e-5)
    assert frechet_distance(zero, torch.diag(torch.tensor([0.0, 1.0], dtype=F64)), zero, eye) == pytest.approx(1.0)


def test_fid_computes_float16_inputs_in_float64():
    mean, cov = feature_statistics(randn(40, 3))
    half = [t.half() for t in (mean, cov)]
    assert frechet_distance(*half, *half) == frechet_distance(*(t.double() for t in half), *(t.double() for t in half))
    assert frechet_distance(*half, torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64)) > 0


def test_fid_validation():
    mean, cov = torch.zeros(3, dtype=F64), torch.eye(3, dtype=F64)
    with pytest.raises(ValueError, match="differ in dimension"):
        frechet_distance(mean, cov, mean[:2], cov[:2, :2])
    with pytest.raises(ValueError, match=r"cov1 must have shape \(3, 3\)"):
        frechet_distance(mean, cov[:2], mean, cov)
    with pytest.raises(ValueError, match="NaN"):
        frechet_distance(mean, cov * float("nan"), mean, cov)
    with pytest.raises(ValueError, match="differ in dimension"):
        frechet_distance(*feature_statistics(randn(10, 3)), *feature_statistics(randn(10, 4)))
    with pytest.raises(ValueError, match="at least 2 rows"):
        feature_statistics(randn(1, 3))


def test_feature_statistics_float64():
    mean, cov = feature_statistics(randn(50, 3).float())
    assert mean.dtype == cov.dtype == F64 and mean.shape == (3,) and cov.shape == (3, 3)


# ----------------------------------------------------------------------------- the classifier's outputs


def test_classifier_outputs_shapes_and_values():
    images, _ = two_class_images(50)
    clf = small_classifier("conv")
    probs, feats = classifier_outputs(clf, images, batch_size=16)
    assert probs.shape == (50, 2) and feats.shape == (50, 16)
    assert probs.dtype == feats.dtype == F64 and probs.device.type == feats.device.type == "cpu"
    with torch.no_grad():
        torch.testing.assert_close(feats, clf.features(images).double())
        torch.testing.assert_close(probs, torch.softmax(clf(images).double(), -1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(probs.sum(1), torch.ones(50, dtype=F64))
    assert bool((feats >= 0).all())  # features are taken after the body's last ReLU


def test_classifier_outputs_need_a_feature_classifier():
    images, _ = two_class_images(10)
    with pytest.raises(TypeError, match="FeatureClassifier"):
        classifier_outputs(torch.nn.Linear(64, 2), images.flatten(1))
