"""The light-curve chapter's runs: the configuration and run names, the periods and their cache, the folding and the
outlier split, the metrics, and one run of every detector on the shipped 135 curves (its record, its scores' orientation,
bitwise resumption and divergence).

The runs are tiny (C = 4, one or two epochs of three batches of 27 curves, 50 bootstrap draws): about a second each.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

from gi_core.data.light_curve_folding import FoldedCurves, fold_light_curves, outlier_split
from gi_core.data.light_curves import FIVE_CLASSES, load_asas
from gi_core.experiments import light_curve_runs as lr
from gi_core.maths.energy_gmm import SingularCovarianceError
from gi_core.metrics.light_curve_statistics import light_curve_statistics
from gi_core.models.energy_gmm import EnergyGMM
from gi_core.models.lc_vade import LCVaDE
from gi_core.trainer import Trainer
from gi_core.validation import check_json

pytestmark = pytest.mark.usefixtures("one_thread")
CONFIG = lr.LightCurveConfig(source="quick", channels=4, epochs=1, batch_size=27, bootstrap=50)
SCORES = {"lc_vade": {"latent", "reconstruction", "both"}, "vae": {"latent", "reconstruction", "both"},
          "energy_gmm": {"energy"}, "isolation_forest": {"statistics"}}
SEED = 2


@pytest.fixture(scope="module")
def curves() -> FoldedCurves:
    return lr.prepared_curves(CONFIG, progress=False)


@pytest.fixture(scope="module")
def runs(curves: FoldedCurves) -> dict[str, lr.LightCurveRun]:
    """One run of each detector, seed 2, Beta Persei the outlier."""
    return {model: lr.train_run(replace(CONFIG, model=model), curves, SEED, progress=False) for model in lr.MODELS}


def without_times(record: dict) -> dict:
    """The record without what depends on the clock."""
    losses = [{k: v for k, v in entry.items() if k != "seconds"} for entry in record.get("losses", [])]
    return {**{k: v for k, v in record.items() if k != "wall_time_s"}, "losses": losses}


@pytest.mark.parametrize(("field", "value"), [
    ("model", "gan"), ("outlier", "Mira"), ("source", "linear"), ("kernel", "matern"), ("channels", 0),
    ("epochs", 0), ("batch_size", -1), ("length", 2), ("checkpoint_epochs", 0), ("bootstrap", 1), ("lr", 0.0),
    ("supervised_weight", -0.5), ("eclipsing_period_factor", 0.0), ("lr", math.nan), ("channels", 2.5)])
def test_the_configuration_refuses_bad_values_naming_them(field: str, value: object) -> None:
    with pytest.raises((ValueError, TypeError), match=field):
        replace(CONFIG, **{field: value})


def test_describe_records_the_fields_and_the_fixed_architecture() -> None:
    described = CONFIG.describe()
    check_json(described, "described")
    assert described["channels"] == 4 and described["epochs"] == 1 and described["source"] == "quick"
    assert described["lr"] == 1e-3 and described["bootstrap"] == 50 and described["eclipsing_period_factor"] == 1.0
    assert (described["inducing_points"], described["reference_points"]) == (24, 64)
    assert described["latent"] == "z_rep 10 + z_kernel 2" and described["optimizer"].startswith("adam")


def test_run_names_differ_for_every_field_that_changes_a_run() -> None:
    assert lr.run_name(CONFIG, 3) == "lc_lc_vade_quick_Beta_Persei_c4_e1_b27_seed3"
    changed = [replace(CONFIG, **{field: value}) for field, value in (
        ("kernel", "periodic"), ("eclipsing_period_factor", 0.5), ("supervised_weight", 0.0), ("channels", 8),
        ("epochs", 2), ("batch_size", 16), ("model", "vae"), ("outlier", "W_Ursae_Maj"), ("source", "full"),
        ("lr", 2e-3), ("length", 100))]
    names = [lr.run_name(config, 3) for config in [CONFIG, *changed]] + [lr.run_name(CONFIG, 4)]
    assert len(set(names)) == len(names)
    assert names[1:4] == ["lc_lc_vade_quick_Beta_Persei_c4_e1_b27_periodic_seed3",
                          "lc_lc_vade_quick_Beta_Persei_c4_e1_b27_ecl0.5_seed3",
                          "lc_lc_vade_quick_Beta_Persei_c4_e1_b27_w0_seed3"]
    # what does not change the run's outcome does not change its name: the checkpoint spacing (resumption is bitwise)
    assert lr.run_name(replace(CONFIG, checkpoint_epochs=3), 3) == names[0]
    forest = replace(CONFIG, model="isolation_forest")  # no network: its width, epochs and batch are unused
    assert lr.run_name(forest, 0) == "lc_isolation_forest_quick_Beta_Persei_seed0"
    assert lr.run_name(replace(forest, channels=72, epochs=50, batch_size=32), 0) == lr.run_name(forest, 0)
    with pytest.raises(TypeError, match="config"):
        lr.run_name({"model": "lc_vade"}, 0)
    with pytest.raises(ValueError, match="seed"):
        lr.run_name(CONFIG, -1)


def test_asas_periods_are_the_shipped_ones_or_estimated_once_and_read_back(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def estimate(curve_set, progress=True):
        calls.append(curve_set.star_ids)
        return 1.0 + np.arange(len(curve_set.star_ids)) / 7  # not round in binary: the JSON must keep every bit

    monkeypatch.setattr(lr, "estimate_periods", estimate)
    quick = load_asas("quick")
    shipped = lr.asas_periods(quick, tmp_path / "unused.json", progress=False)
    assert shipped.dtype == np.float64 and np.array_equal(shipped, quick.periods) and len(shipped) == 135
    assert calls == [] and not (tmp_path / "unused.json").exists()

    five = replace(quick.subset(range(5)), periods=None)
    cache = tmp_path / "nested" / "periods.json"
    first = lr.asas_periods(five, cache, progress=False)
    assert calls == [five.star_ids] and np.array_equal(first, 1.0 + np.arange(5) / 7)
    assert json.loads(cache.read_text()) == {"periods": dict(zip(five.star_ids, first.tolist()))}
    again = lr.asas_periods(five, cache, progress=False)
    assert len(calls) == 1 and again.dtype == np.float64 and np.array_equal(again, first)  # read back, bit for bit
    three = replace(quick.subset([2, 0, 4]), periods=None)  # a subset of the cached stars, in another order
    assert np.array_equal(lr.asas_periods(three, cache, progress=False), first[[2, 0, 4]]) and len(calls) == 1
    six = replace(quick.subset(range(6)), periods=None)  # a star the cache lacks: estimated again
    assert np.array_equal(lr.asas_periods(six, cache, progress=False), 1.0 + np.arange(6) / 7) and len(calls) == 2
    lr.asas_periods(five, None, progress=False)  # no cache: estimated every time
    assert len(calls) == 3
    with pytest.raises(TypeError, match="cache"):
        lr.asas_periods(quick, 7)
    with pytest.raises(TypeError, match="curves"):
        lr.asas_periods(quick.curves)


def test_prepared_curves_fold_the_eclipsing_classes_at_the_factor(curves: FoldedCurves) -> None:
    quick = load_asas("quick")
    expected = fold_light_curves(quick, quick.periods, length=200, seed=0)
    for a, b in zip(curves[:6], expected[:6]):
        assert torch.equal(a, b)
    assert curves.class_names == FIVE_CLASSES and curves.star_ids == quick.star_ids
    np.testing.assert_allclose(curves.features[:, 2].double().numpy(), np.log10(quick.periods), rtol=0, atol=1e-6)

    half = lr.prepared_curves(replace(CONFIG, eclipsing_period_factor=0.5), progress=False, device="cpu")
    eclipsing = torch.tensor([FIVE_CLASSES[k] in lr.ECLIPSING for k in quick.labels])
    assert int(eclipsing.sum()) == 54  # Beta Persei and W Ursae Majoris, 27 stars each
    shift = (half.features[:, 2] - curves.features[:, 2]).double()
    torch.testing.assert_close(shift[eclipsing], torch.full((54,), math.log10(0.5), dtype=torch.float64), rtol=0,
                               atol=1e-6)
    for a, b in zip(half[:6], curves[:6]):  # every other star is folded as before, bit for bit
        assert torch.equal(a[~eclipsing], b[~eclipsing])
    assert not torch.equal(half.phase[eclipsing], curves.phase[eclipsing])
    refolded = fold_light_curves(quick, np.where(eclipsing.numpy(), quick.periods * 0.5, quick.periods), 200, seed=0)
    assert torch.equal(half.phase, refolded.phase) and torch.equal(half.value, refolded.value)

    short = lr.prepared_curves(replace(CONFIG, length=20), progress=False)
    assert short.phase.shape == (135, 20) and int(short.mask.sum(1).max()) == 20
    with pytest.raises(TypeError, match="run_dir"):
        lr.prepared_curves(CONFIG, run_dir=7)


def test_split_curves_is_astorga_s_protocol_with_relabelled_inliers(curves: FoldedCurves) -> None:
    split = lr.split_curves(curves, "Beta_Persei", seed=1)
    train_idx, test_idx, is_outlier = outlier_split(curves.labels.numpy(), 2, 1)
    assert split.train[0].shape == (81, 200) and split.test[0].shape == (54, 200)
    assert split.is_outlier.dtype == bool and int(split.is_outlier.sum()) == 27 and split.is_outlier[:27].all()
    assert np.array_equal(split.is_outlier, is_outlier)
    assert split.inlier_classes == ("Classical_Cepheid", "Semireg_PV", "RR_Lyrae_FM", "W_Ursae_Maj")
    for part, idx in ((split.train, train_idx), (split.test, test_idx)):
        for tensor, full in zip(part[:5], curves[:5]):
            assert torch.equal(tensor, full[torch.as_tensor(idx)])
    names = [curves.class_names[k] for k in curves.labels[torch.as_tensor(train_idx)]]
    assert [split.inlier_classes[k] for k in split.train[5]] == names
    assert split.train[5].dtype == torch.int64 and set(split.train[5].tolist()) == {0, 1, 2, 3}
    # 27 test inliers in the inliers' proportions (27 each): 7, 7, 7, 6 by largest remainder, so 20, 20, 20, 21 train
    assert torch.bincount(split.train[5]).tolist() == [20, 20, 20, 21]
    assert (split.test[5][:27] == -1).all() and torch.bincount(split.test[5][27:]).tolist() == [7, 7, 7, 6]
    assert split.test_ids == tuple(curves.star_ids[i] for i in test_idx)
    assert not set(split.test_ids) & {curves.star_ids[i] for i in train_idx}
    assert len(set(split.test_ids)) == 54
    other = lr.split_curves(curves, "Beta_Persei", seed=2)
    assert other.test_ids[:27] == split.test_ids[:27] and other.test_ids[27:] != split.test_ids[27:]
    with pytest.raises(ValueError, match="outlier"):
        lr.split_curves(curves, "Mira", seed=0)
    with pytest.raises(ValueError, match="seed"):
        lr.split_curves(curves, "Beta_Persei", seed=-1)


def test_score_metrics_are_scikit_learn_s_areas_in_percent_with_intervals() -> None:
    rng = np.random.default_rng(0)
    is_outlier = np.arange(30) < 10
    scores = rng.standard_normal(30) + 0.8 * is_outlier
    entry = lr.score_metrics(scores, is_outlier, resamples=50, seed=3)
    assert entry["auroc"] == pytest.approx(100 * roc_auc_score(is_outlier, scores), abs=1e-12)
    assert entry["auprc"] == pytest.approx(100 * average_precision_score(is_outlier, scores), abs=1e-12)
    for name in ("auroc", "auprc"):
        low, high = entry[f"{name}_interval"]
        assert 0 <= low < entry[name] < high <= 100
    assert lr.score_metrics(scores, is_outlier, 50, 3) == entry
    assert lr.score_metrics(scores, is_outlier, 50, 4)["auroc_interval"] != entry["auroc_interval"]
    assert lr.score_metrics(-scores, is_outlier, 50, 3)["auroc"] == pytest.approx(100 - entry["auroc"])
    with pytest.raises(ValueError, match="resamples"):
        lr.score_metrics(scores, is_outlier, 1, 0)


@pytest.mark.parametrize("model", lr.MODELS)
def test_a_run_records_its_split_scores_and_their_metrics(runs: dict, curves: FoldedCurves, model: str) -> None:
    trained, record = runs[model]
    check_json(record, "record")
    split = lr.split_curves(curves, "Beta_Persei", SEED)
    assert record["seed"] == SEED and record["config"] == replace(CONFIG, model=model).describe()
    assert (record["train_size"], record["test_size"], record["outliers"]) == (81, 54, 27)
    assert record["test_ids"] == list(split.test_ids) and record["is_outlier"] == split.is_outlier.astype(int).tolist()
    assert set(record["scores"]) == set(record["metrics"]) == SCORES[model] and "diverged" not in record
    for name, scores in record["scores"].items():
        assert len(scores) == 54
        assert record["metrics"][name] == lr.score_metrics(np.array(scores), split.is_outlier, 50, SEED)
    assert record["wall_time_s"] > 0
    if model == "isolation_forest":
        assert trained is None and "losses" not in record
    else:
        assert [(e["step"], e["epoch"]) for e in record["losses"]] == [(3, 1.0)]  # 81 curves in batches of 27
        assert all(math.isfinite(v) for v in record["losses"][0].values()) and not trained.training


@pytest.mark.parametrize("model", ["lc_vade", "vae"])
def test_the_variational_scores_are_minus_the_latent_score_and_the_reconstruction_error(
        runs: dict, curves: FoldedCurves, model: str) -> None:
    trained, record = runs[model]
    split = lr.split_curves(curves, "Beta_Persei", SEED)
    latent = -trained.anomaly_score(*split.test[:5]).double().numpy()  # LC-VaDE: -IAS, high = anomalous
    assert np.array_equal(np.array(record["scores"]["latent"]), latent)
    reconstruction = lr.reconstruction_error(trained, split.test)
    assert np.array_equal(np.array(record["scores"]["reconstruction"]), reconstruction)
    train_latent = -trained.anomaly_score(*split.train[:5]).double().numpy()
    train_reconstruction = lr.reconstruction_error(trained, split.train)
    both = ((latent - train_latent.mean()) / train_latent.std()
            + (reconstruction - train_reconstruction.mean()) / train_reconstruction.std())
    np.testing.assert_allclose(record["scores"]["both"], both, rtol=1e-12, atol=1e-12)
    predicted = trained.class_probabilities(*split.test[:5]).argmax(1)
    inliers = torch.from_numpy(~split.is_outlier)
    assert record["test_class_accuracy"] == pytest.approx(float((predicted[inliers] == split.test[5][inliers]).double().mean()))
    counts = torch.bincount(predicted[~inliers], minlength=4).tolist()
    assert record["outlier_assignments"] == dict(zip(split.inlier_classes, counts)) and sum(counts) == 27


def test_the_reconstruction_error_is_the_expected_gaussian_cross_entropy_per_point(runs: dict,
                                                                                    curves: FoldedCurves) -> None:
    trained = runs["lc_vade"].model
    data = tuple(t[:6] for t in curves[:6])
    phase, value, error, mask = (t.double().numpy() if t.is_floating_point() else t.numpy() for t in data[:4])
    with torch.no_grad():
        mean, _ = trained.encode(*data[:4])
        fit_mean, fit_var = (t.double().numpy() for t in trained.decoder(mean, data[0]))
    per_point = 0.5 * np.log(2 * np.pi * fit_var) + (error**2 + (value - fit_mean) ** 2) / (2 * fit_var)
    expected = (per_point * mask).sum(1) / mask.sum(1)
    np.testing.assert_allclose(lr.reconstruction_error(trained, data), expected, rtol=1e-5)
    with pytest.raises(TypeError, match="model"):
        lr.reconstruction_error(runs["energy_gmm"].model, data)
    with pytest.raises(TypeError, match="data"):
        lr.reconstruction_error(trained, data[0])


def test_the_energy_and_forest_scores_are_the_sample_energy_and_minus_score_samples(runs: dict,
                                                                                  curves: FoldedCurves) -> None:
    split = lr.split_curves(curves, "Beta_Persei", SEED)
    energy_model, energy = runs["energy_gmm"]
    assert np.array_equal(np.array(energy["scores"]["energy"]), energy_model.anomaly_score(*split.test[:4]).double().numpy())
    assert "test_class_accuracy" not in energy
    statistics = [light_curve_statistics(*part[:5]) for part in (split.train, split.test)]
    forest = IsolationForest(n_estimators=200, random_state=SEED).fit(statistics[0])
    forest_scores = runs["isolation_forest"].record["scores"]["statistics"]
    assert np.array_equal(np.array(forest_scores), -forest.score_samples(statistics[1]))
    # oriented so that higher means more anomalous: the forest separates Beta Persei well (measured: 99.18 %)
    assert runs["isolation_forest"].record["metrics"]["statistics"]["auroc"] > 90


def test_an_interrupted_run_resumes_to_the_same_record_and_model_bitwise(curves: FoldedCurves, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    config = replace(CONFIG, epochs=2, checkpoint_epochs=1)  # 6 steps, a checkpoint every 3
    straight = lr.train_run(config, curves, 1, tmp_path / "straight", progress=False)

    class Killed(RuntimeError):
        pass

    step = Trainer.train_step

    def killed_at_step_4(self):
        if self.step == 4:
            raise Killed
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", killed_at_step_4)
    with pytest.raises(Killed):
        lr.train_run(config, curves, 1, tmp_path / "resumed", progress=False)
    steps = []
    monkeypatch.setattr(Trainer, "train_step", lambda self: steps.append(self.step) or step(self))
    resumed = lr.train_run(config, curves, 1, tmp_path / "resumed", progress=False)
    assert steps == [3, 4, 5]  # resumed from the checkpoint at step 3
    assert without_times(resumed.record) == without_times(straight.record)
    assert [e["step"] for e in resumed.record["losses"]] == [3, 6]
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    unsaved = lr.train_run(config, curves, 1, None, progress=False)  # checkpoints do not change a run
    assert without_times(unsaved.record) == without_times(straight.record)


def test_a_diverged_run_is_recorded_with_its_step(curves: FoldedCurves, monkeypatch: pytest.MonkeyPatch) -> None:
    loss = LCVaDE.training_loss
    calls = []

    def nan_at_the_second_step(self, *batch):
        terms = loss(self, *batch)
        calls.append(1)
        return {**terms, "loss": terms["loss"] * math.nan} if len(calls) == 2 else terms

    monkeypatch.setattr(LCVaDE, "training_loss", nan_at_the_second_step)
    run = lr.train_run(CONFIG, curves, 0, progress=False)
    check_json(run.record, "record")
    assert run.model is None and run.record["diverged"]["step"] == 1
    assert run.record["diverged"]["message"].startswith("step 1: non-finite loss terms 'loss' = nan")
    assert not {"metrics", "scores", "losses"} & set(run.record) and run.record["test_size"] == 54

    energy_loss = EnergyGMM.training_loss
    energy_calls = []

    def singular_at_the_third_step(self, *batch):
        energy_calls.append(1)
        if len(energy_calls) == 3:
            raise SingularCovarianceError("component 2's covariance is not positive definite")
        return energy_loss(self, *batch)

    monkeypatch.setattr(EnergyGMM, "training_loss", singular_at_the_third_step)
    energy = lr.train_run(replace(CONFIG, model="energy_gmm"), curves, 0, progress=False).record
    assert energy["diverged"] == {"step": 2, "message": "component 2's covariance is not positive definite"}
    assert "metrics" not in energy


def test_the_latent_score_variants_are_their_closed_forms(runs: dict, curves: FoldedCurves) -> None:
    trained, record = runs["lc_vade"]
    split = lr.split_curves(curves, "Beta_Persei", SEED)
    variants = lr.latent_score_variants(trained, split.test)
    assert set(variants) == set(record["diagnostics"]) == {"ias_without_features", "code_density", "joint_density"}
    for name, values in variants.items():
        assert values.shape == (54,) and record["diagnostics"][name] == lr.score_metrics(values, split.is_outlier, 50, SEED)
    assert all("diagnostics" not in runs[m].record for m in ("vae", "energy_gmm", "isolation_forest"))
    with torch.no_grad():
        mean, log_var = (t.double().numpy() for t in trained.encode(*split.test[:4]))
    f = split.test[4].double().numpy()
    prior = trained.prior
    means, log_vars, log_weights = (t.detach().double().numpy() for t in (prior.means, prior.log_vars, prior.log_weights))
    f_means, f_log_vars = (t.detach().double().numpy() for t in (trained.feature_means, trained.feature_log_vars))

    def log_normal(x, m, lv):  # sum over the last axis of log N(x; m, e^lv), x (B, 1, D) against (K, D)
        return (-0.5 * (np.log(2 * np.pi) + lv) - (x - m) ** 2 / (2 * np.exp(lv))).sum(-1)

    code, feature = log_normal(mean[:, None], means, log_vars), log_normal(f[:, None], f_means, f_log_vars)
    joint = log_weights + code + feature
    top = joint.max(1, keepdims=True)
    log_evidence = (top + np.log(np.exp(joint - top).sum(1, keepdims=True)))[:, 0]
    np.testing.assert_allclose(variants["joint_density"], -log_evidence, rtol=1e-4, atol=1e-4)
    gamma = np.exp(joint - log_evidence[:, None])  # q(y|mu, f)
    np.testing.assert_allclose(variants["code_density"], -(gamma * code).sum(1), rtol=1e-4, atol=1e-4)
    z_only = np.exp(log_weights + code - (log_weights + code).max(1, keepdims=True))
    z_only /= z_only.sum(1, keepdims=True)  # p(y|mu), without the features
    cross = (-0.5 * (np.log(2 * np.pi) + log_vars[None])
             - (np.exp(log_var)[:, None] + (mean[:, None] - means[None]) ** 2) / (2 * np.exp(log_vars[None]))).sum(-1)
    entropy = 0.5 * (np.log(2 * np.pi * np.e) + log_var).sum(1)
    np.testing.assert_allclose(variants["ias_without_features"], -((z_only * cross).sum(1) + entropy), rtol=1e-4,
                               atol=1e-4)
    with pytest.raises(TypeError, match="model"):
        lr.latent_score_variants(runs["vae"].model, split.test)
