"""Tests for gi_core.experiments.clustering_mpcc: configuration, data, evaluations over training and bitwise resumption."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from gi_core.data.images import load_images
from gi_core.experiments import clustering_mpcc as cm
from gi_core.metrics.clustering import clustering_accuracy, purity
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = cm.MPCCConfig(iterations=5, batch_size=8, image_size=16, channels=1, latent_dim=2, num_clusters=3,
                     d_steps=2, e_steps=1, eval_every=2)


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    x, y, _ = cm.load_clustering_images("mnist", profile="quick", image_size=16)
    return x[:48], y[:48]


def without_timing(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in cm.TIMING}


def test_the_thesis_settings():
    mnist, fashion = cm.MPCCConfig.thesis("mnist"), cm.MPCCConfig.thesis("fashion_mnist")
    assert (mnist.injection, mnist.channels, mnist.latent_dim, mnist.prior_lr, mnist.iterations) == (
        "class_embeddings", 12, 24, 1.6e-3, 125_000)
    assert (fashion.injection, fashion.channels, fashion.latent_dim, fashion.iterations) == (
        "latent_and_embedding", 24, 16, 75_000)
    assert (mnist.batch_size, mnist.d_steps, mnist.e_steps, mnist.lambda_p, mnist.variance_floor, mnist.lr,
            mnist.adam_betas) == (50, 4, 4, 0.01, 0.5, 2e-4, (0.0, 0.999))
    assert cm.MPCCConfig.thesis("mnist", iterations=7).iterations == 7
    with pytest.raises(ValueError, match="unknown injection"):
        cm.MPCCConfig(injection="split")
    with pytest.raises(ValueError, match="image_size must be divisible by 16"):
        cm.MPCCConfig(image_size=28)
    with pytest.raises(ValueError, match="num_clusters must be at least 2"):
        cm.MPCCConfig(num_clusters=1)


def test_the_data_is_train_then_test_in_minus_one_to_one():
    x, y, source = cm.load_clustering_images("fashion_mnist", profile="quick")
    train, test = (load_images("fashion_mnist", split, profile="quick") for split in ("train", "test"))
    assert x.shape == (len(train) + len(test), 1, 32, 32) and "fashion_mnist" in source
    assert torch.equal(y, torch.cat([train.y, test.y]))
    assert x.min() >= -1 and x.max() <= 1 and x.min() == -1
    torch.testing.assert_close(x[len(train)].mean(), (2 * torch.nn.functional.interpolate(
        test.x[:1], size=(32, 32), mode="bilinear", align_corners=False) - 1).clamp(-1, 1).mean())


def test_the_evaluation_reads_the_clusters_at_the_encoder_means(images):
    x, y = images
    torch.manual_seed(0)
    model, _ = cm.build_run(replace(TINY, channels=4))  # at one channel the encoder's heads start dead (codes all 0)
    model.eval()
    with torch.no_grad():  # put the components on three images' codes: each of them is nearest to its own
        codes = model.encode(x)[0]
        model.prior.means.copy_(codes[:3])
    result = cm.evaluate_clustering(model, x, y, batch_size=5)
    clusters = model.assign_clusters(x)
    assert result["accuracy"] == clustering_accuracy(y, clusters) and result["purity"] == purity(y, clusters)
    assert result["occupancy"] == (torch.bincount(clusters, minlength=3).double() / 48).tolist() and result["empty"] == 0
    assert clusters[:3].tolist() == [0, 1, 2]
    assert result["sigma_min"] == pytest.approx((0.25 + 1.0) ** 0.5)


def test_a_run_records_its_evaluations_over_training(images, tmp_path):
    x, y = images
    (record,) = cm.run_seeds(TINY, [1], x, y, tmp_path, progress=False)
    assert [e["iteration"] for e in record["evaluations"]] == [0, 2, 4, 5] == cm.evaluation_points(TINY)
    assert record["final"] == record["evaluations"][-1] and record["config"] == TINY.describe()
    for evaluation in record["evaluations"]:
        assert set(evaluation) == {"iteration", "accuracy", "purity", "nmi", "ari", "occupancy", "empty",
                                   "posterior_entropy", "sigma_mean", "sigma_min"}
        assert 0 < evaluation["accuracy"] <= evaluation["purity"] <= 1 and sum(evaluation["occupancy"]) == pytest.approx(1)
    assert record["evaluations"][0]["sigma_mean"] != record["final"]["sigma_mean"]  # the prior trained
    assert (tmp_path / "mpcc_mnist_5it_seed1.json").exists()
    assert cm.run_seeds(TINY, [1], x, y, tmp_path, progress=False) == [record]  # read back, not retrained
    with pytest.raises(ValueError, match="holds a run of another configuration"):
        cm.run_seeds(cm.MPCCConfig(**{**TINY.describe(), "adam_betas": (0.0, 0.999), "lambda_p": 0.1}), [1], x, y,
                     tmp_path)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("where", ["training", "evaluation"])
def test_an_interrupted_run_resumes_to_the_same_record(images, tmp_path, monkeypatch, where):
    x, y = images
    (straight,) = cm.run_seeds(TINY, [2], x, y, tmp_path / "straight", progress=False)
    period = TINY.d_steps + 1 + TINY.e_steps
    original_step, original_evaluation = Trainer.train_step, cm.evaluate_clustering

    def train_step(self):  # killed inside iteration 3, after the checkpoint of iteration 2
        if where == "training" and self.step == 3 * period + 1:
            raise Interrupted
        return original_step(self)

    def evaluate(model, *args, **kwargs):  # killed after the checkpoint of iteration 4, before its evaluation
        if where == "evaluation" and len(calls) == 2:
            raise Interrupted
        calls.append(1)
        return original_evaluation(model, *args, **kwargs)

    calls: list[int] = []
    monkeypatch.setattr(Trainer, "train_step", train_step)
    monkeypatch.setattr(cm, "evaluate_clustering", evaluate)
    with pytest.raises(Interrupted):
        cm.run_seeds(TINY, [2], x, y, tmp_path / "killed", progress=False)
    kept = cm.stored_evaluations(tmp_path / "killed" / "mpcc_mnist_5it_seed2", 5)
    assert [e["iteration"] for e in kept] == [0, 2]
    monkeypatch.undo()
    (resumed,) = cm.run_seeds(TINY, [2], x, y, tmp_path / "killed", progress=False)
    assert without_timing(resumed) == without_timing(straight)
