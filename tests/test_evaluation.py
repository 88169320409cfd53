import pytest
import torch
from torch import nn

from gi_core.evaluation import batched_mean, eval_mode, inactive_fraction


def test_batched_mean_equals_the_full_mean_for_any_batch_size():
    x = torch.arange(10.0).unsqueeze(1)
    for batch_size in (1, 3, 4, 10, 50):
        assert batched_mean(lambda b: b.square().mean(), x, batch_size) == pytest.approx(28.5)


def test_batched_mean_validates():
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        batched_mean(torch.mean, torch.ones(3, 1), 0)
    with pytest.raises(ValueError, match="empty dataset"):
        batched_mean(torch.mean, torch.ones(0, 1))


def test_eval_mode_restores_the_mode_even_after_an_error():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with eval_mode(net):
        assert not net.training and not torch.is_grad_enabled()
    assert net.training and torch.is_grad_enabled()
    net.eval()
    with pytest.raises(RuntimeError):
        with eval_mode(net):
            raise RuntimeError("boom")
    assert not net.training  # the previous mode, not "training"
    net.train()
    with pytest.raises(RuntimeError):
        with eval_mode(net):
            raise RuntimeError("boom")
    assert net.training


def test_inactive_fraction_counts_units_that_are_zero_on_every_row():
    acts = torch.tensor([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    assert inactive_fraction(acts) == 0.5  # columns 0 and 3
    assert inactive_fraction(acts.reshape(3, 2, 2)) == 0.5  # the units of a feature map are counted flat
    assert inactive_fraction(torch.relu(-torch.ones(5, 3))) == 1.0
    with pytest.raises(ValueError, match="at least one unit"):
        inactive_fraction(torch.ones(0, 3))
    with pytest.raises(ValueError, match=r"\(N, \.\.\.\)"):
        inactive_fraction(torch.ones(4))
