"""Tests for gi_core.metrics.light_curve_statistics: each column against scipy/numpy on an unpadded curve, and the
whole matrix unchanged by padding and by the order in which the observations are stored."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kurtosis, median_abs_deviation, skew
from sklearn.ensemble import IsolationForest

from gi_core.metrics.light_curve_statistics import STATISTICS, light_curve_statistics

T = 25


def curve(seed: int, n: int = T) -> tuple[np.ndarray, ...]:
    """A noisy folded sinusoid: phase, normalised value, error, all observed, and features (m, s, log10 period)."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 1, n)
    raw = np.sin(2 * np.pi * phase) + 0.15 * rng.standard_normal(n) + 0.5 * (phase > 0.7)
    value = (raw - raw.mean()) / raw.std()
    features = np.array([12.0 + rng.normal(0, 0.5), 0.4 + rng.uniform(0, 0.1), -0.3 + rng.normal(0, 0.05)])
    return phase, value, rng.uniform(0.05, 0.2, n), np.ones(n, dtype=bool), features


def test_columns_of_an_unpadded_curve_equal_scipy_and_numpy() -> None:
    phase, value, error, mask, features = curve(0)
    stats = dict(zip(STATISTICS, light_curve_statistics(phase[None], value[None], error[None], mask[None],
                                                          features[None])[0]))
    in_phase = value[np.argsort(phase)]
    expected = {"log10_period": features[2], "std_magnitude": features[1], "amplitude": value.max() - value.min(),
                "skewness": skew(value), "kurtosis": kurtosis(value),
                "beyond_one_std": np.mean(np.abs(value - value.mean()) > value.std()),
                "median_absolute_deviation": median_abs_deviation(value),
                "smoothness": np.mean(np.diff(in_phase) ** 2) / value.var(), "mean_error": error.mean()}
    for name in STATISTICS:
        assert stats[name] == pytest.approx(expected[name], rel=1e-12, abs=1e-12), name
    assert stats["smoothness"] < 0.5  # a smooth folded curve (measured 0.36); white noise gives about 2


def test_white_noise_has_a_von_neumann_ratio_near_two() -> None:
    """For n i.i.d. points E[mean squared successive difference] = 2 var: the ratio is 2 within Monte Carlo error."""
    rng = np.random.default_rng(1)
    n, value = 4000, rng.standard_normal((1, 4000))
    stats = light_curve_statistics(rng.uniform(0, 1, (1, n)), value, np.ones((1, n)), np.ones((1, n), dtype=bool),
                                   np.array([[0.0, 1.0, 0.0]]))
    assert abs(stats[0, STATISTICS.index("smoothness")] - 2) < 5 * 2 / np.sqrt(n)  # sd of the ratio about 2/sqrt(n)


def test_padding_and_storage_order_do_not_change_the_statistics() -> None:
    """Three curves of 25, 18 and 12 observations padded to 30 (phase 0, value 0, error 1), once stored in order
    and once shuffled with the padding interleaved, against each curve computed alone."""
    rng = np.random.default_rng(2)
    curves = [curve(seed, n) for seed, n in ((3, 25), (4, 18), (5, 12))]
    alone = np.concatenate([light_curve_statistics(*(x[None] for x in c)) for c in curves])
    width = 30
    padded = [np.zeros((3, width)), np.zeros((3, width)), np.ones((3, width)), np.zeros((3, width), dtype=bool)]
    shuffled = [a.copy() for a in padded]
    for i, (phase, value, error, _, _) in enumerate(curves):
        slots = rng.permutation(width)[:phase.size]
        for array, store, x in zip(padded, shuffled, (phase, value, error, True)):
            array[i, :phase.size] = x
            store[i, slots] = x
    features = np.stack([c[4] for c in curves])
    np.testing.assert_allclose(light_curve_statistics(*padded, features), alone, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(light_curve_statistics(*shuffled, features), alone, rtol=1e-12, atol=1e-12)
    tensors = [torch.from_numpy(a) for a in padded]
    np.testing.assert_allclose(light_curve_statistics(*tensors, torch.from_numpy(features)), alone, rtol=1e-12)


def test_the_isolation_forest_flags_a_flat_noisy_curve_among_sinusoids() -> None:
    """The chapter's use: IsolationForest on the statistics, -score_samples as the anomaly score."""
    normal = [curve(seed) for seed in range(200)]
    rng = np.random.default_rng(9)
    noise = rng.standard_normal(T)
    odd = (rng.uniform(0, 1, T), (noise - noise.mean()) / noise.std(), np.full(T, 0.9), np.ones(T, dtype=bool),
           np.array([12.0, 0.4, 1.5]))
    stats = light_curve_statistics(*(np.stack(column) for column in zip(*normal, odd)))
    score = -IsolationForest(n_estimators=200, random_state=0).fit(stats[:-1]).score_samples(stats)
    assert (score[:-1] >= score[-1]).sum() <= 4  # in the top 2.5% (measured: third of 201)


def test_bad_curves_are_refused() -> None:
    phase, value, error, mask, features = (x[None] for x in curve(0))
    with pytest.raises(TypeError, match="mask must be booleans"):
        light_curve_statistics(phase, value, error, mask.astype(float), features)
    with pytest.raises(ValueError, match="at least 2 observed"):
        light_curve_statistics(phase, value, error, np.eye(1, T, dtype=bool), features)
    with pytest.raises(ValueError, match="value is constant"):
        light_curve_statistics(phase, np.zeros_like(value), error, mask, features)
    with pytest.raises(ValueError, match="error must have the shape of mask"):
        light_curve_statistics(phase, value, error[:, 1:], mask, features)
    with pytest.raises(ValueError, match=r"features\[:, 1\]"):
        light_curve_statistics(phase, value, error, mask, features * np.array([1, 0, 1]))
