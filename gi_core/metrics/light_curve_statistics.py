r"""Per-curve summary statistics of folded, normalised light curves: the inputs of the IsolationForest baseline.

A classical anomaly detector on light curves reads a handful of scale-free numbers per curve instead of the curve
itself (Richards et al. 2011 list many; Nun et al. 2015's FATS computes them). :func:`light_curve_statistics` gives
the nine of :data:`STATISTICS`, every one over the *observed* entries only, so padding never changes them; the
chapter passes the matrix to ``sklearn.ensemble.IsolationForest`` unchanged (its ``-score_samples`` is the
anomaly score, higher = more anomalous).

With :math:`v_j` the normalised magnitudes of one curve's :math:`n` observed points,
:math:`\bar v=\frac1n\sum_j v_j` and the central moments :math:`m_r=\frac1n\sum_j(v_j-\bar v)^r`:

* ``log10_period`` and ``std_magnitude`` (:math:`s`, in magnitudes) are read from ``features``;
* ``amplitude`` :math:`\max_j v_j-\min_j v_j`;
* ``skewness`` :math:`m_3/m_2^{3/2}` and ``kurtosis`` :math:`m_4/m_2^2-3` (the biased estimators,
  ``scipy.stats.skew``/``kurtosis``'s defaults);
* ``beyond_one_std``: the share of points with :math:`|v_j-\bar v|>\sqrt{m_2}`;
* ``median_absolute_deviation`` :math:`\operatorname{median}_j|v_j-\operatorname{median}_l v_l|`;
* ``smoothness``: the mean squared successive difference in phase order over the variance,
  :math:`\frac{1}{(n-1)m_2}\sum_{j=1}^{n-1}(v_{(j+1)}-v_{(j)})^2` (von Neumann's ratio; about 2 for noise, near 0
  for a smooth folded curve, so a wrong period shows up here);
* ``mean_error`` :math:`\frac1n\sum_j e_j`, the errors divided by :math:`s`: the inverse of a signal-to-noise ratio.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from gi_core.validation import check_array

STATISTICS = ("log10_period", "std_magnitude", "amplitude", "skewness", "kurtosis", "beyond_one_std",
              "median_absolute_deviation", "smoothness", "mean_error")
"""The columns of :func:`light_curve_statistics`, in order."""


def _curves(phase: Tensor | np.ndarray, value: Tensor | np.ndarray, error: Tensor | np.ndarray,
            mask: Tensor | np.ndarray, features: Tensor | np.ndarray) -> tuple[np.ndarray, ...]:
    """The five arrays, checked for the shared light-curve convention, as float64 (``mask`` as bool)."""
    arrays = {name: check_array(x, name, 2) for name, x in
              (("phase", phase), ("value", value), ("error", error), ("features", features))}
    observed = check_array(mask, "mask", 2)
    if observed.dtype != bool:
        raise TypeError(f"mask must be booleans (True = observed), got dtype {observed.dtype}")
    for name in ("phase", "value", "error"):
        if arrays[name].shape != observed.shape:
            raise ValueError(f"{name} must have the shape of mask {observed.shape}, got {arrays[name].shape}")
    if arrays["features"].shape != (observed.shape[0], 3):
        raise ValueError(f"features must have shape ({observed.shape[0]}, 3) (m, s, log10 period), "
                         f"got {arrays['features'].shape}")
    if not (arrays["features"][:, 1] > 0).all():
        raise ValueError("features[:, 1] (each curve's standard deviation s) must be strictly positive")
    if (few := observed.sum(1) < 2).any():
        raise ValueError(f"mask must leave every curve at least 2 observed points; curve {np.flatnonzero(few)[0]} "
                         "has fewer")
    return (*(arrays[name].astype(np.float64) for name in ("phase", "value", "error", "features")), observed)


def light_curve_statistics(phase: Tensor | np.ndarray, value: Tensor | np.ndarray, error: Tensor | np.ndarray,
                           mask: Tensor | np.ndarray, features: Tensor | np.ndarray) -> np.ndarray:
    """The statistics of :data:`STATISTICS` of each curve, shape (N, 9), float64.

    Inputs follow the chapter's convention: ``phase``, ``value``, ``error`` (N, T) and the bool ``mask`` (N, T)
    (True = observed), ``features`` (N, 3) = (m, s, log10 period). ``phase`` orders the points for the
    smoothness. A curve must have at least two observed points that are not all equal.
    """
    phase, value, error, features, observed = _curves(phase, value, error, mask, features)
    n = observed.sum(1)
    v = np.where(observed, value, np.nan)
    centred = v - np.nanmean(v, axis=1, keepdims=True)
    m2, m3, m4 = (np.nanmean(centred ** r, axis=1) for r in (2, 3, 4))
    if (flat := m2 <= 0).any():
        raise ValueError(f"value is constant over the observed points of curve {np.flatnonzero(flat)[0]}: "
                         "its shape statistics are undefined")
    std = np.sqrt(m2)
    beyond = (np.abs(np.nan_to_num(centred)) > std[:, None]).sum(1) / n
    mad = np.nanmedian(np.abs(v - np.nanmedian(v, axis=1, keepdims=True)), axis=1)
    order = np.argsort(np.where(observed, phase, np.inf), axis=1, kind="stable")  # observed points first
    in_phase = np.take_along_axis(value, order, axis=1)
    pairs = np.take_along_axis(observed, order, axis=1)
    steps = np.where(pairs[:, 1:] & pairs[:, :-1], np.diff(in_phase, axis=1), 0.0)
    smoothness = (steps ** 2).sum(1) / (n - 1) / m2
    mean_error = np.where(observed, error, 0.0).sum(1) / n
    columns = (features[:, 2], features[:, 1], np.nanmax(v, axis=1) - np.nanmin(v, axis=1), m3 / m2 ** 1.5,
               m4 / m2 ** 2 - 3, beyond, mad, smoothness, mean_error)
    return np.stack(columns, axis=1)
