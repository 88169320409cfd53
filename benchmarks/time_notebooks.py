"""How long each chapter takes in the quick profile: every notebook executed once, cell by cell, with timings.

Each notebook runs in a fresh kernel with ``GI_PROFILE=quick`` (as ``pytest --nbval`` runs it), on a copy (the
committed outputs are left alone). The result, ``results/quick_profile_<device>.json``, holds per notebook the
wall time, the slowest cell and its time; ``benchmarks/costs.py`` puts them in the README's cost table. Given some
notebooks, it re-times those and keeps the stored timings of the others (listed in the result's configuration).

    .venv/bin/python benchmarks/time_notebooks.py [notebooks/01_elbo.ipynb ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from gi_core.results import provenance, read_result, write_result  # noqa: E402


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    """Wall seconds of one executed code cell, from the timestamps nbclient records."""
    timing = cell.metadata.get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def time_notebook(path: Path) -> dict:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=1200, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - start
    code = [(i, cell_seconds(c)) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    slowest, slowest_seconds = max(code, key=lambda item: item[1])
    return {"wall_seconds": round(wall, 1), "code_cells": len(code), "slowest_cell": slowest,
            "slowest_cell_seconds": round(slowest_seconds, 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, default=sorted((REPO / "notebooks").glob("*.ipynb")))
    args = parser.parse_args(argv)
    os.environ["GI_PROFILE"] = "quick"
    start = time.perf_counter()
    timings = {}
    for path in args.notebooks:
        timings[path.stem] = time_notebook(path.resolve())
        t = timings[path.stem]
        print(f"{path.stem}: {t['wall_seconds']:.0f} s, slowest cell #{t['slowest_cell']} "
              f"{t['slowest_cell_seconds']:.0f} s", flush=True)
    stored = read_result("quick_profile_cpu")
    kept = {} if stored is None else {name: t for name, t in stored["metrics"]["notebooks"].items()
                                      if name not in timings and (REPO / "notebooks" / f"{name}.ipynb").exists()}
    config = {"profile": "quick", "notebooks": [p.stem for p in args.notebooks], "threads": torch.get_num_threads(),
              "kept_from_earlier_run": sorted(kept)}
    path = write_result("quick_profile_cpu", {"notebooks": {**kept, **timings}},
                        provenance(config, [0], torch.device("cpu"), time.perf_counter() - start))  # the notebooks seed their own runs
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
