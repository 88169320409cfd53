"""The trainer's NaN guard: which terms went non-finite, at which step, and what they were before."""

from __future__ import annotations

import math
from collections.abc import Collection

import torch
from torch import nn

from gi_core.validation import check_module, check_non_negative_int


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite: ``step``, the non-finite ``terms`` and the ``last_finite`` ones."""

    def __init__(self, message: str, step: int, terms: dict[str, float], last_finite: dict[str, float]) -> None:
        super().__init__(message)
        self.step, self.terms, self.last_finite = step, terms, last_finite


def non_finite_error(step: int, terms: dict[str, float], minimised: Collection[str], model: nn.Module,
                     last_finite: tuple[int, dict[str, float]] | None) -> NonFiniteLossError:
    """The guard's report on a step whose ``terms`` are not all finite.

    The component terms that went non-finite come first, before the totals in ``minimised`` (which follow from
    them); then whether ``model``'s parameters were already non-finite (the previous update diverged), and the
    ``(step, terms)`` of the last finite step.
    """
    check_non_negative_int(step, "step")
    check_module(model, "model")
    if not isinstance(terms, dict) or not all(isinstance(v, float) for v in terms.values()):
        raise TypeError(f"terms must be a dict of floats, got {terms!r}")
    if isinstance(minimised, str) or not isinstance(minimised, Collection):
        raise TypeError(f"minimised must be a collection of term names, got {minimised!r}")
    bad = [name for name, value in terms.items() if not math.isfinite(value)]
    if not bad:
        raise ValueError("terms: every term is finite; there is nothing to report")
    components = [name for name in bad if name not in minimised]
    ordered = components + [name for name in bad if name in minimised]
    listed = ", ".join(f"'{name}' = {terms[name]}" for name in ordered)
    if components:
        plural = "s" if len(components) > 1 else ""
        cause = f"the component term{plural} {' and '.join(map(repr, components))} went non-finite"
    elif len(terms) > len(bad):
        cause = "every component term is finite: the total itself overflowed"
    else:
        cause = "the loss has no separate component terms"
    broken = next((name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())), None)
    if broken is not None:
        cause += f"; the parameter '{broken}' is non-finite" + (" (the previous update diverged)" if step > 0 else "")
    if last_finite is None:
        last = "no earlier step was finite" if step > 0 else "it is the first step"
    else:
        last = f"last finite values (step {last_finite[0]}): " + ", ".join(f"{k} = {v:.6g}" for k, v in last_finite[1].items())
    return NonFiniteLossError(
        f"step {step}: non-finite loss terms {listed}; {cause}. {last}. Training stopped "
        "(lower the learning rate, check the inputs, or bound the log-variances)",
        step=step, terms={name: terms[name] for name in ordered}, last_finite=dict(last_finite[1]) if last_finite else {},
    )
