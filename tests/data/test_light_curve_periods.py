"""Tests for gi_core.data.light_curve_periods: periods of synthetic curves with ground-based sampling (a sinusoid,
eclipsing binaries at their orbital period, a pulsator left alone, a daily alias), the Fourier shape, the checks."""

import numpy as np
import pytest

from gi_core.data.light_curve_periods import (SIDEREAL, estimate_period, estimate_periods, harmonic_shape)
from gi_core.data.light_curves import LightCurveSet


def ground_times(n: int = 400, baseline: float = 1200.0, seed: int = 0, spread: float = 0.25) -> np.ndarray:
    """Times of a survey returning to a field once a night at the same sidereal time (± ``spread`` days), with a
    yearly four-month gap and nights lost at random: ASAS-like irregular sampling."""
    rng = np.random.default_rng(seed)
    nights = np.sort(rng.choice(int(baseline), size=3 * n, replace=False)).astype(float)
    nights = nights[(nights % 365.25) < 240][:n]
    return nights / SIDEREAL + rng.uniform(-spread, spread, nights.size)


def noisy(mag: np.ndarray, sigma: float = 0.02, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return mag + sigma * rng.standard_normal(mag.size), np.full(mag.size, sigma)


def dips(phase: np.ndarray, depths: tuple[float, float], width: float) -> np.ndarray:
    """Magnitudes of two eclipses (Gaussian dips in light, peaks in magnitude) at phases 0 and 1/2."""
    distance = [np.minimum(np.abs(phase - c), 1 - np.abs(phase - c)) for c in (0.0, 0.5)]
    return sum(d * np.exp(-0.5 * (x / width) ** 2) for d, x in zip(depths, distance))


def test_a_sinusoid_with_ground_based_sampling_recovers_its_period():
    t, period = ground_times(), 0.7345
    mag, err = noisy(12.0 + 0.3 * np.sin(2 * np.pi * t / period))
    estimate = estimate_period(t, mag, err)
    assert abs(estimate.period / period - 1) < 1e-3  # measured: 2e-6
    assert not estimate.doubled and estimate.power > 0.9
    assert estimate.candidates.shape == estimate.candidate_powers.shape and estimate.candidates.size >= 5
    assert np.all(np.diff(estimate.candidate_powers) <= 0)  # best first


@pytest.mark.parametrize("depths, width", [((0.6, 0.35), 0.03), ((0.3, 0.3), 0.07)],
                         ids=["beta-persei-like", "w-ursae-maj-like"])
def test_an_eclipsing_binary_comes_out_at_its_orbital_period_not_half(depths, width):
    t, period = ground_times(seed=2), 1.2437
    mag, err = noisy(11.0 + dips(np.mod(t, period) / period, depths, width), sigma=0.03)
    single = estimate_period(t, mag, err, double=False)
    assert abs(single.period / (period / 2) - 1) < 1e-3  # a low-order fit sees half the orbit
    estimate = estimate_period(t, mag, err)
    assert estimate.doubled and abs(estimate.period / period - 1) < 1e-3


def test_a_pulsator_is_not_doubled():
    t, period = ground_times(seed=3), 0.5631
    phase = np.mod(t, period) / period  # RR Lyrae-like sawtooth: fast brightening, slow fading
    mag, err = noisy(13.0 + 0.8 * np.where(phase < 0.15, 1 - phase / 0.15, (phase - 0.15) / 0.85))
    estimate = estimate_period(t, mag, err)
    assert not estimate.doubled and abs(estimate.period / period - 1) < 1e-3
    shape = harmonic_shape(t, mag, err, period)
    assert abs(shape.phi21) > 1.0 and shape.snr2 > 10  # skewed: not eclipse-like


def test_a_daily_alias_is_tried_and_the_true_period_kept():
    t, period = ground_times(seed=4, spread=0.08), 0.4545  # nightly sampling within ±2 h: strong aliases
    mag, err = noisy(12.0 + 0.25 * np.sin(2 * np.pi * t / period) + 0.08 * np.sin(4 * np.pi * t / period + 1.0))
    estimate = estimate_period(t, mag, err)
    assert abs(estimate.period / period - 1) < 1e-3
    alias = 1 / abs(1 / period - SIDEREAL)  # the sidereal-day alias, 0.8311 d
    near = np.abs(estimate.candidates / alias - 1) < 1e-3
    assert near.any() and estimate.candidate_powers[near].max() > 0.5 * estimate.power


def test_harmonic_shape_reads_r21_and_phi21_of_a_noise_free_curve():
    t = np.sort(np.random.default_rng(0).uniform(0, 50, 300))
    x = 2 * np.pi * t / 1.7
    mag = 10 + 0.4 * np.cos(x - 0.7) + 0.1 * np.cos(2 * x - 2.9)
    shape = harmonic_shape(t, mag, np.full(t.size, 0.01), 1.7)
    assert shape.r21 == pytest.approx(0.25, abs=1e-6)
    assert shape.phi21 == pytest.approx(np.angle(np.exp(1j * (2.9 - 1.4))), abs=1e-6)


def test_estimate_periods_runs_over_a_set_in_order():
    curves = []
    for seed, period in enumerate((0.61, 3.7)):
        t = ground_times(n=200, seed=seed)
        mag, err = noisy(10 + 0.2 * np.sin(2 * np.pi * t / period), seed=seed)
        curves.append(np.column_stack([t, mag, err]))
    curve_set = LightCurveSet(("a", "b"), ("x",), np.zeros(2, np.int64), tuple(curves), None, "toy", "none")
    periods = estimate_periods(curve_set, progress=False)
    assert periods.dtype == np.float64
    assert periods == pytest.approx([estimate_period(*c.T).period for c in curves], rel=1e-12)
    assert periods == pytest.approx([0.61, 3.7], rel=1e-3)


def test_bad_curves_and_settings_are_refused():
    t = ground_times(n=50)
    mag, err = noisy(np.sin(t))
    with pytest.raises(ValueError, match="err must be positive"):
        estimate_period(t, mag, np.where(np.arange(t.size) == 3, 0.0, err))
    with pytest.raises(ValueError, match="one length"):
        estimate_period(t, mag[:-1], err)
    with pytest.raises(ValueError, match="at least 10"):
        estimate_period(t[:8], mag[:8], err[:8])
    with pytest.raises(ValueError, match="max_period"):
        estimate_period(t, mag, err, min_period=2.0, max_period=1.0)
    with pytest.raises(ValueError, match="spans"):
        estimate_period(t[:20] * 1e-4, mag[:20], err[:20])
