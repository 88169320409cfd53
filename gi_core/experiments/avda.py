r"""Tables 4.1 and 4.2 of Pérez Carrasco (2021) as an experiment: AVDA and its baselines on MNIST↔USPS (chapter 7).

:data:`PLANS` lists the runs of each table: AVDA unsupervised and with 1 and 5 labelled target images per class, 10
draws of the shots each (recorded by index), beside the baselines on the same draws (source only, fine-tuning on
the shots, target only with the shots, DANN on the same encoder) and the §4.1.3 ablations. Each run reports the
target test accuracy of its last step and of the step chosen on 100 labelled target *training* images; the test
labels select nothing (:mod:`gi_core.experiments.avda_runs`). Finished runs are kept as JSON in ``--run-dir`` and
skipped next time; unfinished ones resume::

    GI_PROFILE=full GI_DATA_ROOT=~/data python -m gi_core.experiments.avda --plan mnist_usps_cpu

The ``_cpu`` plans are the ones this book's stored results come from (shorter training, the same networks and
hyperparameters); the plans without the suffix are the thesis's scale for a GPU, ``svhn_mnist`` among them (SVHN
is downloaded by torchvision where the network allows).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gi_core.data.digit_shots import signed_domain_data
from gi_core.data.domains import TASKS, DomainData, task_images
from gi_core.data.images import USPS_ESL_FOLDER, data_root, load_usps_esl_variant
from gi_core.data.transforms import to_signed_images
from gi_core.experiments.avda_runs import (AVDAConfig, load_run_model, run_name, run_plan_entry, source_model,
                                           split_target, train_run)
from gi_core.metrics.domain import accuracy
from gi_core.models.avda import AVDASource
from gi_core.results import MissingResultError, git_commit, provenance, read_reference, read_result, write_result
from gi_core.runs import add_run_arguments, check_outputs, load_or_run
from gi_core.runtime import current_profile
from gi_core.validation import check_choice, check_instance, check_names, check_seeds

RESULT_PREFIX = "avda"
"""Result files are ``results/avda_<plan>.json``."""
DRAWS = list(range(10))
Plan = list[tuple[AVDAConfig, list[int]]]


def _task_plan(task: str, avda: dict, baseline: dict, dann_draws: list[int]) -> Plan:
    base = AVDAConfig(task=task, **avda)
    plan: Plan = [(replace(base, method="source_only"), [0])]
    for shots in (0, 1, 5):
        plan.append((replace(base, shots=shots), DRAWS))
    for method in ("fine_tune", "target_only"):
        for shots in (1, 5):
            plan.append((replace(base, method=method, shots=shots, **baseline), DRAWS))
    plan.append((replace(base, method="dann"), dann_draws))
    return plan


_CPU = {"pretrain_steps": 1500, "steps": 600, "eval_every": 100}
_CPU_BASELINE = {"steps": 300, "eval_every": 25}
_GPU = {"pretrain_steps": 10000, "steps": 10000, "eval_every": 500, "checkpoint_every": 1000}
_GPU_BASELINE = {"steps": 1000, "eval_every": 50}
_ABLATIONS = ({"learn_prior": False}, {"discriminator": "binary"}, {"target_decoder": True}, {"categorical_kl": False})
PLANS: dict[str, Plan] = {
    "quick": [(AVDAConfig(task="mnist_usps", shots=5, pretrain_steps=60, steps=40, eval_every=20, batch_size=64,
                          validation_size=50), [0])],
    "mnist_usps_cpu": _task_plan("mnist_usps", _CPU, _CPU_BASELINE, [0, 1]),
    "usps_mnist_cpu": _task_plan("usps_mnist", _CPU, _CPU_BASELINE, [0, 1]),
    "ablations_cpu": [(AVDAConfig(task="mnist_usps", shots=5, **_CPU, **options), [0]) for options in _ABLATIONS],
    "mnist_usps": _task_plan("mnist_usps", _GPU, _GPU_BASELINE, DRAWS),
    "usps_mnist": _task_plan("usps_mnist", _GPU, _GPU_BASELINE, DRAWS),
    "svhn_mnist": _task_plan("svhn_mnist", _GPU, _GPU_BASELINE, DRAWS),
    "ablations": [(AVDAConfig(task="svhn_mnist", shots=5, **_GPU, **options), DRAWS) for options in _ABLATIONS],
}
"""The runs of chapter 7 by plan, each configuration with its draws."""

TITLES = {"avda": "AVDA", "source_only": "Source only", "fine_tune": "Source + fine-tune on the shots",
          "target_only": "Target only (the shots)", "dann": "DANN (same encoder)"}
ABLATION_TITLES = {"learn_prior-False": "AVDA_FP: fixed prior", "discriminator-binary": "AVDA_ADA: binary discriminator",
                   "target_decoder-True": "AVDA_GT: target decoder", "categorical_kl-False": "no KL(q(y|z) ‖ p(y))"}
METRICS = ("test_accuracy_selected", "test_accuracy_final")


def plan_task(plan: Plan) -> str:
    """The one task of ``plan`` (a result file holds one task), or raise."""
    if not isinstance(plan, list) or not plan or not all(
            isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], AVDAConfig) for e in plan):
        raise TypeError(f"plan must be a non-empty list of (AVDAConfig, draws) pairs, got {plan!r:.80}")
    for config, draws in plan:
        check_seeds(draws, f"the draws of {config.label}")
    tasks = {config.task for config, _ in plan}
    if len(tasks) != 1:
        raise ValueError(f"one task per result file, got {sorted(tasks)}")
    return tasks.pop()


def summarize(records: list[dict]) -> dict[str, dict[str, list[float]]]:
    """Per run label and metric: ``[mean, std, n, best]`` in % over the draws (std with ``ddof=1``; 0 for one)."""
    if not isinstance(records, list) or not all(isinstance(r, dict) and "model" in r for r in records):
        raise TypeError("records must be a list of run records (dicts with a 'model' label)")
    summary: dict[str, dict[str, list[float]]] = {}
    for label in dict.fromkeys(r["model"] for r in records):
        rows = [r for r in records if r["model"] == label]
        summary[label] = {}
        for metric in (*METRICS, "validation_accuracy"):
            values = np.array([100.0 * r[metric] for r in rows if metric in r])
            if values.size:
                std = float(values.std(ddof=1)) if values.size > 1 else 0.0
                summary[label][metric] = [round(float(values.mean()), 3), round(std, 3), int(values.size),
                                          round(float(values.max()), 3)]
    return summary


def reproduce(plan: Plan, run_dir: Path, result_name: str, device: torch.device | None = None, progress: bool = True,
              results_dir: Path | None = None, profile: str | None = None) -> Path:
    """Run every configuration of one task's plan for its draws and write ``<results_dir>/<result_name>.json``: each
    run's record, the source models' records and :func:`summarize` of the runs, with provenance."""
    task = plan_task(plan)
    run_dir, result_name, results_dir, device = check_outputs(run_dir, result_name, results_dir, device)
    commit, start = git_commit(), time.perf_counter()
    data = signed_domain_data(task, device, profile)
    records, sources = [], {}
    for config, draws in plan:
        records += run_plan_entry(config, draws, data, run_dir, progress)
        if config.method != "dann":
            sources[config.source_name()] = source_model(config, data, run_dir, progress)[1]
    meta = provenance({"runs": [asdict(c) | {"draws": d} for c, d in plan], "data_sources": data.sources,
                       "selection_rule": "validation accuracy on 100 labelled target training images (latest among "
                                         "ties); the target test labels select nothing"},
                      sorted({d for _, draws in plan for d in draws}), device, time.perf_counter() - start)
    metrics = {"summary": summarize(records), "runs": records, "sources": sources}
    return write_result(result_name, metrics, meta | {"commit": commit}, results_dir)


def trained_run(config: AVDAConfig, draw: int, data: DomainData, run_dir: Path | None = None, progress: bool = True
                ) -> tuple[AVDASource, torch.nn.Module, dict]:
    """The source model, the final model and the record of one run: read back from ``run_dir`` when it finished
    there, else trained (and kept there, if given)."""
    check_instance(config, AVDAConfig, "config")
    source = None if config.method == "dann" else source_model(config, data, run_dir, progress)[0]
    holder = {}

    def run(folder: Path | None) -> dict:
        holder["model"], record = train_run(config, data, draw, source, folder, progress)
        return record

    record = load_or_run(run_dir, run_name(config, draw), run)
    model = holder["model"] if "model" in holder else load_run_model(config, data, draw, source, run_dir)
    return source, model, record


def split_accuracies(plan: str, run_dir: Path, labels: tuple[str, ...] = ("source_only_0shot", "avda_5shot"),
                     device: torch.device | None = None, results_dir: Path | None = None) -> Path:
    """Diagnosis of the USPS substitute: the finished runs of ``labels`` in ``plan`` scored on the target's
    *training* images they adapted to (every image but the shots; labels read only to measure) and on its test
    split, written to ``results/avda_<plan>_splits.json``.

    With USPS as the target the two splits come from different releases of the scans (the ESL release for
    training, torchvision's for testing, see the chapter); the runs are then also scored on the ESL release of the
    same 2 007 test digits (``esl_test_accuracy``). With MNIST as the target both splits come from one release."""
    check_choice(plan, tuple(PLANS), "plan")
    labels = check_names(labels, "labels")
    run_dir, result_name, results_dir, device = check_outputs(run_dir, f"{RESULT_PREFIX}_{plan}_splits",
                                                              results_dir, device)
    start, task = time.perf_counter(), plan_task(PLANS[plan])
    data = signed_domain_data(task, device)
    extra = {}
    if TASKS[task].target == "usps":
        esl = load_usps_esl_variant("test", data_root() / USPS_ESL_FOLDER)
        extra["esl_test_accuracy"] = (to_signed_images(task_images(task, esl, device, data.target_x.shape[-1])[0]),
                                      esl.y.long().to(device))
    records = []
    for config, draws in PLANS[plan]:
        if config.label not in labels:
            continue
        source = None if config.method == "dann" else source_model(config, data, run_dir, progress=False)[0]
        for draw in draws:
            model = load_run_model(config, data, draw, source, run_dir)
            keep = split_target(config, data, draw)["unlabelled"].to(data.target_x.device)
            records.append({"model": config.label, "draw": draw,
                            "target_train_accuracy": accuracy(model.predict(data.target_x[keep]), data.target_y[keep]),
                            "target_test_accuracy": accuracy(model.predict(data.target_test_x), data.target_test_y),
                            **{name: accuracy(model.predict(x), y) for name, (x, y) in extra.items()}})
    summary = {label: {metric: [round(100 * float(np.mean(values)), 3), round(100 * float(np.std(values, ddof=1))
                                                                            if len(values) > 1 else 0.0, 3),
                                len(values)]
                       for metric in ("target_train_accuracy", "target_test_accuracy", *extra)
                       for values in [[r[metric] for r in records if r["model"] == label]]}
               for label in dict.fromkeys(r["model"] for r in records)}
    meta = provenance({"plan": plan, "labels": list(labels), "data_sources": data.sources},
                      sorted({r["draw"] for r in records}), device, time.perf_counter() - start)
    return write_result(result_name, {"summary": summary, "runs": records}, meta, results_dir)


def stored(plan: str, splits: bool = False) -> dict:
    """The stored result of a plan (``results/avda_<plan>.json``), or with ``splits`` its split diagnosis
    (``results/avda_<plan>_splits.json``, :func:`split_accuracies`); :class:`MissingResultError` if absent."""
    check_choice(plan, tuple(PLANS), "plan")
    check_instance(splits, bool, "splits")
    result = read_result(f"{RESULT_PREFIX}_{plan}" + ("_splits" if splits else ""))
    if result is None:
        flag = " --splits" if splits else ""
        raise MissingResultError(f"no stored result of plan {plan}{flag}; run python -m gi_core.experiments.avda "
                                 f"--plan {plan}{flag}")
    return result


def _cell(values: list[float] | None) -> str:
    return "" if values is None else f"{values[0]:.2f} ± {values[1]:.2f} (best {values[3]:.2f}, n = {values[2]})"


def accuracy_table(plan: str, metric: str = "test_accuracy_selected") -> pd.DataFrame:
    """The chapter's table of one task: each method (rows) by label budget (columns), mean ± std over draws and the
    best draw, beside AVDA's numbers in the thesis (Tables 4.1/4.2)."""
    check_choice(metric, METRICS, "metric")
    result = stored(plan)
    summary = result["metrics"]["summary"]
    task = plan_task(PLANS[plan])
    reference = read_reference("seed000_tables_4_1_4_2")["table"][task]
    rows: dict[str, dict[str, str]] = {}
    for config, _ in PLANS[plan]:
        values = summary.get(config.label, {}).get("test_accuracy_final" if config.method == "source_only" else metric)
        title = TITLES[config.method]
        for shots in ((0, 1, 5) if config.method == "source_only" else (config.shots,)):
            rows.setdefault(title, {})[f"{shots}-shot" if shots else "unsupervised"] = _cell(values)
    thesis = {f"{k}-shot" if k != "0" else "unsupervised": f"{v['AVDA']:.2f} ± {v['AVDA_std']:.2f} (best {v['AVDA_best']:.2f})"
              for k, v in reference.items()}
    rows["AVDA, Pérez Carrasco (2021)"] = thesis
    return pd.DataFrame(rows).T.fillna("")[["unsupervised", "1-shot", "5-shot"]]


def ablation_table(metric: str = "test_accuracy_selected") -> pd.DataFrame:
    """The §4.1.3 ablations (MNIST→USPS, 5-shot, here; SVHN→MNIST in the thesis) beside full AVDA on the same draws."""
    check_choice(metric, METRICS, "metric")
    summary = stored("ablations_cpu")["metrics"]["summary"]
    full = stored("mnist_usps_cpu")["metrics"]["summary"]["avda_5shot"][metric]
    reference = read_reference("seed000_tables_4_1_4_2")["table"]["ablation_svhn_mnist_5shot"]
    rows = {"AVDA": {"accuracy": _cell(full), "thesis (S→M)": f"{reference['AVDA']} ± {reference['AVDA_std']}"}}
    for config, _ in PLANS["ablations_cpu"]:
        option = config.label.removeprefix("avda_").removesuffix("_5shot")
        title = ABLATION_TITLES[option]
        thesis = next((f"{v} ± {reference[k + '_std']}" for k, v in reference.items()
                       if k.startswith(title.split(":")[0]) and not k.endswith("_std")), "")
        rows[title] = {"accuracy": _cell(summary.get(config.label, {}).get(metric)), "thesis (S→M)": thesis}
    return pd.DataFrame(rows).T


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", required=True, choices=list(PLANS), help="the plan whose runs to reproduce")
    parser.add_argument("--runs", nargs="+", default=None, metavar="LABEL", help="only these run labels of the plan")
    parser.add_argument("--splits", action="store_true",
                        help="after the plan's runs: score source only and AVDA 5-shot on the target's training and "
                             "test splits (results/avda_<plan>_splits.json)")
    add_run_arguments(parser, steps=None, batch_size=AVDAConfig.batch_size, run_dir="avda",
                      result_help="result file stem (default avda_<plan>)")
    parser.set_defaults(batch_size=None)  # the plans' own batch sizes unless --batch-size is given
    args = parser.parse_args(argv)
    if current_profile() != "full" and args.plan != "quick":
        parser.error("set GI_PROFILE=full: the reproduction needs the complete datasets")
    plan = PLANS[args.plan]
    if args.runs:
        unknown = sorted(set(args.runs) - {config.label for config, _ in plan})
        if unknown:
            parser.error(f"{args.plan} plans no runs {unknown}; it plans {[config.label for config, _ in plan]}")
        plan = [(config, draws) for config, draws in plan if config.label in args.runs]
    overrides = {name: value for name, value in (("steps", args.steps), ("batch_size", args.batch_size),
                                                 ("amp", args.amp), ("compile", args.compile)) if value not in (None, False)}
    plan = [(replace(config, **overrides), args.seeds or draws) for config, draws in plan]
    path = reproduce(plan, args.run_dir / plan_task(plan), args.result or f"{RESULT_PREFIX}_{args.plan}",
                     results_dir=args.results_dir)
    print(f"wrote {path}")
    if args.splits:
        print(f"wrote {split_accuracies(args.plan, args.run_dir / plan_task(plan), results_dir=args.results_dir)}")


if __name__ == "__main__":
    main()
