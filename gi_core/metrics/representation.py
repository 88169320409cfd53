"""What a learned representation holds: how linearly decodable the labels are, and how many of its units are alive.

Linear-probe protocol (used by every chapter): standardise the features with the training
statistics, fit a multinomial logistic regression (L-BFGS, C = 1, at most 1000
iterations) on the training codes, and report accuracy on held-out codes. The codes
are the encoder means E_q[z|x], computed without gradients.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import Tensor

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.validation import check_array, check_batch, check_label_array, check_module, check_positive_int, check_tensor


def linear_probe_accuracy(
    train_features: Tensor | np.ndarray,
    train_labels: Tensor | np.ndarray,
    test_features: Tensor | np.ndarray,
    test_labels: Tensor | np.ndarray,
    max_iter: int = 1000,
) -> float:
    """Test accuracy in [0, 1] of a logistic-regression probe fitted on the training features (integer labels)."""
    x_train, x_test = check_array(train_features, "train_features", 2), check_array(test_features, "test_features", 2)
    y_train, y_test = check_label_array(train_labels, "train_labels"), check_label_array(test_labels, "test_labels")
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{split}_features and {split}_labels must have the same number of rows, "
                             f"got {x.shape[0]} and {y.shape[0]}")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(f"train_features and test_features differ in width: {x_train.shape[1]} vs {x_test.shape[1]}")
    if np.unique(y_train).size < 2:
        raise ValueError("train_labels must hold at least two classes for the probe")
    check_positive_int(max_iter, "max_iter")
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter))
    probe.fit(x_train, y_train)
    return float(probe.score(x_test, y_test))


def encode_means(encoder: torch.nn.Module, x: Tensor, batch_size: int = 1024) -> Tensor:
    """Posterior means E_q[z|x] of ``x`` in batches (converted to the dtype of the encoder's parameters), on the CPU."""
    check_module(encoder, "encoder")
    check_batch(x, "x", shape=getattr(encoder, "input_shape", None), finite=False)
    param = next(encoder.parameters())
    with eval_mode(encoder):  # apply_in_batches checks the values of x and batch_size
        return apply_in_batches(lambda batch: encoder(batch.to(param.device, param.dtype))[0], x, batch_size)


def inactive_fraction(activations: Tensor) -> float:
    """Fraction of units (columns of ``activations`` flattened to ``(N, -1)``) that are exactly 0 on every row.

    After a ReLU such a unit is *dead* on these inputs: it passes no signal forward and its own weights receive no
    gradient, so only a change in the layers below it can bring it back.
    """
    check_tensor(activations, "activations", nonempty=False)
    if activations.ndim < 2 or activations.shape[0] == 0 or activations[0].numel() == 0:
        raise ValueError(f"activations must be (N, ...) with N >= 1 and at least one unit, got {tuple(activations.shape)}")
    return (activations.flatten(1) == 0).all(0).float().mean().item()
