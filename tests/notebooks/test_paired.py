"""Every notebook is a jupytext pair: notebooks/<name>.py (percent format) and the executed .ipynb."""

import jupytext
import nbformat
import pytest

from tests.helpers import REPO

NOTEBOOKS = REPO / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))


def test_there_are_notebooks():
    assert SOURCES, "no notebooks/*.py found"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_pair_is_in_sync(source):
    ipynb = source.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make notebooks`"
    from_py = jupytext.read(source)
    from_ipynb = nbformat.read(ipynb, as_version=4)
    py_cells = [(c.cell_type, c.source.strip()) for c in from_py.cells]
    nb_cells = [(c.cell_type, c.source.strip()) for c in from_ipynb.cells]
    assert py_cells == nb_cells, f"{source.name} and {ipynb.name} differ: run `jupytext --sync {source}`"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_executed(source):
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "commit the notebook with its outputs (`make notebooks`)"
