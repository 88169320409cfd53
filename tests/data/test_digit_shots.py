"""Tests for gi_core.data.digit_shots: the k-shot target labels, the validation indices, the signed 32×32 digits."""

import pytest
import torch

from gi_core.data.digit_shots import draw_shots, signed_domain_data, validation_indices
from gi_core.data.domains import DOMAIN_SPLITS, load_domain_data

CPU = torch.device("cpu")


def labels(n_per_class: int = 20, classes: int = 10, seed: int = 0) -> torch.Tensor:
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return y[torch.randperm(y.numel(), generator=torch.Generator().manual_seed(seed))]


def test_draws_are_class_by_class_sorted_and_reproducible():
    y = labels()
    shots = draw_shots(y, 5, seed=3)
    assert shots.dtype == torch.long and shots.shape == (50,)
    assert torch.equal(y[shots], torch.arange(10).repeat_interleave(5))  # class 0 first, 5 of each
    blocks = shots.view(10, 5)
    assert torch.equal(blocks, blocks.sort(1).values) and shots.unique().numel() == 50  # sorted, no repeats
    assert torch.equal(draw_shots(y, 5, seed=3), shots)
    assert not torch.equal(draw_shots(y, 5, seed=4), shots)


def test_the_draw_is_the_first_shots_of_one_seeded_permutation():
    """Closed form: class c gets the first k entries of torch.randperm(N, seed) of that class, so budgets nest."""
    y = labels(7, 4, seed=1)
    order = torch.randperm(y.numel(), generator=torch.Generator().manual_seed(11))
    expected = torch.cat([order[y[order] == c][:3].sort().values for c in range(4)])
    assert torch.equal(draw_shots(y, 3, 11, num_classes=4), expected)
    one, five = draw_shots(y, 1, 11, num_classes=4), draw_shots(y, 5, 11, num_classes=4)
    assert set(one.tolist()) <= set(five.tolist())


def test_seeds_differ_in_most_draws():
    y = labels(200)
    draws = [set(draw_shots(y, 1, seed).tolist()) for seed in range(20)]
    overlaps = [len(a & b) for i, a in enumerate(draws) for b in draws[i + 1:]]
    # Each class's shot is one of 200 examples: two seeds share it with probability 1/200 per class, so the mean
    # overlap of two 10-index draws is 10/200 = 0.05; 190 pairs give 9.5 on average (Poisson, P(> 25) < 1e-4).
    assert sum(overlaps) <= 25


def test_exclusion_is_respected():
    y = labels(20)
    banned = torch.arange(0, 200, 2)  # every even index
    shots = draw_shots(y, 2, seed=0, exclude=banned)
    assert not set(shots.tolist()) & set(banned.tolist())
    assert torch.equal(y[shots], torch.arange(10).repeat_interleave(2))
    left = torch.cat([torch.nonzero(y == c).flatten()[:2] for c in range(10)])  # two of each class stay
    rest = torch.tensor(sorted(set(range(200)) - set(left.tolist())))
    assert torch.equal(draw_shots(y, 2, seed=9, exclude=rest), left)  # no choice left: exactly those
    with pytest.raises(ValueError, match=r"class 3 has 0 available examples"):
        draw_shots(y, 1, seed=0, exclude=torch.nonzero(y == 3).flatten())
    assert draw_shots(y, 1, 0, exclude=torch.empty(0, dtype=torch.long)).numel() == 10


def test_zero_shots_and_errors():
    y = labels(3)
    empty = draw_shots(y, 0, seed=1)
    assert empty.dtype == torch.long and empty.shape == (0,)
    with pytest.raises(ValueError, match=r"labels: class 0 has 3 available examples .* shots_per_class=4"):
        draw_shots(y, 4, seed=1)
    with pytest.raises(ValueError, match="labels must lie in 0..4"):
        draw_shots(y, 1, seed=1, num_classes=5)
    with pytest.raises(TypeError, match="labels must hold integer labels"):
        draw_shots(y.double(), 1, seed=1)
    with pytest.raises(ValueError, match="exclude must hold indices in 0..29"):
        draw_shots(y, 1, seed=1, exclude=torch.tensor([30]))
    with pytest.raises(TypeError, match="exclude must hold integer indices"):
        draw_shots(y, 1, seed=1, exclude=torch.tensor([1.0]))
    with pytest.raises(ValueError, match="shots_per_class must be a non-negative integer"):
        draw_shots(y, -1, seed=1)


def test_validation_indices_are_random_sorted_and_disjoint_from_the_shots():
    y = labels(30)
    shots = draw_shots(y, 5, seed=2)
    val = validation_indices(y, 100, seed=2, exclude=shots)
    assert val.dtype == torch.long and val.shape == (100,) and torch.equal(val, val.sort().values)
    assert val.unique().numel() == 100 and not set(val.tolist()) & set(shots.tolist())
    assert torch.equal(validation_indices(y, 100, seed=2, exclude=shots), val)
    assert not torch.equal(validation_indices(y, 100, seed=3, exclude=shots), val)
    order = torch.randperm(300, generator=torch.Generator().manual_seed(5))
    assert torch.equal(validation_indices(y, 7, seed=5), order[:7].sort().values)  # closed form, no exclusion
    everything = validation_indices(y, 250, seed=0, exclude=shots)  # all that is left
    assert set(everything.tolist()) == set(range(300)) - set(shots.tolist())
    with pytest.raises(ValueError, match="size=251 exceeds the 250 examples"):
        validation_indices(y, 251, seed=0, exclude=shots)
    with pytest.raises(ValueError, match="size must be a positive integer"):
        validation_indices(y, 0, seed=0)


def test_signed_domain_data_is_twice_the_unit_images_minus_one():
    signed = signed_domain_data("mnist_usps", CPU, profile="quick")
    plain = load_domain_data("mnist_usps", CPU, profile="quick", image_size=32)
    for split in DOMAIN_SPLITS:
        x, y = getattr(signed, f"{split}_x"), getattr(signed, f"{split}_y")
        assert x.shape[1:] == (1, 32, 32) and x.shape[0] == y.shape[0] > 0
        assert torch.equal(x, 2 * getattr(plain, f"{split}_x") - 1)
        assert torch.equal(y, getattr(plain, f"{split}_y"))
        assert x.min() >= -1 and x.max() <= 1
        assert signed.sources[split].endswith("32×32, in [-1, 1]")
    for split in ("source", "target", "source_test"):  # the USPS test subset's brightest pixel is 0.998
        x = getattr(signed, f"{split}_x")
        assert x.min() == -1 and x.max() == 1
    assert signed.source_x.shape == (6000, 1, 32, 32) and signed.target_x.shape == (2000, 1, 32, 32)
    with pytest.raises(ValueError, match="unknown task"):
        signed_domain_data("mnist_svhn", CPU, profile="quick")
    with pytest.raises(ValueError, match="unknown profile"):
        signed_domain_data("mnist_usps", CPU, profile="fast")
