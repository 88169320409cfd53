"""Tests for gi_core.experiments.domain_adaptation: configurations and their labels, each method's training,
resumption, the chapter's plans against the stored results, and the command line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import torch

import gi_core.experiments.domain_adaptation as da
from gi_core.experiments.domain_adaptation import (
    LABEL_REFERENCE,
    PAPER_ROWS,
    PLANS,
    TITLES,
    DAConfig,
    build_method,
    method_trainer,
    run_methods,
    stored_result,
    train_method,
)
from gi_core.metrics.domain import evaluate_method
from gi_core.models.cdlm import CDLM
from gi_core.models.dann import DANN
from gi_core.trainer import Trainer
from tests.toy_domains import toy_data

pytestmark = pytest.mark.usefixtures("one_thread")


def captured_plans(monkeypatch, result: Path) -> list[tuple]:
    """``(plan, run_dir, result_name, results_dir)`` of every ``reproduce`` call of the command line, which runs none."""
    calls = []
    monkeypatch.setenv("GI_PROFILE", "full")
    monkeypatch.setattr(da, "reproduce", lambda plan, run_dir, name, results_dir=None:
                        calls.append((plan, run_dir, name, results_dir)) or result)
    return calls


# --- configurations and their labels -----------------------------------------------------------


def test_config_validates_task_and_method():
    with pytest.raises(ValueError, match="unknown task 'mnist_svhn'; choose one of"):
        DAConfig(task="mnist_svhn")
    with pytest.raises(ValueError, match="unknown method 'adda'; choose one of"):
        DAConfig(method="adda")
    with pytest.raises(ValueError, match=r"lambda_max must lie in \[0.0, inf\], got -1.0"):
        DAConfig(lambda_max=-1.0)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 2.5"):
        DAConfig(steps=2.5)
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        DAConfig(lr="0.01")
    with pytest.raises(ValueError, match="cdlm must be a dict of options among latent_dim, .*got {'latent': 8}"):
        DAConfig(method="cdlm", cdlm={"latent": 8})
    with pytest.raises(ValueError, match=r"cdlm\['lambda2'\] is nan"):
        DAConfig(method="cdlm", cdlm={"lambda2": float("nan")})
    assert DAConfig(method="cdlm", cdlm={"modulation": "pm1", "lambda2": 1.0}).label == "cdlm_lambda2-1.0_modulation-pm1"
    assert DAConfig(method="dann").label == "dann" and DAConfig(method="dann", lambda_max=0.3).label == "dann_lambda_max-0.3"
    assert DAConfig(method="dann", steps=10000, lr=0.02).label == "dann_lr-0.02_steps-10000"


@dataclass(frozen=True)
class ShiftedDefaults(DAConfig):
    """:class:`DAConfig` with other defaults for every setting a label names."""

    steps: int = 10000
    lr: float = 0.02
    momentum: float = 0.5
    lambda_max: float = 0.3
    lr_generative: float = 1e-2


def test_a_label_names_what_differs_from_the_fixed_reference_not_from_the_defaults(monkeypatch):
    for config, _ in (run for plan in PLANS.values() for run in plan):
        assert ShiftedDefaults(**asdict(config)).label == config.label
    assert ShiftedDefaults(method="dann").label == "dann_lambda_max-0.3_lr-0.02_lr_generative-0.01_momentum-0.5_steps-10000"
    assert ShiftedDefaults(method="dann", **LABEL_REFERENCE).label == "dann"
    assert DAConfig(method="dann", checkpoint_every=7, amp=True).label == "dann"  # they do not change what is computed
    assert DAConfig(method="dann", batch_size=16).label == "dann_batch_size-16"  # a different run, a different name
    monkeypatch.setitem(LABEL_REFERENCE, "steps", 10000)
    assert DAConfig(method="dann").label == "dann_steps-4000"


def test_every_planned_run_has_a_title_and_a_paper_row_names_a_titled_run():
    planned = {config.label for plan in PLANS.values() for config, _ in plan}
    assert set(TITLES) == planned
    assert set(PAPER_ROWS) <= planned and set(PAPER_ROWS.values()) == {"Source Only", "DANN", "Target Only", "CDLM"}


# --- training, storing and resuming ------------------------------------------------------------


@pytest.mark.parametrize("method", ["source_only", "dann", "target_only", "cdlm"])
def test_each_method_trains_with_its_schedules(method):
    data = toy_data()
    config = DAConfig(method=method, steps=6, batch_size=16, cdlm={"latent_dim": 8, "channels": 4})
    model, trainer, seconds = train_method(config, data, seed=0, progress=False)
    assert isinstance(model, CDLM if method == "cdlm" else DANN) and not model.training and seconds > 0
    assert trainer.step == 6
    if method in ("dann", "cdlm"):  # the schedule's value at the last step, p = 5/6
        assert float(model.grl.coefficient) == pytest.approx(float(torch.tanh(torch.tensor(5 * 5 / 6))), rel=1e-6)
    else:  # the bounds never reverse a gradient
        assert float(model.grl.coefficient) == 0.0
    group = next(iter(trainer.optimizers.values())).param_groups[0]
    assert group["lr"] == pytest.approx(0.01 / (1 + 10 * 5 / 6) ** 0.75)  # Ganin's annealing at step 5 of 6
    scores = evaluate_method(model, data)
    assert set(scores) == {"target_accuracy", "source_accuracy"}
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_the_method_trainer_scales_the_reversal_schedule():
    data = toy_data()
    _, trainer = method_trainer(DAConfig(method="dann", steps=10, lambda_max=0.25), data, 0, progress=False)
    assert trainer.schedules["grl"](10) == pytest.approx(0.25 * 0.9999092042625951)
    model, optimizers = build_method(DAConfig(method="dann", steps=10, lambda_max=0.25), data)
    assert float(model.grl.coefficient) == 0.0 and set(optimizers) == {"loss"}
    cdlm, optimizers = build_method(DAConfig(method="cdlm", steps=10, cdlm={"latent_dim": 8, "channels": 4}), data)
    assert set(optimizers) == {"loss", "generative_loss"}
    assert isinstance(optimizers["loss"], torch.optim.SGD) and isinstance(optimizers["generative_loss"], torch.optim.Adam)


def test_run_methods_stores_resumes_and_skips_finished_runs(tmp_path):
    data = toy_data()
    config = DAConfig(method="dann", steps=4, batch_size=16, checkpoint_every=2)
    (record,) = run_methods([config], [0], data, tmp_path, progress=False, a_distance_seed=None)
    stored = json.loads((tmp_path / "mnist_usps_dann_batch_size-16_steps-4_seed0.json").read_text())
    assert stored == record and record["steps"] == 4 and "a_distance" not in record
    assert (tmp_path / "mnist_usps_dann_batch_size-16_steps-4_seed0" / "trainer.json").exists()
    again = run_methods([config], [0], data, tmp_path, progress=False)
    assert again == [record]  # read back, not retrained (the stored record has no A-distance)
    other = DAConfig(method="dann", steps=6, batch_size=16)
    (tmp_path / f"mnist_usps_{other.label}_seed0.json").write_text(json.dumps(record))  # a stale record
    with pytest.raises(ValueError, match="holds a run of 4 steps, not 6"):
        run_methods([other], [0], data, tmp_path, progress=False)


def test_an_interrupted_run_resumes_bitwise(tmp_path, monkeypatch):
    data = toy_data()
    config = DAConfig(method="dann", steps=5, batch_size=16, checkpoint_every=2)
    straight, _, _ = train_method(config, data, 3, progress=False)
    step = Trainer.train_step

    def crash_at_step_3(self):
        if self.step == 3:
            raise KeyboardInterrupt
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", crash_at_step_3)
    with pytest.raises(KeyboardInterrupt):
        train_method(config, data, 3, tmp_path / "run", progress=False)
    monkeypatch.setattr(Trainer, "train_step", step)
    resumed, trainer, _ = train_method(config, data, 3, tmp_path / "run", progress=False)
    assert trainer.step == 5
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


# --- the chapter's plans and the stored results ----------------------------------------------------


@pytest.mark.parametrize("task", sorted(PLANS))
def test_the_stored_results_are_read_under_the_planned_run_names(task):
    """Every planned run is stored in ``results/da_<task>.json`` under its present label with its seeds, and nothing else."""
    result = stored_result(task)
    planned = sorted((config.label, seed) for config, seeds in PLANS[task] for seed in seeds)
    assert sorted((run["model"], run["seed"]) for run in result["metrics"]["runs"]) == planned
    assert set(result["metrics"]["summary"]) == {config.label for config, _ in PLANS[task]}
    assert all(run["task"] == task for run in result["metrics"]["runs"])
    stored_configs = sorted(json.dumps(run, sort_keys=True) for run in result["provenance"]["config"]["runs"])
    assert stored_configs == sorted(json.dumps(asdict(config) | {"seeds": seeds}, sort_keys=True)
                                    for config, seeds in PLANS[task])


# --- the command line --------------------------------------------------------------------------


def test_command_line_refuses_the_quick_profile(monkeypatch, capsys):
    monkeypatch.setenv("GI_PROFILE", "quick")
    with pytest.raises(SystemExit):
        da.main(["--task", "usps_mnist", "--steps", "10"])
    assert "set GI_PROFILE=full" in capsys.readouterr().err


def test_command_line_builds_each_method_with_its_learning_rate_and_reversal(monkeypatch, tmp_path):
    plans = captured_plans(monkeypatch, tmp_path)
    da.main(["--task", "mnist_usps_framed", "--methods", "source_only", "dann", "cdlm", "--lambda-max", "0.3",
             "--run-dir", str(tmp_path), "--seeds", "0", "1"])
    plan, run_dir, name, _ = plans[-1]
    assert {c.method: (c.lr, c.lambda_max) for c, _ in plan} == {
        "source_only": (0.01, 1.0), "dann": (0.01, 0.3), "cdlm": (da.BOOK_CDLM_LR, 0.3)}
    assert [seeds for _, seeds in plan] == [[0, 1]] * 3 and name == "da_mnist_usps_framed"
    assert run_dir == tmp_path / "mnist_usps_framed" and plan[2][0].cdlm == da.BOOK_CDLM
    da.main(["--task", "mnist_usps_framed", "--methods", "dann", "cdlm", "--lr", "0.005", "--run-dir", str(tmp_path)])
    assert [c.lr for c, _ in plans[-1][0]] == [0.005, 0.005]


def test_command_line_builds_the_planned_runs_it_is_asked_for(monkeypatch, tmp_path, capsys):
    plans = captured_plans(monkeypatch, tmp_path)
    da.main(["--task", "mnist_usps_framed", "--runs", "dann_lambda_max-0.3", "source_only", "--seeds", "5",
             "--run-dir", str(tmp_path), "--results-dir", str(tmp_path / "results")])
    plan, run_dir, name, results_dir = plans[-1]
    assert plan == [(config, [5]) for config, _ in PLANS["mnist_usps_framed"]
                    if config.label in ("source_only", "dann_lambda_max-0.3")]
    assert [config.label for config, _ in plan] == ["source_only", "dann_lambda_max-0.3"]  # in the plan's order
    assert run_dir == tmp_path / "mnist_usps_framed" and name == "da_mnist_usps_framed"
    assert results_dir == tmp_path / "results"
    da.main(["--task", "usps_mnist", "--runs", "dann", "--steps", "100", "--run-dir", str(tmp_path)])
    plan, *_ = plans[-1]
    assert plan == [(DAConfig(task="usps_mnist", method="dann", steps=100), [0])]  # the plan's seeds
    da.main(["--task", "all", "--run-dir", str(tmp_path)])
    assert [(plan, name) for plan, _, name, _ in plans[-len(PLANS):]] == [(PLANS[task], f"da_{task}")
                                                                          for task in sorted(PLANS)]
    with pytest.raises(SystemExit):
        da.main(["--task", "usps_mnist", "--runs", "dann_lambda_max-0.3"])  # planned for another task only
    assert "usps_mnist plans no runs ['dann_lambda_max-0.3']" in capsys.readouterr().err


def test_a_stored_model_must_be_of_a_finished_run_and_bad_inputs_are_refused_at_the_call(tmp_path):
    from gi_core.experiments.domain_adaptation import load_stored_model, run_name, stored_models
    from gi_core.results import MissingResultError

    data = toy_data()
    config = DAConfig(method="dann", steps=5, batch_size=16, checkpoint_every=2)  # the last checkpoint: step 4
    train_method(config, data, 0, tmp_path / run_name(config, 0), progress=False)
    with pytest.raises(MissingResultError, match=r"stopped at step 4 of 5; finish it with reproduce\(\)"):
        load_stored_model(config, 0, data, tmp_path)
    with pytest.raises(TypeError, match="^run_dir must be a path"):
        stored_models([(config, [0])], data, 7)  # refused at the call, not when the first model is read
    with pytest.raises(TypeError, match=r"^plan\[0\] must be a \(DAConfig, seeds\) pair"):
        da.reproduce([config], tmp_path, "unused")
    with pytest.raises(ValueError, match="^result_name must be a plain file stem"):
        da.reproduce([(config, [0])], tmp_path, "a b")  # before any data is loaded
