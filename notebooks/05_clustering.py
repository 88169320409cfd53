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
# # Three variables: clustering with a learned mixture prior
#
# So far every model had two variables, an observation $x$ and a code $z$. Adding a discrete
# cluster variable $y$ turns a generative-inference model into a clustering method: the prior
# becomes a mixture, $p(z)=\sum_y p(y)\,p(z\mid y)$, and the cluster of an image is read off the
# inference side. {cite:t}`astorga2021gi` (Ch. 7–8) studies two such models with the tools of the
# previous chapters: **VaDE** {cite}`jiang2017vade`, which minimises the *inverse* joint KL, and
# **MPCC** {cite}`astorga2020mpcc`, the thesis's own model, which minimises the *forward* one as a
# GAN.
#
# **What you will learn**
#
# * how VaDE's loss is at once an ELBO, the inverse joint KL up to a constant, and a bound on two
#   mutual informations, and which printed equations of the thesis need correcting;
# * how MPCC splits the forward joint KL into three trainable losses, with nothing dropped;
# * why a clustering accuracy can mean two different numbers, and how far apart they are;
# * what VaDE gives on MNIST over ten seeds at this book's CPU budget, beside the numbers of
#   Table 8.7 of {cite:t}`astorga2021gi`, and what a user without labels would pick.
#
# Both joints factorise the same way (§7.1–7.2):
#
# $$
# p(x,z,y) = p(y)\,p(z\mid y)\,p(x\mid z,y), \qquad
# q(x,z,y) = q(x)\,q(z\mid x)\,q(y\mid z).
# $$
#
# The inference side assumes $q(y\mid x,z)=q(y\mid z)$: the cluster is read from the code alone.
# VaDE also assumes $p(x\mid z,y)=p(x\mid z)$, so that the decoder ignores the cluster.

# %% tags=["colab-setup", "hide-input"]
# Colab set-up: pick a profile, then Runtime > Run all. Elsewhere it does nothing.
# full : the sources' datasets; 165 min of training on the CPU behind the stored
#        results (measured), about 39 min on a T4 GPU (estimate: those runs' FLOPs at
#        10 % of a T4's 8.1 TFLOP/s float32 peak, as small networks leave a GPU mostly
#        idle; not measured on a T4).
# quick: the small subsets shipped with the book, a few minutes on Colab's CPU.
PROFILE = "full"  # @param ["full", "quick"]
import os
import subprocess
import sys

if "google.colab" in sys.modules:
    REPOSITORY = "https://github.com/gi-book/gi-book"  # from _config.yml
    if not os.path.isdir("/content/gi-book"):
        subprocess.run(["git", "clone", "--depth", "1", REPOSITORY, "/content/gi-book"],
                       check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e",
                        "/content/gi-book"], check=True)
    sys.path.insert(0, "/content/gi-book")
    os.chdir("/content/gi-book/notebooks")
    os.environ["GI_PROFILE"] = PROFILE
    print(f"profile {PROFILE}:", {"full": "about 39 min on a T4 GPU (estimate)",
                                  "quick": "a few minutes"}[PROFILE])

# %% tags=["hide-input"]
import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from IPython.display import display
from sklearn.decomposition import PCA

from gi_core.experiments import clustering
from gi_core.experiments.clustering_mpcc import load_clustering_images
from gi_core.experiments.clustering_vade import load_clustering_data
from gi_core.maths.categorical import categorical_kl
from gi_core.maths.cluster_information import (
    cluster_mutual_informations,
    mpcc_information_terms,
    vade_information_terms,
)
from gi_core.maths.cluster_models import (
    DiscreteClusterModel,
    forward_kl_terms,
    inverse_kl_terms,
    mpcc_losses,
    vade_loss,
    vade_y_posterior_term,
)
from gi_core.maths.vade_bound import mixture_responsibilities, vade_bound_terms
from gi_core.metrics.clustering import clustering_accuracy, contingency_table, purity
from gi_core.runs import RUNS_ROOT
from gi_core.runtime import run_context

ctx = run_context()
F64 = torch.float64
sns.set_theme(style="whitegrid", context="notebook")
pd.set_option("display.width", 88)
plt.rcParams.update({"legend.fontsize": 10, "xtick.labelsize": 10,
                     "ytick.labelsize": 10})


def random_tables(seed: int, x: int = 6, z: int = 5, k: int = 3,
                  decoder_uses_y: bool = False) -> DiscreteClusterModel:
    """A random three-variable model on finite sets, each row a Dirichlet(1) draw
    (VaDE's p(x|z,y) = p(x|z) unless ``decoder_uses_y``)."""
    g = torch.Generator().manual_seed(seed)

    def table(*shape: int) -> torch.Tensor:
        draws = -torch.rand(shape, generator=g, dtype=F64).log()
        return draws / draws.sum(-1, keepdim=True)

    decoder = table(z, k if decoder_uses_y else 1, x).expand(z, k, x).contiguous()
    return DiscreteClusterModel(q_x=table(x), q_z_given_x=table(x, z),
                                q_y_given_z=table(z, k), p_y=table(k),
                                p_z_given_y=table(k, z), p_x_given_zy=decoder)


model = random_tables(0)

# %% [markdown]
# ## VaDE's loss, three ways
#
# **As an ELBO** (Eq. 7.1). Jensen's inequality under $q(z,y\mid x)$ bounds the log-evidence,
#
# $$
# \mathbb E_{q(x)}\log p(x) \ \ge\ -\mathcal L^{\mathrm{VaDE}}
# = \mathbb E_{q(x,z,y)}\Big[\log\frac{p(x\mid z)\,p(z\mid y)\,p(y)}
#   {q(z\mid x)\,q(y\mid z)}\Big].
# $$
#
# **As the inverse joint KL** (Eq. 7.2–7.5). The chain rule splits
# $D_{\mathrm{KL}}(q(x,z,y)\Vert p(x,z,y))$ into three expected KLs, one per variable:
#
# $$
# \mathbb E_{q(x,z)}D_{\mathrm{KL}}\big(q(y\mid z)\Vert p(y\mid x,z)\big)
# + \mathbb E_{q(x)}D_{\mathrm{KL}}\big(q(z\mid x)\Vert p(z\mid x)\big)
# + D_{\mathrm{KL}}\big(q(x)\Vert p(x)\big)
# \;=\; -h_q(x) + \mathcal L^{\mathrm{VaDE}} .
# $$
#
# The entropy of the data, $h_q(x)$, does not depend on the model, so minimising VaDE's loss
# minimises the inverse joint KL. Because the decoder ignores $y$, Bayes' rule gives
# $p(y\mid x,z)=p(y\mid z)$, and the first term has the closed form of Eq. 7.3,
# $\mathbb E_{q(y\mid z)}\log\frac{q(y\mid z)}{p(z\mid y)p(y)} + \log p(z)$. On a random
# model with six images, five codes and three clusters all of this holds to rounding:

# %% tags=["derivation-check"]
kl_terms = inverse_kl_terms(model)
h_x = -(model.q_x * model.q_x.log()).sum()
print("three KL terms:", {k: round(v.item(), 4) for k, v in kl_terms.items()})
print(f"sum of the terms {sum(kl_terms.values()).item():.6f}; "
      f"L_VaDE - h_q(x) = {(vade_loss(model) - h_x).item():.6f}")
assert torch.allclose(sum(kl_terms.values()), vade_loss(model) - h_x, atol=1e-12)
assert torch.allclose(kl_terms["y_posterior"], vade_y_posterior_term(model), atol=1e-12)

# %% [markdown]
# **As a bound on two mutual informations** (Eq. 7.6–7.8). Write each information of the
# inference joint with the chain rule and add and subtract the generative side's densities:
#
# $$
# \begin{aligned}
# I_q(x,z) &= \mathbb E_q[\log p(x\mid z)] + h_q(x)
#   + \mathbb E_{q(z)}D_{\mathrm{KL}}\big(q(x\mid z)\Vert p(x\mid z)\big), \\
# \mathbb E_{q(x)}I_q(z,y\mid x) &= \mathbb E_q[\log p(z\mid y)] + h_q(z\mid x)
#   + \mathbb E_{q(x,y)}D_{\mathrm{KL}}\big(q(z\mid x,y)\Vert p(z\mid y)\big).
# \end{aligned}
# $$
#
# Their sum is $-\mathcal L^{\mathrm{VaDE}} + \Delta I_q^{\mathrm{VaDE}}$ with
#
# $$
# \Delta I_q^{\mathrm{VaDE}} = R_q^{\mathrm{VaDE}} + h_q(x)
#   + \mathbb E\,D_{\mathrm{KL}}\big(q(x\mid z)\Vert p(x\mid z)\big)
#   + \mathbb E\,D_{\mathrm{KL}}\big(q(z\mid x,y)\Vert p(z\mid y)\big),
# \qquad R_q^{\mathrm{VaDE}} = \mathbb E_{q(z)}D_{\mathrm{KL}}\big(q(y\mid z)\Vert p(y)\big).
# $$
#
# Three corrections to the printed text. First, Eq. 7.8 prints the last gap with $q(z\mid y)$;
# the chain rule produces $q(z\mid x,y)$, and the printed form misses by exactly
# $I_q(x;z\mid y)$. Second, the printed $\Delta I_q^{\mathrm{VaDE}}$ holds the KLs of MPCC's
# generative side (it was copied from §7.2). Third, the printed inequality names $I_q(z,y)$
# where $I_q(x,z)$ is meant. The next cell checks the corrected identity and measures each
# printed form against it.

# %% tags=["derivation-check"]
mi = vade_information_terms(model)
q = model.q_joint()
q_y = q.sum((0, 1))
q_z_given_y = (q.sum(0) / q_y).t()                       # (K, Z)
printed_gap = (q_y * categorical_kl(q_z_given_y, model.p_z_given_y)).sum()
printed_7_8 = mi["expected_log_prior"] + mi["h_q_z_given_x"] + printed_gap
mis = cluster_mutual_informations(model)
misses = pd.Series({
    "corrected identity": (mi["total"] - mi["mutual_information"]).item(),
    "Eq. 7.8 with q(z|y)": (printed_7_8 - mi["cmi_z_y_given_x"]).item(),
    "I_q(z,y) for I_q(x,z)": (mis["q_z_y"] - mis["q_x_z"]).item(),
}, name="printed − true (nats)")
display(misses.round(4).to_frame())
assert torch.allclose(mi["total"], mi["mutual_information"], atol=1e-12)
assert torch.allclose(mi["mi_x_z"], mi["expected_log_likelihood"] + mi["h_q_x"]
                      + mi["decoder_gap"], atol=1e-12)
assert min(mi["decoder_gap"], mi["prior_gap"], mi["restriction"]) >= 0
assert abs(misses["Eq. 7.8 with q(z|y)"]) > 1e-3

# %% [markdown]
# The bound is loose by the data entropy $h_q(x)$ and by three non-negative gaps. What VaDE buys
# with it is a closed form for Gaussians, next.
#
# ## The closed-form bound for a Gaussian mixture
#
# With the encoder $q(z\mid x)=\mathcal N(\tilde\mu,\operatorname{diag}\tilde\sigma^2)$, the
# prior's components $\mathcal N(\mu_k,\operatorname{diag}\sigma_k^2)$ and a cluster posterior
# $\gamma_k = q(y{=}k\mid x)$, everything but the decoder term integrates in closed form:
#
# $$
# -\mathcal L^{\mathrm{VaDE}}(x) = \mathbb E_{q(z\mid x)}[\log p(x\mid z)]
#   - \sum_k \gamma_k\,D_{\mathrm{KL}}\big(\mathcal N(\tilde\mu,\tilde\sigma^2)\,\Vert\,
#     \mathcal N(\mu_k,\sigma_k^2)\big) - D_{\mathrm{KL}}(\gamma\Vert\pi).
# $$
#
# This is Eq. 17 of {cite:t}`jiang2017vade` with its sums of log-variances, traces and
# Mahalanobis terms regrouped as Gaussian KLs. VaDE does not learn $\gamma$: it sets it to the
# prior's responsibilities $p(y\mid z)$ at one draw $z\sim q(z\mid x)$ (Eq. 7.15, computed as a
# log-softmax so that it never leaves log space). The check below compares the closed form with
# a Monte Carlo estimate of the same expectation (the decoder term left out), and checks that at
# a given $z$ the responsibilities give a higher bound than another $\gamma$ does.

# %% tags=["derivation-check"]
g = torch.Generator().manual_seed(1)
J, K = 3, 4
log_w = torch.randn(K, generator=g, dtype=F64).log_softmax(0)
mu_k = 2 * torch.randn(K, J, generator=g, dtype=F64)
lv_k = 0.5 * torch.randn(K, J, generator=g, dtype=F64)
mean = torch.randn(1, J, generator=g, dtype=F64)
log_var = torch.full((1, J), -1.0, dtype=F64)
log_gamma = torch.randn(1, K, generator=g, dtype=F64).log_softmax(1)
closed = vade_bound_terms(torch.zeros(1, dtype=F64), mean, log_var, log_gamma, log_w,
                          mu_k, lv_k)["elbo"]
n = 400_000
z = mean + (0.5 * log_var).exp() * torch.randn(n, J, generator=g, dtype=F64)
y = torch.multinomial(log_gamma.exp()[0], n, replacement=True, generator=g)
components = torch.distributions.Normal(mu_k[y], (0.5 * lv_k[y]).exp())
encoder = torch.distributions.Normal(mean, (0.5 * log_var).exp())
sample = (components.log_prob(z).sum(1) + log_w[y] - encoder.log_prob(z).sum(1)
          - log_gamma[0, y])
stderr = sample.std() / n**0.5
print(f"closed form {closed.item():.4f}; Monte Carlo {sample.mean().item():.4f} "
      f"± {stderr.item():.4f} (one standard error, {n:,} draws)")
assert abs(closed - sample.mean()) < 5 * stderr

z0 = z[:1]
best = mixture_responsibilities(z0, log_w, mu_k, lv_k)
at_z = vade_bound_terms(torch.zeros(1, dtype=F64), z0, torch.full_like(z0, -30.0), best,
                        log_w, mu_k, lv_k)["elbo"]
other = vade_bound_terms(torch.zeros(1, dtype=F64), z0, torch.full_like(z0, -30.0),
                         log_gamma, log_w, mu_k, lv_k)["elbo"]
assert at_z > other

# %% [markdown]
# ## MPCC: the forward joint KL, with nothing dropped
#
# MPCC turns the divergence around (Eq. 7.9–7.11). Using Bayes' rule on the inference side,
# $q(x\mid z,y)=q(x)q(z\mid x)q(y\mid z)/q(z,y)$, the forward joint KL becomes three losses:
#
# $$
# D_{\mathrm{KL}}(p\Vert q) =
# \underbrace{\mathbb E_{p(z,y)}D_{\mathrm{KL}}\big(p(x\mid z,y)\Vert q(x)\big)}_{\text{Loss I}}
# + \underbrace{\mathbb E_{p(x,z,y)}[-\log q(z\mid x) - \log q(y\mid z)]}_{\text{Loss II}}
# + \underbrace{\mathbb E_{p(z,y)}[\log p(y) + \log p(z\mid y)]}_{\text{Loss III}} .
# $$
#
# Loss I is trained as a GAN between generated and real images, Loss II is a latent cycle (the
# encoder must recover the code and the cluster of a generated image) and Loss III is the
# negative entropy of the prior, which keeps its components from collapsing. The mutual
# information view (Eq. 7.17–7.19) bounds the *generative* informations,
# $\mathbb E_{p(y)}I_p(x,z\mid y) + I_p(z,y) = -\mathcal L^{\mathrm{MPCC}} + \Delta I_p$, with
# two corrections: the gap of Eq. 7.18 involves $p(z\mid x,y)$, not the printed $p(z\mid x)$,
# and the restriction is Loss I itself, of which the printed $D(p(x)\Vert q(x))$ is only the
# part a GAN on the marginals can see; the rest is $I_p(x;(z,y))$:
#
# $$
# \text{Loss I} = D_{\mathrm{KL}}\big(p(x)\Vert q(x)\big) + I_p\big(x;(z,y)\big).
# $$
#
# MPCC's decoder may use $y$, so the check uses a model whose $p(x\mid z,y)$ does.

# %% tags=["derivation-check"]
mpcc_model = random_tables(2, decoder_uses_y=True)
losses, forward = mpcc_losses(mpcc_model), forward_kl_terms(mpcc_model)
mpcc_mi = mpcc_information_terms(mpcc_model)
print("Loss I, II, III:", {k: round(v.item(), 4) for k, v in losses.items()})
print(f"their sum {sum(losses.values()).item():.6f}; the three KLs of Eq. 7.9 "
      f"{sum(forward.values()).item():.6f}")
assert torch.allclose(sum(losses.values()), sum(forward.values()), atol=1e-12)
assert torch.allclose(mpcc_mi["total"], mpcc_mi["mutual_information"], atol=1e-12)
split = mpcc_mi["marginal_kl"] + mpcc_mi["mi_x_zy"]
assert torch.allclose(mpcc_mi["restriction"], split, atol=1e-12)
assert mpcc_mi["mi_x_zy"] > 1e-3  # the printed restriction misses a real amount

# %% [markdown]
# ## Two accuracies
#
# Clustering accuracy compares cluster indices with class labels after a matching. Two
# matchings are in use, and Table 8.7 of {cite:t}`astorga2021gi` does not say which it reports:
#
# * **accuracy** (ACC, Eq. 8.1): a one-to-one map from clusters to classes, the best by the
#   Hungarian algorithm;
# * **purity**: every cluster goes to its majority class, several clusters possibly to the same
#   class. The public MPCC code computes this one under the name of accuracy.
#
# Purity is never below accuracy, and the gap opens exactly when two clusters share a class,
# which is when a clustering has split one class and merged two others:

# %% tags=["derivation-check"]
labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
# class 0 split in two clusters, classes 1 and 2 merged in one
clusters = torch.tensor([0] * 25 + [1] * 25 + [2] * 50)
display(pd.DataFrame(contingency_table(labels, clusters),
                     columns=[f"class {j}" for j in range(3)]).rename_axis("cluster"))
acc, pur = clustering_accuracy(labels, clusters), purity(labels, clusters)
print(f"accuracy {acc:.2f}, purity {pur:.2f}")
assert (acc, pur) == (0.55, 0.8)

# %% [markdown]
# ## Training VaDE
#
# VaDE's networks are the MLPs of {cite:t}`jiang2017vade`, 784–500–500–2000–10 and back, with a
# Bernoulli cross-entropy on grey levels, and a ten-component prior. A mixture prior cannot
# start from random networks: every image would fall into one component. The recipe has three
# stages, each in `gi_core.experiments.clustering_vade`:
#
# 1. **pretrain** the encoder's mean and the decoder as a deterministic autoencoder;
# 2. **start the prior** from a diagonal Gaussian mixture fitted to the codes
#    (`sklearn.mixture.GaussianMixture`, ten restarts, the best by likelihood);
# 3. **train VaDE** with Adam at $2\cdot10^{-3}$, the rate multiplied by 0.9 every ten epochs by
#    the trainer's schedule, and batches of 100.
#
# Two details differ from the authors' public code, which computes $\gamma$ outside log space and
# lets $\pi$ leave the simplex: here $\gamma$ is a log-softmax and $\pi$ is the softmax of learnt
# logits, so it is a distribution at every step.
#
# The same codes give two baselines: k-means, and the fitted mixture's own assignments. Images
# are clustered at the encoder mean. Following the thesis, the training and test images are
# concatenated and labels are used only to measure. In the quick profile one run trains briefly
# on the 7,000 images shipped with the book; its numbers show that the pipeline works, not what
# VaDE can do. In the full profile the cell trains the stored table's ten seeds on all 70,000
# images (or reads back those already finished), then the pretraining check below, and rebuilds
# the first seed's model from its checkpoints for the figures.

# %% tags=["nbval-ignore-output"]
plan = clustering.PLANS["quick" if ctx.quick else "vade_mnist_cpu"]
data = load_clustering_data(plan.config.dataset, ctx.device)
print(f"{data.x.shape[0]:,} images; pretraining {plan.config.pretrain_epochs} epochs, "
      f"VaDE {plan.config.epochs} epochs")
run_dir = None if ctx.quick else RUNS_ROOT / "clustering"
if not ctx.quick:  # the stored tables; finished runs are read back
    for key in ("vade_mnist_cpu", "vade_mnist_cpu_pretrain30"):
        clustering.reproduce(clustering.PLANS[key], run_dir, progress=ctx.progress)
vade, record = clustering.trained_model(plan, data, 0, run_dir, progress=ctx.progress)
history = pd.DataFrame(record["evaluations"]).set_index("epoch")
display(history[["accuracy", "purity", "nmi", "ari", "elbo", "empty"]].round(3))

# %% tags=["training-check"]
assert history[["accuracy", "purity", "nmi"]].stack().between(0, 1).all()
assert (history["accuracy"] <= history["purity"] + 1e-12).all()
assert record["final"]["accuracy"] > 0.3  # ten clusters: chance is about 0.1
assert record["baselines"]["gmm"]["accuracy"] > 0.3

# %% [markdown]
# The trained model's latent space shows what the mixture does: each component claims a region
# of the codes, and a component's samples show what the model thinks that cluster is.

# %% mystnb={"figure": {"caption": "The codes of 2,000 images, projected on their first two principal components, coloured by VaDE's cluster (left) and by the true digit (right); crosses mark the mixture's component means.", "name": "fig-clustering-latent"}, "image": {"alt": "Two scatter plots of the same 2,000 points in the plane of the first two principal components. Left, points coloured by one of ten clusters with black crosses at the ten component means; right, the same points coloured by digit class. Clusters on the edges of the cloud match one digit each; in the crowded centre clusters and digits overlap."}} tags=["hide-input"]
with torch.no_grad():
    sub = data.x[:2000]
    codes = vade.encoder(sub)[0].cpu().numpy()
    assigned = vade.cluster_probabilities(sub).argmax(1).cpu().numpy()
pca = PCA(2).fit(codes)
xy = pca.transform(codes)
centres = pca.transform(vade.prior.means.detach().cpu().numpy())
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6), sharex=True, sharey=True)
for ax, colour, title in ((axes[0], assigned, "VaDE cluster"),
                          (axes[1], data.y[:2000].cpu().numpy(), "true digit")):
    ax.scatter(*xy.T, c=colour, cmap="tab10", s=4, alpha=0.7)
    ax.set_title(title)
    ax.set_xlabel("PC 1")
axes[0].scatter(*centres.T, marker="x", c="black", s=60)
axes[0].set_ylabel("PC 2")
fig.tight_layout()
plt.show()

# %% mystnb={"figure": {"caption": "Eight samples from each of the mixture's ten components (rows), decoded to mean images.", "name": "fig-clustering-samples"}, "image": {"alt": "A grid of ten rows by eight columns of small grey-level images of handwritten digits, one row per mixture component."}} tags=["hide-input"]
g = torch.Generator(device=ctx.device).manual_seed(0)
rows = [vade.sample(8, k, generator=g).cpu() for k in range(vade.prior.num_components)]
grid = torch.cat([torch.cat(list(r[:, 0]), dim=1) for r in rows], dim=0)
fig, ax = plt.subplots(figsize=(4.5, 5.6))
ax.imshow(grid.numpy(), cmap="gray_r")
ticks = range(len(rows))
ax.set_yticks([14 + 28 * k for k in ticks], [str(k) for k in ticks])
ax.set_xticks([])
ax.set_ylabel("component")
ax.grid(False)
plt.show()

# %% [markdown]
# ## Training MPCC
#
# MPCC's networks are those of Tables 8.1–8.3 of {cite:t}`astorga2021gi` on 32×32 images in
# $[-1,1]$, in the MNIST setting: a class-conditional ResNet generator (the plain code $z$ with
# class-conditional batch norm, $C=12$, $J=24$), a spectrally normalised ResNet discriminator
# whose first three blocks the encoder shares, hinge losses, batches of 50 and Adam with
# $\beta=(0, 0.999)$ at $2\cdot10^{-4}$. The prior has ten components with a fixed uniform
# $\pi$ and standard deviations of at least 0.5. One iteration of Algorithm 1 is four
# discriminator updates, one update of the generator and the mixture (Loss I), and four encoder
# updates on the latent cycle (Loss II), the first of which also moves the mixture by its
# cross-entropy with the sampled labels plus $\lambda_p=0.01$ times Loss III, at
# $\eta_p=1.6\cdot10^{-3}$. The trainer runs them as a schedule of nine steps per iteration.
#
# The public MPCC code samples a component with standard deviation $e^{\ell/2}+0.5$ but
# computes the responsibilities with variance $e^{\ell}+0.25$: two different Gaussians, so its
# $q(y\mid z)$ is not the posterior of the component that drew $z$. Here one variance,
# $\sigma^2 = 0.5^2 + e^{\ell}$, serves sampling, responsibilities and entropies alike. The
# thesis also keeps an average of the generator's weights; this chapter does not.
#
# The thesis trains 125,000 iterations on a GPU (12 to 24 hours). On this book's CPU the stored
# run is 500 iterations of one seed, 250 times fewer, evaluated on the first 10,000 images; the
# quick profile runs two.

# %% tags=["nbval-ignore-output"]
mpcc_plan = clustering.PLANS["mpcc_mnist_cpu"]
if ctx.quick:
    mpcc_plan = dataclasses.replace(mpcc_plan, config=dataclasses.replace(
        mpcc_plan.config, iterations=2, eval_every=2, eval_size=500))
images, image_labels, _ = load_clustering_images("mnist", ctx.device)
if not ctx.quick:  # the stored run, resumable: a finished run is read back
    clustering.reproduce(mpcc_plan, run_dir, progress=ctx.progress)
mpcc_model, mpcc_record = clustering.trained_mpcc(mpcc_plan, images, image_labels, 0,
                                                  run_dir, progress=ctx.progress)
mpcc_history = pd.DataFrame(mpcc_record["evaluations"]).set_index("iteration")
display(mpcc_history[["accuracy", "purity", "nmi", "empty", "sigma_mean"]].round(3))

# %% tags=["hide-input"]
stored_mpcc = clustering.stored("mpcc_mnist_cpu")
if stored_mpcc is not None:
    seconds = stored_mpcc["metrics"]["runs"][0]["seconds_per_iteration"]
    device = stored_mpcc["provenance"]["device"]
    print(f"The stored run took {seconds:.2f} s per iteration on {device}.")
    print(f"The thesis's 125,000 iterations would take {125_000 * seconds / 3600:.0f} "
          "hours here.")

# %% tags=["training-check"]
assert mpcc_history[["accuracy", "purity"]].stack().between(0, 1).all()
assert (mpcc_history["accuracy"] <= mpcc_history["purity"] + 1e-12).all()
assert (mpcc_history["sigma_mean"] >= 0.5).all()  # the floor holds

# %% mystnb={"figure": {"caption": "Eight images generated from each of MPCC's ten components (rows) by the run above: in the quick profile, after two iterations, they are still noise; the full profile shows the stored 500-iteration run.", "name": "fig-clustering-mpcc-samples"}, "image": {"alt": "A grid of ten rows by eight columns of small generated grey images, one row per mixture component. After two iterations of training every image is a blurred grey noise pattern."}} tags=["hide-input"]
g = torch.Generator(device=ctx.device).manual_seed(0)
rows = [mpcc_model.sample(8, cluster=k, generator=g).cpu() for k in range(10)]
grid = torch.cat([torch.cat(list(r[:, 0]), dim=1) for r in rows], dim=0)
fig, ax = plt.subplots(figsize=(4.5, 5.6))
ax.imshow(grid.numpy(), cmap="gray_r", vmin=-1, vmax=1)
ax.set_yticks([16 + 32 * k for k in range(10)], [f"{k}" for k in range(10)])
ax.set_xticks([])
ax.set_ylabel("component")
ax.grid(False)
plt.show()

# %% [markdown]
# ## Ten seeds on MNIST, beside Table 8.7
#
# The stored table below is VaDE on all 70,000 MNIST images over ten seeds, at the budget this
# book's CPU allows: ten epochs of pretraining and ten of VaDE, where {cite:t}`jiang2017vade`
# train VaDE for 300. Each run records its accuracy and purity, the two baselines on its own
# pretrained codes, and its bound. The table shows our mean and spread, our best run (the
# protocol behind the 94.46 % of Table 8.7: the best of at least ten runs), and the run a user
# without labels would keep, the one with the highest bound.

# %% tags=["hide-input", "nbval-ignore-output"]
stored = clustering.stored("vade_mnist_cpu")
if stored is None:
    print("no full-profile result stored yet: run this notebook with GI_PROFILE=full")
else:
    meta = stored["provenance"]
    print(f"commit {meta['commit'][:7]}; device {meta['device']}")
    print(f"seeds {meta['seeds']}; {meta['wall_time_s'] / 60:.0f} min")
    mpcc_table = clustering.stored("mpcc_mnist_cpu")
    display(clustering.comparison_table(stored, mpcc=mpcc_table))

# %% tags=["training-check"]
runs = stored["metrics"]["runs"]
summary = stored["metrics"]["summary"]
assert len(runs) == 10 and sorted(r["seed"] for r in runs) == list(range(10))
assert all(r["final"]["accuracy"] <= r["final"]["purity"] + 1e-12 for r in runs)
best_seed = max(runs, key=lambda r: r["final"]["accuracy"])["seed"]
picked = max(runs, key=lambda r: r["final"]["elbo"])
assert summary["VaDE"]["label_free_seed"] == picked["seed"]
assert summary["VaDE"]["best_accuracy"] == max(r["final"]["accuracy"] for r in runs)

# %% tags=["hide-input"]
vade_row, gmm_row = summary["VaDE"], summary["GMM on codes"]
gap = 94.46 - 100 * vade_row["best_accuracy"]
print(f"Best of ten: {100 * vade_row['best_accuracy']:.2f} % (seed {best_seed}), "
      f"{gap:.2f} points below the 94.46 % of Table 8.7.")
print(f"Label-free pick (highest bound, seed {vade_row['label_free_seed']}): "
      f"{100 * vade_row['label_free_accuracy']:.2f} %.")
print(f"VaDE mean {100 * vade_row['accuracy'][0]:.2f} % against the GMM it starts "
      f"from, {100 * gmm_row['accuracy'][0]:.2f} %.")

# %% mystnb={"figure": {"caption": "Hungarian accuracy of each of the ten seeds over VaDE's training (epoch 0 is the mixture fitted to the pretrained codes), and the share of the images held by each seed's smallest component; no component empties.", "name": "fig-clustering-training"}, "image": {"alt": "Two line plots sharing an epoch axis at 0, 5 and 10 epochs, one line per seed. Left, accuracy in percent, between about 60 and 80; most lines rise a little and three fall. Right, the share of images in the smallest component, between about 1 and 7 percent; it shrinks most in the two seeds whose accuracy rises most."}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), sharex=True)
for run in runs:
    ev = pd.DataFrame(run["evaluations"])
    axes[0].plot(ev["epoch"], 100 * ev["accuracy"], marker="o", lw=1)
    axes[1].plot(ev["epoch"], [100 * min(o) for o in ev["occupancy"]], marker="o", lw=1)
axes[0].set_ylabel("accuracy (%)")
axes[1].set_ylabel("smallest component (%)")
for ax in axes:
    ax.set_xlabel("VaDE epoch")
fig.tight_layout()
plt.show()

# %% [markdown]
# Where a run ends depends on where it starts. Each seed's final accuracy is plotted against the
# accuracy of the mixture it started from (the GMM fitted to its pretrained codes):

# %% mystnb={"figure": {"caption": "Final VaDE accuracy of each seed against the accuracy of the Gaussian mixture it started from; the dashed line is no change.", "name": "fig-clustering-start"}, "image": {"alt": "Scatter plot of ten points, final VaDE accuracy in percent against the accuracy of the starting mixture in percent, with a dashed diagonal. Seven points lie above the diagonal and three below; the seed that starts highest, near 79 percent, also ends highest, near 80."}} tags=["hide-input"]
start = np.array([100 * r["baselines"]["gmm"]["accuracy"] for r in runs])
final = np.array([100 * r["final"]["accuracy"] for r in runs])
fig, ax = plt.subplots(figsize=(4.2, 3.8))
ax.scatter(start, final, s=30)
lims = [min(start.min(), final.min()) - 2, max(start.max(), final.max()) + 2]
ax.plot(lims, lims, ls="--", c="grey", lw=1)
ax.set_xlabel("starting mixture's accuracy (%)")
ax.set_ylabel("VaDE's final accuracy (%)")
fig.tight_layout()
plt.show()

# %% tags=["hide-input"]
correlation = np.corrcoef(start, final)[0, 1]
print(f"Correlation of start and end over the ten seeds: {correlation:.2f}; "
      f"mean gain {np.mean(final - start):.1f} points.")

# %% [markdown]
# The start is set by the pretraining, so the pretraining is the first suspect for the gap to
# Table 8.7: {cite:t}`jiang2017vade` start from a stacked denoising autoencoder trained layer by
# layer and then end to end, as for DEC, not from ten epochs of a plain one. The first two seeds
# were trained again with 30 epochs of pretraining instead of 10,
# everything else equal (`--plan vade_mnist_cpu_pretrain30`):

# %% tags=["hide-input", "nbval-ignore-output"]
longer = clustering.stored("vade_mnist_cpu_pretrain30")
if longer is None:
    print("no stored pretraining check yet: run --plan vade_mnist_cpu_pretrain30")
else:
    by_seed = {r["seed"]: r for r in runs}
    check = pd.DataFrame([
        {"seed": r["seed"], "pretraining epochs": epochs,
         "start ACC %": 100 * run["baselines"]["gmm"]["accuracy"],
         "final ACC %": 100 * run["final"]["accuracy"],
         "final purity %": 100 * run["final"]["purity"]}
        for r in longer["metrics"]["runs"]
        for epochs, run in ((10, by_seed[r["seed"]]), (30, r))]).set_index(
            ["seed", "pretraining epochs"])
    display(check.round(2))

# %% [markdown]
# Longer pretraining raised the first seed's start and end clearly and left the second seed's
# start where it was (table above). Pretraining is one cause of the gap to the 94.46 % of
# Table 8.7, then, but not the whole of it; the kind of pretraining (layer-wise and denoising),
# VaDE's 300 epochs and the restarts behind a best-of-ten are the others, and only the GPU plan
# `vade_mnist` can measure them. What a user without labels gets is the run with the highest
# bound, printed above beside the best run. MPCC, after 250 times fewer iterations than the
# thesis, is far from its 98.48 %: this CPU cannot say whether it would get there.

# %% [markdown]
# ## What is left
#
# Both stored tables are at this CPU's budget, far from the sources' schedules. The command
# `python -m gi_core.experiments.clustering --plan vade_mnist` runs VaDE's full schedule (and
# `--plan vade_fashion_mnist` the Fashion-MNIST one), and `--plan mpcc_mnist` and
# `--plan mpcc_fashion_mnist` run MPCC's, on a GPU and resumably: a killed run continues
# from its last checkpoint with its evaluations.
