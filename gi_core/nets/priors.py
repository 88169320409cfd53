r"""Learnable priors :math:`p(z)` with parameters and no loss of their own."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from gi_core.maths.gaussians import (diag_gaussian_log_prob, inverse_soft_clamp_log_var, reparameterize,
                                    soft_clamp_log_var)
from gi_core.validation import check_generator, check_positive_int, check_real, check_tensor


class GaussianMixturePrior(nn.Module):
    r"""Learnable mixture prior :math:`p(z)=\sum_k \pi_k\,\mathcal N(z;\mu_k,\operatorname{diag}\sigma_k^2)`.

    The prior of VaDE and MPCC (Astorga 2021, Ch. 7: :math:`p(y)=\mathrm{Cat}(\pi)`,
    :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`) and of AVDA (Pérez Carrasco's thesis, Eq. 3.1).
    Parameters: ``logits`` (K,) of :math:`\pi` (start uniform), ``means`` (K, J) (standard normal
    draws times ``mean_scale``) and ``raw_log_vars`` (K, J), mapped through :func:`soft_clamp_log_var`
    with ``log_var_bounds`` (start at unit variance). Freeze ``logits`` to keep :math:`\pi` fixed
    (MPCC uses a uniform :math:`\pi`).

    ``variance_floor`` :math:`s\ge0` bounds every standard deviation from below (MPCC's :math:`\sigma\ge0.5`):
    :math:`\sigma^2 = s^2 + e^{\ell}` with :math:`\ell` the soft-clamped raw log-variance, so the variance starts
    at :math:`1+s^2`. It is *the* variance of the component, used alike by sampling, densities, responsibilities and
    :meth:`distribution` (and so by the entropies computed from :attr:`log_vars`), so that the responsibilities are the
    exact posterior of the components the samples come from (:mod:`gi_core.maths.mpcc_objective`); the default 0 leaves
    :math:`\sigma^2=e^{\ell}` unchanged.
    """

    def __init__(
        self,
        num_components: int,
        latent_dim: int,
        mean_scale: float = 1.0,
        log_var_bounds: tuple[float, float] = (-10.0, 5.0),
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
        variance_floor: float = 0.0,
    ) -> None:
        super().__init__()
        check_positive_int(num_components, "num_components")
        check_positive_int(latent_dim, "latent_dim")
        check_real(mean_scale, "mean_scale", minimum=0.0)
        if not isinstance(log_var_bounds, (tuple, list)) or len(log_var_bounds) != 2:
            raise TypeError(f"log_var_bounds must be a pair (low, high), got {log_var_bounds!r}")
        low, high = (check_real(bound, "log_var_bounds") for bound in log_var_bounds)
        if not low < 0.0 < high:
            raise ValueError(f"log_var_bounds must satisfy low < 0 < high, got {log_var_bounds}")
        check_generator(generator, "generator")
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be None or a floating torch.dtype, got {dtype!r}")
        self.log_var_bounds = (low, high)
        self.variance_floor = float(check_real(variance_floor, "variance_floor", minimum=0.0))
        self.logits = nn.Parameter(torch.zeros(num_components, dtype=dtype))
        means = torch.randn(num_components, latent_dim, generator=generator, dtype=dtype) * mean_scale
        self.means = nn.Parameter(means)
        self.raw_log_vars = nn.Parameter(torch.zeros(num_components, latent_dim, dtype=dtype))

    @property
    def num_components(self) -> int:
        """Number of mixture components K."""
        return self.means.shape[0]

    @property
    def latent_dim(self) -> int:
        """Latent dimension J."""
        return self.means.shape[1]

    @property
    def log_vars(self) -> Tensor:
        r"""Component log-variances, shape (K, J): :math:`\log(s^2 + e^{\ell})`, :math:`\ell` the soft-clamped raw value
        (:math:`\ell` itself without a floor)."""
        bounded = soft_clamp_log_var(self.raw_log_vars, *self.log_var_bounds)
        if self.variance_floor == 0.0:
            return bounded
        return torch.logaddexp(bounded, torch.tensor(2.0 * math.log(self.variance_floor), dtype=bounded.dtype,
                                                     device=bounded.device))

    @property
    def log_weights(self) -> Tensor:
        r""":math:`\log\pi_k`, shape (K,)."""
        return torch.log_softmax(self.logits, dim=-1)

    @torch.no_grad()
    def set_mixture(self, weights: Tensor, means: Tensor, variances: Tensor) -> None:
        r"""Set :math:`\pi` (``weights`` (K,), positive), the means (K, J) and the variances (K, J) in place, e.g. from a
        Gaussian mixture fitted to encoder codes (VaDE's initialisation, Jiang et al. 2017, §3.3).

        The variances minus the floor :math:`s^2` must lie inside ``exp(log_var_bounds)``; the weights are
        renormalised.
        """
        k, j = self.num_components, self.latent_dim
        for name, t, shape in (("weights", weights, (k,)), ("means", means, (k, j)), ("variances", variances, (k, j))):
            check_tensor(t, name)
            if tuple(t.shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
        if not bool((weights > 0).all()) or not bool((variances > 0).all()):
            raise ValueError("weights and variances must be positive")
        low, high = self.log_var_bounds
        floored = variances.to(self.means) - self.variance_floor**2
        log_vars = torch.log(floored.clamp_min(torch.finfo(floored.dtype).tiny))
        if not bool(((floored > 0) & (log_vars > low) & (log_vars < high)).all()):
            raise ValueError(f"variances must lie in (s² + exp({low}), s² + exp({high})) for the prior's floor "
                             f"s = {self.variance_floor} and log_var_bounds; got "
                             f"[{float(variances.min()):.3g}, {float(variances.max()):.3g}]")
        self.raw_log_vars.copy_(inverse_soft_clamp_log_var(log_vars, *self.log_var_bounds))
        self.means.copy_(means.to(self.means))
        self.logits.copy_(torch.log(weights.to(self.logits) / weights.sum()))

    def _check_z(self, z: Tensor) -> None:
        check_tensor(z, "z")
        if z.dim() < 1 or z.shape[-1] != self.latent_dim:
            raise ValueError(f"z must have last dimension {self.latent_dim}, got shape {tuple(z.shape)}")

    def component_log_prob(self, z: Tensor) -> Tensor:
        r"""Joint :math:`\log \pi_k + \log\mathcal N(z;\mu_k,\sigma_k^2)`: shape ``(..., K)`` for ``z`` ``(..., J)``."""
        self._check_z(z)
        return self.log_weights + diag_gaussian_log_prob(z.unsqueeze(-2), self.means, self.log_vars)

    def log_prob(self, z: Tensor) -> Tensor:
        r""":math:`\log p(z) = \operatorname{logsumexp}_k[\log\pi_k + \log\mathcal N(z;\mu_k,\sigma_k^2)]`: ``(...,)``."""
        return torch.logsumexp(self.component_log_prob(z), dim=-1)

    def responsibilities(self, z: Tensor) -> Tensor:
        r"""Posterior :math:`p(y=k|z) = \pi_k\mathcal N_k(z) / \sum_m \pi_m\mathcal N_m(z)`, shape ``(..., K)``.

        Astorga's (2021) Eq. 7.15 (there with uniform :math:`\pi`); computed as a softmax of the joint log-terms.
        """
        return torch.softmax(self.component_log_prob(z), dim=-1)

    def distribution(self) -> MixtureSameFamily:
        r"""The same mixture as a ``torch.distributions.MixtureSameFamily`` of diagonal Gaussians (the library's form of
        :meth:`log_prob`; its ``sample`` is not reparameterized)."""
        components = Independent(Normal(self.means, torch.exp(0.5 * self.log_vars)), 1)
        return MixtureSameFamily(Categorical(logits=self.logits), components)

    def sample_components(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        r"""Draw ``n`` pairs: the components :math:`y\sim\mathrm{Cat}(\pi)` ``(n,)`` and
        :math:`z=\mu_y+\sigma_y\odot\varepsilon` ``(n, J)``.

        Reparameterized in the means and log-variances (not in :math:`\pi`); ``generator`` must live on
        the parameters' device.
        """
        check_positive_int(n, "n")
        check_generator(generator, "generator")
        labels = torch.multinomial(torch.softmax(self.logits, dim=-1), n, replacement=True, generator=generator)
        return labels, reparameterize(self.means[labels], self.log_vars[labels], generator=generator)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` samples ``(n, J)`` of :math:`p(z)` (:meth:`sample_components` without the components)."""
        return self.sample_components(n, generator)[1]
