r"""How well an anomaly score separates outliers from inliers: AUROC, AUPRC, their bootstrap intervals, ROC points.

Convention: a **higher score means more anomalous**, and the outliers are the **positive class**
(``is_outlier`` True or 1). LC-VaDE's Information Anomaly Score is low for anomalies (Astorga 2021, Eq. 9.12), so
the chapter passes :math:`-\mathrm{IAS}`; DAGMM's sample energy is passed as it is. The areas are scikit-learn's:
:func:`anomaly_auroc` is ``roc_auc_score`` (ties count one half, the Mann–Whitney statistic
:math:`P(s_{\text{out}}>s_{\text{in}})+\tfrac12P(s_{\text{out}}=s_{\text{in}})`), and :func:`anomaly_auprc` is
``average_precision_score``, :math:`\sum_n (R_n-R_{n-1})P_n` over the distinct thresholds (the step-wise area,
not the trapezoid, which overestimates it). The thesis reports "AUCPR over a threshold grid"; with every
distinct score as a threshold the step-wise sum is that area without a grid's coarsening.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from torch import Tensor

from gi_core.validation import (check_array, check_callable, check_non_negative_int, check_positive_int,
                                check_real)


def _scores_and_classes(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scores`` as float64 and ``is_outlier`` as bool, one per curve, with both classes present, else raise."""
    s = check_array(scores, "scores", 1)
    y = check_array(is_outlier, "is_outlier", 1)
    if not (y.dtype == bool or np.issubdtype(y.dtype, np.integer)) or not np.isin(y, (0, 1)).all():
        raise TypeError(f"is_outlier must be booleans (or 0/1 integers), got dtype {y.dtype}")
    if s.shape != y.shape:
        raise ValueError(f"scores and is_outlier must have one entry per curve, got {s.shape[0]} and {y.shape[0]}")
    y = y.astype(bool)
    if y.all() or not y.any():
        missing = "inliers" if y.all() else "outliers"
        raise ValueError(f"is_outlier holds no {missing}: the areas need both classes")
    return s.astype(np.float64), y


def anomaly_auroc(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> float:
    """The area under the ROC curve of ``scores`` (higher = more anomalous) for the outliers (positives), in [0, 1]."""
    s, y = _scores_and_classes(scores, is_outlier)
    return float(roc_auc_score(y, s))


def anomaly_auprc(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> float:
    """The area under the precision–recall curve (average precision) of ``scores`` for the outliers, in [0, 1];
    a random score gets about the outliers' share."""
    s, y = _scores_and_classes(scores, is_outlier)
    return float(average_precision_score(y, s))


def roc_points(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve for figures: false-positive rates, true-positive rates and the thresholds (decreasing; the first
    is ``inf``, where nothing is flagged), from scikit-learn's ``roc_curve`` with every point kept."""
    s, y = _scores_and_classes(scores, is_outlier)
    fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
    return fpr, tpr, thresholds


def bootstrap_interval(scores: Tensor | np.ndarray, is_outlier: Tensor | np.ndarray,
                       metric: Callable[[np.ndarray, np.ndarray], float], resamples: int = 2000,
                       level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    r"""The percentile bootstrap interval of ``metric(scores, is_outlier)`` (e.g. :func:`anomaly_auroc`).

    Each of the ``resamples`` draws resamples the outliers and the inliers separately, with replacement and in
    their own numbers (a stratified bootstrap: every resample has both classes, as the areas need). Returns the
    :math:`\tfrac{1-\text{level}}2` and :math:`\tfrac{1+\text{level}}2` quantiles of the resampled metric; the
    draws come from ``numpy.random.default_rng(seed)``, so a seed gives one interval.
    """
    s, y = _scores_and_classes(scores, is_outlier)
    check_callable(metric, "metric")
    check_positive_int(resamples, "resamples", minimum=2)
    level = check_real(level, "level", minimum=0.0, maximum=1.0, strict=True)
    rng = np.random.default_rng(check_non_negative_int(seed, "seed"))
    outliers, inliers = np.flatnonzero(y), np.flatnonzero(~y)
    values = np.empty(resamples)
    for r in range(resamples):
        chosen = np.concatenate([rng.choice(outliers, outliers.size), rng.choice(inliers, inliers.size)])
        values[r] = check_real(metric(s[chosen], y[chosen]), "metric's value")
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
