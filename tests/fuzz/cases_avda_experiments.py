"""Fuzz cases of the AVDA chapter's experiment (Pérez Carrasco 2021; see tests.fuzz.harness): its runs
(gi_core.experiments.avda_runs) and its plans, summary, reproduction and tables (gi_core.experiments.avda).

The runs see the quick MNIST→USPS subsets cut to 64 source and 120 target training images and 40 test images of each
domain, with 1 shot per class, batches of 8 and 2 steps; a finished run is read back from its own folder. The
reproduction runs a one-entry plan (the source only baseline) on the whole quick subsets. The stored results and the
tables built from them are not called validly (``run_valid=False``): they read ``results/avda_<plan>.json``, which only
the full-profile runs write; their bad inputs are refused before anything is read.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from functools import cache
from pathlib import Path

import torch

from gi_core.data.digit_shots import signed_domain_data
from gi_core.data.domains import DomainData
from gi_core.experiments import avda_runs as ar
from gi_core.models.avda import AVDASource
from tests.fuzz.harness import Case, scratch

R, E = "gi_core.experiments.avda_runs.", "gi_core.experiments.avda."
CPU = torch.device("cpu")
SEED = "0 is a seed (a draw of the shots)"
FREE = "free text: any string is a valid title, stem or description (check_file_stem checks a stem when it is written)"
ARGPARSE = "a command line: argparse validates it (a bad --plan or --steps is its usage error, exit status 2)"
TINY = ar.AVDAConfig(shots=1, pretrain_steps=2, steps=2, batch_size=8, eval_every=2, validation_size=10,
                     source_seed=1)
SOURCE_ONLY = [(replace(TINY, method="source_only", shots=0), [0])]


@cache
def data() -> DomainData:
    quick = signed_domain_data("mnist_usps", CPU, "quick")
    return replace(quick, source_x=quick.source_x[:64], source_y=quick.source_y[:64],
                   source_test_x=quick.source_test_x[:40], source_test_y=quick.source_test_y[:40],
                   target_x=quick.target_x[:120], target_y=quick.target_y[:120],
                   target_test_x=quick.target_test_x[:40], target_test_y=quick.target_test_y[:40])


def source() -> AVDASource:
    return ar.source_model(TINY, data(), scratch("avda_source"), progress=False)[0]


@cache
def stored_runs() -> Path:
    """A run directory holding the finished run of TINY on draw 1 (and its source model)."""
    folder = scratch("avda_stored_runs")
    ar.run_plan_entry(TINY, [1], data(), folder, progress=False)
    return folder


def records() -> list[dict]:
    return [{"model": "avda_1shot", "test_accuracy_selected": 0.9 - d / 10, "test_accuracy_final": 0.8,
             "validation_accuracy": 0.95} for d in range(3)]


RUNS = [
    Case(R + "AVDAConfig", lambda: asdict(TINY),
         allow={"shots:zero": "0 shots is unsupervised adaptation (AVDA without labelled target images)",
                "checkpoint_every:zero": "0 turns the periodic checkpoints off (a run still checkpoints at each "
                                         "evaluation)",
                "source_seed:zero": "0 is a seed (of the source model)"}),
    Case(R + "AVDAConfig.source_name", dict, instance=lambda: TINY),
    Case(R + "run_name", lambda: {"config": TINY, "draw": 1}, allow={"draw:zero": SEED}),
    Case(R + "source_model", lambda: {"config": TINY, "data": data(), "run_dir": scratch("avda_source"),
                                      "progress": False}),
    Case(R + "split_target", lambda: {"config": TINY, "data": data(), "draw": 1}, allow={"draw:zero": SEED}),
    Case(R + "train_run", lambda: {"config": TINY, "data": data(), "draw": 1, "source": source(),
                                   "checkpoint_dir": scratch(), "progress": False}, allow={"draw:zero": SEED}),
    Case(R + "load_run_model", lambda: {"config": TINY, "data": data(), "draw": 1, "source": source(),
                                        "run_dir": stored_runs()}),
    Case(R + "run_plan_entry", lambda: {"config": TINY, "draws": [1], "data": data(),
                                        "run_dir": scratch("avda_plan_runs"), "progress": False}),
]

EXPERIMENT = [
    Case(E + "plan_task", lambda: {"plan": [(TINY, [0, 1]), (replace(TINY, method="source_only", shots=0), [0])]}),
    Case(E + "summarize", lambda: {"records": records()}),
    Case(E + "reproduce", lambda: {"plan": SOURCE_ONLY, "run_dir": scratch("avda_reproduce_runs"),
                                   "result_name": "avda_fuzz", "device": CPU, "progress": False,
                                   "results_dir": scratch("avda_reproduce_results"), "profile": "quick"},
         allow={"result_name:unknown": FREE}),
    Case(E + "trained_run", lambda: {"config": TINY, "draw": 1, "data": data(), "run_dir": scratch("avda_trained"),
                                     "progress": False}, allow={"draw:zero": SEED}),
    Case(E + "stored", lambda: {"plan": "mnist_usps_cpu"}, run_valid=False),
    Case(E + "split_accuracies", lambda: {"plan": "mnist_usps_cpu", "run_dir": scratch("avda_splits"),
                                          "labels": ("avda_5shot",)}, run_valid=False),
    Case(E + "accuracy_table", lambda: {"plan": "mnist_usps_cpu", "metric": "test_accuracy_selected"},
         run_valid=False),
    Case(E + "ablation_table", lambda: {"metric": "test_accuracy_selected"}, run_valid=False),
]

CASES: list[Case] = [*RUNS, *EXPERIMENT]
EXEMPT: dict[str, str] = {E + "main": ARGPARSE}
