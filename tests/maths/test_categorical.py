"""Tests for gi_core.maths.categorical: probability tables, their entropy and KL (0 log 0 = 0), against scipy."""

from __future__ import annotations

import math

import pytest
import scipy.stats
import torch

from gi_core.maths.categorical import categorical_entropy, categorical_kl, check_probability_table, conditional_table
from tests.helpers import F64, gen


def test_entropy_and_kl_match_scipy_row_by_row() -> None:
    a = torch.softmax(torch.randn(4, 6, generator=gen(0), dtype=F64), -1)
    b = torch.softmax(torch.randn(4, 6, generator=gen(1), dtype=F64), -1)
    for row in range(4):
        assert categorical_entropy(a)[row].item() == pytest.approx(scipy.stats.entropy(a[row].numpy()), abs=1e-14)
        assert categorical_kl(a, b)[row].item() == pytest.approx(scipy.stats.entropy(a[row].numpy(), b[row].numpy()), abs=1e-14)
    assert torch.equal(categorical_kl(a, a), torch.zeros(4, dtype=F64))


def test_zero_probabilities_follow_the_conventions() -> None:
    a, b = torch.tensor([0.5, 0.5, 0.0], dtype=F64), torch.tensor([0.25, 0.25, 0.5], dtype=F64)
    assert categorical_entropy(a).item() == pytest.approx(math.log(2.0), abs=1e-15)  # 0 log 0 = 0
    assert categorical_kl(a, b).item() == pytest.approx(math.log(2.0), abs=1e-15)  # 0 log(0 / b) = 0
    assert categorical_kl(b, a).item() == math.inf  # a does not cover the support of b


def test_probability_tables_are_validated_along_their_last_axis() -> None:
    table = torch.tensor([[0.2, 0.8], [1.0, 0.0]], dtype=F64)
    assert check_probability_table(table, "r", ndim=2) is table
    with pytest.raises(ValueError, match="sum to 1"):
        check_probability_table(torch.tensor([0.5, 0.4]), "r")  # float32 tolerance is 1e-5, still too far
    assert check_probability_table(torch.tensor([0.5, 0.5 + 1e-6]), "r") is not None  # within float32's 1e-5
    with pytest.raises(ValueError, match=r"sum to 1 along its last axis \(within 1e-09\)"):
        check_probability_table(torch.tensor([0.5, 0.5 + 1e-6], dtype=F64), "r")
    with pytest.raises(ValueError, match="r must be non-negative"):
        check_probability_table(torch.tensor([1.5, -0.5], dtype=F64), "r")
    with pytest.raises(ValueError, match="r is empty"):
        check_probability_table(torch.zeros(2, 0, dtype=F64), "r")


def test_conditional_tables_divide_by_the_marginal_of_the_other_axes() -> None:
    joint = torch.tensor([[[0.1, 0.05], [0.0, 0.0]], [[0.2, 0.15], [0.3, 0.2]]], dtype=F64)  # (2, 2, 2)
    given_rest = conditional_table(joint, 2)
    assert torch.allclose(given_rest[1, 1], torch.tensor([0.6, 0.4], dtype=F64))
    assert torch.equal(given_rest[0, 1], torch.zeros(2, dtype=F64))  # a row of probability 0 stays 0
    first_two = conditional_table(joint, (0, 1))
    assert torch.allclose(first_two[..., 0].sum(), torch.tensor(1.0, dtype=F64))
    assert first_two[1, 0, 1].item() == pytest.approx(0.15 / 0.4, abs=1e-15)
    with pytest.raises(ValueError, match="axes must be an axis"):
        conditional_table(joint, 3)
    with pytest.raises(ValueError, match="joint must be non-negative"):
        conditional_table(-joint, 0)
