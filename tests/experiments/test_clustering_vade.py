"""VaDE runs (chapter 5): a run's record, bitwise resumption and seeding, the baselines, the schedule and the summary.

The runs are tiny (60 quick-profile MNIST images, a 16-unit MLP, 1 + 2 epochs): about a second each.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import sklearn.metrics
import torch

from gi_core.experiments import clustering_vade as cv
from gi_core.trainer import Trainer
from gi_core.validation import check_json

pytestmark = pytest.mark.usefixtures("one_thread")
CONFIG = cv.VaDEConfig(hidden=(16,), latent_dim=2, num_clusters=3, batch_size=20, pretrain_epochs=1, epochs=2,
                       eval_every=1, gmm_inits=1)
SCORES = ("accuracy", "purity", "nmi", "ari")


@pytest.fixture(scope="module")
def data() -> cv.ClusteringData:
    full = cv.load_clustering_data("mnist", torch.device("cpu"), profile="quick")
    assert full.x.shape == (7000, *cv.IMAGE_SHAPE) and full.y.shape == (7000,)
    assert 0.0 <= float(full.x.min()) and float(full.x.max()) <= 1.0
    return cv.ClusteringData(full.x[:60], full.y[:60], full.source)


@pytest.fixture(scope="module")
def straight(data: cv.ClusteringData, tmp_path_factory: pytest.TempPathFactory) -> cv.VaDERun:
    """A run trained to the end in one go, checkpointing."""
    return cv.train_run(CONFIG, data, 3, tmp_path_factory.mktemp("straight"), progress=False)


def without_wall_time(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "wall_time_s"}


def test_a_run_records_its_evaluations_and_baselines(straight: cv.VaDERun, data: cv.ClusteringData) -> None:
    model, straight = straight
    check_json(straight, "record")
    assert straight["seed"] == 3 and straight["config"] == CONFIG.describe()
    assert [e["epoch"] for e in straight["evaluations"]] == [0, 1, 2] and straight["final"] == straight["evaluations"][-1]
    for scores in [*straight["evaluations"], *straight["baselines"].values()]:
        assert all(0.0 <= scores[s] <= 1.0 for s in ("accuracy", "purity", "nmi")) and -1.0 <= scores["ari"] <= 1.0
        assert scores["accuracy"] <= scores["purity"]
    assert set(straight["baselines"]) == {"kmeans", "gmm"}
    for e in straight["evaluations"]:
        assert math.isfinite(e["elbo"]) and e["elbo"] < 0
        assert len(e["weights"]) == len(e["occupancy"]) == 3 and sum(e["weights"]) == pytest.approx(1.0)
        assert sum(e["occupancy"]) == pytest.approx(1.0) and e["empty"] == sum(o == 0 for o in e["occupancy"])
    # the mixture starts as the GMM of the codes, so before training VaDE's clusters are the GMM's
    assert {s: straight["evaluations"][0][s] for s in SCORES} == straight["baselines"]["gmm"]
    assert straight["final"]["elbo"] > straight["evaluations"][0]["elbo"]  # training raises the bound
    assert straight["pretrain_loss"] > 0 and straight["wall_time_s"] > 0
    assert not model.training  # the trained model, whose clusters are the final evaluation's
    assert cv.clustering_scores(data.y, model.cluster_probabilities(data.x).argmax(1)) == {
        s: straight["final"][s] for s in SCORES}


def test_an_interrupted_run_resumes_to_the_same_record_bitwise(straight: cv.VaDERun, data: cv.ClusteringData,
                                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = cv.train_run(replace(CONFIG, epochs=1), data, 3, tmp_path, progress=False).record
    assert [e["epoch"] for e in first["evaluations"]] == [0, 1]
    steps = []
    step = Trainer.train_step
    monkeypatch.setattr(Trainer, "train_step", lambda self: steps.append(self.step) or step(self))
    resumed = cv.train_run(CONFIG, data, 3, tmp_path, progress=False)
    assert steps == [3, 4, 5]  # only VaDE's second epoch is trained: pretraining and epoch 1 are read back
    assert without_wall_time(resumed.record) == without_wall_time(straight.record)
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        assert torch.equal(a, b)


def test_seeded_runs_are_identical_with_or_without_checkpoints(straight: cv.VaDERun, data: cv.ClusteringData) -> None:
    again = cv.train_run(CONFIG, data, 3, None, progress=False).record
    assert without_wall_time(again) == without_wall_time(straight.record)


def test_summarize_reports_means_best_and_the_label_free_pick() -> None:
    def record(seed: int, accuracy: float, elbo: float) -> dict:
        scores = {"accuracy": accuracy, "purity": accuracy + 0.05, "nmi": 0.5, "ari": 0.4}
        return {"seed": seed, "final": {**scores, "elbo": elbo},
                "baselines": {"gmm": {**scores, "accuracy": 0.6}, "kmeans": {**scores, "accuracy": 0.5 + seed / 100}}}

    table = cv.summarize([record(0, 0.9, -120.0), record(4, 0.7, -100.0), record(7, 0.8, -110.0)])
    assert set(table) == {"VaDE", "GMM on codes", "k-means on codes"}
    vade = table["VaDE"]
    assert vade["accuracy"] == pytest.approx([0.8, 0.1, 3]) and vade["purity"] == pytest.approx([0.85, 0.1, 3])
    assert vade["best_accuracy"] == 0.9
    assert vade["label_free_accuracy"] == 0.7 and vade["label_free_seed"] == 4  # the highest bound, not the best
    assert table["GMM on codes"]["accuracy"] == [0.6, 0.0, 3] and "label_free_accuracy" not in table["GMM on codes"]
    assert table["k-means on codes"]["best_accuracy"] == pytest.approx(0.57)
    assert cv.summarize([record(2, 0.9, -1.0)])["VaDE"]["accuracy"] == [0.9, 0.0, 1]
    with pytest.raises(ValueError, match="records must be a non-empty list"):
        cv.summarize([])


def test_lr_schedule_decays_by_lr_decay_every_lr_decay_epochs() -> None:
    schedule = cv.lr_schedule(cv.VaDEConfig(lr_decay=0.5, lr_decay_epochs=2), steps_per_epoch=3)
    assert [schedule(step) for step in (0, 5, 6, 11, 12, 30)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.5**5]
    with pytest.raises(ValueError, match="steps_per_epoch must be a positive integer"):
        cv.lr_schedule(CONFIG, 0)


def test_clustering_scores_by_hand() -> None:
    labels, clusters = torch.tensor([0, 0, 0, 0, 1, 1]), torch.tensor([0, 0, 1, 1, 2, 2])
    scores = cv.clustering_scores(labels, clusters)
    assert scores["purity"] == 1.0 and scores["accuracy"] == pytest.approx(4 / 6)  # two clusters share label 0
    assert scores["nmi"] == pytest.approx(sklearn.metrics.normalized_mutual_info_score(labels, clusters))
    assert scores["ari"] == pytest.approx(sklearn.metrics.adjusted_rand_score(labels, clusters))


def test_baselines_find_separated_blobs_and_are_seeded() -> None:
    config = cv.VaDEConfig(latent_dim=2, num_clusters=3, gmm_inits=2)
    centres = torch.tensor([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = torch.arange(30) % 3
    codes = centres[labels] + torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    gmm, scores = cv.baselines(codes, labels, config, seed=1)
    assert scores == {"kmeans": dict.fromkeys(SCORES, 1.0), "gmm": dict.fromkeys(SCORES, 1.0)}
    assert gmm.covariance_type == "diag" and gmm.means_.shape == (3, 2)
    again = cv.fit_mixture(codes, config, seed=1)
    assert (again.means_ == gmm.means_).all() and (again.covariances_ == gmm.covariances_).all()
    with pytest.raises(ValueError, match="codes"):
        cv.fit_mixture(codes[:, :1], config, seed=1)
    with pytest.raises(ValueError, match="codes must have at least num_clusters = 3 rows, got 2"):
        cv.fit_mixture(codes[:2], config, seed=1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        cv.fit_mixture(codes, config, seed=-1)
    with pytest.raises(ValueError, match="labels must be integer labels of shape"):
        cv.baselines(codes, labels[:-1], config, seed=1)


def test_evaluate_keeps_the_model_mode_and_refuses_other_models(data: cv.ClusteringData) -> None:
    torch.manual_seed(0)
    model = cv.vade_networks(cv.IMAGE_SHAPE, 2, 3, (16,))
    first = cv.evaluate(model, data, seed=5)
    assert model.training and first == cv.evaluate(model, data, seed=5)
    assert first["elbo"] != cv.evaluate(model, data, seed=6)["elbo"]  # the seed draws the bound's noise
    with pytest.raises(TypeError, match="model"):
        cv.evaluate(torch.nn.Linear(2, 2), data, seed=0)


def test_configurations_and_data_are_checked() -> None:
    with pytest.raises(ValueError, match="num_clusters must be at least 2"):
        cv.VaDEConfig(num_clusters=1)
    with pytest.raises(ValueError, match="lr_decay"):
        cv.VaDEConfig(lr_decay=1.0)
    with pytest.raises(ValueError, match="dataset"):
        cv.VaDEConfig(dataset="cifar")
    described = cv.VaDEConfig().describe()
    assert described["hidden"] == [500, 500, 2000] and described["epochs"] == 300 and described["network"] == "mlp"
    bad = cv.ClusteringData(torch.rand(4, 1, 28, 28), torch.arange(3), "toy")
    with pytest.raises(ValueError, match="data.y"):
        cv.train_run(CONFIG, bad, 0, progress=False)
    with pytest.raises(ValueError, match="data.x"):
        cv.train_run(CONFIG, cv.ClusteringData(torch.rand(4, 1, 8, 8), torch.arange(4), "toy"), 0, progress=False)
