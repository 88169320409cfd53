"""Tests for gi_core.da_experiment: pairing of the domains, each method's training, resumption, evaluation."""

from __future__ import annotations

import json

import pytest
import torch
from da_toy import toy_data

from gi_core.cdlm import CDLM
from gi_core.da_experiment import (
    DAConfig,
    DomainData,
    bound_terms,
    build_method,
    evaluate_method,
    evaluate_stored_runs,
    feature_a_distance,
    feature_joint_error,
    highest,
    load_domain_data,
    paired_domains,
    proportional_subset,
    release_check,
    reverse_validate_runs,
    run_methods,
    train_method,
    tsne_coordinates,
)
from gi_core.domain_adaptation import DANN, joint_error

pytestmark = pytest.mark.usefixtures("one_thread")


def test_paired_domains_repeats_the_shorter_domain_evenly():
    source = (torch.arange(10.0), torch.arange(10) % 3)
    target = (torch.arange(100.0, 103.0),)
    xs, ys, xt = paired_domains(source, target, seed=0)
    assert torch.equal(xs, source[0]) and torch.equal(ys, source[1])  # the longer domain is untouched
    counts = torch.bincount((xt - 100).long(), minlength=3)
    assert xt.shape == (10,) and counts.max() - counts.min() <= 1  # 10 = 3 + 3 + 3 + 1
    xs2, ys2, xt2 = paired_domains((torch.arange(3.0), torch.arange(3)), (torch.arange(7.0),), seed=1)
    assert xs2.shape == (7,) and torch.equal(ys2, xs2.long()), "labels must travel with their images"
    assert torch.equal(xt2, torch.arange(7.0))


def test_config_validates_task_and_method():
    with pytest.raises(ValueError, match="task must be one of"):
        DAConfig(task="svhn_mnist")
    with pytest.raises(ValueError, match="method must be one of"):
        DAConfig(method="adda")
    with pytest.raises(ValueError, match="lambda_max >= 0"):
        DAConfig(lambda_max=-1.0)
    assert DAConfig(method="cdlm", cdlm={"modulation": "pm1", "lambda2": 1.0}).label == "cdlm_lambda2-1.0_modulation-pm1"
    assert DAConfig(method="dann").label == "dann" and DAConfig(method="dann", lambda_max=0.3).label == "dann_lambda_max-0.3"
    assert DAConfig(method="dann", steps=10000, lr=0.02).label == "dann_lr-0.02_steps-10000"



def test_proportional_subset_is_the_largest_with_the_given_class_frequencies():
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)[torch.randperm(100, generator=torch.Generator().manual_seed(3))]
    even = proportional_subset(labels, torch.full((3,), 1 / 3))
    assert torch.bincount(labels[even]).tolist() == [20, 20, 20] and torch.equal(even, even.sort().values)
    assert torch.equal(even, proportional_subset(labels, torch.full((3,), 1 / 3)))  # seeded
    assert torch.equal(proportional_subset(labels, torch.tensor([0.5, 0.3, 0.2])), torch.arange(100))  # already so
    assert torch.bincount(labels[proportional_subset(labels, torch.tensor([0.0, 0.6, 0.4]))], minlength=3).tolist() == [0, 30, 20]
    with pytest.raises(ValueError, match="sum to 1"):
        proportional_subset(labels, torch.tensor([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="classes 0..1"):
        proportional_subset(labels, torch.tensor([0.5, 0.5]))


def test_framed_tasks_frame_usps_only():
    plain = load_domain_data("mnist_usps", torch.device("cpu"), profile="quick")
    framed = load_domain_data("mnist_usps_framed", torch.device("cpu"), profile="quick")
    assert torch.equal(plain.source_x, framed.source_x) and torch.equal(plain.target_y, framed.target_y)
    for x in (framed.target_x, framed.target_test_x):
        assert x.shape[1:] == (1, 28, 28) and x[..., :4, :].abs().sum() == 0 and x[..., :, 24:].abs().sum() == 0
    assert plain.target_x[..., :4, :].sum() > 0  # resized USPS reaches the border
    assert "framed in a 20x20 box" in framed.sources["target_test"] and "framed" not in plain.sources["target"]
    reverse = load_domain_data("usps_mnist_framed", torch.device("cpu"), profile="quick")
    assert torch.equal(reverse.source_x, framed.target_x) and torch.equal(reverse.target_test_x, plain.source_test_x)
    balanced = load_domain_data("mnist_usps_framed_balanced", torch.device("cpu"), profile="quick")
    source_share = torch.bincount(balanced.source_y, minlength=10) / balanced.source_y.numel()
    target_share = torch.bincount(balanced.target_y, minlength=10) / balanced.target_y.numel()
    assert (target_share - source_share).abs().max() < 0.01  # the quick subsets are stratified: little to drop
    assert 0.9 * framed.target_y.numel() < balanced.target_y.numel() <= framed.target_y.numel()
    assert torch.equal(balanced.target_test_x, framed.target_test_x) and "oracle" in balanced.sources["target"]

@pytest.mark.parametrize("method", ["source_only", "dann", "target_only", "cdlm"])
def test_each_method_trains_with_its_schedules(method):
    data = toy_data()
    config = DAConfig(method=method, steps=6, batch_size=16, cdlm={"latent_dim": 8, "channels": 4})
    model, trainer, seconds = train_method(config, data, seed=0, progress=False)
    assert isinstance(model, CDLM if method == "cdlm" else DANN) and not model.training and seconds > 0
    assert trainer.step == 6
    if method in ("dann", "cdlm"):  # the schedule's value at the last step, p = 5/6
        assert model.grl.lambda_ == pytest.approx(float(torch.tanh(torch.tensor(5 * 5 / 6))), rel=1e-6)
    else:  # the bounds never reverse a gradient
        assert model.grl.lambda_ == 0.0
    group = next(iter(trainer.optimizers.values())).param_groups[0]
    assert group["lr"] == pytest.approx(0.01 / (1 + 10 * 5 / 6) ** 0.75)  # Ganin's annealing at step 5 of 6
    scores = evaluate_method(model, data)
    assert set(scores) == {"target_accuracy", "source_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_build_method_scales_the_reversal_schedule():
    data = toy_data()
    model, optimizers = build_method(DAConfig(method="dann", steps=10, lambda_max=0.25), data)
    model.grl.set_progress(1.0)
    assert model.grl.lambda_ == pytest.approx(0.25 * 0.9999092042625951)
    assert set(optimizers) == {"loss"}
    cdlm, optimizers = build_method(DAConfig(method="cdlm", steps=10, cdlm={"latent_dim": 8, "channels": 4}), data)
    assert set(optimizers) == {"loss", "generative_loss"}
    assert isinstance(optimizers["loss"], torch.optim.SGD) and isinstance(optimizers["generative_loss"], torch.optim.Adam)


def test_run_methods_stores_resumes_and_skips_finished_runs(tmp_path):
    data = toy_data()
    config = DAConfig(method="dann", steps=4, batch_size=16, checkpoint_every=2)
    (record,) = run_methods([config], [0], data, tmp_path, progress=False, a_distance_seed=None)
    stored = json.loads((tmp_path / "mnist_usps_dann_steps-4_seed0.json").read_text())
    assert stored == record and record["steps"] == 4 and "a_distance" not in record
    assert (tmp_path / "mnist_usps_dann_steps-4_seed0" / "trainer.json").exists()
    again = run_methods([config], [0], data, tmp_path, progress=False)
    assert again == [record]  # read back, not retrained (the stored record has no A-distance)
    other = DAConfig(method="dann", steps=6, batch_size=16)
    (tmp_path / f"mnist_usps_{other.label}_seed0.json").write_text(json.dumps(record))  # a stale record
    with pytest.raises(ValueError, match="holds a run of 4 steps, not 6"):
        run_methods([other], [0], data, tmp_path, progress=False)




@pytest.mark.parametrize("method,options", [("dann", {}), ("cdlm", {"latent_dim": 8, "channels": 4})])
def test_stored_runs_are_re_evaluated_from_their_final_checkpoint(tmp_path, method, options):
    data = toy_data()
    config = DAConfig(method=method, steps=6, batch_size=16, checkpoint_every=3, cdlm=options)
    (record,) = run_methods([config], [1], data, tmp_path, progress=False, a_distance_seed=None)
    (again,) = evaluate_stored_runs([(config, [1])], data, tmp_path, {
        "target": (data.target_test_x, data.target_test_y), "source": (data.source_test_x, data.source_test_y)})
    assert again == {"model": config.label, "seed": 1, "target_accuracy": record["target_accuracy"],
                     "source_accuracy": record["source_accuracy"]}
    with pytest.raises(FileNotFoundError, match="seed 2"):
        evaluate_stored_runs([(config, [2])], data, tmp_path, {"target": (data.target_test_x, data.target_test_y)})


def test_release_check_needs_a_usps_target(tmp_path):
    with pytest.raises(ValueError, match="USPS as its target"):
        release_check([(DAConfig(task="usps_mnist"), [0])], tmp_path, "unused")

def test_reverse_validation_trains_on_pseudo_labels_and_scores_on_source_test(tmp_path, monkeypatch):
    import gi_core.da_experiment as da

    data = toy_data()
    config = DAConfig(method="dann", steps=6, batch_size=16, checkpoint_every=3)
    (forward_record,) = run_methods([config], [1], data, tmp_path, progress=False, a_distance_seed=None)
    (record,) = reverse_validate_runs([(config, [1])], data, tmp_path, progress=False)
    pseudo = da.load_stored_model(config, 1, data, tmp_path).predict(data.target_x)
    # the same reverse network, trained again by hand: target images with the forward network's labels as source
    swapped = DomainData(data.target_x, pseudo, data.source_x, data.source_y, *(torch.empty(0),) * 4, {})
    reverse, _, _ = train_method(config, swapped, 1, progress=False)
    assert record["reverse_accuracy"] == (reverse.predict(data.source_test_x) == data.source_test_y).float().mean().item()
    assert record["pseudo_label_accuracy"] == (pseudo == data.target_y).float().mean().item()
    assert record["target_accuracy"] == forward_record["target_accuracy"]
    assert (tmp_path / f"mnist_usps_{config.label}_seed1_reverse.json").exists()
    monkeypatch.setattr(da, "train_method", lambda *args, **kwargs: pytest.fail("a cached reverse run was retrained"))
    assert reverse_validate_runs([(config, [1])], data, tmp_path, progress=False) == [record]
    with pytest.raises(ValueError, match="source-only and DANN"):
        reverse_validate_runs([(DAConfig(method="target_only"), [0])], data, tmp_path)


def test_highest_picks_the_largest_mean_and_names_what_is_missing():
    summary = {"a": {"m": [0.7, 0.1, 3]}, "b": {"m": [0.9, 0.0, 3]}, "c": {"m": [0.8, 0.2, 3]}, "d": {}}
    assert highest(summary, ["a", "b", "c"], "m") == "b"
    assert highest(summary, ["a", "c"], "m") == "c"
    with pytest.raises(KeyError, match="'d'"):
        highest(summary, ["a", "d"], "m")
    with pytest.raises(ValueError, match="no candidate"):
        highest(summary, [], "m")


def test_an_interrupted_run_resumes_bitwise(tmp_path, monkeypatch):
    from gi_core.trainer import Trainer

    data = toy_data()
    config = DAConfig(method="dann", steps=5, batch_size=16, checkpoint_every=2)
    straight, _, _ = train_method(config, data, 3, progress=False)
    step = Trainer.train_step

    def crash_at_step_3(self):
        if self.step == 3:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", crash_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train_method(config, data, 3, tmp_path / "run", progress=False)
    monkeypatch.setattr(Trainer, "train_step", step)
    resumed, trainer, _ = train_method(config, data, 3, tmp_path / "run", progress=False)
    assert trainer.step == 5
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_feature_summaries_have_the_right_sizes():
    data = toy_data()
    model, _, _ = train_method(DAConfig(method="source_only", steps=2, batch_size=16), data, 0, progress=False)
    emb = tsne_coordinates(model, data, n_per_domain=12)
    assert len(emb["xy"]) == 24 and emb["domain"] == [1] * 12 + [0] * 12 and len(emb["label"]) == 24
    assert 0.0 <= feature_a_distance(None, data, max_per_domain=30) <= 2.0


def test_feature_joint_error_reads_the_model_features_and_the_test_labels():
    data = toy_data(n_test=60)
    model, _, _ = train_method(DAConfig(method="source_only", steps=20, batch_size=16), data, 0, progress=False)
    direct = joint_error(model.embed(data.source_test_x), data.source_test_y, model.embed(data.target_test_x),
                         data.target_test_y)
    assert feature_joint_error(model, data) == direct
    raw = feature_joint_error(None, data)
    assert raw == joint_error(data.source_test_x.flatten(1), data.source_test_y, data.target_test_x.flatten(1),
                              data.target_test_y)
    assert raw["lambda_star"] < 0.2  # the toy classes sit in one image row in both domains: pixels serve both


def test_bound_terms_take_one_task(tmp_path):
    with pytest.raises(ValueError, match="one task per result file"):
        bound_terms([(DAConfig(task="usps_mnist"), [0]), (DAConfig(task="mnist_usps"), [0])], tmp_path, "unused")


def test_command_line_refuses_the_quick_profile(monkeypatch, capsys):
    from gi_core.da_experiment import main

    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        main(["--task", "usps_mnist", "--steps", "10"])
    assert "set GI_PROFILE=full" in capsys.readouterr().err


def test_command_line_builds_each_method_with_its_learning_rate_and_reversal(monkeypatch, tmp_path):
    import gi_core.da_experiment as da

    plans = []
    monkeypatch.setenv("GI_PROFILE", "full")
    monkeypatch.setattr(da, "reproduce", lambda plan, run_dir, name: plans.append((plan, run_dir, name)) or tmp_path)
    da.main(["--task", "mnist_usps_framed", "--methods", "source_only", "dann", "cdlm", "--lambda-max", "0.3",
             "--run-dir", str(tmp_path), "--seeds", "0", "1"])
    plan, run_dir, name = plans[-1]
    assert {c.method: (c.lr, c.lambda_max) for c, _ in plan} == {
        "source_only": (0.01, 1.0), "dann": (0.01, 0.3), "cdlm": (da.BOOK_CDLM_LR, 0.3)}
    assert [seeds for _, seeds in plan] == [[0, 1]] * 3 and name == "da_mnist_usps_framed"
    assert run_dir == tmp_path / "mnist_usps_framed" and plan[2][0].cdlm == da.BOOK_CDLM
    da.main(["--task", "mnist_usps_framed", "--methods", "dann", "cdlm", "--lr", "0.005", "--run-dir", str(tmp_path)])
    assert [c.lr for c, _ in plans[-1][0]] == [0.005, 0.005]
