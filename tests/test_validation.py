"""Tests for gi_core.validation: each check returns what it validated or raises naming the input."""

import pytest
import torch
from torch import nn

from gi_core.validation import check_array, check_choice, check_labels, check_module, check_positive_int, check_sizes


def test_check_choice_accepts_an_allowed_value_and_lists_them_otherwise():
    assert check_choice("conv", ("mlp", "conv"), "arch") is None
    with pytest.raises(ValueError, match=r"^unknown arch 'gan'; choose one of mlp, conv$"):
        check_choice("gan", ("mlp", "conv"), "arch")
    with pytest.raises(ValueError, match=r"unknown task None; choose one of a$"):
        check_choice(None, ("a",), "task")


def test_check_positive_int_returns_the_value():
    assert check_positive_int(1, "n") == 1 and check_positive_int(512, "n") == 512
    for bad in (0, -3, 2.0, True, "4", None):
        with pytest.raises(ValueError, match=rf"^n must be a positive integer, got {bad!r}$"):
            check_positive_int(bad, "n")


def test_check_sizes_returns_a_tuple_of_positive_ints():
    assert check_sizes(3, "hidden") == (3,)
    assert check_sizes([512, 256], "hidden") == (512, 256) and check_sizes((1, 28, 28), "shape") == (1, 28, 28)
    for bad in (0, [], (4, 0), [2, 1.5], True, (8, False), "ab", None):
        with pytest.raises(ValueError, match=r"^hidden must be a positive integer or a non-empty sequence of them, got "):
            check_sizes(bad, "hidden")


def test_check_module_names_the_type_it_got():
    assert check_module(nn.Linear(2, 3), "encoder") is None
    with pytest.raises(TypeError, match=r"^encoder must be a torch.nn.Module, got function$"):
        check_module(lambda x: x, "encoder")
    with pytest.raises(TypeError, match=r"^decoder must be a torch.nn.Module, got Tensor$"):
        check_module(torch.zeros(2), "decoder")


def test_labels_are_checked_by_shape_and_dtype():
    check_labels(torch.tensor([0, 3, 1]), 3, "y")
    for bad in (torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0, 1]), torch.zeros(3, 1, dtype=torch.long)):
        with pytest.raises(ValueError, match=r"y must be integer labels of shape \(3,\)"):
            check_labels(bad, 3, "y")


def test_check_array_converts_tensors_and_checks_rank_and_values():
    import numpy as np

    array = check_array(torch.tensor([[1.0, 2.0]]), "features", 2)
    assert isinstance(array, np.ndarray) and array.tolist() == [[1.0, 2.0]]
    assert check_array([0, 1, 1], "labels", 1).tolist() == [0, 1, 1]
    with pytest.raises(ValueError, match=r"features must have 2 dimension\(s\), got shape \(3,\)"):
        check_array(np.zeros(3), "features", 2)
    with pytest.raises(ValueError, match="features contains NaN or infinite values"):
        check_array(np.array([[np.nan]]), "features", 2)
    assert np.isnan(check_array(np.array([[np.nan]]), "features", 2, finite=False)).all()
