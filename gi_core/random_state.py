"""A run's own random generators: what the model draws from while it trains, independent of the rest of the process.

Models draw their noise with ``torch.randn_like``, dropout and friends, which read torch's default generators. A
:class:`RunGenerators` keeps a run's own copy of those generators' states and swaps it in only while the run trains
(:meth:`RunGenerators.active`), so two runs built side by side, or a ``torch.randn`` between two ``fit`` calls, do
not change each other's numbers, and a checkpoint that stores :meth:`RunGenerators.state` resumes the same draws.
Seeded with ``seed``, the states are those ``torch.manual_seed(seed)`` would give, so a run started in a fresh
process draws exactly what it drew when the trainer seeded the default generators.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from gi_core.validation import check_device, check_non_negative_int


class RunGenerators:
    """The CPU (and, on a CUDA device, that device's) generator states of one run, seeded with ``seed``."""

    def __init__(self, seed: int, device: torch.device | str = "cpu") -> None:
        check_non_negative_int(seed, "seed")
        self.device = check_device(device, "device")
        self._states = {"torch": torch.Generator().manual_seed(seed).get_state()}
        if self.device.type == "cuda":
            with torch.random.fork_rng(devices=[self.device]), torch.cuda.device(self.device):
                torch.cuda.manual_seed(seed)
                self._states["cuda"] = torch.cuda.get_rng_state(self.device)
        self._active = False

    def _devices(self) -> list[torch.device]:
        return [self.device] if self.device.type == "cuda" else []

    @contextmanager
    def active(self) -> Iterator[None]:
        """Run the block on this run's states, keep where the run got to, and give the process its own states back.

        Re-entering while active is a no-op.
        """
        if self._active:
            yield
            return
        with torch.random.fork_rng(devices=self._devices()):
            self._install()
            self._active = True
            try:
                yield
            finally:
                self._states = self.state()
                self._active = False

    def _install(self) -> None:
        torch.set_rng_state(self._states["torch"])
        if "cuda" in self._states:
            torch.cuda.set_rng_state(self._states["cuda"], self.device)

    def state(self) -> dict[str, Tensor]:
        """The states now: ``{"torch": ...}`` and, on CUDA, ``"cuda"`` (ByteTensors, for a checkpoint)."""
        if not self._active:
            return dict(self._states)
        state = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def load(self, state: dict[str, Tensor]) -> None:
        """Continue from ``state`` (a :meth:`state` of this or an earlier process); a CPU-only state keeps this run's
        current CUDA state."""
        for key, value in state.items():
            if key not in ("torch", "cuda") or not isinstance(value, Tensor) or value.dtype != torch.uint8:
                raise ValueError(f"state: expected ByteTensors under 'torch' (and 'cuda'), got {key!r}")
        if "torch" not in state:
            raise ValueError("state: the CPU generator state 'torch' is missing")
        self._states = {**self._states, **{k: v for k, v in state.items() if k == "torch" or "cuda" in self._states}}
        if self._active:
            self._install()
