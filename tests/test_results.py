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


def test_format_mean_std_shows_the_spread_only_for_several_runs():
    from gi_core.results import format_mean_std

    assert format_mean_std([0.61234, 0.0153, 3]) == "0.612 ± 0.015"
    assert format_mean_std([2.5, 0.0, 1], digits=1) == "2.5"


def test_compare_with_reference_sizes_each_difference_by_the_combined_spread():
    from gi_core.results import compare_with_reference

    summary = {"a": {"acc": [0.7, 0.03, 3], "t": [1.0, 0.0, 1]}, "b": {"acc": [0.5, 0.0, 1]}, "ours only": {"acc": [1, 0, 1]}}
    reference = {"a": {"acc": [0.6, 0.04], "fid": [3.0, 1.0]}, "b": {"acc": [0.4, 0.0]}}
    rows = compare_with_reference(summary, reference, ["acc", "t", "fid"])
    assert [(row["model"], row["metric"]) for row in rows] == [("a", "acc"), ("b", "acc")]  # only what both have
    assert rows[0]["difference"] == pytest.approx(0.1) and rows[0]["gap"] == pytest.approx(2.0)  # 0.1 / hypot(0.03, 0.04)
    assert (rows[0]["ours_std"], rows[0]["thesis"], rows[0]["thesis_std"]) == (0.03, 0.6, 0.04)
    assert rows[1]["gap"] == float("inf") and rows[1]["beyond_spread"]
    assert compare_with_reference({"b": {"acc": [0.4, 0.0, 1]}}, reference, ["acc"])[0]["gap"] == 0.0


def test_read_reference_reads_a_transcribed_table_and_names_the_known_ones():
    from gi_core.results import read_reference

    table = read_reference("seed002_table_6_4")
    assert table["bibtex"] == "astorga2021gi" and "fid" in table["metrics"]
    with pytest.raises(FileNotFoundError, match="no reference table 'absent'.*known: .*seed002_table_6_4"):
        read_reference("absent")
