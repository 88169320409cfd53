"""Tests for gi_core.metrics.latent: the log-MSE of reconstructions and the conditional entropy of the encoder."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from gi_core.metrics.latent import conditional_entropy, log_mse
from tests.maths.test_mutual_information import codes

pytestmark = pytest.mark.usefixtures("one_thread")


def test_log_mse_hand_values() -> None:
    target = torch.zeros(3, 4)
    assert log_mse(target, torch.full((3, 4), 0.1)) == pytest.approx(math.log(0.01), rel=1e-6)
    assert log_mse(target, torch.full((3, 4), -0.1)) == pytest.approx(math.log(0.01), rel=1e-6)
    # mean of the squares over every entry: (0 + 4 + 1 + 1) / 4
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[1.0, 0.0], [2.0, 5.0]])
    assert log_mse(a, b) == pytest.approx(math.log(1.5), abs=1e-12)
    assert log_mse(a, a) == -math.inf  # a perfect reconstruction


def test_log_mse_validates() -> None:
    with pytest.raises(ValueError):
        log_mse(torch.zeros(3, 4), torch.zeros(4, 3))
    with pytest.raises(ValueError):
        log_mse(torch.zeros(0, 4), torch.zeros(0, 4))


def test_conditional_entropy_hand_value_and_torch() -> None:
    _, log_var = codes()
    hand = (0.5 * np.log(2.0 * np.pi * np.e * np.exp(log_var.numpy()))).sum(1).mean()
    assert conditional_entropy(log_var) == pytest.approx(hand, rel=1e-12)
    reference = Normal(torch.zeros_like(log_var), torch.exp(0.5 * log_var)).entropy().sum(-1).mean()
    assert conditional_entropy(log_var) == pytest.approx(float(reference), rel=1e-12)
    assert conditional_entropy(torch.zeros(4, 2)) == pytest.approx(math.log(2.0 * math.pi * math.e), rel=1e-6)
    with pytest.raises(ValueError):
        conditional_entropy(torch.zeros(0, 2))
