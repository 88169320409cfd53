"""Folded, normalised light curves as padded tensors, and the outlier-class split of Astorga (2021, §9.3).

A batch follows the chapter's convention: ``phase`` ``(N, T)`` in [0, 1), ``value`` magnitudes normalised per curve
by its own mean and standard deviation, ``error`` errors over that standard deviation, ``mask`` (True = observed;
padding holds phase 0, value 0, error 1), ``features`` ``(N, 3)`` = (m, s, log10 period in days), ``labels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from gi_core.data.light_curves import LightCurveSet, pad_light_curves
from gi_core.validation import (check_array, check_instance, check_label_array, check_non_negative_int,
                                check_positive_int, check_real, check_tensor)


class FoldedCurves(NamedTuple):
    """Folded curves (see the module's description for the tensors), with the set's ``class_names`` and
    ``star_ids``; ``features[:, 2]`` is :math:`\\log_{10}` of the period used to fold."""

    phase: Tensor
    value: Tensor
    error: Tensor
    mask: Tensor
    features: Tensor
    labels: Tensor
    class_names: tuple[str, ...]
    star_ids: tuple[str, ...]


def fold(time: np.ndarray | Tensor, period: float) -> np.ndarray | Tensor:
    """The phase :math:`\\phi = \\mathrm{mod}(t, P)/P \\in [0, 1)` of the times ``time`` (days) for the period
    ``period`` (days) (Astorga 2021, Eq. 9.1); a tensor for a tensor, else a float64 array."""
    period = check_real(period, "period", minimum=0.0, strict=True)
    if isinstance(time, Tensor):
        check_tensor(time, "time")
        phase = torch.remainder(time, period) / period
        return torch.where(phase >= 1.0, torch.zeros_like(phase), phase)
    values = np.asarray(check_array(time, "time", time.ndim if isinstance(time, np.ndarray) else 1), dtype=np.float64)
    phase = np.mod(values, period) / period
    return np.where(phase >= 1.0, 0.0, phase)


def normalise(value: np.ndarray, error: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``((value - m) / s, error / s, m, s)`` with :math:`m` the mean and :math:`s` the standard deviation
    (:math:`\\frac{1}{n}\\sum_j (x_j - m)^2`, no Bessel correction) of one curve's magnitudes ``value``."""
    value = np.asarray(check_array(value, "value", 1), dtype=np.float64)
    error = np.asarray(check_array(error, "error", 1), dtype=np.float64)
    if error.shape != value.shape:
        raise ValueError(f"error must have the shape of value {value.shape}, got {error.shape}")
    mean, std = float(value.mean()), float(value.std())
    if not std > 0:
        raise ValueError(f"value is constant ({mean}): a curve without variation cannot be normalised")
    return (value - mean) / std, error / std, mean, std


def fold_light_curves(curve_set: LightCurveSet, periods: np.ndarray | None = None, length: int = 200,
                      seed: int = 0, period_factor: float = 1.0, dtype: torch.dtype = torch.float32) -> FoldedCurves:
    """The curves of ``curve_set`` folded at ``periods`` times ``period_factor`` (default periods: the set's own)
    as :class:`FoldedCurves` of ``length`` columns.

    A curve with more than ``length`` observations keeps a random subset of ``length`` of them without
    replacement (one ``numpy`` generator seeded with ``seed`` drawn over the curves in order); the kept ones are
    sorted by phase, then normalised (:func:`normalise`, so :math:`m` and :math:`s` are those of the kept
    observations and the observed values have mean 0 and standard deviation 1). ``period_factor`` (e.g. 2 or 1/2)
    ablates doubled or halved periods: it scales the folding period and the feature alike.
    """
    check_instance(curve_set, LightCurveSet, "curve_set")
    if periods is None:
        if curve_set.periods is None:
            raise ValueError("periods must be given: curve_set has none (estimate them with "
                             "gi_core.data.light_curve_periods.estimate_periods)")
        periods = curve_set.periods
    periods = np.asarray(check_array(periods, "periods", 1), dtype=np.float64)
    if periods.shape != (len(curve_set.curves),) or (periods <= 0).any():
        raise ValueError(f"periods must be {len(curve_set.curves)} positive numbers, got shape {periods.shape}, "
                         f"minimum {periods.min():.4g}")
    length = check_positive_int(length, "length", minimum=3)
    seed = check_non_negative_int(seed, "seed")
    period_factor = check_real(period_factor, "period_factor", minimum=0.0, strict=True)
    rng = np.random.default_rng(seed)
    rows, features = [], []
    for curve, period in zip(curve_set.curves, periods * period_factor):
        if curve.shape[0] > length:
            curve = curve[rng.choice(curve.shape[0], size=length, replace=False)]
        phase = fold(curve[:, 0], float(period))
        order = np.argsort(phase, kind="stable")
        value, error, mean, std = normalise(curve[order, 1], curve[order, 2])
        rows.append(np.column_stack([phase[order], value, error]))
        features.append((mean, std, np.log10(period)))
    padded = pad_light_curves(rows, length, dtype)
    return FoldedCurves(padded.time, padded.value, padded.error, padded.mask, torch.tensor(features, dtype=dtype),
                        torch.from_numpy(curve_set.labels.copy()), curve_set.class_names, curve_set.star_ids)


def _largest_remainder(sizes: np.ndarray, total: int) -> np.ndarray:
    """Integer shares of ``total`` proportional to ``sizes`` that sum to ``total`` (Hamilton's method: floors,
    then one more to the largest remainders, ties to the lower class index)."""
    exact = total * sizes / sizes.sum()
    shares = np.floor(exact).astype(np.int64)
    order = np.lexsort((np.arange(sizes.size), -(exact - shares)))
    shares[order[: total - int(shares.sum())]] += 1
    return shares


def outlier_split(labels: np.ndarray | Tensor | Sequence[int], outlier: int, seed: int,
                  n_anomalies: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Astorga's (2021, §9.3) split with class ``outlier`` as the anomaly: ``(train_idx, test_idx,
    test_is_outlier)``.

    :math:`N_{\\mathrm{anom}}` (``n_anomalies``, default the size of the smallest class) outliers drawn at random,
    plus :math:`N_{\\mathrm{anom}}` inliers whose class counts keep the inlier classes' proportions, rounded by the
    largest-remainder method so that they sum to exactly :math:`N_{\\mathrm{anom}}` (ties to the lower class index),
    form the test set (outliers first, each part sorted); every other inlier is in ``train_idx`` (sorted); the
    remaining outliers are in neither. There is no validation set. The draws use ``numpy``'s generator seeded with
    ``seed``.
    """
    labels = check_label_array(np.asarray(labels) if isinstance(labels, (list, tuple)) else labels, "labels")
    check_instance(outlier, (int, np.integer), "outlier")
    if isinstance(outlier, bool) or not 0 <= outlier <= labels.max() or not (labels == outlier).any():
        raise ValueError(f"outlier must be a class index present in labels (0..{labels.max()}), got {outlier!r}")
    seed = check_non_negative_int(seed, "seed")
    classes, counts = np.unique(labels, return_counts=True)
    if labels.min() < 0:
        raise ValueError(f"labels must be non-negative class indices, got minimum {labels.min()}")
    n_anom = int(counts.min()) if n_anomalies is None else check_positive_int(n_anomalies, "n_anomalies")
    inlier_classes = classes[classes != outlier]
    inlier_counts = counts[classes != outlier]
    if n_anom > counts[classes == outlier][0] or n_anom > inlier_counts.sum():
        raise ValueError(f"n_anomalies = {n_anom} exceeds the {counts[classes == outlier][0]} outliers or the "
                         f"{inlier_counts.sum()} inliers")
    rng = np.random.default_rng(seed)
    outliers = np.sort(rng.choice(np.flatnonzero(labels == outlier), size=n_anom, replace=False))
    test_inliers, train = [], []
    for cls, share in zip(inlier_classes, _largest_remainder(inlier_counts, n_anom)):
        members = rng.permutation(np.flatnonzero(labels == cls))
        test_inliers.append(members[:share])
        train.append(members[share:])
    test_in = np.sort(np.concatenate(test_inliers))
    test_idx = np.concatenate([outliers, test_in]).astype(np.int64)
    is_outlier = np.concatenate([np.ones(n_anom, dtype=bool), np.zeros(test_in.size, dtype=bool)])
    return np.sort(np.concatenate(train)).astype(np.int64), test_idx, is_outlier
