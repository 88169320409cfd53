r"""The Ben-David et al. bound on a finite input space, every term exact (Corro and Sebag 2023, §3.3;
Ben-David et al., 2010).

For a labelled source :math:`\mathcal D_S` and a target :math:`\mathcal D_T` over finitely many inputs, a class
:math:`\mathcal H` given as 0/1 labelings, every :math:`h\in\mathcal H` satisfies
:math:`\varepsilon_T(h)\le\varepsilon_S(h)+\tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)+\lambda^*`.
The proxy A-distance and the adaptability term estimated on features are in :mod:`gi_core.metrics.domain`.
"""

from __future__ import annotations

from torch import Tensor

from gi_core.validation import check_same_dtype, check_tensor


def _labelings(labelings: Tensor, name: str, ndim: int) -> None:
    check_tensor(labelings, name, ndim=ndim)
    if bool(((labelings != 0) & (labelings != 1)).any()):
        raise ValueError(f"{name} must be {'a 0/1 labeling' if ndim == 1 else '0/1 labelings'} of the inputs")


def _finite_domain(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> None:
    for name, p in (("p_source", p_source), ("p_target", p_target)):
        check_tensor(p, name, ndim=1)
        if (p < 0).any() or abs(float(p.sum()) - 1.0) > 1e-9:
            raise ValueError(f"{name} must be a probability vector over the inputs (non-negative, summing to 1)")
    _labelings(hypotheses, "hypotheses", 2)
    if p_source.shape != p_target.shape or hypotheses.shape[1] != p_source.shape[0]:
        raise ValueError(f"need p_source, p_target of shape (X,) and hypotheses (H, X), got {tuple(p_source.shape)}, "
                         f"{tuple(p_target.shape)}, {tuple(hypotheses.shape)}")
    check_same_dtype(p_source=p_source, p_target=p_target, hypotheses=hypotheses)


def h_divergence(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> Tensor:
    r"""The :math:`\mathcal H`-divergence :math:`d_{\mathcal H}=2\sup_{h\in\mathcal H}|\Pr_S(h=1)-\Pr_T(h=1)|`
    (Corro and Sebag 2023, §3.3).

    On a finite input space: ``p_source``, ``p_target`` ``(X,)`` are the input marginals, ``hypotheses``
    ``(H, X)`` the 0/1 labelings that make up :math:`\mathcal H`.
    """
    _finite_domain(p_source, p_target, hypotheses)
    return 2.0 * (hypotheses @ (p_source - p_target)).abs().max()


def discrimination_divergence(p_source: Tensor, p_target: Tensor, hypotheses: Tensor) -> Tensor:
    r"""Corro and Sebag's (2023) proposition: :math:`2\big(1-\min_h[\Pr_S(h=0)+\Pr_T(h=1)]\big)`, the divergence
    as a domain classifier's success.

    With the sample frequencies in place of ``p_source``/``p_target`` this is the empirical
    :math:`\hat d_{\mathcal H}`; for a class closed under complement (:math:`h\in\mathcal H\Rightarrow1-h\in\mathcal H`)
    it equals :func:`h_divergence`, because :math:`\Pr_S(h=0)+\Pr_T(h=1) = 1-[\Pr_S(h=1)-\Pr_T(h=1)]`.
    """
    _finite_domain(p_source, p_target, hypotheses)
    errors = (1.0 - hypotheses) @ p_source + hypotheses @ p_target
    return 2.0 * (1.0 - errors.min())


def symmetric_difference_class(hypotheses: Tensor) -> Tensor:
    r""":math:`\mathcal H\Delta\mathcal H=\{h\oplus h' : h,h'\in\mathcal H\}` as 0/1 labelings ``(H², X)`` (Ben-David et al., 2010)."""
    _labelings(hypotheses, "hypotheses", 2)
    return (hypotheses[:, None, :] != hypotheses[None, :, :]).to(hypotheses.dtype).flatten(0, 1)


def ben_david_terms(p_source: Tensor, p_target: Tensor, labels_source: Tensor, labels_target: Tensor,
                    hypotheses: Tensor) -> dict[str, Tensor]:
    r"""Every term of :math:`\varepsilon_T(h)\le\varepsilon_S(h)+\tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)+\lambda^*`
    for each :math:`h\in\mathcal H` (Ben-David et al., 2010, Thm. 2; Corro and Sebag 2023, §3.3; Hou et al. 2022,
    Eq. 23).

    ``labels_source``/``labels_target`` ``(X,)`` are the deterministic 0/1 labeling functions
    :math:`f_S, f_T`; :math:`\varepsilon_D(h)=\sum_x p_D(x)|h(x)-f_D(x)|`, :math:`\lambda^*=\min_h[\varepsilon_S(h)+\varepsilon_T(h)]`.
    Returns ``source_risk``, ``target_risk`` (both ``(H,)``), ``divergence`` (:math:`d_{\mathcal H\Delta\mathcal H}`),
    ``lambda_star`` and ``bound`` ``(H,)``; the bound holds exactly (the proof is three triangle inequalities
    of the disagreement :math:`\varepsilon_D(h,h')=\sum_x p_D(x)|h(x)-h'(x)|`).
    """
    _finite_domain(p_source, p_target, hypotheses)
    for name, f in (("labels_source", labels_source), ("labels_target", labels_target)):
        _labelings(f, name, 1)
        if f.shape != p_source.shape:
            raise ValueError(f"{name} must be a 0/1 labeling of shape {tuple(p_source.shape)}, got {tuple(f.shape)}")
    check_same_dtype(p_source=p_source, labels_source=labels_source, labels_target=labels_target)
    source_risk = (hypotheses - labels_source).abs() @ p_source
    target_risk = (hypotheses - labels_target).abs() @ p_target
    divergence = h_divergence(p_source, p_target, symmetric_difference_class(hypotheses))
    lambda_star = (source_risk + target_risk).min()
    return {"source_risk": source_risk, "target_risk": target_risk, "divergence": divergence,
            "lambda_star": lambda_star, "bound": source_risk + 0.5 * divergence + lambda_star}
