"""The AVDA chapter's runs: the configuration and its labels, the split of the target training set, the shared source
model (trained once, read back), one run of every method (its record, its model selection, its schedules and update
order), bitwise resumption, the models read back from their checkpoints and a plan entry's draws.

The runs are tiny: the shipped quick subsets cut to 300 source and 300 target training images and 200 test images
of each domain, batches of 16, 20 source steps and 10-30 run steps: about a second each on one thread.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gi_core.checkpoints import META_FILE, checkpoint_step
from gi_core.data.digit_shots import draw_shots, signed_domain_data, validation_indices
from gi_core.data.domains import DomainData
from gi_core.experiments import avda_runs as ar
from gi_core.models.avda import AVDAAdapter, AVDASource, axis_prior
from gi_core.models.code_classifier import CodeClassifier
from gi_core.models.dann import DANN
from gi_core.results import MissingResultError
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ar.AVDAConfig(shots=5, pretrain_steps=20, steps=30, batch_size=16, eval_every=10, validation_size=20)
DRAW = 1


def small_data(source: int = 300, target: int = 300, test: int = 200) -> DomainData:
    """The quick profile's signed MNIST→USPS subsets, cut to a few hundred images."""
    data = signed_domain_data("mnist_usps", torch.device("cpu"), "quick")
    return replace(data, source_x=data.source_x[:source], source_y=data.source_y[:source],
                   source_test_x=data.source_test_x[:test], source_test_y=data.source_test_y[:test],
                   target_x=data.target_x[:target], target_y=data.target_y[:target],
                   target_test_x=data.target_test_x[:test], target_test_y=data.target_test_y[:test])


def hand_accuracy(encoder: torch.nn.Module, classifier: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Accuracy of argmax q(y | mu(x)), computed directly from the networks in evaluation mode."""
    encoder.eval(), classifier.eval()
    with torch.no_grad():
        return float((classifier(encoder(x)[0]).argmax(-1) == y).double().mean())


def without_seconds(terms: dict) -> dict:
    return {k: v for k, v in terms.items() if k != "seconds"}


def states_equal(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def data() -> DomainData:
    return small_data()


@pytest.fixture(scope="module")
def source_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("avda_source")


@pytest.fixture(scope="module")
def source(data: DomainData, source_dir: Path) -> tuple[AVDASource, dict]:
    return ar.source_model(TINY, data, source_dir, progress=False)


class RecordingTrainer(Trainer):
    """The trainer, noting each run's model, update order and schedules."""

    seen: list[tuple[str, str, dict]] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        RecordingTrainer.seen.append((type(self.model).__name__, self.updates, dict(self.schedules)))


RUNS = {"avda_5shot": TINY, "avda_0shot": replace(TINY, shots=0), "fine_tune_5shot": replace(TINY, method="fine_tune"),
        "target_only_1shot": replace(TINY, method="target_only", shots=1),
        "dann_0shot": replace(TINY, method="dann", shots=0),
        "source_only_0shot": replace(TINY, method="source_only", shots=0)}


@pytest.fixture(scope="module")
def runs(data: DomainData, source: tuple[AVDASource, dict]) -> dict[str, tuple[torch.nn.Module, dict, tuple | None]]:
    """One run of each method on draw 1 (no checkpoints), with what its trainer was built with."""
    out = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ar, "Trainer", RecordingTrainer)
        for name, config in RUNS.items():
            RecordingTrainer.seen.clear()
            model, record = ar.train_run(config, data, DRAW, source[0], progress=False)
            out[name] = (model, record, RecordingTrainer.seen[0] if RecordingTrainer.seen else None)
    return out


# --- configuration -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("task", "mnist_svhn"), ("method", "adda"), ("discriminator", "ternary"), ("shots", -1), ("shots", 1.5),
    ("pretrain_steps", 0), ("steps", 0), ("batch_size", 0), ("eval_every", 0), ("validation_size", 0),
    ("gamma_batches", 0), ("checkpoint_every", -1), ("source_seed", -2), ("learn_prior", "yes"), ("amp", 1),
    ("lr", 0.0), ("lr", float("nan")), ("beta", 1.5), ("beta", 1.0), ("gamma_end", -0.1), ("gamma_end", 1.1),
    ("alpha_s", -1.0), ("alpha_t", float("inf")), ("tau", 0.0)])
def test_the_configuration_refuses_bad_values_naming_them(field: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError), match=field):
        ar.AVDAConfig(**{field: value})


def test_shot_baselines_need_shots_and_dann_refuses_them() -> None:
    for method in ar.SHOT_METHODS:
        with pytest.raises(ValueError, match="shots > 0"):
            ar.AVDAConfig(method=method, shots=0)
        assert ar.AVDAConfig(method=method, shots=1).shots == 1
    with pytest.raises(ValueError, match="shots must be 0"):
        ar.AVDAConfig(method="dann", shots=5)
    assert ar.AVDAConfig(method="avda", shots=0).label == "avda_0shot"  # unsupervised AVDA is allowed


def test_labels_name_the_options_but_not_the_lengths_or_the_task() -> None:
    assert ar.AVDAConfig(shots=5).label == "avda_5shot"
    assert ar.AVDAConfig(shots=5, learn_prior=False).label == "avda_learn_prior-False_5shot"
    assert ar.AVDAConfig(shots=1, discriminator="binary").label == "avda_discriminator-binary_1shot"
    fine_tune = ar.AVDAConfig(method="fine_tune", shots=1, categorical_kl=False)
    assert fine_tune.label == "fine_tune_categorical_kl-False_1shot"
    lengths = ar.AVDAConfig(task="usps_mnist", shots=5, pretrain_steps=3, steps=4, eval_every=2, checkpoint_every=0,
                            amp=True, compile=True)
    assert lengths.label == "avda_5shot"
    assert TINY.label == "avda_batch_size-16_validation_size-20_5shot"  # options in field order
    assert ar.run_name(TINY, 3) == "mnist_usps_avda_batch_size-16_validation_size-20_5shot_draw3"
    assert ar.run_name(lengths, 0) == "usps_mnist_avda_5shot_draw0"
    with pytest.raises(ValueError, match="draw"):
        ar.run_name(TINY, -1)


def test_the_source_name_separates_the_fixed_prior_and_ignores_the_target_options() -> None:
    base = ar.AVDAConfig()
    assert base.source_name() == "mnist_usps_source_steps1000_seed0"
    assert replace(base, learn_prior=False).source_name() == "mnist_usps_source_fixed-prior_steps1000_seed0"
    other = replace(base, task="usps_mnist", pretrain_steps=7, source_seed=3)
    assert other.source_name() == "usps_mnist_source_steps7_seed3"
    for options in ({"shots": 5}, {"method": "fine_tune", "shots": 1}, {"discriminator": "binary"}, {"steps": 3},
                    {"target_decoder": True}, {"categorical_kl": False}, {"alpha_t": 1.0}):
        assert replace(base, **options).source_name() == base.source_name()


# --- the split of the target training set ------------------------------------------------------------------------

def test_split_target_draws_shots_by_class_and_a_disjoint_validation_set(data: DomainData) -> None:
    labels, n = data.target_y, data.target_y.numel()
    splits = {}
    for draw in (0, 1):
        split = ar.split_target(TINY, data, draw)
        shots, validation, unlabelled = split["shots"], split["validation"], split["unlabelled"]
        assert torch.equal(shots, draw_shots(labels, 5, draw))
        assert torch.equal(labels[shots], torch.arange(10).repeat_interleave(5))  # class 0's five first, ...
        assert torch.equal(validation, validation_indices(labels, 20, draw, exclude=shots))
        assert validation.numel() == 20 and torch.equal(validation, validation.sort().values)
        assert not set(validation.tolist()) & set(shots.tolist())
        assert unlabelled.tolist() == sorted(set(range(n)) - set(shots.tolist()))
        assert unlabelled.numel() == n - 50
        again = ar.split_target(TINY, data, draw)
        assert all(torch.equal(split[k], again[k]) for k in split)  # deterministic per draw
        splits[draw] = split
    assert not torch.equal(splits[0]["shots"], splits[1]["shots"])
    assert not torch.equal(splits[0]["validation"], splits[1]["validation"])
    none = ar.split_target(replace(TINY, shots=0), data, 0)
    assert none["shots"].numel() == 0 and none["unlabelled"].tolist() == list(range(n))
    assert none["validation"].numel() == 20
    with pytest.raises(TypeError, match="data"):
        ar.split_target(TINY, {"target_y": labels}, 0)


# --- the source model --------------------------------------------------------------------------------------------

def test_the_source_model_is_trained_once_then_read_back(data: DomainData, source: tuple[AVDASource, dict],
                                                         source_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model, record = source
    name = TINY.source_name()
    assert record["name"] == name and record["steps"] == 20
    assert json.loads((source_dir / f"{name}.json").read_text()) == record
    assert record["source_test_accuracy"] == pytest.approx(
        hand_accuracy(model.encoder, model.classifier, data.source_test_x, data.source_test_y), abs=1e-6)
    assert record["target_test_accuracy"] == pytest.approx(
        hand_accuracy(model.encoder, model.classifier, data.target_test_x, data.target_test_y), abs=1e-6)
    assert len(record["prior_means_norm"]) == 10 and all(abs(v - 10.0) < 0.1 for v in record["prior_means_norm"])
    assert checkpoint_step(source_dir / name) == 20
    files = {p.name: p.stat().st_mtime_ns for p in (source_dir / name).iterdir()}

    def no_training(*args, **kwargs):
        raise AssertionError("a stored source model must be read back, not trained")

    monkeypatch.setattr(ar, "Trainer", no_training)
    again, again_record = ar.source_model(TINY, data, source_dir, progress=False)
    assert again is not model and states_equal(again, model) and again_record == record
    assert {p.name: p.stat().st_mtime_ns for p in (source_dir / name).iterdir()} == files
    assert not again.training
    monkeypatch.undo()
    fresh, fresh_record = ar.source_model(TINY, data, None, progress=False)  # no run_dir: trained, nothing written
    assert states_equal(fresh, model)  # seeded by source_seed: bitwise the stored one
    assert fresh_record["target_test_accuracy"] == record["target_test_accuracy"]


def test_the_fixed_prior_source_keeps_the_axis_prior(data: DomainData) -> None:
    model, record = ar.source_model(replace(TINY, learn_prior=False, pretrain_steps=3), data, None, progress=False)
    start = axis_prior(10, 20)
    assert torch.equal(model.prior.means, 10.0 * torch.eye(10, 20))
    assert torch.equal(model.prior.log_vars, start.log_vars)
    assert record["prior_means_norm"] == [10.0] * 10
    assert record["prior_variances_mean"] == [round(float(v), 4) for v in start.log_vars.detach().exp().mean(1)]


# --- one run of every method -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in RUNS if n != "source_only_0shot"])
def test_each_run_selects_on_the_validation_images_and_reports_its_test_accuracy(name: str, runs: dict,
                                                                                 data: DomainData) -> None:
    model, record, _ = runs[name]
    config = RUNS[name]
    steps = config.steps + (config.pretrain_steps if config.method == "dann" else 0)
    evaluations = record["evaluations"]
    assert [e["step"] for e in evaluations] == list(range(10, steps + 1, 10))
    assert record["steps"] == steps and record["model"] == config.label and record["draw"] == DRAW
    for key in ("test_accuracy_final", "test_accuracy_selected", "validation_accuracy"):
        assert 0.0 <= record[key] <= 1.0
    best = max(e["validation_accuracy"] for e in evaluations)
    chosen = max(e["step"] for e in evaluations if e["validation_accuracy"] == best)  # the latest among ties
    assert record["validation_accuracy"] == best and record["selected_step"] == chosen
    assert record["test_accuracy_selected"] == next(e["test_accuracy"] for e in evaluations if e["step"] == chosen)
    assert record["test_accuracy_final"] == evaluations[-1]["test_accuracy"]
    split = ar.split_target(config, data, DRAW)
    assert record["shot_indices"] == split["shots"].tolist()
    assert record["validation_indices"] == split["validation"].tolist()
    # the returned model is the final one: its accuracies are the last evaluation's
    encoder, classifier = ((model.target_encoder, model.target_classifier) if isinstance(model, AVDAAdapter) else
                           (model.code.encoder, model.classifier) if isinstance(model, CodeClassifier) else
                           (None, None))
    if encoder is not None:
        assert evaluations[-1]["test_accuracy"] == pytest.approx(
            hand_accuracy(encoder, classifier, data.target_test_x, data.target_test_y), abs=1e-6)
        val = split["validation"]
        assert evaluations[-1]["validation_accuracy"] == pytest.approx(
            hand_accuracy(encoder, classifier, data.target_x[val], data.target_y[val]), abs=1e-6)
    else:
        assert isinstance(model, DANN)
        predicted = model.predict(data.target_test_x)
        assert evaluations[-1]["test_accuracy"] == pytest.approx(
            float((predicted == data.target_test_y).double().mean()), abs=1e-6)
    assert not model.training


def test_each_method_trains_its_own_model_with_its_update_order_and_schedules(runs: dict) -> None:
    kinds = {name: runs[name][2][:2] for name in RUNS if name != "source_only_0shot"}
    assert kinds == {"avda_5shot": ("AVDAAdapter", "alternating"), "avda_0shot": ("AVDAAdapter", "alternating"),
                     "fine_tune_5shot": ("CodeClassifier", "simultaneous"),
                     "target_only_1shot": ("CodeClassifier", "simultaneous"),
                     "dann_0shot": ("DANN", "simultaneous")}
    assert runs["source_only_0shot"][2] is None  # no training
    gamma = runs["avda_5shot"][2][2]["gamma"]
    assert [gamma(t) for t in (0, 25, 30)] == [1.0, 0.9, 0.9] and gamma(10) == pytest.approx(0.96)
    assert runs["avda_0shot"][2][2] == {}  # unsupervised AVDA has no gamma
    grl = runs["dann_0shot"][2][2]["grl"]
    assert grl(0) == 0.0 and 0.99 < grl(50) < 1.0  # ramped over pretrain_steps + steps


def test_avda_alternates_and_ramps_gamma_to_its_end(runs: dict) -> None:
    terms = runs["avda_5shot"][1]["final_terms"]
    assert terms["gamma"] == pytest.approx(0.9, abs=1e-6)  # 30 >= 25 steps: gamma_end
    assert {"supervised", "shot_cross_entropy", "discriminator_loss", "adversarial"} <= terms.keys()
    unsupervised = runs["avda_0shot"][1]["final_terms"]
    assert unsupervised["gamma"] == 1.0 and "supervised" not in unsupervised


def test_source_only_is_the_source_classifier_on_the_target(runs: dict, source: tuple[AVDASource, dict],
                                                            data: DomainData) -> None:
    model, record, _ = runs["source_only_0shot"]
    assert model is source[0]
    by_hand = hand_accuracy(model.encoder, model.classifier, data.target_test_x, data.target_test_y)
    assert record["test_accuracy_final"] == pytest.approx(by_hand, abs=1e-6)
    assert record["test_accuracy_final"] == source[1]["target_test_accuracy"]
    val = ar.split_target(RUNS["source_only_0shot"], data, DRAW)["validation"]
    assert record["validation_accuracy"] == pytest.approx(
        hand_accuracy(model.encoder, model.classifier, data.target_x[val], data.target_y[val]), abs=1e-6)
    assert "evaluations" not in record and "test_accuracy_selected" not in record


def test_the_runs_leave_the_source_model_untouched(runs: dict, source: tuple[AVDASource, dict],
                                                   source_dir: Path, data: DomainData) -> None:
    assert len(runs) == len(RUNS)
    stored = ar.source_model(TINY, data, source_dir, progress=False)[0]  # read from the checkpoint
    assert states_equal(source[0], stored)


def test_train_run_refuses_a_missing_source_and_a_checkpoint_past_its_steps(data: DomainData, source: tuple,
                                                                            tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="source"):
        ar.train_run(TINY, data, 0, None, progress=False)
    config = replace(TINY, method="fine_tune", steps=10, eval_every=5)
    ar.train_run(config, data, 0, source[0], tmp_path, progress=False)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        ar.train_run(replace(config, steps=5), data, 0, source[0], tmp_path, progress=False)


# --- resumption --------------------------------------------------------------------------------------------------

def test_a_run_continued_from_its_checkpoint_equals_one_trained_in_one_go(data: DomainData, source: tuple,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    full = replace(TINY, steps=20, eval_every=5)
    half = replace(full, steps=10)
    assert half.label == full.label
    one_model, one = ar.train_run(full, data, DRAW, source[0], tmp_path / "one", progress=False)
    ar.train_run(half, data, DRAW, source[0], tmp_path / "two", progress=False)
    assert checkpoint_step(tmp_path / "two") == 10
    for variant in ("lost", "extra"):  # a kill between the evaluations and the checkpoint, either way round
        shutil.copytree(tmp_path / "two", tmp_path / variant)
    selection = tmp_path / "lost" / ar.SELECTION_FILE
    selection.write_text(json.dumps(json.loads(selection.read_text())[:-1]))  # step 10 evaluated, never written
    selection = tmp_path / "extra" / ar.SELECTION_FILE
    entries = json.loads(selection.read_text())
    selection.write_text(json.dumps(entries + [{"step": 15, "validation_accuracy": 1.0, "test_accuracy": 1.0}]))
    trained = []
    step = Trainer.train_step

    def counted(self):
        trained.append(self.step)
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", counted)
    for folder in ("two", "lost", "extra"):
        trained.clear()
        model, record = ar.train_run(full, data, DRAW, source[0], tmp_path / folder, progress=False)
        assert trained == list(range(10, 20)), folder  # resumed at step 10
        assert record["evaluations"] == one["evaluations"], folder
        for key in ("test_accuracy_final", "test_accuracy_selected", "selected_step", "validation_accuracy"):
            assert record[key] == one[key], (folder, key)
        assert without_seconds(record["final_terms"]) == without_seconds(one["final_terms"])
        assert states_equal(model, one_model)
        assert json.loads((tmp_path / folder / ar.SELECTION_FILE).read_text()) == one["evaluations"]
    assert [e["step"] for e in one["evaluations"]] == [5, 10, 15, 20]


# --- stored runs -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["avda_5shot", "fine_tune_5shot", "target_only_1shot", "dann_0shot"])
def test_load_run_model_gives_the_final_model_back(name: str, data: DomainData, source: tuple, tmp_path: Path) -> None:
    config = replace(RUNS[name], steps=10, pretrain_steps=10 if name == "dann_0shot" else TINY.pretrain_steps)
    model, _ = ar.train_run(config, data, DRAW, source[0], tmp_path / ar.run_name(config, DRAW), progress=False)
    loaded = ar.load_run_model(config, data, DRAW, source[0], tmp_path)
    assert loaded is not model and type(loaded) is type(model) and states_equal(loaded, model)
    assert torch.equal(loaded.predict(data.target_test_x), model.predict(data.target_test_x))
    assert not loaded.training
    with pytest.raises(MissingResultError, match="draw"):
        ar.load_run_model(config, data, DRAW + 1, source[0], tmp_path)


def test_load_run_model_of_source_only_is_the_source(data: DomainData, source: tuple, tmp_path: Path) -> None:
    assert ar.load_run_model(RUNS["source_only_0shot"], data, 0, source[0], tmp_path) is source[0]
    with pytest.raises(TypeError, match="source"):
        ar.load_run_model(RUNS["avda_5shot"], data, 0, "a source", tmp_path)


def test_a_plan_entry_trains_each_draw_once_and_reads_them_back(data: DomainData, source_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    config = replace(TINY, method="fine_tune", steps=10, eval_every=5)
    records = ar.run_plan_entry(config, [0, 2], data, source_dir, progress=False)
    assert [r["draw"] for r in records] == [0, 2] and {r["model"] for r in records} == {config.label}
    assert records[0]["shot_indices"] != records[1]["shot_indices"]
    for record in records:
        path = source_dir / f"{ar.run_name(config, record['draw'])}.json"
        assert json.loads(path.read_text()) == record
    stamp = os.stat(source_dir / TINY.source_name() / META_FILE).st_mtime_ns
    monkeypatch.setattr(ar, "Trainer", lambda *a, **k: pytest.fail("finished runs are read back"))
    assert ar.run_plan_entry(config, [0, 2], data, source_dir, progress=False) == records
    assert os.stat(source_dir / TINY.source_name() / META_FILE).st_mtime_ns == stamp
    with pytest.raises(ValueError, match="draws"):
        ar.run_plan_entry(config, [], data, source_dir, progress=False)
