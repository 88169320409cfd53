"""Tests for gi_core.metrics.anomaly: AUROC and AUPRC on tiny examples computed by hand, the stratified bootstrap
interval, the ROC points, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gi_core.metrics.anomaly import anomaly_auprc, anomaly_auroc, bootstrap_interval, roc_points

SCORES = np.array([0.1, 0.4, 0.35, 0.8])
OUTLIER = np.array([False, False, True, True])


def test_areas_of_a_tiny_example_computed_by_hand() -> None:
    """Outlier-inlier pairs ranked right: 0.35>0.1, 0.8>0.1, 0.8>0.4 (not 0.35<0.4): AUROC 3/4. Descending order
    + - + -: recall 1/2 at precision 1, recall 1 at precision 2/3: AP = 1/2 + 1/3 = 5/6."""
    assert anomaly_auroc(SCORES, OUTLIER) == pytest.approx(0.75, abs=1e-12)
    assert anomaly_auprc(SCORES, OUTLIER) == pytest.approx(5 / 6, abs=1e-12)
    assert anomaly_auroc(torch.tensor(SCORES), torch.tensor(OUTLIER)) == pytest.approx(0.75, abs=1e-12)
    assert anomaly_auroc(SCORES, OUTLIER.astype(int)) == pytest.approx(0.75, abs=1e-12)


def test_perfect_and_reversed_scores() -> None:
    """Reversed: order - - + +, recall 1/2 at precision 1/3 and 1 at 1/2, so AP = 1/6 + 1/4 = 5/12."""
    perfect = np.array([0.0, 1.0, 2.0, 3.0])
    outlier = np.array([0, 0, 1, 1])
    assert anomaly_auroc(perfect, outlier) == 1.0 and anomaly_auprc(perfect, outlier) == 1.0
    assert anomaly_auroc(-perfect, outlier) == 0.0
    assert anomaly_auprc(-perfect, outlier) == pytest.approx(5 / 12, abs=1e-12)


def test_ties_count_one_half() -> None:
    """Scores (1, 1, 0, 0), outliers at 0 and 2: pairs (1v1 tie, 1v0 win, 0v1 loss, 0v0 tie) give 2/4; one threshold
    at 1 (precision 1/2, recall 1/2) and one at 0 (precision 1/2, recall 1): AP 1/2."""
    scores, outlier = np.array([1.0, 1.0, 0.0, 0.0]), np.array([1, 0, 1, 0])
    assert anomaly_auroc(scores, outlier) == pytest.approx(0.5, abs=1e-12)
    assert anomaly_auprc(scores, outlier) == pytest.approx(0.5, abs=1e-12)
    assert anomaly_auroc(np.zeros(4), outlier) == pytest.approx(0.5, abs=1e-12)


def test_roc_points_trace_the_hand_computed_curve_and_its_area() -> None:
    fpr, tpr, thresholds = roc_points(SCORES, OUTLIER)
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1, 1])
    assert np.isinf(thresholds[0]) and np.all(np.diff(thresholds) < 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75, abs=1e-12)


def shifted_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` outliers scored N(1, 1) and ``n`` inliers scored N(0, 1): AUROC Phi(1/sqrt 2) = 0.760."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(1, 1, n), rng.normal(0, 1, n)]), np.repeat([True, False], n)


def test_bootstrap_interval_contains_the_estimate_and_shrinks_with_more_data() -> None:
    widths = {}
    for n in (20, 320):
        scores, outlier = shifted_scores(n, seed=n)
        for metric in (anomaly_auroc, anomaly_auprc):
            low, high = bootstrap_interval(scores, outlier, metric, resamples=300, seed=0)
            assert low < metric(scores, outlier) < high
            widths[n, metric.__name__] = high - low
    for name in ("anomaly_auroc", "anomaly_auprc"):
        # the width scales as 1/sqrt(n): 16 times the data, about a quarter of the width (measured 0.31 and 0.28)
        assert 0.15 < widths[320, name] / widths[20, name] < 0.4
    assert bootstrap_interval(*shifted_scores(20, 1), anomaly_auroc, resamples=50, seed=3) == \
        bootstrap_interval(*shifted_scores(20, 1), anomaly_auroc, resamples=50, seed=3)


def test_bootstrap_resamples_keep_both_classes() -> None:
    """One outlier among 30: an unstratified resample would often miss it (and the AUROC would be undefined)."""
    scores, outlier = np.arange(30.0), np.arange(30) == 29
    assert bootstrap_interval(scores, outlier, anomaly_auroc, resamples=200) == pytest.approx((1.0, 1.0), abs=1e-12)


def test_a_missing_class_or_a_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="is_outlier holds no outliers"):
        anomaly_auroc(SCORES, np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match="is_outlier holds no inliers"):
        anomaly_auprc(SCORES, np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="one entry per curve"):
        anomaly_auroc(SCORES[:3], OUTLIER)
    with pytest.raises(TypeError, match="is_outlier must be booleans"):
        anomaly_auroc(SCORES, np.array([0, 0, 2, 1]))
    with pytest.raises(ValueError, match="level"):
        bootstrap_interval(SCORES, OUTLIER, anomaly_auroc, level=1.0)
