"""Astorga's (2021) Ch. 7 identities on random discrete three-variable tables, exactly (float64)."""

import pytest

from gi_core.maths.categorical import categorical_entropy
from gi_core.maths.cluster_models import (DiscreteClusterModel, forward_kl_terms, inverse_kl_terms, mpcc_losses,
                                          vade_loss, vade_y_posterior_term)
from tests.helpers import random_cluster_model as random_model



def joint_kl(a, b):
    return (a * (a.log() - b.log())).sum()


@pytest.mark.parametrize("seed", range(4))
def test_the_inverse_kl_is_the_vade_loss_up_to_the_data_entropy(seed):
    """Eq. 7.2–7.5: KL(q||p) = E_q(x)[log q(x)] + L^VaDE, and the three terms of the chain rule add up to it."""
    model = random_model(seed)
    kl = joint_kl(model.q_joint(), model.p_joint())
    assert kl == pytest.approx(float(-categorical_entropy(model.q_x) + vade_loss(model)), abs=1e-12)
    assert sum(inverse_kl_terms(model).values()) == pytest.approx(float(kl), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_vade_closed_form_of_the_y_term_holds_when_the_decoder_ignores_y(seed):
    vade = random_model(seed, vade=True)
    assert vade_y_posterior_term(vade) == pytest.approx(float(inverse_kl_terms(vade)["y_posterior"]), abs=1e-12)
    general = random_model(seed)  # p(x|z,y) depends on y: the closed form is no longer the term
    assert abs(vade_y_posterior_term(general) - inverse_kl_terms(general)["y_posterior"]) > 1e-3


@pytest.mark.parametrize("seed", range(4))
def test_the_forward_kl_is_mpccs_three_losses_and_the_chain_rule(seed):
    """Eq. 7.9–7.11: KL(p||q) = Loss I + Loss II + Loss III, with no term dropped; Loss III is minus the prior
    entropies."""
    model = random_model(seed)
    kl = joint_kl(model.p_joint(), model.q_joint())
    losses = mpcc_losses(model)
    assert sum(losses.values()) == pytest.approx(float(kl), abs=1e-12)
    assert sum(forward_kl_terms(model).values()) == pytest.approx(float(kl), abs=1e-12)
    prior_entropy = categorical_entropy(model.p_y) + (model.p_y * categorical_entropy(model.p_z_given_y)).sum()
    assert losses["loss_III"] == pytest.approx(float(-prior_entropy), abs=1e-12)


def test_a_perturbed_term_breaks_the_identity():
    model = random_model(0)
    losses = mpcc_losses(model)
    kl = joint_kl(model.p_joint(), model.q_joint())
    assert abs(losses["loss_I"] + losses["loss_II"] - kl) > 1e-3  # Loss III is not a constant to drop


def test_tables_of_the_wrong_shape_are_refused():
    model = random_model(0)
    with pytest.raises(ValueError, match="the tables must have shapes"):
        DiscreteClusterModel(model.q_x, model.q_z_given_x, model.q_y_given_z, model.p_y, model.p_z_given_y,
                             model.p_x_given_zy[:, :, :4] / model.p_x_given_zy[:, :, :4].sum(-1, keepdim=True))
