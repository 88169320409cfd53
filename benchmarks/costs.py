"""The README's cost table, from stored results: each chapter's quick profile (measured by ``time_notebooks.py``)
and full profile (the training time of its stored runs, measured; on one H100, an estimate).

The H100 estimate is the full profile's floating-point work, taken as each stored result's CPU training seconds times
the FLOP/s the benchmark MLP reached on that CPU (``results/benchmark_cpu*.json``), run at 10 % of an H100's float32 peak (67
TFLOP/s, NVIDIA's data sheet for the SXM part): small networks launch many small kernels and leave a GPU mostly idle,
so the share is an assumption, as it is in the Colab cells' T4 estimate (``tests/notebooks/colab_cells.py``).

    .venv/bin/python benchmarks/costs.py    # prints the table that README.md shows
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.notebooks.colab_cells import CHAPTER_RESULTS, training_seconds, training_work  # noqa: E402

H100_FLOPS = 67e12
H100_SHARE = 0.10
TITLES = {"01_elbo": "1, the ELBO", "02_joint_kl": "2, the joint KL", "03_mutual_information": "3, the MI view",
          "04_domain_adaptation": "4, domain adaptation", "04b_domain_adaptation_diagnostics": "4, appendix",
          "05_clustering": "5, clustering", "06_light_curves": "6, light curves",
          "07_avda": "7, AVDA"}


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}" if seconds < 600 else f"{seconds / 60:.0f}"


def table() -> str:
    """The markdown table of the README's section "What it costs"."""
    quick = json.loads((REPO / "results" / "quick_profile_cpu.json").read_text())["metrics"]["notebooks"]
    lines = ["| chapter | quick profile, 2-core CPU (measured) | its slowest cell | full profile, 2-core CPU "
             "(measured training) | full profile, one H100 (estimate) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    total_cpu = total_work = 0.0
    for chapter, results in CHAPTER_RESULTS.items():
        counted, counted_work = set(), set()  # a run shared by two of the chapter's tables counts once
        cpu = sum(training_seconds(result, counted) for result in results)
        work = sum(training_work(result, counted_work) for result in results)
        h100 = work / (H100_FLOPS * H100_SHARE)
        total_cpu, total_work = total_cpu + cpu, total_work + work
        q = quick[chapter]
        lines.append(f"| {TITLES[chapter]} | {minutes(q['wall_seconds'])} min | {q['slowest_cell_seconds']:.0f} s | "
                     f"{minutes(cpu)} min | {minutes(h100)} min |")
    total_quick = sum(q["wall_seconds"] for q in quick.values())
    total_h100 = total_work / (H100_FLOPS * H100_SHARE)
    lines.append(f"| all | {minutes(total_quick)} min | | {minutes(total_cpu)} min | {minutes(total_h100)} min |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
