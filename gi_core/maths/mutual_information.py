r"""The mutual-information view of a GI model, term by term (Astorga 2021, Ch. 5, Eq. 5.1–5.13 and Table 5.1).

The mutual information of a joint :math:`r(x,z)` is (Astorga 2021, Eq. 5.1)

.. math:: I_r(x,z) = D_{\mathrm{KL}}(r(x,z)\,\|\,r(x)r(z))
    = \mathbb E_r[\log r(x|z)] + h_r(x) = \mathbb E_r[\log r(z|x)] + h_r(z).

Replacing the inverse conditional of the inference joint by the decoder gives (Eq. 5.2)

.. math:: I_q(x,z) = \mathbb E_{q(x,z)}[\log p(x|z)] + h_q(x) + \mathbb E_{q(z)} D_{\mathrm{KL}}(q(x|z)\|p(x|z)).

Adding and subtracting a model's restriction :math:`R\ge 0` turns it into :math:`I_q = -L_q + \Delta I_q`
(Eq. 5.4–5.6): the loss :math:`L_q = \mathbb E_q[-\log p(x|z)] + R` is a bound, :math:`-L_q\le I_q`, as soon
as the gap :math:`\Delta I_q = R + h_q(x) + \mathbb E_{q(z)}D_{\mathrm{KL}}(q(x|z)\|p(x|z))` is non-negative,
which needs :math:`h_q(x)\ge 0` (always true for discrete :math:`x`, not for a differential entropy).
Eq. 5.7–5.9 are the mirror images on the generative side, and Eq. 5.11 / 5.13 write each mutual
information as a difference of two KL divergences to the other model's marginal.

The generative side is computed as the inference side of ``model.swapped()``
(:math:`q\leftrightarrow p`, :math:`x\leftrightarrow z`), as in :mod:`gi_core.maths.joint_kl`; every
value is exact for :class:`~gi_core.maths.exact_models.DiscreteGIModel` and
:class:`~gi_core.maths.exact_models.GaussianGIModel`. Each ``*_terms`` function returns the terms, their
sum ``"total"`` and ``"mutual_information"`` computed directly (:math:`h(z) - h(z|x)`), so the two can be
compared. :data:`RESTRICTIONS` is Table 5.1 as data. The last section estimates :math:`I_q` from an encoder's
outputs alone (Eq. 5.11 with a Gaussian :math:`q(z)`), the :math:`\tilde I_q` of the thesis's tables.

The terms of Eq. 5.2 assume that :math:`p(x|z) > 0` wherever :math:`q(x,z) > 0`; otherwise the expected
log-likelihood is :math:`-\infty`, the posterior gap :math:`+\infty`, and their sum undefined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from gi_core.maths.categorical import categorical_kl
from gi_core.maths.exact_models import DiscreteGIModel, GIModel, check_gi_model
from gi_core.maths.gaussians import (
    batch_moments,
    expected_conditional_cross_entropy,
    gaussian_entropy,
    kl_diag_gaussian_std_normal,
    kl_full_gaussians,
)
from gi_core.maths.joint_kl import RECONSTRUCTION_X, RECONSTRUCTION_Z
from gi_core.validation import check_choice, check_same_shape, check_tensor

_F64 = torch.float64
SIDES: tuple[str, ...] = ("q", "p")

# --- the two sides of one identity ------------------------------------------------------------


def _posterior_gap(model: GIModel) -> Tensor:
    r""":math:`\mathbb E_{q(z)} D_{\mathrm{KL}}(q(x|z)\|p(x|z))`, the last term of Eq. 5.2 and 5.6."""
    inverse, marginal_z = model.q_x_given_z(), model.q_z()
    if isinstance(model, DiscreteGIModel):
        return (marginal_z * categorical_kl(inverse, model.p_x_given_z)).sum()
    cross_entropy = expected_conditional_cross_entropy(inverse, model.p_x_given_z(), marginal_z)
    return cross_entropy - gaussian_entropy(inverse.cov)


def _eq_5_2_terms(model: GIModel) -> tuple[Tensor, Tensor, Tensor]:
    r""":math:`(\mathbb E_q[\log p(x|z)],\ h_q(x),\ \mathbb E_{q(z)}D_{\mathrm{KL}}(q(x|z)\|p(x|z)))` (Eq. 5.2)."""
    return -model.reverse_terms().reconstruction, model.h_q_x(), _posterior_gap(model)


def _eq_5_11_terms(model: GIModel) -> tuple[Tensor, Tensor]:
    r""":math:`(\mathbb E_{q(x)}D_{\mathrm{KL}}(q(z|x)\|p(z)),\ D_{\mathrm{KL}}(q(z)\|p(z)))` (Eq. 5.11)."""
    terms = model.reverse_terms()
    return terms.prior_kl, terms.aggregate_kl


def _oriented(model: GIModel, side: str) -> GIModel:
    """The model whose inference side is ``side`` of ``model``: itself for ``"q"``, its swap for ``"p"``."""
    check_gi_model(model)
    if side not in SIDES:
        raise ValueError(f"unknown side {side!r}; choose 'q' (bound of I_q) or 'p' (bound of I_p)")
    return model if side == "q" else model.swapped()


def _eq_5_2_form(model: GIModel, side: str, entropy_key: str) -> dict[str, Tensor]:
    """Eq. 5.2 on the inference side of the oriented model, with its sum and the directly computed MI."""
    oriented = _oriented(model, side)
    likelihood, entropy, gap = _eq_5_2_terms(oriented)
    return {"expected_log_likelihood": likelihood, entropy_key: entropy, "posterior_gap": gap,
            "total": likelihood + entropy + gap, "mutual_information": oriented.mutual_information_q()}


def _eq_5_11_form(model: GIModel, side: str, expected_key: str) -> dict[str, Tensor]:
    """Eq. 5.11 on the inference side of the oriented model, with its difference and the directly computed MI."""
    oriented = _oriented(model, side)
    expected_kl, marginal_kl = _eq_5_11_terms(oriented)
    return {expected_key: expected_kl, "marginal_kl": marginal_kl, "total": expected_kl - marginal_kl,
            "mutual_information": oriented.mutual_information_q()}


# --- Eq. 5.2 / 5.7 and 5.11 / 5.13 ------------------------------------------------------------


def inference_mi_terms(model: GIModel) -> dict[str, Tensor]:
    r"""The terms of :math:`I_q(x,z)` in Astorga's (2021) Eq. 5.2.

    .. math:: I_q(x,z) = \underbrace{\mathbb E_{q(x,z)}[\log p(x|z)]}_{\texttt{expected\_log\_likelihood}}
        + \underbrace{h_q(x)}_{\texttt{h\_q\_x}}
        + \underbrace{\mathbb E_{q(z)} D_{\mathrm{KL}}(q(x|z)\|p(x|z))}_{\texttt{posterior\_gap}}

    ``"total"`` is the sum of the three terms, ``"mutual_information"`` is :math:`h_q(z) - h_q(z|x)`
    (Eq. 5.10) computed directly.
    """
    return _eq_5_2_form(model, "q", "h_q_x")


def generative_mi_terms(model: GIModel) -> dict[str, Tensor]:
    r"""The terms of :math:`I_p(x,z)` in Astorga's (2021) Eq. 5.7 (the mirror image of Eq. 5.2).

    .. math:: I_p(x,z) = \underbrace{\mathbb E_{p(x,z)}[\log q(z|x)]}_{\texttt{expected\_log\_likelihood}}
        + \underbrace{h_p(z)}_{\texttt{h\_p\_z}}
        + \underbrace{\mathbb E_{p(x)} D_{\mathrm{KL}}(p(z|x)\|q(z|x))}_{\texttt{posterior\_gap}}

    Computed as :func:`inference_mi_terms` of ``model.swapped()``. ``"total"`` is the sum of the three
    terms, ``"mutual_information"`` is :math:`h_p(x) - h_p(x|z)` computed directly.
    """
    return _eq_5_2_form(model, "p", "h_p_z")


def inference_mi_from_kls(model: GIModel) -> dict[str, Tensor]:
    r""":math:`I_q(x,z)` as a difference of two KL divergences to the prior (Astorga 2021, Eq. 5.11).

    .. math:: I_q(x,z) = \underbrace{\mathbb E_{q(x)} D_{\mathrm{KL}}(q(z|x)\|p(z))}_{\texttt{expected\_kl\_to\_prior}}
        - \underbrace{D_{\mathrm{KL}}(q(z)\|p(z))}_{\texttt{marginal\_kl}}

    This is the computable form behind the metric :math:`\tilde I_q` (Astorga 2021, §5 and Table 6.4).
    ``"total"`` is the difference, ``"mutual_information"`` the direct value.
    """
    return _eq_5_11_form(model, "q", "expected_kl_to_prior")


def generative_mi_from_kls(model: GIModel) -> dict[str, Tensor]:
    r""":math:`I_p(x,z)` as a difference of two KL divergences to the data distribution (Astorga 2021, Eq. 5.12–5.13).

    .. math:: I_p(x,z) = \underbrace{\mathbb E_{p(z)} D_{\mathrm{KL}}(p(x|z)\|q(x))}_{\texttt{expected\_kl\_to\_data}}
        - \underbrace{D_{\mathrm{KL}}(p(x)\|q(x))}_{\texttt{marginal\_kl}}

    Exact here; with real data :math:`q(x)` is only known through samples, which is why the thesis calls
    it infeasible to estimate. ``"total"`` is the difference, ``"mutual_information"`` the direct value.
    """
    return _eq_5_11_form(model, "p", "expected_kl_to_data")


# --- Eq. 5.4–5.6 / 5.8–5.9 --------------------------------------------------------------------


def _check_restriction(restriction: Tensor | float) -> Tensor:
    """``restriction`` as a float64 tensor; raise unless it is a finite, non-negative number (or tensor of them)."""
    if isinstance(restriction, bool) or not isinstance(restriction, (Tensor, int, float)):
        raise TypeError(f"restriction must be a float or a tensor, got {type(restriction).__name__}")
    value = torch.as_tensor(restriction, dtype=_F64)
    if not bool(torch.isfinite(value).all()):
        raise ValueError("restriction R must be finite")
    if bool((value < 0).any()):
        raise ValueError(
            f"restriction R must be >= 0 (Astorga 2021, Eq. 5.5/5.8), got minimum {value.min().item():.4g}"
        )
    return value


def mi_bound_terms(model: GIModel, restriction: Tensor | float, side: str = "q") -> dict[str, Tensor]:
    r"""The loss of a model with restriction :math:`R` and its gap to the mutual information (Astorga 2021,
    Eq. 5.4–5.9).

    For ``side="q"`` (Eq. 5.4–5.6):

    .. math:: L_q = \mathbb E_{q(x,z)}[-\log p(x|z)] + R,\qquad
        \Delta I_q = R + h_q(x) + \mathbb E_{q(z)} D_{\mathrm{KL}}(q(x|z)\|p(x|z)),\qquad
        I_q = -L_q + \Delta I_q,

    and for ``side="p"`` the mirror images (Eq. 5.8–5.9) with :math:`\mathbb E_{p(x,z)}[-\log q(z|x)]`,
    :math:`h_p(z)` and :math:`\mathbb E_{p(x)}D_{\mathrm{KL}}(p(z|x)\|q(z|x))`. ``restriction`` is
    :math:`R\ge 0` (a number, or a tensor of them evaluated elementwise). Returns ``"expected_nll"``,
    ``"restriction"``, ``"loss"`` (:math:`L`), ``"bound"`` (:math:`-L`), ``"delta_mi"`` (:math:`\Delta I`),
    ``"total"`` (:math:`-L+\Delta I`) and ``"mutual_information"`` (direct). :math:`-L\le I` holds when
    :math:`\Delta I\ge 0`, e.g. when :math:`h_q(x)\ge 0` (resp. :math:`h_p(z)\ge 0`).
    """
    oriented = _oriented(model, side)
    value = _check_restriction(restriction)
    likelihood, entropy, gap = _eq_5_2_terms(oriented)
    loss = -likelihood + value
    delta_mi = value + entropy + gap
    return {
        "expected_nll": -likelihood,
        "restriction": value,
        "loss": loss,
        "bound": -loss,
        "delta_mi": delta_mi,
        "total": -loss + delta_mi,
        "mutual_information": oriented.mutual_information_q(),
    }


# --- Table 5.1 --------------------------------------------------------------------------------

BOUNDS: tuple[str, ...] = ("I_q", "I_p", "I_q + I_p")
LIKELIHOODS: tuple[str, ...] = (RECONSTRUCTION_X, RECONSTRUCTION_Z, f"{RECONSTRUCTION_X} + {RECONSTRUCTION_Z}")
GROUPS: tuple[str, ...] = ("match q(z|x), p(z)", "match q(z), p(z)", "match p(x), q(x)", "joint", "other")


@dataclass(frozen=True)
class Restriction:
    r"""One row of Astorga's (2021) Table 5.1: a model's loss is ``likelihood`` + ``restriction`` (Eq. 5.5 / 5.8).

    ``bound`` is the mutual information it bounds (one of :data:`BOUNDS`), ``group`` what its restriction
    matches (one of :data:`GROUPS`), ``likelihood`` the likelihood term of its loss (one of :data:`LIKELIHOODS`)
    and ``restriction`` the regularizer :math:`R`, where ``D(.||.)`` is any adversarially estimated divergence.
    ``bibtex_key`` is the argument of ``\cite`` (comma-separated when a row has two references).
    """

    model: str
    bound: str
    group: str
    likelihood: str
    restriction: str
    bibtex_key: str

    def __post_init__(self) -> None:
        if self.bound not in BOUNDS:
            raise ValueError(f"bound must be one of {BOUNDS}, got {self.bound!r}")
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        for name in ("model", "restriction", "bibtex_key"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, got {type(getattr(self, name)).__name__}")


_BOTH = LIKELIHOODS[2]
_Q_MARGINAL = "match q(z), p(z)"
_Q_CONDITIONAL = "match q(z|x), p(z)"

#: Every row of Astorga's (2021) Table 5.1, plus the thesis's WVAE and JS-VAE (§6.2), which bound :math:`I_q`.
#: ``x'`` is the second domain of the translation models (Cycle-GAN, DiscoGAN). The thesis gives no group
#: to the :math:`I_q + I_p` rows; ALICE is filed under ``"joint"`` and DiscoGAN under ``"other"``. Pure
#: joint matching (ALI / BiGAN) has no likelihood term, so it is not a bound of this form and not in the table.
RESTRICTIONS: tuple[Restriction, ...] = (
    Restriction("VAE", "I_q", _Q_CONDITIONAL, RECONSTRUCTION_X, "E_q(x)[D_KL(q(z|x)||p(z))]", "kingma2014vae"),
    Restriction(
        "beta-VAE", "I_q", _Q_CONDITIONAL, RECONSTRUCTION_X, "beta * E_q(x)[D_KL(q(z|x)||p(z))]", "higgins2017betavae"
    ),
    Restriction("AVB", "I_q", _Q_CONDITIONAL, RECONSTRUCTION_X, "D(q(z|x)q(x)||p(z)q(x))", "mescheder2017avb"),
    Restriction("AAE/WAE", "I_q", _Q_MARGINAL, RECONSTRUCTION_X, "D(q(z)||p(z))", "makhzani2016aae,tolstikhin2018wae"),
    Restriction(
        "InfoVAE/WAE-MMD", "I_q", _Q_MARGINAL, RECONSTRUCTION_X, "MMD(q(z), p(z))", "zhao2019infovae,tolstikhin2018wae"
    ),
    Restriction(
        "WVAE", "I_q", _Q_MARGINAL, RECONSTRUCTION_X, "W_2^2(q(z), p(z)), q(z) Gaussian from batch moments", "astorga2021gi"
    ),
    Restriction("JS-VAE", "I_q", _Q_MARGINAL, RECONSTRUCTION_X, "D_JS(q(z)||p(z))", "astorga2021gi"),
    Restriction("VAE-GAN", "I_q", "other", RECONSTRUCTION_X, "D_KL(q(z|x)||p(z)) + D(p+(x)||q(x))", "larsen2016vaegan"),
    Restriction("Cycle-GAN", "I_q", "other", RECONSTRUCTION_X, "D(p(x')||q(x'))", "zhu2017cyclegan"),
    Restriction("AIM/InfoGAN", "I_p", "match p(x), q(x)", RECONSTRUCTION_Z, "D(p(x)||q(x))", "li2019aim,chen2016infogan"),
    Restriction("VEEGAN", "I_p", "other", RECONSTRUCTION_Z, "D(p(x,z)||q(x,z))", "srivastava2017veegan"),
    Restriction("ALICE", "I_q + I_p", "joint", _BOTH, "D(p(x,z)||q(x,z))", "li2017alice"),
    Restriction("DiscoGAN", "I_q + I_p", "other", _BOTH, "D(p(x)||q(x)) + D(p(x')||q(x'))", "kim2017discogan"),
)


def restriction_table() -> list[dict[str, str]]:
    """Table 5.1 of Astorga (2021) as one ``{field: text}`` dict per row, ready for ``pandas.DataFrame`` or printing.

    The rows are :data:`RESTRICTIONS`. Pure ALI / BiGAN is absent: it has no likelihood term, so its loss is
    not of the form likelihood + restriction that Eq. 5.5 / 5.8 need.
    """
    return [asdict(row) for row in RESTRICTIONS]


# --- estimating I_q from an encoder's outputs (Eq. 5.11, Gaussian q(z); Astorga 2021, §6.3.2) -------

MOMENTS: tuple[str, ...] = ("means", "aggregate")


def check_codes(mean: Tensor, log_var: Tensor) -> None:
    """Raise unless ``mean`` and ``log_var`` are ``(N, J)`` encoder outputs of at least two inputs."""
    check_tensor(mean, "mean", ndim=2)
    check_tensor(log_var, "log_var", ndim=2)
    check_same_shape(mean=mean, log_var=log_var)
    if mean.shape[0] < 2:
        raise ValueError(f"need at least 2 codes, got shape {tuple(mean.shape)}")


def expected_kl_to_prior(mean: Tensor, log_var: Tensor) -> float:
    r""":math:`D^{\mathrm{VAE}}_{\mathrm{KL}} = \frac1N\sum_i \mathrm{KL}(q(z|x_i)\,\|\,\mathcal N(0, I))` (closed form)."""
    check_codes(mean, log_var)
    return float(kl_diag_gaussian_std_normal(mean.double(), log_var.double()).mean())


def aggregate_gaussian(mean: Tensor, log_var: Tensor, moments: str = "means") -> tuple[Tensor, Tensor]:
    r"""Mean and covariance of the Gaussian that stands in for :math:`q(z)=\frac1N\sum_i q(z|x_i)`.

    ``moments="means"`` (Astorga 2021, §6.2): the batch moments (Eq. 6.2–6.3) of the posterior means
    :math:`\tilde\mu_i` only. ``moments="aggregate"``: the exact moments of the mixture,
    :math:`\operatorname{Cov}(\tilde\mu) + \frac1N\sum_i\operatorname{diag}\tilde\sigma_i^2` (law of total
    covariance), with the unbiased :math:`\frac1{N-1}` for the first part as in Eq. 6.3.
    """
    check_codes(mean, log_var)
    check_choice(moments, MOMENTS, "moments")
    mu, cov = batch_moments(mean.double())
    if moments == "aggregate":
        cov = cov + torch.diag(log_var.double().exp().mean(0))
    return mu, cov


def marginal_kl_to_prior(mean: Tensor, log_var: Tensor, moments: str = "means") -> float:
    r""":math:`D^{\mathcal Z}_{\mathrm{KL}} = \mathrm{KL}(\mathcal N(\hat\mu,\hat\Sigma)\,\|\,\mathcal N(0, I))`, Eq. 6.4 on :func:`aggregate_gaussian`."""
    mu, cov = aggregate_gaussian(mean, log_var, moments)
    dim = mu.shape[0]
    return float(kl_full_gaussians(mu, cov, torch.zeros_like(mu), torch.eye(dim, dtype=cov.dtype)))


def estimated_mutual_information(mean: Tensor, log_var: Tensor, moments: str = "means") -> float:
    r""":math:`\tilde I_q = D^{\mathrm{VAE}}_{\mathrm{KL}} - D^{\mathcal Z}_{\mathrm{KL}}`: Eq. 5.11 of Astorga (2021)
    with a Gaussian :math:`q(z)`.

    .. math:: I_q(x,z) = \mathbb E_{q(x)}\mathrm{KL}(q(z|x)\,\|\,p(z)) - \mathrm{KL}(q(z)\,\|\,p(z))

    is exact; the estimate replaces :math:`q(z)` by a Gaussian (:func:`aggregate_gaussian`). With the
    thesis's ``moments="means"`` the Gaussian ignores the encoder variances and is too narrow when they
    are not negligible, so :math:`\tilde I_q` can be negative (e.g. a posterior that collapses onto the
    prior: :math:`D^{\mathrm{VAE}}_{\mathrm{KL}}\approx0` while the means sit in a tiny ball).
    """
    return expected_kl_to_prior(mean, log_var) - marginal_kl_to_prior(mean, log_var, moments)
