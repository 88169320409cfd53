"""The zoo's runs: the rows of Table 6.4, file names, and groups of runs trained together as each would be alone."""

from __future__ import annotations

import re

import pytest
import torch

from gi_core.experiments.zoo_training import (ZooConfig, ZooData, groupable, load_zoo_data, slug, table_6_4_entries,
                                              train_group, train_model)
from gi_core.models.zoo import BETA_KINDS, ZOO_KINDS, ZooEntry
from tests.models.test_zoo import ADVERSARIAL, ENTRIES

pytestmark = pytest.mark.usefixtures("one_thread")


def test_table_6_4_entries() -> None:
    assert len(ENTRIES) == 17
    labels = [e.label for e in ENTRIES]
    assert len(set(labels)) == 17
    for kind in BETA_KINDS:
        assert sorted(e.beta for e in ENTRIES if e.kind == kind) == [0.33, 1.0, 30.0]
    for kind in ADVERSARIAL:
        assert [e.beta for e in ENTRIES if e.kind == kind] == [1.0]
    assert {e.kind for e in ENTRIES} == set(ZOO_KINDS)
    without = table_6_4_entries(include_aae=False)
    assert len(without) == 16 and "aae" not in {e.kind for e in without}
    assert "VAE β=0.33" in labels and "JS-VAE β=30" in labels and "AAE" in labels



def test_slug_values() -> None:
    assert slug("VAE β=0.33") == "vae_beta_0.33"
    assert slug("JS-VAE β=30") == "js_vae_beta_30"
    assert slug("WVAE β=1") == "wvae_beta_1"
    assert slug("ALICE") == "alice"
    assert slug("  a / b ") == "a_b"  # path separators and surrounding blanks go


def test_slugs_of_the_table_are_file_safe_and_unique() -> None:
    slugs = [slug(e.label) for e in table_6_4_entries()]
    assert len(set(slugs)) == len(slugs) == 17
    for s in slugs:
        assert re.fullmatch(r"[a-z0-9][a-z0-9._]*", s), s
        assert ".." not in s and not s.endswith(".")


CONFIG = ZooConfig(arch="mlp", image_size=16, hidden=(32, 16), steps=6, batch_size=32, classifier_epochs=1,
                   n_generated=200, eval_train=300, checkpoint_every=3, group_size=3)


@pytest.fixture(scope="module")
def data() -> ZooData:
    full = load_zoo_data(CONFIG, torch.device("cpu"), profile="quick")
    return ZooData(full.train_x[:300], full.train_y[:300], full.test_x[:100], full.test_y[:100], full.source)


def test_only_autoencoders_on_mlps_with_a_group_size_are_grouped() -> None:
    vae, ali = ZooEntry("VAE β=1", "vae"), ZooEntry("ALI", "ali")
    assert groupable(vae, CONFIG) and not groupable(ali, CONFIG)
    assert not groupable(vae, ZooConfig(group_size=0)) and not groupable(vae, ZooConfig(arch="resnet", group_size=3))


def test_a_group_trains_each_run_as_it_would_train_alone(data: ZooData, tmp_path) -> None:
    runs = [(ZooEntry("VAE β=0.33", "vae", 0.33), 0), (ZooEntry("MMD β=1", "mmd"), 1), (ZooEntry("JS-VAE β=30", "jsvae", 30.0), 2)]
    trained = train_group(runs, CONFIG, data, [tmp_path / str(i) for i in range(3)], progress=False)
    assert [size for *_, size in trained] == [3, 3, 3]
    for (entry, seed), (model, seconds, _) in zip(runs, trained):
        alone, _ = train_model(entry, CONFIG, data, seed, progress=False)
        assert model.entry == entry and not model.training and seconds >= 0.0
        difference = max((a - b).abs().max().item() for a, b in zip(alone.state_dict().values(), model.state_dict().values()))
        assert difference < 1e-5, (entry.kind, difference)
    (one, _, _), = train_group(runs[:1], CONFIG, data, progress=False)  # a group of one: bitwise
    alone, _ = train_model(runs[0][0], CONFIG, data, runs[0][1], progress=False)
    assert all(torch.equal(a, b) for a, b in zip(alone.state_dict().values(), one.state_dict().values()))


def test_runs_checkpointed_at_different_steps_train_in_separate_groups(data: ZooData, tmp_path) -> None:
    runs = [(ZooEntry("VAE β=1", "vae"), 0), (ZooEntry("WVAE β=1", "wvae"), 1)]
    train_group(runs[:1], replace_steps(3), data, [tmp_path / "a"], progress=False)  # run a has a checkpoint at step 3
    trained = train_group(runs, CONFIG, data, [tmp_path / "a", tmp_path / "b"], progress=False)
    assert [size for *_, size in trained] == [1, 1]


def replace_steps(steps: int) -> ZooConfig:
    from dataclasses import replace
    return replace(CONFIG, steps=steps)


def test_adversarial_kinds_and_resnets_are_refused_in_a_group(data: ZooData) -> None:
    with pytest.raises(ValueError, match="ALI on mlp networks cannot be grouped"):
        train_group([(ZooEntry("ALI", "ali"), 0)], CONFIG, data, progress=False)
