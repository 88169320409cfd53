"""The fuzz harness itself: it flags each kind of bad behaviour and passes a well-guarded function."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.fuzz import harness
from tests.fuzz.harness import Case, judge, mutants


def guarded(x: torch.Tensor, n: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor, got {type(x).__name__}")
    if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] != 3 or not bool(torch.isfinite(x).all()):
        raise ValueError(f"x must be a finite non-empty (N, 3) tensor, got shape {tuple(x.shape)}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return x.sum() * n


def unguarded(x: torch.Tensor, n: int) -> torch.Tensor:
    return x @ torch.ones(3) * torch.ones(n).sum()


def vague(x: torch.Tensor, n: int) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 2:
        raise ValueError("bad input")
    return guarded(x, n)


@pytest.fixture(autouse=True)
def this_folder_counts_as_the_package(monkeypatch) -> None:
    monkeypatch.setattr(harness, "PACKAGE_DIR", Path(__file__).resolve().parent)


def failures_of(function, allow=None) -> list[str]:
    case = Case(target="test", make=lambda: {"x": torch.randn(4, 3), "n": 2}, allow=allow or {})
    case.callable = lambda: function  # type: ignore[method-assign]
    return [f for args in mutants(case) if (f := judge(case, *args))]


def test_a_guarded_function_passes() -> None:
    assert failures_of(guarded) == []


def test_library_errors_and_silent_acceptance_are_flagged() -> None:
    found = failures_of(unguarded)
    assert any(f.startswith("x:type") and "TypeError" in f for f in found)
    assert any(f.startswith("x:nan") and "accepted silently" in f for f in found)
    assert any(f.startswith("n:float") for f in found)
    assert any(f.startswith("x:size") and "RuntimeError" in f for f in found)


def test_a_message_that_does_not_name_the_argument_is_flagged() -> None:
    assert any("does not name 'x'" in f for f in failures_of(vague))


def test_an_allowed_input_passes_with_its_reason() -> None:
    found = failures_of(lambda x, n: guarded(x.nan_to_num(0.0), n) if isinstance(x, torch.Tensor) else guarded(x, n))
    assert any(f.startswith("x:nan") for f in found)
    allowed = failures_of(lambda x, n: guarded(x.nan_to_num(0.0, 0.0), n) if isinstance(x, torch.Tensor) else guarded(x, n),
                          allow={"x:nan": "NaN is read as 0", "x:inf": "inf is read as 0"})
    assert not any(f.startswith(("x:nan", "x:inf")) for f in allowed)


def test_every_public_callable_is_enumerated() -> None:
    names = harness.public_callables()
    assert "gi_core.maths.bounds.elbo" in names and "gi_core.trainer.Trainer.fit" in names
    assert not any(name.split(".")[-1].startswith("_") for name in names)
