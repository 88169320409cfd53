"""Tests for gi_core.models.cdlm: the CDLM objective and its update rules (Hou et al. (2022), Eq. 16-22), variants and training.

The modulation formulas it is built on (Eq. 1-15) are tested in tests/maths/test_modulation.py.
"""

from __future__ import annotations

import math

import pytest
import torch

from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.schedules import grl_ramp
from gi_core.models.cdlm import CDLM, build_cdlm
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from tests.helpers import F64

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_model(**options) -> CDLM:
    torch.manual_seed(0)
    return build_cdlm((1, 16, 16), latent_dim=6, channels=4, **options).double()


def tiny_batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    xs = torch.rand(n, 1, 16, 16, generator=g, dtype=F64)
    xt = torch.rand(n, 1, 16, 16, generator=g, dtype=F64) ** 2
    return xs, torch.randint(0, 10, (n,), generator=g), xt


def grads(loss: torch.Tensor, module: torch.nn.Module) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if g is None else g for p, g in
            zip(module.parameters(), torch.autograd.grad(loss, list(module.parameters()), retain_graph=True, allow_unused=True))]


def test_cdlm_terms_are_finite_and_add_up():
    model = tiny_model()
    xs, ys, xt = tiny_batch()
    terms = model.training_loss(xs, ys, xt)
    assert all(bool(torch.isfinite(v)) for v in terms.values())
    expected = terms["adv_loss"] + 1e-4 * terms["kl_loss"] + terms["rec_loss"] + terms["consistency_loss"] + terms["class_loss"]
    torch.testing.assert_close(terms["loss"].detach(), expected)
    torch.testing.assert_close(terms["generative_loss"].detach(),
                               terms["rec_loss"] + terms["consistency_loss"] + terms["class_loss"])
    torch.testing.assert_close(terms["inference_loss"], terms["adv_loss"] + 1e-4 * (terms["kl_loss"] + terms["rec_loss"]))
    torch.testing.assert_close(terms["consistency_loss"], 0.1 * terms["consistency_source"] + 0.01 * terms["consistency_target"])
    assert terms["adv_loss"].item() == pytest.approx(2 * math.log(2), abs=0.1)  # an untrained discriminator
    assert 0.0 <= terms["domain_accuracy"].item() <= 1.0


def test_cdlm_gradients_follow_the_update_rules():
    """Eq. 21–22: with λ1 = 0 and GRL λ = 0 the encoder's gradient is λ2 times that of L_Rec (nothing from L_c or the
    classifier); the decoder's is that of L_Rec + L_c; the discriminator's that of L_adv."""
    xs, ys, xt = tiny_batch()
    encoder_grads = {}
    for lambda2 in (0.0, 0.25, 1.0):
        model = tiny_model(lambda1=0.0, lambda2=lambda2)
        model.set_coefficient("grl", 0.0)
        torch.manual_seed(11)  # the same noise draws for every λ2
        terms = model.training_loss(xs, ys, xt)
        encoder_grads[lambda2] = grads(terms["loss"], model.encoder)
        for total, generative in zip(grads(terms["loss"], model.decoder), grads(terms["generative_loss"], model.decoder)):
            torch.testing.assert_close(total, generative, rtol=0, atol=1e-13)
        h = model.encode(torch.cat([xs, xt]))[2].detach()
        logits = model.discriminator(h)
        adv = discriminator_loss(logits[:6], logits[6:])
        for total, own in zip(grads(terms["loss"], model.discriminator), grads(adv, model.discriminator)):
            torch.testing.assert_close(total, own, rtol=0, atol=1e-13)
    assert all(bool((g == 0).all()) for g in encoder_grads[0.0])
    assert max(g.abs().max().item() for g in encoder_grads[1.0]) > 1e-3
    for quarter, full in zip(encoder_grads[0.25], encoder_grads[1.0]):
        torch.testing.assert_close(quarter, 0.25 * full, rtol=1e-10, atol=1e-14)
    # the ablation flag lets the consistency reach the encoder
    model = tiny_model(lambda1=0.0, lambda2=0.0, consistency_to_encoder=True)
    model.set_coefficient("grl", 0.0)
    assert max(g.abs().max().item() for g in grads(model.training_loss(xs, ys, xt)["loss"], model.encoder)) > 0


def test_cdlm_adversarial_gradient_reaches_the_encoder_reversed():
    xs, ys, xt = tiny_batch()
    model = tiny_model(lambda1=0.0, lambda2=0.0)
    model.set_coefficient("grl", 0.5)
    loss = model.training_loss(xs, ys, xt)["loss"]
    h = model.encode(torch.cat([xs, xt]))[2]
    logits = model.discriminator(h)
    adv = discriminator_loss(logits[:6], logits[6:])
    for total, plain in zip(grads(loss, model.encoder), grads(adv, model.encoder)):
        torch.testing.assert_close(total, -0.5 * plain, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("options", [dict(modulation="pm1"), dict(modulation="pm2"), dict(kl="encoder", gamma2=0.0),
                                     dict(likelihood="gaussian", classifier_input="generated")])
def test_cdlm_variants_run(options):
    model = tiny_model(**options)
    terms = model.training_loss(*tiny_batch())
    assert all(bool(torch.isfinite(v)) for v in terms.values())


def test_cdlm_validates():
    with pytest.raises(ValueError, match="kl='conditional' needs gamma2 > 0"):
        tiny_model(gamma2=0.0)
    with pytest.raises(ValueError, match="unknown modulation 'half'; choose one of"):
        tiny_model(modulation="half")
    with pytest.raises(ValueError, match=r"lambda1 must lie in \[0.0, inf\]"):
        tiny_model(lambda1=-1.0)
    model = tiny_model()
    xs, ys, xt = tiny_batch()
    with pytest.raises(ValueError, match="rows are paired"):
        model.training_loss(xs, ys, xt[:4])


def test_cdlm_trains_with_the_seed_optimizers_and_predicts():
    torch.manual_seed(0)
    model = build_cdlm((1, 16, 16), latent_dim=6, channels=4)
    xs, xt = torch.rand(32, 1, 16, 16), torch.rand(32, 1, 16, 16)
    ys = torch.randint(0, 10, (32,))
    optimizers = make_optimizers(model, {"loss": OptimizerSpec("sgd", 0.01, momentum=0.9),
                                         "generative_loss": OptimizerSpec("adam", 1e-3)})
    assert isinstance(optimizers["loss"], torch.optim.SGD) and isinstance(optimizers["generative_loss"], torch.optim.Adam)
    before = [p.detach().clone() for p in model.parameters()]
    history = Trainer(model, optimizers, (xs, ys, xt), batch_size=16, progress=False, log_every=1,
                      schedules={"grl": grl_ramp(1.0, 10)}).fit(2)
    assert all(math.isfinite(r["loss"]) for r in history)
    assert [r["grl_lambda"] for r in history] == pytest.approx([0.0, math.tanh(0.5)], abs=1e-6)
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # every block moved
    images = model.translate(xt[:5])
    assert images.shape == (5, 1, 16, 16) and 0.0 <= images.min() and images.max() <= 1.0
    predictions = model.predict(xt, batch_size=10)
    assert predictions.shape == (32,) and predictions.dtype == torch.int64 and model.training
    assert model.embed(xt).shape == (32, 6)
    z_st, z_ts = model.modulated_latents(xs[:4], xt[:4])
    assert z_st.shape == z_ts.shape == (4, 6)
