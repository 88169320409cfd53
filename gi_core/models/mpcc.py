r"""MPCC, Matching Priors and Conditionals for Clustering (Astorga 2021, §7.2, Algorithm 1), and its builder.

A GAN whose prior is a learnable Gaussian mixture, :math:`p(y)=\mathrm{Cat}(\phi)`,
:math:`p(z|y)=\mathcal N(\mu_y,\operatorname{diag}\sigma_y^2)`, beside an encoder :math:`q(z|x)` whose codes are
clustered by the mixture's responsibilities :math:`q(y|z)` (Eq. 7.15). Four terms, four optimizers:

* ``discriminator_loss``, the hinge loss of Loss I (discriminator, shared blocks included);
* ``generator_loss``, the hinge generator loss :math:`-\mathbb E[D(\tilde x)]` (generator and the mixture's means and
  variances, which receive it through :math:`z=\mu_y+\sigma_y\odot\varepsilon`), at rate :math:`\eta`;
* ``loss``, Eq. 7.13 (encoder, shared blocks included): an iteration ends with an encoder update, so the trainer's
  log and progress bar, read at the end of an iteration, show this term;
* ``prior_loss``, Eq. 7.14 + :math:`\lambda_p` Eq. 7.16 with its entropy term scaled by :math:`1/J` (the mixture's
  means and variances), at its own rate :math:`\eta_p`.

**Algorithm 1 as trainer steps.** One iteration is ``d_steps`` discriminator updates, one generator update and
``e_steps`` encoder updates, the prior's update joining the first of them; each update draws its own
:math:`y\sim p(y)`, :math:`z\sim p(z|y)` and the discriminator's each take a fresh batch of data. The model makes
each update one step of :class:`gi_core.trainer.Trainer`: the trainer's schedule ``"phase"``
(:meth:`MPCC.phase_schedule`, step mod ``d_steps + 1 + e_steps``) tells :meth:`MPCC.training_loss` which update
this step is, and that update's terms are computed; every other optimizer's term is a *resting* term, a fresh zero
from which no parameter can be reached, so the trainer's update gives that optimizer no gradient at all and Adam
leaves its parameters, moments and step counts untouched (not a zero-gradient step, which would decay the moments).
So a run of ``T`` iterations is ``T * steps_per_iteration`` trainer steps, checkpoints resume bitwise at any step,
and the trainer's NaN guard names the step (iteration ``step // steps_per_iteration``, phase ``step %
steps_per_iteration``) and the term. The data batches of the generator and encoder steps are drawn but unused.
The mixture weights :math:`\phi` are in no optimizer (the thesis keeps them uniform). No EMA of the generator is
kept, and sampling uses the batch norms' running statistics (not BigGAN's standing statistics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from gi_core.batching import apply_in_batches, eval_mode
from gi_core.maths.gan_losses import discriminator_loss, generator_loss
from gi_core.maths.mpcc_objective import (latent_cycle_nll, mixture_log_responsibilities, prior_negative_entropy,
                                          sampled_label_cross_entropy)
from gi_core.nets.conditional_resnets import ClassConditionalGenerator, SharedDiscriminatorEncoder
from gi_core.nets.priors import GaussianMixturePrior
from gi_core.trainer import parameter_groups
from gi_core.validation import (check_batch, check_generator, check_instance, check_non_negative_int,
                                check_positive_int, check_real, check_sizes, check_str)

TERMS = ("discriminator_loss", "generator_loss", "loss", "prior_loss")
"""The minimised terms, one optimizer each (see the module docstring)."""


def _resting_term(like: Tensor) -> Tensor:
    """A zero scalar that requires a gradient but reaches no parameter: the term of an optimizer that rests this step."""
    return torch.zeros((), dtype=like.dtype, device=like.device, requires_grad=True)


class MPCC(nn.Module):
    r"""MPCC (Astorga 2021, §7.2) on a class-conditional ``generator`` :math:`G(z,y)`, a ``critic`` holding the
    discriminator and the encoder with shared blocks, and a Gaussian-mixture ``prior`` (its ``variance_floor`` is the
    thesis's :math:`\sigma_{\min}`).

    ``lambda_p`` weighs Loss III (0.01 in the thesis); ``d_steps``/``e_steps`` are Algorithm 1's counts (4 and 4).
    Train with ``Trainer(model, optimizers, x, batch, schedules={"phase": model.phase_schedule()})``
    (:class:`gi_core.trainer.Trainer`); each trainer step is one update of Algorithm 1 (module docstring).
    """

    def __init__(self, generator: ClassConditionalGenerator, critic: SharedDiscriminatorEncoder,
                 prior: GaussianMixturePrior, lambda_p: float = 0.01, d_steps: int = 4, e_steps: int = 4) -> None:
        super().__init__()
        check_instance(generator, ClassConditionalGenerator, "generator")
        check_instance(critic, SharedDiscriminatorEncoder, "critic")
        check_instance(prior, GaussianMixturePrior, "prior")
        if (generator.num_classes, generator.latent_dim) != (prior.num_components, prior.latent_dim) \
                or critic.latent_dim != prior.latent_dim or generator.output_shape != critic.input_shape:
            raise ValueError("generator, critic and prior disagree: generator (K, J, image) = "
                             f"({generator.num_classes}, {generator.latent_dim}, {generator.output_shape}), critic "
                             f"(J, image) = ({critic.latent_dim}, {critic.input_shape}), prior (K, J) = "
                             f"({prior.num_components}, {prior.latent_dim})")
        self.generator, self.critic, self.prior = generator, critic, prior
        self.lambda_p = check_real(lambda_p, "lambda_p", minimum=0.0)
        self.d_steps = check_positive_int(d_steps, "d_steps")
        self.e_steps = check_positive_int(e_steps, "e_steps")
        self.data_dim = generator.output_shape[0] * generator.output_shape[1] * generator.output_shape[2]
        self.phase = 0

    @property
    def steps_per_iteration(self) -> int:
        """Trainer steps per iteration of Algorithm 1: ``d_steps + 1 + e_steps``."""
        return self.d_steps + 1 + self.e_steps

    def phase_schedule(self) -> Callable[[int], float]:
        """The trainer's ``"phase"`` schedule: step ``s`` is update ``s % steps_per_iteration`` of its iteration."""
        period = self.steps_per_iteration
        return lambda step: float(step % period)

    def phase_name(self, phase: int) -> str:
        """``"discriminator"``, ``"generator"``, ``"encoder_and_prior"`` (first encoder update) or ``"encoder"``."""
        if check_non_negative_int(phase, "phase") >= self.steps_per_iteration:
            raise ValueError(f"phase must lie in 0..{self.steps_per_iteration - 1}, got {phase}")
        if phase < self.d_steps:
            return "discriminator"
        if phase == self.d_steps:
            return "generator"
        return "encoder_and_prior" if phase == self.d_steps + 1 else "encoder"

    def set_coefficient(self, name: str, value: float) -> None:
        """Set the update of Algorithm 1 that the next :meth:`training_loss` computes (``name`` ``"phase"``)."""
        if check_str(name, "name") != "phase":
            raise ValueError(f"name must be 'phase', MPCC's one scheduled coefficient; got {name!r}")
        number = check_real(value, "value", minimum=0.0)
        if number != int(number) or number >= self.steps_per_iteration:
            raise ValueError(f"value must be an integer phase in 0..{self.steps_per_iteration - 1}, got {value}")
        self.phase = int(number)

    def parameters_by_loss(self) -> dict[str, list[nn.Parameter]]:
        """The parameters each term's optimizer moves (the shared blocks in two of them, the mixture in two)."""
        mixture = [self.prior.means, self.prior.raw_log_vars]
        groups = parameter_groups(discriminator_loss=self.critic.discriminator_modules(), generator_loss=[self.generator],
                                  loss=self.critic.encoder_modules())
        return {"discriminator_loss": groups["discriminator_loss"], "generator_loss": groups["generator_loss"] + mixture,
                "loss": groups["loss"], "prior_loss": list(mixture)}

    def log_responsibilities(self, z: Tensor) -> Tensor:
        r""":math:`\log q(y|z)` ``(n, K)`` for codes ``(n, J)`` (Eq. 7.15 in log space)."""
        prior = self.prior
        return mixture_log_responsibilities(z, prior.means, prior.log_vars, prior.log_weights)

    def prior_objective(self, labels: Tensor, z: Tensor) -> Tensor:
        r"""The prior's update: Eq. 7.14 on the drawn ``(labels, z)`` + :math:`\lambda_p` Eq. 7.16 (entropy term / J)."""
        prior = self.prior
        entropy = prior_negative_entropy(prior.log_weights, prior.log_vars, 1.0 / prior.latent_dim)
        return sampled_label_cross_entropy(labels, self.log_responsibilities(z)) + self.lambda_p * entropy

    def training_loss(self, x: Tensor, *unused: Tensor) -> dict[str, Tensor]:
        """The terms of the update :attr:`phase` (the others resting), the phase and the mean prior σ (detached).

        ``x`` is a batch of data images; its size is also the number of prior draws. Labels are ignored."""
        check_batch(x, "x", self.critic.input_shape, like=self.critic, finite=False)
        n = x.shape[0]
        terms = {name: _resting_term(x) for name in TERMS}
        if self.phase < self.d_steps:
            with torch.no_grad():
                labels, z = self.prior.sample_components(n)
                fake = self.generator(z, labels)
            logits = self.critic.discriminate(torch.cat([x, fake]))
            terms["discriminator_loss"] = discriminator_loss(logits[:n], logits[n:], "hinge")
        elif self.phase == self.d_steps:
            labels, z = self.prior.sample_components(n)
            terms["generator_loss"] = generator_loss(self.critic.discriminate(self.generator(z, labels)), "hinge")
        else:
            labels, z = self.prior.sample_components(n)
            with torch.no_grad():
                fake = self.generator(z, labels)
            mean, log_var = self.critic.encode(fake)
            terms["loss"] = latent_cycle_nll(z.detach(), mean, log_var, self.data_dim)
            if self.phase == self.d_steps + 1:
                terms["prior_loss"] = self.prior_objective(labels, z)
        sigma = torch.exp(0.5 * self.prior.log_vars).mean().detach()
        return {**terms, "phase": torch.tensor(float(self.phase), device=x.device), "prior_sigma": sigma}

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Mean and log-variance of q(z|x) for images ``(B, *image_shape)``."""
        return self.critic.encode(x)

    def cluster_probabilities(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        r""":math:`q(y|z=\tilde\mu(x))` ``(N, K)`` at the encoder means (on the CPU), in evaluation mode without gradients."""
        check_batch(x, "x", self.critic.input_shape, like=self.critic)
        with eval_mode(self):
            return apply_in_batches(lambda b: self.log_responsibilities(self.encode(b)[0]).exp(), x, batch_size)

    def assign_clusters(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        r"""Cluster of each image: :math:`\arg\max_k q(y=k|z=\tilde\mu(x))` ``(N,)`` (Eq. 8.1's :math:`c_i`), on the CPU."""
        return self.cluster_probabilities(x, batch_size).argmax(-1)

    def sample(self, n: int, cluster: int | None = None, generator: torch.Generator | None = None) -> Tensor:
        r"""``n`` images :math:`G(z, y)` with :math:`z\sim p(z|y)`, in evaluation mode: :math:`y\sim p(y)`, or
        :math:`y` = ``cluster`` for all. ``generator`` (on the model's device) draws the components and the noise."""
        check_positive_int(n, "n")
        check_generator(generator, "generator")
        with eval_mode(self):
            if cluster is None:
                labels, z = self.prior.sample_components(n, generator)
            else:
                if check_non_negative_int(cluster, "cluster") >= self.prior.num_components:
                    raise ValueError(f"cluster must lie in 0..{self.prior.num_components - 1}, got {cluster}")
                labels = torch.full((n,), cluster, dtype=torch.long, device=self.prior.means.device)
                noise = torch.randn(n, self.prior.latent_dim, generator=generator, dtype=self.prior.means.dtype,
                                    device=self.prior.means.device)
                z = self.prior.means[cluster] + torch.exp(0.5 * self.prior.log_vars[cluster]) * noise
            return self.generator(z, labels)


def build_mpcc(image_shape: Sequence[int] = (1, 32, 32), num_clusters: int = 10, latent_dim: int = 24,
               channels: int = 12, injection: str = "class_embeddings", variance_floor: float = 0.5,
               mean_scale: float = 1.0, lambda_p: float = 0.01, d_steps: int = 4, e_steps: int = 4) -> MPCC:
    r"""MPCC on the networks of Tables 8.1–8.3 (:mod:`gi_core.nets.conditional_resnets`) and a uniform mixture of
    ``num_clusters`` components in :math:`\mathbb R^J` whose means start as standard normal draws times
    ``mean_scale`` (the thesis does not give this initialisation) and whose variances start at
    :math:`1+\sigma_{\min}^2` (``variance_floor`` :math:`\sigma_{\min}`). Defaults: the MNIST setting (method 3,
    C = 12, J = 24). Draws from the global generator (seed it first)."""
    check_sizes(image_shape, "image_shape")
    check_positive_int(num_clusters, "num_clusters", minimum=2)
    critic = SharedDiscriminatorEncoder(image_shape, latent_dim, channels)
    generator = ClassConditionalGenerator(num_clusters, latent_dim, critic.input_shape, channels, injection)
    prior = GaussianMixturePrior(num_clusters, latent_dim, mean_scale=mean_scale, variance_floor=variance_floor)
    return MPCC(generator, critic, prior, lambda_p=lambda_p, d_steps=d_steps, e_steps=e_steps)
