r"""Sample-quality metrics: the Inception Score and the Fréchet distance, computed with an in-repo classifier.

Protocol of Astorga's (2021) §6.3 (IS/FID classifier) for MNIST and Fashion-MNIST: a classifier with the
*encoder architecture*, whose last linear layer is a softmax over the classes, is trained on the
training split. Its class probabilities :math:`p^*(y|x)` give the Inception Score (Eqs. 2.6–2.7), and
its penultimate features (the input of that last linear layer) give the Fréchet distance (Eq. 2.8,
the formula of Eq. 6.5), with the reference statistics taken from the test split.

These FIDs are **not comparable to Inception FIDs** (Heusel et al., 2017, use 2048-d ImageNet
Inception pool features): the feature space, its width and its scale are different, and the thesis
reports MNIST values in the hundreds or thousands. They only rank models scored by the same classifier.

Typical use, with the classifier of :mod:`gi_core.models.classifier` trained by :class:`gi_core.trainer.Trainer`::

    _, reference = classifier_outputs(classifier, test_images)
    probs, features = classifier_outputs(classifier, samples)
    inception_score(probs), frechet_distance(*feature_statistics(features), *feature_statistics(reference))
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import torch
from torch import Tensor, nn

from gi_core.batching import eval_mode
from gi_core.maths.gaussians import batch_moments
from gi_core.models.classifier import FeatureClassifier
from gi_core.validation import check_module, check_positive_int, check_real, check_semidefinite, check_tensor


def _placement(module: nn.Module) -> dict[str, torch.device | torch.dtype]:
    """The device and dtype of ``module``'s parameters, where its inputs are moved (and converted)."""
    param = next(module.parameters())
    return {"device": param.device, "dtype": param.dtype}


def _check_images(images: Tensor, classifier: nn.Module) -> None:
    check_tensor(images, "images")
    expected = getattr(classifier, "input_shape", None)
    if expected is not None and tuple(images.shape[1:]) != tuple(expected):
        raise ValueError(f"images must have shape (N, {', '.join(map(str, expected))}) for this classifier, "
                         f"got {tuple(images.shape)}")
    if images.dim() < 2:
        raise ValueError(f"images must be a batch (N, ...), got shape {tuple(images.shape)}")


def _check_labels(labels: Tensor, images: Tensor, num_classes: int | None) -> None:
    if not isinstance(labels, Tensor) or labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"labels must be an integer torch.Tensor, got {getattr(labels, 'dtype', type(labels))}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels must have shape ({images.shape[0]},) to match images, got {tuple(labels.shape)}")
    if num_classes is not None and bool(((labels < 0) | (labels >= num_classes)).any()):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{labels.min().item()}, {labels.max().item()}]")


def classifier_accuracy(classifier: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 1000) -> float:
    """Fraction in [0, 1] of ``images`` whose arg-max logit equals the label (eval mode, no gradients).

    The images are converted to the dtype of the classifier's parameters.
    """
    check_module(classifier, "classifier")
    _check_images(images, classifier)
    _check_labels(labels, images, None)
    check_positive_int(batch_size, "batch_size")
    placement = _placement(classifier)
    correct = 0
    with eval_mode(classifier):
        for x, y in zip(images.split(batch_size), labels.split(batch_size)):
            correct += int((classifier(x.to(**placement)).argmax(-1) == y.to(placement["device"])).sum())
    return correct / images.shape[0]


def classifier_outputs(classifier: FeatureClassifier, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    r"""Class probabilities :math:`p^*(y|x)` ``(N, K)`` and penultimate features ``(N, F)``, both float64 on CPU.

    Computed batch by batch in eval mode without gradients (one pass of the body per batch); the
    softmax is taken in float64. The probabilities feed :func:`inception_score`, the features
    :func:`feature_statistics` / :func:`frechet_distance`. The images are converted to the dtype of the
    classifier's parameters.
    """
    if not isinstance(classifier, FeatureClassifier):
        raise TypeError(f"classifier must be a FeatureClassifier, got {type(classifier).__name__}")
    _check_images(images, classifier)
    check_positive_int(batch_size, "batch_size")
    placement = _placement(classifier)
    probs, feats = [], []
    with eval_mode(classifier):
        for x in images.split(batch_size):
            h = classifier.features(x.to(**placement))
            probs.append(torch.softmax(classifier.head(h).double(), dim=-1).cpu())
            feats.append(h.double().cpu())
    return torch.cat(probs), torch.cat(feats)


def _check_probs(probs: Tensor) -> Tensor:
    check_tensor(probs, "probs", ndim=2)
    probs = probs.double()
    if probs.shape[1] < 2:
        raise ValueError(f"probs must have shape (N, K) with N >= 1 and K >= 2, got {tuple(probs.shape)}")
    if bool((probs < 0).any()):
        raise ValueError("probs must be non-negative")
    worst = (probs.sum(1) - 1.0).abs().max().item()
    if worst > 1e-5:
        raise ValueError(f"each row of probs must sum to 1, worst deviation {worst:.3g}")
    return probs


def split_inception_scores(probs: Tensor, splits: int = 1) -> Tensor:
    r"""Inception Score of each of ``splits`` consecutive, nearly equal chunks of ``probs``; float64 ``(splits,)``.

    For a chunk of predictions :math:`p^*(y|x_i)`, :math:`i=1..n` (Salimans et al., 2016; Astorga 2021, Eqs. 2.6–2.7),

    .. math:: \mathrm{IS} = \exp\Big(\frac1n\sum_i D_{\mathrm{KL}}\big(p^*(y|x_i)\,\|\,\hat p(y)\big)\Big),
        \qquad \hat p(y) = \frac1n\sum_i p^*(y|x_i),

    with :math:`D_{\mathrm{KL}} = \sum_y [p\log p - p\log\hat p]` computed by ``torch.xlogy``, so zero
    probabilities contribute 0 (where :math:`p^*(y|x_i) > 0`, :math:`\hat p(y) > 0`). It ranges from 1
    (every prediction equals the marginal) to :math:`K` (confident predictions spread evenly over the
    :math:`K` classes). Chunks come from ``torch.tensor_split`` (sizes differ by at most one; the common
    reference code instead drops the remainder); the usual report is their mean ± std over 10 splits.
    """
    probs = _check_probs(probs)
    check_positive_int(splits, "splits")
    if splits > probs.shape[0]:
        raise ValueError(f"splits ({splits}) cannot exceed the number of predictions ({probs.shape[0]})")
    scores = []
    for chunk in torch.tensor_split(probs, splits):
        marginal = chunk.mean(0, keepdim=True)
        kl = (torch.xlogy(chunk, chunk) - torch.xlogy(chunk, marginal)).sum(1)
        scores.append(torch.exp(kl.mean()))
    return torch.stack(scores)


def inception_score(probs: Tensor, splits: int = 1) -> float:
    """Mean Inception Score over ``splits`` chunks (see :func:`split_inception_scores`, whose ``.std()`` gives the spread)."""
    return split_inception_scores(probs, splits).mean().item()


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    r"""Mean ``(F,)`` and unbiased covariance ``(F, F)`` of ``features`` ``(N, F)``, ``N >= 2``, in float64.

    The Gaussian fit of Astorga's (2021) Eq. 2.8 (by :func:`gi_core.maths.gaussians.batch_moments`, Eqs. 6.2–6.3).
    """
    check_tensor(features, "features", ndim=2)
    return batch_moments(features.detach().double(), "features")


def _check_moments(mean: Tensor, cov: Tensor, suffix: str) -> int:
    check_tensor(mean, f"mean{suffix}", ndim=1)
    check_tensor(cov, f"cov{suffix}", ndim=2)
    dim = mean.shape[0]
    if cov.shape != (dim, dim):
        raise ValueError(f"cov{suffix} must have shape ({dim}, {dim}) to match mean{suffix}, got {tuple(cov.shape)}")
    check_semidefinite(cov, f"cov{suffix}")
    return dim


def frechet_distance(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor, eps: float = 1e-6) -> float:
    r"""Fréchet distance between :math:`\mathcal N(\mu_1,\Sigma_1)` and :math:`\mathcal N(\mu_2,\Sigma_2)` (the FID formula).

    .. math:: d^2 = \|\mu_1-\mu_2\|^2 + \operatorname{Tr}\big(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2}\big)

    Astorga's (2021) Eq. 2.8 (FID; Heusel et al., 2017), the same expression as the squared :math:`W_2` of
    Eq. 6.5. As in the TTUR reference code, :math:`(\Sigma_1\Sigma_2)^{1/2}` is ``scipy.linalg.sqrtm`` of
    the product in float64; if that is not finite (e.g. singular covariances), it is recomputed for
    :math:`(\Sigma_1+\epsilon I)(\Sigma_2+\epsilon I)`. Rounding can make the root complex: its real part
    is used when the imaginary parts of its diagonal are below ``1e-3`` in absolute value, otherwise a
    ``ValueError`` is raised. Covariances must be symmetric and positive *semi*-definite up to rounding
    (:func:`~gi_core.validation.check_semidefinite`; scipy's singularity warning is silenced, the checks above
    replace it). Any floating dtype is computed in float64.
    :func:`gi_core.maths.gaussians.wasserstein2_gaussians_sq` computes the same quantity differentiably
    through eigenvalues, for positive-definite covariances.
    """
    dim1, dim2 = _check_moments(mean1, cov1, "1"), _check_moments(mean2, cov2, "2")
    if dim1 != dim2:
        raise ValueError(f"the two Gaussians differ in dimension: {dim1} and {dim2}")
    check_real(eps, "eps", minimum=0.0, strict=True)
    mu1, mu2, sigma1, sigma2 = (t.detach().cpu().double().numpy() for t in (mean1, mean2, cov1, cov2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(root).all():
            offset = eps * np.eye(dim1)
            root = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.isfinite(root).all():
        raise ValueError("the square root of cov1 @ cov2 is not finite, even after adding eps to the diagonals")
    if np.iscomplexobj(root):
        imaginary = np.abs(np.diagonal(root).imag).max()
        if imaginary > 1e-3:
            raise ValueError(
                f"the square root of cov1 @ cov2 has a non-negligible imaginary part ({imaginary:.3g}); "
                "are both covariances symmetric positive semi-definite?"
            )
        root = root.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(root))
