r"""The mutual-information views of VaDE and MPCC (Astorga 2021, Eq. 7.6–7.8 and 7.17–7.19), exact on finite tables.

On a :class:`~gi_core.maths.cluster_models.DiscreteClusterModel` (:math:`q(y|x,z)=q(y|z)`), the chain rule gives
two identities of the form :math:`\text{MIs} = -\mathcal L + \Delta I`. VaDE's inference side (Eq. 7.6–7.8):

.. math:: I_q(x,z) = \mathbb E_q[\log p(x|z,y)] + h_q(x) + \mathbb E_{q(z,y)}D_{\mathrm{KL}}(q(x|z)\|p(x|z,y)),

.. math:: \mathbb E_{q(x)}I_q(z,y|x) = \mathbb E_q[\log p(z|y)] + h_q(z|x)
    + \mathbb E_{q(x,y)}D_{\mathrm{KL}}(q(z|x,y)\|p(z|y)),

.. math:: I_q(x,z) + \mathbb E_{q(x)}I_q(z,y|x) = -\mathcal L^{\mathrm{VaDE}} + R^{\mathrm{VaDE}} + h_q(x)
    + \mathbb E D_{\mathrm{KL}}(q(x|z)\|p(x|z,y)) + \mathbb E D_{\mathrm{KL}}(q(z|x,y)\|p(z|y)),

with :math:`R^{\mathrm{VaDE}} = \mathbb E_{q(z)}D_{\mathrm{KL}}(q(y|z)\|p(y))`. MPCC's generative side (Eq. 7.17–7.19):

.. math:: \mathbb E_{p(y)}I_p(x,z|y) = \mathbb E_p[\log q(z|x)] + h_p(z|y)
    + \mathbb E_{p(x,y)}D_{\mathrm{KL}}(p(z|x,y)\|q(z|x)),

.. math:: I_p(z,y) = \mathbb E_p[\log q(y|z)] + h_p(y) + \mathbb E_{p(z)}D_{\mathrm{KL}}(p(y|z)\|q(y|z)),

and their sum is :math:`-\mathcal L^{\mathrm{MPCC}} + \text{Loss I} + \text{the two gaps}`, where
:math:`\mathcal L^{\mathrm{MPCC}} = D_{\mathrm{KL}}(p\|q)` and Loss I :math:`= D_{\mathrm{KL}}(p(x)\|q(x)) + I_p(x;(z,y))`.

Corrections to the printed equations: Eq. 7.8 and 7.18 print the gaps with :math:`q(z|y)` and :math:`p(z|x)`,
which are not the conditionals the chain rule produces (:math:`q(z|x,y)`, :math:`p(z|x,y)`); the printed
:math:`\Delta I^{\mathrm{VaDE}}` is MPCC's gap; the printed VaDE inequality names :math:`I_q(z,y)` for
:math:`I_q(x,z)`; and :math:`R^{\mathrm{MPCC}}` is Loss I, of which the GAN's :math:`D(p(x)\|q(x))` is only a part.

The VaDE form above uses the decoder :math:`p(x|z,y)`, so it holds for any table; with VaDE's
:math:`p(x|z,y)=p(x|z)` it is Eq. 7.7 as printed. On finite sets both bounds are trivial
(:math:`-\mathcal L^{\mathrm{VaDE}} = -h_q(x) - D_{\mathrm{KL}}(q\|p) \le 0`, :math:`-\mathcal L^{\mathrm{MPCC}}\le0`);
the identities are the content. The terms assume that the two joints have the same support; otherwise some
expected log is :math:`-\infty`, the matching gap :math:`+\infty`, and the sum undefined.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from gi_core.maths.categorical import categorical_entropy, categorical_kl, conditional_table
from gi_core.maths.cluster_models import DiscreteClusterModel, mpcc_losses, vade_loss
from gi_core.validation import check_instance


def _expect(weights: Tensor, values: Tensor) -> Tensor:
    r""":math:`\sum w\,v` over every entry, with :math:`0\cdot v = 0` even where ``v`` is infinite."""
    weights, values = torch.broadcast_tensors(weights, values)
    return torch.where(weights > 0, weights * values, 0.0).sum()


def _mutual_information(joint: Tensor, first: Sequence[int], second: Sequence[int],
                        given: Sequence[int] = ()) -> Tensor:
    r""":math:`I(a;b|c) = \mathbb E\log\frac{r(a,b,c)\,r(c)}{r(a,c)\,r(b,c)}` on a joint table, where a, b, c are
    groups of its axes (``given=()``: the plain MI); the other axes are summed out."""
    kept = {*first, *second, *given}
    others = tuple(axis for axis in range(joint.dim()) if axis not in kept)
    table = joint.sum(others, keepdim=True) if others else joint
    c = table.sum((*first, *second), keepdim=True)
    ac, bc = table.sum(tuple(second), keepdim=True), table.sum(tuple(first), keepdim=True)
    positive = table > 0  # every marginal is positive where the joint is

    def log(marginal: Tensor) -> Tensor:
        return torch.log(torch.where(positive, marginal, 1.0))

    return torch.where(positive, table * (log(table) + log(c) - log(ac) - log(bc)), 0.0).sum()


def cluster_mutual_informations(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""The mutual informations of Eq. 7.6 and 7.17, straight from the joint tables (axes :math:`x,z,y`).

    ``"q_x_z"`` :math:`I_q(x,z)`, ``"q_z_y_given_x"`` :math:`\mathbb E_{q(x)}I_q(z,y|x)`, ``"q_z_y"``
    :math:`I_q(z,y)` (what the printed VaDE inequality names), ``"p_x_z_given_y"`` :math:`\mathbb E_{p(y)}I_p(x,z|y)`,
    ``"p_z_y"`` :math:`I_p(z,y)` and ``"p_x_zy"`` :math:`I_p(x;(z,y))` (the part of Loss I a marginal GAN leaves).
    Each is :math:`\mathbb E\log\frac{r(a,b|c)}{r(a|c)r(b|c)}` under its own joint :math:`r`.
    """
    check_instance(model, DiscreteClusterModel, "model")
    q, p = model.q_joint(), model.p_joint()
    return {"q_x_z": _mutual_information(q, (0,), (1,)), "q_z_y_given_x": _mutual_information(q, (1,), (2,), (0,)),
            "q_z_y": _mutual_information(q, (1,), (2,)), "p_x_z_given_y": _mutual_information(p, (0,), (1,), (2,)),
            "p_z_y": _mutual_information(p, (1,), (2,)), "p_x_zy": _mutual_information(p, (0,), (1, 2))}


def vade_information_terms(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""The terms of VaDE's mutual-information identity, Astorga's (2021) Eq. 7.6–7.8, corrected.

    .. math:: \underbrace{I_q(x,z)}_{\texttt{mi\_x\_z}} = \underbrace{\mathbb E_q[\log p(x|z,y)]}_{
        \texttt{expected\_log\_likelihood}} + \underbrace{h_q(x)}_{\texttt{h\_q\_x}}
        + \underbrace{\mathbb E_{q(z,y)}D_{\mathrm{KL}}(q(x|z)\|p(x|z,y))}_{\texttt{decoder\_gap}}
        \quad(7.7)

    .. math:: \underbrace{\mathbb E_{q(x)}I_q(z,y|x)}_{\texttt{cmi\_z\_y\_given\_x}}
        = \underbrace{\mathbb E_q[\log p(z|y)]}_{\texttt{expected\_log\_prior}}
        + \underbrace{h_q(z|x)}_{\texttt{h\_q\_z\_given\_x}}
        + \underbrace{\mathbb E_{q(x,y)}D_{\mathrm{KL}}(q(z|x,y)\|p(z|y))}_{\texttt{prior\_gap}}\quad(7.8)

    .. math:: I_q(x,z) + \mathbb E_{q(x)}I_q(z,y|x) = \underbrace{-\mathcal L^{\mathrm{VaDE}}}_{\texttt{bound}}
        + \underbrace{R^{\mathrm{VaDE}} + h_q(x) + \texttt{decoder\_gap} + \texttt{prior\_gap}}_{
        \texttt{delta\_mi}}\quad(7.6)

    with ``"restriction"`` :math:`R^{\mathrm{VaDE}} = \mathbb E_{q(z)}D_{\mathrm{KL}}(q(y|z)\|p(y))` and
    :math:`\mathcal L^{\mathrm{VaDE}}` the :func:`~gi_core.maths.cluster_models.vade_loss` of Eq. 7.1. The thesis
    prints :math:`q(z|y)` in the gap of 7.8 (not an identity) and MPCC's gap as :math:`\Delta I^{\mathrm{VaDE}}`.
    The decoder is :math:`p(x|z,y)`, so the identity holds for any table; with VaDE's :math:`p(x|z,y)=p(x|z)` the
    first line is Eq. 7.7 as printed. ``"total"`` is ``bound + delta_mi``, ``"mutual_information"`` the two MIs of
    :func:`cluster_mutual_informations` summed.
    """
    check_instance(model, DiscreteClusterModel, "model")
    q = model.q_joint()
    q_xz, q_zy, q_xy = q.sum(2), q.sum(0), q.sum(1)
    q_x_given_z = conditional_table(q_xz, (0,)).t()                # (Z, X)
    q_z_given_xy = conditional_table(q, (1,)).permute(0, 2, 1)      # (X, K, Z)
    likelihood = _expect(q, torch.log(model.p_x_given_zy).permute(2, 0, 1))
    decoder_gap = _expect(q_zy, categorical_kl(q_x_given_z[:, None, :], model.p_x_given_zy))
    log_prior = _expect(q, torch.log(model.p_z_given_y).t()[None])
    h_z_given_x = (model.q_x * categorical_entropy(model.q_z_given_x)).sum()
    prior_gap = _expect(q_xy, categorical_kl(q_z_given_xy, model.p_z_given_y[None]))
    restriction = _expect(q_xz.sum(0), categorical_kl(model.q_y_given_z, model.p_y[None]))
    h_x = categorical_entropy(model.q_x)
    bound = -vade_loss(model)
    delta_mi = restriction + h_x + decoder_gap + prior_gap
    mis = cluster_mutual_informations(model)
    return {"mi_x_z": mis["q_x_z"], "expected_log_likelihood": likelihood, "h_q_x": h_x, "decoder_gap": decoder_gap,
            "cmi_z_y_given_x": mis["q_z_y_given_x"], "expected_log_prior": log_prior,
            "h_q_z_given_x": h_z_given_x, "prior_gap": prior_gap, "restriction": restriction, "bound": bound,
            "delta_mi": delta_mi, "total": bound + delta_mi,
            "mutual_information": mis["q_x_z"] + mis["q_z_y_given_x"]}


def mpcc_information_terms(model: DiscreteClusterModel) -> dict[str, Tensor]:
    r"""The terms of MPCC's mutual-information identity, Astorga's (2021) Eq. 7.17–7.19, corrected.

    .. math:: \underbrace{\mathbb E_{p(y)}I_p(x,z|y)}_{\texttt{cmi\_x\_z\_given\_y}}
        = \underbrace{\mathbb E_p[\log q(z|x)]}_{\texttt{expected\_log\_encoder}}
        + \underbrace{h_p(z|y)}_{\texttt{h\_p\_z\_given\_y}}
        + \underbrace{\mathbb E_{p(x,y)}D_{\mathrm{KL}}(p(z|x,y)\|q(z|x))}_{\texttt{encoder\_gap}}\quad(7.18)

    .. math:: \underbrace{I_p(z,y)}_{\texttt{mi\_z\_y}} = \underbrace{\mathbb E_p[\log q(y|z)]}_{
        \texttt{expected\_log\_cluster}} + \underbrace{h_p(y)}_{\texttt{h\_p\_y}}
        + \underbrace{\mathbb E_{p(z)}D_{\mathrm{KL}}(p(y|z)\|q(y|z))}_{\texttt{cluster\_gap}}\quad(7.19)

    .. math:: \mathbb E_{p(y)}I_p(x,z|y) + I_p(z,y) = \underbrace{-\mathcal L^{\mathrm{MPCC}}}_{\texttt{bound}}
        + \underbrace{\text{Loss I} + \texttt{encoder\_gap} + \texttt{cluster\_gap}}_{\texttt{delta\_mi}}\quad(7.17)

    where :math:`\mathcal L^{\mathrm{MPCC}}` is Loss I + II + III of :func:`~gi_core.maths.cluster_models.mpcc_losses`
    (:math:`=D_{\mathrm{KL}}(p\|q)`) and ``"restriction"`` is Loss I :math:`=\mathbb E_{p(z,y)}D_{\mathrm{KL}}(p(x|z,y)\|
    q(x))`, split exactly as ``"marginal_kl"`` :math:`D_{\mathrm{KL}}(p(x)\|q(x))` (the thesis's
    :math:`R^{\mathrm{MPCC}}`, all a marginal GAN can see) plus ``"mi_x_zy"`` :math:`I_p(x;(z,y))`. The thesis
    prints :math:`p(z|x)` in the gap of 7.18 (not an identity). ``"total"`` is ``bound + delta_mi``,
    ``"mutual_information"`` the two MIs of :func:`cluster_mutual_informations` summed.
    """
    check_instance(model, DiscreteClusterModel, "model")
    p = model.p_joint()
    p_xz, p_xy, p_zy = p.sum(2), p.sum(1), p.sum(0)
    p_z_given_xy = conditional_table(p, (1,)).permute(0, 2, 1)      # (X, K, Z)
    p_y_given_z = conditional_table(p_zy, (1,))                     # (Z, K)
    log_encoder = _expect(p_xz, torch.log(model.q_z_given_x))
    h_z_given_y = (model.p_y * categorical_entropy(model.p_z_given_y)).sum()
    encoder_gap = _expect(p_xy, categorical_kl(p_z_given_xy, model.q_z_given_x[:, None, :]))
    log_cluster = _expect(p_zy, torch.log(model.q_y_given_z))
    h_y = categorical_entropy(model.p_y)
    cluster_gap = _expect(p_zy.sum(1), categorical_kl(p_y_given_z, model.q_y_given_z))
    losses = mpcc_losses(model)
    bound = -(losses["loss_I"] + losses["loss_II"] + losses["loss_III"])
    delta_mi = losses["loss_I"] + encoder_gap + cluster_gap
    mis = cluster_mutual_informations(model)
    return {"cmi_x_z_given_y": mis["p_x_z_given_y"], "expected_log_encoder": log_encoder,
            "h_p_z_given_y": h_z_given_y, "encoder_gap": encoder_gap, "mi_z_y": mis["p_z_y"],
            "expected_log_cluster": log_cluster, "h_p_y": h_y, "cluster_gap": cluster_gap,
            "restriction": losses["loss_I"], "marginal_kl": categorical_kl(p.sum((1, 2)), model.q_x),
            "mi_x_zy": mis["p_x_zy"], "bound": bound, "delta_mi": delta_mi, "total": bound + delta_mi,
            "mutual_information": mis["p_x_z_given_y"] + mis["p_z_y"]}
