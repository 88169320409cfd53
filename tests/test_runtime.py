import random

import numpy as np
import pytest
import torch

from gi_core.runtime import current_profile, default_device, run_context, seed_everything


def test_profile_defaults_to_quick_and_reads_environment(monkeypatch):
    monkeypatch.delenv("GI_PROFILE", raising=False)
    assert current_profile() == "quick"
    monkeypatch.setenv("GI_PROFILE", "FULL")
    assert current_profile() == "full"
    monkeypatch.setenv("GI_PROFILE", "medium")
    with pytest.raises(ValueError, match="GI_PROFILE must be one of"):
        current_profile()


def test_run_context_prints_profile_and_device(monkeypatch, capsys):
    monkeypatch.setenv("GI_PROFILE", "quick")
    ctx = run_context()
    assert capsys.readouterr().out.strip() == f"profile=quick device={default_device().type}"
    assert ctx.pick(1, 2) == 1


def test_seed_everything_makes_all_generators_repeat():
    seed_everything(3)
    a = (random.random(), np.random.rand(), torch.rand(2))
    seed_everything(3)
    b = (random.random(), np.random.rand(), torch.rand(2))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    with pytest.raises(ValueError, match="non-negative integer"):
        seed_everything(-1)


def test_device_name_describes_the_cpu_for_provenance():
    from gi_core.runtime import device_name

    name = device_name(torch.device("cpu"))
    assert name.startswith("cpu:") and name.endswith(f"x{torch.get_num_threads()} threads")
