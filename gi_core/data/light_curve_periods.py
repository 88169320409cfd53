"""Periods of irregularly sampled light curves: a Lomb–Scargle search with alias and period-doubling checks.

:func:`estimate_period` runs four steps, each on :class:`astropy.timeseries.LombScargle`:

1. the single-harmonic periodogram (astropy's ``fast`` method) on a regular frequency grid from
   :math:`1/\\min(P_{\\max}, T)` to :math:`1/P_{\\min}` with spacing :math:`1/(o\\,T)` (oversampling :math:`o`,
   baseline :math:`T`), without the frequencies within :data:`SPURIOUS_WIDTH` of a whole number of cycles per day
   (nightly sampling and its systematics put peaks at periods of 1 day and its fractions);
2. its ``n_peaks`` highest local maxima :math:`f`, each with its daily aliases :math:`|f \\pm k|`, :math:`k = 1, 2`
   (with nightly sampling :math:`f` and :math:`f \\pm 1` day:math:`^{-1}` fit a sinusoid almost equally well);
3. every candidate refined on a local grid (±1 step, then ±0.1 step for the winner) and scored by the
   ``nterms``-harmonic power :math:`p_n(f) = 1 - \\chi^2_n(f)/\\chi^2_0` (astropy's ``chi2`` method); the best wins;
4. the doubling test. An eclipsing binary looks, to a low-order fit, like a variable at half its orbital period
   (both eclipses fold onto one dip). The two-harmonic shape at the winner (:func:`harmonic_shape`) flags an
   eclipse-like curve: symmetric about its minimum light with the minimum sharper than the maximum,
   :math:`|\\phi_{21}| <` :data:`ECLIPSE_PHASE` with :math:`A_2` measured (signal to noise above
   :data:`ECLIPSE_SNR`); pulsators (RR Lyrae, Cepheids) are skewed, :math:`\\phi_{21}` near 1–2.8 rad. Such a curve
   is folded at :math:`2P` when it shows one dip per cycle (:math:`R_{21} < 1`; a cycle that holds both eclipses
   of unequal depth has :math:`R_{21} > 1`), or when the :math:`2n`-harmonic fit at :math:`f/2`, which nests the
   :math:`n`-harmonic fit at :math:`f`, is better by the Bayesian information criterion with the noise scale
   estimated from the residuals: :math:`N \\ln(\\chi^2_n(f) / \\chi^2_{2n}(f/2)) > 2n \\ln N` (unequal eclipses).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from astropy.timeseries import LombScargle
from tqdm import tqdm

from gi_core.data.light_curves import LightCurveSet
from gi_core.validation import check_array, check_instance, check_positive_int, check_real

SIDEREAL = 1.0027379
"""Sidereal days per solar day: a survey that returns to a field at the same sidereal time samples at this rate."""
ALIAS_SHIFTS = (1.0, SIDEREAL, 2.0, 2 * SIDEREAL)
"""The daily aliases tried for each peak: :math:`|f \\pm k|` for these :math:`k` (cycles per day; ASAS's spectral
window peaks at one sidereal cycle per day)."""
SPURIOUS_WIDTH = 0.0075
"""Half width (cycles per day) of the windows left out of the search around :math:`k` cycles per solar or sidereal
day, :math:`k \\ge 1`. In ASAS the single-harmonic peaks of semiregular variables land within 0.002–0.006 of such
frequencies (periods near 1, 1/2, 1/3 day: daily aliases of their long periods and nightly systematics); on the 338
five-class curves this width puts all 68 Semireg PV periods in 20–1000 d (85% with 0.002) and costs one RR Lyrae
and one W UMa. A true period in a window (e.g. 0.4972–0.5019 d) is missed."""
ECLIPSE_PHASE = 0.5
"""Largest :math:`|\\phi_{21}|` (rad) of an eclipse-like shape (step 4)."""
ECLIPSE_SNR = 3.0
"""Smallest signal to noise of :math:`A_2` for the shape to count (step 4)."""
REFINE_POINTS = 21
"""Points of each local refinement grid (the candidate's grid cell, ±1 coarse step, and then ±0.1 step)."""


class HarmonicShape(NamedTuple):
    """A light curve's two-harmonic shape (:func:`harmonic_shape`): :math:`R_{21}`, :math:`\\phi_{21}` (rad) and the
    signal to noise of :math:`A_2`."""

    r21: float
    phi21: float
    snr2: float


class PeriodEstimate(NamedTuple):
    """What :func:`estimate_period` found.

    ``period`` (days) and ``power``, the multi-harmonic power :math:`1 - \\chi^2/\\chi^2_0` of the chosen model
    (``2 nterms`` harmonics at the doubled period); ``candidates`` the refined candidate periods tried in step 3,
    best first, with their ``nterms``-harmonic ``candidate_powers``; ``doubled`` whether the doubling test replaced
    the best candidate's period by twice it.
    """

    period: float
    power: float
    candidates: np.ndarray
    candidate_powers: np.ndarray
    doubled: bool


def _peak_frequencies(grid: np.ndarray, power: np.ndarray, n_peaks: int) -> np.ndarray:
    """The frequencies of the ``n_peaks`` highest local maxima of ``power`` (NaN entries are excluded)."""
    inner = (power[1:-1] >= power[:-2]) & (power[1:-1] >= power[2:]) & np.isfinite(power[1:-1])
    index = np.flatnonzero(inner) + 1
    if index.size == 0:
        index = np.array([int(np.nanargmax(power))])
    best = index[np.argsort(power[index])[::-1][:n_peaks]]
    return grid[best]


def _spurious(frequency: np.ndarray, width: float) -> np.ndarray:
    """Which ``frequency`` (cycles per day) lie within ``width`` of a whole number (at least 1) of cycles per solar or sidereal day."""
    solar, sidereal = np.maximum(np.round(frequency), 1.0), np.maximum(np.round(frequency / SIDEREAL), 1.0)
    return (np.abs(frequency - solar) < width) | (np.abs(frequency - SIDEREAL * sidereal) < width)


def _refine(model: LombScargle, frequency: float, half_width: float) -> tuple[float, float]:
    """The frequency of highest ``model`` power on a grid of :data:`REFINE_POINTS` points within ``half_width`` of
    ``frequency`` (positive frequencies only), and that power."""
    local = frequency + np.linspace(-half_width, half_width, REFINE_POINTS)
    local = local[local > 0]
    power = model.power(local, method="chi2")
    best = int(np.argmax(power))
    return float(local[best]), float(power[best])


def harmonic_shape(time: np.ndarray, mag: np.ndarray, err: np.ndarray, period: float) -> HarmonicShape:
    """The two-harmonic Fourier shape of a light curve at ``period``: with
    :math:`m(t) = c + \\sum_{k=1}^{2} A_k \\cos(2\\pi k t/P - \\phi_k)` fitted by weighted least squares (astropy's
    design matrix), :math:`R_{21} = A_2/A_1`, :math:`\\phi_{21} = \\phi_2 - 2\\phi_1` wrapped to :math:`(-\\pi, \\pi]`
    (independent of the time origin; Simon & Lee 1981), and :math:`A_2` over its standard error."""
    time, mag, err = _curve(time, mag, err, minimum=6)
    period = check_real(period, "period", minimum=0.0, strict=True)
    return _shape(LombScargle(time, mag, err, nterms=2), 1.0 / period)


def _curve(time: object, mag: object, err: object, minimum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time, mag, err = (np.asarray(check_array(x, name, 1), dtype=np.float64)
                      for x, name in ((time, "time"), (mag, "mag"), (err, "err")))
    if not time.shape == mag.shape == err.shape:
        raise ValueError(f"time, mag and err must have one length, got {time.size}, {mag.size}, {err.size}")
    if (err <= 0).any():
        raise ValueError(f"err must be positive, got minimum {err.min():.4g}")
    if time.size < minimum:
        raise ValueError(f"time has {time.size} observations; at least {minimum} are needed (a 2 nterms-harmonic fit "
                         f"has 4 nterms + 1 parameters: lower nterms for shorter curves)")
    return time, mag, err


def _shape(model: LombScargle, frequency: float) -> HarmonicShape:
    """:func:`harmonic_shape` from a fitted two-harmonic ``model`` (columns: 1, sin, cos, sin 2, cos 2)."""
    design = model.design_matrix(frequency)
    theta = model.model_parameters(frequency)
    residual = model.y / model.dy - model.offset() / model.dy - design @ theta
    dof = max(design.shape[0] - design.shape[1], 1)
    covariance = np.linalg.inv(design.T @ design) * float(residual @ residual) / dof
    amplitude = [np.hypot(theta[2 * k - 1], theta[2 * k]) for k in (1, 2)]
    phase = [np.arctan2(theta[2 * k - 1], theta[2 * k]) for k in (1, 2)]
    phi21 = float(np.angle(np.exp(1j * (phase[1] - 2 * phase[0]))))
    error2 = np.sqrt(0.5 * (covariance[3, 3] + covariance[4, 4]))
    return HarmonicShape(float(amplitude[1] / max(amplitude[0], 1e-300)), phi21, float(amplitude[1] / error2))


def estimate_period(time: np.ndarray, mag: np.ndarray, err: np.ndarray, min_period: float = 0.1,
                    max_period: float = 1000.0, oversampling: int = 5, nterms: int = 2, n_peaks: int = 5,
                    spurious_width: float = SPURIOUS_WIDTH, double: bool = True) -> PeriodEstimate:
    """The period (days) of one light curve, by the steps of this module's description.

    ``time`` (days), ``mag`` and ``err`` are 1-D arrays of one length (at least :math:`4\\,\\mathrm{nterms}+2`
    observations, ``err`` > 0). Periods are searched in ``[min_period, min(max_period, T)]`` (:math:`T` the
    baseline) on a grid of spacing :math:`1/(\\mathrm{oversampling}\\,T)`, leaving out the frequencies within
    ``spurious_width`` (cycles per day) of a whole number; ``double=False`` skips step 4.
    """
    min_period = check_real(min_period, "min_period", minimum=0.0, strict=True)
    max_period = check_real(max_period, "max_period", minimum=min_period, strict=True)
    oversampling = check_positive_int(oversampling, "oversampling")
    nterms = check_positive_int(nterms, "nterms")
    n_peaks = check_positive_int(n_peaks, "n_peaks")
    spurious_width = check_real(spurious_width, "spurious_width", minimum=0.0, maximum=0.25)
    check_instance(double, bool, "double")
    time, mag, err = _curve(time, mag, err, minimum=max(4 * nterms + 2, 6))
    baseline = float(np.ptp(time))
    if baseline <= min_period:
        raise ValueError(f"time spans {baseline:.4g} days, not more than min_period = {min_period:.4g}")
    step = 1.0 / (oversampling * baseline)
    low, high = 1.0 / min(max_period, baseline), 1.0 / min_period
    grid = low + step * np.arange(int(np.floor((high - low) / step)) + 1)
    power = LombScargle(time, mag, err).power(grid, method="fast", assume_regular_frequency=True)
    power[_spurious(grid, spurious_width)] = np.nan
    if np.isnan(power).all():
        raise ValueError(f"spurious_width = {spurious_width} leaves no frequency between {low:.4g} and {high:.4g}")
    peaks = _peak_frequencies(grid, power, n_peaks)
    tried = [abs(peak + s * k) for peak in peaks for k in (0.0, *ALIAS_SHIFTS) for s in (-1, 1)]
    tried = sorted({round(f / step): f for f in tried if low - step <= f <= high + step
                    and not _spurious(np.array([f]), spurious_width)[0]}.values())
    model = LombScargle(time, mag, err, nterms=nterms)
    refined = np.array([_refine(model, f, step) for f in tried])
    refined = refined[np.argsort(refined[:, 1])[::-1]]
    best, best_power = _refine(model, refined[0, 0], 0.1 * step)
    period, chosen_power, doubled = 1.0 / best, best_power, False
    if double and 2.0 / best <= min(max_period, baseline):
        shape = _shape(LombScargle(time, mag, err, nterms=2), best)
        if abs(shape.phi21) < ECLIPSE_PHASE and shape.snr2 > ECLIPSE_SNR:
            half, half_power = _refine(LombScargle(time, mag, err, nterms=2 * nterms), best / 2, 0.05 * step)
            gain = time.size * np.log(max(1.0 - best_power, 1e-300) / max(1.0 - half_power, 1e-300))
            if shape.r21 < 1.0 or gain > 2 * nterms * np.log(time.size):
                period, chosen_power, doubled = 1.0 / half, half_power, True
    return PeriodEstimate(float(period), float(chosen_power), 1.0 / refined[:, 0], refined[:, 1], doubled)


def estimate_periods(curve_set: LightCurveSet, progress: bool = True, **settings: object) -> np.ndarray:
    """:func:`estimate_period` (with ``settings``) for every curve of the
    :class:`~gi_core.data.light_curves.LightCurveSet` ``curve_set``: float64 periods in days, in the set's order;
    ``progress=False`` hides the progress bar."""
    check_instance(curve_set, LightCurveSet, "curve_set")
    check_instance(progress, bool, "progress")
    curves = tqdm(curve_set.curves, desc="periods", disable=not progress, leave=False)
    return np.array([estimate_period(c[:, 0], c[:, 1], c[:, 2], **settings).period for c in curves], dtype=np.float64)
