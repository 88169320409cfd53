"""Fuzz cases of the light-curve chapter's experiment (see tests.fuzz.harness): its runs
(gi_core.experiments.light_curve_runs) and its plans, tables and reproduction (gi_core.experiments.light_curves), on the
shipped 135 curves cut to 20 points, with C = 2 networks trained for one epoch."""

from __future__ import annotations

import json
from dataclasses import replace
from functools import cache

import numpy as np
import torch

from gi_core.data.light_curve_folding import FoldedCurves
from gi_core.data.light_curves import LightCurveSet, load_asas
from gi_core.experiments import light_curve_runs as lr
from gi_core.experiments import light_curves as lc
from gi_core.models.lc_vade import LCVaDE, lc_vade_networks
from tests.fuzz.harness import Case, scratch

R, E = "gi_core.experiments.light_curve_runs.", "gi_core.experiments.light_curves."
CPU = torch.device("cpu")
SEED = "0 is a seed"
FREE = "free text: any string is a valid title, stem or description (check_file_stem checks a stem when it is written)"
OUTPUT = "a NamedTuple that gi_core's own functions return (results, not an input)"
ARGPARSE = "a command line: argparse validates it (a bad --plan or --epochs is its usage error, exit status 2)"


def config() -> dict:
    return {"model": "lc_vade", "outlier": "Beta_Persei", "source": "quick", "channels": 2, "kernel": "rbf",
            "epochs": 1, "batch_size": 27, "lr": 1e-3, "supervised_weight": 1.0, "length": 20,
            "eclipsing_period_factor": 1.0, "checkpoint_epochs": 1, "bootstrap": 10}


TINY = lr.LightCurveConfig(**config())
FOREST = replace(TINY, model="isolation_forest")
ROW = lc.Row("Beta Persei", TINY, (1,))
PLAN = lc.Plan((ROW, lc.Row("Isolation forest (statistics)", FOREST, (1,))), "light_curves_fuzz", "a tiny plan")


@cache
def folded() -> FoldedCurves:
    return lr.prepared_curves(TINY, progress=False)


def without_periods() -> dict:
    """Three stars without periods and a cache that holds theirs (read back, never estimated)."""
    quick = load_asas("quick").subset(range(3))
    path = scratch() / "periods.json"
    path.write_text(json.dumps({"periods": dict(zip(quick.star_ids, quick.periods.tolist()))}))
    curves: LightCurveSet = replace(quick, periods=None)
    return {"curves": curves, "cache": path, "progress": False}


def model() -> LCVaDE:
    torch.manual_seed(0)
    return lc_vade_networks(4, channels=2)


def outlier_scores() -> dict:
    rng = np.random.default_rng(0)
    is_outlier = np.arange(20) < 8
    return {"scores": rng.standard_normal(20) + is_outlier, "is_outlier": is_outlier, "resamples": 10, "seed": 1}


def records() -> list[dict]:
    def metrics(auroc: float) -> dict:
        return {"auroc": auroc, "auprc": auroc - 5, "auroc_interval": [auroc - 4, auroc + 3],
                "auprc_interval": [auroc - 9, auroc - 2]}

    return [{"seed": s, "outliers": 27, "train_size": 81,
             "metrics": {"latent": metrics(90.0 - s), "reconstruction": metrics(70.0 + s)}} for s in range(2)]


def stored_table() -> dict:
    runs = records()
    return {"metrics": {"rows": [{"title": "Beta Persei", "summary": lc.summarize(runs), "runs": runs}]}}


RUNS = [
    Case(R + "LightCurveConfig", config),
    Case(R + "LightCurveConfig.describe", dict, instance=lambda: TINY),
    Case(R + "run_name", lambda: {"config": TINY, "seed": 1}, allow={"seed:zero": SEED}),
    Case(R + "asas_periods", without_periods),
    Case(R + "prepared_curves", lambda: {"config": TINY, "run_dir": scratch("lc_prepared"), "progress": False,
                                         "device": CPU}),
    Case(R + "split_curves", lambda: {"curves": folded(), "outlier": "Beta_Persei", "seed": 1},
         allow={"seed:zero": SEED}),
    Case(R + "reconstruction_error", lambda: {"model": model(), "data": lr.split_curves(folded(), "Beta_Persei", 0).test}),
    Case(R + "latent_score_variants", lambda: {"model": model(), "data": lr.split_curves(folded(), "Beta_Persei", 0).test}),
    Case(R + "score_metrics", outlier_scores, allow={"seed:zero": SEED}),
    Case(R + "train_run", lambda: {"config": TINY, "curves": folded(), "seed": 1, "checkpoint_dir": scratch(),
                                   "progress": False}, allow={"seed:zero": SEED}),
]

EXPERIMENT = [
    Case(E + "Row", lambda: {"title": "LC-VaDE", "config": TINY, "seeds": (0, 1)}, allow={"title:unknown": FREE}),
    Case(E + "Plan", lambda: {"rows": (ROW,), "result": "light_curves_x", "description": "one row"},
         allow={"result:unknown": FREE, "description:unknown": FREE}),
    Case(E + "run_row", lambda: {"row": ROW, "run_dir": scratch("lc_rows"), "progress": False, "device": CPU}),
    Case(E + "trained_model", lambda: {"row": ROW, "seed": 1, "run_dir": scratch("lc_models"), "progress": False,
                                       "device": CPU}, allow={"seed:zero": SEED}),
    Case(E + "summarize", lambda: {"records": records()}),
    Case(E + "reproduce", lambda: {"plan": PLAN, "run_dir": scratch("lc_reproduce_runs"),
                                   "results_dir": scratch("lc_reproduce_results"), "device": CPU, "progress": False}),
    Case(E + "period_summary", lambda: {"config": TINY, "run_dir": scratch("lc_periods")}),
    Case(E + "outlier_table", lambda: {"stored": stored_table(), "score": "latent"}),
    Case(E + "comparison_table", lambda: {"stored": stored_table(), "with_thesis": True}),
    Case(E + "stored", lambda: {"plan": "asas_outliers_cpu"}),
]

CASES: list[Case] = [*RUNS, *EXPERIMENT]
EXEMPT: dict[str, str] = {
    E + "main": ARGPARSE,
    R + "Split": OUTPUT,
    R + "LightCurveRun": OUTPUT,
}
