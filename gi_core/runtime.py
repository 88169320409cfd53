"""Run profiles, devices and seeding.

One environment variable, ``GI_PROFILE``, selects the profile:

* ``quick`` (default): CPU-sized runs on the small real subsets shipped with the package;
  this is what CI and ``pytest --nbval`` execute.
* ``full``: paper-scale runs on the complete datasets, meant for a GPU.
"""

from __future__ import annotations

import os
import platform
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gi_core.validation import check_choice, check_non_negative_int

PROFILE_ENV = "GI_PROFILE"
PROFILES = ("quick", "full")


@dataclass(frozen=True)
class RunContext:
    """The profile and device a notebook or script runs with."""

    profile: str
    device: torch.device

    def __post_init__(self) -> None:
        check_choice(self.profile, PROFILES, "profile")
        if not isinstance(self.device, torch.device):
            raise TypeError(f"device must be a torch.device, got {type(self.device).__name__}")

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    @property
    def progress(self) -> bool:
        """Whether training loops show progress bars: in the full profile, whose runs take minutes to hours.

        Quick runs take seconds, and leave no bar behind in the notebooks' stored outputs.
        """
        return not self.quick

    def pick(self, quick: object, full: object) -> object:
        """Return ``quick`` in the quick profile and ``full`` in the full profile."""
        return quick if self.quick else full

    def describe(self) -> str:
        return f"profile={self.profile} device={self.device.type}"


def current_profile() -> str:
    """The profile named by ``GI_PROFILE`` (default ``quick``)."""
    value = os.environ.get(PROFILE_ENV, "quick").strip().lower()
    if value not in PROFILES:
        raise ValueError(f"{PROFILE_ENV} must be one of {PROFILES}, got {value!r}")
    return value


def default_device() -> torch.device:
    """CUDA when available, else Apple MPS, else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo`` where there is one, else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """A human-readable name of the device, for provenance records."""
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be a torch.device, got {type(device).__name__}")
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    if device.type == "cpu":
        return f"cpu:{cpu_model()} x{torch.get_num_threads()} threads"
    return device.type


def run_context(verbose: bool = True) -> RunContext:
    """Read the profile, choose the device and (by default) print both."""
    ctx = RunContext(profile=current_profile(), device=default_device())
    if verbose:
        print(ctx.describe())
    return ctx


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices) and return a CPU generator seeded with ``seed``.

    CPU runs are then bitwise deterministic; CUDA runs are reproducible up to
    non-deterministic kernels (see ``torch.use_deterministic_algorithms``).
    """
    seed = check_non_negative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)

