"""The light-curve chapter's experiment: its plans, the summary of a row's runs, a reproduction's result file (read back
without training), the tables beside the thesis's Tables 9.3 and 9.4, and the command line.

The reproduced plan is tiny: LC-VaDE with C = 4 for one epoch and an isolation forest, on the shipped 135 curves."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gi_core.data.light_curves import FIVE_CLASSES, load_asas
from gi_core.experiments import light_curves as lc
from gi_core.experiments.light_curve_runs import LightCurveConfig, run_name
from gi_core.results import read_json, read_reference, read_result
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = LightCurveConfig(source="quick", channels=4, epochs=1, batch_size=27, bootstrap=50, checkpoint_epochs=1)
PLAN = lc.Plan((lc.Row("Beta Persei", TINY, (0,)),
                lc.Row("Isolation forest (statistics)", replace(TINY, model="isolation_forest"), (1,))),
               "light_curves_tiny", "a test")
REFERENCE = read_reference("seed002_table_9_3")["table"]


def without_wall_time(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "wall_time_s"}


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """The tiny plan reproduced once: its run folder, its results folder and the stored result."""
    folder = tmp_path_factory.mktemp("light_curves")
    path = lc.reproduce(PLAN, folder / "runs", folder / "results", "cpu", progress=False)
    assert path == folder / "results" / "light_curves_tiny.json"
    return folder / "runs", folder / "results", read_result("light_curves_tiny", folder / "results")


def test_the_plans_are_the_chapter_s_tables_at_two_budgets() -> None:
    assert set(lc.PLANS) == {"quick", "asas_outliers_cpu", "asas_minority_cpu", "asas_ablations_cpu", "asas_outliers",
                             "asas_minority"}
    assert len({plan.result for plan in lc.PLANS.values()}) == 6
    assert tuple(lc.TITLES) == FIVE_CLASSES and set(lc.TITLES.values()) == set(REFERENCE["asas"])
    assert (lc.CPU.channels, lc.CPU.epochs, lc.CPU.batch_size, lc.CPU.source, lc.CPU.lr) == (72, 50, 32, "full", 1e-3)
    assert lc.GPU == replace(lc.CPU, epochs=300)
    for name, base in (("asas_outliers_cpu", lc.CPU), ("asas_outliers", lc.GPU)):  # Table 9.3(b)
        rows = lc.PLANS[name].rows
        assert [r.title for r in rows] == ["Classical Cepheid", "Semireg PV", "Beta Persei", "RR Lyrae FM",
                                           "W Ursae Majoris"]
        assert [r.config for r in rows] == [replace(base, outlier=c) for c in FIVE_CLASSES]
        assert all(r.seeds == (0, 1, 2, 3) for r in rows)
    for name, base in (("asas_minority_cpu", lc.CPU), ("asas_minority", lc.GPU)):  # Table 9.4, ASAS column
        rows = lc.PLANS[name].rows
        assert [r.title for r in rows] == ["LC-VaDE", "VAE baseline (S)", "Energy GMM (S)",
                                           "Isolation forest (statistics)"]
        assert [r.config for r in rows] == [replace(base, model=m) for m in ("lc_vade", "vae", "energy_gmm",
                                                                            "isolation_forest")]
        assert [len(r.seeds) for r in rows] == [4, 3, 3, 3] and base.outlier == "Beta_Persei"
    ablations = lc.PLANS["asas_ablations_cpu"].rows
    assert [r.config for r in ablations] == [lc.CPU, replace(lc.CPU, kernel="periodic"),
                                             replace(lc.CPU, eclipsing_period_factor=0.5),
                                             replace(lc.CPU, supervised_weight=0.0), replace(lc.CPU, epochs=150)]
    assert [r.seeds for r in ablations] == [(0, 1, 2, 3), (0, 1, 2), (0, 1, 2), (0, 1, 2), (0, 1)]
    # the ablations' baseline is the minority table's LC-VaDE row: the same runs, trained once
    assert run_name(ablations[0].config, 0) == run_name(lc.PLANS["asas_minority_cpu"].rows[0].config, 0)
    quick = lc.PLANS["quick"].rows
    assert [r.config for r in quick] == [lc.QUICK, replace(lc.QUICK, model="isolation_forest")]
    assert lc.QUICK.source == "quick" and all(r.seeds == (0,) for r in quick)


def test_rows_and_plans_are_checked() -> None:
    with pytest.raises(TypeError, match="title"):
        lc.Row(7, TINY, (0,))
    with pytest.raises(TypeError, match="config"):
        lc.Row("x", {"model": "lc_vade"}, (0,))
    for seeds in ((), 7, "01"):
        with pytest.raises(ValueError, match="seeds"):
            lc.Row("x", TINY, seeds)
    with pytest.raises(ValueError, match=r"seeds\[1\]"):
        lc.Row("x", TINY, (0, -1))
    row = lc.Row("x", TINY, (0,))
    for rows in ((), [row], (row, "y")):
        with pytest.raises(TypeError, match="rows"):
            lc.Plan(rows, "r", "d")
    with pytest.raises(ValueError, match="one data source"):
        lc.Plan((row, lc.Row("y", lc.CPU, (0,))), "r", "d")
    with pytest.raises(TypeError, match="result"):
        lc.Plan((row,), 7, "d")
    with pytest.raises(TypeError, match="description"):
        lc.Plan((row,), "r", None)


def record(seed: int, auroc: float, auprc: float) -> dict:
    interval = [auroc - 5.0 - seed, auroc + 5.0]
    metrics = {"auroc": auroc, "auprc": auprc, "auroc_interval": interval, "auprc_interval": [auprc - 1, auprc + 1]}
    return {"seed": seed, "outliers": 27, "train_size": 81,
            "metrics": {"latent": metrics, "reconstruction": {**metrics, "auroc": auroc / 2}}}


def diverged(seed: int) -> dict:
    return {"seed": seed, "outliers": 27, "train_size": 81, "diverged": {"step": 12, "message": "step 12: nan"}}


def test_summarize_gives_mean_sample_std_and_count_per_score_and_lists_the_diverged_seeds() -> None:
    table = lc.summarize([record(0, 90.0, 60.0), diverged(5), record(1, 80.0, 70.0), record(2, 70.0, 95.0)])
    assert set(table) == {"diverged", "latent", "reconstruction"} and table["diverged"] == [5]
    assert table["latent"]["auroc"] == pytest.approx([80.0, 10.0, 3])  # sample std (ddof = 1) of 90, 80, 70
    assert table["latent"]["auprc"] == pytest.approx([75.0, np.sqrt(325.0), 3])  # (15² + 5² + 20²) / 2 = 325
    assert table["reconstruction"]["auroc"] == pytest.approx([40.0, 5.0, 3])
    assert lc.summarize([record(3, 91.5, 50.0)])["latent"]["auroc"] == [91.5, 0.0, 1]
    assert lc.summarize([diverged(0), diverged(2)]) == {"diverged": [0, 2]}
    for bad in ([], {"seed": 0}, None):
        with pytest.raises(ValueError, match="records"):
            lc.summarize(bad)


def test_reproduce_writes_the_rows_runs_and_periods_with_provenance(reproduced: tuple) -> None:
    run_dir, _, stored = reproduced
    rows = stored["metrics"]["rows"]
    assert [r["title"] for r in rows] == ["Beta Persei", "Isolation forest (statistics)"]
    for row, planned in zip(rows, PLAN.rows):
        (run,) = row["runs"]
        assert row["config"] == planned.config.describe() and row["summary"] == lc.summarize([run])
        assert row["names"] == [run_name(planned.config, planned.seeds[0])] and run["seed"] == planned.seeds[0]
        assert read_json(run_dir / f"{row['names'][0]}.json") == run  # every finished run kept in the cache
    assert set(rows[0]["summary"]) == {"diverged", "latent", "reconstruction", "both"}
    assert rows[0]["summary"]["latent"]["auroc"] == [rows[0]["runs"][0]["metrics"]["latent"]["auroc"], 0.0, 1]
    assert set(rows[1]["summary"]) == {"diverged", "statistics"}
    quick = load_asas("quick")
    periods = stored["metrics"]["periods"]
    assert set(periods) == set(FIVE_CLASSES)  # the result file sorts its keys
    for k, name in enumerate(FIVE_CLASSES):
        mine = quick.periods[quick.labels == k]
        assert periods[name] == {"stars": 27, "median": float(np.median(mine)), "min": float(mine.min()),
                                 "max": float(mine.max())}
    assert periods == lc.period_summary(TINY)
    meta = stored["provenance"]
    assert meta["seeds"] == [0, 1] and meta["config"]["rows"][0] == {"title": "Beta Persei", **TINY.describe()}
    assert meta["config"]["cpu_threads"] == 1 and meta["device"]
    assert meta["wall_time_s"] == round(sum(r["runs"][0]["wall_time_s"] for r in rows), 2)
    assert not (run_dir / "asas_periods_quick.json").exists()  # the quick subset ships its periods


def test_a_second_reproduction_and_trained_model_read_the_runs_back_without_training(
        reproduced: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, results_dir, stored = reproduced

    def untrained(*args, **kwargs):
        raise AssertionError("a finished run is read back")

    monkeypatch.setattr(lc, "train_run", untrained)
    lc.reproduce(PLAN, run_dir, results_dir, "cpu", progress=False)
    assert read_result("light_curves_tiny", results_dir)["metrics"] == stored["metrics"]
    assert lc.run_row(PLAN.rows[1], run_dir, progress=False) == stored["metrics"]["rows"][1]["runs"]
    monkeypatch.undo()
    monkeypatch.setattr(Trainer, "train_step", untrained)  # the model is rebuilt from its final checkpoint
    model, rebuilt = lc.trained_model(PLAN.rows[0], 0, run_dir, progress=False)
    assert without_wall_time(rebuilt) == without_wall_time(stored["metrics"]["rows"][0]["runs"][0])
    assert not model.training
    with pytest.raises(TypeError, match="row"):
        lc.trained_model(TINY, 0, run_dir)
    with pytest.raises(TypeError, match="run_dir"):
        lc.run_row(PLAN.rows[1], 7)


def test_outlier_table_sets_ours_beside_table_9_3(reproduced: tuple) -> None:
    _, _, stored = reproduced
    first = stored["metrics"]["rows"][0]
    table = lc.outlier_table({"metrics": {"rows": [first]}})
    latent = first["runs"][0]["metrics"]["latent"]
    assert list(table.index) == ["Beta Persei"]
    assert table.loc["Beta Persei", "AUROC (ours)"] == f"{latent['auroc']:.2f} ± 0.00"
    assert table.loc["Beta Persei", "AUPRC (ours)"] == f"{latent['auprc']:.2f} ± 0.00"
    assert table.loc["Beta Persei", "AUROC (Table 9.3)"] == "89.73 ± 1.59"
    assert table.loc["Beta Persei", "AUPRC (Table 9.3)"] == "84.76 ± 0.22"
    assert table.loc["Beta Persei", "runs"] == 1
    assert table.loc["Beta Persei", "95% bootstrap width (AUROC)"] == round(
        latent["auroc_interval"][1] - latent["auroc_interval"][0], 1)
    assert (table.loc["Beta Persei", "outliers in test"], table.loc["Beta Persei", "training curves"]) == (27, 81)
    reconstruction = lc.outlier_table({"metrics": {"rows": [first]}}, "reconstruction")
    assert reconstruction.loc["Beta Persei", "AUROC (ours)"] == (
        f"{first['runs'][0]['metrics']['reconstruction']['auroc']:.2f} ± 0.00")
    runs = [record(0, 90.0, 85.0), diverged(1), record(1, 80.0, 75.0)]  # widths 10 and 11
    hand = {"metrics": {"rows": [{"title": "W Ursae Majoris", "summary": lc.summarize(runs), "runs": runs}]}}
    row = lc.outlier_table(hand).loc["W Ursae Majoris"]
    assert (row["AUROC (ours)"], row["AUPRC (ours)"], row["runs"]) == ("85.00 ± 7.07", "80.00 ± 7.07", 2)
    assert (row["AUROC (Table 9.3)"], row["AUPRC (Table 9.3)"]) == ("81.62 ± 6.15", "71.51 ± 4.31")
    assert row["95% bootstrap width (AUROC)"] == 10.5
    with pytest.raises(ValueError, match="score"):
        lc.outlier_table(stored)  # the forest's row has no latent score
    with pytest.raises(ValueError, match="score"):
        lc.outlier_table(hand, "energy")
    with pytest.raises(TypeError, match="stored"):
        lc.outlier_table([first])


def test_comparison_table_sets_every_score_beside_table_9_4(reproduced: tuple) -> None:
    _, _, stored = reproduced
    table = lc.comparison_table(stored)
    ours = ["Beta Persei, both score", "Beta Persei, latent score", "Beta Persei, reconstruction score",
            "Isolation forest (statistics)"]  # a result file sorts its keys, so the scores come in name order
    thesis = ["Energy GMM (RNN)", "Energy GMM (S)", "VAE baseline (S)", "LC-VaDE"]
    assert list(table.index) == ours + [f"{m} (Table 9.4)" for m in thesis] and list(REFERENCE["minority_outlier"]) == thesis
    forest = stored["metrics"]["rows"][1]["runs"][0]["metrics"]["statistics"]
    assert table.loc["Isolation forest (statistics)", "AUROC (ours)"] == f"{forest['auroc']:.2f} ± 0.00"
    assert table.loc["Isolation forest (statistics)", "AUPRC (ours)"] == f"{forest['auprc']:.2f} ± 0.00"
    assert (table.loc["Isolation forest (statistics)", "runs"], table.loc["Isolation forest (statistics)", "diverged"]) == (1, 0)
    assert table.loc["Beta Persei, latent score", "AUROC (thesis)"] == ""
    assert table.loc["LC-VaDE (Table 9.4)", "AUROC (thesis)"] == "98.58 ± 2.41"
    assert table.loc["LC-VaDE (Table 9.4)", "AUPRC (thesis)"] == "98.72 ± 2.07"
    assert table.loc["LC-VaDE (Table 9.4)", "runs"] == "4" and table.loc["LC-VaDE (Table 9.4)", "AUROC (ours)"] == ""
    assert table.loc["Energy GMM (S) (Table 9.4)", "AUROC (thesis)"] == "94.39 ± 0.47"
    assert table.loc["Energy GMM (S) (Table 9.4)", "AUPRC (thesis)"] == "89.78 ± 1.01"
    assert table.loc["VAE baseline (S) (Table 9.4)", "runs"] == "3"
    assert list(lc.comparison_table(stored, with_thesis=False).index) == ours
    energy = [record(0, 94.0, 90.0), diverged(1), record(2, 92.0, 88.0)]
    for r in energy:
        if "metrics" in r:
            r["metrics"] = {"energy": r["metrics"]["latent"]}
    hand = {"metrics": {"rows": [{"title": "Energy GMM (S)", "summary": lc.summarize(energy), "runs": energy}]}}
    row = lc.comparison_table(hand, with_thesis=False).loc["Energy GMM (S)"]
    assert (row["AUROC (ours)"], row["AUPRC (ours)"], row["runs"], row["diverged"]) == ("93.00 ± 1.41", "89.00 ± 1.41", 2, 1)


def test_stored_reads_the_plan_s_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lc, "read_result", lambda name: {"name": name})
    assert lc.stored() == {"name": "light_curves_asas_outliers_cpu"}
    assert lc.stored("asas_minority") == {"name": "light_curves_asas_minority"}
    assert lc.stored("quick") == {"name": "light_curves_quick"}
    with pytest.raises(ValueError, match="plan must be one of"):
        lc.stored("linear_outliers")


def test_period_summary_refuses_what_is_not_a_config() -> None:
    with pytest.raises(TypeError, match="config"):
        lc.period_summary("quick")
    with pytest.raises(TypeError, match="run_dir"):
        lc.period_summary(TINY, 7)


def test_the_cli_overrides_epochs_batch_and_seeds_and_refuses_the_gpu_switches(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(lc, "reproduce", lambda *args: calls.append(args) or tmp_path)
    lc.main(["--plan", "asas_minority_cpu", "--epochs", "7", "--batch-size", "16", "--seeds", "3", "4",
             "--run-dir", str(tmp_path), "--result", "minority_short"])
    plan, run_dir, results_dir = calls[-1]
    expected = lc.PLANS["asas_minority_cpu"]
    assert plan == replace(expected, result="minority_short", rows=tuple(
        replace(r, seeds=(3, 4), config=replace(r.config, epochs=7, batch_size=16)) for r in expected.rows))
    assert run_dir == tmp_path and results_dir is None
    lc.main(["--plan", "asas_outliers", "--run-dir", str(tmp_path)])
    assert calls[-1][0] == lc.PLANS["asas_outliers"]  # the defaults are the plan's
    for argv in (["--plan", "asas_outliers", "--amp"], ["--plan", "asas_outliers", "--compile"],
                 ["--plan", "asas_outliers", "--steps", "5"], ["--plan", "asas_outliers", "--epochs", "0"],
                 ["--plan", "quick"], ["--plan", "linear_outliers"], ["--seeds", "0"],
                 ["--plan", "asas_outliers", "--seeds", "-1"]):
        with pytest.raises(SystemExit) as exit:
            lc.main(argv)
        assert exit.value.code == 2, argv
    assert len(calls) == 2


def test_the_cli_reproduces_a_plan_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    config = replace(TINY, length=50)
    monkeypatch.setattr(lc, "PLANS", {"tiny": lc.Plan((lc.Row("LC-VaDE", config, (0,)),), "light_curves_cli", "tiny")})
    lc.main(["--plan", "tiny", "--batch-size", "27", "--seeds", "5", "--run-dir", str(tmp_path / "runs"),
             "--results-dir", str(tmp_path / "results")])
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'results' / 'light_curves_cli.json'}"
    stored = read_result("light_curves_cli", tmp_path / "results")
    (run,) = stored["metrics"]["rows"][0]["runs"]
    assert run["seed"] == 5 and run["config"] == config.describe() and set(run["metrics"]) == {"latent", "reconstruction", "both"}
    assert (tmp_path / "runs" / f"{run_name(config, 5)}.json").exists()
