r"""Three-variable models on finite sets, where every identity of Astorga's (2021) Ch. 7 can be checked exactly.

Both joints factorise as the chapter's clustering models do (§7.1–7.2):

.. math:: q(x,z,y) = q(x)\,q(z|x)\,q(y|z), \qquad p(x,z,y) = p(y)\,p(z|y)\,p(x|z,y),

with the one assumption of VaDE and MPCC on the inference side, :math:`q(y|x,z)=q(y|z)`; VaDE also assumes
:math:`p(x|z,y)=p(x|z)` (a table that does not depend on :math:`y`). Values are indices: :math:`x<X`, :math:`z<Z`,
:math:`y<K`; everything is in nats.

* :func:`vade_loss` is :math:`\mathcal L^{\mathrm{VaDE}}`, the negative ELBO of Eq. 7.1;
  :func:`inverse_kl_terms` the three terms of Eq. 7.2 (their sum is :math:`D_{\mathrm{KL}}(q\|p)
  = \mathbb E_{q(x)}[\log q(x)] + \mathcal L^{\mathrm{VaDE}}`).
* :func:`forward_kl_terms` are the three terms of Eq. 7.9 and :func:`mpcc_losses` MPCC's Loss I, II and III of
  Eq. 7.10–7.11, whose sum is :math:`D_{\mathrm{KL}}(p\|q)`, with no term dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gi_core.maths.categorical import categorical_kl, check_probability_table, conditional_table
from gi_core.validation import check_instance


@dataclass(frozen=True)
class DiscreteClusterModel:
    r"""The six tables of a three-variable model (float64 recommended): ``q_x`` (X,), ``q_z_given_x`` (X, Z),
    ``q_y_given_z`` (Z, K), ``p_y`` (K,), ``p_z_given_y`` (K, Z), ``p_x_given_zy`` (Z, K, X); each row a distribution."""

    q_x: Tensor
    q_z_given_x: Tensor
    q_y_given_z: Tensor
    p_y: Tensor
    p_z_given_y: Tensor
    p_x_given_zy: Tensor

    def __post_init__(self) -> None:
        for name, ndim in (("q_x", 1), ("q_z_given_x", 2), ("q_y_given_z", 2), ("p_y", 1), ("p_z_given_y", 2),
                           ("p_x_given_zy", 3)):
            check_probability_table(getattr(self, name), name, ndim=ndim)
        x, (_, z), k = self.q_x.shape[0], self.q_z_given_x.shape, self.p_y.shape[0]
        expected = {"q_z_given_x": (x, z), "q_y_given_z": (z, k), "p_z_given_y": (k, z), "p_x_given_zy": (z, k, x)}
        if bad := {name: tuple(getattr(self, name).shape) for name, shape in expected.items()
                   if tuple(getattr(self, name).shape) != shape}:
            raise ValueError(f"the tables must have shapes {expected} for X={x}, Z={z}, K={k}; got {bad}")

    def q_joint(self) -> Tensor:
        r""":math:`q(x,z,y)`, shape (X, Z, K)."""
        return self.q_x[:, None, None] * self.q_z_given_x[:, :, None] * self.q_y_given_z[None, :, :]

    def p_joint(self) -> Tensor:
        r""":math:`p(x,z,y)`, shape (X, Z, K)."""
        return (self.p_y[None, :] * self.p_z_given_y.t())[None, :, :] * self.p_x_given_zy.permute(2, 0, 1)


def vade_loss(model: DiscreteClusterModel) -> Tensor:
    r""":math:`\mathcal L^{\mathrm{VaDE}} = \mathbb E_{q(x)q(z|x)q(y|z)}\big[\log q(y|z) + \log q(z|x)
    - \log p(x|z,y) - \log p(z|y) - \log p(y)\big]`, the negative ELBO of Astorga's (2021) Eq. 7.1."""
    check_instance(model, DiscreteClusterModel, "model")
    q = model.q_joint()
    log_ratio = (torch.log(model.q_y_given_z)[None] + torch.log(model.q_z_given_x)[:, :, None]
                 - torch.log(model.p_joint()))
    return torch.where(q > 0, q * log_ratio, 0.0).sum()


def inverse_kl_terms(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""The three terms of :math:`D_{\mathrm{KL}}(q(x,z,y)\|p(x,z,y))`, Eq. 7.2: ``"y_posterior"``
    :math:`\mathbb E_{q(x,z)}D_{\mathrm{KL}}(q(y|z)\|p(y|x,z))` (7.3), ``"z_posterior"``
    :math:`\mathbb E_{q(x)}D_{\mathrm{KL}}(q(z|x)\|p(z|x))` (7.4) and ``"x_marginal"`` :math:`D_{\mathrm{KL}}(q(x)\|p(x))`
    (7.5)."""
    check_instance(model, DiscreteClusterModel, "model")
    p = model.p_joint()
    q_xz = model.q_x[:, None] * model.q_z_given_x
    y_given_xz = conditional_table(p, 2)
    z_given_x = conditional_table(p.sum(2), 1)
    return {"y_posterior": (q_xz * categorical_kl(model.q_y_given_z[None].expand_as(p), y_given_xz)).sum(),
            "z_posterior": (model.q_x * categorical_kl(model.q_z_given_x, z_given_x)).sum(),
            "x_marginal": categorical_kl(model.q_x, p.sum((1, 2)))}


def vade_y_posterior_term(model: DiscreteClusterModel) -> Tensor:
    r"""Eq. 7.3 in VaDE's closed form: :math:`\mathbb E_{q(x,z)}\big[\mathbb E_{q(y|z)}\log\frac{q(y|z)}{p(z|y)p(y)}
    + \log p(z)\big]`, equal to ``inverse_kl_terms(model)["y_posterior"]`` when :math:`p(x|z,y)=p(x|z)`."""
    check_instance(model, DiscreteClusterModel, "model")
    q_z = (model.q_x[:, None] * model.q_z_given_x).sum(0)
    p_zy = model.p_y[:, None] * model.p_z_given_y
    log_ratio = torch.log(model.q_y_given_z) - torch.log(p_zy.t())
    inner = torch.where(model.q_y_given_z > 0, model.q_y_given_z * log_ratio, 0.0).sum(1)
    return (q_z * (inner + torch.log(p_zy.sum(0)))).sum()


def forward_kl_terms(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""The three terms of :math:`D_{\mathrm{KL}}(p(x,z,y)\|q(x,z,y))`, Eq. 7.9: ``"x_conditional"``
    :math:`\mathbb E_{p(z,y)}D_{\mathrm{KL}}(p(x|z,y)\|q(x|z,y))`, ``"z_conditional"``
    :math:`\mathbb E_{p(y)}D_{\mathrm{KL}}(p(z|y)\|q(z|y))` and ``"y_marginal"`` :math:`D_{\mathrm{KL}}(p(y)\|q(y))`."""
    check_instance(model, DiscreteClusterModel, "model")
    q = model.q_joint()
    p_zy = model.p_y[None, :] * model.p_z_given_y.t()
    x_given_zy = conditional_table(q.permute(1, 2, 0), 2)
    z_given_y = conditional_table(q.sum(0).t(), 1)
    return {"x_conditional": (p_zy * categorical_kl(model.p_x_given_zy, x_given_zy)).sum(),
            "z_conditional": (model.p_y * categorical_kl(model.p_z_given_y, z_given_y)).sum(),
            "y_marginal": categorical_kl(model.p_y, q.sum((0, 1)))}


def mpcc_losses(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""MPCC's decomposition of :math:`D_{\mathrm{KL}}(p\|q)`, Eq. 7.10–7.11: ``"loss_I"``
    :math:`\mathbb E_{p(y)p(z|y)}D_{\mathrm{KL}}(p(x|z,y)\|q(x))`, ``"loss_II"``
    :math:`\mathbb E_{p(x,z,y)}[-\log q(z|x) - \log q(y|z)]` and ``"loss_III"``
    :math:`\mathbb E_{p(z,y)}[\log p(y) + \log p(z|y)]` (the negative prior entropies)."""
    check_instance(model, DiscreteClusterModel, "model")
    p = model.p_joint()
    p_zy = model.p_y[None, :] * model.p_z_given_y.t()
    log_q = torch.log(model.q_z_given_x)[:, :, None] + torch.log(model.q_y_given_z)[None]
    loss_2 = -torch.where(p > 0, p * log_q, 0.0).sum()
    log_prior = torch.log(model.p_y)[None, :] + torch.log(model.p_z_given_y.t())
    loss_3 = torch.where(p_zy > 0, p_zy * log_prior, 0.0).sum()
    return {"loss_I": (p_zy * categorical_kl(model.p_x_given_zy, model.q_x)).sum(), "loss_II": loss_2,
            "loss_III": loss_3}
