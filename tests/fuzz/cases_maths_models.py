"""Fuzz cases of the exact models of gi_core.maths (exact_models, joint_kl, mutual_information, linear_gaussian)."""

from __future__ import annotations

import torch

from gi_core.maths.cluster_models import DiscreteClusterModel
from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel
from gi_core.maths.joint_kl import PRIOR_KL, RECONSTRUCTION_X
from gi_core.maths.linear_gaussian import LinearGaussianModel
from tests.fuzz.harness import Case
from tests.fuzz.tiny_nets import seeded

F64 = torch.float64
M = "gi_core.maths"


def cluster_fields() -> dict:
    g = seeded()

    def table(*shape: int) -> torch.Tensor:
        t = torch.rand(*shape, generator=g, dtype=F64) + 0.1
        return t / t.sum(-1, keepdim=True)

    return {"q_x": table(3), "q_z_given_x": table(3, 2), "q_y_given_z": table(2, 2), "p_y": table(2),
            "p_z_given_y": table(2, 2), "p_x_given_zy": table(2, 2, 3)}


def cluster() -> DiscreteClusterModel:
    return DiscreteClusterModel(**cluster_fields())


CLUSTER_FUNCTIONS = ("vade_loss", "inverse_kl_terms", "vade_y_posterior_term", "forward_kl_terms", "mpcc_losses")
CLUSTER_INFORMATION_FUNCTIONS = ("cluster_mutual_informations", "vade_information_terms", "mpcc_information_terms")


def discrete() -> DiscreteGIModel:
    return DiscreteGIModel.random(2, 3, generator=seeded())


def gaussian() -> GaussianGIModel:
    return GaussianGIModel.random(2, 1, generator=seeded())


def linear() -> LinearGaussianModel:
    return LinearGaussianModel.random(2, 3, 0.5, generator=seeded())


def discrete_fields() -> dict:
    model = discrete()
    return {name: getattr(model, name) for name in ("q_x", "q_z_given_x", "p_z", "p_x_given_z")}


def gaussian_fields() -> dict:
    model = gaussian()
    return {name: getattr(model, name) for name in model.__dataclass_fields__}


def codes() -> dict:
    return {"mean": torch.tensor([[0.1, -0.3], [0.5, 0.2], [-0.4, 0.1], [0.2, 0.6]]),
            "log_var": torch.tensor([[-1.0, -0.5], [-0.2, -1.5], [0.1, -0.3], [-0.7, 0.0]])}


def x_batch() -> torch.Tensor:
    return torch.randn(4, 3, generator=seeded(), dtype=F64)


def q_batch() -> dict:
    return {"x": x_batch(), "q_mean": torch.randn(4, 2, generator=seeded(), dtype=F64),
            "q_log_var": torch.randn(4, 2, generator=seeded(), dtype=F64) * 0.1}


NO_ARGUMENTS = ("h_q_x", "h_q_z", "h_q_z_given_x", "p_joint", "p_x", "q_joint", "q_x_given_z", "q_z", "reverse_terms", "swapped")
GAUSSIAN_ONLY = ("p_x_given_z", "p_z", "q_x", "q_z_given_x")
MI_FUNCTIONS = ("inference_mi_terms", "generative_mi_terms", "inference_mi_from_kls", "generative_mi_from_kls")
CASES: list[Case] = [
    # cluster_models
    Case(f"{M}.cluster_models.DiscreteClusterModel", cluster_fields),
    *(Case(f"{M}.cluster_models.DiscreteClusterModel.{name}", dict, instance=cluster) for name in ("q_joint", "p_joint")),
    *(Case(f"{M}.cluster_models.{name}", lambda: {"model": cluster()}) for name in CLUSTER_FUNCTIONS),
    # cluster_information
    *(Case(f"{M}.cluster_information.{name}", lambda: {"model": cluster()}) for name in CLUSTER_INFORMATION_FUNCTIONS),
    # exact_models
    Case(f"{M}.exact_models.DiscreteGIModel", discrete_fields),
    Case(f"{M}.exact_models.DiscreteGIModel.random", lambda: {"num_x": 2, "num_z": 3, "scale": 1.5, "generator": seeded()},
         allow={"scale:negative": "a negative scale flips the logits: the tables stay strictly positive"}),
    *(Case(f"{M}.exact_models.DiscreteGIModel.{name}", dict, instance=discrete) for name in NO_ARGUMENTS),
    Case(f"{M}.exact_models.GaussianGIModel", gaussian_fields),
    Case(f"{M}.exact_models.GaussianGIModel.random", lambda: {"data_dim": 2, "latent_dim": 1, "noise": 0.1, "generator": seeded()}),
    *(Case(f"{M}.exact_models.GaussianGIModel.{name}", dict, instance=gaussian) for name in NO_ARGUMENTS + GAUSSIAN_ONLY),
    Case(f"{M}.exact_models.check_gi_model", lambda: {"model": discrete()}),
    # joint_kl
    Case(f"{M}.joint_kl.FamilyForm", lambda: {"divergence": "reverse", "form": "4.3", "kept": (RECONSTRUCTION_X, PRIOR_KL),
                                              "replaced": (), "dropped": ("-h_q(x)",)}),
    Case(f"{M}.joint_kl.reverse_kl_terms", lambda: {"model": gaussian(), "form": "4.4"}),
    Case(f"{M}.joint_kl.forward_kl_terms", lambda: {"model": discrete(), "form": "4.9"}),
    Case(f"{M}.joint_kl.reverse_kl", lambda: {"model": discrete()}),
    Case(f"{M}.joint_kl.forward_kl", lambda: {"model": gaussian()}),
    # mutual_information
    *(Case(f"{M}.mutual_information.{name}", lambda: {"model": gaussian()}) for name in MI_FUNCTIONS),
    Case(f"{M}.mutual_information.mi_bound_terms", lambda: {"model": discrete(), "restriction": 0.5, "side": "p"}),
    Case(f"{M}.mutual_information.Restriction",
         lambda: {"model": "VAE", "bound": "I_q", "group": "match q(z|x), p(z)", "likelihood": RECONSTRUCTION_X,
                  "restriction": PRIOR_KL, "bibtex_key": "kingma2014vae"},
         allow=dict.fromkeys(("model:unknown", "restriction:unknown", "bibtex_key:unknown"), "free text")),
    Case(f"{M}.mutual_information.restriction_table", dict),
    Case(f"{M}.mutual_information.check_codes", codes),
    Case(f"{M}.mutual_information.expected_kl_to_prior", codes),
    Case(f"{M}.mutual_information.aggregate_gaussian", lambda: {**codes(), "moments": "aggregate"}),
    Case(f"{M}.mutual_information.marginal_kl_to_prior", lambda: {**codes(), "moments": "means"}),
    Case(f"{M}.mutual_information.estimated_mutual_information", lambda: {**codes(), "moments": "aggregate"}),
    # linear_gaussian
    Case(f"{M}.linear_gaussian.LinearGaussianModel",
         lambda: {"weight": linear().weight, "bias": linear().bias, "noise_std": 0.5},
         allow={"weight:size": "any latent dimension J (the columns of weight)"}),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.random",
         lambda: {"latent_dim": 2, "data_dim": 3, "noise_std": 0.5, "generator": seeded(), "dtype": F64}),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.marginal_covariance", dict, instance=linear),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.log_marginal", lambda: {"x": x_batch()}, instance=linear),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.posterior", lambda: {"x": x_batch()}, instance=linear),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.elbo", q_batch, instance=linear),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.kl_to_posterior", q_batch, instance=linear),
    Case(f"{M}.linear_gaussian.LinearGaussianModel.sample", lambda: {"n": 3, "generator": seeded()}, instance=linear),
]
EXEMPT: dict[str, str] = {
    f"{M}.exact_models.ReverseKLTerms": "a NamedTuple of results that the models return; it has no behaviour",
}
