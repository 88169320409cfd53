import pytest
import torch
from torch import nn

from gi_core.batching import apply_in_batches, batched_mean, eval_mode


def test_batched_mean_equals_the_full_mean_for_any_batch_size():
    x = torch.arange(10.0).unsqueeze(1)
    for batch_size in (1, 3, 4, 10, 50):
        assert batched_mean(lambda b: b.square().mean(), x, batch_size) == pytest.approx(28.5)


def test_batched_mean_validates():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        batched_mean(torch.mean, torch.ones(3, 1), 0)
    with pytest.raises(ValueError, match=r"x is empty \(shape \(0, 1\)\)"):
        batched_mean(torch.mean, torch.ones(0, 1))


def test_apply_in_batches_concatenates_the_batches_without_gradients():
    x = torch.arange(10.0).unsqueeze(1).requires_grad_()
    for batch_size in (1, 3, 10, 50):
        out = apply_in_batches(lambda b: 2.0 * b + 1.0, x, batch_size)
        assert torch.equal(out, 2.0 * x.detach() + 1.0) and not out.requires_grad
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        apply_in_batches(torch.neg, x, 0)


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


def test_bad_inputs_are_refused_before_any_batch_is_computed():
    with pytest.raises(TypeError, match="^module must be a torch.nn.Module, got str$"):
        eval_mode("net")  # at the call, not only when the block is entered
    with pytest.raises(ValueError, match=r"^statistic must return one number \(the batch mean\), got Tensor \(2,\)$"):
        batched_mean(lambda b: b.sum(0), torch.ones(3, 2))
    with pytest.raises(ValueError, match="^x contains NaN or infinite values$"):
        apply_in_batches(torch.neg, torch.tensor([[1.0], [float("nan")]]))
    with pytest.raises(TypeError, match="^fn must be callable, got int$"):
        apply_in_batches(3, torch.ones(2, 1))
