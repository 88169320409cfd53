# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Domain adaptation: gradient reversal and cross-domain latent modulation
#
# A classifier trained on one distribution is usually applied to another: digits scanned at the post
# office (USPS) instead of the census forms of MNIST, or the same digits pasted on photographs
# (MNIST-M). **Unsupervised domain adaptation** gives us labelled examples of the *source* domain and
# unlabelled examples of the *target* domain and asks for a classifier that is good on the target.
#
# This chapter derives why that can work at all, the bound of Ben-David et al.
# {cite}`bendavid2007analysis,bendavid2010theory` as presented in the lecture notes of Corro and Sebag
# {cite}`corro2023dl` (seed 004, Part 3), turns the bound into an objective, DANN and its gradient
# reversal layer {cite}`ganin2015unsupervised,ganin2016dann`, and then builds a generative-inference
# model for the same task, the cross-domain latent modulation (CDLM) of Hou et al.
# {cite}`hou2021cdlm` (seed 003). CDLM is a VAE whose reparameterization noise is replaced by the
# *other* domain's representation, so it reuses every piece of the previous chapters: an encoder
# $q(z\mid x)$, a decoder $p(x\mid z)$, a KL to the prior and an adversarial term. Pérez Carrasco's
# thesis {cite}`perez2021avda` (seed 000) follows the same programme with a class-conditional
# mixture prior.
#
# Every identity is checked on the page; the experiments reproduce seed 003's Table 2 on
# MNIST→USPS as far as a CPU allows, and say where they do not.

# %%
import os
import subprocess
import sys

if "google.colab" in sys.modules and not os.path.isdir("gi-book"):  # Colab: fetch the package, run at full scale
    subprocess.run(["git", "clone", "--depth", "1", "https://github.com/gi-book/gi-book"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "gi-book"], check=True)
    sys.path.insert(0, os.path.abspath("gi-book"))
    os.chdir("gi-book/notebooks")
    os.environ.setdefault("GI_PROFILE", "full")

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from gi_core.adversarial import discriminator_loss
from gi_core.cdlm import (
    CDLM,
    domain_kl,
    full_modulation_kl,
    full_modulation_kl_ratio,
    idealized_transfer_moments,
    modulation_moments,
    pm1_symmetric_kl,
    symmetric_kl,
    symmetric_kl_lower_bound,
)
from gi_core.cdlm_diagnosis import early_training_trace, early_training_traces, translation_diagnoses
from gi_core.da_experiment import (
    BOOK_CDLM,
    BOOK_CDLM_LR,
    DAConfig,
    bound_terms,
    build_method,
    evaluate_method,
    feature_a_distance,
    highest,
    load_domain_data,
    release_check,
    reproduce,
    reverse_validation,
    train_method,
)
from gi_core.domain_adaptation import (
    a_distance,
    ben_david_terms,
    build_dann,
    dann_learning_rate,
    discrimination_divergence,
    grl_schedule,
    h_divergence,
    ink_extent,
)
from gi_core.results import RESULTS_DIR, read_result
from gi_core.runtime import run_context

ctx = run_context()
F64 = torch.float64

# %% [markdown]
# ## The set-up and the Ben-David bound
#
# A domain $\mathcal D$ is a distribution over inputs $x\in\mathcal X$ with a labelling function
# $f:\mathcal X\to\{0,1\}$ (two classes keep the theory short). The risk of a hypothesis $h$ is its
# disagreement with $f$, $\varepsilon_{\mathcal D}(h) = \mathbb E_{x\sim\mathcal D}|h(x)-f(x)|$, and more
# generally $\varepsilon_{\mathcal D}(h,h') = \mathbb E_{x\sim\mathcal D}|h(x)-h'(x)|$ is the
# disagreement of two hypotheses. Disagreement obeys the triangle inequality,
# $\varepsilon(h,h'')\le\varepsilon(h,h')+\varepsilon(h',h'')$, because $|a-c|\le|a-b|+|b-c|$ pointwise.
#
# We see labelled samples of the source $\mathcal D_S$ and unlabelled samples of the target $\mathcal
# D_T$. How far apart are the two input distributions, *as far as a class $\mathcal H$ of classifiers can
# tell*? The $\mathcal H$-divergence (seed 004 §3.3) is
#
# $$
# d_{\mathcal H}(\mathcal D_S,\mathcal D_T) = 2\sup_{h\in\mathcal H}\big|\Pr_{\mathcal D_S}[h(x)=1]-\Pr_{\mathcal D_T}[h(x)=1]\big| .
# $$
#
# It is large when some $h$ says 1 on the source and 0 on the target. If $\mathcal H$ is closed under
# complement, the absolute value can be dropped and, since
# $\Pr_S[h=0]+\Pr_T[h=1] = 1-(\Pr_S[h=1]-\Pr_T[h=1])$,
#
# $$
# d_{\mathcal H} = 2\Big(1-\min_{h\in\mathcal H}\big[\Pr_{\mathcal D_S}[h(x)=0]+\Pr_{\mathcal D_T}[h(x)=1]\big]\Big),
# $$
#
# seed 004's proposition: with sample frequencies in place of probabilities, the divergence is measured by
# how well a *domain classifier* in $\mathcal H$ separates the two samples.
#
# **The bound.** Let $h^*$ minimise the combined risk, $\lambda^* = \varepsilon_S(h^*)+\varepsilon_T(h^*)$.
# Three triangle inequalities and one supremum give, for every $h\in\mathcal H$
# (Ben-David et al. 2010, Thm. 2),
#
# $$
# \begin{aligned}
# \varepsilon_T(h) &\le \varepsilon_T(h^*) + \varepsilon_T(h,h^*)
# \le \varepsilon_T(h^*) + \varepsilon_S(h,h^*) + \big|\varepsilon_T(h,h^*)-\varepsilon_S(h,h^*)\big| \\
# &\le \varepsilon_T(h^*) + \varepsilon_S(h) + \varepsilon_S(h^*) + \tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)
# = \varepsilon_S(h) + \tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T) + \lambda^* ,
# \end{aligned}
# $$
#
# where $\mathcal H\Delta\mathcal H=\{x\mapsto|h(x)-h'(x)|: h,h'\in\mathcal H\}$: the disagreement
# $\varepsilon_{\mathcal D}(h,h^*)$ is $\Pr_{\mathcal D}[g=1]$ for $g=|h-h^*|\in\mathcal H\Delta\mathcal H$,
# so the difference of the two disagreements is at most half the $\mathcal H\Delta\mathcal H$-divergence.
# The target risk is small when the source risk is, when no classifier of the class can tell the domains
# apart, and when *some* classifier does well on both (small $\lambda^*$). The first two are under our
# control; the third is an assumption. With finite samples, complexity terms are added: seed 004 writes the
# first as $C\sqrt{\frac4n(d\log\frac2d+\log\frac4\delta)}$, which is a transcription slip for
# $\sqrt{\frac4n(d\log\frac{2en}{d}+\log\frac4\delta)}$ (Ganin et al. 2016, Thm. 2, following
# Ben-David et al.), with $d$ the VC dimension. Seed 003 Eq. 23 writes the divergence term as
# $\hat d_{\mathcal H}(X_s,X_t)$, without the $\tfrac12$ and the symmetric-difference class; we keep the form
# of Ben-David et al. (2010), which is the one proved above.
#
# On a finite input space every term is computable exactly. Below, the inputs are 15 points on a line, the
# class is every threshold classifier and its complement, the two domains put random weights on the
# points, and their labels are two nearby thresholds ({func}`gi_core.domain_adaptation.ben_david_terms`).

# %%
grid = torch.arange(15, dtype=F64)
rising = [(grid >= t).to(F64) for t in range(16)]
thresholds = torch.stack(rising + [1.0 - h for h in rising])  # closed under complement

generator = torch.Generator().manual_seed(0)
worst_gap, largest_form_error, examples = math.inf, 0.0, []
for k in range(200):
    p_s = torch.rand(15, generator=generator, dtype=F64)
    p_t = torch.rand(15, generator=generator, dtype=F64) ** 3
    p_s, p_t = p_s / p_s.sum(), p_t / p_t.sum()
    f_s, f_t = (grid >= 5 + k % 3).to(F64), (grid >= 6).to(F64)
    terms = ben_david_terms(p_s, p_t, f_s, f_t, thresholds)
    worst_gap = min(worst_gap, float((terms["bound"] - terms["target_risk"]).min()))
    form_error = abs(float(h_divergence(p_s, p_t, thresholds) - discrimination_divergence(p_s, p_t, thresholds)))
    largest_form_error = max(largest_form_error, form_error)
    if k < 1:
        examples.append((p_s, p_t, terms))
print(f"smallest (bound - target risk) over 200 problems x 32 hypotheses: {worst_gap:.4f}; "
      f"largest |sup form - classifier form| of d_H: {largest_form_error:.1e}")

# %% tags=["da-check"]
assert worst_gap >= -1e-12  # the bound holds for every hypothesis of every problem
assert worst_gap < 0.05  # and is nearly tight on some
assert largest_form_error < 1e-12

# %%
p_s, p_t, terms = examples[0]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
axes[0].bar(grid - 0.2, p_s, 0.4, label="source $p_S(x)$")
axes[0].bar(grid + 0.2, p_t, 0.4, label="target $p_T(x)$")
axes[0].set(xlabel="x", ylabel="probability", title="two domains on 15 points")
axes[0].legend()
order = torch.arange(16)
axes[1].plot(order, terms["target_risk"][:16], "o-", label=r"target risk $\varepsilon_T(h_t)$")
axes[1].plot(order, terms["source_risk"][:16], "s-", label=r"source risk $\varepsilon_S(h_t)$")
axes[1].plot(order, terms["bound"][:16], "k--", label=r"$\varepsilon_S+\frac{1}{2} d_{H\Delta H}+\lambda^*$")
axes[1].set(xlabel="threshold t of $h_t(x)=[x\\geq t]$", ylabel="risk", title="the bound for each threshold")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The proxy A-distance
#
# For image features the supremum over $\mathcal H$ cannot be computed, but the second form of
# $d_{\mathcal H}$ tells us what to do: train a domain classifier and read off its error. With a held-out
# balanced error $\varepsilon$ (the mean of its errors on source and on target examples it did not see),
# the **proxy A-distance** is $\hat d_A = 2(1-2\varepsilon)$ {cite}`bendavid2007analysis,long2015dan`: 2
# for separable domains, 0 for domains a classifier cannot tell apart.
# {func}`gi_core.domain_adaptation.a_distance` uses a linear SVM whose $C$ is chosen by cross-validation
# on the training half only. Two sanity checks, and then the distance between raw images of the tasks.

# %%
g = torch.Generator().manual_seed(1)
cloud = torch.randn(800, 20, generator=g, dtype=F64)
separable = a_distance(cloud[:400] + 4.0, cloud[400:] - 4.0)
identical = a_distance(cloud[:400], cloud[400:])
print(f"separable domains: d_A = {separable.value:.3f}; identical domains: d_A = {identical.value:.3f} "
      f"(held-out error {identical.error:.3f})")

# %% tags=["da-check"]
assert separable.value == 2.0 and identical.value < 0.4

# %% tags=["nbval-ignore-output"]
tasks = {"mnist_usps": "MNIST→USPS", "mnist_mnistm": "MNIST→MNIST-M"}
task_data = {task: load_domain_data(task, ctx.device) for task in tasks}
raw_distance = {name: feature_a_distance(None, task_data[task]) for task, name in tasks.items()}
for task, data in task_data.items():
    print(f"{tasks[task]}: source {tuple(data.source_x.shape)} from {data.sources['source']}; "
          f"target {tuple(data.target_x.shape)} from {data.sources['target']}")
print({name: round(value, 3) for name, value in raw_distance.items()})

# %% [markdown]
# The targets' training images: in the quick profile they are the shipped subsets; in the full profile
# the USPS *training* images come from the ESL release of USPS when torchvision's file is absent (the
# same 7 291 images and labels, smoothed differently), and every accuracy is measured on the real USPS
# test split. Both raw distances are close to 2: a linear classifier on pixels tells the domains apart
# almost perfectly. USPS digits fill their frame once resized to 28×28, while MNIST digits sit in a
# 20×20 box with a margin (this turns out to matter a great deal, see *Why DANN loses on MNIST→USPS*
# below); MNIST-M adds coloured backgrounds.

# %%
fig, axes = plt.subplots(3, 10, figsize=(10, 3.2))
rows = [("MNIST", task_data["mnist_usps"].source_x), ("USPS", task_data["mnist_usps"].target_x),
        ("MNIST-M", task_data["mnist_mnistm"].target_x)]
for row, (name, images) in zip(axes, rows):
    for ax, image in zip(row, images[:10].cpu()):
        ax.imshow(image.permute(1, 2, 0).squeeze(-1), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center")
plt.suptitle("source and target images, as the networks see them (28×28)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Gradient reversal: a saddle point in one backward pass
#
# The bound asks for features in which the source risk is small *and* the domains are hard to tell apart.
# DANN {cite}`ganin2016dann` writes this as a game between a feature extractor $G_f$, a label
# classifier $G_y$ and a domain classifier $G_d$ (source label 1, target 0):
#
# $$
# E(\theta_f,\theta_y,\theta_d) = \frac1n\sum_{i\in S}L_y\big(G_y(G_f(x_i)),y_i\big)
# - \lambda\Big[\frac1n\sum_{i\in S}L_d\big(G_d(G_f(x_i)),1\big) + \frac1{n'}\sum_{j\in T}L_d\big(G_d(G_f(x'_j)),0\big)\Big],
# $$
#
# minimised over $(\theta_f,\theta_y)$ and maximised over $\theta_d$. Maximising $E$ over $\theta_d$ is
# minimising the domain loss $L_d$: the domain classifier estimates the divergence as well as it can, and
# the features are trained to *raise* its error, i.e. to lower $\hat d_{\mathcal H}$.
#
# The **gradient reversal layer** $R_\lambda$ is the identity in the forward pass and multiplies the
# gradient by $-\lambda$ in the backward pass. Define the single loss
# $\tilde E = L_y(G_y(G_f(x))) + L_d(G_d(R_\lambda(G_f(x))))$ and differentiate it with the chain rule:
#
# $$
# \frac{\partial\tilde E}{\partial\theta_y} = \frac{\partial L_y}{\partial\theta_y},\qquad
# \frac{\partial\tilde E}{\partial\theta_d} = \frac{\partial L_d}{\partial\theta_d},\qquad
# \frac{\partial\tilde E}{\partial\theta_f} = \frac{\partial L_y}{\partial\theta_f} - \lambda\frac{\partial L_d}{\partial\theta_f} .
# $$
#
# These are exactly the directions of the saddle-point updates: descending $\tilde E$ descends $E$ in
# $(\theta_f,\theta_y)$ and ascends it in $\theta_d$. One optimizer and one backward pass replace the
# alternating updates of a GAN. Below, autograd checks the three identities on Ganin's MNIST networks
# ({func}`gi_core.domain_adaptation.build_dann`) for four values of $\lambda$: the gradients through
# the layer are compared with the gradients of the two losses taken separately, without it.

# %%
def grl_gradient_errors(lambda_: float) -> dict[str, float]:
    """Largest |difference| between DANN's gradients and the saddle-point directions, per block."""
    torch.manual_seed(0)
    model = build_dann().double()
    model.grl.lambda_ = lambda_  # set in float64 (a float32 buffer would hold 0.3 as 0.30000001)
    xs, xt = torch.rand(8, 1, 28, 28, dtype=F64), torch.rand(8, 1, 28, 28, dtype=F64)
    ys = torch.arange(8) % 10
    terms = model.training_loss(xs, ys, xt)
    blocks = {"features": model.feature_extractor, "classifier": model.label_classifier,
              "discriminator": model.domain_discriminator}
    with_grl = {name: torch.autograd.grad(terms["loss"], list(b.parameters()), retain_graph=True, allow_unused=True)
                for name, b in blocks.items()}
    # the same losses without the layer
    features = model.features(torch.cat([xs, xt]))
    class_loss = torch.nn.functional.cross_entropy(model.label_classifier(features[:8]), ys)
    logits = model.domain_discriminator(features)
    domain_loss = discriminator_loss(logits[:8], logits[8:], "standard")  # source = 1, target = 0
    errors = {}
    for name, block in blocks.items():
        params = list(block.parameters())
        g_y = torch.autograd.grad(class_loss, params, retain_graph=True, allow_unused=True)
        g_d = torch.autograd.grad(domain_loss, params, retain_graph=True, allow_unused=True)
        if name == "features":  # both losses reach the features; the domain loss reversed
            expected = [a - lambda_ * b for a, b in zip(g_y, g_d)]
        else:  # each head gets its own loss only (the other gradient is None: unused)
            expected = g_y if name == "classifier" else g_d
        errors[name] = max(float((got - want).abs().max()) for got, want in zip(with_grl[name], expected))
    return errors


grl_errors = pd.DataFrame({lam: grl_gradient_errors(lam) for lam in (0.0, 0.3, 1.0, 2.5)}).T
grl_errors.index.name = "λ"
grl_errors

# %% tags=["da-check"]
assert (grl_errors.to_numpy() < 1e-12).all()

# %% [markdown]
# **Schedules.** Early in training the domain classifier is noisy, and a full reversed gradient would
# scramble the features before they learn the labels. Ganin et al. raise the coefficient from 0 with the
# training progress $p\in[0,1]$ and anneal the learning rate (seed 004 §3.4):
#
# $$
# \lambda_p = \frac{2}{1+e^{-10p}}-1 = \tanh(5p),\qquad \mu_p = \frac{\mu_0}{(1+10p)^{0.75}},\quad \mu_0=0.01 .
# $$
#
# Every method of this chapter is trained with both schedules ({class}`gi_core.da_experiment.DAConfig`).

# %%
progress = np.linspace(0, 1, 201)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(progress, [grl_schedule(p) for p in progress], label=r"$\lambda_p$ (GRL coefficient)")
ax.plot(progress, [dann_learning_rate(p) / 0.01 for p in progress], label=r"$\mu_p/\mu_0$ (learning rate)")
ax.set(xlabel="training progress p", title="DANN's schedules")
ax.legend()
plt.show()

# %% tags=["da-check"]
assert abs(grl_schedule(0.5) - 0.98661429815) < 1e-10 and grl_schedule(0.0) == 0.0
assert abs(dann_learning_rate(1.0) - 0.01 / 11**0.75) < 1e-15

# %% [markdown]
# ## DANN on MNIST→USPS
#
# **Protocol.** Ganin et al.'s MNIST networks: a LeNet feature extractor (5×5 convolutions with 32 and 48
# maps, max-pooling, 768 features), a label classifier 100–100–10 and a domain classifier 100–1. 64
# source and 64 target images per step, SGD with momentum 0.9 and the two schedules above. *Source only*
# is the same network with $\lambda=0$ (its domain classifier trains, but no gradient reaches the
# features) and *target only* trains it on the labelled target training images: the lower and upper
# reference points of seed 003's Table 2.
#
# **Selection rule.** Every model is the *last iterate* after a fixed number of steps, evaluated once on
# the target test split. No checkpoint, early stop or hyperparameter is chosen with target labels; the
# target's training labels are read only by the target-only bound. The hyperparameters are Ganin et
# al.'s, not tuned here (the variants we tried are reported, not selected, below). One change of
# *protocol* came after the first results had been seen: USPS digits framed like MNIST's. It is motivated
# and checked without target labels, and the results of both protocols are reported side by side.
#
# The quick profile trains for a few hundred steps on the shipped subsets: it exercises the code, the
# numbers are not the reproduction. The stored full-profile results follow further down.

# %% tags=["nbval-ignore-output"]
steps = ctx.pick(quick=600, full=4000)
mu_data = task_data["mnist_usps"]
quick_models, quick_rows = {}, {}
for method in ("source_only", "dann"):
    model, trainer, seconds = train_method(DAConfig(task="mnist_usps", method=method, steps=steps), mu_data,
                                           seed=0, progress=False)
    quick_models[method] = model
    quick_rows[method] = {**evaluate_method(model, mu_data), "seconds": seconds,
                          "final domain accuracy": trainer.history[-1]["domain_accuracy"]}
pd.DataFrame(quick_rows).T.round(3)

# %% tags=["da-check"]
for method, row in quick_rows.items():
    assert row["source_accuracy"] > 0.75, (method, row)  # both learn the source task
    assert 0.1 < row["target_accuracy"] <= 1.0
assert quick_models["dann"].grl.lambda_ > 0.99 and quick_models["source_only"].grl.lambda_ == 0.0

# %% [markdown]
# ## Cross-domain latent modulation (CDLM)
#
# CDLM {cite}`hou2021cdlm` starts from a VAE. A shared encoder $E_\phi$ maps an image to the moments
# $(\mu,\sigma)$ of $q(z\mid x)$ and to a *deep representation* $h=\mathrm{sigmoid}(W_hh'+b_h)\in(0,1)^d$ of
# the latent's dimension, $h'$ being the last convolutional layer. The reparameterization
# $z=\mu+\sigma\odot\varepsilon$ is changed so that each domain's noise is the *other* domain's
# representation plus a little Gaussian noise (seed 003, Eq. 1–2):
#
# $$
# \ddot z_{st} = \mu_s+\sigma_s\odot(\gamma_1h_t+\gamma_2\varepsilon),\qquad
# \ddot z_{ts} = \mu_t+\sigma_t\odot(\gamma_1h_s+\gamma_2\varepsilon),\qquad \varepsilon\sim\mathcal N(0,I).
# $$
#
# $\gamma_1=0,\gamma_2=1$ is the plain VAE. A single decoder, the source ("desired") one, decodes both
# latents; at test time a target image is translated into a source-style image
# $\tilde x_{ts}=D_\theta(\gamma_1h_t+\gamma_2\varepsilon)$ and classified by a classifier trained on the
# source.
#
# ### Moments (Eq. 3–6)
#
# Treat $h_t$ as random, $h_t\sim\mathcal N(\mu_{h_t},\sigma^2_{h_t})$ independent of $\varepsilon$. Then,
# coordinate by coordinate, $\ddot z_{st}$ is Gaussian with
#
# $$
# \mathbb E[\ddot z^i_{st}] = \mu^i_s+\gamma_1\sigma^i_s\mu^i_{h_t},\qquad
# \operatorname{Var}[\ddot z^i_{st}] = (\sigma^i_s)^2\big[\gamma_1^2(\sigma^i_{h_t})^2+\gamma_2^2\big].
# \tag{3–4}
# $$
#
# The seed prints $\mu_{h_s}$ at the end of Eq. 3; the derivation gives $\mu_{h_t}$, since only $h_t$
# enters $\ddot z_{st}$. If training makes the representation's moments those of the latent,
# $\mu_{h_t}\approx\mu_t$ and $\sigma_{h_t}\approx\sigma_t$, and $\gamma_1\gg\gamma_2$, then with
# $\sigma_s\approx1$ in the mean, $\mu_{st}=\mu_s+\gamma_1\mu_t$ and $\sigma_{st}=\gamma_1\sigma_s\sigma_t$
# (Eq. 5–6; symmetric for $ts$): both transfer latents are centred between the domains and share one
# scale. A Monte Carlo check of Eq. 3–4 with 400 000 draws:

# %%
g = torch.Generator().manual_seed(2)
d, draws = 6, 400_000
mu_s, sigma_s = torch.randn(d, generator=g, dtype=F64), 0.5 + torch.rand(d, generator=g, dtype=F64)
mu_h, sigma_h = torch.rand(d, generator=g, dtype=F64), 0.3 * torch.rand(d, generator=g, dtype=F64)
gamma1, gamma2 = 1.0, 0.1
h_t = mu_h + sigma_h * torch.randn(draws, d, generator=g, dtype=F64)
z_st = mu_s + sigma_s * (gamma1 * h_t + gamma2 * torch.randn(draws, d, generator=g, dtype=F64))
mean_formula, var_formula = modulation_moments(mu_s, sigma_s, mu_h, sigma_h, gamma1, gamma2)
mean_z = (z_st.mean(0) - mean_formula) / (z_st.std(0) / math.sqrt(draws))
var_z = (z_st.var(0) - var_formula) / (var_formula * math.sqrt(2 / (draws - 1)))
print("standardised errors, mean:", mean_z.numpy().round(2), " variance:", var_z.numpy().round(2))

# %% tags=["da-check"]
assert mean_z.abs().max() < 5 and var_z.abs().max() < 5

# %% [markdown]
# ### The KL between the domains shrinks (Eq. 7–10)
#
# For diagonal Gaussians
# $D_{\mathrm{KL}}(s\Vert t) = \tfrac12\sum_i\big[2\log\frac{\sigma^i_t}{\sigma^i_s} + \big(\frac{\mu^i_s-\mu^i_t}{\sigma^i_t}\big)^2 + \big(\frac{\sigma^i_s}{\sigma^i_t}\big)^2-1\big]$
# (Eq. 7), which is $\tfrac12\sum_i(\mu^i_s-\mu^i_t)^2$ when $\sigma_s=\sigma_t=1$ (Eq. 8). The idealised
# transfer latents share the variance $(\gamma_1\sigma_t)^2$ (with $\sigma_s=1$) and their means differ by
# $(\mu_s+\gamma_1\mu_t)-(\mu_t+\gamma_1\mu_s)=(1-\gamma_1)(\mu_s-\mu_t)$, so
#
# $$
# D_{\mathrm{KL}}(st\Vert ts) = \frac12\sum_i\frac{\big[(1-\gamma_1)(\mu^i_s-\mu^i_t)\big]^2}{(\gamma_1\sigma^i_t)^2}
# = \Big(\frac{1-\gamma_1}{\gamma_1}\Big)^2 D_{\mathrm{KL}}(s\Vert t)\quad(\sigma_t=1).
# \tag{9–10}
# $$
#
# The seed's Eq. 9 drops the $\sum_i$ on the right. The factor is below 1 exactly when $\gamma_1>\tfrac12$
# and vanishes at the paper's $\gamma_1=1$, where $\mu_{st}=\mu_{ts}=\mu_s+\mu_t$. Below, the KL of the
# idealised moments (Eq. 5–6) computed with the general formula of Eq. 7 is compared with the ratio,
# first with $\sigma_s=\sigma_t=1$, where Eq. 10 is exact, then with random $\sigma$, where it is not: the
# ratio is a statement about unit variances only.

# %%
g = torch.Generator().manual_seed(3)
rows = []
for gamma1 in (0.25, 0.5, 0.75, 0.9, 1.0, 1.5):
    mu_s, mu_t = torch.randn(100, 8, generator=g, dtype=F64), torch.randn(100, 8, generator=g, dtype=F64)
    ones = torch.ones_like(mu_s)
    m_st, s_st, m_ts, s_ts = idealized_transfer_moments(mu_s, ones, mu_t, ones, gamma1)
    kl_transfer, kl_domains = domain_kl(m_st, s_st, m_ts, s_ts), domain_kl(mu_s, ones, mu_t, ones)
    sig_s, sig_t = 0.5 + torch.rand(100, 8, generator=g, dtype=F64), 0.5 + torch.rand(100, 8, generator=g, dtype=F64)
    m_st, s_st, m_ts, s_ts = idealized_transfer_moments(mu_s, sig_s, mu_t, sig_t, gamma1)
    rows.append({"γ1": gamma1, "((1-γ1)/γ1)²": full_modulation_kl_ratio(gamma1),
                 "max |KL(st‖ts) - ratio·KL(s‖t)|, σ=1": float((kl_transfer - full_modulation_kl_ratio(gamma1) * kl_domains).abs().max()),
                 "max |Eq. 9 - Eq. 7|, σ=1": float((full_modulation_kl(mu_s, mu_t, ones, gamma1) - kl_transfer).abs().max()),
                 "median KL(st‖ts)/KL(s‖t), random σ": float((domain_kl(m_st, s_st, m_ts, s_ts)
                                                              / domain_kl(mu_s, sig_s, mu_t, sig_t)).median())})
kl_table = pd.DataFrame(rows).set_index("γ1")
kl_table.round(4)

# %% tags=["da-check"]
assert (kl_table.iloc[:, 1:3].to_numpy() < 1e-10).all()
assert (kl_table.loc[[0.75, 0.9, 1.0, 1.5], "((1-γ1)/γ1)²"] < 1).all() and kl_table.loc[0.25, "((1-γ1)/γ1)²"] > 1

# %% [markdown]
# ### Partial modulation (Eq. 11–15)
#
# Two variants exchange only second moments. **PM1** gives both latents the average scale,
# $\ddot z_{st}=\mu_s+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon$ and
# $\ddot z_{ts}=\mu_t+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon$ (Eq. 11). The two Gaussians share their
# variance, so each KL is $\tfrac12\sum_i4\big(\frac{\mu^i_s-\mu^i_t}{\sigma^i_s+\sigma^i_t}\big)^2$ (Eq. 12).
# The symmetric KL of the original domains is
#
# $$
# D(s\Vert t)+D(t\Vert s) = \tfrac12\sum_i(\mu^i_s-\mu^i_t)^2\Big(\frac1{(\sigma^i_s)^2}+\frac1{(\sigma^i_t)^2}\Big)
# + \tfrac12\sum_i\Big[\Big(\frac{\sigma^i_s}{\sigma^i_t}\Big)^2+\Big(\frac{\sigma^i_t}{\sigma^i_s}\Big)^2-2\Big]
# \;\ge\; \tfrac12\sum_i(\mu^i_s-\mu^i_t)^2\Big(\frac1{(\sigma^i_s)^2}+\frac1{(\sigma^i_t)^2}\Big)
# \tag{13}
# $$
#
# (the log terms $\log\frac{\sigma_t}{\sigma_s}+\log\frac{\sigma_s}{\sigma_t}$ cancel; the seed writes them
# with a factor $\tfrac12$, which Eq. 7 does not give, but they vanish either way, and the bracket is
# $(\sigma_s/\sigma_t-\sigma_t/\sigma_s)^2\ge0$). Two AM–GM steps,
# $\frac4{(\sigma_s+\sigma_t)^2}\le\frac1{\sigma_s\sigma_t}\le\frac12\big(\frac1{\sigma_s^2}+\frac1{\sigma_t^2}\big)$,
# then give Eq. 14: $D(st\Vert ts)+D(ts\Vert st)\le D(s\Vert t)+D(t\Vert s)$. **PM2** swaps the scales,
# $\ddot z_{st}=\mu_s+\sigma_t\odot\varepsilon$, $\ddot z_{ts}=\mu_t+\sigma_s\odot\varepsilon$ (Eq. 15); its
# symmetric KL *equals* that of the original pair (same means, same pair of scales): it preserves the
# gap. Checked on 20 000 random pairs of 16-dimensional Gaussians with scales spread over two decades:

# %%
g = torch.Generator().manual_seed(4)
shape = (20_000, 16)
mu_s, mu_t = 3 * torch.randn(shape, generator=g, dtype=F64), 3 * torch.randn(shape, generator=g, dtype=F64)
sig_s = torch.exp(2.3 * (torch.rand(shape, generator=g, dtype=F64) - 0.5))
sig_t = torch.exp(2.3 * (torch.rand(shape, generator=g, dtype=F64) - 0.5))
pm1, lower, original = (pm1_symmetric_kl(mu_s, sig_s, mu_t, sig_t), symmetric_kl_lower_bound(mu_s, sig_s, mu_t, sig_t),
                        symmetric_kl(mu_s, sig_s, mu_t, sig_t))
pm2 = symmetric_kl(mu_s, sig_t, mu_t, sig_s)
pm1_direct = symmetric_kl(mu_s, 0.5 * (sig_s + sig_t), mu_t, 0.5 * (sig_s + sig_t))
print(f"PM1 / original symmetric KL: median {float((pm1 / original).median()):.3f}, max {float((pm1 / original).max()):.3f}; "
      f"max |PM2 - original| / original = {float(((pm2 - original) / original).abs().max()):.1e}")

# %% tags=["da-check"]
assert (pm1 <= lower * (1 + 1e-12)).all() and (lower <= original * (1 + 1e-12)).all()  # Eq. 13-14
assert torch.allclose(pm1, pm1_direct, rtol=1e-12)  # Eq. 12 is the KL of the PM1 Gaussians
assert torch.allclose(pm2, original, rtol=1e-12)  # PM2 preserves the gap

# %% [markdown]
# ### The objective and the update rules (Eq. 16–22)
#
# CDLM reconstructs only the source, from the latent that carries the target's representation, and
# puts a KL on both transfer latents (Eq. 18, an ELBO with prior $\mathcal N(0,I)$):
#
# $$
# \mathcal L_{Rec} = -\mathbb E_{q(\ddot z_{st}\mid x_s,x_t)}\log p_\theta(x_s\mid\ddot z_{st}),\qquad
# \mathcal L_{KL} = D_{\mathrm{KL}}\big(q(\ddot z_{st}\mid x_s,x_t)\Vert p(z)\big)+D_{\mathrm{KL}}\big(q(\ddot z_{ts}\mid x_t,x_s)\Vert p(z)\big).
# $$
#
# (Eq. 17–18 are written to be maximised and print "$\mathrm{KL}(\log q_\phi\ldots)$", a stray log; we
# write both terms as costs, as the update rules use them.) A two-layer domain classifier $\Xi$ on $h$ is
# trained through a gradient reversal layer, $\mathcal L_{adv}$ being its binary cross-entropy (Eq. 19,
# 24): exactly DANN's domain term, applied to the representation that modulates the latents. The
# **consistency losses** tie the decoding of the transfer latent to a decoding of the representation
# alone (Eq. 20, in the mean-squared-error form the seed's text chooses):
#
# $$
# \mathcal L_c = \beta_1\big\Vert D_\theta(\ddot z_{st})-D_\theta(\gamma_1h_s+\gamma_2\varepsilon)\big\Vert^2
# + \beta_2\big\Vert D_\theta(\ddot z_{ts})-D_\theta(\gamma_1h_t+\gamma_2\varepsilon)\big\Vert^2 .
# $$
#
# Eq. 20 as printed squares the difference of two expected log-likelihoods, two scalars per batch;
# the text's "we simply use MSE" between the two generations is what can carry the class of the image,
# and is what we implement. The parameters then move along (Eq. 21–22)
#
# $$
# \phi\leftarrow\phi-\eta_1\nabla_\phi\big(\mathcal L_{adv}+\lambda_1\mathcal L_{KL}+\lambda_2\mathcal L_{Rec}\big),\qquad
# \theta\leftarrow\theta-\eta_2\nabla_\theta\big(\mathcal L_{Rec}+\mathcal L_c\big),
# $$
#
# with SGD with momentum for $\phi$, Adam for $\theta$, batch 64 and $\gamma_1=1$, $\gamma_2=0.1$,
# $\lambda_1=\lambda_2=10^{-4}$, $\beta_1=0.1$, $\beta_2=0.01$. {class}`gi_core.cdlm.CDLM` builds one loss
# whose gradient with respect to each block is that block's rule (the reconstruction reaches $\phi$ through
# a gradient scaling by $\lambda_2$, the reversal layer turns the descent on $\mathcal L_{adv}$ into an
# ascent for $\phi$).
#
# **What the seed leaves open, and what we chose.** The seed gives no learning rates, latent size,
# iteration count, GRL coefficient, KL form, classifier input or network layers (it refers to UNIT
# {cite}`liu2017unit`). Our choices, each an option of {func}`gi_core.cdlm.build_cdlm`: a two-convolution
# encoder and a transposed-convolution decoder with a 64-dimensional latent; the KL of the conditional
# Gaussian $\mathcal N(\mu_s+\gamma_1\sigma_s\odot h_t,(\gamma_2\sigma_s)^2)$; a LeNet classifier trained
# on source images and on the source generations $D_\theta(\gamma_1h_s+\gamma_2\varepsilon)$ with source
# labels; Ganin's two schedules for $\eta_1$ and the GRL, with $\eta_1$ starting at $\mu_0=10^{-3}$, a
# tenth of Ganin's rate for DANN (runs not marked "μ0 = 0.001" in the tables below used Ganin's
# $10^{-2}$; {ref}`cdlm-errors` shows what that costs). Two deviations from the literal update rules
# are needed for the method to learn at all: with $\lambda_2=10^{-4}$ the encoder receives essentially no
# reconstruction signal and, with $\mathcal L_c$ kept away from $\phi$, nothing ties $h$ to the content of
# the image, so the decoder can only learn an average image. The stored full-scale run with the literal
# rules, in the results below, measures it. We therefore let the reconstruction reach the encoder at full
# weight ($\lambda_2=1$) and let $\mathcal L_c$ train the encoder as well (`consistency_to_encoder=True`).

# %% tags=["nbval-ignore-output"]
cdlm_options, cdlm_lr = BOOK_CDLM, BOOK_CDLM_LR
cdlm_steps = ctx.pick(quick=500, full=4000)
cdlm, cdlm_trainer, cdlm_seconds = train_method(
    DAConfig(task="mnist_usps", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, lr=cdlm_lr), mu_data, seed=0,
    progress=False)
cdlm_terms = cdlm_trainer.history[-1]
quick_rows["cdlm"] = {**evaluate_method(cdlm, mu_data), "seconds": cdlm_seconds,
                      "final domain accuracy": cdlm_terms["domain_accuracy"]}
print({k: round(v, 3) for k, v in cdlm_terms.items()})
pd.DataFrame(quick_rows).T.round(3)

# %% tags=["da-check"]
first_terms = cdlm_trainer.history[0]
assert all(math.isfinite(v) for v in cdlm_terms.values())
assert cdlm_terms["rec_loss"] < 0.8 * first_terms["rec_loss"]  # the decoder learns to reconstruct the source
assert 0.0 <= quick_rows["cdlm"]["target_accuracy"] <= 1.0

# %% [markdown]
# What the decoder makes of target images: the first row shows USPS test digits, the second their
# source-style translations $\tilde x_{ts}=D_\theta(\gamma_1h_t+\gamma_2\varepsilon)$, the images the
# classifier actually sees, and the third the reconstructions of MNIST digits from $\ddot z_{st}$.

# %%
with torch.no_grad():
    torch.manual_seed(0)
    target_images = mu_data.target_test_x[:10]
    translated = cdlm.translate(target_images).cpu()
    z_st, _ = cdlm.modulated_latents(mu_data.source_x[:10], target_images)
    reconstructed = cdlm.mean_image(cdlm.decoder(z_st)).cpu()
fig, axes = plt.subplots(3, 10, figsize=(10, 3.2))
for row, (name, images) in zip(axes, [("USPS", target_images.cpu()), (r"$\tilde x_{ts}$", translated),
                                       (r"$D(\ddot z_{st})$", reconstructed)]):
    for ax, image in zip(row, images):
        ax.imshow(image.squeeze(0), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center")
plt.suptitle(f"CDLM after {cdlm_steps} steps ({ctx.profile} profile)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Reproducing Table 2
#
# The full profile trains source only, DANN, target only and CDLM on MNIST→USPS for three seeds each,
# 4 000 steps of 64 + 64 images (4.3 epochs of MNIST), and three single-seed variants: DANN with the
# reversal capped at $\lambda_{\max}=0.3$, DANN trained 2.5 times longer (10 000 steps), and CDLM with
# the literal update rules of Eq. 21. USPS→MNIST and MNIST→MNIST-M get one seed of source only and DANN,
# MNIST→MNIST-M also one DANN run of 10 000 steps and one CDLM run (the CPU budget allowed no more). The
# framed protocol of the next section adds source only, DANN, target only and CDLM on MNIST→USPS and
# source only, DANN and CDLM on USPS→MNIST, three seeds each, and a rebalancing oracle; on framed MNIST→USPS also DANN with $\lambda_{\max}=0.1$ and 0.3
# (three seeds each, with their reverse-validation runs), CDLM with $\lambda_{\max}=0.1$, 0.3 and 0 and
# without consistency losses (one seed each), and CDLM with $\mu_0=0.001$ (three seeds; one with a
# 256-dimensional latent). USPS→MNIST (framed) and MNIST→MNIST-M get one CDLM run with $\mu_0=0.001$ each.
# Everything is stored with its provenance in `results/da_<task>.json`, one file per task
# ({func}`gi_core.da_experiment.reproduce`; from the command line
# `python -m gi_core.da_experiment --task mnist_usps`), and the diagnoses of the next section in
# `results/da_mnist_usps_releases.json`, `results/da_mnist_usps_framed_releases.json`,
# `results/da_mnist_usps_framed_reverse_validation.json`, `results/da_mnist_usps_framed_bound_terms.json`
# and the CDLM diagnoses in `results/da_*_translation.json` and `results/da_*_early_trace.json`.
# Seed 003's numbers
# (`results/reference/seed003_table_2.json`) are single values: the paper reports no spread, and its
# baseline rows are quoted from other papers, with other networks and preprocessing.

# %% tags=["nbval-ignore-output"]
plans = {
    "mnist_usps": [(DAConfig(task="mnist_usps", method=m, steps=steps), [0, 1, 2])
                   for m in ("source_only", "dann", "target_only")]
    + [(DAConfig(task="mnist_usps", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options), [0, 1, 2]),
       (DAConfig(task="mnist_usps", method="dann", steps=steps, lambda_max=0.3), [0]),
       (DAConfig(task="mnist_usps", method="dann", steps=10000), [0]),
       (DAConfig(task="mnist_usps", method="cdlm", steps=cdlm_steps), [0])],
    "usps_mnist": [(DAConfig(task="usps_mnist", method=m, steps=steps), [0]) for m in ("source_only", "dann")],
    "mnist_mnistm": [(DAConfig(task="mnist_mnistm", method=m, steps=steps), [0]) for m in ("source_only", "dann")]
    + [(DAConfig(task="mnist_mnistm", method="dann", steps=10000), [0]),
       (DAConfig(task="mnist_mnistm", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options), [0]),
       (DAConfig(task="mnist_mnistm", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, lr=cdlm_lr), [0])],
    "mnist_usps_framed": [(DAConfig(task="mnist_usps_framed", method=m, steps=steps), [0, 1, 2])
                          for m in ("source_only", "dann", "target_only")]
    + [(DAConfig(task="mnist_usps_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options), [0, 1, 2])]
    + [(DAConfig(task="mnist_usps_framed", method="dann", steps=steps, lambda_max=lam), [0, 1, 2]) for lam in (0.1, 0.3)]
    + [(DAConfig(task="mnist_usps_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, lambda_max=lam), [0])
       for lam in (0.1, 0.3, 0.0)]
    + [(DAConfig(task="mnist_usps_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options | {"beta1": 0.0, "beta2": 0.0}),
        [0]),
       (DAConfig(task="mnist_usps_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, lr=cdlm_lr), [0, 1, 2]),
       (DAConfig(task="mnist_usps_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options | {"latent_dim": 256},
                 lr=cdlm_lr), [0])],
    "usps_mnist_framed": [(DAConfig(task="usps_mnist_framed", method=m, steps=steps), [0, 1, 2])
                          for m in ("source_only", "dann")]
    + [(DAConfig(task="usps_mnist_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options), [0, 1, 2]),
       (DAConfig(task="usps_mnist_framed", method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, lr=cdlm_lr), [0])],
    "mnist_usps_framed_balanced": [(DAConfig(task="mnist_usps_framed_balanced", method="dann", steps=steps), [0, 1, 2])],
}
run_root = Path.home() / ".cache" / "gi-book" / "runs" / "da"
if not ctx.quick:
    for task, plan in plans.items():
        reproduce(plan, run_root / task, f"da_{task}")
    for task in ("mnist_usps", "mnist_usps_framed"):
        release_check(plans[task], run_root / task, f"da_{task}_releases")
    reversal_plan = [(config, seeds) for config, seeds in plans["mnist_usps_framed"]
                     if config.method in ("source_only", "dann")]  # lambda_max = 0 (source only), 0.1, 0.3 and 1
    reverse_validation(reversal_plan, run_root / "mnist_usps_framed", "da_mnist_usps_framed_reverse_validation")
    bound_terms(reversal_plan, run_root / "mnist_usps_framed", "da_mnist_usps_framed_bound_terms")
stored = {task: read_result(f"da_{task}") for task in plans}
reference = json.loads((RESULTS_DIR / "reference" / "seed003_table_2.json").read_text())
for task, result in stored.items():
    if result is None:
        print(f"{task}: no full-profile result stored yet; run this notebook with GI_PROFILE=full")
        continue
    meta, runs = result["provenance"], result["metrics"]["runs"]
    print(f"{task}: device {meta['device']}; run commits {sorted({r['commit'][:7] for r in runs})}; "
          f"{sum(r['train_seconds'] for r in runs) / 60:.0f} min of training; {meta['config']['selection_rule']}")
    print("   data:", meta["config"]["data_sources"])

# %%
paper_rows = {"source_only": "Source Only", "dann": "DANN", "target_only": "Target Only",
              "cdlm_consistency_to_encoder-True_lambda2-1.0": "CDLM", "cdlm": "CDLM", "dann_steps-10000": "DANN",
              "cdlm_consistency_to_encoder-True_lambda2-1.0_lr-0.001": "CDLM"}
descriptions = {"source_only": "Source only (λ = 0)", "dann": "DANN, Ganin's schedule (λ_max = 1)",
                "dann_steps-10000": "DANN, 10 000 steps", "dann_lambda_max-0.1": "DANN, λ_max = 0.1",
                "dann_lambda_max-0.3": "DANN, λ_max = 0.3",
                "cdlm_consistency_to_encoder-True_lambda2-1.0": "CDLM, book variant (λ2 = 1, L_c trains φ)",
                "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.3": "CDLM, book variant, λ_max = 0.3",
                "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.1": "CDLM, book variant, λ_max = 0.1",
                "cdlm_consistency_to_encoder-True_lambda2-1.0_lambda_max-0.0": "CDLM, book variant, no reversal (λ_max = 0)",
                "cdlm_beta1-0.0_beta2-0.0_consistency_to_encoder-True_lambda2-1.0": "CDLM, book variant, no L_c (β1 = β2 = 0)",
                "cdlm_consistency_to_encoder-True_lambda2-1.0_lr-0.001": "CDLM, book variant, μ0 = 0.001",
                "cdlm_consistency_to_encoder-True_lambda2-1.0_latent_dim-256_lr-0.001": "CDLM, μ0 = 0.001, 256-d latent",
                "cdlm": "CDLM, literal Eq. 21 (λ2 = 1e-4)", "target_only": "Target only (target labels)"}


def mean_std(values: list[float]) -> str:
    """A ``[mean, std, n]`` summary entry as "mean ± std" (the mean alone for one run)."""
    mean, std, n = values
    return f"{mean:.3f} ± {std:.3f}" if n > 1 else f"{mean:.3f}"


def accuracy_table(task: str) -> pd.DataFrame:
    summary = stored[task]["metrics"]["summary"]
    rows = {}
    for label in (label for label in descriptions if label in summary):  # the order of `descriptions`
        values = summary[label]
        finals = [r["final_terms"] for r in stored[task]["metrics"]["runs"] if r["model"] == label]
        rows[descriptions[label]] = {"target accuracy": mean_std(values["target_accuracy"]),
                                     "seeds": values["target_accuracy"][2], "source test accuracy": round(values["source_accuracy"][0], 3),
                                     "last-batch domain accuracy": round(float(np.mean([f["domain_accuracy"] for f in finals])), 2),
                                     "last-batch reconstruction (nats)": round(float(np.mean([f["rec_loss"] for f in finals])), 1)
                                     if "rec_loss" in finals[0] else "",
                                     "seed 003": reference["table"][task.split("_framed")[0]].get(paper_rows.get(label), "")}
    return pd.DataFrame(rows).T


accuracy_table("mnist_usps")

# %%
pd.concat({name: accuracy_table(task) for task, name in (("usps_mnist", "USPS→MNIST"), ("mnist_mnistm", "MNIST→MNIST-M"))
           if stored[task] is not None})

# %% [markdown]
# ## Why DANN loses on MNIST→USPS
#
# DANN falls below source only on MNIST→USPS but not on USPS→MNIST, with the same code, networks and
# schedules. That points at the *target* side of MNIST→USPS rather than at the algorithm. Two properties
# of it can be seen without a single target label, and the cost of each can then be measured.
#
# ### Two releases of the same USPS digits
#
# The full profile's USPS *training* images are the ESL release (torchvision's training file is missing
# offline, see the data section above), while the test images are torchvision's release of the same
# 2 007 test digits, smoothed differently: the two releases of the test digits differ by 22/255 per pixel
# on average. DANN aligns MNIST with the release it trains on and is scored on the other one.
# {func}`gi_core.da_experiment.release_check` re-evaluates every stored run on the ESL release of the same
# test digits, and on the target training images. Here (and in the rebalancing oracle below) target labels
# are read, and only to *measure*: no run, checkpoint or setting is chosen with them.

# %%
def release_table(task: str) -> pd.DataFrame | None:
    result = read_result(f"da_{task}_releases")
    if result is None:
        print(f"{task}: no release check stored yet; run this notebook with GI_PROFILE=full")
        return None
    columns = {"target_accuracy": "USPS test, torchvision release (reported)",
               "esl_test_accuracy": "same digits, ESL release", "target_train_accuracy": "USPS training images (ESL)"}
    summary = result["metrics"]["summary"]
    rows = {descriptions[label]: {name: mean_std(summary[label][metric]) for metric, name in columns.items()}
            for label in descriptions if label in summary}  # the order of `descriptions`
    return pd.DataFrame(rows).T


release_table("mnist_usps")

# %% [markdown]
# Source only and target only score the same on both releases (within a point): a classifier trained with
# labels, whichever domain they come from, hardly notices how the test digits were smoothed. DANN does: it scores 0.690 ± 0.048
# on the release it was adapted to and 0.579 ± 0.126 on torchvision's, and its worst seed drops from
# 0.682 to 0.461. The adapted features are tuned to the smoothing of the images they were aligned
# with. Part of the gap is therefore an artefact of the substitute training file, which
# seed 003 did not have to use. But only part: on the matching release DANN is still ten points *below*
# source only.
#
# ### The digits' framing
#
# MNIST's digits were scaled into a 20×20 box and centred in a 28×28 frame when the dataset was built
# {cite}`lecun1998mnist`; USPS's 16×16 digits fill their frame. Resized to 28×28, as seed 003 does,
# a USPS digit is therefore about 40 % taller than an MNIST digit and its strokes are thicker.
# {func}`gi_core.domain_adaptation.ink_extent` measures this on the images alone (rows and columns with a
# pixel above 0.3). The `_framed` tasks shrink USPS digits into MNIST's 20×20 box instead
# ({func}`gi_core.domain_adaptation.frame_digits`). The box is MNIST's published construction, confirmed
# here without labels; it was not tuned on any accuracy.

# %% tags=["nbval-ignore-output"]
framed_data = load_domain_data("mnist_usps_framed", ctx.device)
framings = {"MNIST": mu_data.source_x, "USPS resized to 28×28": mu_data.target_x,
            "USPS in a 20×20 box": framed_data.target_x}
extents = {}
fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.6))
for ax, (name, x) in zip(axes, framings.items()):
    height, width = ink_extent(x)
    extents[name] = {"ink height (px)": height.float().mean().item(), "ink width (px)": width.float().mean().item(),
                     "mean intensity": x.mean().item()}
    ax.imshow(x.mean(0)[0].cpu(), cmap="magma", vmin=0, vmax=0.6)
    ax.set_title(f"mean image: {name}", fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
plt.tight_layout()
plt.show()
pd.DataFrame(extents).T.round(2)

# %% tags=["da-check"]
mnist_height = extents["MNIST"]["ink height (px)"]
assert extents["USPS resized to 28×28"]["ink height (px)"] - mnist_height > 6  # the mismatch is large
assert abs(extents["USPS in a 20×20 box"]["ink height (px)"] - mnist_height) < 0.5  # and framing removes it
assert abs(extents["USPS in a 20×20 box"]["mean intensity"] - extents["MNIST"]["mean intensity"]) < 0.02

# %% [markdown]
# With the digits framed alike, the full-profile runs (same networks, schedules, seeds and selection
# rule; `results/da_mnist_usps_framed.json`, `results/da_usps_mnist_framed.json`):

# %%
pd.concat({name: accuracy_table(task) for task, name in (
    ("mnist_usps_framed", "MNIST→USPS, framed"), ("usps_mnist_framed", "USPS→MNIST, framed"),
    ("mnist_usps_framed_balanced", "MNIST→USPS, framed, rebalanced (oracle)"))
    if stored[task] is not None})

# %%
release_table("mnist_usps_framed")

# %% [markdown]
# **Framing is the largest single effect in this chapter.** With USPS digits in MNIST's box:
#
# - source only rises from 0.806 to 0.930 ± 0.003 on MNIST→USPS, two points short of target only
#   (0.950 ± 0.003), and from 0.560 to 0.774 ± 0.021 on USPS→MNIST;
# - DANN rises from 0.579 ± 0.126 to 0.862 ± 0.033 on MNIST→USPS;
# - CDLM rises from 0.472 ± 0.058 to 0.804 ± 0.014;
# - the raw-pixel A-distance falls from 1.96 to 1.63, and DANN's features now come out at 1.60
#   (source only's stay at 1.99): the reversal can align the domains once a digit is the same size in both.
#
# Framing also explains why seed 003's source-only baseline (0.634, quoted from another paper with its
# own preprocessing) sits so far below ours. It also accounts for most of what DANN gained on
# USPS→MNIST before framing (0.560 → 0.764): framing alone takes source only to 0.774.
#
# **The release mismatch nearly vanishes with framing.** The second table shows that framed DANN
# loses only about one point between the ESL release of the test digits and torchvision's
# (0.874 ± 0.037 against 0.862 ± 0.033). Two of its three seeds are at 0.89–0.90 on the release it was
# adapted to.
#
# **Label shift is not the cause either.** USPS's training digits are 16 % zeros and 14 % ones, against
# about 10 % and 11 % in MNIST. Aligning the feature marginals of two domains whose class proportions
# differ must push some target digits onto source features of another class {cite}`zhao2019invariant`.
# The oracle task `mnist_usps_framed_balanced` resamples the USPS training images to MNIST's class
# proportions. This reads the target's *training* labels, so it is a diagnosis, not a method. DANN then
# scores 0.861 ± 0.005, the same as without rebalancing (0.862 ± 0.033); only the spread over seeds shrinks.
#
# **What remains: with framed digits, DANN with Ganin's schedule adds nothing to this source-only
# network.**
#
# | task | DANN | source only | difference |
# |---|---|---|---|
# | MNIST→USPS | 0.862 ± 0.033 | 0.930 ± 0.003 | DANN 7 points *below* |
# | USPS→MNIST | 0.784 ± 0.034 | 0.774 ± 0.021 | within the spread |
#
# In both directions the reversal costs source accuracy (0.959 against 0.985, and 0.904 against 0.949),
# while the A-distance shows that the alignment happens. Seed 003's own DANN figures (0.774 and 0.833) sit
# on the same side of 0.90. The next section measures why, and how strong the reversal should be.
#
# ### How strong should the reversal be? Reverse validation and the terms of the bound
#
# Ganin et al.'s domain term, which this chapter implements, sums a mean over the source batch and a mean
# over the target batch. Implementations that average over the concatenated batch halve it, so the
# strength of the reversal, $\lambda_{\max}$, is a real hyperparameter, not a constant of the method.
# To choose such settings, Ganin et al. use **reverse validation** {cite}`zhong2010cross,ganin2016dann`,
# which needs no target label ({func}`gi_core.da_experiment.reverse_validation`):
#
# 1. train the forward network (source labels, unlabelled target images) and let it label the target
#    training images;
# 2. train a *reverse* network of the same setting and seed with those pseudo-labelled target images as its
#    source and the source training images, unlabelled, as its target;
# 3. score the reverse network on labelled source data that no run trained on (the MNIST test split).
#
# The setting with the highest reverse accuracy, averaged over the three seeds, is selected. Four settings
# compete: $\lambda_{\max}=0$ (source only), 0.1, 0.3 and 1 (Ganin's schedule, the runs above); 24
# training runs in all. Target labels appear only in columns marked "measured".
#
# The same networks also give the measurable terms of the Ben-David bound in their feature space: the
# proxy A-distance of the test features (the divergence term) and an estimate of the adaptability term
# $\lambda^*=\min_h[\varepsilon_S(h)+\varepsilon_T(h)]$ ({func}`gi_core.domain_adaptation.joint_error`):
# the held-out error on both domains of one logistic regression fitted to labelled features of both.
# $\lambda^*$ is small when one linear classifier serves both domains, and grows when the alignment puts
# target digits where source digits of another class are {cite}`zhao2019invariant`. It reads target labels,
# so it explains; it does not select.

# %%
reversal_levels = {"source_only": "0 (source only)", "dann_lambda_max-0.1": "0.1", "dann_lambda_max-0.3": "0.3",
                   "dann": "1 (Ganin's schedule)"}
reverse = read_result("da_mnist_usps_framed_reverse_validation")
terms = read_result("da_mnist_usps_framed_bound_terms")
columns = {"target_accuracy": "target accuracy (measured)", "source_accuracy": "source accuracy",
           "a_distance": "A-distance of features", "lambda_star": "λ* (joint linear error)",
           "pseudo_label_accuracy": "pseudo-label accuracy (measured)", "reverse_accuracy": "reverse accuracy (selects)"}
reversal_summary = {label: terms["metrics"]["summary"][label] | reverse["metrics"]["summary"][label]
                    for label in reversal_levels}  # both hold the same runs' target accuracy
reversal_table = pd.DataFrame({level: {name: mean_std(reversal_summary[label][metric]) for metric, name in columns.items()}
                               for label, level in reversal_levels.items()}).T
reversal_table.index.name = "λ_max"
print(f"selected by reverse validation among the DANN settings: {descriptions[reverse['metrics']['selected']]}; "
      f"with source only competing: {descriptions[reverse['metrics']['selected_any']]}")
print(f"raw pixels: A-distance {terms['metrics']['raw']['a_distance']:.2f}, "
      f"λ* {terms['metrics']['raw']['lambda_star']:.3f}")
reversal_table

# %%
x_positions = np.arange(len(reversal_levels))
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
for metric, name, colour in (("target_accuracy", "target test accuracy (measured)", "tab:orange"),
                             ("source_accuracy", "source test accuracy", "tab:blue"),
                             ("reverse_accuracy", "reverse accuracy (selection)", "tab:green")):
    mean, std = np.array([reversal_summary[label][metric][:2] for label in reversal_levels]).T
    left.errorbar(x_positions, mean, yerr=std, marker="o", capsize=3, color=colour, label=name)
left.set(ylabel="accuracy", title="MNIST→USPS, framed: 3 seeds per setting")
left.legend(fontsize=8)
for axis, metric, name, colour in ((right, "a_distance", "A-distance of the features", "tab:gray"),
                                   (right.twinx(), "lambda_star", "λ* (joint linear error)", "tab:red")):
    mean, std = np.array([reversal_summary[label][metric][:2] for label in reversal_levels]).T
    axis.errorbar(x_positions, mean, yerr=std, marker="s", capsize=3, color=colour)
    axis.set_ylabel(name, color=colour)
right.set_title("terms of the Ben-David bound")
for axis in (left, right):
    axis.set_xticks(x_positions, [level.split(" (")[0] for level in reversal_levels.values()])
    axis.set_xlabel(r"$\lambda_{\max}$")
plt.tight_layout()
plt.show()

# %% tags=["da-check"]
summary = reverse["metrics"]["summary"]
assert reverse["metrics"]["selected"] == highest(summary, [l for l in reversal_levels if l != "source_only"],
                                                 "reverse_accuracy")
assert reverse["metrics"]["selected_any"] == highest(summary, list(reversal_levels), "reverse_accuracy")
# both diagnoses re-read the checkpoints that the accuracy table reports: same networks, same accuracies
trained = {(r["model"], r["seed"]): r["target_accuracy"] for r in stored["mnist_usps_framed"]["metrics"]["runs"]}
for run in terms["metrics"]["runs"] + reverse["metrics"]["runs"]:
    assert abs(run["target_accuracy"] - trained[run["model"], run["seed"]]) < 1e-9, run

# %% [markdown]
# **Reverse validation rejects Ganin's setting and source only, but cannot tell 0.1 from 0.3.** It
# selects $\lambda_{\max}=0.3$: reverse accuracy 0.904 ± 0.015, against 0.900 ± 0.021 for 0.1, a
# difference of a fifth of the spread over seeds; source only (0.875) and Ganin's schedule (0.843) come
# last. The selected DANN scores **0.891 ± 0.009** (seeds 0.897, 0.881, 0.895). This is the chapter's
# DANN result under a selection rule that reads no target label: three points above Ganin's schedule and
# one point short of 0.90. $\lambda_{\max}=0.1$ would have scored 0.928 ± 0.005, but nothing that can
# be computed without target labels prefers it.
#
# **The terms of the bound show why stronger reversal does worse here.** As $\lambda_{\max}$ grows from
# 0 to 1:
#
# - the divergence term falls: the A-distance of the features goes from 1.99 to 1.69;
# - the source error rises from 0.015 to 0.041;
# - the adaptability term rises: $\lambda^*$ goes from 0.089 to 0.115.
#
# The alignment buys domain confusion with class structure, and the target accuracy falls with every
# step (0.930, 0.928, 0.891, 0.862). With $\lambda_{\max}=0.1$ the features still separate the domains
# (A-distance 1.98, as for source only): that network is source only in all but name. The bound itself,
# $\varepsilon_S+\tfrac12 d_A+\lambda^*$, comes to between 1.00 and 1.10 for every setting, which says
# nothing about an error rate, so it cannot rank them; its terms show the mechanism.
#
# **Framed MNIST→USPS leaves DANN little to gain.** Source only is at 0.930 and the target-only bound of
# this network at 0.950: two points of headroom. The settings that align the features measurably (0.3 and
# 1) lose four to seven points. Seed 003's table shows a large DANN gain (0.634 → 0.774) over a
# source-only baseline quoted from another paper with other preprocessing. Our unframed source only
# (0.806) already beats that DANN figure, and framing adds twelve points more.
#
# **CDLM's reversal behaves the same way.** Its adversarial term goes through the same gradient reversal,
# and one seed of each setting on framed MNIST→USPS (in the framed accuracy table above) moves the same
# way: 0.794 with $\lambda_{\max}=1$, 0.855 with 0.3 and 0.881 with 0.1, still below source only. CDLM
# was not reverse-validated: its reverse runs would cost another hour of CPU per setting.


# %% [markdown]
# (cdlm-errors)=
# ## Where CDLM's errors arise
#
# CDLM never classifies a target digit directly. It encodes the digit to $h_t$, decodes a source-style
# image $D_\theta(\gamma_1h_t+\gamma_2\varepsilon)$ and classifies that image. Its classifier also trains on
# raw source digits (`classifier_input="both"`), so the same classifier can label the raw target digit
# too: a source-only classifier inside the model. {func}`gi_core.cdlm_diagnosis.translation_diagnosis`
# compares the two paths digit by digit, and measures what the representation carries:
#
# - **raw image against translation.** The classifier's accuracy on raw target digits, and the fractions
#   of target digits that the translation *loses* (right on the raw digit, wrong through its translation)
#   and *gains* (the reverse). Target accuracy = raw accuracy − lost + gained, exactly.
# - **what $h$ carries.** A linear probe on $h$ fitted to 5 000 labelled source digits, scored on source
#   and on target test digits ("transfer"), and an oracle probe fitted to the labelled target training
#   digits: how much class information $h_t$ holds at all, aligned with the source or not.
# - **whether the encoder is alive.** The fraction of the encoder's last hidden units (after its ReLU)
#   that output 0 on every test digit of both domains, and the spread of $h$ over those digits (0 when
#   $h$ is one constant vector).
#
# Target labels only measure here. The diagnoses of every stored CDLM run of framed MNIST→USPS and
# USPS→MNIST and of MNIST→MNIST-M are in `results/da_<task>_translation.json`.

# %% tags=["nbval-ignore-output"]
cdlm_plans = {task: [(config, seeds) for config, seeds in plans[task] if config.method == "cdlm"]
              for task in ("mnist_usps_framed", "usps_mnist_framed", "mnist_mnistm")}
trace_settings = {"mnist_usps_framed": [{}, {"lambda_max": 0.0}, {"lr": cdlm_lr}], "mnist_mnistm": [{}, {"lr": cdlm_lr}]}
if not ctx.quick:
    for task, plan in cdlm_plans.items():
        translation_diagnoses(plan, run_root / task, f"da_{task}_translation")
    for task, settings in trace_settings.items():
        early_training_traces([DAConfig(task=task, method="cdlm", steps=cdlm_steps, cdlm=cdlm_options, **setting)
                               for setting in settings], 0, (1, 5, 10, 25, 50, 100, 200, 300), f"da_{task}_early_trace")
translation = {task: read_result(f"da_{task}_translation") for task in cdlm_plans}
traces = {task: read_result(f"da_{task}_early_trace") for task in trace_settings}
diagnosis_columns = {"target_accuracy": "target: translated", "untranslated_target_accuracy": "target: raw digit",
                     "lost_by_translation": "lost", "gained_by_translation": "gained",
                     "source_accuracy": "source: translated", "probe_source": "probe: source",
                     "probe_transfer": "probe: source → target", "probe_target": "probe: target (oracle)",
                     "inactive_units": "dead units", "h_spread": "spread of h"}


def diagnosis_table(task: str) -> pd.DataFrame:
    summary = translation[task]["metrics"]["summary"]
    return pd.DataFrame({f"{descriptions[label]} ({summary[label]['target_accuracy'][2]})":
                         {name: mean_std(summary[label][metric]) for metric, name in diagnosis_columns.items()}
                         for label in descriptions if label in summary}).T


pd.concat({name: diagnosis_table(task) for task, name in (("mnist_usps_framed", "MNIST→USPS, framed"),
                                                           ("usps_mnist_framed", "USPS→MNIST, framed"),
                                                           ("mnist_mnistm", "MNIST→MNIST-M"))
           if translation[task] is not None})

# %% tags=["da-check"]
for task, result in translation.items():
    if result is None:
        continue
    trained = {(r["model"], r["seed"]): r["target_accuracy"] for r in stored[task]["metrics"]["runs"]}
    for run in result["metrics"]["runs"]:
        assert abs(run["target_accuracy"] - trained[run["model"], run["seed"]]) < 1e-9, run  # the same checkpoints
        balance = run["untranslated_target_accuracy"] - run["lost_by_translation"] + run["gained_by_translation"]
        assert abs(run["target_accuracy"] - balance) < 1e-6, run  # raw accuracy - lost + gained

# %% [markdown]
# **The translation is where CDLM loses.** In every run on framed MNIST→USPS that keeps the consistency
# losses (ten of the eleven; the ranges in this paragraph and the next are over these), the classifier
# inside the model labels the *raw* USPS digits at 0.91–0.93, source only's level (0.930 ± 0.003), and their
# translations at 0.79–0.88. Translating loses 5–15 % of the target digits and gains 1–3 % back: CDLM,
# as trained here, is worse than the source-only classifier it carries. Source digits lose less on the
# way (0.96–0.98 translated, 0.99 raw), so the decoder can draw a digit of the right class from $h$; what
# goes wrong is the $h$ of the *target* digits. (Without the consistency losses the translation loses
# 60 % of them; see below.)
#
# **The target's $h$ is not in the source's coordinates.** A linear probe reads the class from $h$ at
# 0.90–0.94 on source digits and, fitted to labelled USPS digits, at 0.89–0.93 on target digits: $h_t$
# holds the class. But the probe fitted to source digits scores only 0.69–0.82 on target digits. The
# adversarial term did not even bring the two marginals of $h$ together (its A-distance is 1.60–1.86 in
# the seed-0 runs, no lower than the raw pixels' 1.63), and nothing in the objective matches the classes:
# a target "3" gets an $h$ that the decoder draws as another source digit.
#
# **With Ganin's rate much of the encoder is dead.** With $\mu_0=0.01$, 32–63 % of the units of the
# encoder's last hidden layer output 0 on every test digit of both domains; with $\mu_0=0.001$, 2–7 %
# (31 % in the run with a 256-dimensional latent). The next subsection shows when they die.
#
# **On MNIST-M, $h$ is one constant vector.** The run with $\mu_0=0.01$ has 74 % dead units and no spread
# in $h$ at all: every digit of either domain is encoded to the same $h$, so the decoder draws one image
# and the classifier answers one class (0.113 on both domains, while the same classifier labels raw MNIST
# digits at 0.991). With $\mu_0=0.001$ the encoder lives (0.6 % dead) and source digits survive their
# translation (0.951), but target accuracy is only 0.255, half of source only's 0.519. The diagnosis
# says why: the $h$ of MNIST-M digits carries little of their class even for the oracle probe (0.50), and
# none of it in the source's coordinates (0.105, chance). CDLM reconstructs only source images; nothing in
# its objective asks $h_t$ to describe the target's digit rather than its coloured background.

# %% [markdown]
# ### The first ten steps: dead encoder units
#
# {func}`gi_core.cdlm_diagnosis.early_training_trace` follows a run through its first 300 steps, with the
# schedules of the full run, and records the dead units and the spread of $h$ on 500 test digits of each
# domain; it reads no label except the source class loss. The left panels are the stored traces of the
# full-profile runs (`results/da_mnist_usps_framed_early_trace.json`, `results/da_mnist_mnistm_early_trace.json`),
# the right one is computed on this run's data.

# %% tags=["nbval-ignore-output"]
trace_names = {DAConfig(method="cdlm", cdlm=cdlm_options, **setting).label: name
               for setting, name in (({}, "μ0 = 0.01"), ({"lambda_max": 0.0}, "μ0 = 0.01, no reversal"),
                                     ({"lr": cdlm_lr}, f"μ0 = {cdlm_lr:g}"))}
live_traces = {name: early_training_trace(DAConfig(task="mnist_usps", method="cdlm", steps=cdlm_steps,
                                                   cdlm=cdlm_options, lr=lr), mu_data, 0, (1, 10, 25, 50))
               for lr, name in ((0.01, "μ0 = 0.01"), (cdlm_lr, f"μ0 = {cdlm_lr:g}"))}
panels = [(f"{name}: stored full-profile runs", {trace_names[label]: trace
                                                 for label, trace in traces[task]["metrics"]["traces"].items()})
          for task, name in (("mnist_usps_framed", "MNIST→USPS framed"), ("mnist_mnistm", "MNIST→MNIST-M"))
          if traces[task] is not None]
panels.append((f"MNIST→USPS: this run ({ctx.profile} profile)", live_traces))
colours = {"μ0 = 0.01": "tab:red", "μ0 = 0.01, no reversal": "tab:orange", f"μ0 = {cdlm_lr:g}": "tab:blue"}
dashes = {"μ0 = 0.01, no reversal": "--"}  # it lies on the μ0 = 0.01 curve
fig, axes = plt.subplots(2, len(panels), figsize=(3.6 * len(panels), 5.2), sharex=True, squeeze=False)
for column, (title, panel) in enumerate(panels):
    for name, trace in panel.items():
        steps_run = [record["step"] for record in trace]
        style = {"color": colours[name], "linestyle": dashes.get(name, "-"), "marker": "o"}
        axes[0, column].plot(steps_run, [r["inactive_units"] for r in trace], label=name, **style)
        axes[1, column].plot(steps_run, [r["h_spread"] for r in trace], **style)
    axes[0, column].set_title(title, fontsize=9)
    axes[0, column].set_ylim(-0.03, 1.03)
    axes[1, column].set_xscale("log")
    axes[1, column].set_xlabel("training step")
    axes[0, column].legend(fontsize=7)
axes[0, 0].set_ylabel("dead encoder units")
axes[1, 0].set_ylabel("spread of h")
plt.tight_layout()
plt.show()

# %% tags=["da-check"]
# in this run too: Ganin's rate kills most of the encoder within 50 steps, a tenth of it does not
assert live_traces["μ0 = 0.01"][-1]["inactive_units"] > 0.5
assert live_traces[f"μ0 = {cdlm_lr:g}"][-1]["inactive_units"] < 0.2

# %% [markdown]
# **The encoder dies in its first ten steps, and the reversal plays no part.** With $\mu_0=0.01$ the
# dead fraction jumps from 17 % to 85 % between steps 5 and 10 on framed MNIST→USPS (on MNIST-M, from 2 %
# at the first step to 91 % at the tenth), and $h$ loses all spread (on MNIST-M it regains a little
# around step 300 and has none at the end of training). With the reversal switched off
# ($\lambda_{\max}=0$) the dead fraction is the same to two decimals at every step; in the first ten steps
# its coefficient is below 0.013 anyway. The class loss on
# source digits then stalls (1.25 after 300 steps, against 0.61 with $\mu_0=0.001$, where 4 % of the units
# are dead).
#
# The cause is the size of the first updates. The reconstruction is a sum over 784 pixels (2 352 for
# MNIST-M) and reaches the encoder at full weight ($\lambda_2=1$): at initialisation it is about 570 nats
# against a class loss of 2.3, and the encoder's gradient is about 30 times larger than the gradient that
# DANN's features receive (the cell below). Ganin's $\mu_0=0.01$ was tuned for the second. With momentum
# 0.9, a few such steps push the pre-activation of most units of the last convolution below zero for
# every input. A ReLU unit that is 0 on every input gets no gradient for its own weights; only the layer
# below can bring it back, and that is slow: 88 % (MNIST→USPS) and 80 % (MNIST-M) of the units are still
# dead after 300 steps, 32–63 % and 74 % after 4 000. Seed 003 gives no
# learning rate; its $\lambda_2=10^{-4}$ shrinks this gradient ten thousandfold, which the literal run above
# shows starves the encoder instead. We therefore start CDLM's SGD at $\mu_0=10^{-3}$
# (`gi_core.da_experiment.BOOK_CDLM_LR`). The choice rests on these traces, which read no target
# label, not on target accuracy.

# %% tags=["nbval-ignore-output"]
def trunk_gradient_norm(config: DAConfig, seed: int = 0) -> float:
    """Norm of the gradient that one batch of 64 + 64 digits sends into a fresh model's encoder (CDLM) or features (DANN)."""
    torch.manual_seed(seed)
    model, _ = build_method(config, mu_data)
    terms = model.training_loss(mu_data.source_x[:64], mu_data.source_y[:64], mu_data.target_x[:64])
    trunk = model.encoder if isinstance(model, CDLM) else model.feature_extractor
    return torch.cat([g.flatten() for g in torch.autograd.grad(terms["loss"], list(trunk.parameters()))]).norm().item()


initial_gradients = {"CDLM encoder": trunk_gradient_norm(DAConfig(task="mnist_usps", method="cdlm", cdlm=cdlm_options)),
                     "DANN features": trunk_gradient_norm(DAConfig(task="mnist_usps", method="dann"))}
print({name: round(norm, 2) for name, norm in initial_gradients.items()})

# %% tags=["da-check"]
assert initial_gradients["CDLM encoder"] > 10 * initial_gradients["DANN features"]

# %% [markdown]
# ### With the encoder alive
#
# The runs with $\mu_0=0.001$ (rows "μ0 = 0.001" in the tables above and below; 4 000 steps, final
# iterate, as every other run):
#
# | task | μ0 = 0.01 | μ0 = 0.001 | source only | seed 003 |
# |---|---|---|---|---|
# | MNIST→USPS, framed | 0.804 ± 0.014 | 0.845 ± 0.004 | 0.930 ± 0.003 | 0.961 |
# | USPS→MNIST, framed | 0.780 ± 0.004 | 0.729 | 0.774 ± 0.021 | 0.983 |
# | MNIST→MNIST-M | 0.113 | 0.255 | 0.519 | 0.987 |
#
# - **Keeping the encoder alive is worth four points on MNIST→USPS** (three seeds each, the spreads
#   do not overlap) and turns MNIST-M's collapse into a model that translates source digits correctly.
#   It does not close the gap: translating still loses more target digits than it gains (table above),
#   and the transfer probe on $h$ rises only from 0.71 to 0.74 (means over three seeds). On USPS→MNIST
#   the one run with $\mu_0=0.001$ is five points *below* the three with 0.01. Its encoder lives (5 % dead units,
#   against 58 % for seed 0 with 0.01), but its transfer probe falls from 0.67 to 0.59, and translating
#   loses 13 % of the MNIST digits and gains 3 % back (11 % and 7 % for seed 0 with 0.01). With either
#   rate the classifier labels raw MNIST digits better than their translations (0.80–0.83).
# - **A wider latent helps a little** (one seed): with 256 dimensions instead of 64, CDLM scores 0.875
#   on framed MNIST→USPS, against 0.850 for the same seed with 64, still five points under source only.
# - **The consistency losses are indispensable, as Table 3 says.** Without $\mathcal L_c$
#   ($\beta_1=\beta_2=0$, $\mu_0=0.01$, one seed) the translations carry almost no class: 0.332 on the
#   target and 0.376 on the source (Table 3: 0.635 on the target).
# - **The reversal does not help CDLM here.** Without it ($\lambda_{\max}=0$, $\mu_0=0.01$, one seed)
#   CDLM scores 0.848, against 0.794 for the same seed with Ganin's schedule; with $\lambda_{\max}=0.3$
#   and 0.1 it scores 0.855 and 0.881 (one seed each), all below source only.


# %% [markdown]
# ## Where the domains go: t-SNE and the A-distance
#
# The stored seed-0 runs also record the proxy A-distance between source and target test images in each
# model's feature space (DANN and source only: the 768 LeNet features; CDLM: the representation $h$ that
# is aligned and decoded) and a t-SNE of 500 test images per domain. The framed runs are included: the
# bars marked "framed" and the right-hand column of the t-SNE.

# %%
mu_result = stored["mnist_usps"]["metrics"]
a_distances = {}
for task, prefix in (("mnist_usps", ""), ("mnist_usps_framed", "framed: ")):
    if stored[task] is None:
        continue
    result = stored[task]["metrics"]
    a_distances[prefix + "raw pixels"] = result["a_distance_raw"]
    a_distances.update({prefix + descriptions[label]: v["a_distance"][0] for label, v in result["summary"].items()
                        if "a_distance" in v})
fig, ax = plt.subplots(figsize=(7, 0.3 * len(a_distances) + 1))
ax.barh(list(a_distances), list(a_distances.values()), color="tab:gray")
ax.invert_yaxis()
ax.set(xlim=(0, 2), xlabel=r"proxy A-distance $\hat d_A=2(1-2\varepsilon)$", title="MNIST→USPS, test images")
plt.tight_layout()
plt.show()

# %%
shown = ["source_only", "dann", "cdlm_consistency_to_encoder-True_lambda2-1.0"]
embeddings = {"raw pixels": mu_result["tsne_raw"]}
embeddings.update({descriptions[r["model"]].split(",")[0]: r["tsne"] for r in mu_result["runs"]
                   if "tsne" in r and r["model"] in shown})
if stored["mnist_usps_framed"] is not None:
    embeddings.update({descriptions[r["model"]].split(",")[0] + ", framed": r["tsne"]
                       for r in stored["mnist_usps_framed"]["metrics"]["runs"] if "tsne" in r and r["model"] == "dann"})
fig, axes = plt.subplots(2, len(embeddings), figsize=(2.8 * len(embeddings), 5.8))
for column, (label, emb) in zip(axes.T, embeddings.items()):
    xy, domain, digit = np.array(emb["xy"]), np.array(emb["domain"]), np.array(emb["label"])
    for value, name, colour in ((1, "MNIST", "tab:blue"), (0, "USPS", "tab:orange")):
        column[0].scatter(*xy[domain == value].T, s=3, c=colour, label=name, alpha=0.6)
    column[1].scatter(*xy.T, s=3, c=digit, cmap="tab10", alpha=0.8)
    column[0].set_title(label)
    for ax in column:
        ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].legend(markerscale=4, fontsize=8)
axes[0, 0].set_ylabel("coloured by domain")
axes[1, 0].set_ylabel("coloured by digit")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What reproduces, and what does not
#
# **Source only and target only land where they should.**
#
# - Source only reaches 0.806 ± 0.016 on USPS resized to 28×28 and 0.930 ± 0.003 with the digits framed
#   like MNIST's (seed 003 quotes 0.634).
# - On MNIST-M it reaches 0.519, which is Ganin et al.'s source-only figure for this network (about 0.52).
# - Target only reaches 0.949 ± 0.002, against seed 003's 0.980. That is after 4.3 epochs, and on the
#   differently smoothed ESL release of the USPS training images.
#
# **DANN on MNIST→USPS: the gap to 0.90 taken apart.** With seed 003's preprocessing, DANN ends at
# 0.579 ± 0.126 (seeds 0.712, 0.461 and 0.566), *below* source only. Neither capping the reversal at
# $\lambda_{\max}=0.3$ (0.689, one seed) nor training 2.5 times longer (0.704 after 10 000 steps) changes
# that. The section above takes the gap apart:
#
# 1. **Framing.** USPS digits resized to 28×28 are 40 % taller than MNIST's. In MNIST's 20×20 box DANN
#    reaches 0.862 ± 0.033.
# 2. **The substitute training release.** Unframed, it costs DANN 11 points (0.690 on the matching
#    release of the test digits). Framed, it costs one point (0.874).
# 3. **Label shift.** Ruled out by the rebalancing oracle (0.861 ± 0.005).
# 4. **The strength of the reversal.** Target accuracy falls as $\lambda_{\max}$ grows (0.930, 0.928,
#    0.891, 0.862 for 0, 0.1, 0.3, 1), and the measured terms of the bound show why: the divergence falls,
#    the source error and the joint error $\lambda^*$ rise. Reverse validation, which reads no target
#    label, rejects Ganin's setting and picks $\lambda_{\max}=0.3$.
#
# With that label-free choice DANN reaches **0.891 ± 0.009**, one point short of the 0.90 this book set
# as a target; the setting it could not tell apart from it ($\lambda_{\max}=0.1$) reaches 0.928 ± 0.005
# but barely aligns anything. On this pair source only is already at 0.930, two points under the
# target-only bound, and every alignment we measured costs more than it gains. Seed 003's own DANN number
# is 0.774.
#
# The implementation is not the suspect:
#
# - the reversal's gradients are verified exactly above;
# - the A-distance shows that the alignment happens;
# - on MNIST→MNIST-M, the task Ganin et al. report for this network, DANN goes from 0.496 after 4 000
#   steps to 0.628 after 10 000, eleven points above source only. Its domain classifier falls from 0.84
#   to 0.57 balanced accuracy on the last batch.
#
# Ganin et al.'s 0.767 there would need still longer training than a 2-core CPU allowed. The runs are
# resumable, and the GPU command is in the README.
#
# **CDLM is far from seed 003's 0.961; the diagnosis shows where it loses.**
#
# - **The literal update rules fail, as predicted.** After 4 000 steps the reconstruction of the literal
#   run has only come down to 131 nats (the book variant's: 52–56). Digits of both domains are classified
#   near chance through their translations (target 0.152, source 0.142).
# - **The book variant learns to translate.** Its classifier labels source digits through their
#   translations at 0.935–0.968.
# - **Target digits are often translated into source digits of the wrong class.** Accuracy is
#   0.472 ± 0.058 with seed 003's preprocessing, 0.804 ± 0.014 with framed digits (0.836 on the matching
#   release) and 0.845 ± 0.004 with the encoder kept alive ($\mu_0=0.001$). That is below framed source only
#   (0.930) in every setting we ran, with a weaker reversal (0.881 with $\lambda_{\max}=0.1$, one seed)
#   or none (0.848), and with a 256-dimensional latent (0.875, one seed). On USPS→MNIST (framed) CDLM
#   reaches 0.780 ± 0.004 (three seeds), level with source only (0.774 ± 0.021) and DANN
#   (0.784 ± 0.034), and 0.729 with $\mu_0=0.001$ (one seed); seed 003 reports 0.983.
# - **On MNIST→MNIST-M the collapse is explained, the adaptation still fails** (one seed each). With
#   Ganin's rate the encoder dies in its first ten steps and $h$ is one constant vector, so every digit
#   gets the same class (0.113). With $\mu_0=0.001$ the model trains (0.951 on source digits through
#   their translations) but scores 0.255 on MNIST-M, half of source only: the $h$ of a coloured digit
#   barely carries its class (0.50 even for a probe fitted to target labels). Seed 003 reports 0.987.
#
# The diagnosis of {ref}`cdlm-errors` takes the gap apart. **First, dead units:** Ganin's rate kills most
# of the encoder within ten steps; a tenth of it is worth four points on MNIST→USPS and removes the
# MNIST-M collapse. **Second, the translation:** in every run the classifier inside CDLM does better on
# the raw target digit (0.91–0.93 on MNIST→USPS) than on its translation. The decoder draws source digits
# of the right class from $h$, but the target's $h$ is not in the source's coordinates (a linear probe
# transfers at 0.7–0.8, against about 0.9 within each domain). A wider latent (0.875) or a weaker
# reversal (0.881) narrows the gap by a few points; neither reaches source only. The objective matches the marginals of $h$ and decodes $h_s$ consistently with
# $\ddot z_{st}$; nothing ties a target "3" to a source "3" except the shared encoder. What the seed leaves
# unspecified is where the difference must lie: UNIT's encoder and decoder {cite}`liu2017unit`, which
# share their high-level layers and reconstruct *both* domains, the latent size, the training length and
# the classifier. UNIT's networks were out of reach of this CPU budget.
#
# **A CDLM target of 0.95, which this book set itself, is the target-only bound of this setting.** A
# network of the same architecture trained on all 7 291 labelled USPS training images reaches
# 0.950 ± 0.003 on the reported test release (0.952 on the release it trained on). Seed 003's CDLM
# (0.961) stays below its own target-only row (0.980) too, at 98 % of it; at that ratio CDLM would score
# about 0.93 here. Reaching 0.95 would mean doing as well without target labels as with them. What this
# reproduction has to account for is the gap from 0.845 ± 0.004 to about 0.93, not the last two points; the
# diagnosis places it in the translation of target digits, whose $h$ does not share the source's class
# directions.
#
# So this reproduction does **not** confirm Table 2's CDLM numbers. It confirms the analysis of
# Eq. 1–15, which the checks above verify, and it documents a configuration that trains stably on all
# three pairs once its learning rate is a tenth of DANN's, but adapts on none of them better than source
# only.
