"""Tests for gi_core.maths.dirac_gan: the Dirac-GAN vector field, its cycles and their R1-regularized convergence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gi_core.maths.dirac_gan import dirac_gan_trajectory

pytestmark = pytest.mark.usefixtures("one_thread")


def test_dirac_gan_step_follows_the_vector_field() -> None:
    theta, psi, lr, gamma = 0.7, -1.3, 0.05, 0.4
    path = dirac_gan_trajectory(theta, psi, lr, 1, regularization=gamma)
    s = 1.0 / (1.0 + math.exp(-psi * theta))  # sigmoid(psi theta)
    expected = (theta + lr * psi * s, psi - lr * (theta * s + gamma * psi))
    np.testing.assert_allclose(path.numpy(), [[theta, psi], expected], rtol=0, atol=1e-14)
    path = dirac_gan_trajectory(theta, psi, lr, 1, loss="non_saturating")
    assert path[1, 0].item() == pytest.approx(theta + lr * psi * (1.0 - s), abs=1e-14)
    assert dirac_gan_trajectory(theta, psi, lr, 0).shape == (1, 2)


def test_unregularized_dirac_gan_does_not_converge() -> None:
    path = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=500)
    distance = path.norm(dim=1)
    assert distance[-1] > distance[0] and distance.min() >= distance[0] - 1e-12  # spirals outwards
    alternating = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=500, simultaneous=False).norm(dim=1)
    assert alternating.min() > 0.9 * alternating[0]  # keeps circling
    # non-saturating: the continuous field contracts slowly, the discrete steps push out; it settles on
    # a cycle of radius about sqrt(2 lr) instead of reaching the equilibrium
    non_saturating = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=500, loss="non_saturating").norm(dim=1)
    assert non_saturating[-100:].min() > 0.3


@pytest.mark.parametrize("loss", ["standard", "non_saturating"])
@pytest.mark.parametrize("simultaneous", [True, False])
def test_r1_regularized_dirac_gan_converges(loss: str, simultaneous: bool) -> None:
    path = dirac_gan_trajectory(1.0, 1.0, lr=0.1, steps=500, loss=loss, regularization=1.0, simultaneous=simultaneous)
    assert path[-1].norm() < 1e-2 * path[0].norm()


def test_dirac_gan_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown Dirac-GAN loss 'hinge'"):
        dirac_gan_trajectory(1.0, 1.0, 0.1, 10, loss="hinge")
    with pytest.raises(ValueError, match=r"regularization .* must lie in \[0.0, inf\]"):
        dirac_gan_trajectory(1.0, 1.0, 0.1, 10, regularization=-1.0)
    with pytest.raises(ValueError, match=r"lr must lie in \(0.0, inf\)"):
        dirac_gan_trajectory(1.0, 1.0, 0.0, 10)
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        dirac_gan_trajectory(1.0, 1.0, 0.1, 2.5)
