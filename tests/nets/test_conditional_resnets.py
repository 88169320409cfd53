"""Tests for gi_core.nets.conditional_resnets: shapes, spectral norms, class conditioning and the shared blocks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from gi_core.nets.conditional_resnets import ClassConditionalGenerator, SharedDiscriminatorEncoder
from gi_core.trainer import parameter_groups

pytestmark = pytest.mark.usefixtures("one_thread")
IMAGE = (1, 16, 16)


def generator(injection: str = "class_embeddings") -> ClassConditionalGenerator:
    torch.manual_seed(0)
    return ClassConditionalGenerator(3, 4, IMAGE, channels=2, injection=injection)


def critic() -> SharedDiscriminatorEncoder:
    torch.manual_seed(1)
    return SharedDiscriminatorEncoder(IMAGE, latent_dim=4, channels=2)


def test_the_thesis_sizes_give_the_tables_shapes():
    torch.manual_seed(0)
    g = ClassConditionalGenerator(10, 24, (1, 32, 32), channels=12)
    both = SharedDiscriminatorEncoder((1, 32, 32), 24, 12)
    x = g(torch.randn(3, 24), torch.tensor([0, 5, 9]))
    assert x.shape == (3, 1, 32, 32) and bool((x.abs() < 1).all())  # the Tanh is inside
    assert g.linear.out_features == 48 * 4 * 4 and [b.conv1.out_channels for b in g.blocks] == [48, 48, 48]
    assert both.discriminate(x).shape == (3,)
    mean, log_var = both.encode(x)
    assert mean.shape == log_var.shape == (3, 24)
    assert both.mean_head[0].in_features == 48 * 2 * 2 and both.mean_head[0].out_features == 96
    g2 = ClassConditionalGenerator(10, 16, (1, 32, 32), channels=24, injection="latent_and_embedding")
    assert g2(torch.randn(2, 16), torch.tensor([1, 2])).shape == (2, 1, 32, 32)
    assert g2.blocks[0].bn1.gain.in_features == 32 and g2.embedding.weight.shape == (10, 16)


@pytest.mark.parametrize("make", [generator, lambda: generator("latent_and_embedding"), critic])
def test_every_conv_and_linear_weight_has_spectral_norm_one_after_power_iterations(make):
    net = make()
    tables = {id(t) for block in getattr(net, "blocks", []) for norm in (block.bn1, block.bn2)
              for t in (norm.gain, norm.bias)} if getattr(net, "injection", "") == "class_embeddings" else set()
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and id(m) not in tables]
    assert layers and all(is_parametrized(m, "weight") for m in layers)
    assert len(tables) in (0, 12) and not any(is_parametrized(m, "weight") for m in net.modules() if id(m) in tables)
    for _ in range(30):  # one power iteration per training-mode call
        if isinstance(net, ClassConditionalGenerator):
            net(torch.randn(4, 4), torch.tensor([0, 1, 2, 0]))
        else:
            net.discriminate(torch.randn(4, *IMAGE))
            net.encode(torch.randn(4, *IMAGE))
    for layer in layers:
        matrix = layer.weight.detach().reshape(layer.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(matrix, ord=2).item() == pytest.approx(1.0, abs=2e-2)


def test_the_weights_start_from_the_normal_of_std_002():
    torch.manual_seed(0)
    big = SharedDiscriminatorEncoder((1, 32, 32), 24, 12)
    raw = big.shared[1].conv1.parametrizations.weight.original
    assert raw.std().item() == pytest.approx(0.02, rel=0.05) and abs(raw.mean().item()) < 1e-3
    assert bool((big.shared[1].conv1.bias == 0).all())


@pytest.mark.parametrize("injection", ["class_embeddings", "latent_and_embedding"])
def test_the_class_changes_the_image_through_the_batch_norms(injection):
    g = generator(injection).eval()  # running statistics: each row is computed on its own
    z = torch.randn(1, 4).expand(3, 4)
    with torch.no_grad():
        images = g(z, torch.tensor([0, 1, 2]))
        again = g(z, torch.tensor([0, 1, 2]))
    torch.testing.assert_close(images, again, rtol=0, atol=0)
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert (images[a] - images[b]).abs().max() > 1e-4


def test_method_3_gives_each_batch_norm_its_own_class_embedding():
    g = generator().eval()
    z, y = torch.randn(4, 4), torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(g.condition(z, y), F.one_hot(y, 3).float())
    with torch.no_grad():
        before = g(z, y)
        g.blocks[1].bn2.gain.weight[:, 2] += 0.5  # the column of class 2 in one layer's gain table
        after = g(z, y)
    changed = (after - before).flatten(1).abs().amax(1)
    assert changed[2] > 1e-3 and torch.equal(changed[[0, 1, 3]], torch.zeros(3))


def test_method_2_conditions_every_block_on_the_code_and_the_shared_embedding():
    g = generator("latent_and_embedding")
    z, y = torch.randn(2, 4), torch.tensor([2, 0])
    torch.testing.assert_close(g.condition(z, y), torch.cat([z, g.embedding.weight[y]], 1))
    assert all(block.bn1.gain.in_features == 8 for block in g.blocks)


def test_the_discriminator_and_encoder_share_the_same_first_three_blocks():
    net = critic()
    groups = parameter_groups(d=net.discriminator_modules(), e=net.encoder_modules())
    shared = {id(p) for p in net.shared.parameters()}
    assert len(net.shared) == 3 and shared
    assert {id(p) for p in groups["d"]} & {id(p) for p in groups["e"]} == shared
    assert {id(p) for p in groups["d"]} | {id(p) for p in groups["e"]} == {id(p) for p in net.parameters()}
    x = torch.randn(5, *IMAGE)
    net.eval()
    before = net.discriminate(x).detach()
    optimizer = torch.optim.SGD(groups["e"], lr=0.5)
    net.encode(x)[0].square().sum().backward()  # an encoder update ...
    optimizer.step()
    assert (net.discriminate(x).detach() - before).abs().max() > 1e-6  # ... moves the discriminator's input blocks


def test_inputs_are_checked():
    g = generator()
    with pytest.raises(ValueError, match=r"y must hold classes in 0..2, got 0..3"):
        g(torch.randn(2, 4), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="y must be integer labels"):
        g(torch.randn(2, 4), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="unknown injection"):
        ClassConditionalGenerator(3, 4, IMAGE, injection="split")
    with pytest.raises(ValueError, match="input_shape must be .* divisible by 16"):
        SharedDiscriminatorEncoder((1, 28, 28))
