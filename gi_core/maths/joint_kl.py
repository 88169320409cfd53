r"""The two KL divergences between the joints of a GI model, term by term (Astorga 2021, Ch. 4, Eq. 4.2–4.9).

A GI model has a generative joint :math:`p(x,z)=p(z)\,p(x|z)` and an inference joint
:math:`q(x,z)=q(x)\,q(z|x)`. Following the thesis (and the book), the **reverse** KL is
:math:`D_{\mathrm{KL}}(q(x,z)\,\|\,p(x,z))` (the thesis's "inverse" KL) and the **forward** KL is
:math:`D_{\mathrm{KL}}(p(x,z)\,\|\,q(x,z))`. Each is written four ways (Astorga 2021):

.. math::
    D_{\mathrm{KL}}(q\|p)
    &= D_{\mathrm{KL}}(q(x)\|p(x)) + \mathbb E_{q(x)} D_{\mathrm{KL}}(q(z|x)\|p(z|x)) && (4.2)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) + \mathbb E_{q(x)} D_{\mathrm{KL}}(q(z|x)\|p(z)) && (4.3)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) - h_q(z|x) - \mathbb E_{q(z)}\log p(z) && (4.4)\\
    &= \mathbb E_q[-\log p(x|z)] - h_q(x) + I_q(x,z) + D_{\mathrm{KL}}(q(z)\|p(z)) && (4.5)

and Eq. 4.6–4.9 are the same four lines for :math:`D_{\mathrm{KL}}(p\|q)` with :math:`q\leftrightarrow p`
and :math:`x\leftrightarrow z` exchanged. The forward terms are computed that way: by
:meth:`~gi_core.maths.exact_models.DiscreteGIModel.swapped` / :meth:`~gi_core.maths.exact_models.GaussianGIModel.swapped`, which exchange the roles
of :math:`(q, x)` and :math:`(p, z)`, so that the forward KL of a model is the reverse KL of its swap.

Two settings are exact (:mod:`gi_core.maths.exact_models`): :class:`DiscreteGIModel` (tables over finite :math:`x`
and :math:`z`, entropies in nats) and :class:`~gi_core.maths.exact_models.GaussianGIModel` (linear-Gaussian conditionals, differential entropies
in nats).
:func:`reverse_kl_terms` and :func:`forward_kl_terms` return the terms of one equation as an ordered
``{term name: value}`` dict whose values sum to :func:`reverse_kl` / :func:`forward_kl`, which are
computed directly from the two joints. Term names are the thesis's, with the sign that enters the sum
(the value of ``"-h_q(x)"`` is :math:`-h_q(x)`).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from gi_core.maths.categorical import categorical_kl
from gi_core.maths.exact_models import DiscreteGIModel, GIModel, check_gi_model
from gi_core.maths.gaussians import kl_full_gaussians
from gi_core.validation import check_choice

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

#: Each reverse-KL term name with its forward-KL mirror image.
MIRROR = dict(zip(REVERSE_KL_TERM_NAMES, FORWARD_KL_TERM_NAMES))

#: Which terms make up each equation of :math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` (Astorga 2021, Eq. 4.2–4.5).
REVERSE_KL_FORMS: dict[str, tuple[str, ...]] = {
    "4.2": ("D_KL(q(x)||p(x))", "E_q(x)[D_KL(q(z|x)||p(z|x))]"),
    "4.3": ("E_q[-log p(x|z)]", "-h_q(x)", "E_q(x)[D_KL(q(z|x)||p(z))]"),
    "4.4": ("E_q[-log p(x|z)]", "-h_q(x)", "-h_q(z|x)", "-E_q(z)[log p(z)]"),
    "4.5": ("E_q[-log p(x|z)]", "-h_q(x)", "I_q(x,z)", "D_KL(q(z)||p(z))"),
}

#: Which terms make up each equation of :math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` (Astorga 2021, Eq. 4.6–4.9).
FORWARD_KL_FORMS: dict[str, tuple[str, ...]] = {
    forward: tuple(MIRROR[name] for name in REVERSE_KL_FORMS[reverse])
    for forward, reverse in (("4.6", "4.2"), ("4.7", "4.3"), ("4.8", "4.4"), ("4.9", "4.5"))
}

#: Reverse-KL terms that no parameter changes: :math:`-h_q(x)`, the entropy of the data distribution
#: (Astorga 2021, §4.2: "h_q(x) is a constant"). Every other term depends on the encoder or the generative side.
REVERSE_KL_CONSTANT_TERMS: tuple[str, ...] = ("-h_q(x)",)

#: Forward-KL terms that are constant when the prior :math:`p(z)` is fixed: :math:`-h_p(z)` (Astorga 2021,
#: §4.3). With a learned prior (e.g. a mixture prior) it is optimized like any other term.
FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR: tuple[str, ...] = ("-h_p(z)",)


@dataclass(frozen=True)
class FamilyForm:
    r"""How a model family uses one equation of Astorga's (2021) Ch. 4.

    ``divergence`` is ``"reverse"`` or ``"forward"``, ``form`` the equation number. ``kept`` are the terms
    it optimizes as written, ``replaced`` pairs a term with the surrogate the family trains instead
    (:math:`\mathcal D` is an adversarially estimated divergence), and ``dropped`` are the terms it does
    not optimize (constants, or terms the family ignores). Together they name each term of the equation once.
    """

    divergence: str
    form: str
    kept: tuple[str, ...]
    replaced: tuple[tuple[str, str], ...]
    dropped: tuple[str, ...]

    def __post_init__(self) -> None:
        forms = {"reverse": REVERSE_KL_FORMS, "forward": FORWARD_KL_FORMS}
        if self.divergence not in forms:
            raise ValueError(f"divergence must be 'reverse' or 'forward', got {self.divergence!r}")
        check_choice(self.form, tuple(forms[self.divergence]), f"{self.divergence}-KL form")
        for name in ("kept", "dropped"):
            terms = getattr(self, name)
            if not isinstance(terms, tuple) or not all(isinstance(term, str) for term in terms):
                raise TypeError(f"{name} must be a tuple of term names, got {terms!r}")
        if not isinstance(self.replaced, tuple) or not all(
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(text, str) for text in pair) for pair in self.replaced
        ):
            raise TypeError(f"replaced must be a tuple of (term, surrogate) pairs of strings, got {self.replaced!r}")
        used = [*self.kept, *(term for term, _ in self.replaced), *self.dropped]
        if sorted(used) != sorted(forms[self.divergence][self.form]):
            raise ValueError(f"kept, replaced and dropped must split the terms of Eq. {self.form} exactly, "
                             f"{forms[self.divergence][self.form]}; got {used}")


RECONSTRUCTION_X = "E_q[-log p(x|z)]"
RECONSTRUCTION_Z = "E_p[-log q(z|x)]"
PRIOR_KL = "E_q(x)[D_KL(q(z|x)||p(z))]"
AGGREGATE_KL = "D_KL(q(z)||p(z))"
DATA_KL = "D_KL(p(x)||q(x))"

#: The form of Ch. 4 that each family keeps (Astorga 2021, §4.2–4.3 and Table 5.1):
#: VAE, β-VAE and AVB use Eq. 4.3; AAE, WAE and InfoVAE use Eq. 4.5 with the aggregate KL replaced and
#: :math:`I_q(x,z)` not optimized; AIM and InfoGAN use Eq. 4.9 with the data KL replaced and
#: :math:`I_p(x,z)` not optimized. :math:`h_q(x)` is dropped as a constant, :math:`h_p(z)` as a constant
#: of the fixed prior.
MODEL_FAMILIES: dict[str, FamilyForm] = {
    "VAE": FamilyForm("reverse", "4.3", (RECONSTRUCTION_X, PRIOR_KL), (), ("-h_q(x)",)),
    "beta-VAE": FamilyForm(
        "reverse", "4.3", (RECONSTRUCTION_X,), ((PRIOR_KL, "beta * E_q(x)[D_KL(q(z|x)||p(z))]"),), ("-h_q(x)",)
    ),
    "AVB": FamilyForm(
        "reverse", "4.3", (RECONSTRUCTION_X,), ((PRIOR_KL, "adversarial D(q(x)q(z|x)||q(x)p(z))"),), ("-h_q(x)",)
    ),
    "AAE": FamilyForm(
        "reverse", "4.5", (RECONSTRUCTION_X,), ((AGGREGATE_KL, "adversarial D(q(z)||p(z))"),), ("-h_q(x)", "I_q(x,z)")
    ),
    "WAE": FamilyForm(
        "reverse",
        "4.5",
        (RECONSTRUCTION_X,),
        ((AGGREGATE_KL, "MMD(q(z),p(z)) or adversarial D(q(z)||p(z))"),),
        ("-h_q(x)", "I_q(x,z)"),
    ),
    "InfoVAE": FamilyForm(
        "reverse", "4.5", (RECONSTRUCTION_X,), ((AGGREGATE_KL, "MMD(q(z),p(z))"),), ("-h_q(x)", "I_q(x,z)")
    ),
    "AIM": FamilyForm(
        "forward", "4.9", (RECONSTRUCTION_Z,), ((DATA_KL, "adversarial D(p(x)||q(x))"),), ("-h_p(z)", "I_p(x,z)")
    ),
    "InfoGAN": FamilyForm(
        "forward", "4.9", (RECONSTRUCTION_Z,), ((DATA_KL, "adversarial D(p(x)||q(x))"),), ("-h_p(z)", "I_p(x,z)")
    ),
}


# --- public entry points ----------------------------------------------------------------------


def reverse_kl_terms(model: GIModel, form: str = "4.3") -> dict[str, Tensor]:
    r"""The terms of one equation for :math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` (Astorga 2021, Eq. 4.2–4.5).

    ``form`` is ``"4.2"``, ``"4.3"``, ``"4.4"`` or ``"4.5"`` (see :data:`REVERSE_KL_FORMS`). The values,
    signs included, sum to :func:`reverse_kl`. :math:`-h_q(x)` is constant
    (:data:`REVERSE_KL_CONSTANT_TERMS`).
    """
    check_gi_model(model)
    check_choice(form, tuple(REVERSE_KL_FORMS), "reverse-KL form")
    terms = dict(zip(REVERSE_KL_TERM_NAMES, model.reverse_terms()))
    return {name: terms[name] for name in REVERSE_KL_FORMS[form]}


def forward_kl_terms(model: GIModel, form: str = "4.7") -> dict[str, Tensor]:
    r"""The terms of one equation for :math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` (Astorga 2021, Eq. 4.6–4.9).

    ``form`` is ``"4.6"``, ``"4.7"``, ``"4.8"`` or ``"4.9"`` (see :data:`FORWARD_KL_FORMS`). Computed as
    the reverse terms of ``model.swapped()``, renamed. The values sum to :func:`forward_kl`;
    :math:`-h_p(z)` is constant when the prior is fixed (:data:`FORWARD_KL_CONSTANT_TERMS_FIXED_PRIOR`).
    """
    check_gi_model(model)
    check_choice(form, tuple(FORWARD_KL_FORMS), "forward-KL form")
    terms = dict(zip(FORWARD_KL_TERM_NAMES, model.swapped().reverse_terms()))
    return {name: terms[name] for name in FORWARD_KL_FORMS[form]}


def reverse_kl(model: GIModel) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(q(x,z)\|p(x,z))` computed directly from the two joints (:math:`+\infty` off support).

    Discrete: :math:`\sum_{x,z} q(x,z)\log\frac{q(x,z)}{p(x,z)}`; Gaussian: the KL between the joint
    Gaussians (:func:`gi_core.maths.gaussians.kl_full_gaussians`, Astorga 2021, Eq. 6.4).
    """
    check_gi_model(model)
    if isinstance(model, DiscreteGIModel):
        return categorical_kl(model.q_joint().reshape(-1), model.p_joint().reshape(-1))
    q_joint, p_joint = model.q_joint(), model.p_joint()
    return kl_full_gaussians(q_joint.mean, q_joint.cov, p_joint.mean, p_joint.cov)


def forward_kl(model: GIModel) -> Tensor:
    r""":math:`D_{\mathrm{KL}}(p(x,z)\|q(x,z))` computed directly from the two joints (:math:`+\infty` off support)."""
    check_gi_model(model)
    if isinstance(model, DiscreteGIModel):
        return categorical_kl(model.p_joint().reshape(-1), model.q_joint().reshape(-1))
    q_joint, p_joint = model.q_joint(), model.p_joint()
    return kl_full_gaussians(p_joint.mean, p_joint.cov, q_joint.mean, q_joint.cov)
