"""Tests for gi_core.zoo_experiment: file names, the summary over seeds, and an end-to-end smoke run.

The smoke run trains two tiny MLP models (an autoencoder and a GAN kind) for 5 steps on 300 images of the
shipped quick MNIST subset resized to 16x16, evaluates every metric of Table 6.4, and checks that a second
call reads the stored runs instead of training again.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import gi_core.zoo_experiment as zx
from gi_core.zoo import ZooEntry, table_6_4_entries
from gi_core.zoo_experiment import (
    METRICS,
    Evaluator,
    ZooConfig,
    ZooData,
    load_zoo_data,
    run_comparison,
    slug,
    summarize,
)

pytestmark = pytest.mark.usefixtures("one_thread")


# --- slug and summarize --------------------------------------------------------------------------


def test_slug_values() -> None:
    assert slug("VAE β=0.33") == "vae_beta_0.33"
    assert slug("JS-VAE β=30") == "js_vae_beta_30"
    assert slug("WVAE β=1") == "wvae_beta_1"
    assert slug("ALICE") == "alice"
    assert slug("  a / b ") == "a_b"  # path separators and surrounding blanks go


def test_slugs_of_the_table_are_file_safe_and_unique() -> None:
    slugs = [slug(e.label) for e in table_6_4_entries()]
    assert len(set(slugs)) == len(slugs) == 17
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9._]*", s), s
        assert ".." not in s and not s.endswith(".")


def record(model: str, seed: int, value: float) -> dict:
    return {"model": model, "seed": seed, "train_seconds": 10.0 * value, **{m: value for m in METRICS}}


def test_summarize_hand_records() -> None:
    records = [record("VAE β=1", 0, 1.0), record("ALI", 0, 5.0), record("VAE β=1", 1, 2.0), record("VAE β=1", 2, 6.0)]
    table = summarize(records)
    assert list(table) == ["VAE β=1", "ALI"]  # first-seen order
    for metric in METRICS:
        mean, std, n = table["VAE β=1"][metric]
        assert mean == pytest.approx(3.0) and n == 3
        assert std == pytest.approx(math.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2))  # ddof = 1
        assert std == pytest.approx(float(np.std([1.0, 2.0, 6.0], ddof=1)))
        assert table["ALI"][metric] == [5.0, 0.0, 1]  # one run: no spread
    assert table["VAE β=1"]["train_seconds"][0] == pytest.approx(30.0)
    assert set(table["ALI"]) == {*METRICS, "train_seconds"}


# --- end to end ----------------------------------------------------------------------------------


CONFIG = ZooConfig(arch="mlp", image_size=16, hidden=(32, 16), steps=5, batch_size=32, classifier_epochs=1,
                   n_generated=200, eval_train=300, checkpoint_every=5,
                   models=(ZooEntry("VAE β=1", "vae", 1.0), ZooEntry("ALI", "ali")))


@pytest.fixture(scope="module")
def data() -> ZooData:
    full = load_zoo_data(CONFIG, torch.device("cpu"), profile="quick")
    return ZooData(full.train_x[:300], full.train_y[:300], full.test_x[:100], full.test_y[:100], full.source)


@pytest.fixture(scope="module")
def evaluator(data: ZooData) -> Evaluator:
    return Evaluator.fit(CONFIG, data, seed=0, progress=False)


def test_zoo_data_is_signed_and_resized(data: ZooData) -> None:
    assert data.train_x.shape == (300, 1, 16, 16) and data.test_x.shape == (100, 1, 16, 16)
    assert data.train_x.min().item() == -1.0 and data.train_x.max().item() <= 1.0
    assert set(data.train_y.tolist()) == set(range(10))


def test_run_comparison_end_to_end(data: ZooData, evaluator: Evaluator, tmp_path: Path, monkeypatch) -> None:
    assert 0.0 <= evaluator.classifier_test_accuracy <= 1.0
    records = run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False)
    assert [(r["model"], r["kind"], r["beta"], r["seed"]) for r in records] == [("VAE β=1", "vae", 1.0, 0),
                                                                                 ("ALI", "ali", 1.0, 0)]
    for r in records:
        for metric in METRICS:
            assert isinstance(r[metric], float) and math.isfinite(r[metric]), (r["model"], metric, r[metric])
        assert 0.0 <= r["probe_accuracy"] <= 100.0
        assert 1.0 <= r["inception_score"] <= 10.0
        assert r["fid"] >= 0.0 and r["kl_z"] >= 0.0 and r["kl_vae"] >= 0.0
        assert r["mi_estimate"] == pytest.approx(r["kl_vae"] - r["kl_z"], abs=1e-9)  # Eq. 5.11
        assert r["train_seconds"] >= 0.0

    for name, r in (("vae_beta_1_seed0", records[0]), ("ali_seed0", records[1])):
        assert json.loads((tmp_path / f"{name}.json").read_text()) == r
        meta = json.loads((tmp_path / name / "trainer.json").read_text())
        assert meta["step"] == CONFIG.steps and (tmp_path / name / "state.pt").exists()

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    with monkeypatch.context() as patch:
        patch.setattr(zx, "train_model", no_training)
        assert run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False) == records

    # an interrupted run (checkpoint kept, record lost) resumes at its last step and evaluates the same model
    (tmp_path / "ali_seed0.json").unlink()
    resumed_at = []

    class SpyTrainer(zx.Trainer):
        def load_checkpoint(self, directory=None):
            resumed_at.append(super().load_checkpoint(directory))
            return resumed_at[-1]

    with monkeypatch.context() as patch:
        patch.setattr(zx, "Trainer", SpyTrainer)
        again = run_comparison(CONFIG, [0], data, evaluator, run_dir=tmp_path, progress=False)
    assert resumed_at == [CONFIG.steps]
    assert again[0] == records[0]
    for metric in METRICS:
        assert again[1][metric] == pytest.approx(records[1][metric], rel=1e-9, abs=1e-12)

    summary = summarize(records)
    assert summary["ALI"]["fid"] == [records[1]["fid"], 0.0, 1]
