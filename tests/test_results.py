import json

import pytest
import torch

from gi_core.results import git_commit, provenance, read_result, write_result


def test_result_round_trip_carries_provenance(tmp_path):
    meta = provenance({"lr": 1e-3}, [0, 1], torch.device("cpu"), 12.345)
    path = write_result("demo", {"elbo": -90.5}, meta, directory=tmp_path)
    stored = json.loads(path.read_text())
    assert stored["metrics"] == {"elbo": -90.5}
    assert stored["provenance"]["config"] == {"lr": 1e-3} and stored["provenance"]["seeds"] == [0, 1]
    assert stored["provenance"]["wall_time_s"] == 12.35
    assert stored["provenance"]["device"].startswith("cpu")
    assert read_result("demo", tmp_path) == stored
    assert read_result("absent", tmp_path) is None


def test_result_without_provenance_is_refused(tmp_path):
    with pytest.raises(ValueError, match="provenance is missing"):
        write_result("demo", {}, {"config": {}}, directory=tmp_path)
    with pytest.raises(ValueError, match="plain file stem"):
        write_result("a/b", {}, provenance({}, [0], torch.device("cpu"), 1.0), directory=tmp_path)


def test_git_commit_is_a_hash_or_unknown(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    commit = git_commit()
    assert commit == "unknown" or len(commit.split("-")[0]) == 40


def test_summarize_runs_gives_mean_std_and_count():
    from gi_core.results import summarize_runs

    records = [{"model": "a", "acc": 0.5, "t": 1.0}, {"model": "a", "acc": 0.7}, {"model": "b", "acc": 0.9, "t": 2.0}]
    table = summarize_runs(records, ["acc", "t"])
    assert table["a"]["acc"] == pytest.approx([0.6, 0.1414213562373095, 2])
    assert table["a"]["t"] == [1.0, 0.0, 1] and table["b"] == {"acc": [0.9, 0.0, 1], "t": [2.0, 0.0, 1]}
