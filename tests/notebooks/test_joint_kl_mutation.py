"""The joint-KL chapter's assert cells must fail when a decomposition term is wrong."""

import jupytext
import pytest
import torch

from gi_core.maths import joint_kl
from tests.helpers import REPO

SOURCE = REPO / "notebooks" / "02_joint_kl.py"


def check_cells() -> list[str]:
    """The set-up cell (the first code cell after the Colab one) and every cell tagged ``decomposition-check``."""
    cells = [c for c in jupytext.read(SOURCE).cells
             if c.cell_type == "code" and "colab-setup" not in c.metadata.get("tags", [])]
    tagged = [c.source for c in cells if "decomposition-check" in c.metadata.get("tags", [])]
    assert len(tagged) >= 3, "the chapter lost its decomposition checks"
    return [cells[0].source, *tagged]


def run_cells(monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {}
    for source in check_cells():
        exec(compile(source, str(SOURCE), "exec"), namespace)


def test_checks_pass_with_the_true_terms(monkeypatch):
    run_cells(monkeypatch)


@pytest.mark.parametrize("term", ["I_q(x,z)", "-h_q(z|x)", "D_KL(q(x)||p(x))", "E_q[-log p(x|z)]"])
def test_checks_fail_when_one_term_is_perturbed(monkeypatch, term):
    original = joint_kl.reverse_kl_terms

    def perturbed(model, form="4.3"):
        terms = original(model, form)
        if term in terms:
            terms[term] = terms[term] + torch.tensor(1e-3, dtype=torch.float64)
        return terms

    monkeypatch.setattr(joint_kl, "reverse_kl_terms", perturbed)
    with pytest.raises(AssertionError):
        run_cells(monkeypatch)
