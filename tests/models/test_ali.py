"""Tests for gi_core.models.ali: ALI/BiGAN's two losses, the per-player updates, sampling and the ring of Gaussians."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gi_core.data.toy import ring_of_gaussians
from gi_core.models.ali import ALI
from gi_core.nets.discriminators import JointDiscriminator, leaky_relu
from gi_core.nets.encoders import MLPDecoder, MLPEncoder
from gi_core.trainer import Trainer
from tests.helpers import gen

pytestmark = pytest.mark.usefixtures("one_thread")


def make_ali(decoder_std: float | None = 0.1, loss: str = "standard", seed: int = 0) -> ALI:
    torch.manual_seed(seed)
    enc = MLPEncoder((3,), 2, (8,))
    dec = MLPDecoder(2, (3,), (8,))
    return ALI(enc, dec, JointDiscriminator(3, 2, (8,)), latent_dim=2, decoder_std=decoder_std, loss=loss)


def ali_logits_by_hand(model: ALI, x: Tensor, seed: int) -> tuple[Tensor, Tensor]:
    """The q- and p-pair logits from the documented draws: encoder noise, z ~ N(0, I), decoder noise."""
    torch.manual_seed(seed)
    mean, log_var = model.encoder(x)
    z_q = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape)
    z_p = torch.randn(x.shape[0], 2)
    x_p = model.decoder(z_p)
    if model.decoder_std is not None:
        x_p = x_p + model.decoder_std * torch.randn(x_p.shape)
    return model.discriminator(x, z_q).double(), model.discriminator(x_p, z_p).double()



@pytest.mark.parametrize("decoder_std", [None, 0.3])
def test_ali_losses_are_the_two_cross_entropies_with_swapped_labels(decoder_std):
    model = make_ali(decoder_std)
    x = torch.randn(32, 3, generator=gen(1))
    torch.manual_seed(7)
    terms = model.training_loss(x)
    l_q, l_p = ali_logits_by_hand(model, x, seed=7)
    d_q, d_p = torch.sigmoid(l_q), torch.sigmoid(l_p)
    # discriminator: -E_q log D - E_p log(1 - D) (q-pairs labelled 1, p-pairs 0)
    assert torch.allclose(terms["discriminator_loss"].double(), -d_q.log().mean() - (1 - d_p).log().mean(), atol=1e-6)
    # encoder + decoder: the same cross-entropy with the labels exchanged (non-saturating)
    assert torch.allclose(terms["loss"].double(), -(1 - d_q).log().mean() - d_p.log().mean(), atol=1e-6)
    swapped = F.binary_cross_entropy_with_logits(l_q, torch.zeros_like(l_q)) + F.binary_cross_entropy_with_logits(
        l_p, torch.ones_like(l_p)
    )
    assert torch.allclose(terms["loss"].double(), swapped, atol=1e-6)
    assert torch.allclose(terms["d_q_mean"].double(), d_q.mean(), atol=1e-6)
    assert torch.allclose(terms["d_p_mean"].double(), d_p.mean(), atol=1e-6)
    assert not terms["d_q_mean"].requires_grad and not terms["d_p_mean"].requires_grad
    assert terms["loss"].requires_grad and terms["discriminator_loss"].requires_grad


def test_ali_hinge_losses():
    model = make_ali(loss="hinge")
    x = torch.randn(16, 3, generator=gen(2))
    torch.manual_seed(3)
    terms = model.training_loss(x)
    l_q, l_p = ali_logits_by_hand(model, x, seed=3)
    assert torch.allclose(terms["discriminator_loss"].double(), F.relu(1 - l_q).mean() + F.relu(1 + l_p).mean(), atol=1e-6)
    assert torch.allclose(terms["loss"].double(), l_q.mean() - l_p.mean(), atol=1e-6)


def flat(params: list[nn.Parameter]) -> Tensor:
    return torch.cat([p.detach().flatten() for p in params])


@pytest.mark.parametrize(("lr_generator", "lr_discriminator"), [(0.0, 0.1), (0.1, 0.0), (0.05, 0.1)])
def test_trainer_moves_each_player_along_its_own_term_only(lr_generator, lr_discriminator):
    """One Trainer step with a dict of SGD optimizers: each parameter set moves by -lr times the gradient of its own term."""
    model = make_ali()
    groups = model.parameters_by_loss()
    assert {id(p) for p in groups["loss"]}.isdisjoint(id(p) for p in groups["discriminator_loss"])
    assert len(groups["loss"]) + len(groups["discriminator_loss"]) == len(list(model.parameters()))
    rates = {"loss": lr_generator, "discriminator_loss": lr_discriminator}
    replica = copy.deepcopy(model)
    before = {name: flat(params) for name, params in groups.items()}
    # identical rows: the batch does not depend on the trainer's shuffling, only on its seed
    data = torch.randn(1, 3, generator=gen(4)).expand(16, 3).contiguous()
    optimizers = {name: torch.optim.SGD(params, lr=rates[name]) for name, params in groups.items()}
    Trainer(model, optimizers, data, batch_size=16, seed=5, progress=False).train_step()

    torch.manual_seed(5)  # the trainer seeds torch with its seed before the first step
    terms = replica.training_loss(data)
    for name, params in replica.parameters_by_loss().items():
        grads = torch.autograd.grad(terms[name], params, retain_graph=True)
        expected = before[name] - rates[name] * torch.cat([g.flatten() for g in grads])
        after = flat(groups[name])
        assert torch.allclose(after, expected, atol=1e-6)
        if rates[name] == 0.0:
            assert torch.equal(after, before[name])
        else:
            assert not torch.equal(after, before[name])
    # the discriminator's term has a gradient on the encoder too: only the optimizer split keeps it out
    cross = torch.autograd.grad(terms["discriminator_loss"], list(replica.encoder.parameters()), retain_graph=True)
    assert any(g.abs().max() > 0 for g in cross)


def test_ali_encode_reconstruct_and_sample():
    model = make_ali(decoder_std=0.5)
    x = torch.randn(5, 3, generator=gen(5))
    mean, log_var = model.encode(x)
    assert torch.equal(model.reconstruct(x), model.decoder(mean).detach())
    z = torch.randn(7, 2, generator=gen(6))
    assert torch.equal(model.sample(7, generator=gen(6)), model.decoder(z).detach())
    g = gen(6)
    z, noise = torch.randn(7, 2, generator=g), torch.randn(7, 3, generator=g)
    assert torch.allclose(model.sample(7, generator=gen(6), noisy=True), model.decoder(z).detach() + 0.5 * noise)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)


def test_ali_rejects_bad_arguments():
    enc, dec = MLPEncoder((3,), 2, (8,)), MLPDecoder(2, (3,), (8,))
    disc = JointDiscriminator(3, 2, (8,))
    with pytest.raises(TypeError, match="discriminator must be a torch.nn.Module"):
        ALI(enc, dec, lambda x, z: z.sum(1), latent_dim=2)
    with pytest.raises(ValueError, match="latent_dim=3 does not match the encoder's latent size 2"):
        ALI(enc, dec, disc, latent_dim=3)
    with pytest.raises(ValueError, match="latent_dim must be a positive integer"):
        ALI(nn.Linear(3, 2), dec, disc, latent_dim=0)
    for bad in (0.0, -1.0, math.inf, "0.1"):
        with pytest.raises((ValueError, TypeError), match="decoder_std must"):
            ALI(enc, dec, disc, latent_dim=2, decoder_std=bad)
    with pytest.raises(ValueError, match="unknown discriminator loss 'wasserstein'; choose one of"):
        ALI(enc, dec, disc, latent_dim=2, loss="wasserstein")


def test_ali_learns_the_ring_without_collapsing():
    """2000 steps of ALI on the ring of 8 Gaussians (about 7 s on this 2-core CPU when idle).

    Measured over seeds 0-4 (1000 samples each, identical with 1 or 2 threads): median radius
    1.92-2.04, 71-84% of the samples within 0.25 of the circle of radius 2, every 45-degree sector around
    a mode holds 7-10% of them (12.5% if uniform), and the discriminator's loss over the last 500 steps
    stays at 1.14-1.34 (log 4 = 1.39 at chance). Before training: median radius 0.10-0.35, no sample in
    the band. What this run does not yet do is concentrate on the modes: only 8-10% of the samples lie
    within 3 std (0.15) of a mode, fewer than a uniform ring would (19%); 5000 steps give 61-77%.
    """
    torch.manual_seed(0)
    x, _ = ring_of_gaussians(4096, generator=gen(0))
    model = ALI(
        MLPEncoder((2,), 2, (64, 64), leaky_relu),
        MLPDecoder(2, (2,), (64, 64), leaky_relu),
        JointDiscriminator(2, 2, (64, 64)),
        latent_dim=2,
    )
    optimizers = {name: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.999)) for name, p in model.parameters_by_loss().items()}
    history = Trainer(model, optimizers, x, batch_size=256, seed=0, progress=False, log_every=100).fit(2000)
    samples = model.sample(1000, generator=gen(1))
    radius = samples.norm(dim=1)
    assert abs(radius.median().item() - 2.0) < 0.15
    assert ((radius - 2.0).abs() < 0.25).float().mean() > 0.6
    sector = torch.round(torch.atan2(samples[:, 1], samples[:, 0]) / (math.pi / 4)).long() % 8
    assert torch.bincount(sector, minlength=8).min() >= 50  # every mode's sector keeps >= 5% of the mass
    late = [h["discriminator_loss"] for h in history[-5:]]
    assert sum(late) / len(late) > 1.0  # the discriminator does not win (it would drive this to 0)
