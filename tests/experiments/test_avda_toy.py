"""Tests for gi_core.experiments.avda_toy: AVDA's label-shift toy with the (K+1)-way and the binary discriminator.

Measured on one CPU thread (n = 2000, 400 steps), seeds 0-4, both kinds:

* defaults (spread 0.3, lr 1e-3), unsupervised and with 5 shots per class: accuracy 1.000, every class 100 % in its
  own component, target shares exactly 0.900 / 0.100 (source 0.500 / 0.500). The label-shift failure of the binary
  discriminator does not appear: the KL to the pseudo-label's component holds every code in place.
* spread 1.0, lr 1e-2: the (K+1)-way kind collapses the minority class into the majority's component on every seed
  (accuracy 0.900, minority aligned 0.000, target share 1.000 / 0.000); the binary kind keeps it (accuracy 0.958,
  0.984, 0.988, 0.986, 0.988; minority aligned 0.600, 0.895, 0.980, 0.890, 0.905). After 200 steps (the test's
  length) seeds 0-2 read the same: classes 0.900 / 0.000 each; binary 0.951 / 0.550, 0.986 / 0.940, 0.989 / 0.905.
"""

import math
from functools import cache

import numpy as np
import pytest
import torch
from torch.distributions import Normal

from gi_core.experiments.avda_toy import bayes_classifier, nearest_components, toy_alignment


@cache
def run(kind: str, seed: int, **options) -> dict:
    """One toy run, shared by the tests that read it."""
    return toy_alignment(kind, seed=seed, **options)


@pytest.mark.parametrize("seed", [0, 1])
def test_both_discriminators_keep_each_class_in_its_component_at_the_defaults(seed):
    for kind in ("classes", "binary"):
        result = run(kind, seed)
        assert result["accuracy"] >= 0.99, (kind, result["accuracy"])  # measured 1.000
        assert min(result["aligned"]) >= 0.99, (kind, result["aligned"])  # measured 1.000, 1.000
        # the target keeps its own 90/10 marginal: the binary kind does not match the source's 50/50
        assert result["target_share"] == pytest.approx([0.9, 0.1], abs=0.01)
        assert result["source_share"] == pytest.approx([0.5, 0.5], abs=0.02)
        codes, labels, means = result["codes"], result["target_labels"], result["means"]
        assert codes.shape == (2000, 2) and labels.shape == (2000,)
        for k in range(2):  # each class's codes sit on its component (the shift (0, 3) was undone)
            assert (codes[labels == k].mean(0) - means[k]).abs().max() < 0.25
    classes, binary = run("classes", seed), run("binary", seed)
    assert abs(classes["accuracy"] - binary["accuracy"]) <= 0.01


@pytest.mark.parametrize("seed", [1, 2])
def test_with_a_wide_spread_the_classes_kind_loses_the_minority_and_the_binary_kind_keeps_it(seed):
    classes = run("classes", seed, steps=200, spread=1.0, lr=1e-2)
    binary = run("binary", seed, steps=200, spread=1.0, lr=1e-2)
    assert classes["aligned"][1] <= 0.05 and classes["target_share"][1] <= 0.05  # measured 0.000, 0.000
    assert classes["accuracy"] == pytest.approx(0.9, abs=0.01)  # everything predicted as the majority
    assert binary["aligned"][1] >= 0.8, binary["aligned"]  # measured 0.940 (seed 1), 0.905 (seed 2)
    assert binary["accuracy"] >= classes["accuracy"] + 0.06  # measured 0.986 and 0.989 against 0.900


def test_a_seed_fixes_the_run_and_another_seed_changes_it():
    first = toy_alignment("binary", steps=20, seed=3, shots=2)
    second = toy_alignment("binary", steps=20, seed=3, shots=2)
    assert torch.equal(first["codes"], second["codes"])
    assert first["final_terms"] == second["final_terms"]
    assert "supervised" in first["final_terms"]  # the shots entered the loss
    other = toy_alignment("binary", steps=20, seed=4, shots=2)
    assert not torch.equal(first["codes"], other["codes"])


def test_bayes_classifier_gives_the_components_posterior():
    means = torch.tensor([[-1.0, 0.5], [2.0, 0.0], [0.0, -1.5]], dtype=torch.float64)
    variances = torch.full((3, 2), 0.7, dtype=torch.float64)
    z = torch.randn(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2
    log_density = Normal(means, variances.sqrt()).log_prob(z.unsqueeze(1)).sum(-1)  # (50, 3)
    expected = torch.softmax(log_density, -1)
    assert torch.allclose(torch.softmax(bayes_classifier(means, variances)(z), -1), expected, atol=1e-10)


def test_nearest_components_by_brute_force():
    means = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]])
    codes = torch.tensor([[-0.1, 0.0], [0.1, 0.0], [0.0, 1.6], [0.0, 1.4], [5.0, 5.0], [1.0, 1.4]])
    # squared distances of (0, 1.4): 5.96 to either side, 2.56 to (0, 3); (1, 1.4): 10.96, 2.96, 3.56
    assert nearest_components(codes, means).tolist() == [0, 1, 2, 2, 2, 1]
    cloud = torch.randn(200, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3
    squared = torch.stack([((cloud - m.double()) ** 2).sum(1) for m in means], 1)
    assert torch.equal(nearest_components(cloud, means), squared.argmin(1))


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: toy_alignment("marginal"), ValueError, "unknown discriminator_kind 'marginal'"),
        (lambda: toy_alignment("classes", steps=0), ValueError, "steps must be a positive integer"),
        (lambda: toy_alignment("classes", seed=-1), ValueError, "seed must be a non-negative integer"),
        (lambda: toy_alignment("classes", shots=2.5), ValueError, "shots must be a non-negative integer"),
        (lambda: toy_alignment("classes", shots=201), ValueError, "shots must be at most 200"),
        (lambda: toy_alignment("classes", spread=0.0), ValueError, r"spread must lie in \(0.0, inf\)"),
        (lambda: toy_alignment("classes", lr=-1e-3), ValueError, r"lr must lie in \(0.0, inf\)"),
        (lambda: bayes_classifier(torch.zeros(2, 2), torch.tensor([[1.0, 1.0], [1.0, 2.0]])), ValueError,
         "variances must be one positive value"),
        (lambda: bayes_classifier(torch.zeros(2, 2), torch.ones(2, 3)), ValueError, "differ in shape"),
        (lambda: nearest_components(torch.zeros(3, 2), torch.zeros(2, 3)), ValueError, "share J"),
        (lambda: nearest_components([[0.0, 0.0]], torch.zeros(2, 2)), TypeError, "codes must be a torch.Tensor"),
    ],
)
def test_bad_arguments_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_the_alignment_game_has_its_minima_at_per_class_and_at_marginal_alignment():
    from gi_core.experiments.avda_toy import alignment_game

    moved = [i / 90 for i in range(0, 73)]  # 0 .. 0.8, 4/9 = 40/90 on the grid
    game = alignment_game(moved)
    assert game["marginal_match"] == pytest.approx(4 / 9, abs=1e-15)
    assert moved[int(np.argmin(game["binary"]))] == pytest.approx(4 / 9, abs=1e-12)
    assert min(game["binary"]) == pytest.approx(math.log(2), abs=1e-6)  # matched marginals: D* = 1/2
    assert int(np.argmin(game["classes"])) == 0
    assert all(b > a for a, b in zip(game["classes"], game["classes"][1:]))  # rises with every code moved
    assert game["classes"][0] == pytest.approx(game["binary"][0], abs=1e-3)  # per-class: both see one thing
    with pytest.raises(ValueError, match="moved"):
        alignment_game([1.5])


def test_without_the_unlabelled_kl_the_encoder_loss_is_the_alignment_alone():
    run = toy_alignment("classes", steps=3, seed=1, unlabelled_kl=False)
    assert run["final_terms"]["loss"] == pytest.approx(run["final_terms"]["adversarial"], abs=1e-6)
    with pytest.raises(TypeError, match="unlabelled_kl"):
        toy_alignment("classes", steps=3, seed=1, unlabelled_kl=1)
