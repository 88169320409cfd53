"""Every public callable of gi_core, fed bad inputs: each is refused with a clear error, or allowed for a reason.

The callables are enumerated from the package (:func:`tests.fuzz.harness.public_callables`), so a new public
function fails :func:`test_every_public_callable_has_a_case` until it has a case here. For each case the valid
call must work, then every mutation of every argument (wrong type, wrong dtype, NaN, inf, empty, wrong rank or
size, out-of-range numbers, unknown options; see :data:`tests.fuzz.harness.MUST_RAISE`) must raise a
``ValueError``/``TypeError`` from gi_core's own checks, naming the argument, and never an error from inside
torch, numpy, scipy or scikit-learn.

The inputs deliberately allowed are listed below, one per line as ``callable argument:mutation: reason``, in the
order of the cases. The reasons are of a few kinds: a training-path value whose NaN or inf reaches the trainer's
guard (which names the step and the term), a leading axis that broadcasts as documented, a size that is genuinely
free, a seed or count of 0, free text, and a check's own label argument. ``python -m tests.fuzz.test_fuzz``
rewrites the list from the cases' ``allow`` entries (:func:`test_every_allowed_input_is_listed_in_the_docstring`
fails until it is current).

Allowed inputs:

- gi_core.maths.ben_david.symmetric_difference_class hypotheses:size: any number H of labelings of any number X of inputs
- gi_core.maths.bounds.beta_elbo log_likelihood:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.beta_elbo log_likelihood:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.beta_elbo kl:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.beta_elbo kl:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.elbo log_likelihood:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.elbo log_likelihood:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.elbo kl:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.elbo kl:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.wasserstein_restriction codes:size: any latent width J
- gi_core.maths.bounds.jensen_shannon_restriction codes:size: any latent width J
- gi_core.maths.bounds.mmd_restriction prior_samples:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.bounds.mmd_restriction prior_samples:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.categorical.check_probability_table name:type: a label for the error messages: any value is printed as given
- gi_core.maths.categorical.check_probability_table name:unknown: a label for the error messages: any value is printed as given
- gi_core.maths.categorical.categorical_entropy probs:rank: the last axis is the distribution, leading axes are a batch of them
- gi_core.maths.categorical.categorical_kl probs_a:rank: a leading axis broadcasts as documented
- gi_core.maths.categorical.categorical_kl probs_b:rank: a leading axis broadcasts as documented
- gi_core.maths.categorical.conditional_table joint:rank: a joint table of any shape and rank: the axes name what is conditioned
- gi_core.maths.categorical.conditional_table joint:size: a joint table of any shape and rank: the axes name what is conditioned
- gi_core.maths.density_ratio.gaussian_log_ratio q_mean:negative: a location may be any real number
- gi_core.maths.density_ratio.gaussian_log_ratio p_mean:negative: a location may be any real number
- gi_core.maths.density_ratio.gaussian_log_ratio x:rank: any shape: the function is elementwise or averages over every entry
- gi_core.maths.density_ratio.gaussian_log_ratio x:size: any shape: the function is elementwise or averages over every entry
- gi_core.maths.dirac_gan.dirac_gan_trajectory theta0:negative: a starting point may be any real number
- gi_core.maths.dirac_gan.dirac_gan_trajectory psi0:negative: a starting point may be any real number
- gi_core.maths.dirac_gan.dirac_gan_trajectory steps:zero: zero steps give the starting point alone
- gi_core.maths.estimators.score_function_gradients baseline:negative: any constant baseline keeps the estimate unbiased
- gi_core.maths.gan_losses.discriminator_loss real_logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.discriminator_loss real_logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.discriminator_loss fake_logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.discriminator_loss fake_logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.discriminator_loss real_logits:rank: each sample set of any shape is averaged on its own
- gi_core.maths.gan_losses.discriminator_loss real_logits:size: each sample set of any shape is averaged on its own
- gi_core.maths.gan_losses.discriminator_loss fake_logits:rank: each sample set of any shape is averaged on its own
- gi_core.maths.gan_losses.discriminator_loss fake_logits:size: each sample set of any shape is averaged on its own
- gi_core.maths.gan_losses.generator_loss fake_logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.generator_loss fake_logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.generator_loss fake_logits:rank: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gan_losses.generator_loss fake_logits:size: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gan_losses.balanced_domain_accuracy source_logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.balanced_domain_accuracy source_logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.balanced_domain_accuracy target_logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.balanced_domain_accuracy target_logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gan_losses.balanced_domain_accuracy source_logits:rank: each domain's logits of any shape are averaged on their own
- gi_core.maths.gan_losses.balanced_domain_accuracy source_logits:size: each domain's logits of any shape are averaged on their own
- gi_core.maths.gan_losses.balanced_domain_accuracy target_logits:rank: each domain's logits of any shape are averaged on their own
- gi_core.maths.gan_losses.balanced_domain_accuracy target_logits:size: each domain's logits of any shape are averaged on their own
- gi_core.maths.gaussians.diag_gaussian_log_prob x:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.diag_gaussian_log_prob mean:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.diag_gaussian_log_prob log_var:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.diag_gaussian_entropy log_var:rank: the last axis is the event of any size, leading axes are a batch
- gi_core.maths.gaussians.diag_gaussian_entropy log_var:size: the last axis is the event of any size, leading axes are a batch
- gi_core.maths.gaussians.reparameterize mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.reparameterize mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.reparameterize log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.reparameterize log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians mean_q:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians mean_q:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians log_var_q:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians log_var_q:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians mean_p:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians mean_p:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians log_var_p:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians log_var_p:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussians mean_q:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.kl_diag_gaussians log_var_q:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.kl_diag_gaussians mean_p:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.kl_diag_gaussians log_var_p:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussians.kl_diag_gaussian_std_normal mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussian_std_normal mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussian_std_normal log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.kl_diag_gaussian_std_normal log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.batch_moments z:size: any width J
- gi_core.maths.gaussians.soft_clamp_log_var raw:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.soft_clamp_log_var raw:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.soft_clamp_log_var raw:rank: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gaussians.soft_clamp_log_var raw:size: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gaussians.soft_clamp_log_var low:negative: low must be negative: -1 is a valid lower bound
- gi_core.maths.kernels.rbf_kernel a:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.rbf_kernel a:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.rbf_kernel b:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.rbf_kernel b:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.imq_kernel a:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.imq_kernel a:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.imq_kernel b:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.imq_kernel b:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.mmd_squared x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.mmd_squared x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.mmd_squared y:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.kernels.mmd_squared y:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.squared_error mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.squared_error mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.squared_error x:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.squared_error mean:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.gaussian_log_likelihood mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.gaussian_log_likelihood mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.gaussian_log_likelihood x:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.gaussian_log_likelihood mean:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.bernoulli_log_likelihood logits:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.bernoulli_log_likelihood logits:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.bernoulli_log_likelihood x:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.bernoulli_log_likelihood logits:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.laplace_log_likelihood loc:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.laplace_log_likelihood loc:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.laplace_log_likelihood x:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.laplace_log_likelihood loc:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulated_gaussian mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian h:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian h:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.modulated_gaussian mean:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulated_gaussian log_var:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulated_gaussian h:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulation_moments mean:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulation_moments std:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulation_moments h_mean:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.modulation_moments h_std:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.idealized_transfer_moments mean_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.idealized_transfer_moments std_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.idealized_transfer_moments mean_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.idealized_transfer_moments std_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.domain_kl mean_a:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.domain_kl std_a:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.domain_kl mean_b:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.domain_kl std_b:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.full_modulation_kl mean_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.full_modulation_kl mean_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.full_modulation_kl std_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.partial_modulation_moments mean_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.partial_modulation_moments std_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.partial_modulation_moments mean_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.partial_modulation_moments std_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl mean_a:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl std_a:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl mean_b:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl std_b:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl_lower_bound mean_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl_lower_bound std_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl_lower_bound mean_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.symmetric_kl_lower_bound std_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.pm1_symmetric_kl mean_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.pm1_symmetric_kl std_s:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.pm1_symmetric_kl mean_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.pm1_symmetric_kl std_t:rank: a leading axis broadcasts as documented
- gi_core.maths.modulation.transfer_latents mean_s:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents mean_s:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents log_var_s:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents log_var_s:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents h_s:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents h_s:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents mean_t:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents mean_t:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents log_var_t:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents log_var_t:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents h_t:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.modulation.transfer_latents h_t:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.exact_models.DiscreteGIModel.random scale:negative: a negative scale flips the logits: the tables stay strictly positive
- gi_core.maths.mutual_information.Restriction model:unknown: free text
- gi_core.maths.mutual_information.Restriction restriction:unknown: free text
- gi_core.maths.mutual_information.Restriction bibtex_key:unknown: free text
- gi_core.maths.linear_gaussian.LinearGaussianModel weight:size: any latent dimension J (the columns of weight)
- gi_core.nets.encoders.GaussianHead.forward h:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.GaussianHead.forward h:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.MLPEncoder.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.MLPEncoder.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.MLPDecoder.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.MLPDecoder.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.MLPDecoder.forward z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.grouped.GroupedLinear.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.grouped.GroupedLinear.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.grouped.run_slice run:zero: run 0 is the first copy
- gi_core.nets.grouped.run_slice tensor:nan: a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped
- gi_core.nets.grouped.run_slice tensor:inf: a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped
- gi_core.nets.grouped.GroupedMLPEncoder.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.grouped.GroupedMLPEncoder.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.grouped.GroupedMLPDecoder.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.grouped.GroupedMLPDecoder.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.ConvEncoder.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.ConvEncoder.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.ConvDecoder.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.ConvDecoder.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.encoders.ConvDecoder.forward z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.discriminators.JointDiscriminator.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.JointDiscriminator.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.JointDiscriminator.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.JointDiscriminator.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.MLPCritic.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.MLPCritic.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.DomainDiscriminator.forward features:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.discriminators.DomainDiscriminator.forward features:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.gradient_reversal.GradientReversal.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.gradient_reversal.GradientReversal.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.gradient_reversal.GradientReversal.forward x:rank: an identity map: a tensor of any shape passes through unchanged
- gi_core.nets.gradient_reversal.GradientReversal.forward x:size: an identity map: a tensor of any shape passes through unchanged
- gi_core.nets.gradient_reversal.scale_gradient x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.gradient_reversal.scale_gradient x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.gradient_reversal.scale_gradient x:rank: an identity map: a tensor of any shape passes through unchanged
- gi_core.nets.gradient_reversal.scale_gradient x:size: an identity map: a tensor of any shape passes through unchanged
- gi_core.nets.gradient_reversal.scale_gradient factor:negative: a negative factor is the reversal itself (c = -lambda); gradient scaling takes any finite real
- gi_core.nets.lenet.LeNetFeatures.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.lenet.LeNetFeatures.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.priors.GaussianMixturePrior.component_log_prob z:rank: leading axes broadcast, as documented: z (..., J) gives (..., K)
- gi_core.nets.priors.GaussianMixturePrior.log_prob z:rank: leading axes broadcast, as documented: z (..., J) gives (..., K)
- gi_core.nets.priors.GaussianMixturePrior.responsibilities z:rank: leading axes broadcast, as documented: z (..., J) gives (..., K)
- gi_core.nets.resnets.ConditionalBatchNorm2d.forward h:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ConditionalBatchNorm2d.forward h:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ConditionalBatchNorm2d.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ConditionalBatchNorm2d.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ConditionalBatchNorm2d.forward h:size: any spatial size: convolutions, pooling and batch norm do not fix the height and width
- gi_core.nets.resnets.GeneratorBlock.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.GeneratorBlock.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.GeneratorBlock.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.GeneratorBlock.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.GeneratorBlock.forward x:size: any spatial size: convolutions, pooling and batch norm do not fix the height and width
- gi_core.nets.resnets.ResNetGenerator.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetGenerator.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetGenerator.forward z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.resnets.DiscriminatorBlock.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.DiscriminatorBlock.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.DiscriminatorBlock.forward x:size: any spatial size: convolutions, pooling and batch norm do not fix the height and width
- gi_core.nets.resnets.ResNetEncoder.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetEncoder.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ImageFeatures.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ImageFeatures.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetDiscriminator.features x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetDiscriminator.features x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetDiscriminator.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetDiscriminator.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.LatentFeatures.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.LatentFeatures.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetJointDiscriminator.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetJointDiscriminator.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetJointDiscriminator.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.resnets.ResNetJointDiscriminator.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.mean_image output:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.mean_image output:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.mean_image output:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.autoencoder.GaussianAutoencoder.decode z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.decode z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.decode z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.autoencoder.GaussianAutoencoder.log_likelihood output:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.log_likelihood output:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.autoencoder.GaussianAutoencoder.log_likelihood x:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.nets.autoencoder.GaussianAutoencoder.log_likelihood output:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.models.ali.ALI.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.logits x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.logits x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.training_loss x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.training_loss x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.decode z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.decode z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.decode z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.models.ali.ALI.draw z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.draw z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.ali.ALI.draw z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.models.cdlm.CDLMEncoder.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLMEncoder.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.features x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.features x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.generation_code h:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.generation_code h:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.mean_image output:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.mean_image output:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.mean_image output:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.models.cdlm.CDLM.log_likelihood output:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.log_likelihood output:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.training_loss target_x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.cdlm.CDLM.training_loss target_x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.features x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.features x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.training_loss x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.classifier.FeatureClassifier.training_loss x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.domain_logits x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.domain_logits x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.features x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.features x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.training_loss source_x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.training_loss source_x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.training_loss target_x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.dann.DANN.training_loss target_x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.zoo.ZooEntry label:unknown: a display label is free text: any string names the row
- gi_core.models.zoo.ZooModel.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.zoo.ZooModel.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.zoo.ZooModel.decode z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.zoo.ZooModel.decode z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.zoo.ZooModel.decode z:rank: leading sample axes are allowed, as documented (the (K, B, J) draws of the importance-weighted bound)
- gi_core.models.zoo.GroupedZooAutoencoders.run_slice run:zero: run 0 is the first run
- gi_core.models.zoo.GroupedZooAutoencoders.run_slice tensor:nan: a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped
- gi_core.models.zoo.GroupedZooAutoencoders.run_slice tensor:inf: a view of the values as they are: weights or optimizer moments, NaN in the run the guard stopped
- gi_core.models.zoo.GroupedZooAutoencoders.run_model run:zero: run 0 is the first run
- gi_core.metrics.clustering.contingency_table labels:size: any number of classes
- gi_core.metrics.clustering.contingency_table clusters:size: any number of clusters
- gi_core.metrics.clustering.clustering_accuracy labels:size: any number of classes
- gi_core.metrics.clustering.clustering_accuracy clusters:size: any number of clusters
- gi_core.metrics.clustering.purity labels:size: any number of classes
- gi_core.metrics.clustering.purity clusters:size: any number of clusters
- gi_core.metrics.clustering.normalized_mutual_information labels:size: any number of classes
- gi_core.metrics.clustering.normalized_mutual_information clusters:size: any number of clusters
- gi_core.metrics.clustering.adjusted_rand_index labels:size: any number of classes
- gi_core.metrics.clustering.adjusted_rand_index clusters:size: any number of clusters
- gi_core.metrics.clustering.mixture_health responsibilities:size: any number of points and components
- gi_core.metrics.domain.ADistance raw:negative: raw is the unclipped 2(1 - 2 error), negative when the held-out error exceeds one half
- gi_core.metrics.domain.a_distance seed:zero: 0 is a seed like any other
- gi_core.metrics.domain.joint_error seed:zero: 0 is a seed like any other
- gi_core.metrics.domain.feature_a_distance seed:zero: 0 is a seed like any other
- gi_core.metrics.domain.feature_joint_error seed:zero: 0 is a seed like any other
- gi_core.metrics.domain.tsne_coordinates seed:zero: 0 is a seed like any other
- gi_core.metrics.generation.feature_statistics features:size: any feature width F is valid: the statistics are (F,) and (F, F)
- gi_core.metrics.latent.conditional_entropy log_var:size: any latent width J is valid (the entropy sums over it)
- gi_core.metrics.representation.inactive_fraction activations:rank: (N, ...) takes any trailing shape: a leading axis of 1 is one row of N*U units
- gi_core.metrics.representation.inactive_fraction activations:size: any number of units is valid
- gi_core.metrics.translation.translation_diagnosis seed:zero: 0 is a seed like any other
- gi_core.validation.check_label_array y:size: any number of labels: the caller matches them to its features' rows
- gi_core.data.images.DatasetSpec subfolder:unknown: free text, shown in messages and records
- gi_core.data.images.DatasetSpec source:unknown: free text, shown in messages and records
- gi_core.data.images.DatasetSpec licence:unknown: free text, shown in messages and records
- gi_core.data.images.DatasetSpec citation:unknown: free text, shown in messages and records
- gi_core.data.images.ImageData name:unknown: ImageData also holds toy data; a name of DATASETS fixes the image shape and classes
- gi_core.data.images.ImageData source:unknown: free text, shown in messages and records
- gi_core.data.files.verify_checksum dataset:unknown: free text, shown in messages and records
- gi_core.data.files.verify_checksum rebuild:unknown: free text, shown in messages and records
- gi_core.data.files.read_npz dataset:unknown: free text, shown in messages and records
- gi_core.data.files.read_npz rebuild:unknown: free text, shown in messages and records
- gi_core.data.files.read_info where:unknown: free text, shown in messages and records
- gi_core.data.files.check_image_arrays where:unknown: free text, shown in messages and records
- gi_core.data.transforms.binarize x:rank: elementwise: any shape is binarized
- gi_core.data.transforms.binarize x:size: elementwise: any shape is binarized
- gi_core.data.transforms.to_signed_images x:size: any image size: the images are resized (or measured) as they are
- gi_core.data.transforms.prepare_digits x:size: any image size: the images are resized (or measured) as they are
- gi_core.data.transforms.ink_extent x:size: any image size: the images are resized (or measured) as they are
- gi_core.data.transforms.frame_digits x:size: any image size: the images are resized (or measured) as they are
- gi_core.data.domains.paired_domains seed:zero: 0 is a valid seed
- gi_core.data.domains.proportional_subset labels:size: any number of labels: the subset is drawn from those given
- gi_core.data.domains.proportional_subset seed:zero: 0 is a valid seed
- gi_core.experiments.domain_adaptation.DAConfig checkpoint_every:zero: 0: no checkpoints (a run without a run directory)
- gi_core.experiments.domain_adaptation.method_trainer seed:zero: 0 is a seed
- gi_core.experiments.domain_adaptation.train_method seed:zero: 0 is a seed
- gi_core.experiments.domain_adaptation.run_name seed:zero: 0 is a seed
- gi_core.experiments.domain_adaptation.run_methods a_distance_seed:zero: seed 0 is not run here: no run records the A-distance
- gi_core.experiments.domain_adaptation_diagnostics.early_training_trace seed:zero: 0 is a seed
- gi_core.experiments.domain_adaptation_diagnostics.early_training_traces seed:zero: 0 is a seed
- gi_core.experiments.domain_adaptation_diagnostics.early_training_traces result_name:unknown: any plain file stem names the result file
- gi_core.experiments.elbo.ElboConfig seed:zero: 0 is a seed
- gi_core.experiments.joint_kl.RingConfig seed:zero: 0 is a seed
- gi_core.experiments.joint_kl.AVBConfig seed:zero: 0 is a seed
- gi_core.experiments.zoo_training.ZooConfig checkpoint_every:zero: 0: no checkpoints (a run without a run directory)
- gi_core.experiments.zoo_training.ZooConfig group_size:zero: 0: every run trained alone
- gi_core.experiments.zoo_training.ZooData source:unknown: free text: where the images came from
- gi_core.experiments.zoo_training.slug label:unknown: any label with a letter or digit has a file-name-safe slug
- gi_core.experiments.zoo_training.train_model seed:zero: 0 is a seed
- gi_core.experiments.zoo.Evaluator.fit seed:zero: 0 is a seed
- gi_core.trainer.check_trainable name:*: the name is only used in the message
- gi_core.trainer.Trainer seed:zero: seed 0 is a seed like any other
- gi_core.trainer.Trainer checkpoint_every:zero: 0 means no periodic checkpoints (the valid call's own value)
- gi_core.trainer.Trainer data:dtype: integer tensors are labels or indices, passed to the model's training_loss as they are
- gi_core.trainer.Trainer data:size: the trainer does not know the model's input shape: training_loss checks its batch
- gi_core.trainer.Trainer data:rank: a leading axis of size 1 is a dataset of one example (then batch_size is refused)
- gi_core.trainer.Trainer.fit steps:zero: training to step 0 of a fresh run does nothing, as asked
- gi_core.checkpoints.write_text_atomically text:unknown: any text can be written
- gi_core.checkpoints.check_fits folder:unknown: the folder is only named in messages
- gi_core.guards.non_finite_error step:zero: step 0 is the first step
- gi_core.guards.non_finite_error minimised:unknown: a term no optimizer minimises is a component
- gi_core.guards.non_finite_error minimised:empty: with no minimised term every non-finite term is reported as a component
- gi_core.training_step.check_training_data data:dtype: integer tensors are labels or indices, passed to the model's training_loss as they are
- gi_core.training_step.check_training_data data:size: the trainer does not know the model's input shape: training_loss checks its batch
- gi_core.training_step.check_optimizers name:type: a label for the error messages: any value is printed as given
- gi_core.training_step.check_optimizers name:unknown: a label for the error messages: any value is printed as given
- gi_core.training_step.apply_schedules step:zero: step 0 is the first step
- gi_core.training_step.check_target_step current:zero: a fresh run is at step 0
- gi_core.training_step.append_metrics record:*: a record of any terms is written as JSON (the trainer's own floats)
- gi_core.training_step.rewrite_metrics history:*: the run's own history, written as it is
- gi_core.multi_run.MultiRunTrainer seeds:zero: seed 0 is a seed like any other
- gi_core.multi_run.MultiRunTrainer checkpoint_every:zero: 0: no checkpoints
- gi_core.multi_run.MultiRunTrainer data:dtype: integer tensors are labels or indices, passed to the model's training_loss as they are
- gi_core.multi_run.MultiRunTrainer data:size: the trainer does not know the model's input shape: training_loss checks its batch
- gi_core.multi_run.MultiRunTrainer.fit steps:zero: zero steps: a fresh trainer is already there
- gi_core.multi_run.MultiRunTrainer.run_state run:zero: run 0 is the first run
- gi_core.random_state.RunGenerators seed:zero: seed 0 is a seed like any other
- gi_core.results.write_result name:unknown: any plain file stem names a result file
- gi_core.results.read_result name:unknown: a result not recorded yet reads as None (the chapters then show the quick run)
- gi_core.results.format_mean_std digits:zero: no decimals: the numbers rounded to integers
- gi_core.runs.load_or_run name:unknown: a new run name: the run runs and its record is stored under that name
- gi_core.runs.check_outputs result_name:unknown: any plain file stem names a result file
- gi_core.runs.add_run_arguments run_dir:unknown: any folder name under the runs' cache
- gi_core.runs.add_run_arguments result_help:unknown: free help text
- gi_core.runtime.RunContext.pick quick:*: any object: pick returns one of its arguments unchanged
- gi_core.runtime.RunContext.pick full:*: any object: pick returns one of its arguments unchanged
- gi_core.runtime.seed_everything seed:zero: 0 is a seed
- gi_core.diagrams.Node name:unknown: any name identifies a node
- gi_core.diagrams.Node label:unknown: free text: any label
- gi_core.diagrams.Node label:empty: a shape without a label (an operation dot)
- gi_core.diagrams.Edge source:unknown: any name: draw_diagram checks it names a node
- gi_core.diagrams.Edge target:unknown: any name: draw_diagram checks it names a node
- gi_core.diagrams.Edge label:unknown: free text: any label
- gi_core.diagrams.Edge bend:zero: a straight arrow
- gi_core.diagrams.Edge bend:negative: an arc bending to the other side
- gi_core.diagrams.draw_diagram edges:empty: a diagram of nodes alone
- gi_core.batching.batched_mean x:rank: x is split along its first axis; what one example is, the statistic checks
- gi_core.batching.batched_mean x:size: x is split along its first axis; what one example is, the statistic checks
- gi_core.batching.apply_in_batches x:rank: x is split along its first axis; what one example is, fn checks
- gi_core.batching.apply_in_batches x:size: x is split along its first axis; what one example is, fn checks
- gi_core.validation.check_tensor x:size: check_tensor checks the rank; sizes are check_same_shape's and broadcast_batch_shape's
- gi_core.validation.check_array x:size: check_array checks the rank, not the sizes
- gi_core.validation.check_same_shape mean:dtype: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_same_shape mean:nan: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_same_shape mean:inf: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_same_shape log_var:dtype: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_same_shape log_var:nan: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_same_shape log_var:inf: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.check_positive x:inf: +inf is strictly positive; finiteness is check_tensor's
- gi_core.validation.check_positive x:empty: no entry is non-positive; emptiness is check_tensor's
- gi_core.validation.check_positive x:rank: every entry is checked, whatever the shape
- gi_core.validation.check_positive x:size: every entry is checked, whatever the shape
- gi_core.validation.check_non_negative_int value:zero: 0 is non-negative
- gi_core.validation.check_file_stem value:unknown: any plain file stem
- gi_core.validation.broadcast_batch_shape event_dims:zero: no event axes: every axis broadcasts
- gi_core.validation.broadcast_batch_shape mean:dtype: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape mean:nan: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape mean:inf: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape log_var:dtype: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape log_var:nan: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape log_var:inf: the check compares shapes only; dtypes and values are other checks' (check_tensor, check_same_dtype)
- gi_core.validation.broadcast_batch_shape mean:rank: a leading axis broadcasts, as documented
- gi_core.validation.broadcast_batch_shape log_var:rank: a leading axis broadcasts, as documented
- gi_core.validation.check_same_dtype mean:nan: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype mean:inf: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype mean:empty: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype mean:rank: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype mean:size: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype cov:nan: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype cov:inf: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype cov:empty: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype cov:rank: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_same_dtype cov:size: the check compares dtypes only; shapes and values are other checks' (check_same_shape, check_tensor)
- gi_core.validation.check_linalg_dtype x:nan: the check reads the dtype only; values and shapes are check_covariance's
- gi_core.validation.check_linalg_dtype x:inf: the check reads the dtype only; values and shapes are check_covariance's
- gi_core.validation.check_linalg_dtype x:empty: the check reads the dtype only; values and shapes are check_covariance's
- gi_core.validation.check_linalg_dtype x:rank: the check reads the dtype only; values and shapes are check_covariance's
- gi_core.validation.check_linalg_dtype x:size: the check reads the dtype only; values and shapes are check_covariance's
- gi_core.validation.check_str value:unknown: free text: any string
- gi_core.maths.mpcc_objective.latent_cycle_nll z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.latent_cycle_nll z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.latent_cycle_nll mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.latent_cycle_nll mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.latent_cycle_nll log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.latent_cycle_nll log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities means:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities means:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities log_vars:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities log_vars:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities log_weights:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.mixture_log_responsibilities log_weights:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.sampled_label_cross_entropy log_responsibilities:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.sampled_label_cross_entropy log_responsibilities:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.prior_negative_entropy log_vars:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.prior_negative_entropy log_vars:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.mpcc_objective.prior_negative_entropy log_vars:size: any latent width J
- gi_core.nets.conditional_resnets.ClassConditionalGenerator.condition z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.ClassConditionalGenerator.condition z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.ClassConditionalGenerator.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.ClassConditionalGenerator.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.SharedDiscriminatorEncoder.discriminate x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.SharedDiscriminatorEncoder.discriminate x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.SharedDiscriminatorEncoder.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.conditional_resnets.SharedDiscriminatorEncoder.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.phase_name phase:zero: phase 0 is the first discriminator update
- gi_core.models.mpcc.MPCC.log_responsibilities z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.log_responsibilities z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.prior_objective z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.prior_objective z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.training_loss x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.training_loss x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.encode x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.encode x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.models.mpcc.MPCC.sample cluster:zero: cluster 0 is a component
- gi_core.experiments.clustering_mpcc.stored_evaluations upto:zero: iteration 0 is the first evaluation
- gi_core.experiments.clustering_mpcc.train_run seed:zero: 0 is a seed
- gi_core.experiments.clustering_mpcc.run_name seed:zero: 0 is a seed
- gi_core.maths.vade_bound.mixture_responsibilities z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.mixture_responsibilities z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.mixture_responsibilities z:rank: leading axes broadcast, as documented: z (..., J) gives (..., K)
- gi_core.maths.vade_bound.vade_bound_terms log_likelihood:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms log_likelihood:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms log_gamma:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.vade_bound.vade_bound_terms log_gamma:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussians.inverse_soft_clamp_log_var log_var:rank: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gaussians.inverse_soft_clamp_log_var log_var:size: any shape: the function is elementwise or averages over every entry
- gi_core.maths.gaussians.inverse_soft_clamp_log_var low:negative: low must be negative: -1 is a valid lower bound
- gi_core.models.vade.VaDE.sample cluster:zero: cluster 0 is the first component
- gi_core.experiments.clustering_vade.evaluate seed:zero: 0 is a seed
- gi_core.experiments.clustering_vade.fit_mixture seed:zero: 0 is a seed
- gi_core.experiments.clustering_vade.baselines seed:zero: 0 is a seed
- gi_core.experiments.clustering_vade.train_run seed:zero: 0 is a seed
- gi_core.experiments.clustering.Plan result:unknown: free text: any string is a valid stem or description (check_file_stem checks a stem when it is written)
- gi_core.experiments.clustering.Plan description:unknown: free text: any string is a valid stem or description (check_file_stem checks a stem when it is written)
- gi_core.experiments.clustering.run_name seed:zero: 0 is a seed
- gi_core.experiments.clustering.trained_model seed:zero: 0 is a seed
- gi_core.experiments.clustering.trained_mpcc seed:zero: 0 is a seed
- gi_core.maths.gaussian_process.rbf_kernel t1:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel t1:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel t2:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel t2:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel scale:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel scale:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel length:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel length:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.rbf_kernel t1:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.rbf_kernel t2:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.rbf_kernel scale:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.rbf_kernel length:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.rbf_kernel t1:size: any number of times: the observations of a curve (or the kernel's second set of times)
- gi_core.maths.gaussian_process.rbf_kernel t2:size: any number of times: the observations of a curve (or the kernel's second set of times)
- gi_core.maths.gaussian_process.periodic_kernel t1:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel t1:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel t2:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel t2:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel scale:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel scale:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel length:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel length:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.periodic_kernel t1:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.periodic_kernel t2:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.periodic_kernel scale:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.periodic_kernel length:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.periodic_kernel t1:size: any number of times: the observations of a curve (or the kernel's second set of times)
- gi_core.maths.gaussian_process.periodic_kernel t2:size: any number of times: the observations of a curve (or the kernel's second set of times)
- gi_core.maths.gaussian_process.gp_posterior inducing_means:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior inducing_means:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior inducing_vars:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior inducing_vars:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior scale:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior scale:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior length:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior length:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.gaussian_process.gp_posterior times:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior inducing_times:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior inducing_means:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior inducing_vars:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior scale:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior length:rank: a leading axis broadcasts as documented
- gi_core.maths.gaussian_process.gp_posterior times:size: any number of times: the observations of a curve (or the kernel's second set of times)
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood mean:rank: a leading axis broadcasts as documented
- gi_core.maths.likelihoods.expected_gaussian_log_likelihood var:rank: a leading axis broadcasts as documented
- gi_core.maths.lc_vade_objective.class_log_posterior z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.class_log_posterior z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.class_log_posterior z:rank: a leading axis broadcasts as documented
- gi_core.maths.lc_vade_objective.class_log_posterior features:rank: a leading axis broadcasts as documented
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_likelihood:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_likelihood:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_gamma:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.lc_vade_bound_terms log_gamma:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.supervised_cross_entropy log_gamma:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.supervised_cross_entropy log_gamma:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score mean:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score mean:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score log_var:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score log_var:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score log_gamma:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.lc_vade_objective.information_anomaly_score log_gamma:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.mixture_statistics z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.mixture_statistics z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.mixture_statistics gamma:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.mixture_statistics z:size: any code dimension D: the mixture takes the codes' width
- gi_core.maths.energy_gmm.sample_energy z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy means:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy means:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy covariances:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy covariances:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.sample_energy phi:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.covariance_penalty covariances:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.maths.energy_gmm.covariance_penalty covariances:inf: an infinite variance adds 1/inf = 0, the limit; the energy of the same covariances is NaN and reaches the trainer's guard
- gi_core.models.energy_gmm.EnergyGMM.training_loss features:*: DAGMM is unsupervised: the batch's features and labels are taken, as the trainer passes them, and not read
- gi_core.models.energy_gmm.EnergyGMM.training_loss labels:*: DAGMM is unsupervised: the batch's features and labels are taken, as the trainer passes them, and not read
- gi_core.metrics.anomaly.bootstrap_interval seed:zero: 0 is a seed
- gi_core.nets.interpolation_prediction.check_observed name:unknown: a label for the error messages: any string is printed as given
- gi_core.nets.light_curve_resnets.ResBlock1d.forward x:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.ResBlock1d.forward x:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.ResBlock1d.forward x:size: any length L of at least 2: the convolutions and the pooling do not fix it
- gi_core.nets.light_curve_resnets.InducingPointDecoder.inducing_points z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.InducingPointDecoder.inducing_points z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.InducingPointDecoder.forward z:nan: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.InducingPointDecoder.forward z:inf: training path: a non-finite value reaches the trainer's guard, which names the step and term
- gi_core.nets.light_curve_resnets.InducingPointDecoder.forward phase:size: any number of phases: the GP posterior is evaluated wherever asked
- gi_core.nets.light_curve_resnets.LightCurveAutoencoder.reconstruct query_phase:size: any number of phases: the GP posterior is evaluated wherever asked
- gi_core.data.light_curves.LightCurveSet source:unknown: free text, shown in messages and records
- gi_core.data.light_curves.LightCurveSet citation:unknown: free text, shown in messages and records
- gi_core.data.light_curves.LightCurveSet.subset indices:size: any number of stars may be selected
- gi_core.data.light_curves.check_curve name:unknown: a label for the error messages: any string is printed as given
- gi_core.data.light_curve_periods.estimate_period spurious_width:zero: 0 keeps every frequency
- gi_core.data.light_curve_folding.fold time:rank: any shape: the fold is elementwise
- gi_core.data.light_curve_folding.fold time:size: any shape: the fold is elementwise
- gi_core.data.light_curve_folding.fold_light_curves seed:zero: 0 is a valid seed
- gi_core.data.light_curve_folding.outlier_split labels:size: any number of stars may be selected
- gi_core.data.light_curve_folding.outlier_split outlier:zero: class 0 is the first class
- gi_core.data.light_curve_folding.outlier_split seed:zero: 0 is a valid seed
- gi_core.experiments.light_curve_runs.run_name seed:zero: 0 is a seed
- gi_core.experiments.light_curve_runs.split_curves seed:zero: 0 is a seed
- gi_core.experiments.light_curve_runs.score_metrics seed:zero: 0 is a seed
- gi_core.experiments.light_curve_runs.train_run seed:zero: 0 is a seed
- gi_core.experiments.light_curves.Row title:unknown: free text: any string is a valid title, stem or description (check_file_stem checks a stem when it is written)
- gi_core.experiments.light_curves.Plan result:unknown: free text: any string is a valid title, stem or description (check_file_stem checks a stem when it is written)
- gi_core.experiments.light_curves.Plan description:unknown: free text: any string is a valid title, stem or description (check_file_stem checks a stem when it is written)
- gi_core.experiments.light_curves.trained_model seed:zero: 0 is a seed
"""

from __future__ import annotations

import pytest

from tests.fuzz import (cases_anomaly, cases_data, cases_experiments, cases_infra, cases_lc_maths, cases_lc_models,
                         cases_light_curve_data, cases_light_curve_experiments, cases_maths, cases_metrics, cases_mpcc,
                         cases_nets_models, cases_trainer, cases_vade)
from tests.fuzz.harness import judge, mutants, public_callables

AREAS = (cases_maths, cases_nets_models, cases_metrics, cases_data, cases_experiments, cases_trainer, cases_infra,
         cases_mpcc, cases_vade, cases_lc_maths, cases_anomaly, cases_lc_models, cases_light_curve_data,
         cases_light_curve_experiments)
CASES = [case for area in AREAS for case in area.CASES]
EXEMPT = {name: reason for area in AREAS for name, reason in area.EXEMPT.items()}


def test_every_public_callable_has_a_case() -> None:
    """A public callable without a case (or a documented exemption) fails here; so does a case of a removed one."""
    public = set(public_callables())
    covered = {case.target for case in CASES}
    assert not public - covered - set(EXEMPT), f"no fuzz case for {sorted(public - covered - set(EXEMPT))}"
    assert not (covered | set(EXEMPT)) - public, f"cases of callables that no longer exist: {sorted((covered | set(EXEMPT)) - public)}"
    assert not covered & set(EXEMPT), f"both a case and an exemption: {sorted(covered & set(EXEMPT))}"


def test_every_allowed_input_is_listed_in_the_docstring() -> None:
    """The docstring's list of allowed inputs is the union of the cases' ``allow`` entries."""
    for case in CASES:
        for label, reason in case.allow.items():
            assert f"{case.target} {label}: {reason}" in __doc__, f"add '{case.target} {label}: {reason}' to the docstring"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.target)
def test_bad_inputs_are_refused_clearly(case) -> None:
    if case.run_valid:
        case.callable()(**case.make())
    failures = [failure for args in mutants(case) if (failure := judge(case, *args))]
    assert not failures, "\n".join(failures)


def allowed_listing() -> str:
    """The docstring's list: every case's ``allow`` entries, one per line, in case order."""
    return "\n".join(f"- {case.target} {label}: {reason}" for case in CASES for label, reason in case.allow.items())


if __name__ == "__main__":
    from pathlib import Path

    path = Path(__file__)
    head, rest = path.read_text().split("\nAllowed inputs:\n", 1)
    path.write_text(head + "\nAllowed inputs:\n\n" + allowed_listing() + "\n" + rest[rest.index('"""'):])
