"""Every notebook opens with the one Colab set-up cell of tests.notebooks.colab_cells, and the repository URL is
written in one place (``_config.yml``) and copied only into those generated cells."""

from __future__ import annotations

import pytest

from tests.notebooks import colab_cells

CHAPTERS = sorted(colab_cells.CHAPTER_RESULTS)


def test_every_notebook_is_listed() -> None:
    assert sorted(p.stem for p in colab_cells.NOTEBOOKS.glob("*.py")) == CHAPTERS


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_setup_cell_is_the_rendered_template(chapter) -> None:
    source = (colab_cells.NOTEBOOKS / f"{chapter}.py").read_text()
    assert colab_cells.current_cell(source) == colab_cells.render(chapter) + "\n", (
        f"notebooks/{chapter}.py: rewrite its set-up cell with `python -m tests.notebooks.colab_cells`")
    first_code = source.index("\n# %%", source.index("# %% [markdown]") + 1)
    assert source.startswith(colab_cells.CELL_START, first_code + 1), "the set-up cell must be the first code cell"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_cell_states_the_profile_and_its_cost(chapter) -> None:
    cell = colab_cells.render(chapter)
    cpu, t4 = colab_cells.minutes(chapter)
    assert f"{cpu} min of training" in cell and f"about {t4} min on a T4 GPU (estimate)" in cell
    assert 'PROFILE = "full"  # @param ["full", "quick"]' in cell
    assert ("fetch_bsds500.py" in cell) == (chapter in colab_cells.NEEDS_MNIST_M)
    assert max(len(line) for line in cell.splitlines()) <= 88


def test_the_estimate_follows_from_the_stored_numbers() -> None:
    # 22 min of CPU training at the EPYC's ~105 GFLOP/s is ~139 TFLOP; at 810 GFLOP/s that is ~2.9 min.
    seconds = colab_cells.training_seconds("elbo_full")
    epyc = colab_cells.cpu_flops_per_second("cpu:AMD EPYC x2 threads")
    expected = seconds * epyc / (8.1e12 * 0.10) / 60
    assert colab_cells.minutes("01_elbo") == (round(seconds / 60), max(1, round(expected)))
    assert 90e9 < epyc < 120e9 and colab_cells.cpu_flops_per_second("cpu:x86_64 x2 threads") == epyc
    xeon = colab_cells.cpu_flops_per_second("cpu:Intel(R) Xeon(R) Processor x2 threads")
    assert 150e9 < xeon < 250e9  # the AVX-512 Xeon that trained the grouped runs of chapter 3


def test_the_repository_url_is_written_once() -> None:
    url = colab_cells.repository_url()
    path_part = url.split("://", 1)[1].split("/", 1)[1]  # "owner/name", also inside Colab links
    places = [p for p in (*colab_cells.NOTEBOOKS.glob("*.py"), *colab_cells.REPO.glob("book/*.md"),
                          colab_cells.REPO / "README.md", colab_cells.REPO / "ARCHITECTURE.md")
              if path_part in p.read_text().replace(colab_cells.render(p.stem) if p.parent.name == "notebooks" else "", "")]
    assert not places, f"the repository URL is written outside _config.yml and the set-up cells: {places}"


def test_the_readme_cost_table_is_what_costs_py_prints() -> None:
    import runpy

    costs = runpy.run_path(str(colab_cells.REPO / "benchmarks" / "costs.py"), run_name="costs")
    readme = (colab_cells.REPO / "README.md").read_text()
    assert costs["table"]() in readme, "README.md's cost table is stale: paste `python benchmarks/costs.py`"
