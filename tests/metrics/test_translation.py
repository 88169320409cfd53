"""Tests for gi_core.metrics.translation: the translation diagnosis of a trained toy CDLM."""

from __future__ import annotations

import pytest
import torch

from gi_core.experiments.domain_adaptation import DAConfig, train_method
from gi_core.metrics.domain import evaluate_method
from gi_core.metrics.representation import linear_probe_accuracy
from gi_core.metrics.translation import translation_diagnosis
from tests.toy_domains import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")


def test_translation_diagnosis_separates_representation_translation_and_classifier():
    data = toy_data(n_test=40)
    config = DAConfig(method="cdlm", steps=6, batch_size=16, cdlm={"latent_dim": 8, "channels": 4})
    model, _, _ = train_method(config, data, 0, progress=False)
    found = translation_diagnosis(model, data, probe_size=60)
    assert {k: found[k] for k in ("target_accuracy", "source_accuracy")} == evaluate_method(model, data)
    with torch.no_grad():
        raw_source = (model.classifier(data.source_test_x).argmax(-1) == data.source_test_y).float().mean().item()
        hidden = torch.cat([model.encoder.body(x) for x in (data.source_test_x, data.target_test_x)])
    assert found["untranslated_source_accuracy"] == pytest.approx(raw_source, abs=1e-12)
    # the translation's balance sheet: what the raw image got right, minus what translating loses, plus what it gains
    assert found["target_accuracy"] == pytest.approx(
        found["untranslated_target_accuracy"] - found["lost_by_translation"] + found["gained_by_translation"], abs=1e-6)
    # a translation that returns the image unchanged loses and gains nothing
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model, "translate", lambda x, noise=True, generator=None: x)
        unchanged = translation_diagnosis(model, data, probe_size=60)
    assert unchanged["lost_by_translation"] == unchanged["gained_by_translation"] == 0.0
    assert unchanged["target_accuracy"] == unchanged["untranslated_target_accuracy"] == found["untranslated_target_accuracy"]
    rows = torch.randperm(96, generator=torch.Generator().manual_seed(0))[:60]
    h_train, h_target = model.embed(data.source_x[rows]), model.embed(data.target_test_x)
    assert found["probe_transfer"] == linear_probe_accuracy(h_train, data.source_y[rows], h_target, data.target_test_y)
    assert found["inactive_units"] == (hidden == 0).all(0).float().mean().item()
    assert found["h_spread"] > 0
    # a collapsed representation: h constant, every probe at the majority class, spread exactly 0
    with torch.no_grad():
        model.encoder.representation.weight.zero_()
        model.encoder.body[2].bias.fill_(-1e3)  # the last convolution: every ReLU unit dead
    collapsed = translation_diagnosis(model, data, probe_size=60)
    assert collapsed["h_spread"] == 0.0 and collapsed["inactive_units"] == 1.0
    majority = torch.bincount(data.target_test_y).max().item() / 40
    assert collapsed["probe_transfer"] <= majority
    with pytest.raises(TypeError, match="needs a CDLM"):
        translation_diagnosis(train_method(DAConfig(method="dann", steps=1, batch_size=16), data, 0, progress=False)[0], data)
