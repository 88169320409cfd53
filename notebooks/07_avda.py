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
# # One component per class: adversarial variational domain adaptation
#
# Chapter 4 aligned a source and a target domain by making their features indistinguishable
# to a binary discriminator. Chapter 5 built a VAE whose prior is a mixture with one Gaussian
# per cluster. {cite:t}`perez2021avda` joins the two. A VAE on the labelled source learns a
# prior with **one component per class**; a separate encoder for the target is then trained to
# put each target image into the component of its class, using a few target labels where they
# exist, pseudo-labels drawn from its own classifier where they do not, and a discriminator
# with $K+1$ outputs (the $K$ source classes and "from the target") that aligns the domains
# **class by class**. The method is called AVDA.
#
# **What you will learn**
#
# * the source objective (Eq. 3.5): the KL to the true class's component in closed form
#   (Eq. 3.10), and why the weight $\alpha_s=1000$ on the classifier is sensible only for one
#   choice of reduction;
# * the target's joint KL split into a categorical and a Gaussian part (Eq. 3.7, App. B), when
#   that split is exact, and why its categorical part *raises* the prediction entropy;
# * the straight-through Gumbel-softmax sample behind the pseudo-labels, and its failure modes;
# * Odena's $(K+1)$-way discriminator as two alternating updates, and a toy case where it
#   aligns per class while a binary discriminator aligns only the marginals;
# * what AVDA gives on MNIST↔USPS with 0, 1 and 5 target labels per class, ten draws of the
#   labels each, beside Tables 4.1 and 4.2 of {cite:t}`perez2021avda` and beside baselines
#   trained on the same draws.

# %% tags=["colab-setup", "hide-input"]
# Colab set-up: pick a profile, then Runtime > Run all. Elsewhere it does nothing.
# full : the sources' datasets; 211 min of training on the CPU behind the stored
#        results (measured), about 50 min on a T4 GPU (estimate: those runs' FLOPs at
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
    print(f"profile {PROFILE}:", {"full": "about 50 min on a T4 GPU (estimate)",
                                  "quick": "a few minutes"}[PROFILE])

# %% tags=["hide-input"]
import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
import torch.nn.functional as F
from IPython.display import display
from sklearn.decomposition import PCA
from torch.distributions import Categorical, Independent, Normal, kl_divergence

from gi_core.data.digit_shots import signed_domain_data
from gi_core.experiments import avda
from gi_core.experiments.avda_runs import (
    AVDAConfig,
    source_model,
    split_target,
    train_run,
)
from gi_core.experiments.avda_toy import alignment_game, toy_alignment
from gi_core.maths.avda_objective import (
    adversarial_objective,
    categorical_prior_kl,
    component_kl,
    discriminator_objective,
    straight_through_gumbel,
    unlabelled_target_objective,
)
from gi_core.maths.categorical import categorical_entropy
from gi_core.maths.schedules import linear_ramp
from gi_core.results import read_reference
from gi_core.runs import RUNS_ROOT
from gi_core.runtime import run_context

ctx = run_context()
F64 = torch.float64
sns.set_theme(style="whitegrid", context="notebook")
pd.set_option("display.width", 88)
plt.rcParams.update(
    {"legend.fontsize": 10, "xtick.labelsize": 10, "ytick.labelsize": 10}
)
QUICK = ctx.quick
THESIS = read_reference("seed000_tables_4_1_4_2")["table"]

# %% [markdown]
# ## The model
#
# The source images $x^s$ come with labels $y^s\in\{1,\dots,K\}$. The generative side is
#
# $$ p(y)=\mathrm{Cat}(y\mid\pi),\qquad p(z\mid y)=\mathcal N\big(z;\mu_y,
#    \operatorname{diag}\sigma_y^2\big),\qquad p_\theta(x\mid z), $$
#
# a mixture prior with one learnable Gaussian per class, as in VaDE (chapter 5), and a decoder
# that sees only $z$ (Eq. 3.1). The proportions $\pi$ are a constant; the chapter uses uniform
# ones. The inference side factorises as $q(y,z\mid x) = q_\phi(z\mid x)\,q_\phi(y\mid z)$
# (Eq. 3.2): a Gaussian encoder and a classifier *on the code*. The code is drawn as
# $z=\mu+\sigma\odot\varepsilon$ with $\varepsilon\sim\mathcal N(0,I)$; Eq. 3.11 prints
# $\mu+\sigma^2\odot\varepsilon$, which would give the code the wrong spread.
#
# Because every source image has a label, its code need not be matched to the whole mixture,
# only to the component of its class. The source objective (Eq. 3.5) is, per image,
#
# $$ \mathcal L_s = \mathrm{KL}\big(q_\phi(z\mid x^s)\,\Vert\,p(z\mid y^s)\big)
#    - \mathbb E_{q_\phi(z\mid x^s)}\big[\log p_\theta(x^s\mid z)\big]
#    - \alpha_s\log q_\phi(y^s\mid z), $$
#
# with $\alpha_s=1000$. The last term is a cross-entropy $-\sum_k y_k\log\hat y_k$ (the
# thesis's Eq. 2.2 drops its minus sign). Both Gaussians are diagonal, so the KL is a sum over
# the $J=20$ code dimensions (Eq. 3.10):
#
# $$ \mathrm{KL} = \frac12\sum_{j=1}^{J}\Big[\log\sigma_{y,j}^2 - \log\sigma_{\phi,j}^2
#    + \frac{\sigma_{\phi,j}^2}{\sigma_{y,j}^2}
#    + \frac{(\mu_{\phi,j}-\mu_{y,j})^2}{\sigma_{y,j}^2} - 1\Big]. $$
#
# (The thesis writes it with $\log 2\pi\sigma^2$ terms whose $2\pi$ cancel. Its Eq. 2.9, the
# special case $p=\mathcal N(0,I)$, writes $\sigma$ where $\sigma^2$ is meant.) The cell
# checks `component_kl` against `torch.distributions` and against a Monte Carlo estimate of
# $\mathbb E_q[\log q - \log p]$.

# %% tags=["derivation-check"]
torch.manual_seed(0)  # the Monte Carlo draws below
gen = torch.Generator().manual_seed(0)
K, J = 4, 3
prior_means = torch.randn(K, J, generator=gen, dtype=F64) * 3
prior_log_vars = torch.randn(K, J, generator=gen, dtype=F64) * 0.5
mean = torch.randn(5, J, generator=gen, dtype=F64)
log_var = torch.randn(5, J, generator=gen, dtype=F64) * 0.3
labels = torch.tensor([0, 1, 2, 3, 1])


def gaussian(m: torch.Tensor, lv: torch.Tensor) -> Independent:
    return Independent(Normal(m, torch.exp(0.5 * lv)), 1)


kl_closed = component_kl(mean, log_var, prior_means, prior_log_vars, labels)
kl_library = kl_divergence(
    gaussian(mean, log_var), gaussian(prior_means[labels], prior_log_vars[labels])
)
q = gaussian(mean, log_var)
z = q.sample((200_000,))
log_ratio = q.log_prob(z) - gaussian(
    prior_means[labels], prior_log_vars[labels]
).log_prob(z)
kl_mc, kl_se = log_ratio.mean(0), log_ratio.std(0) / len(z) ** 0.5
display(
    pd.DataFrame(
        {
            "closed form (3.10)": kl_closed,
            "torch.distributions": kl_library,
            "Monte Carlo": kl_mc,
            "MC std. error": kl_se,
        }
    ).round(5)
)
assert torch.allclose(kl_closed, kl_library, atol=1e-12)
assert ((kl_closed - kl_mc).abs() < 5 * kl_se).all()

# %% [markdown]
# ### Which reduction makes $\alpha_s = 1000$ sensible
#
# The weight $\alpha_s$ only means something against the size of the other two terms, and that
# size depends on how they are reduced. The book sums the reconstruction's squared error over
# the $32\times32$ pixels (a Gaussian decoder of variance $\tfrac12$, up to a constant) and the
# KL over the code; the author's earlier public code instead *averaged* the reconstruction over
# the pixels. The table reads the three terms at the end of the stored source training on
# MNIST (batch means, in nats):

# %% tags=["hide-input"]
stored_mu = avda.stored("mnist_usps_cpu")
source_record = next(iter(stored_mu["metrics"]["sources"].values()))
terms = source_record["final_terms"]
pixels = 32 * 32
scales = pd.DataFrame(
    {
        "summed over pixels (the book)": {
            "KL to the class component": terms["kl"],
            "reconstruction": terms["reconstruction"],
            "α_s × cross-entropy": 1000 * terms["cross_entropy"],
        },
        "reconstruction averaged over pixels": {
            "KL to the class component": terms["kl"],
            "reconstruction": terms["reconstruction"] / pixels,
            "α_s × cross-entropy": 1000 * terms["cross_entropy"],
        },
    }
)
display(scales.round(3))

# %% [markdown]
# With sums, the KL and the reconstruction are tens of nats each and stay so: the decoder
# shapes the code throughout. The weighted cross-entropy starts at $1000\log 10\approx 2300$
# nats, so the first steps are a classifier's, and ends at a few nats once the classes are
# separated; $\alpha_s$ is large enough to make the classes come first and small enough to
# let the other two terms act afterwards. With the reconstruction averaged over pixels it is
# hundreds of times smaller than the KL, and the source model becomes a classifier with
# a KL penalty whose decoder has almost no say; a weight of 1000 then only makes sense against
# the KL. The book keeps the sums, the convention of every chapter.
#
# ## The target: a joint KL split in two
#
# The target gets its own encoder $q_\psi(z\mid x)$ and classifier $q_\psi(y\mid z)$, started
# as copies of the source's; the source model and its prior are frozen (the prior is written
# $p^*$). A labelled target image (a "shot") is treated like a source image without the
# reconstruction (Eq. 3.6, $\alpha_t=10$). An unlabelled one is matched to the whole prior:
#
# $$ \mathcal L_t^{\text{unsup}} = \mathrm{KL}\big(q_\psi(z,y\mid x)\,\Vert\,p^*(z,y)\big). $$
#
# Writing the joint as $q_\psi(z\mid x)\,q_\psi(y\mid z)$ and $p(y)\,p^*(z\mid y)$ and taking
# the expectation in two steps gives
#
# $$ \mathcal L_t^{\text{unsup}} =
#    \mathbb E_{q_\psi(z\mid x)}\Big[\mathrm{KL}\big(q_\psi(y\mid z)\Vert p(y)\big)\Big]
#    + \mathbb E_{q_\psi(z\mid x)}\sum_y q_\psi(y\mid z)
#      \log\frac{q_\psi(z\mid x)}{p^*(z\mid y)}. $$
#
# App. B writes the second term as $\mathbb E_{q_\psi(y\mid z)}\big[\mathrm{KL}(q_\psi(z\mid x)
# \Vert p^*(z\mid y))\big]$, a class-weighted sum of the closed form (3.10). That is exact
# when the classifier's output does not change over the code's posterior, $q_\psi(y\mid z)
# \approx q_\psi(y\mid\mu_\psi(x))$, which a confident classifier satisfies; otherwise the two
# differ by how $q_\psi(y\mid z)$ covaries with $\log q/p^*$ across $z$. (App. B's last line
# also writes $\mathrm{KL}(q(y)\Vert p(y))$ where $q(y\mid z)$ is meant.) The cell computes
# both forms for one image by Monte Carlo with a classifier that is sharp and with one that
# varies across the code's posterior.

# %% tags=["derivation-check"]
torch.manual_seed(1)  # the Monte Carlo draws below
K, J = 3, 2
comp_means = torch.tensor([[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]], dtype=F64)
comp_log_vars = torch.zeros(K, J, dtype=F64)
cases = {
    "code inside a component, sharp classifier": ([2.0, -0.3], 0.05, 30.0),
    "code between components, soft classifier": ([0.3, 0.5], 0.5, 0.5),
}
rows = {}
for name, (centre, variance, sharpness) in cases.items():
    code_mean = torch.tensor([centre], dtype=F64)
    code_log_var = torch.log(torch.full((1, J), variance, dtype=F64))
    z = gaussian(code_mean, code_log_var).sample((400_000,)).squeeze(1)
    log_q_z = gaussian(code_mean[0], code_log_var[0]).log_prob(z)
    log_p_z = gaussian(comp_means, comp_log_vars).log_prob(z[:, None])  # (N, K)
    kl_per_class = component_kl(
        code_mean.expand(K, J),
        code_log_var.expand(K, J),
        comp_means,
        comp_log_vars,
        torch.arange(K),
    )
    logits = sharpness * z @ comp_means.T  # q(y|z) changes with z
    q_y = logits.softmax(-1)
    cat = categorical_prior_kl(logits)  # KL(q(y|z) || uniform), per draw
    exact = cat + (q_y * (log_q_z[:, None] - log_p_z)).sum(-1)
    split = cat + (q_y * kl_per_class).sum(-1)  # App. B: closed form at each class
    rows[name] = {
        "joint KL (MC)": exact.mean().item(),
        "App. B form (MC)": split.mean().item(),
        "std. error of the gap": (exact - split).std().item() / len(z) ** 0.5,
    }
display(pd.DataFrame(rows).T.round(4))
inside = rows["code inside a component, sharp classifier"]
assert (
    abs(inside["joint KL (MC)"] - inside["App. B form (MC)"])
    < 5 * inside["std. error of the gap"] + 1e-3
)
# with q(y|z) held fixed the split is the chain rule, exact: Σ_y q_y KL_y + KL(q_y || p_y)
q_fixed = torch.tensor([[0.2, 0.5, 0.3]], dtype=F64)
weights = q_fixed.expand(len(z), K)
chain = (weights * (log_q_z[:, None] - log_p_z)).sum(
    -1
).mean() + categorical_prior_kl(q_fixed.log())
closed = (q_fixed * kl_per_class).sum() + categorical_prior_kl(q_fixed.log())
assert (
    abs(chain - closed)
    < 5 * (weights * (log_q_z[:, None] - log_p_z)).sum(-1).std() / len(z) ** 0.5
)
objective = unlabelled_target_objective(
    code_mean, code_log_var, q_fixed.log(), q_fixed, comp_means, comp_log_vars
)
assert torch.isclose(objective["loss"], closed.squeeze(), atol=1e-12)

# %% [markdown]
# The first row is the case AVDA trains in: a code well inside a component and a confident
# classifier (trained with $\alpha_s=1000$), for which $q(y\mid z)$ hardly changes over the
# code's posterior, and the two forms agree. The second, a code between components read by a
# soft classifier, shows that App. B's form is not the joint KL in general.
#
# ### The categorical term raises the entropy
#
# With a uniform $p(y)$ the first term is
#
# $$ \mathrm{KL}\big(q_\psi(y\mid z)\,\Vert\,\mathrm{U}\big) = \log K - H\big(q_\psi(y\mid z)
#    \big), $$
#
# so minimising it **maximises** the entropy of each prediction: it pulls the target
# classifier towards "I don't know", the opposite of the entropy *minimisation* that
# semi-supervised methods usually add. The thesis has no other entropy term. The cell checks
# the identity and that one gradient step on the term raises the entropy.

# %% tags=["derivation-check"]
logits = torch.randn(6, 10, generator=gen, dtype=F64) * 3
identity_gap = categorical_prior_kl(logits) - (
    np.log(10) - categorical_entropy(logits.softmax(-1))
)
step = logits.clone().requires_grad_(True)
categorical_prior_kl(step).sum().backward()
after = (logits - 0.5 * step.grad).softmax(-1)
library = kl_divergence(
    Categorical(logits=logits), Categorical(probs=torch.full((10,), 0.1, dtype=F64))
)
assert identity_gap.abs().max() < 1e-12
assert torch.allclose(categorical_prior_kl(logits), library, atol=1e-12)
assert (categorical_entropy(after) > categorical_entropy(logits.softmax(-1))).all()

# %% [markdown]
# What the term does in practice is measured below: in the stored runs the target classifier
# stays saturated, because $\alpha_s$ and $\alpha_t$ make its logits large, and the term's
# gradient, $\nabla H$, vanishes there.
#
# ### Pseudo-labels: the straight-through Gumbel-softmax
#
# The second term needs a class for each unlabelled image. AVDA draws one from the classifier
# with the Gumbel-softmax trick of {cite:t}`jang2017gumbel` (cited as "Jiang et al." in the
# thesis): with $g_k\sim\mathrm{Gumbel}(0,1)$,
#
# $$ f_k = \frac{\exp\big((\tilde\alpha_k+g_k)/\tau\big)}{\sum_i\exp\big((\tilde\alpha_i
#    +g_i)/\tau\big)},\qquad \tilde y = \operatorname{one\_hot}(\arg\max_k f_k), $$
#
# at $\tau = 3$ (Eq. 3.14). The forward pass uses the one-hot $\tilde y$; the backward pass the
# gradient of the soft $f$ ("straight through"). $\arg\max_k(\tilde\alpha_k+g_k)$ is an exact
# draw from $\mathrm{softmax}(\tilde\alpha)$ whatever $\tau$; $\tau$ only shapes the gradient.
# The book's `straight_through_gumbel` draws the uniform noise clamped away from 0 and 1, so
# that $g=-\log(-\log u)$ is always finite (PyTorch's own `gumbel_softmax` has open reports of
# NaN samples), and refuses $\tau\le0$. The cell checks one-hot values, the class frequencies
# against $\mathrm{softmax}(\tilde\alpha)$ and a finite, non-zero gradient even at logits of
# $\pm 10^4$.

# %% tags=["derivation-check"]
class_logits = torch.tensor([[1.0, 0.0, -1.0, 2.0]], dtype=F64)
draws = straight_through_gumbel(
    class_logits.expand(40_000, 4),
    tau=3.0,
    generator=torch.Generator().manual_seed(1),
)
frequencies = draws.mean(0)
expected = class_logits.softmax(-1)[0]
se = (expected * (1 - expected) / len(draws)) ** 0.5
extreme = (torch.tensor([[1e4, 1e4 - 1.0, 1e4 - 2.0]])).requires_grad_(True)
sample = straight_through_gumbel(extreme, tau=3.0)
(sample * torch.tensor([[1.0, 2.0, 3.0]])).sum().backward()
display(pd.DataFrame({"sampled": frequencies, "softmax": expected}).T.round(4))
assert set(draws.unique().tolist()) == {0.0, 1.0} and (draws.sum(1) == 1).all()
assert ((frequencies - expected).abs() < 5 * se).all()
assert torch.isfinite(extreme.grad).all() and extreme.grad.abs().sum() > 0
try:
    straight_through_gumbel(class_logits, tau=0.0)
    raise AssertionError("tau = 0 must be refused")
except ValueError:
    pass

# %% [markdown]
# ## Aligning class by class
#
# The KL terms pull each target code towards *its own* component, but a pseudo-label is only
# as good as the classifier that drew it. AVDA adds a discriminator on codes with $K+1$
# outputs, the semi-supervised GAN of {cite:t}`odena2016semi`: classes $1..K$ for source codes,
# class $K+1$ for target codes (Eq. 3.8),
#
# $$ \mathcal L_D = \sum_{i\in\mathcal D_s} H\big(D(z_i^s), y_i^s\big)
#    + \sum_{i\in\mathcal D_u\cup\mathcal D_t} H\big(D(z_i^t), K{+}1\big), $$
#
# and the target encoder is trained to make $D$ call its codes *source codes of their
# (pseudo-)class* (Eq. 3.9),
#
# $$ \mathcal L_A = \sum_{i\in\mathcal D_u} H\big(D(z_i^t), \tilde y_i\big)
#    + \sum_{i\in\mathcal D_t} H\big(D(z_i^t), y_i^t\big). $$
#
# There is no gradient-reversal layer: $D$ and $\psi$ take turns, as in ADDA
# {cite}`tzeng2017adda`. The book's trainer does this with `updates="alternating"`: $D$ steps
# on $\mathcal L_D$, then the loss is evaluated again and $\psi$ steps on
# $\mathcal L_t=\gamma\mathcal L_t^{\text{sup}}+(1-\gamma)\mathcal L_t^{\text{unsup}}
# +\mathcal L_A$ (Eq. 3.12) against the updated $D$. Each sum is averaged over its batch, so a
# source batch and a target batch weigh alike. The weight $\gamma$ starts at 1 and falls to 0.9
# over the first 25 batches ("after 25 unsupervised batches", read as a linear ramp); the
# trainer sets it before each step, never the loss. The thesis states the alignment as
# "$q_\psi(z^s) = q_\phi(z^t)$", with the indices swapped: the aim is that the target's
# aggregate posterior $q_\psi(z^t)$ matches the source's $q_\phi(z^s)$, class by class.
#
# The cell checks the targets of the two losses: with logits that put all mass on the right
# answer each loss vanishes, and with mass on a wrong class it does not; $\mathcal L_A$ never
# asks for class $K+1$.

# %% tags=["derivation-check"]
K = 3
source_labels = torch.tensor([0, 2, 1])
right = 50.0 * F.one_hot(source_labels, K + 1).double()
target_right = 50.0 * F.one_hot(torch.full((2,), K), K + 1).double()
d_right = discriminator_objective(right, source_labels, target_right)
d_swapped = discriminator_objective(
    target_right[:1].expand(3, -1), source_labels, right[:2]
)
a_right = adversarial_objective(right, source_labels)
a_fake = adversarial_objective(target_right, torch.tensor([0, 1]))
gamma = linear_ramp(1.0, 0.9, 25)
display(
    pd.Series(
        {
            "L_D, right answers": d_right.item(),
            "L_D, swapped": d_swapped.item(),
            "L_A, asked class": a_right.item(),
            "L_A, D says 'target'": a_fake.item(),
            "γ at steps 0, 12, 25, 100": [gamma(s) for s in (0, 12, 25, 100)],
        }
    )
)
assert d_right < 1e-12 and d_swapped > 40 and a_right < 1e-12 and a_fake > 40
assert [round(gamma(s), 12) for s in (0, 12, 25, 100)] == [1.0, 0.952, 0.9, 0.9]

# %% [markdown]
# ### A toy case: marginals versus classes
#
# Why $K+1$ outputs rather than two? A binary discriminator asks only that the target's codes,
# taken together, look like the source's. Under label shift that is the wrong goal. Take a 1-D
# code space with two balanced source classes, $\mathcal N(\mp2, 0.5^2)$, and a target with
# the same two classes in proportions 90/10. Consider the target maps that put the minority
# class in its own component and move a fraction $t$ of the majority class into the
# minority's: $t=0$ aligns class by class, $t^*=4/9$ makes the target's marginal 50/50 like the
# source's. For each $t$ the cell computes what the encoder pays against the *optimal*
# discriminator of each kind: $D^*=p_s/(p_s+p_t)$ for the binary one, and, for the
# $(K+1)$-way one, minimising Eq. 3.8 pointwise under $\sum_j D_j = 1$,
#
# $$ D^*_k(z) = \frac{p_s(z,k)}{p_s(z)+p_t(z)},\qquad
#    D^*_{K+1}(z) = \frac{p_t(z)}{p_s(z)+p_t(z)}, $$
#
# with the non-saturating encoder losses of Eq. 3.9 and of the binary ablation (the target's
# classes as its pseudo-labels).

# %% mystnb={"figure": {"caption": "What the target encoder pays against the optimal discriminator, for maps that move a fraction t of the target's majority class into the minority class's component (label shift 90/10 against a balanced source). The binary discriminator's cost is lowest where the marginals match (t = 4/9, dashed); the (K+1)-way discriminator's is lowest at t = 0, class-by-class alignment, and rises with every code moved.", "name": "fig-avda-game"}, "image": {"alt": "Two curves against the moved fraction t from 0 to 0.8. The binary cost is a shallow bowl with its minimum, log 2, at t = 4/9 marked by a dashed line. The (K+1)-way cost starts at the same value at t = 0 and rises steeply and linearly."}} tags=["hide-input"]
moved = [i / 90 for i in range(73)]
game = toy_game = alignment_game(moved)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
for ax, kind, title in (
    (axes[0], "binary", "binary discriminator"),
    (axes[1], "classes", "(K+1)-way discriminator"),
):
    ax.plot(moved, game[kind], color="C0" if kind == "binary" else "C3")
    ax.axvline(game["marginal_match"], ls="--", color="grey", lw=1)
    ax.set_xlabel("fraction t of the majority class moved")
    ax.set_title(title, fontsize=11)
axes[0].set_ylabel("encoder's cost at D* (nats)")
fig.tight_layout()

# %% tags=["derivation-check"]
game = alignment_game([i / 90 for i in range(73)])
assert abs(game["moved"][int(np.argmin(game["binary"]))] - 4 / 9) < 1e-12
assert abs(min(game["binary"]) - np.log(2)) < 1e-6
assert int(np.argmin(game["classes"])) == 0

# %% [markdown]
# So at the optimum the two discriminators want different things: the binary one rewards the
# map that misclassifies 40 % of the target, the $(K+1)$-way one the map that keeps each class
# in its own component. Training tells a second story. The cell trains the toy end to end
# (`gi_core.experiments.avda_toy`: a 2-D version of the same label shift, an MLP target
# encoder started as the source's map, AVDA's full target loss, 400 alternating steps, three
# seeds) with each discriminator.

# %% tags=["hide-input"]
TOY_SEEDS = (0, 1, 2)
toy = {
    (kind, kl): [
        toy_alignment(kind, seed=seed, unlabelled_kl=kl) for seed in TOY_SEEDS
    ]
    for kind in ("classes", "binary")
    for kl in (True, False)
}
toy_table = pd.DataFrame(
    {
        f"{'(K+1)-way' if kind == 'classes' else 'binary'}, "
        f"{'full target loss' if kl else 'alignment alone'}": {
            f"seed {seed}": f"{run['accuracy']:.3f} ({run['target_share'][1]:.2f})"
            for seed, run in zip(TOY_SEEDS, runs)
        }
        for (kind, kl), runs in toy.items()
    }
).T
display(toy_table)

# %% [markdown]
# Each cell gives the target accuracy and, in brackets, the share of target codes in the
# minority class's component (0.10 is per-class alignment, 0.50 the marginal). With AVDA's
# full target loss both discriminators keep every class in its own component on every seed:
# the unlabelled term's $\mathrm{KL}(q_\psi(z\mid x)\Vert p^*(z\mid\tilde y))$ pulls each
# code into its pseudo-label's component with a force of order $1/\sigma^2$, and a smooth
# encoder would have to tear the majority cluster apart across that barrier to match the
# marginals. Per-class alignment comes from the mixture prior as much as from the
# discriminator. With the alignment alone (the unlabelled KL dropped), training is no longer
# reliable for either kind. The $(K+1)$-way kind keeps the classes apart on two seeds and puts
# every target code in one component on seed 0; the binary kind keeps them apart on seed 1
# (98 %), merges the minority into the majority's component on seed 2 and, on seed 0, moves
# part of the majority towards the marginal match (23 % of the codes in the minority's
# component). The optimum of the game is what the $(K+1)$ outputs change; getting there is the
# KL's work.

# %% [markdown]
# ## Training AVDA on digits
#
# **Data.** MNIST {cite}`lecun1998mnist` and USPS {cite}`hull1994usps`, every image resized to
# $32\times32$ and scaled to $[-1, 1]$, the full training sets (CyCADA's protocol
# {cite}`hoffman2018cycada`, not ADDA's subsets). As in chapter 4, the USPS *test* images are
# torchvision's release of the 2,007 test digits, and its 7,291 *training* images come from the
# ESL release of the same scans, read from the book's offline data.
#
# **Networks.** The thesis says only that its networks are "similar" to UNIT's
# {cite}`liu2017unit` for digits. The book's, in `gi_core.nets.unit_digits`:
#
# | network | layers |
# |---|---|
# | encoders $q_\phi$, $q_\psi$ | conv 5×5/2 → 32, conv 5×5/2 → 64, conv 8×8 → 128, conv 1×1 → 256 (each with batch norm and LeakyReLU 0.2), then linear heads for $\mu$ and $\log\sigma^2$ ($J=20$) |
# | decoder $p_\theta$ | transposed conv 4×4 → 256 (4×4), then 4×4/2 → 128, 64, 32 (to 32×32), each with batch norm and LeakyReLU, then conv 1×1 and tanh |
# | classifiers $q(y\mid z)$ | MLP 20 → 500 → 500 → 10 (LeakyReLU) |
# | discriminator $D$ | MLP 20 → 500 → 500 → 11 (or → 1, the binary ablation) |
#
# The prior starts at $\mu_k = 10\,e_k$ with unit variances. Adam with learning rate
# $10^{-3}$ and $\beta=(0.5, 0.5)$, batches of 128 of each set, $\alpha_s=1000$,
# $\alpha_t=10$, $\tau=3$, $\gamma: 1\to0.9$; all as in the thesis. What the thesis does not
# give, the book chooses and states: $\psi$ and $q_\psi(y\mid z)$ start as copies of the
# source's (as ADDA does), a target image is classified by $\arg\max_y q_\psi(y\mid
# \mu_\psi(x))$, and without labels (unsupervised adaptation) the target loss is
# $\mathcal L_t^{\text{unsup}}+\mathcal L_A$.
#
# **Model selection.** The thesis selects on "100 randomly selected samples from the training
# set"; here each run draws 100 labelled target *training* images, disjoint from its shots,
# evaluates on them every 100 steps and reports the target *test* accuracy at the step where
# they were best (the latest among ties), beside the test accuracy of the last step. The test
# labels choose nothing.
#
# The cell trains the chapter's quick run: on the shipped subsets, 60 steps of the source
# model and 40 of adaptation with 5 labels per class. The full profile reads the first stored
# 5-shot MNIST→USPS run from the run cache (or trains it: about 10 minutes on one CPU core).

# %% tags=["nbval-ignore-output"]
if QUICK:
    config = avda.PLANS["quick"][0][0]
else:
    config = next(
        c
        for c, _ in avda.PLANS["mnist_usps_cpu"]
        if c.method == "avda" and c.shots == 5
    )
data = signed_domain_data(config.task, ctx.device, "quick" if QUICK else "full")
run_dir = None if QUICK else RUNS_ROOT / "avda" / config.task
source, adapter, record = avda.trained_run(
    config, 0, data, run_dir, progress=ctx.progress
)
_, source_record = source_model(config, data, run_dir, progress=False)
evaluations = pd.DataFrame(record["evaluations"]).set_index("step")
on_source = source_record["source_test_accuracy"]
on_target = source_record["target_test_accuracy"]
print(f"source model: source test accuracy {on_source:.3f}, "
      f"target test accuracy {on_target:.3f}")
last, chosen = record["test_accuracy_final"], record["test_accuracy_selected"]
print(f"after adaptation: {last:.3f} at the last step, "
      f"{chosen:.3f} at the selected step {record['selected_step']}")

# %% tags=["training-check"]
split = split_target(config, data, 0)
assert record["shot_indices"] == split["shots"].tolist()
assert len(record["shot_indices"]) == 10 * config.shots
assert not set(record["shot_indices"]) & set(record["validation_indices"])
assert record["final_terms"]["gamma"] == np.float32(config.gamma_end)
assert record["test_accuracy_final"] > source_record["target_test_accuracy"] + 0.1
best = evaluations["validation_accuracy"].max()
assert (
    record["selected_step"]
    == evaluations.index[evaluations["validation_accuracy"] == best][-1]
)

# %% [markdown]
# What did the source model learn? Each component's mean, decoded, should be a digit of its
# class; samples from a component should be variations of it.

# %% mystnb={"figure": {"caption": "The learnt mixture prior seen through the source decoder: the decoded mean of each class's component (top row) and three codes drawn from each component (rows below). Means started at 10\u00b7e_k with unit variances.", "name": "fig-avda-components"}, "image": {"alt": "A grid of small grey digit images, ten columns for the classes 0 to 9; the top row shows each component's decoded mean and the three rows below decoded samples from the same component."}} tags=["hide-input"]
with torch.no_grad():
    source.eval()
    means_k, log_vars_k = source.prior_moments()
    draws_k = means_k + torch.exp(0.5 * log_vars_k) * torch.randn(
        3, *means_k.shape, generator=torch.Generator().manual_seed(0)
    ).to(means_k)
    images = source.decoder(
        torch.cat([means_k[None], draws_k]).reshape(-1, means_k.shape[1])
    )
images = images.reshape(4, 10, 32, 32).cpu()
fig, axes = plt.subplots(4, 10, figsize=(8, 3.6))
for (r, c), ax in np.ndenumerate(axes):
    ax.imshow(images[r, c], cmap="gray_r", vmin=-1, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    if r == 0:
        ax.set_title(str(c), fontsize=10)
axes[0, 0].set_ylabel("mean", fontsize=10)
axes[2, 0].set_ylabel("samples", fontsize=10)
fig.tight_layout()

# %% [markdown]
# And the codes: the cell embeds source test codes, target test codes before adaptation (the
# *source* encoder applied to target images) and after it (the target encoder) in one 2-D
# t-SNE map, coloured by the true class.

# %% mystnb={"figure": {"caption": "One t-SNE map of three sets of 20-dimensional codes, coloured by true class: source test images through the source encoder (left), target test images through the same source encoder, before adaptation (middle), and through the adapted target encoder (right). Before adaptation part of the target lands in the wrong class's cluster; after it most target images sit in their own class's cluster.", "name": "fig-avda-latent"}, "image": {"alt": "Three scatter plots of one shared two-dimensional map, points coloured by digit class 0 to 9. Left: ten compact clusters. Middle: the target points overlap the clusters but several colours are mixed into foreign clusters. Right: the target points sit in the cluster of their own colour."}} tags=["hide-input"]
from sklearn.manifold import TSNE

n_codes = 300 if QUICK else 600
pick = torch.Generator().manual_seed(0)
s_idx = torch.randperm(len(data.source_test_y), generator=pick)[:n_codes]
t_idx = torch.randperm(len(data.target_test_y), generator=pick)[:n_codes]
codes = {
    "source": source.code_moments(data.source_test_x[s_idx])[0].cpu(),
    "target, source encoder": source.code_moments(data.target_test_x[t_idx])[
        0
    ].cpu(),
    "target, adapted encoder": adapter.embed(data.target_test_x[t_idx]),
}
code_labels = {
    "source": data.source_test_y[s_idx].cpu(),
    "target, source encoder": data.target_test_y[t_idx].cpu(),
    "target, adapted encoder": data.target_test_y[t_idx].cpu(),
}
flat = torch.cat(list(codes.values())).numpy()
embedded = TSNE(2, perplexity=30, init="pca", random_state=0).fit_transform(flat)
parts = np.split(embedded, np.cumsum([len(c) for c in codes.values()])[:-1])
fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharex=True, sharey=True)
for ax, (name, points) in zip(axes, zip(codes, parts)):
    scatter = ax.scatter(
        points[:, 0],
        points[:, 1],
        c=code_labels[name],
        cmap="tab10",
        s=6,
        vmin=-0.5,
        vmax=9.5,
    )
    ax.set_title(name, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
_ = fig.colorbar(scatter, ax=axes, ticks=range(10), label="class", shrink=0.8)

# %% [markdown]
# ## Beside the thesis: MNIST↔USPS with 0, 1 and 5 labels per class
#
# The stored runs use the networks and hyperparameters above on the full datasets, at this
# book's CPU budget: 1,500 steps of the source model (3.2 epochs of MNIST, 26 of USPS), shared
# by every run of a task, then 600 steps of adaptation per run. Each label budget has ten draws
# of the shots, recorded by index in each run's record; the baselines use the same draws and
# networks: the source model's own classifier (*source only*), the source encoder and
# classifier fine-tuned on the shots alone (*fine-tune*), the same networks trained from
# scratch on the shots (*target only*; 300 steps each, selected like AVDA), and DANN on the
# same encoder with Adam, trained without target labels for as many steps as AVDA's source and
# target phases together (two draws). `python -m gi_core.experiments.avda --plan
# mnist_usps_cpu` (and `usps_mnist_cpu`) reproduces them. Cells are mean ± std over the draws
# (the best draw in brackets) of the test accuracy at the selected step, in %.

# %% tags=["hide-input"]
stored_um = avda.stored("usps_mnist_cpu")
for plan, title in (
    ("mnist_usps_cpu", "MNIST → USPS"),
    ("usps_mnist_cpu", "USPS → MNIST"),
):
    print(title)
    display(avda.accuracy_table(plan))

# %% tags=["training-check"]
for result in (stored_mu, stored_um):
    runs = result["metrics"]["runs"]
    for shots in (1, 5):
        draws = [
            tuple(r["shot_indices"])
            for r in runs
            if r["model"] == f"avda_{shots}shot"
        ]
        assert (
            len(draws) == 10 and len(set(draws)) == 10
        )  # ten different draws by index
        for method in ("fine_tune", "target_only"):
            same = [
                tuple(r["shot_indices"])
                for r in runs
                if r["model"] == f"{method}_{shots}shot"
            ]
            assert same == draws  # the baselines see the same shots
    for r in runs:
        assert not set(r["shot_indices"]) & set(r["validation_indices"])

# %% mystnb={"figure": {"caption": "Target test accuracy against the number of labelled target images per class, mean \u00b1 std over the draws (ten; DANN two, source only one model), for AVDA and the baselines on the same draws, beside AVDA's means in Tables 4.1 and 4.2 of P\u00e9rez Carrasco (2021) (black stars).", "name": "fig-avda-shots"}, "image": {"alt": "Two line plots, MNIST to USPS and USPS to MNIST, accuracy in percent against 0, 1 and 5 labels per class. Lines with error bars for AVDA, fine-tuning and target only; a horizontal line for source only; a point at 0 for DANN; black stars for the thesis."}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
STYLE = {
    "avda": ("C0", "o-"),
    "fine_tune": ("C1", "s--"),
    "target_only": ("C2", "^:"),
    "dann": ("C3", "D"),
    "source_only": ("C7", "-"),
}
for ax, (result, task, title) in zip(
    axes,
    (
        (stored_mu, "mnist_usps", "MNIST → USPS"),
        (stored_um, "usps_mnist", "USPS → MNIST"),
    ),
):
    summary = result["metrics"]["summary"]
    for method, (color, style) in STYLE.items():
        points = [
            (
                k,
                summary[f"{method}_{k}shot"][
                    (
                        "test_accuracy_selected"
                        if method != "source_only"
                        else "test_accuracy_final"
                    )
                ],
            )
            for k in (0, 1, 5)
            if f"{method}_{k}shot" in summary
        ]
        if method == "source_only":
            ax.axhline(
                points[0][1][0], color=color, lw=1, label=avda.TITLES[method]
            )
            continue
        shots, values = zip(*points)
        ax.errorbar(
            shots,
            [v[0] for v in values],
            yerr=[v[1] for v in values],
            fmt=style,
            color=color,
            capsize=3,
            label=avda.TITLES[method],
        )
    thesis = THESIS[task]
    ax.plot(
        [0, 1, 5],
        [thesis[k]["AVDA"] for k in ("0", "1", "5")],
        "k*",
        ms=10,
        label="AVDA, thesis",
    )
    ax.set_xticks([0, 1, 5])
    ax.set_xlabel("labelled target images per class")
    ax.set_title(title, fontsize=11)
axes[0].set_ylabel("target test accuracy (%)")
handles, names = axes[0].get_legend_handles_labels()
fig.legend(handles, names, loc="lower center", ncol=3, fontsize=9)
fig.tight_layout(rect=(0, 0.17, 1, 1))

# %% [markdown]
# AVDA is above every baseline at every label budget on both tasks: with 5 labels per class
# it reaches 93.2 ± 0.7 % on MNIST→USPS, where fine-tuning the source model on the same 50
# images reaches 79.7 ± 4.0 % and the same networks trained on them alone 75.4 ± 2.7 %; on
# USPS→MNIST 97.0 ± 1.3 % against 84.4 ± 1.6 % and 63.9 ± 3.8 %. Without labels it lifts the
# source model from 59.1 % to 88.8 ± 3.5 % (MNIST→USPS) and from 49.2 % to 82.7 ± 1.4 %
# (USPS→MNIST), above DANN on the same encoder (68.8 % and 81.9 %, two draws). What the
# mixture prior buys is largest with the fewest labels: one label per class and the
# unlabelled target give AVDA 92.4 % and 93.4 %, where one label per class alone gives the
# baselines 49–69 %.
#
# None of AVDA's rows reproduces the thesis. The closest is 5-shot USPS→MNIST, 1.6 points
# below 98.59 ± 0.03; 5-shot MNIST→USPS is 5.3 points below 98.5 ± 0.19, and the unsupervised
# rows are 8 and 14 points below. The spread over draws is also larger than the thesis's
# (e.g. ±3.8 against ±0.27 for 1-shot USPS→MNIST, where two draws stay near 87 %); this book
# records its draws by index, so the spread includes which images were labelled.
#
# ### Model selection without the test labels
#
# The table compares, for AVDA's runs, the test accuracy at the step chosen on the 100
# validation images with the accuracy at the last step, and with the best test accuracy over
# the evaluated steps: what choosing on the *test* set would give, shown only to size the
# selection's cost and never used.

# %% tags=["hide-input"]
selection_rows = {}
for result, title in ((stored_mu, "M→U"), (stored_um, "U→M")):
    for shots in (0, 1, 5):
        runs = [
            r
            for r in result["metrics"]["runs"]
            if r["model"] == f"avda_{shots}shot"
        ]
        oracle = [max(e["test_accuracy"] for e in r["evaluations"]) for r in runs]
        selection_rows[f"{title}, {shots}-shot"] = {
            "selected on validation": 100
            * np.mean([r["test_accuracy_selected"] for r in runs]),
            "last step": 100 * np.mean([r["test_accuracy_final"] for r in runs]),
            "best step on the test set (not used)": 100 * np.mean(oracle),
            "validation accuracy": 100
            * np.mean([r["validation_accuracy"] for r in runs]),
            "draws": len(runs),
        }
selection = pd.DataFrame(selection_rows).T
selection["draws"] = selection["draws"].astype(int)
display(selection.round(2))

# %% [markdown]
# Selecting on 100 labelled training images moves the mean by at most 0.6 points from the last
# step's, and costs at most 1.2 points against the step a test-set oracle would pick: the
# choice of step matters little here, and the test labels were not needed for it.
#
# ### How far from the thesis, and why
#
# Two measurements bear on the gap to the thesis. First, how the test accuracy moves over the
# 600 adaptation steps, averaged over the draws:

# %% mystnb={"figure": {"caption": "Target test accuracy during adaptation, mean over the ten draws (shaded: \u00b1 one standard deviation), for 0, 1 and 5 labels per class; step 0 is the source model. The thesis's 5-shot means are marked at the right edge.", "name": "fig-avda-steps"}, "image": {"alt": "Two line plots, MNIST to USPS and USPS to MNIST, accuracy in percent against adaptation step from 0 to 600, three lines with shaded bands for 0, 1 and 5 shots rising from the source model's accuracy; a black star at the right edge marks the thesis's 5-shot mean."}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
curves = {}
for ax, (result, task, title) in zip(
    axes,
    (
        (stored_mu, "mnist_usps", "MNIST → USPS"),
        (stored_um, "usps_mnist", "USPS → MNIST"),
    ),
):
    start_accuracy = next(iter(result["metrics"]["sources"].values()))[
        "target_test_accuracy"
    ]
    for shots, color in zip((0, 1, 5), ("C3", "C1", "C0")):
        runs = [
            r
            for r in result["metrics"]["runs"]
            if r["model"] == f"avda_{shots}shot"
        ]
        steps = [0] + [e["step"] for e in runs[0]["evaluations"]]
        values = 100 * np.array(
            [
                [start_accuracy] + [e["test_accuracy"] for e in r["evaluations"]]
                for r in runs
            ]
        )
        curves[(task, shots)] = values.mean(0)
        ax.plot(steps, values.mean(0), color=color, label=f"{shots}-shot")
        ax.fill_between(
            steps,
            values.mean(0) - values.std(0, ddof=1),
            values.mean(0) + values.std(0, ddof=1),
            color=color,
            alpha=0.2,
        )
    ax.plot(
        [steps[-1]],
        [THESIS[task]["5"]["AVDA"]],
        "k*",
        ms=10,
        label="thesis, 5-shot",
    )
    ax.set_xlabel("adaptation step")
    ax.set_title(title, fontsize=11)
axes[0].set_ylabel("target test accuracy (%)")
axes[1].legend(loc="lower right", fontsize=9)
fig.tight_layout()

# %% [markdown]
# On MNIST→USPS almost all of the gain comes in the first 100 steps; after that the mean is
# flat within a point (1-shot 92.2 % at step 100, 91.9 % at 600), so a longer adaptation is
# not what separates these runs from the thesis. On USPS→MNIST the 5-shot mean still rises,
# from 96.0 % at step 100 to 97.1 % at 600, and part of its 1.6-point gap may be training
# length; the thesis gives neither its number of steps nor its stopping rule.
#
# Second, the USPS substitute. With USPS as the target the adapted-to images (the ESL release)
# and the test images (torchvision's) are two releases of the scans, smoothed differently;
# with MNIST as the target both splits come from one release. The table scores the source
# model and the ten 5-shot AVDA runs on the target training images they saw unlabelled, on the
# test split, and, for USPS, on the ESL release of the same 2,007 test digits (labels read only
# to measure; `--splits` writes these numbers):

# %% tags=["hide-input"]
split_rows = {}
SPLIT_COLUMNS = {
    "target_train_accuracy": "target training images",
    "target_test_accuracy": "target test images",
    "esl_test_accuracy": "the same test digits, ESL release",
}
for plan, title in (
    ("mnist_usps_cpu", "MNIST → USPS"),
    ("usps_mnist_cpu", "USPS → MNIST"),
):
    splits = avda.stored(plan, splits=True)["metrics"]["summary"]
    for label, name in (
        ("source_only_0shot", "source only"),
        ("avda_5shot", "AVDA, 5-shot"),
    ):
        split_rows[f"{title}, {name}"] = {
            column: (
                f"{splits[label][metric][0]:.2f} ± {splits[label][metric][1]:.2f}"
                if metric in splits[label]
                else ""
            )
            for metric, column in SPLIT_COLUMNS.items()
        }
        split_rows[f"{title}, {name}"]["runs"] = splits[label][
            "target_test_accuracy"
        ][2]
display(pd.DataFrame(split_rows).T)

# %% [markdown]
# The release explains much of the MNIST→USPS gap, and none of the USPS→MNIST one. The source
# model classifies 85.7 % of the USPS training images but only 59.1 % of torchvision's test
# images, and 81.6 % of the same test digits in the ESL release. After 5-shot adaptation AVDA
# is at 97.7 ± 0.3 % on the target images it adapted to, 95.0 ± 0.3 % on the ESL test digits
# and 93.3 ± 0.7 % on torchvision's: 1.7 of the 5.3 points are the change of release between
# adaptation and test, which the thesis (with one release) did not have. With MNIST as the
# target, training and test accuracy agree (96.7 % and 97.1 %). On Colab, where torchvision
# downloads USPS's own training file, both splits are one release.
#
# What remains, about 3.5 points on the ESL test digits, is not measured here. The thesis
# states neither its networks' exact layers, nor its source and adaptation lengths, nor how
# a target image is finally classified; each is a choice of this book (stated above).
#
# ### What the categorical KL does
#
# Every stored AVDA run logs the mean entropy of $q_\psi(y\mid z)$ on its last unlabelled
# batch; the ablations below include a run without the term.

# %% tags=["hide-input"]
entropy_rows = {}
for result, title in ((stored_mu, "M→U"), (stored_um, "U→M")):
    for shots in (0, 1, 5):
        runs = [
            r
            for r in result["metrics"]["runs"]
            if r["model"] == f"avda_{shots}shot"
        ]
        entropy_rows[f"{title}, {shots}-shot"] = {
            "prediction entropy (nats)": np.mean(
                [r["final_terms"]["entropy"] for r in runs]
            ),
            "KL(q(y|z) ‖ U) (nats)": np.mean(
                [r["final_terms"]["categorical_kl"] for r in runs]
            ),
        }
display(pd.DataFrame(entropy_rows).T.map(lambda v: f"{v:.2e}"))

# %% [markdown]
# In every run the target classifier ends saturated: the prediction entropy on the last batch
# is below 0.01 nats (the maximum is $\log 10\approx2.30$) and the categorical KL sits at
# $\log 10$. The term's gradient, $-\nabla H$, vanishes at a one-hot prediction, so the one
# term of AVDA that would raise the entropy does nothing measurable here; $\alpha_s$ and
# $\alpha_t$ keep the logits large. Dropping it (the last ablation below) gives 93.7 % on draw
# 0, inside full AVDA's 93.2 ± 0.7 %.
#
# ### Ablations
#
# The thesis's §4.1.3 ablations are on SVHN→MNIST, 5-shot; here they run on MNIST→USPS, 5-shot,
# one draw each (draw 0, this CPU's budget; `--plan ablations_cpu`), beside full AVDA's ten
# draws: a prior fixed at its
# start ($\mu_k=10\,e_k$, unit variances; AVDA_FP), a binary source-versus-target
# discriminator instead of the $(K+1)$-way one (AVDA_ADA), a target decoder, started from the
# source's, whose reconstruction joins the unlabelled term (AVDA_GT), and, for the entropy
# question above, no $\mathrm{KL}(q_\psi(y\mid z)\Vert p(y))$.

# %% tags=["hide-input"]
display(avda.ablation_table())

# %% [markdown]
# One draw per ablation cannot rank them finely, but it can be compared with full AVDA on the
# same draw, 91.7 % (draw 0, at the low end of its ten draws). The fixed prior (93.9 %), the
# binary discriminator (93.5 %) and dropping the categorical KL (93.7 %) are all above it and
# inside the ten draws' range; the thesis too reports that fixed priors suffice on MNIST↔USPS
# and matter on SVHN→MNIST, where its ablations were run. The target decoder gives the lowest
# number (91.1 %), 0.6 points below the same draw, the direction of the thesis's AVDA_GT.
#
# ## What this chapter does not run
#
# * **SVHN→MNIST.** The book's offline data has no SVHN, so the thesis's third task, and its
#   ablations, are not run here. `python -m gi_core.experiments.avda --plan svhn_mnist` (and
#   `--plan ablations`) runs them where torchvision can download SVHN; MNIST's grey channel is
#   then repeated three times.
# * **Galaxies (CANDELS→CLASH).** The thesis's galaxy images and expert labels sit behind a
#   shared-drive link and are not obtainable offline; the chapter has no galaxy numbers.
# * **The thesis's scale.** The GPU plans (`--plan mnist_usps`, `usps_mnist`) train 10,000
#   source and 10,000 adaptation steps per run; they were not run for this book.
#
# ## Typos corrected on this page
#
# * Eq. 2.2: the cross-entropy lacks its minus sign.
# * Eq. 2.9: $\sigma$ where $\sigma^2$ is meant in the KL to $\mathcal N(0, I)$.
# * Eq. 3.11: $z=\mu+\sigma^2\odot\varepsilon$ for $z=\mu+\sigma\odot\varepsilon$.
# * App. B, last line: $\mathrm{KL}(q(y)\Vert p(y))$ for $\mathrm{KL}(q(y\mid z)\Vert p(y))$;
#   and App. B's split is exact only where $q(y\mid z)$ is constant over $q(z\mid x)$.
# * §3.3: "$q_\psi(z^s)=q_\phi(z^t)$", indices swapped, for $q_\psi(z^t)=q_\phi(z^s)$.
# * "Jiang et al." for the Gumbel-softmax, which is {cite:t}`jang2017gumbel`.
#
# ## Summary
#
# * AVDA's source objective is the KL to the true class's component (closed form 3.10, checked
#   against `torch.distributions` and Monte Carlo), the reconstruction and $\alpha_s$ times the
#   cross-entropy; $\alpha_s=1000$ balances the terms when the reconstruction is *summed* over
#   pixels.
# * The target's joint KL splits into a categorical and a Gaussian term; App. B's closed-form
#   version is exact only where $q(y\mid z)$ is constant over the code's posterior, and with a
#   uniform $p(y)$ the categorical term *raises* the prediction entropy. In the trained runs the
#   classifier is saturated and the term does nothing measurable.
# * At the optimum the $(K+1)$-way discriminator rewards class-by-class alignment and the binary
#   one marginal alignment; in training, the mixture prior's KL keeps the classes apart with
#   either discriminator on the toy.
# * On MNIST↔USPS, ten draws of the shots each, AVDA is above source only, fine-tuning, target
#   only and DANN at every label budget, but below Tables 4.1 and 4.2: 1.6 points for 5-shot
#   USPS→MNIST, 5.3 for 5-shot MNIST→USPS, of which 1.7 are the two USPS releases.
