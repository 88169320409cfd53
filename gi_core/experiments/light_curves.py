"""The light-curve chapter as an experiment (chapter 6): LC-VaDE's outlier detection beside Astorga's (2021) Tables 9.3
and 9.4 (ASAS columns).

:data:`PLANS` are the tables the chapter shows. Each is a list of rows (one detector on one outlier split, over
seeds): Table 9.3(b) (every class in turn the outlier), Table 9.4's ASAS column (the minority class as outlier:
LC-VaDE, the unimodal VAE, the energy GMM and an isolation forest on light-curve statistics) and the chapter's two
ablations (the periodic kernel, the eclipsing classes folded at half their period), at this CPU's budget and at the
thesis's width for a GPU. A plan's runs are kept in ``--run-dir`` (finished ones are read back, unfinished ones
resume), and its table is written with provenance::

    GI_DATA_ROOT=~/data python -m gi_core.experiments.light_curves --plan asas_outliers_cpu
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from gi_core.data.light_curves import FIVE_CLASSES, load_asas
from gi_core.experiments.light_curve_runs import (PERIODS_FILE, LightCurveConfig, LightCurveRun, asas_periods,
                                                  prepared_curves, run_name, train_run)
from gi_core.results import git_commit, provenance, read_reference, read_result, write_result
from gi_core.runs import add_run_arguments, check_outputs, load_or_run
from gi_core.validation import check_choice, check_instance, check_path, check_seeds, check_str

TITLES = {"Classical_Cepheid": "Classical Cepheid", "Semireg_PV": "Semireg PV", "Beta_Persei": "Beta Persei",
          "RR_Lyrae_FM": "RR Lyrae FM", "W_Ursae_Maj": "W Ursae Majoris"}
"""The thesis's names of the five ASAS classes."""


@dataclass(frozen=True)
class Row:
    """One row of a table: a detector and outlier class (``config``) over ``seeds``."""

    title: str
    config: LightCurveConfig
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        check_str(self.title, "title")
        check_instance(self.config, LightCurveConfig, "config")
        check_seeds(self.seeds, "seeds")


@dataclass(frozen=True)
class Plan:
    """A table of the chapter: its rows and the stem of its result file."""

    rows: tuple[Row, ...]
    result: str
    description: str

    def __post_init__(self) -> None:
        if not isinstance(self.rows, tuple) or not self.rows or not all(isinstance(r, Row) for r in self.rows):
            raise TypeError("rows must be a non-empty tuple of Row")
        if len({r.config.source for r in self.rows}) != 1:
            raise ValueError("the rows of a plan must use one data source (quick or full)")
        check_str(self.result, "result")
        check_str(self.description, "description")


CPU = LightCurveConfig(channels=72, epochs=50, batch_size=32)
"""This CPU's budget: the thesis's networks (C = 72) for 50 epochs (the thesis gives no batch size or epochs)."""
GPU = LightCurveConfig(channels=72, epochs=300, batch_size=32)
"""The thesis's networks for 300 epochs (our choice; a GPU's budget)."""
FOUR, THREE = (0, 1, 2, 3), (0, 1, 2)


def _outliers(base: LightCurveConfig) -> tuple[Row, ...]:
    return tuple(Row(TITLES[c], replace(base, outlier=c), FOUR) for c in FIVE_CLASSES)


def _minority(base: LightCurveConfig) -> tuple[Row, ...]:
    return (Row("LC-VaDE", base, FOUR), Row("VAE baseline (S)", replace(base, model="vae"), THREE),
            Row("Energy GMM (S)", replace(base, model="energy_gmm"), THREE),
            Row("Isolation forest (statistics)", replace(base, model="isolation_forest"), THREE))


def _ablations(base: LightCurveConfig) -> tuple[Row, ...]:
    return (Row("LC-VaDE (RBF kernel, estimated periods)", base, FOUR),
            Row("periodic kernel", replace(base, kernel="periodic"), THREE),
            Row("eclipsing classes at half their period", replace(base, eclipsing_period_factor=0.5), THREE),
            Row("no label supervision", replace(base, supervised_weight=0.0), THREE),
            Row("three times longer (150 epochs)", replace(base, epochs=3 * base.epochs), (0, 1)))


QUICK = LightCurveConfig(source="quick", channels=8, epochs=25, batch_size=27, bootstrap=500)
PLANS: dict[str, Plan] = {
    "quick": Plan((Row("LC-VaDE", QUICK, (0,)), Row("Isolation forest (statistics)",
                                                     replace(QUICK, model="isolation_forest"), (0,))),
                  "light_curves_quick", "the quick profile: the shipped 135 curves, Beta Persei as outlier, one seed"),
    "asas_outliers_cpu": Plan(_outliers(CPU), "light_curves_asas_outliers_cpu",
                              "Table 9.3(b): each ASAS class in turn the outlier, four seeds (this CPU's budget)"),
    "asas_minority_cpu": Plan(_minority(CPU), "light_curves_asas_minority_cpu",
                              "Table 9.4, ASAS column: Beta Persei (the minority class) as outlier, LC-VaDE and "
                              "three baselines (this CPU's budget)"),
    "asas_ablations_cpu": Plan(_ablations(CPU), "light_curves_asas_ablations_cpu",
                               "the chapter's ablations on the minority split: kernel, period, supervision, length"),
    "asas_outliers": Plan(_outliers(GPU), "light_curves_asas_outliers",
                          "Table 9.3(b) at the thesis's width, C = 72, 300 epochs (a GPU)"),
    "asas_minority": Plan(_minority(GPU), "light_curves_asas_minority",
                          "Table 9.4, ASAS column, at the thesis's width (a GPU)"),
}
"""The chapter's tables, by name."""


def run_row(row: Row, run_dir: Path | None, progress: bool = True, device: torch.device | None = None) -> list[dict]:
    """The record of every seed of ``row`` (finished runs read back from ``run_dir``, others trained or resumed on
    ``device``, default the CPU)."""
    check_instance(row, Row, "row")
    curves = prepared_curves(row.config, run_dir, progress, device)
    return [load_or_run(run_dir, run_name(row.config, seed),
                        lambda folder, seed=seed: train_run(row.config, curves, seed, folder, progress).record)
            for seed in row.seeds]


def trained_model(row: Row, seed: int, run_dir: Path | None, progress: bool = True,
                  device: torch.device | None = None) -> LightCurveRun:
    """The detector of one seed of ``row`` with its record: rebuilt from its checkpoints in ``run_dir`` when it has
    finished there (training resumes at its last step), else trained."""
    check_instance(row, Row, "row")
    folder = None if run_dir is None else check_path(run_dir, "run_dir") / run_name(row.config, seed)
    return train_run(row.config, prepared_curves(row.config, run_dir, progress, device), seed, folder, progress)


def summarize(records: list[dict]) -> dict[str, dict]:
    """Per score: mean, std (over the converged runs) and count of AUROC and AUPRC (%), and the runs that diverged."""
    if not isinstance(records, list) or not records:
        raise ValueError(f"records must be a non-empty list of run records, got {records!r:.80}")
    converged = [r for r in records if "metrics" in r]
    table: dict[str, dict] = {"diverged": [r["seed"] for r in records if "diverged" in r]}
    for name in (converged[0]["metrics"] if converged else {}):
        entry = {}
        for metric in ("auroc", "auprc"):
            values = np.array([r["metrics"][name][metric] for r in converged])
            entry[metric] = [float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values)]
        table[name] = entry
    return table


def reproduce(plan: Plan, run_dir: Path | None, results_dir: Path | None = None, device: torch.device | None = None,
              progress: bool = True) -> Path:
    """Train (or read back) every row of ``plan`` and write ``results/<plan.result>.json``: the runs' records and
    each row's summary (:func:`summarize`), with provenance."""
    check_instance(plan, Plan, "plan")
    run_dir, result, results_dir, device = check_outputs(run_dir, plan.result, results_dir, device)
    start, commit = time.perf_counter(), git_commit()
    rows = []
    for row in plan.rows:
        records = run_row(row, run_dir, progress, device)
        rows.append({"title": row.title, "config": row.config.describe(), "summary": summarize(records),
                     "names": [run_name(row.config, seed) for seed in row.seeds], "runs": records})
    seconds = sum(r["wall_time_s"] for row in rows for r in row["runs"])
    periods = period_summary(plan.rows[0].config, run_dir)
    described = {"rows": [{"title": r["title"], **r["config"]} for r in rows], "cpu_threads": torch.get_num_threads() if device.type == "cpu" else None}
    seeds = sorted({s for row in plan.rows for s in row.seeds})
    meta = {**provenance(described, seeds, device, seconds or time.perf_counter() - start), "commit": commit}
    return write_result(result, {"rows": rows, "periods": periods}, meta, results_dir)


def period_summary(config: LightCurveConfig, run_dir: Path | None = None) -> dict[str, dict]:
    """Per class of ``config.source``: the number of stars and the median, smallest and largest estimated period
    (days), as :func:`~gi_core.experiments.light_curve_runs.asas_periods` gives them."""
    check_instance(config, LightCurveConfig, "config")
    curves = load_asas(config.source)
    cache = None if run_dir is None else check_path(run_dir, "run_dir") / PERIODS_FILE.format(source=config.source)
    periods = asas_periods(curves, cache, progress=False)
    return {name: {"stars": int((curves.labels == k).sum()),
                   "median": float(np.median(periods[curves.labels == k])),
                   "min": float(periods[curves.labels == k].min()), "max": float(periods[curves.labels == k].max())}
            for k, name in enumerate(curves.class_names)}


def _cell(entry: list[float]) -> str:
    mean, std, _ = entry
    return f"{mean:.2f} ± {std:.2f}"


def outlier_table(stored: dict, score: str = "latent") -> pd.DataFrame:
    """A stored Table 9.3(b) plan beside the thesis's ASAS rows: AUROC and AUPRC (%) mean ± std over runs of
    ``score`` (``"latent"``: −IAS), with the spread of the runs' bootstrap intervals."""
    check_instance(stored, dict, "stored")
    reference = read_reference("seed002_table_9_3")["table"]["asas"]
    scores = set.intersection(*(set(row["summary"]) - {"diverged"} for row in stored["metrics"]["rows"]))
    check_choice(score, tuple(sorted(scores)), "score")
    rows = {}
    for row in stored["metrics"]["rows"]:
        summary = row["summary"][score]
        runs = [r for r in row["runs"] if "metrics" in r]
        widths = [r["metrics"][score]["auroc_interval"][1] - r["metrics"][score]["auroc_interval"][0] for r in runs]
        thesis = reference[row["title"]]
        rows[row["title"]] = {
            "AUROC (ours)": _cell(summary["auroc"]), "AUROC (Table 9.3)": f"{thesis['auroc']:.2f} ± {thesis['auroc_std']:.2f}",
            "AUPRC (ours)": _cell(summary["auprc"]), "AUPRC (Table 9.3)": f"{thesis['auprc']:.2f} ± {thesis['auprc_std']:.2f}",
            "runs": summary["auroc"][2], "95% bootstrap width (AUROC)": round(float(np.mean(widths)), 1),
            "outliers in test": runs[0]["outliers"], "training curves": runs[0]["train_size"]}
    return pd.DataFrame(rows).T


def comparison_table(stored: dict, with_thesis: bool = True) -> pd.DataFrame:
    """A stored plan's rows, every score of every detector (AUROC and AUPRC in %, mean ± std over its converged runs),
    with (``with_thesis``) Table 9.4's ASAS column below them."""
    check_instance(stored, dict, "stored")
    check_instance(with_thesis, bool, "with_thesis")
    reference = read_reference("seed002_table_9_3")["table"]["minority_outlier"]
    rows = {}
    for row in stored["metrics"]["rows"]:
        if len(row["summary"]) == 1:  # every run diverged: only the list of their seeds
            rows[row["title"]] = {"AUROC (ours)": "every run diverged", "AUPRC (ours)": "", "runs": 0,
                                  "diverged": len(row["summary"]["diverged"])}
        for score, summary in row["summary"].items():
            if score == "diverged":
                continue
            label = row["title"] if len(row["summary"]) == 2 else f"{row['title']}, {score} score"
            rows[label] = {"AUROC (ours)": _cell(summary["auroc"]), "AUPRC (ours)": _cell(summary["auprc"]),
                           "runs": summary["auroc"][2], "diverged": len(row["summary"]["diverged"])}
    for method, entry in reference.items() if with_thesis else ():
        rows[f"{method} (Table 9.4)"] = {"AUROC (ours)": "", "AUPRC (ours)": "", "runs": "4" if method == "LC-VaDE" else "3",
                                         "AUROC (thesis)": f"{entry['asas_auroc']:.2f} ± {entry['asas_auroc_std']:.2f}",
                                         "AUPRC (thesis)": f"{entry['asas_auprc']:.2f} ± {entry['asas_auprc_std']:.2f}"}
    return pd.DataFrame(rows).T.fillna("")


def stored(plan: str = "asas_outliers_cpu") -> dict | None:
    """The stored result of plan ``plan``, or ``None``."""
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {sorted(PLANS)}, got {plan!r}")
    return read_result(PLANS[plan].result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=sorted(set(PLANS) - {"quick"}), required=True,
                        help="; ".join(f"{name}: {plan.description}" for name, plan in PLANS.items() if name != "quick"))
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every neural row (default: the plan's)")
    add_run_arguments(parser, steps=None, batch_size=CPU.batch_size, run_dir="light_curves",
                      result_help="result file stem (default: the plan's)")
    args = parser.parse_args(argv)
    if args.amp or args.compile or args.steps:
        parser.error("--amp, --compile and --steps are not used by these plans (epochs set their length)")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    plan = PLANS[args.plan]
    rows = tuple(replace(row, seeds=tuple(args.seeds or row.seeds),
                         config=replace(row.config, epochs=args.epochs or row.config.epochs,
                                        batch_size=args.batch_size)) for row in plan.rows)
    plan = replace(plan, rows=rows, result=args.result or plan.result)
    print(f"wrote {reproduce(plan, args.run_dir, args.results_dir)}")


if __name__ == "__main__":
    main()
