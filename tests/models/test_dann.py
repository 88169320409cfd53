"""Tests for gi_core.models.dann: DANN's gradients, losses and builder, and the trainer's reversal schedule on it."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.schedules import grl_ramp, grl_schedule
from gi_core.models.dann import DANN, build_dann
from gi_core.nets.discriminators import DomainDiscriminator
from gi_core.nets.encoders import mlp
from gi_core.nets.gradient_reversal import GradientReversal
from gi_core.trainer import Trainer
from tests.helpers import F64

pytestmark = pytest.mark.usefixtures("one_thread")
LAMBDAS = [0.0, 0.3, 1.0, 2.5]


def small_dann(coefficient: float = 1.0) -> DANN:
    torch.manual_seed(0)
    model = DANN(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 6), torch.nn.Tanh()),
        mlp([6, 5, 3]),
        DomainDiscriminator(6, (4,)),
        GradientReversal(coefficient),
    )
    return model.double()


def batch(seed: int = 0, n: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(n, 1, 3, 4, generator=g, dtype=F64)
    xt = torch.randn(n, 1, 3, 4, generator=g, dtype=F64) + 0.5
    ys = torch.randint(0, 3, (n,), generator=g)
    return xs, ys, xt


def trained_coefficients(model: DANN, schedules: dict, steps: int, checkpoint_dir=None) -> tuple[list[float], Trainer]:
    """The reversal coefficient of each of ``steps`` SGD steps of ``model`` under ``schedules``, and the trainer."""
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01), batch(n=8), batch_size=4, progress=False,
                      log_every=1, schedules=schedules, checkpoint_dir=checkpoint_dir)
    return [r["grl_lambda"] for r in trainer.fit(steps)], trainer


def _grads(loss: torch.Tensor, module: torch.nn.Module) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(module.parameters()), retain_graph=True, allow_unused=False))


# --- the gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize("lambda_", LAMBDAS)
def test_dann_feature_gradient_is_class_gradient_minus_lambda_times_domain_gradient(lambda_):
    model = small_dann(lambda_)
    lambda_ = float(model.grl.coefficient)  # as stored (float32)
    xs, ys, xt = batch()
    loss = model.training_loss(xs, ys, xt)["loss"]
    # the same two losses computed without the reversal layer
    features = model.features(torch.cat([xs, xt]))
    class_loss = F.cross_entropy(model.label_classifier(features[:8]), ys)
    logits = model.domain_discriminator(features)
    domain_loss = discriminator_loss(logits[:8], logits[8:], "standard")

    # feature extractor: d(class)/dθ_f − λ d(domain)/dθ_f
    for total, c, d in zip(_grads(loss, model.feature_extractor), _grads(class_loss, model.feature_extractor),
                           _grads(domain_loss, model.feature_extractor)):
        torch.testing.assert_close(total, c - lambda_ * d, rtol=0, atol=1e-14)
        assert d.abs().max() > 1e-3  # the domain gradient is not trivially zero
    # the discriminator descends its own loss, unreversed; the classifier sees only the class loss
    for total, d in zip(_grads(loss, model.domain_discriminator), _grads(domain_loss, model.domain_discriminator)):
        torch.testing.assert_close(total, d, rtol=0, atol=1e-15)
    for total, c in zip(_grads(loss, model.label_classifier), _grads(class_loss, model.label_classifier)):
        torch.testing.assert_close(total, c, rtol=0, atol=1e-15)


def test_gradient_at_the_features_is_exactly_minus_lambda_times_the_discriminator_path():
    xs, ys, xt = batch()
    for lambda_ in LAMBDAS:
        model = small_dann(lambda_)
        features = model.features(torch.cat([xs, xt])).detach().requires_grad_()
        logits = model.domain_discriminator(model.grl(features))
        (reversed_grad,) = torch.autograd.grad(discriminator_loss(logits[:8], logits[8:]), features)
        plain = features.detach().requires_grad_()
        logits = model.domain_discriminator(plain)
        (plain_grad,) = torch.autograd.grad(discriminator_loss(logits[:8], logits[8:]), plain)
        assert torch.equal(reversed_grad, plain_grad * -float(model.grl.coefficient))


# --- the reversal schedule, applied by the trainer ---------------------------------------------


def test_the_trainer_schedules_the_coefficient_and_a_checkpoint_keeps_it(tmp_path):
    model = small_dann()
    coefficients, trainer = trained_coefficients(model, {"grl": grl_ramp(1.0, 10)}, 15, tmp_path)
    assert coefficients[0] == 0.0
    assert coefficients == pytest.approx([grl_schedule(min(step / 10, 1.0)) for step in range(15)], abs=1e-6)
    trainer.save_checkpoint()
    fresh = small_dann()
    resumed = Trainer(fresh, torch.optim.SGD(fresh.parameters(), lr=0.01), batch(n=8), batch_size=4, progress=False,
                      schedules={"grl": grl_ramp(1.0, 10)}, checkpoint_dir=tmp_path)
    assert resumed.resume() == 15
    assert float(fresh.grl.coefficient) == float(model.grl.coefficient) and resumed.step == 15
    fixed = small_dann(0.7)
    assert trained_coefficients(fixed, {}, 2)[0] == pytest.approx([0.7, 0.7])  # no "grl" schedule: λ stays
    assert grl_ramp(0.7, 10)(5) == pytest.approx(0.7 * 0.98661429815)


def test_the_schedule_is_scaled_by_lambda_max():
    model = small_dann()
    schedule = grl_ramp(0.3, 4)
    assert schedule(0) == 0.0
    coefficients, _ = trained_coefficients(model, {"grl": schedule}, 6)
    assert coefficients == pytest.approx([0.3 * grl_schedule(min(k / 4, 1.0)) for k in range(6)], abs=1e-6)
    assert schedule(4) == pytest.approx(0.3 * 0.9999092042625951)


def test_dann_training_loss_reads_the_coefficient_and_never_advances_it():
    model = small_dann()
    xs, ys, xt = batch()
    lambdas, _ = trained_coefficients(model, {"grl": grl_ramp(1.0, 4)}, 3)
    assert lambdas == pytest.approx([grl_schedule(0.0), grl_schedule(0.25), grl_schedule(0.5)], abs=1e-6)
    model.eval()
    assert model.training_loss(xs, ys, xt)["grl_lambda"].item() == pytest.approx(grl_schedule(0.5), abs=1e-6)
    model.train()
    assert model.training_loss(xs, ys, xt)["grl_lambda"].item() == pytest.approx(grl_schedule(0.5), abs=1e-6)


# --- DANN --------------------------------------------------------------------------------------


def test_dann_training_loss_terms_are_finite_and_equal_their_parts():
    model = small_dann(0.6)
    xs, ys, xt = batch(1)
    terms = model.training_loss(xs, ys, xt)
    assert all(bool(torch.isfinite(v)) for v in terms.values())
    assert terms["loss"].requires_grad and not terms["class_loss"].requires_grad
    torch.testing.assert_close(terms["loss"], terms["class_loss"] + terms["domain_loss"], rtol=0, atol=1e-14)
    torch.testing.assert_close(terms["class_loss"], F.cross_entropy(model(xs), ys))
    ls, lt = model.domain_discriminator(model.features(xs)), model.domain_discriminator(model.features(xt))
    expected = -F.logsigmoid(ls).mean() - F.logsigmoid(-lt).mean()  # BCE, source = 1, target = 0
    torch.testing.assert_close(terms["domain_loss"], expected)
    accuracy = 0.5 * ((ls > 0).double().mean() + (lt < 0).double().mean())
    assert terms["domain_accuracy"].item() == pytest.approx(accuracy.item())
    assert terms["grl_lambda"].item() == pytest.approx(0.6)


def test_dann_validates_its_inputs():
    model = small_dann()
    xs, ys, xt = batch()
    with pytest.raises(ValueError, match="source_y must be integer labels"):
        model.training_loss(xs, ys.double(), xt)
    with pytest.raises(ValueError, match="source_y must be integer labels"):
        model.training_loss(xs, ys[:3], xt)
    with pytest.raises(ValueError, match="differ in shape"):
        model.training_loss(xs, ys, xt[:, :, :2])
    with pytest.raises(TypeError, match="GradientReversal"):
        DANN(torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity(), grl=torch.nn.Identity())
    with pytest.raises(ValueError, match="name must be 'grl', DANN's one scheduled coefficient"):
        model.set_coefficient("lr", 0.5)


def test_build_dann_shapes_and_a_few_trainer_steps():
    torch.manual_seed(0)
    model = build_dann(in_channels=3, image_size=28)
    assert model.feature_extractor.out_features == 768
    xs, xt = torch.rand(64, 3, 28, 28), torch.rand(64, 3, 28, 28) * 0.5
    ys = torch.randint(0, 10, (64,))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), (xs, ys, xt),
                      batch_size=32, progress=False, log_every=1, schedules={"grl": grl_ramp(1.0, 20)})
    history = trainer.fit(3)
    assert len(history) == 3 and all(math.isfinite(r["loss"]) for r in history)
    assert [r["grl_lambda"] for r in history] == pytest.approx([grl_schedule(s / 20) for s in range(3)], abs=1e-6)
    predictions = model.predict(xt, batch_size=50)
    assert predictions.shape == (64,) and predictions.dtype == torch.int64 and model.training
    assert model.embed(xs[:5]).shape == (5, 768)
