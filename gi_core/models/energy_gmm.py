r"""The energy GMM baseline (DAGMM, Zong et al. 2018) on LC-VaDE's networks: "Energy GMM (S)" of Astorga 2021, Table 9.4.

DAGMM joins a compression network and an estimation network and scores a sample by its energy under a Gaussian
mixture on the compressed code (Tsang & Schultz 2019 use it on light curves with an RNN autoencoder). Here:

* **compression** (Zong et al., Eq. 1–3): the code :math:`z=[z_c, z_r]` of a curve has :math:`z_c=\tilde\mu(x,t)`,
  the mean of :class:`~gi_core.nets.light_curve_resnets.LightCurveEncoder` (deterministic: no draw), and two
  scale-free reconstruction features of the :class:`~gi_core.nets.light_curve_resnets.InducingPointDecoder`'s GP fit
  :math:`(\hat\mu_j,\hat\sigma_j^2)` at the observed phases: the negative expected Gaussian log-likelihood per
  observed point (Eq. 9.7 divided by :math:`n`), and the relative squared error
  :math:`\sum_j m_j(v_j-\hat\mu_j)^2/\sum_j m_j v_j^2`. (DAGMM's relative Euclidean distance and cosine similarity
  compare :math:`x` with :math:`x'` on one grid; a GP fit of an irregular curve is read through its likelihood, and
  the second feature is the relative Euclidean distance squared. Both are scale-free, so a long curve does not
  weigh more.) The features :math:`f=(m,s,\log_{10}P)` are not part of the code.
* **estimation** (Eq. 4): :math:`\gamma=\mathrm{softmax}(\mathrm{MLP}(z))`, Linear–tanh–Dropout–Linear (Zong et
  al.'s FC(10, tanh)–Drop(0.5)–FC(K, softmax)).
* **objective** (Eq. 7), with the batch's mixture (Eq. 5) and energy (Eq. 6) from :mod:`gi_core.maths.energy_gmm`:
  :math:`\frac1B\sum_b -\log p(x_b|z_{c,b},t_b) + \lambda_1\frac1B\sum_b E(z_b) + \lambda_2 P(\hat\Sigma)`; the
  reconstruction term is the expected Gaussian log-likelihood of Eq. 9.7, summed over observations.

DAGMM is unsupervised: ``training_loss`` takes the chapter's batch (``features``, ``labels``) and reads neither.
After training, :meth:`EnergyGMM.fit_mixture` estimates :math:`\hat\phi,\hat\mu,\hat\Sigma` on the whole training
set (Zong et al.'s test-time mixture) and stores them as buffers; :meth:`EnergyGMM.anomaly_score` is the sample
energy under them (high = anomalous). Both run in evaluation mode (no dropout, the batch norms' running
statistics) and restore the previous mode. The thesis's (S) variant "trained unstably": a diverging network's NaN
reaches the loss (the trainer's guard names it), while a batch mixture whose covariance is finite but singular
even after :math:`\epsilon I` makes :func:`~gi_core.maths.energy_gmm.sample_energy` raise a ``ValueError`` naming
the component.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gi_core.batching import eval_mode
from gi_core.maths.energy_gmm import covariance_penalty, mixture_statistics, sample_energy
from gi_core.maths.likelihoods import expected_gaussian_log_likelihood
from gi_core.nets.light_curve_resnets import InducingPointDecoder, LightCurveEncoder, check_curve_networks, check_curves
from gi_core.validation import check_positive_int, check_real

RECONSTRUCTION_FEATURES = ("nll_per_point", "relative_squared_error")
"""The reconstruction features appended to the encoder mean, in order."""


class EnergyGMM(nn.Module):
    r"""DAGMM on light curves: ``encoder`` (``(phase, value, error, mask) -> (mean, log_var)``), ``decoder``
    (``(z, phase) -> (mean, var)``, with a ``latent_dim``), a K-component mixture (``num_components``) on the
    code of size ``latent_dim + 2``, an estimation MLP of ``hidden`` tanh units with ``dropout``, the weights
    :math:`\lambda_1` (``lambda_energy``) and :math:`\lambda_2` (``lambda_covariance``) of Eq. 7, and ``eps``, the
    :math:`\epsilon I` added to every covariance (see :func:`~gi_core.maths.energy_gmm.mixture_statistics`)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, num_components: int = 4, hidden: int = 10,
                 lambda_energy: float = 0.1, lambda_covariance: float = 0.005, dropout: float = 0.5,
                 eps: float = 1e-6) -> None:
        super().__init__()
        self.latent_dim = check_curve_networks(encoder, decoder)
        self.num_components = check_positive_int(num_components, "num_components")
        check_positive_int(hidden, "hidden")
        self.lambda_energy = check_real(lambda_energy, "lambda_energy", minimum=0.0)
        self.lambda_covariance = check_real(lambda_covariance, "lambda_covariance", minimum=0.0)
        dropout = check_real(dropout, "dropout", minimum=0.0, maximum=1.0)
        if dropout == 1.0:
            raise ValueError("dropout must lie in [0, 1): a rate of 1 drops every unit")
        self.eps = check_real(eps, "eps", minimum=0.0)
        self.encoder, self.decoder = encoder, decoder
        self.code_dim = self.latent_dim + len(RECONSTRUCTION_FEATURES)
        dtype = next(encoder.parameters()).dtype
        self.estimation = nn.Sequential(nn.Linear(self.code_dim, hidden), nn.Tanh(), nn.Dropout(dropout),
                                        nn.Linear(hidden, num_components)).to(dtype)
        k, d = num_components, self.code_dim
        self.register_buffer("mixture_weights", torch.full((k,), 1.0 / k, dtype=dtype))
        self.register_buffer("mixture_means", torch.zeros(k, d, dtype=dtype))
        self.register_buffer("mixture_covariances", torch.eye(d, dtype=dtype).repeat(k, 1, 1))
        self.register_buffer("mixture_fitted", torch.tensor(False))

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """``"loss"``: every parameter (encoder, decoder and estimation network)."""
        return {"loss": list(self.parameters())}

    def compress(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor) -> dict[str, Tensor]:
        r"""The compression network on a batch of curves ``(B, T)``: ``"code"`` :math:`[z_c, z_r]` ``(B, J+2)`` (the
        encoder mean, then :data:`RECONSTRUCTION_FEATURES`) and ``"log_likelihood"`` (Eq. 9.7 at :math:`z_c`,
        summed over the observed points) ``(B,)``; padded entries change neither."""
        check_curves(phase, value, error, mask, self)
        z_c, _ = self.encoder(phase, value, error, mask)
        fit_mean, fit_var = self.decoder(z_c, phase)
        log_likelihood = expected_gaussian_log_likelihood(value, error, fit_mean, fit_var, mask)
        observed = mask.sum(1).to(z_c)
        residual = torch.where(mask, value - fit_mean, torch.zeros_like(fit_mean)).square().sum(1)
        energy = torch.where(mask, value, torch.zeros_like(value)).square().sum(1)
        relative = residual / energy.clamp_min(torch.finfo(z_c.dtype).tiny)
        code = torch.cat([z_c, (-log_likelihood / observed)[:, None], relative[:, None]], dim=1)
        return {"code": code, "log_likelihood": log_likelihood}

    def training_loss(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, features: Tensor,
                      labels: Tensor) -> dict[str, Tensor]:
        r"""Zong et al.'s Eq. 7 on one batch: ``"loss"`` = ``"reconstruction"`` (the batch mean of
        :math:`-\log p(x|z_c,t)`) + :math:`\lambda_1` ``"energy"`` (the batch mean of Eq. 6 under the batch's own
        mixture, Eq. 5) + :math:`\lambda_2` ``"covariance_penalty"``. ``features`` and ``labels`` are not read."""
        compressed = self.compress(phase, value, error, mask)
        code = compressed["code"]
        gamma = torch.softmax(self.estimation(code), dim=1)
        phi, means, covariances = mixture_statistics(code, gamma, self.eps)
        reconstruction = -compressed["log_likelihood"].mean()
        energy = sample_energy(code, phi, means, covariances).mean()
        penalty = covariance_penalty(covariances)
        return {"loss": reconstruction + self.lambda_energy * energy + self.lambda_covariance * penalty,
                "reconstruction": reconstruction, "energy": energy, "covariance_penalty": penalty}

    def _codes_and_memberships(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor,
                               batch_size: int) -> tuple[Tensor, Tensor]:
        check_curves(phase, value, error, mask, self)
        check_positive_int(batch_size, "batch_size")
        codes, gammas = [], []
        with eval_mode(self):
            for i in range(0, phase.shape[0], batch_size):
                part = (t[i:i + batch_size] for t in (phase, value, error, mask))
                code = self.compress(*part)["code"]
                codes.append(code)
                gammas.append(torch.softmax(self.estimation(code), dim=1))
        return torch.cat(codes), torch.cat(gammas)

    def fit_mixture(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor, batch_size: int = 256) -> None:
        r"""Estimate :math:`\hat\phi,\hat\mu,\hat\Sigma` (Eq. 5, plus :math:`\epsilon I`) from the codes and
        memberships of all the given (training) curves, in evaluation mode, ``batch_size`` curves at a time, and
        store them in the buffers ``mixture_weights`` (K,), ``mixture_means`` (K, D), ``mixture_covariances``
        (K, D, D) that :meth:`anomaly_score` reads."""
        codes, gammas = self._codes_and_memberships(phase, value, error, mask, batch_size)
        phi, means, covariances = mixture_statistics(codes, gammas, self.eps)
        self.mixture_weights.copy_(phi)
        self.mixture_means.copy_(means)
        self.mixture_covariances.copy_(covariances)
        self.mixture_fitted.fill_(True)

    def anomaly_score(self, phase: Tensor, value: Tensor, error: Tensor, mask: Tensor,
                      batch_size: int = 256) -> Tensor:
        r"""The sample energy (Eq. 6) of each curve's code under the mixture of :meth:`fit_mixture`, ``(N,)``:
        high means anomalous. Evaluation mode, without gradients, ``batch_size`` curves at a time."""
        if not bool(self.mixture_fitted):
            raise ValueError("the mixture is not fitted: call fit_mixture on the training curves first")
        codes, _ = self._codes_and_memberships(phase, value, error, mask, batch_size)
        return sample_energy(codes, self.mixture_weights, self.mixture_means, self.mixture_covariances)


def energy_gmm_networks(channels: int = 72, latent_dim: int = 12, references: int = 64, inducing: int = 24,
                        kernel_dim: int = 2, kernel: str = "rbf", num_components: int = 4, hidden: int = 10,
                        lambda_energy: float = 0.1, lambda_covariance: float = 0.005, dropout: float = 0.5,
                        eps: float = 1e-6) -> EnergyGMM:
    """The energy GMM with LC-VaDE's networks ("(S)", Table 9.4): the encoder of Table 9.2 (C = ``channels``, R =
    ``references``) to ``latent_dim`` = J (12), the GP decoder with ``latent_dim - kernel_dim`` representation and
    ``kernel_dim`` kernel entries and ``inducing`` points; Zong et al.'s K = 4, 10 hidden units, dropout 0.5,
    lambda_1 = 0.1 and lambda_2 = 0.005."""
    check_positive_int(latent_dim, "latent_dim")
    if check_positive_int(kernel_dim, "kernel_dim") >= latent_dim:
        raise ValueError(f"kernel_dim must be below latent_dim={latent_dim} (the rest is z_rep), got {kernel_dim}")
    decoder = InducingPointDecoder(latent_dim - kernel_dim, kernel_dim, channels, inducing, kernel)
    encoder = LightCurveEncoder(latent_dim, channels, references)
    return EnergyGMM(encoder, decoder, num_components, hidden, lambda_energy, lambda_covariance, dropout, eps)
