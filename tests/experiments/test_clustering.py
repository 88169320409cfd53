"""The clustering chapter's experiment: its plans, a reproduction's result file, the table beside Table 8.7 and the CLI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gi_core.experiments import clustering as cl
from gi_core.experiments import clustering_vade as cv
from gi_core.results import read_reference, read_result

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = cv.VaDEConfig(hidden=(16,), latent_dim=2, num_clusters=3, batch_size=20, pretrain_epochs=1, epochs=1,
                     eval_every=1, gmm_inits=1)


def tiny_data() -> cv.ClusteringData:
    full = cv.load_clustering_data("mnist", torch.device("cpu"), profile="quick")
    return cv.ClusteringData(full.x[:40], full.y[:40], full.source)


def test_the_plans_are_jiang_et_al_s_schedule_and_the_cpu_budget() -> None:
    assert set(cl.PLANS) == {"quick", "vade_mnist_cpu", "vade_mnist_cpu_pretrain30", "vade_mnist", "vade_fashion_mnist",
                             "mpcc_mnist_cpu", "mpcc_mnist", "mpcc_fashion_mnist"}
    full = cl.PLANS["vade_mnist"].config
    assert (full.hidden, full.latent_dim, full.num_clusters, full.batch_size) == ((500, 500, 2000), 10, 10, 100)
    assert (full.pretrain_epochs, full.epochs, full.lr, full.lr_decay, full.lr_decay_epochs) == (50, 300, 2e-3, 0.9, 10)
    assert cl.PLANS["vade_fashion_mnist"].config == replace(full, dataset="fashion_mnist")
    cpu = cl.PLANS["vade_mnist_cpu"]
    assert cpu.config == replace(full, pretrain_epochs=10, epochs=10, eval_every=5) and cpu.seeds == tuple(range(10))
    assert len({plan.result for plan in cl.PLANS.values()}) == 8
    assert cl.PLANS["vade_mnist_cpu_pretrain30"].config == replace(cpu.config, pretrain_epochs=30)
    mpcc = cl.PLANS["mpcc_mnist"].config
    assert (mpcc.iterations, mpcc.batch_size, mpcc.channels, mpcc.latent_dim, mpcc.prior_lr) == (125_000, 50, 12, 24, 1.6e-3)
    fashion = cl.PLANS["mpcc_fashion_mnist"].config
    assert (fashion.iterations, fashion.channels, fashion.latent_dim, fashion.injection) == (
        75_000, 24, 16, "latent_and_embedding")
    assert cl.PLANS["mpcc_mnist_cpu"].config == replace(mpcc, iterations=500, eval_every=100, eval_size=10_000)
    with pytest.raises(ValueError, match="seeds"):
        cl.Plan(full, (), "x", "y")
    with pytest.raises(TypeError, match="config"):
        cl.Plan({}, (0,), "x", "y")
    with pytest.raises(TypeError, match="a plan of VaDEConfig runs, got one of MPCCConfig"):
        cl.trained_model(cl.PLANS["mpcc_mnist_cpu"], None, 0, None)
    with pytest.raises(TypeError, match="a plan of MPCCConfig runs, got one of VaDEConfig"):
        cl.trained_mpcc(cl.PLANS["vade_mnist_cpu"], torch.zeros(1, 1, 32, 32), torch.zeros(1), 0, None)


def test_reproduce_writes_the_runs_and_summary_with_provenance_and_run_plan_reads_them_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tiny_data()
    loaded = []
    monkeypatch.setattr(cl, "load_clustering_data", lambda dataset, device: loaded.append((dataset, device)) or data)
    plan = cl.Plan(TINY, (2,), "clustering_tiny", "a test")
    path = cl.reproduce(plan, tmp_path / "runs", tmp_path / "results", torch.device("cpu"), progress=False)
    assert path == tmp_path / "results" / "clustering_tiny.json" and loaded == [("mnist", torch.device("cpu"))]
    stored = read_result("clustering_tiny", tmp_path / "results")
    (run,) = stored["metrics"]["runs"]
    assert run["seed"] == 2 and [e["epoch"] for e in run["evaluations"]] == [0, 1]
    assert stored["metrics"]["summary"] == cv.summarize([run])
    meta = stored["provenance"]
    assert meta["config"] == {**TINY.describe(), "cpu_threads": torch.get_num_threads()} and meta["seeds"] == [2] and meta["wall_time_s"] == round(run["wall_time_s"], 2)
    assert (tmp_path / "runs" / "vade_mnist_p1_e1_seed2.json").exists()

    def untrained(*args, **kwargs):
        raise AssertionError("a finished run is read back")

    monkeypatch.setattr(cl, "train_run", untrained)
    assert cl.run_plan(plan, data, tmp_path / "runs", progress=False) == [run]


def hand_stored() -> dict:
    def record(seed: int, accuracy: float, elbo: float) -> dict:
        scores = {"accuracy": accuracy, "purity": accuracy + 0.01, "nmi": 0.8, "ari": 0.7}
        return {"seed": seed, "final": {**scores, "elbo": elbo}, "baselines": {"gmm": scores, "kmeans": scores}}

    return {"metrics": {"summary": cv.summarize([record(0, 0.9, -100.0), record(1, 0.8, -90.0)])}}


def test_comparison_table_sets_ours_beside_table_8_7() -> None:
    table = cl.comparison_table(hand_stored())
    reference = read_reference("seed002_table_8_7")["table"]
    ours = ["VaDE (ours)", "GMM on codes (ours)", "k-means on codes (ours)"]
    assert list(table.index) == ours + [f"{name} (Table 8.7)" for name in reference["mnist"]]
    assert table.loc["VaDE (ours)", "ACC mean ± std"] == "85.00 ± 7.07" and table.loc["VaDE (ours)", "runs"] == 2
    assert table.loc["VaDE (ours)", "best ACC"] == 90.0 and table.loc["VaDE (ours)", "label-free"] == 80.0
    assert table.loc["VaDE (ours)", "purity mean"] == 86.0 and "NMI mean" not in table
    assert table.loc["GMM on codes (ours)", "label-free"] == ""
    assert table.loc["VaDE (Table 8.7)", "best ACC"] == "94.46" and table.loc["VaDE (Table 8.7)", "runs"] == "best of ≥10"
    assert table.loc["IMSAT (VAT) (Table 8.7)", "ACC mean ± std"] == "98.40 ± 0.40"
    assert table.loc["IMSAT (VAT) (Table 8.7)", "runs"] == "≥5"
    fashion = cl.comparison_table(hand_stored(), "fashion_mnist")
    assert list(fashion.index)[3:] == [f"{name} (Table 8.7)" for name in reference["fashion_mnist"]]
    with pytest.raises(ValueError, match="dataset"):
        cl.comparison_table(hand_stored(), "cifar")


def test_stored_reads_the_plans_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cl, "read_result", lambda name: {"name": name})
    assert cl.stored("quick") == {"name": "clustering_vade_quick"}
    assert cl.stored() == {"name": "clustering_vade_mnist_cpu"}
    with pytest.raises(ValueError, match="plan must be one of"):
        cl.stored("vade_cifar")


def test_the_cli_builds_the_planned_run_and_refuses_the_quick_profile_and_gpu_switches(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = []
    monkeypatch.setattr(cl, "reproduce", lambda *args: calls.append(args) or tmp_path)
    monkeypatch.setenv("GI_PROFILE", "full")
    cl.main(["--plan", "vade_mnist", "--epochs", "7", "--seeds", "3", "4", "--run-dir", str(tmp_path)])
    plan, run_dir, results_dir = calls[-1]
    assert plan == replace(cl.PLANS["vade_mnist"], config=replace(cl.PLANS["vade_mnist"].config, epochs=7), seeds=(3, 4))
    assert run_dir == tmp_path and results_dir is None
    for argv in (["--plan", "vade_mnist", "--amp"], ["--plan", "vade_mnist", "--steps", "5"], ["--plan", "quick"]):
        with pytest.raises(SystemExit):
            cl.main(argv)
    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        cl.main(["--plan", "vade_mnist_cpu"])
    assert len(calls) == 1
