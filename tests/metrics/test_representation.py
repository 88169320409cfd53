"""Tests for gi_core.metrics.representation: the linear probe, batched encoder means and inactive units."""

import numpy as np
import pytest
import torch

from gi_core.metrics.representation import encode_means, inactive_fraction, linear_probe_accuracy
from gi_core.nets.encoders import MLPEncoder


def test_probe_is_perfect_on_linearly_separable_data():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    y = rng.integers(0, 3, 300)
    x = centres[y] + rng.normal(size=(300, 3))
    assert linear_probe_accuracy(x[:200], y[:200], x[200:], y[200:]) == 1.0


def test_probe_is_at_chance_on_noise():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(4000, 5)), rng.integers(0, 2, 4000)
    assert abs(linear_probe_accuracy(x[:2000], y[:2000], x[2000:], y[2000:]) - 0.5) < 0.05


def test_probe_validates_inputs():
    x, y = np.zeros((10, 2)), np.arange(10) % 2
    with pytest.raises(ValueError, match="same number of rows"):
        linear_probe_accuracy(x, y[:5], x, y)
    with pytest.raises(ValueError, match="differ in width"):
        linear_probe_accuracy(x, y, np.zeros((10, 3)), y)
    with pytest.raises(ValueError, match="at least two classes"):
        linear_probe_accuracy(x, np.zeros(10, int), x, y)
    with pytest.raises(ValueError, match="must have 2 dimension"):
        linear_probe_accuracy(np.zeros(10), y, x, y)


def test_encode_means_matches_one_big_batch():
    torch.manual_seed(0)
    enc = MLPEncoder((1, 4, 4), 2, hidden=(8,))
    x = torch.rand(10, 1, 4, 4)
    assert torch.allclose(encode_means(enc, x, batch_size=3), enc(x)[0].detach())


def test_inactive_fraction_counts_units_that_are_zero_on_every_row():
    acts = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert inactive_fraction(acts) == 0.5  # columns 0 and 3
    assert inactive_fraction(acts.reshape(3, 2, 2)) == 0.5  # the units of a feature map are counted flat
    assert inactive_fraction(torch.relu(-torch.ones(5, 3))) == 1.0
    with pytest.raises(ValueError, match="at least one unit"):
        inactive_fraction(torch.ones(0, 3))
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\)"):
        inactive_fraction(torch.ones(4))
