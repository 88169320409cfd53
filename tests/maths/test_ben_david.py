"""Tests for gi_core.maths.ben_david: the H-divergence, its discrimination form and Ben-David et al.'s bound on a finite
domain, with every threshold classifier as the hypothesis class."""

from __future__ import annotations

import pytest
import torch

from gi_core.maths.ben_david import ben_david_terms, discrimination_divergence, h_divergence, symmetric_difference_class
from tests.helpers import F64

pytestmark = pytest.mark.usefixtures("one_thread")


def thresholds(size: int) -> torch.Tensor:
    """Every threshold classifier on a 1-D grid of ``size`` points and its complement (closed under 1 - h)."""
    grid = torch.arange(size, dtype=F64)
    rising = [(grid >= t).to(F64) for t in range(size + 1)]
    return torch.stack(rising + [1.0 - h for h in rising])


def random_marginals(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ps, pt = torch.rand(size, generator=g, dtype=F64), torch.rand(size, generator=g, dtype=F64) ** 3
    return ps / ps.sum(), pt / pt.sum()


def test_h_divergence_equals_the_discrimination_form_for_a_class_closed_under_complement():
    hypotheses = thresholds(12)
    for seed in range(30):
        ps, pt = random_marginals(12, seed)
        assert float(h_divergence(ps, pt, hypotheses)) == pytest.approx(float(discrimination_divergence(ps, pt, hypotheses)), abs=1e-14)
        assert 0.0 < float(h_divergence(ps, pt, hypotheses)) <= 2.0
    ps, _ = random_marginals(12, 0)
    assert float(h_divergence(ps, ps, hypotheses)) == pytest.approx(0.0, abs=1e-15)
    disjoint_s, disjoint_t = torch.zeros(12, dtype=F64), torch.zeros(12, dtype=F64)
    disjoint_s[:6], disjoint_t[6:] = 1 / 6, 1 / 6
    assert float(h_divergence(disjoint_s, disjoint_t, hypotheses)) == pytest.approx(2.0)
    only_rising = hypotheses[:13]  # not closed under complement: the discrimination form sees one direction only
    assert float(discrimination_divergence(disjoint_t, disjoint_s, only_rising)) == pytest.approx(2.0)
    assert float(discrimination_divergence(disjoint_s, disjoint_t, only_rising)) == pytest.approx(0.0, abs=1e-15)
    assert float(h_divergence(disjoint_s, disjoint_t, only_rising)) == pytest.approx(2.0)


def test_symmetric_difference_class_holds_every_disagreement():
    h = torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert symmetric_difference_class(h).tolist() == [[0, 0, 0], [1, 0, 1], [1, 0, 1], [0, 0, 0]]


def test_ben_david_bound_holds_for_every_hypothesis_and_is_tight_without_shift():
    hypotheses, grid = thresholds(15), torch.arange(15, dtype=F64)
    slack = []
    for seed in range(40):
        ps, pt = random_marginals(15, seed)
        f_s, f_t = (grid >= 5 + seed % 3).to(F64), (grid >= 6).to(F64)
        terms = ben_david_terms(ps, pt, f_s, f_t, hypotheses)
        assert (terms["bound"] - terms["target_risk"] >= -1e-12).all()
        slack.append(float((terms["bound"] - terms["target_risk"]).min()))
    assert min(slack) < 0.05  # the bound is not vacuous on these problems
    ps, _ = random_marginals(15, 0)
    f = (grid >= 7).to(F64)
    same = ben_david_terms(ps, ps, f, f, hypotheses)  # no shift: divergence 0, lambda* 0, bound = risk
    assert float(same["divergence"]) == 0.0 and float(same["lambda_star"]) == 0.0
    assert torch.allclose(same["bound"], same["target_risk"])


def test_divergence_inputs_are_validated():
    hypotheses = thresholds(4)
    ps = torch.full((4,), 0.25, dtype=F64)
    with pytest.raises(ValueError, match="p_target must be a probability vector"):
        h_divergence(ps, ps * 2, hypotheses)
    with pytest.raises(ValueError, match="0/1 labelings"):
        h_divergence(ps, ps, hypotheses * 0.5)
    with pytest.raises(ValueError, match=r"hypotheses \(H, X\)"):
        h_divergence(ps, ps, hypotheses[:, :3])
    with pytest.raises(ValueError, match="labels_target must be a 0/1 labeling"):
        ben_david_terms(ps, ps, torch.ones(4, dtype=F64), torch.full((4,), 0.5, dtype=F64), hypotheses)
