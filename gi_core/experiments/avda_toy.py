r"""AVDA's toy under label shift (Pérez Carrasco 2021, Ch. 3): does the (K+1)-way latent discriminator align the two
domains class by class where a binary source-vs-target one aligns only their marginals?

:func:`toy_alignment` trains one :class:`~gi_core.models.avda.AVDAAdapter` on
:func:`~gi_core.data.toy.label_shifted_domains`: two classes in 2-D, balanced source codes on the frozen prior's two
components :math:`\mathcal N(\mu_k, s^2 I)`, target inputs moved by a shift with class proportions 90/10. A binary
discriminator sees a 50/50 source marginal against a 90/10 target one, so matching the marginals would move part of
the target's majority class into the minority's component; the (K+1)-way one (Eq. 3.8–3.9) asks each pseudo-label's
codes to look like that source class, which label shift does not contradict.

What the runs show (seeds 0-4, see the tests): at the defaults both discriminators keep every class in its own
component (accuracy 1.000, the target's shares stay 90/10; also with 5 shots, seeds 0-2). The unlabelled term's
:math:`\mathrm{KL}(q_\psi(z|x)\|p^*(z|\tilde y))` (Eq. 3.7) pulls each code to its pseudo-label's component with a
force :math:`\propto 1/s^2`, while the binary discriminator's push inside a component is nearly flat: a smooth
encoder would have to tear the majority cluster in two across the KL barrier between the components. With
overlapping components (``spread=1``, ``lr=1e-2``) the ranking reverses: the pseudo-labels and the KL reinforce each
other and, under the (K+1)-way discriminator, which accepts any class proportions, the minority class collapses
into the majority's component (accuracy 0.900 on every seed); the binary one resists, since the collapsed target
marginal would be 100/0 against the source's 50/50 (accuracy 0.96-0.99).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import torch
from torch import Tensor

from gi_core.data.domains import paired_domains
from gi_core.data.toy import label_shifted_domains
from gi_core.maths.avda_objective import alignment_costs
from gi_core.maths.schedules import linear_ramp
from gi_core.models.avda import DISCRIMINATORS, AVDAAdapter
from gi_core.nets.encoders import MLPEncoder, mlp
from gi_core.runtime import seed_everything
from gi_core.trainer import Trainer
from gi_core.training_step import cpu_threads
from gi_core.validation import (check_choice, check_instance, check_non_negative_int, check_positive_int, check_real,
                                check_reals, check_tensor)

NUM_CLASSES, HIDDEN = 2, (32, 32)
"""The toy's classes K and the hidden widths of the target encoder and of the discriminator."""
BATCH_SIZE, BETAS = 128, (0.5, 0.5)
"""The chapter's optimisation: batches of 128 of each set, Adam with :math:`\\beta = (0.5, 0.5)`."""
SOURCE_LOG_VAR = math.log(1e-3)
"""The fixed log-variance of the source codes' moments: :math:`z^s` is drawn around each given code."""
START_STEPS, START_LR = 200, 1e-2
"""Full-batch Adam steps (and their learning rate) that fit the target encoder's starting map."""
GAMMA_END, GAMMA_BATCHES = 0.9, 25
"""With shots, :math:`\\gamma` of Eq. 3.12 ramps from 1 to 0.9 over 25 steps, as in the chapter's runs."""


def bayes_classifier(means: Tensor, variances: Tensor) -> torch.nn.Sequential:
    r"""A linear :func:`~gi_core.nets.encoders.mlp` whose logits are those of the Bayes classifier of ``K`` equally
    likely components :math:`\mathcal N(\mu_k, \sigma^2 I)` with one variance :math:`\sigma^2` shared by every
    component and axis: :math:`\ell_k(z) = \mu_k^\top z/\sigma^2 - \|\mu_k\|^2/(2\sigma^2)` (the log-densities up to
    a term common to all :math:`k`). ``means`` and ``variances`` are ``(K, J)``."""
    check_tensor(means, "means", ndim=2)
    check_tensor(variances, "variances", ndim=2)
    if means.shape != variances.shape:
        raise ValueError(f"means and variances differ in shape: {tuple(means.shape)} vs {tuple(variances.shape)}")
    if not bool((variances > 0).all()) or not torch.allclose(variances, variances.flatten()[0].expand_as(variances)):
        raise ValueError("variances must be one positive value shared by every component and axis")
    variance = variances.flatten()[0]
    classifier = mlp([means.shape[1], means.shape[0]]).to(means.dtype)
    with torch.no_grad():
        classifier[0].weight.copy_(means / variance)
        classifier[0].bias.copy_(-(means ** 2).sum(1) / (2 * variance))
    return classifier


def _starting_encoder(codes: Tensor, log_variance: float) -> MLPEncoder:
    """The target encoder's start: the source encoder of this toy, whose source inputs *are* their codes, i.e. the
    identity with variance ``exp(log_variance)``, fit by full-batch squared error on the source codes."""
    encoder = MLPEncoder((2,), 2, HIDDEN)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=START_LR)
    for _ in range(START_STEPS):
        mean, log_var = encoder(codes)
        loss = ((mean - codes) ** 2).sum(1).mean() + ((log_var - log_variance) ** 2).sum(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return encoder


def _shot_indices(labels: Tensor, shots: int, generator: torch.Generator) -> Tensor:
    """``shots`` random indices of each class."""
    parts = []
    for k in range(NUM_CLASSES):
        members = torch.nonzero(labels == k).squeeze(1)
        if members.numel() < shots:
            raise ValueError(f"shots must be at most {members.numel()}, the target's count of class {k}; got {shots}")
        parts.append(members[torch.randperm(members.numel(), generator=generator)[:shots]])
    return torch.cat(parts)


def nearest_components(codes: Tensor, means: Tensor) -> Tensor:
    """The index of the nearest of ``means`` ``(K, J)`` for each row of ``codes`` ``(N, J)`` (Euclidean; the most
    likely component when they share one isotropic variance), computed in float64."""
    check_tensor(codes, "codes", ndim=2)
    check_tensor(means, "means", ndim=2)
    if codes.shape[1] != means.shape[1] or codes.shape[0] == 0 or means.shape[0] == 0:
        raise ValueError(f"codes (N, J) and means (K, J) must be non-empty and share J, got {tuple(codes.shape)}, "
                         f"{tuple(means.shape)}")
    return torch.cdist(codes.double(), means.double()).argmin(1)


def alignment_game(moved: Sequence[float], spread: float = 0.5, minority: float = 0.1, points: int = 2401
                   ) -> dict[str, list[float]]:
    r"""The encoder's cost against each *optimal* discriminator for a family of target maps, on a 1-D code grid.

    Source codes: two balanced classes :math:`\mathcal N(\mp2, s^2)`. Target: the same two components with class
    proportions ``1 - minority`` and ``minority``, where the map moves a fraction :math:`t` (each entry of ``moved``)
    of the majority class's codes into the minority's component. :math:`t=0` aligns class by class;
    :math:`t^*=1-\tfrac{1}{2(1-m)}` (4/9 for :math:`m=0.1`) matches the source's 50/50 marginal. Returns ``"moved"``,
    ``"classes"`` and ``"binary"`` (:func:`~gi_core.maths.avda_objective.alignment_costs` at each :math:`t`) and
    ``"marginal_match"`` :math:`t^*`. The densities are normalised on ``points`` grid points over :math:`[-6, 6]`.
    """
    values = check_reals(moved, "moved", minimum=0.0, maximum=1.0)
    spread = check_real(spread, "spread", minimum=0.0, strict=True)
    minority = check_real(minority, "minority", minimum=0.0, maximum=0.5, strict=True)
    check_positive_int(points, "points", minimum=3)
    grid = torch.linspace(-6.0, 6.0, points, dtype=torch.float64)

    def component(centre: float) -> Tensor:
        density = torch.exp(-0.5 * ((grid - centre) / spread) ** 2)
        return density / density.sum()

    low, high = component(-2.0), component(2.0)
    source = torch.stack([0.5 * low, 0.5 * high], 1)
    costs = [alignment_costs(source, torch.stack([(1 - minority) * ((1 - t) * low + t * high), minority * high], 1))
             for t in values]
    return {"moved": list(values), "classes": [c["classes"].item() for c in costs],
            "binary": [c["binary"].item() for c in costs], "marginal_match": 1.0 - 0.5 / (1.0 - minority)}


def toy_alignment(discriminator_kind: str, steps: int = 400, seed: int = 0, shots: int = 0, *, spread: float = 0.3,
                  lr: float = 1e-3, unlabelled_kl: bool = True) -> dict:
    r"""Adapt the toy's target with the ``discriminator_kind`` (``"classes"``: (K+1)-way, ``"binary"``) discriminator.

    Data: :func:`~gi_core.data.toy.label_shifted_domains` (``n`` 2000, target proportions 90/10, shift (0, 3),
    ``spread`` :math:`s`, seeded by ``seed``). Model: an :class:`~gi_core.models.avda.AVDAAdapter` with an
    :class:`~gi_core.nets.encoders.MLPEncoder` (2 → 32 → 32 → Gaussian head, started as the identity with variance
    :math:`s^2`: the source encoder of a toy whose source inputs are their codes), a linear code classifier started as
    the :func:`bayes_classifier` of the two components, a discriminator ``mlp([2, 32, 32, K+1 or 1])`` and the frozen
    prior of the two source components (variance :math:`s^2`); :math:`\alpha_t=10`, :math:`\tau=3`. Training:
    ``steps`` alternating updates (:class:`~gi_core.trainer.Trainer`, Adam at ``lr``, :math:`\beta=(0.5,0.5)`,
    batches of 128, one thread), the source codes given as ``source_mean`` with log-variance
    :math:`\log 10^{-3}`; with ``shots`` labelled target points per class, :math:`\gamma` ramps 1 → 0.9 over 25 steps
    (Eq. 3.12). ``seed`` seeds the data, the networks, the shots and the trainer.

    Returns ``"accuracy"`` (:math:`\arg\max_y q_\psi(y|\mu_\psi(x))` against the target labels), ``"aligned"`` (per
    class, the fraction of its target codes :math:`\mu_\psi(x)` whose nearest component is its own),
    ``"target_share"`` and ``"source_share"`` (the fraction of each domain's codes nearest each component), and for a
    figure the target ``"codes"`` ``(n, 2)``, ``"target_labels"``, the ``"source_codes"`` and the component
    ``"means"``; also ``"final_terms"`` (the last step's logged terms) and ``"seconds"``.
    """
    check_choice(discriminator_kind, DISCRIMINATORS, "discriminator_kind")
    check_positive_int(steps, "steps")
    check_non_negative_int(seed, "seed")
    check_non_negative_int(shots, "shots")
    spread = check_real(spread, "spread", minimum=0.0, strict=True)
    lr = check_real(lr, "lr", minimum=0.0, strict=True)
    check_instance(unlabelled_kl, bool, "unlabelled_kl")
    start = time.perf_counter()
    data = label_shifted_domains(spread=spread, seed=seed)
    generator = seed_everything(seed)
    shot_index = _shot_indices(data["target_labels"], shots, generator) if shots else None
    means, log_vars = data["means"], data["variances"].log()
    with cpu_threads(1):
        encoder = _starting_encoder(data["source_codes"], 2 * math.log(spread))
    outputs = NUM_CLASSES + 1 if discriminator_kind == "classes" else 1
    model = AVDAAdapter(encoder, bayes_classifier(means, data["variances"]), mlp([2, *HIDDEN, outputs]), means,
                        log_vars, discriminator_kind=discriminator_kind, unlabelled_kl=unlabelled_kl)
    source_log_var = torch.full_like(data["source_codes"], SOURCE_LOG_VAR)
    tensors = paired_domains((data["source_codes"], source_log_var, data["source_labels"]), (data["target_x"],), seed)
    schedules = {}
    if shot_index is not None:
        tensors = paired_domains(tensors, (data["target_x"][shot_index], data["target_labels"][shot_index]), seed)
        schedules["gamma"] = linear_ramp(1.0, GAMMA_END, GAMMA_BATCHES)
    optimizers = {term: torch.optim.Adam(params, lr=lr, betas=BETAS)
                  for term, params in model.parameters_by_loss().items()}
    trainer = Trainer(model, optimizers, tensors, BATCH_SIZE, seed=seed, progress=False, schedules=schedules,
                      threads=1, updates="alternating")
    trainer.fit(steps)
    codes, labels = model.embed(data["target_x"]), data["target_labels"]
    nearest = nearest_components(codes, means)
    source_nearest = nearest_components(data["source_codes"], means)
    return {"accuracy": (model.predict(data["target_x"]) == labels).double().mean().item(),
            "aligned": [(nearest[labels == k] == k).double().mean().item() for k in range(NUM_CLASSES)],
            "target_share": [(nearest == k).double().mean().item() for k in range(NUM_CLASSES)],
            "source_share": [(source_nearest == k).double().mean().item() for k in range(NUM_CLASSES)],
            "codes": codes, "target_labels": labels, "source_codes": data["source_codes"], "means": means,
            "final_terms": {k: v for k, v in trainer.history[-1].items() if k not in ("step", "epoch", "seconds")},
            "seconds": time.perf_counter() - start}

