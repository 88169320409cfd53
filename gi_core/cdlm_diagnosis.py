"""Why CDLM classifies target digits worse than its own classifier does without translating them: diagnoses of
finished and starting CDLM runs (chapter 4).

:func:`translation_diagnosis` separates the representation :math:`h`, the translation and the classifier of a
trained model; :func:`early_training_trace` follows the encoder's units through the first steps of a run, where a
learning rate too large for the summed reconstruction loss switches most of them off for good. The ``...s``
functions run them over a plan and write a result file with provenance. Target labels measure, never select.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import torch

from gi_core.cdlm import CDLM
from gi_core.da_experiment import (
    DAConfig,
    DomainData,
    accuracy,
    evaluation_features,
    load_domain_data,
    method_trainer,
    plan_provenance,
    single_task,
    stored_models,
    predict_test_splits,
)
from gi_core.evaluation import apply_in_batches, eval_mode, inactive_fraction
from gi_core.probe import linear_probe_accuracy
from gi_core.results import summarize_runs, write_result
from gi_core.runtime import default_device


DIAGNOSIS_METRICS = ("target_accuracy", "source_accuracy", "untranslated_target_accuracy", "untranslated_source_accuracy",
                     "lost_by_translation", "gained_by_translation", "probe_source", "probe_transfer", "probe_target", "inactive_units", "h_spread")


def translation_diagnosis(model: CDLM, data: DomainData, probe_size: int = 5000, seed: int = 0) -> dict[str, float]:
    r"""Where a CDLM model's target errors arise: in its representation :math:`h`, in the translation, or in the classifier.

    CDLM labels a target image by classifying its translation :math:`D_\theta(\gamma_1h_t+\gamma_2\varepsilon)`.
    Returns, on the test splits:

    * ``target_accuracy``, ``source_accuracy``: through the translations (:func:`~gi_core.da_experiment.evaluate_method`);
    * ``untranslated_target_accuracy``, ``untranslated_source_accuracy``: the same classifier on the raw images
      (it is trained on source images as well with ``classifier_input="both"``, a source-only classifier then);
    * ``lost_by_translation`` and ``gained_by_translation``: the fractions of target test images that the classifier
      gets right on the raw image but wrong through its translation, and the reverse, so that
      ``target_accuracy = untranslated_target_accuracy - lost_by_translation + gained_by_translation``;
    * ``probe_source`` and ``probe_transfer``: a linear probe on :math:`h`
      (:func:`~gi_core.probe.linear_probe_accuracy`) fitted to ``probe_size`` source training images and their
      labels, scored on the source and on the target test images; ``probe_target``: the probe fitted to the
      labelled target training images instead (an oracle: how much class :math:`h_t` carries at all);
    * ``inactive_units``: the fraction of the encoder's last hidden units (after its ReLU) that are 0 on every
      source and target test image (:func:`~gi_core.evaluation.inactive_fraction`);
    * ``h_spread``: the standard deviation of :math:`h` over the test images of both domains, averaged over its
      dimensions (0 when :math:`h` is one constant vector).

    Target labels measure; nothing is selected with them.
    """
    if not isinstance(model, CDLM):
        raise TypeError(f"translation_diagnosis needs a CDLM model, got {type(model).__name__}")
    if probe_size < 10:
        raise ValueError(f"probe_size must be at least 10, got {probe_size}")
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
    if not isinstance(model, CDLM):
        raise TypeError(f"representation_health needs a CDLM model, got {type(model).__name__}")
    images = [x[:max_per_domain] for x in (data.source_test_x, data.target_test_x)]
    with eval_mode(model):
        hidden = torch.cat([apply_in_batches(model.encoder.body, x) for x in images])
    h = torch.cat([model.embed(x) for x in images])
    return {"inactive_units": inactive_fraction(hidden), "h_spread": h.std(0).mean().item()}


def early_training_trace(config: DAConfig, data: DomainData, seed: int, stops: Sequence[int],
                         max_per_domain: int = 500) -> list[dict[str, float]]:
    """The first steps of a CDLM run: :func:`representation_health` and the last logged class loss at each of ``stops``.

    Trains ``config`` (schedules over ``config.steps``, as the full run) to ``max(stops)`` steps, logging every
    step; each record is ``{"step", "inactive_units", "h_spread", "class_loss"}``. Label-free except for the
    class loss, which reads source labels only.
    """
    if config.method != "cdlm":
        raise ValueError(f"early_training_trace follows a CDLM run, got {config.method!r}")
    stops = sorted({int(s) for s in stops})
    if not stops or stops[0] < 1 or stops[-1] > config.steps:
        raise ValueError(f"stops must lie in [1, {config.steps}], got {stops}")
    model, trainer = method_trainer(config, data, seed, progress=False, log_every=1)
    trace = []
    for stop in stops:
        trainer.fit(stop)
        trace.append({"step": stop, **representation_health(model, data, max_per_domain),
                      "class_loss": trainer.history[-1]["class_loss"]})
    return trace


def early_training_traces(configs: list[DAConfig], seed: int, stops: Sequence[int], result_name: str,
                          device: torch.device | None = None) -> Path:
    """:func:`early_training_trace` of each CDLM configuration of one task; writes ``results/<result_name>.json``
    with ``{"traces": {label: trace}}``."""
    plan = [(config, [seed]) for config in configs]
    device, start = device or default_device(), time.perf_counter()
    data = load_domain_data(single_task(plan), device)
    traces = {config.label: early_training_trace(config, data, seed, stops) for config in configs}
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="the first steps of CDLM runs: dead encoder units and the spread of h (no labels)")
    return write_result(result_name, {"traces": traces}, meta)


def translation_diagnoses(plan: list[tuple[DAConfig, list[int]]], run_dir: Path, result_name: str,
                          device: torch.device | None = None) -> Path:
    """:func:`translation_diagnosis` of every finished CDLM run of one task; writes ``results/<result_name>.json``."""
    if any(config.method != "cdlm" for config, _ in plan):
        raise ValueError(f"translation diagnoses are for CDLM runs, got {sorted({c.method for c, _ in plan})}")
    device, start = device or default_device(), time.perf_counter()
    data = load_domain_data(single_task(plan), device)
    records = [{"model": config.label, "seed": seed, **translation_diagnosis(model, data)}
               for config, seed, model in stored_models(plan, data, run_dir)]
    meta = plan_provenance(plan, data.sources, device, start,
                           purpose="diagnosis of CDLM's target errors; target labels measure, nothing is selected")
    return write_result(result_name, {"summary": summarize_runs(records, DIAGNOSIS_METRICS), "runs": records}, meta)
