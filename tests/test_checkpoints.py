"""Checkpoints as one atomic unit, validated whole before any state is restored."""

import hashlib
import json
import os

import pytest
import torch

from gi_core import checkpoints
from gi_core.checkpoints import CheckpointError, has_checkpoint, read_checkpoint, write_checkpoint
from gi_core.models.vae import VAE
from gi_core.nets.encoders import encoder_decoder
from gi_core.trainer import Trainer


def vae(seed=0):
    torch.manual_seed(seed)
    return VAE(*encoder_decoder("mlp", (1, 4, 4), 2, hidden=(8,)), likelihood="bernoulli")


DATA = (torch.rand(24, 1, 4, 4, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def trainer(folder, seed=0):
    model = vae(seed)
    return Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-2), DATA, 8, seed=1, checkpoint_dir=folder,
                   progress=False, log_every=1)


def weights(t):
    return torch.cat([p.detach().flatten() for p in t.model.parameters()])


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


@pytest.mark.parametrize("call", ["replace:1", "replace:2", "fsync:1", "fsync:2", "unlink:1"])
def test_a_crash_at_any_point_of_a_write_keeps_a_loadable_checkpoint(tmp_path, monkeypatch, call):
    """Dying at the n-th rename, flush or removal of a checkpoint write leaves the old checkpoint or the new one."""
    straight = trainer(None)
    straight.fit(9)

    run = trainer(tmp_path)
    run.fit(3)
    run.save_checkpoint()
    run.fit(6)
    name, at = call.split(":")
    real, seen = getattr(os, name), []

    def dying(*args, **kwargs):
        seen.append(args)
        if len(seen) == int(at):
            raise Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(checkpoints.os, name, dying)
    with pytest.raises(Killed):
        run.save_checkpoint()
    monkeypatch.undo()

    resumed = trainer(tmp_path, seed=5)
    assert resumed.resume() in (3, 6)
    resumed.fit(9)
    assert torch.equal(weights(resumed), weights(straight))


def test_a_write_leaves_one_state_file_named_by_its_record(tmp_path):
    run = trainer(tmp_path)
    for steps in (2, 4):
        run.fit(steps)
        run.save_checkpoint()
    record = json.loads((tmp_path / "trainer.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["metrics.jsonl", "trainer.json", record["state_file"]])
    assert record["state_file"].startswith("state-00000004-") and has_checkpoint(tmp_path)
    assert record["sha256"] == hashlib.sha256((tmp_path / record["state_file"]).read_bytes()).hexdigest()


def corrupt_record(folder, **changes):
    record = json.loads((folder / "trainer.json").read_text())
    for key, value in changes.items():
        if value is None:
            record.pop(key)
        else:
            record[key] = value
    (folder / "trainer.json").write_text(json.dumps(record))


def rewrite_state(folder, change):
    """Rewrite the state file through ``change`` and give the record the new file's hash (a matching hash)."""
    record = json.loads((folder / "trainer.json").read_text())
    path = folder / record["state_file"]
    change(path)
    corrupt_record(folder, sha256=hashlib.sha256(path.read_bytes()).hexdigest())


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def drop_rng(path):
    state = torch.load(path, weights_only=True)
    del state["rng"]
    torch.save(state, path)


def drop_order(path):
    state = torch.load(path, weights_only=True)
    state["rng"]["order"] = state["rng"]["order"][:-1]
    torch.save(state, path)


@pytest.mark.parametrize("damage, message", [
    (lambda f: corrupt_record(f, step=None), "'step' must be a non-negative integer, got None"),
    (lambda f: corrupt_record(f, step="12"), "'step' must be a non-negative integer, got '12'"),
    (lambda f: corrupt_record(f, step=-1), "'step' must be a non-negative integer, got -1"),
    (lambda f: corrupt_record(f, sha256=None), "'sha256' must be a 64-character hex digest"),
    (lambda f: corrupt_record(f, history={}), "'history' must be a list"),
    (lambda f: corrupt_record(f, state_file="../elsewhere.pt"), "'state_file' must be a file name"),
    (lambda f: corrupt_record(f, state_file="state-gone.pt"), "names the state file state-gone.pt, which is missing"),
    (lambda f: (f / "trainer.json").write_text("[1, 2]"), "expected a JSON object, got list"),
    (lambda f: (f / "trainer.json").write_text('{"step": 3'), "not valid JSON"),
    (lambda f: rewrite_state(f, truncate), "cannot be read .*truncated or not a checkpoint"),
    (lambda f: rewrite_state(f, drop_rng), r"lacks the entries \['rng'\]"),
    (lambda f: rewrite_state(f, drop_order), r"lacks a valid data order rng\['order'\]"),
])
def test_a_bad_checkpoint_is_refused_before_any_state_is_touched(tmp_path, damage, message):
    run = trainer(tmp_path)
    run.fit(4)
    run.save_checkpoint()
    damage(tmp_path)
    fresh = trainer(tmp_path, seed=3)
    fresh.fit(2)
    before = (weights(fresh), fresh.step, json.dumps(fresh.optimizers["loss"].state_dict()["param_groups"]))
    with pytest.raises(CheckpointError, match=message):
        fresh.resume()
    assert torch.equal(weights(fresh), before[0]) and fresh.step == before[1]
    assert json.dumps(fresh.optimizers["loss"].state_dict()["param_groups"]) == before[2]


def test_a_checkpoint_of_the_old_layout_still_loads(tmp_path):
    """Checkpoints written before the state files were versioned: ``state.pt`` and a record without ``state_file``."""
    run = trainer(tmp_path)
    run.fit(4)
    run.save_checkpoint()
    record = json.loads((tmp_path / "trainer.json").read_text())
    os.replace(tmp_path / record.pop("state_file"), tmp_path / "state.pt")
    (tmp_path / "trainer.json").write_text(json.dumps(record))
    assert trainer(tmp_path, seed=9).resume() == 4
    state, loaded = read_checkpoint(tmp_path)
    assert loaded["step"] == 4 and set(state) == {"model", "optimizers", "rng"}
    run.fit(6)
    run.save_checkpoint()
    assert not (tmp_path / "state.pt").exists(), "the next write replaces the old-layout file"


def test_a_state_without_its_entries_is_not_written(tmp_path):
    with pytest.raises(ValueError, match=r"state is missing the entries \['rng'\]"):
        write_checkpoint(tmp_path, {"model": {}, "optimizers": {}}, {"step": 0})


def test_checkpoint_step_reads_the_record_alone(tmp_path):
    from gi_core.checkpoints import checkpoint_step, write_checkpoint

    assert checkpoint_step(tmp_path / "none") == 0 and checkpoint_step(None) == 0
    write_checkpoint(tmp_path / "a", {"model": {}, "optimizers": {}, "rng": {}},
                     {"step": 7, "seed": 0, "batch_size": 1, "dataset_size": 1})
    assert checkpoint_step(tmp_path / "a") == 7
