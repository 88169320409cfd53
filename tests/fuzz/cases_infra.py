"""Fuzz cases of the infrastructure modules: results, runs, runtime, batching, validation (see tests.fuzz.harness)."""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gi_core.diagrams import Edge, Node
from gi_core.results import provenance, write_result
from gi_core.runtime import RunContext
from tests.fuzz.harness import Case, scratch

CPU = torch.device("cpu")
LABEL = "the label its messages give the input: any string, only read when raising"
LITERAL = "a literal of gi_core's own calls that configures the check, not an input it checks"
DTYPES_ONLY = "the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)"
SHAPES_ONLY = "the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)"


def folder() -> Path:
    """The scratch folder of the infrastructure cases."""
    return scratch("infra")


def meta() -> dict:
    return provenance({"lr": 1e-3}, [0], CPU, 1.5)


@cache
def stored_result() -> Path:
    """A result ``demo`` written once into :func:`folder`."""
    return write_result("demo", {"elbo": -90.5}, meta(), folder())


def summary() -> dict:
    return {"a": {"acc": [0.7, 0.03, 3]}, "b": {"acc": [0.5, 0.0, 1]}}


CASES: list[Case] = [
    # --- results ---
    Case("gi_core.results.git_commit", lambda: {"repo": folder()}),
    Case("gi_core.results.provenance", lambda: {"config": {"lr": 1e-3}, "seeds": [0, 1], "device": CPU, "wall_time_s": 1.5}),
    Case("gi_core.results.write_result",
         lambda: {"name": "demo", "metrics": {"elbo": -90.5}, "meta": meta(), "directory": folder() / "written"},
         allow={"name:unknown": "any plain file stem names a result file"}),
    Case("gi_core.results.read_json", lambda: {"path": stored_result(), "required": {"metrics": dict}}),
    Case("gi_core.results.read_result", lambda: {"name": stored_result().stem, "directory": folder()},
         allow={"name:unknown": "a result not recorded yet reads as None (the chapters then show the quick run)"}),
    Case("gi_core.results.read_reference", lambda: {"name": "seed002_table_6_4"}),
    Case("gi_core.results.summarize_runs",
         lambda: {"records": [{"model": "a", "acc": 0.5}, {"model": "a", "acc": 0.7}], "metrics": ("acc",), "key": "model"}),
    Case("gi_core.results.format_mean_std", lambda: {"values": [0.61, 0.02, 3], "digits": 3},
         allow={"digits:zero": "no decimals: the numbers rounded to integers"}),
    Case("gi_core.results.compare_with_reference",
         lambda: {"summary": summary(), "reference": {"a": {"acc": [0.6, 0.04]}}, "metrics": ("acc",)}),
    # --- runs ---
    Case("gi_core.runs.load_or_run",
         lambda: {"run_dir": folder() / "runs", "name": "a", "run": lambda checkpoint_dir: {"acc": 0.5}, "check": None},
         allow={"name:unknown": "a new run name: the run runs and its record is stored under that name"}),
    Case("gi_core.runs.load_or_run_group",
         lambda: {"run_dir": folder() / "group_runs", "names": ["run_a", "run_b"],
                  "run_group": lambda pending, folders: {name: {"value": 1.0} for name in pending},
                  "check": lambda record, path: None}),
    Case("gi_core.runs.check_outputs",
         lambda: {"run_dir": folder() / "runs", "result_name": "demo", "results_dir": folder(), "device": "cpu"},
         allow={"result_name:unknown": "any plain file stem names a result file"}),
    Case("gi_core.runs.add_run_arguments",
         lambda: {"parser": argparse.ArgumentParser(), "steps": 10, "batch_size": 64, "run_dir": "zoo",
                  "result_help": "result file stem"},
         allow={"run_dir:unknown": "any folder name under the runs' cache", "result_help:unknown": "free help text"}),
    # --- runtime ---
    Case("gi_core.runtime.RunContext", lambda: {"profile": "quick", "device": CPU}),
    Case("gi_core.runtime.RunContext.describe", lambda: {}, instance=lambda: RunContext("quick", CPU)),
    Case("gi_core.runtime.RunContext.pick", lambda: {"quick": 100, "full": 1000}, instance=lambda: RunContext("quick", CPU),
         allow={"quick:*": "any object: pick returns one of its arguments unchanged",
                "full:*": "any object: pick returns one of its arguments unchanged"}),
    Case("gi_core.runtime.cpu_model", lambda: {}),
    Case("gi_core.runtime.current_profile", lambda: {}),
    Case("gi_core.runtime.default_device", lambda: {}),
    Case("gi_core.runtime.device_name", lambda: {"device": CPU}),
    Case("gi_core.runtime.run_context", lambda: {"verbose": False}),
    Case("gi_core.runtime.seed_everything", lambda: {"seed": 3}, allow={"seed:zero": "0 is a seed"}),
    # --- diagrams ---
    Case("gi_core.diagrams.Node", lambda: {"name": "x", "xy": (1.0, 1.0), "label": "$x$", "kind": "observed"},
         allow={"name:unknown": "any name identifies a node", "label:unknown": "free text: any label",
                "label:empty": "a shape without a label (an operation dot)"}),
    Case("gi_core.diagrams.Edge", lambda: {"source": "x", "target": "z", "label": "", "style": "solid", "bend": 0.2},
         allow={"source:unknown": "any name: draw_diagram checks it names a node",
                "target:unknown": "any name: draw_diagram checks it names a node",
                "label:unknown": "free text: any label", "bend:zero": "a straight arrow",
                "bend:negative": "an arc bending to the other side"}),
    Case("gi_core.diagrams.draw_diagram",
         lambda: {"nodes": [Node("x", (0.5, 0.5), "$x$", "observed"), Node("z", (2.0, 0.5), "$z$", "latent")],
                  "edges": [Edge("x", "z")], "size": (3.0, 1.0), "fontsize": 12.0},
         allow={"edges:empty": "a diagram of nodes alone"}),
    # --- batching ---
    Case("gi_core.batching.batched_mean", lambda: {"statistic": lambda b: b.mean(), "x": torch.rand(6, 2), "batch_size": 4},
         allow={"x:rank": "x is split along its first axis; what one example is, the statistic checks",
                "x:size": "x is split along its first axis; what one example is, the statistic checks"}),
    Case("gi_core.batching.apply_in_batches", lambda: {"fn": lambda b: 2.0 * b, "x": torch.rand(6, 2), "batch_size": 4},
         allow={"x:rank": "x is split along its first axis; what one example is, fn checks",
                "x:size": "x is split along its first axis; what one example is, fn checks"}),
    Case("gi_core.batching.eval_mode", lambda: {"module": nn.Linear(2, 2)}),
    # --- validation ---
    Case("gi_core.validation.check_tensor", lambda: {"x": torch.rand(3, 2), "name": "x", "ndim": 2},
         allow={"x:size": "check_tensor checks the rank; sizes are check_same_shape's and broadcast_batch_shape's"},
         skip={"name": LABEL, "ndim": LITERAL}),
    Case("gi_core.validation.check_module", lambda: {"module": nn.Linear(2, 2), "name": "module"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_array", lambda: {"x": np.random.default_rng(0).random((3, 2)), "name": "x", "ndim": 2},
         allow={"x:size": "check_array checks the rank, not the sizes"}, skip={"name": LABEL, "ndim": LITERAL}),
    Case("gi_core.validation.check_same_shape", lambda: {"mean": torch.rand(3, 2), "log_var": torch.rand(3, 2)},
         allow={f"{name}:{mutation}": SHAPES_ONLY for name in ("mean", "log_var") for mutation in ("dtype", "nan", "inf")}),
    Case("gi_core.validation.check_positive", lambda: {"x": torch.rand(3) + 0.1, "name": "x"},
         allow={"x:inf": "+inf is strictly positive; finiteness is check_tensor's",
                "x:empty": "no entry is non-positive; emptiness is check_tensor's",
                "x:rank": "every entry is checked, whatever the shape",
                "x:size": "every entry is checked, whatever the shape"},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_choice", lambda: {"value": "b", "allowed": ("a", "b"), "what": "value"},
         skip={"allowed": LITERAL, "what": LABEL}),
    Case("gi_core.validation.check_real", lambda: {"value": 0.5, "name": "value", "minimum": 0.0, "maximum": 1.0},
         skip={"name": LABEL, "minimum": LITERAL, "maximum": LITERAL}),
    Case("gi_core.validation.check_non_negative_int", lambda: {"value": 3, "name": "value"},
         allow={"value:zero": "0 is non-negative"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_positive_int", lambda: {"value": 3, "name": "value"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_sizes", lambda: {"values": (4, 2), "name": "values"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_seeds", lambda: {"values": [0, 1], "name": "values"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_names", lambda: {"values": ("acc", "fid"), "name": "values"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_path", lambda: {"value": Path("runs"), "name": "value"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_file_stem", lambda: {"value": "demo", "name": "value"},
         allow={"value:unknown": "any plain file stem"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_json", lambda: {"value": {"fid": 1.5, "runs": [{"seed": 0}]}, "name": "metrics"},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_covariance", lambda: {"cov": 2.0 * torch.eye(2), "name": "cov"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_probability", lambda: {"p": 0.5, "name": "p"}, skip={"name": LABEL}),
    Case("gi_core.validation.broadcast_batch_shape",
         lambda: {"event_dims": 1, "mean": torch.rand(4, 3), "log_var": torch.rand(4, 3)},
         allow={"event_dims:zero": "no event axes: every axis broadcasts",
                **{f"{name}:{mutation}": SHAPES_ONLY for name in ("mean", "log_var") for mutation in ("dtype", "nan", "inf")},
                **{f"{name}:rank": "a leading axis broadcasts, as documented" for name in ("mean", "log_var")}}),
    Case("gi_core.validation.check_batch", lambda: {"x": torch.rand(4, 3), "name": "x", "shape": (3,)},
         skip={"name": LABEL, "shape": LITERAL}),
    Case("gi_core.validation.check_same_dtype", lambda: {"mean": torch.rand(3), "cov": torch.rand(3, 3)},
         allow={f"{name}:{mutation}": DTYPES_ONLY for name in ("mean", "cov")
                for mutation in ("nan", "inf", "empty", "rank", "size")}),
    Case("gi_core.validation.check_generator", lambda: {"generator": torch.Generator(), "name": "generator"},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_instance", lambda: {"value": Path("runs"), "kind": Path, "name": "value"},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_callable", lambda: {"value": nn.Linear(2, 2), "name": "value"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_linalg_dtype", lambda: {"x": torch.rand(2, 2), "name": "x"},
         allow={f"x:{mutation}": "the check reads the dtype only; values and shapes are check_covariance's"
                for mutation in ("nan", "inf", "empty", "rank", "size")},
         skip={"name": LABEL}),
    Case("gi_core.validation.check_reals",
         lambda: {"values": (0.5, 0.999), "name": "values", "length": 2, "minimum": 0.0, "maximum": 1.0},
         skip={"name": LABEL, "length": LITERAL, "minimum": LITERAL, "maximum": LITERAL}),
    Case("gi_core.validation.check_str", lambda: {"value": "toy", "name": "value"},
         allow={"value:unknown": "free text: any string"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_device", lambda: {"value": "cpu", "name": "value"}, skip={"name": LABEL}),
    Case("gi_core.validation.check_labels", lambda: {"y": torch.tensor([0, 1, 2]), "n": 3, "name": "y"},
         skip={"name": LABEL, "n": "the number of examples the caller counted; a mismatch is reported as the labels'"}),
    Case("gi_core.validation.check_class_indices",
         lambda: {"y": torch.tensor([0, 2, 1]), "n": 3, "num_classes": 3, "name": "y"},
         skip={"name": LABEL, "n": "the number of examples the caller counted; a mismatch is reported as the labels'",
               "num_classes": "the model's own class count; a label beyond it is reported as the labels'"}),
]
EXEMPT: dict[str, str] = {
    "gi_core.results.ResultFileError": "an exception class: gi_core raises it with its message",
    "gi_core.results.MissingResultError": "an exception class: gi_core raises it with its message",
}
