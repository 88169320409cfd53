"""The ELBO experiment (chapter 1): its plans match the stored run, its evaluation and its comparison table."""

from __future__ import annotations

import json

import pytest
import torch

from gi_core.experiments import elbo
from gi_core.results import RESULTS_DIR
from tests.helpers import gen


def test_the_full_plan_is_the_stored_runs_configuration() -> None:
    stored = json.loads((RESULTS_DIR / "elbo_full.json").read_text())
    assert elbo.PLANS["full"].describe() == stored["provenance"]["config"]
    assert stored["provenance"]["seeds"] == [elbo.PLANS["full"].seed]
    quick = elbo.PLANS["quick"]
    assert (quick.epochs, quick.iw_test_images) == (15, 200) and quick.betas == elbo.PLANS["full"].betas


def test_comparison_table_sets_the_stored_numbers_beside_the_thesis() -> None:
    table = elbo.comparison_table(elbo.stored())
    assert list(table.index) == ["0.33", "1.0", "30.0"]
    assert table.loc["1.0", "KL"] == 21.77 and table.loc["1.0", "probe %"] == 90.39
    assert table.loc["0.33", "thesis KL"] == 27.76 and table.loc["30.0", "thesis probe %"] == 56.06


def tiny_data(n: int = 64) -> elbo.ElboData:
    g = gen(0)
    x = (torch.rand(n, 1, 28, 28, generator=g) > 0.7).float()
    y = torch.arange(n) % 2
    x[y == 1, :, :14] = 1.0  # two linearly separable classes
    from gi_core.data.images import ImageData

    data = ImageData(x, y, "toy", "train", "toy")
    return elbo.ElboData(data, data, x, x)


def test_training_and_scores_are_seeded_and_ordered(one_thread) -> None:
    config = elbo.ElboConfig(hidden=(32, 16), latent_dim=2, batch_size=16, epochs=2, betas=(1.0, 30.0),
                             iw_samples=(1, 10), iw_test_images=16)
    data = tiny_data()
    first, second = (elbo.run(config, data, torch.device("cpu"), progress=False) for _ in range(2))
    assert first[1] == second[1]  # seeded: the same numbers twice
    runs, metrics, _ = first
    assert list(runs) == [1.0, 30.0] and runs[1.0].history[-1]["step"] == 2 * (64 // 16)
    for m in metrics.values():
        assert m["test_reconstruction"] == pytest.approx(m["test_elbo"] + m["test_kl"])
        assert 0.0 <= m["probe_accuracy"] <= 1.0 and m["test_kl"] >= 0.0
    bounds = metrics["1.0"]["iw_bounds"]
    assert set(bounds) == {"1", "10"} and bounds["10"] >= bounds["1"]  # more importance samples, a tighter bound
    assert metrics["1.0"]["test_kl"] > metrics["30.0"]["test_kl"]  # a larger beta buys a smaller rate


def test_the_cli_refuses_the_quick_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        elbo.main([])


def test_bad_configurations_and_data_are_refused_before_training() -> None:
    with pytest.raises(ValueError, match="binarize_threshold must lie in"):
        elbo.ElboConfig(binarize_threshold=1.5)
    with pytest.raises(ValueError, match=r"betas\[0\] must lie in \(0.0, inf\)"):
        elbo.ElboConfig(betas=(0.0, 1.0))
    with pytest.raises(ValueError, match="config.betas must include 1.0"):
        elbo.run(elbo.ElboConfig(betas=(30.0,)), tiny_data(), torch.device("cpu"), progress=False)
    with pytest.raises(ValueError, match=r"x_train must hold one image per example of train \(64\), got 63"):
        elbo.ElboData(tiny_data().train, tiny_data().test, tiny_data().x_train[:63], tiny_data().x_test)
