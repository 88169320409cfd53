"""Where a trained CDLM model's target errors arise: in its representation, in its translation, or in its classifier.

:func:`translation_diagnosis` separates the representation :math:`h`, the translation and the classifier of a
trained model; :func:`representation_health` measures, without labels, whether its encoder is alive. The
experiments that run them over stored runs are :mod:`gi_core.experiments.domain_adaptation_diagnostics`. Target
labels measure, never select.
"""

from __future__ import annotations

import torch

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.data.domains import DomainData
from gi_core.metrics.domain import accuracy, evaluation_features, predict_test_splits
from gi_core.metrics.representation import inactive_fraction, linear_probe_accuracy
from gi_core.models.cdlm import CDLM
from gi_core.validation import check_instance, check_non_negative_int, check_positive_int


DIAGNOSIS_METRICS = ("target_accuracy", "source_accuracy", "untranslated_target_accuracy", "untranslated_source_accuracy",
                     "lost_by_translation", "gained_by_translation", "probe_source", "probe_transfer", "probe_target", "inactive_units", "h_spread")


def _check_inputs(model: object, data: object, function: str) -> None:
    if not isinstance(model, CDLM):
        raise TypeError(f"{function} needs a CDLM model, got {type(model).__name__}")
    check_instance(data, DomainData, "data")


def translation_diagnosis(model: CDLM, data: DomainData, probe_size: int = 5000, seed: int = 0) -> dict[str, float]:
    r"""Where a CDLM model's target errors arise: in its representation :math:`h`, in the translation, or in the classifier.

    CDLM labels a target image by classifying its translation :math:`D_\theta(\gamma_1h_t+\gamma_2\varepsilon)`.
    Returns, on the test splits:

    * ``target_accuracy``, ``source_accuracy``: through the translations (:func:`~gi_core.metrics.domain.evaluate_method`);
    * ``untranslated_target_accuracy``, ``untranslated_source_accuracy``: the same classifier on the raw images
      (it is trained on source images as well with ``classifier_input="both"``, a source-only classifier then);
    * ``lost_by_translation`` and ``gained_by_translation``: the fractions of target test images that the classifier
      gets right on the raw image but wrong through its translation, and the reverse, so that
      ``target_accuracy = untranslated_target_accuracy - lost_by_translation + gained_by_translation``;
    * ``probe_source`` and ``probe_transfer``: a linear probe on :math:`h`
      (:func:`~gi_core.metrics.representation.linear_probe_accuracy`) fitted to ``probe_size`` source training images and their
      labels, scored on the source and on the target test images; ``probe_target``: the probe fitted to the
      labelled target training images instead (an oracle: how much class :math:`h_t` carries at all);
    * ``inactive_units``: the fraction of the encoder's last hidden units (after its ReLU) that are 0 on every
      source and target test image (:func:`~gi_core.metrics.representation.inactive_fraction`);
    * ``h_spread``: the standard deviation of :math:`h` over the test images of both domains, averaged over its
      dimensions (0 when :math:`h` is one constant vector).

    Target labels measure; nothing is selected with them.
    """
    _check_inputs(model, data, "translation_diagnosis")
    check_positive_int(probe_size, "probe_size", minimum=10)
    check_non_negative_int(seed, "seed")
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(data.source_x.shape[0], generator=generator)[:probe_size].to(data.source_x.device)
    with eval_mode(model):
        raw_target, raw_source = (apply_in_batches(lambda b: model.classifier(b).argmax(-1), x)
                                  for x in (data.target_test_x, data.source_test_x))
    target, source = predict_test_splits(model, data)  # through the translations, as evaluate_method
    raw_right, translated_right = raw_target == data.target_test_y.cpu(), target == data.target_test_y.cpu()
    h_source, h_target = evaluation_features(model, data)
    h_probe = model.embed(data.source_x[rows])
    return {
        "target_accuracy": accuracy(target, data.target_test_y),
        "source_accuracy": accuracy(source, data.source_test_y),
        "untranslated_target_accuracy": accuracy(raw_target, data.target_test_y),
        "untranslated_source_accuracy": accuracy(raw_source, data.source_test_y),
        "lost_by_translation": (raw_right & ~translated_right).float().mean().item(),
        "gained_by_translation": (~raw_right & translated_right).float().mean().item(),
        "probe_source": linear_probe_accuracy(h_probe, data.source_y[rows], h_source, data.source_test_y),
        "probe_transfer": linear_probe_accuracy(h_probe, data.source_y[rows], h_target, data.target_test_y),
        "probe_target": linear_probe_accuracy(model.embed(data.target_x), data.target_y, h_target, data.target_test_y),
        **representation_health(model, data),
    }


def representation_health(model: CDLM, data: DomainData, max_per_domain: int | None = None) -> dict[str, float]:
    """``inactive_units`` and ``h_spread`` of :func:`translation_diagnosis` on the first ``max_per_domain`` (all for
    ``None``) source and target test images: no labels are read."""
    _check_inputs(model, data, "representation_health")
    if max_per_domain is not None:
        check_positive_int(max_per_domain, "max_per_domain")
    images = [x[:max_per_domain] for x in (data.source_test_x, data.target_test_x)]
    with eval_mode(model):
        hidden = torch.cat([apply_in_batches(model.encoder.body, x) for x in images])
    h = torch.cat([model.embed(x) for x in images])
    return {"inactive_units": inactive_fraction(hidden), "h_spread": h.std(0).mean().item()}
