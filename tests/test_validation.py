"""Tests for gi_core.validation: each check returns what it validated or raises naming the input."""

import numpy as np
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


def test_check_positive_int_with_a_minimum():
    assert check_positive_int(2, "num_classes", minimum=2) == 2
    with pytest.raises(ValueError, match=r"^num_classes must be at least 2, got 1$"):
        check_positive_int(1, "num_classes", minimum=2)
    with pytest.raises(ValueError, match=r"^num_classes must be a positive integer, got 0$"):
        check_positive_int(0, "num_classes", minimum=2)


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
    array = check_array(torch.tensor([[1.0, 2.0]]), "features", 2)
    assert isinstance(array, np.ndarray) and array.tolist() == [[1.0, 2.0]]
    assert check_array(np.array([0, 1, 1]), "labels", 1).tolist() == [0, 1, 1]
    with pytest.raises(TypeError, match="labels must be a torch.Tensor or a numpy.ndarray, got list"):
        check_array([0, 1, 1], "labels", 1)
    with pytest.raises(TypeError, match="labels must hold numbers, got dtype <U1"):
        check_array(np.array(["a"]), "labels", 1)
    with pytest.raises(ValueError, match=r"features is empty \(shape \(0, 2\)\)"):
        check_array(np.zeros((0, 2)), "features", 2)
    with pytest.raises(ValueError, match=r"features must have 2 dimension\(s\), got shape \(3,\)"):
        check_array(np.zeros(3), "features", 2)
    with pytest.raises(ValueError, match="features contains NaN or infinite values"):
        check_array(np.array([[np.nan]]), "features", 2)
    assert np.isnan(check_array(np.array([[np.nan]]), "features", 2, finite=False)).all()


def test_check_label_array_wants_integer_labels():
    import numpy as np

    from gi_core.validation import check_label_array

    assert check_label_array(torch.tensor([0, 2, 1]), "train_labels").tolist() == [0, 2, 1]
    with pytest.raises(TypeError, match="^train_labels must be integer class labels, got dtype float64$"):
        check_label_array(np.array([0.0, 1.0]), "train_labels")
    with pytest.raises(TypeError, match="^y must be integer class labels, got dtype bool$"):
        check_label_array(np.array([True, False]), "y")
    with pytest.raises(ValueError, match=r"^y must have 1 dimension\(s\), got shape \(1, 2\)$"):
        check_label_array(np.zeros((1, 2), dtype=int), "y")


def test_check_same_dtype_lists_every_dtype():
    from gi_core.validation import check_same_dtype

    check_same_dtype(a=torch.zeros(2), b=torch.ones(3))
    with pytest.raises(TypeError, match=r"^dtypes must match, got a=torch.float32, b=torch.float64$"):
        check_same_dtype(a=torch.zeros(2), b=torch.zeros(2, dtype=torch.float64))


def test_check_generator_accepts_none_or_a_generator():
    from gi_core.validation import check_generator

    check_generator(None, "generator")
    check_generator(torch.Generator().manual_seed(0), "generator")
    with pytest.raises(TypeError, match=r"^generator must be a torch.Generator or None, got int$"):
        check_generator(0, "generator")


def test_check_covariance_refuses_half_precision_clearly():
    from gi_core.validation import check_covariance

    assert torch.equal(check_covariance(4.0 * torch.eye(2, dtype=torch.float64), "cov"), 2.0 * torch.eye(2, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"^cov must be float32 or float64 .*got torch.float16$"):
        check_covariance(torch.eye(2, dtype=torch.float16), "cov")


def test_check_str_and_check_device_name_the_argument():
    from gi_core.validation import check_device, check_str

    assert check_str("mnist", "name") == "mnist"
    with pytest.raises(TypeError, match=r"^name must be a string, got int$"):
        check_str(7, "name")
    assert check_device("cpu", "device") == torch.device("cpu") == check_device(torch.device("cpu"), "device")
    with pytest.raises(TypeError, match=r"^device must be a torch.device or a device string, got int$"):
        check_device(7, "device")
    with pytest.raises(ValueError, match=r"^device 'gpu0' is not a device string"):
        check_device("gpu0", "device")


def test_check_callable_names_the_type_it_got():
    from gi_core.validation import check_callable

    assert check_callable(len, "statistic") is None and check_callable(nn.Linear(2, 2), "fn") is None
    with pytest.raises(TypeError, match=r"^run must be callable, got int$"):
        check_callable(3, "run")


def test_check_semidefinite_tolerates_rounding_and_singular_covariances():
    from gi_core.validation import check_semidefinite

    check_semidefinite(torch.diag(torch.tensor([0.0, 2.0])), "cov")  # singular (a dead unit): fine
    check_semidefinite(torch.tensor([[1.0, 0.5 + 1e-6], [0.5, 1.0]]), "cov")  # float32 rounding: fine
    check_semidefinite(torch.tensor([[1.0, 1.0], [1.0, 1.0 - 1e-3]], dtype=torch.float16), "cov")
    with pytest.raises(ValueError, match=r"^cov must be symmetric, got entries that differ from their transposes by 0.5$"):
        check_semidefinite(torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=torch.float64), "cov")
    with pytest.raises(ValueError, match=r"^cov must be positive semi-definite, got an eigenvalue of -1$"):
        check_semidefinite(torch.diag(torch.tensor([-1.0, 1.0])), "cov")
    with pytest.raises(ValueError, match=r"^cov must be square, got shape \(2, 3\)$"):
        check_semidefinite(torch.zeros(2, 3), "cov")


def test_check_json_names_the_key_path_of_what_json_cannot_hold():
    from gi_core.validation import check_json

    check_json({"a": [1, 2.5, "x", None, True, {"b": -3}], "c": (0.0,)}, "metrics")
    with pytest.raises(ValueError, match=r"^metrics\['a'\]\[1\]\['b'\] is -inf: JSON has no NaN or infinity$"):
        check_json({"a": [0, {"b": float("-inf")}]}, "metrics")
    with pytest.raises(TypeError, match=r"^metrics\['a'\] is a ndarray: not JSON serializable$"):
        check_json({"a": np.zeros(2)}, "metrics")
    with pytest.raises(TypeError, match=r"^metrics has the key 1: JSON keys must be strings$"):
        check_json({1: 2.0}, "metrics")


def test_path_stem_seed_and_name_checks_return_what_they_validated():
    from pathlib import Path

    from gi_core.validation import check_file_stem, check_names, check_path, check_seeds

    assert check_path("runs", "run_dir") == Path("runs") and check_path(Path("/a"), "run_dir") == Path("/a")
    with pytest.raises(TypeError, match=r"^run_dir must be a path \(str or os.PathLike\), got int$"):
        check_path(7, "run_dir")
    assert check_file_stem("da_mnist_usps", "name") == "da_mnist_usps"
    for bad in ("", "a/b", "a b", "..", "a\\b"):
        with pytest.raises(ValueError, match=r"^name must be a plain file stem"):
            check_file_stem(bad, "name")
    assert check_seeds((0, 2), "seeds") == [0, 2]
    assert [type(seed) for seed in check_seeds([np.int64(3)], "seeds")] == [int]  # a seed drawn with NumPy
    for bad in ([], "01", [0, -1], [True], 3):
        with pytest.raises(ValueError, match=r"^seeds"):
            check_seeds(bad, "seeds")
    assert check_names(["acc"], "metrics") == ("acc",)
    with pytest.raises(ValueError, match=r"^metrics must be a non-empty sequence of strings, got 'acc'$"):
        check_names("acc", "metrics")
    with pytest.raises(TypeError, match=r"^metrics must hold strings, got 3$"):
        check_names(["acc", 3], "metrics")


def test_check_batch_checks_type_dtype_rank_and_example_shape():
    from gi_core.validation import check_batch

    net = nn.Linear(3, 2)
    x = torch.zeros(4, 3)
    assert check_batch(x, "x", (3,), like=net) is x
    assert check_batch(torch.zeros(2, 4, 3), "z", (3,), like=net, leading=True).shape == (2, 4, 3)
    assert check_batch(torch.zeros(5, 7, 1), "x") is not None  # no example shape: any trailing axes
    with pytest.raises(TypeError, match=r"^x must be a torch.Tensor, got list$"):
        check_batch([[0.0] * 3], "x", (3,))
    with pytest.raises(TypeError, match=r"^x must have the dtype of the network's parameters, torch.float32, got torch.float64$"):
        check_batch(x.double(), "x", (3,), like=net)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        check_batch(x.bfloat16(), "x", (3,), like=net)  # autocast mixes dtypes on purpose
    with pytest.raises(ValueError, match=r"^x is empty \(shape \(0, 3\)\)$"):
        check_batch(x[:0], "x", (3,))
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 3\), got \(1, 4, 3\)$"):
        check_batch(x[None], "x", (3,))
    with pytest.raises(ValueError, match=r"^z must have shape \(\.\.\., 3\), got \(4, 2\)$"):
        check_batch(x[:, :2], "z", (3,), leading=True)
    with pytest.raises(ValueError, match=r"^x must have a batch axis, got a scalar$"):
        check_batch(torch.tensor(1.0), "x")
    bad = x.clone()
    bad[0, 0] = float("nan")
    assert check_batch(bad, "x", (3,), finite=False) is bad
    with pytest.raises(ValueError, match=r"^x contains NaN or infinite values$"):
        check_batch(bad, "x", (3,))


def test_instance_reals_and_probability_checks_refuse_the_wrong_type():
    from pathlib import Path

    from gi_core.validation import broadcast_batch_shape, check_instance, check_probability, check_reals, check_same_shape

    check_instance(Path("a"), Path, "run_dir")
    with pytest.raises(TypeError, match=r"^config must be a dict or Path, got int$"):
        check_instance(3, (dict, Path), "config")
    assert check_reals([0, 0.5], "adam_betas", length=2, minimum=0.0, maximum=1.0) == (0.0, 0.5)
    with pytest.raises(ValueError, match=r"^adam_betas must be 2 real numbers, got \(0.5,\)$"):
        check_reals((0.5,), "adam_betas", length=2)
    with pytest.raises(ValueError, match=r"^betas\[1\] must lie in \(0.0, inf\), got 0.0$"):
        check_reals((1.0, 0.0), "betas", minimum=0.0, strict=True)
    with pytest.raises(TypeError, match="^threshold must be a real number, got str$"):
        check_probability("0.5", "threshold")
    with pytest.raises(TypeError, match="^b must be a torch.Tensor, got list$"):
        check_same_shape(a=torch.zeros(2), b=[0.0, 0.0])
    with pytest.raises(ValueError, match="^event_dims must be a non-negative integer, got -1$"):
        broadcast_batch_shape(-1, a=torch.zeros(2))
