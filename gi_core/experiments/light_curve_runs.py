r"""Runs of the light-curve chapter: one detector trained on the inliers of one outlier split, scored on its test set.

A run (:func:`train_run`) folds the ASAS curves at their estimated periods (:func:`prepared_curves`), splits them with
Astorga's (2021, §9.3) protocol for one outlier class (:func:`~gi_core.data.light_curve_folding.outlier_split`, seeded
by the run's seed, so the spread over runs includes the draw of the test inliers), trains the detector on the
remaining inliers and records its outlier scores on the test set with AUROC and AUPRC and their stratified bootstrap
intervals. Every score is oriented so that higher means *more anomalous*:

* LC-VaDE: :math:`-\mathrm{IAS}` (Eq. 9.12), the reconstruction error, and their sum after standardising each on the
  training inliers ("both");
* the unimodal VAE baseline: :math:`-\log\mathcal N(\tilde\mu;0,I)` and the reconstruction error;
* the energy GMM: the sample energy (Zong et al. 2018, Eq. 6);
* the isolation forest: ``-score_samples`` on the light-curve statistics.

Neural runs checkpoint through the trainer and resume; a run whose loss turns non-finite is recorded as diverged with
the step and term (the thesis reports only the energy GMM's converged runs, and so does the table built from these).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from sklearn.ensemble import IsolationForest
from torch import Tensor

from gi_core.checkpoints import write_text_atomically
from gi_core.data.light_curve_folding import FoldedCurves, fold_light_curves, outlier_split
from gi_core.data.light_curve_periods import estimate_periods
from gi_core.data.light_curves import FIVE_CLASSES, LightCurveSet, load_asas
from gi_core.guards import NonFiniteLossError
from gi_core.maths.energy_gmm import SingularCovarianceError
from gi_core.maths.gaussians import diag_gaussian_log_prob
from gi_core.maths.lc_vade_objective import information_anomaly_score
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.maths.vade_bound import mixture_responsibilities
from gi_core.metrics.anomaly import anomaly_auprc, anomaly_auroc, bootstrap_interval
from gi_core.metrics.light_curve_statistics import light_curve_statistics
from gi_core.models.energy_gmm import EnergyGMM, energy_gmm_networks
from gi_core.models.lc_vade import LCVaDE, lc_vade_networks
from gi_core.models.light_curve_vae import LightCurveVAE, light_curve_vae_networks
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.results import read_json
from gi_core.runtime import seed_everything
from gi_core.trainer import Trainer
from gi_core.validation import (check_choice, check_device, check_instance, check_non_negative_int, check_path, check_positive_int,
                                check_real)

MODELS = ("lc_vade", "vae", "energy_gmm", "isolation_forest")
ECLIPSING = ("Beta_Persei", "W_Ursae_Maj")
PERIODS_FILE = "asas_periods_{source}.json"
TENSORS = ("phase", "value", "error", "mask", "features", "labels")
ENERGY_EPS = 1e-4
"""The energy GMM's stabiliser: ``eps * I`` added to every component covariance, so that a component that collapses
onto a few of a few hundred 14-dimensional codes stays invertible (a singular one stops the run)."""


@dataclass(frozen=True)
class LightCurveConfig:
    """One detector on one outlier split (checked on construction). ``eclipsing_period_factor`` multiplies the
    estimated periods of the two eclipsing classes (0.5: the half period a one-harmonic periodogram finds)."""

    model: str = "lc_vade"
    outlier: str = "Beta_Persei"
    source: str = "full"
    channels: int = 72
    kernel: str = "rbf"
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    supervised_weight: float = 1.0
    length: int = 200
    eclipsing_period_factor: float = 1.0
    checkpoint_epochs: int = 10
    bootstrap: int = 2000

    def __post_init__(self) -> None:
        check_choice(self.model, MODELS, "model")
        check_choice(self.outlier, FIVE_CLASSES, "outlier")
        check_choice(self.source, ("quick", "full"), "source")
        check_choice(self.kernel, ("rbf", "periodic"), "kernel")
        for name in ("channels", "epochs", "batch_size", "checkpoint_epochs"):
            check_positive_int(getattr(self, name), name)
        check_positive_int(self.length, "length", minimum=3)  # what fold_light_curves takes
        check_positive_int(self.bootstrap, "bootstrap", minimum=2)  # what bootstrap_interval takes
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        check_real(self.supervised_weight, "supervised_weight", minimum=0.0)
        check_real(self.eclipsing_period_factor, "eclipsing_period_factor", minimum=0.0, strict=True)

    def describe(self) -> dict:
        """A JSON-ready record of the configuration."""
        return {**asdict(self), "optimizer": "adam, betas (0.9, 0.999)", "latent": "z_rep 10 + z_kernel 2",
                "inducing_points": 24, "reference_points": 64}


def run_name(config: LightCurveConfig, seed: int) -> str:
    """The name of a run in the cache of finished runs (record ``<name>.json``, checkpoints ``<name>/``)."""
    check_instance(config, LightCurveConfig, "config")
    check_non_negative_int(seed, "seed")
    neural = "" if config.model == "isolation_forest" else f"_c{config.channels}_e{config.epochs}_b{config.batch_size}"
    extras = (f"_{config.kernel}" if config.kernel != "rbf" else "") + (
        f"_ecl{config.eclipsing_period_factor:g}" if config.eclipsing_period_factor != 1.0 else "")
    supervised = f"_w{config.supervised_weight:g}" if config.supervised_weight != 1.0 else ""
    other = (f"_lr{config.lr:g}" if config.lr != 1e-3 else "") + (f"_t{config.length}" if config.length != 200 else "")
    return f"lc_{config.model}_{config.source}_{config.outlier}{neural}{extras}{supervised}{other}_seed{seed}"


def asas_periods(curves: LightCurveSet, cache: Path | None = None, progress: bool = True) -> np.ndarray:
    """The curves' periods (days): the shipped ones of the quick subset, else estimated
    (:func:`~gi_core.data.light_curve_periods.estimate_periods`) and kept, by star id, in the JSON file ``cache``."""
    check_instance(curves, LightCurveSet, "curves")
    path = None if cache is None else check_path(cache, "cache")
    if curves.periods is not None:
        return np.asarray(curves.periods, dtype=np.float64)
    if path is not None and path.exists():
        stored = read_json(path)["periods"]
        if set(curves.star_ids) <= set(stored):
            return np.array([stored[star] for star in curves.star_ids], dtype=np.float64)
    periods = estimate_periods(curves, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps({"periods": dict(zip(curves.star_ids, map(float, periods)))}))
    return periods


def prepared_curves(config: LightCurveConfig, run_dir: Path | None = None, progress: bool = True,
                    device: torch.device | None = None) -> FoldedCurves:
    """The five-class ASAS curves of ``config.source``, folded at their periods (eclipsing classes' times
    ``config.eclipsing_period_factor``), at most ``config.length`` points each (the subset drawn with seed 0), on
    ``device`` (default: the CPU)."""
    check_instance(config, LightCurveConfig, "config")
    device = torch.device("cpu") if device is None else check_device(device, "device")
    curves = load_asas(config.source)
    cache = None if run_dir is None else check_path(run_dir, "run_dir") / PERIODS_FILE.format(source=config.source)
    periods = asas_periods(curves, cache, progress)
    eclipsing = np.isin(np.array(curves.class_names)[curves.labels], ECLIPSING)
    periods = np.where(eclipsing, periods * config.eclipsing_period_factor, periods)
    folded = fold_light_curves(curves, periods, length=config.length, seed=0)
    return folded._replace(**{name: getattr(folded, name).to(device) for name in TENSORS})


class Split(NamedTuple):
    """The tensors of one outlier split: training inliers (labels re-indexed over the inlier classes) and the test set
    with its outlier flags."""

    train: tuple[Tensor, ...]
    test: tuple[Tensor, ...]
    is_outlier: np.ndarray
    inlier_classes: tuple[str, ...]
    test_ids: tuple[str, ...]


def split_curves(curves: FoldedCurves, outlier: str, seed: int) -> Split:
    """Astorga's split for class ``outlier`` (seeded), as the tensors ``(phase, value, error, mask, features, labels)``
    a model's ``training_loss`` takes; inlier labels are renumbered 0..K-2 in the order of ``curves.class_names``."""
    check_instance(curves, FoldedCurves, "curves")
    check_choice(outlier, tuple(curves.class_names), "outlier")
    check_non_negative_int(seed, "seed")
    outlier_index = curves.class_names.index(outlier)
    train_idx, test_idx, is_outlier = outlier_split(curves.labels.cpu().numpy(), outlier_index, seed)
    inliers = tuple(name for name in curves.class_names if name != outlier)
    relabel = torch.tensor([inliers.index(n) if n in inliers else -1 for n in curves.class_names])
    labels = relabel.to(curves.labels.device)[curves.labels]
    tensors = (curves.phase, curves.value, curves.error, curves.mask, curves.features, labels)
    pick = lambda idx: tuple(t[torch.as_tensor(idx)] for t in tensors)  # noqa: E731
    return Split(pick(train_idx), pick(test_idx), np.asarray(is_outlier, dtype=bool), inliers,
                 tuple(curves.star_ids[i] for i in test_idx))


def _build(config: LightCurveConfig, num_classes: int) -> LCVaDE | LightCurveVAE | EnergyGMM:
    if config.model == "lc_vade":
        return lc_vade_networks(num_classes, channels=config.channels, kernel=config.kernel,
                                supervised_weight=config.supervised_weight)
    if config.model == "vae":
        return light_curve_vae_networks(num_classes, channels=config.channels, kernel=config.kernel,
                                        supervised_weight=config.supervised_weight)
    return energy_gmm_networks(channels=config.channels, kernel=config.kernel, eps=ENERGY_EPS)


def reconstruction_error(model: LCVaDE | LightCurveVAE, data: tuple[Tensor, ...]) -> np.ndarray:
    """Per curve, minus the expected Gaussian log-likelihood per observed point (Eq. 9.7) of the GP decoder at the
    encoder mean: the reconstruction score (higher = worse fit)."""
    check_instance(model, (LCVaDE, LightCurveVAE), "model")
    if not isinstance(data, (tuple, list)) or len(data) < 4:
        raise TypeError(f"data must be the tensors (phase, value, error, mask, ...), got {type(data).__name__}")
    phase, value, error, mask = data[:4]

    model.eval()
    with torch.no_grad():
        mean, _ = model.encode(phase, value, error, mask)
        fit_mean, fit_var = model.decoder(mean, phase)
        fit = expected_gaussian_log_likelihood(value, error, fit_mean, fit_var, mask) / mask.sum(1)
    return -fit.double().cpu().numpy()


def _numpy(scores: Tensor) -> np.ndarray:
    return scores.detach().double().cpu().numpy()


def _scores(model: torch.nn.Module, config: LightCurveConfig, split: Split) -> dict[str, np.ndarray]:
    """Outlier scores (higher = more anomalous) on the test set, by name, and the training set's for standardising."""
    model.eval()
    if config.model == "energy_gmm":
        model.fit_mixture(*split.train[:4])
        return {"energy": _numpy(model.anomaly_score(*split.test[:4]))}
    test = {"latent": -_numpy(model.anomaly_score(*split.test[:5])),
            "reconstruction": reconstruction_error(model, split.test)}
    train = {"latent": -_numpy(model.anomaly_score(*split.train[:5])),
             "reconstruction": reconstruction_error(model, split.train)}
    standard = {k: (test[k] - train[k].mean()) / train[k].std() for k in test}
    return {**test, "both": standard["latent"] + standard["reconstruction"]}


def latent_score_variants(model: LCVaDE, data: tuple[Tensor, ...]) -> dict[str, np.ndarray]:
    r"""Three other readings of LC-VaDE's latent space on ``data`` ``(phase, value, error, mask, features, ...)``, each
    oriented as an outlier score (higher = more anomalous), to locate what the information anomaly score responds to:

    * ``"ias_without_features"``: :math:`-\mathrm{IAS}` with :math:`\gamma=p(y|\tilde\mu)` from the code alone (no
      :math:`p(f|y)`);
    * ``"code_density"``: :math:`-\sum_k\gamma_k\log\mathcal N(\tilde\mu;\mu_k,\sigma_k^2)`, the IAS without the
      encoder's variance and entropy;
    * ``"joint_density"``: :math:`-\log\sum_k p(k)\,\mathcal N(\tilde\mu;\mu_k,\sigma_k^2)\,
      \mathcal N(f;\mu_{f,k},\sigma_{f,k}^2)`, the prior's density of the code and the features.
    """
    check_instance(model, LCVaDE, "model")
    if not isinstance(data, (tuple, list)) or len(data) < 5:
        raise TypeError(f"data must be the tensors (phase, value, error, mask, features, ...), got "
                        f"{type(data).__name__}")
    phase, value, error, mask, features = data[:5]
    model.eval()
    prior = model.prior
    with torch.no_grad():
        mean, log_var = model.encode(phase, value, error, mask)
        log_gamma = model.class_probabilities(phase, value, error, mask, features).log()
        z_only = mixture_responsibilities(mean, prior.log_weights, prior.means, prior.log_vars)
        code = diag_gaussian_log_prob(mean.unsqueeze(1), prior.means, prior.log_vars)  # (B, K)
        feature = diag_gaussian_log_prob(features.unsqueeze(1), model.feature_means, model.feature_log_vars)
        return {"ias_without_features": -_numpy(information_anomaly_score(mean, log_var, z_only, prior.means,
                                                                          prior.log_vars)),
                "code_density": -_numpy((log_gamma.exp() * code).sum(1)),
                "joint_density": -_numpy(torch.logsumexp(prior.log_weights + code + feature, 1))}


def score_metrics(scores: np.ndarray, is_outlier: np.ndarray, resamples: int, seed: int) -> dict:
    """AUROC and AUPRC (%) of ``scores`` with 95 % stratified bootstrap intervals (``resamples`` draws, seeded)."""
    entry = {}
    for name, metric in (("auroc", anomaly_auroc), ("auprc", anomaly_auprc)):
        low, high = bootstrap_interval(scores, is_outlier, metric, resamples=resamples, seed=seed)
        entry[name] = 100 * metric(scores, is_outlier)
        entry[f"{name}_interval"] = [100 * low, 100 * high]
    return entry


def _isolation_forest(split: Split, seed: int) -> dict[str, np.ndarray]:
    features = [light_curve_statistics(*part[:5]) for part in (split.train, split.test)]
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(features[0])
    return {"statistics": -forest.score_samples(features[1])}


def _trainer(model: torch.nn.Module, config: LightCurveConfig, split: Split, seed: int, folder: Path | None,
             progress: bool) -> Trainer:
    n = split.train[0].shape[0]
    batch = min(config.batch_size, n)
    every = config.checkpoint_epochs * (n // batch) if folder is not None else 0
    trainer = Trainer(model, make_optimizers(model, OptimizerSpec("adam", config.lr)), split.train, batch, seed=seed,
                      checkpoint_dir=folder, checkpoint_every=every, log_every=n // batch, progress=progress)
    trainer.resume()
    return trainer


class LightCurveRun(NamedTuple):
    """A trained detector (``None`` for the isolation forest or a diverged run) and its record (JSON-ready)."""

    model: torch.nn.Module | None
    record: dict


def train_run(config: LightCurveConfig, curves: FoldedCurves, seed: int, checkpoint_dir: Path | None = None,
              progress: bool = True) -> LightCurveRun:
    """Split, train on the inliers, score the test set: the model and the run's record (scores per test curve, the
    metrics of every score, the training losses by epoch)."""
    check_instance(config, LightCurveConfig, "config")
    check_instance(curves, FoldedCurves, "curves")
    check_non_negative_int(seed, "seed")
    folder = None if checkpoint_dir is None else check_path(checkpoint_dir, "checkpoint_dir")
    start = time.perf_counter()
    split = split_curves(curves, config.outlier, seed)
    record = {"seed": seed, "config": config.describe(), "train_size": int(split.train[0].shape[0]),
              "test_size": int(len(split.is_outlier)), "outliers": int(split.is_outlier.sum()),
              "test_ids": list(split.test_ids), "is_outlier": split.is_outlier.astype(int).tolist()}
    model = None
    if config.model == "isolation_forest":
        scores = _isolation_forest(split, seed)
    else:
        seed_everything(seed)
        model = _build(config, len(split.inlier_classes)).to(split.train[0].device)
        if isinstance(model, LCVaDE):
            model.fit_priors(*split.train)
        trainer = _trainer(model, config, split, seed, folder, progress)
        try:
            trainer.fit(config.epochs * trainer.steps_per_epoch)
            if folder is not None:
                trainer.save_checkpoint()  # the last step, also when it is not a multiple of checkpoint_epochs
        except (NonFiniteLossError, SingularCovarianceError) as error:
            step = error.step if isinstance(error, NonFiniteLossError) else trainer.step
            record.update(diverged={"step": step, "message": str(error).splitlines()[0]},
                          wall_time_s=time.perf_counter() - start)
            return LightCurveRun(None, record)
        record["losses"] = list(trainer.history)
        scores = _scores(model, config, split)
        if config.model != "energy_gmm":
            record["test_class_accuracy"], record["outlier_assignments"] = _class_readout(model, split)
    if isinstance(model, LCVaDE):
        variants = latent_score_variants(model, split.test)
        record["diagnostics"] = {name: score_metrics(values, split.is_outlier, config.bootstrap, seed)
                                 for name, values in variants.items()}
    record["scores"] = {name: values.tolist() for name, values in scores.items()}
    record["metrics"] = {name: score_metrics(values, split.is_outlier, config.bootstrap, seed)
                         for name, values in scores.items()}
    record["wall_time_s"] = time.perf_counter() - start
    return LightCurveRun(model, record)


def _class_readout(model: LCVaDE | LightCurveVAE, split: Split) -> tuple[float, dict[str, int]]:
    """Accuracy of :math:`\\arg\\max_y q(y|z,f)` on the test inliers (the supervised part of the loss), and the
    number of test outliers assigned to each inlier class."""
    with torch.no_grad():
        predicted = model.class_probabilities(*split.test[:5]).argmax(1).cpu()
    outliers = torch.from_numpy(split.is_outlier)
    accuracy = float((predicted[~outliers] == split.test[5].cpu()[~outliers]).double().mean())
    counts = torch.bincount(predicted[outliers], minlength=len(split.inlier_classes))
    return accuracy, dict(zip(split.inlier_classes, map(int, counts)))
