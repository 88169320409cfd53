"""Tests for gi_core.nets.lenet: DANN's LeNet feature extractor for digits."""

import pytest
import torch

from gi_core.nets.lenet import LeNetFeatures


def test_lenet_features():
    assert LeNetFeatures(1, 28).out_features == 768 and LeNetFeatures(3, 32).out_features == 1200
    assert LeNetFeatures(1, 28)(torch.zeros(2, 1, 28, 28)).shape == (2, 768)
    with pytest.raises(ValueError, match="image side"):
        LeNetFeatures(1, 30)
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 28, 28\), got \(2, 3, 28, 28\)$"):
        LeNetFeatures(1, 28)(torch.zeros(2, 3, 28, 28))
