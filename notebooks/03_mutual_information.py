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
# # The mutual-information view and the GI model zoo
#
# The previous chapter sorted generative-inference models by the divergence between the joints
# $q(x,z)$ and $p(x,z)$ that they minimise. Astorga (2021, Ch. 5–6) {cite}`astorga2021gi` sorts them a second
# way: every loss that has a likelihood term is a **bound on a mutual information**, either $I_q(x,z)$
# of the inference joint or $I_p(x,z)$ of the generative one, loosened by a model-specific
# **restriction**. The view makes a prediction that we test at the end of the chapter on MNIST: models
# that bound $I_q$ and match the *marginals* $q(z)\to p(z)$ should learn the better representations,
# and models that bound $I_p$ should generate the better images.
#
# The chapter derives the bounds and checks every identity exactly, builds the estimator
# $\tilde I_q$ that the thesis reports and shows where it breaks, then trains the zoo (VAE, WVAE,
# InfoVAE-MMD and JS-VAE at three restriction weights, AAE, AIM, VEEGAN, ALI and ALICE) on shared
# networks and reproduces Astorga's (2021) Table 6.4.

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

import dataclasses
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from gi_core.experiments import zoo
from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel
from gi_core.maths.mutual_information import (
    estimated_mutual_information,
    generative_mi_from_kls,
    generative_mi_terms,
    inference_mi_from_kls,
    inference_mi_terms,
    mi_bound_terms,
    restriction_table,
)
from gi_core.metrics.latent import aggregate_posterior_log_prob
from gi_core.results import compare_with_reference, read_reference, read_result
from gi_core.runs import RUNS_ROOT
from gi_core.runtime import run_context

ctx = run_context()
torch.set_default_dtype(torch.float32)
sns.set_theme(style="whitegrid", context="notebook")

# %% [markdown]
# ## Two mutual informations
#
# Each joint has its own mutual information (Astorga 2021, Eq. 5.1),
#
# $$
# I_r(x,z) = D_{\mathrm{KL}}\big(r(x,z)\,\Vert\,r(x)\,r(z)\big)
# = \mathbb E_{r(x,z)}[\log r(x\mid z)] + h_r(x) = \mathbb E_{r(x,z)}[\log r(z\mid x)] + h_r(z),
# \qquad r\in\{q, p\},
# $$
#
# with $h$ the (differential) entropy. Take the inference joint and replace its intractable
# conditional $q(x\mid z)$ by the decoder $p(x\mid z)$: adding and subtracting $\log p(x\mid z)$ inside
# the first expectation gives
#
# $$
# I_q(x,z) = \underbrace{\mathbb E_{q(x,z)}[\log p(x\mid z)]}_{\text{likelihood}} + h_q(x)
# + \mathbb E_{q(z)}\big[D_{\mathrm{KL}}(q(x\mid z)\,\Vert\,p(x\mid z))\big]. \tag{5.2}
# $$
#
# A model's loss is the negative likelihood plus a **restriction** $R^{\text{model}}_q\ge 0$,
# $\mathcal L^{\text{model}}_q = \mathbb E_{q(x,z)}[-\log p(x\mid z)] + R^{\text{model}}_q$ (Eq. 5.5), so
#
# $$
# I_q = -\mathcal L^{\text{model}}_q + \Delta I^{\text{model}}_q,\qquad
# \Delta I^{\text{model}}_q = R^{\text{model}}_q + h_q(x) + \mathbb E_{q(z)}\big[D_{\mathrm{KL}}(q(x\mid z)\Vert p(x\mid z))\big]
# \tag{5.4–5.6}
# $$
#
# and minimising the loss maximises a lower bound of $I_q$ whenever the gap $\Delta I$ is
# non-negative. Exchanging the roles of $(q, x)$ and $(p, z)$ gives the generative side: the
# likelihood is now the encoder's $\mathbb E_{p(x,z)}[\log q(z\mid x)]$, the entropy is the prior's
# $h_p(z)$ and the gap holds $\mathbb E_{p(x)}D_{\mathrm{KL}}(p(z\mid x)\Vert q(z\mid x))$ (Eq. 5.7–5.9).
#
# Two more forms follow from the second expression of Eq. 5.1 and will give us an estimator. Writing
# $\log q(z\mid x) - \log q(z) = [\log q(z\mid x) - \log p(z)] - [\log q(z) - \log p(z)]$,
#
# $$
# I_q(x,z) = -h_q(z\mid x) + h_q(z)
# = \mathbb E_{q(x)}\big[D_{\mathrm{KL}}(q(z\mid x)\,\Vert\,p(z))\big] - D_{\mathrm{KL}}(q(z)\,\Vert\,p(z)),
# \tag{5.10–5.11}
# $$
#
# and symmetrically $I_p = \mathbb E_{p(z)}D_{\mathrm{KL}}(p(x\mid z)\Vert q(x)) - D_{\mathrm{KL}}(p(x)\Vert q(x))$
# (Eq. 5.12–5.13). Eq. 5.11 is the heart of the chapter: the VAE's restriction is the first term, so
# pushing it down pushes $I_q$ down, while matching the *aggregate* posterior $q(z)$ to the prior
# removes the second term and can only help.
#
# Every one of these identities is checked below, exactly, on random discrete joints and in closed
# form on random linear-Gaussian models ({mod}`gi_core.maths.mutual_information`). Each form is computed term by
# term and compared with the mutual information computed directly from the joint.

# %% tags=["derivation-check", "nbval-ignore-output"]
def largest_mi_error(models: list) -> float:
    """The largest |sum of terms - I| over every form of Eq. 5.2, 5.7, 5.11, 5.13 and -L + ΔI (R = 0.7)."""
    errors = []
    for model in models:
        for form in (inference_mi_terms, generative_mi_terms, inference_mi_from_kls, generative_mi_from_kls):
            terms = form(model)
            errors.append(float((terms["total"] - terms["mutual_information"]).abs()))
        for side in ("q", "p"):
            terms = mi_bound_terms(model, 0.7, side=side)
            errors.append(float((terms["total"] - terms["mutual_information"]).abs()))
    return max(errors)


generator = torch.Generator().manual_seed(0)
discrete = [DiscreteGIModel.random(5, 4, generator=generator) for _ in range(50)]
gaussian = [GaussianGIModel.random(3, 2, generator=generator) for _ in range(20)]
discrete_error, gaussian_error = largest_mi_error(discrete), largest_mi_error(gaussian)
print(f"largest error, discrete tables: {discrete_error:.1e}; linear-Gaussian models: {gaussian_error:.1e}")

# %% tags=["derivation-check", "mi-check"]
assert discrete_error < 1e-12 and gaussian_error < 1e-10

# %% [markdown]
# **When is $-\mathcal L$ really a lower bound?** The gap contains $h_q(x)$. For discrete data it is
# non-negative, so $R\ge0$ makes $\Delta I\ge0$. For continuous data a differential entropy can be
# negative, and the thesis's statement "$-\mathcal L_q\le I_q$" silently assumes $h_q(x)\ge0$. A
# linear-Gaussian model with a narrow data distribution shows the bound failing; with the entropy of
# a *quantised* observation, which is what pixels are, the assumption holds. Below, the data occupy a
# small ball of a 3-D space and the decoder is the exact posterior $q(x\mid z)$, so the gap's KL is
# zero and $\Delta I = h_q(x) < 0$ at $R=0$.

# %% tags=["derivation-check"]
narrow = GaussianGIModel.random(3, 2, generator=torch.Generator().manual_seed(3))
narrow = dataclasses.replace(narrow, q_x_cov=1e-3 * narrow.q_x_cov)  # data concentrated in a small ball
exact = narrow.q_x_given_z()  # the best possible decoder: p(x|z) = q(x|z), and p(z) = q(z)
narrow = dataclasses.replace(narrow, p_x_given_z_weight=exact.weight, p_x_given_z_bias=exact.bias,
                             p_x_given_z_cov=exact.cov, p_z_mean=narrow.q_z().mean, p_z_cov=narrow.q_z().cov)
terms_q = mi_bound_terms(narrow, 0.0, side="q")
h_q_x = float(narrow.h_q_x())
print(f"h_q(x) = {h_q_x:.2f} nats; -L = {float(terms_q['bound']):.2f} > I_q = {float(terms_q['mutual_information']):.2f}")
discrete_ok = all(float(mi_bound_terms(m, r, side=s)["bound"]) <= float(mi_bound_terms(m, r, side=s)["mutual_information"]) + 1e-12
                  for m in discrete for r in (0.0, 0.5) for s in ("q", "p"))
print("discrete tables: -L <= I for every model, side and R >= 0:", discrete_ok)

# %% tags=["derivation-check", "mi-check"]
assert discrete_ok
assert h_q_x < 0 and float(terms_q["bound"]) > float(terms_q["mutual_information"])

# %% [markdown]
# ## Table 5.1 as code
#
# Each model of the zoo is a likelihood term plus a restriction. The table below is printed from
# `gi_core.maths.mutual_information.RESTRICTIONS`, the same records the tests check, with the thesis's two new
# closed-form marginal matchers (WVAE, JS-VAE, §6.2) added. Pure joint matching (ALI/BiGAN) has no
# likelihood term and so bounds neither information.

# %%
pd.DataFrame(restriction_table())

# %% [markdown]
# ## Estimating $I_q$: the Gaussian $q(z)$ of Eq. 5.11
#
# Both terms of Eq. 5.11 are computable when $q(z\mid x)$ is a diagonal Gaussian and $q(z)$ is
# *approximated* by a Gaussian: the first is the VAE's closed-form KL averaged over the data
# ($D^{\mathrm{VAE}}_{\mathrm{KL}}$), the second is Eq. 6.4 between two Gaussians
# ($D^{\mathcal Z}_{\mathrm{KL}}$). The thesis's estimator is
#
# $$
# \tilde I_q = D^{\mathrm{VAE}}_{\mathrm{KL}} - D^{\mathcal Z}_{\mathrm{KL}},\qquad
# D^{\mathcal Z}_{\mathrm{KL}} = D_{\mathrm{KL}}\big(\mathcal N(\hat\mu,\hat\Sigma)\,\Vert\,\mathcal N(0,I)\big),
# $$
#
# where $\hat\mu,\hat\Sigma$ are the batch moments (Eq. 6.2–6.3) of the **posterior means**
# $\tilde\mu(x_i)$. That Gaussian ignores the encoder's own variance. The aggregate posterior
# $q(z)=\frac1N\sum_i q(z\mid x_i)$ has covariance $\operatorname{Cov}(\tilde\mu) + \mathbb E[\operatorname{diag}\tilde\sigma^2]$
# (law of total covariance), so the thesis's Gaussian is too narrow whenever the encoder is noisy, and
# $D^{\mathcal Z}_{\mathrm{KL}}$ is overestimated. A linear-Gaussian encoder
# $q(z\mid x)=\mathcal N(Ax, s^2 I)$ on Gaussian data, where $q(z)$ *is* Gaussian and
# $I_q = \tfrac12\log\det(A\Sigma_xA^\top+s^2I) - \tfrac12\log\det(s^2 I)$, shows both versions against
# the truth as the encoder noise $s$ grows. The means are $\sqrt{1-s^2}\,Wx$ with $W$ whitening the
# codes, so that $q(z)=p(z)$ exactly at every $s$ and $s\to1$ is a posterior collapsed onto the prior.

# %%
def linear_encoder_codes(noise: float, n: int = 100_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Posterior means, log-variances and the exact I_q of q(z|x) = N(c W x, s^2 I), c = sqrt(1 - s^2), x ~ N(0, Σx) in 6-D.

    W whitens the codes (Cov(W x) = I), so q(z) = N(0, I) = p(z) for every s: the encoder only trades
    information (small s) against noise, and s -> 1 is a posterior that has collapsed onto the prior.
    """
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, 6, generator=g, dtype=torch.float64)
    root = torch.randn(6, 6, generator=g, dtype=torch.float64) / math.sqrt(6)
    cov_x = root @ root.T + 0.1 * torch.eye(6, dtype=torch.float64)
    whiten = torch.linalg.solve_triangular(torch.linalg.cholesky(a @ cov_x @ a.T), a, upper=False)
    x = torch.distributions.MultivariateNormal(torch.zeros(6, dtype=torch.float64), cov_x).sample((n,))
    scale = math.sqrt(1 - noise**2)
    cov_z = scale**2 * whiten @ cov_x @ whiten.T + noise**2 * torch.eye(3, dtype=torch.float64)
    true_mi = 0.5 * (torch.logdet(cov_z) - 3 * math.log(noise**2))
    return scale * x @ whiten.T, torch.full((n, 3), 2 * math.log(noise), dtype=torch.float64), float(true_mi)


torch.manual_seed(0)
noises = np.concatenate([[0.02, 0.05, 0.1, 0.2], 1 - np.geomspace(0.7, 1e-4, 9)])
rows = []
for s in noises:
    mean, log_var, true_mi = linear_encoder_codes(float(s))
    rows.append({"encoder noise s": s, "true I_q": true_mi,
                 "Ĩ_q, means (thesis)": estimated_mutual_information(mean, log_var, "means"),
                 "Ĩ_q, aggregate moments": estimated_mutual_information(mean, log_var, "aggregate")})
estimates = pd.DataFrame(rows)
fig, ax = plt.subplots(figsize=(6.5, 3.6))
for column, style in (("true I_q", "k-"), ("Ĩ_q, aggregate moments", "C0--"), ("Ĩ_q, means (thesis)", "C3o-")):
    ax.plot(estimates["encoder noise s"], estimates[column], style, label=column, ms=4)
ax.axhline(0, color="grey", lw=0.8)
ax.set(xscale="logit", xlabel="encoder standard deviation s", ylabel="nats", title="Estimating $I_q$ of a linear-Gaussian encoder")
ax.legend()
plt.show()
aggregate_error = float((estimates["Ĩ_q, aggregate moments"] - estimates["true I_q"]).abs().max())
print(f"largest error of the aggregate-moment estimate: {aggregate_error:.4f} nats")
print(f"thesis estimate at s = {noises[-1]:.4f}: {estimates['Ĩ_q, means (thesis)'].iloc[-1]:.2f} nats "
      f"(true I_q = {estimates['true I_q'].iloc[-1]:.2f})")

# %% [markdown]
# With 100 000 codes the aggregate-moment estimate is exact up to sampling error, at every noise
# level. The thesis's version agrees while the encoder is sharp ($s\ll$ the spread of the means), and
# becomes negative once the encoder noise dominates and the means shrink towards 0: exactly the pattern of the VAE with $\beta=30$ in
# Table 6.4, whose posterior has collapsed onto the prior ($D^{\mathrm{VAE}}_{\mathrm{KL}}=1.18$) while
# $\tilde I_q=-33.32$. A negative $\tilde I_q$ is a property of the estimator, not of the model; we
# report the thesis's version for comparability and keep this caveat in mind when reading the table.

# %% tags=["mi-check"]
assert aggregate_error < 0.02
sharp = estimates["encoder noise s"] <= 0.2
assert (estimates["Ĩ_q, means (thesis)"] - estimates["true I_q"])[sharp].abs().max() < 0.05
assert estimates["Ĩ_q, means (thesis)"].iloc[-1] < 0 < estimates["true I_q"].iloc[-1]

# %% [markdown]
# ## The encoder entropy and generation (§5.1.1)
#
# Eq. 5.10 says $I_q = h_q(z) - h_q(z\mid x)$. Marginal-matching autoencoders (WAE/AAE, InfoVAE-MMD,
# and the thesis's WVAE and JS-VAE) match $q(z)$ to the prior but nothing in their loss rewards a
# large conditional entropy $h_q(z\mid x)$; the reconstruction term rewards a small one. The encoder
# becomes almost deterministic, which raises $I_q$ and helps the representation. The price is paid at
# generation: $q(z)$ is then a cloud of narrow bumps that can have the prior's first two moments and
# still leave most of the prior's volume uncovered. A prior draw that lands between the bumps is a
# code the decoder never saw. The VAE's KL contains $-h_q(z\mid x)$, so it widens the bumps and
# covers the prior, at the cost of information.
#
# A two-dimensional illustration: 500 posterior means spread as $\mathcal N(0,(1-s^2)I)$, so that
# the aggregate posterior has exactly the prior's mean and covariance for every encoder width $s$.
# We measure the information $I_q = h_q(z)-h_q(z\mid x)$ and how much of the prior falls outside
# $q(z)$, $D_{\mathrm{KL}}(p(z)\Vert q(z))$, both by Monte Carlo with the mixture density of
# $q(z)$ evaluated by log-sum-exp.

# %%
def entropy_tradeoff(width: float, n_codes: int = 500, n_draws: int = 20_000, seed: int = 0) -> dict[str, float]:
    """I_q and KL(p(z) || q(z)) for posterior means ~ N(0, (1 - s^2) I) and q(z|x) = N(mean, s^2 I) in 2-D."""
    g = torch.Generator().manual_seed(seed)
    means = math.sqrt(1 - width**2) * torch.randn(n_codes, 2, generator=g, dtype=torch.float64)
    log_vars = torch.full_like(means, 2 * math.log(width))
    picks = torch.randint(n_codes, (n_draws,), generator=g)
    from_q = means[picks] + width * torch.randn(n_draws, 2, generator=g, dtype=torch.float64)
    from_p = torch.randn(n_draws, 2, generator=g, dtype=torch.float64)
    h_q_z = -float(aggregate_posterior_log_prob(from_q, means, log_vars).mean())
    h_q_z_given_x = 2 * 0.5 * math.log(2 * math.pi * math.e * width**2)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(from_p).sum(1)
    kl_p_q = float((log_p - aggregate_posterior_log_prob(from_p, means, log_vars)).mean())
    return {"encoder width s": width, "I_q (nats)": h_q_z - h_q_z_given_x, "KL(p(z) || q(z)) (nats)": kl_p_q}


tradeoff = pd.DataFrame([entropy_tradeoff(s) for s in (0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 0.9)])
fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
for ax, s in zip(axes[:2], (0.03, 0.4)):
    g = torch.Generator().manual_seed(0)
    means = math.sqrt(1 - s**2) * torch.randn(500, 2, generator=g, dtype=torch.float64)
    grid = torch.linspace(-3, 3, 150, dtype=torch.float64)
    zz = torch.cartesian_prod(grid, grid)
    density = aggregate_posterior_log_prob(zz, means, torch.full_like(means, 2 * math.log(s))).exp()
    ax.imshow(density.reshape(150, 150).T.sqrt(), origin="lower", extent=(-3, 3, -3, 3), cmap="magma")
    ax.add_patch(plt.Circle((0, 0), 2.0, fill=False, color="w", ls="--", lw=1))
    ax.set(title=f"q(z), encoder width s = {s}", xticks=[], yticks=[])
axes[2].plot(tradeoff["encoder width s"], tradeoff["I_q (nats)"], "o-", label="$I_q$")
axes[2].plot(tradeoff["encoder width s"], tradeoff["KL(p(z) || q(z)) (nats)"], "s-", label=r"KL$(p(z)\,\Vert\,q(z))$")
axes[2].set(xscale="log", xlabel="encoder width s", ylabel="nats", title="information vs prior coverage")
axes[2].legend()
fig.tight_layout()
plt.show()
tradeoff.round(3)

# %% [markdown]
# Left: a sharp encoder leaves $q(z)$ a constellation of points (square-root density; the dashed
# circle holds 86% of the prior); middle: a wider encoder fills the prior. Right: as the encoder
# narrows, $I_q$ rises (by $\log$ of the width, until it saturates at $\log 500$, the information of
# *which* code was drawn) while the prior mass outside $q(z)$ grows as well. Same first and second
# moments, very different generators. The zoo below should show the same pattern: the marginal
# matchers should have very negative $h_q(z\mid x)$, high accuracy and poor FID.

# %% tags=["mi-check"]
assert tradeoff["I_q (nats)"].is_monotonic_decreasing
assert tradeoff["KL(p(z) || q(z)) (nats)"].iloc[0] > 1.0 > tradeoff["KL(p(z) || q(z)) (nats)"].iloc[-1]

# %% [markdown]
# ## The zoo on shared networks
#
# All models share one encoder $q(z\mid x)$ (a diagonal Gaussian with bounded log-variance) and one
# decoder $p(x\mid z)$ ending in $\tanh$; images are MNIST digits resized to $32\times32$ and mapped to
# $[-1, 1]$ (Astorga 2021, §6.3). The objectives, written in {mod}`gi_core.models.zoo`, are
#
# | model | encoder + decoder minimise | bounds |
# |---|---|---|
# | VAE($\beta$) | $\Vert x-\tilde x\Vert^2 + \beta\,\mathbb E\,D_{\mathrm{KL}}(q(z\mid x)\Vert p(z))$ | $I_q$ |
# | WVAE($\beta$) | $\Vert x-\tilde x\Vert^2 + \beta\,W_2^2(\mathcal N(\hat\mu,\hat\Sigma), \mathcal N(0,I))$ | $I_q$ |
# | MMD($\beta$) | $\Vert x-\tilde x\Vert^2 + \beta\,\widehat{\mathrm{MMD}}{}^2_u(q(z), p(z))$ | $I_q$ |
# | JS-VAE($\beta$) | $\Vert x-\tilde x\Vert^2 + \beta\,\mathrm{JS}_{\mathcal N}(\mathcal N(\hat\mu,\hat\Sigma)\Vert\mathcal N(0,I))$ | $I_q$ |
# | AAE | $\Vert x-\tilde x\Vert^2 + \mathcal D(q(z)\Vert p(z))$ | $I_q$ |
# | AIM | $-\log q(z\mid\tilde x) + \mathcal D(p(x)\Vert q(x))$ | $I_p$ |
# | VEEGAN | $-\log q(z\mid\tilde x) + \mathcal D(p(x,z)\Vert q(x,z))$ | $I_p$ |
# | ALI | $\mathcal D(p(x,z)\Vert q(x,z))$ | — |
# | ALICE | $\Vert x-\tilde x\Vert^2 - \log q(z\mid\tilde x) + \mathcal D(p(x,z)\Vert q(x,z))$ | $I_q+I_p$ |
#
# Choices the thesis leaves open, made here and applied to every model:
#
# * **Likelihoods** (§6.1): $\Vert x-\tilde x\Vert^2$ summed over pixels for $-\log p(x\mid z)$ (a Gaussian
#   decoder with variance $\tfrac12$; the thesis says "MSE"), the Gaussian NLL of Eq. 6.1 for
#   $-\log q(z\mid\tilde x)$ with $z\sim p(z)$, $\tilde x=\tanh(\text{decoder}(z))$. The WVAE loss in the
#   thesis reads "$+\mathbb E[\log p]$"; the likelihood must enter with a minus sign, as here.
# * **$q(z)$ for WVAE and JS-VAE**: the batch moments of the posterior means (§6.2).
# * **MMD kernel**: inverse multiquadratic, $k(a,b)=C/(C+\Vert a-b\Vert^2)$ with $C=2J$ (WAE-MMD
#   {cite}`tolstikhin2018wae`), unbiased U-statistic in training; {mod}`gi_core.maths.kernels` also has the
#   biased V-statistic and the RBF kernel of InfoVAE {cite}`zhao2019infovae`, with tests of both
#   against closed forms.
# * **JS-VAE**: the JS of two Gaussians has no closed form. The exact value by Monte Carlo
#   (`jensen_shannon_gaussians`) was our first choice and failed: at initialisation $q(z)$ and $p(z)$
#   barely overlap, the JS sits at its ceiling $\log 2$ and passes no gradient, and a first test run of
#   300 steps left $q(z)$ 92 nats from the prior whatever $\beta$ was. We therefore replace the mixture
#   $\tfrac12(q+p)$ by its moment-matched Gaussian, which gives a closed form
#   (`gaussian_midpoint_jensen_shannon`) that is zero exactly when $q=p$, agrees with the JS to second
#   order near $q=p$, and keeps a gradient when they are far apart.
# * **Adversarial terms**: hinge loss (the default of BigGAN {cite}`brock2019biggan`, which the thesis
#   builds on); data and inference pairs are "real". Discriminator and models are updated
#   simultaneously, one step each.
# * **Optimiser**: Adam, learning rate $2\cdot10^{-4}$, $\beta_1=0$, $\beta_2=0.999$ for every network
#   (thesis); batch size 64; a fixed number of steps for every model (below).
# * **Networks**: the thesis's ResNets with spectral norm on every layer {cite}`miyato2018sn`
#   (Tables 6.1–6.3, $C=32$; {mod}`gi_core.nets.resnets`) for GPU runs, and on CPU an MLP variant, encoder
#   $1024\to512\to256\to(\mu,\log\sigma^2)$, decoder mirrored; the image and latent critics are
#   LeakyReLU MLPs with spectral norm, the joint critic is the previous chapter's `JointDiscriminator`
#   (a LeakyReLU MLP on the concatenated pair, without spectral norm).
#   One forward and backward pass of the ResNets at batch 64 took about 19 s on a busy 2-core
#   CPU, against about 11 ms for the MLPs (the ResNet runs need a GPU).
#
# **Metrics** ({mod}`gi_core.metrics.latent`, {mod}`gi_core.metrics.generation`, {mod}`gi_core.maths.mutual_information`), as in Table 6.4:
# log-MSE in $\mathcal X$ (input vs. decoded posterior mean) and in $\mathcal Z$ (prior draw vs. the encoder
# mean of its decoding), $D^{\mathcal Z}_{\mathrm{KL}}$, $D^{\mathrm{VAE}}_{\mathrm{KL}}$, $\tilde I_q$ and
# $h_q(z\mid x)$ on the training images; IS and FID of 10 000 prior samples computed with a classifier
# that has the encoder's architecture and a softmax layer, trained in the repository on the MNIST
# training set, FID against the test set's features {cite}`salimans2016is,heusel2017fid`. These FIDs are
# on the classifier's 256 features, not Inception's, and are not comparable to the thesis's in absolute
# value, only in ranking. **Linear probe**: logistic regression (standardised features, L-BFGS, $C=1$)
# on the frozen posterior means of the training images, accuracy on the test set.
#
# In the quick profile every model trains for a few steps on the shipped 6 000-image subset, which
# exercises the whole pipeline in CI; the numbers are not meaningful.

# %% tags=["nbval-ignore-output"]
config = zoo.QUICK if ctx.quick else zoo.PLANS["table_6_4"].config
data = zoo.load_zoo_data(config, ctx.device)
print(f"{len(config.models)} models; training images: {data.train_x.shape[0]} from {data.source}; "
      f"{config.steps} steps of batch {config.batch_size}")
if ctx.quick:
    evaluator = zoo.Evaluator.fit(config, data, progress=False)
    records = zoo.run_comparison(config, [0], data, evaluator, progress=False)
    quick_table = pd.DataFrame(records).set_index("model")[list(zoo.METRICS)]
else:  # the full comparisons, resumable: finished runs are cached under ~/.cache/gi-book/runs/zoo
    for plan in (zoo.PLANS["table_6_4"], zoo.PLANS["long"]):
        zoo.reproduce(plan.config, list(plan.seeds), RUNS_ROOT / "zoo" / f"{plan.config.arch}_{plan.config.steps}",
                      plan.result)
    quick_table = None
print(f"IS/FID classifier test accuracy: {evaluator.classifier_test_accuracy:.3f}" if ctx.quick else "")
quick_table.round(2) if quick_table is not None else None

# %% tags=["mi-check"]
if ctx.quick:
    assert np.isfinite(quick_table.to_numpy()).all()
    assert quick_table["probe_accuracy"].between(0, 100).all() and quick_table["inception_score"].between(1, 10).all()
    assert (quick_table["kl_vae"] >= 0).all() and (quick_table["fid"] >= 0).all()

# %% [markdown]
# ## Reproducing Table 6.4
#
# The stored full-profile result is read back below, with its provenance, and set beside the thesis's
# numbers (`results/reference/seed002_table_6_4.json`, transcribed from Table 6.4). A difference is
# starred when it exceeds twice the combined spread of the two sets of seeds,
# $|\Delta| > 2\sqrt{s^2_{\text{ours}}+s^2_{\text{thesis}}}$.
#
# Each run records the commit it ran at. The autoencoders were trained at commit `2d0c5a9`; the
# adversarial kinds were retrained at `c0259be`, which adds the encoder-variance floor of the
# latent-NLL models. Without the floor, AIM's generator collapsed in all three seeds (FID 1032,
# IS 1.07): its encoder's log-variance sat on its lower bound, which makes the weight of the latent
# reconstruction in the generator's loss about $e^{10}/2$. The two commits train the autoencoders with
# the same code.

# %% tags=["nbval-ignore-output"]
stored = zoo.stored_comparison()  # the thesis's networks when run, else the MLPs
reference = read_reference("seed002_table_6_4")
if stored is None:
    print("no full-profile result stored yet: run this notebook with GI_PROFILE=full")
else:
    meta = stored["provenance"]
    commits = sorted({run["commit"][:7] for run in stored["metrics"]["runs"]})
    train_minutes = sum(run["train_seconds"] for run in stored["metrics"]["runs"]) / 60
    print(f"runs from commits {', '.join(commits)}, device {meta['device']}, seeds {meta['seeds']}, "
          f"{train_minutes:.0f} min of training, {meta['config']['steps']} steps of batch "
          f"{meta['config']['batch_size']}, arch {meta['config']['arch']}, "
          f"classifier test accuracy {meta['config']['classifier_test_accuracy']:.4f}")

# %%
summary = stored["metrics"]["summary"]
zoo.summary_table(summary)

# %%
print("ours − thesis (*: beyond twice the combined spread)")
zoo.difference_table(summary, reference["table"])

# %% [markdown]
# ### Probe accuracies of three models beside the thesis's
#
# VAE $\beta=1$, WVAE $\beta=1$ and AIM: ours against the thesis's 87.86, 94.00 and 88.83.

# %%
comparison = pd.DataFrame(compare_with_reference(summary, reference["table"], zoo.METRICS))
probe = comparison[(comparison.metric == "probe_accuracy") & comparison.model.isin(["VAE β=1", "WVAE β=1", "AIM"])]
probe[["model", "ours", "ours_std", "thesis", "thesis_std", "difference"]].round(2)

# %% [markdown]
# ### The trade-off
#
# The thesis's central figure: representation (probe accuracy, and the information estimate) against
# generation (FID, lower is better), one point per model, ours and the thesis's.

# %%
def tradeoff_points(table: dict, source: str) -> pd.DataFrame:
    rows = []
    for model, v in table.items():
        family = ("I_p bound (AIM, VEEGAN)" if model in ("AIM", "VEEGAN") else "joint (ALI, ALICE)"
                  if model in ("ALI", "ALICE") else "VAE" if model.startswith("VAE") else "marginal matcher (I_q)")
        rows.append({"model": model, "family": family, "source": source, "FID": v["fid"][0],
                     "probe accuracy (%)": v["probe_accuracy"][0], "Ĩ_q (nats)": v["mi_estimate"][0],
                     "h_q(z|x) (nats)": v["h_z_given_x"][0]})
    return pd.DataFrame(rows)


ours_label = f"this book ({meta['config']['arch']}, {meta['device'].split(':')[0]})"
points = pd.concat([tradeoff_points(summary, ours_label), tradeoff_points(reference["table"], "thesis (ResNet)")])
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, y in zip(axes, ("probe accuracy (%)", "Ĩ_q (nats)", "h_q(z|x) (nats)")):
    sns.scatterplot(data=points, x="FID", y=y, hue="family", style="source", s=70, ax=ax, legend=ax is axes[0])
    ax.set_xscale("log")
axes[0].legend(fontsize=7, loc="lower left")
fig.suptitle("representation against generation (FID on different classifiers: compare rankings, not values)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Checking the qualitative claims
#
# The thesis's conclusions (Astorga 2021, end of Ch. 6) that can be tested on our runs, each computed on the
# stored table and, for reference, on the thesis's own numbers:
#
# 1. **Marginal matchers represent better than the VAE**: mean probe accuracy of WVAE, MMD and JS-VAE at
#    $\beta\in\{0.33, 1\}$ minus that of the VAE at $\beta=1$ (positive if the claim holds).
# 2. **$I_p$-bound models generate better**: best FID of the marginal matchers minus the worse FID of
#    AIM and VEEGAN (positive if the claim holds).
# 3. **A larger $h_q(z\mid x)$ goes with better generation**: Spearman $\rho$ of $h_q(z\mid x)$ and FID
#    over all models (negative if the claim holds).
# 4. **$\tilde I_q$ predicts the representation**: Spearman $\rho$ of $\tilde I_q$ and probe accuracy
#    (positive if the claim holds).
# 5. **Too strong a KL destroys the representation**: probe accuracy of the VAE at $\beta=30$ minus the
#    lowest of the other autoencoders (negative if the claim holds).

# %%
claims = pd.DataFrame({"ours": zoo.claims(summary), "thesis": zoo.claims(reference["table"])})
claims["holds for us"] = [holds(value) for holds, value in zip(zoo.CLAIM_HOLDS, claims.ours)]
claims.round(3)

# %% [markdown]
# What the stored run reproduces, and what it does not:
#
# * **The VAE column is reproduced.** $D^{\mathrm{VAE}}_{\mathrm{KL}}$ falls from 27.0 to 19.5 to 0.44 nats
#   as $\beta$ goes 0.33 → 1 → 30 (thesis 27.76, 20.94, 1.18), the collapsed VAE at $\beta=30$ has
#   $\tilde I_q=-30.5$ (thesis $-33.3$; the estimator artefact shown above) and the worst accuracy of all
#   autoencoders (claim 5), and the probe accuracy at $\beta=1$, 86.4 ± 0.4 %, is within 1.5 points of
#   the thesis's 87.86.
# * **$\tilde I_q$ ranks the representations** (claim 4, $\rho\approx0.7$ over the 17 models, as in the
#   thesis). AIM's information terms match the thesis closely ($D^{\mathrm{VAE}}_{\mathrm{KL}}$ 9.2 vs
#   10.6, $\tilde I_q$ 8.7 vs 9.7).
# * **The trade-off itself is not reproduced at this scale.** Every autoencoder's probe lands at 85–87 %
#   (the thesis spreads them from 87.9 to 94.9 %), so claim 1 holds only by half a point, and our
#   marginal matchers *generate* better than AIM (claim 2 fails) and than the VAE. Claim 3 is weak in
#   the thesis's own table ($\rho=-0.36$) and absent in ours.
# * **Two failure modes, visible in the spreads:** VEEGAN's encoder sends real images far from the
#   prior in two of three seeds ($D^{\mathcal Z}_{\mathrm{KL}}$ in the thousands) and ALI reconstructs
#   poorly with a large spread, as in the thesis (ALI's 388 ± 466 FID there). ALICE's extra latent
#   likelihood keeps its codes informative (87 %) but it generates poorly here.
#
# The stored run differs from the thesis in three ways that each plausibly explain the gap: MLPs
# instead of spectral-normalised ResNets, 3 000 steps (3.2 epochs) instead of a training length the
# thesis does not state but that is certainly longer, and an encoder whose log-variance is bounded
# below by $-10$, which caps how deterministic the marginal matchers can become
# ($h_q(z\mid x)\ge -35.8$ nats at $J=10$; the thesis's WVAE reaches $-48.9$). The next section tests the
# training-length explanation directly.

# %% tags=["mi-check"]
assert claims.loc["5. VAE β=30 acc. − lowest other autoencoder's", "ours"] < 0
assert claims.loc["4. Spearman ρ(Ĩ_q, probe acc.)", "ours"] > 0.5
vae_kl = [summary[f"VAE β={b}"]["kl_vae"][0] for b in ("0.33", "1", "30")]
assert vae_kl[0] > vae_kl[1] > vae_kl[2] and summary["VAE β=30"]["mi_estimate"][0] < -20
assert abs(summary["VAE β=1"]["probe_accuracy"][0] - reference["table"]["VAE β=1"]["probe_accuracy"][0]) < 2

# %% [markdown]
# ### Does longer training close the gap?
#
# VAE $\beta=1$, WVAE $\beta=1$ and AIM retrained for eight times as many steps (24 000, 25.6 epochs), one
# seed each, with everything else unchanged (`results/zoo_mnist_j10_mlp_long.json`).

# %% tags=["nbval-ignore-output"]
long_run = read_result(zoo.PLANS["long"].result)
long_meta = long_run["provenance"]
print(f"commit {long_meta['commit']}, device {long_meta['device']}, seeds {long_meta['seeds']}, "
      f"{long_meta['config']['steps']} steps, wall time {long_meta['wall_time_s'] / 60:.0f} min")

# %%
long_summary = long_run["metrics"]["summary"]
rows = []
for model in long_summary:
    for metric in ("probe_accuracy", "log_mse_x", "mi_estimate", "h_z_given_x", "fid"):
        rows.append({"model": model, "metric": zoo.METRIC_LABELS[metric], "3 000 steps": summary[model][metric][0],
                     f"{long_meta['config']['steps']} steps": long_summary[model][metric][0],
                     "thesis": reference["table"][model][metric][0]})
longer = pd.DataFrame(rows).set_index(["model", "metric"])
longer.round(2)

# %% [markdown]
# Training longer changes the picture, in the direction of the thesis:
#
# * **WVAE** climbs from 86.7 % to 91.9 % probe accuracy (thesis 94.00). The remaining 2.1 points line
#   up with the bound on the encoder's log-variance: at 24 000 steps its $h_q(z\mid x)$ sits on the
#   bound's floor ($-35.8$ nats) while the thesis's unbounded encoder reached $-48.9$, and its
#   $D^{\mathrm{VAE}}_{\mathrm{KL}}$ is correspondingly lower (50.2 vs 62.7).
# * **The VAE** lands on the thesis's information values: $D^{\mathrm{VAE}}_{\mathrm{KL}}=20.94$
#   (thesis $20.94\pm0.21$), $\tilde I_q = 20.78$ (thesis $20.72$), with 89.5 % accuracy (thesis 87.86).
# * **AIM** becomes by far the best generator (FID 10 against 52–53 for WVAE and the VAE), as the
#   thesis reports, but its probe accuracy stays at 78 % against the thesis's 88.83. AIM's encoder only
#   ever sees generated images (its likelihood is $\mathbb E_{p(x,z)}[-\log q(z\mid x)]$); how well it
#   encodes *real* digits depends on how well it transfers from the generator's distribution to the
#   data. Our MLP encoder inverts generated images well (log-MSE in $\mathcal Z$ $-4.44$, thesis $-2.48$)
#   but real ones worse than the thesis's ResNet (log-MSE in $\mathcal X$ $-2.33$, thesis $-3.05$); we
#   attribute the gap to that transfer, and to the variance floor ($h_q(z\mid x)=7.26$ vs 3.06), but
#   have not isolated the two. A ResNet run on a GPU (`python -m gi_core.experiments.zoo --plan resnet`)
#   is the test.
#
# With those three models the thesis's trade-off appears: the marginal matcher represents best
# (91.9 % > 89.5 % > 78.0 %) and the $I_p$ bound generates best (FID 10 < 52 ≈ 53). The assert
# below checks that ordering on the long run.

# %% tags=["mi-check"]
acc = {m: long_summary[m]["probe_accuracy"][0] for m in long_summary}
fid = {m: long_summary[m]["fid"][0] for m in long_summary}
assert acc["WVAE β=1"] > acc["VAE β=1"] > acc["AIM"]
assert fid["AIM"] < min(fid["WVAE β=1"], fid["VAE β=1"])
assert abs(acc["VAE β=1"] - 87.86) < 2 and abs(long_summary["VAE β=1"]["kl_vae"][0] - 20.94) < 0.5
