"""Tests for gi_core.runs: a finished run's record is written once, atomically, and read back instead of rerunning."""

import argparse
import json
from pathlib import Path

import pytest
import torch

from gi_core.runs import RUNS_ROOT, add_run_arguments, load_or_run

RECORD = {"model": "vae", "seed": 3, "elbo": -91.25, "history": [1.5, 0.75], "config": {"lr": 0.001, "amp": False}}


class Run:
    """A run that records the checkpoint folders it was given and returns ``record`` (or raises ``error``)."""

    def __init__(self, record: object = RECORD, error: Exception | None = None) -> None:
        self.record, self.error, self.calls = record, error, []

    def __call__(self, checkpoint_dir: Path | None) -> object:
        self.calls.append(checkpoint_dir)
        if self.error is not None:
            raise self.error
        return self.record


def test_a_run_is_run_once_and_its_record_round_trips(tmp_path):
    run_dir = tmp_path / "runs" / "zoo"  # created on the first write
    run = Run()
    assert load_or_run(run_dir, "vae-s3", run) == RECORD
    assert run.calls == [run_dir / "vae-s3"]  # it checkpoints into <run_dir>/<name>/
    assert json.loads((run_dir / "vae-s3.json").read_text()) == RECORD
    again = Run(error=AssertionError("a finished run must not be run again"))
    assert load_or_run(run_dir, "vae-s3", again) == RECORD and again.calls == []
    assert sorted(p.name for p in run_dir.iterdir()) == ["vae-s3.json"]  # no temporary file left


def test_check_sees_the_stored_record_and_may_refuse_it(tmp_path):
    load_or_run(tmp_path, "a", Run())
    seen = []
    assert load_or_run(tmp_path, "a", Run(), check=lambda record, path: seen.append((record, path))) == RECORD
    assert seen == [(RECORD, tmp_path / "a.json")]

    def refuse(record: dict, path: Path) -> None:
        if record["seed"] != 4:
            raise ValueError(f"{path} holds seed {record['seed']}, not 4")

    with pytest.raises(ValueError, match=r"a\.json holds seed 3, not 4"):
        load_or_run(tmp_path, "a", Run(), check=refuse)
    fresh = Run()
    load_or_run(tmp_path, "b", fresh, check=refuse)  # nothing stored yet: no check, the run runs
    assert fresh.calls == [tmp_path / "b"]


def test_without_a_run_dir_the_run_runs_every_time_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = Run()
    assert load_or_run(None, "a", run) == RECORD and load_or_run(None, "a", run) == RECORD
    assert run.calls == [None, None] and list(tmp_path.iterdir()) == []


def test_a_failing_run_leaves_no_record(tmp_path):
    with pytest.raises(RuntimeError, match="diverged"):
        load_or_run(tmp_path, "a", Run(error=RuntimeError("diverged")))
    with pytest.raises(TypeError, match="not JSON serializable"):  # a record that cannot be written
        load_or_run(tmp_path, "a", Run({"loss": torch.tensor(1.0)}))
    assert list(tmp_path.iterdir()) == []  # neither a.json nor a.json.tmp
    retry = Run()
    assert load_or_run(tmp_path, "a", retry) == RECORD and retry.calls == [tmp_path / "a"]


def test_run_arguments_leave_the_length_and_seeds_to_the_plan_by_default():
    parser = argparse.ArgumentParser()
    add_run_arguments(parser, steps=None, batch_size=64, run_dir="zoo", result_help="result file stem")
    args = parser.parse_args([])
    assert (args.steps, args.batch_size, args.seeds, args.result, args.results_dir) == (None, 64, None, None, None)
    assert args.run_dir == RUNS_ROOT / "zoo" == Path.home() / ".cache" / "gi-book" / "runs" / "zoo"
    assert not args.amp and not args.compile
    args = parser.parse_args(["--steps", "10", "--seeds", "0", "2", "--results-dir", "out", "--run-dir", "r", "--amp"])
    assert (args.steps, args.seeds, args.results_dir, args.run_dir, args.amp) == (10, [0, 2], Path("out"), Path("r"), True)


def test_a_corrupted_record_is_refused_naming_the_file_and_the_run_is_not_rerun(tmp_path):
    from gi_core.results import ResultFileError

    load_or_run(tmp_path, "a", Run())
    path = tmp_path / "a.json"
    for damaged in (path.read_text()[:20], "[1, 2]", '{"elbo": NaN}'):
        path.write_text(damaged)
        never = Run(error=AssertionError("a damaged record must not be silently re-run"))
        with pytest.raises(ResultFileError, match=r"a\.json is corrupted.*Delete it to evaluate run 'a' again"):
            load_or_run(tmp_path, "a", never)
        assert never.calls == []


def test_a_record_json_cannot_hold_is_refused_naming_the_entry(tmp_path):
    with pytest.raises(ValueError, match=r"^record\['history'\]\[1\] is nan: JSON has no NaN or infinity$"):
        load_or_run(tmp_path, "a", Run({"history": [1.0, float("nan")]}))
    with pytest.raises(TypeError, match="run 'a' returned a list, not a record"):
        load_or_run(tmp_path, "a", Run([1.0]))
    assert list(tmp_path.iterdir()) == []


def test_run_arguments_refuse_impossible_lengths_and_seeds_as_usage_errors(capsys):
    parser = argparse.ArgumentParser()
    add_run_arguments(parser, steps=None, batch_size=64, run_dir="zoo", result_help="result file stem")
    for argv, message in ((["--steps", "0"], "--steps: must be an integer of at least 1, got 0"),
                          (["--batch-size", "-2"], "--batch-size: must be an integer of at least 1, got -2"),
                          (["--seeds", "1", "-1"], "--seeds: must be an integer of at least 0, got -1")):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        assert message in capsys.readouterr().err


def test_check_outputs_checks_every_destination_before_a_reproduction_starts(tmp_path):
    from gi_core.runs import check_outputs

    assert check_outputs(None, "da_x", None, "cpu") == (None, "da_x", None, torch.device("cpu"))
    assert check_outputs(str(tmp_path), "a", tmp_path, torch.device("cpu"))[::2] == (tmp_path, tmp_path)
    with pytest.raises(TypeError, match="^run_dir must be a path"):
        check_outputs(7, "a")
    with pytest.raises(ValueError, match="^result_name must be a plain file stem"):
        check_outputs(tmp_path, "a/b")
    with pytest.raises(TypeError, match="^results_dir must be a path"):
        check_outputs(tmp_path, "a", 3.5)


def test_a_group_of_runs_trains_only_its_unfinished_runs_and_names_its_failures(tmp_path):
    from gi_core.runs import load_or_run_group

    asked = []

    def run_group(pending, folders):
        asked.append((pending, folders))
        return {name: ValueError("diverged") if name == "c" else {"run": name} for name in pending}

    (tmp_path / "a.json").write_text('{"run": "a", "stored": true}')
    with pytest.raises(RuntimeError, match=r"1 of 3 runs failed \(the others are stored\): c: diverged"):
        load_or_run_group(tmp_path, ["a", "b", "c"], run_group)
    assert asked == [(["b", "c"], {"b": tmp_path / "b", "c": tmp_path / "c"})]
    assert json.loads((tmp_path / "b.json").read_text()) == {"run": "b"} and not (tmp_path / "c.json").exists()
    records = load_or_run_group(tmp_path, ["a", "b"], run_group)
    assert records == [{"run": "a", "stored": True}, {"run": "b"}] and len(asked) == 1  # nothing trained again
    assert load_or_run_group(None, ["x"], run_group) == [{"run": "x"}]
    with pytest.raises(ValueError, match="non-empty list of distinct"):
        load_or_run_group(tmp_path, ["a", "a"], run_group)
