r"""The two KL divergences between the joints of a GI model, term by term (seed 002, Ch. 4, Eq. 4.2–4.9).

A GI model has a generative joint :math:`p(x,z)=p(z)\,p(x|z)` and an inference joint
:math:`q(x,z)=q(x)\,q(z|x)`. Following the thesis (and the book), the **reverse** KL is
:math:`D_{\mathrm{KL}}(q(x,z)\,\|\,p(x,z))` (the thesis's "inverse" KL) and the **forward** KL is
:math:`D_{\mathrm{KL}}(p(x,z)\,\|\,q(x,z))`. Each is written four ways (seed 002):

.. math::
    D_{\mathrm{KL}}(q\|p)
    &= D_{\mathrm{KL}}(q(x)\|p(x)) + \mathbb E_{q(x)} D_{\mathrm{KL}}(q(z|x)\|p(z|x)) && (4.2)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) + \mathbb E_{q(x)} D_{\mathrm{KL}}(q(z|x)\|p(z)) && (4.3)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) - h_q(z|x) - \mathbb E_{q(z)}\log p(z) && (4.4)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) + I_q(x,z) + D_{\mathrm{KL}}(q(z)\|p(z)) && (4.5)

and Eq. 4.6–4.9 are the same four lines for :math:`D_{\mathrm{KL}}(p\|q)` with :math:`q\leftrightarrow p`
and :math:`x\leftrightarrow z` exchanged. The forward terms are computed that way: by
:meth:`DiscreteGIModel.swapped` / :meth:`GaussianGIModel.swapped`, which exchange the roles
of :math:`(q, x)` and :math:`(p, z)`, so that the forward KL of a model is the reverse KL of its swap.

Two settings are exact: :class:`DiscreteGIModel` (tables over finite :math:`x` and :math:`z`, entropies
in nats) and :class:`GaussianGIModel` (linear-Gaussian conditionals, differential entropies in nats).
:func:`reverse_kl_terms` and :func:`forward_kl_terms` return the terms of one equation as an ordered
``{term name: value}`` dict whose values sum to :func:`reverse_kl` / :func:`forward_kl`, which are
computed directly from the two joints. Term names are the thesis's, with the sign that enters the sum
(the value of ``"-h_q(x)"`` is :math:`-h_q(x)`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from gi_core.distributions import kl_full_gaussians
from gi_core.validation import check_covariance, check_tensor

_LOG_2PI_E = math.log(2.0 * math.pi) + 1.0
_F64 = torch.float64

# --- term names and forms -------------------------------------------------------------------

#: The nine reverse-KL terms (Eq. 4.2–4.5), in canonical order.
REVERSE_KL_TERM_NAMES: tuple[str, ...] = (
    "D_KL(q(x)||p(x))",
    "E_q(x)[D_KL(q(z|x)||p(z|x))]",
    "E_q[-log p(x|z)]",
    "-h_q(x)",
    "E_q(x)[D_KL(q(z|x)||p(z))]",
    "-h_q(z|x)",
    "-E_q(z)[log p(z)]",
    "I_q(x,z)",
    "D_KL(q(z)||p(z))",
)

#: The nine forward-KL terms (Eq. 4.6–4.9), position by position the mirror images
#: (:math:`q\leftrightarrow p`, :math:`x\leftrightarrow z`) of :data:`REVERSE_KL_TERM_NAMES`.
FORWARD_KL_TERM_NAMES: tuple[str, ...] = (
    "D_KL(p(z)||q(z))",
    "E_p(z)[D_KL(p(x|z)||q(x|z))]",
    "E_p[-log q(z|x)]",
    "-h_p(z)",
    "E_p(z)[D_KL(p(x|z)||q(x))]",
    "-h_p(x|z)",
    "-E_p(x)[log q(x)]",
    "I_p(x,z)",
    "D_KL(p(x)||q(x))",
)

_MIRROR = dict(zip(REVERSE_KL_TERM_NAMES, FORWARD_KL_TERM_NAMES))

#: Which terms make up each equation of :math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` (seed 002, Eq. 4.2–4.5).
REVERSE_KL_FORMS: dict[str, tuple[str, ...]] = {
    "4.2": ("D_KL(q(x)||p(x))", "E_q(x)[D_KL(q(z|x)||p(z|x))]"),
    "4.3": ("E_q[-log p(x|z)]", "-h_q(x)", "E_q(x)[D_KL(q(z|x)||p(z))]"),
    "4.4": ("E_q[-log p(x|z)]", "-h_q(x)", "-h_q(z|x)", "-E_q(z)[log p(z)]"),
    "4.5": ("E_q[-log p(x|z)]", "-h_q(x)", "I_q(x,z)", "D_KL(q(z)||p(z))"),
}

#: Which terms make up each equation of :math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` (seed 002, Eq. 4.6–4.9).
FORWARD_KL_FORMS: dict[str, tuple[str, ...]] = {
    forward: tuple(_MIRROR[name] for name in REVERSE_KL_FORMS[reverse])
    for forward, reverse in (("4.6", "4.2"), ("4.7", "4.3"), ("4.8", "4.4"), ("4.9", "4.5"))
}

#: Reverse-KL terms that no parameter changes: :math:`-h_q(x)`, the entropy of the data distribution
#: (seed 002, §4.2: "h_q(x) is a constant"). Every other term depends on the encoder or the generative side.
REVERSE_KL_CONSTANT_TERMS: tuple[str, ...] = ("-h_q(x)",)

#: Forward-KL terms that are constant when the prior :math:`p(z)` is fixed: :math:`-h_p(z)` (seed 002,
#: §4.3). With a learned prior (e.g. a mixture prior) it is optimized like any other term.
FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR: tuple[str, ...] = ("-h_p(z)",)


@dataclass(frozen=True)
class FamilyForm:
    r"""How a model family uses one equation of seed 002, Ch. 4.

    ``divergence`` is ``"reverse"`` or ``"forward"``, ``form`` the equation number. ``kept`` are the terms
    it optimizes as written, ``replaced`` pairs a term with the surrogate the family trains instead
    (:math:`\mathcal D` is an adversarially estimated divergence), and ``dropped`` are the terms it does
    not optimize (constants, or terms the family ignores).
    """

    divergence: str
    form: str
    kept: tuple[str, ...]
    replaced: tuple[tuple[str, str], ...]
    dropped: tuple[str, ...]


_RECON_X = "E_q[-log p(x|z)]"
_RECON_Z = "E_p[-log q(z|x)]"
_KL_ENCODER = "E_q(x)[D_KL(q(z|x)||p(z))]"
_KL_AGGREGATE = "D_KL(q(z)||p(z))"
_KL_DATA = "D_KL(p(x)||q(x))"

#: The form of Ch. 4 that each family keeps (seed 002, §4.2–4.3 and Table 5.1):
#: VAE, β-VAE and AVB use Eq. 4.3; AAE, WAE and InfoVAE use Eq. 4.5 with the aggregate KL replaced and
#: :math:`I_q(x,z)` not optimized; AIM and InfoGAN use Eq. 4.9 with the data KL replaced and
#: :math:`I_p(x,z)` not optimized. :math:`h_q(x)` is dropped as a constant, :math:`h_p(z)` as a constant
#: of the fixed prior.
MODEL_FAMILIES: dict[str, FamilyForm] = {
    "VAE": FamilyForm("reverse", "4.3", (_RECON_X, _KL_ENCODER), (), ("-h_q(x)",)),
    "beta-VAE": FamilyForm(
        "reverse", "4.3", (_RECON_X,), ((_KL_ENCODER, "beta * E_q(x)[D_KL(q(z|x)||p(z))]"),), ("-h_q(x)",)
    ),
    "AVB": FamilyForm(
        "reverse", "4.3", (_RECON_X,), ((_KL_ENCODER, "adversarial D(q(x)q(z|x)||q(x)p(z))"),), ("-h_q(x)",)
    ),
    "AAE": FamilyForm(
        "reverse", "4.5", (_RECON_X,), ((_KL_AGGREGATE, "adversarial D(q(z)||p(z))"),), ("-h_q(x)", "I_q(x,z)")
    ),
    "WAE": FamilyForm(
        "reverse",
        "4.5",
        (_RECON_X,),
        ((_KL_AGGREGATE, "MMD(q(z),p(z)) or adversarial D(q(z)||p(z))"),),
        ("-h_q(x)", "I_q(x,z)"),
    ),
    "InfoVAE": FamilyForm(
        "reverse", "4.5", (_RECON_X,), ((_KL_AGGREGATE, "MMD(q(z),p(z))"),), ("-h_q(x)", "I_q(x,z)")
    ),
    "AIM": FamilyForm(
        "forward", "4.9", (_RECON_Z,), ((_KL_DATA, "adversarial D(p(x)||q(x))"),), ("-h_p(z)", "I_p(x,z)")
    ),
    "InfoGAN": FamilyForm(
        "forward", "4.9", (_RECON_Z,), ((_KL_DATA, "adversarial D(p(x)||q(x))"),), ("-h_p(z)", "I_p(x,z)")
    ),
}


# --- discrete helpers -------------------------------------------------------------------------


def check_probability_table(table: Tensor, name: str, ndim: int | None = None, atol: float | None = None) -> Tensor:
    """Raise unless ``table`` is non-negative, finite, and sums to 1 along its last axis; return it.

    ``atol`` defaults to ``1e-9`` for float64 and ``1e-5`` for lower precisions.
    """
    check_tensor(table, name, ndim=ndim)
    if table.dim() == 0 or table.shape[-1] == 0:
        raise ValueError(f"{name} needs a non-empty last axis, got shape {tuple(table.shape)}")
    if bool((table < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {table.min().item():.4g}")
    if atol is None:
        atol = 1e-9 if table.dtype == _F64 else 1e-5
    worst = (table.sum(-1) - 1.0).abs().max().item()
    if worst > atol:
        raise ValueError(f"{name} must sum to 1 along its last axis (within {atol:g}), off by up to {worst:.3g}")
    return table


def categorical_entropy(probs: Tensor) -> Tensor:
    r"""Entropy :math:`H(r) = -\sum_i r_i \log r_i` in nats over the last axis, with :math:`0\log0 = 0`.

    The discrete counterpart of :math:`h_r(\cdot)` in seed 002, Ch. 4. ``probs`` is not validated here
    (callers check it with :func:`check_probability_table`).
    """
    return -torch.special.xlogy(probs, probs).sum(-1)


def categorical_kl(probs_a: Tensor, probs_b: Tensor) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(a\|b) = \sum_i a_i\log(a_i/b_i)` over the last axis, with :math:`0\log(0/b)=0`.

    It is :math:`+\infty` where some :math:`a_i>0` has :math:`b_i=0` (``b`` does not cover the support of ``a``).
    """
    return (torch.special.xlogy(probs_a, probs_a) - torch.special.xlogy(probs_a, probs_b)).sum(-1)


def _safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` where the denominator is positive, 0 elsewhere (no NaN in either pass)."""
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, torch.ones_like(denominator)), 0.0)


def _require_float64(tensor: Tensor, name: str) -> None:
    if tensor.dtype != _F64:
        raise TypeError(f"{name} must be float64 (the identities are checked to 1e-9), got {tensor.dtype}")


def _check_form(form: str, forms: dict[str, tuple[str, ...]], which: str) -> None:
    if form not in forms:
        raise ValueError(f"unknown {which}-KL form {form!r}; choose one of {', '.join(forms)}")


# --- discrete tables --------------------------------------------------------------------------


class _SwapSymmetry:
    r"""Generative-side quantities as inference-side quantities of the swapped model (:math:`q\leftrightarrow p`, :math:`x\leftrightarrow z`)."""

    def p_z_given_x(self) -> Tensor | LinearGaussianConditional:
        r"""True posterior :math:`p(z|x)`: the inverse encoder :math:`q(x|z)` of the swapped model."""
        return self.swapped().q_x_given_z()

    def mutual_information_q(self) -> Tensor:
        r""":math:`I_q(x,z) = h_q(z) - h_q(z|x)` (seed 002, Eq. 5.1)."""
        return self.h_q_z() - self.h_q_z_given_x()

    def h_p_z(self) -> Tensor:
        r"""Prior entropy :math:`h_p(z)` (constant when the prior is fixed)."""
        return self.swapped().h_q_x()

    def h_p_x(self) -> Tensor:
        r""":math:`h_p(x)` of the model marginal."""
        return self.swapped().h_q_z()

    def h_p_x_given_z(self) -> Tensor:
        r""":math:`h_p(x|z) = -\sum_{x,z} p(x,z)\log p(x|z)`."""
        return self.swapped().h_q_z_given_x()

    def mutual_information_p(self) -> Tensor:
        r""":math:`I_p(x,z) = h_p(x) - h_p(x|z)` (seed 002, Eq. 5.1)."""
        return self.swapped().mutual_information_q()


@dataclass(frozen=True)
class DiscreteGIModel(_SwapSymmetry):
    r"""A GI model over finite :math:`x\in\{0..X-1\}` and :math:`z\in\{0..Z-1\}`, given by its factors.

    ``q_x`` (X,) is the data distribution :math:`q(x)`, ``q_z_given_x`` (X, Z) the encoder
    :math:`q(z|x)` (row ``x`` is a distribution over ``z``), ``p_z`` (Z,) the prior and
    ``p_x_given_z`` (Z, X) the decoder :math:`p(x|z)`. All float64, non-negative, rows summing to 1
    within 1e-9. Zeros are allowed (:math:`0\log 0 = 0`). Where a KL needs the support of one joint
    to cover the other's and it does not, that KL, its decomposition terms and their sum are
    :math:`+\infty` (never NaN). Conditionals that divide by a zero marginal are set to 0 there: those
    rows carry zero weight in every expectation.
    """

    q_x: Tensor
    q_z_given_x: Tensor
    p_z: Tensor
    p_x_given_z: Tensor

    def __post_init__(self) -> None:
        check_probability_table(self.q_x, "q_x", ndim=1)
        check_probability_table(self.p_z, "p_z", ndim=1)
        check_probability_table(self.q_z_given_x, "q_z_given_x", ndim=2)
        check_probability_table(self.p_x_given_z, "p_x_given_z", ndim=2)
        for name in ("q_x", "q_z_given_x", "p_z", "p_x_given_z"):
            _require_float64(getattr(self, name), name)
        num_x, num_z = self.q_x.shape[0], self.p_z.shape[0]
        if self.q_z_given_x.shape != (num_x, num_z):
            raise ValueError(
                f"q_z_given_x must have shape (|X|, |Z|) = ({num_x}, {num_z}), got {tuple(self.q_z_given_x.shape)}"
            )
        if self.p_x_given_z.shape != (num_z, num_x):
            raise ValueError(
                f"p_x_given_z must have shape (|Z|, |X|) = ({num_z}, {num_x}), got {tuple(self.p_x_given_z.shape)}"
            )

    @classmethod
    def random(
        cls, num_x: int, num_z: int, scale: float = 1.0, generator: torch.Generator | None = None
    ) -> DiscreteGIModel:
        """Strictly positive factors: softmaxes of ``scale`` times standard normal logits."""
        if num_x < 1 or num_z < 1:
            raise ValueError(f"num_x and num_z must be at least 1, got {num_x} and {num_z}")

        def table(*shape: int) -> Tensor:
            return torch.softmax(scale * torch.randn(*shape, generator=generator, dtype=_F64), dim=-1)

        return cls(table(num_x), table(num_x, num_z), table(num_z), table(num_z, num_x))

    def swapped(self) -> DiscreteGIModel:
        r"""The model with :math:`(q, x)` and :math:`(p, z)` exchanged: its reverse KL is this model's forward KL.

        New :math:`q'(x')=p(z)`, :math:`q'(z'|x')=p(x|z)`, :math:`p'(z')=q(x)`, :math:`p'(x'|z')=q(z|x)`.
        """
        return DiscreteGIModel(self.p_z, self.p_x_given_z, self.q_x, self.q_z_given_x)

    # joints, marginals, conditionals

    def q_joint(self) -> Tensor:
        r""":math:`q(x,z) = q(x)\,q(z|x)`, shape (X, Z)."""
        return self.q_x[:, None] * self.q_z_given_x

    def p_joint(self) -> Tensor:
        r""":math:`p(x,z) = p(z)\,p(x|z)`, shape (X, Z) (indexed like :meth:`q_joint`)."""
        return (self.p_z[:, None] * self.p_x_given_z).T

    def q_z(self) -> Tensor:
        r"""Aggregate posterior :math:`q(z) = \sum_x q(x)\,q(z|x)`, shape (Z,)."""
        return self.q_joint().sum(0)

    def p_x(self) -> Tensor:
        r"""Model marginal :math:`p(x) = \sum_z p(z)\,p(x|z)`, shape (X,)."""
        return self.p_joint().sum(1)

    def q_x_given_z(self) -> Tensor:
        r"""Inverse of the encoder :math:`q(x|z) = q(x,z)/q(z)`, shape (Z, X) (rows with :math:`q(z)=0` are 0)."""
        return _safe_divide(self.q_joint().T, self.q_z()[:, None])

    # entropies and mutual information (nats)

    def h_q_x(self) -> Tensor:
        r"""Data entropy :math:`h_q(x)` (constant: no parameter of the model changes it)."""
        return categorical_entropy(self.q_x)

    def h_q_z(self) -> Tensor:
        r""":math:`h_q(z)` of the aggregate posterior."""
        return categorical_entropy(self.q_z())

    def h_q_z_given_x(self) -> Tensor:
        r"""Conditional entropy :math:`h_q(z|x) = -\sum_{x,z} q(x,z)\log q(z|x)`."""
        return -torch.special.xlogy(self.q_joint(), self.q_z_given_x).sum()

    def _reverse_terms(self) -> dict[str, Tensor]:
        """All nine reverse-KL terms, each computed from the tables by its definition."""
        xlogy = torch.special.xlogy
        q_joint, q_z, prior = self.q_joint(), self.q_z(), self.p_z
        neg_h_z_given_x = xlogy(q_joint, self.q_z_given_x).sum()
        values = (
            categorical_kl(self.q_x, self.p_x()),
            neg_h_z_given_x - xlogy(q_joint, self.p_z_given_x()).sum(),
            -xlogy(q_joint, self.p_x_given_z.T).sum(),
            -self.h_q_x(),
            neg_h_z_given_x - xlogy(q_joint, prior[None, :]).sum(),
            neg_h_z_given_x,
            -xlogy(q_z, prior).sum(),
            self.mutual_information_q(),
            categorical_kl(q_z, prior),
        )
        return dict(zip(REVERSE_KL_TERM_NAMES, values))


# --- linear-Gaussian models -------------------------------------------------------------------


class Gaussian(NamedTuple):
    r""":math:`\mathcal N(\mathrm{mean}, \mathrm{cov})`."""

    mean: Tensor
    cov: Tensor


class LinearGaussianConditional(NamedTuple):
    r"""The conditional :math:`v\,|\,u \sim \mathcal N(W u + c, S)`.

    ``weight`` is :math:`W`, ``bias`` :math:`c`, ``cov`` :math:`S`; a marginal is the case :math:`W = 0`.
    """

    weight: Tensor
    bias: Tensor
    cov: Tensor


def gaussian_entropy(cov: Tensor) -> Tensor:
    r"""Differential entropy :math:`h = \tfrac12\log\det(2\pi e\,\Sigma)` of :math:`\mathcal N(\mu,\Sigma)` (nats).

    Computed as :math:`\tfrac D2\log(2\pi e) + \sum_i\log L_{ii}` with :math:`\Sigma = LL^\top`.
    """
    chol = check_covariance(cov, "cov")
    return 0.5 * cov.shape[0] * _LOG_2PI_E + torch.log(torch.diagonal(chol)).sum()


def gaussian_cross_entropy(mean1: Tensor, cov1: Tensor, mean2: Tensor, cov2: Tensor) -> Tensor:
    r"""Cross-entropy :math:`\mathbb E_{\mathcal N(\mu_1,\Sigma_1)}[-\log\mathcal N(\mu_2,\Sigma_2)]` (nats).

    .. math:: \tfrac12\Big[\log\det(2\pi\Sigma_2) + \operatorname{tr}(\Sigma_2^{-1}\Sigma_1)
        + (\mu_1-\mu_2)^\top\Sigma_2^{-1}(\mu_1-\mu_2)\Big]
        = D_{\mathrm{KL}}(\mathcal N_1\|\mathcal N_2) + h(\mathcal N_1)

    evaluated as the right-hand side with :func:`gi_core.distributions.kl_full_gaussians` (seed 002,
    Eq. 6.4) and :func:`gaussian_entropy`. It is the building block of every expected log-density term
    of Eq. 4.3–4.9 in the linear-Gaussian setting.
    """
    return kl_full_gaussians(mean1, cov1, mean2, cov2) + gaussian_entropy(cov1)


def _expected_conditional_cross_entropy(
    first: LinearGaussianConditional, second: LinearGaussianConditional, inputs: Gaussian
) -> Tensor:
    r"""Expected conditional cross-entropy of two linear-Gaussian conditionals under a Gaussian input.

    .. math:: \mathbb E_{u\sim\mathcal N(m,\Sigma)}\,\mathbb E_{v\sim\mathcal N(W_1u+c_1,S_1)}
        [-\log\mathcal N(v;W_2u+c_2,S_2)]

    For fixed :math:`u` it is :func:`gaussian_cross_entropy`, whose only :math:`u`-dependent part is
    the quadratic form :math:`\tfrac12(Mu+c)^\top S_2^{-1}(Mu+c)` with :math:`M=W_1-W_2`,
    :math:`c=c_1-c_2`. By :math:`\mathbb E[(Mu+c)^\top K(Mu+c)] = \operatorname{tr}(KM\Sigma M^\top)
    + (Mm+c)^\top K(Mm+c)` the expectation is the cross-entropy at :math:`u=m` plus
    :math:`\tfrac12\operatorname{tr}(S_2^{-1}M\Sigma M^\top)`.
    """
    mean1 = first.weight @ inputs.mean + first.bias
    mean2 = second.weight @ inputs.mean + second.bias
    at_mean = gaussian_cross_entropy(mean1, first.cov, mean2, second.cov)
    gap = first.weight - second.weight
    spread = gap @ inputs.cov @ gap.T
    chol2 = torch.linalg.cholesky(second.cov)
    return at_mean + 0.5 * torch.trace(torch.cholesky_solve(spread, chol2))


def _condition(
    mean_a: Tensor, mean_b: Tensor, cov_aa: Tensor, cov_ab: Tensor, cov_bb: Tensor
) -> LinearGaussianConditional:
    r"""Gaussian conditioning :math:`a|b`: weight :math:`\Sigma_{ab}\Sigma_{bb}^{-1}`, Schur-complement covariance.

    .. math:: a|b \sim \mathcal N\big(\mu_a + K(b-\mu_b),\ \Sigma_{aa} - K\Sigma_{ab}^\top\big),\qquad
        K = \Sigma_{ab}\Sigma_{bb}^{-1}
    """
    gain = torch.cholesky_solve(cov_ab.T, torch.linalg.cholesky(cov_bb)).T
    cov = cov_aa - gain @ cov_ab.T
    return LinearGaussianConditional(gain, mean_a - gain @ mean_b, 0.5 * (cov + cov.T))


@dataclass(frozen=True)
class GaussianGIModel(_SwapSymmetry):
    r"""A linear-Gaussian GI model with full covariances; every term of Eq. 4.2–4.9 is exact.

    .. math:: p(z) = \mathcal N(m_z, S_z),\quad p(x|z) = \mathcal N(Az + a, S_{x|z}),\qquad
        q(x) = \mathcal N(m_x, S_x),\quad q(z|x) = \mathcal N(Bx + b, S_{z|x})

    Fields (float64, :math:`x\in\mathbb R^D`, :math:`z\in\mathbb R^J`): ``p_z_mean`` (J,), ``p_z_cov``
    (J, J), ``p_x_given_z_weight`` :math:`A` (D, J), ``p_x_given_z_bias`` (D,), ``p_x_given_z_cov`` (D, D),
    ``q_x_mean`` (D,), ``q_x_cov`` (D, D), ``q_z_given_x_weight`` :math:`B` (J, D), ``q_z_given_x_bias``
    (J,), ``q_z_given_x_cov`` (J, J). Covariances must be symmetric positive definite. Joint Gaussians are
    over the stacked vector :math:`(x, z)`, :math:`x` first.
    """

    p_z_mean: Tensor
    p_z_cov: Tensor
    p_x_given_z_weight: Tensor
    p_x_given_z_bias: Tensor
    p_x_given_z_cov: Tensor
    q_x_mean: Tensor
    q_x_cov: Tensor
    q_z_given_x_weight: Tensor
    q_z_given_x_bias: Tensor
    q_z_given_x_cov: Tensor

    def __post_init__(self) -> None:
        for name in ("p_z_mean", "p_x_given_z_bias", "q_x_mean", "q_z_given_x_bias"):
            check_tensor(getattr(self, name), name, ndim=1)
        for name in ("p_x_given_z_weight", "q_z_given_x_weight"):
            check_tensor(getattr(self, name), name, ndim=2)
        for name in ("p_z_cov", "p_x_given_z_cov", "q_x_cov", "q_z_given_x_cov"):
            check_covariance(getattr(self, name), name)
        for name in self.__dataclass_fields__:
            _require_float64(getattr(self, name), name)
        data_dim, latent_dim = self.q_x_mean.shape[0], self.p_z_mean.shape[0]
        expected = {
            "p_z_cov": (latent_dim, latent_dim),
            "p_x_given_z_weight": (data_dim, latent_dim),
            "p_x_given_z_bias": (data_dim,),
            "p_x_given_z_cov": (data_dim, data_dim),
            "q_x_cov": (data_dim, data_dim),
            "q_z_given_x_weight": (latent_dim, data_dim),
            "q_z_given_x_bias": (latent_dim,),
            "q_z_given_x_cov": (latent_dim, latent_dim),
        }
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(
                    f"{name} must have shape {shape} for D={data_dim}, J={latent_dim}, "
                    f"got {tuple(getattr(self, name).shape)}"
                )

    @classmethod
    def random(
        cls, data_dim: int, latent_dim: int, noise: float = 0.1, generator: torch.Generator | None = None
    ) -> GaussianGIModel:
        r"""Standard normal means, weights and biases; covariances :math:`LL^\top/n + \mathrm{noise}\cdot I`."""
        if data_dim < 1 or latent_dim < 1:
            raise ValueError(f"data_dim and latent_dim must be at least 1, got {data_dim} and {latent_dim}")

        def randn(*shape: int) -> Tensor:
            return torch.randn(*shape, generator=generator, dtype=_F64)

        def spd(n: int) -> Tensor:
            root = randn(n, n)
            return root @ root.T / n + noise * torch.eye(n, dtype=_F64)

        d, j = data_dim, latent_dim
        return cls(randn(j), spd(j), randn(d, j), randn(d), spd(d), randn(d), spd(d), randn(j, d), randn(j), spd(j))

    @property
    def data_dim(self) -> int:
        """Data dimension D."""
        return self.q_x_mean.shape[0]

    @property
    def latent_dim(self) -> int:
        """Latent dimension J."""
        return self.p_z_mean.shape[0]

    def swapped(self) -> GaussianGIModel:
        r"""The model with :math:`(q, x)` and :math:`(p, z)` exchanged: its reverse KL is this model's forward KL.

        New :math:`q'(x') = p(z)`, :math:`q'(z'|x') = p(x|z)`, :math:`p'(z') = q(x)`, :math:`p'(x'|z') = q(z|x)`.
        """
        return GaussianGIModel(
            self.q_x_mean,
            self.q_x_cov,
            self.q_z_given_x_weight,
            self.q_z_given_x_bias,
            self.q_z_given_x_cov,
            self.p_z_mean,
            self.p_z_cov,
            self.p_x_given_z_weight,
            self.p_x_given_z_bias,
            self.p_x_given_z_cov,
        )

    # factors as distributions

    def q_x(self) -> Gaussian:
        r"""Data distribution :math:`q(x)=\mathcal N(m_x, S_x)`."""
        return Gaussian(self.q_x_mean, self.q_x_cov)

    def p_z(self) -> Gaussian:
        r"""Prior :math:`p(z)=\mathcal N(m_z, S_z)`."""
        return Gaussian(self.p_z_mean, self.p_z_cov)

    def q_z_given_x(self) -> LinearGaussianConditional:
        r"""Encoder :math:`q(z|x)=\mathcal N(Bx+b, S_{z|x})`."""
        return LinearGaussianConditional(self.q_z_given_x_weight, self.q_z_given_x_bias, self.q_z_given_x_cov)

    def p_x_given_z(self) -> LinearGaussianConditional:
        r"""Decoder :math:`p(x|z)=\mathcal N(Az+a, S_{x|z})`."""
        return LinearGaussianConditional(self.p_x_given_z_weight, self.p_x_given_z_bias, self.p_x_given_z_cov)

    # joints, marginals, conditionals

    def q_z(self) -> Gaussian:
        r"""Aggregate posterior :math:`q(z) = \mathcal N(Bm_x + b,\ BS_xB^\top + S_{z|x})`."""
        weight = self.q_z_given_x_weight
        cov = weight @ self.q_x_cov @ weight.T + self.q_z_given_x_cov
        return Gaussian(weight @ self.q_x_mean + self.q_z_given_x_bias, 0.5 * (cov + cov.T))

    def p_x(self) -> Gaussian:
        r"""Model marginal :math:`p(x) = \mathcal N(Am_z + a,\ AS_zA^\top + S_{x|z})`."""
        return self.swapped().q_z()

    def q_joint(self) -> Gaussian:
        r""":math:`q(x,z)` over :math:`(x,z)`: mean :math:`(m_x, Bm_x+b)`, covariance
        :math:`\begin{pmatrix}S_x & S_xB^\top\\ BS_x & BS_xB^\top+S_{z|x}\end{pmatrix}`."""
        marginal_z = self.q_z()
        cross = self.q_x_cov @ self.q_z_given_x_weight.T
        cov = torch.cat([torch.cat([self.q_x_cov, cross], 1), torch.cat([cross.T, marginal_z.cov], 1)], 0)
        return Gaussian(torch.cat([self.q_x_mean, marginal_z.mean]), cov)

    def p_joint(self) -> Gaussian:
        r""":math:`p(x,z)` over :math:`(x,z)`: mean :math:`(Am_z+a, m_z)`, covariance
        :math:`\begin{pmatrix}AS_zA^\top+S_{x|z} & AS_z\\ S_zA^\top & S_z\end{pmatrix}`."""
        marginal_x = self.p_x()
        cross = self.p_x_given_z_weight @ self.p_z_cov
        cov = torch.cat([torch.cat([marginal_x.cov, cross], 1), torch.cat([cross.T, self.p_z_cov], 1)], 0)
        return Gaussian(torch.cat([marginal_x.mean, self.p_z_mean]), cov)

    def q_x_given_z(self) -> LinearGaussianConditional:
        r"""Inverse of the encoder :math:`q(x|z)`, by conditioning :math:`q(x,z)` (Schur complement).

        .. math:: K = S_xB^\top\Sigma_{q(z)}^{-1},\quad q(x|z)=\mathcal N\big(m_x+K(z-\mu_{q(z)}),\ S_x-KBS_x\big)
        """
        marginal_z = self.q_z()
        cross = self.q_x_cov @ self.q_z_given_x_weight.T
        return _condition(self.q_x_mean, marginal_z.mean, self.q_x_cov, cross, marginal_z.cov)

    # entropies and mutual information (nats)

    def h_q_x(self) -> Tensor:
        r"""Data entropy :math:`h_q(x) = \tfrac12\log\det(2\pi e S_x)` (constant: no parameter changes it)."""
        return gaussian_entropy(self.q_x_cov)

    def h_q_z(self) -> Tensor:
        r""":math:`h_q(z)` of the aggregate posterior."""
        return gaussian_entropy(self.q_z().cov)

    def h_q_z_given_x(self) -> Tensor:
        r""":math:`h_q(z|x) = \tfrac12\log\det(2\pi e S_{z|x})` (the same for every :math:`x`)."""
        return gaussian_entropy(self.q_z_given_x_cov)

    def _reverse_terms(self) -> dict[str, Tensor]:
        """All nine reverse-KL terms in closed form."""
        data, encoder, prior = self.q_x(), self.q_z_given_x(), self.p_z()
        marginal_z, marginal_x = self.q_z(), self.p_x()
        h_z_given_x = self.h_q_z_given_x()
        prior_as_conditional = LinearGaussianConditional(torch.zeros_like(encoder.weight), prior.mean, prior.cov)
        values = (
            kl_full_gaussians(data.mean, data.cov, marginal_x.mean, marginal_x.cov),
            _expected_conditional_cross_entropy(encoder, self.p_z_given_x(), data) - h_z_given_x,
            _expected_conditional_cross_entropy(self.q_x_given_z(), self.p_x_given_z(), marginal_z),
            -self.h_q_x(),
            _expected_conditional_cross_entropy(encoder, prior_as_conditional, data) - h_z_given_x,
            -h_z_given_x,
            gaussian_cross_entropy(marginal_z.mean, marginal_z.cov, prior.mean, prior.cov),
            gaussian_entropy(marginal_z.cov) - h_z_given_x,
            kl_full_gaussians(marginal_z.mean, marginal_z.cov, prior.mean, prior.cov),
        )
        return dict(zip(REVERSE_KL_TERM_NAMES, values))


GIModel = DiscreteGIModel | GaussianGIModel


def _check_model(model: object) -> None:
    if not isinstance(model, (DiscreteGIModel, GaussianGIModel)):
        raise TypeError(f"model must be a DiscreteGIModel or a GaussianGIModel, got {type(model).__name__}")


# --- public entry points ----------------------------------------------------------------------


def reverse_kl_terms(model: GIModel, form: str = "4.3") -> dict[str, Tensor]:
    r"""The terms of one equation for :math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` (seed 002, Eq. 4.2–4.5).

    ``form`` is ``"4.2"``, ``"4.3"``, ``"4.4"`` or ``"4.5"`` (see :data:`REVERSE_KL_FORMS`). The values,
    signs included, sum to :func:`reverse_kl`. :math:`-h_q(x)` is constant
    (:data:`REVERSE_KL_CONSTANT_TERMS`).
    """
    _check_model(model)
    _check_form(form, REVERSE_KL_FORMS, "reverse")
    terms = model._reverse_terms()
    return {name: terms[name] for name in REVERSE_KL_FORMS[form]}


def forward_kl_terms(model: GIModel, form: str = "4.7") -> dict[str, Tensor]:
    r"""The terms of one equation for :math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` (seed 002, Eq. 4.6–4.9).

    ``form`` is ``"4.6"``, ``"4.7"``, ``"4.8"`` or ``"4.9"`` (see :data:`FORWARD_KL_FORMS`). Computed as
    the reverse terms of ``model.swapped()``, renamed. The values sum to :func:`forward_kl`;
    :math:`-h_p(z)` is constant when the prior is fixed (:data:`FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR`).
    """
    _check_model(model)
    _check_form(form, FORWARD_KL_FORMS, "forward")
    terms = {_MIRROR[name]: value for name, value in model.swapped()._reverse_terms().items()}
    return {name: terms[name] for name in FORWARD_KL_FORMS[form]}


def reverse_kl(model: GIModel) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` computed directly from the two joints (:math:`+\infty` off support).

    Discrete: :math:`\sum_{x,z} q(x,z)\log\frac{q(x,z)}{p(x,z)}`; Gaussian: the KL between the joint
    Gaussians (:func:`gi_core.distributions.kl_full_gaussians`, seed 002, Eq. 6.4).
    """
    _check_model(model)
    if isinstance(model, DiscreteGIModel):
        return categorical_kl(model.q_joint().reshape(-1), model.p_joint().reshape(-1))
    q_joint, p_joint = model.q_joint(), model.p_joint()
    return kl_full_gaussians(q_joint.mean, q_joint.cov, p_joint.mean, p_joint.cov)


def forward_kl(model: GIModel) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` computed directly from the two joints (:math:`+\infty` off support)."""
    _check_model(model)
    if isinstance(model, DiscreteGIModel):
        return categorical_kl(model.p_joint().reshape(-1), model.q_joint().reshape(-1))
    q_joint, p_joint = model.q_joint(), model.p_joint()
    return kl_full_gaussians(p_joint.mean, p_joint.cov, q_joint.mean, q_joint.cov)
