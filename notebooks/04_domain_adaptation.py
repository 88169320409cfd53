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
# office (USPS {cite}`hull1994usps`) instead of the census forms of MNIST {cite}`lecun1998mnist`, or
# the same digits pasted on photographs of the BSDS500 collection {cite}`arbelaez2011bsds` (MNIST-M
# {cite}`ganin2016dann`). **Unsupervised domain adaptation** gives us labelled examples of the *source* domain and
# unlabelled examples of the *target* domain and asks for a classifier that is good on the target.
#
# This chapter derives why that can work at all, the bound of Ben-David et al.
# {cite}`bendavid2007analysis,bendavid2010theory` as presented in the lecture notes of Corro and Sebag
# (2023, Part 3) {cite}`corro2023dl`, turns the bound into an objective, DANN and its gradient
# reversal layer {cite}`ganin2015unsupervised,ganin2016dann`, and then builds a generative-inference
# model for the same task, the cross-domain latent modulation (CDLM) of Hou et al.
# (2022) {cite}`hou2021cdlm`, the journal extension of {cite:t}`hou2021wacv`. CDLM is a VAE whose reparameterization noise is replaced by the
# *other* domain's representation, so it reuses every piece of the previous chapters: an encoder
# $q(z\mid x)$, a decoder $p(x\mid z)$, a KL to the prior and an adversarial term. Pérez Carrasco's
# thesis {cite}`perez2021avda` follows the same programme with a class-conditional mixture
# prior, that of VaDE {cite}`jiang2017vade`, and tests it on digit tasks that include SVHN
# {cite}`netzer2011svhn` → MNIST.
#
# Every identity is checked on the page; the experiments reproduce Table 2 of Hou et al. (2022) on
# MNIST→USPS as far as a CPU allows, and say where they do not.
#
# **What you will learn**
#
# - why a classifier trained on one domain can work on another: the Ben-David bound, and how a
#   domain classifier measures its divergence term (the proxy A-distance);
# - how DANN turns the bound into a saddle point, and why one gradient reversal layer computes it
#   in a single backward pass;
# - how CDLM modulates each domain's latent with the other domain's representation, and what its
#   Eq. 1–22 do to the distance between the domains (with the paper's typos corrected);
# - what a careful reproduction on a CPU finds: which numbers of Table 2 hold, and why DANN and
#   CDLM fall short of them on MNIST→USPS.

# %% tags=["colab-setup", "hide-input"]
# Colab set-up: pick a profile, then Runtime > Run all. Elsewhere it does nothing.
# full : the sources' datasets; 259 min of training on the CPU behind the stored
#        results (measured), about 34 min on a T4 GPU (estimate: those runs' FLOPs at
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
    data = os.path.expanduser("~/.cache/gi-book/data")  # gi_core's default data folder
    if PROFILE == "full" and not os.path.isdir(f"{data}/MNIST-M"):
        # MNIST-M is built from MNIST and the 200 BSDS500 training images (checksummed).
        import torchvision

        for train in (True, False):
            torchvision.datasets.MNIST(data, train=train, download=True)
        build = [("fetch_bsds500.py", "--out-root", data),
                 ("make_mnist_m.py", "--source-root", data, "--out-root", data)]
        for script, *flags in build:
            subprocess.run([sys.executable, f"../data_scripts/{script}", *flags],
                           check=True)
    print(f"profile {PROFILE}:", {"full": "about 34 min on a T4 GPU (estimate)",
                                  "quick": "a few minutes"}[PROFILE])

# %% tags=["hide-input"]
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
from gi_core.maths.ben_david import (
    ben_david_terms, discrimination_divergence, h_divergence,
)
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

# %% tags=["hide-input"]
# Display settings for this page: tables and printed lines fit a phone, figures keep
# their fonts at 9 pt or more.
import re
import textwrap

from IPython.display import HTML

from gi_core.diagrams import Edge, Node, draw_diagram

pd.set_option("display.width", 88)
pd.set_option("display.max_colwidth", 44)
plt.rcParams.update({"font.size": 10, "legend.fontsize": 9, "xtick.labelsize": 9,
                     "ytick.labelsize": 9, "axes.titlesize": 10})


def mosaic(rows: list[torch.Tensor]) -> np.ndarray:
    """Rows of images (n, c, h, w) as one (rows·h, n·w, 3) array, for one imshow."""
    strips = []
    for images in rows:
        images = images.detach().cpu().float().clamp(0, 1)
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        strips.append(torch.cat(list(images.permute(0, 2, 3, 1)), dim=1))
    return torch.cat(strips, dim=0).numpy()


def show_table(table: pd.DataFrame) -> HTML:
    """A wide table shown as HTML only, which the page scrolls sideways on a phone."""
    return HTML(table.to_html())


def show_mosaic(rows: dict[str, torch.Tensor], title: str, size=(7.0, 2.5)) -> None:
    """One figure: each entry of ``rows`` is a labelled row of images."""
    fig, ax = plt.subplots(figsize=size)
    ax.imshow(mosaic(list(rows.values())), interpolation="nearest")
    height = next(iter(rows.values())).shape[-2]
    ax.set_yticks([height * (k + 0.5) for k in range(len(rows))], list(rows))
    ax.set_xticks([])
    ax.tick_params(length=0)
    ax.set_title(title)
    plt.tight_layout()
    plt.show()

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
# \begin{aligned}
# d_{\mathcal H}(\mathcal D_S,\mathcal D_T)
# &= 2\sup_{h\in\mathcal H}\big|\Pr_{\mathcal D_S}[h(x)=1] \\
# &\qquad\qquad -\Pr_{\mathcal D_T}[h(x)=1]\big| .
# \end{aligned}
# $$
#
# It is large when some $h$ says 1 on the source and 0 on the target. If $\mathcal H$ is closed under
# complement, the absolute value can be dropped and, since
# $\Pr_S[h=0]+\Pr_T[h=1] = 1-(\Pr_S[h=1]-\Pr_T[h=1])$,
#
# $$
# \begin{aligned}
# d_{\mathcal H} &= 2\Big(1-\min_{h\in\mathcal H}\big[\Pr_{\mathcal D_S}[h(x)=0] \\
# &\qquad\qquad +\Pr_{\mathcal D_T}[h(x)=1]\big]\Big),
# \end{aligned}
# $$
#
# the proposition of Corro and Sebag (2023): with sample frequencies in place of probabilities,
# the divergence is measured by how well a *domain classifier* in $\mathcal H$ separates the two
# samples.
#
# **The bound.** Let $h^*$ minimise the combined risk, $\lambda^* = \varepsilon_S(h^*)+\varepsilon_T(h^*)$.
# Three triangle inequalities and one supremum give, for every $h\in\mathcal H$
# (Ben-David et al. 2010, Thm. 2),
#
# $$
# \begin{aligned}
# \varepsilon_T(h) &\le \varepsilon_T(h^*) + \varepsilon_T(h,h^*) \\
# &\le \varepsilon_T(h^*) + \varepsilon_S(h,h^*) \\
# &\quad + \big|\varepsilon_T(h,h^*)-\varepsilon_S(h,h^*)\big| \\
# &\le \varepsilon_T(h^*) + \varepsilon_S(h) + \varepsilon_S(h^*) \\
# &\quad + \tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T) \\
# &= \varepsilon_S(h) + \tfrac12 d_{\mathcal H\Delta\mathcal H}(\mathcal D_S,\mathcal D_T)
#   + \lambda^* ,
# \end{aligned}
# $$
#
# where $\mathcal H\Delta\mathcal H=\{x\mapsto|h(x)-h'(x)|: h,h'\in\mathcal H\}$: the disagreement
# $\varepsilon_{\mathcal D}(h,h^*)$ is $\Pr_{\mathcal D}[g=1]$ for $g=|h-h^*|\in\mathcal H\Delta\mathcal H$,
# so the difference of the two disagreements is at most half the $\mathcal H\Delta\mathcal H$-divergence.
# The target risk is small when the source risk is, when no classifier of the class can tell the domains
# apart, and when *some* classifier does well on both (small $\lambda^*$). The first two are under our
# control; the third is an assumption. With finite samples, complexity terms are added: Corro and
# Sebag (2023) write the first as $C\sqrt{\frac4n(d\log\frac2d+\log\frac4\delta)}$, which is a
# transcription slip for $\sqrt{\frac4n(d\log\frac{2en}{d}+\log\frac4\delta)}$ (Ganin et al. 2016,
# Thm. 2, following Ben-David et al.), with $d$ the VC dimension. Eq. 23 of Hou et al. (2022) writes
# the divergence term as $\hat d_{\mathcal H}(X_s,X_t)$, without the $\tfrac12$ and the
# symmetric-difference class; we keep the form of Ben-David et al. (2010), which is the one proved
# above.
#
# On a finite input space every term is computable exactly. Below, the inputs are 15 points on a
# line, the class is every threshold classifier and its complement, the two domains put random
# weights on the points, and their labels are two nearby thresholds
# ({func}`~gi_core.maths.ben_david.ben_david_terms`).

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
    form_error = abs(float(h_divergence(p_s, p_t, thresholds)
                           - discrimination_divergence(p_s, p_t, thresholds)))
    largest_form_error = max(largest_form_error, form_error)
    if k < 1:
        examples.append((p_s, p_t, terms))
print(f"smallest (bound - target risk), 200 problems x 32 hypotheses: {worst_gap:.4f}")
print(f"largest |sup form - classifier form| of d_H: {largest_form_error:.1e}")

# %% tags=["derivation-check", "da-check"]
assert worst_gap >= -1e-12  # the bound holds for every hypothesis of every problem
assert worst_gap < 0.05  # and is nearly tight on some
assert largest_form_error < 1e-12

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The first of the 200 random problems: the source and target weights on the 15 input points. The target puts most of its mass on a few points, so the two domains differ.", "name": "fig-da-two-domains"}, "image": {"alt": "Paired bar chart over the points 0 to 14: blue source bars spread over all points, orange target bars tall on a few points and near zero on others."}}
p_s, p_t, terms = examples[0]
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(grid - 0.2, p_s, 0.4, label="source $p_S(x)$")
ax.bar(grid + 0.2, p_t, 0.4, label="target $p_T(x)$")
ax.set(xlabel="x", ylabel="probability", title="two domains on 15 points")
ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "For the same problem, the target risk of every threshold classifier stays below the bound (dashed). Over all 200 problems the smallest gap is printed above.", "name": "fig-da-bound"}, "image": {"alt": "Line plot over the thresholds 0 to 15 of the target risk, the source risk and the dashed Ben-David bound; the dashed curve lies above the target-risk curve everywhere."}}
order = torch.arange(16)
fig, ax = plt.subplots(figsize=(6, 3.4))
ax.plot(order, terms["target_risk"][:16], "o-",
        label=r"target risk $\varepsilon_T(h_t)$")
ax.plot(order, terms["source_risk"][:16], "s-",
        label=r"source risk $\varepsilon_S(h_t)$")
ax.plot(order, terms["bound"][:16], "k--",
        label=r"bound $\varepsilon_S+\frac{1}{2} d_{H\Delta H}+\lambda^*$")
ax.set(xlabel="threshold t of $h_t(x)=[x\\geq t]$", ylabel="risk",
       title="the bound for each threshold")
ax.legend()
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
# {func}`~gi_core.metrics.domain.a_distance` uses a linear SVM whose $C$ is chosen by
# cross-validation on the training half only. Two sanity checks, and then the distance between raw
# images of the tasks.

# %%
g = torch.Generator().manual_seed(1)
cloud = torch.randn(800, 20, generator=g, dtype=F64)
separable = a_distance(cloud[:400] + 4.0, cloud[400:] - 4.0)
identical = a_distance(cloud[:400], cloud[400:])
print(f"separable domains: d_A = {separable.value:.3f}")
print(f"identical domains: d_A = {identical.value:.3f} "
      f"(held-out error {identical.error:.3f})")

# %% tags=["da-check"]
assert separable.value == 2.0 and identical.value < 0.4

# %% tags=["nbval-ignore-output"]
tasks = {"mnist_usps": "MNIST→USPS", "mnist_mnistm": "MNIST→MNIST-M"}
task_data = {task: load_domain_data(task, ctx.device) for task in tasks}
raw_distance = {name: feature_a_distance(None, task_data[task])
                for task, name in tasks.items()}
for task, data in task_data.items():
    print(f"{tasks[task]}:")
    print(f"  source {tuple(data.source_x.shape)} from {data.sources['source']}")
    print(f"  target {tuple(data.target_x.shape)} from {data.sources['target']}")
print("raw-pixel A-distance:", {name: round(v, 3) for name, v in raw_distance.items()})

# %% [markdown]
# The targets' training images: in the quick profile they are the shipped subsets; in the full profile
# the USPS *training* images come from the ESL release of USPS when torchvision's file is absent (the
# same 7 291 images and labels, smoothed differently), and every accuracy is measured on the real USPS
# test split. Both raw distances are close to 2: a linear classifier on pixels tells the domains apart
# almost perfectly. USPS digits fill their frame once resized to 28×28, while MNIST digits sit in a
# 20×20 box with a margin (this turns out to matter a great deal, see *Why DANN loses on MNIST→USPS*
# below); MNIST-M adds coloured backgrounds.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The first ten training images of each domain at 28\u00d728. USPS digits fill their frame, MNIST digits keep a margin, MNIST-M digits sit on coloured photographs.", "name": "fig-da-domains"}, "image": {"alt": "Three rows of ten small digit images: white-on-black MNIST digits with a black margin, larger USPS digits touching the frame, and MNIST digits in colour on textured photographic backgrounds."}}
show_mosaic({"MNIST": task_data["mnist_usps"].source_x[:10],
             "USPS": task_data["mnist_usps"].target_x[:10],
             "MNIST-M": task_data["mnist_mnistm"].target_x[:10]},
            "source and target images, as the networks see them (28×28)")

# %% [markdown]
# ## Gradient reversal: a saddle point in one backward pass
#
# The bound asks for features in which the source risk is small *and* the domains are hard to tell
# apart. DANN {cite}`ganin2016dann` writes this as a game between a feature extractor $G_f$, a label
# classifier $G_y$ and a domain classifier $G_d$ (source label 1, target 0):
#
# $$
# \begin{aligned}
# &E(\theta_f,\theta_y,\theta_d) \\
# &\quad = \frac1n\sum_{i\in S}L_y\big(G_y(G_f(x_i)),y_i\big) \\
# &\qquad - \lambda\Big[\frac1n\sum_{i\in S}L_d\big(G_d(G_f(x_i)),1\big) \\
# &\qquad\qquad + \frac1{n'}\sum_{j\in T}L_d\big(G_d(G_f(x'_j)),0\big)\Big],
# \end{aligned}
# $$
#
# minimised over $(\theta_f,\theta_y)$ and maximised over $\theta_d$. Maximising $E$ over $\theta_d$
# is minimising the domain loss $L_d$: the domain classifier estimates the divergence as well as it
# can, and the features are trained to *raise* its error, i.e. to lower $\hat d_{\mathcal H}$.
#
# The **gradient reversal layer** $R_\lambda$ is the identity in the forward pass and multiplies the
# gradient by $-\lambda$ in the backward pass. Define the single loss
# $\tilde E = L_y(G_y(G_f(x))) + L_d(G_d(R_\lambda(G_f(x))))$ and differentiate it with the chain rule:
#
# $$
# \begin{aligned}
# \frac{\partial\tilde E}{\partial\theta_y} &= \frac{\partial L_y}{\partial\theta_y},\qquad
# \frac{\partial\tilde E}{\partial\theta_d} = \frac{\partial L_d}{\partial\theta_d},\\
# \frac{\partial\tilde E}{\partial\theta_f} &= \frac{\partial L_y}{\partial\theta_f}
#   - \lambda\frac{\partial L_d}{\partial\theta_f} .
# \end{aligned}
# $$
#
# These are exactly the directions of the saddle-point updates: descending $\tilde E$ descends $E$ in
# $(\theta_f,\theta_y)$ and ascends it in $\theta_d$. One optimizer and one backward pass replace the
# alternating updates of a GAN. The network as a picture:

# %% tags=["remove-input"] mystnb={"figure": {"caption": "DANN. Solid arrows are the forward pass: the features of $G_f$ feed the label predictor $G_y$ and, through the gradient reversal layer $R_\\lambda$, the domain classifier $G_d$. The dashed arrow is the backward pass through $R_\\lambda$: the domain loss's gradient reaches $G_f$ multiplied by $-\\lambda$.", "name": "fig-da-dann-diagram"}, "image": {"alt": "Box diagram. The input x goes into the feature extractor G_f, then into the label predictor G_y and the class loss L_y. A second branch leaves G_f through a small circle R_lambda into the domain classifier G_d and the domain loss L_d. A dashed arrow curves back from R_lambda to G_f, labelled backward: times minus lambda."}}
dann_diagram = draw_diagram(
    [Node("x", (0.4, 1.75), "$x$", "observed"),
     Node("Gf", (1.5, 1.75), "$G_f$", "network"),
     Node("Gy", (2.9, 1.75), "$G_y$", "network"),
     Node("Ly", (4.75, 1.75), "class loss $L_y$", "loss"),
     Node("R", (2.15, 0.45), "$R_λ$", "operation"),
     Node("Gd", (2.9, 0.45), "$G_d$", "network"),
     Node("Ld", (4.75, 0.45), "domain loss $L_d$", "loss")],
    [Edge("x", "Gf"), Edge("Gf", "Gy"), Edge("Gy", "Ly"), Edge("Gf", "R"),
     Edge("R", "Gd"), Edge("Gd", "Ld"), Edge("R", "Gf", style="dashed", bend=-0.5)],
    size=(5.8, 2.15), fontsize=12)
# the backward arrow's label, on the side its arc bends to
dann_diagram.axes[0].text(1.38, 0.92, "backward:\n$×(-λ)$", ha="right", va="center",
                          fontsize=11)
plt.show()

# %% [markdown]
# Below, autograd checks the three identities on Ganin's MNIST networks
# ({func}`~gi_core.models.dann.build_dann`) for four values of $\lambda$: the gradients through
# the layer are compared with the gradients of the two losses taken separately, without it.

# %% tags=["nbval-ignore-output"]
def grl_gradient_errors(lambda_: float) -> dict[str, float]:
    """Largest |difference| between DANN's gradients and the saddle-point directions,
    per block."""
    torch.manual_seed(0)
    model = build_dann().double()
    # after .double(): in float64 (a float32 buffer holds 0.3 as 0.30000001)
    model.grl.set_coefficient(lambda_)
    xs, xt = torch.rand(8, 1, 28, 28, dtype=F64), torch.rand(8, 1, 28, 28, dtype=F64)
    ys = torch.arange(8) % 10
    terms = model.training_loss(xs, ys, xt)
    blocks = {"features": model.feature_extractor, "classifier": model.label_classifier,
              "discriminator": model.domain_discriminator}

    def grad(loss, params):
        return torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)

    with_grl = {name: grad(terms["loss"], list(b.parameters()))
                for name, b in blocks.items()}
    # the same losses without the layer
    features = model.features(torch.cat([xs, xt]))
    class_logits = model.label_classifier(features[:8])
    class_loss = torch.nn.functional.cross_entropy(class_logits, ys)
    logits = model.domain_discriminator(features)
    # source = 1, target = 0
    domain_loss = discriminator_loss(logits[:8], logits[8:], "standard")
    errors = {}
    for name, block in blocks.items():
        params = list(block.parameters())
        g_y, g_d = grad(class_loss, params), grad(domain_loss, params)
        if name == "features":  # both losses, the domain loss reversed
            expected = [a - lambda_ * b for a, b in zip(g_y, g_d)]
        else:  # each head gets its own loss only (the other gradient is None: unused)
            expected = g_y if name == "classifier" else g_d
        errors[name] = max(float((got - want).abs().max())
                           for got, want in zip(with_grl[name], expected))
    return errors


grl_errors = pd.DataFrame({lam: grl_gradient_errors(lam)
                           for lam in (0.0, 0.3, 1.0, 2.5)}).T
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
# \begin{aligned}
# \lambda_p &= \frac{2}{1+e^{-10p}}-1 = \tanh(5p),\\
# \mu_p &= \frac{\mu_0}{(1+10p)^{0.75}},\quad \mu_0=0.01 .
# \end{aligned}
# $$
#
# Every method of this chapter is trained with both schedules
# ({class}`~gi_core.experiments.domain_adaptation.DAConfig`).

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Ganin et al.'s schedules over the training progress $p$: the reversal coefficient $\\lambda_p$ rises from 0 to nearly 1 in the first third of training, while the learning rate decays to about a sixth of $\\mu_0$.", "name": "fig-da-schedules"}, "image": {"alt": "Two curves over training progress from 0 to 1: the GRL coefficient rising steeply from 0 and flattening near 1, and the relative learning rate falling from 1 to about 0.17."}}
progress = np.linspace(0, 1, 201)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(progress, [grl_schedule(p) for p in progress],
        label=r"$\lambda_p$ (GRL coefficient)")
ax.plot(progress, [dann_learning_rate(p) / 0.01 for p in progress],
        label=r"$\mu_p/\mu_0$ (learning rate)")
ax.set(xlabel="training progress p", title="DANN's schedules")
ax.legend()
plt.tight_layout()
plt.show()

# %% tags=["da-check"]
assert abs(grl_schedule(0.5) - 0.98661429815) < 1e-10 and grl_schedule(0.0) == 0.0
assert abs(dann_learning_rate(1.0) - 0.01 / 11**0.75) < 1e-15

# %% [markdown]
# ## DANN on MNIST→USPS
#
# **Protocol.** Ganin et al.'s MNIST networks: a LeNet feature extractor (5×5 convolutions with 32
# and 48 maps, max-pooling, 768 features), a label classifier 100–100–10 and a domain classifier
# 100–1. 64 source and 64 target images per step, SGD with momentum 0.9 and the two schedules above.
# *Source only* is the same network with $\lambda=0$ (its domain classifier trains, but no gradient
# reaches the features) and *target only* trains it on the labelled target training images: the
# lower and upper reference points of Table 2 in Hou et al. (2022).
#
# **Selection rule.** Every model is the *last iterate* after a fixed number of steps, evaluated
# once on the target test split. No checkpoint, early stop or hyperparameter is chosen with target
# labels; the target's training labels are read only by the target-only bound. The hyperparameters
# are Ganin et al.'s, not tuned here (the variants we tried are reported, not selected, below). One
# change of *protocol* came after the first results had been seen: USPS digits framed like MNIST's.
# It is motivated and checked without target labels, and the results of both protocols are
# reported side by side.
#
# The quick profile trains for a few hundred steps on the shipped subsets: it exercises the code, the
# numbers are not the reproduction. The stored full-profile results follow further down.

# %% tags=["nbval-ignore-output"]
steps = ctx.pick(quick=600, full=4000)
mu_data = task_data["mnist_usps"]
quick_models, quick_rows = {}, {}
for method in ("source_only", "dann"):
    model, trainer, seconds = train_method(
        DAConfig(task="mnist_usps", method=method, steps=steps), mu_data, seed=0,
        progress=ctx.progress)
    quick_models[method] = model
    last_domain_accuracy = trainer.history[-1]["domain_accuracy"]
    quick_rows[method] = {**evaluate_method(model, mu_data), "seconds": seconds,
                          "final domain accuracy": last_domain_accuracy}
pd.DataFrame(quick_rows).T.round(3)

# %% tags=["da-check"]
for method, row in quick_rows.items():
    assert row["source_accuracy"] > 0.75, (method, row)  # both learn the source task
    assert 0.1 < row["target_accuracy"] <= 1.0
assert float(quick_models["dann"].grl.coefficient) > 0.99
assert float(quick_models["source_only"].grl.coefficient) == 0.0

# %% [markdown]
# ## Cross-domain latent modulation (CDLM)
#
# CDLM {cite}`hou2021cdlm` starts from a VAE. A shared encoder $E_\phi$ maps an image to the
# moments $(\mu,\sigma)$ of $q(z\mid x)$ and to a *deep representation*
# $h=\mathrm{sigmoid}(W_hh'+b_h)\in(0,1)^d$ of the latent's dimension, $h'$ being the last
# convolutional layer. The reparameterization $z=\mu+\sigma\odot\varepsilon$ is changed so that each
# domain's noise is the *other* domain's representation plus a little Gaussian noise (Hou et al.
# 2022, Eq. 1–2):
#
# $$
# \begin{aligned}
# \ddot z_{st} &= \mu_s+\sigma_s\odot(\gamma_1h_t+\gamma_2\varepsilon),\\
# \ddot z_{ts} &= \mu_t+\sigma_t\odot(\gamma_1h_s+\gamma_2\varepsilon),
# \end{aligned}
# $$
#
# with $\varepsilon\sim\mathcal N(0,I)$.
# $\gamma_1=0,\gamma_2=1$ is the plain VAE. A single decoder, the source ("desired") one, decodes
# both latents; at test time a target image is translated into a source-style image
# $\tilde x_{ts}=D_\theta(\gamma_1h_t+\gamma_2\varepsilon)$ and classified by a classifier trained
# on the source. The model as this book implements it ({class}`~gi_core.models.cdlm.CDLM`; the
# losses are defined under Eq. 16–22 below):

# %% tags=["remove-input"] mystnb={"figure": {"caption": "CDLM as implemented here. One encoder $E_\\phi$ (drawn once per domain, the same weights) gives each image its moments $(\\mu,\\sigma)$ and its representation $h$. The crossing arrows are the modulation: $\\ddot z_{st}=\\mu_s+\\sigma_s\\odot(\\gamma_1h_t+\\gamma_2\\varepsilon)$ takes the source's moments and the target's $h$, and $\\ddot z_{ts}$ the reverse. One source decoder $D_\\theta$ (drawn twice) reconstructs $x_s$ from $\\ddot z_{st}$ ($L_{rec}$); its decodings of both latents, compared with its decodings of $\\gamma_1h+\\gamma_2\\varepsilon$, make the consistency loss $L_c$, drawn on the target side. The discriminator $\\Xi$ sees both $h$ through the reversal layer $R_\\lambda$. The KL terms and the classifier are left out.", "name": "fig-da-cdlm-diagram"}, "image": {"alt": "Box diagram with a source row and a target row. Each image x_s and x_t enters an encoder box E_phi, which outputs two circles: mu and sigma on the outside, h on the inside. Arrows cross in the middle: h_t joins mu_s, sigma_s in the circle z double-dot st at the top right, and h_s joins mu_t, sigma_t in z double-dot ts at the bottom right. Each z goes through a decoder box D_theta into a loss, L_rec at the top and L_c at the bottom. Between them h_s and h_t both feed a small circle R_lambda, then the discriminator Xi and the loss L_adv."}}
cdlm_diagram = draw_diagram(
    [Node("xs", (0.35, 3.0), "$x_s$", "observed"),
     Node("Es", (1.25, 3.0), "$E_φ$", "network"),
     Node("ms", (2.3, 3.6), "$μ_s,σ_s$", "latent"),
     Node("hs", (2.3, 2.45), "$h_s$", "latent"),
     Node("xt", (0.35, 1.0), "$x_t$", "observed"),
     Node("Et", (1.25, 1.0), "$E_φ$", "network"),
     Node("mt", (2.3, 0.4), "$μ_t,σ_t$", "latent"),
     Node("ht", (2.3, 1.55), "$h_t$", "latent"),
     Node("zst", (3.4, 3.6), r"$\ddot z_{st}$", "latent"),
     Node("zts", (3.4, 0.4), r"$\ddot z_{ts}$", "latent"),
     Node("R", (3.05, 2.0), "$R_λ$", "operation"),
     Node("Xi", (3.85, 2.0), "$Ξ$", "network"),
     Node("La", (5.0, 2.0), "$L_{adv}$", "loss"),
     Node("Ds", (4.35, 3.6), "$D_θ$", "network"),
     Node("Dt", (4.35, 0.4), "$D_θ$", "network"),
     Node("Lr", (5.45, 3.6), "$L_{rec}$", "loss"),
     Node("Lc", (5.45, 0.4), "$L_c$", "loss")],
    [Edge("xs", "Es"), Edge("Es", "ms"), Edge("Es", "hs"),
     Edge("xt", "Et"), Edge("Et", "mt"), Edge("Et", "ht"),
     Edge("ms", "zst"), Edge("ht", "zst"), Edge("mt", "zts"), Edge("hs", "zts"),
     Edge("hs", "R"), Edge("ht", "R"), Edge("R", "Xi"), Edge("Xi", "La"),
     Edge("zst", "Ds"), Edge("zts", "Dt"), Edge("Ds", "Lr"), Edge("Dt", "Lc")],
    size=(6.0, 4.0), fontsize=12)
plt.show()

# %% [markdown]
# ### Moments (Eq. 3–6)
#
# Treat $h_t$ as random, $h_t\sim\mathcal N(\mu_{h_t},\sigma^2_{h_t})$ independent of $\varepsilon$. Then,
# coordinate by coordinate, $\ddot z_{st}$ is Gaussian with the moments of Eq. 3–4:
#
# $$
# \begin{aligned}
# \mathbb E[\ddot z^i_{st}] &= \mu^i_s+\gamma_1\sigma^i_s\mu^i_{h_t},\\
# \operatorname{Var}[\ddot z^i_{st}]
#   &= (\sigma^i_s)^2 \\
#   &\quad\times\big[\gamma_1^2(\sigma^i_{h_t})^2+\gamma_2^2\big].
# \end{aligned}
# $$
#
# Hou et al. (2022) print $\mu_{h_s}$ at the end of Eq. 3; the correct form is $\mu_{h_t}$, because
# only $h_t$ enters $\ddot z_{st}$. If training makes the representation's moments those of the
# latent, $\mu_{h_t}\approx\mu_t$ and $\sigma_{h_t}\approx\sigma_t$, and $\gamma_1\gg\gamma_2$, then
# with $\sigma_s\approx1$ in the mean, $\mu_{st}=\mu_s+\gamma_1\mu_t$ and
# $\sigma_{st}=\gamma_1\sigma_s\sigma_t$ (Eq. 5–6; symmetric for $ts$): both transfer latents are
# centred between the domains and share one scale. A Monte Carlo check of Eq. 3–4 with 400 000
# draws:

# %% tags=["derivation-check"]
g = torch.Generator().manual_seed(2)
d, draws = 6, 400_000
mu_s = torch.randn(d, generator=g, dtype=F64)
sigma_s = 0.5 + torch.rand(d, generator=g, dtype=F64)
mu_h = torch.rand(d, generator=g, dtype=F64)
sigma_h = 0.3 * torch.rand(d, generator=g, dtype=F64)
gamma1, gamma2 = 1.0, 0.1
h_t = mu_h + sigma_h * torch.randn(draws, d, generator=g, dtype=F64)
noise = torch.randn(draws, d, generator=g, dtype=F64)
z_st = mu_s + sigma_s * (gamma1 * h_t + gamma2 * noise)
mean_formula, var_formula = modulation_moments(mu_s, sigma_s, mu_h, sigma_h,
                                               gamma1, gamma2)
mean_z = (z_st.mean(0) - mean_formula) / (z_st.std(0) / math.sqrt(draws))
var_z = (z_st.var(0) - var_formula) / (var_formula * math.sqrt(2 / (draws - 1)))
print("standardised errors, mean:    ", mean_z.numpy().round(2))
print("standardised errors, variance:", var_z.numpy().round(2))

# %% tags=["derivation-check", "da-check"]
assert mean_z.abs().max() < 5 and var_z.abs().max() < 5

# %% [markdown]
# ### The KL between the domains shrinks (Eq. 7–10)
#
# For diagonal Gaussians (Eq. 7)
#
# $$
# \begin{aligned}
# D_{\mathrm{KL}}(s\Vert t) = \tfrac12\sum_i\Big[&2\log\frac{\sigma^i_t}{\sigma^i_s} \\
# &+ \Big(\frac{\mu^i_s-\mu^i_t}{\sigma^i_t}\Big)^2 \\
# &+ \Big(\frac{\sigma^i_s}{\sigma^i_t}\Big)^2-1\Big],
# \end{aligned}
# $$
#
# which is $\tfrac12\sum_i(\mu^i_s-\mu^i_t)^2$ when $\sigma_s=\sigma_t=1$ (Eq. 8). The idealised
# transfer latents share the variance $(\gamma_1\sigma_t)^2$ (with $\sigma_s=1$) and their means
# differ by $(\mu_s+\gamma_1\mu_t)-(\mu_t+\gamma_1\mu_s)=(1-\gamma_1)(\mu_s-\mu_t)$, which gives
# Eq. 9–10 (the last step for $\sigma_t=1$):
#
# $$
# \begin{aligned}
# &D_{\mathrm{KL}}(st\Vert ts) \\
# &\quad= \frac12\sum_i\frac{\big[(1-\gamma_1)(\mu^i_s-\mu^i_t)\big]^2}{(\gamma_1\sigma^i_t)^2}
#   \\
# &\quad= \Big(\frac{1-\gamma_1}{\gamma_1}\Big)^2 D_{\mathrm{KL}}(s\Vert t).
# \end{aligned}
# $$
#
# Hou et al. (2022) print Eq. 9 without the $\sum_i$ on the right; the sum belongs there, because
# the KL of two diagonal Gaussians adds over the coordinates. The factor is below 1 exactly when
# $\gamma_1>\tfrac12$ and vanishes at the paper's $\gamma_1=1$, where $\mu_{st}=\mu_{ts}=\mu_s+\mu_t$.
# Below, the KL of the idealised moments (Eq. 5–6) computed with the general formula of Eq. 7 is
# compared with the ratio $r=((1-\gamma_1)/\gamma_1)^2$: first with $\sigma_s=\sigma_t=1$, where
# Eq. 10 is exact (the largest error over 100 × 8 random means, and Eq. 9 against Eq. 7), then with
# random $\sigma$, where it is not (the median ratio): the ratio is a statement about unit variances
# only.

# %%
g = torch.Generator().manual_seed(3)
rows = []
for gamma1 in (0.25, 0.5, 0.75, 0.9, 1.0, 1.5):
    mu_s = torch.randn(100, 8, generator=g, dtype=F64)
    mu_t = torch.randn(100, 8, generator=g, dtype=F64)
    ones = torch.ones_like(mu_s)
    m_st, s_st, m_ts, s_ts = idealized_transfer_moments(mu_s, ones, mu_t, ones, gamma1)
    kl_transfer = domain_kl(m_st, s_st, m_ts, s_ts)
    kl_domains = domain_kl(mu_s, ones, mu_t, ones)
    ratio = full_modulation_kl_ratio(gamma1)
    sig_s = 0.5 + torch.rand(100, 8, generator=g, dtype=F64)
    sig_t = 0.5 + torch.rand(100, 8, generator=g, dtype=F64)
    m_st, s_st, m_ts, s_ts = idealized_transfer_moments(mu_s, sig_s, mu_t, sig_t,
                                                        gamma1)
    kl_random = domain_kl(m_st, s_st, m_ts, s_ts) / domain_kl(mu_s, sig_s, mu_t, sig_t)
    eq9 = full_modulation_kl(mu_s, mu_t, ones, gamma1)
    rows.append({"γ1": gamma1, "r": ratio,
                 "|KL(st‖ts) − r·KL(s‖t)|":
                     float((kl_transfer - ratio * kl_domains).abs().max()),
                 "|Eq. 9 − Eq. 7|": float((eq9 - kl_transfer).abs().max()),
                 "KL(st‖ts)/KL(s‖t), random σ": float(kl_random.median())})
kl_table = pd.DataFrame(rows).set_index("γ1")
kl_table.round(4)

# %% tags=["da-check"]
assert (kl_table.iloc[:, 1:3].to_numpy() < 1e-10).all()
assert (kl_table.loc[[0.75, 0.9, 1.0, 1.5], "r"] < 1).all()
assert kl_table.loc[0.25, "r"] > 1

# %% [markdown]
# ### Partial modulation (Eq. 11–15)
#
# Two variants exchange only second moments. **PM1** gives both latents the average scale,
# $\ddot z_{st}=\mu_s+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon$ and
# $\ddot z_{ts}=\mu_t+\tfrac12(\sigma_s+\sigma_t)\odot\varepsilon$ (Eq. 11). The two Gaussians share
# their variance, so each KL is
# $\tfrac12\sum_i4\big(\frac{\mu^i_s-\mu^i_t}{\sigma^i_s+\sigma^i_t}\big)^2$ (Eq. 12). The symmetric
# KL of the original domains obeys Eq. 13:
#
# $$
# \begin{aligned}
# &D(s\Vert t)+D(t\Vert s) \\
# &\quad= \tfrac12\sum_i(\mu^i_s-\mu^i_t)^2 \\
# &\qquad\quad\times\Big(\frac1{(\sigma^i_s)^2}+\frac1{(\sigma^i_t)^2}\Big) \\
# &\qquad + \tfrac12\sum_i\Big[\Big(\frac{\sigma^i_s}{\sigma^i_t}\Big)^2
#   +\Big(\frac{\sigma^i_t}{\sigma^i_s}\Big)^2-2\Big] \\
# &\quad\ge \tfrac12\sum_i(\mu^i_s-\mu^i_t)^2 \\
# &\qquad\quad\times\Big(\frac1{(\sigma^i_s)^2}+\frac1{(\sigma^i_t)^2}\Big)
# \end{aligned}
# $$
#
# The log terms $\log\frac{\sigma_t}{\sigma_s}+\log\frac{\sigma_s}{\sigma_t}$ cancel. Hou et al.
# (2022) print them with a factor $\tfrac12$; from Eq. 7 the factor is 1, but the two logs vanish
# either way, so the inequality stands, and the bracket is
# $(\sigma_s/\sigma_t-\sigma_t/\sigma_s)^2\ge0$. Two AM–GM steps,
#
# $$
# \frac4{(\sigma_s+\sigma_t)^2}\le\frac1{\sigma_s\sigma_t}
# \le\frac12\Big(\frac1{\sigma_s^2}+\frac1{\sigma_t^2}\Big),
# $$
#
# then give Eq. 14: $D(st\Vert ts)+D(ts\Vert st)\le D(s\Vert t)+D(t\Vert s)$. **PM2** swaps the
# scales, $\ddot z_{st}=\mu_s+\sigma_t\odot\varepsilon$, $\ddot z_{ts}=\mu_t+\sigma_s\odot\varepsilon$
# (Eq. 15); its symmetric KL *equals* that of the original pair (same means, same pair of scales):
# it preserves the gap. Checked on 20 000 random pairs of 16-dimensional Gaussians with scales
# spread over two decades:

# %% tags=["derivation-check", "nbval-ignore-output"]
g = torch.Generator().manual_seed(4)
shape = (20_000, 16)
mu_s = 3 * torch.randn(shape, generator=g, dtype=F64)
mu_t = 3 * torch.randn(shape, generator=g, dtype=F64)
sig_s = torch.exp(2.3 * (torch.rand(shape, generator=g, dtype=F64) - 0.5))
sig_t = torch.exp(2.3 * (torch.rand(shape, generator=g, dtype=F64) - 0.5))
pm1 = pm1_symmetric_kl(mu_s, sig_s, mu_t, sig_t)
lower = symmetric_kl_lower_bound(mu_s, sig_s, mu_t, sig_t)
original = symmetric_kl(mu_s, sig_s, mu_t, sig_t)
pm2 = symmetric_kl(mu_s, sig_t, mu_t, sig_s)
pm1_direct = symmetric_kl(mu_s, 0.5 * (sig_s + sig_t), mu_t, 0.5 * (sig_s + sig_t))
shrink = pm1 / original
print(f"PM1 / original symmetric KL: median {float(shrink.median()):.3f}, "
      f"max {float(shrink.max()):.3f}")
print(f"max |PM2 - original| / original = "
      f"{float(((pm2 - original) / original).abs().max()):.1e}")

# %% tags=["derivation-check", "da-check"]
# Eq. 13-14
assert (pm1 <= lower * (1 + 1e-12)).all() and (lower <= original * (1 + 1e-12)).all()
# Eq. 12 is the KL of the PM1 Gaussians
assert torch.allclose(pm1, pm1_direct, rtol=1e-12)
assert torch.allclose(pm2, original, rtol=1e-12)  # PM2 preserves the gap

# %% [markdown]
# ### The objective and the update rules (Eq. 16–22)
#
# CDLM reconstructs only the source, from the latent that carries the target's representation, and
# puts a KL on both transfer latents (Eq. 18, an ELBO with prior $\mathcal N(0,I)$):
#
# $$
# \begin{aligned}
# \mathcal L_{Rec} &= -\mathbb E_{q(\ddot z_{st}\mid x_s,x_t)}\log p_\theta(x_s\mid\ddot z_{st}),\\
# \mathcal L_{KL} &= D_{\mathrm{KL}}\big(q(\ddot z_{st}\mid x_s,x_t)\Vert p(z)\big) \\
#   &\quad +D_{\mathrm{KL}}\big(q(\ddot z_{ts}\mid x_t,x_s)\Vert p(z)\big).
# \end{aligned}
# $$
#
# Eq. 17–18 are written to be maximised, and Eq. 18 prints "$\mathrm{KL}(\log q_\phi\ldots)$"; the
# correct form has no log inside the KL, which compares two densities, not a log-density. We write
# both terms as costs, as the update rules use them. A two-layer domain classifier $\Xi$ on $h$ is
# trained through a gradient reversal layer, $\mathcal L_{adv}$ being its binary cross-entropy
# (Eq. 19, 24): exactly DANN's domain term, applied to the representation that modulates the
# latents. The **consistency losses** tie the decoding of the transfer latent to a decoding of the
# representation alone (Eq. 20, in the mean-squared-error form that the text of Hou et al. (2022)
# chooses):
#
# $$
# \begin{aligned}
# \mathcal L_c &= \beta_1\big\Vert D_\theta(\ddot z_{st})
#   -D_\theta(\gamma_1h_s+\gamma_2\varepsilon)\big\Vert^2 \\
# &\quad + \beta_2\big\Vert D_\theta(\ddot z_{ts})
#   -D_\theta(\gamma_1h_t+\gamma_2\varepsilon)\big\Vert^2 .
# \end{aligned}
# $$
#
# Eq. 20 as printed squares the difference of two expected log-likelihoods, two scalars per batch;
# the squared error between the two generated images, which the text settles on, is what can carry
# the class of the image, and is what we implement. The parameters then move along (Eq. 21–22)
#
# $$
# \begin{aligned}
# \phi &\leftarrow \phi-\eta_1\nabla_\phi\big(\mathcal L_{adv}+\lambda_1\mathcal L_{KL} \\
# &\qquad\qquad +\lambda_2\mathcal L_{Rec}\big),\\
# \theta &\leftarrow \theta-\eta_2\nabla_\theta\big(\mathcal L_{Rec}+\mathcal L_c\big),
# \end{aligned}
# $$
#
# with SGD with momentum for $\phi$, Adam for $\theta$, batch 64 and $\gamma_1=1$, $\gamma_2=0.1$,
# $\lambda_1=\lambda_2=10^{-4}$, $\beta_1=0.1$, $\beta_2=0.01$. {class}`~gi_core.models.cdlm.CDLM`
# builds one loss whose gradient with respect to each block is that block's rule (the
# reconstruction reaches $\phi$ through a gradient scaling by $\lambda_2$, the reversal layer turns
# the descent on $\mathcal L_{adv}$ into an ascent for $\phi$).
#
# **Which term $\lambda_1$ weights.** Hou et al. (2022) introduce $\lambda_1$ and $\lambda_2$ in
# their text as the weights of the discriminator loss and of the reconstruction loss, but their
# Eq. 21, and the same update in their Algorithm 1, put $\lambda_1$ on $\mathcal L_{KL}$ and leave
# $\mathcal L_{adv}$ unweighted. The text is the slip: this book implements Eq. 21 as printed,
# $\lambda_1\mathcal L_{KL}$ with $\mathcal L_{adv}$ at weight 1. Both displayed formulas agree on
# that form, and a weight on $\mathcal L_{adv}$ would duplicate a knob the method already has: the
# adversarial gradient reaches $\phi$ through the reversal layer, scaled by its coefficient
# $\lambda$, which follows Ganin's schedule (a weight on the discriminator's own loss would also
# slow the discriminator, which the reversal coefficient does not).
#
# **What Hou et al. (2022) leave open, and what we chose.** The paper gives no learning rates,
# latent size, iteration count, GRL coefficient, KL form, classifier input or network layers (it
# refers to UNIT {cite}`liu2017unit`). Our choices, each an option of
# {func}`~gi_core.models.cdlm.build_cdlm`: a two-convolution encoder and a transposed-convolution
# decoder with a 64-dimensional latent; the KL of the conditional Gaussian
# $\mathcal N(\mu_s+\gamma_1\sigma_s\odot h_t,(\gamma_2\sigma_s)^2)$; a LeNet classifier trained on
# source images and on the source generations $D_\theta(\gamma_1h_s+\gamma_2\varepsilon)$ with
# source labels; Ganin's two schedules for $\eta_1$ and the GRL, with $\eta_1$ starting at
# $\mu_0=10^{-3}$, a tenth of Ganin's rate for DANN (runs not marked "μ0 = 0.001" in the tables below
# used Ganin's $10^{-2}$; {ref}`cdlm-errors` shows what that costs). Two deviations from the literal
# update rules are needed for the method to learn at all: with $\lambda_2=10^{-4}$ the encoder
# receives essentially no reconstruction signal and, with $\mathcal L_c$ kept away from $\phi$,
# nothing ties $h$ to the content of the image, so the decoder can only learn an average image. The
# stored full-scale run with the literal rules, in the results below, measures it. We therefore let
# the reconstruction reach the encoder at full weight ($\lambda_2=1$) and let $\mathcal L_c$ train
# the encoder as well (`consistency_to_encoder=True`).

# %% tags=["nbval-ignore-output"]
cdlm_options, cdlm_lr = BOOK_CDLM, BOOK_CDLM_LR
cdlm_steps = ctx.pick(quick=500, full=4000)
cdlm_config = DAConfig(task="mnist_usps", method="cdlm", steps=cdlm_steps,
                       cdlm=cdlm_options, lr=cdlm_lr)
cdlm, cdlm_trainer, cdlm_seconds = train_method(cdlm_config, mu_data, seed=0,
                                                progress=ctx.progress)
cdlm_terms = cdlm_trainer.history[-1]
quick_rows["cdlm"] = {**evaluate_method(cdlm, mu_data), "seconds": cdlm_seconds,
                      "final domain accuracy": cdlm_terms["domain_accuracy"]}
print("last logged step:")
print(textwrap.fill(", ".join(f"{k} {v:.4g}" for k, v in cdlm_terms.items()), width=88))
pd.DataFrame(quick_rows).T.round(3)

# %% tags=["da-check"]
first_terms = cdlm_trainer.history[0]
assert all(math.isfinite(v) for v in cdlm_terms.values())
# the decoder learns to reconstruct the source
assert cdlm_terms["rec_loss"] < 0.8 * first_terms["rec_loss"]
assert 0.0 <= quick_rows["cdlm"]["target_accuracy"] <= 1.0

# %% [markdown]
# What the decoder makes of target images: the first row shows USPS test digits, the second their
# source-style translations $\tilde x_{ts}=D_\theta(\gamma_1h_t+\gamma_2\varepsilon)$, the images
# the classifier actually sees, and the third the reconstructions of MNIST digits from
# $\ddot z_{st}$.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "What the CDLM trained on this page makes of digits: USPS test digits, their source-style translations (the classifier's input) and reconstructions of MNIST digits from the modulated latent. After the quick profile's 500 steps the reconstructions look like their digits while the translations are still blurs.", "name": "fig-da-cdlm-translations"}, "image": {"alt": "Three rows of ten small grey images: USPS test digits, the decoder's translations of them, and reconstructions of MNIST training digits that resemble the originals."}}
with torch.no_grad():
    torch.manual_seed(0)
    target_images = mu_data.target_test_x[:10]
    translated = cdlm.translate(target_images).cpu()
    z_st, _ = cdlm.modulated_latents(mu_data.source_x[:10], target_images)
    reconstructed = cdlm.mean_image(cdlm.decoder(z_st)).cpu()
show_mosaic({"USPS": target_images, "translated": translated,
             "MNIST rec.": reconstructed},
            f"CDLM after {cdlm_steps} steps ({ctx.profile} profile)")

# %% [markdown]
# ## Reproducing Table 2
#
# The full profile trains source only, DANN, target only and CDLM on MNIST→USPS for three seeds each,
# 4 000 steps of 64 + 64 images (4.3 epochs of MNIST), and three single-seed variants: DANN with the
# reversal capped at $\lambda_{\max}=0.3$, DANN trained 2.5 times longer (10 000 steps), and CDLM with
# the literal update rules of Eq. 21. USPS→MNIST and MNIST→MNIST-M get one seed of source only and DANN,
# MNIST→MNIST-M also one DANN run of 10 000 steps and one CDLM run (the CPU budget allowed no more). The
# framed protocol of the next section adds source only, DANN, target only and CDLM on MNIST→USPS
# and source only, DANN and CDLM on USPS→MNIST, three seeds each, and a rebalancing oracle; on
# framed MNIST→USPS also DANN with $\lambda_{\max}=0.1$ and 0.3 (three seeds each, with their
# reverse-validation runs), CDLM with $\lambda_{\max}=0.1$, 0.3 and 0 and without consistency losses
# (one seed each), and CDLM with $\mu_0=0.001$ (three seeds; one with a 256-dimensional latent).
# USPS→MNIST (framed) and MNIST→MNIST-M get one CDLM run with $\mu_0=0.001$ each.
#
# Everything is stored with its provenance in `results/`, one file `da_<task>.json` per task
# ({func}`~gi_core.experiments.domain_adaptation.reproduce`), and the diagnoses of the
# {doc}`appendix <04b_domain_adaptation_diagnostics>` beside them (`da_<task>_releases.json`,
# `da_<task>_translation.json`, `da_<task>_early_trace.json`, and for framed MNIST→USPS the
# `reverse_validation` and `bound_terms` files). From the command line, one task:
#
# ```
# python -m gi_core.experiments.domain_adaptation --task mnist_usps
# ```
#
# Hou et al.'s (2022) numbers, copied from their Table 2 into the book's reference results, are
# single values: the paper reports no spread, and its baseline rows are quoted from other papers,
# with other networks and preprocessing. The tables below show them in the column
# "Hou et al. (2022)".

# %% tags=["hide-input", "nbval-ignore-output"]
def without_paths(text: str) -> str:
    """A data source's description without the folder it was read from."""
    return re.sub(r" under [^\s,]+", "", text)


if not ctx.quick:
    for task, plan in PLANS.items():
        reproduce(plan, RUNS_ROOT / "da" / task, f"da_{task}", progress=ctx.progress)
stored = {task: stored_result(task) for task in PLANS}
for task, result in stored.items():
    if result is None:
        print(f"{task}: no full-profile result stored yet; run with GI_PROFILE=full")
        continue
    meta, runs = result["provenance"], result["metrics"]["runs"]
    minutes = sum(r["train_seconds"] for r in runs) / 60
    print(f"{task}: {len(runs)} runs, {minutes:.0f} min of training "
          f"on {meta['device']}")
    print("  run commits:", " ".join(sorted({r["commit"][:7] for r in runs})))
    for role, source in meta["config"]["data_sources"].items():
        print(textwrap.fill(f"{role}: {without_paths(source)}", width=88,
                            initial_indent="  ", subsequent_indent="    "))
print("selection rule:", stored["mnist_usps"]["provenance"]["config"]["selection_rule"])

# %%
accuracy_table("mnist_usps")

# %%
other_tasks = (("usps_mnist", "USPS→MNIST"), ("mnist_mnistm", "MNIST→MNIST-M"))
show_table(pd.concat({name: accuracy_table(task) for task, name in other_tasks
                      if stored[task] is not None}))

# %% [markdown]
# ## Why DANN loses on MNIST→USPS
#
# DANN falls below source only on MNIST→USPS but not on USPS→MNIST, with the same code, networks
# and schedules. That points at the *target* side of MNIST→USPS rather than at the algorithm. Two
# properties of it can be seen without a single target label, and the cost of each can then be
# measured. The first, that the USPS training and test images are two releases of the same digits,
# smoothed differently, is measured in the {doc}`appendix <04b_domain_adaptation_diagnostics>`,
# with the other diagnoses of this reproduction. The second is the digits' framing.
#
# ### The digits' framing
#
# MNIST's digits were scaled into a 20×20 box and centred in a 28×28 frame when the dataset was
# built {cite}`lecun1998mnist`; USPS's 16×16 digits fill their frame. Resized to 28×28, as Hou et
# al. (2021) do, a USPS digit is therefore about 40 % taller than an MNIST digit and its strokes
# are thicker. {func}`~gi_core.data.transforms.ink_extent` measures this on the images alone (rows
# and columns with a pixel above 0.3). The `_framed` tasks shrink USPS digits into MNIST's 20×20
# box instead ({func}`~gi_core.data.transforms.frame_digits`). The box is MNIST's published
# construction, confirmed here without labels; it was not tuned on any accuracy.

# %% tags=["hide-input", "nbval-ignore-output"] mystnb={"figure": {"caption": "Mean training image of each domain. Resized USPS digits fill the frame; shrunk into a 20\u00d720 box they cover the same area as MNIST's.", "name": "fig-da-framing"}, "image": {"alt": "Three heat maps of mean digit images: a compact blob for MNIST, a blob reaching the edges for resized USPS, and a compact blob like MNIST's for USPS in a 20 by 20 box."}}
framed_data = load_domain_data("mnist_usps_framed", ctx.device)
framings = {"MNIST": mu_data.source_x, "USPS resized to 28×28": mu_data.target_x,
            "USPS in a 20×20 box": framed_data.target_x}
extents = {}
fig, axes = plt.subplots(1, 3, figsize=(7, 2.7))
for ax, (name, x) in zip(axes, framings.items()):
    height, width = ink_extent(x)
    extents[name] = {"ink height (px)": height.float().mean().item(),
                     "ink width (px)": width.float().mean().item(),
                     "mean intensity": x.mean().item()}
    ax.imshow(x.mean(0)[0].cpu(), cmap="magma", vmin=0, vmax=0.6)
    ax.set_title(name.replace(" resized", "\nresized").replace(" in", "\nin"))
    ax.set_xticks([]), ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% tags=["nbval-ignore-output"]
pd.DataFrame(extents).T.round(2)

# %% tags=["da-check"]
mnist_height = extents["MNIST"]["ink height (px)"]
framed = extents["USPS in a 20×20 box"]
# the mismatch is large
assert extents["USPS resized to 28×28"]["ink height (px)"] - mnist_height > 6
# and framing removes it
assert abs(framed["ink height (px)"] - mnist_height) < 0.5
assert abs(framed["mean intensity"] - extents["MNIST"]["mean intensity"]) < 0.02

# %% [markdown]
# With the digits framed alike, the full-profile runs (same networks, schedules, seeds and
# selection rule; stored in `da_mnist_usps_framed.json` and `da_usps_mnist_framed.json`), and the
# rebalancing oracle of the appendix on framed MNIST→USPS:

# %%
framed_tasks = (("mnist_usps_framed", "MNIST→USPS, framed"),
                ("usps_mnist_framed", "USPS→MNIST, framed"),
                ("mnist_usps_framed_balanced", "MNIST→USPS, rebalanced"))
show_table(pd.concat({name: accuracy_table(task) for task, name in framed_tasks
                      if stored[task] is not None}))

# %% [markdown]
# **Framing is the largest single effect in this chapter.** With USPS digits in MNIST's box:
#
# - source only rises from 0.806 to 0.930 ± 0.003 on MNIST→USPS, two points short of target only
#   (0.950 ± 0.003), and from 0.560 to 0.774 ± 0.021 on USPS→MNIST;
# - DANN rises from 0.579 ± 0.126 to 0.862 ± 0.033 on MNIST→USPS;
# - CDLM rises from 0.472 ± 0.058 to 0.804 ± 0.014;
# - the raw-pixel A-distance falls from 1.96 to 1.63, and DANN's features now come out at 1.60
#   (source only's stay at 1.99): the reversal can align the domains once a digit is the same size
#   in both.
#
# Framing also explains why Hou et al.'s (2022) source-only baseline (0.634, quoted from another
# paper with its own preprocessing) sits so far below ours. It also accounts for most of what DANN
# gained on USPS→MNIST before framing (0.560 → 0.764): framing alone takes source only to 0.774.
#
# **What remains: with framed digits, DANN with Ganin's schedule adds nothing to this source-only
# network.**
#
# | task | DANN | source only | difference |
# |---|---|---|---|
# | MNIST→USPS | 0.862 ± 0.033 | 0.930 ± 0.003 | DANN 7 points *below* |
# | USPS→MNIST | 0.784 ± 0.034 | 0.774 ± 0.021 | within the spread |
#
# In both directions the reversal costs source accuracy (0.959 against 0.985, and 0.904 against
# 0.949), while the A-distance shows that the alignment happens. Hou et al.'s (2022) own DANN
# figures (0.774 and 0.833) sit on the same side of 0.90. The
# {doc}`appendix <04b_domain_adaptation_diagnostics>` measures why, and how strong the reversal
# should be.

# %% [markdown]
# ## Where the domains go: t-SNE and the A-distance
#
# The stored seed-0 runs also record the proxy A-distance between source and target test images in
# each model's feature space (DANN and source only: the 768 LeNet features; CDLM: the
# representation $h$ that is aligned and decoded) and a t-SNE of 500 test images per domain. The
# framed runs are included: the second bar chart and the last two panels of each t-SNE figure.

# %% tags=["hide-input"] mystnb={"figure": {"caption": "Proxy A-distance between MNIST and USPS test images with USPS resized to 28\u00d728, on raw pixels and in the features of each stored seed-0 run. Every model's features separate the domains about as well as raw pixels do.", "name": "fig-da-a-distance"}, "image": {"alt": "Horizontal bar chart, one grey bar per model, all between about 1.9 and 2.0 on an axis from 0 to 2."}}
def a_distance_bars(task: str, title: str) -> None:
    """One bar per stored seed-0 run of ``task`` (in the order of TITLES), and raw
    pixels."""
    result = stored[task]["metrics"]
    summary = result["summary"]
    bars = {"raw pixels": result["a_distance_raw"]}
    bars.update({TITLES[label]: summary[label]["a_distance"][0]
                 for label in TITLES if "a_distance" in summary.get(label, {})})
    fig, ax = plt.subplots(figsize=(7, min(4.5, 0.28 * len(bars) + 1.0)))
    ax.barh(list(bars), list(bars.values()), color="tab:gray")
    ax.invert_yaxis()
    ax.set(xlim=(0, 2), xlabel=r"proxy A-distance $\hat d_A=2(1-2\varepsilon)$",
           title=title)
    plt.tight_layout()
    plt.show()


a_distance_bars("mnist_usps", "MNIST→USPS (USPS resized), test images")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The same distances with USPS digits framed like MNIST's: raw pixels fall to about 1.6, DANN with Ganin's schedule and CDLM with \u03bc0 = 0.001 stay at that level, while source only, target only and DANN with \u03bb_max = 0.1 keep the domains almost separable (close to 2).", "name": "fig-da-a-distance-framed"}, "image": {"alt": "Horizontal bar chart, one grey bar per model on framed MNIST to USPS, between about 1.6 and 2.0; the shortest bars, near 1.6, are raw pixels, DANN with Ganin's schedule and CDLM with mu0 = 0.001."}}
if stored["mnist_usps_framed"] is not None:
    a_distance_bars("mnist_usps_framed", "MNIST→USPS framed, test images")

# %% tags=["hide-input"]
mu_result = stored["mnist_usps"]["metrics"]
shown = ["source_only", "dann", "cdlm_consistency_to_encoder-True_lambda2-1.0"]
embeddings = {"raw pixels": mu_result["tsne_raw"]}
embeddings.update({TITLES[r["model"]].split(",")[0]: r["tsne"]
                   for r in mu_result["runs"] if "tsne" in r and r["model"] in shown})
if stored["mnist_usps_framed"] is not None:
    framed_result = stored["mnist_usps_framed"]["metrics"]
    embeddings["raw pixels, framed"] = framed_result["tsne_raw"]
    embeddings.update({"DANN, framed": r["tsne"] for r in framed_result["runs"]
                       if "tsne" in r and r["model"] == "dann"})


def tsne_panels(colour_by: str) -> None:
    """The t-SNE embeddings, three to a row, coloured by domain or by digit."""
    rows = math.ceil(len(embeddings) / 3)
    fig, axes = plt.subplots(rows, 3, figsize=(7, min(4.5, 2.3 * rows)), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_visible(False)
    for ax, (label, emb) in zip(axes.flat, embeddings.items()):
        ax.set_visible(True)
        xy = np.array(emb["xy"])
        if colour_by == "domain":
            domain = np.array(emb["domain"])
            for value, name, colour in ((1, "MNIST", "tab:blue"),
                                        (0, "USPS", "tab:orange")):
                ax.scatter(*xy[domain == value].T, s=2, c=colour, label=name,
                           alpha=0.6)
        else:
            ax.scatter(*xy.T, s=2, c=np.array(emb["label"]), cmap="tab10", alpha=0.8)
        ax.set_title(label)
    if colour_by == "domain":
        axes[0, 0].legend(markerscale=4, loc="lower left")
    plt.tight_layout()
    plt.show()

# %% tags=["hide-input"] mystnb={"figure": {"caption": "t-SNE of 500 MNIST (blue) and 500 USPS (orange) test images, on raw pixels and in each model's features. With USPS resized to 28\u00d728 the two domains mostly form separate clouds, in raw pixels and in every model's features; with framed digits they overlap already in raw pixels, and DANN's features mix them.", "name": "fig-da-tsne-domain"}, "image": {"alt": "Grid of six scatter plots of blue and orange points. In the first four panels blue and orange points mostly form separate clusters; in the two framed panels they are interleaved."}}
tsne_panels("domain")

# %% tags=["hide-input"] mystnb={"figure": {"caption": "The same embeddings coloured by digit class: the learned features group the classes more tightly than raw pixels do.", "name": "fig-da-tsne-digit"}, "image": {"alt": "Grid of six scatter plots coloured with ten colours for the ten digits; in the model panels points of one colour form compact clusters."}}
tsne_panels("digit")

# %% [markdown]
# ## What reproduces, and what does not
#
# **Source only and target only land where they should.**
#
# - Source only reaches 0.806 ± 0.016 on USPS resized to 28×28 and 0.930 ± 0.003 with the digits framed
#   like MNIST's (Hou et al. (2022) quote 0.634).
# - On MNIST-M it reaches 0.519, which is Ganin et al.'s source-only figure for this network (about 0.52).
# - Target only reaches 0.949 ± 0.002, against the 0.980 of Hou et al. (2022). That is after 4.3 epochs, and on the
#   differently smoothed ESL release of the USPS training images.
#
# **DANN on MNIST→USPS: the gap to 0.90 taken apart.** With the preprocessing of Hou et al. (2022), DANN ends at
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
# target-only bound, and every alignment we measured costs more than it gains. Hou et al.'s (2022) own DANN number
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
# **CDLM is far from the 0.961 of Hou et al. (2022).**
#
# - **The literal update rules fail, as predicted.** After 4 000 steps the reconstruction of the literal
#   run has only come down to 131 nats (the book variant's: 52–56). Digits of both domains are classified
#   near chance through their translations (target 0.152, source 0.142).
# - **The book variant learns to translate.** Its classifier labels source digits through their
#   translations at 0.935–0.968.
# - **Target digits are often translated into source digits of the wrong class.** Accuracy is
#   0.472 ± 0.058 with the preprocessing of Hou et al. (2022), 0.804 ± 0.014 with framed digits (0.836 on the matching
#   release) and 0.845 ± 0.004 with the encoder kept alive ($\mu_0=0.001$). That is below framed source only
#   (0.930) in every setting we ran, with a weaker reversal (0.881 with $\lambda_{\max}=0.1$, one seed)
#   or none (0.848), and with a 256-dimensional latent (0.875, one seed). On USPS→MNIST (framed) CDLM
#   reaches 0.780 ± 0.004 (three seeds), level with source only (0.774 ± 0.021) and DANN
#   (0.784 ± 0.034), and 0.729 with $\mu_0=0.001$ (one seed); Hou et al. (2022) report 0.983.
# - **On MNIST→MNIST-M the collapse is explained, the adaptation still fails** (one seed each). With
#   Ganin's rate the encoder dies in its first ten steps and $h$ is one constant vector, so every digit
#   gets the same class (0.113). With $\mu_0=0.001$ the model trains (0.951 on source digits through
#   their translations) but scores 0.255 on MNIST-M, half of source only. Hou et al. (2022) report 0.987.
#
# The diagnosis of {ref}`cdlm-errors` takes the gap apart: Ganin's rate kills most of the encoder within
# ten steps, and in every run the classifier inside CDLM does better on the raw target digit than on its
# translation, because the target's $h$ is not in the source's coordinates.
#
# **A CDLM target of 0.95, which this book set itself, is the target-only bound of this setting.** A
# network of the same architecture trained on all 7 291 labelled USPS training images reaches
# 0.950 ± 0.003 on the reported test release (0.952 on the release it trained on). Hou et al.'s (2022) CDLM
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
#
# ## Summary
#
# - The Ben-David bound limits the target risk by the source risk, half the
#   $\mathcal H\Delta\mathcal H$-divergence between the domains and the joint error $\lambda^*$ of
#   the best classifier for both; on a finite problem every term is exact and the bound holds for
#   every hypothesis.
# - The divergence is what a domain classifier can measure: its held-out error gives the proxy
#   A-distance $2(1-2\varepsilon)$.
# - DANN minimises the source risk and maximises the domain classifier's error; the gradient
#   reversal layer makes one backward pass of one loss follow the saddle-point directions, as
#   autograd confirms to $10^{-12}$.
# - CDLM replaces a VAE's reparameterization noise with the other domain's representation. Its
#   moments (Eq. 3–4) and the shrinking of the KL between the domains (Eq. 9–14) check out, once
#   the paper's typos in Eq. 3, 9, 13, 18 and the text about $\lambda_1$ are corrected.
# - The literal update rules starve CDLM's encoder; the book's variant lets the reconstruction and
#   the consistency losses train it, with a tenth of Ganin's learning rate.
# - In the reproduction, source only and target only land where they should; framing USPS digits
#   like MNIST's is the largest single effect; DANN and CDLM stay below source only on
#   MNIST→USPS, so Table 2's CDLM numbers are not confirmed.
#
# ## Exercises
#
# 1. Ganin's coefficient $\lambda_p=\tanh(5p)$ starts at 0. At what fraction $p$ of training does
#    it first reach 0.9, after how many of a 4 000-step run's steps is that, and what fraction of
#    $\mu_0$ is the learning rate $\mu_p$ then?
# 2. With unit variances, the full modulation multiplies the KL between the domains by
#    $((1-\gamma_1)/\gamma_1)^2$ (Eq. 10). Which values of $\gamma_1$ shrink it to a quarter?
#    Check one of them with the idealised moments of Eq. 5–6.
# 3. Show from Eq. 7 that PM2 (Eq. 15), which swaps the two scales, leaves the symmetric KL
#    $D(st\Vert ts)+D(ts\Vert st)$ equal to $D(s\Vert t)+D(t\Vert s)$.
#
# The answers follow: the first two are computed and checked in the hidden cells below.

# %% tags=["hide-input"]
# Exercise 1: tanh(5p) = 0.9 gives p = artanh(0.9) / 5
p_90 = math.atanh(0.9) / 5
step_90 = math.ceil(p_90 * 4000)
lr_fraction = dann_learning_rate(p_90) / 0.01
assert abs(grl_schedule(p_90) - 0.9) < 1e-12
assert grl_schedule((step_90 - 1) / 4000) < 0.9 <= grl_schedule(step_90 / 4000)
assert abs(lr_fraction - (1 + 10 * p_90) ** -0.75) < 1e-12
print(f"λ_p = 0.9 at p = {p_90:.4f}, step {step_90} of 4 000")
print(f"the learning rate there: μ_p = {lr_fraction:.3f} μ0")

# %% tags=["hide-input"]
# Exercise 2: ((1 - γ1) / γ1)² = 1/4  ⇔  (1 - γ1) / γ1 = ±1/2  ⇔  γ1 = 2/3 or γ1 = 2
for quarter in (2 / 3, 2.0):
    assert abs(full_modulation_kl_ratio(quarter) - 0.25) < 1e-12
g = torch.Generator().manual_seed(5)
mu_s, mu_t = (torch.randn(50, 8, generator=g, dtype=F64) for _ in range(2))
ones = torch.ones_like(mu_s)
m_st, s_st, m_ts, s_ts = idealized_transfer_moments(mu_s, ones, mu_t, ones, 2 / 3)
kl_ratio = domain_kl(m_st, s_st, m_ts, s_ts) / domain_kl(mu_s, ones, mu_t, ones)
assert torch.allclose(kl_ratio, torch.full_like(kl_ratio, 0.25), rtol=1e-10)
print("a quarter at γ1 = 2/3 and at γ1 = 2")
print(f"KL ratio with γ1 = 2/3: {float(kl_ratio.mean()):.6f}")

# %% [markdown]
# :::{admonition} Answer to exercise 3
# :class: dropdown
# Per coordinate, PM2 gives $\ddot z_{st}\sim\mathcal N(\mu_s,\sigma_t^2)$ and
# $\ddot z_{ts}\sim\mathcal N(\mu_t,\sigma_s^2)$. Eq. 7 gives
#
# $$
# \begin{aligned}
# D(st\Vert ts) &= \tfrac12\Big[2\log\frac{\sigma_s}{\sigma_t}
#   +\frac{(\mu_s-\mu_t)^2}{\sigma_s^2} \\
# &\qquad +\frac{\sigma_t^2}{\sigma_s^2}-1\Big],\\
# D(ts\Vert st) &= \tfrac12\Big[2\log\frac{\sigma_t}{\sigma_s}
#   +\frac{(\mu_s-\mu_t)^2}{\sigma_t^2} \\
# &\qquad +\frac{\sigma_s^2}{\sigma_t^2}-1\Big].
# \end{aligned}
# $$
#
# In the sum the logarithms cancel and what is left is
#
# $$
# \begin{aligned}
# &\tfrac12(\mu_s-\mu_t)^2\big(\sigma_s^{-2}+\sigma_t^{-2}\big) \\
# &\quad +\tfrac12\big(\sigma_s^2/\sigma_t^2+\sigma_t^2/\sigma_s^2-2\big),
# \end{aligned}
# $$
#
# the expression of Eq. 13 before its inequality: the symmetric KL of the original pair. Swapping the scales only swaps which direction of the KL
# carries which term, and the sum over the coordinates keeps the equality.
# :::
