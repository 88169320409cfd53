"""Tests for gi_core.nets.gradient_reversal: the gradient reversal layer and gradient scaling.

The layer's schedule is the trainer's (``Trainer(schedules={"grl": grl_ramp(...)})``): tests/models/test_dann.py
follows it over the steps of a DANN.
"""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.maths.schedules import grl_ramp
from gi_core.nets.gradient_reversal import GradientReversal, scale_gradient
from tests.helpers import F64

pytestmark = pytest.mark.usefixtures("one_thread")
LAMBDAS = [0.0, 0.3, 1.0, 2.5]


@pytest.mark.parametrize("lambda_", LAMBDAS)
def test_grl_is_the_identity_forward_and_minus_lambda_backward(lambda_):
    x = torch.randn(5, 3, dtype=F64, requires_grad=True)
    upstream = torch.randn(5, 3, dtype=F64)
    grl = GradientReversal(lambda_).double()
    stored = float(grl.coefficient)  # the module keeps λ in a float32 buffer: 0.3 is stored as 0.30000001192...
    assert stored == pytest.approx(lambda_, rel=1e-7)
    for y, value in ((grl(x), stored), (scale_gradient(x, -lambda_), lambda_)):
        assert torch.equal(y, x)
        (grad,) = torch.autograd.grad(y, x, upstream)
        assert torch.equal(grad, upstream * -value)
    (grad,) = torch.autograd.grad(scale_gradient(x, lambda_), x, upstream)
    assert torch.equal(grad, upstream * lambda_)


def test_grl_coefficient_validation_and_state():
    grl = GradientReversal(0.5)
    assert float(grl.coefficient) == 0.5
    grl.set_coefficient(2.0)
    assert float(grl.coefficient) == 2.0 and float(grl.state_dict()["coefficient"]) == 2.0
    with pytest.raises(ValueError, match="non-negative"):
        grl.set_coefficient(-1.0)
    with pytest.raises(ValueError, match="finite"):
        GradientReversal(math.nan)
    with pytest.raises(ValueError, match="steps"):
        grl_ramp(1.0, steps=0)
    with pytest.raises(ValueError, match="gamma"):
        grl_ramp(1.0, steps=10, gamma=0.0)
