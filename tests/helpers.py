"""Constants and small helpers shared by the test modules (imported, not collected)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import torch
from torch import nn
from torch.distributions import Independent, Normal

from gi_core.trainer import parameter_groups

F64 = torch.float64
N_SE = 5.0
"""Monte Carlo tolerance, in standard errors."""
REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
"""The complete datasets, where this checkout has them (``../shared/data``)."""


def load_data_script(name: str) -> ModuleType:
    """The module ``data_scripts/<name>.py`` (the scripts are not a package), freshly executed."""
    spec = importlib.util.spec_from_file_location(name, REPO / "data_scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gen(seed: int = 0) -> torch.Generator:
    """A CPU generator seeded with ``seed``."""
    return torch.Generator().manual_seed(seed)


def randn(*shape: int, seed: int = 0) -> torch.Tensor:
    """Standard-normal float64 draws of ``shape`` from :func:`gen` ``(seed)``."""
    return torch.randn(*shape, generator=gen(seed), dtype=F64)


def t(*values: float) -> torch.Tensor:
    """A float64 vector of ``values``."""
    return torch.tensor(values, dtype=F64)


def diag_normal(mean: torch.Tensor, log_var: torch.Tensor) -> Independent:
    """The diagonal Gaussian of ``mean`` and ``log_var`` as a torch distribution (the reference implementation)."""
    return Independent(Normal(mean, torch.exp(0.5 * log_var)), 1)


class TwoTermModel(nn.Module):
    """A generator and a critic, each trained by its own term (``loss``, ``critic_loss``)."""

    def __init__(self):
        super().__init__()
        self.generator, self.critic = nn.Linear(2, 2), nn.Linear(2, 1)

    def training_loss(self, x):
        return {"loss": self.critic(self.generator(x)).mean(), "critic_loss": -self.critic(x).mean()}

    def parameters_by_loss(self):
        return parameter_groups(loss=[self.generator], critic_loss=[self.critic])


def random_cluster_model(seed: int, vade: bool = False, sizes: tuple[int, int, int] = (5, 4, 3)):
    """A random three-variable model of ``sizes`` (X, Z, K), every entry at least 0.05 before normalising; with ``vade``
    the decoder table ignores y (VaDE's p(x|z,y) = p(x|z))."""
    from gi_core.maths.cluster_models import DiscreteClusterModel

    x, z, k = sizes
    g = torch.Generator().manual_seed(seed)

    def table(*shape: int) -> torch.Tensor:
        t = torch.rand(*shape, generator=g, dtype=torch.float64) + 0.05
        return t / t.sum(-1, keepdim=True)

    p_x = table(z, 1, x).expand(z, k, x).contiguous() if vade else table(z, k, x)
    return DiscreteClusterModel(table(x), table(x, z), table(z, k), table(k), table(k, z), p_x)
