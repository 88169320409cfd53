"""Tests for gi_core.models.code_classifier: the code mean of a Gaussian encoder, and the cross-entropy classifier on
it (the shot baselines of the AVDA chapter): its loss by hand, training to a perfect fit on separable data, and
predictions in evaluation mode."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gi_core.models.code_classifier import CodeClassifier, CodeMean
from gi_core.nets.encoders import MLPEncoder, mlp
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from tests.helpers import F64, gen

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE, J, K = (4,), 2, 3


class DropoutEncoder(nn.Module):
    """An MLP Gaussian encoder behind input dropout (no ``input_shape``): random outputs in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.drop, self.inner = nn.Dropout(0.5), MLPEncoder(SHAPE, J, (8,))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner(self.drop(x))


def make_classifier(encoder: nn.Module | None = None) -> CodeClassifier:
    torch.manual_seed(0)
    return CodeClassifier(MLPEncoder(SHAPE, J, (8,)) if encoder is None else encoder, mlp([J, 8, K])).double()


def inputs(n: int = 6) -> torch.Tensor:
    return torch.randn(n, *SHAPE, generator=gen(1), dtype=F64)


def test_code_mean_is_the_encoder_mean() -> None:
    torch.manual_seed(0)
    encoder = MLPEncoder(SHAPE, J, (8,)).double()
    code, x = CodeMean(encoder), inputs()
    assert torch.equal(code(x), encoder(x)[0])
    assert not torch.equal(code(x), encoder(x)[1])
    assert code.input_shape == (4,) and CodeMean(DropoutEncoder()).input_shape is None
    assert [id(p) for p in code.parameters()] == [id(p) for p in encoder.parameters()]


def test_loss_is_the_cross_entropy_of_the_logits_at_the_code_mean() -> None:
    model, x = make_classifier(), inputs()
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    terms = model.training_loss(x, y)
    logits = model.classifier(model.code.encoder(x)[0])
    assert abs(float(terms["loss"].detach()) - float(F.cross_entropy(logits, y).detach())) < 1e-12
    manual = -(torch.log_softmax(logits, -1)[torch.arange(6), y]).mean()
    assert abs(float(terms["loss"].detach()) - float(manual.detach())) < 1e-12
    assert float(terms["accuracy"]) == float((logits.argmax(-1) == y).float().mean())
    assert torch.equal(model(x), logits)
    assert model.parameters_by_loss()["loss"] == list(model.parameters())


def test_a_few_trainer_steps_separate_separable_classes() -> None:
    g = gen(2)
    y = torch.arange(30) % K
    centres = torch.tensor([[3.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 3.0, 0.0]], dtype=F64)
    x = centres[y] + 0.3 * torch.randn(30, *SHAPE, generator=g, dtype=F64)
    model = make_classifier()
    before = float((model.predict(x) == y).double().mean())
    trainer = Trainer(model, make_optimizers(model, OptimizerSpec(lr=3e-2)), (x, y), 10, progress=False, log_every=1)
    trainer.fit(30)  # accuracy 1.0 from step 10 on (measured)
    assert before < 0.7
    assert float((model.predict(x) == y).double().mean()) == 1.0
    assert trainer.history[-1]["loss"] < 0.1 * trainer.history[0]["loss"]


def test_predict_is_the_argmax_in_evaluation_mode() -> None:
    model, x = make_classifier(DropoutEncoder()), inputs(7)
    model.eval()
    with torch.no_grad():
        expected = model(x).argmax(-1)
    model.train()
    assert torch.equal(model.predict(x), expected) and torch.equal(model.predict(x, batch_size=3), expected)
    assert model.training
    assert not torch.equal(model(x), model(x))  # training mode: dropout differs per call


def test_bad_inputs_are_refused() -> None:
    model, x = make_classifier(), inputs()
    with pytest.raises(ValueError, match="y must lie in 0..2"):
        model.training_loss(x, torch.tensor([0, 1, 2, 3, 0, 1]))
    with pytest.raises(ValueError, match="y must be integer labels of shape"):
        model.training_loss(x, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="x must have shape"):
        model.training_loss(x[:, :3], torch.zeros(6, dtype=torch.long))
    with pytest.raises(TypeError, match="x must have the dtype"):
        model.predict(x.float())
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(x, batch_size=0)
    with pytest.raises(TypeError, match="classifier"):
        CodeClassifier(MLPEncoder(SHAPE, J, (8,)), "not a network")
    with pytest.raises(TypeError, match="encoder"):
        CodeMean(None)
