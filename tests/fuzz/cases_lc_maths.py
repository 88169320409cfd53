"""Fuzz cases of LC-VaDE's maths (Astorga 2021, Ch. 9; see tests.fuzz.harness): the inducing-point Gaussian process
(gi_core.maths.gaussian_process), the expected Gaussian log-likelihood of a light curve
(gi_core.maths.likelihoods) and the bound and anomaly score (gi_core.maths.lc_vade_objective), on 3 curves of 5
observations, 4 inducing points and 3 classes."""

from __future__ import annotations

import torch

from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import training

N, T, I, K, J, F = 3, 5, 4, 3, 2, 3
BROADCAST = "a leading axis broadcasts as documented"
TIMES = "any number of times: the observations of a curve (or the kernel's second set of times)"
GP = "gi_core.maths.gaussian_process"
LC = "gi_core.maths.lc_vade_objective"


def allow(reason: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, reason)


def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def kernel_arguments() -> dict[str, torch.Tensor]:
    g = generator()
    return {"t1": torch.rand(N, T, generator=g), "t2": torch.rand(N, T - 1, generator=g),
            "scale": torch.tensor([0.5, 1.0, 2.0]), "length": torch.tensor([0.05, 0.1, 0.3])}


KERNEL_ALLOW = {**training("t1", "t2", "scale", "length"),
                **allow(BROADCAST, "t1:rank", "t2:rank", "scale:rank", "length:rank"),
                **allow(TIMES, "t1:size", "t2:size")}


def posterior_arguments() -> dict:
    g = generator()
    return {"times": torch.rand(N, T, generator=g), "inducing_times": torch.tensor([0.2, 0.4, 0.6, 0.8]),
            "inducing_means": torch.randn(N, I, generator=g), "inducing_vars": 0.01 + torch.rand(N, I, generator=g),
            "scale": torch.tensor([0.5, 1.0, 2.0]), "length": torch.tensor([0.1, 0.2, 0.25]), "kernel": "rbf"}


def curves() -> dict[str, torch.Tensor]:
    g = generator()
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2, [True] + [False] * 4])
    return {"value": torch.randn(N, T, generator=g) * mask, "error": torch.where(mask, 0.1, 1.0),
            "mean": torch.randn(N, T, generator=g), "var": 0.1 + torch.rand(N, T, generator=g), "mask": mask}


def prior() -> dict[str, torch.Tensor]:
    return {"z_means": torch.tensor([[-1.0, 0.5], [0.8, -0.3], [0.0, 1.5]]),
            "z_log_vars": torch.tensor([[0.2, -0.4], [-0.1, 0.3], [0.5, -0.8]]),
            "f_means": torch.tensor([[12.0, 0.3, -0.5], [13.5, 0.1, 0.2], [11.0, 0.6, 1.1]]),
            "f_log_vars": torch.tensor([[0.5, -2.0, -1.0], [0.0, -3.0, -2.0], [1.0, -1.5, -0.5]]),
            "log_prior": torch.log(torch.tensor([0.5, 0.3, 0.2]))}


def encoder() -> dict[str, torch.Tensor]:
    return {"mean": torch.tensor([[-0.6, 0.2], [0.4, 0.9]]), "log_var": torch.tensor([[-0.5, 0.1], [0.3, -0.2]]),
            "log_gamma": torch.log(torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]))}


def features() -> torch.Tensor:
    return torch.tensor([[12.2, 0.25, -0.4], [11.4, 0.5, 0.9]])


def posterior_inputs() -> dict:
    p = prior()
    return {"z": torch.tensor([[-0.6, 0.2], [0.4, 0.9]]), "features": features(), **p}


def bound_inputs() -> dict:
    return {"log_likelihood": torch.tensor([-3.0, -7.5]), **encoder(), "features": features(), **prior()}


def score_inputs() -> dict:
    p = prior()
    return {**encoder(), "z_means": p["z_means"], "z_log_vars": p["z_log_vars"]}


CASES: list[Case] = [
    Case(f"{GP}.inducing_times", lambda: {"num_points": 4}),
    Case(f"{GP}.rbf_kernel", kernel_arguments, allow=KERNEL_ALLOW),
    Case(f"{GP}.periodic_kernel", lambda: {**kernel_arguments(), "period": 1.0}, allow=KERNEL_ALLOW),
    Case(f"{GP}.gp_posterior", posterior_arguments,
         allow={**training("inducing_means", "inducing_vars", "scale", "length"),
                **allow(BROADCAST, "times:rank", "inducing_times:rank", "inducing_means:rank", "inducing_vars:rank",
                        "scale:rank", "length:rank"),
                "times:size": TIMES}),
    Case("gi_core.maths.likelihoods.expected_gaussian_log_likelihood", curves,
         allow={**training("mean", "var"), **allow(BROADCAST, "mean:rank", "var:rank")}),
    Case(f"{LC}.class_log_posterior", posterior_inputs,
         allow={**training("z"), **allow(BROADCAST, "z:rank", "features:rank")}),
    Case(f"{LC}.lc_vade_bound_terms", bound_inputs,
         allow=training("log_likelihood", "mean", "log_var", "log_gamma")),
    Case(f"{LC}.supervised_cross_entropy",
         lambda: {"log_gamma": encoder()["log_gamma"], "labels": torch.tensor([0, 2])}, allow=training("log_gamma")),
    Case(f"{LC}.information_anomaly_score", score_inputs, allow=training("mean", "log_var", "log_gamma")),
]
EXEMPT: dict[str, str] = {}
