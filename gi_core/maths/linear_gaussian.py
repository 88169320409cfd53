r"""A linear-Gaussian latent-variable model, where every quantity of variational inference is exact.

:math:`p(z)=\mathcal N(0,I_J)`, :math:`p(x|z)=\mathcal N(Wz+b,\,s^2I_D)` (probabilistic PCA). It is the
test bed for the identity :math:`\log p(x) = \mathrm{ELBO}(q) + \mathrm{KL}(q(z|x)\,\|\,p(z|x))`
(Astorga 2021, Eq. 2.3–2.4 and Eq. 4.2; Corro and Sebag 2023, §1.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import MultivariateNormal, kl_divergence

from gi_core.maths.gaussians import kl_diag_gaussian_std_normal
from gi_core.maths.likelihoods import gaussian_log_likelihood
from gi_core.validation import check_generator, check_positive_int, check_real, check_same_shape, check_tensor


@dataclass
class LinearGaussianModel:
    r"""Linear-Gaussian model: ``weight`` :math:`W` (D, J), ``bias`` :math:`b` (D,), ``noise_std`` :math:`s`.

    Data ``x`` are ``(B, D)`` batches of the dtype and device of ``weight`` (float64 from :meth:`random`);
    a diagonal Gaussian :math:`q(z|x)` is given by ``q_mean`` and ``q_log_var`` of shape ``(B, J)``.
    """

    weight: Tensor
    bias: Tensor
    noise_std: float

    def __post_init__(self) -> None:
        check_tensor(self.weight, "weight", ndim=2)
        check_tensor(self.bias, "bias", ndim=1)
        if self.bias.shape[0] != self.weight.shape[0]:
            raise ValueError(
                f"bias has {self.bias.shape[0]} entries but weight has shape {tuple(self.weight.shape)} (D, J)"
            )
        if self.bias.dtype != self.weight.dtype or self.bias.device != self.weight.device:
            raise ValueError("bias must have the dtype and device of weight")
        self.noise_std = check_real(self.noise_std, "noise_std", minimum=0.0, strict=True)

    @classmethod
    def random(
        cls,
        latent_dim: int,
        data_dim: int,
        noise_std: float,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> LinearGaussianModel:
        """A model with standard normal entries in ``weight`` and ``bias``."""
        check_positive_int(latent_dim, "latent_dim")
        check_positive_int(data_dim, "data_dim")
        check_generator(generator, "generator")
        weight = torch.randn(data_dim, latent_dim, generator=generator, dtype=dtype)
        bias = torch.randn(data_dim, generator=generator, dtype=dtype)
        return cls(weight, bias, noise_std)

    @property
    def latent_dim(self) -> int:
        """Latent dimension J."""
        return self.weight.shape[1]

    @property
    def data_dim(self) -> int:
        """Data dimension D."""
        return self.weight.shape[0]

    @property
    def noise_var(self) -> float:
        r"""Observation noise variance :math:`s^2`."""
        return self.noise_std**2

    def _check_x(self, x: Tensor) -> None:
        check_tensor(x, "x", ndim=2)
        if x.shape[1] != self.data_dim:
            raise ValueError(f"x must have shape (B, {self.data_dim}), got {tuple(x.shape)}")
        if x.dtype != self.weight.dtype:
            raise ValueError(f"x must have dtype {self.weight.dtype}, got {x.dtype}")

    def _check_q(self, x: Tensor, q_mean: Tensor, q_log_var: Tensor) -> None:
        self._check_x(x)
        check_tensor(q_mean, "q_mean", ndim=2)
        check_tensor(q_log_var, "q_log_var", ndim=2)
        check_same_shape(q_mean=q_mean, q_log_var=q_log_var)
        if q_mean.shape != (x.shape[0], self.latent_dim):
            raise ValueError(
                f"q_mean must have shape (B, J) = ({x.shape[0]}, {self.latent_dim}), got {tuple(q_mean.shape)}"
            )
        for name, t in (("q_mean", q_mean), ("q_log_var", q_log_var)):
            if t.dtype != self.weight.dtype:
                raise ValueError(f"{name} must have dtype {self.weight.dtype}, got {t.dtype}")

    def marginal_covariance(self) -> Tensor:
        r""":math:`WW^\top + s^2 I_D`, the covariance of :math:`p(x)`."""
        eye = torch.eye(self.data_dim, dtype=self.weight.dtype, device=self.weight.device)
        return self.weight @ self.weight.T + self.noise_var * eye

    def log_marginal(self, x: Tensor) -> Tensor:
        r"""Exact :math:`\log p(x) = \log\mathcal N(x; b, WW^\top + s^2I)`, shape ``(B,)``."""
        self._check_x(x)
        return MultivariateNormal(self.bias, covariance_matrix=self.marginal_covariance()).log_prob(x)

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Exact posterior :math:`p(z|x) = \mathcal N(m(x), \Sigma)`: means ``(B, J)``, shared covariance ``(J, J)``.

        .. math:: \Sigma = \big(I_J + W^\top W / s^2\big)^{-1},\qquad m(x) = \Sigma W^\top (x-b)/s^2
        """
        self._check_x(x)
        eye = torch.eye(self.latent_dim, dtype=self.weight.dtype, device=self.weight.device)
        precision = eye + self.weight.T @ self.weight / self.noise_var
        cov = torch.cholesky_inverse(torch.linalg.cholesky(precision))
        mean = (x - self.bias) @ self.weight @ cov / self.noise_var
        return mean, cov

    def elbo(self, x: Tensor, q_mean: Tensor, q_log_var: Tensor) -> Tensor:
        r"""Exact ELBO per sample, shape ``(B,)``, for :math:`q(z|x)=\mathcal N(m, \operatorname{diag} v)`.

        .. math:: \mathbb E_q\log p(x|z) = -\frac D2\log(2\pi s^2)
            - \frac{\|x - Wm - b\|^2 + \sum_j v_j\|W_{:,j}\|^2}{2s^2},

        minus :math:`\mathrm{KL}(q\,\|\,\mathcal N(0,I))` (Astorga 2021, Eq. 2.4–2.5).
        """
        self._check_q(x, q_mean, q_log_var)
        column_norms = self.weight.square().sum(0)
        spread = torch.exp(q_log_var) @ column_norms / (2.0 * self.noise_var)
        fit = gaussian_log_likelihood(x, q_mean @ self.weight.T + self.bias, self.noise_var)
        return fit - spread - kl_diag_gaussian_std_normal(q_mean, q_log_var)

    def kl_to_posterior(self, x: Tensor, q_mean: Tensor, q_log_var: Tensor) -> Tensor:
        r"""Exact :math:`\mathrm{KL}(q(z|x)\,\|\,p(z|x))` per sample, shape ``(B,)``; equals ``log_marginal - elbo``."""
        self._check_q(x, q_mean, q_log_var)
        post_mean, post_cov = self.posterior(x)
        q = MultivariateNormal(q_mean, scale_tril=torch.diag_embed(torch.exp(0.5 * q_log_var)))
        return kl_divergence(q, MultivariateNormal(post_mean, covariance_matrix=post_cov))

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Draw ``n`` pairs from :math:`p(x,z)`; returns ``(x, z)`` of shapes ``(n, D)`` and ``(n, J)``."""
        check_positive_int(n, "n")
        check_generator(generator, "generator")
        options = {"generator": generator, "dtype": self.weight.dtype, "device": self.weight.device}
        z = torch.randn(n, self.latent_dim, **options)
        x = z @ self.weight.T + self.bias + self.noise_std * torch.randn(n, self.data_dim, **options)
        return x, z
