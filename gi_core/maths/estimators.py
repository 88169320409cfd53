r"""Monte Carlo estimators of :math:`\nabla_{\mu,\log\sigma^2}\,\mathbb E_{z\sim\mathcal N(\mu,\sigma^2)}[f(z)]`.

Both return one unbiased estimate per sample, shape ``(n_samples, 2, J)``: row 0 of axis 1 is the
gradient with respect to :math:`\mu`, row 1 with respect to :math:`\log\sigma^2`. Averaging over axis 0
gives the usual estimator; the spread over axis 0 is its per-sample variance. The test function ``f``
maps a batch ``(n, J)`` to ``(n,)`` row by row (row ``i`` of the output may depend only on row ``i``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from gi_core.maths.gaussians import diag_gaussian_log_prob, reparameterize
from gi_core.validation import check_generator, check_positive_int, check_real, check_same_shape, check_tensor

ScalarFunction = Callable[[Tensor], Tensor]


def _check_inputs(f: ScalarFunction, mean: Tensor, log_var: Tensor, n_samples: int,
                  generator: torch.Generator | None) -> None:
    if not callable(f):
        raise TypeError(f"f must be a callable, got {type(f).__name__}")
    check_tensor(mean, "mean", ndim=1)
    check_tensor(log_var, "log_var", ndim=1)
    check_same_shape(mean=mean, log_var=log_var)
    check_positive_int(n_samples, "n_samples")
    check_generator(generator, "generator")


def _evaluate(f: ScalarFunction, z: Tensor) -> Tensor:
    """``f(z)`` after checking it returns one finite value per row of ``z``."""
    values = check_tensor(f(z), "f(z)", ndim=1)
    if values.shape[0] != z.shape[0]:
        raise ValueError(f"f must map shape (n, J) to (n,), got {tuple(values.shape)} for input {tuple(z.shape)}")
    return values


def _per_sample_gradients(
    objective: Callable[[Tensor, Tensor], Tensor], mean: Tensor, log_var: Tensor, n_samples: int
) -> Tensor:
    """Gradients of each entry of ``objective(means, log_vars)`` with respect to its own row of parameters.

    The parameters are copied to ``(n_samples, J)``; since entry ``i`` depends only on row ``i``, the
    gradient of the sum is the stack of per-sample gradients.
    """
    means = mean.detach().expand(n_samples, -1).clone().requires_grad_(True)
    log_vars = log_var.detach().expand(n_samples, -1).clone().requires_grad_(True)
    with torch.enable_grad():
        total = objective(means, log_vars).sum()
        grads = torch.autograd.grad(total, (means, log_vars), allow_unused=True, materialize_grads=True)
    return torch.stack(grads, dim=1)


def reparameterization_gradients(
    f: ScalarFunction,
    mean: Tensor,
    log_var: Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Pathwise (reparameterization) estimates, shape ``(n_samples, 2, J)``.

    With :math:`z = \mu + \sigma\odot\varepsilon`, :math:`\varepsilon\sim\mathcal N(0,I)`:

    .. math:: \hat g_\mu = \nabla_z f(z),\qquad \hat g_{\log\sigma^2} = \nabla_z f(z)\odot\tfrac12\sigma\odot\varepsilon

    (Corro and Sebag 2023, §1.9; the trick of Eq. 3.11 in Pérez Carrasco's thesis and of Astorga 2021, §7.2). ``f``
    must be differentiable.
    """
    _check_inputs(f, mean, log_var, n_samples, generator)
    return _per_sample_gradients(
        lambda m, lv: _evaluate(f, reparameterize(m, lv, generator=generator)), mean, log_var, n_samples
    )


def score_function_gradients(
    f: ScalarFunction,
    mean: Tensor,
    log_var: Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
    baseline: float = 0.0,
) -> Tensor:
    r"""Score-function (REINFORCE) estimates, shape ``(n_samples, 2, J)``.

    .. math:: \hat g = \big(f(z) - c\big)\,\nabla_{\mu,\log\sigma^2}\log q(z),\qquad
        \nabla_\mu\log q = \frac{z-\mu}{\sigma^2},\quad
        \nabla_{\log\sigma^2}\log q = \tfrac12\Big(\frac{(z-\mu)^2}{\sigma^2}-1\Big)

    with :math:`z\sim q=\mathcal N(\mu,\operatorname{diag}\sigma^2)` and a constant baseline :math:`c`
    (unbiased for any :math:`c`, since :math:`\mathbb E_q\nabla\log q = 0`). ``f`` need not be differentiable.
    """
    _check_inputs(f, mean, log_var, n_samples, generator)
    check_real(baseline, "baseline")
    z = reparameterize(mean.detach(), log_var.detach(), n_samples, generator=generator)
    weights = (_evaluate(f, z) - baseline).detach()
    return _per_sample_gradients(
        lambda m, lv: weights * diag_gaussian_log_prob(z, m, lv), mean, log_var, n_samples
    )
