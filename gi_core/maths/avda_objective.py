r"""AVDA's objectives (Pérez Carrasco 2021, Ch. 3): per-sample KLs to the class components, the three encoder losses
(Eq. 3.5–3.7), the latent (K+1)-way GAN (Eq. 3.8–3.9), its binary ablation (§4.1.3) and the total (Eq. 3.12).

In order: :func:`straight_through_gumbel` (Eq. 3.14, the pseudo-label :math:`\tilde y`), :func:`component_kl`
(Eq. 3.10, :math:`\mathrm{KL}(q(z|x)\|p(z|y))`), :func:`categorical_prior_kl` (:math:`\mathrm{KL}(q(y|z)\|p(y))`),
:func:`source_objective` (Eq. 3.5), :func:`labelled_target_objective` (Eq. 3.6),
:func:`unlabelled_target_objective` (Eq. 3.7, App. B), :func:`discriminator_objective` (Eq. 3.8),
:func:`adversarial_objective` (Eq. 3.9), :func:`binary_adversarial_objectives` (AVDA_ADA) and
:func:`target_objective` (Eq. 3.12). Every tensor input is a batch of the caller's network outputs; mixed floating
dtypes (an autocast step) are promoted by torch, not refused.

Typos the thesis prints and the code corrects: Eq. 2.2 writes the cross-entropy without its minus sign (it is
:math:`-\sum_k y_k\log\hat y_k`); Eq. 2.9 writes :math:`\sigma` for :math:`\sigma^2`; Eq. 3.11 writes
:math:`\mu+\sigma^2\odot\varepsilon` for :math:`\mu+\sigma\odot\varepsilon`
(:func:`gi_core.maths.gaussians.reparameterize`); App. B's last line writes :math:`q(y)` for :math:`q(y|z)`; and
the Gumbel-softmax is Jang et al. (2017), cited as "Jiang et al.".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from gi_core.maths.categorical import check_probability_table
from gi_core.maths.gan_losses import discriminator_loss, generator_loss, optimal_discriminator
from gi_core.maths.gaussians import kl_diag_gaussians
from gi_core.validation import check_class_indices, check_generator, check_real, check_same_shape, check_tensor


def straight_through_gumbel(logits: Tensor, tau: float, generator: torch.Generator | None = None) -> Tensor:
    r"""A straight-through Gumbel-softmax sample (Jang et al. 2017; Pérez Carrasco 2021, Eq. 3.14, :math:`\tau = 3`).

    .. math:: g_k = -\log(-\log u_k),\ u_k\sim U(0,1),\qquad
        f_k = \frac{\exp((\alpha_k+g_k)/\tau)}{\sum_i\exp((\alpha_i+g_i)/\tau)},\qquad
        \tilde y = \operatorname{onehot}(\arg\max_k f_k)

    Returns :math:`\tilde y + (f - \operatorname{sg}(f))`: the forward values are exactly one-hot (the bracket is
    exactly 0), the gradient is that of the soft sample :math:`f`. :math:`\arg\max_k f_k=\arg\max_k(\alpha_k+g_k)` is
    an exact draw from :math:`\operatorname{softmax}(\alpha)` whatever :math:`\tau`. ``logits`` :math:`\alpha` are
    ``(B, K)`` and finite; :math:`u` is drawn with ``generator`` (on the logits' device) in their dtype and clamped to
    :math:`[\text{tiny}, 1-\text{eps}]`, so :math:`g` is finite. ``tau`` must be a finite :math:`\tau > 0`
    (:math:`\tau = 0` is refused). ``torch.nn.functional.gumbel_softmax`` is not used: its noise can be infinite.
    """
    check_tensor(logits, "logits", ndim=2)
    tau = check_real(tau, "tau", minimum=0.0, strict=True)
    check_generator(generator, "generator")
    if generator is not None and generator.device != logits.device:
        raise ValueError(f"generator lives on {generator.device}, logits on {logits.device}")
    info = torch.finfo(logits.dtype)
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
    perturbed = logits + -torch.log(-torch.log(u.clamp(info.tiny, 1.0 - info.eps)))
    soft = torch.softmax(perturbed / tau, dim=-1)
    hard = F.one_hot(perturbed.detach().argmax(-1), logits.shape[-1]).to(soft.dtype)
    return hard + (soft - soft.detach())


def component_kl(mean: Tensor, log_var: Tensor, prior_means: Tensor, prior_log_vars: Tensor, labels: Tensor) -> Tensor:
    r""":math:`\mathrm{KL}(q(z|x)\,\|\,p(z|y))` per sample, shape ``(B,)``, summed over the :math:`J` latent axes.

    .. math:: \mathrm{KL}_k = \tfrac12\sum_{j=1}^J\Big[\log\sigma_{kj}^2 - \log\sigma_j^2(x)
        + \frac{\sigma_j^2(x) + (\mu_j(x)-\mu_{kj})^2}{\sigma_{kj}^2} - 1\Big]

    Pérez Carrasco (2021), Eq. 3.10 (:func:`gi_core.maths.gaussians.kl_diag_gaussians`). ``mean`` and ``log_var``
    are ``(B, J)``, the components ``prior_means`` and ``prior_log_vars`` ``(K, J)``. ``labels`` are int64 class
    indices ``(B,)`` in ``0..K-1`` (the KL to the true class's component, Eq. 3.5–3.6), or a float ``(B, K)`` matrix of
    non-negative weights whose rows sum to 1, e.g. a :func:`straight_through_gumbel` sample: then the result is
    :math:`\sum_k w_k\mathrm{KL}_k`, whose gradient reaches the logits through the weights (Eq. 3.13).
    """
    return _component_kl(mean, log_var, prior_means, prior_log_vars, labels, "labels")


def _component_kl(mean: Tensor, log_var: Tensor, prior_means: Tensor, prior_log_vars: Tensor, labels: Tensor,
                  labels_name: str) -> Tensor:
    for name, value in (("mean", mean), ("log_var", log_var), ("prior_means", prior_means),
                        ("prior_log_vars", prior_log_vars)):
        check_tensor(value, name, ndim=2, finite=False)
    check_same_shape(mean=mean, log_var=log_var)
    check_same_shape(prior_means=prior_means, prior_log_vars=prior_log_vars)
    (batch, latent), classes = mean.shape, prior_means.shape[0]
    if prior_means.shape[1] != latent:
        raise ValueError(f"mean (B, J) and prior_means (K, J) disagree on J: {tuple(mean.shape)}, "
                         f"{tuple(prior_means.shape)}")
    if not isinstance(labels, Tensor):
        raise TypeError(f"{labels_name} must be a torch.Tensor (int64 indices or float weights), "
                        f"got {type(labels).__name__}")
    if not labels.is_floating_point():
        check_class_indices(labels, batch, classes, labels_name)
        return kl_diag_gaussians(mean, log_var, prior_means[labels], prior_log_vars[labels])
    check_tensor(labels, labels_name, ndim=2)
    if tuple(labels.shape) != (batch, classes):
        raise ValueError(f"{labels_name} (weights) must have shape (B, K) = {(batch, classes)}, "
                         f"got {tuple(labels.shape)}")
    half = labels.dtype not in (torch.float32, torch.float64)  # rows of half-precision weights sum to 1 to 1e-2
    check_probability_table(labels, labels_name, atol=1e-2 if half else None)
    per_component = kl_diag_gaussians(mean.unsqueeze(1), log_var.unsqueeze(1), prior_means, prior_log_vars)
    return (labels * per_component).sum(-1)


def _check_log_prior(log_prior: Tensor, classes: int, logits_name: str) -> None:
    check_tensor(log_prior, "log_prior", ndim=1)
    if log_prior.shape[0] != classes:
        raise ValueError(f"log_prior must have K = {classes} entries (the columns of {logits_name}), "
                         f"got {log_prior.shape[0]}")
    atol = 1e-9 if log_prior.dtype == torch.float64 else (1e-5 if log_prior.dtype == torch.float32 else 1e-2)
    total = float(torch.logsumexp(log_prior.double(), 0))
    if abs(total) > atol:
        raise ValueError(f"log_prior must be normalised (logsumexp 0 within {atol:g}), got {total:.6g}")


def categorical_prior_kl(logits: Tensor, log_prior: Tensor | None = None) -> Tensor:
    r""":math:`\mathrm{KL}(q(y|z)\,\|\,p(y)) = \sum_k q_k(\log q_k - \log p_k)` per sample, shape ``(B,)``.

    :math:`q = \operatorname{softmax}` of ``logits`` ``(B, K)``, read in log space; :math:`p = \exp` ``log_prior``
    ``(K,)`` (normalised), uniform when ``None``. With the uniform :math:`p`,
    :math:`\mathrm{KL} = \log K - H(q(y|z))`: *minimising* it *maximises* the entropy of the prediction. It is the
    first term of Eq. 3.7 (App. B, whose last line writes :math:`q(y)` for :math:`q(y|z)`) and the thesis's only
    entropy term; AVDA has no entropy minimisation.
    """
    check_tensor(logits, "logits", ndim=2, finite=False)
    return _prior_kl(logits, log_prior, "logits")


def _prior_kl(logits: Tensor, log_prior: Tensor | None, logits_name: str) -> Tensor:
    classes = logits.shape[1]
    if log_prior is None:
        log_p = torch.full((classes,), -math.log(classes), dtype=logits.dtype, device=logits.device)
    else:
        _check_log_prior(log_prior, classes, logits_name)
        log_p = log_prior
    log_q = torch.log_softmax(logits, dim=-1)
    return (log_q.exp() * (log_q - log_p)).sum(-1)


def _check_batch_vector(value: Tensor, name: str, batch: int) -> None:
    check_tensor(value, name, ndim=1, finite=False)
    if value.shape[0] != batch:
        raise ValueError(f"{name} must have shape (B,) = ({batch},), one entry per row of class_logits, "
                         f"got {tuple(value.shape)}")


def _check_indices(labels: Tensor, name: str, logits: Tensor, logits_name: str, classes: int) -> None:
    """Raise unless ``labels`` are int64 ``(B,)`` indices in ``0..classes-1``, one per row of ``logits``."""
    try:
        check_class_indices(labels, logits.shape[0], classes, name)
    except ValueError as error:
        message = f"{error} (one per row of {logits_name} {tuple(logits.shape)}, classes 0..{classes - 1})"
        raise ValueError(message) from None


def _cross_entropy(class_logits: Tensor, labels: Tensor) -> Tensor:
    r"""Per-sample :math:`-\sum_k y_k\log\hat y_k = -\log\operatorname{softmax}(\ell)_y` (Eq. 2.2 with its minus)."""
    check_tensor(class_logits, "class_logits", ndim=2, finite=False)
    _check_indices(labels, "labels", class_logits, "class_logits", class_logits.shape[1])
    return F.cross_entropy(class_logits, labels, reduction="none")


def source_objective(log_likelihood: Tensor, kl: Tensor, class_logits: Tensor, labels: Tensor,
                     alpha_s: float = 1000.0) -> dict[str, Tensor]:
    r"""Eq. 3.5, the source loss, averaged over the batch (Pérez Carrasco 2021, :math:`\alpha_s = 1000`):

    .. math:: \mathcal L_s = \frac1B\sum_i\Big[\mathrm{KL}(q(z|x_i)\|p(z|y_i)) - \log p(x_i|z_i)
        - \alpha_s\log q(y_i|z_i)\Big]

    ``log_likelihood`` ``(B,)`` is :math:`\log p(x|z)` already summed over the pixels, ``kl`` ``(B,)`` from
    :func:`component_kl` with the true labels, ``class_logits`` ``(B, K)`` those of :math:`q(y|z)`, ``labels`` int64
    ``(B,)``. The cross-entropy is :math:`-\sum_k y_k\log\hat y_k` (Eq. 2.2 drops the minus). Returns ``"loss"``
    (differentiable) and the detached batch means ``"kl"``, ``"reconstruction"`` (:math:`-\log p(x|z)`) and
    ``"cross_entropy"``.
    """
    cross_entropy = _cross_entropy(class_logits, labels)
    batch = class_logits.shape[0]
    _check_batch_vector(log_likelihood, "log_likelihood", batch)
    _check_batch_vector(kl, "kl", batch)
    alpha_s = check_real(alpha_s, "alpha_s", minimum=0.0)
    loss = (kl - log_likelihood + alpha_s * cross_entropy).mean()
    return {"loss": loss, "kl": kl.detach().mean(), "reconstruction": -log_likelihood.detach().mean(),
            "cross_entropy": cross_entropy.detach().mean()}


def labelled_target_objective(kl: Tensor, class_logits: Tensor, labels: Tensor,
                              alpha_t: float = 10.0) -> dict[str, Tensor]:
    r"""Eq. 3.6, the labelled target loss (no reconstruction), averaged over the batch (:math:`\alpha_t = 10`):

    .. math:: \mathcal L_t^{\mathrm{sup}} = \frac1B\sum_i\Big[\mathrm{KL}(q_\psi(z|x_i)\|p^*(z|y_i))
        - \alpha_t\log q_\psi(y_i|z_i)\Big]

    Pérez Carrasco (2021); arguments as in :func:`source_objective`. Returns ``"loss"`` and the detached ``"kl"`` and
    ``"cross_entropy"``.
    """
    cross_entropy = _cross_entropy(class_logits, labels)
    _check_batch_vector(kl, "kl", class_logits.shape[0])
    alpha_t = check_real(alpha_t, "alpha_t", minimum=0.0)
    loss = (kl + alpha_t * cross_entropy).mean()
    return {"loss": loss, "kl": kl.detach().mean(), "cross_entropy": cross_entropy.detach().mean()}


def unlabelled_target_objective(mean: Tensor, log_var: Tensor, class_logits: Tensor, pseudo_labels: Tensor,
                                prior_means: Tensor, prior_log_vars: Tensor,
                                log_prior: Tensor | None = None) -> dict[str, Tensor]:
    r"""Eq. 3.7 (App. B), the unlabelled target loss, averaged over the batch (Pérez Carrasco 2021):

    .. math:: \mathrm{KL}(q(z,y|x)\|p^*(z,y)) = \mathbb E_{q(z|x)}\big[\mathrm{KL}(q(y|z)\|p(y))\big]
        + \mathbb E_{q(y|z)}\big[\mathrm{KL}(q(z|x)\|p^*(z|y))\big]

    The first term is :func:`categorical_prior_kl` of ``class_logits`` ``(B, K)``, those of the caller's one
    reparametrised :math:`z`; the second is :func:`component_kl` at the caller's ``pseudo_labels`` ``(B, K)``, one
    :func:`straight_through_gumbel` sample from those logits (one-hot forward, an unbiased one-draw estimate with the
    gradient of Eq. 3.13; soft weights :math:`q(y|z)` give the expectation exactly). ``mean``, ``log_var``
    ``(B, J)``; ``prior_means``, ``prior_log_vars`` ``(K, J)``; ``log_prior`` as in :func:`categorical_prior_kl`.
    Returns ``"loss"`` and the detached means ``"categorical_kl"``, ``"gaussian_kl"`` and ``"entropy"``
    (:math:`H(q(y|z))`).
    """
    gaussian = _component_kl(mean, log_var, prior_means, prior_log_vars, pseudo_labels, "pseudo_labels")
    check_tensor(class_logits, "class_logits", ndim=2, finite=False)
    if class_logits.shape[0] != mean.shape[0]:
        raise ValueError(f"class_logits (B, K) and mean (B, J) disagree on B: {tuple(class_logits.shape)}, "
                         f"{tuple(mean.shape)}")
    if class_logits.shape[1] != prior_means.shape[0]:
        raise ValueError(f"class_logits (B, K) and prior_means (K, J) disagree on K: {tuple(class_logits.shape)}, "
                         f"{tuple(prior_means.shape)}")
    categorical = _prior_kl(class_logits, log_prior, "class_logits")
    with torch.no_grad():
        log_q = torch.log_softmax(class_logits, dim=-1)
        entropy = -(log_q.exp() * log_q).sum(-1).mean()
    return {"loss": (categorical + gaussian).mean(), "categorical_kl": categorical.detach().mean(),
            "gaussian_kl": gaussian.detach().mean(), "entropy": entropy}


def _check_domain_logits(logits: Tensor, name: str) -> None:
    check_tensor(logits, name, ndim=2, finite=False)
    if logits.shape[1] < 2:
        raise ValueError(f"{name} must have K + 1 >= 2 columns (K classes and 'from the target'), "
                         f"got {tuple(logits.shape)}")


def discriminator_objective(source_logits: Tensor, source_labels: Tensor, target_logits: Tensor) -> Tensor:
    r"""Eq. 3.8, the (K+1)-way latent discriminator's loss (Odena's semi-supervised GAN; Pérez Carrasco 2021):

    .. math:: \mathcal L_D = \frac1{B_s}\sum_i H\big(D(z_i^s), y_i^s\big) + \frac1{B_t}\sum_i H\big(D(z_i^t), K\big)

    ``source_logits`` ``(B_s, K+1)`` of source codes against their class ``source_labels`` (int64 in ``0..K-1``),
    ``target_logits`` ``(B_t, K+1)`` of target codes against the extra class, index :math:`K` ("from the target").
    The thesis sums over the samples; each domain's batch is averaged here, so the two domains weigh alike.
    """
    _check_domain_logits(source_logits, "source_logits")
    _check_domain_logits(target_logits, "target_logits")
    if source_logits.shape[1] != target_logits.shape[1]:
        raise ValueError(f"source_logits and target_logits must have the same K + 1 columns, got "
                         f"{tuple(source_logits.shape)} and {tuple(target_logits.shape)}")
    classes = source_logits.shape[1] - 1
    _check_indices(source_labels, "source_labels", source_logits, "source_logits", classes)
    fake = torch.full((target_logits.shape[0],), classes, dtype=torch.long, device=target_logits.device)
    return F.cross_entropy(source_logits, source_labels) + F.cross_entropy(target_logits, fake)


def adversarial_objective(target_logits: Tensor, labels: Tensor) -> Tensor:
    r"""Eq. 3.9, the target encoder's adversarial loss: :math:`\mathcal L_A = \frac1B\sum_i H(D(z_i^t), y_i)`.

    ``target_logits`` ``(B, K+1)`` of the discriminator on target codes, ``labels`` int64 ``(B,)`` the true or
    pseudo-labels in ``0..K-1``, never the extra class :math:`K`: the encoder wants D to read its codes as *source*
    codes of a specific class (Pérez Carrasco 2021). The non-saturating inverted-label loss of ADDA, minimised in
    its own step; no gradient-reversal layer.
    """
    _check_domain_logits(target_logits, "target_logits")
    _check_indices(labels, "labels", target_logits, "target_logits", target_logits.shape[1] - 1)
    return F.cross_entropy(target_logits, labels)


def binary_adversarial_objectives(source_logits: Tensor, target_logits: Tensor) -> tuple[Tensor, Tensor]:
    r"""The binary-discriminator ablation AVDA_ADA (Pérez Carrasco 2021, §4.1.3): one domain logit per code.

    Returns (discriminator loss, encoder loss):

    .. math:: \mathbb E_s\operatorname{softplus}(-\ell) + \mathbb E_t\operatorname{softplus}(\ell),\qquad
        \mathbb E_t\operatorname{softplus}(-\ell) = -\mathbb E_t\log\sigma(\ell)

    the binary cross-entropy with source = 1 and target = 0 (:func:`gi_core.maths.gan_losses.discriminator_loss`,
    ``"standard"``) and the non-saturating encoder loss (:func:`~gi_core.maths.gan_losses.generator_loss`,
    ``"non_saturating"``), each batch averaged on its own. ``source_logits`` ``(B_s,)``, ``target_logits``
    ``(B_t,)``; the caller detaches the codes for the discriminator's step.
    """
    check_tensor(source_logits, "source_logits", ndim=1, finite=False)
    check_tensor(target_logits, "target_logits", ndim=1, finite=False)
    return discriminator_loss(source_logits, target_logits, "standard"), generator_loss(target_logits, "non_saturating")


def target_objective(supervised: Tensor, unsupervised: Tensor, adversarial: Tensor, gamma: float) -> Tensor:
    r"""Eq. 3.12, the target encoder's loss :math:`\gamma\mathcal L_t^{\mathrm{sup}} + (1-\gamma)\mathcal
    L_t^{\mathrm{unsup}} + \mathcal L_A` (Pérez Carrasco 2021), :math:`\gamma\in[0,1]` (a ramp from 1 to 0.9,
    :func:`gi_core.maths.schedules.linear_ramp`); the three losses are scalars."""
    for name, value in (("supervised", supervised), ("unsupervised", unsupervised), ("adversarial", adversarial)):
        check_tensor(value, name, ndim=0, finite=False)
    gamma = check_real(gamma, "gamma", minimum=0.0, maximum=1.0)
    return gamma * supervised + (1.0 - gamma) * unsupervised + adversarial


def _check_joint(table: Tensor, name: str) -> None:
    """Raise unless ``table`` is a 2-D table of probabilities summing to 1 over both axes."""
    check_tensor(table, name, ndim=2)
    check_probability_table(table.reshape(-1), name)


def optimal_class_discriminator(source_joint: Tensor, target_marginal: Tensor) -> Tensor:
    r"""The (K+1)-way discriminator that minimises Eq. 3.8 on a finite code space, both domains weighted alike.

    Pointwise in :math:`z`, :math:`\mathcal L_D` is :math:`-\sum_k p_s(z,k)\log D_k(z) - p_t(z)\log D_{K+1}(z)`
    subject to :math:`\sum_j D_j(z)=1`, so (Lagrange)

    .. math:: D^*_k(z) = \frac{p_s(z,k)}{p_s(z)+p_t(z)},\qquad D^*_{K+1}(z) = \frac{p_t(z)}{p_s(z)+p_t(z)},

    Odena's (2016) semi-supervised discriminator. ``source_joint`` ``(N, K)`` is :math:`p_s(z, y)`, ``target_marginal``
    ``(N,)`` is :math:`p_t(z)`, each summing to 1; returns ``(N, K+1)``, uniform where neither domain has mass.
    """
    _check_joint(source_joint, "source_joint")
    check_probability_table(target_marginal, "target_marginal", ndim=1)
    if target_marginal.shape[0] != source_joint.shape[0]:
        raise ValueError(f"source_joint (N, K) and target_marginal (N,) must share N, got {tuple(source_joint.shape)} "
                         f"and {tuple(target_marginal.shape)}")
    table = torch.cat([source_joint, target_marginal[:, None]], 1)
    total = table.sum(1, keepdim=True)
    return torch.where(total > 0, table / total.clamp_min(torch.finfo(table.dtype).tiny), 1.0 / table.shape[1])


def alignment_costs(source_joint: Tensor, target_joint: Tensor) -> dict[str, Tensor]:
    r"""What the target encoder pays against each *optimal* discriminator, on a finite code space.

    ``source_joint`` and ``target_joint`` ``(N, K)`` are :math:`p_s(z, y)` and :math:`p_t(z, y)` (the target's classes
    taken as its pseudo-labels). Returns ``"classes"``, Eq. 3.9 at :math:`D^*` of :func:`optimal_class_discriminator`,
    :math:`\mathbb E_{p_t(z,y)}[-\log D^*_y(z)]`, and ``"binary"``, the non-saturating encoder loss at the optimal
    binary discriminator :math:`D^*=p_s/(p_s+p_t)` (:func:`gi_core.maths.gan_losses.optimal_discriminator`),
    :math:`\mathbb E_{p_t(z)}[-\log D^*(z)]`. The binary cost depends on the marginals only, and is smallest
    (:math:`\log 2`) when they match; the (K+1)-way cost is infinite wherever the target puts a class where the source
    has none of it.
    """
    _check_joint(source_joint, "source_joint")
    _check_joint(target_joint, "target_joint")
    check_same_shape(source_joint=source_joint, target_joint=target_joint)
    discriminator = optimal_class_discriminator(source_joint, target_joint.sum(1))
    binary = optimal_discriminator(source_joint.sum(1), target_joint.sum(1))
    return {"classes": -torch.special.xlogy(target_joint, discriminator[:, :-1]).sum(),
            "binary": -torch.special.xlogy(target_joint.sum(1), binary).sum()}
