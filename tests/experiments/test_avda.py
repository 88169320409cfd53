"""The AVDA chapter's experiment: its plans, the summary over draws, one reproduction written with provenance and read
back, the chapter's two tables built from stored results, and the command line.

The reproduction runs a tiny one-task plan on the quick subsets cut to 300 training images per domain (the source only
baseline and two draws of 5-shot AVDA, 10 steps each); the tables read synthetic results written to a temporary
folder, and the command-line tests stand in for the reproduction except one short real run.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from gi_core.data.digit_shots import signed_domain_data
from gi_core.data.domains import DomainData
from gi_core.experiments import avda
from gi_core.experiments import avda_runs as ar
from gi_core.results import MissingResultError, device_name, git_commit, provenance, read_result, write_result

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")
TINY = ar.AVDAConfig(shots=5, pretrain_steps=10, steps=10, batch_size=16, eval_every=5, validation_size=20)
PLAN = [(replace(TINY, method="source_only", shots=0), [0]), (TINY, [1, 2])]


def small_data() -> DomainData:
    data = signed_domain_data("mnist_usps", CPU, "quick")
    return replace(data, source_x=data.source_x[:300], source_y=data.source_y[:300],
                   source_test_x=data.source_test_x[:200], source_test_y=data.source_test_y[:200],
                   target_x=data.target_x[:300], target_y=data.target_y[:300],
                   target_test_x=data.target_test_x[:200], target_test_y=data.target_test_y[:200])


@pytest.fixture(scope="module")
def data() -> DomainData:
    return small_data()


@pytest.fixture()
def small_loader(data: DomainData, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Make reproductions load the cut subsets; returns the calls."""
    calls = []

    def load(task: str, device: torch.device, profile: str | None = None) -> DomainData:
        calls.append((task, device, profile))
        return data

    monkeypatch.setattr(avda, "signed_domain_data", load)
    return calls


# --- plans -------------------------------------------------------------------------------------------------------

def test_each_plan_holds_one_task_and_distinct_labels() -> None:
    tasks = {"quick": "mnist_usps", "mnist_usps_cpu": "mnist_usps", "usps_mnist_cpu": "usps_mnist",
             "ablations_cpu": "mnist_usps", "mnist_usps": "mnist_usps", "usps_mnist": "usps_mnist",
             "svhn_mnist": "svhn_mnist", "ablations": "svhn_mnist"}
    assert set(avda.PLANS) == set(tasks)
    for name, plan in avda.PLANS.items():
        assert avda.plan_task(plan) == tasks[name]
        labels = [config.label for config, _ in plan]
        assert len(set(labels)) == len(labels), name
    cpu = [config.label for config, _ in avda.PLANS["mnist_usps_cpu"]]
    assert cpu == ["source_only_0shot", "avda_0shot", "avda_1shot", "avda_5shot", "fine_tune_1shot", "fine_tune_5shot",
                   "target_only_1shot", "target_only_5shot", "dann_0shot"]
    options = [config.label.removeprefix("avda_").removesuffix("_5shot") for config, _ in avda.PLANS["ablations_cpu"]]
    assert options == list(avda.ABLATION_TITLES)
    assert avda.PLANS["quick"][0][0].label == "avda_batch_size-64_validation_size-50_5shot"


def test_plan_task_refuses_mixed_tasks_and_malformed_plans() -> None:
    with pytest.raises(ValueError, match="one task"):
        avda.plan_task([(TINY, [0]), (replace(TINY, task="usps_mnist"), [0])])
    for bad in ([], (TINY, [0]), [TINY], [(TINY,)], [("avda", [0])]):
        with pytest.raises(TypeError, match="plan"):
            avda.plan_task(bad)
    for draws in ([], [-1], [1.5]):
        with pytest.raises(ValueError, match="draws"):
            avda.plan_task([(TINY, draws)])


# --- the summary -------------------------------------------------------------------------------------------------

def test_summarize_gives_mean_std_n_and_best_in_percent() -> None:
    records = [{"model": "a", "test_accuracy_selected": s, "test_accuracy_final": f, "validation_accuracy": v}
               for s, f, v in ((0.9, 0.85, 1.0), (0.8, 0.8, 0.9), (0.95, 0.9, 0.95))]
    records.insert(1, {"model": "b", "test_accuracy_final": 0.5, "validation_accuracy": 0.6})
    summary = avda.summarize(records)
    assert list(summary) == ["a", "b"]
    selected = [90.0, 80.0, 95.0]
    assert summary["a"]["test_accuracy_selected"] == [round(statistics.mean(selected), 3),
                                                      round(statistics.stdev(selected), 3), 3, 95.0]
    assert summary["a"]["test_accuracy_selected"] == [88.333, 7.638, 3, 95.0]
    assert summary["a"]["test_accuracy_final"] == [85.0, 5.0, 3, 90.0]
    assert summary["a"]["validation_accuracy"] == [95.0, 5.0, 3, 100.0]
    assert summary["b"] == {"test_accuracy_final": [50.0, 0.0, 1, 50.0], "validation_accuracy": [60.0, 0.0, 1, 60.0]}
    assert avda.summarize([]) == {}
    for bad in ("runs", [{"test_accuracy_final": 0.5}], [3]):
        with pytest.raises(TypeError, match="records"):
            avda.summarize(bad)


# --- the reproduction --------------------------------------------------------------------------------------------

def test_reproduce_writes_every_run_with_its_summary_and_provenance(tmp_path: Path, small_loader: list,
                                                                    data: DomainData,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = avda.reproduce(PLAN, tmp_path / "runs", "avda_tiny", CPU, progress=False, results_dir=tmp_path / "results",
                          profile="quick")
    assert path == tmp_path / "results" / "avda_tiny.json"
    assert small_loader == [("mnist_usps", CPU, "quick")]
    result = read_result("avda_tiny", tmp_path / "results")
    metrics, meta = result["metrics"], result["provenance"]
    runs = metrics["runs"]
    assert [(r["model"], r["draw"]) for r in runs] == [("source_only_batch_size-16_validation_size-20_0shot", 0),
                                                       (TINY.label, 1), (TINY.label, 2)]
    assert metrics["summary"] == avda.summarize(runs)
    selected = [100.0 * r["test_accuracy_selected"] for r in runs[1:]]
    assert metrics["summary"][TINY.label]["test_accuracy_selected"] == [
        round(statistics.mean(selected), 3), round(statistics.stdev(selected), 3), 2, round(max(selected), 3)]
    source = ar.source_model(TINY, data, tmp_path / "runs", progress=False)[1]
    assert metrics["sources"] == {TINY.source_name(): source}  # both entries share one source model
    assert runs[0]["test_accuracy_final"] == source["target_test_accuracy"]
    assert meta["commit"].split("-")[0] == git_commit().split("-")[0]
    assert meta["device"] == device_name(CPU) and meta["wall_time_s"] > 0 and meta["seeds"] == [0, 1, 2]
    assert meta["config"]["runs"] == [asdict(c) | {"draws": d} for c, d in PLAN]
    assert meta["config"]["data_sources"] == data.sources and "select nothing" in meta["config"]["selection_rule"]
    monkeypatch.setattr(ar, "Trainer", lambda *a, **k: pytest.fail("a finished plan is read back"))
    avda.reproduce(PLAN, tmp_path / "runs", "avda_again", CPU, progress=False, results_dir=tmp_path / "results")
    again = read_result("avda_again", tmp_path / "results")["metrics"]
    assert again == metrics


def test_split_accuracies_score_the_stored_runs_on_the_target_training_and_test_images(
        tmp_path: Path, small_loader: list, data: DomainData, monkeypatch: pytest.MonkeyPatch) -> None:
    avda.reproduce(PLAN, tmp_path / "runs", "avda_tiny", CPU, progress=False, results_dir=tmp_path / "results")
    runs = read_result("avda_tiny", tmp_path / "results")["metrics"]["runs"]
    monkeypatch.setitem(avda.PLANS, "tiny", PLAN)
    from gi_core.data.images import load_images

    releases = []  # the ESL test release stands in as the quick USPS test images: the same scores must come out

    def esl(split: str, folder: Path):
        releases.append(split)
        quick = load_images("usps", "test", profile="quick")
        return replace(quick, x=quick.x[:200], y=quick.y[:200])

    monkeypatch.setattr(avda, "load_usps_esl_variant", esl)
    labels = (PLAN[0][0].label, TINY.label)
    path = avda.split_accuracies("tiny", tmp_path / "runs", labels, CPU, results_dir=tmp_path / "results")
    result = read_result(path.stem, tmp_path / "results")
    records = result["metrics"]["runs"]
    assert [(r["model"], r["draw"]) for r in records] == [(r["model"], r["draw"]) for r in runs]
    for record, run in zip(records, runs):  # the test split: each run's last-step accuracy
        assert record["target_test_accuracy"] == run["test_accuracy_final"] == record["esl_test_accuracy"]
    assert releases == ["test"]
    source = ar.source_model(TINY, data, tmp_path / "runs", progress=False)[0]
    keep = ar.split_target(PLAN[0][0], data, 0)["unlabelled"]
    by_hand = (source.predict(data.target_x[keep]) == data.target_y[keep]).float().mean().item()
    assert records[0]["target_train_accuracy"] == by_hand
    two = [100 * r["target_train_accuracy"] for r in records[1:]]
    assert result["metrics"]["summary"][TINY.label]["target_train_accuracy"] == [
        round(statistics.mean(two), 3), round(statistics.stdev(two), 3), 2]
    assert result["provenance"]["config"]["labels"] == list(labels)
    with pytest.raises(ValueError, match="plan"):
        avda.split_accuracies("absent", tmp_path / "runs")


def test_reproduce_checks_its_plan_and_outputs_before_loading(tmp_path: Path, small_loader: list) -> None:
    with pytest.raises(ValueError, match="one task"):
        avda.reproduce([(TINY, [0]), (replace(TINY, task="usps_mnist"), [0])], tmp_path, "avda_x", CPU)
    with pytest.raises(ValueError, match="result_name"):
        avda.reproduce(PLAN, tmp_path, "a/b", CPU)
    with pytest.raises(TypeError, match="run_dir"):
        avda.reproduce(PLAN, 7, "avda_x", CPU)
    assert small_loader == []


def test_trained_run_trains_once_then_gives_the_same_models_back(tmp_path: Path, data: DomainData,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = replace(TINY, method="fine_tune")
    source, model, record = avda.trained_run(config, 1, data, tmp_path, progress=False)
    assert json.loads((tmp_path / f"{ar.run_name(config, 1)}.json").read_text()) == record
    stored_record = ar.source_model(config, data, tmp_path, progress=False)
    assert record["model"] == config.label and record["draw"] == 1 and record["steps"] == 10
    monkeypatch.setattr(ar, "Trainer", lambda *a, **k: pytest.fail("a finished run is read back"))
    source_again, model_again, record_again = avda.trained_run(config, 1, data, tmp_path, progress=False)
    assert record_again == record and model_again is not model
    for a, b in ((source, source_again), (model, model_again), (source, stored_record[0])):
        assert a.state_dict().keys() == b.state_dict().keys()
        assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert torch.equal(model_again.predict(data.target_test_x), model.predict(data.target_test_x))
    assert record["test_accuracy_final"] == pytest.approx(
        float((model_again.predict(data.target_test_x) == data.target_test_y).double().mean()), abs=1e-6)
    monkeypatch.undo()
    dann = replace(TINY, method="dann", shots=0)
    no_source, fresh, fresh_record = avda.trained_run(dann, 0, data, None, progress=False)  # nothing kept
    assert no_source is None and fresh_record["steps"] == 20 and not list(tmp_path.glob("*dann*"))
    with pytest.raises(ValueError, match="draw"):
        avda.trained_run(config, -1, data, tmp_path, progress=False)


# --- the tables --------------------------------------------------------------------------------------------------

def store(tmp_path: Path, name: str, summary: dict) -> None:
    meta = provenance({"synthetic": True}, [0], CPU, 1.0)
    write_result(name, {"summary": summary, "runs": []}, meta, tmp_path)


def synthetic_summary(plan: str) -> dict:
    """Entry i of the plan: selected [50 + i, 1 + i/10, 10, 60 + i], final 10 points lower."""
    summary = {}
    for i, (config, _) in enumerate(avda.PLANS[plan]):
        final = [40.0 + i, 2.0 + i / 10, 10, 45.0 + i]
        summary[config.label] = {"test_accuracy_final": final, "validation_accuracy": [70.0, 1.0, 10, 72.0]}
        if config.method != "source_only":
            summary[config.label]["test_accuracy_selected"] = [50.0 + i, 1.0 + i / 10, 10, 60.0 + i]
    return summary


@pytest.fixture()
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(avda, "read_result", lambda name: read_result(name, tmp_path))
    return tmp_path


def test_stored_reads_a_plans_result_or_says_how_to_make_it(results: Path) -> None:
    with pytest.raises(MissingResultError, match="--plan quick"):
        avda.stored("quick")
    store(results, "avda_quick", {"x": {}})
    assert avda.stored("quick")["metrics"]["summary"] == {"x": {}}
    with pytest.raises(ValueError, match="plan"):
        avda.stored("mnist_svhn_cpu")


def test_the_accuracy_table_puts_each_method_by_label_budget_beside_the_thesis(results: Path) -> None:
    summary = synthetic_summary("mnist_usps_cpu")
    del summary["target_only_5shot"]
    store(results, "avda_mnist_usps_cpu", summary)
    table = avda.accuracy_table("mnist_usps_cpu")
    assert list(table.columns) == ["unsupervised", "1-shot", "5-shot"]
    assert list(table.index) == ["Source only", "AVDA", "Source + fine-tune on the shots", "Target only (the shots)",
                                 "DANN (same encoder)", "AVDA, Pérez Carrasco (2021)"]
    source_only = "40.00 ± 2.00 (best 45.00, n = 10)"  # its final accuracy, the same in every column
    assert table.loc["Source only"].tolist() == [source_only] * 3
    assert table.loc["AVDA"].tolist() == ["51.00 ± 1.10 (best 61.00, n = 10)", "52.00 ± 1.20 (best 62.00, n = 10)",
                                          "53.00 ± 1.30 (best 63.00, n = 10)"]
    assert table.loc["Source + fine-tune on the shots"].tolist() == [
        "", "54.00 ± 1.40 (best 64.00, n = 10)", "55.00 ± 1.50 (best 65.00, n = 10)"]
    # its 5-shot entry is absent from the summary: an empty cell
    assert table.loc["Target only (the shots)"].tolist() == ["", "56.00 ± 1.60 (best 66.00, n = 10)", ""]
    assert table.loc["DANN (same encoder)"].tolist() == ["58.00 ± 1.80 (best 68.00, n = 10)", "", ""]
    assert table.loc["AVDA, Pérez Carrasco (2021)"].tolist() == [
        "96.92 ± 0.92 (best 97.63)", "98.36 ± 0.14 (best 98.63)", "98.50 ± 0.19 (best 98.68)"]
    final = avda.accuracy_table("mnist_usps_cpu", metric="test_accuracy_final")
    assert final.loc["AVDA", "5-shot"] == "43.00 ± 2.30 (best 48.00, n = 10)"
    assert final.loc["Source only", "1-shot"] == source_only
    with pytest.raises(ValueError, match="metric"):
        avda.accuracy_table("mnist_usps_cpu", metric="validation_accuracy")
    with pytest.raises(MissingResultError):
        avda.accuracy_table("usps_mnist_cpu")


def test_the_usps_mnist_table_shows_the_thesiss_usps_mnist_numbers(results: Path) -> None:
    store(results, "avda_usps_mnist_cpu", synthetic_summary("usps_mnist_cpu"))
    thesis = avda.accuracy_table("usps_mnist_cpu").loc["AVDA, Pérez Carrasco (2021)"].tolist()
    assert thesis == ["96.59 ± 0.80 (best 97.68)", "98.25 ± 0.27 (best 98.41)", "98.59 ± 0.03 (best 98.62)"]


def test_the_ablation_table_sets_each_variant_beside_full_avda_and_the_thesis(results: Path) -> None:
    store(results, "avda_mnist_usps_cpu", synthetic_summary("mnist_usps_cpu"))
    ablations = synthetic_summary("ablations_cpu")
    store(results, "avda_ablations_cpu", ablations)
    table = avda.ablation_table()
    assert list(table.columns) == ["accuracy", "thesis (S→M)"]
    assert table.to_dict("index") == {
        "AVDA": {"accuracy": "53.00 ± 1.30 (best 63.00, n = 10)", "thesis (S→M)": "96.93 ± 0.18"},
        "AVDA_FP: fixed prior": {"accuracy": "50.00 ± 1.00 (best 60.00, n = 10)", "thesis (S→M)": "92.17 ± 1.88"},
        "AVDA_ADA: binary discriminator": {"accuracy": "51.00 ± 1.10 (best 61.00, n = 10)",
                                           "thesis (S→M)": "95.13 ± 1.03"},
        "AVDA_GT: target decoder": {"accuracy": "52.00 ± 1.20 (best 62.00, n = 10)",
                                    "thesis (S→M)": "91.76 ± 0.39"},
        "no KL(q(y|z) ‖ p(y))": {"accuracy": "53.00 ± 1.30 (best 63.00, n = 10)", "thesis (S→M)": ""}}
    assert avda.ablation_table("test_accuracy_final").loc["AVDA_GT: target decoder", "accuracy"] == \
        "42.00 ± 2.20 (best 47.00, n = 10)"
    with pytest.raises(ValueError, match="metric"):
        avda.ablation_table("accuracy")


# --- the command line --------------------------------------------------------------------------------------------

@pytest.fixture()
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict]:
    """Stand in for the reproduction (recording its arguments); quick profile."""
    seen = []

    def fake(plan, run_dir, result_name, device=None, progress=True, results_dir=None, profile=None) -> Path:
        seen.append({"plan": plan, "run_dir": run_dir, "result_name": result_name, "results_dir": results_dir})
        return tmp_path / f"{result_name}.json"

    monkeypatch.setattr(avda, "reproduce", fake)
    monkeypatch.setenv("GI_PROFILE", "quick")
    return seen


def test_main_runs_the_quick_plan_in_the_quick_profile(calls: list, tmp_path: Path, capsys) -> None:
    avda.main(["--plan", "quick", "--run-dir", str(tmp_path), "--results-dir", str(tmp_path / "results")])
    assert calls == [{"plan": avda.PLANS["quick"], "run_dir": tmp_path / "mnist_usps", "result_name": "avda_quick",
                      "results_dir": tmp_path / "results"}]  # the plan as planned (its batches of 64 kept)
    assert "wrote" in capsys.readouterr().out
    label = avda.PLANS["quick"][0][0].label
    avda.main(["--plan", "quick", "--runs", label, "--steps", "7", "--batch-size", "32", "--seeds", "3", "4", "--amp",
               "--run-dir", str(tmp_path), "--result", "avda_mine"])
    (config, draws), = calls[1]["plan"]
    assert config == replace(avda.PLANS["quick"][0][0], steps=7, batch_size=32, amp=True) and draws == [3, 4]
    assert calls[1]["result_name"] == "avda_mine" and calls[1]["results_dir"] is None


def test_main_refuses_full_plans_outside_the_full_profile_and_unknown_runs(calls: list, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for argv in (["--plan", "mnist_usps_cpu"], ["--plan", "ablations"], ["--plan", "quick", "--runs", "avda_9shot"],
                 ["--plan", "nope"]):
        with pytest.raises(SystemExit) as exit_info:
            avda.main([*argv, "--run-dir", str(tmp_path)])
        assert exit_info.value.code == 2, argv
    assert calls == []
    monkeypatch.setenv("GI_PROFILE", "full")
    avda.main(["--plan", "mnist_usps_cpu", "--runs", "avda_5shot", "fine_tune_1shot", "--run-dir", str(tmp_path)])
    plan = calls[0]["plan"]
    assert [(c.label, d) for c, d in plan] == [("avda_5shot", avda.DRAWS), ("fine_tune_1shot", avda.DRAWS)]
    assert [(c.steps, c.batch_size) for c, _ in plan] == [(600, 128), (300, 128)]  # the plan's own lengths
    with pytest.raises(SystemExit):
        avda.main(["--plan", "usps_mnist_cpu", "--runs", "avda_9shot", "--run-dir", str(tmp_path)])


def test_main_reproduces_the_quick_plan_end_to_end(tmp_path: Path, small_loader: list,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GI_PROFILE", "quick")
    avda.main(["--plan", "quick", "--steps", "4", "--batch-size", "16", "--run-dir", str(tmp_path / "runs"),
               "--results-dir", str(tmp_path / "results")])
    result = read_result("avda_quick", tmp_path / "results")
    run, = result["metrics"]["runs"]
    config = replace(avda.PLANS["quick"][0][0], steps=4, batch_size=16)
    assert run["model"] == config.label and run["steps"] == 4 and run["config"] == asdict(config)
    assert [e["step"] for e in run["evaluations"]] == [4]
    assert result["metrics"]["summary"] == avda.summarize([run])
    assert (tmp_path / "runs" / "mnist_usps" / f"{ar.run_name(config, 0)}.json").exists()
