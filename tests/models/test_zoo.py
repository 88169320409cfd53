"""Tests for gi_core.models.zoo: the entries, every model's loss and its parts, gradients, a short training.

Tiny MLP networks on 1x8x8 images and a 2-D latent space. The parts of a loss are recomputed by hand under
the same ``torch.manual_seed``, following the order of random draws documented in
``ZooModel.training_loss`` (encoder noise, then prior draws, then the restriction's draws); models are put
in eval mode for these replays so that the discriminators' spectral norms do not advance their power
iteration between the two computations (the MLPs have no other train/eval difference).
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from gi_core.experiments.zoo import table_6_4_entries
from gi_core.maths.bounds import jensen_shannon_restriction, mmd_restriction, wasserstein_restriction
from gi_core.maths.gaussians import diag_gaussian_log_prob
from gi_core.models.zoo import LATENT_NLL_MIN_VAR, ZooEntry, ZooModel, zoo_networks
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")

SHAPE = (1, 8, 8)
LATENT = 2
ADVERSARIAL = {"aae", "aim", "veegan", "ali", "alice"}
TERMS = {  # the parts each kind reports besides "loss"
    "vae": {"reconstruction", "restriction"},
    "wvae": {"reconstruction", "restriction"},
    "mmd": {"reconstruction", "restriction"},
    "jsvae": {"reconstruction", "restriction"},
    "aae": {"reconstruction", "adversarial"},
    "aim": {"latent_nll", "adversarial"},
    "veegan": {"latent_nll", "adversarial"},
    "ali": {"adversarial"},
    "alice": {"reconstruction", "latent_nll", "adversarial"},
}
ENTRIES = table_6_4_entries()


def networks(seed: int = 0) -> dict[str, torch.nn.Module]:
    torch.manual_seed(seed)
    return zoo_networks("mlp", SHAPE, latent_dim=LATENT, hidden=(16, 8))


def model_of(kind: str, beta: float = 1.0, seed: int = 0) -> ZooModel:
    return ZooModel.build(ZooEntry(kind, kind, beta), networks(seed))


def images(n: int = 16, seed: int = 0) -> torch.Tensor:
    return 2.0 * torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed)) - 1.0


# --- the entries and the models ------------------------------------------------------------------


def test_zoo_entry_validates() -> None:
    with pytest.raises(ValueError, match="unknown model kind"):
        ZooEntry("GAN", "gan")
    for beta in (0.0, -1.0):
        with pytest.raises(ValueError):
            ZooEntry("VAE", "vae", beta)
    with pytest.raises(ValueError, match="beta must be 1"):
        ZooEntry("AIM", "aim", 30.0)
    assert ZooEntry("ALI", "ali", 1.0).beta == 1.0


def test_model_needs_its_discriminator() -> None:
    nets = networks()
    with pytest.raises(ValueError, match="x_discriminator"):
        ZooModel(ZooEntry("AIM", "aim"), nets["encoder"], nets["decoder"])
    with pytest.raises(ValueError, match="joint_discriminator"):
        ZooModel(ZooEntry("ALI", "ali"), nets["encoder"], nets["decoder"], x_discriminator=nets["x_discriminator"])
    with pytest.raises(ValueError, match="z_discriminator"):
        ZooModel(ZooEntry("AAE", "aae"), nets["encoder"], nets["decoder"])
    with pytest.raises(TypeError):
        ZooModel("vae", nets["encoder"], nets["decoder"])
    assert ZooModel(ZooEntry("VAE", "vae"), nets["encoder"], nets["decoder"]).discriminator is None


@pytest.mark.parametrize("kind, needed", [("aae", "z_discriminator"), ("aim", "x_discriminator"),
                                          ("veegan", "joint_discriminator"), ("ali", "joint_discriminator"),
                                          ("alice", "joint_discriminator")])
def test_build_keeps_only_the_needed_discriminator(kind: str, needed: str) -> None:
    nets = networks()
    model = ZooModel.build(ZooEntry(kind, kind), nets)
    assert model.discriminator is nets[needed]
    assert {id(p) for p in model.parameters()} == {
        id(p) for name in ("encoder", "decoder", needed) for p in nets[name].parameters()
    }


# --- every entry: a finite loss, its parts, the parameter groups ---------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.label for e in ENTRIES])
def test_training_loss_of_every_entry(entry: ZooEntry) -> None:
    model = ZooModel.build(entry, networks())
    torch.manual_seed(0)
    out = model.training_loss(images())
    adversarial = entry.kind in ADVERSARIAL
    assert set(out) == {"loss", *TERMS[entry.kind], *(["discriminator_loss"] if adversarial else [])}
    for value in out.values():
        assert value.shape == () and math.isfinite(value.item())
    assert out["loss"].requires_grad
    assert all(not out[name].requires_grad for name in TERMS[entry.kind])  # the parts are detached copies
    # the loss is the sum of its parts, the restriction weighted by beta
    parts = sum(entry.beta * out[name] if name == "restriction" else out[name] for name in TERMS[entry.kind])
    torch.testing.assert_close(out["loss"].detach(), parts, rtol=1e-6, atol=1e-6)

    groups = model.parameters_by_loss()
    assert set(groups) == ({"loss", "discriminator_loss"} if adversarial else {"loss"})
    ids = {name: {id(p) for p in params} for name, params in groups.items()}
    assert ids["loss"] == {id(p) for p in [*model.encoder.parameters(), *model.decoder.parameters()]}
    if adversarial:
        assert not ids["loss"] & ids["discriminator_loss"]
        assert ids["loss"] | ids["discriminator_loss"] == {id(p) for p in model.parameters()}
        assert out["discriminator_loss"].requires_grad
        assert out["discriminator_loss"].item() >= 0.0  # a hinge loss


# --- the parts, recomputed by hand under the same seed -------------------------------------------


def replay_codes(model: ZooModel, x: torch.Tensor, seed: int) -> tuple[torch.Tensor, ...]:
    """Encoder outputs and the first draw of training_loss: z_q = mean + sigma * eps."""
    torch.manual_seed(seed)
    mean, log_var = model.encode(x)
    z_q = mean + torch.exp(0.5 * log_var) * torch.randn(mean.shape)
    return mean, log_var, z_q


def hand_reconstruction(model: ZooModel, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    return (x - torch.tanh(model.decoder(z))).square().sum(dim=(1, 2, 3)).mean()


@pytest.mark.parametrize("beta", [0.33, 30.0])
def test_vae_loss_is_reconstruction_plus_beta_kl(beta: float) -> None:
    model, x = model_of("vae", beta).eval(), images()
    torch.manual_seed(5)
    out = model.training_loss(x)
    mean, log_var, z_q = replay_codes(model, x, seed=5)
    kl = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)).sum(-1).mean()
    rec = hand_reconstruction(model, x, z_q)
    torch.testing.assert_close(out["restriction"], kl.detach())
    torch.testing.assert_close(out["reconstruction"], rec.detach())
    torch.testing.assert_close(out["loss"], rec + beta * kl)
    assert kl.item() > 0.0 and rec.item() > 1.0


def test_wvae_jsvae_and_mmd_restrictions() -> None:
    x = images()
    model = model_of("wvae", 30.0).eval()
    torch.manual_seed(1)
    out = model.training_loss(x)
    mean, _, z_q = replay_codes(model, x, seed=1)
    torch.testing.assert_close(out["restriction"], wasserstein_restriction(mean).detach())
    torch.testing.assert_close(out["reconstruction"], hand_reconstruction(model, x, z_q).detach())
    torch.testing.assert_close(out["loss"].detach(), out["reconstruction"] + 30.0 * out["restriction"])

    model = model_of("jsvae").eval()
    out = model.training_loss(x)
    torch.testing.assert_close(out["restriction"], jensen_shannon_restriction(model.encode(x)[0]).detach())

    model = model_of("mmd").eval()
    torch.manual_seed(2)
    out = model.training_loss(x)
    _, _, z_q = replay_codes(model, x, seed=2)
    prior = torch.randn_like(z_q)  # drawn after the encoder noise (the decoder draws nothing)
    torch.testing.assert_close(out["restriction"], mmd_restriction(z_q, prior).detach())


def test_adversarial_parts_of_aae_aim_and_ali() -> None:
    """The critic's "real" side is the prior (AAE), the data (AIM) or the encoder's pairs (ALI); hinge losses."""
    x = images()
    model = model_of("aae").eval()
    torch.manual_seed(3)
    out = model.training_loss(x)
    _, _, z_q = replay_codes(model, x, seed=3)
    z_p = torch.randn_like(z_q)
    d = model.discriminator
    torch.testing.assert_close(out["adversarial"], -d(z_q).mean().detach())
    torch.testing.assert_close(out["discriminator_loss"], F.relu(1 - d(z_p)).mean() + F.relu(1 + d(z_q)).mean())

    model = model_of("aim").eval()
    torch.manual_seed(4)
    out = model.training_loss(x)
    _, _, z_q = replay_codes(model, x, seed=4)
    z_p = torch.randn_like(z_q)
    x_p = torch.tanh(model.decoder(z_p))
    d = model.discriminator
    nll = -diag_gaussian_log_prob(z_p, *model.encode(x_p)).mean()
    torch.testing.assert_close(out["latent_nll"], nll.detach())
    torch.testing.assert_close(out["adversarial"], -d(x_p).mean().detach())
    torch.testing.assert_close(out["discriminator_loss"], F.relu(1 - d(x)).mean() + F.relu(1 + d(x_p)).mean())

    model = model_of("ali").eval()
    torch.manual_seed(6)
    out = model.training_loss(x)
    _, _, z_q = replay_codes(model, x, seed=6)
    z_p = torch.randn_like(z_q)
    x_p = torch.tanh(model.decoder(z_p))
    real, fake = model.discriminator(x, z_q), model.discriminator(x_p, z_p)
    torch.testing.assert_close(out["loss"], real.mean() - fake.mean())
    torch.testing.assert_close(out["discriminator_loss"], F.relu(1 - real).mean() + F.relu(1 + fake).mean())


# --- gradients -----------------------------------------------------------------------------------


def grads(value: torch.Tensor, params: list[torch.nn.Parameter]) -> list[torch.Tensor]:
    out = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, out)]


def test_aim_encoder_learns_only_from_the_latent_likelihood() -> None:
    model, x = model_of("aim").eval(), images()
    encoder = list(model.encoder.parameters())
    torch.manual_seed(7)
    out = model.training_loss(x)
    from_loss = grads(out["loss"], encoder)
    torch.manual_seed(7)
    model.encode(x)
    z_q = torch.randn(x.shape[0], LATENT)  # the encoder-noise draw, to keep the random stream aligned
    z_p = torch.randn_like(z_q)
    nll = -diag_gaussian_log_prob(z_p, *model.encode(torch.tanh(model.decoder(z_p)))).mean()
    from_nll = grads(nll, encoder)
    for a, b in zip(from_loss, from_nll):
        torch.testing.assert_close(a, b)
    assert sum(g.abs().sum() for g in from_nll) > 0
    # the adversarial term does reach the decoder and (through the model's hinge loss) the critic:
    # which is why each parameter group must descend only its own loss
    adversarial_part = out["loss"] - nll
    assert sum(g.abs().sum() for g in grads(adversarial_part, list(model.decoder.parameters()))) > 0
    assert sum(g.abs().sum() for g in grads(out["loss"], list(model.discriminator.parameters()))) > 0


def test_trainer_moves_each_group_along_its_own_loss() -> None:
    """One SGD step of the Trainer on AIM: encoder/decoder descend "loss", the critic "discriminator_loss"."""
    lr, seed = 0.1, 11
    model, replay = model_of("aim"), model_of("aim")
    x = images(1).expand(8, *SHAPE).clone()  # identical rows: the Trainer's shuffling cannot matter
    groups = model.parameters_by_loss()
    optimizers = {name: torch.optim.SGD(params, lr=lr) for name, params in groups.items()}
    trainer = Trainer(model, optimizers, x, batch_size=8, seed=seed, progress=False)
    before = {name: [p.detach().clone() for p in params] for name, params in groups.items()}
    trainer.train_step()

    replay.train()  # same state as the model before the step (spectral-norm vectors included)
    torch.manual_seed(seed)
    out = replay.training_loss(x)
    for name, params in replay.parameters_by_loss().items():
        expected = [p - lr * g for p, g in zip(params, grads(out[name], params))]
        for new, old, want in zip(groups[name], before[name], expected):
            torch.testing.assert_close(new.detach(), want.detach())
        assert any(not torch.equal(new, old) for new, old in zip(groups[name], before[name]))


def test_ali_trains_encoder_and_decoder_through_the_critic() -> None:
    model = model_of("ali").eval()
    torch.manual_seed(8)
    out = model.training_loss(images())
    for module in (model.encoder, model.decoder):
        assert sum(g.abs().sum() for g in grads(out["loss"], list(module.parameters()))) > 0


# --- a short training, sampling and reconstruction -----------------------------------------------


def two_blobs(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images of a bright square in the top-left or the bottom-right corner, plus a little noise, in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = -torch.ones(n, *SHAPE)
    x[labels == 0, :, 1:4, 1:4] = 1.0
    x[labels == 1, :, 4:7, 4:7] = 1.0
    return (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(-1, 1), labels


def test_short_vae_training_lowers_the_loss_and_separates_the_blobs() -> None:
    x, labels = two_blobs()
    model = model_of("vae", 1.0)
    optimizer = torch.optim.Adam(model.parameters_by_loss()["loss"], lr=3e-3)
    history = Trainer(model, optimizer, x, batch_size=32, seed=0, log_every=1, progress=False).fit(200)
    losses = [h["loss"] for h in history]
    first, last = sum(losses[:20]) / 20, sum(losses[-20:]) / 20
    assert last < 0.5 * first, (first, last)

    model.eval()
    rec = model.reconstruct(x)
    assert rec.shape == x.shape
    templates = torch.stack([x[labels == k].mean(0) for k in (0, 1)])
    nearest = torch.cdist(rec.flatten(1), templates.flatten(1)).argmin(1)
    assert (nearest == labels).float().mean().item() > 0.95  # each reconstruction shows the right blob

    samples = model.sample(50, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (50, *SHAPE)
    assert torch.equal(samples, model.sample(50, generator=torch.Generator().manual_seed(0)))
    far = model.decode(30.0 * torch.randn(100, LATENT))  # tanh keeps even wild codes in range
    assert far.min().item() >= -1.0 and far.max().item() <= 1.0


@pytest.mark.parametrize("kind", ["aim", "veegan", "alice", "vae"])
def test_latent_nll_kinds_floor_the_encoder_variance(kind):
    torch.manual_seed(0)
    nets = zoo_networks("mlp", (1, 8, 8), latent_dim=2, hidden=(16, 8))
    with torch.no_grad():  # push the raw log-variance to its lower bound
        nets["encoder"].head.log_var.bias.fill_(-1e3)
    model = ZooModel.build(ZooEntry(kind, kind), nets)
    _, log_var = model.encode(torch.rand(5, 1, 8, 8) * 2 - 1)
    if kind == "vae":
        assert log_var.max() < math.log(LATENT_NLL_MIN_VAR) - 5
    else:
        assert log_var.min() >= math.log(LATENT_NLL_MIN_VAR)
        assert torch.allclose(log_var, torch.full_like(log_var, math.log(LATENT_NLL_MIN_VAR)), atol=1e-3)


def test_a_grouped_zoo_autoencoder_is_its_plain_models_run_by_run():
    from gi_core.models.zoo import GroupedZooAutoencoders

    torch.manual_seed(0)
    entries = [ZooEntry("VAE β=0.33", "vae", 0.33), ZooEntry("WVAE β=1", "wvae"), ZooEntry("MMD β=30", "mmd", 30.0),
               ZooEntry("JS-VAE β=1", "jsvae")]
    models = [ZooModel.build(e, zoo_networks("mlp", (1, 8, 8), 3, hidden=(16, 8))) for e in entries]
    group = GroupedZooAutoencoders.stack(models)
    x = torch.rand(4, 10, 1, 8, 8) * 2 - 1
    generators = [torch.Generator().manual_seed(s) for s in range(4)]
    terms = group.training_loss(x, generators=generators)
    assert terms["loss"].shape == (4,)
    for s, model in enumerate(models):
        assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), group.run_model(s).state_dict().values()))
        torch.manual_seed(s)  # the plain model draws from the global generator, seeded as run s's own
        plain = model.training_loss(x[s])
        for name in ("loss", "reconstruction", "restriction"):
            assert terms[name][s].item() == pytest.approx(plain[name].item(), rel=1e-5), (entries[s].kind, name)
    with pytest.raises(ValueError, match="only the kinds"):
        GroupedZooAutoencoders([ZooEntry("ALI", "ali")], (1, 8, 8), 3)
    with pytest.raises(ValueError, match="one torch.Generator per run"):
        group.training_loss(x, generators=generators[:2])
