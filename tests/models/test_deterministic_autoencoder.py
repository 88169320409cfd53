"""Tests for gi_core.models.deterministic_autoencoder: VaDE's pretraining loss, from the encoder mean alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gi_core.maths.likelihoods import bernoulli_log_likelihood
from gi_core.models.deterministic_autoencoder import DeterministicAutoencoder
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from tests.helpers import gen

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE = (1, 4, 4)


def make_autoencoder() -> DeterministicAutoencoder:
    torch.manual_seed(0)
    return DeterministicAutoencoder(MLPEncoder(SHAPE, 2, (8,)), MLPDecoder(2, SHAPE, (8,)))


def test_loss_is_the_cross_entropy_of_the_decoded_mean_and_skips_the_log_variance_head() -> None:
    model, x = make_autoencoder(), torch.rand(5, *SHAPE, generator=gen(1))
    loss = model.training_loss(x, torch.zeros(5, dtype=torch.long))  # labels are ignored
    expected = -bernoulli_log_likelihood(x, model.decoder(model.encoder(x)[0])).mean()
    torch.testing.assert_close(loss["loss"], expected, rtol=0, atol=0)
    torch.testing.assert_close(model.training_loss(x)["loss"], loss["loss"], rtol=0, atol=0)  # deterministic
    assert set(loss) == {"loss"}
    loss["loss"].backward()
    head = model.encoder.head
    assert head.log_var.weight.grad is None and head.log_var.bias.grad is None
    assert head.mean.weight.grad.abs().sum() > 0 and model.decoder.net[0].weight.grad.abs().sum() > 0
    assert model.parameters_by_loss()["loss"] == list(model.parameters())


def test_errors() -> None:
    with pytest.raises(ValueError, match="decoder must have an 'output_shape' attribute"):
        DeterministicAutoencoder(MLPEncoder(SHAPE, 2, (8,)), nn.Linear(2, 16))
    with pytest.raises(TypeError, match="encoder"):
        DeterministicAutoencoder("not a module", MLPDecoder(2, SHAPE, (8,)))
    with pytest.raises(ValueError, match="x"):
        make_autoencoder().training_loss(torch.rand(5, 1, 4, 3))
