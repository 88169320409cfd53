"""Tests for gi_core.models.classifier: the IS/FID classifier, trained by cross-entropy with the Trainer."""

from __future__ import annotations

import pytest
import torch

from gi_core.metrics.generation import classifier_accuracy
from gi_core.models.classifier import FeatureClassifier, feature_classifier
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def two_class_images(n: int = 200, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (n, 1, 8, 8): class 0 has mean intensity -0.5, class 1 has +0.5, plus N(0, 0.3^2) pixel noise."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = (labels.float() - 0.5).view(n, 1, 1, 1) + 0.3 * torch.randn(n, 1, 8, 8, generator=gen)
    return images, labels


def small_classifier(arch: str, init_seed: int = 0) -> FeatureClassifier:
    hidden = (32, 16) if arch == "mlp" else (4, 16)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return feature_classifier(arch, (1, 8, 8), num_classes=2, hidden=hidden)


def classifier_trainer(classifier: FeatureClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256,
                       lr: float = 1e-3, seed: int = 0) -> Trainer:
    """The classifier's training: Adam, every image once per epoch (the last batch may be smaller), each step logged."""
    return Trainer(classifier, make_optimizers(classifier, OptimizerSpec("adam", lr)), (images, labels), batch_size,
                   seed=seed, drop_last=False, progress=False, log_every=1)


def epoch_losses(trainer: Trainer, epochs: int) -> list[float]:
    """Train for ``epochs`` epochs; the mean loss over the examples of each epoch."""
    history = trainer.fit(epochs * trainer.steps_per_epoch)
    sizes = [len(rows) for rows in torch.arange(trainer.data[0].shape[0]).split(trainer.batch_size)]
    per_epoch = [history[e * len(sizes):(e + 1) * len(sizes)] for e in range(epochs)]
    return [sum(r["loss"] * n for r, n in zip(epoch, sizes)) / sum(sizes) for epoch in per_epoch]


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_classifier_learns_separable_problem(arch):
    images, labels = two_class_images()
    clf = small_classifier(arch)
    losses = epoch_losses(classifier_trainer(clf, images, labels, batch_size=32, lr=3e-3), epochs=5)
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert classifier_accuracy(clf, images, labels) > 0.95
    assert clf.training  # the module's mode is restored


def test_training_is_deterministic_with_a_fixed_seed():
    images, labels = two_class_images(64)

    def trained(seed: int) -> dict[str, torch.Tensor]:
        clf = small_classifier("mlp")
        epoch_losses(classifier_trainer(clf, images, labels, batch_size=16, seed=seed), epochs=2)
        return clf.state_dict()

    first, second, other = trained(0), trained(0), trained(1)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)  # the seed does change the batch order


def test_classifier_validation():
    images, labels = two_class_images(10)
    clf = small_classifier("mlp")
    with pytest.raises(ValueError, match="unknown arch 'vgg'; choose one of mlp, conv, resnet"):
        feature_classifier("vgg", (1, 8, 8))
    with pytest.raises(ValueError, match="num_classes must be at least 2"):
        feature_classifier("mlp", (1, 8, 8), num_classes=1)
    with pytest.raises(ValueError, match=r"^x must have shape \(B, 1, 8, 8\), got \(2, 1, 4, 4\)$"):
        clf(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="all data tensors must share their first dimension"):
        classifier_trainer(clf, images, labels[:5])
    with pytest.raises(ValueError, match=r"y must be integer labels of shape \(10,\)"):
        epoch_losses(classifier_trainer(clf, images, labels.float(), batch_size=10), epochs=1)
    with pytest.raises(IndexError, match="Target 2 is out of bounds"):
        epoch_losses(classifier_trainer(clf, images, labels + 1, batch_size=10), epochs=1)
    with pytest.raises(ValueError, match="steps must be a non-negative integer, got -1"):
        epoch_losses(classifier_trainer(clf, images, labels, batch_size=10), epochs=-1)


def test_resnet_classifier_uses_the_thesis_encoder_body():
    torch.manual_seed(0)
    classifier = feature_classifier("resnet", (1, 32, 32), num_classes=10, hidden=(2,))
    x = torch.randn(3, 1, 32, 32)
    assert classifier(x).shape == (3, 10)
    assert classifier.features(x).shape == (3, 2 * 4 * 2 * 2)  # 4C channels on a 2x2 grid
