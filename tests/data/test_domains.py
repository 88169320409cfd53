"""Tests for gi_core.data.domains: the digit domains of a task, their class proportions and their pairing."""

import pytest
import torch

from gi_core.data.domains import load_domain_data, paired_domains, proportional_subset

pytestmark = pytest.mark.usefixtures("one_thread")


def test_paired_domains_repeats_the_shorter_domain_evenly():
    source = (torch.arange(10.0), torch.arange(10) % 3)
    target = (torch.arange(100.0, 103.0),)
    xs, ys, xt = paired_domains(source, target, seed=0)
    assert torch.equal(xs, source[0]) and torch.equal(ys, source[1])  # the longer domain is untouched
    counts = torch.bincount((xt - 100).long(), minlength=3)
    assert xt.shape == (10,) and counts.max() - counts.min() <= 1  # 10 = 3 + 3 + 3 + 1
    xs2, ys2, xt2 = paired_domains((torch.arange(3.0), torch.arange(3)), (torch.arange(7.0),), seed=1)
    assert xs2.shape == (7,) and torch.equal(ys2, xs2.long()), "labels must travel with their images"
    assert torch.equal(xt2, torch.arange(7.0))


def test_proportional_subset_is_the_largest_with_the_given_class_frequencies():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)[torch.randperm(100, generator=torch.Generator().manual_seed(3))]
    even = proportional_subset(labels, torch.full((3,), 1 / 3))
    assert torch.bincount(labels[even]).tolist() == [20, 20, 20] and torch.equal(even, even.sort().values)
    assert torch.equal(even, proportional_subset(labels, torch.full((3,), 1 / 3)))  # seeded
    assert torch.equal(proportional_subset(labels, torch.tensor([0.5, 0.3, 0.2])), torch.arange(100))  # already so
    assert torch.bincount(labels[proportional_subset(labels, torch.tensor([0.0, 0.6, 0.4]))], minlength=3).tolist() == [0, 30, 20]
    with pytest.raises(ValueError, match="sum to 1"):
        proportional_subset(labels, torch.tensor([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="classes 0..1"):
        proportional_subset(labels, torch.tensor([0.5, 0.5]))


def test_framed_tasks_frame_usps_only():
    plain = load_domain_data("mnist_usps", torch.device("cpu"), profile="quick")
    framed = load_domain_data("mnist_usps_framed", torch.device("cpu"), profile="quick")
    assert torch.equal(plain.source_x, framed.source_x) and torch.equal(plain.target_y, framed.target_y)
    for x in (framed.target_x, framed.target_test_x):
        assert x.shape[1:] == (1, 28, 28) and x[..., :4, :].abs().sum() == 0 and x[..., :, 24:].abs().sum() == 0
    assert plain.target_x[..., :4, :].sum() > 0  # resized USPS reaches the border
    assert "framed in a 20x20 box" in framed.sources["target_test"] and "framed" not in plain.sources["target"]
    reverse = load_domain_data("usps_mnist_framed", torch.device("cpu"), profile="quick")
    assert torch.equal(reverse.source_x, framed.target_x) and torch.equal(reverse.target_test_x, plain.source_test_x)
    balanced = load_domain_data("mnist_usps_framed_balanced", torch.device("cpu"), profile="quick")
    source_share = torch.bincount(balanced.source_y, minlength=10) / balanced.source_y.numel()
    target_share = torch.bincount(balanced.target_y, minlength=10) / balanced.target_y.numel()
    assert (target_share - source_share).abs().max() < 0.01  # the quick subsets are stratified: little to drop
    assert 0.9 * framed.target_y.numel() < balanced.target_y.numel() <= framed.target_y.numel()
    assert torch.equal(balanced.target_test_x, framed.target_test_x) and "oracle" in balanced.sources["target"]
