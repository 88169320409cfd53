"""What every training step does: the data checks, the schedules, the optimizers' update and the thread rule."""

import pytest
import torch
from torch import nn

from gi_core.training_step import (SMALL_STEP_WORK, apply_schedules, check_optimizers, check_schedules,
                                   check_training_data, default_threads, optimizer_step)


class Coefficient(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))
        self.values: dict[str, float] = {}

    def set_coefficient(self, name: str, value: float) -> None:
        self.values[name] = value


def test_training_data_is_a_tuple_of_tensors_of_one_length():
    x, y = torch.zeros(5, 2), torch.arange(5)
    assert check_training_data(x, 2)[0] is x and check_training_data([x, y], 5) == (x, y)
    with pytest.raises(ValueError, match="share their first dimension"):
        check_training_data([x, torch.arange(4)], 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        check_training_data(torch.tensor([[0.0], [float("nan")]]), 1)
    with pytest.raises(ValueError, match="between 1 and the dataset size 5"):
        check_training_data(x, 6)


def test_one_optimizer_stands_for_the_term_loss():
    sgd = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    assert check_optimizers(sgd) == {"loss": sgd}
    with pytest.raises(TypeError, match="opts must be a torch optimizer"):
        check_optimizers({}, "opts")


def test_schedules_set_rates_from_the_initial_rate_and_coefficients_on_the_model():
    model = Coefficient()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    schedules = check_schedules({"lr": lambda step: 0.5 ** step, "grl": lambda step: float(step)}, model)
    for step in (0, 1, 3):
        apply_schedules(schedules, step, model, {"loss": optimizer})
        assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5 ** step)  # never compounded
        assert model.values["grl"] == float(step)
    with pytest.raises(ValueError, match="step 2: schedule 'lr' returned -1.0"):
        apply_schedules({"lr": lambda step: -1.0}, 2, model, {"loss": optimizer})
    with pytest.raises(TypeError, match=r"the schedules \['grl'\] need a model with set_coefficient"):
        check_schedules({"grl": lambda step: 1.0}, nn.Linear(1, 1))


def test_several_optimizers_move_simultaneously_along_their_own_terms():
    """x minimises f = x·y, y minimises g = -x·y: both gradients are taken at the starting point."""
    x, y = nn.Parameter(torch.tensor(1.0)), nn.Parameter(torch.tensor(2.0))
    optimizers = {"f": torch.optim.SGD([x], lr=0.1), "g": torch.optim.SGD([y], lr=0.1)}
    optimizer_step(optimizers, {"f": x * y, "g": -x * y})
    assert x.item() == pytest.approx(1.0 - 0.1 * 2.0) and y.item() == pytest.approx(2.0 + 0.1 * 1.0)
    with pytest.raises(ValueError, match=r"losses must map each optimized term \['f', 'g'\]"):
        optimizer_step(optimizers, {"f": x * y})


def test_small_steps_get_one_thread():
    small, large = nn.Linear(2, 2), nn.Linear(1000, 1000)
    assert default_threads(small, 4, "cpu") == 1
    assert 1000 * 1001 * 32 > SMALL_STEP_WORK and default_threads(large, 32, "cpu") is None
    assert default_threads(small, 4, torch.device("meta")) is None
