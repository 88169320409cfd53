r"""MPCC's networks (Astorga 2021, Ch. 8, Tables 8.1–8.3): a class-conditional generator and a discriminator and
encoder that share their first residual blocks.

Built from the BigGAN-style blocks of :mod:`gi_core.nets.resnets` (Fig. 6.1: :class:`~gi_core.nets.resnets.GeneratorBlock`
with its conditional batch norms, :class:`~gi_core.nets.resnets.DiscriminatorBlock`). Every ``Conv2d`` and ``Linear``
weight is drawn from :math:`\mathcal N(0,0.02^2)` (biases zero) and spectrally normalised with
:func:`torch.nn.utils.parametrizations.spectral_norm`, except the class tables: method 2's shared ``Embedding``
:math:`\mathrm{Embed}(y)` and method 3's per-layer class embeddings are drawn from the same normal and not
normalised, as in BigGAN. Images are ``(channels, height, width)`` with both sides
divisible by 16 (32×32 in the thesis).

The class :math:`y` reaches the generator in one of two ways (§8, "latent-injection methods"):

* ``"class_embeddings"`` (method 3; MNIST, Omniglot): :math:`z` enters only the input layer; every conditional batch
  norm has its own class embeddings, a gain :math:`1+E^{g}_\ell[y]` and a bias :math:`E^{b}_\ell[y]`. They are the
  blocks' bias-free linear maps applied to the one-hot :math:`y` (a linear map of a one-hot vector *is* a table
  lookup) and, as BigGAN's unshared embeddings, they are not spectrally normalised: a spectral norm would divide
  every class's row by one norm of the whole table, so that moving one class's embedding would rescale the others;
* ``"latent_and_embedding"`` (method 2, hierarchical without split; Fashion-MNIST): every block's batch norms read
  :math:`[z, \mathrm{Embed}(y)]` (the full :math:`z`, not a chunk of it), with :math:`\mathrm{Embed}(y)\in\mathbb R^J`
  shared by all blocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gi_core.maths.gaussians import soft_clamp_log_var
from gi_core.nets.resnets import DiscriminatorBlock, GeneratorBlock
from gi_core.validation import check_batch, check_choice, check_labels, check_module, check_positive_int, check_sizes

INJECTIONS = ("class_embeddings", "latent_and_embedding")
"""How the class reaches the generator: Astorga's (2021) method 3 and method 2 (see the module docstring)."""
INIT_STD = 0.02


def _initialise_and_normalise(module: nn.Module, tables: Sequence[nn.Module] = ()) -> nn.Module:
    r"""Draw every weight of ``module``'s ``Conv2d``, ``Linear`` and ``Embedding`` layers from :math:`\mathcal N(0,0.02^2)`,
    zero their biases, and spectrally normalise the convolutions and linear maps except those in ``tables`` (class
    embeddings written as linear maps of one-hot vectors); return ``module``."""
    check_module(module, "module")
    if isinstance(tables, (str, bytes)) or not isinstance(tables, Sequence) \
            or not all(isinstance(t, nn.Module) for t in tables):
        raise TypeError(f"tables must be a sequence of modules, got {type(tables).__name__}")
    unnormalised = {id(t) for t in tables}
    for layer in list(module.modules()):
        if isinstance(layer, (nn.Conv2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(layer.weight, 0.0, INIT_STD)
            if getattr(layer, "bias", None) is not None:
                nn.init.zeros_(layer.bias)
            if not isinstance(layer, nn.Embedding) and id(layer) not in unnormalised:
                spectral_norm(layer)
    return module


def _check_image_shape(shape: Sequence[int], name: str) -> tuple[int, int, int]:
    """``shape`` as ``(channels, height, width)`` with positive sizes and sides divisible by 16, or raise."""
    dims = check_sizes(shape, name)
    if len(dims) != 3 or dims[1] % 16 or dims[2] % 16:
        raise ValueError(f"{name} must be (channels, height, width) with sides divisible by 16, got {dims}")
    return dims[0], dims[1], dims[2]


class ClassConditionalGenerator(nn.Module):
    r"""Table 8.1: :math:`\tilde x = G(z, y)`: Linear :math:`J\to 4C\times\frac H8\times\frac W8`, three up blocks
    :math:`4C\to4C` with batch norms conditioned on the class, then BN, ReLU, 3×3 conv :math:`4C\to D`, Tanh.

    ``forward(z, y)`` maps codes ``(B, J)`` and classes ``(B,)`` in ``0..num_classes-1`` to images ``(B, D, H, W)`` in
    :math:`(-1, 1)` (the Tanh is inside, unlike :class:`~gi_core.nets.resnets.ResNetGenerator`). ``channels`` is the
    thesis's C (12 for MNIST, 24 for Fashion-MNIST); ``injection`` one of :data:`INJECTIONS`. The output batch norm
    is a plain one (not conditional), as in BigGAN.
    """

    def __init__(self, num_classes: int, latent_dim: int, output_shape: Sequence[int] = (1, 32, 32),
                 channels: int = 12, injection: str = "class_embeddings") -> None:
        super().__init__()
        self.num_classes = check_positive_int(num_classes, "num_classes", minimum=2)
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        self.output_shape = _check_image_shape(output_shape, "output_shape")
        check_choice(injection, INJECTIONS, "injection")
        self.injection = injection
        width = 4 * check_positive_int(channels, "channels")
        d, h, w = self.output_shape
        self.start = (width, h // 8, w // 8)
        self.linear = nn.Linear(latent_dim, width * (h // 8) * (w // 8))
        if injection == "latent_and_embedding":
            self.embedding = nn.Embedding(num_classes, latent_dim)
        condition = num_classes if injection == "class_embeddings" else 2 * latent_dim
        self.blocks = nn.ModuleList(GeneratorBlock(width, width, condition) for _ in range(3))
        self.out = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, d, 3, padding=1), nn.Tanh())
        norms = [norm for block in self.blocks for norm in (block.bn1, block.bn2)]
        tables = [table for norm in norms for table in (norm.gain, norm.bias)] if injection == "class_embeddings" else []
        _initialise_and_normalise(self, tables)

    def condition(self, z: Tensor, y: Tensor) -> Tensor:
        r"""What the blocks' batch norms read: one-hot :math:`y` ``(B, K)`` (method 3) or :math:`[z,\mathrm{Embed}(y)]`
        ``(B, 2J)`` (method 2)."""
        check_batch(z, "z", (self.latent_dim,), like=self, finite=False)
        check_labels(y, z.shape[0], "y")
        if z.shape[0] and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
            raise ValueError(f"y must hold classes in 0..{self.num_classes - 1}, got {int(y.min())}..{int(y.max())}")
        if self.injection == "class_embeddings":
            return F.one_hot(y, self.num_classes).to(z.dtype)
        return torch.cat([z, self.embedding(y)], dim=1)

    def forward(self, z: Tensor, y: Tensor) -> Tensor:
        condition = self.condition(z, y)
        h = self.linear(z).unflatten(-1, self.start)
        for block in self.blocks:
            h = block(h, condition)
        return self.out(h)


class SharedDiscriminatorEncoder(nn.Module):
    r"""Tables 8.2 and 8.3 with their first three residual blocks shared (the thesis's best setting, §8).

    * ``shared``: down :math:`D\to4C`, down :math:`4C\to4C`, plain :math:`4C\to4C`;
    * the discriminator (Table 8.2) continues with ``discriminator_tail`` (plain :math:`4C\to4C`), ReLU, a global sum
      pool and ``discriminator_out`` (linear :math:`4C\to1`): :meth:`discriminate` gives ``(B,)`` logits. It sees
      images only (Loss I matches the marginals :math:`p(x)` and :math:`q(x)`), so it has no class projection;
    * the encoder (Table 8.3) continues with ``encoder_tail`` (down, down, flatten to :math:`F=4C\cdot\frac H{16}
      \cdot\frac W{16}` features; the thesis prints :math:`\frac{32}{2^4}\times4C`) and two heads, ``mean_head`` and
      ``log_var_head``, each Linear :math:`F\to F/2`, ReLU, Linear :math:`F/2\to J` (the thesis gives the sizes; the
      ReLU between them, and no activation before them as in Table 6.2, are this book's choices). The log-variance is
      bounded by :func:`~gi_core.maths.gaussians.soft_clamp_log_var`. :meth:`encode` gives ``(mean, log_var)``.

    :meth:`discriminator_modules` and :meth:`encoder_modules` list each network's parts; both start with the same
    ``shared`` module, so an update of either network moves the shared blocks.
    """

    def __init__(self, input_shape: Sequence[int] = (1, 32, 32), latent_dim: int = 24, channels: int = 12) -> None:
        super().__init__()
        self.input_shape = _check_image_shape(input_shape, "input_shape")
        self.latent_dim = check_positive_int(latent_dim, "latent_dim")
        width = 4 * check_positive_int(channels, "channels")
        d, h, w = self.input_shape
        self.shared = nn.Sequential(DiscriminatorBlock(d, width, first=True), DiscriminatorBlock(width, width),
                                    DiscriminatorBlock(width, width, downsample=False))
        self.discriminator_tail = DiscriminatorBlock(width, width, downsample=False)
        self.discriminator_out = nn.Linear(width, 1)
        self.encoder_tail = nn.Sequential(DiscriminatorBlock(width, width), DiscriminatorBlock(width, width), nn.Flatten())
        features = width * (h // 16) * (w // 16)
        self.mean_head, self.log_var_head = (
            nn.Sequential(nn.Linear(features, features // 2), nn.ReLU(), nn.Linear(features // 2, latent_dim))
            for _ in range(2))
        _initialise_and_normalise(self)

    def discriminator_modules(self) -> list[nn.Module]:
        """The discriminator's parts, in order: the shared blocks, its tail and its output layer."""
        return [self.shared, self.discriminator_tail, self.discriminator_out]

    def encoder_modules(self) -> list[nn.Module]:
        """The encoder's parts, in order: the shared blocks, its tail and its two heads."""
        return [self.shared, self.encoder_tail, self.mean_head, self.log_var_head]

    def discriminate(self, x: Tensor) -> Tensor:
        """Logits ``(B,)`` of images ``(B, *input_shape)`` (positive: the data)."""
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        h = F.relu(self.discriminator_tail(self.shared(x))).sum(dim=(2, 3))
        return self.discriminator_out(h).squeeze(-1)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        r"""Mean and bounded log-variance ``(B, J)`` each of :math:`q(z|x)` for images ``(B, *input_shape)``."""
        check_batch(x, "x", self.input_shape, like=self, finite=False)
        h = self.encoder_tail(self.shared(x))
        return self.mean_head(h), soft_clamp_log_var(self.log_var_head(h))
