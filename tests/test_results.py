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
    with pytest.raises(FileNotFoundError, match="no reference table named 'absent'.*known names: .*seed002_table_6_4"):
        read_reference("absent")


# --- stored files are validated on the way in and out ------------------------------------------------


def meta() -> dict:
    return provenance({"lr": 1e-3}, [0], torch.device("cpu"), 1.0)


def test_a_result_without_metrics_or_provenance_is_refused_naming_the_file(tmp_path):
    from gi_core.results import ResultFileError

    (tmp_path / "a.json").write_text(json.dumps({"name": "a", "provenance": meta()}))
    with pytest.raises(ResultFileError, match=r"a\.json is incomplete: its 'metrics' must be a dict, found nothing"):
        read_result("a", tmp_path)
    (tmp_path / "b.json").write_text(json.dumps({"name": "b", "metrics": {}}))
    with pytest.raises(ResultFileError, match=r"b\.json is incomplete: its 'provenance' must be a dict"):
        read_result("b", tmp_path)
    (tmp_path / "c.json").write_text(json.dumps({"name": "c", "metrics": {}, "provenance": {"config": {}}}))
    with pytest.raises(ResultFileError, match=r"c\.json is incomplete: its provenance lacks \['seeds', 'commit'"):
        read_result("c", tmp_path)


def test_a_truncated_or_non_json_result_names_its_file(tmp_path):
    from gi_core.results import ResultFileError

    path = write_result("a", {"elbo": -90.5}, meta(), tmp_path)
    path.write_text(path.read_text()[:40])
    with pytest.raises(ResultFileError, match=r"a\.json is corrupted or truncated"):
        read_result("a", tmp_path)
    path.write_text('{"name": "a", "metrics": {"elbo": NaN}, "provenance": {}}')
    with pytest.raises(ResultFileError, match=r"a\.json is corrupted or truncated: NaN is not a JSON number"):
        read_result("a", tmp_path)
    path.write_text('{"name": "a", "metrics": {"elbo": 1e999}, "provenance": {}}')
    with pytest.raises(ResultFileError, match="1e999 overflows a float"):
        read_result("a", tmp_path)
    path.write_text("[1, 2]")
    with pytest.raises(ResultFileError, match="expected a JSON object, got list"):
        read_result("a", tmp_path)


def test_write_result_refuses_what_json_cannot_hold_naming_the_key_path(tmp_path):
    with pytest.raises(ValueError, match=r"^metrics\['1.0'\]\['test_elbo'\] is nan: JSON has no NaN or infinity$"):
        write_result("a", {"1.0": {"test_elbo": float("nan")}}, meta(), tmp_path)
    with pytest.raises(ValueError, match=r"^metrics\['runs'\]\[1\]\['fid'\] is inf"):
        write_result("a", {"runs": [{"fid": 1.0}, {"fid": float("inf")}]}, meta(), tmp_path)
    with pytest.raises(TypeError, match=r"^metrics\['kl'\] is a Tensor: not JSON serializable$"):
        write_result("a", {"kl": torch.tensor(1.0)}, meta(), tmp_path)
    with pytest.raises(ValueError, match=r"^meta\['wall_time_s'\] is nan"):
        write_result("a", {}, meta() | {"wall_time_s": float("nan")}, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_write_result_replaces_the_file_atomically(tmp_path, monkeypatch):
    import gi_core.checkpoints

    path = write_result("a", {"elbo": -90.5}, meta(), tmp_path)
    before = path.read_text()

    def crash(*args):
        raise OSError("killed before the rename")

    monkeypatch.setattr(gi_core.checkpoints.os, "replace", crash)
    with pytest.raises(OSError, match="killed"):
        write_result("a", {"elbo": -80.0}, meta(), tmp_path)
    assert path.read_text() == before  # the old result is whole; the new one never half-replaced it


def test_a_corrupted_reference_table_names_its_file(tmp_path, monkeypatch):
    import gi_core.results as results
    from gi_core.results import ResultFileError, read_reference

    monkeypatch.setattr(results, "REFERENCE_DIR", tmp_path)
    (tmp_path / "t.json").write_text('{"table": {"VAE": ')
    with pytest.raises(ResultFileError, match=r"t\.json is corrupted or truncated"):
        read_reference("t")
    (tmp_path / "t.json").write_text(json.dumps({"source": "Astorga (2021)", "bibtex": "x"}))
    with pytest.raises(ResultFileError, match=r"t\.json is incomplete: its 'table' must be a dict, found nothing"):
        read_reference("t")


def test_every_stored_result_and_reference_table_reads():
    from gi_core.results import REFERENCE_DIR, RESULTS_DIR, read_reference

    names = sorted(path.stem for path in RESULTS_DIR.glob("*.json"))
    assert len(names) > 10 and all(read_result(name)["name"] == name for name in names)
    assert {path.stem for path in REFERENCE_DIR.glob("*.json")} == {
        "seed000_tables_4_1_4_2", "seed002_table_6_4", "seed002_table_8_7", "seed002_table_9_3", "seed003_table_2"}
    assert all(read_reference(path.stem)["table"] for path in REFERENCE_DIR.glob("*.json"))
