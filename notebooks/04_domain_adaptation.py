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
# (2023, Part 3) {cite}`corro2023dl`, turns the bound into an objective, DANN and its gradient
# reversal layer {cite}`ganin2015unsupervised,ganin2016dann`, and then builds a generative-inference
# model for the same task, the cross-domain latent modulation (CDLM) of Hou et al.
# (2021) {cite}`hou2021cdlm`. CDLM is a VAE whose reparameterization noise is replaced by the
# *other* domain's representation, so it reuses every piece of the previous chapters: an encoder
# $q(z\mid x)$, a decoder $p(x\mid z)$, a KL to the prior and an adversarial term. Pérez Carrasco's
# (2021) thesis {cite}`perez2021avda` follows the same programme with a class-conditional
# mixture prior.
#
# Every identity is checked on the page; the experiments reproduce Table 2 of Hou et al. (2021) on
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

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from gi_core.data.domains import load_domain_data
from gi_core.data.transforms import ink_extent
from gi_core.experiments.domain_adaptation import (
    BOOK_CDLM,
    BOOK_CDLM_LR,
    PLANS,
    TITLES,
    DAConfig,
    accuracy_table,
    reproduce,
    stored_result,
    train_method,
)
from gi_core.maths.ben_david import ben_david_terms, discrimination_divergence, h_divergence
from gi_core.maths.gan_losses import discriminator_loss
from gi_core.maths.modulation import (
    domain_kl,
    full_modulation_kl,
    full_modulation_kl_ratio,
    idealized_transfer_moments,
    modulation_moments,
    pm1_symmetric_kl,
    symmetric_kl,
    symmetric_kl_lower_bound,
)
from gi_core.maths.schedules import dann_learning_rate, grl_schedule
from gi_core.metrics.domain import a_distance, evaluate_method, feature_a_distance
from gi_core.models.dann import build_dann
from gi_core.runs import RUNS_ROOT
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
# tell*? The $\mathcal H$-divergence (Corro and Sebag 2023, §3.3) is
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
# the proposition of Corro and Sebag (2023): with sample frequencies in place of probabilities, the divergence is measured by
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
# control; the third is an assumption. With finite samples, complexity terms are added: Corro and Sebag (2023)
# write the first as $C\sqrt{\frac4n(d\log\frac2d+\log\frac4\delta)}$, which is a transcription slip for
# $\sqrt{\frac4n(d\log\frac{2en}{d}+\log\frac4\delta)}$ (Ganin et al. 2016, Thm. 2, following
# Ben-David et al.), with $d$ the VC dimension. Eq. 23 of Hou et al. (2021) writes the divergence term as
# $\hat d_{\mathcal H}(X_s,X_t)$, without the $\tfrac12$ and the symmetric-difference class; we keep the form
# of Ben-David et al. (2010), which is the one proved above.
#
# On a finite input space every term is computable exactly. Below, the inputs are 15 points on a line, the
# class is every threshold classifier and its complement, the two domains put random weights on the
# points, and their labels are two nearby thresholds ({func}`gi_core.maths.ben_david.ben_david_terms`).

# %% tags=["derivation-check", "nbval-ignore-output"]
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

# %% tags=["derivation-check", "da-check"]
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
# {func}`gi_core.metrics.domain.a_distance` uses a linear SVM whose $C$ is chosen by cross-validation
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
# ({func}`gi_core.models.dann.build_dann`) for four values of $\lambda$: the gradients through
# the layer are compared with the gradients of the two losses taken separately, without it.

# %% tags=["nbval-ignore-output"]
def grl_gradient_errors(lambda_: float) -> dict[str, float]:
    """Largest |difference| between DANN's gradients and the saddle-point directions, per block."""
    torch.manual_seed(0)
    model = build_dann().double()
    model.grl.set_coefficient(lambda_)  # after .double(): in float64 (a float32 buffer holds 0.3 as 0.30000001)
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
# training progress $p\in[0,1]$ and anneal the learning rate (Corro and Sebag 2023, §3.4):
#
# $$
# \lambda_p = \frac{2}{1+e^{-10p}}-1 = \tanh(5p),\qquad \mu_p = \frac{\mu_0}{(1+10p)^{0.75}},\quad \mu_0=0.01 .
# $$
#
# Every method of this chapter is trained with both schedules ({class}`gi_core.experiments.domain_adaptation.DAConfig`).

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
# reference points of Table 2 in Hou et al. (2021).
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
assert float(quick_models["dann"].grl.coefficient) > 0.99 and float(quick_models["source_only"].grl.coefficient) == 0.0

# %% [markdown]
# ## Cross-domain latent modulation (CDLM)
#
# CDLM {cite}`hou2021cdlm` starts from a VAE. A shared encoder $E_\phi$ maps an image to the moments
# $(\mu,\sigma)$ of $q(z\mid x)$ and to a *deep representation* $h=\mathrm{sigmoid}(W_hh'+b_h)\in(0,1)^d$ of
# the latent's dimension, $h'$ being the last convolutional layer. The reparameterization
# $z=\mu+\sigma\odot\varepsilon$ is changed so that each domain's noise is the *other* domain's
# representation plus a little Gaussian noise (Hou et al. 2021, Eq. 1–2):
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

# %% tags=["derivation-check"]
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

# %% tags=["derivation-check", "da-check"]
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

# %% tags=["derivation-check", "nbval-ignore-output"]
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

# %% tags=["derivation-check", "da-check"]
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
# $\lambda_1=\lambda_2=10^{-4}$, $\beta_1=0.1$, $\beta_2=0.01$. {class}`gi_core.models.cdlm.CDLM` builds one loss
# whose gradient with respect to each block is that block's rule (the reconstruction reaches $\phi$ through
# a gradient scaling by $\lambda_2$, the reversal layer turns the descent on $\mathcal L_{adv}$ into an
# ascent for $\phi$).
#
# **What the seed leaves open, and what we chose.** The seed gives no learning rates, latent size,
# iteration count, GRL coefficient, KL form, classifier input or network layers (it refers to UNIT
# {cite}`liu2017unit`). Our choices, each an option of {func}`gi_core.models.cdlm.build_cdlm`: a two-convolution
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
# ({func}`gi_core.experiments.domain_adaptation.reproduce`; from the command line
# `python -m gi_core.experiments.domain_adaptation --task mnist_usps`), and the diagnoses of the
# {doc}`appendix <04b_domain_adaptation_diagnostics>` in
# `results/da_mnist_usps_releases.json`, `results/da_mnist_usps_framed_releases.json`,
# `results/da_mnist_usps_framed_reverse_validation.json`, `results/da_mnist_usps_framed_bound_terms.json`
# and the CDLM diagnoses in `results/da_*_translation.json` and `results/da_*_early_trace.json`.
# Hou et al.'s (2021) numbers
# (`results/reference/seed003_table_2.json`) are single values: the paper reports no spread, and its
# baseline rows are quoted from other papers, with other networks and preprocessing.

# %% tags=["nbval-ignore-output"]
if not ctx.quick:
    for task, plan in PLANS.items():
        reproduce(plan, RUNS_ROOT / "da" / task, f"da_{task}")
stored = {task: stored_result(task) for task in PLANS}
for task, result in stored.items():
    if result is None:
        print(f"{task}: no full-profile result stored yet; run this notebook with GI_PROFILE=full")
        continue
    meta, runs = result["provenance"], result["metrics"]["runs"]
    print(f"{task}: device {meta['device']}; run commits {sorted({r['commit'][:7] for r in runs})}; "
          f"{sum(r['train_seconds'] for r in runs) / 60:.0f} min of training; {meta['config']['selection_rule']}")
    print("   data:", meta["config"]["data_sources"])

# %%
accuracy_table("mnist_usps")

# %%
pd.concat({name: accuracy_table(task) for task, name in (("usps_mnist", "USPS→MNIST"), ("mnist_mnistm", "MNIST→MNIST-M"))
           if stored[task] is not None})

# %% [markdown]
# ## Why DANN loses on MNIST→USPS
#
# DANN falls below source only on MNIST→USPS but not on USPS→MNIST, with the same code, networks and
# schedules. That points at the *target* side of MNIST→USPS rather than at the algorithm. Two properties
# of it can be seen without a single target label, and the cost of each can then be measured. The
# first, that the USPS training and test images are two releases of the same digits, smoothed
# differently, is measured in the {doc}`appendix <04b_domain_adaptation_diagnostics>`, with the other
# diagnoses of this reproduction. The second is the digits' framing.
#
# ### The digits' framing
#
# MNIST's digits were scaled into a 20×20 box and centred in a 28×28 frame when the dataset was built
# {cite}`lecun1998mnist`; USPS's 16×16 digits fill their frame. Resized to 28×28, as Hou et al. (2021) do,
# a USPS digit is therefore about 40 % taller than an MNIST digit and its strokes are thicker.
# {func}`gi_core.data.transforms.ink_extent` measures this on the images alone (rows and columns with a
# pixel above 0.3). The `_framed` tasks shrink USPS digits into MNIST's 20×20 box instead
# ({func}`gi_core.data.transforms.frame_digits`). The box is MNIST's published construction, confirmed
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
# Framing also explains why Hou et al.'s (2021) source-only baseline (0.634, quoted from another paper with its
# own preprocessing) sits so far below ours. It also accounts for most of what DANN gained on
# USPS→MNIST before framing (0.560 → 0.764): framing alone takes source only to 0.774.
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
# while the A-distance shows that the alignment happens. Hou et al.'s (2021) own DANN figures (0.774 and 0.833) sit
# on the same side of 0.90. The {doc}`appendix <04b_domain_adaptation_diagnostics>` measures why, and how
# strong the reversal should be.

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
    a_distances.update({prefix + TITLES[label]: v["a_distance"][0] for label, v in result["summary"].items()
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
embeddings.update({TITLES[r["model"]].split(",")[0]: r["tsne"] for r in mu_result["runs"]
                   if "tsne" in r and r["model"] in shown})
if stored["mnist_usps_framed"] is not None:
    embeddings.update({TITLES[r["model"]].split(",")[0] + ", framed": r["tsne"]
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
#   like MNIST's (Hou et al. (2021) quote 0.634).
# - On MNIST-M it reaches 0.519, which is Ganin et al.'s source-only figure for this network (about 0.52).
# - Target only reaches 0.949 ± 0.002, against the 0.980 of Hou et al. (2021). That is after 4.3 epochs, and on the
#   differently smoothed ESL release of the USPS training images.
#
# **DANN on MNIST→USPS: the gap to 0.90 taken apart.** With the preprocessing of Hou et al. (2021), DANN ends at
# 0.579 ± 0.126 (seeds 0.712, 0.461 and 0.566), *below* source only. Neither capping the reversal at
# $\lambda_{\max}=0.3$ (0.689, one seed) nor training 2.5 times longer (0.704 after 10 000 steps) changes
# that. The section on framing above and the {doc}`appendix <04b_domain_adaptation_diagnostics>` take
# the gap apart:
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
# target-only bound, and every alignment we measured costs more than it gains. Hou et al.'s (2021) own DANN number
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
# **CDLM is far from the 0.961 of Hou et al. (2021).**
#
# - **The literal update rules fail, as predicted.** After 4 000 steps the reconstruction of the literal
#   run has only come down to 131 nats (the book variant's: 52–56). Digits of both domains are classified
#   near chance through their translations (target 0.152, source 0.142).
# - **The book variant learns to translate.** Its classifier labels source digits through their
#   translations at 0.935–0.968.
# - **Target digits are often translated into source digits of the wrong class.** Accuracy is
#   0.472 ± 0.058 with the preprocessing of Hou et al. (2021), 0.804 ± 0.014 with framed digits (0.836 on the matching
#   release) and 0.845 ± 0.004 with the encoder kept alive ($\mu_0=0.001$). That is below framed source only
#   (0.930) in every setting we ran, with a weaker reversal (0.881 with $\lambda_{\max}=0.1$, one seed)
#   or none (0.848), and with a 256-dimensional latent (0.875, one seed). On USPS→MNIST (framed) CDLM
#   reaches 0.780 ± 0.004 (three seeds), level with source only (0.774 ± 0.021) and DANN
#   (0.784 ± 0.034), and 0.729 with $\mu_0=0.001$ (one seed); Hou et al. (2021) report 0.983.
# - **On MNIST→MNIST-M the collapse is explained, the adaptation still fails** (one seed each). With
#   Ganin's rate the encoder dies in its first ten steps and $h$ is one constant vector, so every digit
#   gets the same class (0.113). With $\mu_0=0.001$ the model trains (0.951 on source digits through
#   their translations) but scores 0.255 on MNIST-M, half of source only. Hou et al. (2021) report 0.987.
#
# The diagnosis of {ref}`cdlm-errors` takes the gap apart: Ganin's rate kills most of the encoder within
# ten steps, and in every run the classifier inside CDLM does better on the raw target digit than on its
# translation, because the target's $h$ is not in the source's coordinates.
#
# **A CDLM target of 0.95, which this book set itself, is the target-only bound of this setting.** A
# network of the same architecture trained on all 7 291 labelled USPS training images reaches
# 0.950 ± 0.003 on the reported test release (0.952 on the release it trained on). Hou et al.'s (2021) CDLM
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
#
# The {doc}`appendix <04b_domain_adaptation_diagnostics>` holds the measurements behind these
# statements: the release check, the label-shift oracle, reverse validation and the terms of the
# Ben-David bound, and the diagnosis of CDLM's errors.
