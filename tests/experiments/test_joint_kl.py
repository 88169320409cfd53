"""The joint-KL experiment (chapter 2): its plans match the stored run; its trainers are seeded as the chapter trains."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch

from gi_core.experiments import joint_kl
from gi_core.models.ali import ALI
from gi_core.models.vae import VAE
from gi_core.results import RESULTS_DIR


def test_the_full_plan_is_the_stored_runs_configuration() -> None:
    stored = json.loads((RESULTS_DIR / "joint_kl_full.json").read_text())["provenance"]
    plan = joint_kl.PLANS["full"]
    as_json = json.loads(json.dumps({"ring": asdict(plan.ring), "avb": asdict(plan.avb)}))
    assert as_json == stored["config"] and stored["seeds"] == [plan.ring.seed]
    assert (joint_kl.PLANS["quick"].ring.steps, joint_kl.PLANS["quick"].avb.steps) == (5000, 1500)


def test_ring_trainers_are_seeded_alike_and_scored(one_thread) -> None:
    config = joint_kl.RingConfig(n_train=256, hidden=(16, 16), discriminator_hidden=(16,), batch_size=64, steps=20)
    x, modes = joint_kl.ring_data(config, torch.device("cpu"))
    assert x.shape == (256, 2) and int(modes.max()) < config.modes
    trainers = joint_kl.ring_trainers(config, x, torch.device("cpu"), progress=False)
    assert list(trainers) == ["ALI/BiGAN", "VAE"]
    assert isinstance(trainers["ALI/BiGAN"].model, ALI) and isinstance(trainers["VAE"].model, VAE)
    # the same seed before each model: their encoders start from the same weights
    first = [p.detach().clone() for p in trainers["ALI/BiGAN"].model.encoder.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(first, trainers["VAE"].model.encoder.parameters()))
    for trainer in trainers.values():
        trainer.fit(config.steps)
    scores = joint_kl.ring_scores(trainers["VAE"].model, x, config, n=100)
    assert set(scores.scores) == {"near_mode", "min_mode_share", "same_mode_reconstruction"}
    assert all(0.0 <= v <= 1.0 for v in scores.scores.values()) and scores.samples.shape == (100, 2)
    again = joint_kl.ring_scores(trainers["VAE"].model, x, config, n=100)
    assert again.scores == scores.scores  # the samples are drawn with their own seed


def test_the_cli_refuses_the_quick_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        joint_kl.main([])


def test_avb_scores_need_ten_logged_records_of_avb() -> None:
    """The last-ten mean divides by ten: a shorter history would be averaged wrongly, so it is refused."""
    history = [{"step": k, "kl_adversarial": 1.0, "kl_exact": 2.0} for k in range(9)]
    models = {"AVB": torch.nn.Linear(2, 2)}
    with pytest.raises(ValueError, match="avb_history must be AVB's history, ten or more records"):
        joint_kl.avb_scores(models, torch.rand(4, 1, 28, 28), history)
    with pytest.raises(ValueError, match="x_test must have shape"):
        joint_kl.avb_scores(models, torch.rand(4, 28, 28), history + history)
