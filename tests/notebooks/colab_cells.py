"""The first code cell of every notebook: the Colab set-up, written from one template.

The repository's URL lives in one place, ``repository.url`` in ``_config.yml`` (the book's Colab buttons read it
too); this module renders each notebook's set-up cell from it and from the stored full-profile results, and
``test_colab_cells.py`` checks that every notebook carries exactly that cell. After changing the URL, the template
or a stored result, rewrite the cells with ``python -m tests.notebooks.colab_cells`` (then ``jupytext --sync``).

The cell says which profile it runs and how long that takes: the full profile's minutes on the CPU that produced
the stored results (measured, from their provenance), and on a T4-class GPU (an estimate, explained in the cell).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
RESULTS = REPO / "results"
# A T4's float32 peak (NVIDIA's data sheet) and the share of it that batch-64/128 MLPs and small conv nets reach:
# they launch many small kernels and leave the GPU mostly idle, so 10 % is an assumption, stated in the cell.
T4_FLOPS = 8.1e12
T4_SHARE = 0.10
# The stored results each chapter's full profile writes; their training time is what "Run all" spends.
CHAPTER_RESULTS = {
    "01_elbo": ("elbo_full",),
    "02_joint_kl": ("joint_kl_full",),
    "03_mutual_information": ("zoo_mnist_j10_mlp", "zoo_mnist_j10_mlp_grouped", "zoo_mnist_j10_mlp_autoencoders",
                              "zoo_mnist_j10_mlp_autoencoders_group1", "zoo_mnist_j10_mlp_long"),
    "04_domain_adaptation": ("da_mnist_usps", "da_usps_mnist", "da_mnist_mnistm"),
    "04b_domain_adaptation_diagnostics": ("da_mnist_usps_framed_releases", "da_mnist_usps_releases",
                                          "da_mnist_usps_framed_translation", "da_usps_mnist_framed_translation",
                                          "da_mnist_mnistm_translation", "da_mnist_usps_framed_bound_terms",
                                          "da_mnist_usps_framed_early_trace", "da_mnist_mnistm_early_trace"),
    "05_clustering": ("clustering_vade_mnist_cpu", "clustering_vade_mnist_cpu_pretrain30", "clustering_mpcc_mnist_cpu"),
    "06_light_curves": ("light_curves_asas_outliers_cpu", "light_curves_asas_minority_cpu",
                        "light_curves_asas_ablations_cpu"),
    "07_avda": ("avda_mnist_usps_cpu", "avda_usps_mnist_cpu", "avda_ablations_cpu"),
}
# Chapters whose full profile reads MNIST-M, which Colab must build from MNIST and BSDS500 first.
NEEDS_MNIST_M = ("04_domain_adaptation", "04b_domain_adaptation_diagnostics")
CELL_START = "# %% tags=[\"colab-setup\", \"hide-input\"]\n"

TEMPLATE = '''# Colab set-up: pick a profile, then Runtime > Run all. Elsewhere it does nothing.
# full : the sources' datasets; {full_cpu} min of training on the CPU behind the stored
#        results (measured), about {full_t4} min on a T4 GPU (estimate: those runs' FLOPs at
#        10 % of a T4's 8.1 TFLOP/s float32 peak, as small networks leave a GPU mostly
#        idle; not measured on a T4).
# quick: the small subsets shipped with the book, a few minutes on Colab's CPU.
PROFILE = "full"  # @param ["full", "quick"]
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    REPOSITORY = "{repository}"  # from _config.yml
    if not os.path.isdir("/content/gi-book"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "/content/gi-book"],
                       check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e",
                        "/content/gi-book"], check=True)
    sys.path.insert(0, "/content/gi-book")
    os.chdir("/content/gi-book/notebooks")
    os.environ["GI_PROFILE"] = PROFILE
{mnist_m}    print(f"profile {{PROFILE}}:", {{"full": "about {full_t4} min on a T4 GPU (estimate)",
                                  "quick": "a few minutes"}}[PROFILE])
'''
MNIST_M = '''    data = os.path.expanduser("~/.cache/gi-book/data")  # gi_core's default data folder
    if PROFILE == "full" and not os.path.isdir(f"{data}/MNIST-M"):
        # MNIST-M is built from MNIST and the 200 BSDS500 training images (checksummed).
        import torchvision

        for train in (True, False):
            torchvision.datasets.MNIST(data, train=train, download=True)
        build = [("fetch_bsds500.py", "--out-root", data),
                 ("make_mnist_m.py", "--source-root", data, "--out-root", data)]
        for script, *flags in build:
            subprocess.run([sys.executable, f"../data_scripts/{script}", *flags],
                           check=True)
'''


def repository_url() -> str:
    """``repository.url`` of ``_config.yml``."""
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    url = config["repository"]["url"]
    if not re.fullmatch(r"https://[\w.-]+/[\w.-]+/[\w.-]+", url):
        raise ValueError(f"_config.yml repository.url is not a repository URL: {url!r}")
    return url


def training_seconds(result: str, counted: set[str] | None = None) -> float:
    """Seconds of training behind a stored result: its runs' ``train_seconds`` if listed, else its wall time.

    A result whose rows name their runs (chapter 6, where tables share runs) counts each named run once: ``counted``
    holds the names already counted by the chapter's other results and gains this result's."""
    record = json.loads((RESULTS / f"{result}.json").read_text())
    runs = record["metrics"].get("runs") if isinstance(record["metrics"], dict) else None
    sources = record["metrics"].get("sources") if isinstance(record["metrics"], dict) else None
    if isinstance(sources, dict) and isinstance(runs, list):  # chapter 7: shared source models, counted once
        counted = set() if counted is None else counted
        fresh = set(sources) - counted
        counted |= fresh
        return float(sum(run.get("train_seconds", 0.0) for run in runs)
                     + sum(sources[name]["train_seconds"] for name in fresh))
    if isinstance(runs, list) and runs and all("train_seconds" in run for run in runs):
        return float(sum(run["train_seconds"] for run in runs))
    rows = record["metrics"].get("rows") if isinstance(record["metrics"], dict) else None
    if isinstance(rows, list) and rows and all("names" in row for row in rows):
        counted = set() if counted is None else counted
        named = {n: run["wall_time_s"] for row in rows for n, run in zip(row["names"], row["runs"])}
        fresh = set(named) - counted
        counted |= fresh
        return float(sum(named[n] for n in fresh))
    return float(record["provenance"]["wall_time_s"])


BENCHMARKS = ("benchmark_cpu", "benchmark_cpu_epyc")
"""The benchmark MLP's runs on each CPU that trained stored results (``benchmarks/bench_trainer.py``)."""


def cpu_flops_per_second(device: str) -> float:
    """What the benchmark MLP reached (fraction of peak × peak) on the CPU named in a stored result's ``device``.

    A device that names no benchmarked CPU (early results recorded only "x86_64") counts as the AMD EPYC, the
    project's machine when they ran."""
    rates = {}
    for name in BENCHMARKS:
        metrics = json.loads((RESULTS / f"{name}.json").read_text())["metrics"]
        rates[metrics["machine"]["cpu"]] = float(metrics["fraction_of_matmul_peak"] * metrics["matmul_peak"]["flops_per_s"])
    return next((rate for cpu, rate in rates.items() if cpu in device), rates["AMD EPYC"])


def training_work(result: str, counted: set[str] | None = None) -> float:
    """Floating-point operations behind a stored result: its training seconds × its CPU's benchmark rate."""
    device = json.loads((RESULTS / f"{result}.json").read_text())["provenance"]["device"]
    return training_seconds(result, counted) * cpu_flops_per_second(device)


def minutes(chapter: str) -> tuple[int, int]:
    """(measured CPU minutes, estimated T4 minutes) of a chapter's full profile, each at least 1."""
    counted, counted_work = set(), set()
    seconds = sum(training_seconds(result, counted) for result in CHAPTER_RESULTS[chapter])
    t4_seconds = sum(training_work(result, counted_work) for result in CHAPTER_RESULTS[chapter]) / (T4_FLOPS * T4_SHARE)
    return max(1, round(seconds / 60)), max(1, round(t4_seconds / 60))


def render(chapter: str) -> str:
    """The set-up cell of ``chapter`` (a notebook's file stem), in jupytext percent format."""
    full_cpu, full_t4 = minutes(chapter)
    body = TEMPLATE.format(repository=repository_url(), full_cpu=full_cpu, full_t4=full_t4,
                           mnist_m=MNIST_M if chapter in NEEDS_MNIST_M else "")
    return CELL_START + body


def current_cell(source: str) -> str:
    """The set-up cell as it stands in a notebook's jupytext source (from its header to the next cell)."""
    start = source.find(CELL_START)
    if start < 0:
        raise ValueError("the notebook has no cell tagged colab-setup")
    end = source.find("\n# %%", start + len(CELL_START))
    return source[start:end + 1 if end >= 0 else len(source)]


def rewrite(chapter: str) -> bool:
    """Replace the set-up cell of ``notebooks/<chapter>.py`` by :func:`render`'s; return whether it changed."""
    path = NOTEBOOKS / f"{chapter}.py"
    source = path.read_text()
    old, new = current_cell(source), render(chapter) + "\n"
    if old == new:
        return False
    path.write_text(source.replace(old, new, 1))
    return True


if __name__ == "__main__":
    changed = [chapter for chapter in CHAPTER_RESULTS if rewrite(chapter)]
    print("rewrote the set-up cell of", ", ".join(changed) if changed else "no notebook")
    sys.exit(0)
