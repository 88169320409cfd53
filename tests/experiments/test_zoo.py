"""Tests for gi_core.experiments.zoo: the table's rows, file names, the summary over seeds, an end-to-end smoke run,
the chapter's plans against the stored results, the claims they support, and the command line.

The smoke run trains two tiny MLP models (an autoencoder and a GAN kind) for 5 steps on 300 images of the
shipped quick MNIST subset resized to 16x16, evaluates every metric of Table 6.4, and checks that a second
call reads the stored runs instead of training again.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import gi_core.experiments.zoo as zx
import gi_core.experiments.zoo_training as zt
from gi_core.checkpoints import read_checkpoint
from gi_core.experiments.zoo import (
    CLAIM_HOLDS,
    METRICS,
    PLANS,
    Evaluator,
    ZooConfig,
    ZooData,
    claims,
    load_zoo_data,
    run_comparison,
    slug,
    summarize,
)
from gi_core.models.zoo import ZooEntry
from gi_core.results import read_result

pytestmark = pytest.mark.usefixtures("one_thread")


# --- the table's rows, slug and summarize --------------------------------------------------------


def record(model: str, seed: int, value: float) -> dict:
    return {"model": model, "seed": seed, "train_seconds": 10.0 * value, **{m: value for m in METRICS}}


def test_summarize_hand_records() -> None:
    records = [record("VAE β=1", 0, 1.0), record("ALI", 0, 5.0), record("VAE β=1", 1, 2.0), record("VAE β=1", 2, 6.0)]
    table = summarize(records)
    assert list(table) == ["VAE β=1", "ALI"]  # first-seen order
    for metric in METRICS:
        mean, std, n = table["VAE β=1"][metric]
        assert mean == pytest.approx(3.0) and n == 3
        assert std == pytest.approx(math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2))  # ddof = 1
        assert std == pytest.approx(float(np.std([1.0, 2.0, 6.0], ddof=1)))
        assert table["ALI"][metric] == [5.0, 0.0, 1]  # one run: no spread
    assert table["VAE β=1"]["train_seconds"][0] == pytest.approx(30.0)
    assert set(table["ALI"]) == {*METRICS, "train_seconds"}


# --- end to end ----------------------------------------------------------------------------------


CONFIG = ZooConfig(arch="mlp", image_size=16, hidden=(32, 16), steps=5, batch_size=32, classifier_epochs=1,
                   n_generated=200, eval_train=300, checkpoint_every=5,
                   models=(ZooEntry("VAE β=1", "vae", 1.0), ZooEntry("ALI", "ali")))


@pytest.fixture(scope="module")
def data() -> ZooData:
    full = load_zoo_data(CONFIG, torch.device("cpu"), profile="quick")
    return ZooData(full.train_x[:300], full.train_y[:300], full.test_x[:100], full.test_y[:100], full.source)


@pytest.fixture(scope="module")
def evaluator(data: ZooData) -> Evaluator:
    return Evaluator.fit(CONFIG, data, seed=0, progress=False)


def test_zoo_data_is_signed_and_resized(data: ZooData) -> None:
    assert data.train_x.shape == (300, 1, 16, 16) and data.test_x.shape == (100, 1, 16, 16)
    assert data.train_x.min().item() == -1.0 and data.train_x.max().item() <= 1.0
    assert set(data.train_y.tolist()) == set(range(10))


def test_run_comparison_end_to_end(data: ZooData, evaluator: Evaluator, tmp_path: Path, monkeypatch) -> None:
    assert 0.0 <= evaluator.classifier_test_accuracy <= 1.0
    records = run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False)
    assert [(r["model"], r["kind"], r["beta"], r["seed"]) for r in records] == [("VAE β=1", "vae", 1.0, 0),
                                                                                 ("ALI", "ali", 1.0, 0)]
    for r in records:
        for metric in METRICS:
            assert isinstance(r[metric], float) and math.isfinite(r[metric]), (r["model"], metric, r[metric])
        assert 0.0 <= r["probe_accuracy"] <= 100.0
        assert 1.0 <= r["inception_score"] <= 10.0
        assert r["fid"] >= 0.0 and r["kl_z"] >= 0.0 and r["kl_vae"] >= 0.0
        assert r["mi_estimate"] == pytest.approx(r["kl_vae"] - r["kl_z"], abs=1e-9)  # Eq. 5.11
        assert r["train_seconds"] >= 0.0

    for name, r in (("vae_beta_1_seed0", records[0]), ("ali_seed0", records[1])):
        assert json.loads((tmp_path / f"{name}.json").read_text()) == r
        assert read_checkpoint(tmp_path / name)[1]["step"] == CONFIG.steps

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    with monkeypatch.context() as patch:
        patch.setattr(zx, "train_model", no_training)
        assert run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False) == records

    # an interrupted run (checkpoint kept, record lost) resumes at its last step and evaluates the same model
    (tmp_path / "ali_seed0.json").unlink()
    resumed_at = []

    class SpyTrainer(zt.Trainer):
        def load_checkpoint(self, directory=None):
            resumed_at.append(super().load_checkpoint(directory))
            return resumed_at[-1]

    with monkeypatch.context() as patch:
        patch.setattr(zt, "Trainer", SpyTrainer)
        again = run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False)
    assert resumed_at == [CONFIG.steps]
    assert again[0] == records[0]
    for metric in METRICS:
        assert again[1][metric] == pytest.approx(records[1][metric], rel=1e-9, abs=1e-12)

    summary = summarize(records)
    assert summary["ALI"]["fid"] == [records[1]["fid"], 0.0, 1]


# --- the chapter's plans and the stored results ------------------------------------------------------


@pytest.mark.parametrize("plan", ["table_6_4", "table_6_4_grouped", "autoencoders_alone", "autoencoders_group1", "long"])
def test_the_plans_are_the_configurations_of_the_stored_results(plan: str) -> None:
    """Each stored comparison was run with its plan's configuration and seeds (and read under the plan's name)."""
    config, seeds, name = PLANS[plan]
    stored = read_result(name)["provenance"]
    described = json.loads(json.dumps(config.describe()))  # tuples as the JSON file holds them: lists
    assert {key: stored["config"][key] for key in described if key in stored["config"]} == {
        key: value for key, value in described.items() if key in stored["config"]}
    newer = {key: described[key] for key in set(described) - set(stored["config"])}  # fields added after the run
    assert newer.items() <= {"amp": False, "compile": False, "group_size": 0}.items()
    assert set(stored["config"]) - set(described) == {"classifier_test_accuracy", "data_source"}
    assert list(seeds) == stored["seeds"]
    runs = read_result(name)["metrics"]["runs"]
    assert sorted((r["model"], r["seed"]) for r in runs) == sorted((e.label, s) for e in config.models for s in seeds)


def test_the_stored_table_supports_the_claims_the_chapter_makes() -> None:
    """Chapter 3: claim 1 holds by half a point, claims 2 and 3 do not hold, claim 4 (ρ ≈ 0.7) and claim 5 hold."""
    values = list(claims(read_result(PLANS["table_6_4"].result)["metrics"]["summary"]).values())
    assert [holds(v) for holds, v in zip(CLAIM_HOLDS, values)] == [True, False, False, True, True]
    assert 0.0 < values[0] < 1.0 and values[3] == pytest.approx(0.73, abs=0.01) and values[4] < -10.0


def test_runs_trained_in_groups_of_one_are_the_sequential_runs(data: ZooData, evaluator: Evaluator, tmp_path: Path) -> None:
    config = replace(CONFIG, models=(ZooEntry("VAE β=1", "vae", 1.0), ZooEntry("MMD β=30", "mmd", 30.0)))
    alone = run_comparison(config, [0, 1], data, evaluator, run_dir=tmp_path / "alone", progress=False)
    ones = run_comparison(replace(config, group_size=1), [0, 1], data, evaluator, run_dir=tmp_path / "ones",
                          progress=False)
    for a, b in zip(alone, ones):
        assert (a["group_size"], b["group_size"]) == (0, 1)
        assert all(a[m] == b[m] for m in METRICS), a["model"]  # bitwise: every metric equal
    assert sorted(p.name for p in (tmp_path / "ones").glob("*.json")) == [
        "mmd_beta_30_seed0_group1.json", "mmd_beta_30_seed1_group1.json",
        "vae_beta_1_seed0_group1.json", "vae_beta_1_seed1_group1.json"]
    groups = run_comparison(replace(config, group_size=4), [0, 1], data, evaluator, run_dir=tmp_path / "four",
                            progress=False)
    assert [r["group_size"] for r in groups] == [4, 4, 4, 4]
    for a, b in zip(alone, groups):  # five steps: the batched rounding has barely moved anything
        assert b["log_mse_x"] == pytest.approx(a["log_mse_x"], rel=1e-4)


def test_a_group_with_a_diverging_run_stores_the_others_and_names_it(data: ZooData, evaluator: Evaluator,
                                                                     tmp_path: Path, monkeypatch) -> None:
    config = replace(CONFIG, group_size=2, models=(ZooEntry("VAE β=1", "vae", 1.0), ZooEntry("VAE β=30", "vae", 30.0)))
    stack = zt.GroupedZooAutoencoders.stack

    def sabotaged(models):  # run 1 starts with a NaN weight
        group = stack(models)
        with torch.no_grad():
            group.decoder.net[0].bias[1, 0] = math.nan
        return group

    monkeypatch.setattr(zt.GroupedZooAutoencoders, "stack", sabotaged)
    with pytest.warns(RuntimeWarning, match="stopped, the others go on"), \
            pytest.raises(RuntimeError, match=r"1 of 2 runs failed .*vae_beta_30_seed0_group2: step 0: non-finite"):
        run_comparison(config, [0], data, evaluator, run_dir=tmp_path, progress=False)
    assert (tmp_path / "vae_beta_1_seed0_group2.json").exists()
    assert not (tmp_path / "vae_beta_30_seed0_group2.json").exists()


def test_an_interrupted_group_resumes_from_its_checkpoints(data: ZooData, evaluator: Evaluator, tmp_path: Path,
                                                          monkeypatch) -> None:
    config = replace(CONFIG, group_size=2, steps=10, models=(ZooEntry("VAE β=1", "vae", 1.0),
                                                              ZooEntry("WVAE β=1", "wvae", 1.0)))
    straight = run_comparison(config, [3], data, evaluator, run_dir=tmp_path / "straight", progress=False)

    real_fit = zt.MultiRunTrainer.fit

    def killed(self, steps):  # the group is killed after its checkpoints at step 5
        real_fit(self, min(steps, 5))
        raise KeyboardInterrupt

    monkeypatch.setattr(zt.MultiRunTrainer, "fit", killed)
    with pytest.raises(KeyboardInterrupt):
        run_comparison(config, [3], data, evaluator, run_dir=tmp_path / "killed", progress=False)
    monkeypatch.undo()
    steps = [read_checkpoint(tmp_path / "killed" / f"{name}_seed3_group2")[1]["step"] for name in ("vae_beta_1", "wvae_beta_1")]
    assert steps == [5, 5]
    resumed = run_comparison(config, [3], data, evaluator, run_dir=tmp_path / "killed", progress=False)
    assert [{m: r[m] for m in METRICS} for r in resumed] == [{m: r[m] for m in METRICS} for r in straight]


def test_the_stored_groups_of_one_are_the_stored_runs_alone_and_the_groups_of_nine_stay_within_the_spread() -> None:
    alone, ones = (read_result(PLANS[key].result)["metrics"]["runs"] for key in ("autoencoders_alone", "autoencoders_group1"))
    assert [(r["model"], r["group_size"]) for r in ones] == [(r["model"], 1) for r in alone]
    assert all(a[m] == b[m] for a, b in zip(alone, ones) for m in METRICS)  # bit for bit
    grouped = read_result(PLANS["table_6_4_grouped"].result)["metrics"]
    table = read_result(PLANS["table_6_4"].result)["metrics"]["summary"]
    assert {r["group_size"] for r in grouped["runs"] if r["kind"] in ("vae", "wvae", "mmd", "jsvae")} == {9}
    for model, row in grouped["summary"].items():
        for metric in METRICS:
            (mean, std, _), (their_mean, their_std, _) = row[metric], table[model][metric]
            assert abs(mean - their_mean) <= 2 * math.hypot(std, their_std) + 1e-12, (model, metric)


def test_command_line_builds_the_planned_configuration(monkeypatch, tmp_path) -> None:
    calls = []
    monkeypatch.setenv("GI_PROFILE", "full")
    monkeypatch.setattr(zx, "reproduce", lambda *args, **kwargs: calls.append((args, kwargs)) or tmp_path)
    zx.main(["--plan", "table_6_4", "--models", "AIM", "VAE β=1", "--seeds", "4", "--run-dir", str(tmp_path)])
    (config, seeds, run_dir, result), options = calls[-1]
    planned = PLANS["table_6_4"].config
    assert config.models == tuple(e for e in planned.models if e.label in ("VAE β=1", "AIM"))
    assert config == replace(planned, models=config.models) and config.steps == 3000
    assert seeds == [4] and run_dir == tmp_path / "mlp_3000" and result == "zoo_mnist_j10_mlp"
    assert options == {"results_dir": None} and config.group_size == 0
    zx.main(["--plan", "table_6_4", "--group-size", "9", "--run-dir", str(tmp_path)])
    assert calls[-1][0][0] == replace(planned, group_size=9) == PLANS["table_6_4_grouped"].config
    zx.main(["--plan", "long", "--steps", "100", "--result", "short", "--results-dir", str(tmp_path)])
    (config, seeds, run_dir, result), options = calls[-1]
    assert config == replace(PLANS["long"].config, steps=100) and seeds == [0]
    assert result == "short" and options == {"results_dir": tmp_path}
    assert run_dir.name == "mlp_100"
    with pytest.raises(SystemExit):
        zx.main(["--plan", "long", "--models", "ALI"])  # not a model of that plan
    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        zx.main(["--plan", "table_6_4"])


def test_configurations_and_data_are_checked_on_construction() -> None:
    with pytest.raises(ValueError, match="models must have labels with distinct file names"):
        ZooConfig(models=(ZooEntry("VAE β=1", "vae"), ZooEntry("vae beta 1", "vae")))
    with pytest.raises(ValueError, match="label '!!' has no letter or digit"):
        slug("!!")
    with pytest.raises(ValueError, match=r"adam_betas must be 2 real numbers"):
        ZooConfig(adam_betas=(0.5,))
    x, y = torch.rand(4, 1, 8, 8), torch.arange(4)
    with pytest.raises(ValueError, match=r"train_x and test_x must hold images of one shape"):
        ZooData(x, y, torch.rand(4, 1, 8, 7), y, "toy")
    with pytest.raises(ValueError, match=r"test_y must be integer labels of shape \(4,\)"):
        ZooData(x, y, x, y[:3], "toy")
