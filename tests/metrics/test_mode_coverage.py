"""Mode coverage of a mixture's samples and the same-mode rate of reconstructions, against hand counts."""

from __future__ import annotations

import pytest
import torch

from gi_core.metrics.mode_coverage import mode_coverage, same_mode_fraction

MEANS = torch.tensor([[0.0, 0.0], [10.0, 0.0]])


def test_coverage_counts_samples_near_each_mode() -> None:
    samples = torch.tensor([[0.1, 0.0], [0.0, 0.3], [10.0, 0.2], [9.0, 0.0], [0.05, 0.05]])
    scores = mode_coverage(samples, MEANS, radius=0.25)
    assert scores["near_mode"] == pytest.approx(3 / 5)  # 0.1, 0.2 and 0.07 from a centre; 0.3 and 1.0 are not
    assert scores["min_mode_share"] == pytest.approx(2 / 5)  # mode 1 is nearest to two of the five
    assert mode_coverage(samples[:2], MEANS)["min_mode_share"] == 0.0  # one mode gets nothing


def test_same_mode_fraction_compares_nearest_modes_row_by_row() -> None:
    inputs = torch.tensor([[0.0, 0.0], [10.0, 0.0], [9.0, 1.0], [1.0, 0.0]])
    reconstructions = torch.tensor([[1.0, 1.0], [4.0, 0.0], [6.0, 0.0], [2.0, 0.0]])
    assert same_mode_fraction(reconstructions, inputs, MEANS) == pytest.approx(3 / 4)


def test_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="share D"):
        mode_coverage(torch.zeros(3, 3), MEANS)
    with pytest.raises(ValueError, match="one shape"):
        same_mode_fraction(torch.zeros(3, 2), torch.zeros(4, 2), MEANS)
    with pytest.raises(ValueError, match="radius"):
        mode_coverage(torch.zeros(3, 2), MEANS, radius=0.0)
