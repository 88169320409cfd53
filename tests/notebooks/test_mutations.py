"""Mutation tests of the chapters: with one checked term perturbed, a chapter's derivation checks must fail.

(Chapter 2's decomposition checks have their own test, ``test_joint_kl_mutation.py``.)

Each chapter tags the cells that check its derivations ``derivation-check``; they run after the chapter's set-up
cell (its first code cell after the Colab set-up cell), in a fresh namespace, without the training cells. They pass as they are, and each
perturbation below (one function of gi_core shifted by a small amount) makes an ``assert`` of them fail.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import jupytext
import pytest
import torch

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TAG = "derivation-check"


def shifted(function: Callable, shift: float, key: str | None = None) -> Callable:
    """``function`` with ``shift`` added to its result (to its entry ``key`` when the result is a dict)."""
    def perturbed(*args, **kwargs):
        result = function(*args, **kwargs)
        if key is None:
            return result + shift
        return {**result, key: result[key] + shift}

    return perturbed


MUTATIONS = {
    "01_elbo": [
        ("gi_core.maths.linear_gaussian", "LinearGaussianModel.kl_to_posterior", None, 1e-3),  # the ELBO gap
        ("gi_core.maths.gaussians", "kl_diag_gaussian_std_normal", None, 1e-3),  # the closed-form rate
        ("gi_core.maths.estimators", "score_function_gradients", None, 1.0),  # unbiased (checked to 5 standard errors)
    ],
    "03_mutual_information": [
        ("gi_core.maths.mutual_information", "inference_mi_terms", "total", 1e-3),  # Eq. 5.2
        ("gi_core.maths.mutual_information", "mi_bound_terms", "total", 1e-3),  # I_q = -L + ΔI, Eq. 5.4-5.6
    ],
    "04_domain_adaptation": [
        ("gi_core.maths.ben_david", "ben_david_terms", "bound", -0.1),  # the Ben-David bound holds
        ("gi_core.maths.modulation", "pm1_symmetric_kl", None, 1e-3),  # Eq. 12-14
    ],
    "05_clustering": [
        ("gi_core.maths.cluster_models", "inverse_kl_terms", "x_marginal", 1e-3),  # Eq. 7.2-7.5
        ("gi_core.maths.cluster_information", "vade_information_terms", "total", 1e-3),  # Eq. 7.6-7.8
        ("gi_core.maths.vade_bound", "vade_bound_terms", "elbo", 0.1),  # the closed form against Monte Carlo
        ("gi_core.maths.cluster_models", "mpcc_losses", "loss_II", 1e-3),  # Eq. 7.9-7.11
        ("gi_core.maths.cluster_information", "mpcc_information_terms", "total", 1e-3),  # Eq. 7.17-7.19
    ],
    "06_light_curves": [
        ("gi_core.maths.gaussian_process", "rbf_kernel", None, 1e-3),  # Eq. 9.3-9.5 against scikit-learn
        ("gi_core.maths.likelihoods", "expected_gaussian_log_likelihood", None, 0.1),  # Eq. 9.7 by Monte Carlo
        ("gi_core.maths.lc_vade_objective", "lc_vade_bound_terms", "elbo", 0.1),  # Eq. 9.9 as VaDE's bound on (z, f)
        ("gi_core.maths.lc_vade_objective", "information_anomaly_score", None, 0.1),  # Eq. 9.12 by Monte Carlo
    ],
    "07_avda": [
        ("gi_core.maths.avda_objective", "component_kl", None, 1e-3),  # Eq. 3.10 against torch and Monte Carlo
        ("gi_core.maths.avda_objective", "unlabelled_target_objective", "loss", 1e-3),  # Eq. 3.7, the chain rule
        ("gi_core.maths.avda_objective", "categorical_prior_kl", None, 1e-3),  # KL to uniform = log K - H
        ("gi_core.maths.avda_objective", "straight_through_gumbel", None, 0.1),  # one-hot forward values
        ("gi_core.maths.avda_objective", "discriminator_objective", None, 0.1),  # Eq. 3.8's targets
    ],
}
"""Per chapter: (module, function, entry of its result or None, shift)."""


def run_checks(chapter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Execute the set-up cell and the tagged cells of ``chapter`` (figures drawn off screen)."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    cells = [c for c in jupytext.read(NOTEBOOKS / f"{chapter}.py").cells
             if c.cell_type == "code" and "colab-setup" not in c.metadata.get("tags", [])]
    checks = [c.source for c in cells if TAG in c.metadata.get("tags", [])]
    assert len(checks) >= 2, f"{chapter} lost its derivation checks"
    namespace: dict = {}
    for source in (cells[0].source, *checks):
        exec(compile(source, f"{chapter}.py", "exec"), namespace)


@pytest.mark.parametrize("chapter", sorted(MUTATIONS))
def test_the_checks_pass_as_they_are(chapter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    run_checks(chapter, monkeypatch)


@pytest.mark.parametrize(("chapter", "module", "name", "key", "shift"),
                         [(chapter, *mutation) for chapter, mutations in MUTATIONS.items() for mutation in mutations])
def test_the_checks_fail_when_one_term_is_perturbed(chapter: str, module: str, name: str, key: str | None, shift: float,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    owner = importlib.import_module(module)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    amount = torch.tensor(shift, dtype=torch.float64) if key is None else shift
    monkeypatch.setattr(owner, attribute, shifted(getattr(owner, attribute), amount, key))
    with pytest.raises(AssertionError):
        run_checks(chapter, monkeypatch)
