r"""Learnable priors :math:`p(z)` with parameters and no loss of their own."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from gi_core.maths.gaussians import diag_gaussian_log_prob, reparameterize, soft_clamp_log_var
from gi_core.validation import check_generator, check_positive_int, check_real, check_tensor


class GaussianMixturePrior(nn.Module):
    r"""Learnable mixture prior :math:`p(z)=\sum_k \pi_k\,\mathcal N(z;\mu_k,\operatorname{diag}\sigma_k^2)`.

    The prior of VaDE and MPCC (Astorga 2021, Ch. 7: :math:`p(y)=\mathrm{Cat}(\pi)`,
    :math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`) and of AVDA (Pérez Carrasco's thesis, Eq. 3.1).
    Parameters: ``logits`` (K,) of :math:`\pi` (start uniform), ``means`` (K, J) (standard normal
    draws times ``mean_scale``) and ``raw_log_vars`` (K, J), mapped through :func:`soft_clamp_log_var`
    with ``log_var_bounds`` (start at unit variance). Freeze ``logits`` to keep :math:`\pi` fixed
    (MPCC uses a uniform :math:`\pi`).
    """

    def __init__(
        self,
        num_components: int,
        latent_dim: int,
        mean_scale: float = 1.0,
        log_var_bounds: tuple[float, float] = (-10.0, 5.0),
        generator: torch.Generator | None = None,
        dtype: torch.dtype | None = None,
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
        """Bounded component log-variances, shape (K, J)."""
        return soft_clamp_log_var(self.raw_log_vars, *self.log_var_bounds)

    @property
    def log_weights(self) -> Tensor:
        r""":math:`\log\pi_k`, shape (K,)."""
        return torch.log_softmax(self.logits, dim=-1)

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

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        r"""Draw ``n`` samples ``(n, J)``: :math:`y\sim\mathrm{Cat}(\pi)`, :math:`z=\mu_y+\sigma_y\odot\varepsilon`.

        Reparameterized in the means and log-variances (not in :math:`\pi`); ``generator`` must live on
        the parameters' device.
        """
        check_positive_int(n, "n")
        check_generator(generator, "generator")
        labels = torch.multinomial(torch.softmax(self.logits, dim=-1), n, replacement=True, generator=generator)
        return reparameterize(self.means[labels], self.log_vars[labels], generator=generator)
