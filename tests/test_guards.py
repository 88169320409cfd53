import math

import pytest
import torch
from torch import nn

from gi_core.guards import NonFiniteLossError, non_finite_error


def test_components_come_before_the_total_and_the_last_finite_values_are_given():
    error = non_finite_error(12, {"loss": math.nan, "reconstruction": 3.0, "kl": math.inf}, {"loss"}, nn.Linear(2, 2),
                             (11, {"loss": 5.0, "reconstruction": 3.0, "kl": 2.0}))
    assert isinstance(error, NonFiniteLossError) and error.step == 12
    assert list(error.terms) == ["kl", "loss"] and error.last_finite == {"loss": 5.0, "reconstruction": 3.0, "kl": 2.0}
    assert str(error).startswith("step 12: non-finite loss terms 'kl' = inf, 'loss' = nan; the component term 'kl' went")
    assert "last finite values (step 11): loss = 5, reconstruction = 3, kl = 2" in str(error)


def test_an_overflowing_total_and_diverged_parameters_are_told_apart():
    layer = nn.Linear(2, 2)
    assert "the total itself overflowed" in str(non_finite_error(3, {"loss": math.inf, "a": 1.0}, {"loss"}, layer, None))
    with torch.no_grad():
        layer.bias[0] = math.nan
    message = str(non_finite_error(3, {"loss": math.nan}, {"loss"}, layer, None))
    assert "the loss has no separate component terms; the parameter 'bias' is non-finite (the previous update diverged)" in message
    assert "no earlier step was finite" in message


def test_finite_terms_are_not_an_error():
    with pytest.raises(ValueError, match="terms: every term is finite"):
        non_finite_error(0, {"loss": 1.0}, {"loss"}, nn.Linear(1, 1), None)
