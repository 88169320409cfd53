import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gi_core.models.classifier import FeatureClassifier
from gi_core.models.vae import VAE
from gi_core.nets.encoders import encoder_decoder
from gi_core.checkpoints import CheckpointError
from gi_core.guards import NonFiniteLossError
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Scheduled, TrainableModel, Trainer, parameter_groups
from tests.helpers import TwoTermModel, gen


def make_vae(seed=0, hidden=(16,)):
    torch.manual_seed(seed)
    enc, dec = encoder_decoder("mlp", (1, 4, 4), 2, hidden=hidden)
    return VAE(enc, dec, likelihood="bernoulli")


def make_trainer(model, data, tmp_path=None, **kw):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    return Trainer(model, opt, data, batch_size=8, seed=1, checkpoint_dir=tmp_path, progress=False, **kw)


@pytest.fixture
def data():
    """Two 4x4 prototypes (top half / bottom half lit) with 5% of the pixels flipped."""
    g = torch.Generator().manual_seed(0)
    prototypes = torch.zeros(2, 1, 4, 4)
    prototypes[0, :, :2], prototypes[1, :, 2:] = 1.0, 1.0
    x = prototypes[torch.arange(36) % 2]
    flips = (torch.rand(x.shape, generator=g) < 0.05).float()
    return (x - flips).abs()


def flat_params(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_training_lowers_the_loss(data):
    trainer = make_trainer(make_vae(), data, log_every=1)
    history = trainer.fit(120)
    first, last = history[0]["loss"], sum(h["loss"] for h in history[-10:]) / 10
    assert first > 10.0 and last < 6.0  # from ~16 log 2 nats towards the noise floor (~4 nats)
    assert history[-1]["step"] == 120 and history[-1]["epoch"] == 120 / 4


def test_seeded_runs_are_bitwise_identical(data):
    a, b = make_vae(), make_vae()
    make_trainer(a, data).fit(30)
    make_trainer(b, data).fit(30)
    assert torch.equal(flat_params(a), flat_params(b))


@pytest.mark.parametrize("stop", [5, 8, 13])  # mid-epoch, on an epoch boundary (4 steps/epoch), later
def test_resume_from_checkpoint_is_bitwise_identical(data, tmp_path, stop):
    straight = make_vae()
    make_trainer(straight, data).fit(20)

    interrupted = make_vae()
    make_trainer(interrupted, data, tmp_path / "run", checkpoint_every=stop).fit(stop + 3)  # "killed" after stop+3
    resumed_model = make_vae(seed=123)  # a fresh process would start from other weights
    resumed = make_trainer(resumed_model, data, tmp_path / "run", checkpoint_every=stop)
    assert resumed.load_checkpoint() == stop
    resumed.fit(20)
    assert torch.equal(flat_params(straight), flat_params(resumed_model))
    steps = [json.loads(line)["step"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)), "metrics after the checkpoint must not be duplicated on resume"


def test_corrupted_checkpoints_are_reported(data, tmp_path):
    trainer = make_trainer(make_vae(), data, tmp_path)
    trainer.fit(4)
    folder = trainer.save_checkpoint()
    state = folder / json.loads((folder / "trainer.json").read_text())["state_file"]
    blob = bytearray(state.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    state.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match=r"state-00000004-\w+\.pt is corrupted: its SHA-256 does not match"):
        make_trainer(make_vae(), data, tmp_path).load_checkpoint()
    (folder / "trainer.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="trainer.json is corrupted"):
        make_trainer(make_vae(), data, tmp_path).load_checkpoint()
    with pytest.raises(CheckpointError, match="no checkpoint in"):
        make_trainer(make_vae(), data, tmp_path / "empty").load_checkpoint()


def test_checkpoint_for_another_model_is_refused(data, tmp_path):
    make_trainer(make_vae(), data, tmp_path).save_checkpoint()
    with pytest.raises(CheckpointError, match="does not fit this model"):
        make_trainer(make_vae(hidden=(32,)), data, tmp_path).load_checkpoint()


def test_checkpoint_is_plain_state_dicts_and_json(data, tmp_path):
    trainer = make_trainer(make_vae(), data, tmp_path)
    trainer.fit(3)
    folder = trainer.save_checkpoint()
    meta = json.loads((folder / "trainer.json").read_text())
    state = torch.load(folder / meta["state_file"], weights_only=True)
    assert set(state) == {"model", "optimizers", "rng"} and set(state["optimizers"]) == {"loss"}
    assert meta["step"] == 3 and meta["batch_size"] == 8 and len(meta["sha256"]) == 64


class ExplodingModel(nn.Module):
    def __init__(self, at_step):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.calls, self.at_step = 0, at_step

    def training_loss(self, x):
        self.calls += 1
        penalty = self.w * (float("nan") if self.calls > self.at_step else 1.0)
        return {"loss": (self.w**2).sum() + penalty.sum(), "penalty": penalty.sum()}


def test_nan_guard_names_step_and_term(data):
    trainer = make_trainer(ExplodingModel(at_step=6), data)
    with pytest.raises(NonFiniteLossError, match="step 6: non-finite loss terms 'penalty' = nan, 'loss' = nan; "
                       "the component term 'penalty' went non-finite") as caught:
        trainer.fit(10)
    assert trainer.step == 6 and caught.value.step == 6 and list(caught.value.terms) == ["penalty", "loss"]
    w = caught.value.last_finite["penalty"]  # the penalty is w itself, the loss w^2 + w, at step 5
    assert 0.9 < w < 1.0 and caught.value.last_finite["loss"] == pytest.approx(w**2 + w, rel=1e-6)
    assert f"last finite values (step 5): loss = {w**2 + w:.6g}, penalty = {w:.6g}" in str(caught.value)


def test_nan_from_a_network_reaches_the_guard(data):
    model = make_vae()
    with torch.no_grad():
        model.decoder.net[0].weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="step 0: non-finite loss terms 'neg_log_likelihood' = nan, 'loss' = nan; "
                       "the component term 'neg_log_likelihood' went non-finite; the parameter 'decoder.net.0.weight' "
                       "is non-finite. it is the first step"):
        make_trainer(model, data).fit(3)


def test_trainer_validates_its_inputs(data):
    model = make_vae()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="batch_size must be between 1 and the dataset size 36"):
        Trainer(model, opt, data, batch_size=100)
    with pytest.raises(ValueError, match="share their first dimension"):
        Trainer(model, opt, (data, torch.zeros(5)), batch_size=4)
    with pytest.raises(ValueError, match="needs a checkpoint_dir"):
        Trainer(model, opt, data, batch_size=4, checkpoint_every=2)
    with pytest.raises(TypeError, match="data must be a tensor"):
        Trainer(model, opt, [], batch_size=4)
    trainer = Trainer(model, opt, data, batch_size=4, progress=False)
    trainer.fit(2)
    with pytest.raises(ValueError, match="already at step 2"):
        trainer.fit(1)


def test_labels_travel_with_images_and_data_sits_on_device(data):
    labels = torch.arange(36)
    trainer = make_trainer(make_vae(), (data, labels))
    assert all(t.device == trainer.device for t in trainer.data)
    seen = torch.cat([trainer._batch()[1] for trainer.step in range(4)])
    assert sorted(seen.tolist()) == sorted(trainer._order[:32].tolist())  # one epoch, no repeats


def test_mixed_precision_step_is_finite(data):
    trainer = make_trainer(make_vae(), data, amp=True)
    history = trainer.fit(4)
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history)


class VectorLossModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))

    def training_loss(self, x):
        return {"loss": self.w.sum(), "per_coordinate": self.w * 2}


def test_terms_must_be_scalars(data):
    with pytest.raises(ValueError, match=r"scalar terms, got shapes .*'per_coordinate': \(3,\)"):
        make_trainer(VectorLossModel(), data).fit(1)


class TwoPlayerModel(nn.Module):
    """min_a max_b of a*b + a^2/2 - b^2/2 written as two terms: the saddle point is (0, 0)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(1.0)), nn.Parameter(torch.tensor(1.0))

    def training_loss(self, x):
        value = self.a * self.b + self.a**2 / 2 - self.b**2 / 2
        return {"loss": value, "critic_loss": -value}


def test_each_optimizer_descends_its_own_term_simultaneously(data):
    model = TwoPlayerModel()
    opts = {"loss": torch.optim.SGD([model.a], lr=0.1), "critic_loss": torch.optim.SGD([model.b], lr=0.1)}
    trainer = Trainer(model, opts, data, batch_size=4, progress=False)
    trainer.train_step()
    # simultaneous: both gradients at (1, 1): d/da = b + a = 2, d/db of -(value) = -(a - b) = 0
    assert model.a.item() == pytest.approx(0.8) and model.b.item() == pytest.approx(1.0)
    trainer.fit(300)
    assert abs(model.a.item()) < 1e-3 and abs(model.b.item()) < 1e-3


def test_alternating_updates_answer_the_previous_players_new_parameters(data):
    model = TwoPlayerModel()
    opts = {"loss": torch.optim.SGD([model.a], lr=0.1), "critic_loss": torch.optim.SGD([model.b], lr=0.1)}
    trainer = Trainer(model, opts, data, batch_size=4, progress=False, updates="alternating")
    trainer.train_step()
    # a first, at (1, 1): a = 1 - 0.1 * 2 = 0.8; then b at (0.8, 1): d/db of -(value) = b - a = 0.2, b = 0.98
    assert model.a.item() == pytest.approx(0.8) and model.b.item() == pytest.approx(0.98)
    trainer.fit(300)
    assert abs(model.a.item()) < 1e-3 and abs(model.b.item()) < 1e-3
    with pytest.raises(ValueError, match="updates"):
        Trainer(model, opts, data, batch_size=4, progress=False, updates="gauss-seidel")


def test_missing_optimised_term_is_named(data):
    model = TwoPlayerModel()
    opts = {"loss": torch.optim.SGD([model.a], lr=0.1), "disc": torch.optim.SGD([model.b], lr=0.1)}
    with pytest.raises(KeyError, match=r"terms \['disc'\]"):
        Trainer(model, opts, data, batch_size=4, progress=False).fit(1)


def test_lr_schedule_sets_each_step_and_resumes_bitwise(data, tmp_path):
    seen = []

    def schedule(step):
        seen.append(step)
        return 1.0 / (1.0 + step)

    trainer = make_trainer(make_vae(), data, schedules={"lr": schedule})
    trainer.fit(3)
    assert seen == [0, 1, 2]
    (group,) = trainer.optimizers["loss"].param_groups
    assert group["initial_lr"] == 1e-2 and group["lr"] == pytest.approx(1e-2 / 3)

    straight = make_vae()
    make_trainer(straight, data, schedules={"lr": lambda s: 0.9**s}).fit(12)
    first = make_vae()
    make_trainer(first, data, tmp_path / "run", checkpoint_every=5, schedules={"lr": lambda s: 0.9**s}).fit(7)
    resumed_model = make_vae(seed=7)
    resumed = make_trainer(resumed_model, data, tmp_path / "run", checkpoint_every=5, schedules={"lr": lambda s: 0.9**s})
    assert resumed.load_checkpoint() == 5
    resumed.fit(12)
    assert torch.equal(flat_params(straight), flat_params(resumed_model))
    with pytest.raises(ValueError, match="step 0: schedule 'lr' returned nan"):
        make_trainer(make_vae(), data, schedules={"lr": lambda s: float("nan")}).fit(1)


def test_resume_loads_a_checkpoint_only_when_one_exists(data, tmp_path):
    fresh = make_trainer(make_vae(), data, tmp_path / "run", checkpoint_every=4)
    assert fresh.resume() == 0 and fresh.step == 0
    fresh.fit(6)  # checkpoint at step 4
    again = make_trainer(make_vae(seed=5), data, tmp_path / "run", checkpoint_every=4)
    assert again.resume() == 4
    assert make_trainer(make_vae(), data).resume() == 0  # no checkpoint directory at all


# --- schedules, partial batches, the model protocols and the optimizers ----------------------------


class LinearModel(nn.Module):
    """Loss ``coefficient * (a + b)`` in float64: each SGD step moves a and b by exactly their group's rate."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.ones(1, dtype=torch.float64))
        self.b = nn.Parameter(torch.ones(1, dtype=torch.float64))
        self.coefficient, self.calls, self.batches = 1.0, [], []

    def training_loss(self, x):
        self.batches.append(x.clone())
        return {"loss": self.coefficient * (self.a + self.b).sum(), "coefficient": torch.tensor(self.coefficient)}

    def parameters_by_loss(self):
        return {"loss": [self.a, self.b]}


class ScheduledModel(LinearModel):
    def set_coefficient(self, name, value):
        self.calls.append((name, value))
        self.coefficient = value


def test_lr_schedule_scales_every_group_before_each_step():
    model = LinearModel()
    opt = torch.optim.SGD([{"params": [model.a], "lr": 0.1}, {"params": [model.b], "lr": 0.01}])
    factor = lambda step: 1.0 / (1.0 + step)  # noqa: E731
    Trainer(model, opt, torch.zeros(4, 1), batch_size=2, progress=False, schedules={"lr": factor}).fit(3)
    a, b = 1.0, 1.0
    for step in range(3):  # the gradient is 1: each step moves a parameter by its group's rate at that step
        a, b = a - 0.1 * factor(step), b - 0.01 * factor(step)
    assert (model.a.item(), model.b.item()) == (a, b)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["lr"] for g in opt.param_groups] == [0.1 * factor(2), 0.01 * factor(2)]


def test_a_coefficient_schedule_is_set_on_the_model_before_the_loss():
    model = ScheduledModel()
    ramp = lambda step: 0.25 * step  # noqa: E731
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), torch.zeros(4, 1), batch_size=2,
                      progress=False, log_every=1, schedules={"grl": ramp, "lr": lambda step: 1.0})
    history = trainer.fit(4)
    assert model.calls == [("grl", 0.0), ("grl", 0.25), ("grl", 0.5), ("grl", 0.75)]
    assert [h["coefficient"] for h in history] == [0.0, 0.25, 0.5, 0.75]  # the loss of step t saw ramp(t)
    assert model.a.item() == 1.0 - 0.1 * (0.0 + 0.25 + 0.5 + 0.75)


def test_schedules_are_validated(data):
    opt = lambda model: torch.optim.SGD(model.parameters(), lr=0.1)  # noqa: E731
    plain = LinearModel()
    with pytest.raises(TypeError, match=r"the schedules \['grl'\] need a model with set_coefficient"):
        Trainer(plain, opt(plain), data, batch_size=4, schedules={"grl": lambda step: 1.0})
    Trainer(plain, opt(plain), data, batch_size=4, progress=False, schedules={"lr": lambda step: 0.5}).fit(1)
    with pytest.raises(TypeError, match="schedules must map names to functions of the step"):
        Trainer(plain, opt(plain), data, batch_size=4, schedules={"lr": 0.5})
    model = ScheduledModel()
    trainer = Trainer(model, opt(model), data, batch_size=4, progress=False,
                      schedules={"grl": lambda step: -1.0 if step == 2 else 0.5})
    with pytest.raises(ValueError, match="step 2: schedule 'grl' returned -1.0; it must be finite and non-negative"):
        trainer.fit(5)
    assert trainer.step == 2 and model.calls == [("grl", 0.5), ("grl", 0.5)]
    with pytest.raises(ValueError, match="step 0: schedule 'grl' returned nan"):
        Trainer(model, opt(model), data, batch_size=4, progress=False, schedules={"grl": lambda step: float("nan")}).fit(1)


@pytest.mark.parametrize(("drop_last", "sizes"), [(False, [4, 4, 2]), (True, [4, 4])])
def test_each_epoch_follows_one_seeded_permutation(drop_last, sizes):
    model = LinearModel()
    x = torch.arange(10.0).unsqueeze(1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), x, batch_size=4, seed=7,
                      progress=False, drop_last=drop_last)
    assert trainer.steps_per_epoch == len(sizes)  # ceil(10 / 4) = 3 with the short batch, 10 // 4 = 2 without
    trainer.fit(3 * len(sizes))
    assert [len(batch) for batch in model.batches] == 3 * sizes
    shuffle = torch.Generator().manual_seed(7)
    for epoch in range(3):
        seen = torch.cat(model.batches[epoch * len(sizes) : (epoch + 1) * len(sizes)]).squeeze(1)
        order = torch.randperm(10, generator=shuffle).float()
        assert torch.equal(seen, order[: len(seen)])
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(10))  # every example once per epoch


def test_parameter_groups_list_the_parameters_of_each_term_in_order():
    encoder, decoder, critic = nn.Linear(2, 3), nn.Linear(3, 2), nn.Linear(2, 1)
    groups = parameter_groups(loss=[encoder, decoder], critic_loss=[critic])
    assert list(groups) == ["loss", "critic_loss"]
    assert [id(p) for p in groups["loss"]] == [id(encoder.weight), id(encoder.bias), id(decoder.weight), id(decoder.bias)]
    assert [id(p) for p in groups["critic_loss"]] == [id(critic.weight), id(critic.bias)]


def test_model_protocols_are_checked_at_runtime():
    assert isinstance(make_vae(), TrainableModel) and isinstance(TwoTermModel(), TrainableModel)
    assert not isinstance(ExplodingModel(1), TrainableModel)  # no parameters_by_loss
    assert isinstance(ScheduledModel(), Scheduled) and not isinstance(LinearModel(), Scheduled)
    assert not isinstance(make_vae(), Scheduled)


def test_trainer_reproduces_the_plain_classifier_loop_bitwise():
    """Trainer(drop_last=False) over E epochs is the old ``train_classifier`` loop: one seeded permutation per epoch,
    split into batches (the last one shorter), one Adam step each; stored results rely on the equality."""
    g = gen(0)
    x, y = torch.randn(50, 1, 2, 2, generator=g), torch.randint(0, 3, (50,), generator=g)
    epochs, batch, seed, lr = 3, 16, 5, 1e-2

    def classifier() -> FeatureClassifier:
        torch.manual_seed(1)
        return FeatureClassifier(nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU()), 8, 3)

    trained = classifier()
    trainer = Trainer(trained, make_optimizers(trained, OptimizerSpec("adam", lr)), (x, y), batch, seed=seed,
                      drop_last=False, progress=False)
    trainer.fit(epochs * trainer.steps_per_epoch)
    assert trainer.steps_per_epoch == 4

    plain = classifier()
    optimizer = torch.optim.Adam(plain.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(50, generator=generator)
        for idx in order.split(batch):
            loss = F.cross_entropy(plain(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    assert torch.equal(flat_params(trained), flat_params(plain))
    assert not torch.equal(flat_params(trained), flat_params(classifier()))  # it did train


def test_a_run_does_not_depend_on_what_the_process_did_before_or_between(data):
    """Two trainers built before either trains, and draws from torch's generator around and between ``fit`` calls,
    leave a run's numbers as they are alone; and training leaves the process's own generator where it was."""
    alone = make_vae()
    make_trainer(alone, data).fit(30)

    model, other = make_vae(), make_vae(seed=4)
    run, other_run = make_trainer(model, data), make_trainer(other, data)
    torch.randn(17)
    other_run.fit(10)
    run.fit(15)
    torch.randn(5)
    before = torch.get_rng_state()
    run.fit(30)
    assert torch.equal(torch.get_rng_state(), before), "fit must not move the process's generator"
    assert torch.equal(flat_params(model), flat_params(alone))


def test_the_run_seed_drives_the_model_noise(data):
    """The VAE's reparameterisation noise comes from the run's generator: another seed, other weights."""
    a, b = make_vae(), make_vae()
    make_trainer(a, data).fit(10)
    opt = torch.optim.Adam(b.parameters(), lr=1e-2)
    Trainer(b, opt, data, batch_size=8, seed=2, progress=False).fit(10)
    assert not torch.equal(flat_params(a), flat_params(b))


class ThreadSpy(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(width))
        self.seen = []

    def training_loss(self, x):
        self.seen.append(torch.get_num_threads())
        return {"loss": (self.w**2).sum() + x.sum() * 0}


def test_small_models_train_on_one_thread_and_the_setting_is_restored(data):
    from gi_core.training_step import SMALL_STEP_WORK, default_threads

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        small = ThreadSpy(10)
        Trainer(small, torch.optim.SGD(small.parameters(), lr=0.1), data, 4, progress=False).fit(2)
        large = ThreadSpy(int(SMALL_STEP_WORK // 32) + 1)
        Trainer(large, torch.optim.SGD(large.parameters(), lr=0.1), data, 32, progress=False).fit(1)
        pinned = ThreadSpy(10)
        Trainer(pinned, torch.optim.SGD(pinned.parameters(), lr=0.1), data, 4, progress=False, threads=2).fit(1)
        Trainer(small, torch.optim.SGD(small.parameters(), lr=0.1), data, 4, progress=False).train_step()
        assert small.seen == [1, 1, 1] and large.seen == [2] and pinned.seen == [2]
        assert torch.get_num_threads() == 2, "fit gives the process its thread count back"
    finally:
        torch.set_num_threads(previous)
    assert default_threads(small, 4, torch.device("cpu")) == 1 and default_threads(small, 4, torch.device("meta")) is None


def test_a_run_killed_before_its_first_checkpoint_starts_its_log_afresh(data, tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"step": 50, "loss": 1.0}\n{"step": 1')  # a partial last line
    trainer = make_trainer(make_vae(), data, tmp_path, log_every=2)
    assert trainer.resume() == 0
    trainer.fit(4)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
