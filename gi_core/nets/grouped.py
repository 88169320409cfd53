r"""Grouped layers: S independent copies of a linear layer or an MLP evaluated as one batched matrix product.

A table of the book is many small runs of one architecture. :class:`GroupedLinear` holds the weights of ``groups``
linear layers stacked along a leading axis and maps inputs of shape ``(groups, batch, in)`` with one batched
matrix product (``torch.bmm``): copy :math:`s` computes :math:`y_s = x_s W_s^\top + b_s`, what ``nn.Linear`` with
:math:`(W_s, b_s)` computes (bitwise at ``groups=1``, to float rounding otherwise). Copies share no parameter,
so the gradient of a sum of per-copy losses is, copy by copy, the gradient each copy would get alone, and an
element-wise optimizer (Adam) on the stacked tensors updates each copy as its own optimizer would.

:func:`stack_linears` builds a group from existing ``nn.Linear`` layers (the sequential twins of a multi-run test),
and :meth:`GroupedLinear.unstack` gives them back. :class:`GroupedMLPEncoder` and :class:`GroupedMLPDecoder` are the
grouped twins of the MLP encoder and decoder: their module trees mirror the plain ones, so :func:`run_slice` finds
the slice of every state entry (and of every optimizer state) that belongs to one copy under the plain twin's name,
which is how :class:`gi_core.multi_run.MultiRunTrainer` writes each run's checkpoint as a plain state dict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from gi_core.maths.gaussians import soft_clamp_log_var
from gi_core.validation import check_instance, check_non_negative_int, check_positive_int, check_sizes, check_tensor


class GroupedLinear(nn.Module):
    """``groups`` independent linear maps ``in_features -> out_features``, applied to ``(groups, batch, in)``.

    ``weight`` has shape ``(groups, in, out)``: slice ``s`` is the transpose of the ``nn.Linear.weight`` it stands
    for, stored contiguously, which is the layout batched GEMM runs fastest on (1.5x the other layout for the
    benchmark MLP on 2 CPU cores). ``bias`` has shape ``(groups, out)``. Each slice is initialised as ``nn.Linear``
    initialises its own weights.
    """

    def __init__(self, groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.groups = check_positive_int(groups, "groups")
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.weight = nn.Parameter(torch.empty(groups, in_features, out_features))
        self.bias = nn.Parameter(torch.empty(groups, out_features))
        with torch.no_grad():
            for s in range(groups):
                layer = nn.Linear(in_features, out_features)
                self.weight[s].copy_(layer.weight.t())
                self.bias[s].copy_(layer.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_tensor(x, "x", ndim=3, finite=False)  # a NaN reaches the loss, where the trainer's guard names it
        if x.shape[0] != self.groups or x.shape[2] != self.in_features:
            raise ValueError(f"x must have shape (groups={self.groups}, batch, in_features={self.in_features}), "
                             f"got {tuple(x.shape)}")
        if x.dtype != self.weight.dtype and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(f"x has dtype {x.dtype} but the layer's weights are {self.weight.dtype}")
        if self.groups == 1:  # the GEMM nn.Linear runs (bias added inside it): bitwise its twin
            # Views, not indexing: backward through a view reshapes the gradient instead of scattering it.
            weight = self.weight.view(self.in_features, self.out_features)
            return torch.addmm(self.bias.view(-1), x.reshape(x.shape[1], -1), weight).unsqueeze(0)
        # One batched GEMM, then the bias: in a raw training loop of the benchmark VAE at S=8 on 2 CPU cores, 1.35x
        # faster than baddbmm (bias inside the GEMM), which is not bitwise at S>1 either.
        return torch.bmm(x, self.weight) + self.bias.unsqueeze(1)

    def unstack(self) -> list[nn.Linear]:
        """The ``groups`` copies as separate ``nn.Linear`` layers holding copies of their weights."""
        layers = []
        for s in range(self.groups):
            layer = nn.Linear(self.in_features, self.out_features, device=self.weight.device, dtype=self.weight.dtype)
            with torch.no_grad():
                layer.weight.copy_(self.weight[s].t())
                layer.bias.copy_(self.bias[s])
            layers.append(layer)
        return layers


def stack_linears(layers: Sequence[nn.Linear]) -> GroupedLinear:
    """One :class:`GroupedLinear` whose slice ``s`` holds a copy of ``layers[s]``'s weight and bias."""
    layers = list(layers)
    if not layers or not all(isinstance(layer, nn.Linear) for layer in layers):
        raise TypeError("layers must be a non-empty sequence of nn.Linear")
    shapes = {(layer.in_features, layer.out_features, layer.bias is not None) for layer in layers}
    if len(shapes) != 1:
        raise ValueError(f"the layers must share in_features, out_features and a bias, got {sorted(shapes)}")
    (in_features, out_features, has_bias), = shapes
    if not has_bias:
        raise ValueError("the layers must have a bias")
    # The fresh group's own initialisation is overwritten: draw it from a forked generator, so that stacking
    # layers leaves torch's global random state where it was.
    with torch.random.fork_rng(devices=[]):
        group = GroupedLinear(len(layers), in_features, out_features).to(layers[0].weight)
    with torch.no_grad():
        group.weight.copy_(torch.stack([layer.weight.t() for layer in layers]))
        group.bias.copy_(torch.stack([layer.bias for layer in layers]))
    return group


def grouped_mlp(groups: int, sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """``groups`` copies of ``gi_core.nets.encoders.mlp(sizes, activation)`` as grouped layers."""
    groups = check_positive_int(groups, "groups")
    if len(check_sizes(sizes, "sizes")) < 2:
        raise ValueError(f"sizes must list at least the input and the output width, got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(GroupedLinear(groups, a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def stack_mlps(mlps: Sequence[nn.Sequential]) -> nn.Sequential:
    """One grouped MLP from MLPs of one architecture: linear layers stacked, activations kept (from the first)."""
    mlps = list(mlps)
    if not mlps or not all(isinstance(m, nn.Sequential) for m in mlps):
        raise TypeError("mlps must be a non-empty sequence of nn.Sequential")
    kinds = {tuple(type(layer) for layer in m) for m in mlps}
    if len(kinds) != 1:
        raise ValueError("the MLPs must have the same layers in the same order")
    layers: list[nn.Module] = []
    for position, layer in enumerate(mlps[0]):
        if isinstance(layer, nn.Linear):
            layers.append(stack_linears([m[position] for m in mlps]))
        elif any(True for _ in layer.parameters()):
            raise ValueError(f"layer {position} ({type(layer).__name__}) has parameters and cannot be grouped")
        else:
            layers.append(layer)
    return nn.Sequential(*layers)


def run_slice(module: nn.Module, name: str, tensor: Tensor, run: int) -> Tensor:
    """The view of ``tensor`` (shaped like ``module``'s state entry ``name``) that belongs to copy ``run``, in the layout
    of the plain twin's entry: transposed for a :class:`GroupedLinear` weight, the ``run``-th slice otherwise.

    Writing into the view writes into ``tensor``; applied to optimizer states shaped like the parameter, it slices
    them the same way.
    """
    check_instance(module, nn.Module, "module")
    owner, _, leaf = name.rpartition(".") if isinstance(name, str) else ("", "", "")
    try:  # the entry, from the state of the module that holds it (not the whole model's state at every call)
        holder = module.get_submodule(owner)
    except AttributeError:
        holder = None
    entry = holder.state_dict(keep_vars=True).get(leaf) if holder is not None and leaf else None
    if entry is None:
        raise ValueError(f"name: the module has no state entry {name!r}")
    check_tensor(tensor, "tensor", finite=False)
    if tensor.shape != entry.shape:
        raise ValueError(f"tensor must have the shape {tuple(entry.shape)} of {name!r}, got {tuple(tensor.shape)}")
    if not 0 <= check_non_negative_int(run, "run") < tensor.shape[0]:
        raise ValueError(f"run must be below the number of copies {tensor.shape[0]}, got {run}")
    if isinstance(holder, GroupedLinear) and leaf == "weight":
        return tensor[run].t()
    return tensor[run]


def _check_dtype(x: Tensor, name: str, module: nn.Module) -> None:
    weight = next(module.parameters())
    if x.dtype != weight.dtype and not torch.is_autocast_enabled(x.device.type):
        raise TypeError(f"{name} has dtype {x.dtype} but the network's weights are {weight.dtype}")


class GroupedMLPEncoder(nn.Module):
    """``groups`` copies of :class:`~gi_core.nets.encoders.MLPEncoder` on inputs ``(groups, B, *input_shape)``.

    Its module tree mirrors the plain encoder's (``body``, ``head.mean``, ``head.log_var``), so a state entry of copy
    ``s`` has the name of the plain entry it stands for (:func:`run_slice`).
    """

    def __init__(self, groups: int, input_shape: Sequence[int], latent_dim: int, hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        self.groups = check_positive_int(groups, "groups")
        self.input_shape = check_sizes(input_shape, "input_shape")
        check_positive_int(latent_dim, "latent_dim")
        hidden = check_sizes(hidden, "hidden")
        self.body = nn.Sequential(nn.Flatten(2), grouped_mlp(groups, [math.prod(self.input_shape), *hidden]), nn.ReLU())
        self.head = nn.Module()
        self.head.mean = GroupedLinear(groups, hidden[-1], latent_dim)
        self.head.log_var = GroupedLinear(groups, hidden[-1], latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Means and bounded log-variances ``(groups, B, latent_dim)``."""
        check_tensor(x, "x", ndim=2 + len(self.input_shape), finite=False)
        _check_dtype(x, "x", self)
        if x.shape[0] != self.groups or tuple(x.shape[2:]) != self.input_shape:
            raise ValueError(f"x must have shape (groups={self.groups}, B, {', '.join(map(str, self.input_shape))}), "
                             f"got {tuple(x.shape)}")
        h = self.body(x)
        return self.head.mean(h), soft_clamp_log_var(self.head.log_var(h))


class GroupedMLPDecoder(nn.Module):
    """``groups`` copies of :class:`~gi_core.nets.encoders.MLPDecoder`: ``(groups, B, latent_dim)`` to
    ``(groups, B, *output_shape)``; its ``net`` mirrors the plain decoder's."""

    def __init__(self, groups: int, latent_dim: int, output_shape: Sequence[int], hidden: Sequence[int] = (256, 512)) -> None:
        super().__init__()
        self.groups = check_positive_int(groups, "groups")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.output_shape = check_sizes(output_shape, "output_shape")
        self.net = grouped_mlp(groups, [latent_dim, *check_sizes(hidden, "hidden"), math.prod(self.output_shape)])

    def forward(self, z: Tensor) -> Tensor:
        check_tensor(z, "z", ndim=3, finite=False)
        _check_dtype(z, "z", self)
        if z.shape[0] != self.groups or z.shape[2] != self.latent_dim:
            raise ValueError(f"z must have shape (groups={self.groups}, B, latent_dim={self.latent_dim}), got {tuple(z.shape)}")
        return self.net(z).unflatten(-1, self.output_shape)
