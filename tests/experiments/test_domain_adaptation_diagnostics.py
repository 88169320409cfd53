"""Tests for gi_core.experiments.domain_adaptation_diagnostics: re-evaluating stored runs, reverse validation, the
early-training trace, and what the chapter's appendix shows of the stored diagnoses."""

from __future__ import annotations

import pytest
import torch

import gi_core.experiments.domain_adaptation_diagnostics as dd
from gi_core.data.domains import DomainData
from gi_core.experiments.domain_adaptation import TITLES, DAConfig, load_stored_model, run_methods, train_method
from gi_core.experiments.domain_adaptation_diagnostics import (
    bound_terms_of_runs,
    early_training_trace,
    evaluate_stored_runs,
    highest,
    release_check,
    reverse_validate_runs,
    translation_diagnoses,
)
from gi_core.metrics.translation import representation_health
from gi_core.results import format_mean_std, read_result
from tests.toy_domains import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")


# --- diagnoses of finished runs ----------------------------------------------------------------


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
    data = toy_data()
    config = DAConfig(method="dann", steps=6, batch_size=16, checkpoint_every=3)
    (forward_record,) = run_methods([config], [1], data, tmp_path, progress=False, a_distance_seed=None)
    (record,) = reverse_validate_runs([(config, [1])], data, tmp_path, progress=False)
    pseudo = load_stored_model(config, 1, data, tmp_path).predict(data.target_x)
    # the same reverse network, trained again by hand: target images with the forward network's labels as source
    swapped = DomainData(data.target_x, pseudo, data.source_x, data.source_y, *(torch.empty(0),) * 4, {})
    reverse, _, _ = train_method(config, swapped, 1, progress=False)
    assert record["reverse_accuracy"] == (reverse.predict(data.source_test_x) == data.source_test_y).float().mean().item()
    assert record["pseudo_label_accuracy"] == (pseudo == data.target_y).float().mean().item()
    assert record["target_accuracy"] == forward_record["target_accuracy"]
    assert (tmp_path / f"mnist_usps_{config.label}_seed1_reverse.json").exists()
    monkeypatch.setattr(dd, "train_method", lambda *args, **kwargs: pytest.fail("a cached reverse run was retrained"))
    assert reverse_validate_runs([(config, [1])], data, tmp_path, progress=False) == [record]
    with pytest.raises(ValueError, match="source-only and DANN"):
        reverse_validate_runs([(DAConfig(method="target_only"), [0])], data, tmp_path)


def test_highest_picks_the_largest_mean_and_names_what_is_missing():
    summary = {"a": {"m": [0.7, 0.1, 3]}, "b": {"m": [0.9, 0.0, 3]}, "c": {"m": [0.8, 0.2, 3]}, "d": {}}
    assert highest(summary, ["a", "b", "c"], "m") == "b"
    assert highest(summary, ["a", "c"], "m") == "c"
    with pytest.raises(ValueError, match=r"no metric 'm' for \['d'\] in the summary"):
        highest(summary, ["a", "d"], "m")
    with pytest.raises(ValueError, match="labels must be a non-empty sequence of strings"):
        highest(summary, [], "m")


def test_bound_terms_of_runs_take_one_task(tmp_path):
    with pytest.raises(ValueError, match="one task per result file"):
        bound_terms_of_runs([(DAConfig(task="usps_mnist"), [0]), (DAConfig(task="mnist_usps"), [0])], tmp_path, "unused")


def test_early_training_trace_follows_the_run_it_stops():
    data = toy_data()
    config = DAConfig(method="cdlm", steps=4, batch_size=16, cdlm={"latent_dim": 8, "channels": 4})
    trace = early_training_trace(config, data, 0, (4, 1), max_per_domain=20)
    assert [r["step"] for r in trace] == [1, 4]
    model, trainer, _ = train_method(config, data, 0, progress=False)
    assert trace[-1] == {"step": 4, **representation_health(model, data, 20), "class_loss": trainer.history[-1]["class_loss"]}
    assert 0.0 <= trace[0]["inactive_units"] <= 1.0 and trace[0]["h_spread"] > 0
    with pytest.raises(ValueError, match=r"stops must lie in \[1, 4\]"):
        early_training_trace(config, data, 0, (2, 5))
    with pytest.raises(ValueError, match="stops must be a positive integer or a non-empty sequence of them"):
        early_training_trace(config, data, 0, (0, 2))
    with pytest.raises(ValueError, match="follows a CDLM run"):
        early_training_trace(DAConfig(method="dann", steps=4), data, 0, (1,))


def test_translation_diagnoses_are_for_cdlm_runs(tmp_path):
    with pytest.raises(ValueError, match="for CDLM runs"):
        translation_diagnoses([(DAConfig(method="dann"), [0])], tmp_path, "unused")


# --- what the appendix shows of the stored diagnoses -------------------------------------------


def stored(name: str) -> dict:
    return read_result(f"da_{name}")


def test_the_reversal_plan_holds_the_four_levels_with_their_stored_seeds():
    plan = dd.reversal_plan()
    assert [config.label for config, _ in plan] == ["source_only", "dann", "dann_lambda_max-0.1", "dann_lambda_max-0.3"]
    assert {config.label for config, _ in plan} == set(dd.REVERSAL_LEVELS)
    planned = sorted((config.label, seed) for config, seeds in plan for seed in seeds)
    for name in ("reverse_validation", "bound_terms"):
        runs = stored(f"{dd.REVERSAL_TASK}_{name}")["metrics"]["runs"]
        assert sorted((run["model"], run["seed"]) for run in runs) == planned


@pytest.mark.parametrize("task", sorted(dd.TRACE_SETTINGS))
def test_every_stored_trace_is_named_and_planned(task):
    traces = stored(f"{task}_early_trace")["metrics"]["traces"]
    assert [config.label for config in dd.trace_configs(task)] == list(traces)
    assert {dd.trace_name(label) for label in traces} <= set(dd.TRACE_NAMES)
    assert dd.trace_name("cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.0") == "μ0 = 0.01, no reversal"
    assert all([record["step"] for record in trace] == list(dd.TRACE_STOPS) for trace in traces.values())


def test_the_stored_diagnoses_are_of_the_planned_runs():
    for task in dd.TRANSLATION_TASKS:
        runs = stored(f"{task}_translation")["metrics"]["runs"]
        assert sorted((r["model"], r["seed"]) for r in runs) == sorted(
            (config.label, seed) for config, seeds in dd.cdlm_plan(task) for seed in seeds)
    for task in dd.RELEASE_TASKS:
        runs = stored(f"{task}_releases")["metrics"]["runs"]
        assert sorted((r["model"], r["seed"]) for r in runs) == sorted(
            (config.label, seed) for config, seeds in dd.PLANS[task] for seed in seeds)


def test_the_reversal_table_shows_the_stored_numbers():
    table = dd.reversal_table()
    assert list(table.index) == list(dd.REVERSAL_LEVELS.values())
    terms = stored(f"{dd.REVERSAL_TASK}_bound_terms")["metrics"]["summary"]
    reverse = stored(f"{dd.REVERSAL_TASK}_reverse_validation")["metrics"]["summary"]
    assert table.loc["1 (Ganin's schedule)", "λ* (joint linear error)"] == format_mean_std(terms["dann"]["lambda_star"])
    assert table.loc["0.3", "reverse accuracy (selects)"] == format_mean_std(reverse["dann_lambda_max-0.3"]["reverse_accuracy"])
    assert table.loc["0 (source only)", "target accuracy (measured)"] == "0.930 ± 0.003"


@pytest.mark.parametrize("task", dd.RELEASE_TASKS)
def test_the_release_tables_show_the_stored_numbers(task):
    table = dd.release_table(task)
    summary = stored(f"{task}_releases")["metrics"]["summary"]
    assert list(table.index) == [TITLES[label] for label in TITLES if label in summary]
    assert table.loc["Source only (λ = 0)", "same digits, ESL release"] == format_mean_std(summary["source_only"]["esl_test_accuracy"])


@pytest.mark.parametrize("task", dd.TRANSLATION_TASKS)
def test_the_diagnosis_tables_show_the_stored_numbers(task):
    table = dd.diagnosis_table(task)
    book = stored(f"{task}_translation")["metrics"]["summary"]["cdlm_consistency_to_encoder-True_lambda2-1.0"]
    row = f"{TITLES['cdlm_consistency_to_encoder-True_lambda2-1.0']} ({book['lost_by_translation'][2]})"
    assert table.loc[row, "lost"] == format_mean_std(book["lost_by_translation"])
    assert table.loc[row, "target: raw digit"] == format_mean_std(book["untranslated_target_accuracy"])
