r"""Schedules of Ganin et al. (2016; Corro and Sebag 2023, §3.4) as functions of the training progress and of the
step.

:func:`grl_schedule` and :func:`dann_learning_rate` are the formulas of the paper, in the progress
:math:`p\in[0,1]`; :func:`grl_ramp` and :func:`annealed_lr_factor` turn them into functions of the step that
:class:`gi_core.trainer.Trainer` applies before each step (its ``schedules``). :func:`linear_ramp` is AVDA's
:math:`\gamma` (Pérez Carrasco 2021, Eq. 3.12).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from gi_core.validation import check_non_negative_int, check_positive_int, check_real


def grl_schedule(progress: float, gamma: float = 10.0) -> float:
    r"""Ganin et al.'s GRL coefficient :math:`\lambda_p = \frac{2}{1+e^{-\gamma p}} - 1 = \tanh(\gamma p/2)`.

    ``progress`` :math:`p\in[0,1]` is the fraction of training done (Corro and Sebag 2023, §3.4,
    :math:`\gamma=10`). The coefficient rises from 0, which keeps the noisy early domain gradient from swamping the
    features, to (almost) 1: :math:`\lambda_{0.5}\approx0.9866` and :math:`\lambda_1\approx0.99991` for
    :math:`\gamma=10`.
    """
    progress = check_real(progress, "progress", minimum=0.0, maximum=1.0)
    gamma = check_real(gamma, "gamma", minimum=0.0, strict=True)
    return 2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0


def dann_learning_rate(progress: float, lr0: float = 0.01, alpha: float = 10.0, beta: float = 0.75) -> float:
    r"""Ganin et al.'s annealed learning rate :math:`\mu_p = \mu_0/(1+\alpha p)^\beta` (Corro and Sebag 2023, §3.4).

    Defaults :math:`\mu_0=0.01`, :math:`\alpha=10`, :math:`\beta=0.75`; ``progress`` :math:`p\in[0,1]`.
    """
    progress = check_real(progress, "progress", minimum=0.0, maximum=1.0)
    check_real(lr0, "lr0", minimum=0.0, strict=True)
    check_real(alpha, "alpha", minimum=0.0)
    check_real(beta, "beta", minimum=0.0)
    return lr0 / (1.0 + alpha * progress) ** beta


def annealed_lr_factor(steps: int) -> Callable[[int], float]:
    r"""The step's factor of the initial learning rate, :math:`\mu_p/\mu_0 = (1+10p)^{-0.75}` with :math:`p=\min(t/T, 1)`
    over ``steps`` :math:`T` (:func:`dann_learning_rate` with :math:`\mu_0 = 1`)."""
    check_positive_int(steps, "steps")
    return lambda step: dann_learning_rate(min(step / steps, 1.0), 1.0)


def grl_ramp(lambda_max: float, steps: int, gamma: float = 10.0) -> Callable[[int], float]:
    r"""The step's reversal coefficient :math:`\lambda_{\max}\tanh(\gamma p/2)`, :math:`p=\min(t/T,1)` over ``steps`` :math:`T`.

    :func:`grl_schedule` scaled by :math:`\lambda_{\max}`, evaluated in float32, the precision of the layer's
    buffer (:class:`gi_core.nets.gradient_reversal.GradientReversal`), so the value the layer holds is the one
    computed here to the last bit.
    """
    check_positive_int(steps, "steps")
    check_real(gamma, "gamma", minimum=0.0, strict=True)
    check_real(lambda_max, "lambda_max", minimum=0.0)

    def coefficient(step: int) -> float:
        progress = (torch.tensor(step, dtype=torch.float32) / steps).clamp(max=1.0)
        return float(lambda_max * torch.tanh(0.5 * gamma * progress))

    return coefficient


def linear_ramp(start: float, end: float, steps: int) -> Callable[[int], float]:
    r"""A linear ramp from ``start`` to ``end`` over ``steps`` :math:`T`, then constant:
    :math:`v_t = (1-p)\,v_0 + p\,v_1` with :math:`p=\min(t/T, 1)`, i.e. :math:`v_0 + (v_1-v_0)\min(t/T,1)`.

    AVDA's weight :math:`\gamma` of Eq. 3.12 (Pérez Carrasco 2021) is ``linear_ramp(1.0, 0.9, 25)`` for the digits
    (``0.85`` for the galaxies): the thesis's "decreases linearly ... after 25 unsupervised batches" read as a ramp
    over the first 25 batches. The values are finite and non-negative (the trainer refuses negative schedule
    values), so ``start`` and ``end`` must be :math:`\ge 0`; the ends are returned exactly.
    """
    start = check_real(start, "start", minimum=0.0)
    end = check_real(end, "end", minimum=0.0)
    check_positive_int(steps, "steps")

    def value(step: int) -> float:
        progress = min(check_non_negative_int(step, "step") / steps, 1.0)
        return (1.0 - progress) * start + progress * end

    return value
