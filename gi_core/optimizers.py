"""The optimizers of a run: one :class:`OptimizerSpec` per minimised term, built over that term's parameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from gi_core.trainer import TrainableModel, check_trainable
from gi_core.validation import check_choice, check_real

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer of a run: ``kind`` ``"adam"`` (``betas``; ``fused`` or ``foreach`` implementation) or ``"sgd"``
    (``momentum``), at rate ``lr``.

    Only settings that differ from PyTorch's defaults are passed to the optimizer.
    """

    kind: str = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.0
    fused: bool = False
    foreach: bool = False

    def __post_init__(self) -> None:
        check_choice(self.kind, OPTIMIZERS, "optimizer kind")
        check_real(self.lr, "lr", minimum=0.0, strict=True)
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {self.betas!r}")
        for i, beta in enumerate(self.betas):
            check_real(beta, f"betas[{i}]", minimum=0.0)
            if beta >= 1.0:
                raise ValueError(f"betas[{i}] must be below 1, got {beta}")
        check_real(self.momentum, "momentum", minimum=0.0)
        if self.kind == "sgd" and (self.fused or self.foreach or self.betas != (0.9, 0.999)):
            raise ValueError("SGD takes no betas and no implementation choice here; set them for kind='adam' only")
        if self.fused and self.foreach:
            raise ValueError("choose one Adam implementation: fused or foreach")
        if self.kind == "adam" and self.momentum:
            raise ValueError("Adam takes betas, not momentum; set momentum for kind='sgd' only")

    def build(self, params: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
        """The optimizer over ``params``."""
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence) or not params:
            raise ValueError(f"params must be a non-empty sequence of parameters, got {params!r}")
        if bad := [type(p).__name__ for p in params if not isinstance(p, nn.Parameter)]:
            raise TypeError(f"params must hold nn.Parameter objects, got {bad[0]}")
        if self.kind == "sgd":
            return torch.optim.SGD(params, lr=self.lr, momentum=self.momentum)
        options = {"betas": tuple(self.betas)} if tuple(self.betas) != (0.9, 0.999) else {}
        if self.fused:
            options["fused"] = True
        if self.foreach:
            options["foreach"] = True
        return torch.optim.Adam(params, lr=self.lr, **options)


def make_optimizers(model: TrainableModel, spec: OptimizerSpec | Mapping[str, OptimizerSpec]) -> dict[str, torch.optim.Optimizer]:
    """One optimizer per term of ``model.parameters_by_loss()``: ``spec`` for all of them, or ``spec[term]`` for each."""
    check_trainable(model, "model")
    if not isinstance(spec, (OptimizerSpec, Mapping)) or (isinstance(spec, Mapping) and not all(
            isinstance(v, OptimizerSpec) for v in spec.values())):
        raise TypeError(f"spec must be an OptimizerSpec or a mapping from terms to them, got {type(spec).__name__}")
    groups = model.parameters_by_loss()
    specs = {term: spec for term in groups} if isinstance(spec, OptimizerSpec) else dict(spec)
    if set(specs) != set(groups):
        raise ValueError(f"optimizer specs are given for {sorted(specs)}, but the model trains the terms {sorted(groups)}")
    return {term: specs[term].build(params) for term, params in groups.items()}
