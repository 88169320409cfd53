"""Tests for gi_core.data.light_curve_folding: Eq. 9.1's fold, the per-curve normalisation, the padded batch and
Astorga's outlier split (sizes, disjointness, proportions, determinism)."""

import numpy as np
import pytest
import torch

from gi_core.data.light_curve_folding import FoldedCurves, fold, fold_light_curves, normalise, outlier_split
from gi_core.data.light_curves import LightCurveSet


def toy_set(lengths=(5, 12, 300), seed: int = 0) -> LightCurveSet:
    rng = np.random.default_rng(seed)
    curves = []
    for n in lengths:
        t = np.sort(rng.uniform(0, 100, n))
        curves.append(np.column_stack([t, 10 + rng.standard_normal(n), rng.uniform(0.01, 0.1, n)]))
    return LightCurveSet(tuple(f"s{i}" for i in range(len(lengths))), ("a", "b"), np.arange(len(lengths)) % 2,
                         tuple(curves), np.array([0.5, 2.0, 7.3])[: len(lengths)], "toy", "none")


def test_fold_is_eq_9_1_for_arrays_and_tensors():
    t = np.array([-1.25, 0.0, 0.3, 2.5, 1234.567])
    expected = np.array([0.0, 0.0, 0.24, 0.0, 0.6536])  # -1.25 and 2.5 are whole periods; 1234.567 = 987.6536 P
    assert fold(t, 1.25) == pytest.approx(expected, abs=1e-12)
    phase = fold(torch.tensor(t, dtype=torch.float64), 1.25)
    assert isinstance(phase, torch.Tensor) and torch.allclose(phase, torch.tensor(expected, dtype=torch.float64))
    many = fold(np.linspace(-50, 50, 1001), 0.37)
    assert ((many >= 0) & (many < 1)).all()
    with pytest.raises(ValueError, match="period"):
        fold(t, 0.0)


def test_normalise_standardises_one_curve_and_keeps_its_mean_and_std():
    value, error = np.array([10.0, 11.0, 13.0, 14.0]), np.array([0.1, 0.2, 0.1, 0.3])
    scaled, scaled_error, mean, std = normalise(value, error)
    assert mean == 12.0 and std == pytest.approx(np.sqrt(2.5))
    assert scaled == pytest.approx((value - 12.0) / np.sqrt(2.5)) and scaled_error == pytest.approx(error / np.sqrt(2.5))
    with pytest.raises(ValueError, match="constant"):
        normalise(np.ones(4), error)


def test_fold_light_curves_folds_subsamples_normalises_and_pads():
    curve_set = toy_set()
    folded = fold_light_curves(curve_set, length=20, seed=0, dtype=torch.float64)
    assert isinstance(folded, FoldedCurves) and folded.phase.shape == (3, 20)
    assert folded.mask.sum(1).tolist() == [5, 12, 20]
    pad = ~folded.mask
    assert (folded.phase[pad] == 0).all() and (folded.value[pad] == 0).all() and (folded.error[pad] == 1).all()
    for i, curve in enumerate(curve_set.curves):
        observed = folded.mask[i]
        phase, value = folded.phase[i, observed].numpy(), folded.value[i, observed].numpy()
        assert (np.diff(phase) >= 0).all() and ((phase >= 0) & (phase < 1)).all()
        assert value.mean() == pytest.approx(0, abs=1e-12) and value.std() == pytest.approx(1, abs=1e-12)
        m, s, log_period = folded.features[i].tolist()
        assert log_period == pytest.approx(np.log10(curve_set.periods[i]))
        kept = value * s + m  # the kept magnitudes are observations of the curve
        assert np.isin(np.round(kept, 9), np.round(curve[:, 1], 9)).all()
        errors = folded.error[i, observed].numpy() * s
        assert np.isin(np.round(errors, 9), np.round(curve[:, 2], 9)).all()
    first = curve_set.curves[0]  # a short curve keeps everything: phases are Eq. 9.1 of its times
    assert np.sort(folded.phase[0, :5].numpy()) == pytest.approx(np.sort(fold(first[:, 0], 0.5)), abs=1e-12)
    assert folded.labels.tolist() == [0, 1, 0] and folded.star_ids == ("s0", "s1", "s2")


def test_subsampling_is_seeded_and_period_factor_scales_the_fold_and_the_feature():
    curve_set = toy_set()
    a, b = fold_light_curves(curve_set, length=20, seed=3), fold_light_curves(curve_set, length=20, seed=3)
    assert torch.equal(a.value, b.value) and torch.equal(a.phase, b.phase)
    assert not torch.equal(a.value[2], fold_light_curves(curve_set, length=20, seed=4).value[2])
    doubled = fold_light_curves(curve_set, length=20, seed=3, period_factor=2.0, dtype=torch.float64)
    assert (doubled.features[:, 2] - torch.log10(torch.tensor(curve_set.periods))).tolist() == \
        pytest.approx([np.log10(2.0)] * 3)
    first = curve_set.curves[0]
    assert np.sort(doubled.phase[0, :5].numpy()) == pytest.approx(np.sort(fold(first[:, 0], 1.0)), abs=1e-12)
    with pytest.raises(ValueError, match="periods must be 3 positive"):
        fold_light_curves(curve_set, np.array([1.0, -1.0, 2.0]))


def test_outlier_split_follows_the_thesis_protocol():
    labels = np.repeat(np.arange(5), [89, 68, 27, 86, 68])  # the five ASAS classes
    train, test, is_outlier = outlier_split(labels, 0, seed=0)
    assert is_outlier.sum() == 27 and (~is_outlier).sum() == 27 and test.size == 54
    assert (labels[test[is_outlier]] == 0).all() and (labels[test[~is_outlier]] != 0).all()
    assert not set(train) & set(test) and (labels[train] != 0).all()
    assert train.size == (68 + 27 + 86 + 68) - 27  # every other inlier trains
    counts = np.bincount(labels[test[~is_outlier]], minlength=5)[1:]
    exact = 27 * np.array([68, 27, 86, 68]) / 249  # 7.37, 2.93, 9.33, 7.37: floors 7, 2, 9, 7; the 2 left go to
    assert counts.tolist() == [8, 3, 9, 7]  # the largest remainders, .93 and .37 (a tie: the lower class index)
    assert np.abs(counts - exact).max() < 1 and counts.sum() == 27
    again = outlier_split(labels, 0, seed=0)
    assert all(np.array_equal(x, y) for x, y in zip((train, test, is_outlier), again))
    other = outlier_split(labels, 0, seed=1)
    assert not np.array_equal(test, other[1])
    train2, test2, flags2 = outlier_split(labels, 2, seed=0)  # the smallest class as outlier: all of it is tested
    assert set(test2[flags2]) == set(np.flatnonzero(labels == 2))
    _, test3, flags3 = outlier_split(labels, 3, seed=0, n_anomalies=10)
    assert flags3.sum() == 10 and test3.size == 20
    with pytest.raises(ValueError, match="outlier"):
        outlier_split(labels, 7, seed=0)
    with pytest.raises(ValueError, match="n_anomalies"):
        outlier_split(labels, 2, seed=0, n_anomalies=28)
