"""Tests for gi_core.maths.schedules: Ganin et al.'s reversal coefficient and annealed learning rate, in the progress
and as functions of the step for the trainer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gi_core.maths.schedules import annealed_lr_factor, dann_learning_rate, grl_ramp, grl_schedule, linear_ramp


def test_grl_schedule_values():
    assert grl_schedule(0.0) == 0.0
    assert grl_schedule(0.5) == pytest.approx(0.98661429815, abs=1e-10)  # tanh(2.5)
    assert grl_schedule(1.0) == pytest.approx(0.99990920, abs=1e-8)  # tanh(5)
    assert grl_schedule(1.0, gamma=50.0) == pytest.approx(1.0, abs=1e-12)
    assert grl_schedule(0.1, gamma=2.0) == pytest.approx(2 / (1 + math.exp(-0.2)) - 1, abs=1e-15)
    values = [grl_schedule(p) for p in np.linspace(0, 1, 21)]
    assert all(a < b for a, b in zip(values, values[1:]))
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(ValueError, match=r"progress must (lie in \[0.0, 1.0\]|be finite)"):
            grl_schedule(bad)
    with pytest.raises(ValueError, match=r"gamma must lie in \(0.0, inf\)"):
        grl_schedule(0.5, gamma=-1.0)


def test_dann_learning_rate():
    assert dann_learning_rate(0.0) == 0.01
    assert dann_learning_rate(1.0) == pytest.approx(0.01 / 11**0.75)
    with pytest.raises(ValueError, match="progress"):
        dann_learning_rate(2.0)
    with pytest.raises(ValueError, match="lr0"):
        dann_learning_rate(0.5, lr0=0.0)


@pytest.mark.parametrize(("lambda_max", "steps", "gamma"), [(1.0, 10, 10.0), (0.3, 4, 10.0), (2.5, 1000, 10.0), (0.7, 7, 3.0)])
def test_grl_ramp_is_the_float32_coefficient_of_the_old_reversal_layer(lambda_max, steps, gamma):
    """Bitwise what ``GradientReversal.advance`` stored at each step (a float32 tanh of the capped progress), and
    ``lambda_max`` times ``grl_schedule`` of the capped progress up to float32 rounding."""
    ramp = grl_ramp(lambda_max, steps, gamma)
    for step in [*range(3 * steps + 2), 10 * steps, 12345]:
        progress = (torch.tensor(step).float() / steps).clamp(max=1)
        old = lambda_max * torch.tanh(0.5 * gamma * progress)
        assert ramp(step) == old.item()  # the float32 value, exactly
        assert ramp(step) == pytest.approx(lambda_max * grl_schedule(min(step / steps, 1.0), gamma), abs=1e-6)
    assert ramp(0) == 0.0 and ramp(steps) == ramp(10 * steps)  # flat after the ramp


def test_annealed_lr_factor_is_the_annealed_rate_of_unit_initial_rate():
    for steps in (1, 8, 1000):
        factor = annealed_lr_factor(steps)
        for step in [*range(2 * steps + 2), 5 * steps]:
            assert factor(step) == dann_learning_rate(min(step / steps, 1.0), 1.0)
        assert factor(0) == 1.0 and factor(steps) == factor(3 * steps) == pytest.approx(11**-0.75, rel=1e-15)


def test_step_schedules_validate_their_settings():
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            annealed_lr_factor(bad)
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            grl_ramp(1.0, bad)
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"lambda_max must (lie in \[0.0, inf\]|be finite)"):
            grl_ramp(bad, 10)
    with pytest.raises(ValueError, match=r"gamma must lie in \(0.0, inf\)"):
        grl_ramp(1.0, 10, gamma=0.0)


def test_linear_ramp_is_avda_gamma_then_constant():
    """The thesis's gamma (Pérez Carrasco 2021, Eq. 3.12): 1.0 to 0.9 over the first 25 batches, then 0.9."""
    gamma = linear_ramp(1.0, 0.9, 25)
    for step, value in ((0, 1.0), (12, 0.952), (25, 0.9), (1000, 0.9)):
        assert gamma(step) == pytest.approx(value, abs=1e-12)
    assert gamma(0) == 1.0 and gamma(25) == 0.9 and gamma(26) == 0.9  # the ends exactly
    values = [gamma(step) for step in range(27)]
    assert all(a > b for a, b in zip(values[:26], values[1:26]))
    assert np.allclose(np.diff(values[:26]), -0.004, rtol=0, atol=1e-12)  # linear: equal decrements
    rising = linear_ramp(0.0, 2.0, 4)
    assert [rising(step) for step in range(6)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]


def test_linear_ramp_validates_its_settings():
    for name, args in (("start", (-0.1, 0.9, 25)), ("end", (1.0, -0.5, 25))):
        with pytest.raises(ValueError, match=rf"{name} must lie in \[0.0, inf\]"):
            linear_ramp(*args)
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="start must be finite"):
            linear_ramp(bad, 0.9, 25)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="steps must be a positive integer"):
            linear_ramp(1.0, 0.9, bad)
    with pytest.raises(ValueError, match="step must be a non-negative integer"):
        linear_ramp(1.0, 0.9, 25)(-1)
