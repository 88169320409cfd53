r"""Generative-inference models in which every term of the book's identities is exact (Astorga 2021, Ch. 4–5).

A GI model has a generative joint :math:`p(x,z)=p(z)\,p(x|z)` and an inference joint :math:`q(x,z)=q(x)\,q(z|x)`.
:class:`DiscreteGIModel` gives the four factors as tables over finite :math:`x` and :math:`z` (entropies in nats);
:class:`GaussianGIModel` makes them linear-Gaussian (differential entropies in nats). Each computes its joints,
marginals, conditionals, entropies and the nine terms of the reverse KL :math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))`
(:class:`ReverseKLTerms`, Eq. 4.2–4.5) by their definitions; its ``swapped()`` model exchanges :math:`(q, x)` and
:math:`(p, z)`, so every generative-side quantity is an inference-side quantity of the swap. The equations that
combine the terms are :mod:`gi_core.maths.joint_kl` and :mod:`gi_core.maths.mutual_information`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from gi_core.maths.categorical import categorical_entropy, categorical_kl, check_probability_table
from gi_core.maths.gaussians import (
    Gaussian,
    LinearGaussianConditional,
    condition_gaussian,
    expected_conditional_cross_entropy,
    gaussian_cross_entropy,
    gaussian_entropy,
    kl_full_gaussians,
)
from gi_core.validation import check_covariance, check_generator, check_positive_int, check_real, check_tensor

_F64 = torch.float64


class ReverseKLTerms(NamedTuple):
    r"""The nine terms of Astorga's (2021) Eq. 4.2–4.5, each with the sign it enters the sums with (nats).

    ``data_kl`` :math:`D_{\mathrm{KL}}(q(x)\|p(x))`, ``posterior_kl`` :math:`\mathbb E_{q(x)}D_{\mathrm{KL}}(q(z|x)\|p(z|x))`,
    ``reconstruction`` :math:`\mathbb E_q[-\log p(x|z)]`, ``neg_data_entropy`` :math:`-h_q(x)`, ``prior_kl``
    :math:`\mathbb E_{q(x)}D_{\mathrm{KL}}(q(z|x)\|p(z))`, ``neg_conditional_entropy`` :math:`-h_q(z|x)`,
    ``prior_cross_entropy`` :math:`-\mathbb E_{q(z)}\log p(z)`, ``mutual_information`` :math:`I_q(x,z)` and
    ``aggregate_kl`` :math:`D_{\mathrm{KL}}(q(z)\|p(z))`.
    """

    data_kl: Tensor
    posterior_kl: Tensor
    reconstruction: Tensor
    neg_data_entropy: Tensor
    prior_kl: Tensor
    neg_conditional_entropy: Tensor
    prior_cross_entropy: Tensor
    mutual_information: Tensor
    aggregate_kl: Tensor


def _safe_divide(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` where the denominator is positive, 0 elsewhere (no NaN in either pass)."""
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, torch.ones_like(denominator)), 0.0)


def _require_float64(tensor: Tensor, name: str) -> None:
    if tensor.dtype != _F64:
        raise TypeError(f"{name} must be float64 (the identities are checked to 1e-9), got {tensor.dtype}")


class _SwapSymmetry:
    r"""Generative-side quantities as inference-side quantities of the swapped model (:math:`q\leftrightarrow p`, :math:`x\leftrightarrow z`)."""

    def p_z_given_x(self) -> Tensor | LinearGaussianConditional:
        r"""True posterior :math:`p(z|x)`: the inverse encoder :math:`q(x|z)` of the swapped model."""
        return self.swapped().q_x_given_z()

    def mutual_information_q(self) -> Tensor:
        r""":math:`I_q(x,z) = h_q(z) - h_q(z|x)` (Astorga 2021, Eq. 5.1)."""
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
        r""":math:`I_p(x,z) = h_p(x) - h_p(x|z)` (Astorga 2021, Eq. 5.1)."""
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
        """Strictly positive factors: softmaxes of ``scale`` (any real number) times standard normal logits."""
        check_positive_int(num_x, "num_x")
        check_positive_int(num_z, "num_z")
        check_real(scale, "scale")
        check_generator(generator, "generator")

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

    def reverse_terms(self) -> ReverseKLTerms:
        """All nine reverse-KL terms, each computed from the tables by its definition."""
        xlogy = torch.special.xlogy
        q_joint, q_z, prior = self.q_joint(), self.q_z(), self.p_z
        neg_h_z_given_x = xlogy(q_joint, self.q_z_given_x).sum()
        return ReverseKLTerms(
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
                    f"{name} must have shape {shape} for D={data_dim} (q_x_mean), J={latent_dim} (p_z_mean), "
                    f"got {tuple(getattr(self, name).shape)}"
                )

    @classmethod
    def random(
        cls, data_dim: int, latent_dim: int, noise: float = 0.1, generator: torch.Generator | None = None
    ) -> GaussianGIModel:
        r"""Standard normal means, weights and biases; covariances :math:`LL^\top/n + \mathrm{noise}\cdot I`, ``noise > 0``."""
        check_positive_int(data_dim, "data_dim")
        check_positive_int(latent_dim, "latent_dim")
        check_real(noise, "noise", minimum=0.0, strict=True)
        check_generator(generator, "generator")

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
        return condition_gaussian(self.q_x_mean, marginal_z.mean, self.q_x_cov, cross, marginal_z.cov)

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

    def reverse_terms(self) -> ReverseKLTerms:
        """All nine reverse-KL terms in closed form."""
        data, encoder, prior = self.q_x(), self.q_z_given_x(), self.p_z()
        marginal_z, marginal_x = self.q_z(), self.p_x()
        h_z_given_x = self.h_q_z_given_x()
        prior_as_conditional = LinearGaussianConditional(torch.zeros_like(encoder.weight), prior.mean, prior.cov)
        return ReverseKLTerms(
            kl_full_gaussians(data.mean, data.cov, marginal_x.mean, marginal_x.cov),
            expected_conditional_cross_entropy(encoder, self.p_z_given_x(), data) - h_z_given_x,
            expected_conditional_cross_entropy(self.q_x_given_z(), self.p_x_given_z(), marginal_z),
            -self.h_q_x(),
            expected_conditional_cross_entropy(encoder, prior_as_conditional, data) - h_z_given_x,
            -h_z_given_x,
            gaussian_cross_entropy(marginal_z.mean, marginal_z.cov, prior.mean, prior.cov),
            gaussian_entropy(marginal_z.cov) - h_z_given_x,
            kl_full_gaussians(marginal_z.mean, marginal_z.cov, prior.mean, prior.cov),
        )


GIModel = DiscreteGIModel | GaussianGIModel


def check_gi_model(model: object) -> None:
    """Raise unless ``model`` is a :class:`DiscreteGIModel` or a :class:`GaussianGIModel`."""
    if not isinstance(model, (DiscreteGIModel, GaussianGIModel)):
        raise TypeError(f"model must be a DiscreteGIModel or a GaussianGIModel, got {type(model).__name__}")
