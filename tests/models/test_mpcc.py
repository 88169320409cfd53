"""Tests for gi_core.models.mpcc: Algorithm 1 as trainer steps (which parameters each update moves and which rest),
bitwise seeded runs and resumption, the NaN guard, the prior's objective and the cluster read-out."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from gi_core.guards import NonFiniteLossError
from gi_core.maths.mpcc_objective import prior_negative_entropy
from gi_core.models.mpcc import MPCC, build_mpcc
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
IMAGE = (1, 16, 16)


def tiny(seed: int = 0) -> MPCC:
    torch.manual_seed(seed)
    return build_mpcc(IMAGE, num_clusters=3, latent_dim=2, channels=1, d_steps=2, e_steps=2)


def data() -> torch.Tensor:
    return torch.rand(24, *IMAGE, generator=torch.Generator().manual_seed(5)) * 2 - 1


def trainer(model: MPCC, checkpoint_dir=None, checkpoint_every: int = 0) -> Trainer:
    spec = OptimizerSpec("adam", 2e-4, betas=(0.0, 0.999))
    optimizers = make_optimizers(model, {"generator_loss": spec, "discriminator_loss": spec, "loss": spec,
                                         "prior_loss": OptimizerSpec("adam", 1.6e-3, betas=(0.0, 0.999))})
    return Trainer(model, optimizers, data(), 4, seed=3, progress=False, log_every=1, checkpoint_dir=checkpoint_dir,
                   checkpoint_every=checkpoint_every, schedules={"phase": model.phase_schedule()})


def owners(model: MPCC) -> dict[str, set[int]]:
    critic = model.critic
    ids = lambda modules: {id(p) for m in modules for p in m.parameters()}  # noqa: E731
    return {"shared": ids([critic.shared]), "d_only": ids(critic.discriminator_modules()[1:]),
            "e_only": ids(critic.encoder_modules()[1:]), "generator": ids([model.generator]),
            "mixture": {id(model.prior.means), id(model.prior.raw_log_vars)}, "weights": {id(model.prior.logits)}}


def moved(before: dict[str, torch.Tensor], model: MPCC) -> set[str]:
    """The parts of the model (keys of :func:`owners`) whose parameters changed since ``before``."""
    names = {id(p): n for n, p in model.named_parameters()}
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p.detach())}
    return {part for part, ids in owners(model).items() if changed & {names[i] for i in ids}}


def test_each_trainer_step_is_one_update_of_algorithm_1_and_the_others_rest():
    model = tiny()
    run = trainer(model)
    assert model.steps_per_iteration == 5
    expected = [{"shared", "d_only"}, {"shared", "d_only"}, {"generator", "mixture"}, {"shared", "e_only", "mixture"},
                {"shared", "e_only"}] * 2
    for step, parts in enumerate(expected):
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        terms = run.train_step()
        assert terms["phase"] == step % 5 and moved(before, model) == parts, step
        resting = {"discriminator_loss", "generator_loss", "loss", "prior_loss"} - {
            "discriminator": {"discriminator_loss"}, "generator": {"generator_loss"}, "encoder_and_prior": {"loss", "prior_loss"},
            "encoder": {"loss"}}[model.phase_name(step % 5)]
        assert all(terms[name] == 0.0 for name in resting) and all(terms[name] != 0.0 for name in set(terms) - resting - {"phase"})
    # Adam counted only the updates each optimizer made: 4 D, 2 G, 4 E, 2 prior over two iterations
    counts = {name: {int(s["step"]) for s in opt.state_dict()["state"].values()} for name, opt in run.optimizers.items()}
    assert counts == {"discriminator_loss": {4}, "generator_loss": {2}, "loss": {4}, "prior_loss": {2}}
    assert all(len(opt.state_dict()["state"]) == len(model.parameters_by_loss()[name]) for name, opt in run.optimizers.items())


def test_the_parameter_groups_follow_algorithm_1():
    model = tiny()
    groups = {name: {id(p) for p in params} for name, params in model.parameters_by_loss().items()}
    parts = owners(model)
    assert groups["discriminator_loss"] == parts["shared"] | parts["d_only"]
    assert groups["loss"] == parts["shared"] | parts["e_only"]
    assert groups["generator_loss"] == parts["generator"] | parts["mixture"] and groups["prior_loss"] == parts["mixture"]
    assert not any(parts["weights"] & ids for ids in groups.values())  # phi stays uniform


def test_seeded_runs_are_bitwise_identical_and_resume_bitwise(tmp_path):
    straight, other = tiny(), tiny()
    trainer(straight).fit(12)
    trainer(other).fit(12)
    for (name, a), b in zip(straight.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), name
    first = tiny()
    trainer(first, tmp_path / "run", checkpoint_every=7).fit(7)  # stopped inside the second iteration
    resumed = tiny(seed=9)  # other initial weights: everything must come from the checkpoint
    run = trainer(resumed, tmp_path / "run", checkpoint_every=7)
    assert run.resume() == 7
    history = run.fit(12)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    reference = trainer(tiny()).fit(12)
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in history] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in reference]


def test_a_nan_stops_the_run_naming_the_step_and_the_term():
    model = tiny()
    run = trainer(model)
    run.fit(3)  # two discriminator updates, one generator update
    with torch.no_grad():
        model.critic.mean_head[0].parametrizations.weight.original[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="step 3: non-finite loss terms 'loss' = nan"):
        run.fit(5)
    assert run.step == 3


def test_the_prior_objective_is_the_cross_entropy_plus_the_scaled_negative_entropy():
    model = tiny()
    z, labels = torch.randn(6, 2), torch.tensor([0, 1, 2, 2, 1, 0])
    prior = model.prior
    expected = F.cross_entropy(prior.component_log_prob(z), labels) + 0.01 * prior_negative_entropy(
        prior.log_weights, prior.log_vars, 0.5)
    torch.testing.assert_close(model.prior_objective(labels, z), expected)
    torch.testing.assert_close(model.log_responsibilities(z).exp(), prior.responsibilities(z))
    assert prior.variance_floor == 0.5 and bool((prior.log_vars.exp() > 0.25).all())


def test_clusters_are_the_argmax_of_the_responsibilities_at_the_encoder_mean():
    model = tiny()
    x = data()
    model.eval()
    with torch.no_grad():
        gamma = model.prior.responsibilities(model.encode(x)[0])
    model.train()
    torch.testing.assert_close(model.cluster_probabilities(x, batch_size=5), gamma)
    assert torch.equal(model.assign_clusters(x, batch_size=7), gamma.argmax(-1))
    assert model.training  # the read-out restores the training mode


def test_samples_of_one_cluster_decode_draws_of_that_component():
    model = tiny()
    images = model.sample(4, cluster=2, generator=torch.Generator().manual_seed(1))
    noise = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    prior = model.prior
    with torch.no_grad():
        z = prior.means[2] + torch.exp(0.5 * prior.log_vars[2]) * noise
        expected = copy.deepcopy(model.generator).eval()(z, torch.full((4,), 2))
    torch.testing.assert_close(images, expected, rtol=0, atol=0)
    with torch.no_grad():
        labels, z = prior.sample_components(4, torch.Generator().manual_seed(2))
        expected = copy.deepcopy(model.generator).eval()(z, labels)
    torch.testing.assert_close(model.sample(4, generator=torch.Generator().manual_seed(2)), expected, rtol=0, atol=0)
    with pytest.raises(ValueError, match="cluster must lie in 0..2, got 3"):
        model.sample(2, cluster=3)


def test_the_phase_is_checked():
    model = tiny()
    assert [model.phase_name(p) for p in range(5)] == ["discriminator", "discriminator", "generator",
                                                      "encoder_and_prior", "encoder"]
    assert [model.phase_schedule()(s) for s in (0, 4, 5, 13)] == [0.0, 4.0, 0.0, 3.0]
    with pytest.raises(ValueError, match=r"value must be an integer phase in 0..4, got 5"):
        model.set_coefficient("phase", 5.0)
    with pytest.raises(ValueError, match="name must be 'phase'"):
        model.set_coefficient("grl", 1.0)
    with pytest.raises(ValueError, match="generator, critic and prior disagree"):
        MPCC(model.generator, model.critic, build_mpcc(IMAGE, 4, 2, 1).prior)
