r"""Scores of domain-adaptation models: accuracies on both domains, how far apart the domains are in a feature space,
and how well one classifier serves both (Corro and Sebag 2023, §3.3).

:func:`a_distance` is the proxy A-distance :math:`\hat d_A = 2(1-2\varepsilon)` of a linear domain classifier, the
divergence term of the Ben-David bound; :func:`joint_error` estimates its adaptability term :math:`\lambda^*`. The
exact finite-space bound is :mod:`gi_core.maths.ben_david`. The ``feature_*`` functions and :func:`evaluate_method`
apply them to a trained model (any :class:`DomainClassifier`, DANN and CDLM among them) on a task's test splits.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from gi_core.data.domains import DomainData
from gi_core.validation import (
    check_array,
    check_choice,
    check_instance,
    check_label_array,
    check_labels,
    check_non_negative_int,
    check_positive_int,
    check_real,
)

CLASSIFIERS = ("linear_svm", "logistic")
"""The domain classifiers of :func:`a_distance`."""


class DomainClassifier(Protocol):
    """A trained adaptation model: class predictions and features of a batch of images, both on the CPU."""

    def predict(self, x: Tensor) -> Tensor: ...

    def embed(self, x: Tensor) -> Tensor: ...


def _check_model(model: object, method: str) -> None:
    if not callable(getattr(model, method, None)):
        raise TypeError(f"model must be a DomainClassifier (with a {method} method), got {type(model).__name__}")


def _check_subsample(max_per_domain: int | None, seed: int, minimum: int = 1) -> None:
    if max_per_domain is not None:
        check_positive_int(max_per_domain, "max_per_domain", minimum=minimum)
    check_non_negative_int(seed, "seed")


def joint_error(
    source_features: Tensor | np.ndarray,
    source_labels: Tensor | np.ndarray,
    target_features: Tensor | np.ndarray,
    target_labels: Tensor | np.ndarray,
    test_fraction: float = 0.5,
    C: float = 1.0,
    max_per_domain: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    r"""An estimate of the Ben-David adaptability term :math:`\lambda^*=\min_h[\varepsilon_S(h)+\varepsilon_T(h)]`
    for linear classifiers on given features (Corro and Sebag 2023, §3.3;
    :func:`~gi_core.maths.ben_david.ben_david_terms` computes it exactly on a finite space).

    Each domain is split at random into a training and a test part (``test_fraction``); one multinomial
    logistic regression (scikit-learn, standardised features, penalty ``C``) is fitted to the labelled training
    parts of *both* domains, each domain weighing one half as in :math:`\varepsilon_S+\varepsilon_T`. Returns its
    held-out ``source_error``, ``target_error`` and their sum ``lambda_star``. Small when one linear
    classifier serves both domains; it grows when an alignment maps target digits onto source features of
    another class, which lowers the divergence term of the bound and raises this one (Zhao et al., 2019). It
    reads target labels: a diagnosis, never a selection rule.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    check_real(test_fraction, "test_fraction", 0.0, 1.0, strict=True)
    check_real(C, "C", minimum=0.0, strict=True)
    _check_subsample(max_per_domain, seed)
    rng = np.random.default_rng(seed)
    parts = []
    for name, x, y in (("source", source_features, source_labels), ("target", target_features, target_labels)):
        features = check_array(x, f"{name}_features", 2).astype(np.float64, copy=False)
        labels = check_label_array(y, f"{name}_labels")
        if labels.shape != (features.shape[0],):
            raise ValueError(f"{name}_labels must have shape ({features.shape[0]},), got {labels.shape}")
        labels = labels.astype(np.int64)
        order = rng.permutation(features.shape[0])[:max_per_domain]
        n_test = int(round(test_fraction * order.size))
        if n_test < 1 or order.size - n_test < 2:
            raise ValueError(f"{name}_features has too few rows ({order.size} kept, max_per_domain={max_per_domain}) "
                             "for a train/test split")
        train, test = order[n_test:], order[:n_test]
        parts.append((features[train], labels[train], features[test], labels[test]))
    if parts[0][0].shape[1] != parts[1][0].shape[1]:
        raise ValueError("source_features and target_features differ in width: "
                         f"{parts[0][0].shape[1]} vs {parts[1][0].shape[1]}")
    (xs, ys, xs_test, ys_test), (xt, yt, xt_test, yt_test) = parts
    weights = np.r_[np.full(len(ys), 0.5 / len(ys)), np.full(len(yt), 0.5 / len(yt))] * (len(ys) + len(yt))
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    classifier.fit(np.concatenate([xs, xt]), np.r_[ys, yt], logisticregression__sample_weight=weights)
    source_error = float(np.mean(classifier.predict(xs_test) != ys_test))
    target_error = float(np.mean(classifier.predict(xt_test) != yt_test))
    return {"source_error": source_error, "target_error": target_error, "lambda_star": source_error + target_error}


@dataclass(frozen=True)
class ADistance:
    r"""A proxy A-distance estimate :math:`\hat d_A = 2(1-2\varepsilon)` and how it was obtained.

    ``value`` is clipped to :math:`[0, 2]`; ``raw`` is the unclipped :math:`2(1-2\varepsilon)`, negative
    when the held-out error ``error`` exceeds one half (a classifier worse than chance: the domains are
    indistinguishable to this classifier, and the small negative number is estimation noise). ``C`` is the
    selected regularisation constant; ``n_train`` and ``n_test`` count examples of both domains.
    """

    value: float
    raw: float
    error: float
    classifier: str
    C: float
    n_train: int
    n_test: int

    def __post_init__(self) -> None:
        check_real(self.value, "value", 0.0, 2.0)
        check_real(self.raw, "raw", -2.0, 2.0)
        check_real(self.error, "error", 0.0, 1.0)
        check_choice(self.classifier, CLASSIFIERS, "classifier")
        check_real(self.C, "C", minimum=0.0, strict=True)
        check_positive_int(self.n_train, "n_train")
        check_positive_int(self.n_test, "n_test")

    def __float__(self) -> float:
        return self.value


def a_distance(
    source_features: Tensor | np.ndarray,
    target_features: Tensor | np.ndarray,
    classifier: str = "linear_svm",
    test_fraction: float = 0.5,
    C_grid: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
    max_per_domain: int | None = None,
    seed: int = 0,
) -> ADistance:
    r"""Proxy A-distance :math:`\hat d_A = 2(1-2\varepsilon)` between two feature samples (Corro and Sebag 2023, §3.3).

    :math:`\varepsilon` is the held-out error of a linear domain classifier (Ben-David et al., 2007/2010;
    Ganin et al., 2016; Long et al., 2015; used in Hou et al. 2022, Fig. 9). Protocol:

    1. with ``max_per_domain``, keep that many random examples of each domain;
    2. split each domain at random into a training part and a test part (``test_fraction`` of it);
    3. standardise the features with the training part's statistics;
    4. choose :math:`C` in ``C_grid`` by 3-fold cross-validated balanced accuracy on the training part
       (the test part is never used to choose anything), then refit on the whole training part;
    5. :math:`\varepsilon = \tfrac12(\text{error on the source test part} + \text{error on the target test
       part})`, the balanced error: the empirical divergence of Corro and Sebag's (2023) §3.3 weighs the two domains by
       :math:`1/n` and :math:`1/n'`, so unequal sample sizes do not move it.

    ``classifier``: ``"linear_svm"`` (scikit-learn ``LinearSVC``) or ``"logistic"`` (logistic regression),
    both with balanced class weights. Separable domains give :math:`\varepsilon=0`, :math:`\hat d_A=2`;
    identical ones :math:`\varepsilon\approx\tfrac12`, :math:`\hat d_A\approx0`. The error is *not* folded
    (:math:`\varepsilon\to1-\varepsilon` when above one half), which would read the test labels; ``raw``
    keeps the unclipped value.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be 'linear_svm' or 'logistic', got {classifier!r}")
    check_real(test_fraction, "test_fraction", 0.0, 1.0, strict=True)
    if isinstance(C_grid, str) or not isinstance(C_grid, (Sequence, np.ndarray)) or len(C_grid) == 0:
        raise ValueError(f"C_grid must be a non-empty sequence of positive finite values, got {C_grid!r}")
    grid = [check_real(c, "C_grid", minimum=0.0, strict=True) for c in C_grid]
    source, target = (check_array(x, name, 2).astype(np.float64, copy=False)
                      for x, name in ((source_features, "source_features"), (target_features, "target_features")))
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source_features and target_features differ in width: {source.shape[1]} vs {target.shape[1]}")
    _check_subsample(max_per_domain, seed, minimum=10)
    rng = np.random.default_rng(seed)
    parts = []
    for name, data in (("source_features", source), ("target_features", target)):
        order = rng.permutation(data.shape[0])
        if max_per_domain is not None:
            order = order[:max_per_domain]
        n_test = int(round(test_fraction * order.size))
        if n_test < 2 or order.size - n_test < 6:
            raise ValueError(f"{name} has too few rows ({data.shape[0]}) for a train/test split with 3-fold selection")
        parts.append((data[order[n_test:]], data[order[:n_test]]))
    (source_train, source_test), (target_train, target_test) = parts
    x_train = np.concatenate([source_train, target_train])
    y_train = np.concatenate([np.ones(len(source_train), int), np.zeros(len(target_train), int)])

    if classifier == "linear_svm":
        estimator = LinearSVC(class_weight="balanced", max_iter=5000, random_state=seed)
    else:
        estimator = LogisticRegression(class_weight="balanced", max_iter=2000)
    pipeline = make_pipeline(StandardScaler(), estimator)
    param = f"{type(estimator).__name__.lower()}__C"
    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)  # a hard-margin fit on separable data stops early; harmless here
        if len(grid) > 1:
            search = GridSearchCV(pipeline, {param: grid}, scoring="balanced_accuracy",
                                  cv=StratifiedKFold(3, shuffle=True, random_state=seed))
            search.fit(x_train, y_train)
            best_c, fitted = float(search.best_params_[param]), search.best_estimator_
        else:
            best_c = grid[0]
            fitted = pipeline.set_params(**{param: best_c}).fit(x_train, y_train)
    error = 0.5 * (float(np.mean(fitted.predict(source_test) != 1)) + float(np.mean(fitted.predict(target_test) != 0)))
    raw = 2.0 * (1.0 - 2.0 * error)
    return ADistance(min(max(raw, 0.0), 2.0), raw, error, classifier, best_c,
                     len(x_train), len(source_test) + len(target_test))


def accuracy(predictions: Tensor, labels: Tensor) -> float:
    """The fraction of ``predictions`` (on the CPU, as ``predict`` returns them) equal to ``labels``."""
    if not isinstance(predictions, Tensor):
        raise TypeError(f"predictions must be a torch.Tensor of classes, got {type(predictions).__name__}")
    if predictions.dim() != 1 or predictions.numel() == 0:
        raise ValueError(f"predictions must be a non-empty tensor of shape (N,), got shape {tuple(predictions.shape)}")
    check_labels(predictions, predictions.shape[0], "predictions")
    check_labels(labels, predictions.shape[0], "labels (one for each of the predictions)")
    return (predictions == labels.cpu()).float().mean().item()


def predict_test_splits(model: DomainClassifier, data: DomainData) -> tuple[Tensor, Tensor]:
    """``model.predict`` on the target and then the source test split, CDLM's test-time noise fixed."""
    _check_model(model, "predict")
    check_instance(data, DomainData, "data")
    with torch.random.fork_rng():  # every device's generator is restored afterwards
        torch.manual_seed(0)  # CDLM's test-time noise gamma2 * eps, fixed for a reproducible number
        return model.predict(data.target_test_x), model.predict(data.source_test_x)


def evaluate_method(model: DomainClassifier, data: DomainData) -> dict[str, float]:
    """Accuracy on the target and source test splits (CDLM classifies its translations :math:`\\tilde x_{ts}`)."""
    target, source = predict_test_splits(model, data)
    return {"target_accuracy": accuracy(target, data.target_test_y), "source_accuracy": accuracy(source, data.source_test_y)}


def evaluation_features(model: DomainClassifier | None, data: DomainData) -> tuple[Tensor, Tensor]:
    """Source and target test images as CPU rows: the model's features (:meth:`embed`), or raw pixels for ``None``."""
    check_instance(data, DomainData, "data")
    if model is None:
        return data.source_test_x.flatten(1).cpu(), data.target_test_x.flatten(1).cpu()
    _check_model(model, "embed")
    return model.embed(data.source_test_x), model.embed(data.target_test_x)


def feature_a_distance(model: DomainClassifier | None, data: DomainData, max_per_domain: int = 1000, seed: int = 0) -> float:
    """Proxy A-distance between source and target *test* images in the model's feature space (raw pixels for ``None``).

    Test images of both domains (no labels used); a linear SVM as in :func:`a_distance`.
    """
    source, target = evaluation_features(model, data)
    return a_distance(source, target, max_per_domain=max_per_domain, seed=seed).value


def feature_joint_error(model: DomainClassifier | None, data: DomainData, max_per_domain: int = 2000,
                        seed: int = 0) -> dict[str, float]:
    """The adaptability term :math:`\\lambda^*` in the model's feature space (raw pixels for ``None``), on test images.

    :func:`joint_error` on the features of at most ``max_per_domain`` source and
    target test images with their labels: a diagnosis that reads target labels, never a selection rule.
    """
    source, target = evaluation_features(model, data)
    return joint_error(source, data.source_test_y, target, data.target_test_y, max_per_domain=max_per_domain, seed=seed)


def tsne_coordinates(model: DomainClassifier | None, data: DomainData, n_per_domain: int = 500, seed: int = 0) -> dict[str, list]:
    """2-D t-SNE (scikit-learn, perplexity 30 or less for tiny samples, PCA start) of ``n_per_domain`` test images of each domain.

    Features of ``model`` (raw pixels for ``None``). Returns ``{"xy": [[x, y], ...], "domain": [1 = source,
    0 = target], "label": [class]}``, small enough to store with a result. Labels only colour the plot.
    """
    from sklearn.manifold import TSNE

    check_instance(data, DomainData, "data")
    if model is not None:
        _check_model(model, "embed")
    check_positive_int(n_per_domain, "n_per_domain")
    check_non_negative_int(seed, "seed")
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for domain, x, y in ((1, data.source_test_x, data.source_test_y), (0, data.target_test_x, data.target_test_y)):
        idx = torch.randperm(x.shape[0], generator=generator)[:n_per_domain].to(x.device)
        features = x[idx].flatten(1).cpu() if model is None else model.embed(x[idx])
        parts.append((features, torch.full((idx.numel(),), domain), y[idx].cpu()))
    features = torch.cat([p[0] for p in parts]).double().numpy()
    perplexity = min(30.0, (features.shape[0] - 1) / 3)  # scikit-learn needs perplexity < n
    xy = TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    return {"xy": [[round(float(a), 3), round(float(b), 3)] for a, b in xy],
            "domain": torch.cat([p[1] for p in parts]).tolist(), "label": torch.cat([p[2] for p in parts]).tolist()}
