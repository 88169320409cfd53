"""Fuzz cases of gi_core.maths (see tests.fuzz.harness); the exact models' are in cases_maths_models."""

from __future__ import annotations

import torch

from gi_core.maths.gaussians import Gaussian, LinearGaussianConditional
from tests.fuzz import cases_maths_models
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import seeded, training

F64 = torch.float64
BROADCAST = "a leading axis broadcasts as documented"
ANY_SHAPE = "any shape: the function is elementwise or averages over every entry"
SIGNED = "a location may be any real number"


def t(*values: float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def allow(reason: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, reason)


def divergence_inputs() -> dict:
    return {"p_source": t(0.5, 0.25, 0.25), "p_target": t(0.25, 0.25, 0.5),
            "hypotheses": torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])}


def pair() -> dict:
    return {"mean1": t(0.1, -0.2), "cov1": torch.tensor([[1.0, 0.2], [0.2, 0.5]]),
            "mean2": t(0.0, 0.3), "cov2": torch.tensor([[0.8, -0.1], [-0.1, 1.2]])}


def vectors(*names: str) -> dict:
    """Length-3 vectors under ``names``; the second and fourth are positive (standard deviations)."""
    values = (t(0.1, -0.4, 0.3), t(1.0, 0.5, 2.0), t(-0.2, 0.0, 0.6), t(0.7, 1.5, 0.9))
    return dict(zip(names, values))


def ratio_estimate() -> dict:
    return {"weight": t(0.5, -0.2, dtype=F64), "bias": torch.tensor(0.1, dtype=F64), "feature_mean": t(0.0, 0.1, dtype=F64),
            "feature_scale": t(1.0, 2.0, dtype=F64), "features": "linear", "dim": 2}


def codes() -> torch.Tensor:
    return torch.tensor([[0.1, -0.3], [0.5, 0.2], [-0.4, 0.1], [0.2, 0.6], [-0.1, -0.5]])


def images() -> torch.Tensor:
    return torch.rand(3, 4, generator=seeded())


def square(z: torch.Tensor) -> torch.Tensor:
    return z.square().sum(-1)


def conditional_entropy_inputs() -> dict:
    eye = torch.eye(2)
    return {"first": LinearGaussianConditional(eye, t(0.1, 0.2), 0.5 * eye),
            "second": LinearGaussianConditional(-eye, t(0.0, 0.3), eye), "inputs": Gaussian(t(0.3, -0.1), eye)}


M = "gi_core.maths"
CASES: list[Case] = [
    # ben_david
    Case(f"{M}.ben_david.h_divergence", divergence_inputs),
    Case(f"{M}.ben_david.discrimination_divergence", divergence_inputs),
    Case(f"{M}.ben_david.symmetric_difference_class", lambda: {"hypotheses": divergence_inputs()["hypotheses"]},
         allow=allow("any number H of labelings of any number X of inputs", "hypotheses:size")),
    Case(f"{M}.ben_david.ben_david_terms", lambda: {**divergence_inputs(), "labels_source": t(1.0, 0.0, 0.0),
                                                   "labels_target": t(1.0, 1.0, 0.0)}),
    # bounds
    Case(f"{M}.bounds.beta_elbo", lambda: {"log_likelihood": t(-3.0, -2.5), "kl": t(0.4, 0.1), "beta": 0.5},
         allow=training("log_likelihood", "kl")),
    Case(f"{M}.bounds.elbo", lambda: {"log_likelihood": t(-3.0, -2.5), "kl": t(0.4, 0.1)}, allow=training("log_likelihood", "kl")),
    Case(f"{M}.bounds.importance_weighted_bound",
         lambda: {"log_p_x_given_z": torch.full((3, 2), -2.0), "log_p_z": torch.full((3, 2), -1.0),
                  "log_q_z": torch.full((3, 2), -0.5)}),
    Case(f"{M}.bounds.wasserstein_restriction", lambda: {"codes": codes()},
         allow=allow("any latent width J", "codes:size")),
    Case(f"{M}.bounds.jensen_shannon_restriction", lambda: {"codes": codes()},
         allow=allow("any latent width J", "codes:size")),
    Case(f"{M}.bounds.mmd_restriction", lambda: {"z": codes(), "prior_samples": codes().flip(0)},
         allow=training("prior_samples")),
    # categorical
    Case(f"{M}.categorical.check_probability_table", lambda: {"table": t(0.2, 0.8), "name": "table", "ndim": 1, "atol": 1e-6},
         allow=allow("a label for the error messages: any value is printed as given", "name:type", "name:unknown")),
    Case(f"{M}.categorical.categorical_entropy", lambda: {"probs": t(0.2, 0.8)},
         allow=allow("the last axis is the distribution, leading axes are a batch of them", "probs:rank")),
    Case(f"{M}.categorical.categorical_kl", lambda: {"probs_a": t(0.2, 0.8), "probs_b": t(0.5, 0.5)},
         allow=allow(BROADCAST, "probs_a:rank", "probs_b:rank")),
    Case(f"{M}.categorical.conditional_table", lambda: {"joint": torch.tensor([[0.1, 0.3], [0.2, 0.4]]), "axes": (0,)},
         allow=allow("a joint table of any shape and rank: the axes name what is conditioned", "joint:rank",
                     "joint:size")),
    # density_ratio
    Case(f"{M}.density_ratio.gaussian_log_ratio", lambda: {"x": t(-1.0, 0.0, 2.0), "q_mean": 0.0, "q_std": 1.0,
                                                          "p_mean": 0.5, "p_std": 1.5},
         allow={**allow(SIGNED, "q_mean:negative", "p_mean:negative"), **allow(ANY_SHAPE, "x:rank", "x:size")}),
    Case(f"{M}.density_ratio.DensityRatioEstimate", ratio_estimate),
    Case(f"{M}.density_ratio.fit_density_ratio",
         lambda: {"x_q": torch.randn(6, 2, generator=seeded()), "x_p": torch.randn(5, 2, generator=seeded()) + 1.0,
                  "features": "quadratic", "steps": 3, "lr": 0.5}),
    # dirac_gan
    Case(f"{M}.dirac_gan.dirac_gan_trajectory", lambda: {"theta0": 1.0, "psi0": 0.5, "lr": 0.1, "steps": 3,
                                                        "loss": "standard", "regularization": 0.5},
         allow={**allow("a starting point may be any real number", "theta0:negative", "psi0:negative"),
                "steps:zero": "zero steps give the starting point alone"}),
    # estimators
    Case(f"{M}.estimators.reparameterization_gradients",
         lambda: {"f": square, "mean": t(0.1, -0.2), "log_var": t(0.0, -1.0), "n_samples": 3, "generator": seeded()}),
    Case(f"{M}.estimators.score_function_gradients",
         lambda: {"f": square, "mean": t(0.1, -0.2), "log_var": t(0.0, -1.0), "n_samples": 3, "generator": seeded(),
                  "baseline": 0.5},
         allow={"baseline:negative": "any constant baseline keeps the estimate unbiased"}),
    # gan_losses
    Case(f"{M}.gan_losses.discriminator_loss", lambda: {"real_logits": t(0.5, -1.0), "fake_logits": t(-0.3, 2.0), "kind": "standard"},
         allow={**training("real_logits", "fake_logits"),
                **allow("each sample set of any shape is averaged on its own", "real_logits:rank", "real_logits:size",
                        "fake_logits:rank", "fake_logits:size")}),
    Case(f"{M}.gan_losses.generator_loss", lambda: {"fake_logits": t(-0.3, 2.0), "kind": "non_saturating"},
         allow={**training("fake_logits"), **allow(ANY_SHAPE, "fake_logits:rank", "fake_logits:size")}),
    Case(f"{M}.gan_losses.optimal_discriminator", lambda: {"q": t(0.2, 0.8), "p": t(0.5, 0.5)}),
    Case(f"{M}.gan_losses.discriminator_value", lambda: {"q": t(0.2, 0.8), "p": t(0.5, 0.5), "d": t(0.3, 0.6)}),
    Case(f"{M}.gan_losses.jensen_shannon", lambda: {"q": t(0.2, 0.8), "p": t(0.5, 0.5)}),
    Case(f"{M}.gan_losses.value_at_optimal_discriminator", lambda: {"q": t(0.2, 0.8), "p": t(0.5, 0.5)}),
    Case(f"{M}.gan_losses.balanced_domain_accuracy", lambda: {"source_logits": t(0.5, -1.0), "target_logits": t(-0.3, 2.0)},
         allow={**training("source_logits", "target_logits"),
                **allow("each domain's logits of any shape are averaged on their own", "source_logits:rank",
                        "source_logits:size", "target_logits:rank", "target_logits:size")}),
    # gaussians
    Case(f"{M}.gaussians.diag_gaussian_log_prob", lambda: {"x": t(0.3, -1.0), "mean": t(0.0, 0.5), "log_var": t(0.0, -0.5)},
         allow=allow(BROADCAST, "x:rank", "mean:rank", "log_var:rank")),
    Case(f"{M}.gaussians.diag_gaussian_entropy", lambda: {"log_var": t(0.0, -0.5)},
         allow=allow("the last axis is the event of any size, leading axes are a batch", "log_var:rank", "log_var:size")),
    Case(f"{M}.gaussians.reparameterize", lambda: {"mean": t(0.0, 0.5), "log_var": t(0.0, -0.5), "n_samples": 2,
                                                  "generator": seeded()},
         allow=training("mean", "log_var")),
    Case(f"{M}.gaussians.kl_diag_gaussians", lambda: {"mean_q": t(0.0, 0.5), "log_var_q": t(0.0, -0.5), "mean_p": t(0.1, 0.0),
                                                     "log_var_p": t(0.2, 0.0)},
         allow={**training("mean_q", "log_var_q", "mean_p", "log_var_p"),
                **allow(BROADCAST, "mean_q:rank", "log_var_q:rank", "mean_p:rank", "log_var_p:rank")}),
    Case(f"{M}.gaussians.kl_diag_gaussian_std_normal", lambda: {"mean": t(0.0, 0.5), "log_var": t(0.0, -0.5)},
         allow=training("mean", "log_var")),
    Case(f"{M}.gaussians.batch_moments", lambda: {"z": codes()}, allow=allow("any width J", "z:size")),
    Case(f"{M}.gaussians.kl_full_gaussians", pair),
    Case(f"{M}.gaussians.wasserstein2_gaussians_sq", pair),
    Case(f"{M}.gaussians.jensen_shannon_gaussians", lambda: {**pair(), "n_samples": 8, "generator": seeded()}),
    Case(f"{M}.gaussians.gaussian_midpoint_jensen_shannon", pair),
    Case(f"{M}.gaussians.soft_clamp_log_var", lambda: {"raw": t(-3.0, 0.0, 4.0), "low": -10.0, "high": 5.0},
         allow={**training("raw"), **allow(ANY_SHAPE, "raw:rank", "raw:size"),
                "low:negative": "low must be negative: -1 is a valid lower bound"}),
    Case(f"{M}.gaussians.gaussian_entropy", lambda: {"cov": pair()["cov1"]}),
    Case(f"{M}.gaussians.gaussian_cross_entropy", pair),
    Case(f"{M}.gaussians.expected_conditional_cross_entropy", conditional_entropy_inputs),
    Case(f"{M}.gaussians.condition_gaussian",
         lambda: {"mean_a": t(0.1, 0.2), "mean_b": t(-0.3), "cov_aa": torch.tensor([[1.0, 0.1], [0.1, 0.8]]),
                  "cov_ab": torch.tensor([[0.3], [0.2]]), "cov_bb": torch.tensor([[1.5]])}),
    # kernels
    Case(f"{M}.kernels.rbf_kernel", lambda: {"a": codes(), "b": codes()[:3], "bandwidth": 1.5}, allow=training("a", "b")),
    Case(f"{M}.kernels.imq_kernel", lambda: {"a": codes(), "b": codes()[:3], "scale": 2.0}, allow=training("a", "b")),
    Case(f"{M}.kernels.default_imq_scale", lambda: {"latent_dim": 4, "prior_var": 0.5}),
    Case(f"{M}.kernels.mmd_squared", lambda: {"x": codes(), "y": codes()[:3], "kernel": "imq", "unbiased": True, "scale": 2.0},
         allow=training("x", "y")),
    # likelihoods
    Case(f"{M}.likelihoods.squared_error", lambda: {"x": images(), "mean": images().flip(0), "event_dims": 1},
         allow={**training("mean"), **allow(BROADCAST, "x:rank", "mean:rank")}),
    Case(f"{M}.likelihoods.gaussian_log_likelihood_constant", lambda: {"dim": 3, "variance": 0.5}),
    Case(f"{M}.likelihoods.gaussian_log_likelihood", lambda: {"x": images(), "mean": images().flip(0), "variance": 0.5,
                                                             "event_dims": 1},
         allow={**training("mean"), **allow(BROADCAST, "x:rank", "mean:rank")}),
    Case(f"{M}.likelihoods.bernoulli_log_likelihood", lambda: {"x": images(), "logits": images() - 0.5, "event_dims": 1},
         allow={**training("logits"), **allow(BROADCAST, "x:rank", "logits:rank")}),
    Case(f"{M}.likelihoods.laplace_log_likelihood", lambda: {"x": images(), "loc": images().flip(0), "scale": 0.5,
                                                            "event_dims": 1},
         allow={**training("loc"), **allow(BROADCAST, "x:rank", "loc:rank")}),
    # modulation
    Case(f"{M}.modulation.check_gammas", lambda: {"gamma1": 1.0, "gamma2": 0.1}),
    Case(f"{M}.modulation.modulated_gaussian", lambda: {**vectors("mean", "log_var", "h"), "gamma1": 1.0, "gamma2": 0.1},
         allow={**training("mean", "log_var", "h"), **allow(BROADCAST, "mean:rank", "log_var:rank", "h:rank")}),
    Case(f"{M}.modulation.modulation_moments", lambda: {**vectors("mean", "std", "h_mean", "h_std"), "gamma1": 1.0, "gamma2": 0.1},
         allow=allow(BROADCAST, "mean:rank", "std:rank", "h_mean:rank", "h_std:rank")),
    Case(f"{M}.modulation.idealized_transfer_moments", lambda: {**vectors("mean_s", "std_s", "mean_t", "std_t"), "gamma1": 1.0},
         allow=allow(BROADCAST, "mean_s:rank", "std_s:rank", "mean_t:rank", "std_t:rank")),
    Case(f"{M}.modulation.domain_kl", lambda: vectors("mean_a", "std_a", "mean_b", "std_b"),
         allow=allow(BROADCAST, "mean_a:rank", "std_a:rank", "mean_b:rank", "std_b:rank")),
    Case(f"{M}.modulation.full_modulation_kl_ratio", lambda: {"gamma1": 0.8}),
    Case(f"{M}.modulation.full_modulation_kl", lambda: {"mean_s": t(0.1, -0.4, 0.3), "mean_t": t(-0.2, 0.0, 0.6), "std_t": t(0.7, 1.5, 0.9),
                                                      "gamma1": 0.8},
         allow=allow(BROADCAST, "mean_s:rank", "mean_t:rank", "std_t:rank")),
    Case(f"{M}.modulation.partial_modulation_moments", lambda: {**vectors("mean_s", "std_s", "mean_t", "std_t"), "variant": "pm1"},
         allow=allow(BROADCAST, "mean_s:rank", "std_s:rank", "mean_t:rank", "std_t:rank")),
    Case(f"{M}.modulation.symmetric_kl", lambda: vectors("mean_a", "std_a", "mean_b", "std_b"),
         allow=allow(BROADCAST, "mean_a:rank", "std_a:rank", "mean_b:rank", "std_b:rank")),
    Case(f"{M}.modulation.symmetric_kl_lower_bound", lambda: vectors("mean_s", "std_s", "mean_t", "std_t"),
         allow=allow(BROADCAST, "mean_s:rank", "std_s:rank", "mean_t:rank", "std_t:rank")),
    Case(f"{M}.modulation.pm1_symmetric_kl", lambda: vectors("mean_s", "std_s", "mean_t", "std_t"),
         allow=allow(BROADCAST, "mean_s:rank", "std_s:rank", "mean_t:rank", "std_t:rank")),
    Case(f"{M}.modulation.transfer_latents",
         lambda: {**vectors("mean_s", "log_var_s", "h_s"), "mean_t": t(0.3, 0.1, -0.2), "log_var_t": t(0.0, -0.3, 0.2),
                  "h_t": t(0.5, 0.4, 0.9), "gamma1": 1.0, "gamma2": 0.1, "modulation": "full"},
         allow=training("mean_s", "log_var_s", "h_s", "mean_t", "log_var_t", "h_t")),
    # schedules
    Case(f"{M}.schedules.grl_schedule", lambda: {"progress": 0.5, "gamma": 10.0}),
    Case(f"{M}.schedules.dann_learning_rate", lambda: {"progress": 0.5, "lr0": 0.01, "alpha": 10.0, "beta": 0.75}),
    Case(f"{M}.schedules.annealed_lr_factor", lambda: {"steps": 10}),
    Case(f"{M}.schedules.grl_ramp", lambda: {"lambda_max": 1.0, "steps": 10, "gamma": 10.0}),
    *cases_maths_models.CASES,
]
EXEMPT: dict[str, str] = {
    f"{M}.gaussians.Gaussian": "a NamedTuple record without behaviour; the functions that take one validate its fields",
    f"{M}.gaussians.LinearGaussianConditional": "a NamedTuple record without behaviour; the functions that take one "
                                                "validate its fields",
    **cases_maths_models.EXEMPT,
}
