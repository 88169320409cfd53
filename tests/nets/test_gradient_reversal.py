"""Tests for gi_core.nets.gradient_reversal: the gradient reversal layer and gradient scaling.

The layer's schedule is the trainer's (``Trainer(schedules={"grl": grl_ramp(...)})``): tests/models/test_dann.py
follows it over the steps of a DANN.
"""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.maths.schedules import grl_ramp
from gi_core.models.cdlm import build_cdlm
from gi_core.models.dann import build_dann
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


BAD_LAMBDAS = [-1.0, -1e-12, math.nan, math.inf, "0.5", True, None, torch.tensor([0.5, 0.5])]


@pytest.mark.parametrize("bad", BAD_LAMBDAS, ids=repr)
def test_every_way_of_setting_lambda_refuses_the_same_values(bad):
    """Issue 14: a functional form accepted λ < 0 while the module refused it, and the module read λ with ``float()``
    (a string or a bool passed, a two-element tensor failed inside torch). Now the layer's constructor and
    ``set_coefficient``, the models' ``set_coefficient`` and their builders refuse one set of values, naming the
    argument, and a refused value leaves λ as it was."""
    grl = GradientReversal(0.5)
    dann = build_dann(image_size=16, num_classes=2, coefficient=0.5)
    cdlm = build_cdlm((1, 16, 16), latent_dim=2, num_classes=2, channels=1, coefficient=0.5)
    setters = [
        ("coefficient", GradientReversal),
        ("coefficient", lambda v: build_dann(image_size=16, num_classes=2, coefficient=v)),
        ("coefficient", lambda v: build_cdlm((1, 16, 16), latent_dim=2, num_classes=2, channels=1, coefficient=v)),
        ("value", grl.set_coefficient),
        ("value", lambda v: dann.set_coefficient("grl", v)),
        ("value", lambda v: cdlm.set_coefficient("grl", v)),
    ]
    for name, setter in setters:
        with pytest.raises((ValueError, TypeError), match=f"^{name} "):
            setter(bad)
    assert float(grl.coefficient) == float(dann.grl.coefficient) == float(cdlm.grl.coefficient) == 0.5


def test_scale_gradient_takes_any_finite_real_factor_and_refuses_the_rest():
    """``scale_gradient``'s factor is :math:`c=-\\lambda` of any sign (CDLM scales by :math:`\\lambda_2>0`); it refuses
    what the layer refuses for being no finite real number, and a tensor factor that is not one floating element."""
    x = torch.randn(3, requires_grad=True)
    for factor in (-2.0, 0.0, 0.5, 3, torch.tensor(-1.5)):
        (grad,) = torch.autograd.grad(scale_gradient(x, factor).sum(), x)
        assert torch.equal(grad, torch.full((3,), float(factor)))
    for bad in (math.nan, math.inf, "0.5", True, None):
        with pytest.raises((ValueError, TypeError), match="^factor "):
            scale_gradient(x, bad)
    for bad in (torch.tensor([1.0, 2.0]), torch.tensor(2)):
        with pytest.raises(ValueError, match="^factor must be a one-element floating tensor"):
            scale_gradient(x, bad)
