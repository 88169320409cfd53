"""Random exact GI models (hypothesis strategies) and independent references shared by the maths tests (not collected)."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gi_core.maths.exact_models import DiscreteGIModel, GaussianGIModel
from gi_core.maths.joint_kl import REVERSE_KL_TERM_NAMES
from tests.helpers import F64

LOGITS = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
ENTRIES = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)


def softmax_rows(logits: np.ndarray) -> torch.Tensor:
    return torch.softmax(torch.from_numpy(logits), dim=-1)


@st.composite
def discrete_models(draw: st.DrawFn) -> DiscreteGIModel:
    """Strictly positive tables of sizes 2-5, softmaxes of logits in [-3, 3]."""
    nx, nz = draw(st.integers(2, 5)), draw(st.integers(2, 5))
    shapes = [(nx,), (nx, nz), (nz,), (nz, nx)]
    return DiscreteGIModel(*(softmax_rows(draw(arrays(np.float64, s, elements=LOGITS))) for s in shapes))


@st.composite
def gaussian_models(draw: st.DrawFn) -> GaussianGIModel:
    """D in 1-4, J in 1-3, entries in [-1, 1], SPD covariances L L^T + 0.1 I."""
    d, j = draw(st.integers(1, 4)), draw(st.integers(1, 3))

    def array(*shape: int) -> torch.Tensor:
        return torch.from_numpy(draw(arrays(np.float64, shape, elements=ENTRIES)))

    def spd(n: int) -> torch.Tensor:
        root = array(n, n)
        return root @ root.T + 0.1 * torch.eye(n, dtype=F64)

    p_side = (array(j), spd(j), array(d, j), array(d), spd(d))
    return GaussianGIModel(*p_side, array(d), spd(d), array(j, d), array(j), spd(j))


def brute_force_reverse_terms(qx: np.ndarray, qzx: np.ndarray, pz: np.ndarray, pxz: np.ndarray) -> dict[str, float]:
    """The nine reverse terms of strictly positive tables, by explicit loops and Bayes' rule."""
    nx, nz = qzx.shape
    qj = np.array([[qx[x] * qzx[x, z] for z in range(nz)] for x in range(nx)])
    pj = np.array([[pz[z] * pxz[z, x] for z in range(nz)] for x in range(nx)])
    qz, px = qj.sum(0), pj.sum(1)
    post = pj / px[:, None]  # p(z|x)
    out = dict.fromkeys(REVERSE_KL_TERM_NAMES, 0.0)
    out["D_KL(q(x)||p(x))"] = sum(qx[x] * math.log(qx[x] / px[x]) for x in range(nx))
    out["-h_q(x)"] = sum(qx[x] * math.log(qx[x]) for x in range(nx))
    out["D_KL(q(z)||p(z))"] = sum(qz[z] * math.log(qz[z] / pz[z]) for z in range(nz))
    out["-E_q(z)[log p(z)]"] = -sum(qz[z] * math.log(pz[z]) for z in range(nz))
    for x in range(nx):
        for z in range(nz):
            w = qj[x, z]
            out["E_q(x)[D_KL(q(z|x)||p(z|x))]"] += w * math.log(qzx[x, z] / post[x, z])
            out["E_q[-log p(x|z)]"] -= w * math.log(pxz[z, x])
            out["E_q(x)[D_KL(q(z|x)||p(z))]"] += w * math.log(qzx[x, z] / pz[z])
            out["-h_q(z|x)"] += w * math.log(qzx[x, z])
            out["I_q(x,z)"] += w * math.log(qj[x, z] / (qx[x] * qz[z]))
    return out


def numpy_cross_entropy(m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray) -> float:
    """E_{N(m1,s1)}[-log N(m2,s2)] by the textbook formula with explicit inverses."""
    inv = np.linalg.inv(s2)
    diff = m1 - m2
    _, logdet = np.linalg.slogdet(2 * np.pi * s2)
    return 0.5 * (logdet + np.trace(inv @ s1) + diff @ inv @ diff)
