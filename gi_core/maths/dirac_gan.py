r"""The Dirac-GAN (Mescheder, Geiger & Nowozin, 2018; Corro and Sebag 2023, §2.5): the smallest GAN, whose gradient
descent circles its equilibrium unless the discriminator is regularised."""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.maths.gan_losses import discriminator_loss, generator_loss
from gi_core.validation import check_choice, check_non_negative_int, check_real

_F64 = torch.float64


def _dirac_gan_gradients(theta: float, psi: float, loss: str, gamma: float, need: str) -> tuple[float, float]:
    r"""Gradients ``(dL_G/dθ, dL_D/dψ)`` of the Dirac-GAN losses by autograd through the loss functions above.

    ``need`` is ``"both"``, ``"generator"`` or ``"discriminator"``; the other entry is returned as 0.
    """
    with torch.enable_grad():
        theta_t = torch.tensor(theta, dtype=_F64, requires_grad=True)
        psi_t = torch.tensor(psi, dtype=_F64, requires_grad=True)
        real_x = torch.zeros(1, dtype=_F64, requires_grad=True)  # the data point, q = δ_0
        real_logits, fake_logits = psi_t * real_x, psi_t * theta_t.reshape(1)
        grad_theta = grad_psi = 0.0
        if need in ("both", "generator"):
            generator_kind = "saturating" if loss == "standard" else "non_saturating"
            (grad,) = torch.autograd.grad(generator_loss(fake_logits, generator_kind), theta_t, retain_graph=True)
            grad_theta = grad.item()
        if need in ("both", "discriminator"):
            d_loss = discriminator_loss(real_logits, fake_logits, "standard")
            if gamma > 0:
                (slope,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True)
                d_loss = d_loss + 0.5 * gamma * slope.square().mean()
            (grad,) = torch.autograd.grad(d_loss, psi_t)
            grad_psi = grad.item()
    return grad_theta, grad_psi


def dirac_gan_trajectory(
    theta0: float,
    psi0: float,
    lr: float,
    steps: int,
    loss: str = "standard",
    regularization: float = 0.0,
    simultaneous: bool = True,
) -> Tensor:
    r"""Gradient-descent trajectory of the Dirac-GAN (Mescheder, Geiger & Nowozin, 2018; Corro and Sebag 2023, §2.5).

    Data :math:`q=\delta_0` (label 1), generator :math:`p=\delta_\theta`, linear discriminator logit
    :math:`\ell(x)=\psi x`. The discriminator minimizes :func:`discriminator_loss` plus the R1 penalty
    :math:`\frac\gamma2\mathbb E_q\|\nabla_x\ell\|^2 = \frac\gamma2\psi^2` (``regularization`` = :math:`\gamma`);
    the generator minimizes :func:`generator_loss` (``loss="standard"``: saturating;
    ``"non_saturating"``). For the standard loss the field is

    .. math:: \dot\theta = \psi\,\sigma(\psi\theta),\qquad \dot\psi = -\theta\,\sigma(\psi\theta) - \gamma\psi,

    Mescheder et al. write the game as :math:`f(\psi\theta) + f(0)` with field
    :math:`(-\psi f'(\psi\theta),\ \theta f'(\psi\theta))`; with the data labelled 1 it reads
    :math:`f(-\psi\theta) + f(0)`, the same dynamics under :math:`\psi\to-\psi`. Without R1 the standard
    field conserves :math:`\theta^2+\psi^2` (it circles), its Jacobian at the equilibrium :math:`(0,0)` has
    eigenvalues :math:`\pm i/2`, and simultaneous gradient descent spirals outwards. The non-saturating
    field contracts slowly (:math:`\tfrac{d}{dt}\tfrac12\|\cdot\|^2 = -\theta\psi\tanh(\theta\psi/2)`) and
    the discrete steps settle on a cycle of radius of order :math:`\sqrt{2\,\mathrm{lr}}`. With
    :math:`\gamma>0` the eigenvalues get negative real parts (:math:`\gamma=1`: a double :math:`-\tfrac12`)
    and small steps converge.

    ``simultaneous=True`` updates both players from the same point; ``False`` alternates (discriminator
    first, then the generator against the updated discriminator). Returns ``(steps + 1, 2)`` float64 rows
    :math:`(\theta_t, \psi_t)`, starting at ``(theta0, psi0)``. Gradients come from autograd through the
    loss functions of this module.
    """
    check_choice(loss, ("standard", "non_saturating"), "Dirac-GAN loss")
    theta, psi = check_real(theta0, "theta0"), check_real(psi0, "psi0")
    check_real(lr, "lr", minimum=0.0, strict=True)
    check_real(regularization, "regularization (the R1 weight gamma)", minimum=0.0)
    check_non_negative_int(steps, "steps")
    path = [(theta, psi)]
    for _ in range(steps):
        if simultaneous:
            grad_theta, grad_psi = _dirac_gan_gradients(theta, psi, loss, regularization, "both")
            theta, psi = theta - lr * grad_theta, psi - lr * grad_psi
        else:
            _, grad_psi = _dirac_gan_gradients(theta, psi, loss, regularization, "discriminator")
            psi = psi - lr * grad_psi
            grad_theta, _ = _dirac_gan_gradients(theta, psi, loss, regularization, "generator")
            theta = theta - lr * grad_theta
        path.append((theta, psi))
    return torch.tensor(path, dtype=_F64)
