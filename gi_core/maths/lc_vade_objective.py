r"""LC-VaDE's bound and its information anomaly score in closed form (Astorga 2021, Eq. 9.8–9.12).

The generative model of a light curve :math:`x` at phases :math:`t` with features :math:`f` (mean, spread and
period) is :math:`p(x,z,y,f|t)=p(x|z,t)\,p(z|y)\,p(f|y)\,p(y)`, with diagonal Gaussians
:math:`p(z|y{=}k)=\mathcal N(\mu_k,\sigma_k^2)`, :math:`p(f|y{=}k)=\mathcal N(\mu_{f,k},\sigma_{f,k}^2)` and a
categorical :math:`p(y)=\pi` (given as log-probabilities). The inference model is
:math:`q(x,f,t)\,q(z|x,t)\,q(y|z,f)` with :math:`q(z|x,t)=\mathcal N(\tilde\mu,\tilde\sigma^2)`, :math:`q(f)` a
Dirac at the observed features (:math:`\sigma_f\to0`) and :math:`q(y|z,f)=\gamma`. The negative of LC-VaDE's loss
(Eq. 9.9) is the ELBO of :math:`\log p(x,f|t)`:

.. math:: -\mathcal L^{\mathrm{LC\text{-}VaDE}} = \mathbb E_{q(z|x)}[\log p(x|z,t)]
    + \sum_k\gamma_k\,\mathbb E_{q(z|x)}[\log p(z|k)] + \sum_k\gamma_k\log p(f|k)
    - D_{\mathrm{KL}}(\gamma\,\|\,\pi) + h(q(z|x)).

The thesis's first line reads :math:`\mathbb E[p(x|z,t)]`: the log is missing (a typo; the bound needs it).
Since :math:`\mathbb E_q\log p(z|k) + h(q) = -D_{\mathrm{KL}}(q\|p(z|k))`, this is VaDE's bound
(:func:`gi_core.maths.vade_bound.vade_bound_terms`) whose likelihood is :math:`\log p(x|z,t)+\log p(f|\cdot)`
averaged over :math:`\gamma`: LC-VaDE is VaDE on the pair :math:`(x, f)`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gi_core.maths.gaussians import diag_gaussian_entropy, diag_gaussian_log_prob, kl_diag_gaussians
from gi_core.maths.vade_bound import mixture_responsibilities
from gi_core.validation import check_same_shape, check_tensor


def _check_components(means: Tensor, log_vars: Tensor, means_name: str, log_vars_name: str) -> None:
    """Validate one set of prior components ``(K, D)`` (parameters: their values are checked, as in VaDE's bound)."""
    check_tensor(means, means_name, ndim=2)
    check_tensor(log_vars, log_vars_name, ndim=2)
    check_same_shape(**{means_name: means, log_vars_name: log_vars})


def _check_log_prior(log_prior: Tensor, classes: int) -> None:
    check_tensor(log_prior, "log_prior", ndim=1)
    if log_prior.shape[0] != classes:
        raise ValueError(f"log_prior must have one entry per class ({classes}), got shape {tuple(log_prior.shape)}")
    total = torch.logsumexp(log_prior.detach(), 0)
    if abs(float(total)) > 1e-4:
        raise ValueError(f"log_prior must be log-probabilities (logsumexp 0), got logsumexp {float(total):.3g}")


def _check_posterior(mean: Tensor, log_var: Tensor, log_gamma: Tensor, z_means: Tensor, z_log_vars: Tensor) -> None:
    """Validate q(z|x) ``(B, J)``, gamma ``(B, K)`` and p(z|y) ``(K, J)``."""
    for name, t in (("mean", mean), ("log_var", log_var), ("log_gamma", log_gamma)):
        check_tensor(t, name, ndim=2, finite=False)
    check_same_shape(mean=mean, log_var=log_var)
    _check_components(z_means, z_log_vars, "z_means", "z_log_vars")
    if mean.shape[1] != z_means.shape[1]:
        raise ValueError(f"mean (B, J) and z_means (K, J) disagree on J: {tuple(mean.shape)}, {tuple(z_means.shape)}")
    if log_gamma.shape != (mean.shape[0], z_means.shape[0]):
        raise ValueError(f"log_gamma must be (B, K) = ({mean.shape[0]}, {z_means.shape[0]}), got "
                         f"{tuple(log_gamma.shape)}")


def _expected_log_prior(mean: Tensor, log_var: Tensor, gamma: Tensor, z_means: Tensor, z_log_vars: Tensor) -> Tensor:
    r""":math:`\sum_k\gamma_k\int\mathcal N(z;\tilde\mu,\tilde\sigma^2)\log\mathcal N(z;\mu_k,\sigma_k^2)\,dz
    = -\sum_k\gamma_k\,[D_{\mathrm{KL}}(q\|p_k) + h(q)]` (the cross-entropy is the KL plus the entropy), ``(B,)``."""
    kl = kl_diag_gaussians(mean.unsqueeze(1), log_var.unsqueeze(1), z_means, z_log_vars)  # (B, K)
    return -(gamma * (kl + diag_gaussian_entropy(log_var).unsqueeze(1))).sum(-1)


def class_log_posterior(z: Tensor, features: Tensor, z_means: Tensor, z_log_vars: Tensor, f_means: Tensor,
                        f_log_vars: Tensor, log_prior: Tensor) -> Tensor:
    r""":math:`\log q(y{=}k|z,f)`, shape ``(..., K)``: Bayes' rule in the joint prior of :math:`(z, f)`.

    .. math:: \log q(y{=}k|z,f) = \log\pi_k + \log\mathcal N(z;\mu_k,\sigma_k^2) + \log\mathcal N(f;\mu_{f,k},
        \sigma_{f,k}^2) - \operatorname{logsumexp}_{k'}[\,\cdots\,]

    The thesis leaves the form of :math:`q(y|z,f)` unspecified (§9); this is VaDE's choice :math:`q(y|z)=p(y|z)`
    (Jiang et al. 2017, Eq. 16) extended with :math:`f`: as both conditionals are diagonal Gaussians it is the mixture
    responsibility (:func:`~gi_core.maths.vade_bound.mixture_responsibilities`) of the concatenation :math:`[z, f]`.
    ``z`` ``(..., J)``, ``features`` ``(..., F)`` (their leading axes broadcast), ``z_means``/``z_log_vars``
    ``(K, J)``, ``f_means``/``f_log_vars`` ``(K, F)``, ``log_prior`` ``(K,)`` normalised log-probabilities.
    """
    check_tensor(z, "z", finite=False)
    check_tensor(features, "features")
    _check_components(z_means, z_log_vars, "z_means", "z_log_vars")
    _check_components(f_means, f_log_vars, "f_means", "f_log_vars")
    if z.dim() < 1 or z.shape[-1] != z_means.shape[1]:
        raise ValueError(f"z must have last dimension J = {z_means.shape[1]} (that of z_means), got {tuple(z.shape)}")
    if features.dim() < 1 or features.shape[-1] != f_means.shape[1]:
        raise ValueError(f"features must have last dimension F = {f_means.shape[1]} (that of f_means), got "
                         f"{tuple(features.shape)}")
    if f_means.shape[0] != z_means.shape[0]:
        raise ValueError(f"z_means and f_means must have one row per class, got {z_means.shape[0]} and "
                         f"{f_means.shape[0]}")
    _check_log_prior(log_prior, z_means.shape[0])
    try:
        leading = torch.broadcast_shapes(z.shape[:-1], features.shape[:-1])
    except RuntimeError as err:
        raise ValueError(f"the leading axes of z {tuple(z.shape)} and features {tuple(features.shape)} do not "
                         f"broadcast") from err
    joint = torch.cat([z.expand(*leading, z.shape[-1]), features.expand(*leading, features.shape[-1])], -1)
    return mixture_responsibilities(joint, log_prior, torch.cat([z_means, f_means], 1),
                                    torch.cat([z_log_vars, f_log_vars], 1))


def lc_vade_bound_terms(log_likelihood: Tensor, mean: Tensor, log_var: Tensor, log_gamma: Tensor, features: Tensor,
                        z_means: Tensor, z_log_vars: Tensor, f_means: Tensor, f_log_vars: Tensor,
                        log_prior: Tensor) -> dict[str, Tensor]:
    r"""Per-curve terms of LC-VaDE's ELBO (module docstring; Astorga 2021, Eq. 9.9), each ``(B,)``:

    * ``"log_likelihood"``: :math:`\log p(x|z,t)` as given (e.g. the expected Gaussian log-likelihood of
      :func:`gi_core.maths.likelihoods.expected_gaussian_log_likelihood` at one draw :math:`z\sim q(z|x)`);
    * ``"z_cross_entropy"``: :math:`\sum_k\gamma_k\int\mathcal N(z;\tilde\mu,\tilde\sigma^2)\log\mathcal N(z;\mu_k,
      \sigma_k^2)\,dz = -\sum_k\gamma_k\sum_j\tfrac12\big[\log2\pi\sigma_{kj}^2
      + (\tilde\sigma_j^2+(\tilde\mu_j-\mu_{kj})^2)/\sigma_{kj}^2\big]`;
    * ``"f_log_likelihood"``: :math:`\sum_k\gamma_k\log\mathcal N(f;\mu_{f,k},\sigma_{f,k}^2)` (:math:`q(f)` a Dirac);
    * ``"y_terms"``: :math:`\mathbb E_\gamma\log\pi + h(\gamma) = -D_{\mathrm{KL}}(\gamma\|\pi)`;
    * ``"z_entropy"``: :math:`h(q(z|x)) = \tfrac12\sum_j\log(2\pi e\tilde\sigma_j^2)`;
    * ``"elbo"``: their sum, :math:`-\mathcal L^{\mathrm{LC\text{-}VaDE}}`.

    Shapes: ``log_likelihood`` ``(B,)``, ``mean``/``log_var`` ``(B, J)``, ``log_gamma`` ``(B, K)``
    (:func:`class_log_posterior`), ``features`` ``(B, F)``, ``z_means``/``z_log_vars`` ``(K, J)``,
    ``f_means``/``f_log_vars`` ``(K, F)``, ``log_prior`` ``(K,)`` normalised.
    """
    check_tensor(log_likelihood, "log_likelihood", ndim=1, finite=False)
    _check_posterior(mean, log_var, log_gamma, z_means, z_log_vars)
    check_tensor(features, "features", ndim=2)
    _check_components(f_means, f_log_vars, "f_means", "f_log_vars")
    batch, classes = log_gamma.shape
    _check_log_prior(log_prior, classes)
    if log_likelihood.shape[0] != batch or features.shape[0] != batch:
        raise ValueError(f"log_likelihood (B,) and features (B, F) need B = {batch} rows, got "
                         f"{tuple(log_likelihood.shape)} and {tuple(features.shape)}")
    if features.shape[1] != f_means.shape[1] or f_means.shape[0] != classes:
        raise ValueError(f"features (B, F) and f_means (K, F) disagree (K = {classes}): {tuple(features.shape)}, "
                         f"{tuple(f_means.shape)}")
    gamma = torch.exp(log_gamma)
    terms = {
        "log_likelihood": log_likelihood,
        "z_cross_entropy": _expected_log_prior(mean, log_var, gamma, z_means, z_log_vars),
        "f_log_likelihood": (gamma * diag_gaussian_log_prob(features.unsqueeze(1), f_means, f_log_vars)).sum(-1),
        "y_terms": -(gamma * (log_gamma - log_prior)).sum(-1),
        "z_entropy": diag_gaussian_entropy(log_var),
    }
    terms["elbo"] = sum(terms.values())
    return terms


def supervised_cross_entropy(log_gamma: Tensor, labels: Tensor) -> Tensor:
    r"""The supervised term :math:`h(y,\tilde y) = -\log q(y{=}y_i|z_i,f_i)` of LC-VaDE-S (Astorga 2021, Eq. 9.8),
    one value per curve, shape ``(B,)``; ``log_gamma`` ``(B, K)`` from :func:`class_log_posterior`, ``labels``
    ``(B,)`` integer classes in ``0..K-1``. The batch mean is the cross-entropy added to the loss."""
    check_tensor(log_gamma, "log_gamma", ndim=2, finite=False)
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype in (torch.bool, torch.complex64,
                                                                                        torch.complex128):
        raise TypeError(f"labels must be an integer tensor, got {getattr(labels, 'dtype', type(labels).__name__)}")
    if labels.shape != log_gamma.shape[:1]:
        raise ValueError(f"labels must have shape ({log_gamma.shape[0]},), one per row of log_gamma, got "
                         f"{tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) >= log_gamma.shape[1]:
        raise ValueError(f"labels must lie in 0..{log_gamma.shape[1] - 1} (the columns of log_gamma), got "
                         f"{int(labels.min())}..{int(labels.max())}")
    return -log_gamma.gather(1, labels.unsqueeze(1)).squeeze(1)


def information_anomaly_score(mean: Tensor, log_var: Tensor, log_gamma: Tensor, z_means: Tensor,
                              z_log_vars: Tensor) -> Tensor:
    r"""The information anomaly score (Astorga 2021, Eq. 9.12), one value per curve, shape ``(B,)``:

    .. math:: \mathrm{IAS}(x) = \mathbb E_{q(z,y|x,f)}[\log p(z|y)] + h(q(z|x))
        = \sum_k\gamma_k\int\mathcal N(z;\tilde\mu,\tilde\sigma^2)\log\mathcal N(z;\mu_k,\sigma_k^2)\,dz
        + h(q(z|x)) = -\sum_k\gamma_k\,D_{\mathrm{KL}}\big(q(z|x)\,\|\,p(z|k)\big)

    a lower bound of :math:`I_q(z,y|x,f)` (it drops :math:`\mathbb E_{q(y)}D_{\mathrm{KL}}(q(z|y)\|p(z|y))\ge0`).
    It is :math:`\le0`; a **low** score is anomalous (rank outliers by :math:`-\mathrm{IAS}`). The reconstruction is
    left out on purpose, so that noisy inliers are not flagged. Shapes as in :func:`lc_vade_bound_terms`.
    """
    _check_posterior(mean, log_var, log_gamma, z_means, z_log_vars)
    expected = _expected_log_prior(mean, log_var, torch.exp(log_gamma), z_means, z_log_vars)
    return expected + diag_gaussian_entropy(log_var)
