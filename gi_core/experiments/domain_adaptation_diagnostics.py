"""The appendix of chapter 4 as an experiment: diagnoses of the stored domain-adaptation runs.

Each diagnosis reads the finished runs of :data:`~gi_core.experiments.domain_adaptation.PLANS` (their checkpoints in
the run directory) or trains short runs of its own, and writes one result file with provenance:

* :func:`release_check`: USPS-target runs scored on both releases of the USPS test digits (``da_<task>_releases``);
* :func:`reverse_validation`: the label-free choice of the reversal strength (``da_mnist_usps_framed_reverse_validation``);
* :func:`bound_terms_of_runs`: the measurable terms of the Ben-David bound (``da_mnist_usps_framed_bound_terms``);
* :func:`translation_diagnoses`: where CDLM's target errors arise (``da_<task>_translation``);
* :func:`early_training_traces`: dead encoder units in CDLM's first steps (``da_<task>_early_trace``).

Target labels are read only to *measure*; nothing is selected with them. From the command line, after the
chapter's runs (``python -m gi_core.experiments.domain_adaptation --task all``)::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.domain_adaptation_diagnostics --diagnosis all
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from gi_core.data.domains import TASKS, DomainData, load_domain_data, task_images
from gi_core.data.images import USPS_ESL_FOLDER, data_root, load_usps_esl_variant
from gi_core.experiments.domain_adaptation import (
    BOOK_CDLM,
    BOOK_CDLM_LR,
    PLANS,
    RESULT_PREFIX,
    TITLES,
    DAConfig,
    Plan,
    load_stored_model,
    method_trainer,
    plan_provenance,
    run_name,
    single_task,
    stored_models,
    train_method,
)
from gi_core.metrics.domain import accuracy, evaluate_method, feature_a_distance, feature_joint_error
from gi_core.metrics.translation import DIAGNOSIS_METRICS, representation_health, translation_diagnosis
from gi_core.results import MissingResultError, format_mean_std, git_commit, read_result, summarize_runs, write_result
from gi_core.runs import RUNS_ROOT, check_outputs, load_or_run
from gi_core.runtime import current_profile
from gi_core.validation import (check_choice, check_file_stem, check_instance, check_names, check_non_negative_int,
                                check_path, check_positive_int, check_sizes, check_str)


def evaluate_stored_runs(plan: Plan, data: DomainData, run_dir: Path,
                         test_sets: dict[str, tuple[Tensor, Tensor]]) -> list[dict]:
    """Accuracy of every finished run of ``plan`` (its final checkpoint in ``run_dir``) on each labelled test set.

    One record per run: ``{"model": label, "seed": k, "<name>_accuracy": ...}``, evaluated as
    :func:`~gi_core.metrics.domain.evaluate_method` evaluates the target test split (CDLM's test-time noise fixed).
    """
    records = []
    for config, seed, model in stored_models(plan, data, run_dir):
        record = {"model": config.label, "seed": seed}
        for name, (x, y) in test_sets.items():
            record[f"{name}_accuracy"] = evaluate_method(
                model, replace(data, target_test_x=x, target_test_y=y))["target_accuracy"]
        records.append(record)
    return records


def release_check(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None,
                  results_dir: Path | None = None) -> Path:
    """Diagnosis of the USPS substitute: finished USPS-target runs evaluated on *both* releases of the test images.

    In the full profile the USPS training images are the ESL release (:func:`~gi_core.data.images.load_images`), the
    test images torchvision's release, smoothed differently; adaptation aligns the source with the first and is
    scored on the second. This writes ``results/<result_name>.json`` with each run's accuracy on the torchvision
    test images (``target``), on the same 2 007 images in the ESL release (``esl_test``) and on the target
    training images (``target_train``). It reads target labels to *measure*, never to choose anything.
    """
    task, start = single_task(plan), time.perf_counter()
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    if TASKS[task].target != "usps":
        raise ValueError(f"release_check needs a task with USPS as its target, got {task}")
    data = load_domain_data(task, device)
    esl_x, esl_y, esl_source = task_images(
        task, load_usps_esl_variant("test", data_root() / USPS_ESL_FOLDER), device, data.target_x.shape[-1])
    records = evaluate_stored_runs(plan, data, run_dir, {"target": (data.target_test_x, data.target_test_y),
                                                          "esl_test": (esl_x, esl_y),
                                                          "target_train": (data.target_x, data.target_y)})
    names = ("target_accuracy", "esl_test_accuracy", "target_train_accuracy")
    meta = plan_provenance(plan, data.sources | {"esl_test": esl_source}, device, start,
                           purpose="diagnosis of the release mismatch; target labels measure, nothing is selected")
    return write_result(result_name, {"summary": summarize_runs(records, names), "runs": records}, meta, results_dir)


def reverse_validate_runs(plan: Plan, data: DomainData, run_dir: Path,
                          progress: bool = True) -> list[dict]:
    """Reverse validation (Zhong et al., 2010; Ganin et al., 2016) of every finished source-only or DANN run of ``plan``.

    For each run, the forward network labels the target training images; a *reverse* network of the same
    configuration and seed is then trained with those pseudo-labelled target images as its source and the
    source training images, unlabelled, as its target. Its accuracy on the labelled source test split (no
    run trains on it) is the forward run's ``reverse_accuracy``: when the forward network labels the target
    mostly right with features that carry over, the reverse network recovers the source classes. Reverse runs
    are cached in ``run_dir`` as ``<run>_reverse``. Each record also holds the forward run's target test
    accuracy and the accuracy of its pseudo-labels, which read target labels *only to measure* the choice.
    """
    if any(config.method not in ("source_only", "dann") for config, _ in plan):
        raise ValueError(f"reverse validation compares source-only and DANN runs, got {sorted({c.method for c, _ in plan})}")
    commit = git_commit()

    def run(config: DAConfig, seed: int, checkpoint_dir: Path | None) -> dict:
        forward = load_stored_model(config, seed, data, run_dir)
        pseudo = forward.predict(data.target_x).to(data.target_x.device)
        swapped = replace(data, source_x=data.target_x, source_y=pseudo, target_x=data.source_x, target_y=data.source_y)
        reverse, _, seconds = train_method(config, swapped, seed, checkpoint_dir, progress)
        return {"model": config.label, "method": config.method, "seed": seed, "commit": commit,
                "train_seconds": round(seconds, 2),
                "reverse_accuracy": accuracy(reverse.predict(data.source_test_x), data.source_test_y),
                "pseudo_label_accuracy": (pseudo == data.target_y).float().mean().item(),
                "target_accuracy": evaluate_method(forward, data)["target_accuracy"]}

    return [load_or_run(run_dir, f"{run_name(config, seed)}_reverse", lambda folder, c=config, s=seed: run(c, s, folder))
            for config, seeds in plan for seed in seeds]


def reverse_validation(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None,
                       progress: bool = True, results_dir: Path | None = None) -> Path:
    """Reverse-validate the runs of one task (:func:`reverse_validate_runs`) and write ``results/<result_name>.json``.

    The result holds every record, the summary over seeds, ``selected`` (the DANN configuration with the
    highest mean reverse accuracy) and ``selected_any`` (source only competing too).
    """
    task, start = single_task(plan), time.perf_counter()
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    data = load_domain_data(task, device)
    records = reverse_validate_runs(plan, data, run_dir, progress)
    summary = summarize_runs(records, ("reverse_accuracy", "target_accuracy", "pseudo_label_accuracy"))
    metrics = {"summary": summary, "runs": records,
               "selected": highest(summary, [c.label for c, _ in plan if c.method == "dann"], "reverse_accuracy"),
               "selected_any": highest(summary, [c.label for c, _ in plan], "reverse_accuracy")}
    meta = plan_provenance(plan, data.sources, device, start,
                           selection_rule="highest mean reverse accuracy over seeds (source test labels, pseudo-labelled "
                                          "target training images); target labels only measure the choice")
    return write_result(result_name, metrics, meta, results_dir)


def highest(summary: dict[str, dict[str, list[float]]], labels: list[str], metric: str) -> str:
    """The label among ``labels`` with the highest mean ``metric`` in a :func:`~gi_core.results.summarize_runs` table
    (the first such label on ties)."""
    check_names(labels, "labels")
    check_str(metric, "metric")
    if missing := [label for label in labels if metric not in summary.get(label, {})]:
        raise ValueError(f"no metric {metric!r} for {missing} in the summary")
    return max(labels, key=lambda label: summary[label][metric][0])


def bound_terms_of_runs(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None,
                        results_dir: Path | None = None) -> Path:
    """The measurable terms of the Ben-David bound for every finished run of one task, in its feature space.

    Per run: the source and target test accuracies, the proxy A-distance of the test features
    (:func:`~gi_core.metrics.domain.feature_a_distance`) and the adaptability term
    (:func:`~gi_core.metrics.domain.feature_joint_error`); the same two for the
    raw pixels. Writes ``results/<result_name>.json``. Target labels are read to *measure*, never to choose.
    """
    task, start = single_task(plan), time.perf_counter()
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    data = load_domain_data(task, device)
    records = [{"model": config.label, "seed": seed, **evaluate_method(model, data),
                "a_distance": feature_a_distance(model, data), **feature_joint_error(model, data)}
               for config, seed, model in stored_models(plan, data, run_dir)]
    metrics = {"summary": summarize_runs(records, ("target_accuracy", "source_accuracy", "a_distance", "lambda_star",
                                                   "source_error", "target_error")),
               "runs": records, "raw": {"a_distance": feature_a_distance(None, data), **feature_joint_error(None, data)}}
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="diagnosis: terms of the Ben-David bound; target labels measure, nothing is selected")
    return write_result(result_name, metrics, meta, results_dir)




def early_training_trace(config: DAConfig, data: DomainData, seed: int, stops: Sequence[int],
                         max_per_domain: int = 500) -> list[dict[str, float]]:
    """The first steps of a CDLM run: :func:`representation_health` and the last logged class loss at each of ``stops``.

    Trains ``config`` (schedules over ``config.steps``, as the full run) to ``max(stops)`` steps, logging every
    step; each record is ``{"step", "inactive_units", "h_spread", "class_loss"}``. Label-free except for the
    class loss, which reads source labels only.
    """
    stops = _trace_stops(config, stops)
    check_non_negative_int(seed, "seed")
    check_positive_int(max_per_domain, "max_per_domain")
    model, trainer = method_trainer(config, data, seed, progress=False, log_every=1)
    trace = []
    for stop in stops:
        trainer.fit(stop)
        trace.append({"step": stop, **representation_health(model, data, max_per_domain),
                      "class_loss": trainer.history[-1]["class_loss"]})
    return trace


def _trace_stops(config: DAConfig, stops: Sequence[int]) -> list[int]:
    """The sorted ``stops`` of a trace of ``config``, a CDLM run, checked to lie in ``[1, config.steps]``."""
    check_instance(config, DAConfig, "config")
    if config.method != "cdlm":
        raise ValueError(f"early_training_trace follows a CDLM run, got {config.method!r}")
    stops = sorted(set(check_sizes(stops, "stops")))
    if stops[-1] > config.steps:
        raise ValueError(f"stops must lie in [1, {config.steps}], got {stops}")
    return stops


def early_training_traces(configs: list[DAConfig], seed: int, stops: Sequence[int], result_name: str,
                          device: torch.device | None = None, results_dir: Path | None = None) -> Path:
    """:func:`early_training_trace` of each CDLM configuration of one task; writes ``results/<result_name>.json``
    with ``{"traces": {label: trace}}``."""
    check_non_negative_int(seed, "seed")
    if isinstance(configs, str) or not isinstance(configs, Sequence) or not configs \
            or not all(isinstance(config, DAConfig) for config in configs):
        raise TypeError(f"configs must be a non-empty sequence of DAConfig, got {configs!r:.80}")
    plan = [(config, [seed]) for config in configs]
    task, start = single_task(plan), time.perf_counter()
    for config in configs:
        _trace_stops(config, stops)
    _, result_name, results_dir, device = check_outputs(None, result_name, results_dir, device)
    data = load_domain_data(task, device)
    traces = {config.label: early_training_trace(config, data, seed, stops) for config in configs}
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="the first steps of CDLM runs: dead encoder units and the spread of h (no labels)")
    return write_result(result_name, {"traces": traces}, meta, results_dir)


def translation_diagnoses(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None,
                          results_dir: Path | None = None) -> Path:
    """:func:`translation_diagnosis` of every finished CDLM run of one task; writes ``results/<result_name>.json``."""
    task, start = single_task(plan), time.perf_counter()
    if any(config.method != "cdlm" for config, _ in plan):
        raise ValueError(f"translation diagnoses are for CDLM runs, got {sorted({c.method for c, _ in plan})}")
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    data = load_domain_data(task, device)
    records = [{"model": config.label, "seed": seed, **translation_diagnosis(model, data)}
               for config, seed, model in stored_models(plan, data, run_dir)]
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="diagnosis of CDLM's target errors; target labels measure, nothing is selected")
    return write_result(result_name, {"summary": summarize_runs(records, DIAGNOSIS_METRICS), "runs": records}, meta,
                        results_dir)


# --- what the appendix shows ----------------------------------------------------------------------

RELEASE_TASKS = ("mnist_usps", "mnist_usps_framed")
REVERSAL_TASK = "mnist_usps_framed"
REVERSAL_LEVELS = {"source_only": "0 (source only)", "dann_lambda_max-0.1": "0.1", "dann_lambda_max-0.3": "0.3",
                   "dann": "1 (Ganin's schedule)"}
"""The reversal strengths :math:`\\lambda_{\\max}` that reverse validation compares, by run label."""
TRANSLATION_TASKS = ("mnist_usps_framed", "usps_mnist_framed", "mnist_mnistm")
TRACE_STOPS = (1, 5, 10, 25, 50, 100, 200, 300)
TRACE_SETTINGS = {"mnist_usps_framed": ({}, {"lambda_max": 0.0}, {"lr": BOOK_CDLM_LR}),
                  "mnist_mnistm": ({}, {"lr": BOOK_CDLM_LR})}
"""The CDLM settings whose first steps are traced (seed 0), beside the book's options."""
TRACE_NAMES = {"μ0 = 0.01": {}, "μ0 = 0.01, no reversal": {"lambda_max": 0.0}, f"μ0 = {BOOK_CDLM_LR:g}": {"lr": BOOK_CDLM_LR}}
"""The curve name of each traced setting."""
DIAGNOSES = ("releases", "reverse_validation", "bound_terms", "translation", "traces")


def reversal_plan() -> Plan:
    """The source-only and DANN runs of framed MNIST→USPS: :math:`\\lambda_{\\max}` = 0, 0.1, 0.3 and 1."""
    return [(config, seeds) for config, seeds in PLANS[REVERSAL_TASK] if config.label in REVERSAL_LEVELS]


def cdlm_plan(task: str) -> Plan:
    """The CDLM runs of ``task``'s plan."""
    check_choice(task, tuple(sorted(PLANS)), "task")
    return [(config, seeds) for config, seeds in PLANS[task] if config.method == "cdlm"]


def trace_configs(task: str) -> list[DAConfig]:
    """The traced CDLM configurations of ``task`` (:data:`TRACE_SETTINGS`), full-length schedules."""
    check_choice(task, tuple(TRACE_SETTINGS), "task")
    return [DAConfig(task=task, method="cdlm", cdlm=BOOK_CDLM, **setting) for setting in TRACE_SETTINGS[task]]


def trace_name(label: str) -> str:
    """The curve name (:data:`TRACE_NAMES`) of a traced run label."""
    names = {DAConfig(method="cdlm", cdlm=BOOK_CDLM, **setting).label: name for name, setting in TRACE_NAMES.items()}
    check_choice(label, tuple(names), "label")
    return names[label]


def reproduce_all(run_root: Path = RUNS_ROOT / "da", results_dir: Path | None = None,
                  diagnoses: Sequence[str] | None = None) -> list[Path]:
    """Every diagnosis of the appendix (or those named in ``diagnoses``, see :data:`DIAGNOSES`), on the finished runs
    under ``run_root/<task>``; returns the result files written."""
    run_root = check_path(run_root, "run_root")
    results_dir = None if results_dir is None else check_path(results_dir, "results_dir")
    chosen = DIAGNOSES if diagnoses is None else check_names(diagnoses, "diagnoses")
    for diagnosis in chosen:
        check_choice(diagnosis, DIAGNOSES, "diagnoses")
    paths = []
    if "releases" in chosen:
        paths += [release_check(PLANS[task], run_root / task, f"{RESULT_PREFIX}_{task}_releases", results_dir=results_dir)
                  for task in RELEASE_TASKS]
    if "reverse_validation" in chosen:
        paths.append(reverse_validation(reversal_plan(), run_root / REVERSAL_TASK,
                                        f"{RESULT_PREFIX}_{REVERSAL_TASK}_reverse_validation", results_dir=results_dir))
    if "bound_terms" in chosen:
        paths.append(bound_terms_of_runs(reversal_plan(), run_root / REVERSAL_TASK,
                                         f"{RESULT_PREFIX}_{REVERSAL_TASK}_bound_terms", results_dir=results_dir))
    if "translation" in chosen:
        paths += [translation_diagnoses(cdlm_plan(task), run_root / task, f"{RESULT_PREFIX}_{task}_translation",
                                        results_dir=results_dir) for task in TRANSLATION_TASKS]
    if "traces" in chosen:
        paths += [early_training_traces(trace_configs(task), 0, TRACE_STOPS, f"{RESULT_PREFIX}_{task}_early_trace",
                                        results_dir=results_dir) for task in TRACE_SETTINGS]
    return paths


def stored_diagnosis(name: str) -> dict:
    """The stored diagnosis ``results/da_<name>.json`` (e.g. ``"mnist_usps_framed_bound_terms"``); raises if absent."""
    result = read_result(f"{RESULT_PREFIX}_{check_file_stem(name, 'name')}")
    if result is None:
        raise MissingResultError(f"no stored diagnosis named {RESULT_PREFIX}_{name}; run "
                                 "python -m gi_core.experiments.domain_adaptation_diagnostics")
    return result


def _titled(summary: dict, columns: dict[str, str], count: bool = False) -> pd.DataFrame:
    """One row per stored run label (titles of :data:`TITLES`, in that order), ``columns`` as "mean ± std"."""
    return pd.DataFrame({TITLES[label] + (f" ({summary[label][next(iter(columns))][2]})" if count else ""):
                         {name: format_mean_std(summary[label][metric]) for metric, name in columns.items()}
                         for label in TITLES if label in summary}).T


def release_table(task: str) -> pd.DataFrame:
    """Each stored run of ``task`` scored on the torchvision and the ESL release of the USPS test digits, and on the
    USPS training images."""
    columns = {"target_accuracy": "USPS test, torchvision release (reported)",
               "esl_test_accuracy": "same digits, ESL release", "target_train_accuracy": "USPS training images (ESL)"}
    check_choice(task, RELEASE_TASKS, "task")
    return _titled(stored_diagnosis(f"{task}_releases")["metrics"]["summary"], columns)


def reversal_table() -> pd.DataFrame:
    """The reversal strengths of :data:`REVERSAL_LEVELS`: accuracies, the terms of the bound, reverse accuracy."""
    columns = {"target_accuracy": "target accuracy (measured)", "source_accuracy": "source accuracy",
               "a_distance": "A-distance of features", "lambda_star": "λ* (joint linear error)",
               "pseudo_label_accuracy": "pseudo-label accuracy (measured)", "reverse_accuracy": "reverse accuracy (selects)"}
    summary = reversal_summary()
    table = pd.DataFrame({level: {name: format_mean_std(summary[label][metric]) for metric, name in columns.items()}
                          for label, level in REVERSAL_LEVELS.items()}).T
    table.index.name = "λ_max"
    return table


def reversal_summary() -> dict[str, dict[str, list[float]]]:
    """The bound terms' and the reverse validation's summaries of the :data:`REVERSAL_LEVELS` runs, merged by label
    (both hold the same runs' target accuracy)."""
    terms = stored_diagnosis(f"{REVERSAL_TASK}_bound_terms")["metrics"]["summary"]
    reverse = stored_diagnosis(f"{REVERSAL_TASK}_reverse_validation")["metrics"]["summary"]
    return {label: terms[label] | reverse[label] for label in REVERSAL_LEVELS}


def diagnosis_table(task: str) -> pd.DataFrame:
    """The translation diagnosis of every stored CDLM run of ``task`` (number of seeds in the row title)."""
    columns = {"target_accuracy": "target: translated", "untranslated_target_accuracy": "target: raw digit",
               "lost_by_translation": "lost", "gained_by_translation": "gained",
               "source_accuracy": "source: translated", "probe_source": "probe: source",
               "probe_transfer": "probe: source → target", "probe_target": "probe: target (oracle)",
               "inactive_units": "dead units", "h_spread": "spread of h"}
    check_choice(task, TRANSLATION_TASKS, "task")
    return _titled(stored_diagnosis(f"{task}_translation")["metrics"]["summary"], columns, count=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diagnosis", nargs="+", choices=[*DIAGNOSES, "all"], default=["all"])
    parser.add_argument("--run-dir", type=Path, default=RUNS_ROOT / "da",
                        help="the folder of the chapter's finished runs (one subfolder per task)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of the result files (default: the repository's results/)")
    args = parser.parse_args(argv)
    if current_profile() != "full":
        parser.error("set GI_PROFILE=full: the diagnoses read the complete datasets")
    chosen = DIAGNOSES if "all" in args.diagnosis else args.diagnosis
    for path in reproduce_all(args.run_dir, args.results_dir, chosen):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
