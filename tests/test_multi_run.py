"""The multi-run trainer: each run of a group is its sequential twin (bitwise at S=1, to a measured tolerance at S>1),
a diverging run stops alone, and every run checkpoints and resumes on its own, in the sequential trainer's format."""

import copy
import math

import pytest
import torch

from gi_core.checkpoints import CheckpointError, checkpoint_step, read_checkpoint
from gi_core.models.zoo import GroupedZooAutoencoders, ZooEntry, ZooModel, zoo_networks
from gi_core.multi_run import GroupedTrainable, MultiRunTrainer
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer

SHAPE = (1, 8, 8)
ADAM = OptimizerSpec("adam", 1e-3, betas=(0.0, 0.999))
ENTRIES = (ZooEntry("VAE β=0.33", "vae", 0.33), ZooEntry("WVAE β=1", "wvae"), ZooEntry("MMD β=30", "mmd", 30.0),
           ZooEntry("JS-VAE β=1", "jsvae"))


@pytest.fixture(scope="module")
def images():
    return torch.rand(96, *SHAPE, generator=torch.Generator().manual_seed(0)) * 2 - 1


def plain(entry, seed):
    torch.manual_seed(seed)
    return ZooModel.build(entry, zoo_networks("mlp", SHAPE, 3, hidden=(16, 8)))


def sequential(model, images, seed, steps, spec=ADAM, **kw):
    trainer = Trainer(model, make_optimizers(model, spec), images, 16, seed=seed, progress=False, **kw)
    trainer.fit(steps)
    return trainer


def group_trainer(models, images, seeds, spec=ADAM, **kw):
    group = GroupedZooAutoencoders.stack([copy.deepcopy(m) for m in models])
    return MultiRunTrainer(group, make_optimizers(group, spec), images, 16, seeds, progress=False, **kw)


def max_difference(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def test_a_grouped_model_follows_the_protocol():
    assert isinstance(GroupedZooAutoencoders.stack([plain(ENTRIES[0], 0)]), GroupedTrainable)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.kind)
def test_a_group_of_one_is_bitwise_its_sequential_twin(images, entry):
    model = plain(entry, 3)
    twin = group_trainer([model], images, [5])
    twin.fit(30)
    alone = sequential(model, images, 5, 30)
    assert max_difference(alone.model.state_dict(), twin.model.run_model(0).state_dict()) == 0.0
    assert [r["loss"] for r in alone.history] == [r["loss"] for r in twin.history[0]]


def test_the_runs_of_a_group_stay_within_a_measured_distance_of_their_twins(images):
    """Measured here: after 1, 10 and 50 Adam steps the largest weight difference to the sequential twin was
    1.5e-8, 6e-8 and 9e-8 (float32 rounding of the batched products; the trajectories have not separated yet)."""
    models = [plain(e, i) for i, e in enumerate(ENTRIES)]
    for steps, tolerance in ((1, 1e-6), (10, 1e-5), (50, 1e-4)):
        group = group_trainer(models, images, [0, 1, 2, 3])
        group.fit(steps)
        for i, model in enumerate(models):
            alone = sequential(copy.deepcopy(model), images, i, steps)
            difference = max_difference(alone.model.state_dict(), group.model.run_model(i).state_dict())
            assert difference < tolerance, (steps, ENTRIES[i].kind, difference)
            assert difference < 1e-3 * max_difference(alone.model.state_dict(), model.state_dict())  # far below the motion


def test_a_diverging_run_stops_alone_and_the_others_are_untouched(images):
    models = [plain(e, i) for i, e in enumerate(ENTRIES[:3])]
    healthy = group_trainer(models, images, [0, 1, 2])
    healthy.fit(12)
    sick = group_trainer(models, images, [0, 1, 2])
    sick.fit(5)
    frozen = copy.deepcopy(sick.model.run_model(1).state_dict())
    with torch.no_grad():
        sick.model.decoder.net[0].bias[1, 0] = math.nan
    with pytest.warns(RuntimeWarning, match=r"run 1 \(seed 1\) stopped, the others go on: step 5: non-finite"):
        sick.fit(12)
    assert list(sick.stopped) == [1] and sick.active == [0, 2]
    assert "decoder.net.0.bias" in str(sick.stopped[1]) and sick.stopped[1].step == 5
    for s in (0, 2):  # the other runs are bitwise the runs of the healthy group
        assert max_difference(healthy.model.run_model(s).state_dict(), sick.model.run_model(s).state_dict()) == 0.0
    stopped = sick.model.run_model(1).state_dict()
    frozen["decoder.net.0.bias"][0] = math.nan
    assert all(torch.equal(stopped[k].nan_to_num(7.0), frozen[k].nan_to_num(7.0)) for k in frozen)  # frozen where it stopped
    assert sick.history[1][-1]["step"] == 5 and sick.history[0][-1]["step"] == 12  # no record after the stop


def test_a_group_stops_when_every_run_has_stopped(images):
    group = group_trainer([plain(ENTRIES[0], 0)], images, [0])
    with torch.no_grad():
        group.model.encoder.head.mean.bias.fill_(math.inf)
    with pytest.warns(RuntimeWarning):
        group.fit(10)
    assert group.step == 1 and group.active == []
    with pytest.raises(RuntimeError, match="every run has stopped"):
        group.train_step()


def test_resuming_a_group_after_an_interruption_is_bitwise(images, tmp_path):
    models = [plain(e, i) for i, e in enumerate(ENTRIES[:3])]
    dirs = [tmp_path / f"run{s}" for s in range(3)]
    straight = group_trainer(models, images, [0, 1, 2])
    straight.fit(17)
    interrupted = group_trainer(models, images, [0, 1, 2], checkpoint_dirs=dirs, checkpoint_every=5)
    interrupted.fit(12)  # "killed" after step 12: the checkpoints are at step 10
    assert [checkpoint_step(d) for d in dirs] == [10, 10, 10]
    resumed = group_trainer([plain(e, 50 + i) for i, e in enumerate(ENTRIES[:3])], images, [0, 1, 2],
                            checkpoint_dirs=dirs, checkpoint_every=5)
    assert resumed.resume() == 10
    resumed.fit(17)
    for s in range(3):
        assert max_difference(straight.model.run_model(s).state_dict(), resumed.model.run_model(s).state_dict()) == 0.0
        assert [r["loss"] for r in straight.history[s]] == [r["loss"] for r in resumed.history[s]]
        lines = (dirs[s] / "metrics.jsonl").read_text().splitlines()
        assert len(lines) == len(resumed.history[s])


def test_a_run_checkpoint_is_a_sequential_checkpoint(images, tmp_path):
    """A run of a group writes what the sequential trainer writes, so either trainer resumes it: a group of one
    and the sequential trainer continue each other's checkpoints bitwise."""
    model = plain(ENTRIES[2], 4)
    group = group_trainer([model], images, [9], checkpoint_dirs=[tmp_path / "run"], checkpoint_every=10)
    group.fit(10)
    state, record = read_checkpoint(tmp_path / "run")
    assert set(state["model"]) == set(model.state_dict()) and record["seed"] == 9 and record["step"] == 10
    other_start = plain(ENTRIES[2], 77)  # overwritten by the checkpoint
    alone = Trainer(other_start, make_optimizers(other_start, ADAM), images, 16, seed=9, progress=False,
                    checkpoint_dir=tmp_path / "run")
    assert alone.resume() == 10
    alone.fit(25)
    group.fit(25)
    assert max_difference(alone.model.state_dict(), group.model.run_model(0).state_dict()) == 0.0
    back = group_trainer([plain(ENTRIES[2], 78)], images, [9], checkpoint_dirs=[tmp_path / "run2"])
    alone.save_checkpoint(tmp_path / "run2")
    assert back.resume() == 25
    back.fit(30)
    group.fit(30)
    assert max_difference(back.model.run_model(0).state_dict(), group.model.run_model(0).state_dict()) == 0.0


def test_runs_checkpointed_at_different_steps_are_refused_as_one_group(images, tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b"]
    first = group_trainer([plain(ENTRIES[0], 0)], images, [0], checkpoint_dirs=dirs[:1], checkpoint_every=5)
    first.fit(5)
    both = group_trainer([plain(ENTRIES[0], 0), plain(ENTRIES[1], 1)], images, [0, 1], checkpoint_dirs=dirs)
    with pytest.raises(CheckpointError, match=r"different steps \[5, 0\]"):
        both.resume()


def test_a_checkpoint_of_another_seed_is_refused(images, tmp_path):
    group = group_trainer([plain(ENTRIES[0], 0)], images, [0], checkpoint_dirs=[tmp_path / "a"], checkpoint_every=5)
    group.fit(5)
    other = group_trainer([plain(ENTRIES[0], 0)], images, [3], checkpoint_dirs=[tmp_path / "a"])
    with pytest.raises(CheckpointError, match="seed 0, run 0 has seed 3"):
        other.resume()


def test_the_trainer_leaves_the_global_generators_alone(images):
    group = group_trainer([plain(ENTRIES[2], 0)], images, [0])
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    group.fit(4)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("change, message", [
    (dict(seeds=[0, 1]), "one seed per run"),
    (dict(checkpoint_every=5), "needs checkpoint_dirs"),
    (dict(checkpoint_dirs=["a", "a"][:1] * 2), "one folder per run"),
])
def test_bad_arguments_are_refused(images, change, message):
    group = GroupedZooAutoencoders.stack([plain(ENTRIES[0], 0)])
    arguments = dict(seeds=[0]) | change
    with pytest.raises(ValueError, match=message):
        MultiRunTrainer(group, make_optimizers(group, ADAM), images, 16, progress=False, **arguments)


def test_a_plain_model_is_refused(images):
    model = plain(ENTRIES[0], 0)
    with pytest.raises(TypeError, match="grouped model"):
        MultiRunTrainer(model, make_optimizers(model, ADAM), images, 16, [0], progress=False)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_a_group_of_one_follows_its_sequential_twin_and_checkpoints_its_cuda_generator(images, tmp_path):
    """On a GPU the runs draw from CUDA generators seeded as the sequential trainer seeds CUDA; kernels may differ
    between a GEMM and a batched GEMM, so the check is a tolerance, with the data resident on the device."""
    model = plain(ENTRIES[2], 3).cuda()
    twin = group_trainer([model], images.cuda(), [5], device="cuda", checkpoint_dirs=[tmp_path / "run"],
                         checkpoint_every=10)
    twin.fit(20)
    alone = sequential(model, images.cuda(), 5, 20, device="cuda")
    assert max_difference(alone.model.state_dict(), twin.model.run_model(0).state_dict()) < 1e-5
    state, _ = read_checkpoint(tmp_path / "run")
    assert set(state["rng"]) == {"torch", "cuda", "shuffle", "order"}


def test_sgd_with_and_without_momentum_checkpoints_and_resumes_bitwise(images, tmp_path):
    for momentum in (0.0, 0.9):
        spec = OptimizerSpec("sgd", 0.05, momentum=momentum)
        models = [plain(e, i) for i, e in enumerate(ENTRIES[:2])]
        straight = group_trainer(models, images, [0, 1], spec=spec)
        straight.fit(8)
        dirs = [tmp_path / f"{momentum}_{s}" for s in range(2)]
        first = group_trainer(models, images, [0, 1], spec=spec, checkpoint_dirs=dirs, checkpoint_every=4)
        first.fit(4)
        resumed = group_trainer(models, images, [0, 1], spec=spec, checkpoint_dirs=dirs)
        assert resumed.resume() == 4
        resumed.fit(8)
        for s in range(2):
            assert max_difference(straight.model.run_model(s).state_dict(), resumed.model.run_model(s).state_dict()) == 0.0
