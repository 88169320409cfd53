"""Tests for gi_core.models.avda: the axis prior, AVDA's source loss (Eq. 3.5) and target losses (Eq. 3.8–3.12)
replayed by hand at the same draws, which parameters each optimizer moves under alternating updates, the γ ramp,
and the adapter built from a source model (Pérez Carrasco 2021)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, kl_divergence

from gi_core.maths.gan_losses import discriminator_loss, generator_loss
from gi_core.maths.gaussians import kl_diag_gaussians
from gi_core.maths.schedules import linear_ramp
from gi_core.models.avda import AVDAAdapter, AVDASource, axis_prior, build_adapter, build_source
from gi_core.nets.encoders import MLPDecoder, MLPEncoder, mlp
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer
from tests.helpers import F64, gen

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE, J, K = (4,), 3, 3
ALPHA_S, ALPHA_T, TAU = 7.0, 3.0, 2.0
TOL = 1e-10


def spread_prior() -> GaussianMixturePrior:
    """A float64 prior with distinct means and variances, so that picking the wrong component shows."""
    prior = axis_prior(K, J).double()
    prior.set_mixture(torch.ones(K, dtype=F64), torch.tensor([[2.0, 0.0, -1.0], [0.0, -2.0, 1.0], [1.0, 1.0, 2.0]],
                                                            dtype=F64),
                      torch.tensor([[0.5, 1.0, 2.0], [1.5, 0.7, 1.0], [1.0, 3.0, 0.4]], dtype=F64))
    return prior


def make_source(learn_prior: bool = True) -> AVDASource:
    torch.manual_seed(0)
    return AVDASource(MLPEncoder(SHAPE, J, (8,)), MLPDecoder(J, SHAPE, (8,)), mlp([J, 8, K]), spread_prior(),
                      ALPHA_S, learn_prior).double()


class DropoutEncoder(nn.Module):
    """An MLP Gaussian encoder behind input dropout: its outputs differ between two calls in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.drop, self.inner = nn.Dropout(0.5), MLPEncoder(SHAPE, J, (8,))
        self.input_shape = self.inner.input_shape

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inner(self.drop(x))


def make_adapter(kind: str = "classes", decoder: bool = False, categorical_kl: bool = True,
                 encoder: nn.Module | None = None) -> AVDAAdapter:
    torch.manual_seed(1)
    encoder = MLPEncoder(SHAPE, J, (8,)) if encoder is None else encoder
    prior = spread_prior()
    model = AVDAAdapter(encoder, mlp([J, 8, K]), mlp([J, 8, K + 1 if kind == "classes" else 1]), prior.means,
                        prior.log_vars, alpha_t=ALPHA_T, tau=TAU, discriminator_kind=kind,
                        target_decoder=MLPDecoder(J, SHAPE, (8,)) if decoder else None, categorical_kl=categorical_kl)
    return model.double()


def source_batch(n: int = 6) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(n, *SHAPE, generator=gen(2), dtype=F64), torch.arange(n) % K


def adapter_batch(shots: bool = True, n: int | None = None) -> tuple[torch.Tensor, ...]:
    """Source code moments (5 rows), target images (6) and shots (3); ``n`` rows of each for a trainer."""
    g = gen(3)
    ns, nt, nl = (5, 6, 3) if n is None else (n, n, n)
    batch = (torch.randn(ns, J, generator=g, dtype=F64), 0.3 * torch.randn(ns, J, generator=g, dtype=F64),
             torch.arange(ns) % K, torch.randn(nt, *SHAPE, generator=g, dtype=F64))
    return (*batch, torch.randn(nl, *SHAPE, generator=g, dtype=F64), torch.arange(nl) % K) if shots else batch


def replay(model: AVDAAdapter, batch: tuple[torch.Tensor, ...], seed: int) -> dict[str, torch.Tensor]:
    """Every term of the adapter's loss, recomputed from the same global-seed draws in the model's order:
    z^s, z^u, the Gumbel noise of ỹ, then z^l."""
    torch.manual_seed(seed)
    source_mean, source_log_var, source_y, target_x, *shots = batch
    z_s = source_mean + torch.exp(0.5 * source_log_var) * torch.randn_like(source_mean)
    mean_u, log_var_u = model.target_encoder(target_x)
    z_u = mean_u + torch.exp(0.5 * log_var_u) * torch.randn_like(mean_u)
    logits_u = model.target_classifier(z_u)
    gumbel = -torch.log(-torch.log(torch.rand(logits_u.shape, dtype=F64)))
    pseudo = (logits_u + gumbel).argmax(-1)
    per_component = kl_diag_gaussians(mean_u[:, None], log_var_u[:, None], model.prior_means, model.prior_log_vars)
    gaussian_kl = per_component[torch.arange(len(pseudo)), pseudo]
    uniform = Categorical(probs=torch.full((K,), 1.0 / K, dtype=F64))
    categorical = kl_divergence(Categorical(logits=logits_u), uniform)
    out = {"gaussian_kl": gaussian_kl.mean(), "categorical_kl": categorical.mean(),
           "unsupervised": (gaussian_kl + categorical).mean(), "z_u": z_u}
    z_t, labels_t = z_u, pseudo
    if model.target_decoder is not None:
        out["reconstruction"] = (target_x - model.target_decoder(z_u)).square().sum(-1).mean()
    if shots:
        shot_x, shot_y = shots
        mean_l, log_var_l = model.target_encoder(shot_x)
        z_l = mean_l + torch.exp(0.5 * log_var_l) * torch.randn_like(mean_l)
        kl_l = kl_diag_gaussians(mean_l, log_var_l, model.prior_means[shot_y], model.prior_log_vars[shot_y])
        out["supervised"] = (kl_l + ALPHA_T * F.cross_entropy(model.target_classifier(z_l), shot_y,
                                                              reduction="none")).mean()
        z_t, labels_t = torch.cat([z_u, z_l]), torch.cat([pseudo, shot_y])
    out |= {"z_s": z_s, "z_t": z_t, "labels_t": labels_t}
    if model.discriminator_kind == "classes":
        fake = torch.full((len(z_t),), K)
        out["discriminator_loss"] = (F.cross_entropy(model.discriminator(z_s), source_y)
                                     + F.cross_entropy(model.discriminator(z_t), fake))
        out["adversarial"] = F.cross_entropy(model.discriminator(z_t), labels_t)
    return out


def close(value: torch.Tensor, expected: torch.Tensor) -> None:
    value, expected = float(value.detach()), float(expected.detach())
    assert abs(value - expected) < TOL, (value, expected)


def snapshot(*modules: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def unchanged(before: list[torch.Tensor], *modules: nn.Module) -> bool:
    return all(torch.equal(a, p) for a, p in zip(before, (p for m in modules for p in m.parameters())))


def all_moved(before: list[torch.Tensor], *modules: nn.Module) -> bool:
    return all(not torch.equal(a, p) for a, p in zip(before, (p for m in modules for p in m.parameters())))


# --- the axis prior ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_axis_prior_is_ten_times_the_axes_with_unit_variances_and_uniform_weights(dtype) -> None:
    prior = axis_prior(10, 20).to(dtype)
    assert torch.equal(prior.means, 10.0 * torch.eye(10, 20, dtype=dtype))
    assert torch.equal(prior.log_vars.exp(), torch.ones(10, 20, dtype=dtype))  # exactly 1, in either precision
    assert torch.unique(prior.logits).numel() == 1  # equal logits: p(y) exactly uniform
    torch.testing.assert_close(prior.log_weights.exp(), torch.full((10,), 0.1, dtype=dtype), rtol=1e-6, atol=0)


def test_axis_prior_refuses_more_classes_than_axes() -> None:
    assert torch.equal(axis_prior(4, 4).means, 10.0 * torch.eye(4))
    with pytest.raises(ValueError, match="num_classes <= latent_dim"):
        axis_prior(5, 4)
    with pytest.raises(ValueError, match="num_classes"):
        axis_prior(1, 4)


# --- the source model (Eq. 3.5) ---------------------------------------------------------------------------


def test_source_loss_is_eq_3_5_at_the_same_draw() -> None:
    model, (x, y) = make_source(), source_batch()
    torch.manual_seed(5)
    terms = model.training_loss(x, y)
    torch.manual_seed(5)
    mean, log_var = model.encoder(x)
    z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
    kl = kl_diag_gaussians(mean, log_var, model.prior.means[y], model.prior.log_vars[y])  # the true class's component
    squared = (x - model.decoder(z)).square().sum(-1)
    logits = model.classifier(z)
    cross_entropy = F.cross_entropy(logits, y, reduction="none")
    close(terms["loss"], (kl + squared + ALPHA_S * cross_entropy).mean())
    close(terms["kl"], kl.mean())
    close(terms["reconstruction"], squared.mean())
    close(terms["cross_entropy"], cross_entropy.mean())
    assert float(terms["accuracy"]) == float((logits.argmax(-1) == y).float().mean())
    # another draw gives another value: the loss really uses the global seed's z
    torch.manual_seed(6)
    assert abs(float(model.training_loss(x, y)["loss"].detach()) - float(terms["loss"].detach())) > 1e-3


def train(model: nn.Module, data: tuple[torch.Tensor, ...], steps: int = 3, optimizers: dict | None = None,
          **options) -> Trainer:
    opts = make_optimizers(model, OptimizerSpec(lr=1e-2)) if optimizers is None else optimizers
    trainer = Trainer(model, opts, data, len(data[0]), progress=False, log_every=1, **options)
    trainer.fit(steps)
    return trainer


def test_fixed_prior_is_left_out_and_unchanged_while_a_learnt_one_moves() -> None:
    data = source_batch()
    for learn_prior in (False, True):
        model = make_source(learn_prior)
        group = {id(p) for p in model.parameters_by_loss()["loss"]}
        prior_before = snapshot(model.prior)
        networks_before = snapshot(model.encoder, model.decoder, model.classifier)
        assert id(model.prior.logits) not in group and not model.prior.logits.requires_grad  # p(y) never trains
        assert (id(model.prior.means) in group) == (id(model.prior.raw_log_vars) in group) == learn_prior
        train(model, data)
        assert torch.equal(model.prior.logits, prior_before[0])
        assert all_moved(networks_before, model.encoder, model.decoder, model.classifier)
        moved = [not torch.equal(model.prior.means, prior_before[1]),
                 not torch.equal(model.prior.raw_log_vars, prior_before[2])]
        assert moved == [learn_prior, learn_prior]


def test_source_code_moments_and_predictions_are_deterministic_in_evaluation_mode() -> None:
    model, (x, _) = make_source(), source_batch(5)
    model.encoder = DropoutEncoder().double()
    mean, log_var = model.code_moments(x, batch_size=2)  # three batches, concatenated
    assert model.training
    model.eval()
    with torch.no_grad():
        expected_mean, expected_log_var = model.encoder(x)
        expected_classes = model.classifier(expected_mean).argmax(-1)
    model.train()
    exact = {"rtol": 0.0, "atol": 1e-14}  # batches of 2 round like the whole batch up to the last bits
    torch.testing.assert_close(mean, expected_mean, **exact)
    torch.testing.assert_close(log_var, expected_log_var, **exact)
    assert torch.equal(model.code_moments(x)[0], expected_mean)
    assert torch.equal(model.predict(x, batch_size=2), expected_classes)
    assert torch.equal(model.predict(x), model.predict(x))
    assert not torch.equal(model.encoder(x)[0], model.encoder(x)[0])  # training mode: dropout differs per call
    means, log_vars = model.prior_moments()
    assert torch.equal(means, model.prior.means) and torch.equal(log_vars, model.prior.log_vars)
    assert not means.requires_grad and means.data_ptr() != model.prior.means.data_ptr()


def test_source_refuses_bad_inputs() -> None:
    model, (x, y) = make_source(), source_batch()
    with pytest.raises(ValueError, match="y must lie in 0..2"):
        model.training_loss(x, torch.full((6,), K))
    with pytest.raises(ValueError, match="y must be integer labels"):
        model.training_loss(x, y.double())
    with pytest.raises(ValueError, match="x must have shape"):
        model.training_loss(torch.zeros(6, 5, dtype=F64), y)
    with pytest.raises(ValueError, match="batch_size"):
        model.code_moments(x, batch_size=0)
    with pytest.raises(TypeError, match="prior"):
        AVDASource(model.encoder, model.decoder, model.classifier, nn.Linear(2, 2))
    with pytest.raises(TypeError, match="learn_prior"):
        AVDASource(model.encoder, model.decoder, model.classifier, model.prior, learn_prior=1)
    with pytest.raises(ValueError, match="alpha_s"):
        AVDASource(model.encoder, model.decoder, model.classifier, model.prior, alpha_s=-1.0)


# --- the adapter (Eq. 3.8–3.12) ---------------------------------------------------------------------------


def test_discriminator_loss_is_eq_3_8_with_target_codes_as_class_k() -> None:
    model, batch = make_adapter(), adapter_batch()
    torch.manual_seed(7)
    terms = model.training_loss(*batch)
    expected = replay(model, batch, 7)
    close(terms["discriminator_loss"], expected["discriminator_loss"])
    assert expected["z_t"].shape[0] == 9  # unlabelled and labelled target codes both go to class K (D_u ∪ D_t)


def test_loss_with_shots_is_the_gamma_mixture_of_eq_3_12() -> None:
    model, batch = make_adapter(), adapter_batch()
    model.set_coefficient("gamma", 0.95)
    torch.manual_seed(8)
    terms = model.training_loss(*batch)
    e = replay(model, batch, 8)
    close(terms["loss"], 0.95 * e["supervised"] + 0.05 * e["unsupervised"] + e["adversarial"])
    for name in ("supervised", "unsupervised", "adversarial", "gaussian_kl", "categorical_kl"):
        close(terms[name], e[name])
    assert float(terms["gamma"]) == 0.95
    # the adversarial labels are the Gumbel classes of the unlabelled codes, then the true shot labels
    assert torch.equal(e["labels_t"][6:], batch[5])


def test_loss_without_shots_is_the_unsupervised_term_plus_alignment() -> None:
    model, batch = make_adapter(), adapter_batch(shots=False)
    model.set_coefficient("gamma", 0.5)  # no shots: γ plays no part
    torch.manual_seed(9)
    terms = model.training_loss(*batch)
    e = replay(model, batch, 9)
    close(terms["loss"], e["unsupervised"] + e["adversarial"])
    close(terms["discriminator_loss"], e["discriminator_loss"])
    assert "supervised" not in terms


def test_dropping_the_categorical_kl_removes_exactly_that_term() -> None:
    batch = adapter_batch(shots=False)
    full, reduced = make_adapter(), make_adapter(categorical_kl=False)
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), reduced.state_dict().values()))
    torch.manual_seed(10)
    with_kl = full.training_loss(*batch)
    torch.manual_seed(10)
    without_kl = reduced.training_loss(*batch)
    e = replay(full, batch, 10)
    close(with_kl["loss"] - without_kl["loss"], e["categorical_kl"])
    close(without_kl["loss"], e["gaussian_kl"] + e["adversarial"])
    assert float(e["categorical_kl"].detach()) > 1e-3
    # with shots the term is weighted by 1 - γ
    full.set_coefficient("gamma", 0.9), reduced.set_coefficient("gamma", 0.9)
    batch = adapter_batch()
    torch.manual_seed(11)
    with_kl = full.training_loss(*batch)
    torch.manual_seed(11)
    without_kl = reduced.training_loss(*batch)
    close(with_kl["loss"] - without_kl["loss"], (1 - 0.9) * replay(full, batch, 11)["categorical_kl"])


def test_binary_discriminator_gives_the_bce_values_of_gan_losses() -> None:
    model, batch = make_adapter("binary"), adapter_batch()
    model.set_coefficient("gamma", 0.95)
    torch.manual_seed(12)
    terms = model.training_loss(*batch)
    e = replay(model, batch, 12)
    source_logits, target_logits = model.discriminator(e["z_s"]).squeeze(-1), model.discriminator(e["z_t"]).squeeze(-1)
    close(terms["discriminator_loss"], discriminator_loss(source_logits, target_logits, "standard"))
    close(terms["discriminator_loss"],
          F.binary_cross_entropy_with_logits(source_logits, torch.ones_like(source_logits))
          + F.binary_cross_entropy_with_logits(target_logits, torch.zeros_like(target_logits)))
    adversarial = F.binary_cross_entropy_with_logits(target_logits, torch.ones_like(target_logits))
    close(adversarial, generator_loss(target_logits, "non_saturating"))
    close(terms["adversarial"], adversarial)
    close(terms["loss"], 0.95 * e["supervised"] + 0.05 * e["unsupervised"] + adversarial)


def test_target_decoder_adds_the_target_squared_error() -> None:
    model, batch = make_adapter(decoder=True), adapter_batch(shots=False)
    torch.manual_seed(13)
    terms = model.training_loss(*batch)
    e = replay(model, batch, 13)
    close(terms["target_reconstruction"], e["reconstruction"])
    close(terms["loss"], e["unsupervised"] + e["reconstruction"] + e["adversarial"])
    assert {id(p) for p in model.target_decoder.parameters()} <= {id(p) for p in model.parameters_by_loss()["loss"]}


@pytest.mark.parametrize("kind", ["classes", "binary"])
def test_discriminator_gradient_stops_at_the_target_codes(kind) -> None:
    model, batch = make_adapter(kind), adapter_batch()
    torch.manual_seed(14)
    terms = model.training_loss(*batch)
    psi = list(model.target_encoder.parameters()) + list(model.target_classifier.parameters())
    w = list(model.discriminator.parameters())
    assert all(g is None for g in torch.autograd.grad(terms["discriminator_loss"], psi, retain_graph=True,
                                                      allow_unused=True))
    assert all(float(g.abs().sum()) > 0 for g in torch.autograd.grad(terms["discriminator_loss"], w,
                                                                      retain_graph=True))
    encoder_grads = torch.autograd.grad(terms["loss"], list(model.target_encoder.parameters()))
    assert all(float(g.abs().sum()) > 0 for g in encoder_grads)
    groups = model.parameters_by_loss()
    assert list(groups) == ["discriminator_loss", "loss"]  # D steps first under alternating updates
    assert [id(p) for p in groups["discriminator_loss"]] == [id(p) for p in w]
    assert [id(p) for p in groups["loss"]] == [id(p) for p in psi]


def test_each_optimizer_moves_only_its_own_player_under_alternating_updates() -> None:
    data = adapter_batch(n=6)
    runs = {}
    for which in ("discriminator_loss", "loss", "both"):
        model = make_adapter()
        psi, w = (model.target_encoder, model.target_classifier), (model.discriminator,)
        before_psi, before_w = snapshot(*psi), snapshot(*w)
        buffers = [b.clone() for b in model.buffers()]
        opts = make_optimizers(model, OptimizerSpec(lr=1e-2))
        chosen = opts if which == "both" else {which: opts[which]}
        train(model, data, steps=1, optimizers=chosen, updates="alternating")
        assert unchanged(before_psi, *psi) == (which == "discriminator_loss")
        assert unchanged(before_w, *w) == (which == "loss")
        if which != "loss":
            assert all_moved(before_w, *w)
        if which != "discriminator_loss":
            assert all_moved(before_psi, model.target_encoder)
        assert all(torch.equal(a, b) for a, b in zip(buffers, model.buffers()))  # the frozen prior and γ
        runs[which] = model
    # D steps first on the same first evaluation, so its update is the one it makes alone
    for a, b in zip(runs["both"].discriminator.parameters(), runs["discriminator_loss"].discriminator.parameters()):
        assert torch.equal(a, b)


def test_the_trainer_ramps_gamma_from_one_to_point_nine_over_25_steps() -> None:
    model = make_adapter()
    trainer = train(model, adapter_batch(n=6), steps=30, updates="alternating",
                    schedules={"gamma": linear_ramp(1.0, 0.9, 25)})
    logged = [record["gamma"] for record in trainer.history]
    assert len(logged) == 30 and logged[0] == 1.0
    assert logged[25:] == [0.9] * 5
    assert all(abs(logged[t] - (1.0 - 0.1 * t / 25)) < 1e-15 for t in range(25))
    assert float(model.gamma) == 0.9


def test_adapter_predictions_and_embeddings_use_the_code_mean_in_evaluation_mode() -> None:
    model = make_adapter(encoder=DropoutEncoder())
    x = adapter_batch()[3]
    model.eval()
    with torch.no_grad():
        mean = model.target_encoder(x)[0]
        classes = model.target_classifier(mean).argmax(-1)
    model.train()
    torch.testing.assert_close(model.embed(x, batch_size=4), mean, rtol=0.0, atol=1e-14)
    assert torch.equal(model.embed(x), mean) and torch.equal(model.embed(x), model.embed(x))
    assert torch.equal(model.predict(x, batch_size=4), classes) and torch.equal(model.predict(x), model.predict(x))
    assert model.training
    assert not torch.equal(model.target_encoder(x)[0], model.target_encoder(x)[0])


def test_adapter_refuses_bad_inputs() -> None:
    model, batch = make_adapter(), adapter_batch()
    source_mean, source_log_var, source_y, target_x, shot_x, shot_y = batch
    bad = {
        "source_y must lie in 0..2": (source_mean, source_log_var, torch.full((5,), K), target_x, shot_x, shot_y),
        "shot_y must lie in 0..2": (source_mean, source_log_var, source_y, target_x, shot_x, torch.tensor([0, 1, 3])),
        "source_mean must have 3 columns": (source_mean[:, :2], source_log_var[:, :2], source_y, target_x),
        "one shape": (source_mean, source_log_var[:4], source_y, target_x),
        "target_x must have shape": (source_mean, source_log_var, source_y, target_x[:, :3]),
        "shot_x must have shape": (source_mean, source_log_var, source_y, target_x, shot_x[:, :3], shot_y),
    }
    for message, arguments in bad.items():
        with pytest.raises(ValueError, match=message):
            model.training_loss(*arguments)
    with pytest.raises(TypeError, match="shot_x, shot_y"):
        model.training_loss(source_mean, source_log_var, source_y, target_x, shot_x)
    with pytest.raises(ValueError, match="name must be 'gamma'"):
        model.set_coefficient("alpha_t", 0.5)
    for value in (1.5, -0.1, math.nan):
        with pytest.raises(ValueError, match="value"):
            model.set_coefficient("gamma", value)
    assert float(model.gamma) == 1.0  # refused values leave γ as it was
    means, log_vars = model.prior_means, model.prior_log_vars
    networks = (model.target_encoder, model.target_classifier, model.discriminator)
    with pytest.raises(ValueError, match="differ in shape"):
        AVDAAdapter(*networks, means, log_vars[:, :2])
    with pytest.raises(ValueError, match="discriminator_kind"):
        AVDAAdapter(*networks, means, log_vars, discriminator_kind="wasserstein")
    with pytest.raises(ValueError, match="tau"):
        AVDAAdapter(*networks, means, log_vars, tau=0.0)
    with pytest.raises(TypeError, match="source"):
        build_adapter(model)


# --- building the adapter from a source model (the real 32×32 networks) --------------------------------------


def test_build_adapter_copies_the_source_networks_and_freezes_its_prior() -> None:
    torch.manual_seed(0)
    source = build_source()
    x = torch.rand(4, 1, 32, 32, generator=gen(4)) * 2 - 1
    y = torch.tensor([0, 3, 7, 9])
    train(source, (x, y), steps=1)  # move the prior off its start
    adapter = build_adapter(source, target_decoder=True)
    pairs = ((source.encoder, adapter.target_encoder), (source.classifier, adapter.target_classifier),
             (source.decoder, adapter.target_decoder))
    for original, copied in pairs:
        a, b = original.state_dict(), copied.state_dict()
        assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
        assert all(p.data_ptr() != q.data_ptr() for p, q in zip(original.parameters(), copied.parameters()))
    assert adapter.discriminator(torch.zeros(2, 20)).shape == (2, 11)  # K + 1 logits
    buffers, parameters = dict(adapter.named_buffers()), dict(adapter.named_parameters())
    assert torch.equal(buffers["prior_means"], source.prior.means) and "prior_means" not in parameters
    assert torch.equal(buffers["prior_log_vars"], source.prior.log_vars) and "prior_log_vars" not in parameters
    assert not torch.equal(source.prior.means, 10.0 * torch.eye(10, 20))
    # training the adapter leaves the source as it was, and training the source leaves the adapter
    source_before, adapter_before = snapshot(source), snapshot(adapter)
    prior_before = [buffers["prior_means"].clone(), buffers["prior_log_vars"].clone()]
    mean, log_var = source.code_moments(x)
    train(adapter, (mean, log_var, y, torch.rand(4, 1, 32, 32, generator=gen(5)) * 2 - 1), steps=1,
          updates="alternating")
    assert unchanged(source_before, source)
    assert all_moved(snapshot(source.encoder.head), adapter.target_encoder.head)  # the copy moved, its origin did not
    adapter_now = snapshot(adapter)
    train(source, (x, y), steps=1)
    assert unchanged(adapter_now, adapter) and not unchanged(source_before, source)
    assert torch.equal(adapter.prior_means, prior_before[0]) and torch.equal(adapter.prior_log_vars, prior_before[1])
    assert not unchanged(adapter_before, adapter)


def test_build_adapter_binary_kind_and_dtype() -> None:
    source = make_source()  # float64 networks: the fresh discriminator follows the prior's dtype and device
    adapter = build_adapter(source, discriminator_kind="binary", alpha_t=ALPHA_T, tau=TAU)
    assert adapter.discriminator[-1].out_features == 1 and adapter.target_decoder is None
    assert all(p.dtype == F64 for p in adapter.parameters())
    torch.manual_seed(15)
    terms = adapter.training_loss(*adapter_batch())
    e = replay(adapter, adapter_batch(), 15)
    close(terms["discriminator_loss"],
          discriminator_loss(adapter.discriminator(e["z_s"]).squeeze(-1), adapter.discriminator(e["z_t"]).squeeze(-1)))
